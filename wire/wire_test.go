package wire

import (
	"bytes"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/packetwalk/packetwalk/clock"
	"github.com/packetwalk/packetwalk/nic"
	"github.com/packetwalk/packetwalk/viz"
)

// fakePort is a nic.Port that records what arrives, and when.
type fakePort struct {
	name  string
	mac   nic.MAC
	clock clock.Clock
	got   []arrival
}

type arrival struct {
	at   time.Duration
	bits []byte
	id   uint64
}

func (p *fakePort) Arrive(bits []byte, id uint64) {
	p.got = append(p.got, arrival{at: p.clock.Now(), bits: bits, id: id})
}

func (p *fakePort) PortName() string { return p.name }

// ids returns the frame IDs that arrived, in arrival order.
func (p *fakePort) ids() []uint64 {
	var out []uint64
	for _, a := range p.got {
		out = append(out, a.id)
	}
	return out
}

// testNet is a wire with fake ports a, b, c... attached, on a virtual clock.
type testNet struct {
	clock *clock.Virtual
	log   *viz.Log
	sink  *viz.MemorySink // nil when nobody listens
	wire  *Wire
	ports []*fakePort
}

// newTestNet builds a wire from cfg (Clock and Log are filled in) with n
// ports named "a/eth0", "b/eth0"... whose MACs are 02:00:00:00:00:01, ...
func newTestNet(t testing.TB, cfg Config, n int, listen bool) *testNet {
	t.Helper()
	tn := &testNet{clock: clock.NewVirtual()}
	tn.log = viz.NewLog(tn.clock)
	if listen {
		tn.sink = &viz.MemorySink{}
		tn.log.AddSink(tn.sink)
	}
	cfg.Clock, cfg.Log = tn.clock, tn.log
	w, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	tn.wire = w
	for i := range n {
		p := &fakePort{name: string(rune('a'+i)) + "/eth0", mac: nic.MAC{2, 0, 0, 0, 0, byte(i + 1)}, clock: tn.clock}
		tn.ports = append(tn.ports, p)
		w.Attach(p)
	}
	return tn
}

// send builds a frame from port i to dst with a payload of n bytes and puts
// it on the wire with a new frame ID, which it returns with the frame.
func (tn *testNet) send(i int, dst nic.MAC, n int) (uint64, []byte) {
	id := tn.log.NewFrameID()
	payload := make([]byte, n)
	for k := range payload {
		payload[k] = byte(id) + byte(k)
	}
	bits := nic.AppendFrame(nil, dst, tn.ports[i].mac, nic.EtherTypeIPv4, payload)
	tn.wire.Transmit(tn.ports[i], bits, id)
	return id, bits
}

// steps returns the wire's events with this step name.
func (tn *testNet) steps(step string) []viz.Event {
	var out []viz.Event
	for _, e := range tn.sink.Events() {
		if e.Step == step {
			out = append(out, e)
		}
	}
	return out
}

// jsonl is the whole log as JSON Lines.
func (tn *testNet) jsonl() []byte {
	var b []byte
	for _, e := range tn.sink.Events() {
		b = append(viz.AppendJSON(b, &e), '\n')
	}
	return b
}

func field(t *testing.T, e viz.Event, key string) string {
	t.Helper()
	v, ok := e.Field(key)
	if !ok {
		t.Fatalf("event %s has no field %q: %+v", e.Step, key, e)
	}
	return v
}

// diffBits lists the bits (in flipBit's numbering) where a and b differ.
func diffBits(a, b []byte) []int {
	var out []int
	for i := range min(len(a), len(b)) {
		for k := range 8 {
			if (a[i]^b[i])&(1<<k) != 0 {
				out = append(out, i*8+k)
			}
		}
	}
	return out
}

func TestWireHubDeliversToAllOthers(t *testing.T) {
	tn := newTestNet(t, Config{Name: "lan"}, 3, true)
	a, b, c := tn.ports[0], tn.ports[1], tn.ports[2]
	id, bits := tn.send(0, b.mac, 100)
	sent := bytes.Clone(bits)
	bits[20] ^= 0xff // the sender reuses its buffer: the wire must have copied
	tn.clock.Run()

	if len(a.got) != 0 {
		t.Fatalf("the sender heard its own frame: %v", a.ids())
	}
	for _, p := range []*fakePort{b, c} {
		if len(p.got) != 1 || p.got[0].id != id || p.got[0].at != DefaultLatency {
			t.Fatalf("%s got %+v, want frame %d at %v", p.name, p.got, id, DefaultLatency)
		}
		if !bytes.Equal(p.got[0].bits, sent) {
			t.Fatalf("%s got bytes that differ from what was sent", p.name)
		}
	}
	b.got[0].bits[0] ^= 0xff // receivers own their copies
	if !bytes.Equal(c.got[0].bits, sent) {
		t.Fatal("two receivers share one buffer")
	}

	carry := tn.steps("carry")
	if len(carry) != 2 {
		t.Fatalf("want 2 carry steps, got %d", len(carry))
	}
	for i, to := range []string{"b/eth0", "c/eth0"} { // attach order
		e := carry[i]
		if e.Host != "lan" || e.Layer != viz.LayerPHY || e.Verdict != viz.Pass || e.Frame != id ||
			field(t, e, "from") != "a/eth0" || field(t, e, "to") != to || field(t, e, "arrive") != "0.00005" {
			t.Fatalf("carry step %d: %s", i, viz.AppendJSON(nil, &e))
		}
	}
	if s := tn.wire.Stats(); s.Frames != 1 || s.Deliveries != 2 {
		t.Fatalf("stats: %v", s)
	}
	if tn.wire.MACTable() != nil {
		t.Fatal("a hub learned MAC addresses")
	}
}

func TestWireHubAlone(t *testing.T) {
	tn := newTestNet(t, Config{}, 1, true)
	id, _ := tn.send(0, nic.Broadcast, 10)
	tn.clock.Run()
	carry := tn.steps("carry")
	if len(carry) != 1 || carry[0].Frame != id || carry[0].Verdict != viz.Note || carry[0].Host != DefaultName {
		t.Fatalf("a frame nobody hears is not noted: %+v", carry)
	}
}

func TestWireSwitchLearnsAndFloods(t *testing.T) {
	tn := newTestNet(t, Config{Mode: Switch}, 3, true)
	macA, macB, macC := tn.ports[0].mac, tn.ports[1].mac, tn.ports[2].mac
	unknown := nic.MAC{2, 0, 0, 0, 0, 0x99}
	group := nic.MAC{0x01, 0x00, 0x5e, 0, 0, 1}
	steps := []struct {
		name string
		from int
		dst  nic.MAC
		want []string // ports that receive the frame
		rule string   // the forward step's rule
	}{
		{"unknown unicast floods", 0, macB, []string{"b/eth0", "c/eth0"}, "unknown"},
		{"reply goes to the learned port only", 1, macA, []string{"a/eth0"}, "learned"},
		{"now b is known too", 0, macB, []string{"b/eth0"}, "learned"},
		{"broadcast floods", 2, nic.Broadcast, []string{"a/eth0", "b/eth0"}, "broadcast"},
		{"multicast floods", 0, group, []string{"b/eth0", "c/eth0"}, "multicast"},
		{"c was learned from its broadcast", 1, macC, []string{"c/eth0"}, "learned"},
		{"a never-seen address floods", 2, unknown, []string{"a/eth0", "b/eth0"}, "unknown"},
		{"destination on the incoming port is filtered", 0, macA, nil, "filter"},
	}
	for _, s := range steps {
		before := make([]int, len(tn.ports))
		for i, p := range tn.ports {
			before[i] = len(p.got)
		}
		id, _ := tn.send(s.from, s.dst, 46)
		tn.clock.Run()
		var got []string
		for i, p := range tn.ports {
			for _, a := range p.got[before[i]:] {
				if a.id != id {
					t.Fatalf("%s: %s got frame %d, want %d", s.name, p.name, a.id, id)
				}
				got = append(got, p.name)
			}
		}
		if !slices.Equal(got, s.want) {
			t.Errorf("%s: delivered to %v, want %v", s.name, got, s.want)
		}
		var rule string
		for _, e := range tn.steps("forward") {
			if e.Frame == id {
				rule = field(t, e, "rule")
				if s.rule == "filter" && (e.Verdict != viz.Drop || e.Reason != viz.ReasonSwitchFilter) {
					t.Errorf("%s: filtered frame logged as %s/%s", s.name, e.Verdict, e.Reason)
				}
			}
		}
		if rule != s.rule {
			t.Errorf("%s: forward rule %q, want %q", s.name, rule, s.rule)
		}
	}

	table := tn.wire.MACTable()
	var lines []string
	for _, e := range table {
		lines = append(lines, e.MAC.String()+" "+e.Port)
	}
	want := []string{"02:00:00:00:00:01 a/eth0", "02:00:00:00:00:02 b/eth0", "02:00:00:00:00:03 c/eth0"}
	if !slices.Equal(lines, want) {
		t.Fatalf("MAC table %v, want %v", lines, want)
	}
	if learned := tn.steps("learn"); len(learned) != 3 {
		t.Fatalf("want one learn step per new address, got %d", len(learned))
	}
	if s := tn.wire.Stats(); s.Flooded != 4 || s.Filtered != 1 {
		t.Fatalf("stats: %v", s)
	}
}

func TestWireSwitchMACMoves(t *testing.T) {
	// A forged source address moves the entry: the switch believes the
	// latest frame, and sends the victim's traffic to the forger.
	tn := newTestNet(t, Config{Mode: Switch}, 3, true)
	macA, macB := tn.ports[0].mac, tn.ports[1].mac
	tn.send(0, nic.Broadcast, 46) // learn a on port a
	tn.clock.Run()
	forged := nic.AppendFrame(nil, macB, macA, nic.EtherTypeIPv4, make([]byte, 46))
	tn.wire.Transmit(tn.ports[2], forged, tn.log.NewFrameID())
	tn.clock.Run()
	moves := tn.steps("learn")
	last := moves[len(moves)-1]
	if field(t, last, "mac") != macA.String() || field(t, last, "port") != "c/eth0" || field(t, last, "was") != "a/eth0" {
		t.Fatalf("move not logged: %s", viz.AppendJSON(nil, &last))
	}
	id, _ := tn.send(1, macA, 46)
	tn.clock.Run()
	if got := tn.ports[2].ids(); got[len(got)-1] != id || slices.Contains(tn.ports[0].ids(), id) {
		t.Fatalf("frame %d to the stolen address went to a=%v c=%v", id, tn.ports[0].ids(), got)
	}
}

func TestWireSwitchTableLimitAndAging(t *testing.T) {
	tn := newTestNet(t, Config{Mode: Switch, MACTableSize: 2, MACAgingTime: time.Second}, 3, true)
	for i := range 3 {
		tn.send(i, nic.Broadcast, 46)
	}
	tn.clock.Run()
	if n := len(tn.wire.MACTable()); n != 2 {
		t.Fatalf("table holds %d entries, limit 2", n)
	}
	full := tn.steps("learn")[2]
	if field(t, full, "table") != "full" || field(t, full, "mac") != tn.ports[2].mac.String() {
		t.Fatalf("a full table is not noted: %s", viz.AppendJSON(nil, &full))
	}
	id, _ := tn.send(0, tn.ports[2].mac, 46) // c could not be learned: flooded
	tn.clock.Run()
	if len(tn.ports[1].got) == 0 || tn.ports[1].got[len(tn.ports[1].got)-1].id != id {
		t.Fatal("a frame to an address the full table could not learn was not flooded")
	}

	tn.clock.RunFor(time.Second)
	if table := tn.wire.MACTable(); len(table) != 0 {
		t.Fatalf("entries did not age out: %v", table)
	}
	id, _ = tn.send(2, tn.ports[1].mac, 46) // b aged out: flooded; c learned now there is room
	tn.clock.Run()
	if got := tn.ports[0].ids(); got[len(got)-1] != id {
		t.Fatal("a frame to an aged-out address was not flooded")
	}
	if table := tn.wire.MACTable(); len(table) != 1 || table[0].Port != "c/eth0" {
		t.Fatalf("after aging, want only c learned: %v", table)
	}
}

func TestWireSwitchRunt(t *testing.T) {
	tn := newTestNet(t, Config{Mode: Switch}, 2, true)
	id := tn.log.NewFrameID()
	tn.wire.Transmit(tn.ports[0], []byte{1, 2, 3}, id)
	tn.clock.Run()
	fw := tn.steps("forward")
	if len(tn.ports[1].got) != 0 || len(fw) != 1 || fw[0].Reason != viz.ReasonRunt || fw[0].Frame != id {
		t.Fatalf("a 3-byte frame on a switch: got %v, steps %+v", tn.ports[1].ids(), fw)
	}
}

func TestWireTiming(t *testing.T) {
	const us = time.Microsecond
	tests := []struct {
		name      string
		cfg       Config
		sizes     []int // payload bytes of frames port a sends at t=0
		alsoFromB bool  // port b sends the same frames at t=0 too
		want      []time.Duration
	}{
		{"default latency", Config{}, []int{46}, false, []time.Duration{50 * us}},
		{"one millisecond", Config{Latency: time.Millisecond}, []int{46}, false, []time.Duration{time.Millisecond}},
		{"unlimited bandwidth sends a burst at once", Config{}, []int{1000, 1000, 1000}, false,
			[]time.Duration{50 * us, 50 * us, 50 * us}},
		// 1000 bytes of payload is a 1018-byte frame: 8144 bits at 10
		// Mbit/s take 814.4 µs, one frame after another.
		{"10 Mbit/s serializes", Config{BandwidthBitsPerSecond: 10_000_000}, []int{1000, 1000, 1000}, false,
			[]time.Duration{864400 * time.Nanosecond, 1678800 * time.Nanosecond, 2493200 * time.Nanosecond}},
		// A minimum frame (64 bytes, 512 bits) at 1 Gbit/s: 512 ns.
		{"1 Gbit/s minimum frame", Config{BandwidthBitsPerSecond: 1_000_000_000}, []int{46}, false,
			[]time.Duration{50*us + 512*time.Nanosecond}},
		{"each port has its own transmitter", Config{BandwidthBitsPerSecond: 10_000_000}, []int{1000}, true,
			[]time.Duration{864400 * time.Nanosecond}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tn := newTestNet(t, tc.cfg, 3, true)
			for _, n := range tc.sizes {
				tn.send(0, tn.ports[2].mac, n)
				if tc.alsoFromB {
					tn.send(1, tn.ports[2].mac, n)
				}
			}
			tn.clock.RunFor(tc.want[0] - 1)
			if len(tn.ports[2].got) != 0 {
				t.Fatalf("a frame arrived before %v", tc.want[0])
			}
			tn.clock.Run()
			var got []time.Duration
			for _, a := range tn.ports[2].got {
				if a.bits != nil && nic.Frame(a.bits).Src() == tn.ports[0].mac {
					got = append(got, a.at)
				} else if tc.alsoFromB && a.at != tc.want[0] {
					t.Errorf("b's frame arrived at %v, want %v: ports must not wait for each other", a.at, tc.want[0])
				}
			}
			if !slices.Equal(got, tc.want) {
				t.Fatalf("arrivals %v, want %v", got, tc.want)
			}
		})
	}

	// A frame sent after the transmitter went idle does not wait.
	tn := newTestNet(t, Config{BandwidthBitsPerSecond: 10_000_000}, 2, true)
	tn.send(0, tn.ports[1].mac, 1000)
	tn.clock.RunFor(10 * time.Millisecond)
	tn.send(0, tn.ports[1].mac, 1000)
	tn.clock.Run()
	if at := tn.ports[1].got[1].at; at != 10*time.Millisecond+864400*time.Nanosecond {
		t.Fatalf("a frame on an idle port arrived at %v", at)
	}
	// The second of two back-to-back frames records how long it waited.
	tn.send(0, tn.ports[1].mac, 1000)
	tn.send(0, tn.ports[1].mac, 1000)
	carry := tn.steps("carry")
	if w := field(t, carry[len(carry)-1], "wait"); w != "814.4µs" {
		t.Fatalf("wait field %q, want 814.4µs", w)
	}
}

func TestWireTxQueueFull(t *testing.T) {
	// At 1 Mbit/s a minimum frame (512 bits) takes 512 µs to send.
	tn := newTestNet(t, Config{BandwidthBitsPerSecond: 1_000_000, TxQueueLen: 2}, 2, true)
	var ids []uint64
	for range 5 {
		id, _ := tn.send(0, tn.ports[1].mac, 46)
		ids = append(ids, id)
	}
	drops := tn.steps("queue")
	if len(drops) != 3 {
		t.Fatalf("want 3 queue drops, got %d", len(drops))
	}
	for i, e := range drops {
		if e.Verdict != viz.Drop || e.Reason != viz.ReasonTxQueueFull || e.Frame != ids[2+i] || field(t, e, "limit") != "2" {
			t.Fatalf("queue drop %d: %s", i, viz.AppendJSON(nil, &e))
		}
	}
	// Once the first frame has left, there is room for one more.
	tn.clock.RunFor(512 * time.Microsecond)
	id, _ := tn.send(0, tn.ports[1].mac, 46)
	tn.clock.Run()
	if got, want := tn.ports[1].ids(), []uint64{ids[0], ids[1], id}; !slices.Equal(got, want) {
		t.Fatalf("arrived %v, want %v", got, want)
	}
	if s := tn.wire.Stats(); s.TxQueueFull != 3 || s.Frames != 3 {
		t.Fatalf("stats: %v", s)
	}
}

func TestWireImpairmentsAtOne(t *testing.T) {
	tests := []struct {
		name  string
		im    Impairments
		step  string
		check func(t *testing.T, tn *testNet, id uint64, sent []byte, e viz.Event)
	}{
		{"loss", Impairments{Loss: 1}, "loss", func(t *testing.T, tn *testNet, id uint64, sent []byte, e viz.Event) {
			if len(tn.ports[1].got) != 0 {
				t.Fatal("a lost frame arrived")
			}
			if e.Verdict != viz.Drop || e.Reason != viz.ReasonWireLoss || e.Frame != id {
				t.Fatalf("loss step: %s", viz.AppendJSON(nil, &e))
			}
			if len(tn.steps("carry")) != 0 {
				t.Fatal("a lost frame was also carried")
			}
		}},
		{"duplicate", Impairments{Duplicate: 1}, "duplicate", func(t *testing.T, tn *testNet, id uint64, sent []byte, e viz.Event) {
			got := tn.ports[1].got
			if len(got) != 2 || got[0].id != id || got[1].id == id || got[1].id == 0 {
				t.Fatalf("want the frame and a copy with a new ID, got IDs %v", tn.ports[1].ids())
			}
			if !bytes.Equal(got[0].bits, sent) || !bytes.Equal(got[1].bits, sent) || &got[0].bits[0] == &got[1].bits[0] {
				t.Fatal("the copies are not two separate, intact copies")
			}
			if e.Frame != got[1].id || field(t, e, "dup_of") != strconv.FormatUint(id, 10) {
				t.Fatalf("duplicate step: %s", viz.AppendJSON(nil, &e))
			}
		}},
		{"corrupt", Impairments{Corrupt: 1}, "corrupt", func(t *testing.T, tn *testNet, id uint64, sent []byte, e viz.Event) {
			got := tn.ports[1].got
			if len(got) != 1 {
				t.Fatalf("want one delivery, got %d", len(got))
			}
			flipped := diffBits(sent, got[0].bits)
			if len(flipped) != 1 || strconv.Itoa(flipped[0]) != field(t, e, "bit") ||
				strconv.Itoa(flipped[0]/8) != field(t, e, "byte") || e.Frame != id || e.Verdict != viz.Note {
				t.Fatalf("flipped bits %v, step %s", flipped, viz.AppendJSON(nil, &e))
			}
			f := nic.Frame(got[0].bits)
			if f.FCS() == f.ComputeFCS() {
				t.Fatal("the FCS still matches after a bit flip")
			}
		}},
		{"reorder", Impairments{Reorder: 1}, "reorder", func(t *testing.T, tn *testNet, id uint64, sent []byte, e viz.Event) {
			got := tn.ports[1].got
			want := DefaultLatency + 3*DefaultLatency // the default extra delay, no serialization
			if len(got) != 1 || got[0].at != want || !bytes.Equal(got[0].bits, sent) {
				t.Fatalf("want the intact frame at %v, got %+v", want, got)
			}
			if e.Frame != id || field(t, e, "extra") != (3*DefaultLatency).String() || field(t, e, "arrive") != "0.0002" {
				t.Fatalf("reorder step: %s", viz.AppendJSON(nil, &e))
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tn := newTestNet(t, Config{Impairments: tc.im}, 2, true)
			id, bits := tn.send(0, tn.ports[1].mac, 100)
			sent := bytes.Clone(bits)
			tn.clock.Run()
			steps := tn.steps(tc.step)
			if len(steps) != 1 {
				t.Fatalf("want one %s step, got %d", tc.step, len(steps))
			}
			if steps[0].Host != DefaultName || steps[0].Layer != viz.LayerPHY {
				t.Fatalf("step logged as %s/%s", steps[0].Host, steps[0].Layer)
			}
			tc.check(t, tn, id, sent, steps[0])
		})
	}
}

func TestWireReorderOvertakes(t *testing.T) {
	tn := newTestNet(t, Config{Impairments: Impairments{Reorder: 0.3, Seed: 1}}, 2, true)
	for range 50 {
		tn.send(0, tn.ports[1].mac, 46)
		tn.clock.RunFor(10 * time.Microsecond)
	}
	tn.clock.Run()
	held := map[uint64]bool{}
	for _, e := range tn.steps("reorder") {
		held[e.Frame] = true
	}
	got := tn.ports[1].ids()
	if len(got) != 50 || len(held) == 0 {
		t.Fatalf("%d arrived, %d held back", len(got), len(held))
	}
	inversions := 0
	for i := range got {
		for j := i + 1; j < len(got); j++ {
			if got[i] > got[j] { // a later frame overtook an earlier one
				inversions++
				if !held[got[j]] || held[got[i]] {
					t.Fatalf("frame %d overtook %d, but only %d should have been held back", got[i], got[j], got[j])
				}
			}
		}
	}
	if inversions == 0 {
		t.Fatal("no frame was overtaken")
	}
}

func TestWireImpairmentRates(t *testing.T) {
	const frames, p = 10_000, 0.1
	// The counts are binomial(10000, 0.1) up to the seed: mean 1000,
	// standard deviation 30; 150 is five of them.
	const tolerance = 150
	tests := []struct {
		name  string
		im    Impairments
		count func(Stats) uint64
	}{
		{"loss", Impairments{Loss: p}, func(s Stats) uint64 { return s.Lost }},
		{"duplicate", Impairments{Duplicate: p}, func(s Stats) uint64 { return s.Duplicated }},
		{"reorder", Impairments{Reorder: p}, func(s Stats) uint64 { return s.Reordered }},
		{"corrupt", Impairments{Corrupt: p}, func(s Stats) uint64 { return s.Corrupted }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.im.Seed = 42
			tn := newTestNet(t, Config{Impairments: tc.im}, 2, false)
			for range frames {
				tn.send(0, tn.ports[1].mac, 46)
				tn.clock.Run()
			}
			s := tn.wire.Stats()
			n := tc.count(s)
			if n < frames*p-tolerance || n > frames*p+tolerance {
				t.Fatalf("%s struck %d of %d frames, want %v±%d", tc.name, n, frames, frames*p, tolerance)
			}
			// What arrived agrees with what the wire says it did.
			badFCS := 0
			for _, a := range tn.ports[1].got {
				if f := nic.Frame(a.bits); f.FCS() != f.ComputeFCS() {
					badFCS++
				}
			}
			if arrived := uint64(len(tn.ports[1].got)); arrived != frames-s.Lost+s.Duplicated || uint64(badFCS) != s.Corrupted {
				t.Fatalf("arrived %d (%d with a bad FCS), stats %v", arrived, badFCS, s)
			}
		})
	}
}

func TestWireFaults(t *testing.T) {
	var faults []Fault
	for _, s := range []string{"drop:4", "corrupt:7:bit=100", "corrupt:9"} {
		f, err := ParseFault(s)
		if err != nil {
			t.Fatal(err)
		}
		faults = append(faults, f)
	}
	run := func() (*testNet, map[uint64][]byte) {
		tn := newTestNet(t, Config{Faults: faults, Impairments: Impairments{Seed: 3}}, 3, true)
		sent := map[uint64][]byte{}
		for range 10 {
			id, bits := tn.send(0, nic.Broadcast, 46)
			sent[id] = bytes.Clone(bits)
		}
		tn.clock.Run()
		return tn, sent
	}
	tn, sent := run()
	if len(sent) != 10 || sent[1] == nil || sent[10] == nil {
		t.Fatal("the frames did not get IDs 1..10")
	}
	flipped9 := -1
	for _, p := range tn.ports[1:] {
		if got, want := p.ids(), []uint64{1, 2, 3, 5, 6, 7, 8, 9, 10}; !slices.Equal(got, want) {
			t.Fatalf("%s got frames %v, want %v", p.name, got, want)
		}
		for _, a := range p.got {
			d := diffBits(sent[a.id], a.bits)
			switch a.id {
			case 7:
				if !slices.Equal(d, []int{100}) {
					t.Fatalf("frame 7 at %s: bits %v flipped, want [100]", p.name, d)
				}
			case 9:
				if len(d) != 1 || (flipped9 >= 0 && d[0] != flipped9) {
					t.Fatalf("frame 9 at %s: bits %v flipped, want the same single bit at every port", p.name, d)
				}
				flipped9 = d[0]
			default:
				if len(d) != 0 {
					t.Fatalf("frame %d at %s was damaged (bits %v) but has no fault", a.id, p.name, d)
				}
			}
		}
	}
	fs := tn.steps("fault")
	if len(fs) != 3 {
		t.Fatalf("want 3 fault steps, got %d", len(fs))
	}
	if e := fs[0]; e.Frame != 4 || e.Verdict != viz.Drop || e.Reason != viz.ReasonWireFault || field(t, e, "fault") != "drop:4" {
		t.Fatalf("drop fault: %s", viz.AppendJSON(nil, &e))
	}
	if e := fs[1]; e.Frame != 7 || e.Verdict != viz.Note || field(t, e, "bit") != "100" || field(t, e, "byte") != "12" {
		t.Fatalf("corrupt fault: %s", viz.AppendJSON(nil, &e))
	}
	if e := fs[2]; e.Frame != 9 || field(t, e, "bit") != strconv.Itoa(flipped9) {
		t.Fatalf("random-bit fault: %s, flipped %d", viz.AppendJSON(nil, &e), flipped9)
	}
	if s := tn.wire.Stats(); s.Faults != 3 || s.Corrupted != 0 {
		t.Fatalf("stats: %v", s)
	}
	// The bit the seed chooses is the same in every run.
	tn2, _ := run()
	if !bytes.Equal(tn.jsonl(), tn2.jsonl()) {
		t.Fatal("two runs with the same faults logged differently")
	}

	// A fault can name a duplicate's ID: it strikes that copy alone.
	tn = newTestNet(t, Config{Impairments: Impairments{Duplicate: 1},
		Faults: []Fault{{Frame: 2, Kind: FaultDrop}, {Frame: 4, Kind: FaultCorrupt, Bit: 0}}}, 2, true)
	_, first := tn.send(0, tn.ports[1].mac, 46)  // frame 1, its copy is 2
	_, second := tn.send(0, tn.ports[1].mac, 46) // frame 3, its copy is 4
	tn.clock.Run()
	if got := tn.ports[1].ids(); !slices.Equal(got, []uint64{1, 3, 4}) {
		t.Fatalf("with the copy 2 dropped, got frames %v, want [1 3 4]", got)
	}
	got := tn.ports[1].got
	if len(diffBits(first, got[0].bits)) != 0 || len(diffBits(second, got[1].bits)) != 0 ||
		!slices.Equal(diffBits(second, got[2].bits), []int{0}) {
		t.Fatal("a fault on a duplicate damaged the wrong copy")
	}
	if fs := tn.steps("fault"); len(fs) != 2 || fs[0].Frame != 2 || fs[0].Reason != viz.ReasonWireFault || field(t, fs[1], "to") != "b/eth0" {
		t.Fatalf("faults on duplicates: %+v", fs)
	}

	// A bit past the end of the frame wraps around.
	tn = newTestNet(t, Config{Faults: []Fault{{Frame: 1, Kind: FaultCorrupt, Bit: 512 + 5}}}, 2, false)
	_, bits := tn.send(0, tn.ports[1].mac, 46) // 64 bytes: 512 bits
	sentBits := bytes.Clone(bits)
	tn.clock.Run()
	if d := diffBits(sentBits, tn.ports[1].got[0].bits); !slices.Equal(d, []int{5}) {
		t.Fatalf("bit 517 of a 512-bit frame flipped %v, want [5]", d)
	}
}

// determinismRun sends 300 frames of assorted sizes from every port of a
// hub with every impairment on, and returns the log and what arrived.
func determinismRun(t *testing.T, seed int64) (log, delivered []byte) {
	cfg := Config{
		BandwidthBitsPerSecond: 100_000_000,
		Impairments:            Impairments{Loss: 0.2, Duplicate: 0.2, Reorder: 0.2, Corrupt: 0.2, Seed: seed},
		Faults:                 []Fault{{Frame: 50, Kind: FaultCorrupt, Bit: -1}, {Frame: 60, Kind: FaultDrop}},
	}
	tn := newTestNet(t, cfg, 3, true)
	for i := range 300 {
		from := i % 3
		tn.send(from, tn.ports[(from+1)%3].mac, 46+(i*37)%1000)
		tn.clock.RunFor(time.Duration(i%7) * 20 * time.Microsecond)
	}
	tn.clock.Run()
	var out bytes.Buffer
	for _, p := range tn.ports {
		for _, a := range p.got {
			fmt.Fprintf(&out, "%s %d %v %x\n", p.name, a.id, a.at, a.bits)
		}
	}
	return tn.jsonl(), out.Bytes()
}

func TestWireDeterminism(t *testing.T) {
	log1, got1 := determinismRun(t, 7)
	log2, got2 := determinismRun(t, 7)
	if !bytes.Equal(log1, log2) {
		t.Fatal("two runs with the same seed logged different events")
	}
	if !bytes.Equal(got1, got2) {
		t.Fatal("two runs with the same seed delivered different bytes")
	}
	for _, step := range []string{`"step":"loss"`, `"step":"duplicate"`, `"step":"reorder"`, `"step":"corrupt"`, `"step":"fault"`} {
		if !bytes.Contains(log1, []byte(step)) {
			t.Fatalf("the run never logged %s", step)
		}
	}
	log3, got3 := determinismRun(t, 8)
	if bytes.Equal(log1, log3) || bytes.Equal(got1, got3) {
		t.Fatal("a different seed gave the same run")
	}
}

func TestWireLoggingOff(t *testing.T) {
	// Nobody listens: the wire works the same, and logs nothing.
	tn := newTestNet(t, Config{Mode: Switch, Impairments: Impairments{Duplicate: 1, Corrupt: 1, Reorder: 1, Seed: 1}}, 2, false)
	tn.send(0, tn.ports[1].mac, 46)
	tn.clock.Run()
	// The copy (frame 2) arrives at the normal time, before the held-back
	// original: a duplicate takes a frame ID even when nobody listens.
	if got := tn.ports[1].ids(); !slices.Equal(got, []uint64{2, 1}) {
		t.Fatalf("got frames %v, want [2 1]", got)
	}
	if s := tn.wire.Stats(); s.Deliveries != 2 || s.Corrupted != 1 || s.Reordered != 1 || s.Duplicated != 1 {
		t.Fatalf("stats: %v", s)
	}
}

func TestWireMTU(t *testing.T) {
	tn := newTestNet(t, Config{MTU: 100}, 2, true)
	okID, _ := tn.send(0, tn.ports[1].mac, 100)
	bigID, _ := tn.send(0, tn.ports[1].mac, 101)
	tn.clock.Run()
	if got := tn.ports[1].ids(); !slices.Equal(got, []uint64{okID}) {
		t.Fatalf("arrived %v, want only the %d-byte payload", got, 100)
	}
	drops := tn.steps("mtu")
	if len(drops) != 1 || drops[0].Frame != bigID || drops[0].Reason != viz.ReasonWireMTU || field(t, drops[0], "len") != "119" {
		t.Fatalf("mtu drops: %+v", drops)
	}
	if !viz.ReasonWireMTU.Known() || !viz.ReasonSwitchFilter.Known() {
		t.Fatal("the wire's reasons are not documented in viz")
	}
}

func TestWireNoCarrier(t *testing.T) {
	tn := newTestNet(t, Config{}, 2, true)
	stranger := &fakePort{name: "x/eth0", clock: tn.clock}
	tn.wire.Transmit(stranger, nic.AppendFrame(nil, nic.Broadcast, nic.MAC{2}, nic.EtherTypeARP, nil), 9)
	tn.clock.Run()
	drops := tn.steps("carrier")
	if len(drops) != 1 || drops[0].Reason != viz.ReasonNoCarrier || len(tn.ports[0].got)+len(tn.ports[1].got) != 0 {
		t.Fatalf("a frame from an unattached port: steps %+v", drops)
	}
	tn.wire.Attach(tn.ports[0]) // twice: nothing changes
	tn.send(1, nic.Broadcast, 46)
	tn.clock.Run()
	if len(tn.ports[0].got) != 1 {
		t.Fatalf("a port attached twice got %d copies", len(tn.ports[0].got))
	}
}

func TestWireParseFault(t *testing.T) {
	good := []struct {
		in   string
		want Fault
	}{
		{"drop:7", Fault{Frame: 7, Kind: FaultDrop, Bit: -1}},
		{"corrupt:7", Fault{Frame: 7, Kind: FaultCorrupt, Bit: -1}},
		{"corrupt:7:bit=100", Fault{Frame: 7, Kind: FaultCorrupt, Bit: 100}},
		{"corrupt:18446744073709551615:bit=0", Fault{Frame: 1<<64 - 1, Kind: FaultCorrupt, Bit: 0}},
		{" drop:12 ", Fault{Frame: 12, Kind: FaultDrop, Bit: -1}},
	}
	for _, tc := range good {
		got, err := ParseFault(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ParseFault(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
			continue
		}
		if back, err := ParseFault(got.String()); err != nil || back != got {
			t.Errorf("%q does not round-trip through String: %q", tc.in, got.String())
		}
	}
	bad := []string{"", "drop", "drop:", "drop:0", "drop:-1", "drop:x", "lose:7", "DROP:7", "drop:7:",
		"corrupt:7:bit=", "corrupt:7:bit=-2", "corrupt:7:bit=x", "corrupt:7:100", "corrupt:7:bit=1:x", "drop:7:bit=3"}
	for _, in := range bad {
		_, err := ParseFault(in)
		if err == nil {
			t.Errorf("ParseFault(%q) accepted it", in)
			continue
		}
		msg := err.Error()
		if !strings.HasPrefix(msg, fmt.Sprintf("fault %q: ", in)) || strings.Contains(msg, "\n") {
			t.Errorf("ParseFault(%q): error %q is not one sentence naming the input", in, msg)
		}
	}
}

func TestWireImpairmentsValidate(t *testing.T) {
	nan := 0.0
	nan /= nan
	tests := []struct {
		im   Impairments
		want string // "" for valid; else a part of the error
	}{
		{Impairments{}, ""},
		{Impairments{Loss: 1, Duplicate: 1, Reorder: 1, Corrupt: 1, Seed: -5, ReorderDelay: time.Second}, ""},
		{Impairments{Loss: -0.1}, "--loss -0.1: a probability must be between 0 and 1"},
		{Impairments{Duplicate: 1.01}, "--dup 1.01"},
		{Impairments{Reorder: nan}, "--reorder NaN"},
		{Impairments{Corrupt: 2}, "--corrupt 2"},
		{Impairments{ReorderDelay: -time.Second}, "reorder delay -1s is negative"},
	}
	for _, tc := range tests {
		err := tc.im.Validate()
		if (err == nil) != (tc.want == "") || (err != nil && !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("Validate(%+v) = %v, want %q", tc.im, err, tc.want)
		}
	}
}

func TestWireConfigErrorsAndDefaults(t *testing.T) {
	clk := clock.NewVirtual()
	bad := []struct {
		cfg  Config
		want string
	}{
		{Config{}, `wire "wire0": needs a clock`},
		{Config{Clock: clk, Mode: 7}, "mode WireMode(7)"},
		{Config{Clock: clk, Latency: -1}, "latency -1ns is negative"},
		{Config{Clock: clk, BandwidthBitsPerSecond: -1}, "bandwidth -1 bit/s"},
		{Config{Clock: clk, TxQueueLen: -1}, "transmit queue length"},
		{Config{Clock: clk, MTU: 45}, "MTU 45"},
		{Config{Clock: clk, MTU: -1}, "MTU -1"},
		{Config{Clock: clk, MACTableSize: -1}, "MAC table size"},
		{Config{Clock: clk, MACAgingTime: -1}, "MAC aging time"},
		{Config{Clock: clk, Impairments: Impairments{Loss: 3}}, "--loss 3"},
		{Config{Clock: clk, Faults: []Fault{{Frame: 0}}}, "fault drop:0: frame IDs start at 1"},
		{Config{Clock: clk, Faults: []Fault{{Frame: 1, Kind: 9}}}, "the kind must be drop or corrupt"},
		{Config{Clock: clk, Faults: []Fault{{Frame: 1, Kind: FaultCorrupt, Bit: -2}}}, "the bit must be 0 or more"},
	}
	for _, tc := range bad {
		_, err := New(tc.cfg)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("NewWire(%+v) = %v, want an error with %q", tc.cfg, err, tc.want)
		}
	}

	w, err := New(Config{Log: viz.NewLog(clk)}) // the clock comes from the log
	if err != nil {
		t.Fatal(err)
	}
	c := w.Config()
	if c.Name != "wire0" || c.Mode != Hub || c.Latency != 50*time.Microsecond || c.TxQueueLen != 1000 ||
		c.MACTableSize != 1024 || c.MACAgingTime != 300*time.Second || c.MTU != 0 || c.Clock != clock.Clock(clk) {
		t.Fatalf("defaults: %+v", c)
	}
	for _, s := range []string{"hub", "Switch"} {
		if _, err := ParseMode(s); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := ParseMode("router"); err == nil {
		t.Fatal("ParseWireMode accepted router")
	}
}

func BenchmarkWireTransmit(b *testing.B) {
	for _, listen := range []bool{false, true} {
		b.Run(fmt.Sprintf("listen=%v", listen), func(b *testing.B) {
			tn := newTestNet(b, Config{Mode: Switch, Impairments: Impairments{Loss: 0.01, Seed: 1}}, 2, listen)
			if listen {
				tn.sink.Limit = 1 // keep memory flat: the events are counted, not kept
			}
			bits := nic.AppendFrame(nil, tn.ports[1].mac, tn.ports[0].mac, nic.EtherTypeIPv4, make([]byte, 1500))
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				tn.wire.Transmit(tn.ports[0], bits, uint64(i+1))
				tn.clock.Run()
				tn.ports[1].got = tn.ports[1].got[:0]
			}
		})
	}
}
