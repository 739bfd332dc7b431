package api

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"strings"
)

// tokenEqual reports whether received equals expected, in a time that
// depends neither on where they differ nor on their lengths. Both are
// hashed first, so that the comparison always covers 32 bytes. An empty
// expected token matches nothing.
func tokenEqual(received, expected string) bool {
	if expected == "" {
		return false
	}
	receivedSum := sha256.Sum256([]byte(received))
	expectedSum := sha256.Sum256([]byte(expected))
	return subtle.ConstantTimeCompare(receivedSum[:], expectedSum[:]) == 1
}

// bearerToken returns the token of an "Authorization: Bearer <token>"
// header, and false when the request has none.
func bearerToken(r *http.Request) (string, bool) {
	scheme, token, found := strings.Cut(r.Header.Get("Authorization"), " ")
	if !found || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}
