package tcp

import (
	"time"

	"github.com/packetwalk/packetwalk/clock"
	"github.com/packetwalk/packetwalk/ip"
	"github.com/packetwalk/packetwalk/viz"
)

// The retransmission timer (RFC 6298 §5), and the two timers of RACK-TLP
// that take its place for a while: the tail loss probe's PTO (tlp.go) and
// RACK's reordering timer (rack.go). RFC 8985 §8 keeps one of the three
// armed at a time, "one timer with an additional state variable
// indicating the type of the timer": rtxTimer, and rtxKind says which.
// rtoDeadline is when the retransmission timer fires, or would fire had a
// PTO or the reordering timer not taken its place: a PTO never waits
// longer (§7.2), and the retransmission timer comes back at it. It is
// zero when no retransmission timer runs or waits (stopped, or fired).

// lossTimer is what the armed rtxTimer is.
type lossTimer uint8

const (
	timerRTO     lossTimer = iota // the retransmission timer (RFC 6298)
	timerPTO                      // the tail loss probe's timeout (RFC 8985 §7.2)
	timerReorder                  // RACK's reordering timer (RFC 8985 §6.2 step 5)
)

func (e *Endpoint) rtxArmed() bool { return e.rtxTimer != nil }

// startRetransmitTimer starts the retransmission timer unless a timer is
// armed (RFC 6298 (5.1): "if the timer is not running").
func (e *Endpoint) startRetransmitTimer() {
	if e.rtxTimer != nil {
		return
	}
	rto := e.rto()
	e.rtoDeadline = e.layer.clock.Now() + rto
	e.armLossTimer(timerRTO, rto)
}

func (e *Endpoint) restartRetransmitTimer() {
	e.stopRetransmitTimer()
	e.startRetransmitTimer()
}

func (e *Endpoint) stopRetransmitTimer() {
	e.cancelLossTimer()
	e.rtoDeadline = 0
}

// cancelLossTimer stops whichever timer is armed; the retransmission
// timer's deadline stays for rearmRTO.
func (e *Endpoint) cancelLossTimer() {
	if e.rtxTimer != nil {
		e.rtxTimer.Stop()
		e.rtxTimer = nil
	}
}

// armLossTimer arms the connection's one loss timer as kind, to fire
// after d, in place of whichever was armed.
func (e *Endpoint) armLossTimer(kind lossTimer, d time.Duration) {
	e.cancelLossTimer()
	if e.rtxFunc == nil {
		e.rtxFunc = e.lossTimerFires
	}
	e.rtxKind = kind
	e.rtxTimer = clock.Rearm(e.layer.clock, &e.rtxSpare, d, e.rtxFunc)
}

// rearmRTO gives the retransmission timer back its place after a PTO or
// the reordering timer held it: it fires when it would have (at once if
// that time has passed). With no deadline waiting (the timer was stopped
// or has fired), it starts afresh (RFC 6298 (5.1)).
func (e *Endpoint) rearmRTO() {
	if e.rtoDeadline == 0 {
		e.cancelLossTimer()
		e.startRetransmitTimer()
		return
	}
	e.armLossTimer(timerRTO, max(e.rtoDeadline-e.layer.clock.Now(), 0))
}

// lossTimerFires runs the expiry of whichever timer was armed.
func (e *Endpoint) lossTimerFires() {
	e.rtxTimer = nil
	if e.deleted {
		return
	}
	if e.rtxKind == timerRTO {
		e.rtoDeadline = 0 // spent
	}
	switch e.rtxKind {
	case timerPTO:
		e.tlpTimeout()
	case timerReorder:
		e.rackTimeout()
	default:
		e.retransmitTimeout()
	}
}

// retransmitTimeout fires when the oldest unacknowledged segment was not
// acknowledged within the RTO: retransmit it, double the RTO (§5.5), and
// collapse the congestion window to one segment (RFC 5681 §3.1). A tail
// loss probe or a recovery under way is abandoned. With RACK only the
// segment at SND.UNA and those whose time is up are taken for lost (RFC
// 8985 §6.3, rackMarkLossesOnRTO); the other recoveries go back and take
// every segment for lost (goBack).
func (e *Endpoint) retransmitTimeout() {
	e.rtxTimer = nil
	if e.deleted {
		return
	}
	if e.windowClosedOnData() {
		e.persistInsteadOfRetransmit()
		return
	}
	limit, pruned := e.layer.cfg.Retries, false
	switch {
	case e.state == SynReceived && e.parent != nil:
		limit, pruned = e.synAckRetryLimit()
	case e.state == SynSent || e.state == SynReceived:
		limit = e.layer.cfg.SynRetries
	}
	e.retries++
	if e.retries > limit {
		e.err = ErrTimedOut
		if pruned {
			e.logf("timer", viz.Note, 0, []viz.Field{viz.F("timer", "retransmit"), viz.Fv("retries", viz.Int(limit))},
				"gave up after %d retransmissions of the SYN+ACK, not %d: the SYN queue is more than half full of half-open connections that had to retransmit, so old ones make room for young ones (RFC 4987 §3.4)",
				viz.Int(limit), viz.Int(e.layer.cfg.SynAckRetries))
		} else {
			e.logf("timer", viz.Note, 0, []viz.Field{viz.F("timer", "retransmit")},
				"gave up after %d retransmissions: connection timed out", viz.Int(limit))
		}
		if e.state == SynSent {
			e.layer.stats.AttemptFails++
		}
		e.Abort()
		e.err = ErrTimedOut
		return
	}
	e.backoffRTO()
	e.karn()
	e.logf("timer", viz.Note, 0, []viz.Field{viz.F("timer", "retransmit"), viz.Fv("rto", viz.Dur(e.rto())), viz.Fv("retries", viz.Int(e.retries))},
		"retransmission timeout (try %d): RTO backs off to %v", viz.Int(e.retries), viz.Dur(e.rto()))
	switch e.state {
	case SynSent:
		e.sendSYN(false)
		return
	case SynReceived:
		e.sendSYN(true)
		return
	}
	flight := int(e.sndMax - e.sndUna)
	rack := e.rackOn()
	if rack {
		// RACK marks what the timeout says is lost (RFC 8985 §6.3), with
		// the reordering window of the state the timer found.
		e.rackMarkLossesOnRTO()
	}
	if e.cc.InRecovery() {
		e.rackRecoveryEnded()
	}
	e.congestionOnTimeout(flight)
	e.prrAbandon()
	e.tlpReset()
	if !rack {
		// Go back to the oldest unacknowledged byte and send again from
		// there, as slow start allows, skipping what the peer SACKed.
		e.goBack()
	}
	if e.finSent && e.sndUna == e.ourFinSeq {
		e.sendData(e.ourFinSeq, FlagFIN|FlagACK, nil, 0, true)
		e.sndNxt = e.ourFinSeq.Add(1)
		return
	}
	e.retransmitOne(0)
	if rack {
		// Then the other lost segments, lowest first, as cwnd allows
		// (Linux's tcp_xmit_retransmit_queue); new data after them.
		e.rackSendLost(0)
	}
	e.output(0)
}

// windowClosedOnData reports whether the peer's window is zero while our
// data awaits acknowledgment: it shrank its window to nothing (RFC 9293
// §3.8.6.2.1 discourages it but a receiver may), so what we sent beyond
// it is not in its buffer, and more would be refused.
func (e *Endpoint) windowClosedOnData() bool {
	return e.sndWnd == 0 && e.state.synchronized() && e.send.End() != e.sndUna
}

// persistInsteadOfRetransmit handles a retransmission timeout in a zero
// window. Resending a segment there is pointless, and no loss is implied,
// so neither the retry count nor cwnd changes: the connection persists
// instead (RFC 9293 §3.8.6.1), as BSD's tcp_output does. SND.NXT goes back
// to SND.UNA, one byte goes at once as the first probe (the RTO that
// expired was its interval, so the next one is twice as long), and the
// persist timer takes over until the window opens.
func (e *Endpoint) persistInsteadOfRetransmit() {
	e.logf("persist", viz.Note, 0, []viz.Field{viz.F("timer", "retransmit")},
		"retransmission timeout with a zero window: probing instead of retransmitting, no retry counted (RFC 9293 §3.8.6.1)")
	e.karn() // what was timed may be resent
	e.sndNxt = e.sndUna
	e.persistBackoff++
	e.sendProbe()
	e.armPersistTimer()
}

// retransmitOne resends the segment at SND.UNA, as much of it as the
// peer's window takes.
func (e *Endpoint) retransmitOne(frame uint64) {
	queued := int(e.send.End() - e.sndUna)
	if queued <= 0 {
		if e.finSent && e.sndUna == e.ourFinSeq {
			e.sendData(e.ourFinSeq, FlagFIN|FlagACK, nil, frame, true)
		}
		return
	}
	n := min(e.segmentRoom(), queued, e.sendWindowRoom(e.sndUna))
	if end, ok := e.sacked.holeEnd(e.sndUna); ok {
		// Only the hole: the peer holds what follows it.
		n = min(n, int(end-e.sndUna))
	}
	if n <= 0 {
		// A retransmission respects the send window like any segment
		// (RFC 9293 §3.8.6.2.1): a closed window is the persist
		// timer's business, not a reason to send a whole segment.
		e.logf("window_limit", viz.Note, frame, []viz.Field{viz.Fv("snd_wnd", viz.U32(e.sndWnd))},
			"retransmission held: the peer's window is closed (SND.WND %d, RFC 9293 §3.8.6.2.1)", viz.U32(e.sndWnd))
		return
	}
	data := e.send.Peek(e.sndUna, n)
	end := e.sndUna.Add(uint32(len(data)))
	flags := FlagACK | FlagPSH
	if e.finRidesAt(end) {
		flags |= FlagFIN
		end = end.Add(1)
	}
	e.sendData(e.sndUna, flags, data, frame, true)
	// Recovery's next hole starts past it, or the next duplicate ACK
	// would send the same segment again.
	e.highRxt = MaxSeq(e.highRxtNow(), end)
	if e.sndNxt.LessThan(end) {
		e.sndNxt = end
	}
	e.stopRetransmitTimer()
	e.startRetransmitTimer()
}

// rttSample measures the round trip of the timed segment.
func (e *Endpoint) rttSample(frame uint64) {
	r := e.layer.clock.Now() - e.timedAt
	e.timing = false
	e.rtt.Sample(r)
	if e.snd != nil {
		e.snd.Sample(r, false)
	}
	if e.layer.rec.On() {
		rs, ss, ros := viz.Dur(r), viz.Dur(e.rtt.SRTT), viz.Dur(e.rto())
		e.logf("rtt", viz.Note, frame, []viz.Field{viz.Fv("rtt", rs), viz.Fv("srtt", ss), viz.Fv("rto", ros), viz.Fv("seq", viz.U32(uint32(e.timedSeq)))},
			"RTT sample %v: SRTT %v, RTO %v", rs, ss, ros)
	}
}

// Congestion control (RFC 5681, NewReno RFC 6582), every change logged so
// that slow start and recovery show in the trace.

func (e *Endpoint) congestionOnAck(in *incoming, acked int) {
	e.ackedForRecovery()
	inRecovery := e.cc.InRecovery()
	if cu := e.cc.Cubic; cu != nil {
		// CUBIC's curve runs on the connection's clock and RTT (RFC
		// 9438 §4.2).
		cu.Now, cu.SRTT = e.layer.clock.Now(), e.rtt.SRTT
	}
	e.cc.AppLimited = !inRecovery && !e.cwndTested()
	ch := e.cc.OnAck(in.hdr.Ack, acked, int(e.sndMax-in.hdr.Ack))
	if ch.Changed() {
		e.logCwnd(in.frame, ch)
		e.appLimitedNoted = false
	} else if e.cc.AppLimited && acked > 0 && !e.appLimitedNoted && e.layer.rec.On() {
		// Once for each stretch of such ACKs: why cwnd stands still.
		e.appLimitedNoted = true
		e.logf("app_limited", viz.Note, in.frame, []viz.Field{viz.Fv("cwnd", viz.Int(e.cc.Cwnd)), viz.Fv("max_flight", viz.Int(e.maxFlight))},
			"cwnd stays %d: at most %d bytes were outstanding in the last window, so its ACKs did not test cwnd and do not grow it (RFC 9438 §5.8, RFC 7661; Linux's tcp_is_cwnd_limited)",
			viz.Int(e.cc.Cwnd), viz.Int(e.maxFlight))
	}
	if inRecovery && !e.cc.InRecovery() {
		e.prrEnd(in.frame)
		e.rackRecoveryEnded()
	}
	switch {
	case ch.Retransmit:
		// A partial ACK in fast recovery: the next hole is lost too
		// (NewReno, RFC 6582 §3.2 step 5).
		e.partialAckRetransmit(in.frame)
	case inRecovery && e.cc.InRecovery() && !e.rackOn():
		// A partial ACK in SACK recovery: PRR sets cwnd, the
		// scoreboard chooses what goes next (RFC 6675 §5 steps B and
		// C). With RACK, rackOnAck does both.
		e.prrOnAck(in.frame, e.deliveredData())
		e.sackRecoverySend(in.frame)
	}
}

// congestionOnDupAck is what a duplicate ACK does to the congestion
// state and what it lets out. kind is the Sender's verdict (ACKDuplicate or ACKThirdDuplicate), or
// ACKOther for the stack's own count (NewReno.OnDupAck).
func (e *Endpoint) congestionOnDupAck(in *incoming, kind ACKKind) {
	if e.rackOn() {
		// RACK decides by time, not by the count (rackOnAck): the
		// duplicate is counted, for the log only.
		e.cc.CountDupAck(int(e.sndMax - e.sndUna))
		e.logDupAck(in)
		return
	}
	inRecovery := e.cc.InRecovery()
	var ch CwndChange
	if kind == ACKOther {
		ch = e.cc.OnDupAck(in.hdr.Ack, e.sndMax, int(e.sndMax-e.sndUna))
	} else {
		ch = e.cc.onDupAck(in.hdr.Ack, e.sndMax, int(e.sndMax-e.sndUna), kind == ACKThirdDuplicate)
	}
	e.logDupAck(in)
	if !inRecovery && !ch.Retransmit && e.sackOK && e.sacked.isLost(e.sndUna, e.mss) {
		// Fewer than three duplicates, but the SACK blocks already put
		// three segments (or ranges) beyond the hole at SND.UNA: it is
		// lost (RFC 6675 §5 step 2, §4 IsLost).
		if lc := e.cc.OnSACKLoss(in.hdr.Ack, e.sndMax); lc.Retransmit {
			e.logf("sack_lost", viz.Note, in.frame, []viz.Field{viz.Fv("dupacks", viz.Int(e.cc.DupAcks)), viz.Fv("sacked", viz.Int(e.sacked.total()))},
				"IsLost(%d): %d bytes SACKed beyond it after %d duplicate ACK(s), more than (DupThresh-1)*SMSS or DupThresh ranges: loss recovery starts (RFC 6675 §5 step 2)",
				viz.U32(uint32(e.sndUna)), viz.Int(e.sacked.total()), viz.Int(e.cc.DupAcks))
			ch = lc
		}
	}
	if ch.Changed() {
		e.logCwnd(in.frame, ch)
	}
	if e.sackOK && e.cc.InRecovery() {
		// PRR paces the recovery from its first ACK (RFC 6937 §3).
		if ch.Retransmit {
			e.prrStart(in.frame, int(e.sndMax-e.sndUna))
		}
		e.prrOnAck(in.frame, e.deliveredData())
	}
	switch {
	case ch.Retransmit:
		e.fastRetransmit(in.frame)
	case inRecovery && e.sackOK:
		// The SACK blocks took the departed segment out of the pipe:
		// send what NextSeg names while cwnd allows (RFC 6675 §5 step C).
		e.sackRecoverySend(in.frame)
	case inRecovery:
		// Each further duplicate inflated cwnd by a segment (RFC 5681
		// §3.2 step 4): let new data out under it.
		e.output(in.frame)
	case e.cc.DupAcks < 3 && !e.sackOK:
		// Limited transmit (RFC 3042): the first two duplicates each
		// let one new segment out, so that a small window still
		// produces the three duplicates fast retransmit needs. With
		// SACK the segments the duplicates SACKed have left the pipe,
		// and output() sends new data in their place under cwnd (RFC
		// 6675 §5 step 3).
		e.limitedTransmit(in.frame)
	}
}

// logDupAck says that a duplicate ACK arrived and what it left in the
// network.
func (e *Endpoint) logDupAck(in *incoming) {
	if !e.layer.rec.On() {
		return
	}
	pipe := e.pipe()
	e.logf("dupack", viz.Note, in.frame, []viz.Field{viz.Fv("count", viz.Int(e.cc.DupAcks)), viz.Fv("sacked", viz.Int(e.sacked.total())),
		viz.Fv("pipe", viz.Int(pipe))},
		"duplicate ACK %d for %d (%d bytes SACKed beyond it, pipe %d, cwnd %d)",
		viz.Int(e.cc.DupAcks), viz.U32(uint32(in.hdr.Ack)), viz.Int(e.sacked.total()), viz.Int(pipe), viz.Int(e.cc.Cwnd))
}

// limitedTransmit sends one new segment if the peer's window has room,
// whatever cwnd says (RFC 3042 §2).
func (e *Endpoint) limitedTransmit(frame uint64) {
	unsent := e.unsentBytes()
	room := int(e.sndWnd) - int(e.sndNxt-e.sndUna)
	n := min(unsent, e.segmentRoom(), room)
	if n <= 0 || e.sndNxt.LessThan(e.sndMax) {
		return
	}
	data := e.send.Peek(e.sndNxt, n)
	e.logf("limited_transmit", viz.Note, frame, nil, "limited transmit: duplicate ACK %d lets one new segment out (RFC 3042)", viz.Int(e.cc.DupAcks))
	e.sendData(e.sndNxt, FlagACK, data, frame, false)
	e.sndNxt = e.sndNxt.Add(uint32(len(data)))
	e.sndMax = MaxSeq(e.sndMax, e.sndNxt)
}

func (e *Endpoint) congestionOnTimeout(flight int) {
	ch := e.cc.OnTimeout(e.sndMax, flight)
	e.logCwnd(0, ch)
}

func (e *Endpoint) logCwnd(frame uint64, ch CwndChange) {
	if !e.layer.rec.On() { // the fields allocate even with nobody listening (BenchmarkSendPath)
		return
	}
	fields := []viz.Field{viz.Fv("cwnd", viz.Int(e.cc.Cwnd)), viz.Fv("ssthresh", ssthreshArg(e.cc.Ssthresh)),
		viz.Fv("from", viz.Int(ch.From)), viz.F("phase", e.cc.Phase())}
	if cu := e.cc.Cubic; cu != nil {
		// The curve's plateau and when it is reached (RFC 9438 §4.2),
		// for a plot of cwnd against W_cubic(t).
		fields = append(fields, viz.Fv("w_max", viz.Int(cu.WMax())), viz.Fv("k", viz.Dur(cu.K().Round(time.Millisecond))))
	}
	var args [6]viz.Arg
	format, n := ch.stepLine(&args)
	e.logf("cwnd", viz.Note, frame, fields, format, args[:n]...)
}

// The persist timer (RFC 9293 §3.8.6.1, RFC 1122 §4.2.2.17): with a zero
// window and data to send, probe the window with one byte so that a lost
// window update cannot deadlock the connection.
//
// It is not the retransmission timer. A probe is not a retransmission:
// its byte lies beyond SND.NXT, so the peer's answers are not duplicate
// ACKs (RFC 5681 §2, outstanding()). Its backoff does not count toward the
// retry limit: a receiver may keep its window closed as long as it likes,
// and while it answers the probes the connection MUST stay open (RFC 1122
// §4.2.2.17). Only probes left unanswered count, as Linux counts them
// (tcp_probe_timer), so that a peer that vanished is given up on after
// Config.Retries of them.

// persistMaxBackoff caps the probes' doubling: at most 64 RTOs apart, and
// never more than the RTO's own cap (DefaultRTOMax), so that a window
// update that was lost is found within a bounded time.
const persistMaxBackoff = 6

func (e *Endpoint) armPersistTimer() {
	if e.persistTimer != nil {
		return
	}
	d := min(e.rtt.RTO()<<min(e.persistBackoff, persistMaxBackoff), e.rtt.rtoMax())
	e.persistTimer = e.layer.clock.AfterFunc(d, e.persistTimeout)
}

// persistTimeout probes the zero window, or gives up when the peer has
// not answered the last Config.Retries probes.
func (e *Endpoint) persistTimeout() {
	e.persistTimer = nil
	if e.deleted || e.sndWnd > 0 || e.unsentBytes() == 0 {
		e.persistBackoff = 0
		return
	}
	if limit := e.layer.cfg.Retries; e.probesUnanswered >= limit {
		e.err = ErrTimedOut
		e.logf("persist", viz.Note, 0, []viz.Field{viz.F("timer", "persist"), viz.Fv("probes", viz.Int(e.probesUnanswered))},
			"gave up after %d zero-window probes without an answer: connection timed out (RFC 1122 §4.2.2.17)", viz.Int(e.probesUnanswered))
		e.Abort()
		e.err = ErrTimedOut
		return
	}
	e.persistBackoff++
	e.sendProbe()
	e.armPersistTimer()
}

// sendProbe sends one byte at SND.NXT into the zero window. The byte is
// data: a peer whose window has opened (its update was lost) keeps it and
// acknowledges it. SND.MAX, the highest sequence number sent, must cover
// it, or that ACK would be refused as one for unsent data (RFC 5961 §5)
// and the window would never be seen to open; SND.NXT stays, so that the
// byte is not outstanding data (BSD's tcp_output keeps SND.NXT the same
// way while it persists).
func (e *Endpoint) sendProbe() {
	e.probesUnanswered++
	data := e.send.Peek(e.sndNxt, 1)
	e.logf("persist", viz.Note, 0, []viz.Field{viz.F("timer", "persist"), viz.Fv("probes", viz.Int(e.probesUnanswered))},
		"zero window: probing with 1 byte (%d unanswered; the peer's answers keep the connection open, RFC 1122 §4.2.2.17)", viz.Int(e.probesUnanswered))
	e.emit(e.header(e.sndNxt, FlagACK), data, "probe", "zero-window probe")
	e.sndMax = MaxSeq(e.sndMax, e.sndNxt.Add(uint32(len(data))))
}

func (e *Endpoint) stopPersistTimer() {
	if e.persistTimer != nil {
		e.persistTimer.Stop()
		e.persistTimer = nil
	}
	e.persistBackoff = 0
}

// Keepalive (RFC 1122 §4.2.3.6): after KeepIdle without a segment from
// the peer, send an ACK with a sequence number it already has, which it
// must answer.

const (
	defaultKeepIdle    = 2 * time.Hour
	keepaliveInterval  = 75 * time.Second
	keepaliveMaxProbes = 9
)

func (e *Endpoint) armKeepalive() {
	if e.keepTimer != nil || !e.opts.KeepAlive {
		return
	}
	idle := e.opts.KeepIdle
	if idle <= 0 {
		idle = defaultKeepIdle
	}
	probes := 0
	var tick func()
	tick = func() {
		e.keepTimer = nil
		if e.deleted || !e.opts.KeepAlive || !e.state.synchronized() {
			return
		}
		since := e.layer.clock.Now() - e.lastRecv
		if since < idle {
			e.keepTimer = e.layer.clock.AfterFunc(idle-since, tick)
			probes = 0
			return
		}
		if probes >= keepaliveMaxProbes {
			e.err = ErrTimedOut
			e.logf("keepalive", viz.Note, 0, nil, "no answer to %d keepalive probes: connection timed out", viz.Int(probes))
			e.Abort()
			e.err = ErrTimedOut
			return
		}
		probes++
		e.logf("keepalive", viz.Note, 0, nil, "idle for %v: keepalive probe %d", viz.Dur(since), viz.Int(probes))
		e.emit(e.header(e.sndUna.Add(^uint32(0)), FlagACK), nil, "keepalive", "keepalive probe")
		e.keepTimer = e.layer.clock.AfterFunc(keepaliveInterval, tick)
	}
	e.keepTimer = e.layer.clock.AfterFunc(idle, tick)
}

// icmpError handles an ICMP error about one of our segments.
func (e *Endpoint) icmpError(m ip.ICMPError) {
	switch {
	case m.Type == uint8(ip.ICMPDestUnreachable) && m.Code == uint8(ip.ICMPFragmentationNeeded) && m.MTU >= 68:
		if mss := e.mssForMTU(m.MTU); mss < e.mss {
			e.logf("pmtu", viz.Note, m.Frame, nil, "path MTU %d: MSS %d -> %d (RFC 1191)", viz.Int(m.MTU), viz.Int(e.mss), viz.Int(mss))
			e.mss = mss
			if e.cc != nil {
				e.cc.MSS = mss
			}
			e.goBack()
			e.output(m.Frame)
		}
	case e.state == SynSent && m.Type == uint8(ip.ICMPDestUnreachable):
		// RFC 1122 §4.2.3.9 lets a soft error abort an opening
		// connection; Linux reports it as the connect() error.
		e.err = ErrConnRefused
		if m.Code != uint8(ip.ICMPPortUnreachable) && m.Code != uint8(ip.ICMPProtocolUnreachable) {
			e.err = ErrNoRoute
		}
		e.logf("icmp", viz.Note, m.Frame, nil, "ICMP destination unreachable during connect: %v", viz.Str(e.err.Error()))
		e.deleteTCB(m.Frame, "ICMP unreachable")
	}
}
