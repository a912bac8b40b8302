package grade

import (
	"net/netip"
	"slices"

	"github.com/packetwalk/packetwalk/ip"
	"github.com/packetwalk/packetwalk/tcp"
)

// The planted bugs live in components plugged into tcp.Config's seams
// (Receiver, Demuxer, Sender), each a thin wrapper around the stack's own
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

// senderWith plants a send-side bug: each connection's tcp.Sender is the
// stack's own (tcp.NewSender) behind wrap. With a Sender the connection
// neither offers nor accepts SACK and times one segment at a time for RTT
// samples (tcp.Sender), so a script tells such a stack from the correct
// one only if its peer offers neither; a sender bug counts as caught only
// by a script that also passes with the bug-free wrapper (faithful).
func senderWith(wrap func(s tcp.Sender) tcp.Sender) func(*tcp.Config) {
	return func(c *tcp.Config) {
		c.Sender = func(cfg tcp.SenderConfig) tcp.Sender { return wrap(tcp.NewSender(cfg)) }
	}
}

// faithful is each seam's wrapper without a bug: the stack's own
// component behind the seam. A script catches a bug only if it passes
// against this as well as against the stack as shipped, so what it
// catches is the bug and not what plugging into the seam changes.
var faithful = map[string]func(*tcp.Config){
	"Receiver": receiverWith(func(b *buffer) tcp.Receiver { return b }),
	"Demuxer":  demuxWith(func(t tcp.Demuxer) tcp.Demuxer { return t }),
	"Sender":   senderWith(func(s tcp.Sender) tcp.Sender { return s }),
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

// pastPeerWindow sizes segments by the MSS and the congestion window
// alone: it forgets the peer's window (SND.UNA + SND.WND - SND.NXT).
type pastPeerWindow struct{ tcp.Sender }

func (s pastPeerWindow) SegmentSize(w tcp.SendWindow) int {
	return max(min(w.Queued, w.MSS, w.Cwnd-w.InFlight), 0)
}

// noBackoff keeps the RTO where it was after a timeout.
type noBackoff struct{ tcp.Sender }

func (noBackoff) Backoff() {}

// earlyFastRetransmit starts fast retransmit on the second duplicate
// ACK in a row, one too early.
type earlyFastRetransmit struct {
	tcp.Sender
	dups int
}

func (s *earlyFastRetransmit) OnACK(a tcp.ACKInfo) tcp.ACKKind {
	k := s.Sender.OnACK(a)
	switch k {
	case tcp.ACKDuplicate:
		s.dups++
		if s.dups == 2 {
			return tcp.ACKThirdDuplicate
		}
	case tcp.ACKThirdDuplicate:
		// Fast retransmit already started on the one before.
		s.dups++
		return tcp.ACKDuplicate
	default:
		if k == tcp.ACKNew {
			s.dups = 0
		}
	}
	return k
}
