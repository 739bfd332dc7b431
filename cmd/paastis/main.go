// Command paastis is a reverse proxy that puts PaaS apps to sleep when
// they get no requests and wakes them on the next request.
//
// Usage:
//
//	paastis [serve]        run the proxy (the default)
//	paastis check-config   validate the environment and .env, then exit
//	paastis apps           list the apps of a running paastis
//	paastis wake NAME      start an app of a running paastis
//	paastis sleep NAME     stop an app of a running paastis
//	paastis version        print the version
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run executes one subcommand and returns the process exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	command := "serve"
	if len(args) > 0 {
		command, args = args[0], args[1:]
	}
	switch command {
	case "serve":
		return serve(ctx, stderr)
	case "check-config":
		return checkConfig(ctx, stdout, stderr)
	case "apps":
		return runApps(ctx, args, stdout, stderr)
	case "wake", "sleep":
		return runAction(ctx, command, args, stdout, stderr)
	case "version", "--version", "-v":
		fmt.Fprintf(stdout, "paastis %s\n", version)
		return 0
	case "help", "--help", "-h":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "paastis: unknown command %q\n\n%s", command, usage)
		return 2
	}
}

const usage = `Usage: paastis [command]

Commands:
  serve          run the proxy, the scheduler and the providers (default)
  check-config   validate the environment and .env without starting; exit 0 or 1
  apps [-json]   list the apps of a running paastis: state, last access, time until sleep
  wake NAME      start the app NAME and wait until it is ready (at most WAKE_TIMEOUT)
  sleep NAME     stop the app NAME now, idle or not
  version        print the version

Configuration comes from environment variables and a .env file in the
working directory; see env.sample and the README. The apps, wake and sleep
commands call the admin API at PAASTIS_ADMIN_URL (default
http://ADMIN_HOST:ADMIN_PORT, so http://127.0.0.1:3001) with the token of
ADMIN_API_TOKEN.
`
