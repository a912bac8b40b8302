// Package grade holds the graded tests of the impl-demux lab: the
// student's tcp.Demuxer inside a real tcp.Layer, fed crafted segments (the
// seed's two clients on port 1025, listeners on specific and wildcard
// addresses, segments for nobody, ephemeral ports), and inside two hosts
// on the simulated wire running several echo connections at once.
package grade

import (
	"context"
	"errors"
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
)

// New is the student's constructor.
type New = func(ephemeral ip.PortRange) tcp.Demuxer

// Tests are the graded tests, in the order the handout introduces them.
var Tests = []grading.Test[New]{
	{Name: "ListenerFound", Run: testListenerFound},
	{Name: "SYNClonesListener", Run: testClone},
	{Name: "SeedTwoClientsOnPort1025", Run: testSeedClients},
	{Name: "ListenersPerAddress", Run: testSpecific},
	{Name: "BindConflicts", Run: testConflicts},
	{Name: "NoSocketAnswersRST", Run: testNoSocket},
	{Name: "EphemeralPorts", Run: testEphemeral},
	{Name: "RemoveAndList", Run: testRemoveAndList},
	{Name: "WireConcurrentEchoes", Run: testWire},
}

// Run runs every graded test with the student's constructor.
func Run(t *testing.T, newTable New) { grading.Run(t, Tests, newTable) }

// sentSegment is one segment the layer asked IP to send.
type sentSegment struct {
	src, dst netip.AddrPort
	h        tcp.Header
	data     []byte
}

func (s sentSegment) String() string {
	return fmt.Sprintf("%s > %s %s seq %d ack %d len %d", s.src, s.dst, s.h.Flags, uint32(s.h.Seq), uint32(s.h.Ack), len(s.data))
}

// fakeIP is the layer's Network: it keeps what TCP sends.
type fakeIP struct {
	src  netip.Addr
	sent []sentSegment
}

func (f *fakeIP) Send(o ip.Outbound) error {
	seg := tcp.Segment(o.Payload)
	h, err := seg.Parse()
	if err != nil {
		return err
	}
	f.sent = append(f.sent, sentSegment{netip.AddrPortFrom(o.Src, h.SrcPort), netip.AddrPortFrom(o.Dst, h.DstPort), h, slices.Clone(seg.Payload())})
	return nil
}
func (f *fakeIP) SourceFor(netip.Addr) (netip.Addr, error) { return f.src, nil }
func (f *fakeIP) MTUFor(netip.Addr) int                    { return 1500 }

// bench is one host's TCP with the student's table.
type bench struct {
	l     *tcp.Layer
	table tcp.Demuxer
	net   *fakeIP
	mem   *viz.MemorySink
	log   []string
	frame uint64
}

func newBench(newTable New, ephemeral ip.PortRange) *bench {
	clock := clock.NewVirtual()
	vlog := viz.NewLog(clock)
	b := &bench{net: &fakeIP{src: netip.MustParseAddr("10.0.0.2")}, mem: &viz.MemorySink{}}
	vlog.AddSink(b.mem)
	b.l = tcp.NewLayer(tcp.Config{
		Clock: clock, Recorder: vlog.Recorder("server"), Network: b.net, ISNSecret: []byte("grade"),
		DelayedACK: -1, Ephemeral: ephemeral,
		Demuxer: func(r ip.PortRange) tcp.Demuxer { b.table = newTable(r); return b.table },
	})
	return b
}

func ap(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }

// listen opens a listener and fails the test if it cannot.
func (b *bench) listen(t *testing.T, addr string) *tcp.Endpoint {
	t.Helper()
	b.log = append(b.log, "listen("+addr+")")
	e, err := b.l.Listen(ap(addr), 8, tcp.Options{}, nil)
	if err != nil {
		t.Fatal(grading.Failure{Sent: b.sent(), Expected: "listen succeeds", Got: err.Error(), Hint: "AddListener refuses only the same address, or the wildcard, on the same port"})
	}
	return e
}

// segment hands TCP one segment from -> to and returns what it sent back.
func (b *bench) segment(from, to netip.AddrPort, flags tcp.Flags, seq, ack uint32, data string) []sentSegment {
	b.frame++
	h := tcp.Header{SrcPort: from.Port(), DstPort: to.Port(), Seq: tcp.Seq(seq), Ack: tcp.Seq(ack), Flags: flags, Window: 65535}
	b.log = append(b.log, fmt.Sprintf("segment %s > %s %s seq %d ack %d %q", from, to, flags, seq, ack, data))
	n := len(b.net.sent)
	b.l.Receive(ip.Datagram{Frame: b.frame, Src: from.Addr(), Dst: to.Addr(), Protocol: ip.ProtocolTCP, TTL: 64,
		Payload: h.Append(nil, from.Addr(), to.Addr(), []byte(data))})
	return b.net.sent[n:]
}

// handshake runs SYN, SYN+ACK, ACK for a client and returns the server's ISS.
func (b *bench) handshake(t *testing.T, client, server netip.AddrPort, isn uint32) (uint32, bool) {
	t.Helper()
	out := b.segment(client, server, tcp.FlagSYN, isn, 0, "")
	if len(out) != 1 || out[0].h.Flags != tcp.FlagSYN|tcp.FlagACK || out[0].dst != client || out[0].src != server || uint32(out[0].h.Ack) != isn+1 {
		t.Error(grading.Failure{Sent: b.sent(), Expected: fmt.Sprintf("one SYN+ACK %s > %s ack %d: the listener's copy answers", server, client, isn+1),
			Got: describe(out), Steps: b.steps(), Hint: "the SYN must reach the listener: LookupExact returns nil unless all four values match a connection, and LookupListener finds the listener on the SYN's port"})
		return 0, false
	}
	iss := uint32(out[0].h.Seq)
	if out := b.segment(client, server, tcp.FlagACK, isn+1, iss+1, ""); len(out) != 0 {
		t.Error(grading.Failure{Sent: b.sent(), Expected: "nothing sent: the ACK completes the handshake of the copy", Got: describe(out), Steps: b.steps(),
			Hint: "the ACK must find the copy by its four-tuple (LookupExact), so AddConn must have registered it under e.LocalAddr(), e.RemoteAddr()"})
		return 0, false
	}
	return iss, true
}

// name names an endpoint in a message.
func name(e *tcp.Endpoint) string {
	if e == nil {
		return "nil (no socket)"
	}
	if e.State() == tcp.Listen {
		return fmt.Sprintf("listener #%d on %s", e.ID, e.LocalAddr())
	}
	return fmt.Sprintf("socket #%d %s <-> %s (%s)", e.ID, e.LocalAddr(), e.RemoteAddr(), e.State())
}

func describe(out []sentSegment) string {
	if len(out) == 0 {
		return "nothing sent"
	}
	var s []string
	for _, o := range out {
		s = append(s, o.String())
	}
	return strings.Join(s, "\n")
}

func (b *bench) sent() string { return strings.Join(b.log, "\n") }

func (b *bench) steps() []viz.Event {
	return grading.Last(grading.Select(b.mem.Events(), func(e *viz.Event) bool {
		return e.Step == "demux" || e.Step == "listen_clone" || e.Step == "rst" || e.Step == "listen" || e.Step == "state"
	}), 12)
}

func testListenerFound(t *testing.T, newTable New) {
	b := newBench(newTable, ip.EphemeralPorts)
	lst := b.listen(t, "0.0.0.0:80")
	if got := b.table.LookupListener(ap("10.0.0.2:80")); got != lst {
		t.Error(grading.Failure{Sent: b.sent() + "\nLookupListener(10.0.0.2:80)", Expected: name(lst) + ": the wildcard takes every address", Got: name(got)})
	}
	if got := b.table.LookupListener(ap("10.0.0.2:81")); got != nil {
		t.Error(grading.Failure{Sent: b.sent() + "\nLookupListener(10.0.0.2:81)", Expected: "nil: nothing listens on port 81", Got: name(got)})
	}
	if got := b.table.LookupExact(ap("10.0.0.2:80"), ap("10.0.0.1:1025")); got != nil {
		t.Error(grading.Failure{Sent: b.sent() + "\nLookupExact(10.0.0.2:80, 10.0.0.1:1025)", Expected: "nil: a listener is not a connection", Got: name(got)})
	}
}

func testClone(t *testing.T, newTable New) {
	b := newBench(newTable, ip.EphemeralPorts)
	lst := b.listen(t, "0.0.0.0:80")
	client, server := ap("10.0.0.1:1025"), ap("10.0.0.2:80")
	out := b.segment(client, server, tcp.FlagSYN, 1000, 0, "")
	if len(out) != 1 || out[0].h.Flags != tcp.FlagSYN|tcp.FlagACK {
		t.Fatal(grading.Failure{Sent: b.sent(), Expected: "a SYN+ACK to 10.0.0.1:1025", Got: describe(out), Steps: b.steps()})
	}
	c := b.table.LookupExact(server, client)
	switch {
	case c == nil:
		t.Fatal(grading.Failure{Sent: b.sent() + "\nLookupExact(10.0.0.2:80, 10.0.0.1:1025)", Expected: "the listener's copy, in SYN_RECEIVED", Got: "nil", Steps: b.steps(),
			Hint: "TCP registers the copy with AddConn; key it by its four-tuple, e.LocalAddr() and e.RemoteAddr()"})
	case c == lst || c.Parent() != lst || c.State() != tcp.SynReceived:
		t.Fatal(grading.Failure{Sent: b.sent() + "\nLookupExact(10.0.0.2:80, 10.0.0.1:1025)", Expected: fmt.Sprintf("a new socket, child of listener #%d, in SYN_RECEIVED", lst.ID),
			Got: fmt.Sprintf("socket #%d in %s", c.ID, c.State())})
	}
	if got := b.table.LookupListener(server); got != lst || lst.State() != tcp.Listen {
		t.Error(grading.Failure{Sent: b.sent(), Expected: "the listener is still found on port 80 and still LISTEN: it waits for the next client", Got: "LookupListener = " + name(got)})
	}
	if _, ok := b.handshake(t, ap("10.0.0.1:1026"), server, 5000); !ok {
		return
	}
	if lst.Pending() != 1 {
		t.Error(grading.Failure{Sent: b.sent(), Expected: "1 connection waiting in the accept queue (the second client's)", Got: fmt.Sprintf("%d", lst.Pending()), Steps: b.steps()})
	}
}

func testSeedClients(t *testing.T, newTable New) {
	// "How Network Works" ch. 6: two clients, both on port 1025, told
	// apart only by their addresses.
	b := newBench(newTable, ip.EphemeralPorts)
	lst := b.listen(t, "0.0.0.0:80")
	server := ap("198.18.203.154:80")
	clients := []netip.AddrPort{ap("198.18.203.153:1025"), ap("198.18.203.86:1025")}
	iss := make([]uint32, 2)
	for i, c := range clients {
		var ok bool
		if iss[i], ok = b.handshake(t, c, server, uint32(1000*(i+1))); !ok {
			return
		}
	}
	for i, c := range clients {
		msg := fmt.Sprintf("GET /from-%s", c.Addr())
		out := b.segment(c, server, tcp.FlagACK|tcp.FlagPSH, uint32(1000*(i+1))+1, iss[i]+1, msg)
		if len(out) != 1 || out[0].h.Flags&tcp.FlagRST != 0 || out[0].dst != c {
			t.Fatal(grading.Failure{Sent: b.sent(), Expected: "an ACK to " + c.String() + " for its data", Got: describe(out), Steps: b.steps()})
		}
	}
	got := map[netip.AddrPort]string{}
	for range clients {
		c, err := lst.Accept()
		if err != nil {
			t.Fatal(grading.Failure{Sent: b.sent() + "\naccept()", Expected: "a connection", Got: err.Error(), Steps: b.steps()})
		}
		buf := make([]byte, 100)
		n, _ := c.Read(buf)
		got[c.RemoteAddr()] = string(buf[:n])
	}
	for _, c := range clients {
		want := fmt.Sprintf("GET /from-%s", c.Addr())
		if got[c] != want {
			t.Error(grading.Failure{Sent: b.sent(), Expected: fmt.Sprintf("the socket of %s reads %q", c, want), Got: fmt.Sprintf("it reads %q", got[c]), Steps: b.steps(),
				Hint: "both clients use port 1025: only the whole four-tuple tells their connections apart"})
		}
	}
}

func testSpecific(t *testing.T, newTable New) {
	b := newBench(newTable, ip.EphemeralPorts)
	first := b.listen(t, "10.0.0.2:80")
	second := b.listen(t, "10.0.1.2:80")
	for _, c := range []struct {
		dst  string
		want *tcp.Endpoint
	}{{"10.0.1.2:80", second}, {"10.0.0.2:80", first}, {"10.0.2.2:80", nil}} {
		if got := b.table.LookupListener(ap(c.dst)); got != c.want {
			t.Error(grading.Failure{Sent: b.sent() + "\nLookupListener(" + c.dst + ")", Expected: name(c.want), Got: name(got),
				Hint: "a listener bound to an address takes only segments sent to that address"})
		}
	}
	out := b.segment(ap("10.0.1.1:3000"), ap("10.0.1.2:80"), tcp.FlagSYN, 1, 0, "")
	if c := b.table.LookupExact(ap("10.0.1.2:80"), ap("10.0.1.1:3000")); c == nil || c.Parent() != second {
		t.Error(grading.Failure{Sent: b.sent(), Expected: fmt.Sprintf("a copy of listener #%d (10.0.1.2:80)", second.ID), Got: describe(out), Steps: b.steps()})
	}
	b2 := newBench(newTable, ip.EphemeralPorts)
	wild := b2.listen(t, "0.0.0.0:8080")
	if got := b2.table.LookupListener(ap("10.0.1.2:8080")); got != wild {
		t.Error(grading.Failure{Sent: b2.sent() + "\nLookupListener(10.0.1.2:8080)", Expected: name(wild), Got: name(got)})
	}
}

func testConflicts(t *testing.T, newTable New) {
	b := newBench(newTable, ip.EphemeralPorts)
	b.listen(t, "10.0.0.2:80")
	b.listen(t, "0.0.0.0:81")
	for _, addr := range []string{"10.0.0.2:80", "0.0.0.0:80", "10.0.0.2:81", "0.0.0.0:81"} {
		b.log = append(b.log, "listen("+addr+")")
		if _, err := b.l.Listen(ap(addr), 8, tcp.Options{}, nil); !errors.Is(err, tcp.ErrAddrInUse) {
			t.Error(grading.Failure{Sent: b.sent(), Expected: "EADDRINUSE (tcp.ErrAddrInUse): two listeners would claim the same segments", Got: fmt.Sprint(err)})
		}
	}
	b.listen(t, "10.0.1.2:80") // another address on port 80 is fine
}

func testNoSocket(t *testing.T, newTable New) {
	b := newBench(newTable, ip.EphemeralPorts)
	lst := b.listen(t, "0.0.0.0:80")
	// The port that has a listener answers first: a table that finds
	// nothing would RST every SYN, which proves nothing here.
	out := b.segment(ap("10.0.0.1:1024"), ap("10.0.0.2:80"), tcp.FlagSYN, 55, 0, "")
	if len(out) != 1 || out[0].h.Flags != tcp.FlagSYN|tcp.FlagACK {
		t.Fatal(grading.Failure{Sent: b.sent(), Expected: "SYN+ACK: the listener on port 80 takes the SYN (RFC 9293 section 3.10.7.2)", Got: describe(out), Steps: b.steps()})
	}
	out = b.segment(ap("10.0.0.1:1025"), ap("10.0.0.2:81"), tcp.FlagSYN, 77, 0, "")
	if len(out) != 1 || out[0].h.Flags != tcp.FlagRST|tcp.FlagACK || uint32(out[0].h.Ack) != 78 {
		t.Error(grading.Failure{Sent: b.sent(), Expected: "RST+ACK ack 78: nothing listens on port 81", Got: describe(out), Steps: b.steps()})
	}
	b.log = append(b.log, "close() the listener")
	lst.Close()
	out = b.segment(ap("10.0.0.1:1026"), ap("10.0.0.2:80"), tcp.FlagSYN, 99, 0, "")
	if len(out) != 1 || out[0].h.Flags&tcp.FlagRST == 0 {
		t.Error(grading.Failure{Sent: b.sent(), Expected: "RST: the listener was closed, so RemoveListener forgot it", Got: describe(out), Steps: b.steps()})
	}
	b.listen(t, "0.0.0.0:80") // the port is free again
}

func testEphemeral(t *testing.T, newTable New) {
	b := newBench(newTable, ip.PortRange{First: 50000, Last: 50002})
	b.listen(t, "0.0.0.0:50001")
	remote := ap("10.0.0.9:80")
	var ports []uint16
	for i := 0; i < 2; i++ {
		b.log = append(b.log, "connect(10.0.0.9:80)")
		e, err := b.l.Connect(netip.AddrPort{}, remote, tcp.Options{}, nil)
		if err != nil {
			t.Fatal(grading.Failure{Sent: b.sent() + "\n(ephemeral range 50000-50002, a listener on 50001)", Expected: "a connection from a free port", Got: err.Error()})
		}
		ports = append(ports, e.LocalAddr().Port())
	}
	slices.Sort(ports)
	if !slices.Equal(ports, []uint16{50000, 50002}) {
		t.Fatal(grading.Failure{Sent: b.sent() + "\n(ephemeral range 50000-50002, a listener on 50001)", Expected: "local ports 50000 and 50002: 50001 has a listener",
			Got: fmt.Sprint(ports), Hint: "search the range from after the last port given, skip ports in use with this remote or listened on, wrap around"})
	}
	b.log = append(b.log, "connect(10.0.0.9:80)")
	if _, err := b.l.Connect(netip.AddrPort{}, remote, tcp.Options{}, nil); !errors.Is(err, tcp.ErrAddrNotAvail) {
		t.Error(grading.Failure{Sent: b.sent(), Expected: "EADDRNOTAVAIL (tcp.ErrAddrNotAvail): every port is taken for this remote", Got: fmt.Sprint(err)})
	}
	b.log = append(b.log, "connect(10.0.0.9:81)")
	if _, err := b.l.Connect(netip.AddrPort{}, ap("10.0.0.9:81"), tcp.Options{}, nil); err != nil {
		t.Error(grading.Failure{Sent: b.sent(), Expected: "a connection: with another remote port the four-tuples differ, so 50000 may be used again", Got: err.Error()})
	}
	b.log = append(b.log, "connect(from 10.0.0.2:50000 to 10.0.0.9:80)")
	if _, err := b.l.Connect(ap("10.0.0.2:50000"), remote, tcp.Options{}, nil); !errors.Is(err, tcp.ErrAddrInUse) {
		t.Error(grading.Failure{Sent: b.sent(), Expected: "EADDRINUSE: that four-tuple is a connection already (AddConn)", Got: fmt.Sprint(err)})
	}
}

func testRemoveAndList(t *testing.T, newTable New) {
	b := newBench(newTable, ip.EphemeralPorts)
	l81 := b.listen(t, "0.0.0.0:81")
	l80 := b.listen(t, "0.0.0.0:80")
	e1, _ := b.l.Connect(netip.AddrPort{}, ap("10.0.0.9:80"), tcp.Options{}, nil)
	e2, _ := b.l.Connect(netip.AddrPort{}, ap("10.0.0.9:81"), tcp.Options{}, nil)
	b.log = append(b.log, "connect(10.0.0.9:80)", "connect(10.0.0.9:81)")
	if e1 == nil || e2 == nil {
		t.Fatal(grading.Failure{Sent: b.sent(), Expected: "two connections", Got: "connect failed"})
	}
	ids := func(es []*tcp.Endpoint) string {
		var s []string
		for _, e := range es {
			s = append(s, fmt.Sprintf("#%d %s", e.ID, e.LocalAddr()))
		}
		return strings.Join(s, ", ")
	}
	want := []*tcp.Endpoint{l80, l81, e1, e2}
	if got := b.l.Endpoints(); ids(got) != ids(want) {
		t.Error(grading.Failure{Sent: b.sent() + "\nAll()", Expected: ids(want) + " (listeners by port, then connections by ID)", Got: ids(got)})
	}
	b.log = append(b.log, "abort the connection to 10.0.0.9:80")
	e1.Abort()
	if got := b.table.LookupExact(e1.LocalAddr(), e1.RemoteAddr()); got != nil {
		t.Error(grading.Failure{Sent: b.sent() + "\nLookupExact(its four-tuple)", Expected: "nil: the connection is deleted (RemoveConn)", Got: name(got)})
	}
	want = []*tcp.Endpoint{l80, l81, e2}
	if got := b.l.Endpoints(); ids(got) != ids(want) {
		t.Error(grading.Failure{Sent: b.sent() + "\nAll()", Expected: ids(want), Got: ids(got)})
	}
}

func testWire(t *testing.T, newTable New) {
	cfg := stack.TopologyConfig{Seed: 3}
	cfg.IP.TCP.Demuxer = newTable
	p, mem := grading.NewPair(t, cfg)
	addr := netip.AddrPortFrom(p.Server.Addr(), 7)
	const clients = 4
	ready := make(chan struct{})
	got := make([]string, clients)
	errs := make([]error, clients)
	done := 0
	p.Net.Go(func() {
		ln, err := p.Server.ListenTCP(addr, 8)
		close(ready)
		if err != nil {
			errs[0] = fmt.Errorf("listen: %w", err)
			return
		}
		for i := 0; i < clients; i++ {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.Net.Go(func() { io.Copy(c, c); c.Close() })
		}
	})
	for i := 0; i < clients; i++ {
		p.Net.Go(func() {
			defer func() { done++ }()
			<-ready
			c, err := p.Client.DialTCP(context.Background(), addr)
			if err != nil {
				errs[i] = err
				return
			}
			msg := fmt.Sprintf("hello from connection %d", i)
			c.Write([]byte(msg))
			buf := make([]byte, len(msg))
			_, errs[i] = io.ReadFull(c, buf)
			got[i] = string(buf)
			c.Close()
		})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	runErr := p.Net.RunUntil(ctx, func() bool { return done == clients })
	demux := grading.Last(grading.Select(mem.Events(), func(e *viz.Event) bool {
		return e.Layer == viz.LayerTCP && (e.Step == "demux" || e.Step == "listen_clone" || e.Step == "rst")
	}), 15)
	for i := 0; i < clients; i++ {
		want := fmt.Sprintf("hello from connection %d", i)
		if got[i] != want || errs[i] != nil || runErr != nil {
			t.Fatal(grading.Failure{
				Sent:     fmt.Sprintf("%d clients connect at once from 10.0.0.1 (ephemeral ports) to an echo server on %s; both hosts use your table", clients, addr),
				Expected: fmt.Sprintf("connection %d reads back %q", i, want),
				Got:      fmt.Sprintf("%q, error %v (run: %v)", got[i], errs[i], runErr),
				Steps:    demux,
			})
		}
	}
}
