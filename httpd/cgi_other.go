//go:build !unix

package httpd

import "os/exec"

// killGroup does nothing where there are no process groups: the timeout
// kills the program itself (exec.CommandContext's default), and
// cgiWaitDelay stops the wait for pipes its children still hold.
func killGroup(cmd *exec.Cmd) {}
