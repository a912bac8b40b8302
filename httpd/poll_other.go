//go:build !linux

package httpd

import (
	"errors"
	"net"
	"time"
)

// kernelPoller is the event loop's readiness call on kernel sockets; only
// Linux has one here (poll_linux.go).
type kernelPoller struct{}

const kernelPollSupported = false

func (kernelPoller) Poll([]net.Conn, time.Duration) ([]int, error) {
	return nil, errors.New("no poller for kernel sockets on this system")
}

func (kernelPoller) wakeable() (poll func(ln net.Listener, conns []net.Conn, timeout time.Duration) (bool, []int, error), wake, done func()) {
	return func(net.Listener, []net.Conn, time.Duration) (bool, []int, error) {
		return false, nil, errors.New("no poller for kernel sockets on this system")
	}, func() {}, func() {}
}

// kernelSendQueued is 0 where the send queue cannot be asked for.
func kernelSendQueued(net.Conn) int { return 0 }
