package wire

import (
	"bytes"
	"io"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/packetwalk/packetwalk/arp"
	"github.com/packetwalk/packetwalk/clock"
	"github.com/packetwalk/packetwalk/nic"
	"github.com/packetwalk/packetwalk/viz"
)

// fakeDevice is a TUN or TAP file descriptor in memory: the test feeds
// what the kernel sends into in, and reads what the medium wrote.
type fakeDevice struct {
	in      chan []byte
	mu      sync.Mutex
	written [][]byte
	closed  chan struct{}
	once    sync.Once
}

func newFakeDevice() *fakeDevice {
	return &fakeDevice{in: make(chan []byte, 16), closed: make(chan struct{})}
}

func (d *fakeDevice) Read(p []byte) (int, error) {
	select {
	case b := <-d.in:
		return copy(p, b), nil
	case <-d.closed:
		return 0, io.EOF
	}
}

func (d *fakeDevice) Write(p []byte) (int, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.written = append(d.written, bytes.Clone(p))
	return len(p), nil
}

func (d *fakeDevice) Close() error { d.once.Do(func() { close(d.closed) }); return nil }

func (d *fakeDevice) writes() [][]byte {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.written
}

// recordingPort is a nic.Port that keeps the frames it gets.
type recordingPort struct {
	mac    nic.MAC
	frames [][]byte
	ids    []uint64
}

func (p *recordingPort) Arrive(bits []byte, id uint64) {
	p.frames = append(p.frames, append([]byte(nil), bits...)) // bits is only valid during the call
	p.ids = append(p.ids, id)
}
func (p *recordingPort) PortName() string { return "server/eth0" }
func (p *recordingPort) MAC() nic.MAC     { return p.mac }

// ipv4Packet is a minimal IPv4 header (no checksum needed by the medium)
// with n bytes of payload, to dst.
func ipv4Packet(dst netip.Addr, n int) []byte {
	p := make([]byte, 20+n)
	p[0] = 0x45
	p[2], p[3] = byte((20+n)>>8), byte(20+n)
	copy(p[16:20], dst.AsSlice())
	return p
}

func newTestDevice(t *testing.T, kind DeviceKind) (*Device, *fakeDevice, *recordingPort, *clock.Virtual, *viz.MemorySink) {
	t.Helper()
	clock := clock.NewVirtual()
	log := viz.NewLog(clock)
	mem := &viz.MemorySink{}
	log.AddSink(mem)
	fd := newFakeDevice()
	d, err := NewDevice(fd, DeviceConfig{Kind: kind, Name: "pw0", Log: log})
	if err != nil {
		t.Fatal(err)
	}
	port := &recordingPort{mac: nic.MAC{2, 0, 0, 0, 0, 2}}
	d.Attach(port)
	d.Start()
	t.Cleanup(func() { d.Close(); <-d.Done() })
	return d, fd, port, clock, mem
}

// waitPosted runs the clock until n frames reached the port.
func waitPosted(t *testing.T, clock *clock.Virtual, port *recordingPort, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for len(port.frames) < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d frames arrived, want %d", len(port.frames), n)
		}
		select {
		case <-clock.Notify():
		case <-time.After(10 * time.Millisecond):
		}
		clock.Run()
	}
}

func TestTUNFramesKernelPackets(t *testing.T) {
	_, fd, port, clock, mem := newTestDevice(t, TUN)
	pkt := ipv4Packet(netip.MustParseAddr("10.9.0.2"), 8) // 28 bytes: padded to the minimum
	fd.in <- pkt
	fd.in <- ipv4Packet(netip.MustParseAddr("255.255.255.255"), 100)
	waitPosted(t, clock, port, 2)

	f := nic.Frame(port.frames[0])
	if len(f) != nic.MinFrameLen || f.Src() != DefaultKernelMAC || f.Dst() != port.mac || f.EtherType() != nic.EtherTypeIPv4 || f.FCS() != f.ComputeFCS() {
		t.Fatalf("frame %x: want %d bytes %s -> %s IPv4 with a good FCS", []byte(f), nic.MinFrameLen, DefaultKernelMAC, port.mac)
	}
	if !bytes.Equal(f.Payload()[:len(pkt)], pkt) {
		t.Fatalf("payload %x, want the packet %x", f.Payload(), pkt)
	}
	if b := nic.Frame(port.frames[1]); b.Dst() != nic.Broadcast {
		t.Fatalf("a limited broadcast went to %s, want %s", b.Dst(), nic.Broadcast)
	}
	if !hasStep(mem, viz.LayerPHY, "frame", viz.Pass) {
		t.Fatal("no phy frame step logged")
	}
}

func TestTUNUnframesAndAnswersARP(t *testing.T) {
	d, fd, port, clock, mem := newTestDevice(t, TUN)
	nicMAC := port.mac

	// An IPv4 frame: header, padding and FCS go; the packet is written.
	pkt := ipv4Packet(netip.MustParseAddr("10.9.0.1"), 8)
	d.Transmit(port, nic.AppendFrame(nil, DefaultKernelMAC, nicMAC, nic.EtherTypeIPv4, pkt), 7)
	if w := fd.writes(); len(w) != 1 || !bytes.Equal(w[0], pkt) {
		t.Fatalf("written %x, want exactly the packet %x", w, pkt)
	}

	// An ARP request for the kernel side: answered by the medium.
	req := arp.Append(nil, arp.Request, nicMAC, netip.MustParseAddr("10.9.0.2"), nic.MAC{}, netip.MustParseAddr("10.9.0.1"))
	d.Transmit(port, nic.AppendFrame(nil, nic.Broadcast, nicMAC, nic.EtherTypeARP, req), 8)
	clock.Run()
	if len(port.frames) != 1 {
		t.Fatalf("%d frames came back for an ARP request, want the reply", len(port.frames))
	}
	f := nic.Frame(port.frames[0])
	p := arp.Packet(f.Payload())
	if f.Dst() != nicMAC || f.EtherType() != nic.EtherTypeARP || p.Check() != nil || p.Op() != arp.Reply ||
		p.SenderMAC() != DefaultKernelMAC || p.SenderIP() != netip.MustParseAddr("10.9.0.1") || p.TargetIP() != netip.MustParseAddr("10.9.0.2") {
		t.Fatalf("ARP answer %v: want 10.9.0.1 is at %s, to %s", p, DefaultKernelMAC, nicMAC)
	}
	if len(fd.writes()) != 1 {
		t.Fatal("the ARP request was written to the TUN device, which has no link layer")
	}

	// A gratuitous ARP and an IPv6 frame cannot cross: named drops.
	grat := arp.Append(nil, arp.Request, nicMAC, netip.MustParseAddr("10.9.0.2"), nic.MAC{}, netip.MustParseAddr("10.9.0.2"))
	d.Transmit(port, nic.AppendFrame(nil, nic.Broadcast, nicMAC, nic.EtherTypeARP, grat), 9)
	d.Transmit(port, nic.AppendFrame(nil, nic.Broadcast, nicMAC, nic.EtherTypeIPv6, make([]byte, 40)), 10)
	clock.Run()
	drops := 0
	for _, e := range mem.Events() {
		if e.Verdict == viz.Drop && e.Reason == viz.ReasonNoLinkLayer {
			drops++
		}
	}
	if drops != 2 || len(port.frames) != 1 || len(fd.writes()) != 1 {
		t.Fatalf("%d no_link_layer drops, %d frames back, %d writes; want 2, 1, 1", drops, len(port.frames), len(fd.writes()))
	}
}

func TestTAPAddsAndStripsFCS(t *testing.T) {
	d, fd, port, clock, _ := newTestDevice(t, TAP)
	kernel := nic.MAC{0x52, 0x54, 0, 0, 0, 9}
	frame := nic.AppendFrame(nil, port.mac, kernel, nic.EtherTypeIPv4, ipv4Packet(netip.MustParseAddr("10.9.0.2"), 100))
	noFCS := frame[:len(frame)-nic.FCSLen]
	fd.in <- noFCS
	waitPosted(t, clock, port, 1)
	if !bytes.Equal(port.frames[0], frame) {
		t.Fatalf("TAP frame %x, want %x (the kernel's frame with its FCS)", port.frames[0], frame)
	}
	d.Transmit(port, frame, 3)
	if w := fd.writes(); len(w) != 1 || !bytes.Equal(w[0], noFCS) {
		t.Fatalf("written %x, want the frame without FCS", w)
	}
}

func hasStep(m *viz.MemorySink, l viz.Layer, step string, v viz.Verdict) bool {
	for _, e := range m.Events() {
		if e.Layer == l && e.Step == step && e.Verdict == v {
			return true
		}
	}
	return false
}

// Closing a device whose backlog is full (the loop stopped while the kernel
// still sent) stops its reader: the host's Run waits for it.
func TestDeviceCloseWithFullBacklog(t *testing.T) {
	fd := newFakeDevice()
	d, err := NewDevice(fd, DeviceConfig{Kind: TUN, Name: "pw0", Clock: clock.NewVirtual(), Backlog: 2})
	if err != nil {
		t.Fatal(err)
	}
	d.Attach(&recordingPort{mac: nic.MAC{2, 0, 0, 0, 0, 2}})
	d.Start()
	for range 4 { // two wait in the backlog, one in the reader's hands, one in the device
		fd.in <- ipv4Packet(netip.MustParseAddr("10.9.0.2"), 8)
	}
	for len(fd.in) > 1 {
		time.Sleep(time.Millisecond)
	}
	d.Close()
	select {
	case <-d.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("the reader did not stop within 5 s of Close while the backlog was full")
	}
	if err := d.Err(); err != nil {
		t.Fatalf("Err after Close = %v, want nil", err)
	}
}

// The packets waiting for the loop hold buffers of about their size, not
// of the largest packet a device can hand over: a flood keeps Backlog of
// them, and 64 KiB each was most of a server's heap. A large packet is
// still read whole.
func TestDevicePacketBuffersFitThePackets(t *testing.T) {
	d, fd, port, clock, _ := newTestDevice(t, TUN)
	const small = 100
	big := ipv4Packet(netip.MustParseAddr("10.9.0.2"), 9000)
	for i := range len(big) - 20 {
		big[20+i] = byte(i)
	}
	go func() {
		for i := 0; i < 50; i++ {
			fd.in <- ipv4Packet(netip.MustParseAddr("10.9.0.2"), small)
		}
		fd.in <- big
	}()
	waitPosted(t, clock, port, 51)
	if got := nic.Frame(port.frames[50]).Payload(); !bytes.Equal(got[:len(big)], big) {
		t.Fatalf("the 9,020-byte packet arrived as %d bytes, not whole", len(got))
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	larger := 0
	for _, p := range d.free {
		if len(p.buf) > devicePacketSize {
			larger++
		}
	}
	if larger > 1 {
		t.Errorf("%d of the %d pooled packet buffers are larger than %d bytes; want only the large packet's", larger, len(d.free), devicePacketSize)
	}
}
