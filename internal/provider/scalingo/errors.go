package scalingo

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// maxMessageLength caps the provider message kept from an error body, in
// bytes, so that an HTML error page does not flood the logs.
const maxMessageLength = 300

// APIError is a Scalingo response with an unexpected status.
type APIError struct {
	// Method and Path identify the request. Path has no host nor query.
	Method string
	Path   string
	// StatusCode is the HTTP status of the response.
	StatusCode int
	// Message is Scalingo's error message: the error field, the errors
	// map, or the plain-text body, shortened.
	Message string
	// Resource is the resource field of a 404 response, such as "app".
	Resource string
	// RetryAfter is the delay that the Retry-After header asked for, zero
	// when the header is absent.
	RetryAfter time.Duration
}

func (e *APIError) Error() string {
	return fmt.Sprintf("scalingo API %s %s: %d %s: %s", e.Method, e.Path, e.StatusCode, http.StatusText(e.StatusCode), e.Message)
}

// OperationError is a Scalingo operation that ended with status "error".
type OperationError struct {
	// App is the Scalingo app name.
	App string
	// ID and Type identify the operation, such as "scale".
	ID   string
	Type string
	// Message is the operation's error field, Scalingo's error message.
	Message string
}

func (e *OperationError) Error() string {
	return fmt.Sprintf("scalingo %s operation %q on app %q ended in error: %s", e.Type, e.ID, e.App, e.Message)
}

// errorBody is the union of Scalingo's documented error bodies:
// {"error": "..."}, {"resource": "app", "error": "not found"} and
// {"errors": {"field": ["message", ...]}}.
type errorBody struct {
	Error    any            `json:"error"`
	Message  string         `json:"message"`
	Resource string         `json:"resource"`
	Errors   map[string]any `json:"errors"`
}

// parseErrorMessage returns the message and resource of an error
// response. It accepts JSON and plain-text bodies, because a 429 body may
// be plain text ("Retry later"), while Scalingo's Go client (go-scalingo,
// http/errors.go) parses JSON there.
func parseErrorMessage(status int, body []byte) (message, resource string) {
	text := strings.TrimSpace(string(body))
	if text == "" {
		return strings.ToLower(http.StatusText(status)), ""
	}

	var parsed errorBody
	if text[0] == '{' && json.Unmarshal([]byte(text), &parsed) == nil {
		message = formatErrorMessage(parsed)
		if message != "" {
			if parsed.Resource != "" && !strings.Contains(message, parsed.Resource) {
				message = parsed.Resource + " " + message
			}
			return shorten(message), parsed.Resource
		}
	}
	return shorten(strings.Join(strings.Fields(text), " ")), ""
}

func formatErrorMessage(parsed errorBody) string {
	if text := valueText(parsed.Error); text != "" {
		return text
	}
	if parsed.Message != "" {
		return parsed.Message
	}
	fields := make([]string, 0, len(parsed.Errors))
	for field := range parsed.Errors {
		fields = append(fields, field)
	}
	slices.Sort(fields)
	parts := make([]string, 0, len(fields))
	for _, field := range fields {
		parts = append(parts, field+": "+valueText(parsed.Errors[field]))
	}
	return strings.Join(parts, "; ")
}

// valueText renders a JSON string, or a list of strings, as text.
func valueText(value any) string {
	switch v := value.(type) {
	case string:
		return v
	case []any:
		items := make([]string, 0, len(v))
		for _, item := range v {
			items = append(items, valueText(item))
		}
		return strings.Join(items, ", ")
	case nil:
		return ""
	default:
		encoded, _ := json.Marshal(v)
		return string(encoded)
	}
}

func shorten(text string) string {
	if len(text) <= maxMessageLength {
		return text
	}
	cut := maxMessageLength
	for cut > 0 && !utf8.RuneStart(text[cut]) {
		cut--
	}
	return text[:cut] + "…"
}

// isBusy reports whether an error is Scalingo refusing a scale because
// another operation runs on the app: 409, or 422 with a message about an
// operation in progress.
//
// NOTE: the public API reference does not give the wording of that 422,
// so the match on the message is a guess. Other 422 errors are not retried.
func isBusy(err *APIError) bool {
	if err.StatusCode == http.StatusConflict {
		return true
	}
	if err.StatusCode != http.StatusUnprocessableEntity {
		return false
	}
	message := strings.ToLower(err.Message)
	for _, hint := range []string{"in progress", "already", "currently", "another operation", "pending operation", "busy"} {
		if strings.Contains(message, hint) {
			return true
		}
	}
	return false
}
