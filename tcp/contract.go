package tcp

import (
	"net/netip"
	"time"

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
	// Opened is called on the Upper given to Listen or Connect once the
	// endpoint has its ID and addresses, before its first state change
	// and (Connect) before its SYN: the socket API records its call
	// there (listen(), connect()), so that the narration shows the call
	// before the steps it causes.
	Opened(e *Endpoint)
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

// ---- Inside a connection: the send side's three decisions, replaceable ----

// Sender makes the three decisions of a connection's send side that a
// student writes in the implementation lab impl-tcp-sender (labs/impl):
// how much the next segment carries (RFC 9293 §3.8.6.2.1), the
// retransmission timeout (RFC 6298) and which ACKs are duplicates, the
// third of which starts fast retransmit (RFC 5681 §2, §3.2).
// Config.Sender nil means the stack's own code, with everything it adds
// (SACK recovery, RACK-TLP, PRR, timestamps' RTT samples). With a Sender
// the connection neither offers nor accepts SACK (RFC 2018), so it
// recovers with RFC 5681 and RFC 6582's NewReno, driven by the Sender's
// duplicate ACKs, and it times one segment at a time for RTT samples
// (RFC 6298 §3), also when the segments carry timestamps. NewSender is
// the stack's own Sender, for comparison. The connection calls it on the
// host's event loop and does the rest itself: the send buffer, Nagle and
// silly-window avoidance, the persist timer, limited transmit, cwnd and
// ssthresh, and building and sending each segment.
//
// Sequence numbers wrap at 2^32: compare them with Seq's LessThan and
// Sub, never with < on the raw numbers.
type Sender interface {
	// SegmentSize returns how many bytes of new data the next segment
	// carries, 0 to send nothing now: at most w.Queued and w.MSS, never
	// past the right edge of the peer's window, SND.UNA + SND.WND (the
	// usable window of RFC 9293 §3.8.6.2.1, SND.UNA + SND.WND -
	// SND.NXT), and at most w.Cwnd - w.InFlight (RFC 5681 §3.1). A
	// window that closed, or shrank below SND.NXT, gives 0.
	SegmentSize(w SendWindow) int
	// Sample takes one round-trip time measurement R: the time from
	// sending the timed segment to the ACK that covered it (RFC 6298
	// §2). retransmitted says that segment was sent again meanwhile, so
	// the ACK may answer either copy: Karn's algorithm (§3) says such a
	// sample MUST NOT be used.
	Sample(rtt time.Duration, retransmitted bool)
	// RTO returns the retransmission timeout to start the timer with:
	// the initial RTO before any sample (§2.1), else SRTT + max(G,
	// 4*RTTVAR) (§2.2, §2.3), never below SenderConfig.RTOMin nor above
	// RTOMax (§2.4, §2.5), doubled by each Backoff since.
	RTO() time.Duration
	// Backoff is called when the retransmission timer expired: the RTO
	// doubles, up to RTOMax (§5.5).
	Backoff()
	// ResetBackoff is called on each ACK of new data: the RTO returns to
	// the value computed from the samples, undoing the backoff (the note
	// that closes §5, as Linux does).
	ResetBackoff()
	// OnACK classifies each ACK the connection accepts, before it acts
	// on it: ACKNew if it acknowledges new data (SEG.ACK > SND.UNA),
	// ACKDuplicate for a duplicate ACK as RFC 5681 §2 defines it, and
	// ACKThirdDuplicate for the third duplicate in a row, which starts
	// fast retransmit (§3.2); ACKOther for anything else (a window
	// update, an ACK carrying data, ...). An ACK of new data starts the
	// count again.
	OnACK(a ACKInfo) ACKKind
}

// SenderConfig is what a connection's Sender is built with: the bounds
// of the retransmission timeout, from the layer's Config with its
// defaults filled in.
type SenderConfig struct {
	RTOMin, RTOMax time.Duration // (2.4) and (2.5)
	RTOInitial     time.Duration // (2.1): the RTO before any sample
	G              time.Duration // the clock granularity of (2.2) and (2.3)
}

// SendWindow is what the connection knows when it may send new data.
type SendWindow struct {
	UNA, NXT Seq    // SND.UNA, the oldest unacknowledged byte; SND.NXT, the next to send
	WND      uint32 // SND.WND, the peer's window, counted from SND.UNA
	Cwnd     int    // the congestion window, bytes
	InFlight int    // bytes in the network, which cwnd limits (FlightSize)
	MSS      int    // the most one segment may carry now
	Queued   int    // bytes written and not sent yet, from SND.NXT on
}

// ACKInfo is an arriving ACK and the send state it meets, before the
// connection acts on it.
type ACKInfo struct {
	Ack      Seq    // SEG.ACK
	Window   uint32 // SEG.WND, scaled
	Len      int    // the bytes of data the segment carries
	SYN, FIN bool   // the segment's SYN and FIN flags
	UNA      Seq    // SND.UNA
	WND      uint32 // SND.WND before this ACK
	// Outstanding is the data sent and not yet acknowledged (a FIN
	// counts as a byte), 0 while only a zero-window probe is out.
	Outstanding int
}

// ACKKind is what Sender.OnACK makes of an ACK.
type ACKKind uint8

const (
	ACKOther          ACKKind = iota // neither new nor a duplicate
	ACKNew                           // acknowledges new data
	ACKDuplicate                     // a duplicate ACK (RFC 5681 §2), not the third in a row
	ACKThirdDuplicate                // the third duplicate ACK in a row: fast retransmit (RFC 5681 §3.2)
)

func (k ACKKind) String() string {
	switch k {
	case ACKNew:
		return "new"
	case ACKDuplicate:
		return "duplicate"
	case ACKThirdDuplicate:
		return "third duplicate"
	}
	return "other"
}
