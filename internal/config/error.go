package config

import (
	"fmt"
	"strings"
)

// Error lists every configuration problem found, so that an operator can fix
// them all before the next start. Load returns it, and the provider option
// parsers add their own problems to the same value with Add.
type Error struct {
	// Problems are one line each. A problem names the variable (or the file
	// and line), the rejected value in quotes, and the accepted values or
	// the fix.
	Problems []string
}

// Error returns the problems as one message, one problem a line.
func (e *Error) Error() string {
	var message strings.Builder
	message.WriteString("invalid configuration:")
	for _, problem := range e.Problems {
		message.WriteString("\n  - ")
		message.WriteString(problem)
	}
	return message.String()
}

// Add appends one problem, formatted as with fmt.Sprintf.
func (e *Error) Add(format string, args ...any) {
	e.Problems = append(e.Problems, fmt.Sprintf(format, args...))
}

// Err returns e when it contains problems and nil otherwise, so that a
// caller that collected problems can return the result directly.
func (e *Error) Err() error {
	if e == nil || len(e.Problems) == 0 {
		return nil
	}
	return e
}
