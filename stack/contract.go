package stack

import (
	"context"
	"net"
	"net/netip"
	"time"

	"github.com/packetwalk/packetwalk/tcp"
)

// This file is the socket layer's contract.
//
// Up, to applications (httpd, type-o-serve, ping, the drill runner, a
// student's program): the BSD socket calls on a Host, one descriptor per
// socket, blocking by default, O_NONBLOCK with fcntl, poll for readiness
// (SocketAPI below); and net.Listener/net.Conn over them (ListenTCP,
// DialTCP), so that any Go server runs on packetwalk's stack. A blocking
// call waits on its caller's goroutine, never on the host's event loop:
// every call runs its step on the loop (Loop.Do) and waits outside it.
//
// Down, the socket layer drives the transports through their contracts:
// TCP by tcp.Opener and tcp.User, and a socket is its endpoint's
// tcp.Upper (Ready wakes the calls waiting on it; Cloned makes the socket
// accept() returns when a SYN clones a listener); UDP by udp.Endpoint;
// ping by icmp's echo.

// SocketAPI is what a Host offers applications: the socket calls of
// POSIX, with their errno values as the Err values of socket.go.
type SocketAPI interface {
	Socket(domain, typ int) (FD, error)
	Bind(fd FD, addr netip.AddrPort) error
	Listen(fd FD, backlog int) error
	Accept(fd FD) (FD, netip.AddrPort, error)
	Connect(fd FD, addr netip.AddrPort) error
	Read(fd FD, p []byte) (int, error)
	Recv(fd FD, p []byte, flags int) (int, error)
	Write(fd FD, p []byte) (int, error)
	SendTo(fd FD, p []byte, addr netip.AddrPort) (int, error)
	RecvFrom(fd FD, p []byte) (int, netip.AddrPort, error)
	Shutdown(fd FD, how int) error
	Close(fd FD) error
	SetSockopt(fd FD, level, name, value int) error
	GetSockopt(fd FD, level, name int) (int, error)
	Fcntl(fd FD, cmd, arg int) (int, error)
	SetDeadlines(fd FD, read, write time.Time) error
	Poll(fds []PollFD, timeout time.Duration) (int, error)
	TCPInfo(fd FD) (tcp.Info, error)

	// The same sockets as Go's net interfaces.
	ListenTCP(addr netip.AddrPort, backlog int) (net.Listener, error)
	DialTCP(ctx context.Context, addr netip.AddrPort) (net.Conn, error)
}

var _ SocketAPI = (*Host)(nil)
