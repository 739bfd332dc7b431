package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/paastis/paastis/internal/engine"
)

// Engine is the part of the engine that the metrics read: its live events
// and, at scrape time, the handles of its apps. *engine.Engine satisfies
// it.
type Engine interface {
	Subscribe(fn func(engine.Event)) (unsubscribe func())
	Handles() []*engine.Handle
}

// ObserveEngine counts the wakes and stops from the engine's events, and
// registers a collector that reports the apps by state and the requests
// in flight at each scrape. Call it once per Metrics. The returned
// function stops the event counting.
func (m *Metrics) ObserveEngine(e Engine) (stop func()) {
	m.registry.MustRegister(&appsCollector{engine: e})
	return e.Subscribe(m.observeEvent)
}

// observeEvent counts one engine event. It runs on the goroutine that
// recorded the event, so it only updates counters.
func (m *Metrics) observeEvent(event engine.Event) {
	m.events.WithLabelValues(string(event.Type)).Inc()
	seconds := event.Duration.Seconds()
	switch event.Type {
	case engine.EventStarted:
		m.wakes.WithLabelValues(event.App, event.Provider).Inc()
		m.wakeDuration.WithLabelValues(event.Provider, "ok").Observe(seconds)
	case engine.EventStartFailed:
		m.wakeFailures.WithLabelValues(event.App, event.Provider).Inc()
		m.wakeDuration.WithLabelValues(event.Provider, "failed").Observe(seconds)
	case engine.EventStopped:
		m.stops.WithLabelValues(event.App, event.Provider).Inc()
		m.stopDuration.WithLabelValues(event.Provider, "ok").Observe(seconds)
	case engine.EventStopFailed:
		m.stopFailures.WithLabelValues(event.App, event.Provider).Inc()
		m.stopDuration.WithLabelValues(event.Provider, "failed").Observe(seconds)
	case engine.EventUnregistered:
		m.forgetApp(event.App)
	}
}

// appsCollector reports the engine's apps at scrape time, so that the
// request path updates no gauge.
type appsCollector struct {
	engine Engine
}

var (
	appsDesc = prometheus.NewDesc(
		prometheus.BuildFQName(Namespace, "", "apps"),
		"Apps known to paastis, by provider and state. Every state of a provider with apps is reported, zeros included.",
		[]string{"provider", "state"}, nil)
	inFlightDesc = prometheus.NewDesc(
		prometheus.BuildFQName(Namespace, "proxy", "requests_in_flight"),
		"Requests in progress through this instance, streams and websockets included, by app.",
		[]string{"app"}, nil)
	lastAccessDesc = prometheus.NewDesc(
		prometheus.BuildFQName(Namespace, "app", "last_access_timestamp_seconds"),
		"Unix time of the latest request that this instance saw for the app, or of its discovery.",
		[]string{"app"}, nil)
)

func (c *appsCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- appsDesc
	ch <- inFlightDesc
	ch <- lastAccessDesc
}

func (c *appsCollector) Collect(ch chan<- prometheus.Metric) {
	counts := map[string]map[engine.State]int{}
	for _, h := range c.engine.Handles() {
		provider := h.App().Provider
		if counts[provider] == nil {
			counts[provider] = map[engine.State]int{}
		}
		counts[provider][h.State()]++
		ch <- prometheus.MustNewConstMetric(inFlightDesc, prometheus.GaugeValue, float64(h.InFlight()), h.Name())
		lastAccess := float64(h.LastAccess().UnixNano()) / 1e9
		ch <- prometheus.MustNewConstMetric(lastAccessDesc, prometheus.GaugeValue, lastAccess, h.Name())
	}
	for provider, byState := range counts {
		for _, state := range states {
			ch <- prometheus.MustNewConstMetric(appsDesc, prometheus.GaugeValue, float64(byState[state]), provider, string(state))
		}
	}
}

// states lists every app state, so that paastis_apps reports zeros too.
var states = []engine.State{
	engine.StateUnknown, engine.StateRunning, engine.StateStopped,
	engine.StateStarting, engine.StateStopping, engine.StateFailed,
}
