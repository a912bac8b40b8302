// Package tcprecv is your TCP receiver: the part of a connection that
// takes the segments the peer sent, in whatever order the network
// delivers them, and turns them into the byte stream read() returns, and
// that says what every ACK carries: the acknowledgment number (RCV.NXT,
// the first byte not yet received in order) and the window (how many more
// bytes the peer may send). RFC 9293 §3.3.1 (Figure 4) and §3.10.7.4.
//
// Keep the package's name and New's signature: `packetwalk lab test
// impl-tcp-receiver --impl DIR` builds the stack with New.
package tcprecv

import "github.com/packetwalk/packetwalk/tcp"

// Receiver is your tcp.Receiver. TCP uses it on the host's event loop
// only: no locks are needed.
//
// Sequence numbers are 32 bits and wrap around: byte 2^32-1 is followed by
// byte 0. tcp.Seq has the arithmetic (a.Add(n), a.Sub(b) as a signed
// distance, a.LessThan(b)); use it or write your own, but never compare
// two sequence numbers with < on their raw values.
type Receiver struct {
	capacity int
	// TODO: RCV.NXT, the in-order bytes waiting for Read, and the bytes
	// that arrived beyond a hole.
}

// New returns an empty receiver of capacity bytes (SO_RCVBUF).
func New(capacity int) tcp.Receiver {
	return &Receiver{capacity: capacity}
}

// SetNextSeq sets RCV.NXT: TCP calls it with IRS+1 once the handshake has
// told it the peer's initial sequence number, before any data.
func (r *Receiver) SetNextSeq(rcvNxt tcp.Seq) {
	// TODO
}

// Insert stores a segment's data, which starts at sequence number seq,
// and returns how many bytes it stored that were not held before.
//   - bytes before RCV.NXT were received already: ignore them;
//   - bytes at or beyond RCV.NXT+Window() have no room: ignore them;
//   - bytes already held keep their first copy;
//   - data at RCV.NXT becomes readable at once, together with every held
//     byte that now follows it without a hole, and RCV.NXT moves past them;
//   - data beyond a hole is held until the hole fills.
func (r *Receiver) Insert(seq tcp.Seq, data []byte) int {
	// TODO
	return 0
}

// NextSeq returns RCV.NXT, the acknowledgment number of the next ACK.
func (r *Receiver) NextSeq() tcp.Seq {
	// TODO
	return 0
}

// Window returns the window to advertise: the capacity less the in-order
// bytes that Read has not taken yet. Bytes held beyond a hole lie inside
// the window and do not shrink it.
func (r *Receiver) Window() int {
	// TODO
	return 0
}

// Readable returns how many in-order bytes Read can return.
func (r *Receiver) Readable() int {
	// TODO
	return 0
}

// Read copies up to len(p) in-order bytes into p, removes them (the window
// grows by as much) and returns how many it copied.
func (r *Receiver) Read(p []byte) int {
	// TODO
	return 0
}

// Peek copies like Read but leaves the bytes in place.
func (r *Receiver) Peek(p []byte) int {
	// TODO
	return 0
}

// Held returns the ranges held beyond RCV.NXT, each [Start, End) (End is
// the sequence number after the range's last byte), in sequence order,
// with touching ranges joined into one. TCP reports them in SACK blocks
// (RFC 2018), so that the sender resends only what is missing.
func (r *Receiver) Held() []tcp.SACKBlock {
	// TODO
	return nil
}
