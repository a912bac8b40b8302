package stack

import (
	"strings"

	"github.com/packetwalk/packetwalk/tcp"
	"github.com/packetwalk/packetwalk/viz"
)

// fcntl(2)'s file status flags, as on Linux: a socket is opened O_RDWR,
// and O_NONBLOCK makes every call that would wait return at once instead.
const (
	F_GETFL    = 3
	F_SETFL    = 4
	O_RDWR     = 0x2
	O_NONBLOCK = 0x800
)

// Fcntl gets or sets a socket's file status flags (fcntl(2) with F_GETFL
// or F_SETFL). With O_NONBLOCK set, accept, read and write fail with
// EAGAIN when they would wait, a write queues what fits, and connect
// returns EINPROGRESS at once while the handshake goes on (poll for
// POLLOUT, then read SO_ERROR, as a non-blocking client does).
func (h *Host) Fcntl(fd FD, cmd, arg int) (int, error) {
	var v int
	err := h.onSocket(fd, func(s *socket) error {
		switch cmd {
		case F_GETFL:
			v = O_RDWR
			if s.nonblock {
				v |= O_NONBLOCK
			}
		case F_SETFL:
			s.nonblock = arg&O_NONBLOCK != 0
			var conn uint64
			if s.tcp != nil {
				conn = s.tcp.ID
			}
			mode := "blocking"
			if s.nonblock {
				mode = "non-blocking (O_NONBLOCK)"
			}
			h.logSocket("fcntl", fd, conn, viz.Note, "fcntl(%d, F_SETFL): %s", viz.Int(int(fd)), viz.Str(mode))
		default:
			return ErrInvalid
		}
		return nil
	})
	return v, err
}

// takeError is getsockopt(SO_ERROR): the connection's pending error as an
// errno value, cleared once read (POSIX). It is the same pending error
// that read() and write() report: whichever call comes first reports it,
// and the others then see none (tcp.Endpoint.TakeErr). It runs on the loop.
func (s *socket) takeError() int {
	if s.tcp == nil {
		return 0
	}
	return ErrnoValue(Errno(s.tcp.TakeErr()))
}

// Errno names the POSIX error behind err ("ECONNREFUSED"), or "" when err
// is nil or names none. Every error of the socket API ends its sentence
// with the errno in parentheses, e.g. "connection refused (ECONNREFUSED)",
// so that a program comparing with C's API (packetwalk drill) can read it.
func Errno(err error) string {
	if err == nil {
		return ""
	}
	if err == ErrTimeout {
		return "ETIMEDOUT"
	}
	msg := err.Error()
	for {
		i := strings.Index(msg, "(E")
		if i < 0 {
			return ""
		}
		j := strings.IndexByte(msg[i:], ')')
		if j < 0 {
			return ""
		}
		name := msg[i+1 : i+j]
		if name == strings.ToUpper(name) && !strings.ContainsAny(name, " :") {
			return name
		}
		msg = msg[i+j:]
	}
}

// errnoValues are Linux's numbers for the errors the socket API returns
// (asm-generic/errno.h), for SO_ERROR and for scripts that compare numbers.
var errnoValues = map[string]int{
	"EPERM": 1, "ENOENT": 2, "EINTR": 4, "EBADF": 9, "EAGAIN": 11, "ENOMEM": 12,
	"EFAULT": 14, "EINVAL": 22, "EMFILE": 24, "EPIPE": 32, "ENOTSOCK": 88,
	"EMSGSIZE": 90, "ENOPROTOOPT": 92, "EOPNOTSUPP": 95, "EADDRINUSE": 98,
	"EADDRNOTAVAIL": 99, "ENETUNREACH": 101, "ECONNABORTED": 103, "ECONNRESET": 104,
	"EISCONN": 106, "ENOTCONN": 107, "ETIMEDOUT": 110, "ECONNREFUSED": 111,
	"EHOSTUNREACH": 113, "EALREADY": 114, "EINPROGRESS": 115,
}

// ErrnoValue is the Linux number of an errno name, 0 if unknown.
func ErrnoValue(name string) int { return errnoValues[name] }

// ErrnoName is the errno name of a Linux number, "" if unknown.
func ErrnoName(v int) string {
	for k, n := range errnoValues {
		if n == v {
			return k
		}
	}
	return ""
}

// TCPInfo returns a TCP socket's connection state (getsockopt TCP_INFO,
// like ss -ti); ErrNotConnected if it has no connection.
func (h *Host) TCPInfo(fd FD) (tcp.Info, error) {
	var in tcp.Info
	err := h.onSocket(fd, func(s *socket) error {
		if s.tcp == nil {
			return ErrNotConnected
		}
		in = s.tcp.Info()
		return nil
	})
	return in, err
}
