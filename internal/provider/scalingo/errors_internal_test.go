package scalingo

import (
	"strings"
	"testing"
)

func TestParseErrorMessage(t *testing.T) {
	tests := []struct {
		name         string
		status       int
		body         string
		wantMessage  string
		wantResource string
	}{
		{"error field is the message", 400, `{"error":"There was a problem in the JSON you submitted"}`, "There was a problem in the JSON you submitted", ""},
		{"not found names its resource", 404, `{"resource":"app","error":"not found"}`, "app not found", "app"},
		{"errors map is flattened and sorted", 422, `{"errors":{"name":["is taken","is too short"],"app":["missing field"]}}`, "app: missing field; name: is taken, is too short", ""},
		{"plain-text 429 body is kept", 429, "Retry later\n", "Retry later", ""},
		{"JSON 429 body is read", 429, `{"error":"too many requests","code":"rate_limited"}`, "too many requests", ""},
		{"empty body gives the status text", 503, "", "service unavailable", ""},
		{"HTML page is flattened", 502, "<html>\n  <body>Bad gateway</body>\n</html>", "<html> <body>Bad gateway</body> </html>", ""},
		{"invalid JSON is kept as text", 500, `{"error":`, `{"error":`, ""},
	}
	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			message, resource := parseErrorMessage(test.status, []byte(test.body))
			if message != test.wantMessage {
				t.Errorf("message = %q, want %q", message, test.wantMessage)
			}
			if resource != test.wantResource {
				t.Errorf("resource = %q, want %q", resource, test.wantResource)
			}
		})
	}
}

func TestParseErrorMessageShortensLongBodies(t *testing.T) {
	message, _ := parseErrorMessage(500, []byte(strings.Repeat("é", 400)))
	if len(message) > maxMessageLength+len("…") {
		t.Errorf("message is %d bytes, want at most %d", len(message), maxMessageLength+len("…"))
	}
	if !strings.HasSuffix(message, "…") {
		t.Errorf("message %q does not end with an ellipsis", message)
	}
}

func TestIsBusy(t *testing.T) {
	tests := []struct {
		name    string
		status  int
		message string
		want    bool
	}{
		{"conflict is busy", 409, "anything", true},
		{"422 about an operation in progress is busy", 422, "app: an operation is already in progress", true},
		{"422 about a field is not busy", 422, "amount: must be between 0 and 10", false},
		{"429 is not busy", 429, "operation in progress", false},
	}
	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			err := &APIError{StatusCode: test.status, Message: test.message}
			if got := isBusy(err); got != test.want {
				t.Errorf("isBusy(%d %q) = %v, want %v", test.status, test.message, got, test.want)
			}
		})
	}
}

func TestAPIErrorNamesRequestAndStatus(t *testing.T) {
	err := &APIError{Method: "POST", Path: "/v1/apps/shop/scale", StatusCode: 422, Message: "amount: must be between 0 and 10"}
	want := "scalingo API POST /v1/apps/shop/scale: 422 Unprocessable Entity: amount: must be between 0 and 10"
	if err.Error() != want {
		t.Errorf("Error() = %q, want %q", err.Error(), want)
	}
}
