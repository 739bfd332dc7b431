package config

import (
	"net"
	"net/url"
	"strconv"
	"strings"
)

func (d decoder) decodeAdmin(cfg *Config) {
	if host, ok := d.lookup("ADMIN_HOST"); ok {
		if net.ParseIP(host) == nil && !isDNSName(host) {
			d.problems.Add("ADMIN_HOST: invalid value %q: must be an IP address (such as 127.0.0.1) or a host name, without a port", host)
		} else {
			cfg.AdminHost = host
		}
	}

	if value, ok := d.lookup("ADMIN_PORT"); ok {
		port, err := strconv.Atoi(value)
		if err != nil || port < 1 || port > 65535 {
			d.problems.Add("ADMIN_PORT: invalid value %q: must be a number from 1 to 65535", value)
		} else {
			cfg.AdminPort = port
		}
	}

	cfg.AdminAPIToken, _ = d.lookup("ADMIN_API_TOKEN")

	if value, ok := d.lookup("PAASTIS_ADMIN_URL"); ok {
		parsed, err := url.Parse(value)
		if err != nil || (parsed.Scheme != "http" && parsed.Scheme != "https") || parsed.Host == "" {
			d.problems.Add("PAASTIS_ADMIN_URL: invalid value %q: must be an http:// or https:// URL such as http://127.0.0.1:3001", value)
		} else {
			cfg.AdminURL = strings.TrimRight(value, "/")
		}
	}
}

// validateAdmin adds the problems of the admin listener that involve
// several settings.
func validateAdmin(cfg *Config, problems *Error) {
	if cfg.AdminAPIToken == "" && !IsLoopback(cfg.AdminHost) {
		problems.Add("ADMIN_HOST and ADMIN_API_TOKEN: ADMIN_HOST is %q, which is not a loopback address, and ADMIN_API_TOKEN is empty, so anyone who reaches that address could stop apps: set ADMIN_API_TOKEN to a long random token (for instance the output of `openssl rand -hex 32`), or set ADMIN_HOST to 127.0.0.1", cfg.AdminHost)
	}
	if cfg.AdminPort == cfg.Port && hostsOverlap(cfg.AdminHost, cfg.Host) {
		problems.Add("ADMIN_PORT: %d is also PORT on an overlapping address (%q and %q): choose another port for the admin listener", cfg.AdminPort, cfg.AdminHost, cfg.Host)
	}
}

// IsLoopback reports whether host is "localhost" or a loopback IP address,
// so that only processes of the same machine can connect to it.
func IsLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}

// hostsOverlap reports whether listeners on the two hosts with one port
// would conflict: same host, or either one the unspecified address.
func hostsOverlap(a, b string) bool {
	unspecified := func(host string) bool {
		ip := net.ParseIP(host)
		return ip != nil && ip.IsUnspecified()
	}
	return strings.EqualFold(a, b) || unspecified(a) || unspecified(b)
}

// AdminBaseURL returns the base URL of the admin API for the CLI:
// AdminURL when set, or else http://AdminHost:AdminPort, with 127.0.0.1 in
// place of an unspecified address such as 0.0.0.0.
func (c *Config) AdminBaseURL() string {
	if c.AdminURL != "" {
		return c.AdminURL
	}
	host := c.AdminHost
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, strconv.Itoa(c.AdminPort))
}
