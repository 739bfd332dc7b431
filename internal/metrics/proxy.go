package metrics

import (
	"bufio"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// appSeries are the request series of one app label, resolved once.
type appSeries struct {
	// codes holds the request counters of the status classes 1xx to 5xx.
	codes   [5]prometheus.Counter
	latency prometheus.Observer
}

// series returns the cached series of an app label, creating them at the
// first request for the app.
func (m *Metrics) series(app string) *appSeries {
	if s, ok := m.appSeries.Load(app); ok {
		return s.(*appSeries)
	}
	s := &appSeries{latency: m.requestLatency.WithLabelValues(app)}
	for i, class := range [...]string{"1xx", "2xx", "3xx", "4xx", "5xx"} {
		s.codes[i] = m.requests.WithLabelValues(app, class)
	}
	actual, _ := m.appSeries.LoadOrStore(app, s)
	return actual.(*appSeries)
}

// Proxy wraps the proxy handler to count its requests by app and status
// class and to time them until their response headers. The proxy names the
// app of each request on the response writer (RecordApp), and a request it
// never names is counted as UnknownApp. Requests that the proxy marks as
// its own traffic (RecordOwnTraffic) are not counted.
func (m *Metrics) Proxy(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		begin := time.Now()
		recorder := &statusRecorder{ResponseWriter: w, app: UnknownApp}

		next.ServeHTTP(recorder, r)
		if recorder.ownTraffic {
			return
		}

		series := m.series(recorder.app)
		status := recorder.status
		switch {
		case status == 0 && recorder.hijacked:
			// An upgrade whose 101 response the proxy wrote on the
			// hijacked connection.
			status = http.StatusSwitchingProtocols
		case status == 0 && r.Context().Err() != nil:
			// The client left before any response, which nginx logs as
			// 499.
			status = 499
		case status == 0:
			// The handler wrote nothing, so net/http sends 200.
			status = http.StatusOK
		}
		if recorder.headersAt.IsZero() {
			recorder.headersAt = time.Now()
		}
		if class := status/100 - 1; class >= 0 && class < len(series.codes) {
			series.codes[class].Inc()
		}
		series.latency.Observe(recorder.headersAt.Sub(begin).Seconds())
	})
}

// statusRecorder records the status of a response and when its headers
// were written. It keeps the Flusher and Hijacker abilities of the
// underlying writer, and Unwrap lets http.ResponseController reach them.
type statusRecorder struct {
	http.ResponseWriter
	headersAt time.Time
	status    int
	hijacked  bool
	// app is the app label of the request, UnknownApp until the proxy
	// names it.
	app string
	// ownTraffic is true for requests that paastis serves itself on an
	// app's host, such as the waiting page's status polls.
	ownTraffic bool
}

// RecordApp labels the request with its app's own name (never an alias),
// so that each app has one label value.
func (s *statusRecorder) RecordApp(name string) { s.app = name }

// RecordOwnTraffic excludes the request from the proxied request metrics.
func (s *statusRecorder) RecordOwnTraffic() { s.ownTraffic = true }

func (s *statusRecorder) WriteHeader(code int) {
	// 1xx responses other than 101 are interim: the final status follows.
	if s.status == 0 && (code >= 200 || code == http.StatusSwitchingProtocols) {
		s.status = code
		s.headersAt = time.Now()
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
		s.headersAt = time.Now()
	}
	return s.ResponseWriter.Write(b)
}

// Flush sends any buffered data to the client, for streamed responses.
func (s *statusRecorder) Flush() {
	if s.status == 0 {
		s.status = http.StatusOK
		s.headersAt = time.Now()
	}
	_ = http.NewResponseController(s.ResponseWriter).Flush()
}

// Hijack hands the connection over to the caller, for protocol upgrades.
func (s *statusRecorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, rw, err := http.NewResponseController(s.ResponseWriter).Hijack()
	if err == nil {
		s.hijacked = true
		if s.headersAt.IsZero() {
			s.headersAt = time.Now()
		}
	}
	return conn, rw, err
}

// Unwrap returns the underlying writer, for http.ResponseController.
func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }
