package wire

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"strconv"
	"sync"

	"github.com/packetwalk/packetwalk/arp"
	"github.com/packetwalk/packetwalk/clock"
	"github.com/packetwalk/packetwalk/nic"
	"github.com/packetwalk/packetwalk/viz"
)

// A TUN or TAP device is the kernel's end of a point-to-point link into this
// process: what the kernel routes into the device, a read returns; what
// this process writes, the kernel receives as if it had come off a wire.
//
//	TUN  carries IP packets, no link layer at all. The simulated PHY frames
//	     each packet it reads (Ethernet header with the kernel side's fixed
//	     MAC and the NIC's, EtherType, FCS), so the NIC's walk (FCS, MAC
//	     filter, ring, driver) is the same as on the simulated wire; on the
//	     way out it strips header and FCS again. With no link layer there
//	     is nobody to answer the NIC's ARP requests, so the medium answers
//	     them itself, with the kernel side's MAC (as a point-to-point link
//	     would need no ARP at all).
//	TAP  carries Ethernet frames without FCS: the kernel does its own ARP.
//	     The PHY appends the FCS to each frame it reads (padding runts to
//	     the 60-byte minimum first) and strips it from each frame it writes.
//
// Reads happen on a goroutine of the medium's own, which never touches
// protocol state: it queues each packet for the host's event loop and, when
// the queue was empty, posts one drain through the clock's AfterFunc(0,
// ...); everything else (framing, logging, the NIC's Arrive) runs there.
//
// Costs, per packet: the packet is read into a recycled buffer with room
// for the Ethernet header in front and padding and FCS behind, so the PHY
// frames it where it lies, with no copy and no allocation; the loop is
// woken once per batch, not once per packet, and takes up to
// DeviceConfig.DrainBatch packets per event. The NIC and the device link
// copy what they keep (the RX ring, the wire's delivery), so the buffer
// goes back to the device's free list when Arrive returns. The free list is the device's own, not a
// sync.Pool: a pool is emptied at every garbage collection, and a new
// 64 KiB buffer costs more than the copy it saves.

// DeviceKind says what a device carries.
type DeviceKind uint8

const (
	TUN DeviceKind = iota + 1 // IP packets
	TAP                       // Ethernet frames without FCS
)

func (k DeviceKind) String() string {
	switch k {
	case TUN:
		return "TUN"
	case TAP:
		return "TAP"
	}
	return fmt.Sprintf("DeviceKind(%d)", uint8(k))
}

// DefaultKernelMAC is the MAC address the simulated PHY gives the kernel's
// side of a TUN device, which has none: frames from the kernel carry it as
// their source, and the medium's ARP answers name it. It is the simulated
// client's address (stack.MAC(1)), so a TUN trace reads like a simulated one.
var DefaultKernelMAC = nic.MAC{0x02, 0, 0, 0, 0, 0x01}

// DefaultDeviceBacklog is how many packets read from a device may wait for
// the event loop at once. When the loop falls behind, the reader stops
// reading and the kernel's own queue (txqueuelen) fills and drops, as a
// real link's would.
const DefaultDeviceBacklog = 256

// maxDevicePacket is the read buffer: the largest packet a TUN or TAP
// device can hand over (an IPv4 datagram is at most 65,535 bytes; a TAP
// frame adds its header).
const maxDevicePacket = 65535 + nic.HeaderLen

// DefaultDeviceDrainBatch is how many queued packets one drain hands to
// the port before it lets other events of the loop run: half the NIC
// driver's default budget. Between two drains the driver runs once (its
// interrupt is due as soon as the first frame landed in the RX ring, and
// the loop's clock follows the wall clock, so it comes before the next
// drain), taking up to its budget off the ring; a drain must not add more
// than that, or a burst the kernel sends at full speed fills the ring a
// little more at every drain until it overflows (ring_full). Half leaves
// room for a device link that duplicates frames: even with every frame
// duplicated, a drain adds no more than one run of the driver takes.
const DefaultDeviceDrainBatch = nic.DefaultDriverBudget / 2

// devicePacket is one packet read, waiting for the loop: buf has
// HeaderLen bytes of headroom (a TUN packet is copied after it), and room
// behind for padding and the FCS.
type devicePacket struct {
	buf []byte
	off int // where the bytes read start in buf
	n   int // bytes read
}

func (p *devicePacket) data() []byte { return p.buf[p.off : p.off+p.n] }

// devicePacketSize is the least a queued packet's buffer holds: a packet
// of a 1500-byte MTU with its headroom and tail. The reader reads into a
// buffer of its own that fits any packet (maxDevicePacket) and copies
// what it read into a queued packet of about its size: Backlog buffers of
// 64 KiB each, for packets of at most an MTU, were most of a server's
// heap once a flood had filled the queue, and the heap the garbage
// collector lets grow is twice what is live.
const devicePacketSize = 2048

// newDevicePacket returns a packet whose buffer holds n bytes read after
// off bytes of headroom.
func newDevicePacket(off, n int) *devicePacket {
	return &devicePacket{buf: make([]byte, max(devicePacketSize, off+n+nic.MinFrameLen+nic.FCSLen))}
}

// fits reports whether p's buffer holds n bytes after off.
func (p *devicePacket) fits(off, n int) bool {
	return len(p.buf) >= off+n+nic.MinFrameLen+nic.FCSLen
}

// DeviceConfig describes a TUN or TAP medium.
type DeviceConfig struct {
	Kind DeviceKind
	// Name is the device's name (tun0), the "host" of the medium's phy steps.
	Name string
	// KernelMAC is the kernel side's MAC on a TUN device; zero means
	// DefaultKernelMAC. A TAP device's kernel side has its own MAC.
	KernelMAC nic.MAC
	// Backlog bounds the packets waiting for the loop; 0 means
	// DefaultDeviceBacklog.
	Backlog int
	// DrainBatch is how many waiting packets the loop hands to the NIC
	// per event; 0 means DefaultDeviceDrainBatch. More than the NIC's
	// driver budget lets a burst overflow its RX ring (ring_full).
	DrainBatch int

	// Clock is the host's loop clock: posts reach the loop through its
	// AfterFunc, which must be safe to call from any goroutine.
	Clock clock.Clock
	// Log receives the medium's phy steps; nil logs nothing.
	Log *viz.Log
}

// DeviceStats counts what a device medium did.
type DeviceStats struct {
	Read, Written uint64 // packets (TUN) or frames (TAP)
	ARPAnswered   uint64 // ARP requests the TUN medium answered itself
	NotCarried    uint64 // frames a TUN cannot carry (not IPv4, or ARP that is not a request)
	WriteErrors   uint64
}

// Device is a nic.Medium on a TUN or TAP device. It has one port, the NIC
// plugged into it with Attach (stack.Host.AddInterface does that).
type Device struct {
	kind      DeviceKind
	name      string
	kernelMAC nic.MAC

	dev        io.ReadWriteCloser
	clock      clock.Clock
	rec        *viz.Recorder
	sem        chan struct{}
	drainBatch int

	port nic.Port // set before Start; read on the loop

	// Owned by the loop.
	out   []byte
	stats DeviceStats
	batch []*devicePacket // the packets one drain hands on

	// The reader's queue for the loop, guarded by mu.
	mu           sync.Mutex
	queue        []*devicePacket
	free         []*devicePacket // buffers handed back by drains
	drainPending bool            // a drain is posted and has not taken the last packet
	drainFunc    func()          // d.drain, bound once
	drainTimer   clock.Timer     // the reader's last drain post, re-armed (clock.Rearm)

	closeOnce sync.Once
	closing   chan struct{} // closed by Close: a reader waiting for backlog room stops
	done      chan struct{}
	readErr   error // set by the reader before done closes
}

// NewDevice returns a medium on dev, which reads and writes one packet (or
// frame) per call, as a TUN or TAP file descriptor does. Call Attach, then
// Start.
func NewDevice(dev io.ReadWriteCloser, cfg DeviceConfig) (*Device, error) {
	if cfg.Kind != TUN && cfg.Kind != TAP {
		return nil, fmt.Errorf("device %q: kind %v: want TUN or TAP", cfg.Name, cfg.Kind)
	}
	if cfg.Clock == nil && cfg.Log == nil {
		return nil, fmt.Errorf("device %q: needs a clock (DeviceConfig.Clock, or a Log to take it from)", cfg.Name)
	}
	if cfg.Clock == nil {
		cfg.Clock = cfg.Log.Clock()
	}
	if cfg.KernelMAC == (nic.MAC{}) {
		cfg.KernelMAC = DefaultKernelMAC
	}
	if cfg.Backlog <= 0 {
		cfg.Backlog = DefaultDeviceBacklog
	}
	if cfg.DrainBatch <= 0 {
		cfg.DrainBatch = DefaultDeviceDrainBatch
	}
	if cfg.Name == "" {
		cfg.Name = cfg.Kind.String()
	}
	d := &Device{kind: cfg.Kind, name: cfg.Name, kernelMAC: cfg.KernelMAC, dev: dev, clock: cfg.Clock, drainBatch: cfg.DrainBatch,
		sem: make(chan struct{}, cfg.Backlog), closing: make(chan struct{}), done: make(chan struct{})}
	d.drainFunc = d.drain
	if cfg.Log != nil {
		d.rec = cfg.Log.Recorder(cfg.Name)
	}
	return d, nil
}

// Kind returns what the device carries.
func (d *Device) Kind() DeviceKind { return d.kind }

// Name returns the device's name.
func (d *Device) Name() string { return d.name }

// KernelMAC returns the MAC address the kernel side has in the frames.
func (d *Device) KernelMAC() nic.MAC { return d.kernelMAC }

// Attach plugs the NIC's PHY into the device. Call it before Start.
func (d *Device) Attach(p nic.Port) { d.port = p }

// Stats returns the counters; call it on the loop (or after Close).
func (d *Device) Stats() DeviceStats { return d.stats }

// Start starts reading the device.
func (d *Device) Start() { go d.read() }

// Done is closed when the reader has stopped (after Close, or a read error).
func (d *Device) Done() <-chan struct{} { return d.done }

// Err returns the read error that stopped the reader, nil after Close.
func (d *Device) Err() error {
	select {
	case <-d.done:
		return d.readErr
	default:
		return nil
	}
}

// Close closes the device (which ends the reader's read) and waits for the
// reader to stop if it was started.
func (d *Device) Close() error {
	var err error
	d.closeOnce.Do(func() {
		close(d.closing)
		err = d.dev.Close()
	})
	return err
}

// read is the reader goroutine: read, copy what was read into a pooled
// packet of its size, queue it, and wake the loop if the queue was empty.
func (d *Device) read() {
	defer close(d.done)
	off := 0
	if d.kind == TUN {
		off = nic.HeaderLen // headroom: the PHY puts the Ethernet header there
	}
	in := make([]byte, maxDevicePacket)
	for {
		n, err := d.dev.Read(in)
		if err != nil {
			if !errors.Is(err, io.EOF) && !isClosedError(err) {
				d.readErr = err
			}
			return
		}
		if n == 0 {
			continue
		}
		// Wait while the loop has Backlog packets to go; a loop that has
		// stopped never makes room, so Close ends the wait (the packet
		// read is dropped with the device, as the kernel's queue is).
		select {
		case d.sem <- struct{}{}:
		case <-d.closing:
			return
		}
		d.mu.Lock()
		var p *devicePacket
		if k := len(d.free); k > 0 {
			p, d.free[k-1] = d.free[k-1], nil
			d.free = d.free[:k-1]
		}
		d.mu.Unlock()
		if p == nil || !p.fits(off, n) {
			p = newDevicePacket(off, n) // one too small goes to the collector
		}
		p.off, p.n = off, copy(p.buf[off:], in[:n])
		d.mu.Lock()
		d.queue = append(d.queue, p)
		post := !d.drainPending
		d.drainPending = true
		d.mu.Unlock()
		if post {
			clock.Rearm(d.clock, &d.drainTimer, 0, d.drainFunc)
		}
	}
}

// drain runs on the loop: it hands up to drainBatch queued packets to
// the port, and posts itself again if more are waiting.
func (d *Device) drain() {
	d.mu.Lock()
	k := min(len(d.queue), d.drainBatch)
	d.batch = append(d.batch[:0], d.queue[:k]...)
	rest := copy(d.queue, d.queue[k:])
	clear(d.queue[rest:])
	d.queue = d.queue[:rest]
	again := rest > 0
	d.drainPending = again
	d.mu.Unlock()
	for _, p := range d.batch {
		<-d.sem
		d.arrive(p)
	}
	d.mu.Lock()
	d.free = append(d.free, d.batch...)
	d.mu.Unlock()
	clear(d.batch)
	if again {
		d.clock.AfterFunc(0, d.drainFunc)
	}
}

func isClosedError(err error) bool {
	return errors.Is(err, os.ErrClosed) || errors.Is(err, io.ErrClosedPipe)
}

// arrive runs on the loop: the PHY turns what the device read into the
// bits of a frame, in place in p's buffer, and hands them to the NIC.
func (d *Device) arrive(p *devicePacket) {
	pkt := p.data()
	d.stats.Read++
	if d.port == nil {
		return
	}
	rec := d.rec
	id := rec.NewFrameID()
	var bits []byte
	if d.kind == TAP {
		// The frame as the kernel sent it, minus the FCS that its
		// (virtual) adapter never computed: the PHY adds one, padding a
		// runt to the minimum first as a real adapter does.
		if len(pkt) < nic.HeaderLen {
			if rec.On() {
				rec.Emit(viz.Event{Layer: viz.LayerPHY, Step: "frame", Verdict: viz.Drop, Reason: viz.ReasonRunt, Frame: id,
					Msg: fmt.Sprintf("%d bytes from %s are too short to be an Ethernet frame", len(pkt), d.name)})
			}
			return
		}
		// In place: the header stays, the payload is "copied" onto
		// itself, padding and FCS go behind it (buf has the room).
		f := nic.Frame(pkt)
		bits = nic.AppendFrame(p.buf[:0], f.Dst(), f.Src(), f.EtherType(), pkt[nic.HeaderLen:])
		if rec.On() {
			rec.Stepf(viz.Event{Layer: viz.LayerPHY, Step: "frame", Verdict: viz.Pass, Frame: id},
				[]viz.Field{viz.F("device", d.name), viz.F("kind", "TAP"), viz.Fv("len", viz.Int(len(pkt))),
					viz.Fv("src", viz.MAC(f.Src())), viz.Fv("dst", viz.MAC(f.Dst())), viz.Fv("ethertype", f.EtherType().LogArg())},
				"the kernel sent a %d-byte %s frame %s -> %s on %s; the PHY appends the FCS %#08x", viz.Int(len(pkt)), f.EtherType().LogArg(),
				viz.MAC(f.Src()), viz.MAC(f.Dst()), viz.Str(d.name), viz.U32(nic.Frame(bits).FCS()))
		}
	} else {
		// A TUN hands over an IP packet with no link layer: the PHY
		// frames it as if it had come from the kernel's side of an
		// Ethernet link, addressed to the NIC (or to everybody, for a
		// broadcast or multicast destination).
		// In place: the header goes into the headroom before the
		// packet, padding and FCS behind it.
		t, dst, what := d.classifyIP(pkt)
		bits = nic.AppendFrame(p.buf[:0], dst, d.kernelMAC, t, pkt)
		if rec.On() {
			rec.Stepf(viz.Event{Layer: viz.LayerPHY, Step: "frame", Verdict: viz.Pass, Frame: id},
				[]viz.Field{viz.F("device", d.name), viz.F("kind", "TUN"), viz.Fv("len", viz.Int(len(pkt))),
					viz.Fv("src", viz.MAC(d.kernelMAC)), viz.Fv("dst", viz.MAC(dst)), viz.Fv("ethertype", t.LogArg())},
				"the kernel sent a %d-byte %s on %s; the PHY frames it %s -> %s %s with FCS %#08x", viz.Int(len(pkt)), viz.Str(what), viz.Str(d.name), viz.MAC(d.kernelMAC), viz.MAC(dst), t.LogArg(),
				viz.U32(nic.Frame(bits).FCS()))
		}
	}
	d.port.Arrive(bits, id)
}

// classifyIP picks the EtherType and destination MAC for an IP packet read
// from a TUN device.
func (d *Device) classifyIP(pkt []byte) (nic.EtherType, nic.MAC, string) {
	dst := d.portMAC()
	if len(pkt) == 0 {
		return nic.EtherTypeIPv4, dst, "empty packet"
	}
	switch pkt[0] >> 4 {
	case 6:
		// IPv6 (router solicitations, MLD reports) is framed as what it
		// is; the NIC's driver has no protocol for it and says so.
		if len(pkt) >= 40 && pkt[24] == 0xff {
			return nic.EtherTypeIPv6, nic.MAC{0x33, 0x33, pkt[36], pkt[37], pkt[38], pkt[39]}, "IPv6 packet"
		}
		return nic.EtherTypeIPv6, dst, "IPv6 packet"
	case 4:
		if len(pkt) >= 20 {
			ip := netip.AddrFrom4([4]byte(pkt[16:20]))
			switch {
			case ip == netip.AddrFrom4([4]byte{255, 255, 255, 255}):
				return nic.EtherTypeIPv4, nic.Broadcast, "IPv4 broadcast packet"
			case ip.IsMulticast():
				// RFC 1112 §6.4: 01:00:5e and the group's low 23 bits.
				b := ip.As4()
				return nic.EtherTypeIPv4, nic.MAC{0x01, 0x00, 0x5e, b[1] & 0x7f, b[2], b[3]}, "IPv4 multicast packet"
			}
		}
		return nic.EtherTypeIPv4, dst, "IPv4 packet"
	}
	return nic.EtherTypeIPv4, dst, fmt.Sprintf("packet of IP version %d", pkt[0]>>4)
}

func (d *Device) portMAC() nic.MAC {
	if m, ok := d.port.(interface{ MAC() nic.MAC }); ok {
		return m.MAC()
	}
	return nic.MAC{}
}

// Transmit implements nic.Medium: the NIC's frame leaves through the device. It
// runs on the loop.
func (d *Device) Transmit(from nic.Port, bits []byte, id uint64) {
	rec := d.rec
	if len(bits) < nic.HeaderLen+nic.FCSLen {
		d.stats.NotCarried++
		if rec.On() {
			rec.Emit(viz.Event{Layer: viz.LayerPHY, Step: "tx", Verdict: viz.Drop, Reason: viz.ReasonRunt, Frame: id,
				Msg: fmt.Sprintf("%d bytes from %s are too short to be an Ethernet frame", len(bits), from.PortName())})
		}
		return
	}
	f := nic.Frame(bits)
	var out []byte
	if d.kind == TAP {
		// The kernel's TAP takes the frame without its FCS (and keeps
		// the padding, as a real adapter passes it up).
		out = bits[:len(bits)-nic.FCSLen]
		if rec.On() {
			rec.Stepf(viz.Event{Layer: viz.LayerPHY, Step: "unframe", Verdict: viz.Pass, Frame: id},
				[]viz.Field{viz.F("device", d.name), viz.F("kind", "TAP"), viz.Fv("len", viz.Int(len(out)))},
				"%s frame %s -> %s: FCS stripped, %d bytes written to %s", f.EtherType().LogArg(), viz.MAC(f.Src()), viz.MAC(f.Dst()),
				viz.Int(len(out)), viz.Str(d.name))
		}
	} else {
		switch f.EtherType() {
		case nic.EtherTypeARP:
			d.answerARP(from, f, id)
			return
		case nic.EtherTypeIPv4:
		default:
			d.stats.NotCarried++
			if rec.On() {
				rec.Emit(viz.Event{Layer: viz.LayerPHY, Step: "unframe", Verdict: viz.Drop, Reason: viz.ReasonNoLinkLayer, Frame: id,
					Msg:    fmt.Sprintf("%s carries IPv4 packets only, not EtherType %s", d.name, f.EtherType()),
					Fields: []viz.Field{viz.F("device", d.name), viz.F("ethertype", f.EtherType().String())}})
			}
			return
		}
		// Header, padding and FCS go: the packet is as long as its IPv4
		// total length says (the padding of a short frame is not part
		// of it).
		out = f.Payload()
		if len(out) >= 4 {
			if tl := int(binary.BigEndian.Uint16(out[2:4])); tl >= 20 && tl < len(out) {
				out = out[:tl]
			}
		}
		if rec.On() {
			rec.Stepf(viz.Event{Layer: viz.LayerPHY, Step: "unframe", Verdict: viz.Pass, Frame: id},
				[]viz.Field{viz.F("device", d.name), viz.F("kind", "TUN"), viz.Fv("len", viz.Int(len(out)))},
				"header, padding and FCS stripped: %d-byte IPv4 packet written to %s for the kernel", viz.Int(len(out)), viz.Str(d.name))
		}
	}
	if _, err := d.dev.Write(out); err != nil {
		d.stats.WriteErrors++
		if rec.On() {
			rec.Emit(viz.Event{Layer: viz.LayerPHY, Step: "write", Verdict: viz.Drop, Reason: viz.ReasonDeviceError, Frame: id,
				Msg: fmt.Sprintf("writing %d bytes to %s failed: %v", len(out), d.name, err)})
		}
		return
	}
	d.stats.Written++
}

// answerARP stands in for the kernel side of a TUN, which has no link layer
// and so no ARP: a request for any address but the asker's own is answered
// with the kernel side's MAC, because on a TUN everything the NIC sends
// reaches the kernel.
func (d *Device) answerARP(from nic.Port, f nic.Frame, id uint64) {
	rec := d.rec
	p := arp.Packet(f.Payload())
	if err := p.Check(); err != nil || p.Op() != arp.Request || p.IsGratuitous() || p.TargetIP() == p.SenderIP() {
		d.stats.NotCarried++
		if rec.On() {
			what := "this ARP packet"
			if err == nil {
				what = "ARP " + p.String()
			}
			rec.Emit(viz.Event{Layer: viz.LayerPHY, Step: "arp", Verdict: viz.Drop, Reason: viz.ReasonNoLinkLayer, Frame: id,
				Msg:    fmt.Sprintf("%s has no link layer: %s does not cross it, and only requests get an answer from the PHY", d.name, what),
				Fields: []viz.Field{viz.F("device", d.name)}})
		}
		return
	}
	d.stats.ARPAnswered++
	replyID := rec.NewFrameID()
	reply := arp.Append(nil, arp.Reply, d.kernelMAC, p.TargetIP(), p.SenderMAC(), p.SenderIP())
	bits := nic.AppendFrame(nil, p.SenderMAC(), d.kernelMAC, nic.EtherTypeARP, reply)
	if rec.On() {
		rec.Emit(viz.Event{Layer: viz.LayerPHY, Step: "arp", Verdict: viz.Send, Frame: id,
			Msg: fmt.Sprintf("%s has no link layer, so the PHY answers the ARP request itself: %s is at %s (the kernel side), as frame %d",
				d.name, p.TargetIP(), d.kernelMAC, replyID),
			Fields: []viz.Field{viz.F("device", d.name), viz.F("target", p.TargetIP().String()), viz.F("mac", d.kernelMAC.String()),
				viz.F("reply", strconv.FormatUint(replyID, 10))}})
	}
	port := from
	d.clock.AfterFunc(0, func() { port.Arrive(bits, replyID) })
}
