// Package warmpath holds Go benchmarks of a warm request over real
// loopback TCP: a client, a proxy and an upstream in one process, with the
// proxy being nothing, a default httputil.ReverseProxy or paastis's
// handler. The differences between them show what each proxy layer costs,
// the HTTP server and client included, which the handler benchmarks of
// internal/proxy leave out.
package warmpath
