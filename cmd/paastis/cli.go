package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/paastis/paastis/internal/config"
)

// The apps, wake and sleep commands call the admin API of a running
// paastis, at PAASTIS_ADMIN_URL, with the token of ADMIN_API_TOKEN.

// cliApp holds the fields of an admin API app that the commands show.
type cliApp struct {
	Name           string     `json:"name"`
	Provider       string     `json:"provider"`
	Region         string     `json:"region"`
	Status         string     `json:"status"`
	IsMonitored    bool       `json:"is_monitored"`
	InFlight       int64      `json:"in_flight"`
	LastAccessedAt time.Time  `json:"last_accessed_at"`
	SleepsAt       *time.Time `json:"sleeps_at"`
}

// adminClient sends the commands' requests to the admin API.
type adminClient struct {
	baseURL string
	token   string
	client  *http.Client
}

// newAdminClient reads PAASTIS_ADMIN_URL (or ADMIN_HOST and ADMIN_PORT) and
// ADMIN_API_TOKEN from the environment and .env. Problems in other
// variables are ignored, because the commands do not use them.
func newAdminClient() (*adminClient, error) {
	getenv, err := config.Environ(".env")
	if err != nil {
		return nil, err
	}
	cfg, err := config.Load(getenv)
	var problems *config.Error
	if err != nil && !errors.As(err, &problems) {
		return nil, err
	}
	relevant := &config.Error{}
	if problems != nil {
		for _, problem := range problems.Problems {
			for _, name := range []string{"PAASTIS_ADMIN_URL:", "ADMIN_HOST:", "ADMIN_PORT:"} {
				if strings.HasPrefix(problem, name) {
					relevant.Add("%s", problem)
				}
			}
		}
	}
	if err := relevant.Err(); err != nil {
		return nil, err
	}
	return &adminClient{baseURL: cfg.AdminBaseURL(), token: cfg.AdminAPIToken, client: &http.Client{}}, nil
}

// apiError is a failed admin API call, with the server's message.
type apiError struct {
	status  int
	message string
}

func (e *apiError) Error() string { return e.message }

// call sends a request to path and decodes the JSON response into result.
// It returns the response status, and an error for a status of 400 or
// more.
func (c *adminClient) call(ctx context.Context, method, path string, result any) (int, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.baseURL+path, nil)
	if err != nil {
		return 0, fmt.Errorf("invalid PAASTIS_ADMIN_URL %q: %w", c.baseURL, err)
	}
	req.Header.Set("Accept", "application/json")
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.client.Do(req)
	if err != nil {
		return 0, fmt.Errorf("reach the admin API at %s: %w (is paastis running? set PAASTIS_ADMIN_URL to its admin address)", c.baseURL, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return resp.StatusCode, fmt.Errorf("read the response of %s %s: %w", method, path, err)
	}

	if resp.StatusCode == http.StatusUnauthorized {
		return resp.StatusCode, &apiError{resp.StatusCode, "the admin API rejected the token: set ADMIN_API_TOKEN to the token of the paastis server"}
	}
	if resp.StatusCode >= 400 {
		var failure struct {
			Error string `json:"error"`
		}
		if json.Unmarshal(body, &failure) != nil || failure.Error == "" {
			failure.Error = fmt.Sprintf("%s %s: %s", method, path, resp.Status)
		}
		// A start or stop that failed still describes the app, so the caller
		// may decode it.
		_ = json.Unmarshal(body, result)
		return resp.StatusCode, &apiError{resp.StatusCode, failure.Error}
	}
	if err := json.Unmarshal(body, result); err != nil {
		return resp.StatusCode, fmt.Errorf("the admin API at %s sent an unexpected response to %s %s: %w", c.baseURL, method, path, err)
	}
	return resp.StatusCode, nil
}

// runApps lists the apps as a table, or as the API's JSON with -json.
func runApps(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	flags := flag.NewFlagSet("paastis apps", flag.ContinueOnError)
	flags.SetOutput(stderr)
	asJSON := flags.Bool("json", false, "print the JSON of the admin API instead of a table")
	if err := flags.Parse(args); err != nil {
		return 2
	}
	if flags.NArg() > 0 {
		fmt.Fprintf(stderr, "paastis apps: unexpected argument %q\n", flags.Arg(0))
		return 2
	}
	client, err := newAdminClient()
	if err != nil {
		fmt.Fprintf(stderr, "paastis: %v\n", err)
		return 1
	}

	var raw json.RawMessage
	if _, err := client.call(ctx, http.MethodGet, "/api/apps", &raw); err != nil {
		fmt.Fprintf(stderr, "paastis: %v\n", err)
		return 1
	}
	if *asJSON {
		fmt.Fprintf(stdout, "%s\n", raw)
		return 0
	}
	var list struct {
		Apps []cliApp `json:"apps"`
	}
	if err := json.Unmarshal(raw, &list); err != nil {
		fmt.Fprintf(stderr, "paastis: unexpected app list: %v\n", err)
		return 1
	}
	writeAppTable(stdout, list.Apps, time.Now())
	return 0
}

// writeAppTable writes one line per app under a header.
func writeAppTable(w io.Writer, apps []cliApp, now time.Time) {
	table := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(table, "NAME\tSTATE\tLAST ACCESS\tSLEEPS IN\tPROVIDER\tREGION")
	for _, app := range apps {
		region := app.Region
		if region == "" {
			region = "-"
		}
		fmt.Fprintf(table, "%s\t%s\t%s ago\t%s\t%s\t%s\n",
			app.Name, app.Status, shortDuration(now.Sub(app.LastAccessedAt)), sleepsIn(app, now), app.Provider, region)
	}
	table.Flush()
}

// sleepsIn returns when the app may be stopped, as the dashboard shows it.
func sleepsIn(app cliApp, now time.Time) string {
	switch {
	case !app.IsMonitored:
		return "ignored"
	case app.Status == "running" && app.InFlight > 0:
		return "busy"
	case app.SleepsAt == nil:
		return "-"
	case app.SleepsAt.After(now):
		return shortDuration(app.SleepsAt.Sub(now))
	default:
		return "next sweep"
	}
}

// shortDuration writes a duration as "40s", "12m" or "1h05m".
func shortDuration(d time.Duration) string {
	d = max(d.Round(time.Second), 0)
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	default:
		return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
	}
}

// runAction wakes or puts to sleep the app named in args.
func runAction(ctx context.Context, command string, args []string, stdout, stderr io.Writer) int {
	if len(args) != 1 || args[0] == "" || strings.HasPrefix(args[0], "-") {
		fmt.Fprintf(stderr, "usage: paastis %s NAME\n", command)
		return 2
	}
	name := args[0]
	client, err := newAdminClient()
	if err != nil {
		fmt.Fprintf(stderr, "paastis: %v\n", err)
		return 1
	}

	action := "start"
	if command == "sleep" {
		action = "stop"
	}
	var result struct {
		App cliApp `json:"app"`
	}
	begin := time.Now()
	status, err := client.call(ctx, http.MethodPost, "/api/apps/"+url.PathEscape(name)+"/"+action, &result)
	if err != nil {
		fmt.Fprintf(stderr, "paastis: %s %s: %v\n", command, name, err)
		return 1
	}
	elapsed := time.Since(begin).Round(100 * time.Millisecond)
	switch {
	case status == http.StatusAccepted:
		fmt.Fprintf(stdout, "%s is still starting after %s; run \"paastis apps\" to follow it\n", name, elapsed)
	case action == "start":
		fmt.Fprintf(stdout, "%s is running (%s)\n", name, elapsed)
	default:
		fmt.Fprintf(stdout, "%s is stopped (%s)\n", name, elapsed)
	}
	return 0
}
