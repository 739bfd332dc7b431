package clevercloud

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// maxErrorMessage bounds the part of a non-JSON error body kept as the
// message.
const maxErrorMessage = 200

// APIError is a response of the Clever Cloud API with a status of 300 or
// more. Clever Cloud error bodies look like
// {"id": 4001, "message": "...", "type": "error"}.
type APIError struct {
	// Method and Path locate the request; Path has no query.
	Method string
	Path   string
	// StatusCode is the HTTP status.
	StatusCode int
	// ID and Type are the body's "id" and "type", zero when absent.
	ID   int
	Type string
	// Message is the body's "message", or the start of a non-JSON body.
	Message string
	// RetryAfter is the delay that the Retry-After header asked for, zero
	// when there was none.
	RetryAfter time.Duration
}

func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "clever cloud API %s %s: %d %s", e.Method, e.Path, e.StatusCode, http.StatusText(e.StatusCode))
	if e.Message != "" {
		fmt.Fprintf(&b, ": %q", e.Message)
	}
	if hint := statusHint(e.StatusCode); hint != "" {
		b.WriteString(": ")
		b.WriteString(hint)
	}
	return b.String()
}

// statusHint returns the next step for a status, or "" when the caller is
// better placed to choose it.
func statusHint(status int) string {
	switch {
	case status == http.StatusUnauthorized:
		return "check " + EnvConsumerKey + ", " + EnvConsumerSecret + ", " + EnvToken + " and " + EnvTokenSecret + ", and the clock of this machine"
	case status == http.StatusForbidden:
		return "the OAuth token has no access to this resource: use a token of a member of the organisation"
	case status == http.StatusTooManyRequests:
		return "the API rate limit was hit: lower " + EnvConcurrency + " or " + EnvRateLimit
	case status >= 500:
		return "the Clever Cloud API failed on its side: try again later"
	}
	return ""
}

// newAPIError builds the error of a response from its status, headers and
// body.
func newAPIError(method, path string, status int, header http.Header, body []byte, now time.Time) *APIError {
	e := &APIError{
		Method:     method,
		Path:       path,
		StatusCode: status,
		RetryAfter: parseRetryAfter(header.Get("Retry-After"), now),
	}

	var parsed struct {
		ID      int    `json:"id"`
		Message string `json:"message"`
		Type    string `json:"type"`
	}
	if json.Unmarshal(body, &parsed) == nil && parsed.Message != "" {
		e.ID, e.Message, e.Type = parsed.ID, parsed.Message, parsed.Type
		return e
	}

	text := strings.TrimSpace(string(body))
	if len(text) > maxErrorMessage {
		text = text[:maxErrorMessage]
		for !utf8.ValidString(text) {
			text = text[:len(text)-1]
		}
		text += "..."
	}
	e.Message = text
	return e
}

// parseRetryAfter reads a Retry-After value, in seconds or as an HTTP
// date. It returns zero for an empty, invalid or past value.
func parseRetryAfter(value string, now time.Time) time.Duration {
	value = strings.TrimSpace(value)
	if value == "" {
		return 0
	}
	if seconds, err := strconv.Atoi(value); err == nil {
		return max(0, time.Duration(seconds)*time.Second)
	}
	if at, err := http.ParseTime(value); err == nil {
		return max(0, at.Sub(now))
	}
	return 0
}
