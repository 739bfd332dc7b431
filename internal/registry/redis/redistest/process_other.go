//go:build !linux

package redistest

import "os/exec"

// killWithParent does nothing outside Linux, where a crashed test binary
// leaves its redis-server running.
func killWithParent(process *exec.Cmd) {}
