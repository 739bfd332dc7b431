//go:build unix && !linux

package local

import (
	"os/exec"
	"syscall"
)

func newSysProcAttr() *syscall.SysProcAttr {
	// A group of its own lets a stop signal the command and every
	// descendant that stays in the group (kill with a negative PID).
	// NOTE: without Pdeathsig, which is Linux-only here, the apps outlive a
	// paastis that dies without running Close.
	return &syscall.SysProcAttr{Setpgid: true}
}

// awaitLeaderExit waits for the command's process and reaps it, because
// waiting without reaping is Linux-only here.
// NOTE: the group is then killed after the leader was reaped, so in a rare
// race its ID may already belong to another group.
func awaitLeaderExit(cmd *exec.Cmd) (reaped bool, err error) {
	return true, cmd.Wait()
}

// groupHasLiveMembers reports whether any process, zombies included, is in
// the process group.
func groupHasLiveMembers(pgid int) bool {
	return syscall.Kill(-pgid, 0) == nil
}
