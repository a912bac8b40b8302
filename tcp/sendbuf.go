package tcp

// MaxBufferBytes is the largest send or receive buffer, in bytes; larger
// requests are clamped to it (as Linux clamps SO_SNDBUF and SO_RCVBUF to
// net.core.wmem_max and rmem_max). It is the largest window TCP can use
// (2^16 << 14 with window scaling, RFC 7323 §2.3): a buffer that held more
// could not be offered to the peer, and everything a buffer addresses must
// stay within 2^31 of each other for sequence comparisons to hold
// (RFC 7323 §2.3, seqnum.go).
const MaxBufferBytes = 1 << 30

// clampBufferBytes brings a requested buffer size into [1, MaxBufferBytes].
// One byte is the least that still lets a connection make progress; the
// socket API is where a sensible minimum (Linux: 4608 bytes) belongs.
func clampBufferBytes(n int) int {
	return min(max(n, 1), MaxBufferBytes)
}

// SendBuffer holds the bytes the application has written and the peer has
// not yet acknowledged, addressed by sequence number: the part of RFC 9293
// §3.3.1's Figure 3 from SND.UNA onwards ("sent, not acknowledged" followed
// by "not yet sent"). A byte is kept after it is sent because it may have to
// be sent again; it leaves only when a cumulative ACK covers it.
//
//	     Start() = SND.UNA              SND.NXT             End()
//	          |                            |                   |
//	... acked | sent, not yet acknowledged |   written, unsent | free ...
//	          |<------------------------ Len() -------------->|<- Free() ->
//
// The SendBuffer knows nothing of SND.NXT: which bytes have been sent is the
// connection's business, and so are the SYN and the FIN, which take a
// sequence number each but no place here.
//
// The bytes live in a ring that is allocated on the first Write (a
// connection that never sends, or a half-open one from a SYN flood, costs
// nothing) at initialRingBytes, and doubles when a Write needs more room,
// up to Cap(): a connection that sends one small response never pays for a
// whole SO_SNDBUF: clearing a full-size ring for every short-lived
// connection would cost more than the connection's own work (BENCHMARKS.md,
// "Design decisions the benchmarks drove"). Once the ring has grown to what the connection needs, Write and Ack never
// allocate, nor does Peek once its scratch buffer has grown to a segment;
// Release gives the storage back when the connection is done with it.
type SendBuffer struct {
	ring  []byte // storage; nil until the first Write
	head  int    // index in ring of the byte numbered start
	n     int    // bytes held
	limit int    // capacity in bytes (SO_SNDBUF); len(ring) may exceed it after a shrinking Resize
	start Seq    // sequence number of the oldest byte held: SND.UNA

	scratch []byte // where Peek puts bytes that cross the ring's end
}

// NewSendBuffer returns an empty send buffer holding at most capacity bytes
// (clamped to [1, MaxBufferBytes]). Its first byte is numbered 0 until
// SetStart.
func NewSendBuffer(capacity int) *SendBuffer {
	return &SendBuffer{limit: clampBufferBytes(capacity)}
}

// SetStart numbers the buffer's first byte: the connection calls it with
// ISS+1 once it has chosen its ISS, because the SYN occupies ISS itself
// (RFC 9293 §3.4). Bytes already held (written before the handshake
// finished, so never sent) are renumbered from first.
func (b *SendBuffer) SetStart(first Seq) { b.start = first }

// Start returns the sequence number of the oldest byte held, SND.UNA (or,
// when the buffer is empty, the number the next written byte gets).
func (b *SendBuffer) Start() Seq { return b.start }

// End returns the sequence number after the newest byte held: the furthest
// SND.NXT can go with data (the FIN, if any, is numbered End()).
func (b *SendBuffer) End() Seq { return b.start.Add(uint32(b.n)) }

// Len returns the number of bytes held, sent or not.
func (b *SendBuffer) Len() int { return b.n }

// Cap returns the capacity in bytes.
func (b *SendBuffer) Cap() int { return b.limit }

// Free returns how many more bytes Write accepts now.
func (b *SendBuffer) Free() int { return max(b.limit-b.n, 0) }

// Write copies as much of p as fits and returns how many bytes it took:
// a short count means the buffer is full, and the socket layer blocks the
// writer (or returns EAGAIN) until an ACK frees space.
func (b *SendBuffer) Write(p []byte) int {
	n := min(len(p), b.Free())
	if n == 0 {
		return 0
	}
	if b.n+n > len(b.ring) {
		b.grow(b.n + n)
	}
	tail := (b.head + b.n) % len(b.ring)
	c := copy(b.ring[tail:], p[:n]) // up to the end of the ring...
	copy(b.ring, p[c:n])            // ...and the rest from its start
	b.n += n
	return n
}

// initialRingBytes is the storage a send or receive buffer starts with:
// one HTTP response header, or a small request, fits without growing.
const initialRingBytes = 4096

// growRing returns the storage size for a ring of current length cur that
// must hold need bytes and normally holds at most limit: doubling from
// initialRingBytes (so bulk transfers reallocate log2(limit/4096) times,
// not once per write), never beyond what limit allows (or need, when a
// shrinking Resize left more held than the limit).
func growRing(cur, need, limit int) int {
	size := max(cur*2, initialRingBytes)
	for size < need {
		size *= 2
	}
	return max(min(size, limit), need)
}

// grow moves the bytes held into a larger ring that holds at least need,
// starting at its beginning.
func (b *SendBuffer) grow(need int) {
	ring := newRing(growRing(len(b.ring), need, b.limit))
	if b.n > 0 {
		c := copy(ring[:b.n], b.ring[b.head:])
		copy(ring[c:b.n], b.ring)
	}
	recycleRing(b.ring)
	b.ring, b.head = ring, 0
}

// Release frees the storage if the buffer is empty and reports whether it
// did; a later Write allocates again. The connection calls it when it can
// send no more (TIME_WAIT, CLOSED), so that thousands of connections
// waiting out 2 MSL hold no buffer memory.
func (b *SendBuffer) Release() bool {
	if b.n != 0 {
		return false
	}
	recycleRing(b.ring)
	b.ring, b.scratch, b.head = nil, nil, 0
	return true
}

// Ack drops the bytes before upTo, a cumulative acknowledgement (SEG.ACK),
// and returns how many it dropped; Start() becomes SND.UNA. An ACK at or
// before Start() drops nothing: it is a duplicate or an old one (RFC 9293
// §3.10.7.4). An ACK beyond End() drops everything held: the extra is the
// FIN's sequence number (the connection checks, before calling, that SEG.ACK
// is not beyond SND.NXT).
func (b *SendBuffer) Ack(upTo Seq) int {
	if !upTo.GreaterThan(b.start) {
		return 0
	}
	n := min(int(uint32(upTo-b.start)), b.n)
	b.start = b.start.Add(uint32(n))
	b.n -= n
	if b.n == 0 {
		// Empty: start again at the ring's beginning, so that the next
		// writes lie in one piece and Peek returns whole segments. A
		// small ring goes back to the pool (ringpool.go).
		b.head = 0
		if recycleRing(b.ring) {
			b.ring = nil
		}
	} else {
		b.head = (b.head + n) % len(b.ring)
	}
	return n
}

// Peek returns the bytes held from sequence number seq, up to maxBytes of
// them (min(maxBytes, End()-seq)), for a segment to (re)transmit; nil when
// seq is not within [Start(), End()). It does not copy when the bytes lie
// in one piece in the ring; when they cross the ring's end it copies them
// into a scratch buffer kept for the purpose (allocated once, to the
// largest size asked for: ask for a segment's worth, not a window's).
//
// Lifetime: the slice aliases the buffer. It is valid until the next Peek,
// Ack, Write or Resize; copy it into the outgoing frame before calling any
// of them, and never write to it. CopyAt copies into memory of the caller's.
func (b *SendBuffer) Peek(seq Seq, maxBytes int) []byte {
	off, ok := b.offset(seq)
	if !ok || maxBytes <= 0 {
		return nil
	}
	n := min(maxBytes, b.n-off)
	if i := (b.head + off) % len(b.ring); i+n <= len(b.ring) {
		return b.ring[i : i+n : i+n]
	}
	if cap(b.scratch) < n {
		b.scratch = make([]byte, n)
	}
	p := b.scratch[:n:n]
	b.CopyAt(p, seq)
	return p
}

// CopyAt copies the bytes held from sequence number seq into dst, across
// the ring's wrap, and returns how many it copied: min(len(dst), End()-seq),
// or 0 when seq is not within [Start(), End()).
func (b *SendBuffer) CopyAt(dst []byte, seq Seq) int {
	off, ok := b.offset(seq)
	if !ok {
		return 0
	}
	n := min(len(dst), b.n-off)
	i := (b.head + off) % len(b.ring)
	c := copy(dst[:n], b.ring[i:])
	copy(dst[c:n], b.ring)
	return n
}

// offset returns where seq lies from Start(), if it names a byte held.
func (b *SendBuffer) offset(seq Seq) (int, bool) {
	d := uint32(seq - b.start) // wrapping distance: huge if seq is before start
	if d >= uint32(b.n) {
		return 0, false
	}
	return int(d), true
}

// Resize changes the capacity (setsockopt SO_SNDBUF), clamped to
// [1, MaxBufferBytes]. Held bytes are never dropped, since the peer may
// still need them: when the new capacity is below Len(), Write accepts
// nothing until ACKs bring Len() under it, and the storage stays as large
// as what is held. Storage larger than the new capacity is given back
// (growing is left to later Writes). Resize may allocate; slices from Peek
// are stale afterwards.
func (b *SendBuffer) Resize(capacity int) {
	capacity = clampBufferBytes(capacity)
	if capacity == b.limit {
		return
	}
	b.limit = capacity
	if len(b.ring) <= max(capacity, b.n) {
		return // grown by later Writes, up to the new size
	}
	ring := make([]byte, max(capacity, b.n))
	c := copy(ring[:b.n], b.ring[b.head:])
	copy(ring[c:b.n], b.ring)
	b.ring, b.head = ring, 0
}
