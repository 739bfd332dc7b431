package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"github.com/joho/godotenv"
)

// Environ returns a Getenv that reads the process environment, and the .env
// file at dotenvPath for the variables that the environment does not set. An
// empty dotenvPath, or a file that does not exist, means no .env file. The
// process environment is copied when Environ is called and is never
// modified.
//
// The .env syntax is that of github.com/joho/godotenv: unquoted and
// double-quoted values expand $VAR and ${VAR}, and single-quoted values are
// taken as written.
func Environ(dotenvPath string) (Getenv, error) {
	values := map[string]string{}
	if dotenvPath != "" {
		fileValues, err := readDotenv(dotenvPath)
		if err != nil {
			return nil, err
		}
		values = fileValues
	}

	for _, entry := range os.Environ() {
		if name, value, found := strings.Cut(entry, "="); found && name != "" {
			values[name] = value
		}
	}
	return func(key string) string { return values[key] }, nil
}

// readDotenv reads a .env file, or returns an empty map when it does not
// exist.
func readDotenv(path string) (map[string]string, error) {
	values, err := godotenv.Read(path)
	if errors.Is(err, fs.ErrNotExist) {
		return map[string]string{}, nil
	}
	var pathErr *fs.PathError
	if errors.As(err, &pathErr) {
		return nil, fmt.Errorf("read .env file %q: %w", path, pathErr.Err)
	}
	if err != nil {
		return nil, syntaxError(path, err)
	}
	return values, nil
}

// syntaxError describes a .env parse error with its line number. The errors
// of godotenv v1.5.1 carry no line and may quote the rest of the file,
// secrets included, so only the kind of mistake is kept.
func syntaxError(path string, parseErr error) error {
	reason := "invalid syntax"
	message := parseErr.Error()
	switch {
	case strings.HasPrefix(message, "unexpected character"):
		// The message is `unexpected character "X" in variable name near "..."`.
		reason, _, _ = strings.Cut(message, " near ")
	case strings.HasPrefix(message, "unterminated quoted value"):
		reason = "unterminated quoted value"
	}

	content, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("invalid .env file %q: %s: fix the file", path, reason)
	}
	line := failingLine(content)
	return fmt.Errorf("invalid .env file %q: line %d: %s: fix that line", path, line, reason)
}

// failingLine returns the 1-based line where parsing content first fails for
// good. A quoted value may span lines, so a prefix can fail and a longer one
// parse again. The result is the line after the longest prefix that parses.
func failingLine(content []byte) int {
	lines := strings.SplitAfter(strings.ReplaceAll(string(content), "\r\n", "\n"), "\n")
	longest := 0
	var prefix strings.Builder
	for count, line := range lines {
		prefix.WriteString(line)
		if _, err := godotenv.Unmarshal(prefix.String()); err == nil {
			longest = count + 1
		}
	}
	return longest + 1
}
