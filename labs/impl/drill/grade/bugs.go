package grade

import (
	"net/netip"
	"slices"

	"github.com/packetwalk/packetwalk/ip"
	"github.com/packetwalk/packetwalk/tcp"
)

// The planted bugs live in components plugged into tcp.Config's seams
// (Receiver, Demuxer), each a thin wrapper around the stack's own
// component with one thing wrong, so the production TCP carries no fault
// injection and each bug is exactly its wrapper.

// receiverWith plants a receive-side bug: each connection's tcp.Receiver
// is the stack's own ReceiveBuffer behind wrap.
func receiverWith(wrap func(b *buffer) tcp.Receiver) func(*tcp.Config) {
	return func(c *tcp.Config) {
		c.Receiver = func(capacity int) tcp.Receiver { return wrap(newBuffer(capacity)) }
	}
}

// demuxWith plants a demux bug: the stack's own table behind wrap.
func demuxWith(wrap func(t tcp.Demuxer) tcp.Demuxer) func(*tcp.Config) {
	return func(c *tcp.Config) {
		c.Demuxer = func(r ip.PortRange) tcp.Demuxer { return wrap(tcp.NewDemuxTable(r)) }
	}
}

// buffer is the stack's own ReceiveBuffer as a tcp.Receiver: without a
// bug, a stack built with it answers every segment as the stack as
// shipped does (TestAdapterFaithful), so a script that tells the two
// apart has found the planted bug and nothing else.
type buffer struct {
	b *tcp.ReceiveBuffer
	// limit is the capacity the connection asked for: what Window()
	// counts from. It is b's capacity unless a bug gave b more room.
	limit int
}

func newBuffer(capacity int) *buffer {
	return &buffer{b: tcp.NewReceiveBuffer(capacity, 0), limit: capacity}
}

func (r *buffer) SetNextSeq(s tcp.Seq) { r.b.SetNextSeq(s) }
func (r *buffer) NextSeq() tcp.Seq     { return r.b.NextSeq() }
func (r *buffer) Window() int          { return max(r.limit-r.b.Readable(), 0) }
func (r *buffer) Readable() int        { return r.b.Readable() }
func (r *buffer) Read(p []byte) int    { return r.b.Read(p) }
func (r *buffer) Peek(p []byte) int    { return r.b.Peek(p) }

func (r *buffer) Insert(seq tcp.Seq, data []byte) int {
	n, _ := r.b.Insert(seq, data)
	return n
}

// Held returns the out-of-order ranges in sequence order (ReceiveBuffer
// lists them most recent first, for SACK).
func (r *buffer) Held() []tcp.SACKBlock {
	held := r.b.OutOfOrder()
	nxt := r.b.NextSeq()
	slices.SortFunc(held, func(a, b tcp.SACKBlock) int {
		return int(a.Start.Sub(nxt)) - int(b.Start.Sub(nxt))
	})
	return held
}

// heldBytes counts the bytes held beyond a hole.
func (r *buffer) heldBytes() int {
	n := 0
	for _, h := range r.b.OutOfOrder() {
		n += int(h.End.Sub(h.Start))
	}
	return n
}

// fullWindow advertises the whole buffer whatever waits unread.
type fullWindow struct{ *buffer }

func (r fullWindow) Window() int { return r.limit }

// beyondWindow stores bytes past the window it advertised: its buffer
// has twice the room, and only Window() tells the truth.
func beyondWindow(r *buffer) tcp.Receiver {
	r.b = tcp.NewReceiveBuffer(2*r.limit, 0)
	return r
}

// oneShortAfterFill gets RCV.NXT wrong by one once a hole has filled.
type oneShortAfterFill struct {
	*buffer
	filled bool
}

func (r *oneShortAfterFill) Insert(seq tcp.Seq, data []byte) int {
	hole, before := len(r.b.OutOfOrder()) > 0, r.b.NextSeq()
	n := r.buffer.Insert(seq, data)
	if hole && r.b.NextSeq() != before {
		r.filled = true
	}
	return n
}

func (r *oneShortAfterFill) NextSeq() tcp.Seq {
	if r.filled {
		return r.b.NextSeq() - 1
	}
	return r.b.NextSeq()
}

// heldShrinksWindow counts the bytes held beyond a hole against the
// window, as if they were waiting for read().
type heldShrinksWindow struct{ *buffer }

func (r heldShrinksWindow) Window() int { return max(r.buffer.Window()-r.heldBytes(), 0) }

// holdsSilently keeps out-of-order data but reports none of it.
type holdsSilently struct{ *buffer }

func (r holdsSilently) Held() []tcp.SACKBlock { return nil }

// remotePortIgnored finds a connection by the remote address alone when
// the four-tuple does not match.
type remotePortIgnored struct{ tcp.Demuxer }

func (t remotePortIgnored) LookupExact(local, remote netip.AddrPort) *tcp.Endpoint {
	if e := t.Demuxer.LookupExact(local, remote); e != nil {
		return e
	}
	for _, e := range t.All() {
		if e.State() != tcp.Listen && e.LocalAddr() == local && e.RemoteAddr().Addr() == remote.Addr() {
			return e
		}
	}
	return nil
}

// listenerKept never forgets a listener.
type listenerKept struct{ tcp.Demuxer }

func (t listenerKept) RemoveListener(*tcp.Endpoint) {}
