package impl

import (
	"os"
	"syscall"
)

// childAttr puts the command that lab serve built into a process group of
// its own, so that a terminal's Ctrl-C reaches it only through Serve, and
// ends it if this process dies without passing a signal on.
func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
}

// forwarded are the signals Serve passes on to the command.
var forwarded = []os.Signal{os.Interrupt, syscall.SIGTERM, syscall.SIGHUP}
