// Package metrics exposes paastis's Prometheus metrics: proxied requests,
// wakes and stops, provider API calls, registry flushes, and the apps by
// state. Every metric lives in the Metrics's own registry, never in the
// global default one, so that tests and several engines in one process do
// not share counters.
//
// Label values are bounded. The "app" label only takes the names of the
// apps in the engine's table (the registry bounds them) or "unknown".
// Provider operations are fixed names chosen by the providers, and request
// paths are never used.
package metrics

import (
	"net/http"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Namespace starts the name of every paastis metric.
const Namespace = "paastis"

// UnknownApp is the "app" label of requests whose Host names no known app.
const UnknownApp = "unknown"

// latencyBuckets are the upper bounds, in seconds, of the proxy latency
// and provider call histograms. They reach a minute, because a request
// that wakes its app waits for the start.
var latencyBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60}

// operationBuckets are the upper bounds, in seconds, of the wake and stop
// duration histograms: a PaaS start takes from seconds to minutes.
var operationBuckets = []float64{0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 300, 600}

// Options configures Metrics.
type Options struct {
	// Version is the paastis version, exported as the "version" label of
	// paastis_build_info. Empty means "dev".
	Version string
}

// Metrics holds every paastis metric and the registry that exposes them.
// It is safe for concurrent use.
type Metrics struct {
	registry *prometheus.Registry

	requests       *prometheus.CounterVec
	requestLatency *prometheus.HistogramVec
	// appSeries caches, per app label, the request counters and latency
	// observer, so that the request path does no label lookup.
	appSeries sync.Map // string -> *appSeries

	wakes         *prometheus.CounterVec
	wakeFailures  *prometheus.CounterVec
	wakeDuration  *prometheus.HistogramVec
	stops         *prometheus.CounterVec
	stopFailures  *prometheus.CounterVec
	stopDuration  *prometheus.HistogramVec
	events        *prometheus.CounterVec
	apiCalls      *prometheus.CounterVec
	apiErrors     *prometheus.CounterVec
	apiLatency    *prometheus.HistogramVec
	flushDuration prometheus.Histogram
	flushFailures prometheus.Counter
}

// New returns the metrics, registered with the Go runtime and process
// collectors in a registry of their own.
func New(opts Options) *Metrics {
	if opts.Version == "" {
		opts.Version = "dev"
	}
	m := &Metrics{registry: prometheus.NewRegistry()}

	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: Namespace, Subsystem: "proxy", Name: "requests_total",
		Help: `Requests handled by the proxy, by app and status class ("1xx" to "5xx"). A request whose client left before any response counts as "4xx".`,
	}, []string{"app", "code"})
	m.requestLatency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: Namespace, Subsystem: "proxy", Name: "request_duration_seconds",
		Help:    "Time from the arrival of a request to its response headers, by app. It includes the wait for a sleeping app to start.",
		Buckets: latencyBuckets,
	}, []string{"app"})

	m.wakes = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: Namespace, Name: "wakes_total",
		Help: "Apps started by paastis, on a request or from the admin API.",
	}, []string{"app", "provider"})
	m.wakeFailures = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: Namespace, Name: "wake_failures_total",
		Help: "Starts that failed: provider error, hook error, or an app that never became ready.",
	}, []string{"app", "provider"})
	m.wakeDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: Namespace, Name: "wake_duration_seconds",
		Help:    `Duration of starts, hooks and readiness probes included, by provider and result ("ok" or "failed").`,
		Buckets: operationBuckets,
	}, []string{"provider", "result"})
	m.stops = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: Namespace, Name: "stops_total",
		Help: "Apps stopped by paastis, idle or from the admin API.",
	}, []string{"app", "provider"})
	m.stopFailures = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: Namespace, Name: "stop_failures_total",
		Help: "Stops that failed: provider error or hook error.",
	}, []string{"app", "provider"})
	m.stopDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: Namespace, Name: "stop_duration_seconds",
		Help:    `Duration of stops, hooks included, by provider and result ("ok" or "failed").`,
		Buckets: operationBuckets,
	}, []string{"provider", "result"})
	m.events = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: Namespace, Name: "app_events_total",
		Help: "Lifecycle events recorded by this instance, by type (registered, unregistered, started, stopped, start_failed, stop_failed).",
	}, []string{"type"})

	m.apiCalls = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: Namespace, Subsystem: "provider", Name: "api_calls_total",
		Help: `Provider API request attempts, by provider, operation and status class ("2xx" to "5xx", or "error" when no response came).`,
	}, []string{"provider", "operation", "code"})
	m.apiErrors = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: Namespace, Subsystem: "provider", Name: "api_errors_total",
		Help: "Provider API request attempts that returned an error, by provider and operation.",
	}, []string{"provider", "operation"})
	m.apiLatency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: Namespace, Subsystem: "provider", Name: "api_call_duration_seconds",
		Help:    "Duration of provider API request attempts, by provider and operation.",
		Buckets: latencyBuckets,
	}, []string{"provider", "operation"})

	m.flushDuration = prometheus.NewHistogram(prometheus.HistogramOpts{
		Namespace: Namespace, Subsystem: "registry", Name: "flush_duration_seconds",
		Help:    "Duration of the activity flushes to the registry.",
		Buckets: latencyBuckets,
	})
	m.flushFailures = prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: Namespace, Subsystem: "registry", Name: "flush_failures_total",
		Help: "Activity flushes to the registry that failed.",
	})

	buildInfo := prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace: Namespace, Name: "build_info",
		Help:        "Always 1, with the paastis version as a label.",
		ConstLabels: prometheus.Labels{"version": opts.Version},
	})
	buildInfo.Set(1)

	m.registry.MustRegister(
		m.requests, m.requestLatency,
		m.wakes, m.wakeFailures, m.wakeDuration,
		m.stops, m.stopFailures, m.stopDuration, m.events,
		m.apiCalls, m.apiErrors, m.apiLatency,
		m.flushDuration, m.flushFailures,
		buildInfo,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return m
}

// Handler returns the handler of the /metrics endpoint, in the Prometheus
// text or OpenMetrics format, as the scraper requests.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{
		Registry:          m.registry,
		EnableOpenMetrics: true,
	})
}

// Gatherer returns the registry, for tests and custom exporters.
func (m *Metrics) Gatherer() prometheus.Gatherer { return m.registry }

// forgetApp deletes every series of an app that its provider no longer
// lists, so that deleted apps, review apps for instance, do not pile up.
func (m *Metrics) forgetApp(app string) {
	m.appSeries.Delete(app)
	labels := prometheus.Labels{"app": app}
	m.requests.DeletePartialMatch(labels)
	m.requestLatency.DeletePartialMatch(labels)
	m.wakes.DeletePartialMatch(labels)
	m.wakeFailures.DeletePartialMatch(labels)
	m.stops.DeletePartialMatch(labels)
	m.stopFailures.DeletePartialMatch(labels)
}
