package gvisorhost

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math/rand/v2"
	"net/http"
	"net/netip"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/packetwalk/packetwalk/clock"
	"github.com/packetwalk/packetwalk/nic"
	"github.com/packetwalk/packetwalk/viz"
	"github.com/packetwalk/packetwalk/wire"
)

// testTimeout bounds every test that waits for gVisor: its goroutines run
// in real time, so a bug shows up as a hang, which this turns into a failure.
const testTimeout = 20 * time.Second

var (
	macA  = nic.MAC{0x02, 0, 0, 0, 0, 0x0a}
	macB  = nic.MAC{0x02, 0, 0, 0, 0, 0x0b}
	addrA = netip.MustParsePrefix("10.0.0.1/24")
	addrB = netip.MustParsePrefix("10.0.0.2/24")
)

// captureCounter is a viz.Capturer that counts the frames each host's NIC
// captured, by direction, and checks that every captured frame's walk is
// ended (EndWalk) by the host that captured it, as the pcapng writer needs.
type captureCounter struct {
	mu        sync.Mutex
	frames    map[string]map[viz.Direction]int
	fcsErrors map[string]int
	open      map[string]map[uint64]bool // captured, walk not ended yet
	events    int
}

func newCaptureCounter() *captureCounter {
	return &captureCounter{
		frames:    make(map[string]map[viz.Direction]int),
		fcsErrors: make(map[string]int),
		open:      make(map[string]map[uint64]bool),
	}
}

func (c *captureCounter) Event(*viz.Event) {
	c.mu.Lock()
	c.events++
	c.mu.Unlock()
}

func (c *captureCounter) Capture(f *viz.CapturedFrame) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.frames[f.Host] == nil {
		c.frames[f.Host] = make(map[viz.Direction]int)
		c.open[f.Host] = make(map[uint64]bool)
	}
	c.frames[f.Host][f.Dir]++
	if f.FCSError {
		c.fcsErrors[f.Host]++
	}
	c.open[f.Host][f.Frame] = true
}

func (c *captureCounter) EndWalk(host string, frame uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.open[host], frame)
}

func (c *captureCounter) count(host string, d viz.Direction) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.frames[host][d]
}

func (c *captureCounter) fcsErrorCount(host string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.fcsErrors[host]
}

// openWalks returns how many captured frames' walks were never ended.
func (c *captureCounter) openWalks() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, m := range c.open {
		n += len(m)
	}
	return n
}

// lab is two gVisor hosts, a (10.0.0.1) and b (10.0.0.2), on one simulated
// wire, with a step log whose events a MemorySink keeps and whose captures a
// captureCounter counts.
type lab struct {
	clock  *clock.Virtual
	log    *viz.Log
	wire   *wire.Wire
	events *viz.MemorySink
	caps   *captureCounter
	a, b   *Host
}

// newLab builds the lab; keepEvents says whether to keep every event (the
// 1 MB transfer only counts them).
func newLab(t *testing.T, wcfg wire.Config, keepEvents bool) *lab {
	t.Helper()
	l := &lab{clock: clock.NewVirtual(), caps: newCaptureCounter()}
	l.log = viz.NewLog(l.clock)
	l.log.AddSink(l.caps)
	if keepEvents {
		l.events = &viz.MemorySink{}
		l.log.AddSink(l.events)
	}
	wcfg.Clock, wcfg.Log = l.clock, l.log
	w, err := wire.New(wcfg)
	if err != nil {
		t.Fatal(err)
	}
	l.wire = w
	l.a = l.newHost(t, "a", macA, addrA)
	l.b = l.newHost(t, "b", macB, addrB)
	return l
}

func (l *lab) newHost(t *testing.T, name string, mac nic.MAC, addr netip.Prefix) *Host {
	t.Helper()
	h, err := New(Config{Name: name, MAC: mac, Addr: addr, Clock: l.clock, Log: l.log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	l.wire.Attach(h)
	h.Attach(l.wire)
	return h
}

// runLoop drives the virtual clock while gVisor's goroutines work in real
// time: it runs whatever is due and, when nothing is, sleeps a little so
// that gVisor can post more. It is stopped (and waited for) at cleanup,
// before the hosts' Close (cleanups run last-registered first); Close does
// not need the loop, and what gVisor sends while closing stays queued.
func (l *lab) runLoop(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			if !l.clock.Step() {
				time.Sleep(50 * time.Microsecond)
			}
		}
	}()
	t.Cleanup(func() { cancel(); <-done })
}

// stepsOf returns host's events, in log order.
func (l *lab) stepsOf(host string) []viz.Event {
	var out []viz.Event
	for _, e := range l.events.Events() {
		if e.Host == host {
			out = append(out, e)
		}
	}
	return out
}

// hasStep reports whether host logged step with verdict and a message
// containing msg.
func (l *lab) hasStep(host, step string, v viz.Verdict, msg string) bool {
	for _, e := range l.stepsOf(host) {
		if e.Step == step && e.Verdict == v && strings.Contains(e.Msg, msg) {
			return true
		}
	}
	return false
}

func TestPing(t *testing.T) {
	l := newLab(t, wire.Config{}, true)
	l.runLoop(t)
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()

	start := time.Now()
	rtt1, err := l.a.Ping(ctx, l.b.Addr(), 1, []byte("packetwalk ping 1"))
	if err != nil {
		t.Fatal(err)
	}
	rtt2, err := l.a.Ping(ctx, l.b.Addr(), 2, []byte("packetwalk ping 2"))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("virtual RTT %v (with ARP), %v (cached); wall %v", rtt1, rtt2, time.Since(start))

	lat := wire.DefaultLatency
	// The first ping waits for ARP: who-has and reply cross the wire before
	// the echo request and reply do.
	if rtt1 < 4*lat {
		t.Errorf("first RTT %v, want at least 4 one-way latencies (%v) for ARP plus echo", rtt1, 4*lat)
	}
	// The second has the MAC cached: virtual time moves only by the wire's
	// latency, twice. (gVisor's goroutines take real time, which the
	// virtual clock does not see.)
	if rtt2 != 2*lat {
		t.Errorf("second RTT %v, want exactly two one-way latencies (%v)", rtt2, 2*lat)
	}

	for _, want := range []struct {
		host, step string
		v          viz.Verdict
		msg        string
	}{
		{"a", "tx", viz.Send, "ARP who-has 10.0.0.2 tell 10.0.0.1"},
		{"b", "rx", viz.Pass, "signal decoded"},
		{"b", "fcs", viz.Pass, "FCS ok"},
		{"b", "mac", viz.Pass, "broadcast"},
		{"b", "driver", viz.Deliver, "ARP who-has 10.0.0.2 tell 10.0.0.1: handed to gVisor's netstack"},
		{"b", "tx", viz.Send, "ARP reply 10.0.0.2 is-at 02:00:00:00:00:0b"},
		{"a", "mac", viz.Pass, "mine"},
		{"a", "tx", viz.Send, "IPv4 10.0.0.1 > 10.0.0.2 ICMP echo request"},
		{"b", "driver", viz.Deliver, "ICMP echo request"},
		{"b", "tx", viz.Send, "IPv4 10.0.0.2 > 10.0.0.1 ICMP echo reply"},
		{"a", "fcs", viz.Pass, "FCS ok"},
		{"a", "driver", viz.Deliver, "ICMP echo reply"},
	} {
		if !l.hasStep(want.host, want.step, want.v, want.msg) {
			t.Errorf("host %s: no %q step with verdict %q and %q in its message", want.host, want.step, want.v, want.msg)
		}
	}

	// ARP request, two echo requests out of a; ARP reply, two echo
	// replies out of b; each arrives at the other. gVisor's b learnt a's
	// MAC from the ARP request, so it sends no ARP request of its own.
	for _, host := range []string{"a", "b"} {
		in, out := l.caps.count(host, viz.Inbound), l.caps.count(host, viz.Outbound)
		if in != 3 || out != 3 {
			t.Errorf("host %s captured %d inbound and %d outbound frames, want 3 and 3", host, in, out)
		}
	}
	if n := l.caps.openWalks(); n != 0 {
		t.Errorf("%d captured frames' walks were never ended", n)
	}
	// The frame IDs must be shared: what a sent is what b received.
	sent, recv := frameIDs(l.stepsOf("a"), "tx"), frameIDs(l.stepsOf("b"), "driver")
	for id := range sent {
		if !recv[id] {
			t.Errorf("frame %d sent by a never reached b's driver step", id)
		}
	}
	if s := l.a.Stats(); s.TxFrames != 3 || s.RxDelivered != 3 || len(s.Drops) != 0 {
		t.Errorf("a's stats: %v", s)
	}
}

func frameIDs(events []viz.Event, step string) map[uint64]bool {
	ids := make(map[uint64]bool)
	for _, e := range events {
		if e.Step == step && e.Frame != 0 {
			ids[e.Frame] = true
		}
	}
	return ids
}

// transfer sends size seeded-random bytes from a to b over TCP through gonet
// and checks their SHA-256 at b.
func transfer(t *testing.T, l *lab, size int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()

	data := make([]byte, size)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range data {
		data[i] = byte(rng.Uint32())
	}
	want := sha256.Sum256(data)

	ln, err := l.b.ListenTCP(8080)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	type result struct {
		sum [32]byte
		n   int64
		err error
	}
	got := make(chan result, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			got <- result{err: err}
			return
		}
		defer c.Close()
		h := sha256.New()
		n, err := io.Copy(h, c)
		var r result
		copy(r.sum[:], h.Sum(nil))
		r.n, r.err = n, err
		got <- r
	}()

	start := time.Now()
	conn, err := l.a.DialTCP(ctx, netip.AddrPortFrom(l.b.Addr(), 8080))
	if err != nil {
		t.Fatal(err)
	}
	// A deadline keeps a stalled transfer from outliving the test.
	conn.SetDeadline(time.Now().Add(testTimeout))
	if _, err := conn.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := conn.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-got:
		if r.err != nil {
			t.Fatal(r.err)
		}
		if r.n != int64(size) || r.sum != want {
			t.Fatalf("b received %d bytes with sha256 %x, want %d bytes with %x", r.n, r.sum, size, want)
		}
		t.Logf("%d bytes, sha256 %x, in %v wall, %v virtual; a: %v; b: %v; wire: %v",
			size, r.sum[:8], time.Since(start), l.clock.Now(), l.a.Stats(), l.b.Stats(), l.wire.Stats())
	case <-ctx.Done():
		t.Fatalf("transfer did not finish: %v; a: %v; b: %v", ctx.Err(), l.a.Stats(), l.b.Stats())
	}
}

func TestTCPTransfer1MB(t *testing.T) {
	l := newLab(t, wire.Config{}, true)
	l.runLoop(t)
	transfer(t, l, 1<<20)

	// gVisor's handshake, as the tx summaries tell it.
	if !l.hasStep("a", "tx", viz.Send, "> 10.0.0.2.8080 TCP [S] seq") {
		t.Error("a logged no SYN to 10.0.0.2:8080")
	}
	if !l.hasStep("b", "tx", viz.Send, "10.0.0.2.8080 > 10.0.0.1.") || !l.hasStep("b", "tx", viz.Send, "TCP [S.] seq") {
		t.Error("b logged no SYN+ACK from port 8080")
	}
	if s := l.a.Stats(); len(s.Drops) != 0 {
		t.Errorf("a dropped frames on a clean wire: %v", s)
	}
	if s := l.b.Stats(); len(s.Drops) != 0 {
		t.Errorf("b dropped frames on a clean wire: %v", s)
	}
}

// TestTCPTransferImpaired sends through a wire that loses and corrupts
// frames: corrupted ones die at the receiving adapter's FCS check (never
// reaching gVisor), and gVisor's TCP recovers from both kinds of loss.
func TestTCPTransferImpaired(t *testing.T) {
	l := newLab(t, wire.Config{Impairments: wire.Impairments{Loss: 0.01, Corrupt: 0.02, Seed: 7}}, false)
	l.runLoop(t)
	transfer(t, l, 256<<10)
	fcs := l.a.Stats().Drops[viz.ReasonFCSMismatch] + l.b.Stats().Drops[viz.ReasonFCSMismatch]
	if corrupted := l.wire.Stats().Corrupted; corrupted == 0 || fcs != corrupted {
		t.Errorf("wire corrupted %d deliveries, adapters dropped %d with fcs_mismatch: want the same, above zero", corrupted, fcs)
	}
	if got := uint64(l.caps.fcsErrorCount("a") + l.caps.fcsErrorCount("b")); got != fcs {
		t.Errorf("%d captures flagged with an FCS error, want %d", got, fcs)
	}
}

func TestHTTPClient(t *testing.T) {
	l := newLab(t, wire.Config{}, false)
	l.runLoop(t)
	ln, err := l.b.ListenTCP(80)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "hello %s from %s", r.RemoteAddr, l.b.Addr())
	})}
	go srv.Serve(ln)
	defer srv.Close()

	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://10.0.0.2/", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := l.a.HTTPClient().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(string(body), "hello 10.0.0.1:") {
		t.Errorf("GET / = %s %q", resp.Status, body)
	}
}

// echoFrame builds an ICMP echo request from a to b as a's adapter would
// send it: Ethernet header, IPv4, ICMP, padding and FCS.
func echoFrame(dst, src nic.MAC, from, to netip.Addr) []byte {
	icmp := []byte{8, 0, 0, 0, 0x12, 0x34, 0, 1}
	icmp = append(icmp, "adapter check"...)
	binary.BigEndian.PutUint16(icmp[2:], inetChecksum(icmp))
	ip := make([]byte, 20, 20+len(icmp))
	ip[0] = 0x45
	binary.BigEndian.PutUint16(ip[2:], uint16(20+len(icmp)))
	ip[8], ip[9] = 64, 1
	f4, t4 := from.As4(), to.As4()
	copy(ip[12:], f4[:])
	copy(ip[16:], t4[:])
	binary.BigEndian.PutUint16(ip[10:], inetChecksum(ip))
	return nic.AppendFrame(nil, dst, src, nic.EtherTypeIPv4, append(ip, icmp...))
}

// inetChecksum is RFC 1071's Internet checksum.
func inetChecksum(b []byte) uint16 {
	var sum uint32
	for i := 0; i+1 < len(b); i += 2 {
		sum += uint32(binary.BigEndian.Uint16(b[i:]))
	}
	if len(b)%2 == 1 {
		sum += uint32(b[len(b)-1]) << 8
	}
	for sum > 0xffff {
		sum = sum>>16 + sum&0xffff
	}
	return ^uint16(sum)
}

// withFCS recomputes a frame's FCS after its bytes were changed on purpose.
func withFCS(f []byte) []byte {
	binary.LittleEndian.PutUint32(f[len(f)-4:], crc32.ChecksumIEEE(f[:len(f)-4]))
	return f
}

// TestAdapterDrops feeds b crafted frames one by one, driving the clock by
// hand so that each frame's walk is complete when Run returns, and checks
// the adapter's verdict and that dropped frames never reach gVisor: its
// NIC's receive counter does not move and nothing is sent in answer.
func TestAdapterDrops(t *testing.T) {
	l := newLab(t, wire.Config{}, true)
	good := echoFrame(macB, macA, addrA.Addr(), addrB.Addr())

	flipped := bytes.Clone(good)
	flipped[30] ^= 0x04 // one bit of the IP source address: CRC-32 catches every single-bit error
	otherMAC := withFCS(echoFrame(nic.MAC{0x02, 0, 0, 0, 0, 0x99}, macA, addrA.Addr(), addrB.Addr()))
	runt := nic.AppendFrame(nil, macB, macA, nic.EtherTypeIPv4, nil)[:40]
	giant := nic.AppendFrame(nil, macB, macA, nic.EtherTypeIPv4, make([]byte, nic.DefaultMTU+1))
	ipv6 := nic.AppendFrame(nil, macB, macA, nic.EtherTypeIPv6, make([]byte, 60))

	for _, tc := range []struct {
		name    string
		bits    []byte
		step    string
		verdict viz.Verdict
		reason  viz.Reason
	}{
		{"bit flipped", flipped, "fcs", viz.Drop, viz.ReasonFCSMismatch},
		{"other MAC", otherMAC, "mac", viz.Drop, viz.ReasonMACNotMine},
		{"runt", runt, "size", viz.Drop, viz.ReasonRunt},
		{"giant", giant, "size", viz.Drop, viz.ReasonFrameTooLong},
		{"IPv6", ipv6, "driver", viz.Drop, viz.ReasonUnknownEtherType},
		// Last, because b answers it (after ARP for a, in real time).
		{"intact", good, "driver", viz.Deliver, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rxBefore := gvisorRxPackets(l.b)
			echoBefore := l.b.Stack().Stats().ICMP.V4.PacketsReceived.EchoRequest.Value()
			txBefore := l.b.Stats().TxFrames
			id := l.log.NewFrameID()
			l.clock.Post(func() { l.b.Arrive(tc.bits, id) })
			l.clock.Run()

			var last viz.Event
			for _, e := range l.stepsOf("b") {
				if e.Frame == id {
					last = e
				}
			}
			if last.Step != tc.step || last.Verdict != tc.verdict || last.Reason != tc.reason {
				t.Fatalf("frame %d ended at step %q verdict %q reason %q (%s), want %q %q %q",
					id, last.Step, last.Verdict, last.Reason, last.Msg, tc.step, tc.verdict, tc.reason)
			}
			rx, echo := gvisorRxPackets(l.b)-rxBefore, l.b.Stack().Stats().ICMP.V4.PacketsReceived.EchoRequest.Value()-echoBefore
			if tc.verdict == viz.Drop {
				if rx != 0 || echo != 0 {
					t.Errorf("a dropped frame reached gVisor: its NIC received %d packets, ICMP %d echo requests", rx, echo)
				}
				if tx := l.b.Stats().TxFrames - txBefore; tx != 0 || l.clock.Pending() != 0 {
					t.Errorf("b sent %d frames, %d events pending, in answer to a dropped frame", tx, l.clock.Pending())
				}
				if got := l.b.Stats().Drops[tc.reason]; got != 1 {
					t.Errorf("b counted %d drops with %s, want 1", got, tc.reason)
				}
				return
			}
			// The intact frame is ICMP processing's business, done inside
			// InjectInbound: counted by the time Run returns. (The NIC may
			// have received more by then: a's answer to b's ARP request,
			// if gVisor sent that on the loop too.)
			if rx < 1 || echo != 1 {
				t.Fatalf("the intact frame: gVisor's NIC received %d packets, ICMP %d echo requests; want at least 1 and 1", rx, echo)
			}
			// And answered: b resolves a's MAC, then replies. ARP may
			// involve gVisor's goroutines, so drive the clock until the
			// reply is out.
			deadline := time.Now().Add(testTimeout)
			for !l.hasStep("b", "tx", viz.Send, "IPv4 10.0.0.2 > 10.0.0.1 ICMP echo reply id 4660 seq 1") {
				if time.Now().After(deadline) {
					t.Fatal("b never sent the echo reply")
				}
				if !l.clock.Step() {
					time.Sleep(100 * time.Microsecond)
				}
			}
		})
	}
	// The flipped bit, and the runt: cut short, its last 4 bytes are not
	// its FCS either.
	if got := l.caps.fcsErrorCount("b"); got != 2 {
		t.Errorf("%d of b's captures are flagged with an FCS error, want 2 (the flipped bit, the runt)", got)
	}
}

// gvisorRxPackets is how many packets gVisor's NIC has been handed.
func gvisorRxPackets(h *Host) uint64 {
	info, ok := h.Stack().SingleNICInfo(nicID)
	if !ok {
		return 0
	}
	return info.Stats.Rx.Packets.Value()
}

func TestNewRejectsBadConfig(t *testing.T) {
	clock := clock.NewVirtual()
	ok := Config{Name: "x", MAC: macA, Addr: addrA, Clock: clock}
	for _, tc := range []struct {
		name string
		edit func(*Config)
		want string
	}{
		{"no clock", func(c *Config) { c.Clock = nil }, "needs a clock"},
		{"multicast MAC", func(c *Config) { c.MAC = nic.Broadcast }, "unicast"},
		{"zero MAC", func(c *Config) { c.MAC = nic.MAC{} }, "unicast"},
		{"no address", func(c *Config) { c.Addr = netip.Prefix{} }, "IPv4 address"},
		{"IPv6", func(c *Config) { c.Addr = netip.MustParsePrefix("fd00::1/64") }, "IPv4 address"},
		{"gateway off subnet", func(c *Config) { c.Gateway = netip.MustParseAddr("10.0.1.1") }, "not in the host's subnet"},
		{"tiny MTU", func(c *Config) { c.MTU = 20 }, "MTU 20"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := ok
			tc.edit(&cfg)
			h, err := New(cfg)
			if err == nil {
				h.Close()
				t.Fatalf("New accepted %+v", cfg)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not say %q", err, tc.want)
			}
		})
	}
	h, err := New(Config{MAC: macA, Addr: addrA, Gateway: netip.MustParseAddr("10.0.0.254"), Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	if h.PortName() != DefaultName+"/eth0" || h.MTU() != nic.DefaultMTU {
		t.Errorf("defaults: port %q, MTU %d", h.PortName(), h.MTU())
	}
	if routes := h.Stack().GetRouteTable(); len(routes) != 2 {
		t.Errorf("route table %v, want the subnet and a default route", routes)
	}
	h.Close()
	if _, err := h.DialTCP(context.Background(), netip.MustParseAddrPort("10.0.0.2:80")); !errors.Is(err, ErrClosed) {
		t.Errorf("DialTCP after Close: %v, want ErrClosed", err)
	}
}

// TestCloseUnattached checks that a host with no medium names its drop
// (no_carrier) when gVisor sends, and that Close stops gVisor's goroutines.
func TestCloseUnattached(t *testing.T) {
	clock := clock.NewVirtual()
	log := viz.NewLog(clock)
	mem := &viz.MemorySink{}
	log.AddSink(mem)
	h, err := New(Config{Name: "lonely", MAC: macA, Addr: addrA, Clock: clock, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	// A ping to a neighbour makes gVisor send an ARP request first.
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	h.Ping(ctx, addrB.Addr(), 1, nil) // times out: nobody is there
	clock.Run()
	if got := h.Stats().Drops[viz.ReasonNoCarrier]; got == 0 {
		t.Errorf("no no_carrier drop for the ARP request of an unattached host: %v", h.Stats())
	}
	h.Close()
	h.Close() // twice is fine
	// After Close, a frame that still arrives is dropped by name.
	clock.Post(func() { h.Arrive(echoFrame(macA, macB, addrB.Addr(), addrA.Addr()), log.NewFrameID()) })
	clock.Run()
	if got := h.Stats().Drops[viz.ReasonNoCarrier]; got < 2 {
		t.Errorf("a frame arriving at a closed host was not dropped with no_carrier: %v", h.Stats())
	}
}

// TestCloseStopsGoroutines checks that Close leaves none of gVisor's
// goroutines behind (TCP processors, endpoint workers), after real traffic.
func TestCloseStopsGoroutines(t *testing.T) {
	before := runtime.NumGoroutine()
	func() {
		l := newLab(t, wire.Config{}, false)
		ctx, stop := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() {
			defer close(done)
			for ctx.Err() == nil {
				if !l.clock.Step() {
					time.Sleep(50 * time.Microsecond)
				}
			}
		}()
		transfer(t, l, 64<<10)
		l.a.Close()
		l.b.Close()
		stop()
		<-done
	}()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("%d goroutines before, %d after Close:\n%s", before, runtime.NumGoroutine(), buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(10 * time.Millisecond)
	}
}
