package scalingo

import (
	"encoding/base64"
	"testing"
	"time"
)

func jwtWithPayload(payload string) string {
	encode := base64.RawURLEncoding.EncodeToString
	return encode([]byte(`{"alg":"HS256","typ":"JWT"}`)) + "." + encode([]byte(payload)) + ".c2lnbmF0dXJl"
}

func TestReadClaims(t *testing.T) {
	tests := []struct {
		name        string
		token       string
		wantExpiry  time.Time
		wantIssued  time.Time
		wantNoExp   bool
		wantFailure bool
	}{
		{
			name:       "whole seconds are read",
			token:      jwtWithPayload(`{"exp":1700003600,"iat":1700000000}`),
			wantExpiry: time.Unix(1700003600, 0),
			wantIssued: time.Unix(1700000000, 0),
		},
		{
			name:       "fractions of a second are kept",
			token:      jwtWithPayload(`{"exp":1700000000.25,"iat":1700000000}`),
			wantExpiry: time.UnixMilli(1700000000250),
			wantIssued: time.Unix(1700000000, 0),
		},
		{
			name:      "missing claims are reported absent",
			token:     jwtWithPayload(`{"sub":"us-1"}`),
			wantNoExp: true,
		},
		{name: "two parts are rejected", token: "abc.def", wantFailure: true},
		{name: "payload that is not base64 is rejected", token: "a.!!!.c", wantFailure: true},
		{name: "payload that is not JSON is rejected", token: jwtWithPayload("not json"), wantFailure: true},
	}
	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			claims, err := readClaims(test.token)
			if test.wantFailure {
				if err == nil {
					t.Fatalf("readClaims(%q) succeeded, want an error", test.token)
				}
				return
			}
			if err != nil {
				t.Fatalf("readClaims: %v", err)
			}
			if test.wantNoExp {
				if claims.hasExpiry || claims.hasIssuedAt {
					t.Errorf("claims = %+v, want neither exp nor iat", claims)
				}
				return
			}
			if !claims.hasExpiry || !claims.expiresAt.Equal(test.wantExpiry) {
				t.Errorf("exp = %v (present %v), want %v", claims.expiresAt, claims.hasExpiry, test.wantExpiry)
			}
			if !claims.hasIssuedAt || !claims.issuedAt.Equal(test.wantIssued) {
				t.Errorf("iat = %v (present %v), want %v", claims.issuedAt, claims.hasIssuedAt, test.wantIssued)
			}
		})
	}
}
