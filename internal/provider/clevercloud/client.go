package clevercloud

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"time"

	"golang.org/x/time/rate"
)

// maxResponseBytes bounds a response body. An organisation's app list is
// the largest response, at a few KiB per app.
const maxResponseBytes = 16 << 20

// apiClient sends signed requests to the Clever Cloud API with a timeout
// per attempt, retries with backoff, a bound on requests in flight and a
// rate limit.
type apiClient struct {
	baseURL        *url.URL
	http           *http.Client
	slots          chan struct{} // one token per request in flight
	limiter        *rate.Limiter // nil means no limit
	requestTimeout time.Duration
	maxAttempts    int
	retryBase      time.Duration
	retryMax       time.Duration
	logger         *slog.Logger
	onAPICall      func(operation string, status int, duration time.Duration, err error)
}

// request is one API call.
type request struct {
	// operation is a bounded name for logs and metrics, such as
	// "list_apps"; never a raw path.
	operation string
	method    string
	// path is below the base URL, such as "/self/applications".
	path  string
	query url.Values
}

// newAPIClient builds the client from options that have their defaults
// applied.
func newAPIClient(opts Options, logger *slog.Logger) (*apiClient, error) {
	baseURL, err := url.Parse(opts.APIURL)
	if err != nil {
		return nil, fmt.Errorf("invalid API URL %q: %w", opts.APIURL, err)
	}

	base := opts.HTTPClient
	if base == nil {
		transport := http.DefaultTransport.(*http.Transport).Clone()
		transport.MaxIdleConnsPerHost = opts.Concurrency
		base = &http.Client{Transport: transport}
	}
	baseTransport := base.Transport
	if baseTransport == nil {
		baseTransport = http.DefaultTransport
	}
	signing, err := signingTransport(baseTransport, opts)
	if err != nil {
		return nil, err
	}

	var limiter *rate.Limiter
	if opts.RateLimit > 0 {
		limiter = rate.NewLimiter(rate.Limit(opts.RateLimit), max(1, int(opts.RateLimit)))
	}

	return &apiClient{
		baseURL: baseURL,
		http: &http.Client{
			Transport: signing,
			Timeout:   base.Timeout,
			Jar:       base.Jar,
			// The API does not redirect, and following a redirect would
			// send a signed request (with PLAINTEXT, the secrets) elsewhere.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		slots:          make(chan struct{}, opts.Concurrency),
		limiter:        limiter,
		requestTimeout: opts.RequestTimeout,
		maxAttempts:    opts.MaxAttempts,
		retryBase:      opts.RetryBaseDelay,
		retryMax:       opts.RetryMaxDelay,
		logger:         logger,
		onAPICall:      opts.OnAPICall,
	}, nil
}

// do sends req and decodes the JSON response into out, unless out is nil.
// It retries 429 responses, and 5xx responses and connection errors of
// idempotent requests, until maxAttempts or the context's deadline.
func (c *apiClient) do(ctx context.Context, req request, out any) error {
	for attempt := 1; ; attempt++ {
		status, err := c.attempt(ctx, req, out)
		if err == nil {
			return nil
		}
		if attempt >= c.maxAttempts || ctx.Err() != nil || !shouldRetry(req.method, status, err) {
			return err
		}

		delay := c.backoff(attempt, err)
		if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) < delay {
			return fmt.Errorf("%w (not retried: the next attempt, in %s, would pass the deadline)", err, delay.Round(time.Millisecond))
		}
		c.logger.WarnContext(ctx, "retrying Clever Cloud API request",
			"operation", req.operation, "attempt", attempt, "status", status, "delay", delay, "error", err)

		timer := time.NewTimer(delay)
		select {
		case <-timer.C:
		case <-ctx.Done():
			timer.Stop()
			return fmt.Errorf("%w (retry canceled: %w)", err, context.Cause(ctx))
		}
	}
}

// attempt sends req once, within a slot, the rate limit and the per-attempt
// timeout. status is 0 when no complete response came.
func (c *apiClient) attempt(ctx context.Context, req request, out any) (int, error) {
	select {
	case c.slots <- struct{}{}:
		defer func() { <-c.slots }()
	case <-ctx.Done():
		return 0, fmt.Errorf("clever cloud API %s %s: waiting for a request slot: %w", req.method, c.fullPath(req), context.Cause(ctx))
	}
	if c.limiter != nil {
		if err := c.limiter.Wait(ctx); err != nil {
			return 0, fmt.Errorf("clever cloud API %s %s: waiting for the rate limiter: %w", req.method, c.fullPath(req), err)
		}
	}

	ctx, cancel := context.WithTimeout(ctx, c.requestTimeout)
	defer cancel()

	start := time.Now()
	status, err := c.send(ctx, req, out)
	if c.onAPICall != nil {
		c.onAPICall(req.operation, status, time.Since(start), err)
	}
	return status, err
}

// send performs one HTTP exchange and reads at most maxResponseBytes.
func (c *apiClient) send(ctx context.Context, req request, out any) (int, error) {
	u := *c.baseURL
	u.Path = c.fullPath(req)
	u.RawPath = ""
	u.RawQuery = req.query.Encode()

	httpReq, err := http.NewRequestWithContext(ctx, req.method, u.String(), nil)
	if err != nil {
		return 0, fmt.Errorf("clever cloud API %s %s: %w", req.method, u.Path, err)
	}
	httpReq.Header.Set("Accept", "application/json")

	resp, err := c.http.Do(httpReq)
	if err != nil {
		return 0, fmt.Errorf("clever cloud API %s %s: %w", req.method, u.Path, err)
	}
	defer resp.Body.Close()

	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes+1))
	if err != nil {
		return 0, fmt.Errorf("clever cloud API %s %s: reading the response: %w", req.method, u.Path, err)
	}
	if len(body) > maxResponseBytes {
		return resp.StatusCode, fmt.Errorf("clever cloud API %s %s: response larger than %d bytes", req.method, u.Path, maxResponseBytes)
	}
	if resp.StatusCode >= 300 {
		return resp.StatusCode, newAPIError(req.method, u.Path, resp.StatusCode, resp.Header, body, time.Now())
	}

	if out != nil {
		if err := json.Unmarshal(body, out); err != nil {
			return resp.StatusCode, fmt.Errorf("clever cloud API %s %s: decoding the response: %w", req.method, u.Path, err)
		}
	}
	return resp.StatusCode, nil
}

func (c *apiClient) fullPath(req request) string {
	return c.baseURL.Path + req.path
}

// backoff returns the delay before the retry that follows attempt: the
// Retry-After of the response when it has one, else an exponential delay
// with jitter, capped at retryMax.
func (c *apiClient) backoff(attempt int, err error) time.Duration {
	if apiErr, ok := errors.AsType[*APIError](err); ok && apiErr.RetryAfter > 0 {
		return apiErr.RetryAfter
	}

	delay := c.retryBase
	for i := 1; i < attempt && delay < c.retryMax; i++ {
		delay *= 2
	}
	delay = min(delay, c.retryMax)
	// Equal jitter: half fixed, half random, so that clients that failed
	// together do not retry together.
	half := delay / 2
	return half + rand.N(half+1)
}

// shouldRetry reports whether a failed attempt may be sent again. A 429
// was not processed, so any method is retried. A 5xx or a lost connection
// may have been processed, so only idempotent methods are retried, except
// for a connection that was never made.
func shouldRetry(method string, status int, err error) bool {
	switch {
	case status == http.StatusTooManyRequests:
		return true
	case status >= 500 && status != http.StatusNotImplemented:
		return idempotent(method)
	case status != 0:
		return false
	}
	if idempotent(method) {
		return true
	}
	opErr, ok := errors.AsType[*net.OpError](err)
	return ok && opErr.Op == "dial"
}

func idempotent(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodPut, http.MethodDelete:
		return true
	}
	return false
}
