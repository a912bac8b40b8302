//go:build linux

package httpd

import (
	"errors"
	"fmt"
	"net"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// kernelPoller is the event loop's readiness call on the kernel's own
// sockets (serve --listen): poll(2) over the connections' descriptors,
// with an eventfd(2) in the set so that a worker can wake the loop when
// it hands a connection back. Go's runtime has its own netpoller (epoll)
// behind every net.Conn, but it only ever wakes the one goroutine blocked
// on a connection; an event loop needs one call that waits on all of
// them at once, which is what poll(2) is (nginx's "use poll" method).
// Reading a connection that poll reported ready does not block: the
// descriptor is non-blocking and has bytes, an end of stream or an error.
type kernelPoller struct{}

// kernelPollSupported says whether kernelPoller works on this system.
const kernelPollSupported = true

func (kernelPoller) Poll(conns []net.Conn, timeout time.Duration) ([]int, error) {
	_, ready, err := pollKernel(-1, conns, timeout)
	return ready, err
}

// Wakeable gives each event loop its own eventfd.
func (k kernelPoller) Wakeable() (poll func(ln net.Listener, conns []net.Conn, timeout time.Duration) (bool, []int, error), wake func()) {
	poll, wake, _ = k.wakeable()
	return poll, wake
}

// wakeable is Wakeable with the call that closes the eventfd once the
// loop has ended.
func (kernelPoller) wakeable() (poll func(ln net.Listener, conns []net.Conn, timeout time.Duration) (bool, []int, error), wake, done func()) {
	efd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		return func(net.Listener, []net.Conn, time.Duration) (bool, []int, error) {
			return false, nil, fmt.Errorf("eventfd: %w", err)
		}, func() {}, func() {}
	}
	var mu sync.RWMutex // done must not close efd under a wake's write
	closed := false
	one := []byte{1, 0, 0, 0, 0, 0, 0, 0} // eventfd adds this 8-byte counter
	wake = func() {
		mu.RLock()
		if !closed {
			unix.Write(efd, one)
		}
		mu.RUnlock()
	}
	done = func() {
		mu.Lock()
		if !closed {
			closed = true
			unix.Close(efd)
		}
		mu.Unlock()
	}
	poll = func(ln net.Listener, conns []net.Conn, timeout time.Duration) (bool, []int, error) {
		if ln != nil {
			return false, nil, errors.New("the kernel poller does not watch listeners")
		}
		woken, ready, err := pollKernel(efd, conns, timeout)
		if woken {
			var b [8]byte
			unix.Read(efd, b[:]) // reset the counter
		}
		return false, ready, err
	}
	return poll, wake, done
}

// fdOf returns the descriptor behind a kernel connection (unwrapping a
// NetConn method, as crypto/tls and packetwalk's connection-ID wrapper
// have).
func fdOf(nc net.Conn) (int, error) {
	for range 4 {
		if sc, ok := nc.(syscall.Conn); ok {
			rc, err := sc.SyscallConn()
			if err != nil {
				return -1, err
			}
			fd := -1
			if err := rc.Control(func(f uintptr) { fd = int(f) }); err != nil {
				return -1, err
			}
			return fd, nil
		}
		u, ok := nc.(interface{ NetConn() net.Conn })
		if !ok {
			break
		}
		nc = u.NetConn()
	}
	return -1, errors.New("not a kernel socket (no file descriptor to poll); give Config.Poller")
}

// pollKernel polls conns (and efd, if not -1) for input.
func pollKernel(efd int, conns []net.Conn, timeout time.Duration) (woken bool, ready []int, err error) {
	fds := make([]unix.PollFd, 0, len(conns)+1)
	for i, nc := range conns {
		fd, err := fdOf(nc)
		if err != nil {
			return false, nil, fmt.Errorf("connection %d: %v", i, err)
		}
		fds = append(fds, unix.PollFd{Fd: int32(fd), Events: unix.POLLIN})
	}
	if efd >= 0 {
		fds = append(fds, unix.PollFd{Fd: int32(efd), Events: unix.POLLIN})
	}
	ms := -1
	if timeout >= 0 {
		ms = int((timeout + time.Millisecond - 1) / time.Millisecond)
	}
	for {
		_, err = unix.Poll(fds, ms)
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		return false, nil, err
	}
	for i := range conns {
		if fds[i].Revents != 0 {
			ready = append(ready, i)
		}
	}
	return efd >= 0 && fds[len(conns)].Revents != 0, ready, nil
}

// kernelSendQueued is SIOCOUTQ on a kernel socket: the bytes written and
// not yet acknowledged by the peer (0 if nc is not a kernel socket).
func kernelSendQueued(nc net.Conn) int {
	sc, ok := nc.(syscall.Conn)
	if !ok {
		return 0
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return 0
	}
	n := 0
	rc.Control(func(fd uintptr) {
		n, _ = unix.IoctlGetInt(int(fd), unix.SIOCOUTQ)
	})
	return n
}
