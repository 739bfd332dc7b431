package measure

import (
	"strings"
	"testing"
	"time"
)

// wrkOutput is the output of a real wrk 4.1.0 run with --latency.
const wrkOutput = `Running 2s test @ http://127.0.0.1:18080/
  1 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   715.51us    1.04ms   9.64ms   89.93%
    Req/Sec    65.82k     8.50k   83.25k    70.00%
  Latency Distribution
     50%  377.00us
     75%  649.00us
     90%    1.77ms
     99%    5.03ms
  130785 requests in 2.00s, 18.33MB read
Requests/sec:  65367.07
Transfer/sec:      9.16MB
`

// wrkOutputWithErrors has the two lines that wrk prints only when a count
// is not zero.
const wrkOutputWithErrors = `Running 1s test @ http://127.0.0.1:18080/missing
  1 threads and 4 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   358.33us    1.35ms  18.96ms   95.14%
    Req/Sec    51.91k     9.94k   65.44k    45.45%
  Latency Distribution
     50%   52.00us
     75%   86.00us
     90%  751.00us
     99%    1.20s
  56788 requests in 1.10s, 9.53MB read
  Socket errors: connect 1, read 2, write 3, timeout 4
  Non-2xx or 3xx responses: 56788
Requests/sec:  51618.65
Transfer/sec:      8.66MB
`

func TestParseWrkReadsEveryFigure(t *testing.T) {
	got, err := ParseWrk(wrkOutput)
	if err != nil {
		t.Fatal(err)
	}
	want := WrkResult{
		Requests:       130785,
		Duration:       2 * time.Second,
		RequestsPerSec: 65367.07,
		P50:            377 * time.Microsecond,
		P75:            649 * time.Microsecond,
		P90:            1770 * time.Microsecond,
		P99:            5030 * time.Microsecond,
	}
	if got != want {
		t.Errorf("ParseWrk =\n%+v\nwant\n%+v", got, want)
	}
	if got.Errors() != 0 {
		t.Errorf("Errors() = %d, want 0", got.Errors())
	}
}

func TestParseWrkReadsErrorLines(t *testing.T) {
	got, err := ParseWrk(wrkOutputWithErrors)
	if err != nil {
		t.Fatal(err)
	}
	if got.ConnectErrors != 1 || got.ReadErrors != 2 || got.WriteErrors != 3 || got.Timeouts != 4 {
		t.Errorf("socket errors = %d, %d, %d, %d, want 1, 2, 3, 4", got.ConnectErrors, got.ReadErrors, got.WriteErrors, got.Timeouts)
	}
	if got.Non2xx3xx != 56788 {
		t.Errorf("Non2xx3xx = %d, want 56788", got.Non2xx3xx)
	}
	if got.Errors() != 1+2+3+4+56788 {
		t.Errorf("Errors() = %d, want %d", got.Errors(), 1+2+3+4+56788)
	}
	if got.P99 != 1200*time.Millisecond {
		t.Errorf("P99 = %s, want 1.2s", got.P99)
	}
	if got.Duration != 1100*time.Millisecond {
		t.Errorf("Duration = %s, want 1.1s", got.Duration)
	}
}

func TestParseWrkRejectsIncompleteOutput(t *testing.T) {
	tests := []struct {
		name    string
		output  string
		wantErr string
	}{
		{"refused connection", "unable to connect to 127.0.0.1:18089 Connection refused\n", "lacks"},
		{"run without --latency", strings.Replace(wrkOutput, "     99%    5.03ms\n", "", 1), "latency percentiles"},
		{"missing rate", strings.Replace(wrkOutput, "Requests/sec:  65367.07\n", "", 1), "Requests/sec"},
		{"percentile without unit", strings.Replace(wrkOutput, "377.00us", "377.00", 1), "no unit"},
		{"garbled socket errors", strings.Replace(wrkOutputWithErrors, "read 2", "reads 2", 1), "unknown part"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseWrk(tt.output)
			if err == nil {
				t.Fatal("ParseWrk returned no error")
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error %q does not mention %q", err, tt.wantErr)
			}
		})
	}
}

func TestParseWrkDuration(t *testing.T) {
	tests := []struct {
		text string
		want time.Duration
	}{
		{"452.00us", 452 * time.Microsecond},
		{"1.20ms", 1200 * time.Microsecond},
		{"10.00s", 10 * time.Second},
		{"2.00m", 2 * time.Minute},
		{"1.00h", time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			got, err := ParseWrkDuration(tt.text)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("ParseWrkDuration(%q) = %s, want %s", tt.text, got, tt.want)
			}
		})
	}
	for _, bad := range []string{"", "us", "-1.00ms", "1.0 ms", "fast"} {
		if _, err := ParseWrkDuration(bad); err == nil {
			t.Errorf("ParseWrkDuration(%q) returned no error", bad)
		}
	}
}
