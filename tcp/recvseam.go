package tcp

import "slices"

// recvBuffer is what a connection uses of its receive side. The stack's
// own ReceiveBuffer has all of it; a Receiver (the smaller interface a
// student implements) is wrapped in a receiverAdapter, which derives the
// rest (the D-SACK block of RFC 2883, the SACK blocks' order of RFC 2018
// §4) from what Insert changed, so that the connection works the same
// with either.
type recvBuffer interface {
	NextSeq() Seq
	SetNextSeq(rcvNxt Seq)
	Window() int
	Readable() int
	Cap() int
	InsertDetail(seq Seq, data []byte) Insertion
	Read(p []byte) int
	Peek(p []byte) int
	OutOfOrderRanges() int
	AppendOutOfOrder(dst []SACKBlock) []SACKBlock
	Release() bool
}

var _ recvBuffer = (*ReceiveBuffer)(nil)

// newRecvBuffer builds a connection's receive side of capacity bytes:
// the stack's own, or the one factory builds.
func newRecvBuffer(factory func(capacity int) Receiver, capacity int) recvBuffer {
	if factory == nil {
		return NewReceiveBuffer(capacity, 0)
	}
	capacity = clampBufferBytes(capacity)
	return &receiverAdapter{r: factory(capacity), limit: capacity}
}

// receiverAdapter gives a Receiver the rest of recvBuffer. It remembers
// the held ranges after each Insert, each stamped with when a segment last
// landed in it, as ReceiveBuffer does, so the SACK blocks come out in the
// same order: the range holding the latest segment first (RFC 2018 §4).
type receiverAdapter struct {
	r     Receiver
	limit int
	held  []oooRange // the Receiver's Held() after the last Insert, with stamps
	stamp uint64
	order []oooRange // scratch for AppendOutOfOrder
}

func (a *receiverAdapter) NextSeq() Seq          { return a.r.NextSeq() }
func (a *receiverAdapter) Window() int           { return a.r.Window() }
func (a *receiverAdapter) Readable() int         { return a.r.Readable() }
func (a *receiverAdapter) Cap() int              { return a.limit }
func (a *receiverAdapter) Read(p []byte) int     { return a.r.Read(p) }
func (a *receiverAdapter) Peek(p []byte) int     { return a.r.Peek(p) }
func (a *receiverAdapter) Release() bool         { return false }
func (a *receiverAdapter) OutOfOrderRanges() int { return len(a.held) }

func (a *receiverAdapter) SetNextSeq(rcvNxt Seq) {
	a.r.SetNextSeq(rcvNxt)
	a.held = a.held[:0]
}

// InsertDetail inserts through the Receiver and works out, from RCV.NXT,
// the window and the ranges held before the call, what ReceiveBuffer's
// InsertDetail reports that the connection uses: the bytes accepted,
// whether RCV.NXT moved, and the first run of repeated bytes for a D-SACK
// block (RFC 2883 §4).
func (a *receiverAdapter) InsertDetail(seq Seq, data []byte) Insertion {
	var in Insertion
	n := len(data)
	if n == 0 {
		return in
	}
	before, win := a.r.NextSeq(), a.r.Window()
	off := int(seq.Sub(before))
	lo, hi := max(off, 0), min(off+n, win)
	in.Old = min(max(-off, 0), n)
	in.noteOld(seq)
	landed := lo < hi
	if landed {
		in.BeyondWindow = off + n - hi
		for _, h := range a.held {
			s, e := int(h.start.Sub(before)), int(h.end.Sub(before))
			if d := min(e, hi) - max(s, lo); d > 0 {
				in.Duplicate += d
				if !in.HasDSACK {
					in.DSACK = SACKBlock{before.Add(uint32(max(s, lo))), before.Add(uint32(min(e, hi)))}
					in.HasDSACK = true
				}
			}
		}
	} else {
		in.BeyondWindow = n - in.Old
	}
	in.Accepted = a.r.Insert(seq, data)
	in.Advanced = a.r.NextSeq() != before

	// Stamp the ranges held now: one the segment landed in (or touches)
	// is the most recent; any other keeps the stamp of the range it was.
	if landed {
		a.stamp++
	}
	from, to := before.Add(uint32(lo)), before.Add(uint32(hi))
	old := a.held
	var now []oooRange
	for _, b := range a.r.Held() {
		o := oooRange{start: b.Start, end: b.End}
		if landed && from.LessEq(b.End) && b.Start.LessEq(to) {
			o.stamp = a.stamp
		} else {
			for _, h := range old {
				if b.Start.LessEq(h.start) && h.end.LessEq(b.End) {
					o.stamp = max(o.stamp, h.stamp)
				}
			}
		}
		now = append(now, o)
	}
	a.held = now
	return in
}

// AppendOutOfOrder appends the held ranges to dst, the most recently
// updated first (RFC 2018 §4).
func (a *receiverAdapter) AppendOutOfOrder(dst []SACKBlock) []SACKBlock {
	a.order = append(a.order[:0], a.held...)
	slices.SortStableFunc(a.order, func(x, y oooRange) int {
		switch {
		case x.stamp > y.stamp:
			return -1
		case x.stamp < y.stamp:
			return 1
		}
		return 0
	})
	for _, o := range a.order {
		dst = append(dst, SACKBlock{Start: o.start, End: o.end})
	}
	return dst
}
