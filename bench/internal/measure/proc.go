package measure

import (
	"bufio"
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// UserHZ is the unit of the CPU times in /proc/PID/stat: 100 ticks per
// second on every Linux architecture, whatever the kernel's own HZ.
const UserHZ = 100

// ProcStat holds the fields of /proc/PID/stat that the harness reads.
type ProcStat struct {
	PID  int
	PPID int
	// UserTicks and SystemTicks are utime and stime, in 1/UserHZ seconds.
	UserTicks, SystemTicks uint64
}

// CPU returns the process's user and system CPU time together.
func (s ProcStat) CPU() time.Duration {
	return TicksToDuration(s.UserTicks + s.SystemTicks)
}

// TicksToDuration converts a count of 1/UserHZ seconds to a duration.
func TicksToDuration(ticks uint64) time.Duration {
	return time.Duration(ticks) * (time.Second / UserHZ)
}

// ParseProcStat reads the content of /proc/PID/stat, whose format proc(5)
// gives as "pid (comm) state ppid pgrp ... utime stime ...", utime and
// stime being fields 14 and 15. The command name may contain spaces and
// parentheses, so the fields after it are counted from the last ")".
func ParseProcStat(data []byte) (ProcStat, error) {
	open := bytes.IndexByte(data, '(')
	end := bytes.LastIndexByte(data, ')')
	if open < 0 || end < open {
		return ProcStat{}, fmt.Errorf("invalid /proc stat %q: no command name in parentheses", truncate(data))
	}
	pid, err := strconv.Atoi(string(bytes.TrimSpace(data[:open])))
	if err != nil {
		return ProcStat{}, fmt.Errorf("invalid /proc stat %q: pid: %w", truncate(data), err)
	}

	// After the command name come field 3 (state), 4 (ppid), and so on,
	// so field n is at index n-3.
	fields := bytes.Fields(data[end+1:])
	const stimeIndex = 15 - 3
	if len(fields) <= stimeIndex {
		return ProcStat{}, fmt.Errorf("invalid /proc stat %q: %d fields after the command name, want at least %d", truncate(data), len(fields), stimeIndex+1)
	}
	ppid, err := strconv.Atoi(string(fields[4-3]))
	if err != nil {
		return ProcStat{}, fmt.Errorf("invalid /proc stat %q: ppid: %w", truncate(data), err)
	}
	utime, err := strconv.ParseUint(string(fields[14-3]), 10, 64)
	if err != nil {
		return ProcStat{}, fmt.Errorf("invalid /proc stat %q: utime: %w", truncate(data), err)
	}
	stime, err := strconv.ParseUint(string(fields[stimeIndex]), 10, 64)
	if err != nil {
		return ProcStat{}, fmt.Errorf("invalid /proc stat %q: stime: %w", truncate(data), err)
	}
	return ProcStat{PID: pid, PPID: ppid, UserTicks: utime, SystemTicks: stime}, nil
}

// Memory holds the resident set sizes of /proc/PID/status, in bytes.
type Memory struct {
	// RSS is VmRSS, the resident set size now.
	RSS int64
	// HWM is VmHWM, the peak resident set size.
	HWM int64
}

// ParseProcStatus reads VmRSS and VmHWM from the content of
// /proc/PID/status, where the kernel prints them in kB (1024 bytes).
func ParseProcStatus(data []byte) (Memory, error) {
	var m Memory
	var haveRSS, haveHWM bool
	scanner := bufio.NewScanner(bytes.NewReader(data))
	for scanner.Scan() {
		name, value, ok := strings.Cut(scanner.Text(), ":")
		if !ok || (name != "VmRSS" && name != "VmHWM") {
			continue
		}
		fields := strings.Fields(value)
		if len(fields) != 2 || fields[1] != "kB" {
			return Memory{}, fmt.Errorf("invalid %s line %q in /proc status: want a number of kB", name, scanner.Text())
		}
		kb, err := strconv.ParseInt(fields[0], 10, 64)
		if err != nil {
			return Memory{}, fmt.Errorf("invalid %s line %q in /proc status: %w", name, scanner.Text(), err)
		}
		if name == "VmRSS" {
			m.RSS, haveRSS = kb*1024, true
		} else {
			m.HWM, haveHWM = kb*1024, true
		}
	}
	if !haveRSS || !haveHWM {
		return Memory{}, fmt.Errorf("/proc status lacks VmRSS or VmHWM; is the process a zombie?")
	}
	return m, nil
}

func truncate(data []byte) string {
	if len(data) > 120 {
		return string(data[:120]) + "..."
	}
	return string(data)
}
