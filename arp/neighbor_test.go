package arp

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"

	"github.com/packetwalk/packetwalk/clock"
	"github.com/packetwalk/packetwalk/nic"
	"github.com/packetwalk/packetwalk/viz"
)

// testLink is a minimal hub for ARP tests: every frame reaches every other
// port after a fixed latency, as a copy. The real wire (package wire) has
// more to it than these tests need.
type testLink struct {
	clock   clock.Clock
	latency time.Duration
	ports   []nic.Port
	carried []linkFrame
}

type linkFrame struct {
	from string
	id   uint64
	bits []byte
}

func (l *testLink) attach(n *nic.NIC) {
	l.ports = append(l.ports, n)
	n.Attach(l)
}

func (l *testLink) Transmit(from nic.Port, bits []byte, id uint64) {
	l.carried = append(l.carried, linkFrame{from.PortName(), id, slices.Clone(bits)})
	for _, p := range l.ports {
		if p == from {
			continue
		}
		cp := slices.Clone(bits)
		l.clock.AfterFunc(l.latency, func() { p.Arrive(cp, id) })
	}
}

// arpFrames returns the ARP frames carried so far, from the named port
// ("" for all).
func (l *testLink) arpFrames(from string) []linkFrame {
	var out []linkFrame
	for _, f := range l.carried {
		if nic.Frame(f.bits).EtherType() == nic.EtherTypeARP && (from == "" || f.from == from) {
			out = append(out, f)
		}
	}
	return out
}

// nullLink is a medium that swallows frames.
type nullLink struct{}

func (nullLink) Transmit(nic.Port, []byte, uint64) {}

// ipCollector is the IP layer's stand-in: it keeps the packets it receives.
type ipCollector struct {
	ids      []uint64
	payloads [][]byte
}

func (c *ipCollector) Receive(f nic.RxFrame) {
	c.ids = append(c.ids, f.ID)
	c.payloads = append(c.payloads, slices.Clone(f.Payload))
}

type arpHost struct {
	name string
	nic  *nic.NIC
	arp  *ARP
	ip   netip.Addr
	mac  nic.MAC
	ipv4 *ipCollector
}

// arpNet is n hosts, h1..hn with 10.0.0.i and 02:00:00:00:00:0i, on one
// testLink.
type arpNet struct {
	t     *testing.T
	clock *clock.Virtual
	log   *viz.Log
	mem   *viz.MemorySink
	link  *testLink
	hosts []*arpHost
}

func newARPNet(t *testing.T, n int, cfg Config) *arpNet {
	t.Helper()
	c := clock.NewVirtual()
	log := viz.NewLog(c)
	mem := &viz.MemorySink{}
	log.AddSink(mem)
	net := &arpNet{t: t, clock: c, log: log, mem: mem, link: &testLink{clock: c, latency: 100 * time.Microsecond}}
	for i := 1; i <= n; i++ {
		h := &arpHost{
			name: fmt.Sprintf("h%d", i),
			ip:   netip.AddrFrom4([4]byte{10, 0, 0, byte(i)}),
			mac:  nic.MAC{0x02, 0, 0, 0, 0, byte(i)},
			ipv4: &ipCollector{},
		}
		h.nic = nic.New(nic.Config{Name: "eth0", MAC: h.mac, Clock: c, Recorder: log.Recorder(h.name)})
		h.arp = New(h.nic, cfg)
		h.nic.Register(nic.EtherTypeARP, h.arp)
		h.nic.Register(nic.EtherTypeIPv4, h.ipv4)
		h.arp.AddAddress(h.ip)
		net.link.attach(h.nic)
		net.hosts = append(net.hosts, h)
	}
	return net
}

// arpEvents returns host's ARP steps named step ("" for all).
func (n *arpNet) arpEvents(host, step string) []viz.Event {
	var out []viz.Event
	for _, e := range n.mem.Events() {
		if e.Host == host && e.Layer == viz.LayerARP && (step == "" || e.Step == step) {
			out = append(out, e)
		}
	}
	return out
}

// lastARP returns the last ARP step host logged for frame id.
func (n *arpNet) lastARP(host string, id uint64) viz.Event {
	n.t.Helper()
	var last *viz.Event
	for _, e := range n.mem.Events() {
		if e.Host == host && e.Layer == viz.LayerARP && e.Frame == id {
			last = &e
		}
	}
	if last == nil {
		n.t.Fatalf("%s logged no ARP step for frame %d", host, id)
	}
	return *last
}

// wantDrop checks that host's last ARP step for frame id drops it with
// reason, with msg containing text.
func (n *arpNet) wantDrop(host string, id uint64, reason viz.Reason, text string) {
	n.t.Helper()
	e := n.lastARP(host, id)
	if e.Verdict != viz.Drop || e.Reason != reason || !strings.Contains(e.Msg, text) {
		n.t.Fatalf("%s frame %d: last ARP step %s %s %s %q, want drop %s mentioning %q",
			host, id, e.Step, e.Verdict, e.Reason, e.Msg, reason, text)
	}
}

// inject puts an ARP packet on h's port as if the link had carried it, and
// runs the clock until h has handled it.
func (n *arpNet) inject(h *arpHost, dst, src nic.MAC, pkt []byte) uint64 {
	id := n.log.NewFrameID()
	h.nic.Arrive(nic.AppendFrame(nil, dst, src, nic.EtherTypeARP, pkt), id)
	n.clock.RunFor(time.Millisecond)
	return id
}

func (n *arpNet) output(h *arpHost, to netip.Addr, payload []byte) (uint64, error) {
	id := n.log.NewFrameID()
	return id, h.arp.Output(to, nic.EtherTypeIPv4, payload, id)
}

// ipPayload is a 50-byte test packet (above the 46-byte minimum, so the
// receiver sees no padding).
func ipPayload(b byte) []byte { return bytes.Repeat([]byte{b}, 50) }

func entriesString(a *ARP) string {
	var s []string
	for _, e := range a.Entries() {
		s = append(s, e.String())
	}
	return strings.Join(s, "; ")
}

func TestARPResolutionRoundTrip(t *testing.T) {
	n := newARPNet(t, 2, Config{})
	h1, h2 := n.hosts[0], n.hosts[1]

	p1 := ipPayload(1)
	id1, err := n.output(h1, h2.ip, p1)
	if err != nil {
		t.Fatal(err)
	}
	p1[0] = 0xee // the caller reuses its buffer at once: ARP must have copied it
	id2, err := n.output(h1, h2.ip, ipPayload(2))
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []uint64{id1, id2} {
		if e := n.lastARP("h1", id); e.Step != "queue" || e.Verdict != viz.Pass {
			t.Fatalf("frame %d before the reply: %s %s %q, want queued", id, e.Step, e.Verdict, e.Msg)
		}
	}
	reqs := n.arpEvents("h1", "request")
	if len(reqs) != 1 || reqs[0].Verdict != viz.Send || reqs[0].Msg != "who-has 10.0.0.2? tell 10.0.0.1 (request 1 of 3, broadcast)" {
		t.Fatalf("h1 requests: %+v, want one broadcast who-has", reqs)
	}
	if got := entriesString(h1.arp); got != "10.0.0.2 dev eth0 INCOMPLETE" {
		t.Fatalf("h1 cache while resolving: %q", got)
	}

	n.clock.RunFor(10 * time.Millisecond)

	if !slices.Equal(h2.ipv4.ids, []uint64{id1, id2}) {
		t.Fatalf("h2 received frames %v, want %v in order", h2.ipv4.ids, []uint64{id1, id2})
	}
	if !bytes.Equal(h2.ipv4.payloads[0], ipPayload(1)) || !bytes.Equal(h2.ipv4.payloads[1], ipPayload(2)) {
		t.Fatalf("h2 received wrong bytes: % x", h2.ipv4.payloads)
	}
	// h2: learns h1 from the request (RFC 826: it is the target), answers.
	reqID := reqs[0].Frame
	if e := n.lastARP("h2", reqID); e.Step != "request" || e.Verdict != viz.Deliver {
		t.Fatalf("h2 on the request: %s %s %q", e.Step, e.Verdict, e.Msg)
	}
	if len(n.arpEvents("h2", "learn")) != 1 {
		t.Fatal("h2 did not learn h1 from its request")
	}
	replies := n.arpEvents("h2", "reply")
	if len(replies) != 1 || replies[0].Verdict != viz.Send || replies[0].Frame == reqID ||
		!strings.HasPrefix(replies[0].Msg, "10.0.0.2 is-at 02:00:00:00:00:02") {
		t.Fatalf("h2 replies: %+v", replies)
	}
	// h1: the reply resolves the entry, then the queued packets go in order.
	if e := n.lastARP("h1", replies[0].Frame); e.Step != "reply" || e.Verdict != viz.Deliver {
		t.Fatalf("h1 on the reply: %s %s %q", e.Step, e.Verdict, e.Msg)
	}
	var resolved []uint64
	for _, e := range n.arpEvents("h1", "resolved") {
		resolved = append(resolved, e.Frame)
	}
	if !slices.Equal(resolved, []uint64{id1, id2}) {
		t.Fatalf("resolved steps for frames %v, want %v", resolved, []uint64{id1, id2})
	}
	if got := entriesString(h1.arp); got != "10.0.0.2 dev eth0 lladdr 02:00:00:00:00:02 REACHABLE" {
		t.Fatalf("h1 cache: %q", got)
	}
	if got := entriesString(h2.arp); got != "10.0.0.1 dev eth0 lladdr 02:00:00:00:00:01 REACHABLE" {
		t.Fatalf("h2 cache: %q", got)
	}

	// The second round goes straight out: a cache hit, no ARP.
	id3, err := n.output(h1, h2.ip, ipPayload(3))
	if err != nil {
		t.Fatal(err)
	}
	if e := n.lastARP("h1", id3); e.Step != "lookup" || e.Verdict != viz.Pass {
		t.Fatalf("frame %d: %s %s %q, want a lookup hit", id3, e.Step, e.Verdict, e.Msg)
	} else if hit, _ := e.Field("hit"); hit != "true" {
		t.Fatalf("lookup for frame %d: hit=%q", id3, hit)
	}
	n.clock.RunFor(10 * time.Millisecond)
	if !slices.Equal(h2.ipv4.ids, []uint64{id1, id2, id3}) {
		t.Fatalf("h2 received %v", h2.ipv4.ids)
	}
	if got := len(n.link.arpFrames("")); got != 2 {
		t.Fatalf("%d ARP frames on the link, want 2 (one request, one reply)", got)
	}
	// And h2 answers h1 from its cache too: the request taught it.
	if _, err := n.output(h2, h1.ip, ipPayload(4)); err != nil {
		t.Fatal(err)
	}
	n.clock.RunFor(10 * time.Millisecond)
	if len(h1.ipv4.ids) != 1 || len(n.link.arpFrames("")) != 2 {
		t.Fatalf("h2 -> h1 needed ARP (%d ARP frames) or did not arrive (%v)", len(n.link.arpFrames("")), h1.ipv4.ids)
	}
}

// The ARP frames packetwalk puts on the link decode with gopacket, code we
// did not write, with the fields RFC 826 asks for.
func TestARPEmittedFramesDecodeWithGopacket(t *testing.T) {
	n := newARPNet(t, 2, Config{})
	h1, h2 := n.hosts[0], n.hosts[1]
	if _, err := n.output(h1, h2.ip, ipPayload(1)); err != nil {
		t.Fatal(err)
	}
	n.clock.RunFor(10 * time.Millisecond)
	frames := n.link.arpFrames("")
	if len(frames) != 2 {
		t.Fatalf("%d ARP frames, want a request and a reply", len(frames))
	}
	ip := func(a netip.Addr) net.IP { return net.IP(a.AsSlice()) }
	tests := []struct {
		from         string
		dst          nic.MAC
		op           uint16
		sha          nic.MAC
		spa          netip.Addr
		tha          nic.MAC
		tpa          netip.Addr
		wantTcpdumpy string
	}{
		{"h1/eth0", nic.Broadcast, layers.ARPRequest, h1.mac, h1.ip, nic.MAC{}, h2.ip, "ARP, Request who-has 10.0.0.2 tell 10.0.0.1"},
		{"h2/eth0", h1.mac, layers.ARPReply, h2.mac, h2.ip, h1.mac, h1.ip, "ARP, Reply 10.0.0.2 is-at 02:00:00:00:00:02"},
	}
	for i, tc := range tests {
		f := frames[i]
		if f.from != tc.from {
			t.Fatalf("frame %d from %s, want %s", i, f.from, tc.from)
		}
		eth, arp := decodeARPFrame(t, f.bits)
		if !bytes.Equal(eth.DstMAC, tc.dst[:]) || !bytes.Equal(eth.SrcMAC, tc.sha[:]) || eth.EthernetType != layers.EthernetTypeARP {
			t.Errorf("%s: Ethernet %v -> %v %v", tc.from, eth.SrcMAC, eth.DstMAC, eth.EthernetType)
		}
		if arp.AddrType != layers.LinkTypeEthernet || arp.Protocol != layers.EthernetTypeIPv4 ||
			arp.HwAddressSize != 6 || arp.ProtAddressSize != 4 || arp.Operation != tc.op {
			t.Errorf("%s: ARP header %+v", tc.from, arp)
		}
		if !bytes.Equal(arp.SourceHwAddress, tc.sha[:]) || !net.IP(arp.SourceProtAddress).Equal(ip(tc.spa)) ||
			!bytes.Equal(arp.DstHwAddress, tc.tha[:]) || !net.IP(arp.DstProtAddress).Equal(ip(tc.tpa)) {
			t.Errorf("%s: ARP addresses %v %v -> %v %v", tc.from, arp.SourceHwAddress, arp.SourceProtAddress, arp.DstHwAddress, arp.DstProtAddress)
		}
		if got := Packet(nic.Frame(f.bits).Payload()).String(); got != tc.wantTcpdumpy {
			t.Errorf("String = %q, want %q", got, tc.wantTcpdumpy)
		}
	}
}

func TestARPCacheExpiry(t *testing.T) {
	const timeout = 5 * time.Second
	n := newARPNet(t, 2, Config{CacheTimeout: timeout})
	h1, h2 := n.hosts[0], n.hosts[1]
	if _, err := n.output(h1, h2.ip, ipPayload(1)); err != nil {
		t.Fatal(err)
	}
	n.clock.RunFor(10 * time.Millisecond)
	start := n.clock.Now()

	// A gratuitous ARP from h2 at 3 s confirms the entry: it lives until
	// 3 s + timeout, not timeout.
	n.clock.RunFor(3 * time.Second)
	n.inject(h1, nic.Broadcast, h2.mac, Append(nil, Request, h2.mac, h2.ip, nic.MAC{}, h2.ip))
	n.clock.RunUntil(start + timeout + time.Second)
	if len(n.arpEvents("h1", "expire")) != 0 {
		t.Fatalf("h1 expired a confirmed entry: %+v", n.arpEvents("h1", "expire"))
	}
	n.clock.RunUntil(start + 3*time.Second + timeout + 10*time.Millisecond)
	exp := n.arpEvents("h1", "expire")
	if len(exp) != 1 || !strings.HasPrefix(exp[0].Msg, "10.0.0.2 (02:00:00:00:00:02) expired") {
		t.Fatalf("h1 expire steps: %+v", exp)
	}
	if got := h1.arp.Entries(); len(got) != 0 {
		t.Fatalf("h1 cache after expiry: %v", got)
	}

	// The next packet resolves again.
	id, err := n.output(h1, h2.ip, ipPayload(2))
	if err != nil {
		t.Fatal(err)
	}
	if e := n.lastARP("h1", id); e.Step != "queue" {
		t.Fatalf("after expiry: %s %q, want the packet queued", e.Step, e.Msg)
	}
	n.clock.RunFor(10 * time.Millisecond)
	if got := len(n.link.arpFrames("h1/eth0")); got != 2 {
		t.Fatalf("h1 sent %d requests, want 2 (one before and one after expiry)", got)
	}
	if len(h2.ipv4.ids) != 2 || h2.ipv4.ids[1] != id {
		t.Fatalf("h2 received %v", h2.ipv4.ids)
	}
}

// Without a timer (a wall clock whose callbacks are late), the age check at
// lookup still refuses an expired entry.
func TestARPExpiryOnLookup(t *testing.T) {
	n := newARPNet(t, 2, Config{CacheTimeout: time.Second})
	h1, h2 := n.hosts[0], n.hosts[1]
	if _, err := n.output(h1, h2.ip, ipPayload(1)); err != nil {
		t.Fatal(err)
	}
	n.clock.RunFor(10 * time.Millisecond)
	// Age the entry by hand, as if its timer had not run yet.
	h1.arp.cache[h2.ip].updated -= 2 * time.Second
	id, _ := n.output(h1, h2.ip, ipPayload(2))
	if e := n.lastARP("h1", id); e.Step != "queue" {
		t.Fatalf("frame %d used an expired entry: %s %q", id, e.Step, e.Msg)
	}
	if len(n.arpEvents("h1", "expire")) != 1 {
		t.Fatal("no expire step")
	}
}

func TestARPRetriesThenUnresolved(t *testing.T) {
	n := newARPNet(t, 2, Config{})
	h1 := n.hosts[0]
	nobody := netip.MustParseAddr("10.0.0.99")
	id1, err1 := n.output(h1, nobody, ipPayload(1))
	id2, err2 := n.output(h1, nobody, ipPayload(2))
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}

	n.clock.RunFor(2500 * time.Millisecond)
	if got := len(n.link.arpFrames("h1/eth0")); got != DefaultMaxRequests {
		t.Fatalf("%d requests by 2.5 s, want %d (at 0, 1 and 2 s)", got, DefaultMaxRequests)
	}
	for i, e := range n.arpEvents("h1", "request") {
		if want := fmt.Sprintf("request %d of 3", i+1); !strings.Contains(e.Msg, want) {
			t.Errorf("request %d: %q", i+1, e.Msg)
		}
		if e.T != time.Duration(i)*time.Second {
			t.Errorf("request %d at %v, want %v", i+1, e.T, time.Duration(i)*time.Second)
		}
		// h2 hears each request and ignores it: not its address.
		n.wantDrop("h2", e.Frame, viz.ReasonARPNotForMe, "request for 10.0.0.99")
	}

	n.clock.RunFor(time.Second) // 3.5 s: the third request went unanswered
	for _, id := range []uint64{id1, id2} {
		n.wantDrop("h1", id, viz.ReasonARPUnresolved, "did not answer 3 ARP requests")
	}
	if got := entriesString(h1.arp); got != "10.0.0.99 dev eth0 FAILED" {
		t.Fatalf("h1 cache: %q", got)
	}
	// While FAILED, packets fail at once, with a named drop.
	id3, err := n.output(h1, nobody, ipPayload(3))
	if !errors.Is(err, ErrUnresolved) {
		t.Fatalf("Output to a FAILED neighbour: %v", err)
	}
	n.wantDrop("h1", id3, viz.ReasonARPUnresolved, "FAILED")
	if got := len(n.link.arpFrames("h1/eth0")); got != 3 {
		t.Fatalf("%d requests, want no more while FAILED", got)
	}

	// After FailedTimeout the entry is gone and the next packet asks again.
	n.clock.RunFor(DefaultFailedTimeout)
	if got := h1.arp.Entries(); len(got) != 0 {
		t.Fatalf("h1 cache after the hold: %v", got)
	}
	if _, err := n.output(h1, nobody, ipPayload(4)); err != nil {
		t.Fatal(err)
	}
	if got := len(n.link.arpFrames("h1/eth0")); got != 4 {
		t.Fatalf("%d requests, want a fourth after the hold", got)
	}
}

func TestARPFailedTimeoutNegativeDeletesAtOnce(t *testing.T) {
	n := newARPNet(t, 1, Config{FailedTimeout: -1, MaxRequests: 1})
	h1 := n.hosts[0]
	nobody := netip.MustParseAddr("10.0.0.99")
	id, _ := n.output(h1, nobody, ipPayload(1))
	n.clock.RunFor(1500 * time.Millisecond)
	n.wantDrop("h1", id, viz.ReasonARPUnresolved, "did not answer 1 ARP requests")
	if got := h1.arp.Entries(); len(got) != 0 {
		t.Fatalf("cache: %v, want the failed entry deleted", got)
	}
	if _, err := n.output(h1, nobody, ipPayload(2)); err != nil {
		t.Fatalf("Output after a deleted failure: %v", err)
	}
}

func TestARPQueueFull(t *testing.T) {
	n := newARPNet(t, 2, Config{QueueLimit: 2})
	h1, h2 := n.hosts[0], n.hosts[1]
	var ids []uint64
	for i := range 3 {
		id, err := n.output(h1, h2.ip, ipPayload(byte(i)))
		if i < 2 && err != nil {
			t.Fatal(err)
		}
		if i == 2 && !errors.Is(err, ErrQueueFull) {
			t.Fatalf("third packet: %v, want ErrQueueFull", err)
		}
		ids = append(ids, id)
	}
	n.wantDrop("h1", ids[2], viz.ReasonARPQueueFull, "2 packets already wait for 10.0.0.2")
	n.clock.RunFor(10 * time.Millisecond)
	if !slices.Equal(h2.ipv4.ids, ids[:2]) {
		t.Fatalf("h2 received %v, want %v", h2.ipv4.ids, ids[:2])
	}
}

func TestARPRequestNotForMe(t *testing.T) {
	n := newARPNet(t, 3, Config{})
	h1, h2, h3 := n.hosts[0], n.hosts[1], n.hosts[2]
	if _, err := n.output(h1, h3.ip, ipPayload(1)); err != nil {
		t.Fatal(err)
	}
	n.clock.RunFor(10 * time.Millisecond)
	req := n.arpEvents("h1", "request")[0].Frame
	n.wantDrop("h2", req, viz.ReasonARPNotForMe, "request for 10.0.0.3")
	if got := n.link.arpFrames("h2/eth0"); len(got) != 0 {
		t.Fatalf("h2 answered a request for someone else: %d frames", len(got))
	}
	if got := h2.arp.Entries(); len(got) != 0 {
		t.Fatalf("h2 created an entry from a request for someone else: %v", got)
	}
	if len(h3.ipv4.ids) != 1 {
		t.Fatal("h3 did not get the packet")
	}

	// RFC 826's merge still updates an entry h2 already has, even from a
	// request that is not for it.
	if _, err := n.output(h2, h1.ip, ipPayload(2)); err != nil { // h2 resolves h1: now it has an entry
		t.Fatal(err)
	}
	n.clock.RunFor(10 * time.Millisecond)
	moved := nic.MAC{0x02, 0, 0, 0, 0, 0x99}
	id := n.inject(h2, nic.Broadcast, moved, Append(nil, Request, moved, h1.ip, nic.MAC{}, h3.ip))
	upd := n.arpEvents("h2", "update")
	if len(upd) == 0 || upd[len(upd)-1].Frame != id || !strings.Contains(upd[len(upd)-1].Msg, "MAC changed (was 02:00:00:00:00:01)") {
		t.Fatalf("h2 update steps: %+v", upd)
	}
	n.wantDrop("h2", id, viz.ReasonARPNotForMe, "request for 10.0.0.3")
	if got := entriesString(h2.arp); got != "10.0.0.1 dev eth0 lladdr 02:00:00:00:00:99 REACHABLE" {
		t.Fatalf("h2 cache: %q", got)
	}
}

func TestARPMalformed(t *testing.T) {
	valid := func() []byte { return Append(nil, Request, arpMAC1, arpIP1, nic.MAC{}, arpIP2) }
	mod := func(f func(b []byte)) []byte { b := valid(); f(b); return b }
	tests := []struct {
		name string
		pkt  []byte
		want string
	}{
		{"7 bytes", valid()[:7], "shorter than the 8-byte ARP header"},
		{"27 bytes", valid()[:27], "27 bytes"},
		{"hardware type 6 (IEEE 802)", mod(func(b []byte) { b[1] = 6 }), "hardware type 6"},
		{"protocol IPv6", mod(func(b []byte) { b[2], b[3] = 0x86, 0xdd }), "protocol type 0x86dd"},
		{"hardware length 8", mod(func(b []byte) { b[4] = 8 }), "hardware address length 8"},
		{"protocol length 16", mod(func(b []byte) { b[5] = 16 }), "protocol address length 16"},
		{"op 0", mod(func(b []byte) { b[7] = 0 }), "operation 0"},
		{"op 4 (RARP reply)", mod(func(b []byte) { b[7] = 4 }), "operation 4"},
		{"sender MAC broadcast", mod(func(b []byte) { copy(b[8:14], nic.Broadcast[:]) }), "group address"},
		{"sender MAC multicast", mod(func(b []byte) { b[8] = 0x01 }), "group address"},
		{"sender IP broadcast", mod(func(b []byte) { copy(b[14:18], []byte{255, 255, 255, 255}) }), "group address"},
		{"sender IP multicast", mod(func(b []byte) { copy(b[14:18], []byte{224, 0, 0, 1}) }), "group address"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n := newARPNet(t, 2, Config{})
			h2 := n.hosts[1]
			// Straight into Receive: Ethernet would pad a short packet
			// with zeros that the length check then accepts.
			id := n.log.NewFrameID()
			h2.arp.Receive(nic.RxFrame{NIC: h2.nic, ID: id, Dst: nic.Broadcast, Src: arpMAC1, EtherType: nic.EtherTypeARP,
				Class: nic.ClassBroadcast, Payload: tc.pkt})
			n.wantDrop("h2", id, viz.ReasonARPMalformed, tc.want)
			n.clock.RunFor(10 * time.Millisecond)
			if len(h2.arp.Entries()) != 0 || len(n.link.arpFrames("")) != 0 {
				t.Fatalf("a malformed packet changed the cache (%v) or was answered", h2.arp.Entries())
			}
		})
	}
	// And through the whole receive path, with Ethernet padding.
	n := newARPNet(t, 2, Config{})
	id := n.inject(n.hosts[1], nic.Broadcast, arpMAC1, mod(func(b []byte) { b[1] = 6 }))
	n.wantDrop("h2", id, viz.ReasonARPMalformed, "hardware type 6")
}

func TestARPGratuitous(t *testing.T) {
	other := netip.MustParseAddr("10.0.0.7")
	oldMAC, newMAC := nic.MAC{0x02, 0, 0, 0, 0, 0x07}, nic.MAC{0x02, 0, 0, 0, 0, 0x77}
	for _, op := range []Op{Request, Reply} {
		t.Run(op.String(), func(t *testing.T) {
			n := newARPNet(t, 2, Config{})
			h2 := n.hosts[1]
			announce := func(mac nic.MAC) []byte {
				tha := nic.MAC{}
				if op == Reply {
					tha = mac
				}
				return Append(nil, op, mac, other, tha, other)
			}

			// No entry: ignored, and none created.
			id := n.inject(h2, nic.Broadcast, oldMAC, announce(oldMAC))
			n.wantDrop("h2", id, viz.ReasonARPNotForMe, "gratuitous ARP from 10.0.0.7 ignored: no entry")
			if got := h2.arp.Entries(); len(got) != 0 {
				t.Fatalf("gratuitous ARP created an entry: %v", got)
			}

			// 10.0.0.7 asks h2 something: h2 is the target, so it learns.
			n.inject(h2, nic.Broadcast, oldMAC, Append(nil, Request, oldMAC, other, nic.MAC{}, h2.ip))
			if got := entriesString(h2.arp); got != "10.0.0.7 dev eth0 lladdr 02:00:00:00:00:07 REACHABLE" {
				t.Fatalf("h2 cache: %q", got)
			}

			// Now an announcement (a moved address, a failover) updates it.
			id = n.inject(h2, nic.Broadcast, newMAC, announce(newMAC))
			if e := n.lastARP("h2", id); e.Verdict != viz.Deliver || e.Msg != "gratuitous ARP from 10.0.0.7: entry updated, 10.0.0.7 is-at 02:00:00:00:00:77" {
				t.Fatalf("h2: %s %s %q", e.Step, e.Verdict, e.Msg)
			}
			if got := entriesString(h2.arp); got != "10.0.0.7 dev eth0 lladdr 02:00:00:00:00:77 REACHABLE" {
				t.Fatalf("h2 cache: %q", got)
			}
			if got := n.link.arpFrames("h2/eth0"); len(got) != 1 {
				t.Fatalf("h2 sent %d ARP frames, want only the reply to the request", len(got))
			}
		})
	}
}

func TestARPProbeAndConflict(t *testing.T) {
	n := newARPNet(t, 2, Config{})
	h2 := n.hosts[1]
	prober := nic.MAC{0x02, 0, 0, 0, 0, 0x55}
	zero := netip.IPv4Unspecified()

	// RFC 5227 probe for h2's address: h2 defends it, learns nothing.
	id := n.inject(h2, nic.Broadcast, prober, Append(nil, Request, prober, zero, nic.MAC{}, h2.ip))
	if e := n.lastARP("h2", id); e.Step != "probe" || e.Verdict != viz.Deliver {
		t.Fatalf("probe: %s %s %q", e.Step, e.Verdict, e.Msg)
	}
	frames := n.link.arpFrames("h2/eth0")
	if len(frames) != 1 || nic.Frame(frames[0].bits).Dst() != prober {
		t.Fatalf("h2 sent %d frames, want one reply to the prober", len(frames))
	}
	if got := Packet(nic.Frame(frames[0].bits).Payload()).String(); got != "ARP, Reply 10.0.0.2 is-at 02:00:00:00:00:02" {
		t.Fatalf("defence: %q", got)
	}
	if got := h2.arp.Entries(); len(got) != 0 {
		t.Fatalf("probe created an entry: %v", got)
	}

	// A probe for a free address is not ours to answer.
	id = n.inject(h2, nic.Broadcast, prober, Append(nil, Request, prober, zero, nic.MAC{}, netip.MustParseAddr("10.0.0.50")))
	n.wantDrop("h2", id, viz.ReasonARPNotForMe, "ARP probe (RFC 5227) for 10.0.0.50")

	// Somebody else claims h2's address.
	id = n.inject(h2, nic.Broadcast, prober, Append(nil, Request, prober, h2.ip, nic.MAC{}, h2.ip))
	n.wantDrop("h2", id, viz.ReasonARPConflict, "02:00:00:00:00:55 claims our address 10.0.0.2")
	if got := len(n.link.arpFrames("h2/eth0")); got != 1 || len(h2.arp.Entries()) != 0 {
		t.Fatalf("conflict answered (%d frames) or learned (%v)", got, h2.arp.Entries())
	}
}

func TestARPIgnoresOtherHostsFramesInPromiscuousMode(t *testing.T) {
	n := newARPNet(t, 3, Config{})
	h2 := n.hosts[1]
	h2.nic.SetPromiscuous(true)
	// A reply from h3 to h1 that h2 overhears.
	id := n.inject(h2, arpMAC1, n.hosts[2].mac, Append(nil, Reply, n.hosts[2].mac, n.hosts[2].ip, arpMAC1, arpIP1))
	n.wantDrop("h2", id, viz.ReasonMACNotMine, "promiscuous")
}

func TestNeighborEviction(t *testing.T) {
	t.Run("oldest confirmed", func(t *testing.T) {
		n := newARPNet(t, 2, Config{MaxEntries: 2})
		h2 := n.hosts[1]
		var ids []uint64
		for i := byte(11); i <= 13; i++ {
			mac := nic.MAC{0x02, 0, 0, 0, 0, i}
			ids = append(ids, n.inject(h2, nic.Broadcast, mac, Append(nil, Request, mac, netip.AddrFrom4([4]byte{10, 0, 0, i}), nic.MAC{}, h2.ip)))
			n.clock.RunFor(time.Second)
		}
		ev := n.arpEvents("h2", "evict")
		if len(ev) != 1 || ev[0].Frame != ids[2] {
			t.Fatalf("evict steps %+v, want one, caused by frame %d", ev, ids[2])
		}
		if ip, _ := ev[0].Field("ip"); ip != "10.0.0.11" {
			t.Fatalf("evicted %s, want the oldest, 10.0.0.11", ip)
		}
		want := "10.0.0.12 dev eth0 lladdr 02:00:00:00:00:0c REACHABLE; 10.0.0.13 dev eth0 lladdr 02:00:00:00:00:0d REACHABLE"
		if got := entriesString(h2.arp); got != want {
			t.Fatalf("cache: %q, want %q", got, want)
		}
	})
	t.Run("queued packets of the victim", func(t *testing.T) {
		n := newARPNet(t, 1, Config{MaxEntries: 1})
		h1 := n.hosts[0]
		id1, _ := n.output(h1, netip.MustParseAddr("10.0.0.50"), ipPayload(1))
		n.clock.RunFor(time.Millisecond)
		if _, err := n.output(h1, netip.MustParseAddr("10.0.0.51"), ipPayload(2)); err != nil {
			t.Fatal(err)
		}
		n.wantDrop("h1", id1, viz.ReasonARPUnresolved, "evicted before it resolved")
		if got := entriesString(h1.arp); got != "10.0.0.51 dev eth0 INCOMPLETE" {
			t.Fatalf("cache: %q", got)
		}
		// The victim's retry timer must not resurrect it.
		n.clock.RunFor(10 * time.Second)
		for _, e := range n.arpEvents("h1", "request") {
			if ip, _ := e.Field("target_ip"); ip == "10.0.0.50" && e.T > 0 {
				t.Fatalf("request for the evicted 10.0.0.50 at %v", e.T)
			}
		}
	})
}

func TestARPOutputRejectsNonUnicast(t *testing.T) {
	n := newARPNet(t, 1, Config{})
	for _, s := range []string{"255.255.255.255", "224.0.0.1", "0.0.0.0", "::1"} {
		id, err := n.output(n.hosts[0], netip.MustParseAddr(s), ipPayload(1))
		if !errors.Is(err, ErrUnresolved) {
			t.Errorf("Output(%s) = %v", s, err)
		}
		n.wantDrop("h1", id, viz.ReasonARPUnresolved, "unicast IPv4 next hops only")
	}
}

func TestARPAddresses(t *testing.T) {
	n := newARPNet(t, 1, Config{})
	a := n.hosts[0].arp
	a.AddAddress(netip.MustParseAddr("::ffff:10.0.1.1")) // mapped: kept as IPv4
	a.AddAddress(netip.MustParseAddr("10.0.0.1"))        // again: no duplicate
	if got := fmt.Sprint(a.Addresses()); got != "[10.0.0.1 10.0.1.1]" {
		t.Fatalf("Addresses = %s", got)
	}
	defer func() {
		if recover() == nil {
			t.Fatal("AddAddress of an IPv6 address did not panic")
		}
	}()
	a.AddAddress(netip.MustParseAddr("fe80::1"))
}

// The request carries the source address of the packet that needs it
// (Linux's arp_announce=0), not just the first address.
func TestARPRequestSenderIsPacketSource(t *testing.T) {
	n := newARPNet(t, 2, Config{})
	h1 := n.hosts[0]
	second := netip.MustParseAddr("10.0.1.1")
	h1.arp.AddAddress(second)
	pkt := make([]byte, 20)
	pkt[0] = 0x45
	copy(pkt[12:16], second.AsSlice())
	if _, err := n.output(h1, netip.MustParseAddr("10.0.1.2"), pkt); err != nil {
		t.Fatal(err)
	}
	req := Packet(nic.Frame(n.link.arpFrames("h1/eth0")[0].bits).Payload())
	if req.SenderIP() != second {
		t.Fatalf("request %s, want sender %s", req, second)
	}
}

// Nobody listening: the cache hit path allocates nothing.
func BenchmarkARPOutputHit(b *testing.B) {
	c := clock.NewVirtual()
	n := nic.New(nic.Config{MAC: arpMAC1, Clock: c})
	n.Attach(nullLink{})
	a := New(n, Config{})
	a.AddAddress(arpIP1)
	a.Receive(nic.RxFrame{NIC: n, ID: 1, Payload: Append(nil, Reply, arpMAC2, arpIP2, arpMAC1, arpIP1)})
	payload := ipPayload(1)
	b.ReportAllocs()
	for b.Loop() {
		if err := a.Output(arpIP2, nic.EtherTypeIPv4, payload, 7); err != nil {
			b.Fatal(err)
		}
	}
}

// FuzzARPReceive feeds arbitrary payloads to Receive, with the log on, and
// lets every timer run: nothing may panic, and the cache stays bounded.
func FuzzARPReceive(f *testing.F) {
	f.Add(Append(nil, Request, arpMAC2, arpIP2, nic.MAC{}, arpIP1), uint8(nic.ClassBroadcast))
	f.Add(Append(nil, Reply, arpMAC2, arpIP2, arpMAC1, arpIP1), uint8(nic.ClassHost))
	f.Add(Append(nil, Request, arpMAC2, arpIP2, nic.MAC{}, arpIP2), uint8(nic.ClassBroadcast))
	f.Add(Append(nil, Request, arpMAC2, netip.IPv4Unspecified(), nic.MAC{}, arpIP1), uint8(nic.ClassBroadcast))
	f.Add(Append(nil, Request, arpMAC1, arpIP1, nic.MAC{}, arpIP1), uint8(nic.ClassBroadcast))
	f.Add([]byte{0, 1, 8, 0, 6, 4, 0, 1}, uint8(nic.ClassOtherHost))
	f.Add([]byte{}, uint8(nic.ClassHost))
	f.Fuzz(func(t *testing.T, payload []byte, class uint8) {
		c := clock.NewVirtual()
		log := viz.NewLog(c)
		log.AddSink(&viz.MemorySink{Limit: 64})
		n := nic.New(nic.Config{MAC: arpMAC1, Clock: c, Recorder: log.Recorder("fuzz")})
		n.Attach(nullLink{})
		a := New(n, Config{MaxEntries: 2})
		a.AddAddress(arpIP1)
		// A resolution in progress, so replies have something to resolve.
		if err := a.Output(arpIP2, nic.EtherTypeIPv4, ipPayload(1), 0); err != nil {
			t.Fatal(err)
		}
		p := Packet(payload)
		_ = p.String()
		if p.Check() == nil {
			// Check admits exactly what Append can say.
			again := Append(nil, p.Op(), p.SenderMAC(), p.SenderIP(), p.TargetMAC(), p.TargetIP())
			if !bytes.Equal(again, payload[:PacketLen]) {
				t.Fatalf("round trip: % x -> % x", payload[:PacketLen], again)
			}
		}
		a.Receive(nic.RxFrame{NIC: n, ID: 1, Dst: nic.Broadcast, Src: arpMAC2, EtherType: nic.EtherTypeARP,
			Class: nic.Class(class % 4), Payload: payload})
		c.RunFor(5 * time.Minute)
		if len(a.cache) > 2 {
			t.Fatalf("cache grew to %d entries", len(a.cache))
		}
	})
}

// ARP is registered with the NIC's driver like any protocol above the NIC,
// by the composition root (stack.Host.AddInterface): New attaches nothing,
// so a NIC whose driver has no ARP drops ARP frames as unknown_ethertype,
// and the same frame reaches ARP once it is registered for 0x0806.
func TestARPReceivesOnlyWhenRegistered(t *testing.T) {
	c := clock.NewVirtual()
	log := viz.NewLog(c)
	mem := &viz.MemorySink{}
	log.AddSink(mem)
	n := nic.New(nic.Config{MAC: arpMAC1, Clock: c, Recorder: log.Recorder("h1")})
	n.Attach(nullLink{})
	a := New(n, Config{})
	a.AddAddress(arpIP1)
	request := nic.AppendFrame(nil, nic.Broadcast, arpMAC2, nic.EtherTypeARP, Append(nil, Request, arpMAC2, arpIP2, nic.MAC{}, arpIP1))

	first := n.Recorder().NewFrameID()
	n.Arrive(request, first)
	c.RunFor(time.Millisecond)
	var drop viz.Event
	for _, e := range mem.Events() {
		if e.Frame == first && e.Verdict == viz.Drop {
			drop = e
		}
		if e.Layer == viz.LayerARP {
			t.Fatalf("ARP saw a frame before it was registered: %+v", e)
		}
	}
	if drop.Reason != viz.ReasonUnknownEtherType {
		t.Fatalf("unregistered ARP: the request ended with %+v, want a drop unknown_ethertype", drop)
	}

	n.Register(nic.EtherTypeARP, a)
	n.Arrive(request, n.Recorder().NewFrameID())
	c.RunFor(time.Millisecond)
	if got := entriesString(a); !strings.Contains(got, arpIP2.String()+" dev eth0 lladdr "+arpMAC2.String()+" REACHABLE") {
		t.Fatalf("registered ARP did not learn the requester: cache %q", got)
	}
}
