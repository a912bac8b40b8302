package gvisorhost

import (
	"fmt"
	mathbits "math/bits"

	"gvisor.dev/gvisor/pkg/buffer"
	"gvisor.dev/gvisor/pkg/tcpip/stack"

	"github.com/packetwalk/packetwalk/nic"
	"github.com/packetwalk/packetwalk/viz"
)

// Arrive implements nic.Port: the medium delivers a frame's bits, on the
// event loop. This is what a real adapter does in hardware before gVisor's
// driver sees a frame, with the same steps and drops as packetwalk's NIC
// (nic/receive.go): size, FCS, destination MAC. There is no RX ring or
// interrupt to show: the frame goes straight to gVisor, whose own walk is
// not traced.
func (h *Host) Arrive(bits []byte, id uint64) {
	h.mu.Lock()
	closed := h.closed
	h.stats.RxFrames++
	h.stats.RxBytes += uint64(len(bits))
	h.mu.Unlock()

	if closed {
		// The stack is gone: like an adapter that is switched off, it
		// neither captures nor answers.
		h.dropRx(id, "rx", viz.ReasonNoCarrier, fmt.Sprintf("%s is closed: its gVisor stack was destroyed", h.name))
		return
	}

	frame := nic.Frame(bits)
	// Decide first, log afterwards, as the NIC does: the capture carries
	// the FCS verdict (the pcapng CRC-error flag), and the trail a capture
	// shows begins with the capture itself.
	sizeOK := len(frame) >= nic.MinFrameLen && len(frame) <= nic.MaxFrameLen(h.mtu)
	fcsOK := false
	var got, want uint32
	if len(frame) >= nic.HeaderLen+nic.FCSLen {
		got, want = frame.FCS(), frame.ComputeFCS()
		fcsOK = got == want
	}
	if h.rec.On() {
		h.rec.Capture(viz.CapturedFrame{NIC: nicName, MAC: h.mac.String(), Dir: viz.Inbound, Frame: id, Data: frame, FCSError: !fcsOK})
		h.rec.Emit(viz.Event{Layer: viz.LayerPHY, Step: "rx", Verdict: viz.Pass, Frame: id,
			Msg:    fmt.Sprintf("%s: signal decoded into %d bytes", nicName, len(frame)),
			Fields: []viz.Field{viz.F("nic", nicName), viz.F("len", fmt.Sprint(len(frame)))}})
	}

	// Size: runts are collision debris; giants exceed what the MTU allows.
	if !sizeOK {
		if len(frame) < nic.MinFrameLen {
			h.dropRx(id, "size", viz.ReasonRunt, fmt.Sprintf("%d bytes is shorter than the %d-byte minimum", len(frame), nic.MinFrameLen))
		} else {
			h.dropRx(id, "size", viz.ReasonFrameTooLong, fmt.Sprintf("%d bytes is longer than %d (MTU %d + header + FCS)", len(frame), nic.MaxFrameLen(h.mtu), h.mtu))
		}
		return
	}

	// FCS: gVisor never sees an FCS (its link endpoints carry frames
	// without one), so this check is the only one a damaged frame meets
	// before IP's header checksum, which misses most damage to payloads.
	if !fcsOK {
		h.dropRx(id, "fcs", viz.ReasonFCSMismatch, fmt.Sprintf("FCS %#08x != computed %#08x", got, want))
		return
	}
	if h.rec.On() {
		h.rec.Emit(viz.Event{Layer: viz.LayerNIC, Step: "fcs", Verdict: viz.Pass, Frame: id,
			Msg: fmt.Sprintf("FCS ok (%#08x; sent least significant byte first, so Wireshark shows %#08x)", got, mathbits.ReverseBytes32(got)), Fields: []viz.Field{viz.F("fcs", fmt.Sprintf("%#08x", got))}})
	}

	// Destination MAC: gVisor's ethernet endpoint would accept anything
	// ("the ethernet hardware filters frames"), so the filter is ours. The
	// host joins no multicast group and is never promiscuous.
	dst := frame.Dst()
	var class nic.Class
	switch {
	case dst == h.mac:
		class = nic.ClassHost
	case dst.IsBroadcast():
		class = nic.ClassBroadcast
	default:
		h.dropRx(id, "mac", viz.ReasonMACNotMine, fmt.Sprintf("destination %s is not %s or broadcast", dst, h.mac))
		return
	}
	if h.rec.On() {
		h.rec.Emit(viz.Event{Layer: viz.LayerNIC, Step: "mac", Verdict: viz.Pass, Frame: id,
			Msg: fmt.Sprintf("dst MAC %s: %s", dst, class), Fields: []viz.Field{viz.F("dst", dst.String()), viz.F("class", class.String())}})
	}

	// Driver: gVisor's stack here has IPv4 and ARP only. It would drop
	// anything else silently (a counter, no reason), so we name the drop.
	t := frame.EtherType()
	if t != nic.EtherTypeIPv4 && t != nic.EtherTypeARP {
		h.dropRx(id, "driver", viz.ReasonUnknownEtherType, fmt.Sprintf("gVisor's stack has no protocol for EtherType %s", t))
		return
	}
	withoutFCS := frame[:len(frame)-nic.FCSLen]
	if h.rec.On() {
		h.rec.Emit(viz.Event{Layer: viz.LayerNIC, Step: "driver", Verdict: viz.Deliver, Frame: id,
			Msg:    fmt.Sprintf("%s: handed to gVisor's netstack (its own steps are not traced)", summarize(withoutFCS)),
			Fields: []viz.Field{viz.F("ethertype", fmt.Sprintf("0x%04x", uint16(t))), viz.F("stack", "gvisor")}})
	}
	h.mu.Lock()
	h.stats.RxDelivered++
	h.mu.Unlock()

	// The ethernet wrapper parses the header itself, so the packet starts
	// at the destination MAC and the protocol number is left for it to
	// read (0 here). Padding stays: IPv4 trims to its total length, ARP
	// ignores it. MakeWithData copies the bytes into gVisor's own pooled
	// memory, which it may keep after we return (a TCP segment waiting
	// for a processor goroutine).
	pkt := stack.NewPacketBuffer(stack.PacketBufferOptions{Payload: buffer.MakeWithData(withoutFCS)})
	h.link.InjectInbound(0, pkt)
	pkt.DecRef()
	h.rec.EndWalk(id)
}

// dropRx counts and logs a receive drop and ends the frame's walk here.
func (h *Host) dropRx(id uint64, step string, reason viz.Reason, msg string) {
	h.mu.Lock()
	h.stats.Drops[reason]++
	h.mu.Unlock()
	if h.rec.On() {
		h.rec.Emit(viz.Event{Layer: viz.LayerNIC, Step: step, Verdict: viz.Drop, Reason: reason, Frame: id, Msg: msg})
		h.rec.EndWalk(id)
	}
}
