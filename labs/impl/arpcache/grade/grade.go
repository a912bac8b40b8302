// Package grade holds the graded tests of the impl-arp lab: the student's
// arp.Resolver at unit level, on a NIC that records what it is asked to
// transmit and a virtual clock (replies, learning, requests, the pending
// queue, retries, FAILED, expiry, RFC 826's merge), and inside the stack,
// where pings cross a wire and the frames every NIC sends and what ping
// sees are compared with the run of arp's own resolver.
package grade

import (
	"bytes"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/packetwalk/packetwalk/arp"
	"github.com/packetwalk/packetwalk/clock"
	"github.com/packetwalk/packetwalk/labs/impl/grading"
	"github.com/packetwalk/packetwalk/nic"
	"github.com/packetwalk/packetwalk/stack"
	"github.com/packetwalk/packetwalk/viz"
	"github.com/packetwalk/packetwalk/wire"
)

// New is the student's constructor.
type New = func(n arp.NIC, cfg arp.Config) arp.Resolver

// Tests are the graded tests, in the order the handout introduces them.
var Tests = []grading.Test[New]{
	{Name: "AnswersRequest", Run: testAnswers},
	{Name: "IgnoresOthersRequests", Run: testOthers},
	{Name: "RequestOnMiss", Run: testRequestOnMiss},
	{Name: "QueueThenFlush", Run: testQueueFlush},
	{Name: "QueueLimit", Run: testQueueLimit},
	{Name: "RetriesThenFails", Run: testRetries},
	{Name: "Expiry", Run: testExpiry},
	{Name: "MergeUpdatesSender", Run: testMerge},
	{Name: "Malformed", Run: testMalformed},
	{Name: "WirePing", Run: testWirePing},
	{Name: "WireLostReply", Run: testWireLostReply},
	{Name: "WireExpiry", Run: testWireExpiry},
	{Name: "WireNobodyThere", Run: testWireNobody},
}

// Run runs every graded test with the student's constructor.
func Run(t *testing.T, newResolver New) { grading.Run(t, Tests, newResolver) }

// Addresses of the unit tests: we are 10.0.0.1 at MAC 1, the neighbour
// 10.0.0.2 at MAC 2.
var (
	myIP    = netip.MustParseAddr("10.0.0.1")
	peerIP  = netip.MustParseAddr("10.0.0.2")
	otherIP = netip.MustParseAddr("10.0.0.7")
	myMAC   = stack.MAC(1)
	peerMAC = stack.MAC(2)
	newMAC  = stack.MAC(9)
)

// sent is one frame the resolver asked the NIC to transmit.
type sent struct {
	dst     nic.MAC
	t       nic.EtherType
	payload []byte
	id      uint64
	at      time.Duration
}

func (s sent) String() string {
	if s.t == nic.EtherTypeARP {
		return fmt.Sprintf("at %v: to %s, ARP %s", s.at, s.dst, arp.Packet(s.payload))
	}
	return fmt.Sprintf("at %v: to %s, EtherType %#04x, frame %d, %s", s.at, s.dst, uint16(s.t), s.id, grading.Hex(s.payload, 8))
}

// fakeNIC is the NIC the unit tests hand the resolver: it records every
// Transmit instead of sending.
type fakeNIC struct {
	clock *clock.Virtual
	rec   *viz.Recorder
	tx    []sent
}

func (n *fakeNIC) Name() string            { return "eth0" }
func (n *fakeNIC) MAC() nic.MAC            { return myMAC }
func (n *fakeNIC) Clock() clock.Clock      { return n.clock }
func (n *fakeNIC) Recorder() *viz.Recorder { return n.rec }
func (n *fakeNIC) Transmit(dst nic.MAC, t nic.EtherType, payload []byte, id uint64) error {
	n.tx = append(n.tx, sent{dst, t, slices.Clone(payload), id, n.clock.Now()})
	return nil
}

// bench is a resolver under test with its NIC, clock and step log.
type bench struct {
	nic *fakeNIC
	mem *viz.MemorySink
	r   arp.Resolver
	log []string // what the test did, for messages
	ids uint64
}

func newBench(newR New, cfg arp.Config) *bench {
	c := clock.NewVirtual()
	mem := &viz.MemorySink{}
	log := viz.NewLog(c)
	log.AddSink(mem)
	n := &fakeNIC{clock: c, rec: log.Recorder("host")}
	b := &bench{nic: n, mem: mem, ids: 1000}
	b.r = arp.NewResolver(n, arp.Config{
		CacheTimeout: cfg.CacheTimeout, RetryInterval: cfg.RetryInterval, MaxRequests: cfg.MaxRequests,
		QueueLimit: cfg.QueueLimit, FailedTimeout: cfg.FailedTimeout, Resolver: newR})
	b.r.AddAddress(myIP)
	b.log = append(b.log, "New(a NIC with MAC "+myMAC.String()+"), AddAddress("+myIP.String()+")")
	return b
}

func (b *bench) sent() string { return strings.Join(b.log, "\n") }

// output sends an IPv4 packet to nextHop; the caller's buffer is
// scribbled over afterwards, as IP reuses it.
func (b *bench) output(nextHop netip.Addr, payload []byte) (uint64, error) {
	b.ids++
	buf := slices.Clone(payload)
	err := b.r.Output(nextHop, nic.EtherTypeIPv4, buf, b.ids)
	for i := range buf {
		buf[i] = 0xee
	}
	res := "nil"
	if err != nil {
		res = err.Error()
	}
	b.log = append(b.log, fmt.Sprintf("at %v: Output(%s, IPv4, %s, frame %d) = %s", b.nic.clock.Now(), nextHop, grading.Hex(payload, 4), b.ids, res))
	return b.ids, err
}

// receive hands the resolver an ARP frame from src.
func (b *bench) receive(src, dst nic.MAC, payload []byte, what string) {
	b.ids++
	class := nic.ClassHost
	if dst == nic.Broadcast {
		class = nic.ClassBroadcast
	}
	buf := slices.Clone(payload)
	b.log = append(b.log, fmt.Sprintf("at %v: Receive(%s from %s to %s)", b.nic.clock.Now(), what, src, dst))
	b.r.Receive(nic.RxFrame{ID: b.ids, Dst: dst, Src: src, EtherType: nic.EtherTypeARP, Class: class, Payload: buf})
	for i := range buf {
		buf[i] = 0xee
	}
}

func (b *bench) run(d time.Duration) {
	b.log = append(b.log, fmt.Sprintf("(the clock runs %v)", d))
	b.nic.clock.RunFor(d)
}

func request(senderMAC nic.MAC, senderIP, targetIP netip.Addr) []byte {
	return arp.Append(nil, arp.Request, senderMAC, senderIP, nic.MAC{}, targetIP)
}

func reply(senderMAC nic.MAC, senderIP netip.Addr, targetIP netip.Addr) []byte {
	return arp.Append(nil, arp.Reply, senderMAC, senderIP, myMAC, targetIP)
}

// steps are the resolver's steps so far.
func (b *bench) steps() []viz.Event {
	return grading.Last(grading.Select(b.mem.Events(), func(e *viz.Event) bool { return e.Layer == viz.LayerARP }), 12)
}

func (b *bench) transmitted(from int) string {
	if len(b.nic.tx) <= from {
		return "nothing transmitted"
	}
	var s []string
	for _, x := range b.nic.tx[from:] {
		s = append(s, x.String())
	}
	return strings.Join(s, "\n")
}

func (b *bench) hasDrop(reason viz.Reason, frame uint64) bool {
	for _, e := range b.mem.Events() {
		if e.Verdict == viz.Drop && e.Reason == reason && (frame == 0 || e.Frame == frame) {
			return true
		}
	}
	return false
}

func entries(r arp.Resolver) string {
	var s []string
	for _, n := range r.Entries() {
		s = append(s, fmt.Sprintf("%s (queued %d)", n, n.Queued))
	}
	if len(s) == 0 {
		return "(empty)"
	}
	return strings.Join(s, "\n")
}

func entry(r arp.Resolver, ip netip.Addr) (arp.Neighbor, bool) {
	for _, n := range r.Entries() {
		if n.IP == ip {
			return n, true
		}
	}
	return arp.Neighbor{}, false
}

var datagram = []byte{0x45, 0, 0, 28, 0, 1, 0, 0, 64, 1, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2, 8, 0, 0xf7, 0xff, 0, 0, 0, 0}

// isRequestFor reports whether s is a broadcast who-has for ip from us.
func isRequestFor(s sent, ip netip.Addr) bool {
	p := arp.Packet(s.payload)
	return s.dst == nic.Broadcast && s.t == nic.EtherTypeARP && p.Check() == nil && p.Op() == arp.Request &&
		p.TargetIP() == ip && p.SenderIP() == myIP && p.SenderMAC() == myMAC
}

// answered checks that a request for our address is answered with a
// correct reply, unicast to the asker: the check every test makes first,
// so that code that does nothing earns nothing.
func answered(t *testing.T, b *bench, asker nic.MAC, askerIP netip.Addr) bool {
	t.Helper()
	from := len(b.nic.tx)
	b.receive(asker, nic.Broadcast, request(asker, askerIP, myIP), fmt.Sprintf("who-has %s? tell %s", myIP, askerIP))
	want := arp.Append(nil, arp.Reply, myMAC, myIP, asker, askerIP)
	if len(b.nic.tx) != from+1 || b.nic.tx[from].dst != asker || b.nic.tx[from].t != nic.EtherTypeARP || !bytes.Equal(b.nic.tx[from].payload, want) {
		t.Error(grading.Failure{Sent: b.sent(),
			Expected: fmt.Sprintf("one frame to %s (the asker, not broadcast), EtherType 0x0806: %s\n(%s)", asker, arp.Packet(want), grading.Hex(want, 28)),
			Got:      b.transmitted(from), Steps: b.steps(),
			Hint: "RFC 826: the target IP is ours, so swap the sender and target fields, put our MAC and IP in the sender's, set the opcode to reply (arp.Append does the bytes), and Transmit it to the sender's MAC"})
		return false
	}
	return true
}

func testAnswers(t *testing.T, newR New) {
	b := newBench(newR, arp.Config{})
	if !answered(t, b, peerMAC, peerIP) {
		return
	}
	// RFC 826: the asker is added to the table; no request needed to
	// answer it.
	from := len(b.nic.tx)
	id, err := b.output(peerIP, datagram)
	if err != nil || len(b.nic.tx) != from+1 || b.nic.tx[from].dst != peerMAC || b.nic.tx[from].t != nic.EtherTypeIPv4 || b.nic.tx[from].id != id || !bytes.Equal(b.nic.tx[from].payload, datagram) {
		t.Error(grading.Failure{Sent: b.sent(), Expected: fmt.Sprintf("Output returns nil and the datagram goes at once to %s, frame %d: the request taught us where %s is", peerMAC, id, peerIP),
			Got: fmt.Sprintf("error %v; %s", err, b.transmitted(from)), Steps: b.steps(),
			Hint: "RFC 826, \"Am I the target? Yes: add the triplet <protocol type, sender protocol address, sender hardware address> to the table\", before looking at the opcode"})
		return
	}
	if n, ok := entry(b.r, peerIP); !ok || n.State != arp.NeighborReachable || n.MAC != peerMAC || n.Dev != "eth0" {
		t.Error(grading.Failure{Sent: b.sent(), Expected: fmt.Sprintf("Entries() has %s dev eth0 lladdr %s REACHABLE", peerIP, peerMAC), Got: entries(b.r)})
	}
}

func testOthers(t *testing.T, newR New) {
	b := newBench(newR, arp.Config{})
	if !answered(t, b, peerMAC, peerIP) {
		return
	}
	from := len(b.nic.tx)
	b.receive(newMAC, nic.Broadcast, request(newMAC, netip.MustParseAddr("10.0.0.3"), otherIP), "who-has 10.0.0.7? tell 10.0.0.3")
	if len(b.nic.tx) != from {
		t.Error(grading.Failure{Sent: b.sent(), Expected: "nothing sent: 10.0.0.7 is not our address, so 10.0.0.7 answers, not us", Got: b.transmitted(from), Steps: b.steps()})
	}
	if _, ok := entry(b.r, netip.MustParseAddr("10.0.0.3")); ok {
		t.Error(grading.Failure{Sent: b.sent(), Expected: "no entry for 10.0.0.3: RFC 826 adds a sender only when we are the target (a request for someone else only updates an entry we already have)",
			Got: entries(b.r), Hint: "the merge step updates, the \"Am I the target?\" step adds"})
	}
	if !b.hasDrop(viz.ReasonARPNotForMe, b.ids) {
		t.Error(grading.Failure{Sent: b.sent(), Expected: "a drop step with reason arp_not_for_me for the frame (c.dropFrame)", Got: "none", Steps: b.steps()})
	}
}

func testRequestOnMiss(t *testing.T, newR New) {
	b := newBench(newR, arp.Config{})
	id, err := b.output(peerIP, datagram)
	if err != nil || len(b.nic.tx) != 1 || !isRequestFor(b.nic.tx[0], peerIP) {
		t.Fatal(grading.Failure{Sent: b.sent(),
			Expected: fmt.Sprintf("Output returns nil, and one broadcast ARP frame goes out: %s", arp.Packet(arp.Append(nil, arp.Request, myMAC, myIP, nic.MAC{}, peerIP))),
			Got:      fmt.Sprintf("error %v; %s", err, b.transmitted(0)), Steps: b.steps(),
			Hint: "a miss creates an INCOMPLETE entry, keeps the packet and broadcasts who-has (to nic.Broadcast, EtherType nic.EtherTypeARP), our MAC and IP as the sender, the target MAC zero"})
	}
	if b.nic.tx[0].id == 0 || b.nic.tx[0].id == id {
		t.Error(grading.Failure{Sent: b.sent(), Expected: "the request is a frame of its own: a new frame ID from the recorder (NewFrameID), not 0 and not the packet's", Got: fmt.Sprintf("frame %d", b.nic.tx[0].id)})
	}
	if n, ok := entry(b.r, peerIP); !ok || n.State != arp.NeighborIncomplete || n.Queued != 1 {
		t.Error(grading.Failure{Sent: b.sent(), Expected: "Entries() has 10.0.0.2 INCOMPLETE with 1 packet queued", Got: entries(b.r), Steps: b.steps()})
	}
}

// resolve sends three packets before the reply, and checks one request.
func testQueueFlush(t *testing.T, newR New) {
	b := newBench(newR, arp.Config{})
	var ids []uint64
	var payloads [][]byte
	for i := range 3 {
		p := slices.Clone(datagram)
		p[len(p)-1] = byte(i + 1)
		id, _ := b.output(peerIP, p)
		ids, payloads = append(ids, id), append(payloads, p)
	}
	if len(b.nic.tx) != 1 || !isRequestFor(b.nic.tx[0], peerIP) {
		t.Fatal(grading.Failure{Sent: b.sent(), Expected: "exactly one who-has for 10.0.0.2: the later packets wait on the request already out", Got: b.transmitted(0), Steps: b.steps(),
			Hint: "look the next hop up first: an INCOMPLETE entry queues the packet and sends nothing"})
	}
	b.run(100 * time.Millisecond)
	b.receive(peerMAC, myMAC, reply(peerMAC, peerIP, myIP), "10.0.0.2 is-at "+peerMAC.String())
	var got []string
	ok := len(b.nic.tx) == 4
	for i, x := range b.nic.tx[1:] {
		got = append(got, x.String())
		if i < 3 && (x.dst != peerMAC || x.t != nic.EtherTypeIPv4 || x.id != ids[i] || !bytes.Equal(x.payload, payloads[i])) {
			ok = false
		}
	}
	if !ok {
		var want []string
		for i := range ids {
			want = append(want, sent{peerMAC, nic.EtherTypeIPv4, payloads[i], ids[i], 100 * time.Millisecond}.String())
		}
		t.Fatal(grading.Failure{Sent: b.sent(), Expected: "the three queued packets, in order, with their own bytes and frame IDs:\n" + strings.Join(want, "\n"),
			Got: strings.Join(append(got, "(end)"), "\n"), Steps: b.steps(),
			Hint: "the caller reuses its buffer after Output: keep a copy (slices.Clone) of a queued packet; send the queue when the reply comes"})
	}
	if n, ok := entry(b.r, peerIP); !ok || n.State != arp.NeighborReachable || n.Queued != 0 || n.MAC != peerMAC {
		t.Error(grading.Failure{Sent: b.sent(), Expected: "Entries() has 10.0.0.2 REACHABLE at " + peerMAC.String() + " with nothing queued", Got: entries(b.r)})
	}
	// The retry timer of the answered request must not ask again.
	b.run(5 * time.Second)
	if len(b.nic.tx) != 4 {
		t.Error(grading.Failure{Sent: b.sent(), Expected: "nothing more sent: the neighbour answered, so its retry timer does nothing", Got: b.transmitted(4), Steps: b.steps(),
			Hint: "stop the retry timer when the reply comes, or make it do nothing for a REACHABLE entry"})
	}
}

func testQueueLimit(t *testing.T, newR New) {
	b := newBench(newR, arp.Config{QueueLimit: 3})
	b.log[0] += ", QueueLimit 3"
	for range 3 {
		if _, err := b.output(peerIP, datagram); err != nil {
			t.Fatal(grading.Failure{Sent: b.sent(), Expected: "nil: the packet is queued", Got: err.Error()})
		}
	}
	id, err := b.output(peerIP, datagram)
	if !errors.Is(err, arp.ErrQueueFull) || !b.hasDrop(viz.ReasonARPQueueFull, id) {
		t.Fatal(grading.Failure{Sent: b.sent(), Expected: fmt.Sprintf("the fourth Output returns arp.ErrQueueFull, with an arp_queue_full drop step for frame %d", id),
			Got: fmt.Sprintf("error %v, drop logged: %v", err, b.hasDrop(viz.ReasonARPQueueFull, id)), Steps: b.steps(),
			Hint: "every limit has a named drop: refuse the newcomer when cfg.QueueLimit packets already wait (c.dropPacket)"})
	}
	b.receive(peerMAC, myMAC, reply(peerMAC, peerIP, myIP), "10.0.0.2 is-at "+peerMAC.String())
	if n := len(b.nic.tx) - 1; n != 3 {
		t.Error(grading.Failure{Sent: b.sent(), Expected: "the three queued packets sent after the request", Got: b.transmitted(1), Steps: b.steps()})
	}
}

func testRetries(t *testing.T, newR New) {
	b := newBench(newR, arp.Config{})
	id, _ := b.output(peerIP, datagram)
	b.run(2500 * time.Millisecond)
	var at []string
	for _, x := range b.nic.tx {
		if isRequestFor(x, peerIP) {
			at = append(at, x.at.String())
		}
	}
	if strings.Join(at, " ") != "0s 1s 2s" || len(b.nic.tx) != 3 {
		t.Fatal(grading.Failure{Sent: b.sent(), Expected: "three who-has for 10.0.0.2, at 0s 1s 2s: RetryInterval 1 s apart (RFC 1122 §2.3.2.1: at most one a second), MaxRequests 3",
			Got: b.transmitted(0), Steps: b.steps(), Hint: "arm a timer (c.nic.Clock().AfterFunc(c.cfg.RetryInterval, ...)) with every request"})
	}
	if b.hasDrop(viz.ReasonARPUnresolved, id) {
		t.Fatal(grading.Failure{Sent: b.sent(), Expected: "the packet still queued: the third request has a second to be answered", Got: "dropped", Steps: b.steps()})
	}
	b.run(time.Second)
	if len(b.nic.tx) != 3 || !b.hasDrop(viz.ReasonARPUnresolved, id) {
		t.Fatal(grading.Failure{Sent: b.sent(), Expected: fmt.Sprintf("no fourth request; frame %d dropped with arp_unresolved at 3 s, when the third request went unanswered", id),
			Got: fmt.Sprintf("%s\ndrop logged: %v", b.transmitted(3), b.hasDrop(viz.ReasonARPUnresolved, id)), Steps: b.steps(),
			Hint: "after cfg.MaxRequests requests, drop every queued packet (c.dropPacket) and mark the entry FAILED"})
	}
	if n, ok := entry(b.r, peerIP); !ok || n.State != arp.NeighborFailed {
		t.Error(grading.Failure{Sent: b.sent(), Expected: "Entries() has 10.0.0.2 FAILED for FailedTimeout (1 s)", Got: entries(b.r)})
	}
	b.run(300 * time.Millisecond)
	id, err := b.output(peerIP, datagram)
	if !errors.Is(err, arp.ErrUnresolved) || len(b.nic.tx) != 3 || !b.hasDrop(viz.ReasonARPUnresolved, id) {
		t.Error(grading.Failure{Sent: b.sent(), Expected: "arp.ErrUnresolved at once, an arp_unresolved drop, and no new request: the neighbour is FAILED for a second",
			Got: fmt.Sprintf("error %v; %s", err, b.transmitted(3)), Steps: b.steps()})
	}
	b.run(time.Second)
	if _, err := b.output(peerIP, datagram); err != nil || len(b.nic.tx) != 4 || !isRequestFor(b.nic.tx[3], peerIP) {
		t.Error(grading.Failure{Sent: b.sent(), Expected: "after FailedTimeout the entry is gone: Output queues the packet and asks again",
			Got: fmt.Sprintf("error %v; %s", err, b.transmitted(3)), Steps: b.steps()})
	}
}

func testExpiry(t *testing.T, newR New) {
	b := newBench(newR, arp.Config{CacheTimeout: 10 * time.Second})
	b.log[0] += ", CacheTimeout 10 s"
	b.output(peerIP, datagram)
	b.receive(peerMAC, myMAC, reply(peerMAC, peerIP, myIP), "10.0.0.2 is-at "+peerMAC.String())
	b.run(9 * time.Second)
	from := len(b.nic.tx)
	if _, err := b.output(peerIP, datagram); err != nil || len(b.nic.tx) != from+1 || b.nic.tx[from].dst != peerMAC {
		t.Fatal(grading.Failure{Sent: b.sent(), Expected: "the datagram goes straight to " + peerMAC.String() + ": the entry is 9 s old, CacheTimeout is 10 s",
			Got: fmt.Sprintf("error %v; %s", err, b.transmitted(from)), Steps: b.steps()})
	}
	b.run(1500 * time.Millisecond)
	if _, ok := entry(b.r, peerIP); ok {
		t.Error(grading.Failure{Sent: b.sent(), Expected: "Entries() empty: the entry was not confirmed for CacheTimeout, so it is deleted",
			Got: entries(b.r), Steps: b.steps(), Hint: "arm an expiry timer when the entry becomes REACHABLE; sending to a neighbour does not confirm it, only a packet from it does"})
	}
	from = len(b.nic.tx)
	if _, err := b.output(peerIP, datagram); err != nil || len(b.nic.tx) != from+1 || !isRequestFor(b.nic.tx[from], peerIP) {
		t.Error(grading.Failure{Sent: b.sent(), Expected: "a new who-has for 10.0.0.2: the old MAC address is no longer trusted",
			Got: fmt.Sprintf("error %v; %s", err, b.transmitted(from)), Steps: b.steps()})
	}
}

func testMerge(t *testing.T, newR New) {
	b := newBench(newR, arp.Config{CacheTimeout: 10 * time.Second})
	b.log[0] += ", CacheTimeout 10 s"
	if !answered(t, b, peerMAC, peerIP) {
		return
	}
	b.run(8 * time.Second)
	// 10.0.0.2 asks someone else, from a new MAC address: RFC 826's merge
	// updates the entry we have (and its age), though we are not the target.
	from := len(b.nic.tx)
	b.receive(newMAC, nic.Broadcast, request(newMAC, peerIP, otherIP), "who-has 10.0.0.7? tell 10.0.0.2, sender MAC "+newMAC.String())
	if len(b.nic.tx) != from {
		t.Error(grading.Failure{Sent: b.sent(), Expected: "no reply: 10.0.0.7 is not ours", Got: b.transmitted(from), Steps: b.steps()})
	}
	b.run(4 * time.Second)
	from = len(b.nic.tx)
	b.output(peerIP, datagram)
	if len(b.nic.tx) != from+1 || b.nic.tx[from].dst != newMAC || b.nic.tx[from].t != nic.EtherTypeIPv4 {
		t.Error(grading.Failure{Sent: b.sent(), Expected: "the datagram goes to " + newMAC.String() + " at once: the request refreshed 10.0.0.2's entry 4 s ago with its new MAC address",
			Got: b.transmitted(from) + "\ncache: " + entries(b.r), Steps: b.steps(),
			Hint: "RFC 826: \"If the pair <protocol type, sender protocol address> is already in my translation table, update the sender hardware address field\", before asking whether we are the target"})
	}
}

func testMalformed(t *testing.T, newR New) {
	b := newBench(newR, arp.Config{})
	if !answered(t, b, peerMAC, peerIP) {
		return
	}
	from := len(b.nic.tx)
	short := request(newMAC, otherIP, myIP)[:20]
	b.receive(newMAC, nic.Broadcast, short, "a 20-byte ARP packet")
	wrongHW := request(newMAC, otherIP, myIP)
	wrongHW[1] = 6 // hardware type 6, IEEE 802 networks
	b.receive(newMAC, nic.Broadcast, wrongHW, "a request for us with hardware type 6")
	if len(b.nic.tx) != from || !b.hasDrop(viz.ReasonARPMalformed, b.ids) {
		t.Error(grading.Failure{Sent: b.sent(), Expected: "nothing sent, an arp_malformed drop for each: RFC 826 first asks \"Do I have the hardware type in ar$hrd?\"",
			Got: b.transmitted(from), Steps: b.steps(), Hint: "arp.Packet(f.Payload).Check() answers the format questions; never read fields of a short packet"})
	}
	if _, ok := entry(b.r, otherIP); ok {
		t.Error(grading.Failure{Sent: b.sent(), Expected: "no entry for 10.0.0.7", Got: entries(b.r)})
	}
}

// ---- On the simulated wire ----

// wireRun is what one seeded run showed: what ping saw, and the frames
// every NIC sent.
type wireRun struct {
	ping   []string
	frames []string
	log    []viz.Event
}

// scenario pings dst from the client of a pair, both hosts using newR
// (nil: arp's own resolver).
func scenario(t *testing.T, newR New, cfg stack.TopologyConfig, dst netip.Addr, count int, interval time.Duration) wireRun {
	cfg.ARP.Resolver = newR
	p, mem := grading.NewPair(t, cfg)
	var r wireRun
	p.Client.Ping(stack.PingConfig{Dst: dst, Count: count, Interval: interval, Wait: 5 * time.Second},
		func(e stack.PingEvent) { r.ping = append(r.ping, e.String()) },
		func(s stack.PingStats) {
			r.ping = append(r.ping, fmt.Sprintf("%d transmitted, %d received, %d errors", s.Transmitted, s.Received, s.Errors))
		})
	p.Net.Run()
	r.log = mem.Events()
	r.frames = grading.Frames(r.log)
	return r
}

func compare(t *testing.T, what string, want, got wireRun) {
	if strings.Join(want.ping, "\n") == strings.Join(got.ping, "\n") && strings.Join(want.frames, "\n") == strings.Join(got.frames, "\n") {
		return
	}
	t.Error(grading.Failure{
		Sent:     what + "; both hosts use your resolver",
		Expected: "ping sees\n" + strings.Join(want.ping, "\n") + "\nand the NICs send\n" + strings.Join(want.frames, "\n"),
		Got:      "ping sees\n" + strings.Join(append(got.ping, "(end)"), "\n") + "\nand the NICs send\n" + strings.Join(append(got.frames, "(end)"), "\n"),
		Steps: grading.Last(grading.Select(got.log, func(e *viz.Event) bool {
			return e.Layer == viz.LayerARP || e.Layer == viz.LayerICMP
		}), 20),
		Hint: "the expected lines are what the same seeded run gives with arp's own resolver",
	})
}

func wireTest(t *testing.T, newR New, what string, cfg stack.TopologyConfig, dst netip.Addr, count int, interval time.Duration, sane func(wireRun) bool) {
	want := scenario(t, nil, cfg, dst, count, interval)
	if !sane(want) {
		t.Fatalf("grading scenario broken: arp's own resolver gives:\n%s\n%s", strings.Join(want.ping, "\n"), strings.Join(want.frames, "\n"))
	}
	compare(t, what, want, scenario(t, newR, cfg, dst, count, interval))
}

func received(n int) func(wireRun) bool {
	return func(r wireRun) bool {
		return len(r.ping) > 0 && strings.HasPrefix(r.ping[len(r.ping)-1], fmt.Sprintf("%d transmitted, %d received", n, n))
	}
}

func testWirePing(t *testing.T, newR New) {
	wireTest(t, newR, "ping -c 3 10.0.0.2 from 10.0.0.1 on one wire (seed 7)",
		stack.TopologyConfig{Seed: 7}, peerIP, 3, time.Second, received(3))
}

func testWireLostReply(t *testing.T, newR New) {
	// Frame 1 is the echo request (queued), 2 the who-has, 3 the reply.
	wireTest(t, newR, "ping -c 2 10.0.0.2 on a wire that loses frame 3 (the server's ARP reply)",
		stack.TopologyConfig{Seed: 7, Wire: wire.Config{Faults: []wire.Fault{{Frame: 3, Kind: wire.FaultDrop}}}}, peerIP, 2, time.Second, received(2))
}

func testWireExpiry(t *testing.T, newR New) {
	wireTest(t, newR, "ping -c 3 -i 3 10.0.0.2 with CacheTimeout 2 s on both hosts: every ping resolves again",
		stack.TopologyConfig{Seed: 7, ARP: arp.Config{CacheTimeout: 2 * time.Second}}, peerIP, 3, 3*time.Second, received(3))
}

func testWireNobody(t *testing.T, newR New) {
	wireTest(t, newR, "ping -c 3 10.0.0.9, an address nobody on the wire has",
		stack.TopologyConfig{Seed: 7}, netip.MustParseAddr("10.0.0.9"), 3, time.Second,
		func(r wireRun) bool {
			return len(r.frames) >= 3 && strings.HasPrefix(r.ping[len(r.ping)-1], "3 transmitted, 0 received")
		})
}
