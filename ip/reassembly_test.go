package ip

import (
	"bytes"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/packetwalk/packetwalk/clock"
	"github.com/packetwalk/packetwalk/viz"
)

// ---- harness ----

type timeoutCall struct {
	key             FragmentKey
	header, payload []byte
}

type reasmHarness struct {
	t        testing.TB
	clock    *clock.Virtual
	sink     *viz.MemorySink
	r        *Reassembler
	timeouts []timeoutCall
	seen     int // events already looked at by next()
}

func newReasmHarness(t testing.TB, cfg ReassemblerConfig) *reasmHarness {
	t.Helper()
	h := &reasmHarness{t: t, clock: clock.NewVirtual(), sink: &viz.MemorySink{}}
	log := viz.NewLog(h.clock)
	log.AddSink(h.sink)
	cfg.Clock = h.clock
	cfg.Recorder = log.Recorder("server")
	cfg.OnTimeout = func(key FragmentKey, header, payload []byte) {
		h.timeouts = append(h.timeouts, timeoutCall{key, header, payload})
	}
	h.r = NewReassembler(cfg)
	return h
}

// add feeds f and checks the reassembler's invariants afterwards.
func (h *reasmHarness) add(f Fragment) ([]byte, []byte, bool) {
	h.t.Helper()
	d, hdr, done := h.r.Add(f)
	checkReassemblerInvariants(h.t, h.r)
	return d, hdr, done
}

// next returns the events logged since the last call.
func (h *reasmHarness) next() []viz.Event {
	evs := h.sink.Events()
	out := evs[h.seen:]
	h.seen = len(evs)
	return out
}

// only returns the single event logged since the last call.
func (h *reasmHarness) only() viz.Event {
	h.t.Helper()
	evs := h.next()
	if len(evs) != 1 {
		h.t.Fatalf("want 1 event, got %d: %v", len(evs), describeEvents(evs))
	}
	return evs[0]
}

func describeEvents(evs []viz.Event) string {
	var b strings.Builder
	for _, e := range evs {
		fmt.Fprintf(&b, "\n  %s %s %s: %s %v", e.Step, e.Verdict, e.Reason, e.Msg, e.Fields)
	}
	return b.String()
}

func field(t testing.TB, e viz.Event, key string) string {
	t.Helper()
	v, ok := e.Field(key)
	if !ok {
		t.Fatalf("event %s %s has no field %q: %v", e.Step, e.Verdict, key, e.Fields)
	}
	return v
}

func wantStep(t testing.TB, e viz.Event, step string, v viz.Verdict, reason viz.Reason) {
	t.Helper()
	if e.Layer != viz.LayerIP || e.Step != step || e.Verdict != v || e.Reason != reason {
		t.Fatalf("got %s/%s %q %q (%s), want %s/%s %q %q", e.Layer, e.Step, e.Verdict, e.Reason, e.Msg, viz.LayerIP, step, v, reason)
	}
}

// checkReassemblerInvariants looks inside: holes and held bytes tile the
// datagram, and the byte count and limits agree.
func checkReassemblerInvariants(t testing.TB, r *Reassembler) {
	t.Helper()
	total := 0
	for key, d := range r.pending {
		if d.key != key {
			t.Fatalf("datagram filed under %v has key %v", key, d.key)
		}
		held := 0
		for i, p := range d.pieces {
			if len(p.data) == 0 || (i > 0 && p.offset < d.pieces[i-1].offset+len(d.pieces[i-1].data)) {
				t.Fatalf("%v: pieces empty or overlapping: %+v", key, d.pieces)
			}
			held += len(p.data)
		}
		if held != d.bytes {
			t.Fatalf("%v: pieces hold %d bytes, counted %d", key, held, d.bytes)
		}
		total += held
		// Walk 0..end: every byte is in exactly one of a piece and a hole.
		limit := d.end
		if limit < 0 {
			limit = d.maxEnd
		}
		pos, pi, hi := 0, 0, 0
		for pos < limit {
			switch {
			case pi < len(d.pieces) && d.pieces[pi].offset == pos:
				pos += len(d.pieces[pi].data)
				pi++
			case hi < len(d.holes) && d.holes[hi].first == pos && d.holes[hi].last != holeInfinity:
				pos = d.holes[hi].last + 1
				hi++
			default:
				t.Fatalf("%v: byte %d is neither held nor in a hole: pieces %+v holes %v", key, pos, d.pieces, d.holes)
			}
		}
		if pos != limit || pi != len(d.pieces) {
			t.Fatalf("%v: data runs past %d: pieces %+v holes %v", key, limit, d.pieces, d.holes)
		}
		wantHoles := hi
		if d.end < 0 {
			wantHoles++ // the infinite one
			if hi >= len(d.holes) || d.holes[hi] != (hole{d.maxEnd, holeInfinity}) {
				t.Fatalf("%v: no infinite hole from %d: %v", key, d.maxEnd, d.holes)
			}
		}
		if len(d.holes) != wantHoles || len(d.holes) == 0 {
			t.Fatalf("%v: holes %v do not match pieces %+v (end %d)", key, d.holes, d.pieces, d.end)
		}
	}
	if total != r.bytes {
		t.Fatalf("datagrams hold %d bytes, counted %d", total, r.bytes)
	}
	if r.bytes > r.cfg.MaxBytes || len(r.pending) > r.cfg.MaxDatagrams {
		t.Fatalf("limits broken: %d bytes of %d, %d datagrams of %d", r.bytes, r.cfg.MaxBytes, len(r.pending), r.cfg.MaxDatagrams)
	}
}

var (
	keyA = FragmentKey{Src: netip.MustParseAddr("10.0.0.1"), Dst: netip.MustParseAddr("10.0.0.2"), Protocol: 1, ID: 0x1c46}
	keyB = FragmentKey{Src: netip.MustParseAddr("10.0.0.1"), Dst: netip.MustParseAddr("10.0.0.2"), Protocol: 17, ID: 0x1c46}
	keyC = FragmentKey{Src: netip.MustParseAddr("10.0.0.3"), Dst: netip.MustParseAddr("10.0.0.2"), Protocol: 1, ID: 0x1c46}
	keyD = FragmentKey{Src: netip.MustParseAddr("10.0.0.1"), Dst: netip.MustParseAddr("10.0.0.2"), Protocol: 1, ID: 0x1c47}
)

// testPayload is n bytes that differ with seed and position and are never 0,
// so that a byte left unfilled shows.
func testPayload(n int, seed byte) []byte { return testPayloadAt(0, n, seed) }

// testPayloadAt is bytes offset..offset+n-1 of testPayload(offset+n, seed).
func testPayloadAt(offset, n int, seed byte) []byte {
	b := make([]byte, n)
	for i := range b {
		pos := offset + i
		b[i] = byte(pos*7+int(seed)*31+pos>>8) | 0x80
	}
	return b
}

// testHeader is an IPv4 header as far as the reassembler cares: bytes.
func testHeader(n int, id byte) []byte {
	h := make([]byte, n)
	h[0] = 0x40 | byte(n/4)
	h[5] = id
	return h
}

// splitDatagram cuts payload at the given offsets into fragments of key.
func splitDatagram(key FragmentKey, payload []byte, cuts ...int) []Fragment {
	starts := append([]int{0}, cuts...)
	var out []Fragment
	for i, s := range starts {
		e := len(payload)
		if i+1 < len(starts) {
			e = starts[i+1]
		}
		f := Fragment{Key: key, Offset: s, More: e < len(payload), Payload: payload[s:e], Frame: uint64(100 + i)}
		if s == 0 {
			f.Header = testHeader(20, byte(key.ID))
		}
		out = append(out, f)
	}
	return out
}

// expectedHoles computes the holes the simple way, from a bitmap of the
// bytes received, in the "holes" field's format.
func expectedHoles(have []bool, lastSeen bool) string {
	limit := len(have)
	if !lastSeen {
		limit = 0
		for i, h := range have {
			if h {
				limit = i + 1
			}
		}
	}
	var parts []string
	for i := 0; i < limit; {
		if have[i] {
			i++
			continue
		}
		j := i
		for j < limit && !have[j] {
			j++
		}
		parts = append(parts, fmt.Sprintf("%d-%d", i, j-1))
		i = j
	}
	if !lastSeen {
		parts = append(parts, fmt.Sprintf("%d-inf", limit))
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ",")
}

// permutations calls fn with every ordering of 0..n-1.
func permutations(n int, fn func([]int)) {
	p := make([]int, n)
	for i := range p {
		p[i] = i
	}
	var rec func(k int)
	rec = func(k int) {
		if k == n {
			fn(append([]int(nil), p...))
			return
		}
		for i := k; i < n; i++ {
			p[k], p[i] = p[i], p[k]
			rec(k + 1)
			p[k], p[i] = p[i], p[k]
		}
	}
	rec(0)
}

// ---- tests ----

// Every order of arrival gives back exactly the original bytes, and after
// each fragment the log names exactly the holes a bitmap says remain.
func TestReassemblyAllOrders(t *testing.T) {
	splits := []struct {
		size int
		cuts []int
	}{
		{40, []int{8, 16, 24, 32}}, // five equal pieces
		{40, []int{16, 24}},        // uneven pieces
		{37, []int{8, 16, 24, 32}}, // the last piece not a multiple of 8
		{48, []int{8, 32, 40}},     // one large piece in the middle
	}
	for _, sp := range splits {
		payload := testPayload(sp.size, 1)
		frags := splitDatagram(keyA, payload, sp.cuts...)
		t.Run(fmt.Sprintf("%d/%v", sp.size, sp.cuts), func(t *testing.T) {
			n := 0
			permutations(len(frags), func(order []int) {
				n++
				h := newReasmHarness(t, ReassemblerConfig{})
				have := make([]bool, sp.size)
				lastSeen := false
				for i, fi := range order {
					f := frags[fi]
					got, hdr, done := h.add(f)
					for j := range f.Payload {
						have[f.Offset+j] = true
					}
					lastSeen = lastSeen || !f.More
					evs := h.next()
					if len(evs) == 0 {
						t.Fatalf("order %v: fragment %d logged nothing", order, fi)
					}
					e := evs[0]
					wantStep(t, e, "reassembly", viz.Pass, "")
					if e.Frame != f.Frame {
						t.Fatalf("order %v: step frame %d, want %d", order, e.Frame, f.Frame)
					}
					if want := expectedHoles(have, lastSeen); field(t, e, "holes") != want {
						t.Fatalf("order %v after %d fragments: holes %q, want %q (%s)", order, i+1, field(t, e, "holes"), want, e.Msg)
					}
					if i < len(order)-1 {
						if done || len(evs) != 1 {
							t.Fatalf("order %v: done after %d of %d fragments: %s", order, i+1, len(order), describeEvents(evs))
						}
						continue
					}
					if !done || !bytes.Equal(got, payload) {
						t.Fatalf("order %v: done=%v, got %x, want %x", order, done, got, payload)
					}
					if !bytes.Equal(hdr, frags[0].Header) {
						t.Fatalf("order %v: header %x, want the first fragment's %x", order, hdr, frags[0].Header)
					}
					if len(evs) != 2 {
						t.Fatalf("order %v: completion logged %s", order, describeEvents(evs))
					}
					wantStep(t, evs[1], "reassembled", viz.Pass, "")
					if field(t, evs[1], "len") != fmt.Sprint(sp.size) || field(t, evs[1], "fragments") != fmt.Sprint(len(frags)) {
						t.Fatalf("order %v: reassembled fields %v", order, evs[1].Fields)
					}
				}
				if dg, b := h.r.Pending(); dg != 0 || b != 0 {
					t.Fatalf("order %v: pending %d datagrams, %d bytes after completion", order, dg, b)
				}
				if h.clock.Pending() != 0 {
					t.Fatalf("order %v: the reassembly timer was not stopped", order)
				}
				if s := h.r.Stats(); s.Reqds != uint64(len(frags)) || s.OKs != 1 || s.Fails != 0 {
					t.Fatalf("order %v: stats %+v", order, s)
				}
			})
			if want := map[int]int{3: 6, 4: 24, 5: 120}[len(frags)]; n != want {
				t.Fatalf("tried %d orders, want %d", n, want)
			}
		})
	}
}

// The message reads as the design says.
func TestReassemblyStepMessage(t *testing.T) {
	h := newReasmHarness(t, ReassemblerConfig{})
	h.add(Fragment{Key: keyA, Offset: 1480, More: true, Payload: testPayload(1480, 2), Frame: 7})
	e := h.only()
	want := "fragment 1480..2959 of datagram 10.0.0.1->10.0.0.2 id 0x1c46 proto 1: holes remain [0..1479] [2960..∞]"
	if e.Msg != want {
		t.Fatalf("msg %q\nwant %q", e.Msg, want)
	}
	for k, v := range map[string]string{"holes": "0-1479,2960-inf", "offset": "1480", "len": "1480", "more": "true"} {
		if got := field(t, e, k); got != v {
			t.Errorf("field %s = %q, want %q", k, got, v)
		}
	}
	h.add(Fragment{Key: keyA, Offset: 2960, Payload: testPayload(40, 3), Frame: 8})
	if e := h.only(); e.Msg != "fragment 2960..2999 of datagram 10.0.0.1->10.0.0.2 id 0x1c46 proto 1: holes remain [0..1479]" {
		t.Fatalf("msg %q", e.Msg)
	}
}

// An exact duplicate, at any point before the datagram completes, is
// discarded with frag_duplicate and changes nothing.
func TestReassemblyDuplicatesAnywhere(t *testing.T) {
	payload := testPayload(32, 4)
	frags := splitDatagram(keyA, payload, 8, 16, 24)
	cases := 0
	permutations(len(frags), func(order []int) {
		for src := 0; src < len(order)-1; src++ {
			for at := src + 1; at < len(order); at++ {
				cases++
				seq := append([]int(nil), order[:at]...)
				seq = append(seq, order[src])
				seq = append(seq, order[at:]...)
				h := newReasmHarness(t, ReassemblerConfig{})
				for i, fi := range seq {
					f := frags[fi]
					if i == at {
						f.Payload = bytes.Clone(f.Payload) // the same bytes in another buffer
						f.Frame = 999
					}
					got, _, done := h.add(f)
					evs := h.next()
					if i == at {
						if len(evs) != 1 {
							t.Fatalf("seq %v: duplicate logged %s", seq, describeEvents(evs))
						}
						wantStep(t, evs[0], "reassembly", viz.Drop, viz.ReasonFragDuplicate)
						if evs[0].Frame != 999 {
							t.Fatalf("seq %v: duplicate logged for frame %d", seq, evs[0].Frame)
						}
					}
					if done != (i == len(seq)-1) {
						t.Fatalf("seq %v: done=%v at %d", seq, done, i)
					}
					if done && !bytes.Equal(got, payload) {
						t.Fatalf("seq %v: got %x, want %x", seq, got, payload)
					}
				}
				if s := h.r.Stats(); s.Duplicates != 1 || s.OKs != 1 || s.Overlaps != 0 || s.Fails != 0 {
					t.Fatalf("seq %v: stats %+v", seq, s)
				}
			}
		}
	})
	if cases != 24*6 {
		t.Fatalf("tried %d cases", cases)
	}
}

// A last fragment whose bytes were held already (sent with MF=1 and again
// with MF=0) still tells where the datagram ends.
func TestReassemblyRepeatMarksEnd(t *testing.T) {
	h := newReasmHarness(t, ReassemblerConfig{})
	p := testPayload(16, 5)
	h.add(Fragment{Key: keyA, Offset: 0, More: true, Payload: p[:8], Header: testHeader(20, 1)})
	h.add(Fragment{Key: keyA, Offset: 8, More: true, Payload: p[8:]})
	h.next()
	got, _, done := h.add(Fragment{Key: keyA, Offset: 8, More: false, Payload: p[8:]})
	if !done || !bytes.Equal(got, p) {
		t.Fatalf("done=%v got %x", done, got)
	}
	evs := h.next()
	wantStep(t, evs[0], "reassembly", viz.Pass, "")
	wantStep(t, evs[1], "reassembled", viz.Pass, "")
}

func TestReassemblyOverlap(t *testing.T) {
	p := testPayload(40, 6)
	other := testPayload(40, 7)
	type frag struct {
		off, end int
		more     bool
		data     []byte
	}
	cases := []struct {
		name  string
		held  []frag
		bad   frag
		holes string // in the drop step: the holes before the discard
	}{
		{"partial overlap", []frag{{0, 16, true, p}}, frag{8, 24, true, p}, "16-inf"},
		{"partial overlap from before", []frag{{16, 24, true, p}}, frag{8, 24, true, p}, "0-15,24-inf"},
		{"spans a hole and held bytes", []frag{{0, 8, true, p}, {16, 24, true, p}}, frag{0, 24, true, p}, "8-15,24-inf"},
		{"same range, other bytes", []frag{{0, 16, true, p}}, frag{0, 16, true, other}, "16-inf"},
		{"one byte differs", []frag{{0, 8, true, p}, {8, 16, true, p}}, frag{0, 16, true, append(bytes.Clone(p[:15]), p[15]^1)}, "16-inf"},
		{"second last fragment, other end", []frag{{32, 40, false, p}}, frag{24, 32, false, p}, "0-31"},
		{"data past the known end", []frag{{24, 32, false, p}}, frag{32, 40, true, p}, "0-23"},
		{"last fragment before held data", []frag{{32, 40, true, p}}, frag{16, 24, false, p}, "0-31,40-inf"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newReasmHarness(t, ReassemblerConfig{})
			for i, f := range c.held {
				h.add(Fragment{Key: keyA, Offset: f.off, More: f.more, Payload: f.data[f.off:f.end], Frame: uint64(i + 1)})
			}
			h.add(Fragment{Key: keyB, Offset: 8, More: true, Payload: p[8:16]}) // another datagram, untouched
			h.next()
			_, _, done := h.add(Fragment{Key: keyA, Offset: c.bad.off, More: c.bad.more, Payload: c.bad.data[c.bad.off:c.bad.end], Frame: 50})
			if done {
				t.Fatal("an overlapping fragment completed a datagram")
			}
			e := h.only()
			wantStep(t, e, "reassembly", viz.Drop, viz.ReasonFragOverlap)
			if e.Frame != 50 || field(t, e, "holes") != c.holes {
				t.Fatalf("frame %d holes %q, want 50 %q (%s)", e.Frame, field(t, e, "holes"), c.holes, e.Msg)
			}
			if dg, b := h.r.Pending(); dg != 1 || b != 8 {
				t.Fatalf("pending %d datagrams %d bytes: want only the other datagram", dg, b)
			}
			if s := h.r.Stats(); s.Overlaps != 1 || s.Fails != 1 {
				t.Fatalf("stats %+v", s)
			}
			// The discarded datagram's timer is gone; the other one's runs.
			h.clock.Run()
			if s := h.r.Stats(); s.Timeouts != 1 {
				t.Fatalf("timeouts %d, want 1 (the other datagram)", s.Timeouts)
			}
			// Later fragments of the key start afresh (as Linux does).
			h.next()
			h.add(Fragment{Key: keyA, Offset: 0, More: true, Payload: p[:8]})
			if e := h.only(); field(t, e, "holes") != "8-inf" {
				t.Fatalf("a fresh datagram should start: %s", e.Msg)
			}
		})
	}
}

func TestReassemblyTimeout(t *testing.T) {
	t.Run("with the first fragment", func(t *testing.T) {
		h := newReasmHarness(t, ReassemblerConfig{})
		hdr := testHeader(24, 9)
		first := testPayload(16, 8)
		h.add(Fragment{Key: keyA, Offset: 0, More: true, Payload: first, Header: hdr, Frame: 1})
		h.clock.RunFor(10 * time.Second)
		h.add(Fragment{Key: keyA, Offset: 24, More: false, Payload: testPayload(5, 8), Frame: 2})
		h.clock.RunFor(20*time.Second - time.Nanosecond)
		if len(h.timeouts) != 0 || h.r.Stats().Timeouts != 0 {
			t.Fatal("timed out before 30 s")
		}
		h.next()
		h.clock.RunFor(time.Nanosecond)
		e := h.only()
		wantStep(t, e, "reassembly", viz.Drop, viz.ReasonFragTimeout)
		if field(t, e, "holes") != "16-23" || field(t, e, "first") != "true" || field(t, e, "frames") != "1,2" {
			t.Fatalf("timeout fields %v", e.Fields)
		}
		if e.T != 30*time.Second {
			t.Fatalf("timed out at %v", e.T)
		}
		if len(h.timeouts) != 1 {
			t.Fatalf("OnTimeout called %d times", len(h.timeouts))
		}
		c := h.timeouts[0]
		if c.key != keyA || !bytes.Equal(c.header, hdr) || !bytes.Equal(c.payload, first) {
			t.Fatalf("OnTimeout(%v, %x, %x)", c.key, c.header, c.payload)
		}
		if dg, b := h.r.Pending(); dg != 0 || b != 0 {
			t.Fatalf("pending %d %d after timeout", dg, b)
		}
		if s := h.r.Stats(); s.Timeouts != 1 || s.Fails != 1 {
			t.Fatalf("stats %+v", s)
		}
	})
	t.Run("without the first fragment", func(t *testing.T) {
		h := newReasmHarness(t, ReassemblerConfig{Timeout: 5 * time.Second})
		h.add(Fragment{Key: keyA, Offset: 8, More: true, Payload: testPayload(8, 8)})
		h.next()
		h.clock.Run()
		e := h.only()
		wantStep(t, e, "reassembly", viz.Drop, viz.ReasonFragTimeout)
		if field(t, e, "first") != "false" || field(t, e, "holes") != "0-7,16-inf" || e.T != 5*time.Second {
			t.Fatalf("timeout at %v, fields %v", e.T, e.Fields)
		}
		if len(h.timeouts) != 0 {
			t.Fatal("OnTimeout called without the first fragment: there is no header to quote")
		}
	})
	t.Run("a discarded datagram's timer does not hit its successor", func(t *testing.T) {
		h := newReasmHarness(t, ReassemblerConfig{})
		p := testPayload(16, 1)
		h.add(Fragment{Key: keyA, Offset: 0, More: true, Payload: p})
		h.clock.RunFor(10 * time.Second)
		h.add(Fragment{Key: keyA, Offset: 8, More: true, Payload: testPayload(16, 2)[8:]}) // overlap
		h.clock.RunFor(10 * time.Second)
		h.add(Fragment{Key: keyA, Offset: 0, More: true, Payload: p}) // fresh, at 20 s
		h.clock.RunFor(15 * time.Second)
		if h.r.Stats().Timeouts != 0 {
			t.Fatal("the old timer expired the new datagram")
		}
		h.clock.RunFor(15 * time.Second)
		if h.r.Stats().Timeouts != 1 || len(h.timeouts) != 1 {
			t.Fatalf("stats %+v", h.r.Stats())
		}
	})
}

func TestReassemblyMemoryLimits(t *testing.T) {
	t.Run("bytes", func(t *testing.T) {
		h := newReasmHarness(t, ReassemblerConfig{MaxBytes: 64})
		a := testPayload(56, 1)
		h.add(Fragment{Key: keyA, Offset: 0, More: true, Payload: a[:48]})
		h.next()
		b := testPayload(24, 2)
		if _, _, done := h.add(Fragment{Key: keyB, Offset: 0, More: true, Payload: b, Frame: 9}); done {
			t.Fatal("done")
		}
		e := h.only()
		wantStep(t, e, "reassembly", viz.Drop, viz.ReasonFragMemory)
		if e.Frame != 9 {
			t.Fatalf("frame %d", e.Frame)
		}
		if dg, n := h.r.Pending(); dg != 1 || n != 48 {
			t.Fatalf("pending %d %d", dg, n)
		}
		// Refused for an existing datagram too; it keeps what it has.
		h.add(Fragment{Key: keyA, Offset: 48, More: true, Payload: testPayload(24, 3)})
		wantStep(t, h.only(), "reassembly", viz.Drop, viz.ReasonFragMemory)
		// Exactly at the limit is allowed.
		h.add(Fragment{Key: keyB, Offset: 0, More: true, Payload: b[:16]})
		wantStep(t, h.only(), "reassembly", viz.Pass, "")
		if _, n := h.r.Pending(); n != 64 {
			t.Fatalf("pending bytes %d", n)
		}
		// Completing A frees its bytes, which B can then use.
		h.add(Fragment{Key: keyB, Offset: 16, More: false, Payload: b[16:]})
		wantStep(t, h.only(), "reassembly", viz.Drop, viz.ReasonFragMemory)
		if _, _, done := h.add(Fragment{Key: keyA, Offset: 48, More: false, Payload: a[48:]}); done {
			t.Fatal("A completed over the limit")
		}
		h.next()
		if s := h.r.Stats(); s.Memory != 4 {
			t.Fatalf("stats %+v", s)
		}
		h.r.cfg.MaxBytes = 128 // as if configured larger: now A completes
		got, _, done := h.add(Fragment{Key: keyA, Offset: 48, More: false, Payload: a[48:]})
		if !done || !bytes.Equal(got, a) {
			t.Fatalf("done=%v", done)
		}
		if _, n := h.r.Pending(); n != 16 {
			t.Fatalf("pending bytes %d", n)
		}
	})
	t.Run("datagrams", func(t *testing.T) {
		h := newReasmHarness(t, ReassemblerConfig{MaxDatagrams: 2})
		p := testPayload(16, 1)
		h.add(Fragment{Key: keyA, Offset: 0, More: true, Payload: p[:8]})
		h.add(Fragment{Key: keyB, Offset: 0, More: true, Payload: p[:8]})
		h.next()
		h.add(Fragment{Key: keyC, Offset: 0, More: true, Payload: p[:8]})
		e := h.only()
		wantStep(t, e, "reassembly", viz.Drop, viz.ReasonFragMemory)
		if !strings.Contains(e.Msg, "2 datagrams") {
			t.Fatalf("msg %q", e.Msg)
		}
		// Datagrams already pending still take fragments.
		if got, _, done := h.add(Fragment{Key: keyA, Offset: 8, Payload: p[8:]}); !done || !bytes.Equal(got, p) {
			t.Fatal("a pending datagram could not complete at the limit")
		}
		h.next()
		h.add(Fragment{Key: keyC, Offset: 0, More: true, Payload: p[:8]})
		wantStep(t, h.only(), "reassembly", viz.Pass, "")
	})
}

func TestReassemblyTooLarge(t *testing.T) {
	t.Run("a lone fragment past 65,535", func(t *testing.T) {
		h := newReasmHarness(t, ReassemblerConfig{})
		h.add(Fragment{Key: keyA, Offset: 65528, More: false, Payload: testPayload(16, 1), Frame: 3})
		e := h.only()
		wantStep(t, e, "reassembly", viz.Drop, viz.ReasonFragTooLarge)
		if dg, _ := h.r.Pending(); dg != 0 {
			t.Fatal("held")
		}
	})
	t.Run("the whole datagram goes", func(t *testing.T) {
		h := newReasmHarness(t, ReassemblerConfig{})
		h.add(Fragment{Key: keyA, Offset: 0, More: true, Payload: testPayload(1480, 1), Header: testHeader(20, 1)})
		h.next()
		h.add(Fragment{Key: keyA, Offset: 65512, More: false, Payload: testPayload(8, 1)}) // 20+65520
		wantStep(t, h.only(), "reassembly", viz.Drop, viz.ReasonFragTooLarge)
		if dg, b := h.r.Pending(); dg != 0 || b != 0 {
			t.Fatalf("pending %d %d", dg, b)
		}
		if s := h.r.Stats(); s.Fails != 1 || s.Overlaps != 0 {
			t.Fatalf("stats %+v", s)
		}
	})
	t.Run("options in the first header count", func(t *testing.T) {
		h := newReasmHarness(t, ReassemblerConfig{})
		h.add(Fragment{Key: keyA, Offset: 65472, More: true, Payload: testPayload(8, 1)}) // fits after 20 bytes
		wantStep(t, h.only(), "reassembly", viz.Pass, "")
		h.add(Fragment{Key: keyA, Offset: 0, More: true, Payload: testPayload(8, 1), Header: testHeader(60, 1)})
		wantStep(t, h.only(), "reassembly", viz.Drop, viz.ReasonFragTooLarge)
	})
	t.Run("65,535 exactly is fine", func(t *testing.T) {
		h := newReasmHarness(t, ReassemblerConfig{})
		payload := testPayload(65535-20, 2)
		var frags []Fragment
		for off := 0; off < len(payload); off += 1480 {
			end := min(off+1480, len(payload))
			frags = append(frags, Fragment{Key: keyA, Offset: off, More: end < len(payload), Payload: payload[off:end]})
		}
		frags[0].Header = testHeader(20, 1)
		var got []byte
		done := false
		for i := len(frags) - 1; i >= 0; i-- { // last first, as some stacks send them
			got, _, done = h.add(frags[i])
		}
		if !done || !bytes.Equal(got, payload) {
			t.Fatalf("done=%v len %d", done, len(got))
		}
	})
}

func TestReassemblyMalformed(t *testing.T) {
	p := testPayload(32, 1)
	cases := []struct {
		name string
		f    Fragment
	}{
		{"MF=1 with 13 bytes", Fragment{Key: keyA, Offset: 8, More: true, Payload: p[:13]}},
		{"offset not a multiple of 8", Fragment{Key: keyA, Offset: 12, More: false, Payload: p[:8]}},
		{"negative offset", Fragment{Key: keyA, Offset: -8, More: true, Payload: p[:8]}},
		{"offset past the field", Fragment{Key: keyA, Offset: 65536, More: false, Payload: p[:8]}},
		{"no data", Fragment{Key: keyA, Offset: 16, More: false}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newReasmHarness(t, ReassemblerConfig{})
			h.add(Fragment{Key: keyA, Offset: 0, More: true, Payload: p[:8]})
			h.next()
			if _, _, done := h.add(c.f); done {
				t.Fatal("done")
			}
			e := h.only()
			wantStep(t, e, "reassembly", viz.Drop, viz.ReasonIPMalformed)
			if field(t, e, "holes") != "8-inf" {
				t.Fatalf("holes %q", field(t, e, "holes"))
			}
			// The datagram keeps waiting.
			if got, _, done := h.add(Fragment{Key: keyA, Offset: 8, Payload: p[8:]}); !done || !bytes.Equal(got, p) {
				t.Fatal("the datagram did not survive a malformed fragment")
			}
		})
	}
}

// Datagrams that differ in any part of the key never mix.
func TestReassemblyInterleaved(t *testing.T) {
	h := newReasmHarness(t, ReassemblerConfig{})
	keys := []FragmentKey{keyA, keyB, keyC, keyD}
	payloads := make([][]byte, len(keys))
	frags := make([][]Fragment, len(keys))
	for i, k := range keys {
		payloads[i] = testPayload(40, byte(i+1))
		frags[i] = splitDatagram(k, payloads[i], 8, 16, 24, 32)
	}
	orders := [][]int{{4, 3, 2, 1, 0}, {0, 1, 2, 3, 4}, {2, 0, 4, 1, 3}, {1, 3, 0, 4, 2}}
	completed := 0
	for step := 0; step < 5; step++ {
		for i := range keys {
			got, hdr, done := h.add(frags[i][orders[i][step]])
			if done != (step == 4) {
				t.Fatalf("key %v done=%v at step %d", keys[i], done, step)
			}
			if done {
				completed++
				if !bytes.Equal(got, payloads[i]) || !bytes.Equal(hdr, frags[i][0].Header) {
					t.Fatalf("key %v: datagrams mixed", keys[i])
				}
			}
		}
	}
	if completed != len(keys) {
		t.Fatalf("%d completed", completed)
	}
}

// The caller's buffer is an RX ring slot: reusing it after Add must not
// change what was held.
func TestReassemblyCopiesPayload(t *testing.T) {
	h := newReasmHarness(t, ReassemblerConfig{})
	payload := testPayload(16, 1)
	slot := make([]byte, 20)
	copy(slot, payload[:8])
	copy(slot[8:], testHeader(12, 1)) // header bytes in the same slot
	h.add(Fragment{Key: keyA, Offset: 0, More: true, Payload: slot[:8], Header: slot[8:20]})
	want := bytes.Clone(slot[8:20])
	for i := range slot {
		slot[i] = 0
	}
	copy(slot, payload[8:])
	got, hdr, done := h.add(Fragment{Key: keyA, Offset: 8, Payload: slot[:8]})
	if !done || !bytes.Equal(got, payload) || !bytes.Equal(hdr, want) {
		t.Fatalf("done=%v got %x hdr %x", done, got, hdr)
	}
}

// Without a recorder (or a listener) it works the same and logs nothing.
func TestReassemblyNoRecorder(t *testing.T) {
	clock := clock.NewVirtual()
	r := NewReassembler(ReassemblerConfig{Clock: clock})
	p := testPayload(24, 1)
	frags := splitDatagram(keyA, p, 8, 16)
	r.Add(frags[2])
	r.Add(frags[2])
	r.Add(Fragment{Key: keyB, Offset: 8, More: true, Payload: p[:3]})
	r.Add(frags[0])
	got, _, done := r.Add(frags[1])
	if !done || !bytes.Equal(got, p) {
		t.Fatal("not reassembled")
	}
	if s := r.Stats(); s.Reqds != 5 || s.OKs != 1 || s.Duplicates != 1 || s.Fails != 1 {
		t.Fatalf("stats %+v", s)
	}
	if r.cfg.Timeout != DefaultReassemblyTimeout || r.cfg.MaxBytes != DefaultReassemblyMaxBytes || r.cfg.MaxDatagrams != DefaultReassemblyMaxDatagrams {
		t.Fatalf("defaults %+v", r.cfg)
	}
}

func TestReassemblyHoleListRFC815(t *testing.T) {
	hs := newHoleList()
	hs = hs.fill(8, 15, true)
	hs = hs.fill(32, 39, true)
	if got := string(appendHoles(nil, hs, false)); got != "[0..7] [16..31] [40..∞]" {
		t.Fatalf("holes %s", got)
	}
	hs = hs.setEnd(48)
	hs = hs.fill(40, 47, false)
	hs = hs.fill(16, 31, true)
	if got := string(appendHoles(nil, hs, true)); got != "0-7" {
		t.Fatalf("holes %s", got)
	}
	hs = hs.fill(0, 7, true)
	if len(hs) != 0 {
		t.Fatalf("holes %v", hs)
	}
}

// ---- fuzzing ----

// FuzzReassembler feeds fragments decoded from the input, four bytes each:
//
//	b0: bits 0-1 key, bit 2 MF, bit 3 other bytes (variant), bit 4 offset x32,
//	    bits 5-6 header length 20/24/40/60; b0 == 0xff advances the clock by b1 s
//	b1: offset in 8-byte units; b2, b3: length (b3 bit 7 scales b2 by 64)
//
// It must never panic, never hold more than MaxBytes or MaxDatagrams, and
// every completed datagram must be as long as the end given by a last
// fragment of its key, with every byte filled from a fragment of its key.
func FuzzReassembler(f *testing.F) {
	// In order, reversed, overlapping, too large, with a timeout between.
	f.Add([]byte{0x04, 0, 8, 0, 0x04, 1, 8, 0, 0x00, 2, 5, 0})
	f.Add([]byte{0x04, 0, 8, 0, 0x04, 1, 8, 0, 0x04, 2, 8, 0, 0x00, 3, 3, 0})
	f.Add([]byte{0x00, 3, 3, 0, 0x04, 2, 8, 0, 0x04, 1, 8, 0, 0x04, 0, 8, 0})
	f.Add([]byte{0x04, 0, 16, 0, 0x0c, 1, 16, 0, 0x00, 2, 1, 0})
	f.Add([]byte{0x14, 255, 2, 0x80, 0x00, 0, 255, 0x80})
	f.Add([]byte{0x04, 0, 8, 0, 0xff, 40, 0, 0, 0x00, 1, 8, 0})
	f.Add([]byte{0x04, 0, 8, 0, 0x05, 0, 8, 0, 0x06, 0, 8, 0, 0x07, 0, 8, 0})
	f.Fuzz(func(t *testing.T, in []byte) {
		const maxBytes, maxDatagrams = 4096, 3
		clock := clock.NewVirtual()
		log := viz.NewLog(clock)
		log.AddSink(viz.SinkFunc(func(e *viz.Event) {
			if e.Verdict == viz.Drop && !e.Reason.Known() {
				t.Fatalf("drop with unknown reason %q", e.Reason)
			}
		}))
		r := NewReassembler(ReassemblerConfig{
			Timeout: 10 * time.Second, MaxBytes: maxBytes, MaxDatagrams: maxDatagrams,
			Clock: clock, Recorder: log.Recorder("fuzz"),
		})
		keys := []FragmentKey{keyA, keyB, keyC, keyD}
		ends := make([]map[int]bool, len(keys)) // ends given by last fragments, per key, since it was last pending
		forgetGone := func() {
			for i, k := range keys {
				if r.pending[k] == nil {
					ends[i] = nil
				}
			}
		}
		for ops := 0; len(in) >= 4 && ops < 512; ops++ {
			b0, b1, b2, b3 := in[0], in[1], in[2], in[3]
			in = in[4:]
			if b0 == 0xff {
				clock.RunFor(time.Duration(b1) * time.Second)
				forgetGone()
				checkReassemblerInvariants(t, r)
				continue
			}
			ki := int(b0 & 3)
			more := b0&4 != 0
			variant := b0 >> 3 & 1
			offset := int(b1) * 8
			if b0&0x10 != 0 {
				offset *= 32
			}
			n := int(b2)
			if b3&0x80 != 0 {
				n *= 64
			}
			hl := []int{20, 24, 40, 60}[b0>>5&3]
			frag := Fragment{Key: keys[ki], Offset: offset, More: more, Payload: testPayloadAt(offset, n, byte(ki*2)+variant), Header: testHeader(hl, byte(ki))}
			if !more && n > 0 {
				if ends[ki] == nil {
					ends[ki] = map[int]bool{}
				}
				ends[ki][offset+n] = true
			}
			got, _, done := r.Add(frag)
			checkReassemblerInvariants(t, r)
			if done {
				if !ends[ki][len(got)] {
					t.Fatalf("datagram of %d bytes, but the last fragments of %v ended at %v", len(got), keys[ki], ends[ki])
				}
				a, b := testPayload(len(got), byte(ki*2)), testPayload(len(got), byte(ki*2)+1)
				for i, c := range got {
					if c != a[i] && c != b[i] {
						t.Fatalf("byte %d of a datagram of %v is %#x: not from any of its fragments", i, keys[ki], c)
					}
				}
			}
			forgetGone()
		}
		clock.Run()
		if dg, b := r.Pending(); dg != 0 || b != 0 {
			t.Fatalf("after every timer: %d datagrams, %d bytes pending", dg, b)
		}
	})
}

// ---- benchmarks ----

// BenchmarkReassembly64K reassembles the largest datagram IPv4 allows
// (65,515 bytes of payload after a 20-byte header) from 1480-byte
// fragments, as a 1500-byte MTU cuts it, in order.
func BenchmarkReassembly64K(b *testing.B) {
	payload := testPayload(65535-20, 1)
	var frags []Fragment
	for off := 0; off < len(payload); off += 1480 {
		end := min(off+1480, len(payload))
		frags = append(frags, Fragment{Key: keyA, Offset: off, More: end < len(payload), Payload: payload[off:end], Frame: uint64(off/1480 + 1)})
	}
	frags[0].Header = testHeader(20, 1)
	for _, logging := range []bool{false, true} {
		b.Run(fmt.Sprintf("log=%v", logging), func(b *testing.B) {
			clock := clock.NewVirtual()
			cfg := ReassemblerConfig{Clock: clock}
			if logging {
				log := viz.NewLog(clock)
				log.AddSink(viz.SinkFunc(func(*viz.Event) {}))
				cfg.Recorder = log.Recorder("bench")
			}
			r := NewReassembler(cfg)
			b.SetBytes(int64(len(payload)))
			b.ReportAllocs()
			for b.Loop() {
				var done bool
				for _, f := range frags {
					_, _, done = r.Add(f)
				}
				if !done {
					b.Fatal("not reassembled")
				}
			}
		})
	}
}
