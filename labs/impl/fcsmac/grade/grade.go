// Package grade holds the graded tests of the impl-fcs-mac lab: the
// student's nic.FrameFilter at unit level (CRC-32 against the standard
// library's, every single-bit error, bursts, the FCS byte order, the MAC
// filter's table) and inside the stack on the simulated wire, where each
// frame's walk through the NIC is compared with the walk the NIC's own
// filter gives in the same seeded run.
package grade

import (
	"encoding/binary"
	"fmt"
	hashcrc "hash/crc32"
	"math/rand/v2"
	"net/netip"
	"testing"
	"time"

	"github.com/packetwalk/packetwalk/labs/impl/grading"
	"github.com/packetwalk/packetwalk/nic"
	"github.com/packetwalk/packetwalk/stack"
	"github.com/packetwalk/packetwalk/viz"
	"github.com/packetwalk/packetwalk/wire"
)

// New is the student's constructor.
type New = func() nic.FrameFilter

// Tests are the graded tests, in the order the handout introduces them.
var Tests = []grading.Test[New]{
	{Name: "FCSComputed", Run: testComputed},
	{Name: "FCSGoodFramesPass", Run: testGoodFrames},
	{Name: "FCSByteOrder", Run: testByteOrder},
	{Name: "FCSEverySingleBitError", Run: testSingleBit},
	{Name: "FCSBurstErrors", Run: testBursts},
	{Name: "FCSOwnCRC", Run: testOwnCRC},
	{Name: "MACFilter", Run: testMACFilter},
	{Name: "WireCorruptFrames", Run: testWireFaults},
	{Name: "WireRandomImpairments", Run: testWireRandom},
	{Name: "HubBystander", Run: testHub},
}

// Run runs every graded test with the student's constructor.
func Run(t *testing.T, newFilter New) { grading.Run(t, Tests, newFilter) }

// frame builds a frame as a sending NIC does: header, payload, padding,
// FCS.
func frame(rng *rand.Rand, payloadLen int) []byte {
	p := make([]byte, payloadLen)
	for i := range p {
		p[i] = byte(rng.UintN(256))
	}
	return nic.AppendFrame(nil, stack.MAC(2), stack.MAC(1), nic.EtherTypeIPv4, p)
}

func describe(f []byte) string {
	return fmt.Sprintf("a %d-byte frame %s, FCS bytes %s", len(f), grading.Hex(f, 16), grading.Hex(f[len(f)-4:], 4))
}

const crcHint = "test your crc32 on \"123456789\" first: it must give 0xcbf43926. Common slips: no 0xFFFFFFFF preset, no final XOR, the unreflected polynomial 0x04C11DB7 with a right shift, or the FCS bytes included in the CRC."

func testComputed(t *testing.T, newFilter New) {
	f := newFilter()
	rng := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{46, 47, 100, 1500} {
		fr := frame(rng, n)
		want := hashcrc.ChecksumIEEE(fr[:len(fr)-4])
		_, got, _ := f.CheckFCS(fr)
		if got != want {
			t.Fatal(grading.Failure{
				Sent:     "CheckFCS(" + describe(fr) + ")",
				Expected: fmt.Sprintf("computed = %#08x, the CRC-32 of the %d bytes before the FCS", want, len(fr)-4),
				Got:      fmt.Sprintf("computed = %#08x", got),
				Hint:     crcHint,
			})
		}
	}
}

func testGoodFrames(t *testing.T, newFilter New) {
	f := newFilter()
	rng := rand.New(rand.NewPCG(3, 4))
	for i := 0; i < 200; i++ {
		fr := frame(rng, rng.IntN(1501))
		carried, computed, ok := f.CheckFCS(fr)
		wantCarried := binary.LittleEndian.Uint32(fr[len(fr)-4:])
		if !ok || carried != wantCarried || computed != wantCarried {
			t.Fatal(grading.Failure{
				Sent:     "CheckFCS(" + describe(fr) + "), an undamaged frame built by nic.AppendFrame",
				Expected: fmt.Sprintf("carried = computed = %#08x, ok = true", wantCarried),
				Got:      fmt.Sprintf("carried = %#08x, computed = %#08x, ok = %v", carried, computed, ok),
				Hint:     "carried is the last 4 bytes read least significant byte first (binary.LittleEndian); computed covers everything before them, padding included",
			})
		}
	}
}

// mustAccept fails the test unless CheckFCS accepts fr as it was built:
// a test of error detection proves nothing about a check that refuses
// every frame, which is what the untouched skeleton does.
func mustAccept(t *testing.T, f nic.FrameFilter, fr []byte) {
	t.Helper()
	if carried, computed, ok := f.CheckFCS(fr); !ok {
		t.Fatal(grading.Failure{
			Sent:     "CheckFCS(" + describe(fr) + "), undamaged, before the test damages it",
			Expected: "ok = true: the frame is good; only then does refusing its damaged copy show an error detected",
			Got:      fmt.Sprintf("carried = %#08x, computed = %#08x, ok = false", carried, computed),
			Hint:     crcHint,
		})
	}
}

func testByteOrder(t *testing.T, newFilter New) {
	f := newFilter()
	rng := rand.New(rand.NewPCG(5, 6))
	for i := 0; i < 20; i++ {
		fr := frame(rng, 46+i)
		mustAccept(t, f, fr)
		fcs := fr[len(fr)-4:]
		if fcs[0] == fcs[3] && fcs[1] == fcs[2] {
			continue // a palindrome reads the same both ways
		}
		fcs[0], fcs[1], fcs[2], fcs[3] = fcs[3], fcs[2], fcs[1], fcs[0]
		if _, _, ok := f.CheckFCS(fr); ok {
			t.Fatal(grading.Failure{
				Sent:     "CheckFCS(" + describe(fr) + "): the right CRC, but written most significant byte first",
				Expected: "ok = false: Ethernet sends the CRC least significant byte first (IEEE 802.3 clause 3.2.9), so a big-endian FCS is wrong",
				Got:      "ok = true",
				Hint:     "read the carried FCS with binary.LittleEndian.Uint32, and compare it with the CRC as a number",
			})
		}
	}
}

func testSingleBit(t *testing.T, newFilter New) {
	f := newFilter()
	rng := rand.New(rand.NewPCG(7, 8))
	fr := frame(rng, 46)
	mustAccept(t, f, fr)
	for bit := 0; bit < len(fr)*8; bit++ {
		fr[bit/8] ^= 1 << (bit % 8)
		_, _, ok := f.CheckFCS(fr)
		fr[bit/8] ^= 1 << (bit % 8)
		if ok {
			where := "the header"
			switch {
			case bit/8 >= len(fr)-4:
				where = "the FCS itself"
			case bit/8 >= 14:
				where = "the payload"
			}
			t.Fatal(grading.Failure{
				Sent:     fmt.Sprintf("CheckFCS of a 64-byte frame with bit %d of byte %d (in %s) flipped", bit%8, bit/8, where),
				Expected: "ok = false: a CRC-32 detects every single-bit error",
				Got:      "ok = true",
				Hint:     "every byte before the FCS must go through the CRC, and the carried FCS must be compared in full",
			})
		}
	}
}

func testBursts(t *testing.T, newFilter New) {
	f := newFilter()
	rng := rand.New(rand.NewPCG(9, 10))
	for i := 0; i < 300; i++ {
		fr := frame(rng, 46+rng.IntN(1455))
		burst := 1 + rng.IntN(32)
		start := rng.IntN(len(fr)*8 - burst)
		if i == 0 {
			mustAccept(t, f, fr)
		}
		// A burst of length b flips its first and last bit and any in
		// between: every such error is caught by a CRC of degree 32.
		flip := func() {
			fr[start/8] ^= 1 << (start % 8)
			if burst > 1 {
				end := start + burst - 1
				fr[end/8] ^= 1 << (end % 8)
				for b := start + 1; b < end; b++ {
					if rng.IntN(2) == 0 {
						fr[b/8] ^= 1 << (b % 8)
					}
				}
			}
		}
		flip()
		if _, _, ok := f.CheckFCS(fr); ok {
			t.Fatal(grading.Failure{
				Sent:     fmt.Sprintf("CheckFCS of %s with a %d-bit error burst starting at bit %d", describe(fr), burst, start),
				Expected: "ok = false: a CRC-32 detects every error burst of 32 bits or fewer",
				Got:      "ok = true",
			})
		}
	}
}

func testOwnCRC(t *testing.T, newFilter New) {
	imports, ok := grading.Imports(t)
	if !ok {
		t.Skip("runs under `packetwalk lab test` only")
	}
	// The credit is for a CRC of your own that works: an empty one
	// imports nothing either.
	fr := frame(rand.New(rand.NewPCG(13, 14)), 46)
	if _, got, _ := newFilter().CheckFCS(fr); got != hashcrc.ChecksumIEEE(fr[:len(fr)-4]) {
		t.Fatal(grading.Failure{
			Sent:     "CheckFCS(" + describe(fr) + ")",
			Expected: fmt.Sprintf("computed = %#08x, by your own CRC-32", hashcrc.ChecksumIEEE(fr[:len(fr)-4])),
			Got:      fmt.Sprintf("computed = %#08x", got),
			Hint:     crcHint,
		})
	}
	for _, p := range []string{"hash/crc32", "hash/crc64", "hash/adler32", "hash/fnv"} {
		if at, used := imports[p]; used {
			t.Fatal(grading.Failure{
				Got:      fmt.Sprintf("%s imports %s", at, p),
				Expected: "your own CRC-32: the lab is to write the division by the generator polynomial yourself",
			})
		}
	}
	sels, _ := grading.Selectors(t)
	for _, name := range []string{"ComputeFCS", "StandardFilter", "ChecksumIEEE"} {
		if at, used := sels[name]; used {
			t.Fatal(grading.Failure{
				Got:      fmt.Sprintf("%s uses %s from the stack or the standard library", at, name),
				Expected: "your own CRC-32 and MAC filter",
			})
		}
	}
}

func testMACFilter(t *testing.T, newFilter New) {
	f := newFilter()
	own := stack.MAC(2)
	group := nic.MAC{0x01, 0x00, 0x5e, 0x00, 0x00, 0xfb} // mDNS's IPv4 multicast MAC
	other := stack.MAC(7)
	otherGroup := nic.MAC{0x01, 0x00, 0x5e, 0x00, 0x00, 0x01}
	locallyAdministered := nic.MAC{0x02, 0x00, 0x00, 0x00, 0x00, 0x09} // bit 1 set: unicast all the same
	groups := map[nic.MAC]bool{group: true}
	cases := []struct {
		dst     nic.MAC
		promisc bool
		class   nic.Class
		ok      bool
		why     string
	}{
		{own, false, nic.ClassHost, true, "the NIC's own address"},
		{nic.Broadcast, false, nic.ClassBroadcast, true, "broadcast is for everybody"},
		{group, false, nic.ClassMulticast, true, "a group the NIC joined"},
		{otherGroup, false, 0, false, "a group address the NIC did not join"},
		{other, false, 0, false, "another station's address"},
		{locallyAdministered, false, 0, false, "another station's address (locally administered, bit 1 of the first octet, is still unicast)"},
		{other, true, nic.ClassOtherHost, true, "another station's address, in promiscuous mode"},
		{otherGroup, true, nic.ClassOtherHost, true, "a group not joined, in promiscuous mode"},
		{own, true, nic.ClassHost, true, "the NIC's own address, in promiscuous mode: still its own"},
		{nic.Broadcast, true, nic.ClassBroadcast, true, "broadcast, in promiscuous mode: still broadcast"},
		{group, true, nic.ClassMulticast, true, "a joined group, in promiscuous mode: still that group"},
	}
	for _, c := range cases {
		s := nic.FilterState{Own: own, Promiscuous: c.promisc, Groups: groups}
		class, ok := f.Classify(c.dst, s)
		if ok != c.ok || (ok && class != c.class) {
			want, got := "drop (mac_not_mine)", "drop (mac_not_mine)"
			if c.ok {
				want = fmt.Sprintf("accept as %q", c.class)
			}
			if ok {
				got = fmt.Sprintf("accept as %q", class)
			}
			t.Error(grading.Failure{
				Sent:     fmt.Sprintf("Classify(%s) on a NIC with address %s, groups [%s], promiscuous %v: %s", c.dst, own, group, c.promisc, c.why),
				Expected: want,
				Got:      got,
				Hint:     "the order matters: own address, broadcast, joined group, then promiscuous mode for the rest",
			})
		}
	}
}

// run is one seeded scenario's step log.
type run struct {
	events []viz.Event
	pings  stack.PingStats
}

// pair pings from the client to the server over one wire, both NICs with
// the filter newFilter gives (nil: the NIC's own).
func pair(t *testing.T, newFilter New, wire wire.Config, count int) run {
	cfg := stack.TopologyConfig{Seed: 7, Wire: wire}
	if newFilter != nil {
		cfg.NIC = func(c *nic.Config) { c.Filter = newFilter() }
	}
	p, mem := grading.NewPair(t, cfg)
	var r run
	p.Client.Ping(stack.PingConfig{Dst: p.Server.Addr(), Count: count, Interval: 100 * time.Millisecond, Wait: 2 * time.Second}, nil, func(s stack.PingStats) { r.pings = s })
	p.Net.Run()
	r.events = mem.Events()
	return r
}

// nicSteps keeps the adapter's checks and the frames' arrival.
func nicSteps(e *viz.Event) bool {
	return e.Layer == viz.LayerNIC && (e.Step == "fcs" || e.Step == "mac" || e.Step == "size" || e.Step == "ring")
}

// compare reports every frame whose walk through the NIC differs from the
// reference run's.
func compare(t *testing.T, scenario string, want, got run) {
	diffs := grading.DiffWalks(grading.Walks(want.events, nicSteps), grading.Walks(got.events, nicSteps))
	for i, d := range diffs {
		if i == 2 {
			t.Errorf("... and %d more frames differ, most of them because the run took another course after the first difference", len(diffs)-2)
			break
		}
		steps := grading.OfFrame(got.events, d.Frame)
		gotTrail := grading.Trail(d.Got)
		if len(d.Got) == 0 {
			gotTrail = "nothing: in your run this frame never reached this NIC (an earlier verdict changed what was sent)"
		}
		t.Error(grading.Failure{
			Sent:     fmt.Sprintf("%s; frame %d reaches %s's NIC", scenario, d.Frame, d.Host),
			Expected: grading.Trail(d.Want),
			Got:      gotTrail,
			Steps:    steps,
			Hint:     "the wire's phy steps above say whether it damaged the frame (corrupt) and which bit",
		})
	}
	if len(diffs) == 0 && want.pings.Received != got.pings.Received {
		t.Errorf("%s: %d echo replies came back, expected %d", scenario, got.pings.Received, want.pings.Received)
	}
}

func testWireFaults(t *testing.T, newFilter New) {
	// Frames 1 and 2 are ARP; 3 and 4 the first echo and its reply.
	wire := wire.Config{Faults: []wire.Fault{
		{Frame: 3, Kind: wire.FaultCorrupt, Bit: -1},
		{Frame: 6, Kind: wire.FaultCorrupt, Bit: 3},
		{Frame: 7, Kind: wire.FaultCorrupt, Bit: 8*64 - 1},
	}}
	scenario := "ping -c 4 from client to server over a wire that flips one bit of frames 3, 6 and 7"
	compare(t, scenario, pair(t, nil, wire, 4), pair(t, newFilter, wire, 4))
}

func testWireRandom(t *testing.T, newFilter New) {
	wire := wire.Config{Impairments: wire.Impairments{Corrupt: 0.3, Duplicate: 0.1, Seed: 11}}
	scenario := "ping -c 10 from client to server over a wire that corrupts 30% and duplicates 10% of frames (seed 11)"
	compare(t, scenario, pair(t, nil, wire, 10), pair(t, newFilter, wire, 10))
}

// hub puts a third host on a hub between client and server: it sees every
// frame and must keep only the broadcasts, unless it is promiscuous.
func hub(t *testing.T, newFilter New, promiscuous bool) run {
	n := stack.NewNetwork(3)
	w, err := n.AddWire(wire.Config{Mode: wire.Hub})
	if err != nil {
		t.Fatal(err)
	}
	var hosts []*stack.Host
	for i, name := range []string{"client", "server", "bystander"} {
		h := n.AddHost(stack.HostConfig{Name: name})
		nc := nic.Config{MAC: stack.MAC(i + 1)}
		if newFilter != nil {
			nc.Filter = newFilter()
		}
		nc.Promiscuous = name == "bystander" && promiscuous
		if _, err := h.AddInterface(stack.InterfaceConfig{NIC: nc, Prefix: netip.MustParsePrefix(fmt.Sprintf("10.0.0.%d/24", i+1))}, w); err != nil {
			t.Fatal(err)
		}
		hosts = append(hosts, h)
	}
	mem := &viz.MemorySink{}
	n.Log.AddSink(mem)
	var r run
	hosts[0].Ping(stack.PingConfig{Dst: hosts[1].Addr(), Count: 2, Interval: 100 * time.Millisecond}, nil, func(s stack.PingStats) { r.pings = s })
	n.Run()
	r.events = mem.Events()
	return r
}

func testHub(t *testing.T, newFilter New) {
	for _, promisc := range []bool{false, true} {
		mode := "not promiscuous"
		if promisc {
			mode = "promiscuous (like tcpdump)"
		}
		scenario := "ping -c 2 from client to server on a hub, where the bystander (" + mode + ") sees every frame"
		want, got := hub(t, nil, promisc), hub(t, newFilter, promisc)
		compare(t, scenario, want, got)
		if t.Failed() {
			return
		}
	}
}
