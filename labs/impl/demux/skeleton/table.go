// Package demux is your TCP demux table: for every arriving segment, TCP
// asks it which socket the segment belongs to ("How Network Works" ch. 6):
// the connection with exactly the segment's four values (server address
// and port, client address and port), else the socket listening on the
// port, else none (and TCP answers RST). On a SYN at a listener, TCP copies
// the listener into a new socket for that client and registers the copy
// with AddConn; the listener stays for the next client.
//
// Keep the package's name and New's signature: `packetwalk lab test
// impl-demux --impl DIR` builds the stack with New.
package demux

import (
	"net/netip"

	"github.com/packetwalk/packetwalk/ip"
	"github.com/packetwalk/packetwalk/tcp"
)

// Table is your tcp.Demuxer. TCP uses it on the host's event loop only: no
// locks are needed. An endpoint's addresses are e.LocalAddr() and
// e.RemoteAddr(); e.ID is its socket number.
type Table struct {
	ephemeral ip.PortRange
	// TODO: connections by four-tuple, listeners by port, where the
	// next ephemeral port search starts.
}

// New returns an empty table that hands out local ports from ephemeral.
func New(ephemeral ip.PortRange) tcp.Demuxer {
	return &Table{ephemeral: ephemeral}
}

// LookupExact returns the connection whose local and remote addresses and
// ports are local and remote, or nil.
func (t *Table) LookupExact(local, remote netip.AddrPort) *tcp.Endpoint {
	// TODO
	return nil
}

// LookupListener returns the listener for a segment sent to local: the one
// bound to exactly local's address on its port, else the one bound to the
// wildcard address (0.0.0.0) on that port, else nil.
func (t *Table) LookupListener(local netip.AddrPort) *tcp.Endpoint {
	// TODO
	return nil
}

// AddListener registers a listening endpoint. It fails with
// tcp.ErrAddrInUse if a listener on the same port has the same address, or
// if either of the two is the wildcard (as Linux refuses such a bind()).
func (t *Table) AddListener(e *tcp.Endpoint) error {
	// TODO
	return nil
}

// RemoveListener forgets a listener (close()); unknown endpoints are
// ignored.
func (t *Table) RemoveListener(e *tcp.Endpoint) {
	// TODO
}

// AddConn registers a connection under its four-tuple: a client's
// connect(), or a listener's copy on a SYN. It fails with tcp.ErrAddrInUse
// if another connection has the same four-tuple.
func (t *Table) AddConn(e *tcp.Endpoint) error {
	// TODO
	return nil
}

// RemoveConn forgets a connection when it is deleted. Remove e only if the
// table still maps its four-tuple to e: a new connection may have taken it.
func (t *Table) RemoveConn(e *tcp.Endpoint) {
	// TODO
}

// EphemeralPort picks a local port for connect() from src to remote: a port
// of t.ephemeral whose four-tuple (src, port, remote) is free and on which
// nothing listens. Search from after the port you gave last, wrapping
// around (RFC 6056 §3.3.3); tcp.ErrAddrNotAvail if every port is taken.
func (t *Table) EphemeralPort(src netip.Addr, remote netip.AddrPort) (uint16, error) {
	// TODO
	return 0, tcp.ErrAddrNotAvail
}

// All returns every endpoint for `ss`-like listings: the listeners, sorted
// by port, then the connections, sorted by ID.
func (t *Table) All() []*tcp.Endpoint {
	// TODO
	return nil
}
