package clevercloud

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/paastis/paastis/internal/provider/clevercloud/clevercloudtest"
)

func TestSignatureMethodsAcceptedByFake(t *testing.T) {
	fake := newFake(t, clevercloudtest.Options{
		Apps: []clevercloudtest.AppSeed{{ID: appHello, Name: "Hello"}},
	})
	for _, method := range []string{SignatureHMACSHA512, SignatureHMACSHA1, SignaturePlaintext, "hmac-sha512", ""} {
		t.Run("method "+method, func(t *testing.T) {
			opts := testOptions(t, fake)
			opts.SignatureMethod = method
			p := newProvider(t, opts)

			apps, err := p.Apps(t.Context())
			if err != nil {
				t.Fatalf("Apps: %v", err)
			}
			if len(apps) != 1 {
				t.Errorf("Apps returned %d apps, want 1", len(apps))
			}
		})
	}
	if got := fake.AuthFailures(); got != 0 {
		t.Errorf("fake rejected %d signatures, want 0", got)
	}
}

func TestWrongSecretRejected(t *testing.T) {
	fake := newFake(t, clevercloudtest.Options{})
	tests := []struct {
		name   string
		method string
		modify func(*Options)
	}{
		{"HMAC-SHA512 with a wrong consumer secret", SignatureHMACSHA512, func(o *Options) { o.ConsumerSecret = "not-the-secret" }},
		{"HMAC-SHA512 with a wrong token secret", SignatureHMACSHA512, func(o *Options) { o.TokenSecret = "not-the-secret" }},
		{"HMAC-SHA1 with a wrong consumer secret", SignatureHMACSHA1, func(o *Options) { o.ConsumerSecret = "not-the-secret" }},
		{"PLAINTEXT with a wrong token secret", SignaturePlaintext, func(o *Options) { o.TokenSecret = "not-the-secret" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := testOptions(t, fake)
			opts.SignatureMethod = tt.method
			tt.modify(&opts)
			p := newProvider(t, opts)
			before := fake.AuthFailures()

			_, err := p.Apps(t.Context())
			if err == nil {
				t.Fatal("Apps succeeded with a wrong secret")
			}
			apiErr, ok := errors.AsType[*APIError](err)
			if !ok {
				t.Fatalf("error %v is not an *APIError", err)
			}
			if apiErr.StatusCode != http.StatusUnauthorized {
				t.Errorf("status = %d, want 401", apiErr.StatusCode)
			}
			if apiErr.Message != "invalid OAuth signature" {
				t.Errorf("message = %q, want the fake's %q", apiErr.Message, "invalid OAuth signature")
			}
			if !strings.Contains(err.Error(), EnvTokenSecret) {
				t.Errorf("error %q does not say which variables to check", err)
			}
			if strings.Contains(err.Error(), "not-the-secret") {
				t.Errorf("error %q contains the secret", err)
			}
			if got := fake.AuthFailures() - before; got != 1 {
				t.Errorf("fake rejected %d requests, want 1 (a 401 is not retried)", got)
			}
		})
	}
}

func TestPlaintextSignerSendsEncodedSecrets(t *testing.T) {
	signer, err := newSigner(SignaturePlaintext, "consumer&secret")
	if err != nil {
		t.Fatalf("newSigner: %v", err)
	}
	got, err := signer.Sign("token secret", "ignored base string")
	if err != nil {
		t.Fatalf("Sign: %v", err)
	}
	if want := "consumer%26secret&token%20secret"; got != want {
		t.Errorf("signature = %q, want %q", got, want)
	}
}

func TestNewSignerRejectsUnknownMethod(t *testing.T) {
	if _, err := newSigner("RSA-SHA1", "secret"); err == nil {
		t.Error("newSigner accepted RSA-SHA1")
	}
}
