package clevercloudtest

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain checks that closing a Server stops every goroutine it started,
// its upstreams' included.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		// Idle keep-alive connections of the tests' HTTP clients.
		goleak.IgnoreAnyFunction("net/http.(*persistConn).readLoop"),
		goleak.IgnoreAnyFunction("net/http.(*persistConn).writeLoop"),
	)
}
