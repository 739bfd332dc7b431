package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/paastis/paastis/internal/provider/scalingo/scalingotest"
)

// runScalingo serves the fake Scalingo API on 127.0.0.1 until ctx ends,
// and prints the environment that points paastis at it.
func runScalingo(ctx context.Context, args []string) error {
	flags := flag.NewFlagSet("fakepaas scalingo", flag.ContinueOnError)
	addr := flags.String("addr", "127.0.0.1:8090", "listen `address` of the fake API; loopback only, port 0 picks a free port")
	seedPath := flags.String("seed", "", "JSON or YAML `file` of apps (default: three demo apps served by the fake itself)")
	delay := flags.Duration("delay", 3*time.Second, "`duration` of a scale operation")
	token := flags.String("token", scalingotest.DefaultAPIToken, "API `token` that the fake accepts")
	rateLimit := flags.Int("rate-limit", 60, "requests per minute per token before the fake responds 429, as Scalingo does; 0 turns the limit off")
	if help, err := parseFlags(flags, args); help || err != nil {
		return err
	}
	if err := checkLoopback(*addr); err != nil {
		return err
	}
	if *rateLimit < 0 {
		return fmt.Errorf("invalid -rate-limit %d: must be 0 or more", *rateLimit)
	}

	seeds := scalingotest.DemoApps()
	if *seedPath != "" {
		loaded, err := scalingoReadSeed(*seedPath)
		if err != nil {
			return err
		}
		seeds = loaded
	}

	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	server, err := scalingotest.Start(scalingotest.Options{
		Addr:           *addr,
		APIToken:       *token,
		OperationDelay: *delay,
		RateLimit:      *rateLimit,
		Logger:         logger,
	})
	if err != nil {
		return fmt.Errorf("start the fake Scalingo API: %w", err)
	}
	defer server.Close()
	apps, err := server.LoadApps(seeds)
	if err != nil {
		source := "the demo apps"
		if *seedPath != "" {
			source = *seedPath
		}
		return fmt.Errorf("load %s: %w", source, err)
	}

	scalingoPrintUsage(os.Stdout, server, apps, *token)
	<-ctx.Done()
	logger.Info("fake Scalingo API stopping")
	return nil
}

// scalingoReadSeed reads apps from a JSON or YAML file, either a list of
// apps or an object with an "apps" list:
//
//	apps:
//	  - name: shop
//	    region: osc-fr1
//	    formation: web:2,worker:1
//	  - name: shop-pr3
//	    parent: shop
func scalingoReadSeed(path string) ([]scalingotest.App, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read the seed: %w", err)
	}

	var document yaml.Node
	decoder := yaml.NewDecoder(bytes.NewReader(data))
	if err := decoder.Decode(&document); err != nil {
		return nil, fmt.Errorf("seed %s: invalid JSON or YAML: %w", path, err)
	}
	var seed struct {
		Apps []scalingotest.App `yaml:"apps"`
	}
	root := &document
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	if root.Kind == yaml.SequenceNode {
		err = root.Decode(&seed.Apps)
	} else {
		err = root.Decode(&seed)
	}
	if err != nil {
		return nil, fmt.Errorf("seed %s: %w", path, err)
	}
	if len(seed.Apps) == 0 {
		return nil, fmt.Errorf("seed %s lists no apps: give a list of apps, or an object with an apps list", path)
	}
	return seed.Apps, nil
}

// scalingoPrintUsage prints the apps and the variables that point paastis
// at the fake.
func scalingoPrintUsage(w io.Writer, server *scalingotest.Server, apps []scalingotest.App, token string) {
	fmt.Fprintf(w, "Fake Scalingo API on %s\n", server.URL)
	fmt.Fprintf(w, "  authentication service  %s\n", server.AuthURL())
	for _, region := range server.Regions() {
		fmt.Fprintf(w, "  region %-16s %s\n", region, server.APIURL(region))
	}

	fmt.Fprintln(w, "\nApps:")
	for _, app := range apps {
		state := "stopped"
		if server.Running(app.Region, app.Name) {
			state = "running"
		}
		line := fmt.Sprintf("  %-20s %-15s %-8s %-16s %s", app.Name, app.Region, state, server.Formation(app.Region, app.Name), app.URL)
		if app.Parent != "" {
			line += "  review app of " + app.Parent
		}
		fmt.Fprintln(w, line)
	}
	fmt.Fprintln(w, "paastis routes each app by its name. An app whose name a region listed earlier")
	fmt.Fprintln(w, "already uses is routed as <name>--<region>.")

	fmt.Fprintln(w, "\nPoint paastis at it with:")
	for _, line := range [][2]string{
		{"PROVIDER_NAME", "scalingo"},
		{"PROVIDER_SCALINGO_API_TOKEN", token},
		{"PROVIDER_SCALINGO_AUTH_URL", server.AuthURL()},
	} {
		fmt.Fprintf(w, "  export %s=%s\n", line[0], line[1])
	}
	if len(apps) > 0 {
		fmt.Fprintf(w, "\nThen, with paastis on port 3000:\n  curl -H 'Host: %s.localhost' http://127.0.0.1:3000/\n", apps[0].Name)
	}
	fmt.Fprintln(w, "\nPress Ctrl-C to stop.")
}
