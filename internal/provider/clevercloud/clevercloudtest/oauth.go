package clevercloudtest

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"io"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// This file verifies OAuth 1.0a signatures as RFC 5849 section 3 defines
// them. It shares no code with the client under test, so that a mistake in
// the client's signing shows up as a 401 here.

// Signature methods that the Clever Cloud API accepts.
const (
	methodPlaintext  = "PLAINTEXT"
	methodHMACSHA1   = "HMAC-SHA1"
	methodHMACSHA512 = "HMAC-SHA512"
)

// maxFormBytes bounds the form body read for the signature base string.
const maxFormBytes = 1 << 20

// credentials are the four secrets of one OAuth consumer and token.
type credentials struct {
	consumerKey    string
	consumerSecret string
	token          string
	tokenSecret    string
}

// signedRequest is the part of a request that the signature covers.
type signedRequest struct {
	method string
	// baseURI is the base string URI of RFC 5849 section 3.4.1.2: lowercase
	// scheme and host, the port only when it is not the scheme's default,
	// and the path without query.
	baseURI string
	// params are the query, form body and oauth_* header parameters,
	// without oauth_signature and realm.
	params url.Values
}

// authError is a rejected Authorization header. Its message goes into the
// 401 body.
type authError struct{ message string }

func (e *authError) Error() string { return e.message }

func rejectf(format string, args ...any) error {
	return &authError{message: fmt.Sprintf(format, args...)}
}

// parseAuthorization reads the parameters of an "OAuth" Authorization
// header (RFC 5849 section 3.5.1) and percent-decodes their values.
func parseAuthorization(header string) (map[string]string, error) {
	scheme, rest, found := strings.Cut(strings.TrimSpace(header), " ")
	if !found || !strings.EqualFold(scheme, "OAuth") {
		return nil, rejectf("missing OAuth Authorization header")
	}

	params := make(map[string]string)
	for part := range strings.SplitSeq(rest, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		name, quoted, found := strings.Cut(part, "=")
		if !found || len(quoted) < 2 || quoted[0] != '"' || quoted[len(quoted)-1] != '"' {
			return nil, rejectf("malformed OAuth parameter %q", part)
		}
		value, err := url.PathUnescape(quoted[1 : len(quoted)-1])
		if err != nil {
			return nil, rejectf("malformed OAuth parameter %q", part)
		}
		name = strings.TrimSpace(name)
		if _, dup := params[name]; dup {
			return nil, rejectf("duplicate OAuth parameter %q", name)
		}
		params[name] = value
	}
	return params, nil
}

// newSignedRequest collects what the signature of r covers. The form body,
// when there is one, is read and put back so that handlers can read it.
func newSignedRequest(r *http.Request, oauthParams map[string]string) (signedRequest, error) {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}

	params := url.Values{}
	for name, values := range r.URL.Query() {
		params[name] = append(params[name], values...)
	}

	mediaType, _, _ := strings.Cut(r.Header.Get("Content-Type"), ";")
	if r.Body != nil && strings.EqualFold(strings.TrimSpace(mediaType), "application/x-www-form-urlencoded") {
		body, err := io.ReadAll(io.LimitReader(r.Body, maxFormBytes))
		if err != nil {
			return signedRequest{}, fmt.Errorf("reading form body: %w", err)
		}
		r.Body = io.NopCloser(strings.NewReader(string(body)))
		form, err := url.ParseQuery(string(body))
		if err != nil {
			return signedRequest{}, rejectf("malformed form body")
		}
		for name, values := range form {
			params[name] = append(params[name], values...)
		}
	}

	for name, value := range oauthParams {
		if name == "oauth_signature" || name == "realm" {
			continue
		}
		params.Add(name, value)
	}

	return signedRequest{
		method:  strings.ToUpper(r.Method),
		baseURI: baseStringURI(scheme, r.Host, r.URL.EscapedPath()),
		params:  params,
	}, nil
}

// baseStringURI builds the base string URI from the scheme, the Host header
// and the escaped path.
func baseStringURI(scheme, host, escapedPath string) string {
	scheme = strings.ToLower(scheme)
	host = strings.ToLower(host)
	if hostname, port, err := net.SplitHostPort(host); err == nil {
		if (scheme == "http" && port == "80") || (scheme == "https" && port == "443") {
			host = hostname
			if strings.Contains(hostname, ":") {
				host = "[" + hostname + "]"
			}
		}
	}
	if escapedPath == "" {
		escapedPath = "/"
	}
	return scheme + "://" + host + escapedPath
}

// baseString returns the signature base string of RFC 5849 section 3.4.1.1.
func (s signedRequest) baseString() string {
	type pair struct{ name, value string }
	var pairs []pair
	for name, values := range s.params {
		for _, value := range values {
			pairs = append(pairs, pair{percentEncode(name), percentEncode(value)})
		}
	}
	sort.Slice(pairs, func(i, j int) bool {
		if pairs[i].name != pairs[j].name {
			return pairs[i].name < pairs[j].name
		}
		return pairs[i].value < pairs[j].value
	})

	normalized := make([]string, len(pairs))
	for i, p := range pairs {
		normalized[i] = p.name + "=" + p.value
	}
	return s.method + "&" + percentEncode(s.baseURI) + "&" + percentEncode(strings.Join(normalized, "&"))
}

// expectedSignature computes the signature that method gives for the
// request, in the form it has before the header encoding.
func (s signedRequest) expectedSignature(method string, creds credentials) (string, error) {
	key := percentEncode(creds.consumerSecret) + "&" + percentEncode(creds.tokenSecret)

	var newHash func() hash.Hash
	switch method {
	case methodPlaintext:
		return key, nil
	case methodHMACSHA1:
		newHash = sha1.New
	case methodHMACSHA512:
		newHash = sha512.New
	default:
		return "", rejectf("unsupported oauth_signature_method %q: use HMAC-SHA512, HMAC-SHA1 or PLAINTEXT", method)
	}
	mac := hmac.New(newHash, []byte(key))
	mac.Write([]byte(s.baseString()))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil)), nil
}

// verifySignature checks the consumer key, the token and the signature of
// a request. It does not check the timestamp or the nonce.
func verifySignature(s signedRequest, oauthParams map[string]string, creds credentials) error {
	for _, name := range []string{"oauth_consumer_key", "oauth_token", "oauth_signature_method", "oauth_signature"} {
		if oauthParams[name] == "" {
			return rejectf("missing OAuth parameter %q", name)
		}
	}
	if version, ok := oauthParams["oauth_version"]; ok && version != "1.0" {
		return rejectf("unsupported oauth_version %q: use 1.0", version)
	}
	if !equalStrings(oauthParams["oauth_consumer_key"], creds.consumerKey) {
		return rejectf("unknown OAuth consumer key")
	}
	if !equalStrings(oauthParams["oauth_token"], creds.token) {
		return rejectf("unknown OAuth token")
	}

	expected, err := s.expectedSignature(oauthParams["oauth_signature_method"], creds)
	if err != nil {
		return err
	}
	if !equalStrings(oauthParams["oauth_signature"], expected) {
		return rejectf("invalid OAuth signature")
	}
	return nil
}

// checkFreshness checks that the timestamp is within maxSkew of now and
// returns it, so that the caller can record the nonce.
func checkFreshness(oauthParams map[string]string, now time.Time, maxSkew time.Duration) (time.Time, error) {
	if oauthParams["oauth_nonce"] == "" {
		return time.Time{}, rejectf("missing OAuth parameter %q", "oauth_nonce")
	}
	raw := oauthParams["oauth_timestamp"]
	seconds, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || seconds <= 0 {
		return time.Time{}, rejectf("invalid oauth_timestamp %q: must be a positive number of seconds since 1970", raw)
	}
	stamp := time.Unix(seconds, 0)
	if skew := now.Sub(stamp).Abs(); skew > maxSkew {
		return time.Time{}, rejectf("oauth_timestamp %q is %s away from the server clock: check the client clock", raw, skew.Round(time.Second))
	}
	return stamp, nil
}

func equalStrings(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// percentEncode encodes every byte outside the RFC 3986 unreserved set, as
// RFC 5849 section 3.6 requires.
func percentEncode(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if isUnreserved(c) {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}

func isUnreserved(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return c == '-' || c == '.' || c == '_' || c == '~'
}

// isAuthError reports whether err is a rejection that deserves a 401.
func isAuthError(err error) bool {
	var ae *authError
	return errors.As(err, &ae)
}
