package tcp

import (
	"bytes"
	"math/rand/v2"
	"testing"
)

// bufTestStream returns n bytes of a recognisable stream starting at stream
// offset from: no two nearby offsets share a value, so a byte in the wrong
// place shows.
func bufTestStream(from, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		k := from + i
		b[i] = byte(k ^ k>>8 ^ k>>16)
	}
	return b
}

// TestSendBufferWrapBoth runs the buffer across the end of the sequence
// space and the end of its ring at once.
func TestSendBufferWrapBoth(t *testing.T) {
	const iss = Seq(0xfffffff9)
	b := NewSendBuffer(10)
	b.SetStart(iss + 1) // the SYN takes ISS
	if got := b.Start(); got != 0xfffffffa {
		t.Fatalf("Start = %#x, want 0xfffffffa", uint32(got))
	}
	if n := b.Write(bufTestStream(0, 8)); n != 8 {
		t.Fatalf("Write = %d, want 8", n)
	}
	if got := b.Peek(iss+1, 100); !bytes.Equal(got, bufTestStream(0, 8)) {
		t.Fatalf("Peek = %v", got)
	}
	if n := b.Ack(iss.Add(7)); n != 6 { // crosses 0xffffffff -> 0
		t.Fatalf("Ack = %d, want 6", n)
	}
	if b.Start() != 0 || b.Len() != 2 || b.Free() != 8 {
		t.Fatalf("after Ack: Start %#x Len %d Free %d, want 0, 2, 8", uint32(b.Start()), b.Len(), b.Free())
	}
	// Stream offsets 8..15 go into ring slots 8, 9, 0, 1, ...
	if n := b.Write(bufTestStream(8, 20)); n != 8 {
		t.Fatalf("Write into 8 free = %d", n)
	}
	if b.Free() != 0 || b.End() != 10 {
		t.Fatalf("Free %d End %d, want 0, 10", b.Free(), uint32(b.End()))
	}
	// Across the ring's end Peek copies; inside it, it does not.
	if got := b.Peek(0, 100); !bytes.Equal(got, bufTestStream(6, 10)) {
		t.Fatalf("Peek across the ring's end = %v, want stream[6:16]", got)
	}
	if got := b.Peek(0, 4); &got[0] != &b.ring[6] {
		t.Fatalf("Peek inside the ring copied")
	}
	dst := make([]byte, 10)
	if n := b.CopyAt(dst, 0); n != 10 || !bytes.Equal(dst, bufTestStream(6, 10)) {
		t.Fatalf("CopyAt = %d %v, want stream[6:16]", n, dst)
	}
	if got := b.Peek(4, 3); !bytes.Equal(got, bufTestStream(10, 3)) {
		t.Fatalf("Peek(4, 3) = %v", got)
	}
	// Outside [Start, End): nothing.
	for _, s := range []Seq{0xffffffff, 10, 0x80000000} {
		if got := b.Peek(s, 5); got != nil {
			t.Errorf("Peek(%#x) = %v, want nil", uint32(s), got)
		}
		if n := b.CopyAt(dst, s); n != 0 {
			t.Errorf("CopyAt(%#x) = %d, want 0", uint32(s), n)
		}
	}
}

func TestSendBufferAckEdges(t *testing.T) {
	b := NewSendBuffer(100)
	b.SetStart(1000)
	b.Write(bufTestStream(0, 50))
	for _, tc := range []struct {
		ack      Seq
		dropped  int
		startNow Seq
	}{
		{999, 0, 1000},  // old ACK
		{1000, 0, 1000}, // duplicate: SND.UNA
		{1010, 10, 1010},
		{1010, 0, 1010},
		{1051, 40, 1050}, // acknowledges the FIN after the data too
		{1052, 0, 1050},
	} {
		if n := b.Ack(tc.ack); n != tc.dropped || b.Start() != tc.startNow {
			t.Errorf("Ack(%d) = %d, Start %d; want %d, %d", tc.ack, n, b.Start(), tc.dropped, tc.startNow)
		}
	}
	if b.Len() != 0 || b.Free() != 100 {
		t.Errorf("Len %d Free %d, want 0, 100", b.Len(), b.Free())
	}
}

func TestSendBufferResize(t *testing.T) {
	b := NewSendBuffer(8)
	b.SetStart(0xfffffffe)
	b.Write(bufTestStream(0, 8))
	b.Ack(b.Start().Add(5))
	b.Write(bufTestStream(8, 5)) // ring wrapped: held = stream[5:13]

	b.Resize(4) // below Len: nothing dropped, no room for more
	if b.Len() != 8 || b.Cap() != 4 || b.Free() != 0 || b.Write([]byte{1}) != 0 {
		t.Fatalf("after shrink: Len %d Cap %d Free %d", b.Len(), b.Cap(), b.Free())
	}
	dst := make([]byte, 8)
	if b.CopyAt(dst, b.Start()) != 8 || !bytes.Equal(dst, bufTestStream(5, 8)) {
		t.Fatalf("held bytes changed by Resize: %v", dst)
	}
	b.Ack(b.Start().Add(6))
	if b.Free() != 2 {
		t.Fatalf("Free = %d after acking down to 2 held, want 2", b.Free())
	}
	b.Resize(1 << 12)
	if n := b.Write(bufTestStream(13, 5000)); n != 4094 {
		t.Fatalf("Write after growing = %d, want 4094", n)
	}
	if b.CopyAt(dst[:4], b.Start()) != 4 || !bytes.Equal(dst[:4], bufTestStream(11, 4)) {
		t.Fatalf("bytes after growing: %v", dst[:4])
	}
	for _, c := range []int{-5, 0} {
		if got := NewSendBuffer(c).Cap(); got != 1 {
			t.Errorf("NewSendBuffer(%d).Cap() = %d, want 1", c, got)
		}
	}
	if got := NewSendBuffer(1 << 40).Cap(); got != MaxBufferBytes {
		t.Errorf("huge capacity clamped to %d, want %d", got, MaxBufferBytes)
	}
}

// TestSendBufferModel checks random writes, ACKs, peeks and resizes
// against a plain slice holding the unacknowledged stream.
func TestSendBufferModel(t *testing.T) {
	for seed := range uint64(50) {
		rng := rand.New(rand.NewPCG(seed, 1))
		capacity := 1 + rng.IntN(3000)
		start := Seq(0xffffffff - uint32(rng.IntN(20000))) // wraps soon
		b := NewSendBuffer(capacity)
		b.SetStart(start)
		var model []byte // unacknowledged bytes, model[0] numbered modelStart
		modelStart, written := start, 0
		for step := range 2000 {
			switch op := rng.IntN(10); {
			case op < 4:
				p := bufTestStream(written, rng.IntN(capacity+100))
				n := b.Write(p)
				if want := min(len(p), max(capacity-len(model), 0)); n != want {
					t.Fatalf("seed %d step %d: Write(%d) = %d, want %d", seed, step, len(p), n, want)
				}
				model = append(model, p[:n]...)
				written += n
			case op < 7:
				// ACKs from a little before SND.UNA to a little past the end.
				ack := modelStart.Add(uint32(rng.IntN(len(model)+3))) - 1
				n := b.Ack(ack)
				want := 0
				if ack.GreaterThan(modelStart) {
					want = min(int(ack.Sub(modelStart)), len(model))
				}
				if n != want {
					t.Fatalf("seed %d step %d: Ack = %d, want %d", seed, step, n, want)
				}
				model = model[want:]
				modelStart = modelStart.Add(uint32(want))
			case op < 9:
				off := rng.IntN(len(model)+2) - 1
				seq, maxBytes := modelStart.Add(uint32(off)), rng.IntN(2*capacity)
				got := b.Peek(seq, maxBytes)
				dst := make([]byte, maxBytes)
				n := b.CopyAt(dst, seq)
				if off < 0 || off >= len(model) {
					if got != nil || n != 0 {
						t.Fatalf("seed %d step %d: Peek/CopyAt outside = %d/%d bytes", seed, step, len(got), n)
					}
					break
				}
				want := model[off : off+min(maxBytes, len(model)-off)]
				if !bytes.Equal(dst[:n], want) {
					t.Fatalf("seed %d step %d: CopyAt differs", seed, step)
				}
				if !bytes.Equal(got, want) || (got == nil) != (len(want) == 0) {
					t.Fatalf("seed %d step %d: Peek = %d bytes, want %d", seed, step, len(got), len(want))
				}
			default:
				capacity = 1 + rng.IntN(3000)
				b.Resize(capacity)
			}
			if b.Len() != len(model) || b.Start() != modelStart || b.Free() < 0 || b.Free() > b.Cap() {
				t.Fatalf("seed %d step %d: Len %d Start %d Free %d, model %d at %d", seed, step,
					b.Len(), b.Start(), b.Free(), len(model), modelStart)
			}
		}
	}
}

// BenchmarkSendBufferWriteAck is the steady state of a bulk sender: write a
// segment's worth, peek it to transmit, then the ACK frees it.
func BenchmarkSendBufferWriteAck(b *testing.B) {
	const mss = 1460
	buf := NewSendBuffer(64 << 10)
	buf.SetStart(0xffff0000)
	p := bufTestStream(0, mss)
	frame := make([]byte, mss)
	// Fill half the buffer so Write and Ack work at different places.
	for buf.Len() < 32<<10 {
		buf.Write(p)
	}
	b.ReportAllocs()
	b.SetBytes(mss)
	for b.Loop() {
		buf.Write(p)
		seq := buf.End() - mss
		buf.CopyAt(frame, seq)
		_ = buf.Peek(seq, mss)
		buf.Ack(buf.Start().Add(mss))
	}
}
