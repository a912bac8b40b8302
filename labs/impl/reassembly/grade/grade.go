// Package grade holds the graded tests of the impl-reassembly lab: the
// student's ip.FragmentReassembler at unit level (orders, keys,
// duplicates, overlaps, the timer and ICMP, the limits, the ping of death)
// and inside the stack, where big pings cross a wire with a 1500-byte MTU
// that reorders, duplicates and loses fragments, and what the ping
// application sees is compared with the run of ip's own reassembler.
package grade

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/packetwalk/packetwalk/clock"
	"github.com/packetwalk/packetwalk/ip"
	"github.com/packetwalk/packetwalk/labs/impl/grading"
	"github.com/packetwalk/packetwalk/stack"
	"github.com/packetwalk/packetwalk/viz"
	"github.com/packetwalk/packetwalk/wire"
)

// New is the student's constructor.
type New = func(cfg ip.ReassemblerConfig) ip.FragmentReassembler

// Tests are the graded tests, in the order the handout introduces them.
var Tests = []grading.Test[New]{
	{Name: "InOrder", Run: testInOrder},
	{Name: "AnyOrder", Run: testAnyOrder},
	{Name: "KeysKeptApart", Run: testKeys},
	{Name: "CopiesWhatItKeeps", Run: testCopies},
	{Name: "Duplicates", Run: testDuplicates},
	{Name: "OverlapDiscards", Run: testOverlap},
	{Name: "TimeoutAndICMP", Run: testTimeout},
	{Name: "TimeoutWithoutFirstFragment", Run: testTimeoutNoFirst},
	{Name: "NoTimeoutAfterCompletion", Run: testNoTimeoutAfterDone},
	{Name: "MemoryLimits", Run: testLimits},
	{Name: "PingOfDeath", Run: testTooLarge},
	{Name: "WireBigPings", Run: testWireBigPings},
	{Name: "WireLostFragment", Run: testWireLostFragment},
}

// Run runs every graded test with the student's constructor.
func Run(t *testing.T, newReassembler New) { grading.Run(t, Tests, newReassembler) }

// bench is a reassembler under test with its clock and step log.
type bench struct {
	clock    *clock.Virtual
	mem      *viz.MemorySink
	r        ip.FragmentReassembler
	timeouts []timeout
	log      []string // what the test did, for messages
}

type timeout struct {
	key            ip.FragmentKey
	header, inside []byte
}

func newBench(newReassembler New, cfg ip.ReassemblerConfig) *bench {
	b := &bench{clock: clock.NewVirtual(), mem: &viz.MemorySink{}}
	log := viz.NewLog(b.clock)
	log.AddSink(b.mem)
	cfg.Clock, cfg.Recorder = b.clock, log.Recorder("host")
	cfg.OnTimeout = func(key ip.FragmentKey, h, p []byte) {
		b.timeouts = append(b.timeouts, timeout{key, slices.Clone(h), slices.Clone(p)})
	}
	b.r = newReassembler(cfg)
	return b
}

var (
	keyA = ip.FragmentKey{Src: netip.MustParseAddr("10.0.0.1"), Dst: netip.MustParseAddr("10.0.0.2"), Protocol: 1, ID: 0x1c46}
	keyB = ip.FragmentKey{Src: netip.MustParseAddr("10.0.0.1"), Dst: netip.MustParseAddr("10.0.0.2"), Protocol: 1, ID: 0x1c47}
	keyC = ip.FragmentKey{Src: netip.MustParseAddr("10.0.0.3"), Dst: netip.MustParseAddr("10.0.0.2"), Protocol: 1, ID: 0x1c46}
	keyD = ip.FragmentKey{Src: netip.MustParseAddr("10.0.0.1"), Dst: netip.MustParseAddr("10.0.0.2"), Protocol: 17, ID: 0x1c46}
)

// header makes a recognisable 20-byte header for a key.
func header(k ip.FragmentKey) []byte {
	h := make([]byte, 20)
	h[0] = 0x45
	h[4], h[5] = byte(k.ID>>8), byte(k.ID)
	h[9] = k.Protocol
	s, d := k.Src.As4(), k.Dst.As4()
	copy(h[12:], s[:])
	copy(h[16:], d[:])
	return h
}

// payload makes n bytes of seeded data.
func payload(seed uint64, n int) []byte {
	rng := rand.New(rand.NewPCG(seed, 99))
	p := make([]byte, n)
	for i := range p {
		p[i] = byte(rng.UintN(256))
	}
	return p
}

// piece is one fragment of data: bytes off..off+n.
type piece struct{ off, n int }

// cut splits a payload into pieces of size bytes (a multiple of 8).
func cut(total, size int) []piece {
	var ps []piece
	for off := 0; off < total; off += size {
		ps = append(ps, piece{off, min(size, total-off)})
	}
	return ps
}

var frameID uint64

// add hands one fragment of data to the reassembler, from a buffer that is
// scribbled over afterwards (as the NIC's ring is).
func (b *bench) add(k ip.FragmentKey, data []byte, p piece, more bool) ([]byte, []byte, bool) {
	buf := slices.Clone(data[p.off : p.off+p.n])
	var h []byte
	if p.off == 0 {
		h = header(k)
	} else {
		h = header(k)[:20]
	}
	frameID++
	b.log = append(b.log, fmt.Sprintf("Add(%s, bytes %d..%d, MF=%v)", k, p.off, p.off+p.n-1, more))
	d, hd, done := b.r.Add(ip.Fragment{Key: k, Offset: p.off, More: more, Payload: buf, Header: h, Frame: frameID})
	for i := range buf {
		buf[i] = 0xee
	}
	for i := range h {
		h[i] = 0xee
	}
	return d, hd, done
}

func (b *bench) sent() string { return strings.Join(b.log, "\n") }

// ipSteps are the reassembler's steps so far.
func (b *bench) steps() []viz.Event {
	return grading.Last(grading.Select(b.mem.Events(), func(e *viz.Event) bool { return e.Layer == viz.LayerIP }), 12)
}

// deliver sends the pieces in the given order and checks that the datagram
// completes at the last one, and only then, with the right bytes.
func deliver(t *testing.T, b *bench, k ip.FragmentKey, data []byte, ps []piece, order []int, hint string) bool {
	t.Helper()
	for i, j := range order {
		p := ps[j]
		got, h, done := b.add(k, data, p, p.off+p.n < len(data))
		last := i == len(order)-1
		switch {
		case done && !last:
			t.Error(grading.Failure{Sent: b.sent(), Expected: "done = false: bytes are still missing", Got: "done = true", Steps: b.steps(), Hint: hint})
			return false
		case !done && last:
			t.Error(grading.Failure{Sent: b.sent(), Expected: fmt.Sprintf("done = true with the %d-byte payload: every byte has arrived", len(data)), Got: "done = false", Steps: b.steps(), Hint: hint})
			return false
		case done && !bytes.Equal(got, data):
			t.Error(grading.Failure{Sent: b.sent(), Expected: fmt.Sprintf("the %d bytes sent, %s", len(data), grading.Hex(data, 12)),
				Got: fmt.Sprintf("%d bytes, %s", len(got), grading.Hex(got, 12)), Steps: b.steps(), Hint: hint})
			return false
		case done && !bytes.Equal(h, header(k)):
			t.Error(grading.Failure{Sent: b.sent(), Expected: "the header of the fragment at offset 0, " + grading.Hex(header(k), 20),
				Got: grading.Hex(h, 20), Hint: "keep a copy of f.Header when the fragment at offset 0 arrives: the caller's buffer is reused"})
			return false
		}
	}
	if n, by := b.r.Pending(); n != 0 || by != 0 {
		t.Error(grading.Failure{Sent: b.sent(), Expected: "Pending() = 0 datagrams, 0 bytes: a completed datagram is forgotten", Got: fmt.Sprintf("%d datagrams, %d bytes", n, by)})
		return false
	}
	return true
}

func testInOrder(t *testing.T, newR New) {
	b := newBench(newR, ip.ReassemblerConfig{})
	data := payload(1, 3000)
	ps := cut(len(data), 1480)
	deliver(t, b, keyA, data, ps, []int{0, 1, 2}, "start with one hole 0..infinity; each fragment fills part of it; the last one (MF=0) ends it")
}

func testAnyOrder(t *testing.T, newR New) {
	data := payload(2, 3000)
	ps := cut(len(data), 1480)
	for _, order := range [][]int{{0, 2, 1}, {1, 0, 2}, {1, 2, 0}, {2, 0, 1}, {2, 1, 0}} {
		b := newBench(newR, ip.ReassemblerConfig{})
		if !deliver(t, b, keyA, data, ps, order, "the last fragment may come first: then the end is known while holes remain before it") {
			return
		}
	}
	big := payload(3, 9000)
	ps = cut(len(big), 512)
	rng := rand.New(rand.NewPCG(4, 4))
	for round := 0; round < 5; round++ {
		order := rng.Perm(len(ps))
		b := newBench(newR, ip.ReassemblerConfig{})
		if !deliver(t, b, keyA, big, ps, order, "18 fragments in a shuffled order: holes split and vanish in any order") {
			return
		}
	}
}

func testKeys(t *testing.T, newR New) {
	b := newBench(newR, ip.ReassemblerConfig{})
	keys := []ip.FragmentKey{keyA, keyB, keyC, keyD}
	datas := make([][]byte, len(keys))
	for i := range keys {
		datas[i] = payload(uint64(10+i), 2000)
	}
	ps := cut(2000, 1000)
	// Interleave: first halves of all, then second halves in reverse.
	for i, k := range keys {
		if _, _, done := b.add(k, datas[i], ps[0], true); done {
			t.Fatal(grading.Failure{Sent: b.sent(), Expected: "done = false", Got: "done = true", Steps: b.steps()})
		}
	}
	if n, by := b.r.Pending(); n != 4 || by != 4000 {
		t.Error(grading.Failure{Sent: b.sent(), Expected: "Pending() = 4 datagrams, 4000 bytes: source, destination, protocol and ID together tell datagrams apart (RFC 791 §3.2)", Got: fmt.Sprintf("%d datagrams, %d bytes", n, by)})
	}
	for i := len(keys) - 1; i >= 0; i-- {
		got, _, done := b.add(keys[i], datas[i], ps[1], false)
		if !done || !bytes.Equal(got, datas[i]) {
			t.Fatal(grading.Failure{Sent: b.sent(), Expected: fmt.Sprintf("datagram %s complete with its own bytes %s", keys[i], grading.Hex(datas[i], 8)),
				Got: fmt.Sprintf("done = %v, %s", done, grading.Hex(got, 8)), Steps: b.steps(), Hint: "key your datagrams by the whole ip.FragmentKey"})
		}
	}
}

func testCopies(t *testing.T, newR New) {
	b := newBench(newR, ip.ReassemblerConfig{})
	data := payload(5, 1600)
	// b.add overwrites the caller's buffers with 0xee after each Add.
	deliver(t, b, keyA, data, cut(1600, 800), []int{1, 0}, "f.Payload and f.Header are the NIC's ring memory, overwritten by the next frame: copy them (slices.Clone)")
}

func testDuplicates(t *testing.T, newR New) {
	b := newBench(newR, ip.ReassemblerConfig{})
	data := payload(6, 2400)
	ps := cut(2400, 800)
	seq := []int{0, 0, 2, 2, 1}
	for i, j := range seq {
		got, _, done := b.add(keyA, data, ps[j], j != 2)
		if last := i == len(seq)-1; done != last || (done && !bytes.Equal(got, data)) {
			t.Fatal(grading.Failure{Sent: b.sent(), Expected: "done only at the last Add, with the 2400 bytes: an exact repeat of bytes held changes nothing",
				Got: fmt.Sprintf("done = %v after Add %d (%d bytes)", done, i+1, len(got)), Steps: b.steps(),
				Hint: "a duplicate (a retransmission, a duplicating wire) touches no hole: check its bytes equal what you hold and ignore it"})
		}
	}
	if _, _, done := b.add(keyA, data, ps[1], true); done {
		t.Error(grading.Failure{Sent: b.sent(), Expected: "done = false: the datagram was handed up already; a late copy starts a new one (which will time out)", Got: "done = true"})
	}
}

func hasDrop(b *bench, reason viz.Reason) bool {
	for _, e := range b.mem.Events() {
		if e.Verdict == viz.Drop && e.Reason == reason {
			return true
		}
	}
	return false
}

func testOverlap(t *testing.T, newR New) {
	b := newBench(newR, ip.ReassemblerConfig{})
	data := payload(7, 32)
	other := payload(8, 32)
	b.add(keyA, data, piece{0, 16}, true)
	// Bytes 8..23 again, but different: the teardrop trick.
	if _, _, done := b.add(keyA, other, piece{8, 16}, true); done {
		t.Fatal(grading.Failure{Sent: b.sent(), Expected: "done = false", Got: "done = true"})
	}
	if !hasDrop(b, viz.ReasonFragOverlap) {
		t.Error(grading.Failure{Sent: b.sent(), Expected: "a drop step with reason frag_overlap (use r.drop)", Got: "none", Steps: b.steps(),
			Hint: "bytes 8..15 are held already and the new fragment brings other values for them: two stacks could resolve that differently, so the whole datagram goes (Linux since 4.19, RFC 5722)"})
	}
	if n, by := b.r.Pending(); n != 0 || by != 0 {
		t.Error(grading.Failure{Sent: b.sent(), Expected: "Pending() = 0, 0: the whole datagram is discarded", Got: fmt.Sprintf("%d datagrams, %d bytes", n, by)})
	}
	if _, _, done := b.add(keyA, data, piece{16, 16}, false); done {
		t.Error(grading.Failure{Sent: b.sent(), Expected: "done = false: the datagram was discarded, so bytes 0..15 are gone", Got: "done = true"})
	}
	// A last fragment that moves the end is the same kind of dispute.
	b2 := newBench(newR, ip.ReassemblerConfig{})
	b2.add(keyB, data, piece{16, 16}, false)
	b2.add(keyB, data, piece{0, 24}, false)
	if !hasDrop(b2, viz.ReasonFragOverlap) {
		t.Error(grading.Failure{Sent: b2.sent(), Expected: "a drop with reason frag_overlap: the second last fragment ends at 24, the first at 32", Got: "none", Steps: b2.steps()})
	}
}

func testTimeout(t *testing.T, newR New) {
	b := newBench(newR, ip.ReassemblerConfig{Timeout: 5 * time.Second})
	data := payload(9, 3000)
	ps := cut(3000, 1000)
	b.add(keyA, data, ps[0], true)
	b.clock.RunFor(time.Second)
	b.add(keyA, data, ps[2], false)
	b.log = append(b.log, "(the clock runs 3.9 s more: 4.9 s after the first fragment)")
	b.clock.RunFor(3900 * time.Millisecond)
	if n, _ := b.r.Pending(); n != 1 || len(b.timeouts) != 0 {
		t.Fatal(grading.Failure{Sent: b.sent(), Expected: "still pending (1 datagram) and no timeout yet: the timer runs 5 s from the first fragment",
			Got: fmt.Sprintf("Pending() = %d, OnTimeout called %d times", n, len(b.timeouts)), Steps: b.steps()})
	}
	b.log = append(b.log, "(the clock runs 0.2 s more: 5.1 s after the first fragment)")
	b.clock.RunFor(200 * time.Millisecond)
	if n, by := b.r.Pending(); n != 0 || by != 0 {
		t.Error(grading.Failure{Sent: b.sent(), Expected: "Pending() = 0, 0: the incomplete datagram is freed at the timeout", Got: fmt.Sprintf("%d datagrams, %d bytes", n, by), Steps: b.steps(),
			Hint: "start a timer with r.cfg.Clock.AfterFunc(r.cfg.Timeout, ...) when a datagram's first fragment arrives"})
	}
	if !hasDrop(b, viz.ReasonFragTimeout) {
		t.Error(grading.Failure{Sent: b.sent(), Expected: "a drop step with reason frag_timeout", Got: "none", Steps: b.steps()})
	}
	switch {
	case len(b.timeouts) != 1:
		t.Error(grading.Failure{Sent: b.sent(), Expected: "OnTimeout called once: the first fragment arrived, so IP sends ICMP Time Exceeded (code 1) quoting it", Got: fmt.Sprintf("called %d times", len(b.timeouts))})
	case b.timeouts[0].key != keyA || !bytes.Equal(b.timeouts[0].header, header(keyA)) || len(b.timeouts[0].inside) < 8 || !bytes.Equal(b.timeouts[0].inside[:8], data[:8]):
		t.Error(grading.Failure{Sent: b.sent(), Expected: fmt.Sprintf("OnTimeout(%s, the first fragment's header, its payload starting %s)", keyA, grading.Hex(data, 8)),
			Got: fmt.Sprintf("OnTimeout(%s, %s, %s)", b.timeouts[0].key, grading.Hex(b.timeouts[0].header, 20), grading.Hex(b.timeouts[0].inside, 8))})
	}
	// The same key later is a new datagram, not the old one's rest.
	if _, _, done := b.add(keyA, data, ps[1], true); done {
		t.Error(grading.Failure{Sent: b.sent(), Expected: "done = false: the timed-out datagram's fragments were freed", Got: "done = true"})
	}
}

func testTimeoutNoFirst(t *testing.T, newR New) {
	b := newBench(newR, ip.ReassemblerConfig{Timeout: 5 * time.Second})
	data := payload(10, 3000)
	ps := cut(3000, 1000)
	b.add(keyA, data, ps[1], true)
	b.add(keyA, data, ps[2], false)
	// Held first, then expired: a reassembler that keeps nothing would
	// never time out either.
	if n, by := b.r.Pending(); n != 1 || by != 2000 {
		t.Fatal(grading.Failure{Sent: b.sent(), Expected: "Pending() = 1 datagram, 2000 bytes: both fragments are held until the timer fires", Got: fmt.Sprintf("%d datagrams, %d bytes", n, by), Steps: b.steps()})
	}
	b.log = append(b.log, "(the clock runs 6 s)")
	b.clock.RunFor(6 * time.Second)
	if len(b.timeouts) != 0 {
		t.Error(grading.Failure{Sent: b.sent(), Expected: "OnTimeout not called: without the fragment at offset 0 there is no header to quote (RFC 792)", Got: fmt.Sprintf("called %d times", len(b.timeouts))})
	}
	if !hasDrop(b, viz.ReasonFragTimeout) {
		t.Error(grading.Failure{Sent: b.sent(), Expected: "a frag_timeout drop: the incomplete datagram is discarded when its timer fires (RFC 791 section 3.2)", Got: "no frag_timeout drop in the step log", Steps: b.steps()})
	}
	if n, by := b.r.Pending(); n != 0 || by != 0 {
		t.Error(grading.Failure{Sent: b.sent(), Expected: "Pending() = 0, 0 after the timeout", Got: fmt.Sprintf("%d datagrams, %d bytes", n, by), Steps: b.steps()})
	}
}

func testNoTimeoutAfterDone(t *testing.T, newR New) {
	b := newBench(newR, ip.ReassemblerConfig{Timeout: 5 * time.Second})
	data := payload(11, 2000)
	if !deliver(t, b, keyA, data, cut(2000, 1000), []int{0, 1}, "") {
		return
	}
	b.log = append(b.log, "(the clock runs 10 s)")
	b.clock.RunFor(10 * time.Second)
	if len(b.timeouts) != 0 || hasDrop(b, viz.ReasonFragTimeout) {
		t.Error(grading.Failure{Sent: b.sent(), Expected: "no timeout: the datagram completed", Got: fmt.Sprintf("OnTimeout called %d times", len(b.timeouts)), Steps: b.steps(),
			Hint: "stop the datagram's timer (Timer.Stop) when it completes or is discarded"})
	}
}

func testLimits(t *testing.T, newR New) {
	b := newBench(newR, ip.ReassemblerConfig{MaxDatagrams: 2})
	data := payload(12, 2000)
	ps := cut(2000, 1000)
	b.add(keyA, data, ps[0], true)
	b.add(keyB, data, ps[0], true)
	b.add(keyC, data, ps[0], true)
	if n, _ := b.r.Pending(); n != 2 || !hasDrop(b, viz.ReasonFragMemory) {
		t.Fatal(grading.Failure{Sent: b.sent() + "\nwith MaxDatagrams = 2", Expected: "the third datagram's fragment refused with a frag_memory drop, 2 datagrams pending",
			Got: fmt.Sprintf("%d pending, frag_memory drop logged: %v", n, hasDrop(b, viz.ReasonFragMemory)), Steps: b.steps(),
			Hint: "refuse, never evict: the datagrams already held keep their chance (Linux since 4.17)"})
	}
	if got, _, done := b.add(keyA, data, ps[1], false); !done || !bytes.Equal(got, data) {
		t.Fatal(grading.Failure{Sent: b.sent(), Expected: "the first datagram still completes", Got: fmt.Sprintf("done = %v", done), Steps: b.steps()})
	}

	b2 := newBench(newR, ip.ReassemblerConfig{MaxBytes: 2500})
	b2.add(keyA, data, ps[0], true)
	b2.add(keyB, data, ps[0], true)
	b2.add(keyC, data, ps[0], true)
	if n, by := b2.r.Pending(); n != 2 || by != 2000 || !hasDrop(b2, viz.ReasonFragMemory) {
		t.Fatal(grading.Failure{Sent: b2.sent() + "\nwith MaxBytes = 2500", Expected: "the third fragment refused (2000 + 1000 > 2500) with a frag_memory drop; Pending() = 2, 2000",
			Got: fmt.Sprintf("Pending() = %d, %d; frag_memory drop logged: %v", n, by, hasDrop(b2, viz.ReasonFragMemory)), Steps: b2.steps()})
	}
	// 2000 + 400 bytes fit under 2500: the first datagram (1400 bytes) completes.
	if got, _, done := b2.add(keyA, data, piece{1000, 400}, false); !done || !bytes.Equal(got, data[:1400]) {
		t.Fatal(grading.Failure{Sent: b2.sent(), Expected: "done = true with 1400 bytes", Got: fmt.Sprintf("done = %v, %d bytes", done, len(got)), Steps: b2.steps()})
	}
	if n, by := b2.r.Pending(); n != 1 || by != 1000 {
		t.Error(grading.Failure{Sent: b2.sent(), Expected: "Pending() = 1, 1000: a completed datagram gives its bytes back", Got: fmt.Sprintf("%d, %d", n, by)})
	}
}

func testTooLarge(t *testing.T, newR New) {
	b := newBench(newR, ip.ReassemblerConfig{})
	data := payload(13, 66000)
	b.add(keyA, data, piece{0, 1480}, true)
	_, _, done := b.add(keyA, data, piece{65520, 100}, false)
	if done || !hasDrop(b, viz.ReasonFragTooLarge) {
		t.Error(grading.Failure{Sent: b.sent(), Expected: "a frag_too_large drop: offset 65520 + 100 bytes + a 20-byte header is more than the 65,535 bytes an IPv4 datagram may have (the ping of death)",
			Got: fmt.Sprintf("done = %v, frag_too_large logged: %v", done, hasDrop(b, viz.ReasonFragTooLarge)), Steps: b.steps()})
	}
	if n, by := b.r.Pending(); n != 0 || by != 0 {
		t.Error(grading.Failure{Sent: b.sent(), Expected: "Pending() = 0, 0: the datagram can never be handed up, so it is discarded", Got: fmt.Sprintf("%d, %d", n, by)})
	}
}

// pingRun is what the ping application saw in one seeded run.
type pingRun struct {
	events []string
	stats  stack.PingStats
	log    []viz.Event
}

func bigPing(t *testing.T, newR New, wire wire.Config, count int, wait time.Duration) pingRun {
	cfg := stack.TopologyConfig{Seed: 5, Wire: wire}
	if newR != nil {
		cfg.IP.IP.Reassembler = newR
	}
	p, mem := grading.NewPair(t, cfg)
	var r pingRun
	p.Client.Ping(stack.PingConfig{Dst: p.Server.Addr(), Count: count, Size: 4000, Interval: 200 * time.Millisecond, Wait: wait},
		func(e stack.PingEvent) {
			r.events = append(r.events, fmt.Sprintf("seq %d: %d bytes from %s %s", e.Seq, e.Bytes, e.From, e.Err))
		}, func(s stack.PingStats) { r.stats = s })
	p.Net.Run()
	r.log = mem.Events()
	return r
}

func comparePings(t *testing.T, scenario string, want, got pingRun) {
	if strings.Join(want.events, "\n") == strings.Join(got.events, "\n") {
		return
	}
	t.Error(grading.Failure{
		Sent:     scenario + "; both hosts use your reassembler",
		Expected: "ping sees\n" + strings.Join(want.events, "\n"),
		Got:      "ping sees\n" + strings.Join(append(got.events, "(end)"), "\n"),
		Steps: grading.Last(grading.Select(got.log, func(e *viz.Event) bool {
			return e.Layer == viz.LayerIP && (e.Step == "reassembly" || e.Step == "reassembled") || e.Layer == viz.LayerICMP
		}), 15),
		Hint: "the expected lines are what the same seeded run gives with ip's own reassembler",
	})
}

func testWireBigPings(t *testing.T, newR New) {
	wire := wire.Config{Impairments: wire.Impairments{Reorder: 0.3, Duplicate: 0.2, Seed: 21}}
	scenario := "ping -s 4000 -c 5 over a 1500-byte MTU (3 fragments each way) on a wire that reorders 30% and duplicates 20% of frames (seed 21)"
	want := bigPing(t, nil, wire, 5, 2*time.Second)
	if want.stats.Received < 3 {
		t.Fatalf("grading scenario broken: ip's own reassembler got %d replies:\n%s", want.stats.Received, strings.Join(want.events, "\n"))
	}
	comparePings(t, scenario, want, bigPing(t, newR, wire, 5, 2*time.Second))
}

func testWireLostFragment(t *testing.T, newR New) {
	// Frames 1 and 2 are ARP; 3, 4 and 5 the first request's fragments.
	wire := wire.Config{Faults: []wire.Fault{{Frame: 4, Kind: wire.FaultDrop}}}
	scenario := "ping -s 4000 -c 2 over a wire that loses frame 4 (the first request's middle fragment); ping waits 40 s"
	want := bigPing(t, nil, wire, 2, 40*time.Second)
	if !strings.Contains(strings.Join(want.events, "\n"), "exceeded") {
		t.Fatalf("grading scenario broken: ip's own reassembler gave no ICMP time exceeded:\n%s", strings.Join(want.events, "\n"))
	}
	comparePings(t, scenario, want, bigPing(t, newR, wire, 2, 40*time.Second))
}
