// Command fakepaas serves a fake of a PaaS API on 127.0.0.1, so that paastis
// can be tried against Scalingo or Clever Cloud on one machine without an
// account. The fakes are the ones the provider tests use.
//
//	go run ./cmd/fakepaas scalingo [flags]
//	go run ./cmd/fakepaas clever-cloud [flags]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: fakepaas scalingo|clever-cloud [flags]")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "-h", "-help", "--help", "help":
		fmt.Println("usage: fakepaas scalingo|clever-cloud [flags]; fakepaas PROVIDER -help lists the flags")
		return
	case "scalingo":
		err = runScalingo(ctx, os.Args[2:])
	case "clever-cloud":
		err = runCleverCloud(ctx, os.Args[2:])
	default:
		fmt.Fprintf(os.Stderr, "fakepaas: unknown provider %q; use scalingo or clever-cloud\n", os.Args[1])
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "fakepaas:", err)
		os.Exit(1)
	}
}

// parseFlags parses the flags of a subcommand. It reports help when the
// user asked for -help, which the flag package has then printed.
func parseFlags(flags *flag.FlagSet, args []string) (help bool, err error) {
	if err := flags.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return true, nil
		}
		return false, err
	}
	if flags.NArg() > 0 {
		return false, fmt.Errorf("unexpected arguments %q: see -help", flags.Args())
	}
	return false, nil
}

// checkLoopback rejects a listen address outside the loopback range, since
// a fake API has no business on the network.
func checkLoopback(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("invalid -addr %q: must be host:port, such as 127.0.0.1:8090", addr)
	}
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("invalid -addr %q: the fake listens on a loopback address only, such as 127.0.0.1", addr)
}
