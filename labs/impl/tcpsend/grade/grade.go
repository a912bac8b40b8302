// Package grade holds the graded tests of the impl-tcp-sender lab: the
// student's tcp.Sender called directly (segment sizes at the edges of the
// peer's window and cwnd, the RTO from samples with RFC 6298's
// arithmetic, its backoff and bounds, Karn's algorithm, duplicate ACKs
// and the third of them), and inside two hosts on a lossy simulated wire,
// compared with the stack's own sender frame by frame.
package grade

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/packetwalk/packetwalk/labs/impl/grading"
	"github.com/packetwalk/packetwalk/stack"
	"github.com/packetwalk/packetwalk/tcp"
	"github.com/packetwalk/packetwalk/viz"
	"github.com/packetwalk/packetwalk/wire"
)

// New is the student's constructor.
type New = func(cfg tcp.SenderConfig) tcp.Sender

// Tests are the graded tests, in the order the handout introduces them.
var Tests = []grading.Test[New]{
	{Name: "SegmentSizes", Run: testSegmentSizes},
	{Name: "WindowEdges", Run: testWindowEdges},
	{Name: "RTOFromSamples", Run: testRTOSamples},
	{Name: "RTOBounds", Run: testRTOBounds},
	{Name: "BackoffAndReset", Run: testBackoff},
	{Name: "Karn", Run: testKarn},
	{Name: "DuplicateACKs", Run: testDupACKs},
	{Name: "WireLossyTransfer", Run: testWire},
}

// Run runs every graded test with the student's constructor.
func Run(t *testing.T, newSender New) { grading.Run(t, Tests, newSender) }

func describeWindow(w tcp.SendWindow) string {
	return fmt.Sprintf("SegmentSize(SendWindow{UNA: %d, NXT: %d, WND: %d, Cwnd: %d, InFlight: %d, MSS: %d, Queued: %d})",
		uint32(w.UNA), uint32(w.NXT), w.WND, w.Cwnd, w.InFlight, w.MSS, w.Queued)
}

type sizeCase struct {
	w    tcp.SendWindow
	want int
	why  string
}

func checkSizes(t *testing.T, newSender New, cases []sizeCase, hint string) {
	t.Helper()
	s := newSender(rfcConfig)
	for _, c := range cases {
		if got := s.SegmentSize(c.w); got != c.want {
			t.Fatal(grading.Failure{Sent: describeWindow(c.w), Expected: fmt.Sprintf("%d: %s", c.want, c.why), Got: fmt.Sprint(got), Hint: hint})
		}
	}
}

func testSegmentSizes(t *testing.T, newSender New) {
	base := tcp.SendWindow{UNA: 1000, NXT: 1000, WND: 65535, Cwnd: 14600, MSS: 1460, Queued: 100000}
	with := func(f func(w *tcp.SendWindow)) tcp.SendWindow { w := base; f(&w); return w }
	checkSizes(t, newSender, []sizeCase{
		{base, 1460, "plenty queued, the windows wide open: one full segment (MSS)"},
		{with(func(w *tcp.SendWindow) { w.Queued = 300 }), 300, "only 300 bytes are waiting"},
		{with(func(w *tcp.SendWindow) { w.MSS = 1448 }), 1448, "MSS is what one segment may carry now (options take room)"},
		{with(func(w *tcp.SendWindow) { w.NXT, w.InFlight = 13000, 12000 }), 1460, "12000 bytes in flight, cwnd 14600: room for 2600, so a full segment"},
		{with(func(w *tcp.SendWindow) { w.NXT, w.InFlight = 15140, 14140 }), 460, "cwnd 14600 less 14140 in flight leaves 460 (RFC 5681 section 3.1)"},
		{with(func(w *tcp.SendWindow) { w.NXT, w.InFlight = 15600, 14600 }), 0, "cwnd is full"},
		{with(func(w *tcp.SendWindow) { w.NXT, w.InFlight, w.Cwnd = 9760, 8760, 2920 }), 0, "cwnd was cut to 2920 after a loss, below the 8760 bytes still in flight: nothing new"},
		{with(func(w *tcp.SendWindow) { w.Queued = 0 }), 0, "nothing is queued"},
	}, "the answer is the smallest of Queued, MSS, the usable window and Cwnd - InFlight, and never below 0")
}

func testWindowEdges(t *testing.T, newSender New) {
	base := tcp.SendWindow{UNA: 5000, NXT: 5000, WND: 4000, Cwnd: 1 << 20, MSS: 1460, Queued: 100000}
	with := func(f func(w *tcp.SendWindow)) tcp.SendWindow { w := base; f(&w); return w }
	const top = 1<<32 - 200
	checkSizes(t, newSender, []sizeCase{
		{base, 1460, "the peer's window takes 4000 bytes from SND.UNA 5000: a full segment"},
		{with(func(w *tcp.SendWindow) { w.NXT, w.InFlight = 7920, 2920 }), 1080, "the window ends at SND.UNA + SND.WND = 9000: SND.NXT 7920 leaves 1080 (RFC 9293 section 3.8.6.2.1)"},
		{with(func(w *tcp.SendWindow) { w.NXT, w.InFlight = 9000, 4000 }), 0, "SND.NXT is at the window's right edge, 9000: the window is full"},
		{with(func(w *tcp.SendWindow) { w.WND = 0 }), 0, "a zero window: nothing may be sent (the persist timer probes it)"},
		{with(func(w *tcp.SendWindow) { w.NXT, w.InFlight, w.WND = 8000, 3000, 1000 }), 0,
			"the peer shrank its window to 1000: its right edge, 6000, now lies below SND.NXT 8000, and the usable window is negative"},
		{with(func(w *tcp.SendWindow) { w.NXT, w.InFlight, w.WND = 8000, 3000, 0 }), 0, "the window shrank to zero with data in flight"},
		{with(func(w *tcp.SendWindow) { w.UNA, w.NXT, w.InFlight, w.WND = top, top+100, 100, 1000 }), 900,
			"SND.UNA 4294967096, SND.NXT 4294967196: the window ends at 4294967096 + 1000, past 2^32 (at 800), leaving 900"},
		{with(func(w *tcp.SendWindow) { w.UNA, w.NXT, w.InFlight, w.WND = top, 300, 500, 1000 }), 500,
			"SND.NXT wrapped to 300, 500 bytes after SND.UNA 4294967096; the window ends at 800"},
		{with(func(w *tcp.SendWindow) { w.UNA, w.NXT, w.InFlight, w.WND = top, 900, 1100, 1000 }), 0,
			"SND.NXT 900 lies past the window's right edge, 800 (both wrapped): although 900 < 4294967096, it is beyond"},
	}, "usable window = SND.UNA + SND.WND - SND.NXT, computed with tcp.Seq (Add, then Sub): it wraps at 2^32 and is negative when the peer shrank its window")
}

// rfcConfig is RFC 6298's own bounds: an RTO of at least 1 s (2.4), at
// most 60 s (2.5), 1 s before any sample (2.1).
var rfcConfig = tcp.SenderConfig{RTOMin: time.Second, RTOMax: 60 * time.Second, RTOInitial: time.Second, G: time.Millisecond}

// rtoBench is a Sender called directly, with the calls made so far.
type rtoBench struct {
	s   tcp.Sender
	log []string
}

func newRTOBench(newSender New, cfg tcp.SenderConfig) *rtoBench {
	return &rtoBench{s: newSender(cfg), log: []string{fmt.Sprintf("s := New(SenderConfig{RTOMin: %v, RTOMax: %v, RTOInitial: %v, G: %v})", cfg.RTOMin, cfg.RTOMax, cfg.RTOInitial, cfg.G)}}
}

func (b *rtoBench) sample(r time.Duration, retx bool) *rtoBench {
	b.s.Sample(r, retx)
	b.log = append(b.log, fmt.Sprintf("s.Sample(%v, %v)", r, retx))
	return b
}

func (b *rtoBench) backoff() *rtoBench {
	b.s.Backoff()
	b.log = append(b.log, "s.Backoff()")
	return b
}

func (b *rtoBench) reset() *rtoBench {
	b.s.ResetBackoff()
	b.log = append(b.log, "s.ResetBackoff()")
	return b
}

// expect checks RTO() after the calls so far.
func (b *rtoBench) expect(t *testing.T, want time.Duration, why, hint string) bool {
	t.Helper()
	got := b.s.RTO()
	b.log = append(b.log, fmt.Sprintf("s.RTO() = %v", got))
	if got != want {
		t.Error(grading.Failure{Sent: strings.Join(b.log, "\n"), Expected: fmt.Sprintf("RTO() = %v: %s", want, why), Got: got.String(), Hint: hint})
		return false
	}
	return true
}

const formulaHint = "first sample R: SRTT = R, RTTVAR = R/2; later ones: RTTVAR = (3*RTTVAR + |SRTT-R|)/4 first, then SRTT = (7*SRTT + R)/8; RTO = SRTT + max(G, 4*RTTVAR), then kept within [RTOMin, RTOMax]"

func testRTOSamples(t *testing.T, newSender New) {
	cfg := tcp.SenderConfig{RTOMin: 100 * time.Millisecond, RTOMax: 60 * time.Second, RTOInitial: time.Second, G: time.Millisecond}
	b := newRTOBench(newSender, cfg)
	_ = b.expect(t, time.Second, "before any sample the RTO is RTOInitial, 1 s (RFC 6298 (2.1))", "start from cfg.RTOInitial") &&
		b.sample(500*time.Millisecond, false).expect(t, 1500*time.Millisecond,
			"the first sample R = 500ms: SRTT = 500ms, RTTVAR = 250ms, RTO = SRTT + 4*RTTVAR = 1.5s (RFC 6298 (2.2))", formulaHint) &&
		b.sample(300*time.Millisecond, false).expect(t, 1425*time.Millisecond,
			"R' = 300ms: RTTVAR = 3/4*250ms + 1/4*|500ms-300ms| = 237.5ms, SRTT = 7/8*500ms + 1/8*300ms = 475ms, RTO = 475ms + 950ms (RFC 6298 (2.3), alpha 1/8, beta 1/4)", formulaHint) &&
		b.sample(100*time.Millisecond, false).expect(t, 1515625*time.Microsecond,
			"R' = 100ms: RTTVAR = 3/4*237.5ms + 1/4*375ms = 271.875ms, SRTT = 7/8*475ms + 1/8*100ms = 428.125ms, RTO = 428.125ms + 1087.5ms", formulaHint+" (RTTVAR uses the SRTT from before the sample)")
	g := newRTOBench(newSender, tcp.SenderConfig{RTOMin: time.Millisecond, RTOMax: 60 * time.Second, RTOInitial: time.Second, G: 10 * time.Millisecond})
	for range 20 {
		g.sample(40*time.Millisecond, false)
	}
	_ = g.expect(t, 50*time.Millisecond,
		"twenty samples of 40ms: SRTT stays 40ms, RTTVAR decays to 20ms*(3/4)^19, about 0.08ms, so 4*RTTVAR is below the clock granularity G = 10ms: RTO = SRTT + G", "RTO = SRTT + max(G, 4*RTTVAR)")
}

func testRTOBounds(t *testing.T, newSender New) {
	b := newRTOBench(newSender, rfcConfig)
	_ = b.sample(100*time.Millisecond, false).expect(t, time.Second,
		"SRTT 100ms + 4*50ms = 300ms is below RTOMin: RFC 6298 (2.4) rounds it up to 1 s", "keep every RTO you compute within [RTOMin, RTOMax]")
	c := newRTOBench(newSender, rfcConfig)
	_ = c.sample(50*time.Second, false).expect(t, 60*time.Second,
		"SRTT 50s + 4*25s = 150s is above RTOMax: RFC 6298 (2.5) caps it at 60 s", "keep every RTO you compute within [RTOMin, RTOMax]")
	d := newRTOBench(newSender, tcp.SenderConfig{RTOMin: 200 * time.Millisecond, RTOMax: 120 * time.Second, RTOInitial: time.Second, G: time.Millisecond})
	_ = d.sample(20*time.Millisecond, false).expect(t, 200*time.Millisecond,
		"packetwalk's own floor is 200ms (Linux's), given as RTOMin: 20ms + 4*10ms = 60ms rounds up to 200ms", "use cfg.RTOMin, not a constant")
}

func testBackoff(t *testing.T, newSender New) {
	b := newRTOBench(newSender, rfcConfig)
	ok := b.expect(t, time.Second, "RTOInitial", "start from cfg.RTOInitial")
	for _, want := range []time.Duration{2, 4, 8, 16, 32, 60, 60} {
		ok = ok && b.backoff().expect(t, want*time.Second, "each expiry doubles the RTO (RFC 6298 (5.5)), up to RTOMax, 60 s", "Backoff: RTO = min(2*RTO, RTOMax)")
	}
	_ = ok && b.reset().expect(t, time.Second, "an ACK of new data undoes the backoff: back to the RTO before it, here RTOInitial (no sample yet)",
		"keep the computed RTO apart from the backed-off one; ResetBackoff returns to the computed one") &&
		b.sample(500*time.Millisecond, false).expect(t, 1500*time.Millisecond, "the first sample, as in RFC 6298 (2.2)", formulaHint) &&
		b.backoff().expect(t, 3*time.Second, "doubled", "") &&
		b.backoff().expect(t, 6*time.Second, "doubled again", "") &&
		b.reset().expect(t, 1500*time.Millisecond, "reset to the value computed from the samples", "ResetBackoff returns to SRTT + max(G, 4*RTTVAR), clamped") &&
		b.backoff().expect(t, 3*time.Second, "doubled", "") &&
		b.sample(300*time.Millisecond, false).expect(t, 1425*time.Millisecond,
			"a new sample computes the RTO afresh, from SRTT and RTTVAR, whatever the backoff was (the note that closes RFC 6298 section 5)", formulaHint)
}

func testKarn(t *testing.T, newSender New) {
	b := newRTOBench(newSender, rfcConfig)
	_ = b.sample(800*time.Millisecond, true).expect(t, time.Second,
		"the only sample so far was of a retransmitted segment: its ACK may answer either copy, so Karn's algorithm (RFC 6298 section 3) ignores it, and the RTO stays RTOInitial",
		"Sample with retransmitted = true changes nothing") &&
		b.sample(500*time.Millisecond, false).expect(t, 1500*time.Millisecond, "so this is the first sample: SRTT = 500ms, RTTVAR = 250ms", formulaHint) &&
		b.backoff().expect(t, 3*time.Second, "the timer expired: doubled", "") &&
		b.sample(2*time.Second, true).expect(t, 3*time.Second,
			"a retransmitted segment's sample neither enters SRTT and RTTVAR nor ends the backoff (Karn)", "Sample with retransmitted = true changes nothing") &&
		b.sample(300*time.Millisecond, false).expect(t, 1425*time.Millisecond,
			"a clean sample: SRTT and RTTVAR as if the 2s sample had never come (RTTVAR 237.5ms, SRTT 475ms)", "ignore ambiguous samples entirely: they must not touch SRTT or RTTVAR")
}

// ackStep is one ACK of the duplicate-ACK script and the verdict it
// should get.
type ackStep struct {
	a    tcp.ACKInfo
	want tcp.ACKKind
	why  string
}

func describeACK(a tcp.ACKInfo) string {
	var flags []string
	if a.SYN {
		flags = append(flags, "SYN: true")
	}
	if a.FIN {
		flags = append(flags, "FIN: true")
	}
	extra := ""
	if len(flags) > 0 {
		extra = ", " + strings.Join(flags, ", ")
	}
	return fmt.Sprintf("OnACK(ACKInfo{Ack: %d, Window: %d, Len: %d%s, UNA: %d, WND: %d, Outstanding: %d})",
		uint32(a.Ack), a.Window, a.Len, extra, uint32(a.UNA), a.WND, a.Outstanding)
}

func kindName(k tcp.ACKKind) string {
	switch k {
	case tcp.ACKNew:
		return "tcp.ACKNew"
	case tcp.ACKDuplicate:
		return "tcp.ACKDuplicate"
	case tcp.ACKThirdDuplicate:
		return "tcp.ACKThirdDuplicate"
	case tcp.ACKOther:
		return "tcp.ACKOther"
	}
	return fmt.Sprintf("tcp.ACKKind(%d)", k)
}

func testDupACKs(t *testing.T, newSender New) {
	const una = 10000
	dup := tcp.ACKInfo{Ack: una, Window: 20000, UNA: una, WND: 20000, Outstanding: 5840}
	with := func(a tcp.ACKInfo, f func(a *tcp.ACKInfo)) tcp.ACKInfo { f(&a); return a }
	const top = 1<<32 - 1000
	script := []ackStep{
		{dup, tcp.ACKDuplicate, "SEG.ACK = SND.UNA, no data, same window, data outstanding: a duplicate ACK (RFC 5681 section 2), the first"},
		{with(dup, func(a *tcp.ACKInfo) { a.Len = 500 }), tcp.ACKOther, "it carries data: the peer sends too, and its ACK repeats for that reason; not a duplicate (condition b)"},
		{dup, tcp.ACKDuplicate, "the second duplicate"},
		{with(dup, func(a *tcp.ACKInfo) { a.Window = 24000 }), tcp.ACKOther, "the window changed (20000 -> 24000): a window update, not a duplicate (condition e)"},
		{with(dup, func(a *tcp.ACKInfo) { a.FIN = true }), tcp.ACKOther, "it carries a FIN (condition c)"},
		{with(dup, func(a *tcp.ACKInfo) { a.Window, a.WND = 24000, 24000 }), tcp.ACKThirdDuplicate,
			"the third duplicate, with the window of the update before (SND.WND is 24000 now): fast retransmit (RFC 5681 section 3.2); ACKs that do not move SND.UNA do not start the count again"},
		{dup, tcp.ACKDuplicate, "a fourth duplicate: fast retransmit happened on the third, only once"},
		{with(dup, func(a *tcp.ACKInfo) { a.Ack = una + 1460 }), tcp.ACKNew, "it acknowledges 1460 new bytes: the count starts again"},
		{with(dup, func(a *tcp.ACKInfo) { a.UNA = una + 1460 }), tcp.ACKOther, "an old ACK, below SND.UNA 11460 (condition d: the highest acknowledgment so far)"},
		{with(dup, func(a *tcp.ACKInfo) { a.Ack, a.UNA, a.Outstanding = una+1460, una+1460, 0 }), tcp.ACKOther, "nothing is outstanding (condition a)"},
		{with(dup, func(a *tcp.ACKInfo) { a.Ack, a.UNA = una+1460, una+1460 }), tcp.ACKDuplicate, "a duplicate after the new ACK: the first again"},
		{with(dup, func(a *tcp.ACKInfo) { a.Ack, a.UNA, a.SYN = una+1460, una+1460, true }), tcp.ACKOther, "it carries a SYN (condition c)"},
		{with(dup, func(a *tcp.ACKInfo) { a.Ack, a.UNA = una+1460, una+1460 }), tcp.ACKDuplicate, "the second"},
		{with(dup, func(a *tcp.ACKInfo) { a.Ack, a.UNA = una+1460, una+1460 }), tcp.ACKThirdDuplicate, "the third: fast retransmit"},
		{with(dup, func(a *tcp.ACKInfo) { a.Ack, a.UNA = 500, top }), tcp.ACKNew, "SEG.ACK 500 is 1500 bytes beyond SND.UNA 4294966296: the numbers wrapped at 2^32"},
		{with(dup, func(a *tcp.ACKInfo) { a.Ack, a.UNA = top-10, top }), tcp.ACKOther, "SEG.ACK 4294966286 lies below SND.UNA 4294966296: old"},
	}
	s := newSender(rfcConfig)
	var log []string
	for _, st := range script {
		got := s.OnACK(st.a)
		log = append(log, describeACK(st.a)+" = "+kindName(got))
		if got != st.want {
			t.Fatal(grading.Failure{Sent: strings.Join(log, "\n"), Expected: kindName(st.want) + ": " + st.why, Got: kindName(got),
				Hint: "a duplicate needs all five: Outstanding > 0, Len == 0, no SYN or FIN, Ack == UNA, Window == WND; count them until an ACK of new data; the third is ACKThirdDuplicate"})
		}
	}
}

// ownCode: the lab is to write the three decisions, not to hand them to
// the stack's own.
func ownCode(t *testing.T) {
	sels, ok := grading.Selectors(t)
	if !ok {
		return
	}
	for _, name := range []string{"NewSender", "RTTEstimator", "NewRTTEstimator"} {
		if at, used := sels[name]; used {
			t.Fatal(grading.Failure{Got: fmt.Sprintf("%s uses tcp.%s, the stack's own", at, name), Expected: "your own sender"})
		}
	}
}

// wireRun is one run of the lossy transfer.
type wireRun struct {
	got  []byte
	err  error
	segs []string // the sending host's TCP segments: time and line
	log  []viz.Event
}

// runWire sends payload from the client to the server over a lossy wire,
// both hosts with newSender's Sender.
func runWire(newSender New, payload []byte) wireRun {
	cfg := stack.TopologyConfig{Seed: 21, Wire: wire.Config{Impairments: wire.Impairments{Loss: 0.05, Reorder: 0.03, Seed: 21}}}
	cfg.IP.TCP.ReceiveBuffer = 16384
	cfg.IP.TCP.Sender = newSender
	p, err := stack.NewPair(cfg)
	if err != nil {
		return wireRun{err: err}
	}
	mem := &viz.MemorySink{}
	p.Net.Log.AddSink(mem)
	addr := netip.AddrPortFrom(p.Server.Addr(), 9)
	var run wireRun
	ready, done := make(chan struct{}), false
	p.Net.Go(func() {
		defer func() { done = true }()
		ln, err := p.Server.ListenTCP(addr, 1)
		close(ready)
		if err != nil {
			run.err = err
			return
		}
		c, err := ln.Accept()
		if err != nil {
			run.err = err
			return
		}
		run.got, run.err = io.ReadAll(c)
		c.Close()
	})
	p.Net.Go(func() {
		<-ready
		c, err := p.Client.DialTCP(context.Background(), addr)
		if err != nil {
			return
		}
		c.Write(payload)
		c.Close()
	})
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	if err := p.Net.RunUntil(ctx, func() bool { return done }); err != nil && run.err == nil {
		run.err = err
	}
	run.log = mem.Events()
	for _, e := range run.log {
		if e.Host == "client" && e.Layer == viz.LayerTCP && e.Verdict == viz.Send {
			run.segs = append(run.segs, viz.FormatSeconds(e.T)+" "+e.Step+" "+e.Message())
		}
	}
	return run
}

const wireSent = "the client sends 100000 bytes to the server (SO_RCVBUF 16384) over a wire that loses 5% and reorders 3% of the frames (seed 21); both hosts use your sender"

func wirePayload() []byte {
	payload := make([]byte, 100_000)
	for i := range payload {
		payload[i] = byte(i*7 + i/251)
	}
	return payload
}

// senderSteps are the steps of the client's sender, for a failure.
func senderSteps(log []viz.Event) []viz.Event {
	return grading.Select(log, func(e *viz.Event) bool {
		return e.Host == "client" && e.Layer == viz.LayerTCP && slices.Contains([]string{"send", "retransmit", "ack", "dupack", "rtt", "timer", "cwnd", "persist"}, e.Step)
	})
}

func testWire(t *testing.T, newSender New) {
	ownCode(t)
	payload := wirePayload()
	want, got := runWire(tcp.NewSender, payload), runWire(newSender, payload)
	if !bytes.Equal(got.got, payload) || got.err != nil {
		at := 0
		for at < min(len(got.got), len(payload)) && got.got[at] == payload[at] {
			at++
		}
		t.Fatal(grading.Failure{Sent: wireSent, Expected: "the server reads the 100000 bytes intact, then EOF",
			Got:   fmt.Sprintf("%d bytes, the first %d right (error %v)", len(got.got), at, got.err),
			Steps: grading.Last(senderSteps(got.log), 15),
			Hint:  "run the unit tests first; a transfer that never starts means SegmentSize returned 0, one that stalls after a loss usually means the RTO"})
	}
	for i := range max(len(want.segs), len(got.segs)) {
		w, g := "(none)", "(none)"
		if i < len(want.segs) {
			w = want.segs[i]
		}
		if i < len(got.segs) {
			g = got.segs[i]
		}
		if w != g {
			t.Fatal(grading.Failure{Sent: wireSent, Expected: fmt.Sprintf("segment %d the client sends, as with the stack's own sender:\n%s", i+1, w),
				Got:   g + "\n(the segments before it were the same)",
				Steps: grading.Last(senderSteps(got.log), 15),
				Hint:  "a segment of another size: SegmentSize; a retransmission at another time: RTO, Backoff, ResetBackoff; a fast retransmit too early, too late or missing: OnACK"})
		}
	}
}
