package tcp

import (
	"time"

	"github.com/packetwalk/packetwalk/viz"
)

// Loss recovery with SACK (RFC 6675), the connection's side: how much is
// in the network (pipe), what to send next in recovery (NextSeg), and the
// restart of cwnd after an idle period (RFC 5681 §4.1). NewReno
// (congestion.go) keeps cwnd and ssthresh; the scoreboard (sack.go) keeps
// what the peer holds. Without SACK the connection recovers as RFC 6582's
// NewReno does, one hole per round trip, with an inflated cwnd.
//
// By default RACK (rack.go, RFC 8985) decides which segments are lost, by
// time, in place of IsLost's count of SACKed segments, and its log of sent
// segments (sentlog.go) holds the marks: pipe is then what that log holds
// neither SACKed nor lost, and the lost segments go lowest first
// (rackSendLost) instead of through NextSeg and HighRxt below, which serve
// Config.Recovery = RecoveryDupThresh. Both paths let PRR (prr.go, RFC
// 6937) set cwnd during the recovery.
//
// The variables of RFC 6675 §2 are the connection's own:
//
//	HighACK       SND.UNA
//	HighData      SND.MAX
//	HighRxt       highRxt, one past the highest byte retransmitted: a hole
//	              below it was resent in this recovery and is not resent
//	              again before the RTO
//	RecoveryPoint NewReno.Recover
//	pipe          pipe(), computed when needed

// pipe is what cwnd limits: the bytes thought to be in the network. With
// SACK it is RFC 6675 §4's SetPipe over the scoreboard; without, RFC
// 5681's FlightSize, SND.NXT - SND.UNA (after a timeout SND.NXT went back,
// so what is being resent counts, not what was lost).
//
// With RACK (rack.go) the log of sent segments knows which segments RACK
// marked lost, and which were sent again since: pipe is what it holds
// neither SACKed nor lost (sentLog.pipe).
func (e *Endpoint) pipe() int {
	if !e.sackOK {
		return int(e.sndNxt - e.sndUna)
	}
	if e.rackOn() {
		return e.sent.pipe()
	}
	return e.sacked.pipe(e.sndUna, e.sndMax, e.highRxtNow(), e.mss, e.lostTo, e.lostToSet)
}

// highRxtNow is HighRxt kept inside [SND.UNA, SND.MAX]: SND.UNA before
// the first retransmission, or once the ACKs have passed it.
func (e *Endpoint) highRxtNow() Seq {
	if e.highRxt.LessThan(e.sndUna) || e.highRxt.GreaterThan(e.sndMax) {
		return e.sndUna
	}
	return e.highRxt
}

// goBack makes the connection send again from SND.UNA after a
// retransmission timeout (or a smaller path MTU): every byte sent so far
// is taken for lost, as Linux's tcp_enter_loss marks it (RFC 6675 §5.1
// leaves the choice), so it leaves the pipe until it is sent again; and
// HighRxt restarts, since after a timeout a hole may be resent once more.
// The scoreboard is kept: SACKed bytes are not sent again (RFC 6675 §5.1).
func (e *Endpoint) goBack() {
	e.sndNxt = e.sndUna
	e.highRxt = e.sndUna
	e.lostTo, e.lostToSet = e.sndMax, e.sndMax != e.sndUna
	e.sent.markLost(e.sndUna)
}

// noteRewind gives the same accounting to any other way SND.NXT went back
// below SND.MAX (a window the peer shrank to zero, persist in timers.go;
// a zero-window probe's byte sent beyond SND.NXT): what lies beyond
// SND.NXT will be sent again, so it is taken for lost, not counted in the
// pipe, which would otherwise hold the resending back until the RTO.
func (e *Endpoint) noteRewind() {
	if e.sndNxt.LessThan(e.sndMax) && !e.lostToSet {
		e.lostTo, e.lostToSet = e.sndMax, true
		e.sent.markLost(e.sndNxt)
	}
}

// ackedForRecovery keeps the recovery variables inside the window when an
// ACK moves SND.UNA: HighRxt and the timeout's loss mark are forgotten
// once the ACK passes them, before the sequence space wraps round to them.
// The recovery that followed a timeout ends there (RACK counts it, RFC
// 8985 §6.2 step 4).
func (e *Endpoint) ackedForRecovery() {
	e.highRxt = e.highRxtNow()
	if e.lostToSet && e.lostTo.LessEq(e.sndUna) {
		e.lostToSet = false
		e.rackRecoveryEnded()
	}
}

// fastRetransmit is RFC 6675 §5 step 4 (RFC 5681 §3.2 step 3 without
// SACK): the segment at SND.UNA goes again at once, whatever cwnd says,
// HighRxt is set past it, and with SACK step (C) may send more.
//
// One exception: after a timeout, NextSeg resends the holes (RFC 6675
// §5.1), and the segment at SND.UNA may have gone again just before the
// ACK that ended the timeout's recovery and the one that starts this one.
// HighRxt still covers it then, and it is not resent a second time: only
// the timer resends a hole twice (RFC 6675 §4, NextSeg rule 1).
func (e *Endpoint) fastRetransmit(frame uint64) {
	e.karn() // the retransmitted segment is not timed
	if e.sackOK && e.highRxtNow().GreaterThan(e.sndUna) {
		e.logf("next_seg", viz.Note, frame, []viz.Field{viz.Fv("seq", viz.U32(uint32(e.sndUna))), viz.Fv("high_rxt", viz.U32(uint32(e.highRxt)))},
			"the segment at SND.UNA %d was resent after the timeout and is not acknowledged yet (HighRxt %d): not again; NextSeg picks the next hole (RFC 6675 §4)",
			viz.U32(uint32(e.sndUna)), viz.U32(uint32(e.highRxt)))
		e.sackRecoverySend(frame)
		return
	}
	e.highRxt = e.sndUna
	e.retransmitOne(frame)
	if e.sackOK {
		e.sackRecoverySend(frame)
	}
}

// sackRecoverySend is RFC 6675 §5 step (C), for every ACK in SACK
// recovery: while cwnd - pipe >= 1 SMSS, send what NextSeg (§4) names.
//
//	rule 1  the first hole above HighRxt that IsLost declares lost
//	rule 2  new data, if the peer's window takes it: output() sends it,
//	        after this, under the same cwnd - pipe
//	rule 3  else the first hole above HighRxt below the highest SACKed
//	        byte, lost or not
//
// A hole below HighRxt was resent in this recovery and is never chosen:
// sending it again would put a second copy beside one still on its way
// (the peer would report it with a D-SACK, RFC 2883). If the retransmission
// is lost too, the RTO repairs it. Rule 4 (the rescue retransmission) is
// left out, as Linux leaves it.
func (e *Endpoint) sackRecoverySend(frame uint64) {
	for e.cc.Cwnd-e.pipe() >= e.mss {
		from := e.highRxtNow()
		seq, n, ok := e.sacked.nextLost(from, e.mss, false)
		rule := "rule 1: lost (IsLost)"
		if !ok {
			if e.unsentBytes() > 0 && e.sendWindowRoom(e.sndNxt) > 0 {
				return // rule 2: new data, sent by output()
			}
			if seq, n, ok = e.sacked.nextLost(from, e.mss, true); !ok {
				return
			}
			rule = "rule 3: no new data to send, the hole is below SACKed data"
		}
		if !e.retransmitHole(seq, n, frame, rule) {
			return
		}
	}
}

// retransmitHole resends up to one segment of the hole at seq (n bytes
// long, up to the next SACKed block) and moves HighRxt past it; it
// reports whether anything went.
func (e *Endpoint) retransmitHole(seq Seq, n int, frame uint64, rule string) bool {
	// A retransmission stays inside the peer's window too (RFC 9293
	// §3.8.6.2.1).
	n = min(n, e.segmentRoom(), e.sendWindowRoom(seq))
	if n <= 0 {
		return false
	}
	data := e.send.Peek(seq, n)
	if len(data) == 0 {
		return false
	}
	end := seq.Add(uint32(len(data)))
	if e.layer.rec.On() {
		e.logf("next_seg", viz.Note, frame, []viz.Field{viz.Fv("seq", viz.U32(uint32(seq))), viz.Fv("len", viz.Int(len(data))),
			viz.Fv("pipe", viz.Int(e.pipe())), viz.Fv("cwnd", viz.Int(e.cc.Cwnd))},
			"NextSeg %s: resend %d..%d, pipe %d < cwnd %d; HighRxt -> %d (RFC 6675 §4, §5 step C)",
			viz.Str(rule), viz.U32(uint32(seq)), viz.U32(uint32(end)), viz.Int(e.pipe()), viz.Int(e.cc.Cwnd), viz.U32(uint32(end)))
	}
	flags := FlagACK
	if e.finRidesAt(end) {
		flags |= FlagFIN
		end = end.Add(1)
	}
	e.sendData(seq, flags, data, frame, true)
	e.highRxt = end
	return true
}

// partialAckRetransmit is RFC 6582 §3.2 step 5 without SACK: after a
// partial ACK the first unacknowledged segment is resent, unless this
// recovery resent it already (it lies below HighRxt).
func (e *Endpoint) partialAckRetransmit(frame uint64) {
	if e.sndUna.LessThan(e.highRxtNow()) {
		e.logf("next_seg", viz.Note, frame, []viz.Field{viz.Fv("high_rxt", viz.U32(uint32(e.highRxt)))},
			"partial ACK: the segment at %d was resent in this recovery already (HighRxt %d): not again (RFC 6675 §4)",
			viz.U32(uint32(e.sndUna)), viz.U32(uint32(e.highRxt)))
		return
	}
	e.retransmitOne(frame)
}

// restartAfterIdle is RFC 5681 §4.1's restart window: before sending into
// an empty network after more than an RTO without sending data, cwnd goes
// back to min(IW, cwnd). The ACK clock has stopped and what cwnd learned
// about the path is old; Linux does the same (tcp_slow_start_after_idle).
func (e *Endpoint) restartAfterIdle(frame uint64) {
	if e.sndUna != e.sndMax || !e.sentData || e.unsentBytes() == 0 {
		return
	}
	idle := e.layer.clock.Now() - e.lastDataSent
	rto := e.rto()
	if idle <= rto || e.cc.Cwnd <= e.cc.Initial {
		return
	}
	ch := e.cc.OnIdle()
	e.logf("idle_restart", viz.Note, frame, []viz.Field{viz.Fv("idle", viz.Dur(idle.Round(time.Microsecond))), viz.Fv("rto", viz.Dur(rto))},
		"nothing sent for %v, more than the RTO %v: cwnd restarts at min(IW, cwnd) = %d (RFC 5681 §4.1)",
		viz.Dur(idle.Round(time.Microsecond)), viz.Dur(rto), viz.Int(e.cc.Cwnd))
	e.logCwnd(frame, ch)
}
