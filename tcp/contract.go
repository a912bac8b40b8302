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
// calls of RFC 9293 §3.10 (User) and learns that it can make progress
// through its Upper, the one interface it gives TCP; TCP never blocks:
// blocking is the socket API's business.

// Network is what TCP needs of the IP layer.
type Network interface {
	Send(o ip.Outbound) error
	SourceFor(dst netip.Addr) (netip.Addr, error)
	// MTUFor returns the MTU of the link toward dst, for the MSS.
	MTUFor(dst netip.Addr) int
}

// Opener is OPEN (RFC 9293 §3.10.1), the user call that makes an
// endpoint: passive (Listen) or active (Connect). The Upper given is the
// endpoint's for its whole life; a connection a listener clones from a
// SYN gets its own from the listener's (Upper.Cloned). nil means nobody
// is told anything (tests, the labs' graders).
type Opener interface {
	Listen(local netip.AddrPort, backlog int, opts Options, up Upper) (*Endpoint, error)
	Connect(local, remote netip.AddrPort, opts Options, up Upper) (*Endpoint, error)
}

var _ Opener = (*Layer)(nil)

// User is what an Endpoint offers the socket API: the user calls of RFC
// 9293 §3.10 after OPEN, and what BSD sockets add to them. None blocks: a
// call that cannot make progress returns ErrWouldBlock, and the Upper's
// Ready says when to try again. All run on the host's event loop.
type User interface {
	// SEND (§3.10.2): queue data and send what the windows allow.
	Write(p []byte) (int, error)
	// RECEIVE (§3.10.3): take data in order; io.EOF after the peer's FIN.
	Read(p []byte) (int, error)
	// CLOSE (§3.10.4): FIN after the queued data (or RST, with unread
	// data or a zero linger); a listener stops listening.
	Close() error
	// ABORT (§3.10.5): RST and delete the connection at once.
	Abort()
	// STATUS (§3.10.6): a snapshot of the TCB, and its state alone.
	Info() Info
	State() State

	// What BSD sockets add: accept(), listen() again, shutdown(),
	// recv(MSG_PEEK), what poll() asks, SO_ERROR, and the options.
	Accept() (*Endpoint, error)
	Pending() int
	SetBacklog(backlog int) error
	Shutdown(read, write bool) error
	Peek(p []byte) (int, error)
	Readable() bool
	Writable() bool
	Err() error
	TakeErr() error
	Options() Options
	SetOptions(o Options)
	LocalAddr() netip.AddrPort
	RemoteAddr() netip.AddrPort
}

var _ User = (*Endpoint)(nil)

// Upper is what TCP needs of the layer above an endpoint (the socket API):
// one readiness notification, and a socket for each connection a listener
// clones. It is given once, when the endpoint is opened or cloned, and
// never replaced. TCP calls it on the event loop after the endpoint's
// state changed; it must not call back into TCP from Ready.
type Upper interface {
	// Ready says that calls waiting on r may now make progress; the
	// socket retries them.
	Ready(r Readiness)
	// Cloned is called on a listener's Upper when a SYN (or the ACK
	// returning a SYN cookie) clones the listener into connection c
	// (RFC 9293 §3.10.7.2): it returns c's Upper, the socket accept()
	// will hand out. A clone that is never accepted (reset, timed out,
	// closed with its listener) is simply forgotten: TCP drops it, and
	// nothing else may hold it.
	Cloned(c *Endpoint) Upper
}

// Readiness are the conditions Upper.Ready reports, as bits.
type Readiness uint8

const (
	ReadyRead   Readiness = 1 << iota // data, a FIN or an error arrived
	ReadyWrite                        // send buffer space freed, or the connection opened
	ReadyAccept                       // (listener) a connection waits in the accept queue
	ReadyClosed                       // the connection is gone (its TCB deleted)
)

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

// ---- Inside a connection: the receive side, replaceable ----

// Receiver is a connection's receive side (RFC 9293 §3.3.1, Figure 4):
// the reassembler that turns segments, in any order, into the byte stream
// read() returns, and the two numbers every ACK carries, RCV.NXT (the
// acknowledgment number) and RCV.WND (the window). It sits behind an
// interface so that a student's receiver can run in the stack (the
// implementation lab impl-tcp-receiver, labs/impl); Config.Receiver nil
// means the stack's own ReceiveBuffer. The connection calls it on the
// host's event loop and does the rest itself: the acceptability test, the
// FIN, the delayed ACK, window scaling and silly-window avoidance, and the
// SACK blocks (built from Held and what Insert changed).
//
// Sequence numbers wrap at 2^32: compare them with Seq's LessThan and
// Sub, never with < on the raw numbers.
type Receiver interface {
	// SetNextSeq sets RCV.NXT when the connection learns the peer's
	// initial sequence number (IRS+1: the SYN takes IRS, §3.4). It is
	// called before any data is inserted.
	SetNextSeq(rcvNxt Seq)
	// Insert stores a segment's data, which starts at sequence number
	// seq, and returns how many bytes it stored that were not held
	// before. Bytes before RCV.NXT were received already, and bytes at or
	// beyond RCV.NXT+Window() have no room: both are dropped (§3.10.7.4).
	// Bytes already held keep their first copy. Data at RCV.NXT becomes
	// readable at once, with every held byte it now reaches; data beyond
	// a hole is held until the hole fills.
	Insert(seq Seq, data []byte) int
	// NextSeq returns RCV.NXT: the sequence number of the first byte not
	// yet received in order, which the next ACK acknowledges.
	NextSeq() Seq
	// Window returns RCV.WND, the bytes that may still be sent: the
	// capacity less the in-order bytes read() has not taken yet (bytes
	// held out of order lie inside the window and do not shrink it).
	Window() int
	// Readable returns how many in-order bytes Read can return.
	Readable() int
	// Read copies up to len(p) in-order bytes into p, removes them (the
	// window grows by as much) and returns how many it copied.
	Read(p []byte) int
	// Peek copies like Read but leaves the bytes in place (MSG_PEEK).
	Peek(p []byte) int
	// Held returns the out-of-order ranges held beyond RCV.NXT, each
	// [Start, End), in sequence order, with no two overlapping or
	// touching (touching ranges are one). The connection reports them in
	// SACK blocks (RFC 2018). Empty when nothing waits for a hole.
	Held() []SACKBlock
}
