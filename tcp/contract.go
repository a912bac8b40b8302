package tcp

import (
	"net/netip"

	"github.com/packetwalk/packetwalk/ip"
)

// This file is TCP's contract with the layers next to it.
//
// Downwards, TCP needs IP (Network) to send segments and to pick a source
// address; IP hands TCP its datagrams through ip.Transport (Layer.Receive)
// and the ICMP errors about them (Layer.ReceiveError).
//
// Upwards, the socket API (package stack) drives an Endpoint with the user
// calls of RFC 9293 §3.10 (Open, Send, Receive, Close, Abort) and learns
// that it can make progress through the Notify callbacks; it never blocks
// here: blocking is the socket API's business.

// Network is what TCP needs of the IP layer.
type Network interface {
	Send(o ip.Outbound) error
	SourceFor(dst netip.Addr) (netip.Addr, error)
	// MTUFor returns the MTU of the link toward dst, for the MSS.
	MTUFor(dst netip.Addr) int
}

// Notify are the wake-ups an endpoint gives its socket. Each is called on
// the event loop after the endpoint's state changed; the socket retries the
// calls that were waiting.
type Notify struct {
	Readable   func() // data, a FIN or an error arrived
	Writable   func() // send buffer space freed, or the connection opened
	Acceptable func() // (listener) a connection is ready for accept()
	Closed     func() // the connection is gone (deleted)
}

// ---- Inside the layer: the demux table, replaceable ----

// Demuxer is the table that finds the socket a segment belongs to ("How
// Network Works" ch. 6): connections by their four-tuple, listeners by
// local port. It sits behind an interface so that a student's table can run
// in the stack (the implementation lab impl-demux, labs/impl); Config.Demuxer
// nil means NewDemuxTable. The layer calls it on the host's event loop, and
// does the rest itself: on a SYN at a listener it clones the listener into
// a new endpoint whose local address is the one the SYN was sent to (never
// the listener's wildcard) and registers it with AddConn, so that the next
// segment of that connection matches exactly while the listener stays in
// LISTEN for the next client.
type Demuxer interface {
	// LookupExact returns the connection whose LocalAddr and RemoteAddr
	// are local and remote, or nil.
	LookupExact(local, remote netip.AddrPort) *Endpoint
	// LookupListener returns the listener for a segment sent to local: one
	// bound to local's address, else one bound to the wildcard address on
	// local's port, else nil.
	LookupListener(local netip.AddrPort) *Endpoint
	// AddListener registers a listening endpoint (its LocalAddr; the port
	// is never 0). It fails with ErrAddrInUse if a listener on the same
	// port has the same address, or either address is the wildcard.
	AddListener(e *Endpoint) error
	// RemoveListener forgets a listener; unknown endpoints are ignored.
	RemoveListener(e *Endpoint)
	// AddConn registers a connection under its four-tuple; ErrAddrInUse
	// if another connection has it.
	AddConn(e *Endpoint) error
	// RemoveConn forgets a connection; it must not forget another
	// endpoint that has since taken the same four-tuple.
	RemoveConn(e *Endpoint)
	// EphemeralPort picks a local port from the table's ephemeral range
	// for a connection from src to remote: one whose four-tuple is free
	// and on which nothing listens; ErrAddrNotAvail if none is.
	EphemeralPort(src netip.Addr, remote netip.AddrPort) (uint16, error)
	// All returns every endpoint, listeners (by port) first, then
	// connections by ID, for socket listings.
	All() []*Endpoint
}
