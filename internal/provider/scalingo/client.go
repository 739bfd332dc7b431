package scalingo

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"time"

	"golang.org/x/time/rate"
)

// maxBodySize caps a response body. A listing of 300 apps is about 400 KB.
const maxBodySize = 8 << 20

// client sends the requests of one provider. Every request waits for a
// concurrency slot and then for the rate limiter, is bounded by a timeout,
// and is retried with backoff on 429, and on 5xx statuses and connection
// errors when it is idempotent.
type client struct {
	http           *http.Client
	tokens         *tokenSource
	limiter        *rate.Limiter
	slots          chan struct{}
	logger         *slog.Logger
	onAPICall      func(operation string, status int, duration time.Duration, err error)
	requestTimeout time.Duration
	maxAttempts    int
	minRetryDelay  time.Duration
	maxRetryDelay  time.Duration
}

// call describes one API request.
type call struct {
	// operation is a bounded name for logs and metrics, such as
	// "list_apps".
	operation string
	method    string
	url       string
	// body, when not nil, is sent as JSON.
	body any
	// idempotent allows retries after a 5xx status or a connection error,
	// when the server may have acted on the request.
	idempotent bool
	// basicAuth sends the API token with HTTP basic auth in place of the
	// bearer token, for the token exchange.
	basicAuth bool
}

// response is a successful response, its body already decoded.
type response struct {
	status int
	header http.Header
}

func newClient(opts Options, logger *slog.Logger) *client {
	httpClient := opts.HTTPClient
	if httpClient == nil {
		httpClient = defaultHTTPClient(opts.Concurrency)
	}
	c := &client{
		http:           httpClient,
		limiter:        newLimiter(opts.RateLimit, opts.RateLimitPeriod),
		slots:          make(chan struct{}, opts.Concurrency),
		logger:         logger,
		onAPICall:      opts.OnAPICall,
		requestTimeout: opts.RequestTimeout,
		maxAttempts:    opts.MaxAttempts,
		minRetryDelay:  opts.MinRetryDelay,
		maxRetryDelay:  opts.MaxRetryDelay,
	}
	c.tokens = newTokenSource(c, opts.APIToken, opts.AuthURL+"/v1/tokens/exchange", logger)
	return c
}

// newLimiter returns a token bucket that lets through at most limit
// requests within any period: a burst of a tenth of the limit, and a
// refill rate of the rest spread over the period.
func newLimiter(limit int, period time.Duration) *rate.Limiter {
	burst := max(1, limit/10)
	refill := max(1, limit-burst)
	return rate.NewLimiter(rate.Limit(float64(refill)/period.Seconds()), burst)
}

func defaultHTTPClient(concurrency int) *http.Client {
	dialer := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	return &http.Client{
		Transport: &http.Transport{
			Proxy:                 http.ProxyFromEnvironment,
			DialContext:           dialer.DialContext,
			ForceAttemptHTTP2:     true,
			TLSClientConfig:       &tls.Config{MinVersion: tls.VersionTLS12},
			TLSHandshakeTimeout:   10 * time.Second,
			ResponseHeaderTimeout: 30 * time.Second,
			ExpectContinueTimeout: time.Second,
			MaxIdleConns:          concurrency * 2,
			MaxIdleConnsPerHost:   concurrency,
			IdleConnTimeout:       90 * time.Second,
		},
	}
}

// do sends a request, retrying as the client's policy allows, and decodes
// a 2xx JSON body into out when out is not nil. After a 401 on a bearer
// request, do exchanges the API token again and makes one more attempt.
// Failures are *APIError values, or transport and context errors.
func (c *client) do(ctx context.Context, req call, out any) (response, error) {
	reauthorized := false
	for attempt := 1; ; attempt++ {
		res, body, bearer, err := c.attempt(ctx, req)
		if err == nil && res.status == http.StatusUnauthorized && !req.basicAuth && !reauthorized {
			c.logger.Debug("scalingo bearer token rejected, exchanging the API token again", "operation", req.operation)
			c.tokens.invalidate(bearer)
			reauthorized = true
			attempt--
			continue
		}
		if err == nil && res.status >= 200 && res.status < 300 {
			if out != nil && len(bytes.TrimSpace(body)) > 0 {
				if err := json.Unmarshal(body, out); err != nil {
					return res, fmt.Errorf("scalingo API %s %s: invalid JSON response: %w", req.method, urlPath(req.url), err)
				}
			}
			return res, nil
		}

		failure := err
		var retryAfter time.Duration
		if err == nil {
			apiErr := newAPIError(req, res, body)
			failure, retryAfter = apiErr, apiErr.RetryAfter
		}
		if ctx.Err() != nil || !c.retryable(req, res.status, err) || attempt >= c.maxAttempts {
			return res, failure
		}

		delay := retryAfter
		if delay == 0 {
			delay = backoff(attempt, c.minRetryDelay, c.maxRetryDelay)
		}
		if !fitsDeadline(ctx, delay) {
			return res, fmt.Errorf("%w (not retried: the next attempt, in %s, would pass the deadline: %w)",
				failure, delay.Round(time.Millisecond), context.DeadlineExceeded)
		}
		c.logger.Warn("scalingo API request failed, retrying",
			"operation", req.operation, "attempt", attempt, "status", res.status, "delay", delay, "error", failure)
		if err := sleep(ctx, delay); err != nil {
			return res, fmt.Errorf("%w (retry canceled: %w)", failure, err)
		}
	}
}

// retryable reports whether a failed attempt may be sent again: always
// after 429, which Scalingo sends before acting on the request, and after
// a 5xx status or a connection error only when the request is idempotent.
func (c *client) retryable(req call, status int, err error) bool {
	switch {
	case err != nil:
		var exchangeErr *exchangeError
		return req.idempotent && !errors.Is(err, errBodyTooLarge) && !errors.As(err, &exchangeErr)
	case status == http.StatusTooManyRequests:
		return true
	case status >= 500:
		return req.idempotent
	default:
		return false
	}
}

var errBodyTooLarge = fmt.Errorf("response body larger than %d bytes", maxBodySize)

// exchangeError is a failed token exchange met by another request. The
// exchange has its own retries, so the request does not retry it.
type exchangeError struct{ err error }

func (e *exchangeError) Error() string { return e.err.Error() }
func (e *exchangeError) Unwrap() error { return e.err }

// attempt sends one HTTP request and reads its body. It returns the bearer
// token it used, so that a 401 invalidates that token only.
func (c *client) attempt(ctx context.Context, req call) (res response, body []byte, bearer string, err error) {
	if !req.basicAuth {
		bearer, err = c.tokens.token(ctx)
		if err != nil {
			return res, nil, "", &exchangeError{err}
		}
	}

	select {
	case c.slots <- struct{}{}:
	case <-ctx.Done():
		return res, nil, "", context.Cause(ctx)
	}
	defer func() { <-c.slots }()
	if err := c.limiter.Wait(ctx); err != nil {
		if ctx.Err() == nil {
			// The limiter refuses to wait past the context's deadline.
			err = fmt.Errorf("%w: %w", err, context.DeadlineExceeded)
		}
		return res, nil, "", fmt.Errorf("scalingo API %s %s: waiting for the rate limiter: %w", req.method, urlPath(req.url), err)
	}

	attemptCtx, cancel := context.WithTimeout(ctx, c.requestTimeout)
	defer cancel()
	httpReq, err := c.newRequest(attemptCtx, req, bearer)
	if err != nil {
		return res, nil, bearer, err
	}

	start := time.Now()
	httpRes, err := c.http.Do(httpReq)
	if err == nil {
		res = response{status: httpRes.StatusCode, header: httpRes.Header}
		body, err = readBody(httpRes.Body)
	}
	if c.onAPICall != nil {
		c.onAPICall(req.operation, res.status, time.Since(start), err)
	}
	return res, body, bearer, err
}

func (c *client) newRequest(ctx context.Context, req call, bearer string) (*http.Request, error) {
	var body io.Reader
	if req.body != nil {
		encoded, err := json.Marshal(req.body)
		if err != nil {
			return nil, fmt.Errorf("scalingo API %s %s: encode request: %w", req.method, urlPath(req.url), err)
		}
		body = bytes.NewReader(encoded)
	}
	httpReq, err := http.NewRequestWithContext(ctx, req.method, req.url, body)
	if err != nil {
		return nil, fmt.Errorf("scalingo API %s %s: %w", req.method, urlPath(req.url), err)
	}
	httpReq.Header.Set("Accept", "application/json")
	if body != nil {
		httpReq.Header.Set("Content-Type", "application/json")
	}
	httpReq.Header.Set("User-Agent", "paastis")
	if req.basicAuth {
		httpReq.SetBasicAuth("", c.tokens.apiToken)
	} else {
		httpReq.Header.Set("Authorization", "Bearer "+bearer)
	}
	return httpReq, nil
}

func readBody(body io.ReadCloser) ([]byte, error) {
	defer body.Close()
	data, err := io.ReadAll(io.LimitReader(body, maxBodySize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxBodySize {
		return nil, errBodyTooLarge
	}
	return data, nil
}

func newAPIError(req call, res response, body []byte) *APIError {
	message, resource := parseErrorMessage(res.status, body)
	return &APIError{
		Method:     req.method,
		Path:       urlPath(req.url),
		StatusCode: res.status,
		Message:    message,
		Resource:   resource,
		RetryAfter: parseRetryAfter(res.header.Get("Retry-After"), time.Now()),
	}
}

// urlPath returns the path of a URL, for messages that must not carry a
// host or a query.
func urlPath(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(invalid URL)"
	}
	return u.EscapedPath()
}
