package clevercloudtest

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

// rfcCredentials are the credentials of the examples in RFC 5849 section
// 1.2.
var rfcCredentials = credentials{
	consumerKey:    "dpf43f3p2l4k3l03",
	consumerSecret: "kd94hf93k423kf44",
	token:          "nnch734d00sl2jdk",
	tokenSecret:    "pfkkdhi9sl3r4s00",
}

// rfcPhotoRequest is the signed resource request of RFC 5849 section 1.2.
func rfcPhotoRequest(t *testing.T, signature string) *http.Request {
	t.Helper()
	r := httptest.NewRequest(http.MethodGet, "http://photos.example.net/photos?file=vacation.jpg&size=original", nil)
	r.Header.Set("Authorization", `OAuth realm="Photos", oauth_consumer_key="dpf43f3p2l4k3l03", `+
		`oauth_token="nnch734d00sl2jdk", oauth_signature_method="HMAC-SHA1", oauth_timestamp="137131202", `+
		`oauth_nonce="chapoH", oauth_signature="`+signature+`"`)
	return r
}

func TestVerifySignatureRFC5849Example(t *testing.T) {
	r := rfcPhotoRequest(t, "MdpQcU8iPSUjWoN%2FUDMsK2sui9I%3D")
	params, err := parseAuthorization(r.Header.Get("Authorization"))
	if err != nil {
		t.Fatalf("parseAuthorization: %v", err)
	}
	signed, err := newSignedRequest(r, params)
	if err != nil {
		t.Fatalf("newSignedRequest: %v", err)
	}

	wantBase := "GET&http%3A%2F%2Fphotos.example.net%2Fphotos&file%3Dvacation.jpg%26oauth_consumer_key%3Ddpf43f3p2l4k3l03" +
		"%26oauth_nonce%3DchapoH%26oauth_signature_method%3DHMAC-SHA1%26oauth_timestamp%3D137131202" +
		"%26oauth_token%3Dnnch734d00sl2jdk%26size%3Doriginal"
	if got := signed.baseString(); got != wantBase {
		t.Errorf("base string:\n got %s\nwant %s", got, wantBase)
	}
	if err := verifySignature(signed, params, rfcCredentials); err != nil {
		t.Errorf("verifySignature of the RFC example: %v", err)
	}
}

func TestVerifySignatureRejects(t *testing.T) {
	tests := []struct {
		name   string
		modify func(creds *credentials, params map[string]string)
		want   string
	}{
		{
			name:   "wrong consumer secret",
			modify: func(c *credentials, _ map[string]string) { c.consumerSecret = "other" },
			want:   "invalid OAuth signature",
		},
		{
			name:   "wrong token secret",
			modify: func(c *credentials, _ map[string]string) { c.tokenSecret = "other" },
			want:   "invalid OAuth signature",
		},
		{
			name:   "unknown consumer key",
			modify: func(c *credentials, _ map[string]string) { c.consumerKey = "other" },
			want:   "unknown OAuth consumer key",
		},
		{
			name:   "unknown token",
			modify: func(c *credentials, _ map[string]string) { c.token = "other" },
			want:   "unknown OAuth token",
		},
		{
			name:   "tampered timestamp",
			modify: func(_ *credentials, p map[string]string) { p["oauth_timestamp"] = "137131203" },
			want:   "invalid OAuth signature",
		},
		{
			name:   "unsupported method",
			modify: func(_ *credentials, p map[string]string) { p["oauth_signature_method"] = "RSA-SHA1" },
			want:   "unsupported oauth_signature_method",
		},
		{
			name:   "missing signature",
			modify: func(_ *credentials, p map[string]string) { delete(p, "oauth_signature") },
			want:   `missing OAuth parameter "oauth_signature"`,
		},
		{
			name:   "wrong version",
			modify: func(_ *credentials, p map[string]string) { p["oauth_version"] = "2.0" },
			want:   "unsupported oauth_version",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := rfcPhotoRequest(t, "MdpQcU8iPSUjWoN%2FUDMsK2sui9I%3D")
			params, err := parseAuthorization(r.Header.Get("Authorization"))
			if err != nil {
				t.Fatalf("parseAuthorization: %v", err)
			}
			creds := rfcCredentials
			tt.modify(&creds, params)
			signed, err := newSignedRequest(r, params)
			if err != nil {
				t.Fatalf("newSignedRequest: %v", err)
			}

			err = verifySignature(signed, params, creds)
			if err == nil {
				t.Fatal("verifySignature accepted the request")
			}
			if !isAuthError(err) {
				t.Errorf("error %v is not an authError", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not contain %q", err, tt.want)
			}
		})
	}
}

func TestExpectedSignaturePlaintext(t *testing.T) {
	// RFC 5849 section 3.4.4: the signature is the encoded consumer secret
	// and token secret, joined by "&".
	creds := credentials{consumerSecret: "ja893SD9", tokenSecret: "xyz4992k83j47x0b"}
	got, err := signedRequest{}.expectedSignature(methodPlaintext, creds)
	if err != nil {
		t.Fatalf("expectedSignature: %v", err)
	}
	if want := "ja893SD9&xyz4992k83j47x0b"; got != want {
		t.Errorf("PLAINTEXT signature = %q, want %q", got, want)
	}

	creds = credentials{consumerSecret: "a&b", tokenSecret: "c d"}
	got, _ = signedRequest{}.expectedSignature(methodPlaintext, creds)
	if want := "a%26b&c%20d"; got != want {
		t.Errorf("PLAINTEXT signature of reserved characters = %q, want %q", got, want)
	}
}

func TestBaseStringURI(t *testing.T) {
	tests := []struct {
		name, scheme, host, path, want string
	}{
		{"default http port dropped", "http", "Example.COM:80", "/r%20v/X", "http://example.com/r%20v/X"},
		{"default https port dropped", "https", "www.example.net:443", "/", "https://www.example.net/"},
		{"other port kept", "http", "127.0.0.1:8080", "/v2/summary", "http://127.0.0.1:8080/v2/summary"},
		{"https port on http kept", "http", "example.com:443", "/", "http://example.com:443/"},
		{"empty path becomes slash", "http", "example.com", "", "http://example.com/"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := baseStringURI(tt.scheme, tt.host, tt.path); got != tt.want {
				t.Errorf("baseStringURI = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestBaseStringSortsRepeatedParameters(t *testing.T) {
	// Repeated names sort by value, and names and values are encoded
	// before sorting (RFC 5849 section 3.4.1.3.2).
	s := signedRequest{
		method:  "POST",
		baseURI: "http://example.com/request",
		params:  url.Values{"a3": {"a", "2 q"}, "c@": {""}, "b5": {"=%3D"}, "a2": {"r b"}},
	}
	want := "POST&http%3A%2F%2Fexample.com%2Frequest&a2%3Dr%2520b%26a3%3D2%2520q%26a3%3Da%26b5%3D%253D%25253D%26c%2540%3D"
	if got := s.baseString(); got != want {
		t.Errorf("base string:\n got %s\nwant %s", got, want)
	}
}

func TestParseAuthorization(t *testing.T) {
	params, err := parseAuthorization(`OAuth oauth_nonce="a%2Bb%3D", oauth_signature="x%2Fy"`)
	if err != nil {
		t.Fatalf("parseAuthorization: %v", err)
	}
	if got := params["oauth_nonce"]; got != "a+b=" {
		t.Errorf("oauth_nonce = %q, want %q", got, "a+b=")
	}
	if got := params["oauth_signature"]; got != "x/y" {
		t.Errorf("oauth_signature = %q, want %q", got, "x/y")
	}

	for _, header := range []string{"", "Bearer abc", `OAuth oauth_nonce=abc`, `OAuth a="1", a="2"`} {
		if _, err := parseAuthorization(header); err == nil {
			t.Errorf("parseAuthorization(%q) accepted a malformed header", header)
		}
	}
}

func TestCheckFreshness(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	tests := []struct {
		name    string
		stamp   string
		nonce   string
		wantErr bool
	}{
		{"current timestamp accepted", strconv.FormatInt(now.Unix(), 10), "n1", false},
		{"small skew accepted", strconv.FormatInt(now.Unix()-60, 10), "n2", false},
		{"old timestamp rejected", strconv.FormatInt(now.Unix()-3600, 10), "n3", true},
		{"future timestamp rejected", strconv.FormatInt(now.Unix()+3600, 10), "n4", true},
		{"non-numeric timestamp rejected", "yesterday", "n5", true},
		{"missing nonce rejected", strconv.FormatInt(now.Unix(), 10), "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			params := map[string]string{"oauth_timestamp": tt.stamp, "oauth_nonce": tt.nonce}
			_, err := checkFreshness(params, now, 5*time.Minute)
			if gotErr := err != nil; gotErr != tt.wantErr {
				t.Errorf("checkFreshness error = %v, want error %v", err, tt.wantErr)
			}
		})
	}
}
