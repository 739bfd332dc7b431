// Command fakepaas serves a fake of a PaaS API on 127.0.0.1, so that paastis
// can be tried against Scalingo or Clever Cloud on one machine without an
// account. The fakes are the ones the provider tests use.
//
//	go run ./cmd/fakepaas scalingo [flags]
//	go run ./cmd/fakepaas clever-cloud [flags]
package main

import (
	"context"
	"fmt"
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
