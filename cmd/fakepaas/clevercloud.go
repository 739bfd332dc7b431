package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/paastis/paastis/internal/provider/clevercloud/clevercloudtest"
)

// runCleverCloud serves the fake Clever Cloud API on 127.0.0.1 until ctx
// ends, and prints the environment that points paastis at it.
func runCleverCloud(ctx context.Context, args []string) error {
	flags := flag.NewFlagSet("fakepaas clever-cloud", flag.ContinueOnError)
	addr := flags.String("addr", "127.0.0.1:8091", "listen `address` of the fake API; loopback only, port 0 picks a free port")
	seedPath := flags.String("seed", "", "JSON or YAML `file` of organisations and apps (default: three demo apps served by the fake itself)")
	delay := flags.Duration("delay", 3*time.Second, "`duration` of a redeploy or an undeploy")
	if help, err := parseFlags(flags, args); help || err != nil {
		return err
	}
	if err := checkLoopback(*addr); err != nil {
		return err
	}

	seed := clevercloudtest.DemoSeed()
	if *seedPath != "" {
		loaded, err := clevercloudtest.LoadSeed(*seedPath)
		if err != nil {
			return err
		}
		seed = loaded
	}

	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	server, err := clevercloudtest.Listen(clevercloudtest.Options{
		Addr:           *addr,
		OperationDelay: *delay,
		Organisations:  seed.Organisations,
		Apps:           seed.Apps,
		Logger:         logger,
	})
	if err != nil {
		return fmt.Errorf("starting the fake Clever Cloud API: %w", err)
	}
	defer server.Close()

	cleverPrintUsage(os.Stdout, server, seed)
	<-ctx.Done()
	logger.Info("fake Clever Cloud API stopping")
	return nil
}

// cleverPrintUsage prints the apps and the variables that point paastis at
// the fake.
func cleverPrintUsage(w io.Writer, server *clevercloudtest.Server, seed clevercloudtest.Seed) {
	fmt.Fprintf(w, "Fake Clever Cloud API on %s/v2\n\n", server.URL)

	fmt.Fprintln(w, "Apps:")
	// The fake creates the apps in seed order, so the ids and the seeds
	// line up.
	for i, id := range server.AppIDs() {
		upstream := server.UpstreamURL(id)
		if upstream == "" {
			upstream = "(upstream given by the seed)"
		}
		state := "stopped"
		if server.Running(id) {
			state = "running"
		}
		fmt.Fprintf(w, "  %-20s  %s  %-7s  %s\n", seed.Apps[i].Name, id, state, upstream)
	}
	fmt.Fprintln(w, "paastis routes each app by the slug of its name (\"Shop Front\" is shop-front)")
	fmt.Fprintln(w, "and always by its id with \"_\" replaced by \"-\" (the slug only when no other app has it).")

	fmt.Fprintln(w, "\nPoint paastis at it with:")
	for _, line := range [][2]string{
		{"PROVIDER_NAME", "clever-cloud"},
		{"PROVIDER_CLEVER_API_HOST", server.URL},
		{"PROVIDER_CLEVER_OAUTH_CONSUMER_KEY", clevercloudtest.DefaultConsumerKey},
		{"PROVIDER_CLEVER_OAUTH_CONSUMER_SECRET", clevercloudtest.DefaultConsumerSecret},
		{"PROVIDER_CLEVER_TOKEN", clevercloudtest.DefaultToken},
		{"PROVIDER_CLEVER_SECRET", clevercloudtest.DefaultTokenSecret},
		{"PROVIDER_CLEVER_UPSTREAM_SCHEME", "http"},
	} {
		fmt.Fprintf(w, "  export %s=%s\n", line[0], line[1])
	}
	fmt.Fprintln(w, "\nPress Ctrl-C to stop.")
}
