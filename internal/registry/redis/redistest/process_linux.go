package redistest

import (
	"os/exec"
	"syscall"
)

// killWithParent makes the kernel kill the server when the test binary
// dies without running its cleanups.
func killWithParent(process *exec.Cmd) {
	process.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
