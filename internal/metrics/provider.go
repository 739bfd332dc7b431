package metrics

import (
	"strconv"
	"time"
)

// ProviderCallObserver returns the OnAPICall callback of a provider's
// options: it counts each API request attempt by operation and status
// class, counts the failed ones and times them. operation must be one of
// the provider's fixed operation names, never a raw path. status is 0 when
// no response came.
func (m *Metrics) ProviderCallObserver(provider string) func(operation string, status int, d time.Duration, err error) {
	return func(operation string, status int, d time.Duration, err error) {
		m.apiCalls.WithLabelValues(provider, operation, statusClass(status)).Inc()
		if err != nil {
			m.apiErrors.WithLabelValues(provider, operation).Inc()
		}
		m.apiLatency.WithLabelValues(provider, operation).Observe(d.Seconds())
	}
}

// statusClass returns "2xx" for 200 to 299 and so on, and "error" when no
// valid status came.
func statusClass(status int) string {
	if status < 100 || status > 599 {
		return "error"
	}
	return strconv.Itoa(status/100) + "xx"
}
