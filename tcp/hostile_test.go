package tcp

import (
	"bytes"
	"net/netip"
	"testing"
	"time"

	"github.com/packetwalk/packetwalk/ip"
	"github.com/packetwalk/packetwalk/viz"
)

// Hostile segments at the TCP layer: the RFC 5961 rate limits and SYN
// cookies (RFC 4987 §3.6). Blind RST, SYN and ACK injection themselves are
// tested in endpoint_test.go (TestChallengeACK*); the whole-host versions
// with data checked are in stack/hostile_test.go.

// TestInvalidACKRateLimit: a spray of in-window RSTs gets one challenge ACK
// per InvalidACKInterval, and the connection survives; data is always
// answered.
func TestInvalidACKRateLimit(t *testing.T) {
	r := newRig(t, Config{})
	c := r.passiveOpen(4, peerAddr, peerISS)
	for i := range 10 {
		f := r.fromPeer(c, Header{Seq: c.peerNxt.Add(uint32(100 + i)), Flags: FlagRST}, nil)
		r.expectDrop(f, "challenge_ack", viz.ReasonTCPChallenge)
	}
	if got := len(r.take()); got != 1 {
		t.Fatalf("10 blind RSTs at one instant: %d challenge ACKs sent, want 1", got)
	}
	if s := r.l.Stats(); s.ChallengeACKs != 10 || s.InvalidACKsLimited != 9 {
		t.Fatalf("ChallengeACKs %d, InvalidACKsLimited %d; want 10 and 9", s.ChallengeACKs, s.InvalidACKsLimited)
	}
	// After the interval, the next one is answered again.
	r.clock.RunFor(DefaultInvalidACKInterval)
	r.fromPeer(c, Header{Seq: c.peerNxt.Add(7), Flags: FlagRST}, nil)
	expectSeg(t, r.takeOne("RST after the interval"), FlagACK, c.localNxt, c.peerNxt)
	// Out-of-window data is always answered (a sender needs its dup ACK).
	for range 3 {
		r.fromPeer(c, Header{Seq: c.peerNxt.Add(1 << 30), Ack: c.localNxt, Flags: FlagACK, Window: 100}, []byte("x"))
	}
	if got := len(r.take()); got != 3 {
		t.Fatalf("3 out-of-window data segments: %d ACKs, want 3", got)
	}
	if c.e.State() != Established {
		t.Fatalf("state %s after the spray", c.e.State())
	}
	// The genuine RST still resets.
	r.fromPeer(c, Header{Seq: c.peerNxt, Flags: FlagRST}, nil)
	if c.e.State() != Closed {
		t.Fatalf("state %s after the RST at RCV.NXT", c.e.State())
	}
}

// TestChallengeACKHostLimit: the host-wide cap of RFC 5961 §7 holds across
// connections.
func TestChallengeACKHostLimit(t *testing.T) {
	r := newRig(t, Config{ChallengeACKsPerSecond: 3})
	var conns []conn
	for i := range 5 {
		conns = append(conns, r.passiveOpen(8, netip.AddrPortFrom(rigRemote, uint16(41000+i)), peerISS))
	}
	for _, c := range conns {
		r.fromPeer(c, peerSYN(c.peerNxt.Add(10)), nil)
	}
	if got := len(r.take()); got != 3 {
		t.Fatalf("5 blind SYNs on 5 connections with a cap of 3/s: %d challenge ACKs, want 3", got)
	}
	r.clock.RunFor(time.Second)
	r.fromPeer(conns[4], peerSYN(conns[4].peerNxt.Add(10)), nil)
	if got := len(r.take()); got != 1 {
		t.Fatalf("a second later: %d challenge ACKs, want 1", got)
	}
}

// TestSynCookies: with the SYN queue full, a SYN is answered with a cookie
// and no socket; the ACK that returns it builds an ESTABLISHED connection
// with the MSS the cookie carried, whose first data arrives intact; a
// forged or stale cookie gets a RST.
func TestSynCookies(t *testing.T) {
	r := newRig(t, Config{})
	lst, err := r.l.Listen(srvAddr, 2, Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Two half-open sockets fill the SYN queue.
	for i := range 2 {
		r.inject(netip.AddrPortFrom(rigRemote, uint16(42000+i)), srvAddr, peerSYN(peerISS), nil)
		r.takeOne("SYN")
	}
	before := len(r.l.Endpoints())
	peer := netip.AddrPortFrom(rigRemote, 43000)
	syn := peerSYN(peerISS)
	syn.Options.MSS = 1400
	f := r.inject(peer, srvAddr, syn, nil)
	r.expectNoDrop(f)
	synack := r.takeOne("SYN with the queue full")
	expectSeg(t, synack, FlagSYN|FlagACK, synack.hdr.Seq, peerISS.Add(1))
	if synack.hdr.Options.HasWS || synack.hdr.Options.SACKPermitted {
		t.Errorf("cookie SYN+ACK offers options it cannot remember: %s", synack.hdr)
	}
	if n := len(r.l.Endpoints()); n != before {
		t.Fatalf("a cookie kept state: %d sockets, was %d", n, before)
	}
	if got := len(r.stepEvents("syn_cookie")); got != 1 {
		t.Fatalf("%d syn_cookie steps, want 1", got)
	}

	// A forged cookie (off by one) is refused with a RST.
	r.inject(peer, srvAddr, Header{Seq: peerISS.Add(1), Ack: synack.hdr.Seq.Add(2), Flags: FlagACK, Window: 1000}, nil)
	expectSeg(t, r.takeOne("forged cookie"), FlagRST, synack.hdr.Seq.Add(2), 0)

	// The real ACK, with data, builds the connection.
	f = r.inject(peer, srvAddr, Header{Seq: peerISS.Add(1), Ack: synack.hdr.Seq.Add(1), Flags: FlagACK | FlagPSH, Window: 1000}, []byte("hello"))
	r.expectNoDrop(f)
	c, err := lst.Accept()
	if err != nil {
		t.Fatalf("accept after a valid cookie: %v", err)
	}
	if c.State() != Established || c.RemoteAddr() != peer || c.mss != 1400 {
		t.Fatalf("cookie connection: %s from %s, MSS %d; want ESTABLISHED from %s, MSS 1400", c.State(), c.RemoteAddr(), c.mss, peer)
	}
	buf := make([]byte, 16)
	n, err := c.Read(buf)
	if err != nil || !bytes.Equal(buf[:n], []byte("hello")) {
		t.Fatalf("read %q, %v; want hello", buf[:n], err)
	}
	if s := r.l.Stats(); s.SynCookiesSent != 1 || s.SynCookiesRecv != 1 || s.SynCookiesFailed != 1 {
		t.Fatalf("cookie counters sent %d recv %d failed %d; want 1, 1, 1", s.SynCookiesSent, s.SynCookiesRecv, s.SynCookiesFailed)
	}

	// A cookie two periods old is stale.
	peer2 := netip.AddrPortFrom(rigRemote, 43001)
	r.inject(peer2, srvAddr, peerSYN(peerISS), nil)
	old := r.takeOne("second cookie")
	r.clock.RunFor(2 * cookiePeriod)
	r.take() // the half-open sockets' SYN+ACK retransmissions and their RSTs
	r.inject(peer2, srvAddr, Header{Seq: peerISS.Add(1), Ack: old.hdr.Seq.Add(1), Flags: FlagACK, Window: 1000}, nil)
	expectSeg(t, r.takeOne("stale cookie"), FlagRST, old.hdr.Seq.Add(1), 0)
}

// TestSynCookiesModes: SynCookiesAlways keeps no half-open socket at all
// (SynCookiesOff is TestDropBacklogFullSYNQueue).
func TestSynCookiesModes(t *testing.T) {
	r := newRig(t, Config{SynCookies: SynCookiesAlways})
	if _, err := r.l.Listen(srvAddr, 8, Options{}, nil); err != nil {
		t.Fatal(err)
	}
	before := len(r.l.Endpoints())
	r.inject(peerAddr, srvAddr, peerSYN(peerISS), nil)
	r.takeOne("SYN with cookies always on")
	if n := len(r.l.Endpoints()); n != before {
		t.Fatalf("SynCookiesAlways kept a half-open socket")
	}
	for _, m := range []SynCookieMode{SynCookiesWhenFull, SynCookiesOff, SynCookiesAlways} {
		if m.String() == "" {
			t.Errorf("mode %d has no name", m)
		}
	}
}

// stepEvents returns the logged events of one step name.
func (r *rig) stepEvents(step string) []viz.Event {
	var out []viz.Event
	for _, e := range r.mem.Events() {
		if e.Step == step {
			out = append(out, e)
		}
	}
	return out
}

// TestWindowShrinkAndZeroWindow: a peer that shrinks its window (moves its
// right edge left, which RFC 9293 §3.8.6.2.1 says it SHOULD NOT, but a
// receiver MUST cope with) and then closes it: the sender sends nothing
// beyond the new edge, probes the zero window (persist timer, RFC 9293
// §3.8.6.1), and once the window opens sends the rest; every byte the
// peer sees is the byte written at that sequence number.
func TestWindowShrinkAndZeroWindow(t *testing.T) {
	r := newRig(t, Config{})
	c := r.passiveOpen(4, peerAddr, peerISS)
	data := make([]byte, 20000)
	for i := range data {
		data[i] = byte(i * 13)
	}
	if n, err := c.e.Write(data); err != nil || n != len(data) {
		t.Fatalf("write: %d, %v", n, err)
	}
	start := c.localNxt
	got := make([]byte, len(data))
	var high int
	collect := func(segs []sent) int {
		n := 0
		for _, s := range segs {
			off := int(s.hdr.Seq - start)
			if len(s.payload) > 0 && off >= 0 && off+len(s.payload) <= len(data) {
				copy(got[off:], s.payload)
				high = max(high, off+len(s.payload))
				n += len(s.payload)
			}
		}
		return n
	}
	collect(r.take())
	first := high
	if first == 0 || first == len(data) {
		t.Fatalf("first flight carried %d bytes; want some but not all of %d", first, len(data))
	}
	// Shrink: acknowledge 1000 bytes and offer 500, far left of the
	// edge the first flight was sent to.
	ack := func(n int, win uint16) {
		r.fromPeer(c, Header{Seq: c.peerNxt, Ack: start.Add(uint32(n)), Flags: FlagACK, Window: win}, nil)
	}
	ack(1000, 500)
	if n := collect(r.take()); n != 0 {
		t.Fatalf("after the window shrank to 500 bytes at 1000, %d more bytes were sent (up to %d)", n, high)
	}
	// Everything sent so far acknowledged, window closed: probes.
	ack(first, 0)
	r.take()
	r.clock.RunFor(3 * time.Second)
	probes := r.take()
	if len(probes) == 0 {
		t.Fatal("no zero-window probe within 3 s")
	}
	collect(probes)
	if c.e.State() != Established {
		t.Fatalf("state %s while the window is closed", c.e.State())
	}
	// The window opens: the rest flows. The peer acknowledges what it
	// got, until everything arrived.
	for range 20 {
		if high == len(data) {
			break
		}
		ack(high, 65535)
		collect(r.take())
	}
	if high != len(data) || !bytes.Equal(got, data) {
		t.Fatalf("the peer saw %d of %d bytes, equal %v", high, len(data), bytes.Equal(got, data))
	}
}

// TestNotUnicastIgnored: a segment IP marks as broadcast (sent to the
// subnet's or the limited broadcast address, or in a link-layer broadcast)
// is dropped as tcp_not_unicast before demultiplexing: no RST from a closed
// port, no SYN+ACK from a wildcard listener, either of which would carry
// the broadcast address as its source (RFC 1122 §4.2.3.10, §3.2.1.3).
func TestNotUnicastIgnored(t *testing.T) {
	bcast := netip.MustParseAddr("10.0.0.255")
	all := netip.MustParseAddr("255.255.255.255")
	cases := []struct {
		name      string
		dst       netip.Addr
		port      uint16
		flags     Flags
		broadcast bool // not for this host alone: dropped (a multicast address without IP's mark)
	}{
		{"SYN to a closed port, unicast (control: RST)", rigLocal, 9, FlagSYN, false},
		{"SYN to the listener, unicast (control: SYN+ACK)", rigLocal, 8080, FlagSYN, false},
		{"SYN to a closed port, subnet broadcast", bcast, 9, FlagSYN, true},
		{"SYN to a closed port, limited broadcast", all, 9, FlagSYN, true},
		{"SYN to the listener, subnet broadcast", bcast, 8080, FlagSYN, true},
		{"SYN to the listener, limited broadcast", all, 8080, FlagSYN, true},
		{"ACK to a closed port, limited broadcast", all, 9, FlagACK, true},
		{"SYN to our address in a link-layer broadcast", rigLocal, 8080, FlagSYN, true},
		// IP delivers no multicast today; TCP would drop it all the same.
		{"SYN to a multicast address", netip.MustParseAddr("224.0.0.1"), 8080, FlagSYN, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := newRig(t, Config{})
			if _, err := r.l.Listen(netip.AddrPortFrom(netip.IPv4Unspecified(), 8080), 4, Options{}, nil); err != nil {
				t.Fatal(err)
			}
			h := peerSYN(peerISS)
			h.Flags, h.Ack = c.flags, 77
			h.SrcPort, h.DstPort = 40000, c.port
			frame := r.log.NewFrameID()
			r.l.Receive(ip.Datagram{Frame: frame, Src: rigRemote, Dst: c.dst, Protocol: ip.ProtocolTCP, TTL: 64,
				Payload: h.Append(nil, rigRemote, c.dst, nil), Broadcast: c.broadcast && !c.dst.IsMulticast()})
			if !c.broadcast {
				r.takeOne("a unicast SYN")
				return
			}
			r.expectDrop(frame, "check", viz.ReasonTCPNotUnicast)
			r.expectNone("a segment to a broadcast address")
			if n := len(r.l.Endpoints()); n != 1 {
				t.Errorf("%d sockets, want only the listener", n)
			}
		})
	}
}

// TestSynFinAtListener: SYN with FIN, with or without PSH and URG, is
// discarded at a listener as tcp_flags (Linux: tcp_rcv_state_process);
// with ACK it is an ACK at a listener first, answered with a RST (RFC 9293
// §3.10.7.2).
func TestSynFinAtListener(t *testing.T) {
	r := newRig(t, Config{})
	lst, err := r.l.Listen(srvAddr, 4, Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i, flags := range []Flags{FlagSYN | FlagFIN, FlagSYN | FlagFIN | FlagPSH, FlagSYN | FlagFIN | FlagPSH | FlagURG} {
		h := peerSYN(peerISS)
		h.Flags = flags
		f := r.inject(netip.AddrPortFrom(rigRemote, uint16(41000+i)), srvAddr, h, []byte("data"))
		r.expectDrop(f, "listen", viz.ReasonTCPFlags)
		r.expectNone(flags.String() + " at a listener")
	}
	if in := lst.Info(); in.SynQueue != 0 || in.AcceptQueue != 0 {
		t.Fatalf("SYN queue %d, accept queue %d after SYN+FIN: want no half-open socket", in.SynQueue, in.AcceptQueue)
	}
	h := Header{Seq: peerISS, Ack: 5000, Flags: FlagSYN | FlagFIN | FlagACK, Window: 100}
	f := r.inject(netip.AddrPortFrom(rigRemote, 41009), srvAddr, h, nil)
	r.expectNoDrop(f)
	expectSeg(t, r.takeOne("SYN+FIN+ACK at a listener"), FlagRST, 5000, 0)
}

// TestPeerMSSFloor: the MSS a peer announces is raised to 48 bytes
// (minPeerMSS, Linux's TCP_MIN_SND_MSS) with an mss step; above the floor
// it is taken as it is; without the option it is 536 (RFC 9293 §3.7.1).
func TestPeerMSSFloor(t *testing.T) {
	for _, c := range []struct{ announced, want int }{{1, 48}, {0, 536}, {47, 48}, {48, 48}, {49, 49}, {1000, 1000}} {
		r := newRig(t, Config{})
		if _, err := r.l.Listen(srvAddr, 4, Options{}, nil); err != nil {
			t.Fatal(err)
		}
		h := peerSYN(peerISS)
		h.Options.MSS = uint16(c.announced)
		f := r.inject(peerAddr, srvAddr, h, nil)
		r.takeOne("SYN")
		e := r.l.table.LookupExact(srvAddr, peerAddr)
		if e == nil {
			t.Fatalf("MSS %d: no socket after the SYN", c.announced)
		}
		if e.mss != c.want {
			t.Errorf("peer MSS %d: we send with MSS %d, want %d", c.announced, e.mss, c.want)
		}
		raised := false
		for _, ev := range r.frameEvents(f) {
			raised = raised || ev.Step == "mss"
		}
		if want := c.announced != 0 && c.announced < 48; raised != want {
			t.Errorf("peer MSS %d: mss step logged %v, want %v", c.announced, raised, want)
		}
	}
}
