package local

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
)

func newSysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{
		// A group of its own lets a stop signal the command and every
		// descendant that stays in the group (kill with a negative PID).
		Setpgid: true,
		// Pdeathsig is a backstop for a paastis that dies without running
		// Close (a crash or SIGKILL). It reaches only the direct child, and
		// Linux sends it when the OS thread that forked the child exits,
		// which the Go runtime does only for a goroutine that ends while
		// locked to its thread. Close stops the whole group at shutdown.
		Pdeathsig: syscall.SIGKILL,
	}
}

// awaitLeaderExit blocks until the command's process exits, and leaves it
// unreaped: as a zombie, its PID, which is also the group ID, cannot be
// reused until the rest of the group is killed. It returns false because
// the process still has to be reaped with cmd.Wait.
func awaitLeaderExit(cmd *exec.Cmd) (reaped bool, err error) {
	for {
		var info unix.Siginfo
		err := unix.Waitid(unix.P_PID, cmd.Process.Pid, &info, unix.WEXITED|unix.WNOWAIT, nil)
		if !errors.Is(err, syscall.EINTR) {
			return false, err
		}
	}
}

// groupHasLiveMembers reports whether a process other than a zombie is in
// the process group. Zombies are skipped because an orphan is reaped by
// init, and some container inits never reap, which would keep a stop
// waiting for its whole grace period. It returns false when /proc cannot
// be read.
func groupHasLiveMembers(pgid int) bool {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return false
	}
	for _, entry := range entries {
		if _, err := strconv.Atoi(entry.Name()); err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", entry.Name(), "stat"))
		if err != nil {
			continue // the process exited meanwhile
		}
		state, group, ok := parseProcStat(stat)
		if ok && group == pgid && state != 'Z' && state != 'X' {
			return true
		}
	}
	return false
}

// parseProcStat returns the state and the process group ID from the
// content of /proc/PID/stat, whose format proc(5) documents as
// "pid (comm) state ppid pgrp ...". The command name may contain spaces and
// parentheses, so the fields are counted from the last ")".
func parseProcStat(stat []byte) (state byte, pgid int, ok bool) {
	end := bytes.LastIndexByte(stat, ')')
	if end < 0 {
		return 0, 0, false
	}
	fields := bytes.Fields(stat[end+1:])
	if len(fields) < 3 || len(fields[0]) != 1 {
		return 0, 0, false
	}
	pgid, err := strconv.Atoi(string(fields[2]))
	if err != nil {
		return 0, 0, false
	}
	return fields[0][0], pgid, true
}
