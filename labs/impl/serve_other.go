//go:build !linux

package impl

import (
	"os"
	"syscall"
)

// childAttr leaves the command in this process's group: a terminal's
// Ctrl-C reaches it directly, so only SIGTERM is passed on.
func childAttr() *syscall.SysProcAttr { return nil }

// forwarded are the signals Serve passes on to the command.
var forwarded = []os.Signal{syscall.SIGTERM}
