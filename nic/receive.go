package nic

import (
	mathbits "math/bits"

	"github.com/packetwalk/packetwalk/clock"
	"github.com/packetwalk/packetwalk/viz"
)

// Arrive implements Port: the medium delivers a frame's bits to the PHY.
// This is the adapter's half of the receive walk ("How Network Works"
// ch. 6, the LAN adapter): the checks the hardware makes before anything is
// copied to memory, then the copy into the RX ring and the interrupt. The
// driver's half is poll, below.
func (n *NIC) Arrive(bits []byte, id uint64) {
	frame := Frame(bits)
	// Decide first, log afterwards: the capture must carry the FCS verdict
	// (the pcapng CRC-error flag), and the trail a capture shows begins with
	// the capture itself.
	sizeOK := len(frame) >= MinFrameLen && len(frame) <= MaxFrameLen(n.mtu)
	fcsOK := false
	var got, want uint32
	if len(frame) >= HeaderLen+FCSLen {
		got, want, fcsOK = n.filter.CheckFCS(frame)
	}
	if n.rec.On() {
		n.rec.Capture(viz.CapturedFrame{NIC: n.name, MAC: n.macText, Dir: viz.Inbound, Frame: id, Data: frame, FCSError: !fcsOK})
		n.rec.Stepf(viz.Event{Layer: viz.LayerPHY, Step: "rx", Verdict: viz.Pass, Frame: id},
			[]viz.Field{viz.F("nic", n.name), viz.Fv("len", viz.Int(len(frame)))},
			"%s: signal decoded into %d bytes", viz.Str(n.name), viz.Int(len(frame)))
	}

	// Size: a frame shorter than 64 bytes is collision debris (a runt);
	// one longer than MTU+18 is a giant (IEEE 802.3 clause 4.2.4.2.2).
	if !sizeOK {
		n.stats.RxErrors++
		n.stats.RxLengthErrors++
		if len(frame) < MinFrameLen {
			n.dropRx(id, "size", viz.ReasonRunt, "%d bytes is shorter than the %d-byte minimum", viz.Int(len(frame)), viz.Int(MinFrameLen))
		} else {
			n.dropRx(id, "size", viz.ReasonFrameTooLong, "%d bytes is longer than %d (MTU %d + header + FCS)", viz.Int(len(frame)), viz.Int(MaxFrameLen(n.mtu)), viz.Int(n.mtu))
		}
		return
	}

	// FCS: the sender's adapter computed a CRC-32 over the frame; if ours
	// differs, some bit changed on the way and the whole frame is discarded.
	// Ethernet does not retransmit: TCP will notice the loss.
	if !fcsOK {
		n.stats.RxErrors++
		n.stats.RxCRCErrors++
		n.dropRx(id, "fcs", viz.ReasonFCSMismatch, "FCS %#08x != computed %#08x", viz.U32(got), viz.U32(want))
		return
	}
	if n.rec.On() {
		// The CRC is a number; Ethernet sends its least significant byte
		// first (IEEE 802.3 §3.2.9), and Wireshark shows the trailer's
		// bytes in that order: the same FCS, byte-reversed.
		n.rec.Stepf(viz.Event{Layer: viz.LayerNIC, Step: "fcs", Verdict: viz.Pass, Frame: id},
			[]viz.Field{viz.Fv("fcs", viz.Hex32(got))},
			"FCS ok (%s; sent least significant byte first, so Wireshark shows %s)", viz.Hex32(got), viz.Hex32(mathbits.ReverseBytes32(got)))
	}

	// Destination MAC: Ethernet carries every frame to every station on a
	// shared segment (a hub; a switch floods too), so the adapter checks
	// that this one is meant for it.
	dst := frame.Dst()
	class, ok := n.filter.Classify(dst, FilterState{Own: n.mac, Promiscuous: n.promiscuous, Groups: n.groups})
	if !ok {
		n.stats.RxFiltered++
		n.dropRx(id, "mac", viz.ReasonMACNotMine, "destination %s is not %s, broadcast or a joined group", viz.MAC(dst), viz.MAC(n.mac))
		return
	}
	if class == ClassBroadcast || class == ClassMulticast {
		n.stats.RxMulticast++
	}
	if n.rec.On() {
		n.rec.Stepf(viz.Event{Layer: viz.LayerNIC, Step: "mac", Verdict: viz.Pass, Frame: id},
			[]viz.Field{viz.Fv("dst", viz.MAC(dst)), viz.F("class", class.String())},
			"dst MAC %s: %s", viz.MAC(dst), viz.Str(class.String()))
	}

	// Buffer memory: the adapter copies the frame into a free RX ring slot.
	// If the driver has not emptied the ring fast enough, there is none.
	slot, ok := n.ring.put(frame, id, class)
	if !ok {
		n.stats.RxDropped++
		n.stats.RxOverErrors++
		n.dropRx(id, "ring", viz.ReasonRingFull, "all %d RX ring slots are full", viz.Int(n.ring.size()))
		return
	}
	if n.rec.On() {
		used, size := viz.Int(n.ring.used()), viz.Int(n.ring.size())
		n.rec.Stepf(viz.Event{Layer: viz.LayerNIC, Step: "ring", Verdict: viz.Pass, Frame: id},
			[]viz.Field{viz.Fv("slot", viz.Int(slot)), viz.Fv("used", used), viz.Fv("size", size)},
			"copied into RX ring slot %d (%d/%d used)", viz.Int(slot), used, size)
	}
	n.stats.RxPackets++
	n.stats.RxBytes += uint64(len(frame))

	// Interrupt: tell the CPU a frame is waiting. While the driver has not
	// run yet, further frames just join the ring (interrupt coalescing).
	if !n.irqPending {
		n.irqPending = true
		if n.rec.On() {
			n.rec.Stepf(viz.Event{Layer: viz.LayerNIC, Step: "irq", Frame: id},
				nil,
				"interrupt raised; driver runs in %v", viz.Dur(n.irqDelay))
		}
		clock.Rearm(n.clock, &n.irqTimer, n.irqDelay, n.pollFunc)
	}
}

// poll is the driver, run by the interrupt: it takes frames out of the RX
// ring and hands each to the protocol its EtherType names, up to its budget
// per run, then reschedules itself if frames remain (as NAPI does, so one
// busy NIC cannot starve the rest of the host).
func (n *NIC) poll() {
	for i := 0; i < n.driverBudget; i++ {
		s, ok := n.ring.peek()
		if !ok {
			n.irqPending = false
			return
		}
		n.dispatch(s)
		n.ring.pop()
	}
	if n.ring.used() == 0 {
		n.irqPending = false
		return
	}
	clock.Rearm(n.clock, &n.irqTimer, 0, n.pollFunc)
}

// dispatch hands one ring slot's frame to its protocol. The slot is freed
// only after the protocol returns: the payload it sees is the ring's memory.
func (n *NIC) dispatch(s *rxSlot) {
	frame := Frame(s.buf[:s.len])
	t := frame.EtherType()
	p := n.protocols[t]
	if p == nil {
		n.stats.RxDropped++
		n.stats.RxNoHandler++
		n.dropRx(s.id, "driver", viz.ReasonUnknownEtherType, "no protocol for EtherType %s", t.LogArg())
		return
	}
	if n.rec.On() {
		n.rec.Stepf(viz.Event{Layer: viz.LayerNIC, Step: "driver", Verdict: viz.Pass, Frame: s.id},
			[]viz.Field{viz.Fv("ethertype", viz.Hex16(uint16(t)))},
			"driver: EtherType %s -> %s", viz.Hex16(uint16(t)), t.LogArg())
	}
	p.Receive(RxFrame{NIC: n, ID: s.id, Dst: frame.Dst(), Src: frame.Src(), EtherType: t, Class: s.class, Payload: frame.Payload()})
	n.rec.EndWalk(s.id)
}

func (n *NIC) dropRx(id uint64, step string, reason viz.Reason, format string, args ...viz.Arg) {
	if n.rec.On() {
		n.rec.Stepf(viz.Event{Layer: viz.LayerNIC, Step: step, Verdict: viz.Drop, Reason: reason, Frame: id},
			nil,
			format, args...)
		n.rec.EndWalk(id)
	}
}
