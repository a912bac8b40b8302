package tcp

import (
	"errors"
	"io"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/packetwalk/packetwalk/clock"
	"github.com/packetwalk/packetwalk/ip"
	"github.com/packetwalk/packetwalk/viz"
)

// Unit tests of single transitions and drops: a Layer over a fake Network
// that records what TCP sends, fed with crafted segments whose flags,
// sequence and acknowledgement numbers are exactly what a test wants.

var (
	rigLocal  = netip.MustParseAddr("10.0.0.2")
	rigRemote = netip.MustParseAddr("10.0.0.1")
)

// sent is one segment TCP handed to the fake network.
type sent struct {
	src, dst netip.Addr
	hdr      Header
	payload  []byte
	frame    uint64
}

func (s sent) String() string { return s.hdr.String() }

// fakeNet is the IP layer as TCP sees it, recording every segment.
type fakeNet struct {
	t    *testing.T
	out  []sent
	addr netip.Addr
}

func (f *fakeNet) Send(o ip.Outbound) error {
	seg := Segment(o.Payload)
	if err := seg.Check(o.Src, o.Dst); err != nil {
		f.t.Errorf("TCP sent a bad segment: %v", err)
		return nil
	}
	h, err := seg.Parse()
	if err != nil {
		f.t.Errorf("TCP sent an unparsable segment: %v", err)
		return nil
	}
	f.out = append(f.out, sent{src: o.Src, dst: o.Dst, hdr: h, payload: append([]byte(nil), seg.Payload()...), frame: o.Frame})
	return nil
}

func (f *fakeNet) SourceFor(netip.Addr) (netip.Addr, error) { return f.addr, nil }
func (f *fakeNet) MTUFor(netip.Addr) int                    { return 1500 }

// rig is one TCP layer on a fake network, with its step log in memory.
type rig struct {
	t     *testing.T
	clock *clock.Virtual
	log   *viz.Log
	mem   *viz.MemorySink
	net   *fakeNet
	l     *Layer
}

func newRig(t *testing.T, cfg Config) *rig {
	t.Helper()
	clock := clock.NewVirtual()
	log := viz.NewLog(clock)
	mem := &viz.MemorySink{}
	log.AddSink(mem)
	fn := &fakeNet{t: t, addr: rigLocal}
	cfg.Clock, cfg.Recorder, cfg.Network = clock, log.Recorder("server"), fn
	if cfg.ISNSecret == nil {
		cfg.ISNSecret = []byte("endpoint_test")
	}
	return &rig{t: t, clock: clock, log: log, mem: mem, net: fn, l: NewLayer(cfg)}
}

// inject hands the layer a crafted segment from -> to and returns its frame.
func (r *rig) inject(from, to netip.AddrPort, h Header, payload []byte) uint64 {
	h.SrcPort, h.DstPort = from.Port(), to.Port()
	return r.injectRaw(from.Addr(), to.Addr(), h.Append(nil, from.Addr(), to.Addr(), payload))
}

func (r *rig) injectRaw(src, dst netip.Addr, seg []byte) uint64 {
	frame := r.log.NewFrameID()
	r.l.Receive(ip.Datagram{Frame: frame, Src: src, Dst: dst, Protocol: ip.ProtocolTCP, TTL: 64, Payload: seg})
	return frame
}

// take returns what TCP sent since the last call.
func (r *rig) take() []sent {
	out := r.net.out
	r.net.out = nil
	return out
}

// takeOne expects exactly one segment sent and returns it.
func (r *rig) takeOne(what string) sent {
	r.t.Helper()
	out := r.take()
	if len(out) != 1 {
		r.t.Fatalf("%s: %d segments sent, want 1: %v", what, len(out), out)
	}
	return out[0]
}

// expectNone expects that nothing was sent.
func (r *rig) expectNone(what string) {
	r.t.Helper()
	if out := r.take(); len(out) != 0 {
		r.t.Fatalf("%s: %d segments sent, want none: %v", what, len(out), out)
	}
}

// frameEvents returns the events of one arriving frame.
func (r *rig) frameEvents(frame uint64) []viz.Event {
	var out []viz.Event
	for _, e := range r.mem.Events() {
		if e.Frame == frame {
			out = append(out, e)
		}
	}
	return out
}

// expectDrop checks that frame was dropped with reason (and at step, if
// given) and returns the drop event.
func (r *rig) expectDrop(frame uint64, step string, reason viz.Reason) viz.Event {
	r.t.Helper()
	var drops []viz.Event
	for _, e := range r.frameEvents(frame) {
		if e.Verdict == viz.Drop {
			drops = append(drops, e)
		}
	}
	if len(drops) != 1 || drops[0].Reason != reason || step != "" && drops[0].Step != step {
		r.t.Fatalf("frame %d: drops %+v, want one %s at step %q", frame, drops, reason, step)
	}
	return drops[0]
}

// expectNoDrop checks that frame was not dropped.
func (r *rig) expectNoDrop(frame uint64) {
	r.t.Helper()
	for _, e := range r.frameEvents(frame) {
		if e.Verdict == viz.Drop {
			r.t.Fatalf("frame %d dropped: %s %s: %s", frame, e.Step, e.Reason, e.Msg)
		}
	}
}

// transitions returns conn's state steps as "FROM>TO" strings.
func (r *rig) transitions(conn uint64) []string {
	var out []string
	for _, e := range r.mem.Events() {
		if e.Step == "state" && e.Conn == conn {
			from, _ := e.Field("from")
			to, _ := e.Field("to")
			out = append(out, from+">"+to)
		}
	}
	return out
}

func (r *rig) expectTransitions(conn uint64, want ...string) {
	r.t.Helper()
	if got := r.transitions(conn); strings.Join(got, " ") != strings.Join(want, " ") {
		r.t.Fatalf("conn %d transitions %v, want %v", conn, got, want)
	}
}

func expectSeg(t *testing.T, s sent, flags Flags, seq, ack Seq) {
	t.Helper()
	if s.hdr.Flags != flags || s.hdr.Seq != seq || flags&FlagACK != 0 && s.hdr.Ack != ack {
		t.Fatalf("sent %v, want flags %v seq %d ack %d", s, flags, uint32(seq), uint32(ack))
	}
}

const (
	peerISS = Seq(1_000_000)
	srvPort = 80
)

var (
	srvAddr  = netip.AddrPortFrom(rigLocal, srvPort)
	peerAddr = netip.AddrPortFrom(rigRemote, 40000)
)

// peerSYN is the SYN a client sends: MSS and SACK, no window scaling,
// so that windows read as they are.
func peerSYN(seq Seq) Header {
	return Header{Seq: seq, Flags: FlagSYN, Window: 65535, Options: HeaderOptions{MSS: 1460, SACKPermitted: true}}
}

// conn is a connection set up by a test, with the peer's view of the
// sequence numbers.
type conn struct {
	e        *Endpoint
	lst      *Endpoint
	peerNxt  Seq // the peer's SND.NXT
	localNxt Seq // what the peer expects from us next (its RCV.NXT)
}

// passiveOpen listens on srvAddr and completes a handshake from peer.
func (r *rig) passiveOpen(backlog int, peer netip.AddrPort, iss Seq) conn {
	r.t.Helper()
	lst := r.l.table.LookupListener(srvAddr)
	if lst == nil {
		var err error
		if lst, err = r.l.Listen(srvAddr, backlog, Options{}, nil); err != nil {
			r.t.Fatal(err)
		}
	}
	r.inject(peer, srvAddr, peerSYN(iss), nil)
	synack := r.takeOne("SYN at the listener")
	expectSeg(r.t, synack, FlagSYN|FlagACK, synack.hdr.Seq, iss.Add(1))
	f := r.inject(peer, srvAddr, Header{Seq: iss.Add(1), Ack: synack.hdr.Seq.Add(1), Flags: FlagACK, Window: 65535}, nil)
	r.expectNoDrop(f)
	r.expectNone("final ACK")
	c, err := lst.Accept()
	if err != nil {
		r.t.Fatalf("accept: %v", err)
	}
	if c.State() != Established {
		r.t.Fatalf("accepted socket in %s", c.State())
	}
	return conn{e: c, lst: lst, peerNxt: iss.Add(1), localNxt: synack.hdr.Seq.Add(1)}
}

// activeOpen connects to peer and completes the handshake with a crafted
// SYN+ACK.
func (r *rig) activeOpen(peer netip.AddrPort, iss Seq) conn {
	r.t.Helper()
	e, err := r.l.Connect(netip.AddrPort{}, peer, Options{}, nil)
	if err != nil {
		r.t.Fatal(err)
	}
	syn := r.takeOne("connect")
	expectSeg(r.t, syn, FlagSYN, syn.hdr.Seq, 0)
	h := peerSYN(iss)
	h.Flags, h.Ack = FlagSYN|FlagACK, syn.hdr.Seq.Add(1)
	f := r.inject(peer, e.LocalAddr(), h, nil)
	r.expectNoDrop(f)
	expectSeg(r.t, r.takeOne("SYN+ACK"), FlagACK, syn.hdr.Seq.Add(1), iss.Add(1))
	if e.State() != Established {
		r.t.Fatalf("connection in %s after the SYN+ACK", e.State())
	}
	return conn{e: e, peerNxt: iss.Add(1), localNxt: syn.hdr.Seq.Add(1)}
}

// fromPeer sends a segment from the connection's peer.
func (r *rig) fromPeer(c conn, h Header, payload []byte) uint64 {
	return r.inject(c.e.RemoteAddr(), c.e.LocalAddr(), h, payload)
}

// --- transitions ---------------------------------------------------------

func TestPassiveOpenClonesListener(t *testing.T) {
	r := newRig(t, Config{})
	c := r.passiveOpen(4, peerAddr, peerISS)
	r.expectTransitions(c.lst.ID, "CLOSED>LISTEN")
	r.expectTransitions(c.e.ID, "CLOSED>SYN_RECEIVED", "SYN_RECEIVED>ESTABLISHED")
	if c.lst.State() != Listen {
		t.Fatalf("listener in %s", c.lst.State())
	}
	var clone *viz.Event
	for _, e := range r.mem.Events() {
		if e.Step == "listen_clone" {
			clone = &e
		}
	}
	if clone == nil || clone.Conn != c.e.ID {
		t.Fatalf("no listen_clone step for conn %d", c.e.ID)
	}
	for _, k := range []string{"isn", "irs", "window", "mss", "sndbuf", "rcvbuf"} {
		if _, ok := clone.Field(k); !ok {
			t.Errorf("listen_clone has no %s", k)
		}
	}
	if v, _ := clone.Field("irs"); v != "1000000" {
		t.Errorf("listen_clone irs %s", v)
	}
}

func TestActiveOpenAndClose(t *testing.T) {
	r := newRig(t, Config{MSL: time.Second})
	c := r.activeOpen(netip.AddrPortFrom(rigRemote, 80), peerISS)
	if err := c.e.Close(); err != nil {
		t.Fatal(err)
	}
	fin := r.takeOne("close")
	expectSeg(t, fin, FlagFIN|FlagACK, c.localNxt, c.peerNxt)
	r.fromPeer(c, Header{Seq: c.peerNxt, Ack: c.localNxt.Add(1), Flags: FlagACK, Window: 65535}, nil)
	r.expectNone("ACK of our FIN")
	r.fromPeer(c, Header{Seq: c.peerNxt, Ack: c.localNxt.Add(1), Flags: FlagFIN | FlagACK, Window: 65535}, nil)
	expectSeg(t, r.takeOne("peer's FIN"), FlagACK, c.localNxt.Add(1), c.peerNxt.Add(1))
	if c.e.State() != TimeWait {
		t.Fatalf("state %s, want TIME_WAIT", c.e.State())
	}
	r.clock.RunFor(2*time.Second - time.Millisecond)
	if c.e.State() != TimeWait {
		t.Fatalf("state %s before 2 MSL, want TIME_WAIT", c.e.State())
	}
	r.clock.RunFor(time.Millisecond)
	r.expectTransitions(c.e.ID, "CLOSED>SYN_SENT", "SYN_SENT>ESTABLISHED", "ESTABLISHED>FIN_WAIT_1",
		"FIN_WAIT_1>FIN_WAIT_2", "FIN_WAIT_2>TIME_WAIT", "TIME_WAIT>CLOSED")
	if len(r.l.Endpoints()) != 0 {
		t.Fatalf("endpoints left: %v", r.l.Endpoints())
	}
}

func TestPassiveClose(t *testing.T) {
	r := newRig(t, Config{})
	c := r.passiveOpen(4, peerAddr, peerISS)
	r.fromPeer(c, Header{Seq: c.peerNxt, Ack: c.localNxt, Flags: FlagFIN | FlagACK, Window: 65535}, nil)
	expectSeg(t, r.takeOne("peer's FIN"), FlagACK, c.localNxt, c.peerNxt.Add(1))
	if _, err := c.e.Read(make([]byte, 10)); err != io.EOF {
		t.Fatalf("read after FIN: %v, want EOF", err)
	}
	c.e.Close()
	expectSeg(t, r.takeOne("close"), FlagFIN|FlagACK, c.localNxt, c.peerNxt.Add(1))
	r.fromPeer(c, Header{Seq: c.peerNxt.Add(1), Ack: c.localNxt.Add(1), Flags: FlagACK, Window: 65535}, nil)
	r.expectNone("last ACK")
	r.expectTransitions(c.e.ID, "CLOSED>SYN_RECEIVED", "SYN_RECEIVED>ESTABLISHED", "ESTABLISHED>CLOSE_WAIT",
		"CLOSE_WAIT>LAST_ACK", "LAST_ACK>CLOSED")
}

func TestSimultaneousClose(t *testing.T) {
	r := newRig(t, Config{MSL: time.Second})
	c := r.passiveOpen(4, peerAddr, peerISS)
	c.e.Close()
	expectSeg(t, r.takeOne("close"), FlagFIN|FlagACK, c.localNxt, c.peerNxt)
	// The peer's FIN crossed ours: it does not acknowledge our FIN.
	r.fromPeer(c, Header{Seq: c.peerNxt, Ack: c.localNxt, Flags: FlagFIN | FlagACK, Window: 65535}, nil)
	expectSeg(t, r.takeOne("peer's FIN"), FlagACK, c.localNxt.Add(1), c.peerNxt.Add(1))
	if c.e.State() != Closing {
		t.Fatalf("state %s, want CLOSING", c.e.State())
	}
	r.fromPeer(c, Header{Seq: c.peerNxt.Add(1), Ack: c.localNxt.Add(1), Flags: FlagACK, Window: 65535}, nil)
	r.expectNone("ACK of our FIN")
	r.clock.RunFor(2 * time.Second)
	r.expectTransitions(c.e.ID, "CLOSED>SYN_RECEIVED", "SYN_RECEIVED>ESTABLISHED", "ESTABLISHED>FIN_WAIT_1",
		"FIN_WAIT_1>CLOSING", "CLOSING>TIME_WAIT", "TIME_WAIT>CLOSED")
}

// TestSimultaneousOpen follows RFC 9293 Figure 8: our SYN and the peer's
// cross; each side answers SYN+ACK; each SYN+ACK completes the open.
func TestSimultaneousOpen(t *testing.T) {
	r := newRig(t, Config{})
	peer := netip.AddrPortFrom(rigRemote, 5001)
	e, err := r.l.Connect(netip.AddrPortFrom(rigLocal, 5002), peer, Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	syn := r.takeOne("connect")
	iss := syn.hdr.Seq
	r.inject(peer, e.LocalAddr(), peerSYN(peerISS), nil)
	synack := r.takeOne("crossing SYN")
	expectSeg(t, synack, FlagSYN|FlagACK, iss, peerISS.Add(1))
	if e.State() != SynReceived {
		t.Fatalf("state %s after the crossing SYN, want SYN_RECEIVED", e.State())
	}
	h := peerSYN(peerISS)
	h.Flags, h.Ack = FlagSYN|FlagACK, iss.Add(1)
	f := r.inject(peer, e.LocalAddr(), h, nil)
	r.expectNoDrop(f)
	if e.State() != Established {
		t.Fatalf("state %s after the peer's SYN+ACK, want ESTABLISHED", e.State())
	}
	r.expectTransitions(e.ID, "CLOSED>SYN_SENT", "SYN_SENT>SYN_RECEIVED", "SYN_RECEIVED>ESTABLISHED")
	// Data flows both ways afterwards.
	f = r.inject(peer, e.LocalAddr(), Header{Seq: peerISS.Add(1), Ack: iss.Add(1), Flags: FlagACK | FlagPSH, Window: 65535}, []byte("hello"))
	r.expectNoDrop(f)
	buf := make([]byte, 16)
	if n, err := e.Read(buf); err != nil || string(buf[:n]) != "hello" {
		t.Fatalf("read %q, %v", buf[:n], err)
	}
	for _, ev := range r.mem.Events() {
		if ev.Step == "retransmit" {
			t.Errorf("a retransmission in a simultaneous open without loss: %s", ev.Msg)
		}
	}
}

// TestSynReceivedRetransmittedSYN: the SYN+ACK was lost and the client
// sends its SYN again; the half-open clone answers with SYN+ACK again.
func TestSynReceivedRetransmittedSYN(t *testing.T) {
	r := newRig(t, Config{})
	lst, err := r.l.Listen(srvAddr, 4, Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	r.inject(peerAddr, srvAddr, peerSYN(peerISS), nil)
	first := r.takeOne("SYN")
	f := r.inject(peerAddr, srvAddr, peerSYN(peerISS), nil)
	r.expectNoDrop(f)
	again := r.takeOne("retransmitted SYN")
	expectSeg(t, again, FlagSYN|FlagACK, first.hdr.Seq, peerISS.Add(1))
	if n := lst.Info().SynQueue; n != 1 {
		t.Fatalf("SYN queue %d, want 1 (no second clone)", n)
	}
}

// --- drops ---------------------------------------------------------------

func TestDropNoSocket(t *testing.T) {
	r := newRig(t, Config{})
	closed := netip.AddrPortFrom(rigLocal, 9)

	// A SYN: <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>.
	f := r.inject(peerAddr, closed, peerSYN(peerISS), nil)
	d := r.expectDrop(f, "demux", viz.ReasonNoSocket)
	if rule, _ := d.Field("rule"); rule != "none" {
		t.Fatalf("demux rule %q, want none", rule)
	}
	rst := r.takeOne("SYN to a closed port")
	expectSeg(t, rst, FlagRST|FlagACK, 0, peerISS.Add(1))
	if rst.hdr.SrcPort != 9 || rst.hdr.DstPort != peerAddr.Port() || rst.dst != rigRemote || rst.src != rigLocal {
		t.Fatalf("RST addressed %s:%d -> %s:%d", rst.src, rst.hdr.SrcPort, rst.dst, rst.hdr.DstPort)
	}

	// Data and FIN without ACK: the ACK covers both.
	f = r.inject(peerAddr, closed, Header{Seq: 5000, Flags: FlagFIN | FlagPSH, Window: 100}, []byte("0123456789"))
	r.expectDrop(f, "demux", viz.ReasonNoSocket)
	expectSeg(t, r.takeOne("FIN to a closed port"), FlagRST|FlagACK, 0, 5011)

	// A segment with ACK: <SEQ=SEG.ACK><CTL=RST>.
	f = r.inject(peerAddr, closed, Header{Seq: 5000, Ack: 777, Flags: FlagACK, Window: 100}, []byte("x"))
	r.expectDrop(f, "demux", viz.ReasonNoSocket)
	expectSeg(t, r.takeOne("ACK to a closed port"), FlagRST, 777, 0)

	// A RST is never answered.
	f = r.inject(peerAddr, closed, Header{Seq: 5000, Flags: FlagRST}, nil)
	r.expectDrop(f, "demux", viz.ReasonNoSocket)
	r.expectNone("RST to a closed port")
}

func TestDropBacklogFullSYNQueue(t *testing.T) {
	r := newRig(t, Config{SynCookies: SynCookiesOff})
	lst, err := r.l.Listen(srvAddr, 2, Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		peer := netip.AddrPortFrom(rigRemote, uint16(40000+i))
		f := r.inject(peer, srvAddr, peerSYN(peerISS), nil)
		if i < 2 {
			r.expectNoDrop(f)
			r.takeOne("SYN")
			continue
		}
		d := r.expectDrop(f, "listen", viz.ReasonBacklogFull)
		if !strings.Contains(d.Msg, "2 half-open") {
			t.Errorf("backlog drop says %q", d.Msg)
		}
		r.expectNone("SYN over the backlog") // silently: the client retries
	}
	if in := lst.Info(); in.SynQueue != 2 || in.AcceptQueue != 0 {
		t.Fatalf("queues %d/%d", in.SynQueue, in.AcceptQueue)
	}
	if r.l.Stats().ListenDrops != 1 {
		t.Fatalf("ListenDrops %d", r.l.Stats().ListenDrops)
	}
}

func TestDropBacklogFullAcceptQueue(t *testing.T) {
	r := newRig(t, Config{})
	lst, err := r.l.Listen(srvAddr, 2, Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	peer := func(i int) netip.AddrPort { return netip.AddrPortFrom(rigRemote, uint16(40000+i)) }
	iss := map[int]Seq{}
	syn := func(i int) uint64 {
		f := r.inject(peer(i), srvAddr, peerSYN(peerISS), nil)
		if out := r.take(); len(out) == 1 {
			iss[i] = out[0].hdr.Seq
		}
		return f
	}
	ack := func(i int) uint64 {
		return r.inject(peer(i), srvAddr, Header{Seq: peerISS.Add(1), Ack: iss[i].Add(1), Flags: FlagACK, Window: 65535}, nil)
	}
	r.expectNoDrop(syn(0))
	r.expectNoDrop(ack(0)) // accept queue 1
	r.expectNoDrop(syn(1)) // SYN queue 1
	r.expectNoDrop(syn(2)) // SYN queue 2
	r.expectNoDrop(ack(1)) // accept queue 2: full
	// The third final ACK finds the accept queue full: the clone stays
	// half-open and its SYN+ACK will be retransmitted.
	d := r.expectDrop(ack(2), "ack", viz.ReasonBacklogFull)
	if !strings.Contains(d.Msg, "accept queue full") {
		t.Errorf("drop says %q", d.Msg)
	}
	// And a new SYN is refused while the accept queue is full.
	r.expectDrop(syn(3), "listen", viz.ReasonBacklogFull)
	r.expectNone("SYN over the backlog")
	if in := lst.Info(); in.SynQueue != 1 || in.AcceptQueue != 2 {
		t.Fatalf("queues %d/%d", in.SynQueue, in.AcceptQueue)
	}
	// accept() makes room; the retransmitted SYN+ACK draws an ACK that
	// now gets in.
	if _, err := lst.Accept(); err != nil {
		t.Fatal(err)
	}
	r.clock.RunFor(1100 * time.Millisecond)
	expectSeg(t, r.takeOne("SYN+ACK retransmission"), FlagSYN|FlagACK, iss[2], peerISS.Add(1))
	r.expectNoDrop(ack(2))
	if in := lst.Info(); in.SynQueue != 0 || in.AcceptQueue != 2 {
		t.Fatalf("queues %d/%d after accept", in.SynQueue, in.AcceptQueue)
	}
}

func TestDropSeqOutOfWindow(t *testing.T) {
	r := newRig(t, Config{ReceiveBuffer: 4096})
	c := r.passiveOpen(4, peerAddr, peerISS)
	// Beyond the window.
	f := r.fromPeer(c, Header{Seq: c.peerNxt.Add(10000), Ack: c.localNxt, Flags: FlagACK, Window: 65535}, []byte("far"))
	r.expectDrop(f, "accept", viz.ReasonSeqOutOfWindow)
	expectSeg(t, r.takeOne("segment beyond the window"), FlagACK, c.localNxt, c.peerNxt)
	// An old duplicate, wholly before RCV.NXT.
	f = r.fromPeer(c, Header{Seq: c.peerNxt.Add(^uint32(9)), Ack: c.localNxt, Flags: FlagACK, Window: 65535}, []byte("old"))
	r.expectDrop(f, "accept", viz.ReasonSeqOutOfWindow)
	expectSeg(t, r.takeOne("old duplicate"), FlagACK, c.localNxt, c.peerNxt)
	// A RST out of the window is dropped silently.
	f = r.fromPeer(c, Header{Seq: c.peerNxt.Add(10000), Flags: FlagRST}, nil)
	r.expectDrop(f, "accept", viz.ReasonSeqOutOfWindow)
	r.expectNone("RST out of the window")
	if c.e.State() != Established {
		t.Fatalf("state %s", c.e.State())
	}
}

func TestChallengeACKForRST(t *testing.T) {
	r := newRig(t, Config{})
	c := r.passiveOpen(4, peerAddr, peerISS)
	f := r.fromPeer(c, Header{Seq: c.peerNxt.Add(100), Flags: FlagRST}, nil)
	r.expectDrop(f, "challenge_ack", viz.ReasonTCPChallenge)
	expectSeg(t, r.takeOne("RST in the window"), FlagACK, c.localNxt, c.peerNxt)
	if c.e.State() != Established {
		t.Fatalf("state %s after a RST not at RCV.NXT", c.e.State())
	}
	// The genuine RST, exactly at RCV.NXT, resets.
	f = r.fromPeer(c, Header{Seq: c.peerNxt, Flags: FlagRST}, nil)
	r.expectNoDrop(f)
	r.expectNone("RST at RCV.NXT")
	if c.e.State() != Closed {
		t.Fatalf("state %s after a RST at RCV.NXT", c.e.State())
	}
	if _, err := c.e.Read(make([]byte, 1)); !errors.Is(err, ErrConnReset) {
		t.Fatalf("read after RST: %v", err)
	}
	if r.l.Stats().ChallengeACKs != 1 {
		t.Fatalf("ChallengeACKs %d", r.l.Stats().ChallengeACKs)
	}
}

func TestChallengeACKForSYN(t *testing.T) {
	// Two SYNs at the same instant: without the rate limit (tested in
	// ratelimit_test.go) each gets its challenge ACK.
	r := newRig(t, Config{InvalidACKInterval: -1})
	c := r.passiveOpen(4, peerAddr, peerISS)
	for _, seq := range []Seq{c.peerNxt, c.peerNxt.Add(500)} {
		f := r.fromPeer(c, peerSYN(seq), nil)
		r.expectDrop(f, "challenge_ack", viz.ReasonTCPChallenge)
		expectSeg(t, r.takeOne("SYN on an established connection"), FlagACK, c.localNxt, c.peerNxt)
	}
	if c.e.State() != Established {
		t.Fatalf("state %s", c.e.State())
	}
}

func TestDropBadACK(t *testing.T) {
	t.Run("established", func(t *testing.T) {
		r := newRig(t, Config{})
		c := r.passiveOpen(4, peerAddr, peerISS)
		f := r.fromPeer(c, Header{Seq: c.peerNxt, Ack: c.localNxt.Add(5000), Flags: FlagACK, Window: 65535}, []byte("data"))
		r.expectDrop(f, "ack", viz.ReasonTCPBadACK)
		expectSeg(t, r.takeOne("ACK of unsent data"), FlagACK, c.localNxt, c.peerNxt)
		if n, _ := c.e.Read(make([]byte, 10)); n != 0 {
			t.Fatalf("the data of a segment with a bad ACK was delivered")
		}
	})
	t.Run("syn_sent", func(t *testing.T) {
		r := newRig(t, Config{})
		peer := netip.AddrPortFrom(rigRemote, 80)
		e, err := r.l.Connect(netip.AddrPort{}, peer, Options{}, nil)
		if err != nil {
			t.Fatal(err)
		}
		iss := r.takeOne("connect").hdr.Seq
		h := peerSYN(peerISS)
		h.Flags, h.Ack = FlagSYN|FlagACK, iss.Add(99)
		f := r.inject(peer, e.LocalAddr(), h, nil)
		r.expectDrop(f, "ack", viz.ReasonTCPBadACK)
		expectSeg(t, r.takeOne("SYN+ACK with a bad ACK"), FlagRST, iss.Add(99), 0)
		if e.State() != SynSent {
			t.Fatalf("state %s", e.State())
		}
	})
	t.Run("syn_received", func(t *testing.T) {
		r := newRig(t, Config{})
		if _, err := r.l.Listen(srvAddr, 4, Options{}, nil); err != nil {
			t.Fatal(err)
		}
		r.inject(peerAddr, srvAddr, peerSYN(peerISS), nil)
		iss := r.takeOne("SYN").hdr.Seq
		f := r.inject(peerAddr, srvAddr, Header{Seq: peerISS.Add(1), Ack: iss.Add(1000), Flags: FlagACK, Window: 65535}, nil)
		r.expectDrop(f, "ack", viz.ReasonTCPBadACK)
		expectSeg(t, r.takeOne("bad final ACK"), FlagRST, iss.Add(1000), 0)
	})
}

func TestDropNoACK(t *testing.T) {
	r := newRig(t, Config{})
	c := r.passiveOpen(4, peerAddr, peerISS)
	f := r.fromPeer(c, Header{Seq: c.peerNxt, Flags: FlagPSH, Window: 65535}, []byte("no ack"))
	r.expectDrop(f, "ack", viz.ReasonTCPNoACK)
	r.expectNone("segment without ACK")
	// At a listener: neither SYN nor ACK nor RST.
	f = r.inject(netip.AddrPortFrom(rigRemote, 41000), srvAddr, Header{Seq: 5, Flags: FlagFIN, Window: 100}, nil)
	r.expectDrop(f, "listen", viz.ReasonTCPStray)
	r.expectNone("FIN at a listener")
	// A RST at a listener is ignored, never answered.
	f = r.inject(netip.AddrPortFrom(rigRemote, 41001), srvAddr, Header{Seq: 9, Flags: FlagRST, Window: 100}, nil)
	r.expectDrop(f, "listen", viz.ReasonTCPStray)
	r.expectNone("RST at a listener")
}

func TestDropDataAfterFIN(t *testing.T) {
	r := newRig(t, Config{})
	c := r.passiveOpen(4, peerAddr, peerISS)
	r.fromPeer(c, Header{Seq: c.peerNxt, Ack: c.localNxt, Flags: FlagFIN | FlagACK, Window: 65535}, nil)
	r.take()
	f := r.fromPeer(c, Header{Seq: c.peerNxt.Add(1), Ack: c.localNxt, Flags: FlagACK, Window: 65535}, []byte("more"))
	r.expectDrop(f, "data", viz.ReasonTCPDataAfterFIN)
}

func TestDropChecksumAndMalformed(t *testing.T) {
	r := newRig(t, Config{})
	if _, err := r.l.Listen(srvAddr, 4, Options{}, nil); err != nil {
		t.Fatal(err)
	}
	h := peerSYN(peerISS)
	h.SrcPort, h.DstPort = peerAddr.Port(), srvPort
	good := h.Append(nil, rigRemote, rigLocal, nil)

	bad := append([]byte(nil), good...)
	bad[4] ^= 0x01 // the sequence number, not the checksum
	f := r.injectRaw(rigRemote, rigLocal, bad)
	r.expectDrop(f, "check", viz.ReasonTCPChecksum)

	// The right bytes from another address: the pseudo-header differs.
	f = r.injectRaw(netip.MustParseAddr("10.0.0.9"), rigLocal, good)
	r.expectDrop(f, "check", viz.ReasonTCPChecksum)

	f = r.injectRaw(rigRemote, rigLocal, good[:12])
	r.expectDrop(f, "check", viz.ReasonTCPMalformed)

	short := append([]byte(nil), good...)
	short[12] = 4 << 4 // data offset 4
	f = r.injectRaw(rigRemote, rigLocal, short)
	r.expectDrop(f, "check", viz.ReasonTCPMalformed)

	long := append([]byte(nil), good[:20]...)
	long[12] = 15 << 4 // a 60-byte header in 20 bytes
	f = r.injectRaw(rigRemote, rigLocal, long)
	r.expectDrop(f, "check", viz.ReasonTCPMalformed)

	// An option whose length byte is below 2, with a right checksum.
	opts := append([]byte(nil), good[:20]...)
	opts[12] = 6 << 4
	opts = append(opts, 2, 1, 0, 0) // MSS with length 1
	opts[16], opts[17] = 0, 0
	sum := Segment(opts).ComputeChecksum(rigRemote, rigLocal)
	opts[16], opts[17] = byte(sum>>8), byte(sum)
	f = r.injectRaw(rigRemote, rigLocal, opts)
	r.expectDrop(f, "check", viz.ReasonTCPOptionsMalformed)

	r.expectNone("bad segments")
	if got := r.l.Stats().InErrs; got != 6 {
		t.Fatalf("InErrs %d, want 6", got)
	}
	// The good one still opens a connection.
	f = r.injectRaw(rigRemote, rigLocal, good)
	r.expectNoDrop(f)
	r.takeOne("good SYN")
}

// TestTimeWaitNewSYN: a SYN beyond RCV.NXT ends the TIME_WAIT of the
// connection that did the active close and reaches the listener; one at or
// below RCV.NXT does not (it could be an old duplicate).
func TestTimeWaitNewSYN(t *testing.T) {
	r := newRig(t, Config{})
	c := r.passiveOpen(4, peerAddr, peerISS)
	c.e.Close()
	r.take()
	r.fromPeer(c, Header{Seq: c.peerNxt, Ack: c.localNxt.Add(1), Flags: FlagFIN | FlagACK, Window: 65535}, nil)
	r.take()
	if c.e.State() != TimeWait {
		t.Fatalf("state %s", c.e.State())
	}
	rcvNxt := c.peerNxt.Add(1)

	f := r.fromPeer(c, peerSYN(rcvNxt.Add(^uint32(0))), nil) // RCV.NXT-1: old
	for _, e := range r.frameEvents(f) {
		if e.Step == "time_wait" || e.Step == "listen_clone" {
			t.Fatalf("a SYN below RCV.NXT reused the four-tuple: %s", e.Msg)
		}
	}
	r.take()
	if c.e.State() != TimeWait {
		t.Fatalf("state %s", c.e.State())
	}

	f = r.fromPeer(c, peerSYN(rcvNxt.Add(100_000)), nil)
	steps := map[string]bool{}
	for _, e := range r.frameEvents(f) {
		steps[e.Step] = true
	}
	if !steps["time_wait"] || !steps["listen_clone"] {
		t.Fatalf("steps %v, want time_wait and listen_clone", steps)
	}
	if c.e.State() != Closed {
		t.Fatalf("old connection in %s", c.e.State())
	}
	nc := r.l.table.LookupExact(srvAddr, peerAddr)
	if nc == nil || nc == c.e || nc.State() != SynReceived {
		t.Fatalf("no new connection for the four-tuple: %v", nc)
	}
	expectSeg(t, r.takeOne("new SYN"), FlagSYN|FlagACK, nc.iss, rcvNxt.Add(100_001))
}

func TestAbortSendsRST(t *testing.T) {
	t.Run("linger0", func(t *testing.T) {
		r := newRig(t, Config{})
		c := r.passiveOpen(4, peerAddr, peerISS)
		zero := time.Duration(0)
		c.e.SetOptions(Options{Linger: &zero})
		c.e.Close()
		expectSeg(t, r.takeOne("close with SO_LINGER 0"), FlagRST, c.localNxt, 0)
		r.expectTransitions(c.e.ID, "CLOSED>SYN_RECEIVED", "SYN_RECEIVED>ESTABLISHED", "ESTABLISHED>CLOSED")
	})
	t.Run("unread", func(t *testing.T) {
		r := newRig(t, Config{})
		c := r.passiveOpen(4, peerAddr, peerISS)
		r.fromPeer(c, Header{Seq: c.peerNxt, Ack: c.localNxt, Flags: FlagACK | FlagPSH, Window: 65535}, []byte("unread"))
		r.take()
		c.e.Close()
		expectSeg(t, r.takeOne("close with unread data"), FlagRST, c.localNxt, 0)
	})
}

// TestSegmentsLeaveRoomForSACK: while the receive side holds data out of
// order, every segment carries SACK blocks, and a full segment's data
// shrinks by their length so that it still fits the MTU (RFC 6691).
func TestSegmentsLeaveRoomForSACK(t *testing.T) {
	r := newRig(t, Config{})
	c := r.passiveOpen(4, peerAddr, peerISS)
	r.fromPeer(c, Header{Seq: c.peerNxt.Add(100), Ack: c.localNxt, Flags: FlagACK, Window: 65535}, []byte("beyond a hole"))
	if ack := r.takeOne("out-of-order data"); len(ack.hdr.Options.SACKBlocks) != 1 {
		t.Fatalf("no SACK block in the ACK of out-of-order data: %v", ack)
	}
	if _, err := c.e.Write(make([]byte, 5000)); err != nil {
		t.Fatal(err)
	}
	out := r.take()
	total := 0
	for _, s := range out {
		if len(s.hdr.Options.SACKBlocks) == 0 {
			t.Errorf("segment without SACK blocks: %v", s)
		}
		if n := 20 + s.hdr.HeaderLen() + len(s.payload); n > 1500 {
			t.Errorf("a %d-byte datagram on a 1500-byte MTU: %v, %d bytes", n, s, len(s.payload))
		}
		total += len(s.payload)
	}
	// Three segments of 1460-12 bytes; Nagle holds the rest.
	if total != 3*1448 || len(out) != 3 {
		t.Fatalf("%d bytes in %d segments, want %d in 3", total, len(out), 3*1448)
	}
}
