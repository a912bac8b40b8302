package tcp

import (
	"fmt"
	"slices"
	"strings"
)

// DefaultOutOfOrderRanges is how many separate out-of-order ranges a
// receive buffer keeps by default. The bytes they hold are bounded by the
// buffer's capacity already (they live in its free space), but each range
// costs a descriptor, and a peer that sends every other byte could make
// capacity/2 of them. smoltcp bounds its assembler the same way (4 ranges by
// default); 32 is far more than a lossy path produces in one window and
// still cheap to scan.
const DefaultOutOfOrderRanges = 32

// ReceiveBuffer holds what the peer sent and the application has not read
// yet: the in-order bytes before RCV.NXT, waiting for read(), and an
// out-of-order queue of ranges beyond RCV.NXT, waiting for the holes before
// them to fill. It is RFC 9293 §3.3.1's Figure 4 with storage:
//
//	      read()              RCV.NXT                       RCV.NXT+Window()
//	        |                    |                                 |
//	... read | Readable() bytes   | hole | held | hole | held | free | beyond the window
//	        |<------------------------- Cap() ------------------------------->|
//
// The out-of-order bytes are stored in the ring where they will belong once
// the holes fill (as smoltcp's RingBuffer plus Assembler do), so filling a
// hole makes them readable without copying, and their total can never
// exceed the capacity. The window offered to the peer is the free space
// after the in-order bytes: out-of-order data sits inside it and does not
// shrink it (RFC 9293 §3.8.6 forbids moving the right edge back).
//
// The FIN is the caller's: when RCV.NXT reaches the FIN's sequence number,
// the connection counts the FIN itself (its RCV.NXT is NextSeq()+1) and,
// since no data follows a FIN, stops inserting.
//
// The ring is allocated on the first Insert that stores a byte, at
// initialRingBytes, and doubles when a segment lands beyond its end, up to
// Cap() (see SendBuffer for what allocating the whole SO_RCVBUF for every
// connection cost); once it has grown to what the connection needs, Insert
// and Read never allocate. Release gives the storage back.
type ReceiveBuffer struct {
	ring     []byte // storage; nil until the first byte arrives
	head     int    // index in ring of the oldest readable byte
	readable int    // in-order bytes waiting for read()
	limit    int    // capacity in bytes (SO_RCVBUF); len(ring) may exceed it after a shrinking Resize
	rcvNxt   Seq    // RCV.NXT: the sequence number of the next in-order byte

	// ooo are the out-of-order ranges, sorted by sequence number; they
	// neither overlap nor touch (touching ranges are coalesced), and all
	// start after RCV.NXT (one that reaches it is pulled in at once).
	ooo       []oooRange
	oooMax    int        // limit on len(ooo)
	stamp     uint64     // counts stores, to order ranges by recency
	sackOrder []oooRange // scratch for AppendOutOfOrder, so it does not allocate
}

// oooRange is one range of held out-of-order bytes, [start, end).
type oooRange struct {
	start, end Seq
	// stamp is when a segment last landed in the range: RFC 2018 §4 wants
	// the block holding the latest segment reported first.
	stamp uint64
}

// NewReceiveBuffer returns an empty receive buffer of capacity bytes
// (clamped to [1, MaxBufferBytes]) expecting rcvNxt next: IRS+1, since the
// SYN takes IRS (RFC 9293 §3.4). A connection that creates its buffer before
// it knows IRS calls SetNextSeq later.
func NewReceiveBuffer(capacity int, rcvNxt Seq) *ReceiveBuffer {
	return &ReceiveBuffer{limit: clampBufferBytes(capacity), rcvNxt: rcvNxt, oooMax: DefaultOutOfOrderRanges}
}

// SetNextSeq sets RCV.NXT, for a connection that learns IRS after creating
// the buffer (SYN-SENT receiving SYN+ACK: IRS+1). It panics if the buffer
// holds data, which would be renumbered: a caller bug.
func (r *ReceiveBuffer) SetNextSeq(rcvNxt Seq) {
	if r.readable > 0 || len(r.ooo) > 0 {
		panic("tcp: ReceiveBuffer.SetNextSeq while holding data")
	}
	r.rcvNxt = rcvNxt
}

// SetOutOfOrderLimit sets how many separate out-of-order ranges are kept
// (default DefaultOutOfOrderRanges). Zero keeps none: every segment that
// is not in order is dropped and must be sent again, as in the simplest
// stacks (a lab can watch what that costs). Ranges already held stay.
func (r *ReceiveBuffer) SetOutOfOrderLimit(ranges int) {
	r.oooMax = min(max(ranges, 0), MaxBufferBytes/2)
	if r.ooo != nil && cap(r.ooo) < r.oooMax+1 {
		r.ooo = append(make([]oooRange, 0, r.oooMax+1), r.ooo...)
		r.sackOrder = make([]oooRange, 0, r.oooMax+1)
	}
}

// NextSeq returns RCV.NXT: the sequence number of the next in-order byte,
// which the connection acknowledges.
func (r *ReceiveBuffer) NextSeq() Seq { return r.rcvNxt }

// Readable returns how many in-order bytes Read can return.
func (r *ReceiveBuffer) Readable() int { return r.readable }

// Cap returns the capacity in bytes.
func (r *ReceiveBuffer) Cap() int { return r.limit }

// Window returns the receive window to advertise, RCV.WND, in bytes: the
// capacity not taken by unread in-order bytes, never negative. Receiver-side
// silly window syndrome avoidance (RFC 9293 §3.8.6.2.2) and window scaling
// are the connection's job; this is the raw free space.
func (r *ReceiveBuffer) Window() int { return max(r.limit-r.readable, 0) }

// Insertion is what Insert did with one segment's data, byte by byte, for
// the connection to narrate and to decide how to acknowledge it.
type Insertion struct {
	// Accepted counts the bytes stored that were not held before.
	Accepted int
	// Advanced says RCV.NXT moved: the segment filled the hole at RCV.NXT.
	Advanced bool
	// PulledIn counts out-of-order bytes that became readable because this
	// segment filled the hole before them.
	PulledIn int
	// Old counts bytes before RCV.NXT: received already, dropped.
	Old int
	// BeyondWindow counts bytes at or past RCV.NXT+Window(): no room, dropped
	// (RFC 9293 §3.10.7.4 trims a segment to the window).
	BeyondWindow int
	// Duplicate counts bytes inside the window already held out of order.
	Duplicate int
	// RangesFull says the segment would have started a new out-of-order
	// range beyond SetOutOfOrderLimit: nothing was stored.
	RangesFull bool
	// DSACK is the first run of bytes this segment repeated (before
	// RCV.NXT, or inside a range already held), for a D-SACK block
	// (RFC 2883 §4); HasDSACK says there was one.
	DSACK    SACKBlock
	HasDSACK bool
}

// noteOld records the bytes before RCV.NXT, received already, as the
// run a D-SACK block reports.
func (in *Insertion) noteOld(seq Seq) {
	if in.Old > 0 {
		in.DSACK = SACKBlock{seq, seq.Add(uint32(in.Old))}
		in.HasDSACK = true
	}
}

// Insert stores a segment's data, which starts at sequence number seq, and
// returns how many bytes were new and whether RCV.NXT advanced. See
// InsertDetail.
func (r *ReceiveBuffer) Insert(seq Seq, data []byte) (accepted int, advanced bool) {
	in := r.InsertDetail(seq, data)
	return in.Accepted, in.Advanced
}

// InsertDetail stores a segment's data, which starts at sequence number
// seq. It trims the data to the window [RCV.NXT, RCV.NXT+Window()) as
// RFC 9293 §3.10.7.4 says ("segments with higher beginning sequence numbers
// may be held for later processing"): bytes before RCV.NXT were received
// already, bytes beyond the window have no room. What is left is copied
// into place; bytes already held keep their first copy. Data at RCV.NXT
// becomes readable at once, together with any out-of-order ranges it
// reaches; data beyond a hole joins the out-of-order queue, coalescing with
// the ranges it overlaps or touches.
func (r *ReceiveBuffer) InsertDetail(seq Seq, data []byte) Insertion {
	var in Insertion
	n := len(data)
	if n == 0 {
		return in
	}
	// Offsets from RCV.NXT. A segment is at most 64 KiB and the window at
	// most 2^30, so the signed 32-bit distance is enough to place it.
	off := int(seq.Sub(r.rcvNxt))
	lo, hi := max(off, 0), min(off+n, r.Window())
	if lo >= hi { // nothing inside the window
		in.Old = min(max(-off, 0), n)
		in.BeyondWindow = n - in.Old
		in.noteOld(seq)
		return in
	}
	in.Old = lo - off
	in.BeyondWindow = off + n - hi
	in.noteOld(seq)

	// The ranges the segment overlaps or touches, ooo[i:j].
	i := 0
	for i < len(r.ooo) && r.rangeEnd(i) < lo {
		i++
	}
	j := i
	for j < len(r.ooo) && r.rangeStart(j) <= hi {
		j++
	}
	if i == j && lo > 0 && len(r.ooo) >= r.oooMax {
		in.RangesFull = true
		return in
	}
	if need := r.readable + hi; need > len(r.ring) {
		r.grow(need)
	}
	if r.ooo == nil {
		r.ooo = make([]oooRange, 0, r.oooMax+1)
		r.sackOrder = make([]oooRange, 0, r.oooMax+1)
	}

	// Copy into the gaps between the ranges held, so bytes held keep their
	// first copy (a segment repeating old bytes with different content
	// changes nothing).
	at := lo
	for k := i; k < j; k++ {
		s, e := r.rangeStart(k), r.rangeEnd(k)
		if s > at {
			r.writeAt(at, data[at-off:min(s, hi)-off])
			in.Accepted += min(s, hi) - at
		}
		if d := min(e, hi) - max(s, lo); d > 0 {
			in.Duplicate += d
			if !in.HasDSACK {
				in.DSACK = SACKBlock{r.rcvNxt.Add(uint32(max(s, lo))), r.rcvNxt.Add(uint32(min(e, hi)))}
				in.HasDSACK = true
			}
		}
		at = max(at, e)
	}
	if at < hi {
		r.writeAt(at, data[at-off:hi-off])
		in.Accepted += hi - at
	}

	// Coalesce: the segment and the ranges it touches become one range,
	// the most recent.
	start, end := lo, hi
	if i < j {
		start, end = min(lo, r.rangeStart(i)), max(hi, r.rangeEnd(j-1))
	}
	r.stamp++
	merged := oooRange{r.rcvNxt.Add(uint32(start)), r.rcvNxt.Add(uint32(end)), r.stamp}
	r.ooo = slices.Replace(r.ooo, i, j, merged)

	// A range at RCV.NXT is in order now: it becomes readable where it
	// lies. Only the merged range can start there, and only if the segment
	// did (no range starts at RCV.NXT between calls).
	if start == 0 {
		r.readable += end
		r.rcvNxt = r.rcvNxt.Add(uint32(end))
		r.ooo = slices.Delete(r.ooo, 0, 1)
		in.Advanced = true
		in.PulledIn = end - in.Accepted
	}
	return in
}

// rangeStart and rangeEnd return ooo[k]'s bounds as offsets from RCV.NXT.
func (r *ReceiveBuffer) rangeStart(k int) int { return int(uint32(r.ooo[k].start - r.rcvNxt)) }
func (r *ReceiveBuffer) rangeEnd(k int) int   { return int(uint32(r.ooo[k].end - r.rcvNxt)) }

// extent returns how many bytes from head must keep their place: the
// readable ones and everything up to the end of the last out-of-order
// range.
func (r *ReceiveBuffer) extent() int {
	e := r.readable
	if k := len(r.ooo); k > 0 {
		e += r.rangeEnd(k - 1)
	}
	return e
}

// grow moves what is held into a larger ring of at least need bytes,
// starting at its beginning; out-of-order bytes keep their offsets.
func (r *ReceiveBuffer) grow(need int) {
	ring := newRing(growRing(len(r.ring), need, r.limit))
	if e := r.extent(); e > 0 {
		c := copy(ring[:e], r.ring[r.head:])
		copy(ring[c:e], r.ring)
	}
	recycleRing(r.ring)
	r.ring, r.head = ring, 0
}

// Release frees the storage if nothing is held (nothing readable, nothing
// out of order) and reports whether it did; a later Insert allocates
// again.
func (r *ReceiveBuffer) Release() bool {
	if r.readable != 0 || len(r.ooo) != 0 {
		return false
	}
	recycleRing(r.ring)
	r.ring, r.ooo, r.sackOrder, r.head = nil, nil, nil, 0
	return true
}

// writeAt copies p into the ring at offset off from RCV.NXT, across the wrap.
func (r *ReceiveBuffer) writeAt(off int, p []byte) {
	i := (r.head + r.readable + off) % len(r.ring)
	c := copy(r.ring[i:], p)
	copy(r.ring, p[c:])
}

// Read copies up to len(p) in-order bytes into p, frees their space (the
// window's right edge moves on by as much) and returns how many it copied.
func (r *ReceiveBuffer) Read(p []byte) int {
	n := min(len(p), r.readable)
	if n == 0 {
		return 0
	}
	c := copy(p[:n], r.ring[r.head:])
	copy(p[c:n], r.ring)
	r.readable -= n
	if r.readable == 0 && len(r.ooo) == 0 {
		// Empty: start again at the ring's beginning, so that the next
		// bytes lie in one piece. A small ring goes back to the pool
		// (ringpool.go).
		r.head = 0
		if recycleRing(r.ring) {
			r.ring = nil
		}
	} else {
		r.head = (r.head + n) % len(r.ring)
	}
	return n
}

// Peek copies readable bytes into p like Read, but leaves them in the
// buffer (recv with MSG_PEEK).
func (r *ReceiveBuffer) Peek(p []byte) int {
	n := min(len(p), r.readable)
	if n == 0 {
		return 0
	}
	c := copy(p[:n], r.ring[r.head:])
	copy(p[c:n], r.ring)
	return n
}

// OutOfOrder returns the out-of-order ranges held beyond RCV.NXT, the
// range that received the latest segment first, then the others from the
// most to the least recently updated: the order in which RFC 2018 §4 wants
// SACK blocks reported. The connection takes as many as fit in its options
// (MaxSACKBlocks, fewer with timestamps). It allocates; AppendOutOfOrder
// does not.
func (r *ReceiveBuffer) OutOfOrder() []SACKBlock {
	if len(r.ooo) == 0 {
		return nil
	}
	return r.AppendOutOfOrder(make([]SACKBlock, 0, len(r.ooo)))
}

// OutOfOrderRanges returns how many separate ranges are held beyond
// RCV.NXT: len(OutOfOrder()) without building it. Non-zero means a hole,
// and RFC 5681 §4.2 wants segments ACKed at once, not delayed, while there
// is one.
func (r *ReceiveBuffer) OutOfOrderRanges() int { return len(r.ooo) }

// AppendOutOfOrder appends OutOfOrder's blocks to dst and returns it.
func (r *ReceiveBuffer) AppendOutOfOrder(dst []SACKBlock) []SACKBlock {
	r.sackOrder = append(r.sackOrder[:0], r.ooo...)
	slices.SortFunc(r.sackOrder, func(a, b oooRange) int {
		switch {
		case a.stamp > b.stamp:
			return -1
		case a.stamp < b.stamp:
			return 1
		}
		return 0
	})
	for _, o := range r.sackOrder {
		dst = append(dst, SACKBlock{Start: o.start, End: o.end})
	}
	return dst
}

// Holes returns the missing ranges, each [Start, End), between RCV.NXT and
// the end of the last out-of-order range, in sequence order: what the
// receiver is waiting for. Empty when nothing is held out of order. For
// narration; it allocates.
func (r *ReceiveBuffer) Holes() []SACKBlock {
	if len(r.ooo) == 0 {
		return nil
	}
	holes := make([]SACKBlock, 0, len(r.ooo))
	from := r.rcvNxt
	for _, o := range r.ooo {
		holes = append(holes, SACKBlock{Start: from, End: o.start})
		from = o.end
	}
	return holes
}

// String describes the buffer for the step log, e.g.
// "rcv.nxt 1000, 500 readable, window 65036, held 2000-2999 4000-4499".
func (r *ReceiveBuffer) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "rcv.nxt %d, %d readable, window %d", uint32(r.rcvNxt), r.readable, r.Window())
	if len(r.ooo) > 0 {
		b.WriteString(", held")
		for _, o := range r.ooo {
			fmt.Fprintf(&b, " %d-%d", uint32(o.start), uint32(o.end-1))
		}
	}
	return b.String()
}

// Resize changes the capacity (setsockopt SO_RCVBUF), clamped to
// [1, MaxBufferBytes]. Nothing held is dropped: unread and out-of-order
// bytes keep their place, and the storage stays large enough for them. A
// smaller capacity shrinks Window() at once, which moves the right edge of
// the window back; RFC 9293 §3.8.6 strongly discourages advertising that,
// so the connection should keep offering up to the edge it last advertised
// (data there is then trimmed, and sent again later). Storage larger than
// the new capacity is given back (growing is left to later Inserts); Resize
// may allocate.
func (r *ReceiveBuffer) Resize(capacity int) {
	capacity = clampBufferBytes(capacity)
	if capacity == r.limit {
		return
	}
	r.limit = capacity
	extent := r.extent() // bytes from head that must keep their place
	if len(r.ring) <= max(capacity, extent) {
		return // grown by later Inserts, up to the new size
	}
	ring := make([]byte, max(capacity, extent))
	c := copy(ring[:extent], r.ring[r.head:])
	copy(ring[c:extent], r.ring)
	r.ring, r.head = ring, 0
}
