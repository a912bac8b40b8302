package tcp

import (
	"time"

	"github.com/packetwalk/packetwalk/viz"
)

// The tail loss probe (TLP, RFC 8985 §7). When the last segments of a
// flight are lost, nothing arrives after them: no SACK block reports a
// hole, RACK has nothing to compare with, and only the retransmission
// timer is left, at least 200 ms (300 here) and often far more. TLP sends
// one segment two round trips after the last transmission instead (the
// probe timeout, PTO): new data if there is some, else the last segment
// again. Its ACK either covers everything (the probe repaired a single
// loss, §7.4.2) or SACKs the probe, and RACK then finds the holes below
// it (§7.4.1): a lost tail is repaired in about two round trips, as a
// loss in the middle of a flight is.
//
// The PTO replaces the retransmission timer (one timer at a time, RFC
// 8985 §8); after a probe the retransmission timer runs again, so the RTO
// remains the last resort. At most one probe is unacknowledged at a time,
// and a new one waits for an RTT sample (§7.3), so TLP cannot go on
// probing a path that has failed.

// tlpMaxAckDelay is RFC 8985's WCDelAckT (TLP.max_ack_delay): the longest
// the peer may delay its ACK of a lone segment, 200 ms as in classic
// stacks and Linux's TCP_RTO_MIN allowance (§7.2).
const tlpMaxAckDelay = 200 * time.Millisecond

// tlpState is RFC 8985 §5.3's TLP variables.
type tlpState struct {
	// endSeq is TLP.end_seq, SND.NXT after the probe; outstanding says
	// a probe is unacknowledged (TLP.end_seq is not None).
	endSeq      Seq
	outstanding bool
	// isRetrans is TLP.is_retrans: the probe resent the last segment.
	isRetrans bool
	// rttSampled: RACK took an RTT sample since the last probe;
	// samplesAtProbe is the RTT estimator's count of samples when it went
	// (an RFC 6298 or timestamp sample since then counts as well).
	rttSampled     bool
	samplesAtProbe int
	// flight is FlightSize when the probe went, for the congestion
	// response if it repaired a loss.
	flight int
	// pto is the PTO last armed, and ptoWhy how it was chosen, for the
	// step log.
	pto    time.Duration
	ptoWhy string
}

// tlpOn reports whether the connection probes its tails: RACK (TLP
// relies on it to find what the probe's ACK reveals) and not Config.NoTLP.
func (e *Endpoint) tlpOn() bool { return e.rackOn() && !e.layer.cfg.NoTLP }

// tlpCanSchedule is RFC 8985 §7.2's conditions for a PTO: TLP on (SACK,
// RACK), data in flight, no SACKed segment (then RACK has what it needs),
// not in fast recovery nor in the recovery after a timeout, and not
// probing a zero window (the persist timer's business).
func (e *Endpoint) tlpCanSchedule() bool {
	return e.tlpOn() && e.state.synchronized() && e.outstanding() && e.sacked.total() == 0 &&
		!e.cc.InRecovery() && !e.lostToSet && e.persistTimer == nil && e.sndWnd > 0
}

// tlpSchedule arms the PTO in place of the retransmission timer when
// §7.2 allows; it reports whether it did. PTO = 2*SRTT, plus the peer's
// delayed-ACK allowance when a single segment is in flight (its ACK may
// wait for a second one that will not come); 1 s before any RTT sample;
// never later than the retransmission timer would fire.
func (e *Endpoint) tlpSchedule() bool {
	if !e.tlpCanSchedule() {
		return false
	}
	pto, why := time.Second, "1 s, no RTT sample yet"
	if e.rtt.Samples() > 0 {
		pto, why = 2*e.rtt.SRTT, "2*SRTT"
		if int(e.sndMax-e.sndUna) <= e.mss {
			pto, why = pto+tlpMaxAckDelay, "2*SRTT + 200 ms for the delayed ACK of a lone segment"
		}
	}
	left := e.rtt.RTO()
	if e.rtoDeadline != 0 {
		left = e.rtoDeadline - e.layer.clock.Now()
	}
	if left <= 0 {
		return false
	}
	if left < pto {
		pto, why = left, "capped at when the retransmission timer would fire"
	}
	e.tlp.pto, e.tlp.ptoWhy = pto, why
	e.armLossTimer(timerPTO, pto)
	return true
}

// tlpAfterSend schedules a probe after new data went out (RFC 8985
// §7.2: "after transmitting new data that was not itself a TLP probe"),
// unless RACK's reordering timer is waiting: it decides first.
func (e *Endpoint) tlpAfterSend() {
	if !e.tlpOn() || e.rtxArmed() && e.rtxKind == timerReorder {
		return
	}
	if !e.tlpSchedule() && e.rtxArmed() && e.rtxKind == timerPTO {
		e.rearmRTO()
	}
}

// tlpTimeout is the PTO's expiry (RFC 8985 §7.3): send the probe if no
// other is unacknowledged and an RTT sample came since the last one, then
// run the retransmission timer again: a full RTO after the probe, as the
// RFC's pseudocode says, or, when no probe went, when it would have fired
// anyway (nothing was sent to restart it for; Linux's tcp_rearm_rto
// does the same), so that skipping a probe does not delay the RTO.
func (e *Endpoint) tlpTimeout() {
	if !e.outstanding() {
		return
	}
	switch {
	case !e.tlpCanSchedule():
		// The connection changed since the PTO was armed without an ACK
		// to say so (its window closed, a timeout): no probe.
		e.rearmRTO()
	case e.tlp.outstanding:
		e.logf("tlp", viz.Note, 0, []viz.Field{viz.F("timer", "pto"), viz.Fv("tlp_end_seq", viz.U32(uint32(e.tlp.endSeq)))},
			"PTO expired, but the probe that ended at %d is unacknowledged: at most one probe at a time, the retransmission timer takes over (RFC 8985 §7.3)",
			viz.U32(uint32(e.tlp.endSeq)))
		e.rearmRTO()
	case !e.tlp.rttSampled && e.rtt.Samples() <= e.tlp.samplesAtProbe:
		e.logf("tlp", viz.Note, 0, []viz.Field{viz.F("timer", "pto")},
			"PTO expired, but no RTT sample came since the last probe (or since the connection began): no probe, the retransmission timer takes over (RFC 8985 §7.3)")
		e.rearmRTO()
	default:
		e.tlpSendProbe()
		e.restartRetransmitTimer()
	}
}

// tlpSendProbe sends the probe: a new segment if there is unsent data the
// peer's window takes (it may go beyond cwnd by that one segment), else
// the highest segment sent, again.
func (e *Endpoint) tlpSendProbe() {
	flight := int(e.sndMax - e.sndUna)
	pto := e.tlp.pto.Round(time.Microsecond)
	if n := min(e.unsentBytes(), e.segmentRoom(), e.sendWindowRoom(e.sndNxt)); n > 0 && e.sndNxt == e.sndMax {
		seq := e.sndNxt
		e.logf("tlp", viz.Note, 0, []viz.Field{viz.F("timer", "pto"), viz.Fv("seq", viz.U32(uint32(seq))), viz.Fv("len", viz.Int(n)), viz.Fv("pto", viz.Dur(pto))},
			"tail loss probe: no ACK for the PTO, %v (%s); probe with new data %d..%d, whose ACK will show any loss before it (RFC 8985 §7.2-7.3)",
			viz.Dur(pto), viz.Str(e.tlp.ptoWhy), viz.U32(uint32(seq)), viz.U32(uint32(seq.Add(uint32(n)))))
		flags := FlagACK
		if n == e.unsentBytes() {
			flags |= FlagPSH
		}
		e.sendData(seq, flags, e.send.Peek(seq, n), 0, false)
		e.sndNxt = e.sndNxt.Add(uint32(n))
		e.sndMax = MaxSeq(e.sndMax, e.sndNxt)
		e.tlp.isRetrans = false
	} else {
		seq, n, fin := e.lastSegment()
		end := seq.Add(uint32(n) + boolInt(fin))
		e.logf("tlp", viz.Note, 0, []viz.Field{viz.F("timer", "pto"), viz.Fv("seq", viz.U32(uint32(seq))), viz.Fv("len", viz.Int(n)), viz.Fv("pto", viz.Dur(pto))},
			"tail loss probe: no ACK for the PTO, %v (%s), and nothing new to send; resend the last segment %d..%d, whose ACK will show whether the tail was lost (RFC 8985 §7.2-7.3)",
			viz.Dur(pto), viz.Str(e.tlp.ptoWhy), viz.U32(uint32(seq)), viz.U32(uint32(end)))
		e.rackRetransmit(0, seq, n, fin, "")
		e.tlp.isRetrans = true
	}
	e.tlp.endSeq, e.tlp.outstanding = e.sndNxt, true
	e.tlp.rttSampled, e.tlp.samplesAtProbe = false, e.rtt.Samples()
	e.tlp.flight = flight
}

// lastSegment is the highest segment sent: at most one segment's worth
// of data before SND.NXT, and our FIN if it is the last thing sent.
func (e *Endpoint) lastSegment() (seq Seq, n int, fin bool) {
	end := e.sndNxt
	if e.finSent && end == e.ourFinSeq.Add(1) {
		fin, end = true, e.ourFinSeq
	}
	seq = MaxSeq(e.sndUna, end.Add(-uint32(e.segmentRoom())))
	if live := e.sent.live(); fin && len(live) > 0 && live[len(live)-1].seq == e.ourFinSeq {
		// The FIN went in a segment of its own: that is the highest
		// segment sent (RFC 8985 §7.3), and the data before it is not
		// sent again.
		return e.ourFinSeq, 0, true
	}
	if live := e.sent.live(); len(live) > 0 {
		// The segment as it was sent, not a piece of two.
		i := e.sent.find(end.Add(^uint32(0)))
		if i < len(live) && live[i].seq.LessThan(end) {
			seq = MaxSeq(seq, live[i].seq)
		}
	}
	if seq.GreaterThan(end) {
		seq = end
	}
	return seq, int(end - seq), fin
}

// tlpOnAck is RFC 8985 §7.4.2: what the ACK of a probe says. A probe of
// new data needs nothing more. A probe that resent the last segment
// answers whether it was lost: a D-SACK for it, or a duplicate ACK
// without SACK, says both copies arrived (nothing was lost); an ACK
// beyond it says the probe repaired a loss, and the congestion response
// to a loss follows (the ACK exactly at its end could answer either
// copy: wait for the next). RACK handles every other outcome (§7.4.1).
func (e *Endpoint) tlpOnAck(in *incoming, dsack SACKBlock, hasDSACK, dupAck bool) {
	t := &e.tlp
	ack := in.hdr.Ack
	if !t.outstanding || ack.LessThan(t.endSeq) {
		return
	}
	switch {
	case !t.isRetrans:
		t.outstanding = false
	case hasDSACK && dsack.End == t.endSeq:
		t.outstanding = false
		e.logf("tlp", viz.Note, in.frame, []viz.Field{viz.Fv("tlp_end_seq", viz.U32(uint32(t.endSeq)))},
			"D-SACK for the probe: the original of the last segment arrived too, nothing was lost (RFC 8985 §7.4.2)")
	case ack.GreaterThan(t.endSeq):
		t.outstanding = false
		if e.cc.InRecovery() || e.lostToSet {
			return // the recovery under way has reduced cwnd already
		}
		ch := e.cc.OnProbeRecovery(t.flight)
		rule, rfc := "max(FlightSize/2, 2*SMSS)", "RFC 5681 §3.1"
		if e.cc.Cubic != nil {
			rule, rfc = "max(0.7*FlightSize, 2*SMSS)", "RFC 9438 §4.6"
		}
		e.logf("tlp_recovered", viz.Note, in.frame, []viz.Field{viz.Fv("tlp_end_seq", viz.U32(uint32(t.endSeq))), viz.Fv("ssthresh", viz.Int(e.cc.Ssthresh))},
			"ACK %d passes the probe (end %d) without a D-SACK: the original was lost and the probe repaired it; cwnd is reduced as for fast recovery, ssthresh = %s = %d with the %d bytes in flight when the probe went (RFC 8985 §7.4.2, %s)",
			viz.U32(uint32(ack)), viz.U32(uint32(t.endSeq)), viz.Str(rule), viz.Int(e.cc.Ssthresh), viz.Int(t.flight), viz.Str(rfc))
		e.logCwnd(in.frame, ch)
	case dupAck && len(in.hdr.Options.SACKBlocks) == 0:
		t.outstanding = false
		e.logf("tlp", viz.Note, in.frame, []viz.Field{viz.Fv("tlp_end_seq", viz.U32(uint32(t.endSeq)))},
			"duplicate ACK without SACK after the probe: both copies of the last segment arrived, nothing was lost (RFC 8985 §7.4.2)")
	}
}

// tlpReset forgets an unacknowledged probe when recovery or a timeout
// takes over (RFC 8985 §7.1's initial state).
func (e *Endpoint) tlpReset() { e.tlp.outstanding, e.tlp.isRetrans = false, false }
