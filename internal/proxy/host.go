package proxy

import (
	"errors"
	"fmt"
	"strings"
)

// Host errors. Both come with a message that names the host.
var (
	// ErrInvalidHost marks an empty, malformed or non-DNS Host header,
	// which gets 400.
	ErrInvalidHost = errors.New("invalid host")
	// ErrOutsideDomain marks a host that is not under PROXY_DOMAIN,
	// which gets 404.
	ErrOutsideDomain = errors.New("host outside the proxy domain")
)

// AppName returns the app that a Host header routes to: its first DNS
// label, lowercased, port stripped. With a domain, the host must be one
// label under that domain. AppName allocates only for hosts with upper
// case letters or errors.
func AppName(host, domain string) (string, error) {
	hostname, err := stripPort(host)
	if err != nil {
		return "", err
	}
	hostname = strings.TrimSuffix(hostname, ".")
	if hostname == "" {
		return "", fmt.Errorf("%w: empty host", ErrInvalidHost)
	}
	if len(hostname) > 253 {
		return "", fmt.Errorf("%w %q: longer than 253 characters", ErrInvalidHost, truncate(host))
	}
	if hasUpper(hostname) {
		hostname = strings.ToLower(hostname)
	}

	allDigits := true
	for label := range strings.SplitSeq(hostname, ".") {
		if err := checkLabel(label); err != nil {
			return "", fmt.Errorf("%w %q: %v", ErrInvalidHost, truncate(host), err)
		}
		if allDigits && strings.Trim(label, "0123456789") != "" {
			allDigits = false
		}
	}
	if allDigits {
		return "", fmt.Errorf("%w %q: an IP address names no app; use <app>.<domain>", ErrInvalidHost, truncate(host))
	}

	name, rest, _ := strings.Cut(hostname, ".")
	if domain != "" && rest != domain {
		return "", fmt.Errorf("%w: %q is not <app>.%s", ErrOutsideDomain, truncate(host), domain)
	}
	return name, nil
}

func stripPort(host string) (string, error) {
	if strings.HasPrefix(host, "[") {
		return "", fmt.Errorf("%w %q: an IP address names no app; use <app>.<domain>", ErrInvalidHost, truncate(host))
	}
	i := strings.LastIndexByte(host, ':')
	if i < 0 {
		return host, nil
	}
	port := host[i+1:]
	if port == "" || len(port) > 5 || strings.Trim(port, "0123456789") != "" {
		return "", fmt.Errorf("%w %q: invalid port", ErrInvalidHost, truncate(host))
	}
	return host[:i], nil
}

func checkLabel(label string) error {
	if label == "" {
		return errors.New("empty label")
	}
	if len(label) > 63 {
		return errors.New("label longer than 63 characters")
	}
	if label[0] == '-' || label[len(label)-1] == '-' {
		return errors.New("label starts or ends with a hyphen")
	}
	for i := 0; i < len(label); i++ {
		c := label[i]
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' {
			return fmt.Errorf("character %q is not allowed in a DNS label", c)
		}
	}
	return nil
}

func hasUpper(s string) bool {
	for i := 0; i < len(s); i++ {
		if 'A' <= s[i] && s[i] <= 'Z' {
			return true
		}
	}
	return false
}

// truncate keeps error messages short when a client sends a huge header.
func truncate(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}
