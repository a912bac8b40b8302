package tcp

import (
	"github.com/packetwalk/packetwalk/viz"
)

// timeWaitArrives is what TIME_WAIT does with a segment, after PAWS and
// before the general checks of RFC 9293 §3.10.7.4; it reports whether it
// dealt with the segment. (A SYN that opens a new connection on the
// four-tuple was handed to the listener before PAWS: see segmentArrives.)
//
// In TIME_WAIT both FINs are acknowledged. The peer's FIN was the last
// number of its sequence space, so all that may still arrive is a bare
// ACK or a RST at RCV.NXT, or the peer's FIN again because our ACK of it
// was lost. The receive window is closed: RCV.WND is 0, and by §3.10.7.4's
// table only an empty segment at RCV.NXT is acceptable. Anything else is
// answered with an ACK of RCV.NXT (unless it is a RST), at most one per
// rate-limit interval: a peer that lost our last ACK, or restarted and
// sent a SYN with an old sequence number, learns where this connection
// stands. Linux's TIME_WAIT (tcp_timewait_state_process) keeps no window
// and answers the same way.
func (e *Endpoint) timeWaitArrives(in *incoming) bool {
	nxt := e.rcvNxt()

	// The peer's FIN again (ends just before RCV.NXT): §3.10.7.4, "Eighth,
	// check the FIN bit", TIME-WAIT: acknowledge it and restart the 2 MSL
	// wait, or the peer's next retransmission could find the four-tuple
	// gone and be answered with a RST.
	if in.has(FlagFIN) && !in.has(FlagRST) && !in.has(FlagSYN) &&
		in.hdr.Seq.Add(uint32(len(in.payload))+1) == nxt {
		e.ackNow = true
		e.sendPendingACK(in.frame)
		e.enterTimeWait(in.frame, "the peer retransmitted its FIN")
		return true
	}

	// RFC 793 (§3.9, "fourth, check the SYN bit"), which Config.RFC793SYN
	// brings back, resets on a SYN in the window in every synchronized
	// state, TIME_WAIT included; the window it means is the one we last
	// advertised.
	if e.layer.cfg.RFC793SYN && in.has(FlagSYN) && !in.has(FlagRST) &&
		in.hdr.Seq.InWindow(nxt, uint32(e.acceptWindow())) {
		e.synInWindow(in)
		return true
	}

	if in.segLen() == 0 && in.hdr.Seq == nxt {
		return false // a bare ACK or a RST at RCV.NXT: the usual checks
	}
	e.dropf(in.frame, "accept", viz.ReasonSeqOutOfWindow,
		"TIME_WAIT: seq %d..%d after the peer's FIN, whose window is closed (RCV.NXT %d, RCV.WND 0)",
		viz.U32(uint32(in.hdr.Seq)), viz.U32(uint32(in.hdr.Seq)+uint32(in.segLen())), viz.U32(uint32(nxt)))
	if !in.has(FlagRST) && e.answerInvalid(in, false) {
		e.sendACK(in.frame, "an unacceptable segment is answered with an ACK")
	}
	return true
}
