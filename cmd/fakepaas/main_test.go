package main

import (
	"flag"
	"io"
	"strings"
	"testing"
)

func TestCheckLoopback(t *testing.T) {
	tests := []struct {
		addr    string
		wantErr string
	}{
		{"127.0.0.1:8090", ""},
		{"localhost:0", ""},
		{"[::1]:8091", ""},
		{"10.0.0.1:80", `invalid -addr "10.0.0.1:80": the fake listens on a loopback address only`},
		{"0.0.0.0:8090", `invalid -addr "0.0.0.0:8090": the fake listens on a loopback address only`},
		{"nope", `invalid -addr "nope": must be host:port`},
	}
	for _, tt := range tests {
		t.Run(tt.addr, func(t *testing.T) {
			err := checkLoopback(tt.addr)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("checkLoopback(%q) = %v, want nil", tt.addr, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("checkLoopback(%q) = %v, want an error containing %q", tt.addr, err, tt.wantErr)
			}
		})
	}
}

func TestParseFlagsRejectsExtraArguments(t *testing.T) {
	flags := flag.NewFlagSet("fakepaas test", flag.ContinueOnError)
	flags.SetOutput(io.Discard)
	help, err := parseFlags(flags, []string{"extra"})
	if help {
		t.Error("parseFlags reported help for a stray argument")
	}
	if err == nil || !strings.Contains(err.Error(), `unexpected arguments ["extra"]: see -help`) {
		t.Errorf("parseFlags error = %v, want it to name the argument and -help", err)
	}
}

func TestParseFlagsReportsHelp(t *testing.T) {
	flags := flag.NewFlagSet("fakepaas test", flag.ContinueOnError)
	flags.SetOutput(io.Discard)
	help, err := parseFlags(flags, []string{"-help"})
	if !help || err != nil {
		t.Errorf("parseFlags(-help) = %v, %v; want true, nil", help, err)
	}
}
