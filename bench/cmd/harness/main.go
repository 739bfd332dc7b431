// Command harness benchmarks paastis against plain reverse proxies on one
// machine, in one run. First it measures warm throughput and latency with
// wrk in interleaved rounds, against the upstream itself, nginx, Caddy, a
// default httputil.ReverseProxy and paastis with the in-memory and the
// Redis registry. Then it measures the Redis commands, a CPU profile, the
// idle memory, the wake overhead, the sweep and memory with many apps, and
// runs the Go benchmarks. It prints a markdown report and writes it to
// bench/results/<time>.md.
//
// Usage, from the repository (bench/run.sh installs the tools first):
//
//	go run ./bench/cmd/harness [-quick] [flags]
//
// Every server listens on 127.0.0.1 only, and every process that the
// harness starts is stopped when it ends.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"
)

// options are the harness's settings, from its flags.
type options struct {
	quick         bool
	rounds        int
	duration      time.Duration
	warmup        time.Duration
	threads       int
	connections   int
	wakes         int
	bootDelay     time.Duration
	bootJitter    time.Duration
	apps          int
	flushInterval time.Duration
	// flushIntervals is the length of the idle Redis window, in flush
	// intervals.
	flushIntervals int
	benchTime      string
	paastis        string
	resultsDir     string
	// sections holds the sections to run, by name.
	sections map[string]bool
	keepTemp bool
}

// sectionNames lists the sections of a run, in the order they run.
var sectionNames = []string{"throughput", "profile", "idle", "wake", "scale", "micro"}

// quickDefaults replaces the defaults of the flags that -quick shortens,
// unless the flag was given.
var quickDefaults = map[string]string{
	"rounds":          "1",
	"duration":        "2s",
	"warmup":          "1s",
	"wakes":           "3",
	"apps":            "1000",
	"flush-interval":  "1s",
	"flush-intervals": "3",
	"benchtime":       "100ms",
}

func parseOptions(args []string, stderr io.Writer) (options, error) {
	var o options
	flags := flag.NewFlagSet("harness", flag.ContinueOnError)
	flags.SetOutput(stderr)
	flags.BoolVar(&o.quick, "quick", os.Getenv("BENCH_QUICK") == "1", "smoke run: 1 round of 2s, 3 wakes, 1000 apps, short windows (default: BENCH_QUICK=1)")
	flags.IntVar(&o.rounds, "rounds", 5, "rounds of the throughput benchmark; each runs every target once")
	flags.DurationVar(&o.duration, "duration", 10*time.Second, "length of each measured wrk run, in whole seconds")
	flags.DurationVar(&o.warmup, "warmup", time.Second, "length of the unmeasured wrk run before each measured one, in whole seconds; 0 for none")
	flags.IntVar(&o.threads, "threads", 1, "wrk threads (-t)")
	flags.IntVar(&o.connections, "connections", 32, "wrk keep-alive connections (-c)")
	flags.IntVar(&o.wakes, "wakes", 20, "wakes of the sleepy app")
	flags.DurationVar(&o.bootDelay, "boot-delay", time.Second, "time the sleepy app waits before it listens")
	flags.DurationVar(&o.bootJitter, "boot-jitter", time.Second, "upper bound of a random time added to the boot delay in the second wake series; 0 skips that series")
	flags.IntVar(&o.apps, "apps", 10000, "apps of the scale benchmark, at most 45535")
	flags.DurationVar(&o.flushInterval, "flush-interval", 5*time.Second, "REDIS_FLUSH_INTERVAL of paastis with the Redis registry")
	flags.IntVar(&o.flushIntervals, "flush-intervals", 12, "length of the idle Redis window, in flush intervals")
	flags.StringVar(&o.benchTime, "benchtime", "1s", "-benchtime of the Go benchmarks")
	flags.StringVar(&o.paastis, "paastis", "", "paastis binary to measure (default: build ./cmd/paastis)")
	flags.StringVar(&o.resultsDir, "results", "bench/results", "directory of the report files, relative to the repository")
	only := flags.String("only", strings.Join(sectionNames, ","), "comma-separated sections to run, among "+strings.Join(sectionNames, ", ")+"; throughput includes the Redis commands")
	flags.BoolVar(&o.keepTemp, "keep", false, "keep the temporary directory with the configs and logs of every process")
	if err := flags.Parse(args); err != nil {
		return o, err
	}
	if flags.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments %q: every setting is a flag", flags.Args())
	}
	if o.quick {
		explicit := map[string]bool{}
		flags.Visit(func(f *flag.Flag) { explicit[f.Name] = true })
		for name, value := range quickDefaults {
			if !explicit[name] {
				_ = flags.Set(name, value)
			}
		}
	}

	var problems []string
	o.sections = map[string]bool{}
	for name := range strings.SplitSeq(*only, ",") {
		name = strings.TrimSpace(name)
		if !slices.Contains(sectionNames, name) {
			problems = append(problems, fmt.Sprintf("unknown section %q in -only: use %s", name, strings.Join(sectionNames, ", ")))
		}
		o.sections[name] = true
	}
	if o.rounds < 1 || o.threads < 1 || o.connections < o.threads || o.wakes < 1 || o.apps < 1 || o.flushIntervals < 1 {
		problems = append(problems, "-rounds, -threads, -wakes, -apps and -flush-intervals must be at least 1, and -connections at least -threads")
	}
	if o.duration < time.Second || o.duration%time.Second != 0 || o.warmup < 0 || o.warmup%time.Second != 0 {
		problems = append(problems, "-duration must be whole seconds, at least 1s, and -warmup whole seconds or 0, because wrk takes whole seconds")
	}
	if o.flushInterval <= 0 || o.bootDelay < 0 || o.bootJitter < 0 {
		problems = append(problems, "-flush-interval must be positive, and -boot-delay and -boot-jitter not negative")
	}
	if len(problems) > 0 {
		return o, errors.New(strings.Join(problems, "; "))
	}
	return o, nil
}

// harness holds what every benchmark shares.
type harness struct {
	opts   options
	logger *slog.Logger
	// root is the repository; tmp holds the binaries, configs and logs.
	root, tmp, bin, logDir string
	// paastis is the binary under test.
	paastis string
	// started names the report files, which go to resultsDir.
	started    time.Time
	resultsDir string
	// loadAtStart is /proc/loadavg before the build.
	loadAtStart string
	children    []*child
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	opts, err := parseOptions(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "harness: %v\n", err)
		return 2
	}
	logger := slog.New(slog.NewTextHandler(stderr, nil))

	h, err := newHarness(ctx, opts, logger)
	if err != nil {
		fmt.Fprintf(stderr, "harness: %v\n", err)
		return 1
	}
	defer h.close()

	r := h.runAll(ctx)
	text := r.markdown()
	fmt.Fprint(stdout, text)

	path := filepath.Join(h.resultsDir, h.stamp()+".md")
	err = os.MkdirAll(h.resultsDir, 0o755)
	if err == nil {
		err = os.WriteFile(path, []byte(text), 0o644)
	}
	if err != nil {
		fmt.Fprintf(stderr, "harness: write the report: %v\n", err)
		return 1
	}
	logger.Info("report written", "path", path)
	if len(r.Errors) > 0 {
		fmt.Fprintf(stderr, "harness: %d benchmark sections failed; the report lists them\n", len(r.Errors))
		return 1
	}
	return 0
}

// newHarness checks the tools, makes the temporary directory and builds
// the binaries.
func newHarness(ctx context.Context, opts options, logger *slog.Logger) (*harness, error) {
	loadAtStart := loadAverage()
	var missing []string
	for _, tool := range []string{"go", "wrk", "nginx", "caddy", "redis-server"} {
		if _, err := exec.LookPath(tool); err != nil {
			missing = append(missing, tool)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("missing %s: run bash bench/install-deps.sh, or bash bench/run.sh which runs it", strings.Join(missing, ", "))
	}

	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	gomod := strings.TrimSpace(string(out))
	if err != nil || gomod == "" || gomod == os.DevNull {
		return nil, fmt.Errorf("find the repository with go env GOMOD (%v): run the harness inside the paastis repository", err)
	}
	h := &harness{opts: opts, logger: logger, root: filepath.Dir(gomod), started: time.Now(), resultsDir: opts.resultsDir, loadAtStart: loadAtStart}
	if !filepath.IsAbs(h.resultsDir) {
		h.resultsDir = filepath.Join(h.root, h.resultsDir)
	}
	if h.tmp, err = os.MkdirTemp("", "paastis-bench-"); err != nil {
		return nil, err
	}
	h.bin = filepath.Join(h.tmp, "bin")
	h.logDir = filepath.Join(h.tmp, "logs")
	for _, dir := range []string{h.bin, h.logDir} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			h.close()
			return nil, err
		}
	}

	if err := h.build(ctx); err != nil {
		h.close()
		return nil, err
	}
	return h, nil
}

// stamp returns the start time of the run in the name of its files.
func (h *harness) stamp() string { return h.started.UTC().Format("20060102T150405Z") }

// build compiles the bench programs, and paastis unless -paastis names a
// binary.
func (h *harness) build(ctx context.Context) error {
	packages := []string{"./bench/cmd/upstream", "./bench/cmd/goproxy", "./bench/cmd/sweep"}
	h.paastis = h.opts.paastis
	if h.paastis == "" {
		packages = append(packages, "./cmd/paastis")
		h.paastis = filepath.Join(h.bin, "paastis")
	} else if abs, err := filepath.Abs(h.paastis); err == nil {
		h.paastis = abs
	}
	h.logger.Info("building", "packages", packages)
	cmd := exec.CommandContext(ctx, "go", append([]string{"build", "-o", h.bin + "/"}, packages...)...)
	cmd.Dir = h.root
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s: %w\n%s\nWhile ./cmd/paastis does not build, give a binary with -paastis", strings.Join(packages, " "), err, out)
	}
	return nil
}

// close stops every child, newest first, and removes the temporary
// directory unless -keep was given.
func (h *harness) close() {
	h.stopChildren()
	if h.opts.keepTemp {
		h.logger.Info("kept the temporary directory", "path", h.tmp)
		return
	}
	_ = os.RemoveAll(h.tmp)
}

// stopChildren stops the children started so far, newest first.
func (h *harness) stopChildren() {
	for i := len(h.children) - 1; i >= 0; i-- {
		h.children[i].stop(15 * time.Second)
	}
	h.children = nil
}
