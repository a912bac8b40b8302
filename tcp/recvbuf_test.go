package tcp

import (
	"bytes"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"
)

// recvModel is the obvious receive buffer: one flag per stream byte.
type recvModel struct {
	stream    []byte
	held      []bool // held[k]: stream byte k has arrived
	nxt, read int    // stream offsets of RCV.NXT and of the next byte to read
	capacity  int
	oooMax    int
}

func (m *recvModel) window() int { return m.capacity - (m.nxt - m.read) }

// runs returns the out-of-order ranges, as stream offsets [start, end).
func (m *recvModel) runs() [][2]int {
	var rs [][2]int
	end := min(m.read+m.capacity, len(m.held)) // nothing is held beyond the window
	for k := m.nxt; k < end; k++ {
		if m.held[k] && (k == m.nxt || !m.held[k-1]) {
			rs = append(rs, [2]int{k, k})
		}
		if m.held[k] {
			rs[len(rs)-1][1] = k + 1
		}
	}
	return rs
}

// insert is what the buffer should do with stream bytes [s, e).
func (m *recvModel) insert(s, e int) Insertion {
	var want Insertion
	n := e - s
	lo, hi := max(s, m.nxt), min(e, m.nxt+m.window())
	if lo >= hi {
		want.Old = min(max(m.nxt-s, 0), n)
		want.BeyondWindow = n - want.Old
		return want
	}
	want.Old, want.BeyondWindow = lo-s, e-hi
	if lo > m.nxt {
		touches := false
		for k := lo - 1; k <= hi && k < len(m.held); k++ {
			touches = touches || m.held[k]
		}
		if !touches && len(m.runs()) >= m.oooMax {
			want.RangesFull = true
			return want
		}
	}
	for k := lo; k < hi; k++ {
		if m.held[k] {
			want.Duplicate++
		} else {
			want.Accepted++
			m.held[k] = true
		}
	}
	if lo == m.nxt {
		from := m.nxt
		for m.nxt < len(m.held) && m.held[m.nxt] {
			m.nxt++
		}
		want.Advanced = true
		want.PulledIn = m.nxt - from - want.Accepted
	}
	return want
}

// checkRecv compares the buffer with the model and checks its invariants.
func checkRecv(t *testing.T, where string, r *ReceiveBuffer, m *recvModel, base Seq) {
	t.Helper()
	if r.NextSeq() != base.Add(uint32(m.nxt)) || r.Readable() != m.nxt-m.read || r.Window() != m.window() {
		t.Fatalf("%s: NextSeq %#x Readable %d Window %d; model %#x %d %d", where,
			uint32(r.NextSeq()), r.Readable(), r.Window(), uint32(base.Add(uint32(m.nxt))), m.nxt-m.read, m.window())
	}
	if r.Window() < 0 || r.Readable() > r.Cap() {
		t.Fatalf("%s: Window %d, Readable %d of Cap %d", where, r.Window(), r.Readable(), r.Cap())
	}
	runs := m.runs()
	blocks := r.OutOfOrder()
	if len(blocks) != len(runs) || r.OutOfOrderRanges() != len(runs) {
		t.Fatalf("%s: %d out-of-order blocks, model has %d", where, len(blocks), len(runs))
	}
	slices.SortFunc(blocks, func(a, b SACKBlock) int { return int(a.Start.Sub(b.Start)) })
	for i, rn := range runs {
		if want := (SACKBlock{base.Add(uint32(rn[0])), base.Add(uint32(rn[1]))}); blocks[i] != want {
			t.Fatalf("%s: block %d = %v, want %v", where, i, blocks[i], want)
		}
	}
	if len(runs) > 0 && runs[len(runs)-1][1]-m.read > r.Cap() {
		t.Fatalf("%s: out-of-order data past the buffer's capacity", where)
	}
	holes := r.Holes()
	if len(holes) != len(runs) {
		t.Fatalf("%s: %d holes for %d ranges", where, len(holes), len(runs))
	}
	from := m.nxt
	for i, rn := range runs {
		if want := (SACKBlock{base.Add(uint32(from)), base.Add(uint32(rn[0]))}); holes[i] != want {
			t.Fatalf("%s: hole %d = %v, want %v", where, i, holes[i], want)
		}
		from = rn[1]
	}
}

// TestReceiveBufferModel sends a stream as random segments, in random
// order, with duplicates and overlaps, across the end of the sequence
// space, reading at random, and checks every step against recvModel; then
// it fills every hole and checks that Read returned the stream.
func TestReceiveBufferModel(t *testing.T) {
	for seed := range uint64(40) {
		rng := rand.New(rand.NewPCG(seed, 2))
		const streamLen = 20000
		m := &recvModel{
			stream:   bufTestStream(0, streamLen),
			held:     make([]bool, streamLen),
			capacity: 1 + rng.IntN(3000),
			oooMax:   []int{0, 1, 3, DefaultOutOfOrderRanges, 1000}[rng.IntN(5)],
		}
		base := Seq(0xffffffff - uint32(rng.IntN(streamLen))) // stream byte 0; wraps mid-stream
		r := NewReceiveBuffer(m.capacity, base)
		r.SetOutOfOrderLimit(m.oooMax)
		mss := 1 + rng.IntN(600)
		var sent [][2]int
		var got []byte
		p := make([]byte, 4000)
		readSome := func(want int) {
			n := r.Read(p[:want])
			if exp := min(want, m.nxt-m.read); n != exp {
				t.Fatalf("seed %d: Read(%d) = %d, want %d", seed, want, n, exp)
			}
			got = append(got, p[:n]...)
			m.read += n
		}
		for step := range 2000 {
			where := func() string { return "seed " + strconv.Itoa(int(seed)) + " step " + strconv.Itoa(step) }
			if rng.IntN(4) == 0 {
				readSome(rng.IntN(2 * mss))
				checkRecv(t, where(), r, m, base)
				continue
			}
			var s, e int
			switch k := rng.IntN(10); {
			case k < 2 && len(sent) > 0: // a duplicate
				d := sent[rng.IntN(len(sent))]
				s, e = d[0], d[1]
			case k < 5: // near RCV.NXT, sometimes overlapping what was received
				s = min(max(m.nxt+rng.IntN(2*mss)-mss/2, 0), streamLen-1)
				e = min(s+1+rng.IntN(mss), streamLen)
			default: // anywhere up to past the window
				s = min(m.nxt+rng.IntN(m.capacity+mss), streamLen-1)
				e = min(s+1+rng.IntN(mss), streamLen)
			}
			sent = append(sent, [2]int{s, e})
			want := m.insert(s, e)
			in := r.InsertDetail(base.Add(uint32(s)), m.stream[s:e])
			// A D-SACK run is reported exactly when bytes came twice,
			// and lies inside the segment (RFC 2883 §4).
			segStart, segEnd := base.Add(uint32(s)), base.Add(uint32(e))
			if in.HasDSACK != (in.Old+in.Duplicate > 0) || in.HasDSACK &&
				!(segStart.LessEq(in.DSACK.Start) && in.DSACK.Start.LessThan(in.DSACK.End) && in.DSACK.End.LessEq(segEnd)) {
				t.Fatalf("%s: insert [%d,%d): D-SACK %v (%v) with %d old and %d duplicate bytes", where(), s, e, in.DSACK, in.HasDSACK, in.Old, in.Duplicate)
			}
			in.DSACK, in.HasDSACK = SACKBlock{}, false
			if in != want {
				t.Fatalf("%s: insert [%d,%d) = %+v, want %+v", where(), s, e, in, want)
			}
			if blocks := r.OutOfOrder(); !in.Advanced && in.Accepted+in.Duplicate > 0 {
				// RFC 2018 §4: the first block holds the segment that
				// triggered the ACK.
				lo := base.Add(uint32(max(s, m.nxt)))
				if len(blocks) == 0 || !lo.InRange(blocks[0].Start, blocks[0].End) {
					t.Fatalf("%s: first SACK block %v does not hold the latest segment at %#x", where(), blocks, uint32(lo))
				}
			}
			checkRecv(t, where(), r, m, base)
		}
		// Fill every hole, a window at a time, and read to the end.
		for m.read < streamLen {
			if w := m.window(); w > 0 && m.nxt < streamLen {
				s, e := m.nxt, min(m.nxt+w, streamLen)
				want := m.insert(s, e)
				in := r.InsertDetail(base.Add(uint32(s)), m.stream[s:e])
				in.DSACK, in.HasDSACK = SACKBlock{}, false // checked in the loop above
				if in != want || !in.Advanced {
					t.Fatalf("seed %d: in-order fill [%d,%d) = %+v, want %+v", seed, s, e, in, want)
				}
			}
			readSome(len(p))
			checkRecv(t, "seed "+strconv.Itoa(int(seed))+" drain", r, m, base)
		}
		if !bytes.Equal(got, m.stream) {
			t.Fatalf("seed %d: Read returned %d bytes that differ from the stream", seed, len(got))
		}
	}
}

// TestReceiveBufferWrap places segments on both sides of 2^32.
func TestReceiveBufferWrap(t *testing.T) {
	base := Seq(0xfffffff0)
	r := NewReceiveBuffer(64, base)
	s := bufTestStream(0, 48)
	// [16,32) lies after the wrap, out of order; [0,16) before it.
	if acc, adv := r.Insert(base.Add(16), s[16:32]); acc != 16 || adv {
		t.Fatalf("out of order: %d %v", acc, adv)
	}
	if got := r.OutOfOrder(); len(got) != 1 || got[0] != (SACKBlock{0, 16}) {
		t.Fatalf("OutOfOrder = %v, want [{0 16}]", got)
	}
	if got := r.Holes(); len(got) != 1 || got[0] != (SACKBlock{0xfffffff0, 0}) {
		t.Fatalf("Holes = %v", got)
	}
	if acc, adv := r.Insert(base, s[:16]); acc != 16 || !adv {
		t.Fatalf("in order: %d %v", acc, adv)
	}
	if r.NextSeq() != 16 || r.Readable() != 32 || r.Window() != 32 || len(r.OutOfOrder()) != 0 {
		t.Fatalf("NextSeq %d Readable %d Window %d", uint32(r.NextSeq()), r.Readable(), r.Window())
	}
	p := make([]byte, 100)
	if n := r.Read(p); n != 32 || !bytes.Equal(p[:n], s[:32]) {
		t.Fatalf("Read = %d %v", n, p[:n])
	}
}

// TestReceiveBufferTrim checks the counts of one segment's fate.
func TestReceiveBufferTrim(t *testing.T) {
	r := NewReceiveBuffer(100, 1000)
	r.Insert(1000, bufTestStream(0, 40)) // readable 40, window 60: [1040, 1100)
	r.Insert(1060, bufTestStream(60, 10))
	for _, tc := range []struct {
		name string
		seq  Seq
		n    int
		want Insertion
	}{
		// The bytes received twice are the D-SACK block (RFC 2883 §4).
		{"all old", 990, 50, Insertion{Old: 50, DSACK: SACKBlock{990, 1040}, HasDSACK: true}},
		{"beyond the window", 1100, 10, Insertion{BeyondWindow: 10}},
		{"far ahead (sequence space)", 1000 + 1<<31 + 5, 10, Insertion{BeyondWindow: 10}},
		// The 10 bytes held at [1060, 1070) become readable too.
		{"old, dup, new, beyond", 1030, 80, Insertion{Accepted: 50, Advanced: true, PulledIn: 10, Old: 10, BeyondWindow: 10, Duplicate: 10,
			DSACK: SACKBlock{1030, 1040}, HasDSACK: true}},
		{"window full", 1100, 1, Insertion{BeyondWindow: 1}},
	} {
		if got := r.InsertDetail(tc.seq, bufTestStream(int(tc.seq-1000), tc.n)); got != tc.want {
			t.Errorf("%s: %+v, want %+v", tc.name, got, tc.want)
		}
	}
	if r.Window() != 0 || r.Readable() != 100 {
		t.Fatalf("Window %d Readable %d, want 0, 100", r.Window(), r.Readable())
	}
	p := make([]byte, 100)
	if r.Read(p) != 100 || !bytes.Equal(p, bufTestStream(0, 100)) {
		t.Fatalf("Read %v", p)
	}
	if got := r.String(); got != "rcv.nxt 1100, 0 readable, window 100" {
		t.Errorf("String = %q", got)
	}
}

// TestReceiveBufferSACKOrder follows RFC 2018 §4's order: the block of the
// latest segment first, then the most recently updated ones.
func TestReceiveBufferSACKOrder(t *testing.T) {
	r := NewReceiveBuffer(1000, 0)
	ins := func(s, e int) { r.Insert(Seq(s), bufTestStream(s, e-s)) }
	ins(100, 200)
	ins(300, 400)
	ins(500, 600)
	want := []SACKBlock{{500, 600}, {300, 400}, {100, 200}}
	if got := r.OutOfOrder(); !slices.Equal(got, want) {
		t.Fatalf("OutOfOrder = %v, want %v", got, want)
	}
	ins(150, 250) // extends the oldest block, which becomes the newest
	want = []SACKBlock{{100, 250}, {500, 600}, {300, 400}}
	if got := r.OutOfOrder(); !slices.Equal(got, want) {
		t.Fatalf("OutOfOrder = %v, want %v", got, want)
	}
	ins(250, 300) // bridges two blocks
	want = []SACKBlock{{100, 400}, {500, 600}}
	if got := r.OutOfOrder(); !slices.Equal(got, want) {
		t.Fatalf("OutOfOrder = %v, want %v", got, want)
	}
	ins(520, 530) // a duplicate still makes its block the latest
	want = []SACKBlock{{500, 600}, {100, 400}}
	if got := r.OutOfOrder(); !slices.Equal(got, want) {
		t.Fatalf("OutOfOrder = %v, want %v", got, want)
	}
	if got := r.String(); got != "rcv.nxt 0, 0 readable, window 1000, held 100-399 500-599" {
		t.Errorf("String = %q", got)
	}
	if in := r.InsertDetail(0, bufTestStream(0, 100)); in.Accepted != 100 || in.PulledIn != 300 || !in.Advanced {
		t.Fatalf("filling the first hole: %+v", in)
	}
	if got := r.AppendOutOfOrder(nil); !slices.Equal(got, []SACKBlock{{500, 600}}) {
		t.Fatalf("AppendOutOfOrder = %v", got)
	}
}

// TestReceiveBufferFirstCopyWins: bytes held keep their first copy.
func TestReceiveBufferFirstCopyWins(t *testing.T) {
	r := NewReceiveBuffer(100, 0)
	r.Insert(10, []byte("abcdefghij"))
	if in := r.InsertDetail(5, []byte("XXXXXXXXXXXXXXXXXXXX")); in.Accepted != 10 || in.Duplicate != 10 {
		t.Fatalf("%+v", in)
	}
	r.Insert(0, []byte("01234"))
	p := make([]byte, 30)
	n := r.Read(p)
	if got := string(p[:n]); got != "01234XXXXXabcdefghijXXXXX" {
		t.Fatalf("Read %q", got)
	}
}

func TestReceiveBufferOutOfOrderLimit(t *testing.T) {
	r := NewReceiveBuffer(2000, 0)
	r.SetOutOfOrderLimit(2)
	r.Insert(100, make([]byte, 10))
	r.Insert(200, make([]byte, 10))
	if in := r.InsertDetail(300, make([]byte, 10)); !in.RangesFull || in.Accepted != 0 {
		t.Fatalf("third range: %+v", in)
	}
	if in := r.InsertDetail(110, make([]byte, 10)); in.RangesFull || in.Accepted != 10 {
		t.Fatalf("extending a range: %+v", in)
	}
	if in := r.InsertDetail(0, make([]byte, 10)); in.RangesFull || !in.Advanced {
		t.Fatalf("in-order data is never refused: %+v", in)
	}
	r.SetOutOfOrderLimit(0)
	if in := r.InsertDetail(500, make([]byte, 10)); !in.RangesFull {
		t.Fatalf("no out-of-order queue: %+v", in)
	}
	r.SetOutOfOrderLimit(100)
	for k := range 50 {
		r.Insert(Seq(300+20*k), make([]byte, 10))
	}
	if got := len(r.OutOfOrder()); got != 52 {
		t.Fatalf("%d ranges after raising the limit, want 52", got)
	}
}

func TestReceiveBufferResize(t *testing.T) {
	base := Seq(0xffffff00)
	r := NewReceiveBuffer(100, base)
	s := bufTestStream(0, 200)
	r.Insert(base, s[:60])
	p := make([]byte, 50)
	r.Read(p) // head at 50: the ring wraps below
	r.Insert(base.Add(60), s[60:90])
	r.Insert(base.Add(120), s[120:140]) // 10 readable, 30 in order, [120,140) held
	r.Resize(20)                        // below what is held
	if r.Window() != 0 || r.Cap() != 20 {
		t.Fatalf("Window %d Cap %d", r.Window(), r.Cap())
	}
	if in := r.InsertDetail(base.Add(90), s[90:120]); in.Accepted != 0 || in.BeyondWindow != 30 {
		t.Fatalf("insert into a shrunk window: %+v", in)
	}
	r.Resize(1000)
	if in := r.InsertDetail(base.Add(90), s[90:120]); in.Accepted != 30 || in.PulledIn != 20 {
		t.Fatalf("fill after growing: %+v", in)
	}
	got := make([]byte, 200)
	n := r.Read(got)
	if !bytes.Equal(got[:n], s[50:140]) {
		t.Fatalf("Read after resizes: %d bytes %v", n, got[:n])
	}
}

func TestReceiveBufferSetNextSeq(t *testing.T) {
	r := NewReceiveBuffer(10, 0)
	r.SetNextSeq(0xfffffffe) // SYN+ACK arrived: IRS+1
	r.Insert(0xfffffffe, []byte("ab"))
	if r.NextSeq() != 0 {
		t.Fatalf("NextSeq = %d", r.NextSeq())
	}
	defer func() {
		if recover() == nil {
			t.Fatal("SetNextSeq with data held did not panic")
		}
	}()
	r.SetNextSeq(5)
}

// BenchmarkReceiveBufferInsertRead is the steady state of a bulk receiver:
// segments in order, read as they come.
func BenchmarkReceiveBufferInsertRead(b *testing.B) {
	const mss = 1460
	r := NewReceiveBuffer(64<<10, 0xffff0000)
	seg := bufTestStream(0, mss)
	p := make([]byte, mss)
	b.ReportAllocs()
	b.SetBytes(mss)
	for b.Loop() {
		r.Insert(r.NextSeq(), seg)
		r.Read(p)
	}
}

// BenchmarkReceiveBufferReordered swaps each pair of segments, so every
// other segment waits in the out-of-order queue, and keeps SACK blocks
// coming.
func BenchmarkReceiveBufferReordered(b *testing.B) {
	const mss = 1460
	r := NewReceiveBuffer(64<<10, 0xffff0000)
	seg := bufTestStream(0, mss)
	p := make([]byte, 2*mss)
	var blocks []SACKBlock
	b.ReportAllocs()
	b.SetBytes(2 * mss)
	for b.Loop() {
		nxt := r.NextSeq()
		r.Insert(nxt.Add(mss), seg)
		blocks = r.AppendOutOfOrder(blocks[:0])
		r.Insert(nxt, seg)
		r.Read(p)
	}
}

// TestReceiveBufferDSACKHeld: bytes repeated inside an out-of-order range
// are the D-SACK run, not the whole segment.
func TestReceiveBufferDSACKHeld(t *testing.T) {
	r := NewReceiveBuffer(1000, 1000)
	r.Insert(1100, bufTestStream(100, 100)) // held [1100, 1200)
	got := r.InsertDetail(1150, bufTestStream(150, 100))
	if !got.HasDSACK || got.DSACK != (SACKBlock{1150, 1200}) || got.Duplicate != 50 || got.Accepted != 50 {
		t.Fatalf("%+v, want D-SACK [1150, 1200), 50 duplicate, 50 new", got)
	}
	if got := r.InsertDetail(1300, bufTestStream(300, 10)); got.HasDSACK {
		t.Fatalf("new data reported as duplicate: %+v", got)
	}
}
