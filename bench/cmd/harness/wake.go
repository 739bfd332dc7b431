package main

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// wakeSample is one wake of the sleepy app.
type wakeSample struct {
	// Total is the time from sending the request to reading the whole
	// response.
	Total time.Duration
	// AfterListening is the time from the upstream's listen, as it reports
	// it, to the end of the response: what paastis adds once the app is
	// ready, with its readiness polling.
	AfterListening time.Duration
}

// wakeSeries is the wakes of one app.
type wakeSeries struct {
	// BootDelay is the time the app waits before it listens, plus a
	// random time below BootJitter, drawn at each start.
	BootDelay  time.Duration
	BootJitter time.Duration
	Samples    []wakeSample
}

// runWakes runs a series of wakes with a fixed boot delay, then one with
// a random part added, so that the app's readiness falls at any point
// between two readiness probes of paastis rather than always at the same
// one.
func (h *harness) runWakes(ctx context.Context) ([]*wakeSeries, error) {
	var series []*wakeSeries
	for i, jitter := range []time.Duration{0, h.opts.bootJitter} {
		if i > 0 && jitter == 0 {
			break
		}
		s, err := h.runWakeSeries(ctx, fmt.Sprintf("paastis-wake-%d", i+1), jitter)
		series = append(series, s)
		if err != nil {
			return series, err
		}
	}
	return series, nil
}

// runWakeSeries runs paastis with one app that boots in BootDelay and is
// stopped by paastis itself after one idle second, by a sweep every
// second. Each wake sends one request to the stopped app, which paastis
// holds until the app is ready and then forwards.
func (h *harness) runWakeSeries(ctx context.Context, name string, jitter time.Duration) (*wakeSeries, error) {
	result := &wakeSeries{BootDelay: h.opts.bootDelay, BootJitter: jitter}
	upstreamPort, err := freePort()
	if err != nil {
		return result, err
	}
	appsFile := filepath.Join(h.tmp, name+"-apps.yaml")
	err = writeAppsFile(appsFile, []localApp{{
		Name:          "sleepy",
		Argv:          []string{filepath.Join(h.bin, "upstream")},
		Env:           map[string]string{"BOOT_DELAY": h.opts.bootDelay.String(), "BOOT_JITTER": jitter.String()},
		Port:          upstreamPort,
		ReadinessPath: "/healthz",
	}})
	if err != nil {
		return result, err
	}
	p, err := h.startPaastis(ctx, name, map[string]string{
		"PROVIDER_LOCAL_CONFIG":                 appsFile,
		"START_AND_STOP_CHECKING_INTERVAL_CRON": "* * * * * *",
		"START_AND_STOP_MAX_IDLE_TIME":          "1s",
	})
	if err != nil {
		return result, err
	}
	defer p.stop(15 * time.Second)
	if err := p.waitMessage(ctx, "app registered", 1, startTimeout); err != nil {
		return result, err
	}

	// A new connection for every wake, as a visitor who comes back after
	// the app went to sleep would open.
	client := &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	for i := range h.opts.wakes {
		// The app was never started before the first wake, and is stopped
		// by a sweep after each later one.
		if err := p.waitMessage(ctx, "app stopped", i, 30*time.Second); err != nil {
			return result, err
		}
		if !portClosed(upstreamPort) {
			return result, fmt.Errorf("wake %d: paastis logged the app stopped but its port %d still accepts connections", i+1, upstreamPort)
		}

		begin := time.Now()
		body, err := getBody(ctx, client, p.URL+"boot", "sleepy.localhost")
		end := time.Now()
		if err != nil {
			return result, fmt.Errorf("wake %d: %w; paastis log: %s", i+1, err, p.logPath)
		}
		listeningNS, err := strconv.ParseInt(strings.TrimSpace(body), 10, 64)
		if err != nil {
			return result, fmt.Errorf("wake %d: invalid /boot body %q: %w", i+1, body, err)
		}
		s := wakeSample{Total: end.Sub(begin), AfterListening: end.Sub(time.Unix(0, listeningNS))}
		result.Samples = append(result.Samples, s)
		h.logger.Info("wake", "series", name, "n", i+1, "of", h.opts.wakes, "total", s.Total.Round(time.Millisecond),
			"after_listening", s.AfterListening.Round(time.Millisecond))
	}
	return result, nil
}
