package scalingo

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"
)

// tokenLifetime is the bearer lifetime that Scalingo documents, used when
// a bearer carries no exp claim.
const tokenLifetime = time.Hour

// maxRenewMargin is how long before its expiry a bearer is renewed, at
// most. Short-lived bearers are renewed when a fifth of their life is left.
const maxRenewMargin = 5 * time.Minute

// exchangeTimeout bounds one token exchange, retries included. The
// exchange runs apart from the context of the request that started it,
// because other requests wait for the same exchange.
const exchangeTimeout = 2 * time.Minute

// tokenSource exchanges the API token for bearer tokens (JWTs), caches
// the current bearer and renews it before it expires. Concurrent callers
// share one exchange.
type tokenSource struct {
	client      *client
	apiToken    string
	exchangeURL string
	logger      *slog.Logger
	exchanges   singleflight.Group

	// mu guards bearer and renewAt.
	mu      sync.Mutex
	bearer  string
	renewAt time.Time
}

func newTokenSource(c *client, apiToken, exchangeURL string, logger *slog.Logger) *tokenSource {
	return &tokenSource{client: c, apiToken: apiToken, exchangeURL: exchangeURL, logger: logger}
}

// token returns a bearer that is not due for renewal, exchanging the API
// token when needed.
func (t *tokenSource) token(ctx context.Context) (string, error) {
	if bearer := t.current(); bearer != "" {
		return bearer, nil
	}

	result := t.exchanges.DoChan("exchange", func() (any, error) {
		if bearer := t.current(); bearer != "" {
			return bearer, nil
		}
		exchangeCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), exchangeTimeout)
		defer cancel()
		return t.exchange(exchangeCtx)
	})
	select {
	case r := <-result:
		if r.Err != nil {
			return "", r.Err
		}
		return r.Val.(string), nil
	case <-ctx.Done():
		return "", context.Cause(ctx)
	}
}

func (t *tokenSource) current() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.bearer != "" && time.Now().Before(t.renewAt) {
		return t.bearer
	}
	return ""
}

// invalidate drops bearer after the API rejected it, unless another
// goroutine already replaced it.
func (t *tokenSource) invalidate(bearer string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.bearer == bearer {
		t.bearer = ""
	}
}

func (t *tokenSource) exchange(ctx context.Context) (string, error) {
	var body struct {
		Token string `json:"token"`
	}
	_, err := t.client.do(ctx, call{
		operation:  "token_exchange",
		method:     http.MethodPost,
		url:        t.exchangeURL,
		idempotent: true,
		basicAuth:  true,
	}, &body)
	var apiErr *APIError
	if errors.As(err, &apiErr) && apiErr.StatusCode == http.StatusUnauthorized {
		return "", fmt.Errorf("scalingo rejected the API token: check %s: %w", envAPIToken, err)
	}
	if err != nil {
		return "", fmt.Errorf("exchange the scalingo API token for a bearer token: %w", err)
	}
	if body.Token == "" {
		return "", errors.New("exchange the scalingo API token: the response has no token")
	}

	received := time.Now()
	lifetime := tokenLifetime
	claims, err := readClaims(body.Token)
	switch {
	case err != nil:
		t.logger.Warn("cannot read the scalingo bearer token expiry, assuming the documented lifetime", "lifetime", lifetime, "error", err)
	case claims.hasExpiry && claims.hasIssuedAt:
		// Both claims come from Scalingo's clock, so their difference is
		// right even when the local clock is off.
		lifetime = claims.expiresAt.Sub(claims.issuedAt)
	case claims.hasExpiry:
		lifetime = claims.expiresAt.Sub(received)
	}
	if lifetime <= 0 {
		t.logger.Warn("scalingo bearer token claims say it is already expired, using it once", "lifetime", lifetime)
		lifetime = 0
	}
	margin := min(maxRenewMargin, lifetime/5)

	t.mu.Lock()
	t.bearer = body.Token
	t.renewAt = received.Add(lifetime - margin)
	t.mu.Unlock()
	t.logger.Debug("exchanged the scalingo API token for a bearer token", "lifetime", lifetime, "renew_in", lifetime-margin)
	return body.Token, nil
}

type jwtClaims struct {
	expiresAt, issuedAt    time.Time
	hasExpiry, hasIssuedAt bool
}

// readClaims decodes the exp and iat claims of a JWT without checking its
// signature: the client only needs to know when to renew it, and the API
// checks it. NumericDates may carry fractions of a second (RFC 7519).
func readClaims(token string) (jwtClaims, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return jwtClaims{}, fmt.Errorf("bearer token has %d parts, expected a JWT with 3", len(parts))
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return jwtClaims{}, fmt.Errorf("bearer token payload is not base64url: %w", err)
	}
	var raw struct {
		ExpiresAt *float64 `json:"exp"`
		IssuedAt  *float64 `json:"iat"`
	}
	if err := json.Unmarshal(payload, &raw); err != nil {
		return jwtClaims{}, fmt.Errorf("bearer token payload is not JSON: %w", err)
	}

	var claims jwtClaims
	if raw.ExpiresAt != nil {
		claims.expiresAt, claims.hasExpiry = numericDate(*raw.ExpiresAt), true
	}
	if raw.IssuedAt != nil {
		claims.issuedAt, claims.hasIssuedAt = numericDate(*raw.IssuedAt), true
	}
	return claims, nil
}

func numericDate(seconds float64) time.Time {
	return time.UnixMilli(int64(seconds * 1000))
}
