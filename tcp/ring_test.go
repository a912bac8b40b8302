package tcp

import (
	"bytes"
	"testing"
)

// pattern returns n bytes that differ from their neighbours, starting at
// byte number from, so a misplaced copy shows.
func pattern(from, n int) []byte {
	p := make([]byte, n)
	for i := range p {
		p[i] = byte((from + i) * 7 % 251)
	}
	return p
}

// The send buffer's ring starts small and grows with what is held, keeping
// the bytes (also across the ring's wrap) and their sequence numbers.
func TestSendBufferGrowsKeepingBytes(t *testing.T) {
	const limit = 64 << 10
	b := NewSendBuffer(limit)
	b.SetStart(1000)
	if b.Write(pattern(0, 3000)) != 3000 || len(b.ring) != initialRingBytes {
		t.Fatalf("after 3000 bytes: ring %d bytes, want %d", len(b.ring), initialRingBytes)
	}
	b.Ack(1000 + 2500) // head moves on, so the next write wraps
	if b.Write(pattern(3000, 1500)) != 1500 || len(b.ring) != initialRingBytes {
		t.Fatalf("after a wrapping write: ring %d bytes, want still %d", len(b.ring), initialRingBytes)
	}
	// 2000 held; 10000 more make the ring grow past 8 KiB to 16 KiB.
	if n := b.Write(pattern(4500, 10000)); n != 10000 {
		t.Fatalf("Write took %d of 10000", n)
	}
	if len(b.ring) != 16384 {
		t.Errorf("ring %d bytes after growing to hold 12000, want 16384", len(b.ring))
	}
	got := make([]byte, b.Len())
	if n := b.CopyAt(got, 1000+2500); n != 12000 || !bytes.Equal(got, pattern(2500, 12000)) {
		t.Fatalf("bytes held after growth differ from those written (copied %d)", n)
	}
	// Fill to the limit: the ring stops at Cap().
	b.Write(pattern(14500, limit))
	if b.Len() != limit || len(b.ring) != limit {
		t.Errorf("full buffer: %d held in a %d-byte ring, want %d in %d", b.Len(), len(b.ring), limit, limit)
	}
}

// An empty buffer gives its small ring back, so an idle connection holds no
// buffer memory; a large ring stays until Release.
func TestSendBufferEmptyHoldsNothing(t *testing.T) {
	b := NewSendBuffer(1 << 20)
	b.Write(pattern(0, 1000))
	b.Ack(1000)
	if b.ring != nil {
		t.Errorf("empty buffer still holds a %d-byte ring", len(b.ring))
	}
	b.Write(pattern(0, 100000))
	b.Ack(b.End())
	if len(b.ring) != 131072 {
		t.Errorf("large ring %d bytes after emptying, want it kept (131072)", len(b.ring))
	}
	b.Write(pattern(0, 10))
	if b.Release() {
		t.Error("Release freed a buffer holding 10 bytes")
	}
	b.Ack(b.End())
	if !b.Release() || b.ring != nil {
		t.Error("Release did not free an empty buffer")
	}
}

// The receive buffer grows when a segment lands beyond its ring, keeping
// readable and out-of-order bytes where they belong.
func TestReceiveBufferGrowsKeepingOutOfOrder(t *testing.T) {
	r := NewReceiveBuffer(256<<10, 0)
	r.Insert(0, pattern(0, 3000))
	buf := make([]byte, 2000)
	r.Read(buf)                           // head at 2000, 1000 readable
	r.Insert(5000, pattern(5000, 1000))   // out of order, beyond the 4 KiB ring: it grows
	r.Insert(20000, pattern(20000, 1460)) // far out of order: it grows again
	if len(r.ring) < 1000+20000-3000+1460 {
		t.Fatalf("ring %d bytes cannot hold the out-of-order range", len(r.ring))
	}
	r.Insert(3000, pattern(3000, 2000)) // fills the first hole
	if r.Readable() != 4000 {
		t.Fatalf("readable %d, want 4000 (1000 + 2000 + 1000 pulled in)", r.Readable())
	}
	r.Insert(6000, pattern(6000, 14000)) // fills the second hole
	got := make([]byte, r.Readable())
	n := r.Read(got)
	if n != 21460-2000 || !bytes.Equal(got, pattern(2000, n)) {
		t.Fatalf("read %d bytes; content differs from what was sent: %v", n, !bytes.Equal(got, pattern(2000, n)))
	}
	if r.ring == nil {
		t.Error("a large ring was freed on emptying")
	}
	if !r.Release() || r.ring != nil {
		t.Error("Release did not free an empty receive buffer")
	}
	r.Insert(r.NextSeq(), []byte("x"))
	if len(r.ring) != initialRingBytes {
		t.Errorf("after Release, the next byte got a %d-byte ring, want %d", len(r.ring), initialRingBytes)
	}
	r.Read(make([]byte, 1))
	if r.ring != nil {
		t.Error("a drained small ring was kept; an idle connection should hold none")
	}
}
