package wire

import (
	"net/netip"
	"testing"
	"time"

	"github.com/packetwalk/packetwalk/arp"
	"github.com/packetwalk/packetwalk/clock"
	"github.com/packetwalk/packetwalk/nic"
	"github.com/packetwalk/packetwalk/viz"
)

// A wire between a TUN device and the NIC: its faults strike the kernel's
// frames on their way in and the NIC's on their way out, and the TUN's own
// ARP answers cross it too.
func TestDeviceLinkImpairs(t *testing.T) {
	clock := clock.NewVirtual()
	log := viz.NewLog(clock)
	mem := &viz.MemorySink{}
	log.AddSink(mem)
	fd := newFakeDevice()
	d, err := NewDevice(fd, DeviceConfig{Kind: TUN, Name: "pw0", Log: log})
	if err != nil {
		t.Fatal(err)
	}
	// Frame 1 (the kernel's first packet) is lost; frame 3 (the NIC's
	// first) is corrupted.
	link, err := NewDeviceLink(d, Config{Latency: time.Nanosecond, Log: log,
		Faults: []Fault{{Frame: 1, Kind: FaultDrop}, {Frame: 3, Kind: FaultCorrupt, Bit: 30 * 8}}})
	if err != nil {
		t.Fatal(err)
	}
	port := &recordingPort{mac: nic.MAC{2, 0, 0, 0, 0, 2}}
	link.Attach(port)
	d.Start()
	t.Cleanup(func() { d.Close(); <-d.Done() })

	fd.in <- ipv4Packet(netip.MustParseAddr("10.9.0.2"), 8)
	fd.in <- ipv4Packet(netip.MustParseAddr("10.9.0.2"), 9)
	waitPosted(t, clock, port, 1)
	if port.ids[0] != 2 || nic.Frame(port.frames[0]).Dst() != port.mac {
		t.Fatalf("the NIC got frame %d for %s; want frame 2 (frame 1 lost on the wire) for the NIC's MAC", port.ids[0], nic.Frame(port.frames[0]).Dst())
	}

	// The NIC's frame 3 crosses the wire with a bit flipped and leaves
	// through the device anyway: the FCS is stripped unchecked, as the
	// kernel side of a TUN has no link layer to check it.
	out := nic.AppendFrame(nil, DefaultKernelMAC, port.mac, nic.EtherTypeIPv4, ipv4Packet(netip.MustParseAddr("10.9.0.1"), 30))
	rec := log.Recorder("server")
	link.Transmit(port, out, rec.NewFrameID()) // 3
	// An ARP request crosses the wire; the TUN's answer crosses it back.
	req := arp.Append(nil, arp.Request, port.mac, netip.MustParseAddr("10.9.0.2"), nic.MAC{}, netip.MustParseAddr("10.9.0.1"))
	link.Transmit(port, nic.AppendFrame(nil, nic.Broadcast, port.mac, nic.EtherTypeARP, req), rec.NewFrameID())
	waitPosted(t, clock, port, 2)
	// Bit 240 is in frame byte 30, the IP packet's byte 16: the first
	// byte of the destination address, 10, becomes 11.
	if w := fd.writes(); len(w) != 1 || len(w[0]) != 50 || w[0][16] != 11 {
		t.Errorf("the device wrote %x; want one 50-byte packet to 11.9.0.1", w)
	}
	if a := arp.Packet(nic.Frame(port.frames[1]).Payload()); a.Op() != arp.Reply || a.SenderMAC() != DefaultKernelMAC {
		t.Errorf("the NIC got %s; want the TUN's ARP reply", a)
	}

	var lost, corrupted bool
	for _, e := range mem.Events() {
		lost = lost || (e.Step == "fault" && e.Reason == viz.ReasonWireFault && e.Frame == 1 && e.Host == "pw0-wire")
		corrupted = corrupted || (e.Step == "fault" && e.Frame == 3 && e.Verdict == "")
	}
	if !lost || !corrupted {
		t.Errorf("the log shows frame 1 lost %v, frame 3 corrupted %v; want both on pw0-wire", lost, corrupted)
	}
	if s := link.Wire().Stats(); s.Faults != 2 {
		t.Errorf("wire stats %v: want 2 faults", s)
	}
}
