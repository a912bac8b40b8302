// Package grade holds the graded tests of the impl-tcp-receiver lab: the
// student's tcp.Receiver called directly (in order, out of order, repeats
// and overlaps, the wrap at 2^32, the window closing and reopening, data
// beyond the window), inside a real tcp.Layer fed crafted segments (the
// ACK, window and SACK blocks of each answer), and inside two hosts on a
// lossy, reordering simulated wire, compared with the stack's own
// receiver frame by frame.
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

	"github.com/packetwalk/packetwalk/clock"
	"github.com/packetwalk/packetwalk/ip"
	"github.com/packetwalk/packetwalk/labs/impl/grading"
	"github.com/packetwalk/packetwalk/stack"
	"github.com/packetwalk/packetwalk/tcp"
	"github.com/packetwalk/packetwalk/viz"
	"github.com/packetwalk/packetwalk/wire"
)

// New is the student's constructor.
type New = func(capacity int) tcp.Receiver

// Tests are the graded tests, in the order the handout introduces them.
var Tests = []grading.Test[New]{
	{Name: "InOrder", Run: testInOrder},
	{Name: "OutOfOrderThenFill", Run: testOutOfOrder},
	{Name: "DuplicatesAndOverlaps", Run: testDuplicates},
	{Name: "WrapAround", Run: testWrap},
	{Name: "WindowShrinksAndReopens", Run: testWindow},
	{Name: "BeyondWindowRefused", Run: testBeyondWindow},
	{Name: "ACKsFromTCP", Run: testACKs},
	{Name: "WireLossyTransfer", Run: testWire},
}

// Run runs every graded test with the student's constructor.
func Run(t *testing.T, newRecv New) { grading.Run(t, Tests, newRecv) }

// bench is a receiver called directly, with the calls made so far.
type bench struct {
	r   tcp.Receiver
	log []string
}

func newBench(newRecv New, capacity int, rcvNxt uint32) *bench {
	b := &bench{r: newRecv(capacity)}
	b.r.SetNextSeq(tcp.Seq(rcvNxt))
	b.log = []string{fmt.Sprintf("r := New(%d)", capacity), fmt.Sprintf("r.SetNextSeq(%d)", rcvNxt)}
	return b
}

func (b *bench) sent() string { return strings.Join(b.log, "\n") }

// insert calls Insert and checks how many bytes it says it stored.
func (b *bench) insert(t *testing.T, seq uint32, data string, want int, why string) bool {
	t.Helper()
	n := b.r.Insert(tcp.Seq(seq), []byte(data))
	b.log = append(b.log, fmt.Sprintf("r.Insert(%d, %q) = %d", seq, data, n))
	if n != want {
		t.Error(grading.Failure{Sent: b.sent(), Expected: fmt.Sprintf("Insert returns %d: %s", want, why), Got: fmt.Sprint(n),
			Hint: "return the bytes stored that were not held before: not the old ones, not those beyond the window, not repeats"})
		return false
	}
	return true
}

// state is what an ACK would say: RCV.NXT, the window, and the ranges
// held (the SACK blocks), with the bytes waiting for read().
func state(r tcp.Receiver) string {
	var held []string
	for _, h := range r.Held() {
		held = append(held, fmt.Sprintf("[%d,%d)", uint32(h.Start), uint32(h.End)))
	}
	if len(held) == 0 {
		held = []string{"none"}
	}
	return fmt.Sprintf("RCV.NXT %d, window %d, %d readable, held %s", uint32(r.NextSeq()), r.Window(), r.Readable(), strings.Join(held, " "))
}

// expect checks the state after the calls so far.
func (b *bench) expect(t *testing.T, want, why, hint string) bool {
	t.Helper()
	if got := state(b.r); got != want {
		t.Error(grading.Failure{Sent: b.sent(), Expected: want + "\n(" + why + ")", Got: got, Hint: hint})
		return false
	}
	return true
}

// read calls Read (or Peek) with a buffer of n bytes and checks the bytes.
func (b *bench) read(t *testing.T, n int, peek bool, want string) bool {
	t.Helper()
	p := make([]byte, n)
	call, got := "Read", 0
	if peek {
		call, got = "Peek", b.r.Peek(p)
	} else {
		got = b.r.Read(p)
	}
	b.log = append(b.log, fmt.Sprintf("r.%s(make([]byte, %d)) = %d, %q", call, n, got, p[:got]))
	if got < 0 || got > n || string(p[:got]) != want {
		t.Error(grading.Failure{Sent: b.sent(), Expected: fmt.Sprintf("%s gives %q", call, want), Got: fmt.Sprintf("%q", p[:max(min(got, n), 0)]),
			Hint: "Read and Peek copy the in-order bytes, oldest first, at most len(p)"})
		return false
	}
	return true
}

func testInOrder(t *testing.T, newRecv New) {
	b := newBench(newRecv, 1000, 100)
	_ = b.expect(t, "RCV.NXT 100, window 1000, 0 readable, held none", "nothing has arrived: the next byte expected is IRS+1", "NextSeq returns what SetNextSeq set; Window is the whole capacity") &&
		b.insert(t, 100, "hello", 5, "the five bytes are the next ones expected") &&
		b.expect(t, "RCV.NXT 105, window 995, 5 readable, held none", "the ACK acknowledges byte 105 next; the five bytes wait for read() and take 5 bytes of the window",
			"RCV.NXT moves past every byte received in order; Window is the capacity less the bytes not read yet") &&
		b.insert(t, 105, " world", 6, "they follow at once") &&
		b.read(t, 5, true, "hello") &&
		b.expect(t, "RCV.NXT 111, window 989, 11 readable, held none", "Peek leaves the bytes where they are", "") &&
		b.read(t, 100, false, "hello world") &&
		b.expect(t, "RCV.NXT 111, window 1000, 0 readable, held none", "read() took everything: the window is whole again", "Read removes the bytes it copies")
}

func testOutOfOrder(t *testing.T, newRecv New) {
	b := newBench(newRecv, 1000, 1000)
	_ = b.insert(t, 1010, "KLMNO", 5, "bytes 1010-1014 lie inside the window, beyond a hole: they are held") &&
		b.expect(t, "RCV.NXT 1000, window 1000, 0 readable, held [1010,1015)", "byte 1000 is still missing, so the ACK still says 1000; the held bytes are not readable and do not shrink the window",
			"a segment beyond RCV.NXT is kept where it belongs; Held reports it") &&
		b.insert(t, 1020, "UVWXY", 5, "held too, beyond a second hole") &&
		b.expect(t, "RCV.NXT 1000, window 1000, 0 readable, held [1010,1015) [1020,1025)", "two ranges, in sequence order", "Held lists the ranges from the lowest sequence number up") &&
		b.insert(t, 1015, "PQRST", 5, "they fill the hole between the two held ranges") &&
		b.expect(t, "RCV.NXT 1000, window 1000, 0 readable, held [1010,1025)", "the two ranges and the segment between them are one range now", "join ranges that touch: [1010,1015) and [1015,1020) are [1010,1020)") &&
		b.insert(t, 1000, "ABCDEFGHIJ", 10, "the missing bytes at RCV.NXT") &&
		b.expect(t, "RCV.NXT 1025, window 975, 25 readable, held none", "the hole is filled: everything held follows in order, and the ACK jumps to 1025",
			"after storing data at RCV.NXT, move on over every held byte that now follows without a gap") &&
		b.read(t, 100, false, "ABCDEFGHIJKLMNOPQRSTUVWXY")
}

func testDuplicates(t *testing.T, newRecv New) {
	b := newBench(newRecv, 1000, 5000)
	_ = b.insert(t, 5000, "abcde", 5, "the next bytes expected") &&
		b.insert(t, 5000, "abcde", 0, "the same segment again (a retransmission whose original arrived): nothing new") &&
		b.insert(t, 5003, "XXfgh", 3, "5003 and 5004 were received already; 5005-5007 are new") &&
		b.expect(t, "RCV.NXT 5008, window 992, 8 readable, held none", "", "bytes before RCV.NXT are old: skip them, keep the rest of the segment") &&
		b.insert(t, 5010, "klmno", 5, "held beyond the hole at 5008") &&
		b.insert(t, 5012, "ZZZpq", 2, "5012-5014 are held already (their first copy stays); 5015 and 5016 are new") &&
		b.expect(t, "RCV.NXT 5008, window 992, 8 readable, held [5010,5017)", "the overlap joins the held range", "") &&
		b.insert(t, 5008, "ij", 2, "the hole") &&
		b.read(t, 100, false, "abcdefghijklmnopq") &&
		b.expect(t, "RCV.NXT 5017, window 1000, 0 readable, held none", "", "")
}

func testWrap(t *testing.T, newRecv New) {
	const top = 1<<32 - 4 // four bytes before the wrap
	b := newBench(newRecv, 1000, top)
	_ = b.insert(t, top+2, "cd", 2, "bytes 4294967294 and 4294967295, two after RCV.NXT") &&
		b.insert(t, 1, "fg", 2, "bytes 1 and 2 come five bytes after RCV.NXT: the numbers wrapped at 2^32") &&
		b.expect(t, "RCV.NXT 4294967292, window 1000, 0 readable, held [4294967294,0) [1,3)", "both held; the first range ends at 2^32, which is 0",
			"compare sequence numbers by their distance, tcp.Seq's Sub (int32(a-b)), not with < on the raw numbers") &&
		b.insert(t, top, "ab", 2, "the hole at RCV.NXT") &&
		b.expect(t, "RCV.NXT 0, window 996, 4 readable, held [1,3)", "RCV.NXT wraps from 4294967295 to 0", "") &&
		b.insert(t, 0, "e", 1, "byte 0") &&
		b.insert(t, top-6, "0123456789", 0, "bytes 4294967286-4294967295 were all received already: old, although 4294967286 > 7") &&
		b.expect(t, "RCV.NXT 3, window 993, 7 readable, held none", "", "") &&
		b.read(t, 100, false, "abcdefg")
}

func testWindow(t *testing.T, newRecv New) {
	b := newBench(newRecv, 10, 700)
	_ = b.insert(t, 700, "abcdef", 6, "the window is 10 bytes") &&
		b.expect(t, "RCV.NXT 706, window 4, 6 readable, held none", "the six bytes wait for read() and take six of the ten bytes", "Window is the capacity less Readable") &&
		b.insert(t, 706, "ghijkl", 4, "only four fit: the window's right edge is 710 (RFC 9293 section 3.10.7.4 trims the segment)") &&
		b.expect(t, "RCV.NXT 710, window 0, 10 readable, held none", "the buffer is full: the ACK advertises a zero window", "") &&
		b.insert(t, 710, "kl", 0, "a zero window takes nothing") &&
		b.read(t, 5, false, "abcde") &&
		b.expect(t, "RCV.NXT 710, window 5, 5 readable, held none", "read() freed five bytes: the window reopens", "Read removes the bytes it copies, and the window grows by as much") &&
		b.insert(t, 710, "klmnop", 5, "five fit again") &&
		b.read(t, 100, false, "fghijklmno") &&
		b.expect(t, "RCV.NXT 715, window 10, 0 readable, held none", "", "")
}

func testBeyondWindow(t *testing.T, newRecv New) {
	b := newBench(newRecv, 10, 0)
	_ = b.insert(t, 8, "ij", 2, "bytes 8 and 9 are the last two of the 10-byte window") &&
		b.insert(t, 10, "k", 0, "byte 10 is at RCV.NXT+Window(): no room (RFC 9293 section 3.10.7.4)") &&
		b.insert(t, 9, "jkl", 0, "9 is held already, and 10 and 11 are beyond the window") &&
		b.insert(t, 100000, "far", 0, "far beyond the window") &&
		b.expect(t, "RCV.NXT 0, window 10, 0 readable, held [8,10)", "nothing beyond the window is kept", "drop every byte at or past RCV.NXT+Window(), also out of order") &&
		b.insert(t, 5, "fghij", 3, "5-7 are new; 8 and 9 are held already") &&
		b.insert(t, 0, "abcdeXYZ", 5, "0-4 are new; the rest is held already") &&
		b.expect(t, "RCV.NXT 10, window 0, 10 readable, held none", "", "") &&
		b.read(t, 100, false, "abcdefghij")
}

// fakeIP is the layer's Network: it keeps what TCP sends.
type fakeIP struct {
	sent []string
	hdrs []tcp.Header
}

func (f *fakeIP) Send(o ip.Outbound) error {
	h, err := tcp.Segment(o.Payload).Parse()
	if err != nil {
		return err
	}
	f.sent, f.hdrs = append(f.sent, h.String()), append(f.hdrs, h)
	return nil
}
func (f *fakeIP) SourceFor(netip.Addr) (netip.Addr, error) {
	return netip.MustParseAddr("10.0.0.2"), nil
}
func (f *fakeIP) MTUFor(netip.Addr) int { return 1500 }

// ackRun is one run of the ACK script: what the peer sent and read()
// did, what TCP answered to each, and the steps of the run.
type ackRun struct {
	calls   []string
	answers []string
	steps   []viz.Event
}

// runACKs feeds a server connection a script of segments (newRecv nil:
// the stack's own receiver) and records the answer to each.
func runACKs(newRecv New) ackRun {
	clk := clock.NewVirtual()
	vlog := viz.NewLog(clk)
	mem := &viz.MemorySink{}
	vlog.AddSink(mem)
	net := &fakeIP{}
	cfg := tcp.Config{Clock: clk, Recorder: vlog.Recorder("server"), Network: net, ISNSecret: []byte("grade"), DelayedACK: -1, ReceiveBuffer: 4000}
	if newRecv != nil {
		cfg.Receiver = newRecv
	}
	l := tcp.NewLayer(cfg)
	srv, peer := netip.MustParseAddrPort("10.0.0.2:80"), netip.MustParseAddrPort("10.0.0.1:40000")
	var run ackRun
	frame := uint64(0)
	seg := func(what string, h tcp.Header, data []byte) {
		h.SrcPort, h.DstPort = peer.Port(), srv.Port()
		frame++
		n := len(net.sent)
		l.Receive(ip.Datagram{Frame: frame, Src: peer.Addr(), Dst: srv.Addr(), Protocol: ip.ProtocolTCP, TTL: 64, Payload: h.Append(nil, peer.Addr(), srv.Addr(), data)})
		run.calls = append(run.calls, fmt.Sprintf("%s: %s len %d", what, h, len(data)))
		run.answers = append(run.answers, strings.Join(net.sent[n:], "\n"))
	}
	lst, err := l.Listen(srv, 4, tcp.Options{}, nil)
	if err != nil {
		run.answers = append(run.answers, err.Error())
		return run
	}
	const irs = 3_000_000
	seg("SYN, SACK permitted", tcp.Header{Seq: irs, Flags: tcp.FlagSYN, Window: 65535, Options: tcp.HeaderOptions{MSS: 1460, SACKPermitted: true}}, nil)
	if len(net.hdrs) != 1 {
		return run
	}
	iss := net.hdrs[0].Seq
	ack := func(what string, off, n int) {
		seg(what, tcp.Header{Seq: tcp.Seq(irs + 1 + off), Ack: iss.Add(1), Flags: tcp.FlagACK, Window: 65535}, bytes.Repeat([]byte{byte('a' + off/500%26)}, n))
	}
	ack("the handshake's ACK", 0, 0)
	ack("bytes 0-999 in order", 0, 1000)
	ack("bytes 2000-2499 beyond a hole", 2000, 500)
	ack("bytes 3000-3499 beyond another", 3000, 500)
	ack("bytes 2000-2499 again", 2000, 500)
	ack("bytes 1000-1999: the first hole", 1000, 1000)
	ack("bytes 0-99 again", 0, 100)
	ack("bytes 2500-2999: the last hole", 2500, 500)
	ack("bytes 3500-4499: only 500 fit", 3500, 1000)
	c, err := lst.Accept()
	if err == nil {
		p := make([]byte, 2500)
		n, _ := c.Read(p)
		run.calls = append(run.calls, fmt.Sprintf("read() of 2500 bytes = %d", n))
		run.answers = append(run.answers, "")
	}
	ack("bytes 4000-5499", 4000, 1500)
	run.steps = grading.Select(mem.Events(), func(e *viz.Event) bool {
		return e.Layer == viz.LayerTCP && (e.Step == "data" || e.Step == "dsack" || e.Verdict == viz.Send || e.Verdict == viz.Drop || e.Step == "window")
	})
	return run
}

func testACKs(t *testing.T, newRecv New) {
	want, got := runACKs(nil), runACKs(newRecv)
	for i := range want.calls {
		if i >= len(got.answers) || got.answers[i] != want.answers[i] {
			g := "(nothing: the run stopped)"
			if i < len(got.answers) {
				g = got.answers[i]
			}
			if g == "" {
				g = "nothing sent"
			}
			t.Fatal(grading.Failure{
				Sent:     "a connection on a tcp.Layer using your receiver (SO_RCVBUF 4000, no delayed ACK) receives:\n" + strings.Join(want.calls[:i+1], "\n"),
				Expected: "TCP answers, as it does with its own receiver:\n" + want.answers[i],
				Got:      g,
				Steps:    grading.Last(got.steps, 12),
				Hint:     "the ack is NextSeq(), the win is Window(), the sack blocks come from Held(); compare with the unit tests above",
			})
		}
	}
}

// wireRun is one run of the lossy transfer.
type wireRun struct {
	got  []byte
	err  error
	acks []string // the receiving host's TCP segments: time and line
	log  []viz.Event
}

func runWire(newRecv New, payload []byte) wireRun {
	cfg := stack.TopologyConfig{Seed: 19, Wire: wire.Config{Impairments: wire.Impairments{Loss: 0.04, Reorder: 0.06, Duplicate: 0.02, Seed: 19}}}
	cfg.IP.TCP.ReceiveBuffer = 16384
	if newRecv != nil {
		cfg.IP.TCP.Receiver = newRecv
	}
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
		if e.Host == "server" && e.Layer == viz.LayerTCP && e.Verdict == viz.Send {
			run.acks = append(run.acks, viz.FormatSeconds(e.T)+" "+e.Message())
		}
	}
	return run
}

func testWire(t *testing.T, newRecv New) {
	payload := make([]byte, 120_000)
	for i := range payload {
		payload[i] = byte(i*7 + i/251)
	}
	sent := "the client sends 120000 bytes to the server (SO_RCVBUF 16384 on both) over a wire that loses 4%, reorders 6% and duplicates 2% of the frames (seed 19); both hosts use your receiver"
	want, got := runWire(nil, payload), runWire(newRecv, payload)
	if !bytes.Equal(got.got, payload) || got.err != nil {
		at := 0
		for at < min(len(got.got), len(payload)) && got.got[at] == payload[at] {
			at++
		}
		t.Fatal(grading.Failure{Sent: sent, Expected: "the server reads the 120000 bytes intact, then EOF",
			Got:   fmt.Sprintf("%d bytes, the first %d right (error %v)", len(got.got), at, got.err),
			Steps: grading.Last(grading.Select(got.log, func(e *viz.Event) bool { return e.Host == "server" && e.Layer == viz.LayerTCP }), 15),
			Hint:  "run the unit tests first; a transfer that stalls usually means RCV.NXT or the window stopped moving"})
	}
	for i := range max(len(want.acks), len(got.acks)) {
		w, g := "(none)", "(none)"
		if i < len(want.acks) {
			w = want.acks[i]
		}
		if i < len(got.acks) {
			g = got.acks[i]
		}
		if w != g {
			t.Fatal(grading.Failure{Sent: sent, Expected: fmt.Sprintf("segment %d the server sends, as with the stack's own receiver:\n%s", i+1, w),
				Got: g + "\n(the segments before it were the same)",
				Steps: grading.Last(grading.Select(got.log, func(e *viz.Event) bool {
					return e.Host == "server" && e.Layer == viz.LayerTCP && slices.Contains([]string{"data", "dsack", "send", "window", "ack"}, e.Step)
				}), 15),
				Hint: "compare the ack (NextSeq), win (Window) and sack blocks (Held) with what your receiver holds at that moment"})
		}
	}
}
