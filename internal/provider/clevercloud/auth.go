package clevercloud

import (
	"context"
	"crypto/hmac"
	"crypto/sha512"
	"encoding/base64"
	"fmt"
	"net/http"

	"github.com/dghubble/oauth1"
)

// hmacSHA512Signer signs with HMAC-SHA512, which oauth1 lacks. The key is
// the percent-encoded consumer secret and token secret joined by "&", as
// for HMAC-SHA1 (RFC 5849 section 3.4.2).
type hmacSHA512Signer struct {
	consumerSecret string
}

func (s hmacSHA512Signer) Name() string { return SignatureHMACSHA512 }

func (s hmacSHA512Signer) Sign(tokenSecret, message string) (string, error) {
	mac := hmac.New(sha512.New, []byte(signingKey(s.consumerSecret, tokenSecret)))
	mac.Write([]byte(message))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil)), nil
}

// plaintextSigner sends the signing key itself as the signature (RFC 5849
// section 3.4.4), so it is safe only over TLS.
type plaintextSigner struct {
	consumerSecret string
}

func (s plaintextSigner) Name() string { return SignaturePlaintext }

func (s plaintextSigner) Sign(tokenSecret, _ string) (string, error) {
	return signingKey(s.consumerSecret, tokenSecret), nil
}

func signingKey(consumerSecret, tokenSecret string) string {
	return oauth1.PercentEncode(consumerSecret) + "&" + oauth1.PercentEncode(tokenSecret)
}

// newSigner returns the signer of an OAuth signature method.
func newSigner(method, consumerSecret string) (oauth1.Signer, error) {
	switch method {
	case SignatureHMACSHA512:
		return hmacSHA512Signer{consumerSecret: consumerSecret}, nil
	case SignatureHMACSHA1:
		return &oauth1.HMACSigner{ConsumerSecret: consumerSecret}, nil
	case SignaturePlaintext:
		return plaintextSigner{consumerSecret: consumerSecret}, nil
	}
	return nil, fmt.Errorf("unknown signature method %q: use HMAC-SHA512, HMAC-SHA1 or PLAINTEXT", method)
}

// signingTransport wraps base so that every request it sends carries a
// fresh OAuth 1.0a Authorization header: a new nonce and timestamp per
// attempt, so retries are not rejected as replays.
func signingTransport(base http.RoundTripper, opts Options) (http.RoundTripper, error) {
	signer, err := newSigner(opts.SignatureMethod, opts.ConsumerSecret)
	if err != nil {
		return nil, err
	}
	config := &oauth1.Config{
		ConsumerKey:    opts.ConsumerKey,
		ConsumerSecret: opts.ConsumerSecret,
		Signer:         signer,
	}
	token := oauth1.NewToken(opts.Token, opts.TokenSecret)

	// oauth1 takes its base transport from a client stored in the context.
	// The context is only read here, not kept for the requests.
	ctx := context.WithValue(context.Background(), oauth1.HTTPClient, &http.Client{Transport: base})
	return oauth1.NewClient(ctx, config, token).Transport, nil
}
