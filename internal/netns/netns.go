// Package netns gives tests a network namespace of their own, so that TUN
// devices, addresses and the traffic of curl and ping never touch the
// machine's own interfaces. It drives iproute2's `ip netns`; the namespace
// and everything started in it are removed when the test ends, failed or
// not.
package netns

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/packetwalk/packetwalk/internal/testenv"
)

// stopGrace is how long a process started with Start has to exit after
// SIGTERM before it is killed.
const stopGrace = 5 * time.Second

// NS is a network namespace created for one test.
type NS struct {
	Name string
	t    testing.TB
}

// New creates a namespace with a fresh name (pwtest-...), which the test's
// cleanup deletes. It skips the test (fails it under
// PACKETWALK_REQUIRE_ALL=1) without root or without the ip tool.
func New(t testing.TB) *NS {
	t.Helper()
	testenv.Root(t)
	testenv.Tool(t, "ip", "install it with: apt-get install iproute2")
	if _, err := os.Stat("/dev/net/tun"); err != nil {
		testenv.Unavailable(t, "there is no /dev/net/tun on this machine (modprobe tun, or pass the device into the container)")
	}
	b := make([]byte, 4)
	rand.Read(b)
	n := &NS{Name: "pwtest-" + hex.EncodeToString(b), t: t}
	if out, err := exec.Command("ip", "netns", "add", n.Name).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add %s: %v: %s", n.Name, err, strings.TrimSpace(string(out)))
	}
	t.Cleanup(func() {
		// Deleting the name frees the namespace once no process is left
		// in it; Start's cleanups (registered later, so run earlier)
		// have stopped ours by now.
		if out, err := exec.Command("ip", "netns", "del", n.Name).CombinedOutput(); err != nil {
			t.Errorf("ip netns del %s: %v: %s", n.Name, err, strings.TrimSpace(string(out)))
		}
	})
	return n
}

// Command returns a command that runs name with args inside the namespace.
func (n *NS) Command(ctx context.Context, name string, args ...string) *exec.Cmd {
	return exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", n.Name, name}, args...)...)
}

// Run runs name with args inside the namespace, bounded by timeout, and
// returns its standard output, standard error and error.
func (n *NS) Run(timeout time.Duration, name string, args ...string) (stdout, stderr string, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := n.Command(ctx, name, args...)
	var o, e strings.Builder
	cmd.Stdout, cmd.Stderr = &o, &e
	err = cmd.Run()
	if ctx.Err() != nil {
		err = fmt.Errorf("%s %s: timed out after %v", name, strings.Join(args, " "), timeout)
	}
	return o.String(), e.String(), err
}

// Proc is a process started with Start.
type Proc struct {
	Cmd  *exec.Cmd
	done chan struct{}
	err  error
}

// Done is closed when the process has exited.
func (p *Proc) Done() <-chan struct{} { return p.done }

// Err is Wait's error, once Done is closed.
func (p *Proc) Err() error { <-p.done; return p.err }

// Start starts cmd (from Command) in the background. When the test ends,
// the process gets SIGTERM, then SIGKILL after a grace period, and is
// waited for. (ip netns exec execs the command, so the signal reaches it.)
func (n *NS) Start(cmd *exec.Cmd) *Proc {
	n.t.Helper()
	if err := cmd.Start(); err != nil {
		n.t.Fatalf("starting %v in %s: %v", cmd.Args, n.Name, err)
	}
	p := &Proc{Cmd: cmd, done: make(chan struct{})}
	go func() { p.err = cmd.Wait(); close(p.done) }()
	n.t.Cleanup(func() { p.Stop() })
	return p
}

// Stop sends SIGTERM, kills the process if it has not exited after the
// grace period, and returns Wait's error.
func (p *Proc) Stop() error {
	select {
	case <-p.done:
		return p.err
	default:
	}
	p.Cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(stopGrace):
		p.Cmd.Process.Kill()
		<-p.done
	}
	return p.err
}
