package scalingotest

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"time"
)

// userID is the subject of every bearer, because the fake has a single
// user.
const userID = "us-scalingotest"

type bearerClaims struct {
	Issuer  string `json:"iss"`
	Subject string `json:"sub"`
	// IssuedAt and ExpiresAt are NumericDates. RFC 7519 allows fractions
	// of a second, which lets tests use bearers that live for less than
	// a second.
	IssuedAt  float64 `json:"iat"`
	ExpiresAt float64 `json:"exp"`
	// Epoch is the token epoch at issue time. RevokeTokens starts a new
	// epoch, which invalidates the bearers issued before.
	Epoch int    `json:"epoch"`
	ID    string `json:"jti"`
}

func newSecret() []byte {
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		panic(err)
	}
	return secret
}

// RevokeTokens invalidates every bearer issued so far, so that the next
// API request with one of them gets 401 and the client must exchange its
// API token again.
func (s *Server) RevokeTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokenEpoch++
}

// SetTokenLifetime changes the lifetime of the bearers issued from now on.
func (s *Server) SetTokenLifetime(lifetime time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokenLifetime = lifetime
}

// issueBearer returns a signed HS256 JWT for the fake's single user.
func (s *Server) issueBearer() string {
	s.mu.Lock()
	now := time.Now()
	s.nextID++
	claims := bearerClaims{
		Issuer:    "scalingotest",
		Subject:   userID,
		IssuedAt:  unixSeconds(now),
		ExpiresAt: unixSeconds(now.Add(s.tokenLifetime)),
		Epoch:     s.tokenEpoch,
		ID:        "jwt-" + itoa(s.nextID),
	}
	s.mu.Unlock()

	header := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT"}`))
	payload, err := json.Marshal(claims)
	if err != nil {
		panic(err)
	}
	signingInput := header + "." + base64.RawURLEncoding.EncodeToString(payload)
	return signingInput + "." + s.sign(signingInput)
}

func (s *Server) sign(signingInput string) string {
	mac := hmac.New(sha256.New, s.secret)
	mac.Write([]byte(signingInput))
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

// verifyBearer returns the claims of a bearer that the fake issued, is not
// expired and was not revoked, and a reason otherwise.
func (s *Server) verifyBearer(token string) (bearerClaims, string) {
	header, rest, ok := strings.Cut(token, ".")
	payload, signature, ok2 := strings.Cut(rest, ".")
	if !ok || !ok2 {
		return bearerClaims{}, "malformed token"
	}
	expected := s.sign(header + "." + payload)
	if subtle.ConstantTimeCompare([]byte(expected), []byte(signature)) != 1 {
		return bearerClaims{}, "invalid token signature"
	}

	raw, err := base64.RawURLEncoding.DecodeString(payload)
	if err != nil {
		return bearerClaims{}, "malformed token"
	}
	var claims bearerClaims
	if err := json.Unmarshal(raw, &claims); err != nil {
		return bearerClaims{}, "malformed token"
	}

	s.mu.Lock()
	epoch := s.tokenEpoch
	s.mu.Unlock()
	if claims.Epoch != epoch {
		return bearerClaims{}, "token revoked"
	}
	if unixSeconds(time.Now()) >= claims.ExpiresAt {
		return bearerClaims{}, "token expired"
	}
	return claims, ""
}

// authenticate checks the credentials of a request and returns the
// identity that the rate limit counts it under. It writes a 401 response
// and returns false when the credentials are wrong.
func (s *Server) authenticate(w http.ResponseWriter, r *http.Request, kind authKind) (string, bool) {
	switch kind {
	case authBasic:
		_, password, ok := r.BasicAuth()
		if ok && subtle.ConstantTimeCompare([]byte(password), []byte(s.opts.APIToken)) == 1 {
			return userID, true
		}
		s.reject(w, "invalid API token")
		return "", false
	default:
		token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok {
			s.reject(w, "missing bearer token")
			return "", false
		}
		claims, reason := s.verifyBearer(token)
		if reason != "" {
			s.reject(w, reason)
			return "", false
		}
		return claims.Subject, true
	}
}

func (s *Server) reject(w http.ResponseWriter, reason string) {
	s.mu.Lock()
	s.unauthorized++
	s.mu.Unlock()
	writeJSON(w, http.StatusUnauthorized, map[string]string{"error": reason})
}

func (s *Server) handleTokenExchange(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"token": s.issueBearer()})
}

type regionJSON struct {
	Name        string `json:"name"`
	DisplayName string `json:"display_name"`
	API         string `json:"api"`
	DatabaseAPI string `json:"database_api"`
	Dashboard   string `json:"dashboard"`
	SSH         string `json:"ssh"`
	Default     bool   `json:"default"`
}

func (s *Server) handleRegions(w http.ResponseWriter, r *http.Request) {
	regions := make([]regionJSON, 0, len(s.opts.Regions))
	for i, name := range s.opts.Regions {
		regions = append(regions, regionJSON{
			Name:        name,
			DisplayName: "Fake " + name,
			API:         s.APIURL(name),
			DatabaseAPI: s.APIURL(name) + "/db",
			Dashboard:   s.URL + "/dashboard",
			SSH:         "ssh." + name + ".scalingotest.invalid:22",
			Default:     i == 0,
		})
	}
	writeJSON(w, http.StatusOK, map[string]any{"regions": regions})
}

func unixSeconds(t time.Time) float64 {
	return float64(t.UnixMilli()) / 1000
}
