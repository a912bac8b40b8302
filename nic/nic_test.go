package nic

import (
	"bytes"
	"encoding/binary"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/packetwalk/packetwalk/clock"
	"github.com/packetwalk/packetwalk/viz"
)

var (
	macA  = MAC{0x02, 0, 0, 0, 0, 0x0a}
	macB  = MAC{0x02, 0, 0, 0, 0, 0x0b}
	macC  = MAC{0x02, 0, 0, 0, 0, 0x0c}
	mcast = MAC{0x01, 0x00, 0x5e, 0x00, 0x00, 0xfb}
)

// sink is a Protocol that records what the driver hands it.
type sink struct{ got []RxFrame }

func (s *sink) Receive(f RxFrame) {
	f.Payload = append([]byte(nil), f.Payload...) // the ring slot is reused
	s.got = append(s.got, f)
}

// txRecorder is a Medium that keeps what a NIC transmits.
type txRecorder struct{ frames [][]byte }

func (m *txRecorder) Transmit(_ Port, bits []byte, _ uint64) {
	m.frames = append(m.frames, append([]byte(nil), bits...))
}

type rig struct {
	clock *clock.Virtual
	mem   *viz.MemorySink
	nic   *NIC
	ipv4  *sink
}

func newRig(t *testing.T, mod func(*Config)) *rig {
	t.Helper()
	c := clock.NewVirtual()
	log := viz.NewLog(c)
	mem := &viz.MemorySink{}
	log.AddSink(mem)
	cfg := Config{Name: "eth0", MAC: macB, Clock: c, Recorder: log.Recorder("server")}
	if mod != nil {
		mod(&cfg)
	}
	n := New(cfg)
	s := &sink{}
	n.Register(EtherTypeIPv4, s)
	return &rig{clock: c, mem: mem, nic: n, ipv4: s}
}

// lastVerdict returns the final step logged for frame id.
func (r *rig) last(id uint64) viz.Event {
	var last viz.Event
	for _, e := range r.mem.Events() {
		if e.Frame == id {
			last = e
		}
	}
	return last
}

func frameTo(dst MAC, t EtherType, payloadLen int) []byte {
	return AppendFrame(nil, dst, macA, t, bytes.Repeat([]byte{0xab}, payloadLen))
}

func TestReceiveVerdicts(t *testing.T) {
	flip := func(b []byte, i int) []byte { b[i] ^= 0x10; return b }
	tests := []struct {
		name      string
		mod       func(*Config)
		bits      []byte
		step      string
		verdict   viz.Verdict
		reason    viz.Reason
		delivered bool
		class     Class
	}{
		{"unicast to me", nil, frameTo(macB, EtherTypeIPv4, 100), "driver", viz.Pass, "", true, ClassHost},
		{"broadcast", nil, frameTo(Broadcast, EtherTypeIPv4, 100), "driver", viz.Pass, "", true, ClassBroadcast},
		{"minimum frame, padded", nil, frameTo(macB, EtherTypeIPv4, 1), "driver", viz.Pass, "", true, ClassHost},
		{"maximum frame", nil, frameTo(macB, EtherTypeIPv4, 1500), "driver", viz.Pass, "", true, ClassHost},
		{"runt", nil, frameTo(macB, EtherTypeIPv4, 100)[:40], "size", viz.Drop, viz.ReasonRunt, false, 0},
		{"empty", nil, []byte{}, "size", viz.Drop, viz.ReasonRunt, false, 0},
		{"giant", nil, frameTo(macB, EtherTypeIPv4, 1501), "size", viz.Drop, viz.ReasonFrameTooLong, false, 0},
		{"giant for a small MTU", func(c *Config) { c.MTU = 576 }, frameTo(macB, EtherTypeIPv4, 577), "size", viz.Drop, viz.ReasonFrameTooLong, false, 0},
		{"bit flipped in payload", nil, flip(frameTo(macB, EtherTypeIPv4, 100), 40), "fcs", viz.Drop, viz.ReasonFCSMismatch, false, 0},
		{"bit flipped in FCS", nil, flip(frameTo(macB, EtherTypeIPv4, 100), 117), "fcs", viz.Drop, viz.ReasonFCSMismatch, false, 0},
		{"bit flipped in dst MAC", nil, flip(frameTo(macB, EtherTypeIPv4, 100), 2), "fcs", viz.Drop, viz.ReasonFCSMismatch, false, 0},
		{"not my MAC", nil, frameTo(macC, EtherTypeIPv4, 100), "mac", viz.Drop, viz.ReasonMACNotMine, false, 0},
		{"not my MAC, promiscuous", func(c *Config) { c.Promiscuous = true }, frameTo(macC, EtherTypeIPv4, 100), "driver", viz.Pass, "", true, ClassOtherHost},
		{"multicast not joined", nil, frameTo(mcast, EtherTypeIPv4, 100), "mac", viz.Drop, viz.ReasonMACNotMine, false, 0},
		{"unknown EtherType", nil, frameTo(macB, EtherTypeIPv6, 100), "driver", viz.Drop, viz.ReasonUnknownEtherType, false, 0},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t, tt.mod)
			id := uint64(i + 1)
			r.nic.Arrive(tt.bits, id)
			r.clock.Run()
			last := r.last(id)
			if last.Step != tt.step || last.Verdict != tt.verdict || last.Reason != tt.reason {
				t.Fatalf("last step %s/%s/%s (%s), want %s/%s/%s", last.Step, last.Verdict, last.Reason, last.Msg, tt.step, tt.verdict, tt.reason)
			}
			if got := len(r.ipv4.got) == 1; got != tt.delivered {
				t.Fatalf("delivered=%v, want %v", got, tt.delivered)
			}
			if tt.delivered {
				f := r.ipv4.got[0]
				if f.ID != id || f.Class != tt.class || f.Src != macA || f.EtherType != EtherTypeIPv4 {
					t.Fatalf("handed up %+v", f)
				}
				if want := Frame(tt.bits).Payload(); !bytes.Equal(f.Payload, want) {
					t.Fatalf("payload differs")
				}
			}
		})
	}
}

func TestMulticastJoin(t *testing.T) {
	r := newRig(t, nil)
	r.nic.JoinGroup(mcast)
	r.nic.Arrive(frameTo(mcast, EtherTypeIPv4, 50), 1)
	r.nic.LeaveGroup(mcast)
	r.nic.Arrive(frameTo(mcast, EtherTypeIPv4, 50), 2)
	r.clock.Run()
	if len(r.ipv4.got) != 1 || r.ipv4.got[0].Class != ClassMulticast {
		t.Fatalf("got %+v", r.ipv4.got)
	}
	if r.last(2).Reason != viz.ReasonMACNotMine {
		t.Fatalf("after leaving the group: %+v", r.last(2))
	}
	if s := r.nic.Stats(); s.RxMulticast != 1 || s.RxFiltered != 1 {
		t.Fatalf("stats %+v", s)
	}
}

// A burst bigger than the ring, arriving before the driver runs, overflows
// it: the frames that found no slot are dropped as ring_full, the rest are
// delivered in order.
func TestRingOverflow(t *testing.T) {
	r := newRig(t, func(c *Config) { c.RingSize = 4; c.InterruptDelay = time.Millisecond })
	for id := uint64(1); id <= 6; id++ {
		r.nic.Arrive(frameTo(macB, EtherTypeIPv4, 60), id)
	}
	r.clock.Run()
	if len(r.ipv4.got) != 4 {
		t.Fatalf("delivered %d, want 4", len(r.ipv4.got))
	}
	for i, f := range r.ipv4.got {
		if f.ID != uint64(i+1) {
			t.Fatalf("delivery order %d: frame %d", i, f.ID)
		}
	}
	for _, id := range []uint64{5, 6} {
		if e := r.last(id); e.Reason != viz.ReasonRingFull {
			t.Fatalf("frame %d: %+v", id, e)
		}
	}
	// After the driver emptied the ring there is room again.
	r.nic.Arrive(frameTo(macB, EtherTypeIPv4, 60), 7)
	r.clock.Run()
	if len(r.ipv4.got) != 5 {
		t.Fatalf("ring did not free its slots")
	}
	if s := r.nic.Stats(); s.RxOverErrors != 2 || s.RxDropped != 2 || s.RxPackets != 5 {
		t.Fatalf("stats %+v", s)
	}
}

// The driver takes at most its budget per run and reschedules itself.
func TestDriverBudget(t *testing.T) {
	r := newRig(t, func(c *Config) { c.RingSize = 16; c.DriverBudget = 2; c.InterruptDelay = time.Microsecond })
	var runs []time.Duration
	for id := uint64(1); id <= 5; id++ {
		r.nic.Arrive(frameTo(macB, EtherTypeIPv4, 60), id)
	}
	r.clock.Run()
	for _, e := range r.mem.Events() {
		if e.Step == "driver" {
			runs = append(runs, e.T)
		}
	}
	if len(r.ipv4.got) != 5 || len(runs) != 5 {
		t.Fatalf("delivered %d", len(r.ipv4.got))
	}
	irqs := 0
	for _, e := range r.mem.Events() {
		if e.Step == "irq" {
			irqs++
		}
	}
	if irqs != 1 {
		t.Fatalf("%d interrupts for one burst, want 1 (coalesced)", irqs)
	}
}

func TestTransmit(t *testing.T) {
	r := newRig(t, nil)
	if err := r.nic.Transmit(macA, EtherTypeIPv4, []byte("hi"), 0); err != ErrNoCarrier {
		t.Fatalf("without a medium: %v", err)
	}
	m := &txRecorder{}
	r.nic.Attach(m)
	if err := r.nic.Transmit(macA, EtherTypeIPv4, make([]byte, 1501), 9); err != ErrTooLong {
		t.Fatalf("oversize: %v", err)
	}
	if e := r.last(9); e.Reason != viz.ReasonTxTooLong {
		t.Fatalf("oversize logged as %+v", e)
	}
	payload := []byte("hello, wire")
	if err := r.nic.Transmit(macA, EtherTypeIPv4, payload, 10); err != nil {
		t.Fatal(err)
	}
	if len(m.frames) != 1 {
		t.Fatalf("%d frames on the medium", len(m.frames))
	}
	f := Frame(m.frames[0])
	if len(f) != MinFrameLen {
		t.Fatalf("frame is %d bytes, want padded to %d", len(f), MinFrameLen)
	}
	if f.Dst() != macA || f.Src() != macB || f.EtherType() != EtherTypeIPv4 || !bytes.HasPrefix(f.Payload(), payload) {
		t.Fatalf("bad frame % x", f)
	}
	if f.FCS() != f.ComputeFCS() {
		t.Fatal("FCS wrong")
	}
	// The CRC-32 residue: a receiver running the CRC register over the
	// frame and its FCS, sent least significant byte first, is left with
	// the constant 0xdebb20e3 (0x2144df1c once complemented). This checks
	// the byte order with a bit-by-bit CRC independent of ComputeFCS.
	if res := crcResidue(f); res != 0xdebb20e3 {
		t.Fatalf("CRC residue %#x: FCS byte order is not Ethernet's", res)
	}
	s := r.nic.Stats()
	if s.TxPackets != 1 || s.TxBytes != 64 || s.TxDropped != 1 || s.TxCarrierErrors != 1 {
		t.Fatalf("stats %+v", s)
	}
	if s.String() == "" {
		t.Fatal("empty stats string")
	}
}

// Frames packetwalk emits decode cleanly with gopacket, code we did not
// write, FCS included.
func TestFrameDecodesWithGopacket(t *testing.T) {
	payload := bytes.Repeat([]byte{7}, 100)
	b := AppendFrame(nil, Broadcast, macA, EtherTypeARP, payload)
	// gopacket's Ethernet decoder does not know the FCS is there; strip it
	// as a capture without FCS would, and check the FCS separately.
	p := gopacket.NewPacket(b[:len(b)-FCSLen], layers.LayerTypeEthernet, gopacket.Default)
	eth, ok := p.Layer(layers.LayerTypeEthernet).(*layers.Ethernet)
	if !ok || p.ErrorLayer() != nil && p.ErrorLayer().LayerType() == layers.LayerTypeEthernet {
		t.Fatalf("gopacket could not decode: %v", p.ErrorLayer())
	}
	if eth.DstMAC.String() != Broadcast.String() || eth.SrcMAC.String() != macA.String() || eth.EthernetType != layers.EthernetTypeARP {
		t.Fatalf("decoded %+v", eth)
	}
	if got := binary.LittleEndian.Uint32(b[len(b)-4:]); got != Frame(b).ComputeFCS() {
		t.Fatal("FCS")
	}
}

func crcResidue(b []byte) uint32 {
	// Reflected CRC-32 without the final XOR, over data and FCS.
	crc := ^uint32(0)
	for _, c := range b {
		crc ^= uint32(c)
		for k := 0; k < 8; k++ {
			if crc&1 == 1 {
				crc = crc>>1 ^ 0xedb88320
			} else {
				crc >>= 1
			}
		}
	}
	return crc
}

func TestParseMAC(t *testing.T) {
	m, err := ParseMAC("02:00:5E:10:00:ff")
	if err != nil || m != (MAC{2, 0, 0x5e, 0x10, 0, 0xff}) || m.String() != "02:00:5e:10:00:ff" {
		t.Fatalf("%v %v", m, err)
	}
	for _, bad := range []string{"", "02:00:5e:10:00", "02:00:5e:10:00:fg", "02.00.5e.10.00.ff", "02:00:5e:10:00:ff:"} {
		if _, err := ParseMAC(bad); err == nil {
			t.Errorf("ParseMAC(%q) accepted", bad)
		}
	}
}

// BenchmarkReceiveLogOff is one frame through the adapter and driver to the
// protocol, with nobody listening: the hot path allocates nothing.
func BenchmarkReceiveLogOff(b *testing.B) {
	c := clock.NewVirtual()
	n := New(Config{MAC: macB, Clock: c, Recorder: viz.NewLog(c).Recorder("server")})
	n.Register(EtherTypeIPv4, discard{})
	f := frameTo(macB, EtherTypeIPv4, 1400)
	b.SetBytes(int64(len(f)))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		n.Arrive(f, uint64(i))
		c.Run()
	}
}

type discard struct{}

func (discard) Receive(RxFrame) {}
