// Command sweep measures the engine's sweep over many fake apps and prints
// the result as JSON. It times three sweeps: the first, which registers
// every app, a second that changes nothing, and a third that stops every
// app. It also reports the Go heap in use and the process's resident
// memory. The harness runs it in a fresh process so that the peak resident
// memory is the sweep's own.
//
// Usage:
//
//	sweep [-apps N]
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"

	"github.com/paastis/paastis/bench/internal/fleet"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintf(os.Stderr, "sweep: %v\n", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	flags := flag.NewFlagSet("sweep", flag.ContinueOnError)
	apps := flags.Int("apps", 10000, "number of fake apps")
	if err := flags.Parse(args); err != nil {
		return err
	}
	if *apps <= 0 {
		return fmt.Errorf("invalid -apps %d: give a positive number", *apps)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	result, err := fleet.Measure(ctx, *apps)
	if err != nil {
		return err
	}
	return json.NewEncoder(os.Stdout).Encode(result)
}
