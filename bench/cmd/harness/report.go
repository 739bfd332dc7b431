package main

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/paastis/paastis/bench/internal/measure"
)

// The targets that paastis aims at, checked at the end of the report.
const (
	targetCPUPerRequest   = 30 * time.Microsecond
	targetCaddyRatio      = 1.5
	targetNginxRatio      = 0.5
	targetP99OverNginx    = time.Millisecond
	targetIdleRSS         = 20 << 20
	targetWakeOverhead    = 100 * time.Millisecond
	targetScaleApps       = 10000
	targetSweep           = 2 * time.Second
	targetScaleRSS        = 100 << 20
	targetCallsPerRequest = 0.001
)

// markdown renders the report.
func (r *report) markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "# paastis benchmark, %s\n\n", r.Started.UTC().Format("2006-01-02 15:04 UTC"))
	r.writeMachine(&b)
	r.writeSettings(&b)
	r.writeThroughput(&b)
	r.writeRedis(&b)
	r.writeWakes(&b)
	r.writeScale(&b)
	r.writeIdle(&b)
	r.writeProfile(&b)
	r.writeMicro(&b)
	r.writeTargets(&b)
	if len(r.Errors) > 0 {
		b.WriteString("## Failed sections\n\n")
		for _, e := range r.Errors {
			fmt.Fprintf(&b, "- %s:\n\n```\n%v\n```\n", e.Section, e.Err)
		}
		b.WriteString("\n")
	}
	return b.String()
}

func (r *report) writeMachine(b *strings.Builder) {
	m := r.Machine
	b.WriteString("## Machine\n\n| | |\n|---|---|\n")
	fmt.Fprintf(b, "| CPUs (nproc) | %d |\n| CPU model | %s |\n| kernel | %s |\n| memory | %s |\n", m.CPUs, m.CPUModel, m.Kernel, m.Memory)
	fmt.Fprintf(b, "| load average (1, 5, 15 min) | %s at the start, %s at the end |\n", m.LoadAvg, r.LoadAfter)
	for _, v := range m.Versions {
		fmt.Fprintf(b, "| %s | %s |\n", v[0], strings.ReplaceAll(v[1], "|", "/"))
	}
	fmt.Fprintf(b, "| run time | %s |\n\n", r.Finished.Sub(r.Started).Round(time.Second))
	if busy(m.LoadAvg) || busy(r.LoadAfter) {
		b.WriteString("**The machine was busy** before or after the run (a 1-minute load average of 1 or more, which also counts a benchmark run that just ended): other processes may have competed for the CPUs, so the figures below may be lower and noisier than on an idle machine.\n\n")
	}
}

// busy reports whether a load average line of /proc/loadavg starts with a
// 1-minute load of 1 or more.
func busy(loadAvg string) bool {
	first, _, _ := strings.Cut(loadAvg, " ")
	load, err := strconv.ParseFloat(first, 64)
	return err == nil && load >= 1
}

func (r *report) writeSettings(b *strings.Builder) {
	o := r.Options
	mode := "full"
	if o.quick {
		mode = "quick (smoke run: too short to publish)"
	}
	b.WriteString("## Settings\n\n")
	fmt.Fprintf(b, "- mode: %s\n", mode)
	fmt.Fprintf(b, "- wrk: `-t%d -c%d -d%s --latency`, keep-alive, Host `%s`, after an unmeasured run of %s against the same target\n",
		o.threads, o.connections, o.duration, benchHost, o.warmup)
	fmt.Fprintf(b, "- rounds: %d; each runs every target once, the order rotating by one target per round\n", o.rounds)
	fmt.Fprintf(b, "- wake: %d wakes of an app that listens %s after its start, then %d more with a random time below %s added to that; sweep every second, max idle time 1s\n", o.wakes, o.bootDelay, o.wakes, o.bootJitter)
	fmt.Fprintf(b, "- scale: %d apps\n", o.apps)
	fmt.Fprintf(b, "- Redis: REDIS_FLUSH_INTERVAL=%s, idle window of %d flush intervals\n\n", o.flushInterval, o.flushIntervals)
}

func (r *report) writeThroughput(b *strings.Builder) {
	if r.Throughput == nil || len(r.Throughput.Samples) == 0 {
		return
	}
	summaries := r.Throughput.summarize()
	fmt.Fprintf(b, "## Warm proxy throughput and latency (median of %d rounds)\n\n", len(r.Throughput.Orders))
	b.WriteString("CPU per request is the user and system time of the target's processes (for nginx, the master and its workers; for `direct`, the upstream) during the run, divided by the requests that wrk completed. Errors sum wrk's socket errors and non-2xx/3xx responses over every round.\n\n")
	b.WriteString("| target | what | requests/s | p50 | p99 | CPU per request | errors |\n|---|---|--:|--:|--:|--:|--:|\n")
	for _, s := range summaries {
		fmt.Fprintf(b, "| %s | %s | %.0f | %s | %s | %s | %d |\n", s.Target.Key, s.Target.Label, s.RequestsPerS,
			formatDuration(s.P50), formatDuration(s.P99), formatDuration(s.CPUPerRequest), s.Errors)
	}

	b.WriteString("\n### Ratios (median of the per-round ratios)\n\n")
	b.WriteString("Requests/s ratios above 1 and latency ratios below 1 favour the row's target.\n\n")
	b.WriteString("| target | req/s ÷ direct | ÷ nginx | ÷ caddy | p50 ÷ direct | ÷ nginx | ÷ caddy | p99 ÷ direct | ÷ nginx | ÷ caddy |\n")
	b.WriteString("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n")
	for _, s := range summaries {
		fmt.Fprintf(b, "| %s ", s.Target.Key)
		for metric := range 3 {
			for _, ref := range []string{keyDirect, keyNginx, keyCaddy} {
				value := math.NaN()
				if ratios, ok := s.Ratios[ref]; ok {
					value = ratios[metric]
				}
				fmt.Fprintf(b, "| %s ", formatRatio(value))
			}
		}
		b.WriteString("|\n")
	}

	b.WriteString("\n### Every run\n\n| round | target | requests/s | p50 | p90 | p99 | CPU per request | errors |\n|--:|---|--:|--:|--:|--:|--:|--:|\n")
	for _, s := range r.Throughput.Samples {
		fmt.Fprintf(b, "| %d | %s | %.0f | %s | %s | %s | %s | %d |\n", s.Round, s.Target, s.Wrk.RequestsPerSec,
			formatDuration(s.Wrk.P50), formatDuration(s.Wrk.P90), formatDuration(s.Wrk.P99), formatDuration(s.CPUPerRequest()), s.Wrk.Errors())
	}
	b.WriteString("\nOrder of each round: ")
	for i, order := range r.Throughput.Orders {
		if i > 0 {
			b.WriteString("; ")
		}
		fmt.Fprintf(b, "%d: %s", i+1, strings.Join(order, ", "))
	}
	b.WriteString(".\n\n")
}

func (r *report) writeRedis(b *strings.Builder) {
	l := r.Redis
	if l == nil {
		return
	}
	b.WriteString("## Redis commands of paastis with the Redis registry\n\n")
	b.WriteString("Counted with `INFO commandstats` before and after each measured wrk run, and over an idle window; the harness's own `info` calls are left out.\n\n")
	b.WriteString("| window | length | requests | commands | per request | per flush interval | by command |\n|---|--:|--:|--:|--:|--:|---|\n")
	busy := measure.TotalCalls(l.Calls)
	fmt.Fprintf(b, "| measured wrk runs | %s | %d | %d | %s | %s | %s |\n", l.Busy.Round(time.Millisecond), l.Requests, busy,
		formatPerRequest(busy, l.Requests), formatPerInterval(busy, l.Busy, l.FlushInterval), formatCalls(l.Calls))
	idle := measure.TotalCalls(l.IdleCalls)
	fmt.Fprintf(b, "| idle | %s | 0 | %d | n/a | %s | %s |\n\n", l.Idle, idle,
		formatPerInterval(idle, l.Idle, l.FlushInterval), formatCalls(l.IdleCalls))
}

func (r *report) writeWakes(b *strings.Builder) {
	if len(r.Wakes) == 0 {
		return
	}
	b.WriteString("## Wake overhead\n\n")
	b.WriteString("Each wake is one GET for the stopped app, held by paastis until the app is ready. \"After the app listens\" runs from the moment the upstream reports that it began listening to the end of the response: paastis's own share, readiness polling and forwarding. \"Beyond the boot delay\" is the request's time minus the app's fixed boot delay, so it also includes the process start, and the random part of the boot delay in a series with jitter.\n\n")
	for _, series := range r.Wakes {
		if len(series.Samples) == 0 {
			continue
		}
		var totals, overBoot, afterListening []time.Duration
		for _, s := range series.Samples {
			totals = append(totals, s.Total)
			overBoot = append(overBoot, s.Total-series.BootDelay)
			afterListening = append(afterListening, s.AfterListening)
		}
		fmt.Fprintf(b, "### %s\n\n", series.title(len(series.Samples)))
		b.WriteString("| measure | median | max |\n|---|--:|--:|\n")
		fmt.Fprintf(b, "| request to response | %s | %s |\n", formatDuration(measure.MedianDuration(totals)), formatDuration(measure.MaxDuration(totals)))
		fmt.Fprintf(b, "| beyond the boot delay | %s | %s |\n", formatDuration(measure.MedianDuration(overBoot)), formatDuration(measure.MaxDuration(overBoot)))
		fmt.Fprintf(b, "| after the app listens | %s | %s |\n\n", formatDuration(measure.MedianDuration(afterListening)), formatDuration(measure.MaxDuration(afterListening)))
		b.WriteString("Every wake, after the app listens: ")
		for i, s := range series.Samples {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(formatDuration(s.AfterListening))
		}
		b.WriteString(".\n\n")
	}
}

// title names the series by its boot delay.
func (s *wakeSeries) title(wakes int) string {
	if s.BootJitter == 0 {
		return fmt.Sprintf("%d wakes, boot delay %s", wakes, s.BootDelay)
	}
	return fmt.Sprintf("%d wakes, boot delay %s plus a random time below %s", wakes, s.BootDelay, s.BootJitter)
}

func (r *report) writeScale(b *strings.Builder) {
	s := r.Scale
	if s == nil || s.Sweep.Apps == 0 {
		return
	}
	fmt.Fprintf(b, "## Scale: %d apps\n\n", s.Sweep.Apps)
	b.WriteString("The sweep figures come from `bench/cmd/sweep`: an engine over a fake provider whose apps start and stop at once, with the in-memory registry, in a process of its own. The binary figures come from the paastis binary with the local provider and a generated apps file (one fixed port per app, no app started), read after its first sweep.\n\n")
	b.WriteString("| measure | value |\n|---|--:|\n")
	fmt.Fprintf(b, "| first sweep, which registers every app | %s |\n", formatDuration(s.Sweep.Discovery))
	fmt.Fprintf(b, "| sweep with nothing to change | %s |\n", formatDuration(s.Sweep.Steady))
	fmt.Fprintf(b, "| sweep that stops every app (%d stops) | %s |\n", s.Sweep.Stopped, formatDuration(s.Sweep.StopAll))
	fmt.Fprintf(b, "| sweep program: Go heap in use | %s |\n", formatBytes(int64(s.Sweep.HeapInUse)))
	fmt.Fprintf(b, "| sweep program: VmRSS, VmHWM | %s, %s |\n", formatBytes(s.Sweep.RSS), formatBytes(s.Sweep.PeakRSS))
	if s.Binary.Apps > 0 {
		fmt.Fprintf(b, "| paastis binary: start to end of first sweep | %s |\n", formatDuration(s.Binary.FirstSweep))
		fmt.Fprintf(b, "| paastis binary: VmRSS, VmHWM | %s, %s |\n", formatBytes(s.Binary.Memory.RSS), formatBytes(s.Binary.Memory.HWM))
	}
	b.WriteString("\n")
}

func (r *report) writeIdle(b *strings.Builder) {
	if r.Idle == nil {
		return
	}
	fmt.Fprintf(b, "## Idle memory\n\npaastis with `examples/local/apps.yaml` (%d apps, none started), in-memory registry, read after its first sweep: VmRSS %s, VmHWM %s.\n\n",
		r.Idle.Apps, formatBytes(r.Idle.Memory.RSS), formatBytes(r.Idle.Memory.HWM))
}

func (r *report) writeProfile(b *strings.Builder) {
	p := r.Profile
	if p == nil {
		return
	}
	fmt.Fprintf(b, "## CPU profile of paastis under wrk\n\npaastis with the in-memory registry, built with a pprof overlay (`go build -overlay`, outside the product), profiled in the middle of one wrk run of %d requests. Saved as `%s`.\n\n```\n%s\n```\n\n",
		p.Requests, p.Path, p.Top)
}

func (r *report) writeMicro(b *strings.Builder) {
	if r.Micro == nil {
		return
	}
	fmt.Fprintf(b, "## Go benchmarks\n\n`%s`\n\n```\n", r.Micro.Command)
	for _, line := range r.Micro.Lines {
		b.WriteString(line + "\n")
	}
	b.WriteString("```\n\n")
}

// targetRow is one line of the targets table.
type targetRow struct {
	what, threshold, measured string
	// met is "met", "missed" or "not measured".
	met string
}

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "missed"
}

func (r *report) targetRows() []targetRow {
	notMeasured := func(what, threshold string) targetRow {
		return targetRow{what, threshold, "n/a", "not measured"}
	}
	var rows []targetRow

	var memorySummary, redisSummary, nginxSummary *summary
	if r.Throughput != nil && len(r.Throughput.Samples) > 0 {
		summaries := r.Throughput.summarize()
		for i := range summaries {
			switch summaries[i].Target.Key {
			case "paastis-memory":
				memorySummary = &summaries[i]
			case keyRedis:
				redisSummary = &summaries[i]
			case keyNginx:
				nginxSummary = &summaries[i]
			}
		}
	}
	if memorySummary == nil && redisSummary == nil {
		rows = append(rows, notMeasured("proxy CPU per warm request", "≤ 30 µs"))
	}
	for _, s := range []*summary{memorySummary, redisSummary} {
		if s == nil {
			continue
		}
		rows = append(rows, targetRow{"proxy CPU per warm request, " + s.Target.Key, "≤ 30 µs",
			formatDuration(s.CPUPerRequest), verdict(s.CPUPerRequest <= targetCPUPerRequest)})
	}
	if s := memorySummary; s != nil && nginxSummary != nil {
		caddy, nginx := s.Ratios[keyCaddy][0], s.Ratios[keyNginx][0]
		rows = append(rows,
			targetRow{"warm throughput, paastis-memory ÷ Caddy", "≥ 1.5", formatRatio(caddy), verdict(caddy >= targetCaddyRatio)},
			targetRow{"warm throughput, paastis-memory ÷ nginx", "≥ 0.5", formatRatio(nginx), verdict(nginx >= targetNginxRatio)})
		gap := s.P99 - nginxSummary.P99
		rows = append(rows, targetRow{"p99, paastis-memory minus nginx", "≤ 1 ms",
			fmt.Sprintf("%s (%s vs %s)", formatSignedDuration(gap), formatDuration(s.P99), formatDuration(nginxSummary.P99)), verdict(gap <= targetP99OverNginx)})
	} else {
		rows = append(rows, notMeasured("warm throughput and p99 against Caddy and nginx", "≥ 1.5 × Caddy, ≥ 0.5 × nginx, p99 ≤ nginx + 1 ms"))
	}

	if r.Idle != nil {
		rows = append(rows, targetRow{fmt.Sprintf("idle VmRSS, %d apps", r.Idle.Apps), "< 20 MiB", formatBytes(r.Idle.Memory.RSS), verdict(r.Idle.Memory.RSS < targetIdleRSS)})
	} else {
		rows = append(rows, notMeasured("idle resident memory", "< 20 MiB"))
	}

	wakeRows := 0
	for _, series := range r.Wakes {
		if len(series.Samples) == 0 {
			continue
		}
		var after []time.Duration
		for _, s := range series.Samples {
			after = append(after, s.AfterListening)
		}
		median := measure.MedianDuration(after)
		rows = append(rows, targetRow{"wake overhead after the app listens, median, " + series.title(len(after)), "< 100 ms",
			formatDuration(median), verdict(median < targetWakeOverhead)})
		wakeRows++
	}
	if wakeRows == 0 {
		rows = append(rows, notMeasured("wake overhead", "< 100 ms median"))
	}

	if s := r.Scale; s != nil && s.Sweep.Apps == targetScaleApps {
		slowest := slices.Max([]time.Duration{s.Sweep.Discovery, s.Sweep.Steady, s.Sweep.StopAll})
		rows = append(rows, targetRow{"slowest of the three sweeps, 10,000 fake apps", "< 2 s", formatDuration(slowest), verdict(slowest < targetSweep)})
		if s.Binary.Apps == targetScaleApps {
			rows = append(rows, targetRow{"paastis VmHWM, 10,000 apps", "< 100 MiB", formatBytes(s.Binary.Memory.HWM), verdict(s.Binary.Memory.HWM < targetScaleRSS)})
		} else {
			rows = append(rows, notMeasured("paastis resident memory, 10,000 apps", "< 100 MiB"))
		}
	} else {
		rows = append(rows, notMeasured("sweep and memory at 10,000 apps (run without -quick and with -apps 10000)", "< 2 s, < 100 MiB"))
	}

	if l := r.Redis; l != nil && l.Requests > 0 {
		calls := measure.TotalCalls(l.Calls)
		perRequest := float64(calls) / float64(l.Requests)
		rows = append(rows, targetRow{"Redis commands per warm request", "0 (fewer than 1 per 1,000 requests)",
			fmt.Sprintf("%d commands over %d requests", calls, l.Requests), verdict(perRequest < targetCallsPerRequest)})
	} else {
		rows = append(rows, notMeasured("Redis commands per warm request", "0"))
	}
	return rows
}

func (r *report) writeTargets(b *strings.Builder) {
	b.WriteString("## Targets\n\n| target | threshold | measured | result |\n|---|---|---|---|\n")
	for _, row := range r.targetRows() {
		fmt.Fprintf(b, "| %s | %s | %s | %s |\n", row.what, row.threshold, row.measured, row.met)
	}
	b.WriteString("\n")
}

// formatDuration prints microseconds below 1 ms, milliseconds below 1 s
// and seconds above.
func formatDuration(d time.Duration) string {
	switch {
	case d < time.Millisecond:
		return fmt.Sprintf("%.1f µs", float64(d)/float64(time.Microsecond))
	case d < time.Second:
		return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond))
	default:
		return fmt.Sprintf("%.3f s", d.Seconds())
	}
}

func formatSignedDuration(d time.Duration) string {
	if d < 0 {
		return "-" + formatDuration(-d)
	}
	return "+" + formatDuration(d)
}

func formatRatio(v float64) string {
	if math.IsNaN(v) {
		return "n/a"
	}
	return fmt.Sprintf("%.2f", v)
}

func formatBytes(n int64) string {
	if n >= 10<<30 {
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	}
	return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
}

func formatPerRequest(calls, requests int64) string {
	if requests == 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.6f", float64(calls)/float64(requests))
}

func formatPerInterval(calls int64, window, interval time.Duration) string {
	if window <= 0 || interval <= 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.2f", float64(calls)/(float64(window)/float64(interval)))
}

// formatCalls lists the commands by name, the most called first.
func formatCalls(calls map[string]int64) string {
	if len(calls) == 0 {
		return "none"
	}
	names := make([]string, 0, len(calls))
	for name := range calls {
		names = append(names, name)
	}
	slices.SortFunc(names, func(a, b string) int {
		if c := cmp.Compare(calls[b], calls[a]); c != 0 {
			return c
		}
		return strings.Compare(a, b)
	})
	parts := make([]string, len(names))
	for i, name := range names {
		parts[i] = fmt.Sprintf("%s %d", strings.ReplaceAll(name, "|", " "), calls[name])
	}
	return strings.Join(parts, ", ")
}
