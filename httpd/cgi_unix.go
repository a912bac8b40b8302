//go:build unix

package httpd

import (
	"os/exec"
	"syscall"
)

// killGroup runs a CGI program in a process group of its own and, when
// its time is up, kills the whole group: a shell script's children (a
// sleep, a pipeline) die with it instead of living on as orphans.
func killGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error {
		return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
}
