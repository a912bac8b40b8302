package gvisorhost

import (
	"fmt"

	"github.com/packetwalk/packetwalk/nic"
	"github.com/packetwalk/packetwalk/viz"
)

// drainLink runs on whichever goroutine gVisor wrote a packet on (a TCP
// processor, a timer, an application's gonet call, or the event loop inside
// InjectInbound). It must not call the medium or block on the loop: it only
// moves the packets out of the channel endpoint into the transmit queue and
// makes sure a flush is posted on the clock. Holding outMu while reading the
// channel keeps the queue in the order gVisor wrote the packets, even when
// several goroutines write at once.
func (h *Host) drainLink() {
	h.outMu.Lock()
	defer h.outMu.Unlock()
	for {
		pkt := h.link.Read()
		if pkt == nil {
			break
		}
		// Copy: the bytes live in gVisor's pooled buffers, which are
		// reused once the reference is dropped.
		b := make([]byte, 0, pkt.Size())
		for _, s := range pkt.AsSlices() {
			b = append(b, s...)
		}
		pkt.DecRef()
		if len(h.outQ) >= h.txQueueLen {
			// Logged here, off the loop: the Log is safe for
			// concurrent use, and the frame never reaches the loop.
			h.dropTx(h.rec.NewFrameID(), viz.ReasonTxQueueFull,
				fmt.Sprintf("%s: %d frames already wait for the event loop: %s dropped", nicName, len(h.outQ), summarize(b)))
			continue
		}
		h.outQ = append(h.outQ, b)
	}
	if len(h.outQ) > 0 && !h.flushPending {
		h.flushPending = true
		// AfterFunc is safe from any goroutine and never runs f before
		// returning, so this is fine on the loop too.
		h.clock.AfterFunc(0, h.flushFunc)
	}
}

// flush runs on the event loop: it takes every queued packet, in order, and
// puts it on the medium as a frame.
func (h *Host) flush() {
	h.outMu.Lock()
	q := h.outQ
	h.outQ = nil
	h.flushPending = false
	h.outMu.Unlock()
	for _, b := range q {
		h.transmit(b)
	}
}

// transmit is the adapter's transmit path for one packet gVisor built
// (Ethernet header included, no padding, no FCS): pad, append the FCS, log,
// capture and hand the bits to the medium. It runs on the event loop.
func (h *Host) transmit(b []byte) {
	id := h.rec.NewFrameID()
	h.mu.Lock()
	medium, closed := h.medium, h.closed
	h.mu.Unlock()
	switch {
	case closed:
		h.dropTx(id, viz.ReasonNoCarrier, fmt.Sprintf("%s is closed: %s not sent", h.name, summarize(b)))
		return
	case len(b) < nic.HeaderLen:
		// gVisor always builds the header; a shorter packet would be a
		// bug in the link endpoint, but it still gets a named drop.
		h.dropTx(id, viz.ReasonRunt, fmt.Sprintf("gVisor wrote %d bytes, shorter than an Ethernet header", len(b)))
		return
	case len(b)-nic.HeaderLen > h.mtu:
		h.dropTx(id, viz.ReasonTxTooLong, fmt.Sprintf("%d-byte payload exceeds MTU %d", len(b)-nic.HeaderLen, h.mtu))
		return
	case medium == nil:
		h.dropTx(id, viz.ReasonNoCarrier, fmt.Sprintf("%s has no cable: not attached to a medium", nicName))
		return
	}

	hdr := nic.Frame(b) // the accessors that do not touch the FCS are valid
	dst, src, t := hdr.Dst(), hdr.Src(), hdr.EtherType()
	payload := b[nic.HeaderLen:]
	h.txBuf = nic.AppendFrame(h.txBuf[:0], dst, src, t, payload)
	frame := nic.Frame(h.txBuf)
	if h.rec.On() {
		pad := len(frame) - nic.HeaderLen - nic.FCSLen - len(payload)
		h.rec.Emit(viz.Event{Layer: viz.LayerNIC, Step: "tx", Verdict: viz.Send, Frame: id,
			Msg: fmt.Sprintf("gVisor sent %s: %s %s -> %s %s, %d bytes with FCS %#08x", summarize(b), nicName, src, dst, t, len(frame), frame.FCS()),
			Fields: []viz.Field{viz.F("nic", nicName), viz.F("src", src.String()), viz.F("dst", dst.String()),
				viz.F("ethertype", t.String()), viz.F("len", fmt.Sprint(len(frame))), viz.F("pad", fmt.Sprint(pad)),
				viz.F("fcs", fmt.Sprintf("%#08x", frame.FCS())), viz.F("stack", "gvisor")}})
		h.rec.Capture(viz.CapturedFrame{NIC: nicName, MAC: h.mac.String(), Dir: viz.Outbound, Frame: id, Data: frame})
		h.rec.EndWalk(id)
	}
	h.mu.Lock()
	h.stats.TxFrames++
	h.stats.TxBytes += uint64(len(frame))
	h.mu.Unlock()
	// The medium copies what it delivers, so txBuf is free again once
	// Transmit returns.
	medium.Transmit(h, frame, id)
}

// dropTx counts and logs a transmit drop.
func (h *Host) dropTx(id uint64, reason viz.Reason, msg string) {
	h.mu.Lock()
	h.stats.TxDropped++
	h.stats.Drops[reason]++
	h.mu.Unlock()
	if h.rec.On() {
		h.rec.Emit(viz.Event{Layer: viz.LayerNIC, Step: "tx", Verdict: viz.Drop, Reason: reason, Frame: id, Msg: msg})
		h.rec.EndWalk(id)
	}
}
