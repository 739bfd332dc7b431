package proxy

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// WakeStrategy decides how a request for a sleeping app waits for the
// start: held until the app is ready, or served the waiting page at once.
type WakeStrategy string

// Wake strategies accepted in WAKE_STRATEGY.
const (
	// WakeAuto serves the waiting page to browser navigations and holds
	// every other request.
	WakeAuto WakeStrategy = "auto"
	// WakeBlocking holds every request until the app is ready or the wake
	// timeout passes.
	WakeBlocking WakeStrategy = "blocking"
	// WakePage serves the waiting page to every GET and HEAD request and
	// holds the other methods.
	WakePage WakeStrategy = "page"
)

// ParseWakeStrategy returns the strategy named by s, or an error that
// lists the accepted names. An empty s selects WakeAuto.
func ParseWakeStrategy(s string) (WakeStrategy, error) {
	switch strategy := WakeStrategy(strings.ToLower(strings.TrimSpace(s))); strategy {
	case "":
		return WakeAuto, nil
	case WakeAuto, WakeBlocking, WakePage:
		return strategy, nil
	}
	return "", fmt.Errorf("unknown wake strategy %q: use %s, %s or %s", s, WakeAuto, WakeBlocking, WakePage)
}

// servesPage reports whether a request for a sleeping app gets the waiting
// page rather than being held. Requests with other methods than GET and
// HEAD are always held, so that their bodies reach the app, and so are
// protocol upgrades such as websockets.
func (s WakeStrategy) servesPage(r *http.Request) bool {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return false
	}
	if r.Header.Get("Upgrade") != "" {
		return false
	}
	switch s {
	case WakeBlocking:
		return false
	case WakePage:
		return true
	}
	return isNavigation(r)
}

// isNavigation reports whether a request is a browser loading a page into
// a window or a frame, rather than a script or an API client. Browsers
// send Sec-Fetch-Mode with every request, so it decides when present.
// Otherwise the request must prefer HTML in its Accept header and not come
// from XMLHttpRequest.
func isNavigation(r *http.Request) bool {
	if mode := r.Header.Get("Sec-Fetch-Mode"); mode != "" {
		return mode == "navigate"
	}
	if r.Header.Get("X-Requested-With") != "" {
		return false
	}
	return prefersHTML(r.Header.Values("Accept"))
}

// prefersHTML reports whether an Accept header ranks an HTML type
// (text/html or application/xhtml+xml) at least as high as every other
// type. A wildcard alone, as curl sends by default, does not prefer HTML.
func prefersHTML(accept []string) bool {
	htmlQ, otherQ := 0.0, 0.0
	for _, header := range accept {
		for mediaRange := range strings.SplitSeq(header, ",") {
			mediaType, params, _ := strings.Cut(mediaRange, ";")
			mediaType = strings.ToLower(strings.TrimSpace(mediaType))
			if mediaType == "" {
				continue
			}
			q := qualityOf(params)
			switch mediaType {
			case "text/html", "application/xhtml+xml":
				htmlQ = max(htmlQ, q)
			default:
				otherQ = max(otherQ, q)
			}
		}
	}
	return htmlQ > 0 && htmlQ >= otherQ
}

// qualityOf returns the q parameter of a media range's parameters, 1 when
// it is missing or invalid.
func qualityOf(params string) float64 {
	for param := range strings.SplitSeq(params, ";") {
		name, value, _ := strings.Cut(strings.TrimSpace(param), "=")
		if !strings.EqualFold(strings.TrimSpace(name), "q") {
			continue
		}
		q, err := strconv.ParseFloat(strings.TrimSpace(value), 64)
		if err != nil || q < 0 || q > 1 {
			return 1
		}
		return q
	}
	return 1
}
