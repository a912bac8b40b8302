package tcp

import (
	"time"

	"github.com/packetwalk/packetwalk/viz"
)

// RACK, Recent ACKnowledgment (RFC 8985 §6): a segment is lost when a
// segment sent after it has been delivered and it has not been, a
// reordering window after it should have been. RFC 6675's DupThresh
// counts segments instead, three SACKed above a hole, and so cannot see
// two losses that time shows at once: a lost tail (nothing comes after it
// to be SACKed; the tail loss probe, tlp.go, makes something come), a
// flight too small to bring three duplicates, and a retransmission lost
// again (its hole was resent once; nothing DupThresh counts says it went
// missing a second time). RACK compares transmission times, and a
// retransmission has one of its own, so a lost retransmission is found
// like any lost segment (RFC 8985 §3.1).
//
// The connection keeps RFC 8985 §5.2's per-segment variables in its log
// of sent segments (sentlog.go) and §5.3's per-connection ones here. On
// every ACK (rackOnAck, after processACK has taken its cumulative ACK and
// SACK blocks in): steps 1 to 3 for each segment the ACK delivers (the
// minimum RTT; the most recently sent segment delivered, RACK.xmit_ts and
// RACK.end_seq; reordering), step 4 the reordering window, step 5 the
// losses, then the congestion response: fast recovery begins at the first
// loss (the NewReno state of congestion.go, with PRR, prr.go, pacing the
// reduction) and the lost segments are resent, lowest first. A segment
// that may still be only reordered gets the reordering timer
// (rack_timer), which runs step 5 again when its window has passed.
//
// RACK needs SACK (RFC 8985 §4): without it the connection recovers with
// NewReno (RFC 6582). Config.Recovery selects RFC 6675's DupThresh
// instead (recovery.go), for labs that compare the two.

// Recovery selects how a SACK connection detects a loss (Config.Recovery).
type Recovery uint8

const (
	// RecoveryRACK is RACK-TLP (RFC 8985): losses by time (rack.go) and
	// tail loss probes (tlp.go, unless Config.NoTLP). Linux's default
	// (net.ipv4.tcp_recovery = 1) and the zero value.
	RecoveryRACK Recovery = iota
	// RecoveryDupThresh is RFC 6675 as written: a segment is lost when
	// DupThresh (3) segments or ranges above it are SACKed (IsLost,
	// sack.go), a lost retransmission and a lost tail wait for the
	// retransmission timer.
	RecoveryDupThresh
)

func (r Recovery) String() string {
	if r == RecoveryDupThresh {
		return "dupthresh"
	}
	return "rack"
}

// rackMinRTTWindow is how long a minimum RTT stands before a larger
// sample may replace it: Linux's net.ipv4.tcp_min_rtt_wlen, 300 s. RFC
// 8985 §6.2 step 1 asks for a windowed minimum, so that a connection
// that moves to a longer path does not keep the old path's RTT.
const rackMinRTTWindow = 300 * time.Second

// rackReoWndPersist is how many recoveries without a D-SACK keep a
// reordering window that D-SACKs made larger (RFC 8985 §6.2 step 4).
const rackReoWndPersist = 16

// rackState is RFC 8985 §5.3's per-connection variables of RACK.
type rackState struct {
	// xmitTS and endSeq are RACK.xmit_ts and RACK.end_seq: when the most
	// recently sent of the delivered segments was sent, and its end;
	// order is its place among the transmissions (rackSentAfter);
	// delivered says there has been one.
	xmitTS    time.Duration
	endSeq    Seq
	order     uint64
	delivered bool
	// rtt is RACK.rtt: the round trip of that segment, measured when
	// its ACK came.
	rtt time.Duration
	// minRTT is RACK.min_RTT, windowed (rackMinRTTWindow); minRTTAt when
	// it was taken.
	minRTT, minRTTAt time.Duration
	haveMinRTT       bool
	// fack is RACK.fack: the highest sequence number delivered.
	fack     Seq
	haveFack bool
	// reorderingSeen is RACK.reordering_seen: a segment was delivered
	// below fack without having been retransmitted.
	reorderingSeen bool
	// reoWndMult - 1, and RACK.reo_wnd_persist: D-SACKs (the peer got
	// a segment twice: we resent one that was only late) widen the
	// reordering window by min_RTT/4 per round trip that sees one.
	reoWndExtra, reoWndPersist int
	// dsackRound is RACK.dsack_round: the round trip (ending when SND.UNA
	// passes it) in which a D-SACK already widened the window.
	dsackRound    Seq
	dsackRoundSet bool
}

// rackOn reports whether RACK detects this connection's losses.
func (e *Endpoint) rackOn() bool {
	return e.sackOK && e.layer.cfg.Recovery == RecoveryRACK
}

// rackSentAfter is RFC 8985 §6.2's RACK_sent_after: was a sent after b?
// The RFC orders segments sent at the same time by their sequence
// numbers, for clocks too coarse to tell two transmissions apart. In
// virtual time a whole burst shares one instant, and a retransmission
// sent at the instant that new data went out would seem sent before
// that data (its sequence numbers are lower) and then, once the data is
// SACKed, lost: packetwalk orders them by the count of transmissions
// instead, which is the order they left in.
func rackSentAfter(a, b *sentSeg) bool {
	return a.xmitTS > b.xmitTS || a.xmitTS == b.xmitTS && a.order > b.order
}

// rackLatest is RACK.xmit_ts and its order as a segment, for
// rackSentAfter.
func (r *rackState) latest() *sentSeg {
	return &sentSeg{xmitTS: r.xmitTS, order: r.order, end: r.endSeq}
}

// noteSACKed marks the log's segments that the ACK's SACK blocks cover,
// clipped to what can still be SACKed, (lo, hi] as the scoreboard clips
// them (a D-SACK below SND.UNA falls outside).
func (e *Endpoint) noteSACKed(blocks []SACKBlock, lo, hi Seq) {
	for _, b := range blocks {
		b.Start, b.End = MaxSeq(b.Start, lo), MinSeq(b.End, hi)
		if b.Start.LessThan(b.End) {
			e.sent.sack(b)
		}
	}
}

// rackDelivered is RFC 8985 §6.2 steps 1 to 3 for the segments the ACK
// being processed delivers, those it acknowledges cumulatively (up to ack)
// and those its SACK blocks report for the first time; processACK calls
// it before it drops the acknowledged ones from the log.
//
//	step 1  a segment sent once gives an RTT sample: RACK.min_RTT
//	step 2  RACK.xmit_ts, RACK.end_seq: the most recently sent segment
//	        delivered, and RACK.rtt its round trip. A retransmitted
//	        segment whose ACK came sooner than min_RTT, or (if the ACK
//	        covers it cumulatively) echoes a timestamp older than the
//	        retransmission, answers the first copy, not the
//	        retransmission, and is skipped
//	step 3  a segment delivered below RACK.fack that was never resent
//	        arrived out of order: reordering_seen
func (e *Endpoint) rackDelivered(h Header, frame uint64) {
	r := &e.rack
	now := e.layer.clock.Now()
	ack := h.Ack
	echo, haveEcho := h.Options.TSEcr, e.tsOK && h.Options.HasTS
	limit := ack
	if hi, ok := e.sacked.highestSACKed(); ok {
		limit = MaxSeq(limit, hi)
	}
	live := e.sent.live()
	newest := -1
	for i := range live {
		s := &live[i]
		if !s.seq.LessThan(limit) {
			break
		}
		if !(s.end.LessEq(ack) && !s.sacked) && !s.fresh {
			continue // neither acknowledged now nor newly SACKed
		}
		s.fresh = false
		if !r.haveFack || s.end.GreaterThan(r.fack) {
			r.fack, r.haveFack = s.end, true
		} else if s.end.LessThan(r.fack) && !s.retransmitted && !r.reorderingSeen {
			r.reorderingSeen = true
			e.logf("rack_reo_wnd", viz.Note, frame, []viz.Field{viz.Fv("seq", viz.U32(uint32(s.seq))), viz.Fv("fack", viz.U32(uint32(r.fack)))},
				"segment %d..%d arrived after data up to %d (RACK.fack) that was sent after it, and it was never resent: the path reorders, so the reordering window stays min_RTT/4 even once DupThresh segments are SACKed (RFC 8985 §6.2 steps 3-4)",
				viz.U32(uint32(s.seq)), viz.U32(uint32(s.end)), viz.U32(uint32(r.fack)))
		}
		rtt := now - s.xmitTS
		if s.retransmitted {
			// The echo tells which copy an ACK answers only for data it
			// acknowledges cumulatively: a segment that arrives out of
			// order (a SACKed one) does not update the receiver's
			// TS.Recent (RFC 7323 §4.3), so its ACK echoes an older
			// TSval even when the retransmission is what arrived; a
			// tail loss probe's SACK is such an ACK. For SACKed data
			// only min_RTT judges, as in Linux's tcp_rack_advance.
			cumulative := s.end.LessEq(ack)
			if cumulative && haveEcho && tsOlder(echo, e.tsOffset+uint32(s.xmitTS/tsTick)) || r.haveMinRTT && rtt < r.minRTT {
				continue
			}
		} else {
			e.rackSampleRTT(rtt, now)
		}
		if newest < 0 || rackSentAfter(s, &live[newest]) {
			newest = i
		}
	}
	if newest < 0 {
		return
	}
	s := &live[newest]
	r.rtt = now - s.xmitTS
	if !r.delivered || rackSentAfter(s, r.latest()) {
		r.xmitTS, r.endSeq, r.order, r.delivered = s.xmitTS, s.end, s.order, true
	}
}

// rackSampleRTT is step 1: a windowed minimum of the round trips of
// segments sent once. The sample also lets the next tail loss probe go
// (RFC 8985 §7.3: an RTT sample since the last probe).
func (e *Endpoint) rackSampleRTT(rtt, now time.Duration) {
	r := &e.rack
	e.tlp.rttSampled = true
	if !r.haveMinRTT || rtt <= r.minRTT || now-r.minRTTAt > rackMinRTTWindow {
		r.minRTT, r.minRTTAt, r.haveMinRTT = rtt, now, true
	}
}

// rackNoteDSACK is the D-SACK half of step 4, once per ACK: a D-SACK says
// a retransmission was not needed, the original was only late, so the
// reordering window grows by min_RTT/4, once per round trip, and keeps
// its size for 16 recoveries (rackRecoveryEnded).
func (e *Endpoint) rackNoteDSACK(frame uint64, dsack bool) {
	r := &e.rack
	if r.dsackRoundSet && e.sndUna.GreaterEq(r.dsackRound) {
		r.dsackRoundSet = false
	}
	if r.dsackRoundSet || !dsack {
		return
	}
	r.dsackRound, r.dsackRoundSet = e.sndMax, true
	r.reoWndExtra++
	r.reoWndPersist = rackReoWndPersist
	e.logf("rack_reo_wnd", viz.Note, frame, []viz.Field{viz.Fv("reo_wnd_mult", viz.Int(r.reoWndExtra+1))},
		"D-SACK: a retransmission was not needed, the original was late: the reordering window grows to %d x min_RTT/4 (RFC 8985 §6.2 step 4)",
		viz.Int(r.reoWndExtra+1))
}

// rackRecoveryEnded counts a recovery that ended (fast recovery or after
// a timeout) toward forgetting a reordering window D-SACKs widened (RFC
// 8985 §6.2 step 4).
func (e *Endpoint) rackRecoveryEnded() {
	r := &e.rack
	if r.reoWndPersist > 0 {
		r.reoWndPersist--
		if r.reoWndPersist == 0 {
			r.reoWndExtra = 0
		}
	}
}

// rackReoWnd is step 4, RACK.reo_wnd: how long after a later segment was
// delivered a segment may still be only reordered. min_RTT/4 (wider after
// D-SACKs), at most SRTT. Zero, so that RACK acts at once as DupThresh
// would, while no reordering has been seen and either recovery is under
// way or DupThresh segments are SACKed.
func (e *Endpoint) rackReoWnd() time.Duration {
	r := &e.rack
	if !r.reorderingSeen && (e.cc.InRecovery() || e.lostToSet || e.sackedSegments() >= dupAckThreshold) {
		return 0
	}
	w := time.Duration(r.reoWndExtra+1) * r.minRTT / 4
	if e.rtt.SRTT > 0 {
		w = min(w, e.rtt.SRTT)
	}
	return w
}

// sackedSegments is RACK.segs_sacked: how many segments of the log are
// SACKed.
func (e *Endpoint) sackedSegments() int {
	n := 0
	for _, s := range e.sent.live() {
		if s.sacked {
			n++
		}
	}
	return n
}

// rackDetectLoss is step 5: every segment not delivered that was sent
// before RACK.xmit_ts and is still undelivered RACK.rtt + reo_wnd after it
// was sent is lost. It returns how long until the next segment's time is
// up (zero if none is waiting) and logs what it marked (rack_lost).
func (e *Endpoint) rackDetectLoss(frame uint64) (timeout time.Duration, lost int) {
	r := &e.rack
	if !r.delivered {
		return 0, 0
	}
	now := e.layer.clock.Now()
	reo := e.rackReoWnd()
	var first sentSeg
	var bytes, again int
	latest := r.latest()
	live := e.sent.live()
	for i := range live {
		s := &live[i]
		if s.sacked || s.lost || !rackSentAfter(latest, s) {
			continue
		}
		remaining := s.xmitTS + r.rtt + reo - now
		if remaining > 0 {
			timeout = max(timeout, remaining)
			continue
		}
		s.lost = true
		if lost == 0 {
			first = *s
		}
		lost++
		bytes += s.len()
		if s.retransmitted {
			again++
		}
	}
	if lost > 0 && e.layer.rec.On() {
		e.logRACKLost(frame, first, lost, bytes, again, reo, now)
	}
	return timeout, lost
}

// logRACKLost says what step 5 marked and why.
func (e *Endpoint) logRACKLost(frame uint64, first sentSeg, lost, bytes, again int, reo, now time.Duration) {
	r := &e.rack
	const format = "RACK: %d segment(s), %d bytes from %d, were sent before the most recently delivered one (end %d) and are still unacknowledged RACK.rtt %v + reo_wnd %v after they were sent: lost (RFC 8985 §6.2 step 5)"
	args := [7]viz.Arg{viz.Int(lost), viz.Int(bytes), viz.U32(uint32(first.seq)), viz.U32(uint32(r.endSeq)),
		viz.Dur(r.rtt.Round(time.Microsecond)), viz.Dur(reo.Round(time.Microsecond)), viz.Int(again)}
	fields := []viz.Field{viz.Fv("seq", viz.U32(uint32(first.seq))), viz.Fv("segments", viz.Int(lost)),
		viz.Fv("bytes", viz.Int(bytes)), viz.Fv("retransmissions", viz.Int(again)),
		viz.Fv("rack_rtt", viz.Dur(r.rtt)), viz.Fv("reo_wnd", viz.Dur(reo)), viz.Fv("age", viz.Dur(now-first.xmitTS))}
	if again > 0 {
		e.logf("rack_lost", viz.Note, frame, fields,
			format+"; %d of them a retransmission lost again, which a count of duplicate ACKs cannot see (RFC 8985 §3.1)", args[:]...)
		return
	}
	e.logf("rack_lost", viz.Note, frame, fields, format, args[:6]...)
}

// ackDSACK reports whether the ACK's first SACK block is a D-SACK (RFC
// 2883 §4): below the cumulative ACK, or inside the second block.
func ackDSACK(h Header) (SACKBlock, bool) {
	bl := h.Options.SACKBlocks
	if len(bl) == 0 {
		return SACKBlock{}, false
	}
	d := bl[0]
	if d.End.LessEq(h.Ack) || len(bl) > 1 && bl[1].Start.LessEq(d.Start) && d.End.LessEq(bl[1].End) {
		return d, true
	}
	return SACKBlock{}, false
}

// rackOnAck is RACK-TLP's part of processing an ACK, after the
// cumulative ACK, the SACK blocks (rackDelivered) and the window were
// taken in: step 4's D-SACK rule, step 5, the tail loss probe's ACK (RFC
// 8985 §7.4), then the response to what step 5 found (rackRespond) and
// the choice of timer (rackArmTimer). priorFlight is FlightSize before
// the ACK; advanced says the ACK moved SND.UNA, dupAck that it is a
// duplicate ACK as RFC 5681 §2 defines it.
func (e *Endpoint) rackOnAck(in *incoming, priorFlight int, advanced, dupAck bool) {
	d, dsack := ackDSACK(in.hdr)
	e.rackNoteDSACK(in.frame, dsack)
	timeout, lost := e.rackDetectLoss(in.frame)
	e.tlpOnAck(in, d, dsack, dupAck)
	e.rackRespond(in.frame, priorFlight, e.deliveredData(), lost)
	e.rackArmTimer(in.frame, timeout, advanced)
}

// rackRespond is what the connection does about the segments RACK marked
// lost: the first loss starts fast recovery (RFC 6675 §5 step 4 with
// RACK's verdict for DupThresh's, RFC 8985 §9.3), each ACK of the
// recovery sets cwnd by PRR (RFC 6937), and the lost segments go again
// while cwnd allows (rackSendLost). During the recovery that follows a
// timeout, RACK's losses are retransmissions lost again: they are resent
// without a new reduction. delivered is RFC 6937's DeliveredData.
func (e *Endpoint) rackRespond(frame uint64, priorFlight, delivered, lost int) {
	if lost > 0 && !e.cc.InRecovery() && !e.lostToSet {
		if ch := e.cc.OnRACKLoss(e.sndUna, e.sndMax, priorFlight); ch.Retransmit {
			e.logCwnd(frame, ch)
			e.tlpReset()
			e.prrStart(frame, priorFlight)
		}
	}
	if e.cc.InRecovery() {
		e.prrOnAck(frame, delivered)
	}
	e.rackSendLost(frame)
}

// rackSendLost resends the segments RACK marked lost, lowest first,
// while cwnd - pipe has room: RFC 6675 §4's NextSeg rule 1, with RACK's
// marks for IsLost (Linux's tcp_xmit_retransmit_queue). There is no rule
// 3: a hole not yet lost waits until RACK's time says it is. After a
// timeout SND.NXT stays put (RFC 8985 §6.3) and the segments marked lost
// go this way too; what lies beyond a SND.NXT that went back for another
// reason (a smaller path MTU, a window shrunk to zero) is output()'s.
func (e *Endpoint) rackSendLost(frame uint64) {
	for {
		seq, end, ok := e.sent.firstLost(e.sndNxt, e.segmentRoom())
		if !ok {
			return
		}
		fin := e.finSent && end == e.ourFinSeq.Add(1)
		dataEnd := end
		if fin {
			dataEnd = e.ourFinSeq
		}
		n := min(int(dataEnd-seq), e.sendWindowRoom(seq))
		if n < int(dataEnd-seq) {
			fin = false // the peer's window ends first (RFC 9293 §3.8.6.2.1)
		}
		if n <= 0 && !fin || e.cc.Cwnd-e.pipe() < max(n, 1) {
			return
		}
		why := "rule 1 with RACK's marks: marked lost (RFC 8985 §6.2 step 5)"
		if e.lostToSet {
			why = "rule 1 with RACK's marks: marked lost on the timeout or since (RFC 8985 §6.3, §6.2 step 5)"
		}
		e.rackRetransmit(frame, seq, n, fin, why)
	}
}

// rackRetransmit resends n bytes at seq (and our FIN after them): a
// retransmission RACK or the tail loss probe chose; rule, if not empty,
// names the NextSeg rule for the step log. (sendData applies Karn's rule
// to every retransmission.)
func (e *Endpoint) rackRetransmit(frame uint64, seq Seq, n int, fin bool, rule string) {
	data := e.send.Peek(seq, n)
	end := seq.Add(uint32(len(data)))
	flags := FlagACK
	if len(data) > 0 && (seq == e.sndUna || end == e.send.End()) {
		// PSH as the first copy had it (the end of what was queued), and
		// on the segment at SND.UNA as retransmitOne sends it.
		flags |= FlagPSH
	}
	if fin {
		flags |= FlagFIN
		end = end.Add(1)
	}
	if rule != "" && e.layer.rec.On() {
		pipe := e.pipe()
		e.logf("next_seg", viz.Note, frame, []viz.Field{viz.Fv("seq", viz.U32(uint32(seq))), viz.Fv("len", viz.Int(len(data))),
			viz.Fv("pipe", viz.Int(pipe)), viz.Fv("cwnd", viz.Int(e.cc.Cwnd))},
			"NextSeg %s: resend %d..%d, pipe %d < cwnd %d (RFC 6675 §4)", viz.Str(rule), viz.U32(uint32(seq)), viz.U32(uint32(end)), viz.Int(pipe), viz.Int(e.cc.Cwnd))
	}
	e.sendData(seq, flags, data, frame, true)
	e.highRxt = MaxSeq(e.highRxtNow(), end)
}

// rackArmTimer chooses the one timer that guards the data in flight (RFC
// 8985 §8): the reordering timer when a segment may be lost once its
// window has passed (timeout), else a tail loss probe when the ACK or a
// transmission allows one to be scheduled (probe, RFC 8985 §7.2), else the
// retransmission timer.
func (e *Endpoint) rackArmTimer(frame uint64, timeout time.Duration, probe bool) {
	switch {
	case !e.outstanding():
		return
	case timeout > 0:
		e.armReorderTimer(frame, timeout)
	case probe && e.tlpSchedule():
	case !e.rtxArmed() || e.rtxKind == timerReorder || e.rtxKind == timerPTO && !e.tlpCanSchedule():
		e.rearmRTO()
	}
}

// armReorderTimer arms the reordering timer (RFC 8985 §6.2 step 5): when
// it fires, step 5 runs again and marks what is then late enough.
func (e *Endpoint) armReorderTimer(frame uint64, d time.Duration) {
	if e.rtxKind != timerReorder || !e.rtxArmed() {
		e.logf("rack_timer", viz.Note, frame, []viz.Field{viz.F("timer", "reorder"), viz.Fv("duration", viz.Dur(d))},
			"a segment sent before the last one delivered is not acknowledged yet, but may only be reordered: the reordering timer waits %v more (RACK.rtt + reo_wnd, RFC 8985 §6.2 step 5, §8)",
			viz.Dur(d.Round(time.Microsecond)))
	}
	e.armLossTimer(timerReorder, d)
}

// rackTimeout is the reordering timer's expiry: step 5 again, then the
// same response as to an ACK, with nothing delivered (RFC 8985 §6.2 step
// 5, Linux's tcp_rack_reo_timeout).
func (e *Endpoint) rackTimeout() {
	if !e.outstanding() || !e.rackOn() {
		e.rearmRTO()
		return
	}
	e.logf("rack_timer", viz.Note, 0, []viz.Field{viz.F("timer", "reorder")},
		"reordering timer fired: RACK checks the segments sent before the last one delivered again (RFC 8985 §6.2 step 5)")
	flight := int(e.sndMax - e.sndUna)
	timeout, lost := e.rackDetectLoss(0)
	e.rackRespond(0, flight, 0, lost)
	e.output(0)
	e.rackArmTimer(0, timeout, false)
}

// rackMarkLossesOnRTO is RFC 8985 §6.3, RACK_mark_losses_on_RTO: on a
// retransmission timeout the segment at SND.UNA is lost (it was sent an
// RTO ago), and of the others only those whose time is up, still
// undelivered RACK.rtt + reo_wnd after they were sent. A segment sent more
// recently may be on its way: it stays in flight (in the pipe) and is not
// resent unless RACK's later ACKs or the next timeout call it lost, so
// that data that was only late is not sent twice. SND.NXT stays where it
// is (Linux's tcp_timeout_mark_lost; without RACK, goBack marks
// everything). Before any segment was delivered RACK.rtt is unknown and
// every unSACKed segment is lost, as goBack would have it. lostTo, the
// timeout's recovery point, still ends the recovery (ackedForRecovery)
// and keeps a fast recovery from starting inside it.
func (e *Endpoint) rackMarkLossesOnRTO() {
	r := &e.rack
	now := e.layer.clock.Now()
	// The reordering window as it stood when the timer fired: in the
	// recovery the timeout starts it is zero until reordering is seen,
	// as Linux computes it before entering the loss state.
	reo := e.rackReoWnd()
	e.highRxt = e.sndUna
	e.lostTo, e.lostToSet = e.sndMax, e.sndMax != e.sndUna
	lost, lostBytes, kept, keptBytes, first := e.sent.markLostOnRTO(e.sndUna, func(s *sentSeg) bool {
		return !r.delivered || s.xmitTS+r.rtt+reo <= now
	})
	if !e.layer.rec.On() || lost+kept <= 1 {
		// Only the segment at SND.UNA was outstanding: the timeout's
		// own step says it goes again, RACK had nothing to decide.
		return
	}
	fields := []viz.Field{viz.Fv("seq", viz.U32(uint32(first))), viz.Fv("segments", viz.Int(lost)), viz.Fv("bytes", viz.Int(lostBytes)),
		viz.Fv("in_flight", viz.Int(keptBytes)), viz.Fv("rack_rtt", viz.Dur(r.rtt)), viz.Fv("reo_wnd", viz.Dur(reo))}
	if !r.delivered {
		e.logf("rack_lost", viz.Note, 0, fields,
			"retransmission timeout: no segment delivered yet, so RACK.rtt is unknown: all %d unSACKed segment(s), %d bytes from %d, are lost (RFC 8985 §6.3)",
			viz.Int(lost), viz.Int(lostBytes), viz.U32(uint32(first)))
		return
	}
	if kept == 0 {
		e.logf("rack_lost", viz.Note, 0, fields,
			"retransmission timeout: the segment at SND.UNA %d and every other unSACKed one were sent more than RACK.rtt %v + reo_wnd %v ago: all %d, %d bytes, are lost (RFC 8985 §6.3)",
			viz.U32(uint32(e.sndUna)), viz.Dur(r.rtt.Round(time.Microsecond)), viz.Dur(reo.Round(time.Microsecond)), viz.Int(lost), viz.Int(lostBytes))
		return
	}
	e.logf("rack_lost", viz.Note, 0, fields,
		"retransmission timeout: RACK marks lost the segment at SND.UNA %d and those sent more than RACK.rtt %v + reo_wnd %v ago, %d segment(s), %d bytes; %d segment(s), %d bytes, sent since may still arrive: they stay in flight and SND.NXT stays at %d (RFC 8985 §6.3)",
		viz.U32(uint32(e.sndUna)), viz.Dur(r.rtt.Round(time.Microsecond)), viz.Dur(reo.Round(time.Microsecond)), viz.Int(lost), viz.Int(lostBytes),
		viz.Int(kept), viz.Int(keptBytes), viz.U32(uint32(e.sndNxt)))
}
