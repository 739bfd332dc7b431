package measure

import (
	"strings"
	"testing"
	"time"
)

func TestParseProcStat(t *testing.T) {
	tests := []struct {
		name string
		stat string
		want ProcStat
	}{
		{
			"plain command name",
			"4242 (paastis) S 4200 4242 4200 0 -1 4194560 1234 0 0 0 731 129 0 0 20 0 7 0 98765 1234567 2345 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0",
			ProcStat{PID: 4242, PPID: 4200, UserTicks: 731, SystemTicks: 129},
		},
		{
			"command name with spaces and parentheses",
			"77 (nginx: worker (x) ) R 76 76 76 0 -1 4194624 10 0 0 0 5 7 0 0 20 0 1 0 100 200 300 18446744073709551615",
			ProcStat{PID: 77, PPID: 76, UserTicks: 5, SystemTicks: 7},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseProcStat([]byte(tt.stat))
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("ParseProcStat = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestParseProcStatRejectsShortContent(t *testing.T) {
	for _, bad := range []string{"", "42 paastis S 1", "42 (paastis) S 1 42 1 0 -1 0", "x (paastis) S 1 42 1 0 -1 0 0 0 0 0 1 2 0"} {
		if _, err := ParseProcStat([]byte(bad)); err == nil {
			t.Errorf("ParseProcStat(%q) returned no error", bad)
		}
	}
}

func TestProcStatCPUCountsUserAndSystemTicks(t *testing.T) {
	s := ProcStat{UserTicks: 731, SystemTicks: 129}
	if got, want := s.CPU(), 8600*time.Millisecond; got != want {
		t.Errorf("CPU() = %s, want %s", got, want)
	}
}

func TestParseProcStatus(t *testing.T) {
	status := strings.Join([]string{
		"Name:\tpaastis",
		"State:\tS (sleeping)",
		"VmPeak:\t 1250000 kB",
		"VmHWM:\t   15360 kB",
		"VmRSS:\t   12288 kB",
		"Threads:\t7",
	}, "\n")
	got, err := ParseProcStatus([]byte(status))
	if err != nil {
		t.Fatal(err)
	}
	if want := (Memory{RSS: 12288 * 1024, HWM: 15360 * 1024}); got != want {
		t.Errorf("ParseProcStatus = %+v, want %+v", got, want)
	}
}

func TestParseProcStatusRejectsZombie(t *testing.T) {
	// A zombie's status has no Vm lines.
	if _, err := ParseProcStatus([]byte("Name:\tpaastis\nState:\tZ (zombie)\n")); err == nil {
		t.Error("ParseProcStatus returned no error for a status without VmRSS")
	}
	if _, err := ParseProcStatus([]byte("VmRSS:\t12 MB\nVmHWM:\t13 kB\n")); err == nil {
		t.Error("ParseProcStatus accepted a unit other than kB")
	}
}
