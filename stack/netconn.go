package stack

import (
	"context"
	"errors"
	"io"
	"net"
	"net/netip"
	"time"

	"github.com/packetwalk/packetwalk/tcp"
)

// Adapters that make a host look like Go's own networking, so that
// net/http (or any code written for net.Listener and net.Conn) runs on
// packetwalk unchanged.

// ListenTCP returns a net.Listener on addr: socket, bind, listen.
func (h *Host) ListenTCP(addr netip.AddrPort, backlog int) (net.Listener, error) {
	fd, err := h.Socket(AF_INET, SOCK_STREAM)
	if err != nil {
		return nil, err
	}
	if err := h.Bind(fd, addr); err != nil {
		h.Close(fd)
		return nil, &net.OpError{Op: "listen", Net: "tcp", Addr: net.TCPAddrFromAddrPort(addr), Err: err}
	}
	if err := h.Listen(fd, backlog); err != nil {
		h.Close(fd)
		return nil, &net.OpError{Op: "listen", Net: "tcp", Addr: net.TCPAddrFromAddrPort(addr), Err: err}
	}
	return &listener{h: h, fd: fd, addr: addr}, nil
}

// DialTCP returns a net.Conn connected to addr: socket, connect. ctx's
// deadline bounds the handshake.
func (h *Host) DialTCP(ctx context.Context, addr netip.AddrPort) (net.Conn, error) {
	fd, err := h.Socket(AF_INET, SOCK_STREAM)
	if err != nil {
		return nil, err
	}
	if dl, ok := ctx.Deadline(); ok {
		h.SetDeadlines(fd, time.Time{}, dl)
	}
	if err := h.Connect(fd, addr); err != nil {
		h.Close(fd)
		return nil, &net.OpError{Op: "dial", Net: "tcp", Addr: net.TCPAddrFromAddrPort(addr), Err: err}
	}
	h.SetDeadlines(fd, time.Time{}, time.Time{})
	return h.newConn(fd), nil
}

// Dialer returns a DialContext function for http.Transport and the like;
// addresses must be IP:port (there is no DNS here).
func (h *Host) Dialer() func(ctx context.Context, network, address string) (net.Conn, error) {
	return func(ctx context.Context, network, address string) (net.Conn, error) {
		ap, err := netip.ParseAddrPort(address)
		if err != nil {
			return nil, &net.OpError{Op: "dial", Net: network, Err: errors.New("packetwalk dials IPv4:port addresses only: " + address)}
		}
		return h.DialTCP(ctx, ap)
	}
}

type listener struct {
	h    *Host
	fd   FD
	addr netip.AddrPort
}

func (l *listener) Accept() (net.Conn, error) {
	fd, _, err := l.h.Accept(l.fd)
	if err != nil {
		if errors.Is(err, ErrBadFD) || errors.Is(err, ErrInvalid) {
			return nil, net.ErrClosed
		}
		return nil, &net.OpError{Op: "accept", Net: "tcp", Addr: l.Addr(), Err: err}
	}
	return l.h.newConn(fd), nil
}

func (l *listener) Close() error   { return l.h.Close(l.fd) }
func (l *listener) Addr() net.Addr { return net.TCPAddrFromAddrPort(l.addr) }

// ReadinessPoller is the Poller that watches this listener and the
// connections it accepts: a server that multiplexes (httpd's
// "multiplexed" and "event" architectures) uses it when it was given none.
func (l *listener) ReadinessPoller() any { return Poller{Host: l.h} }

// FD returns the listening socket's descriptor, for Poll.
func (l *listener) FD() FD { return l.fd }

// Conn is a TCP connection as a net.Conn.
type Conn struct {
	h      *Host
	fd     FD
	local  netip.AddrPort
	remote netip.AddrPort
	id     uint64
}

func (h *Host) newConn(fd FD) *Conn {
	c := &Conn{h: h, fd: fd}
	h.loop.Do(func() {
		if s, err := h.get(fd); err == nil && s.tcp != nil {
			c.local, c.remote, c.id = s.tcp.LocalAddr(), s.tcp.RemoteAddr(), s.tcp.ID
		}
	})
	return c
}

// FD returns the connection's descriptor.
func (c *Conn) FD() FD { return c.fd }

// ConnID returns the socket's ID in the step log.
func (c *Conn) ConnID() uint64 { return c.id }

func (c *Conn) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	n, err := c.h.Read(c.fd, p)
	return n, c.wrap("read", err)
}

func (c *Conn) Write(p []byte) (int, error) {
	n, err := c.h.Write(c.fd, p)
	return n, c.wrap("write", err)
}

func (c *Conn) wrap(op string, err error) error {
	switch {
	case err == nil || err == io.EOF:
		return err
	case errors.Is(err, ErrBadFD):
		return net.ErrClosed
	}
	return &net.OpError{Op: op, Net: "tcp", Source: c.LocalAddr(), Addr: c.RemoteAddr(), Err: err}
}

func (c *Conn) Close() error { return c.h.Close(c.fd) }

// CloseWrite shuts down the sending half (like *net.TCPConn): the peer
// reads EOF, and this side can still read.
func (c *Conn) CloseWrite() error { return c.h.Shutdown(c.fd, SHUT_WR) }

// CloseRead shuts down the receiving half.
func (c *Conn) CloseRead() error { return c.h.Shutdown(c.fd, SHUT_RD) }

func (c *Conn) LocalAddr() net.Addr  { return net.TCPAddrFromAddrPort(c.local) }
func (c *Conn) RemoteAddr() net.Addr { return net.TCPAddrFromAddrPort(c.remote) }

func (c *Conn) SetDeadline(t time.Time) error { return c.h.SetDeadlines(c.fd, t, t) }

func (c *Conn) SetReadDeadline(t time.Time) error {
	var w time.Time
	c.h.loop.Do(func() {
		if s, err := c.h.get(c.fd); err == nil {
			w = s.writeDeadline
		}
	})
	return c.h.SetDeadlines(c.fd, t, w)
}

func (c *Conn) SetWriteDeadline(t time.Time) error {
	var r time.Time
	c.h.loop.Do(func() {
		if s, err := c.h.get(c.fd); err == nil {
			r = s.readDeadline
		}
	})
	return c.h.SetDeadlines(c.fd, r, t)
}

// SetNoDelay switches Nagle's algorithm off (TCP_NODELAY), like
// *net.TCPConn.
func (c *Conn) SetNoDelay(on bool) error {
	v := 0
	if on {
		v = 1
	}
	return c.h.SetSockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, v)
}

// Info returns the connection's TCP state (like ss -ti).
func (c *Conn) Info() tcp.Info {
	var in tcp.Info
	c.h.loop.Do(func() {
		if s, err := c.h.get(c.fd); err == nil && s.tcp != nil {
			in = s.tcp.Info()
		}
	})
	return in
}

// SendQueued is the bytes written to the connection and not yet
// acknowledged by the peer (Linux's SIOCOUTQ): a web server asks it
// before closing a persistent connection as idle (httpd).
func (c *Conn) SendQueued() int {
	n := 0
	c.h.loop.Do(func() {
		if s, err := c.h.get(c.fd); err == nil && s.tcp != nil {
			n = s.tcp.Info().SendQueued
		}
	})
	return n
}
