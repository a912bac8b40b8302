package tcp

import (
	"github.com/packetwalk/packetwalk/clock"
	"github.com/packetwalk/packetwalk/ip"
	"github.com/packetwalk/packetwalk/viz"
)

// output sends what the windows allow (RFC 9293 §3.8.6): new data up to
// SND.UNA + SND.WND and up to cwnd in the network, in segments of at most
// the MSS, held back by Nagle's algorithm while a small segment is
// unacknowledged; then our FIN once all data is out. frame is the segment
// that triggered it, for the log.
func (e *Endpoint) output(frame uint64) {
	// Data waits for the handshake: queued writes go out once the
	// connection is synchronized.
	if e.deleted || !e.state.synchronized() {
		return
	}
	e.restartAfterIdle(frame)
	e.noteRewind()
	maxBefore := e.sndMax
	for {
		// After a timeout SND.NXT went back to SND.UNA: do not resend
		// what the peer SACKed.
		if e.sndNxt.LessThan(e.sndMax) {
			e.sndNxt = e.sacked.skip(e.sndNxt)
		}
		// In flight: RFC 6675's pipe (recovery.go), sent and neither
		// acknowledged, SACKed nor lost, plus what was resent.
		inFlight := e.pipe()
		unsent := e.unsentBytes()
		if unsent == 0 {
			break
		}
		// Two limits, kept apart. The peer's window counts every byte
		// beyond SND.UNA, SACKed or not: SACKed data waits in its
		// buffer until the hole before it is filled (RFC 9293
		// §3.8.6.2.1: usable = SND.UNA + SND.WND - SND.NXT). Congestion
		// control counts what is in the network: cwnd less the pipe.
		// The Sender (or the stack's sendableBytes) applies both.
		if e.sendWindowRoom(e.sndNxt) <= 0 && e.cc.Cwnd-inFlight > 0 && e.sacked.total() > 0 {
			e.logWindowLimit(frame)
		}
		room := e.segmentRoom()
		n := e.segmentSize(SendWindow{UNA: e.sndUna, NXT: e.sndNxt, WND: e.sndWnd, Cwnd: e.cc.Cwnd, InFlight: inFlight, MSS: room, Queued: unsent})
		if n <= 0 {
			if e.sndWnd == 0 && !e.outstanding() {
				e.armPersistTimer()
			}
			break
		}
		// Nagle (RFC 896, RFC 1122 §4.2.3.4): while data is in flight,
		// hold a segment smaller than the MSS until the ACK comes, so a
		// program writing a byte at a time sends few tiny segments.
		// TCP_NODELAY turns this off.
		if n < room && n == unsent && inFlight > 0 && !e.opts.NoDelay && !e.finQueued {
			if e.layer.rec.On() {
				e.logf("nagle", viz.Note, frame, []viz.Field{viz.Fv("held", viz.Int(n)), viz.Fv("in_flight", viz.Int(inFlight))},
					"Nagle: holding %d bytes until the %d bytes in flight are acknowledged (TCP_NODELAY would send now)", viz.Int(n), viz.Int(inFlight))
			}
			break
		}
		if n < room && n < unsent {
			// Sender-side silly window avoidance (RFC 9293 §3.8.6.2.1):
			// do not send a small piece of a larger pending write
			// just because the window is small, unless nothing is in
			// flight.
			if inFlight > 0 && n < int(e.maxSndWnd)/2 {
				break
			}
		}
		resend := e.sndNxt.LessThan(e.sndMax)
		if resend {
			// Resending after a timeout: stop at the next SACKed block.
			if _, hole, ok := e.sacked.nextHole(e.sndNxt); ok {
				n = min(n, hole)
			}
		}
		data := e.send.Peek(e.sndNxt, n)
		flags := FlagACK
		if n == unsent {
			flags |= FlagPSH
		}
		// The application has closed and this segment carries the last
		// queued byte: the FIN rides on it (RFC 9293 §3.10.4: the FIN is
		// sent once all preceding SENDs have been segmentized), as
		// Linux's tcp_send_fin and BSD's tcp_output set it on the tail
		// segment, instead of following in a segment of its own.
		fin := n == unsent && !resend && e.finReady()
		refin := resend && e.finRidesAt(e.sndNxt.Add(uint32(len(data))))
		if fin || refin {
			flags |= FlagFIN
		}
		e.sendData(e.sndNxt, flags, data, frame, resend)
		e.sndNxt = e.sndNxt.Add(uint32(len(data)))
		if fin {
			e.finSent, e.ourFinSeq = true, e.sndNxt
		}
		if fin || refin {
			e.sndNxt = e.sndNxt.Add(1)
		}
		if resend {
			// A retransmission (not timed: Karn), counted in the pipe
			// from now on (RFC 6675 §4 SetPipe, HighRxt).
			e.highRxt = MaxSeq(e.highRxtNow(), e.sndNxt)
		}
		if e.sndNxt.GreaterThan(e.sndMax) {
			e.sndMax = e.sndNxt
		}
	}
	e.maybeSendFIN()
	if e.sndMax != maxBefore || e.cc.Cwnd-e.pipe() < e.mss {
		e.cwndValidate(e.cc.Cwnd-e.pipe() < e.mss)
	}
	if e.sndMax != maxBefore {
		e.tlpAfterSend()
	}
}

// cwndValidate remembers, for each window of data, the most bytes
// outstanding and whether cwnd was full (limited: no room for another
// segment), as Linux's tcp_cwnd_validate does after sending: the ACKs of
// a window that used little of cwnd do not grow it (cwndTested).
func (e *Endpoint) cwndValidate(limited bool) {
	flight := int(e.sndMax - e.sndUna)
	if !e.sndUna.LessThan(e.maxFlightSeq) || flight > e.maxFlight || limited {
		e.maxFlight, e.maxFlightSeq, e.cwndLimited = flight, e.sndNxt, limited
	}
}

// cwndTested reports whether the last window used cwnd, so that its ACKs
// may grow it (RFC 7661's validated window, RFC 9438 §5.8): in slow start
// while cwnd is below twice the most that was outstanding (slow start
// doubles a window the application fills), in congestion avoidance when
// cwnd was full. Linux's tcp_is_cwnd_limited.
func (e *Endpoint) cwndTested() bool {
	if e.cc.Cwnd < e.cc.Ssthresh {
		return e.cc.Cwnd < 2*e.maxFlight
	}
	return e.cwndLimited
}

// sendWindowRoom is how much the peer's window still takes from seq on:
// up to SND.UNA + SND.WND (RFC 9293 §3.8.6.2.1), negative if a window the
// peer shrank ends before seq. SACKed bytes are not taken off: they still
// fill the peer's buffer.
func (e *Endpoint) sendWindowRoom(seq Seq) int {
	return int(e.sndUna.Add(e.sndWnd).Sub(seq))
}

// logWindowLimit says why nothing more goes while cwnd has room: the
// peer's window is full, SACKed bytes included (RFC 9293 §3.8.6.2.1).
// Once for each right edge, not on every duplicate ACK.
func (e *Endpoint) logWindowLimit(frame uint64) {
	edge := e.sndUna.Add(e.sndWnd)
	if !e.layer.rec.On() || e.wndLimitLogged && e.wndLimitEdge == edge {
		return
	}
	e.wndLimitEdge, e.wndLimitLogged = edge, true
	e.logf("window_limit", viz.Note, frame, []viz.Field{viz.Fv("snd_wnd", viz.U32(e.sndWnd)), viz.Fv("sacked", viz.Int(e.sacked.total()))},
		"the peer's window ends at %d (SND.UNA + SND.WND) and SND.NXT is %d: cwnd has room, but the %d SACKed bytes still fill the peer's buffer (RFC 9293 §3.8.6.2.1)",
		viz.U32(uint32(e.sndUna.Add(e.sndWnd))), viz.U32(uint32(e.sndNxt)), viz.Int(e.sacked.total()))
}

// outstanding reports whether data other than a zero-window probe awaits
// acknowledgment, condition (b) of a duplicate ACK (RFC 5681 §2), and what
// the retransmission timer watches. While the connection persists (the
// persist timer is armed) SND.NXT stays at SND.UNA and a probe's byte lies
// beyond it, raising SND.MAX only (sendProbe): that byte is not
// outstanding. Otherwise everything up to SND.MAX is, a FIN included.
func (e *Endpoint) outstanding() bool {
	return e.sndMax != e.sndUna && !(e.persistTimer != nil && e.sndNxt == e.sndUna)
}

// unsentBytes is the queued data not yet sent.
func (e *Endpoint) unsentBytes() int {
	end := e.send.End()
	if end.LessEq(e.sndNxt) {
		return 0
	}
	return int(end - e.sndNxt)
}

// finReady reports whether our FIN may go: the application has closed
// (or shut down its sending side) and the FIN is not sent yet.
func (e *Endpoint) finReady() bool {
	return e.finQueued && !e.finSent && (e.state == FinWait1 || e.state == LastAck || e.state == Closing)
}

// finRidesAt reports whether our FIN, already sent, comes right after the
// data that ends at end: a retransmission of that data carries it again,
// as the first copy did.
func (e *Endpoint) finRidesAt(end Seq) bool {
	return e.finSent && end == e.ourFinSeq
}

// maybeSendFIN sends our FIN in a segment of its own once every byte
// before it has been sent (when the last data segment could not carry it:
// the data went before the application closed).
func (e *Endpoint) maybeSendFIN() {
	if !e.finReady() || e.unsentBytes() > 0 {
		return
	}
	e.finSent = true
	e.ourFinSeq = e.sndNxt
	e.sendData(e.sndNxt, FlagFIN|FlagACK, nil, 0, false)
	e.sndNxt = e.sndNxt.Add(1)
	if e.sndNxt.GreaterThan(e.sndMax) {
		e.sndMax = e.sndNxt
	}
}

// segmentRoom is the most data one segment may carry now: the MSS less
// the options it will carry. The MSS counts no TCP options (RFC 6691 §2),
// so the sender makes room for them; a full-size segment with SACK blocks
// would otherwise exceed the MTU, and IP would refuse it (frag_needed).
// The timestamps' 12 bytes, on every segment, are already off e.mss
// (negotiateTimestamps); they still limit the SACK blocks to 3.
func (e *Endpoint) segmentRoom() int {
	if !e.sackOK || e.recv.OutOfOrderRanges() == 0 {
		return e.mss
	}
	var o HeaderOptions
	o.HasTS = e.tsOK
	o.SACKBlocks = e.sackScratch[:min(e.recv.OutOfOrderRanges(), o.SACKRoom())] // only the count matters
	if e.tsOK {
		return e.mss - (o.Len() - tsOptionSpace)
	}
	return e.mss - o.Len()
}

// sendData emits one segment from the send sequence space, with the ACK of
// everything received (piggy-backed: this cancels a pending delayed ACK).
func (e *Endpoint) sendData(seq Seq, flags Flags, data []byte, cause uint64, retransmit bool) {
	h := e.header(seq, flags)
	step, why := "send", "segment"
	if retransmit {
		step, why = "retransmit", "retransmission"
		e.layer.stats.RetransSegs++
	} else if len(data) > 0 && e.ackTimer != nil {
		why = "segment with piggy-backed ACK"
	}
	if retransmit && e.timing && e.timedSeq.InRange(seq, seq.Add(uint32(len(data))+boolInt(flags&(FlagSYN|FlagFIN) != 0))) {
		// The timed segment goes again: its ACK may answer either copy,
		// so it gives no sample (Karn's algorithm, RFC 6298 §3). Every
		// retransmission passes here, whichever recovery sent it.
		e.karn()
	}
	if !retransmit && !e.timing && !e.rttByTimestamps() && (len(data) > 0 || flags&(FlagSYN|FlagFIN) != 0) {
		// Time this segment's round trip (one at a time, RFC 6298 §3;
		// never a retransmitted one: Karn's algorithm). With timestamps
		// every ACK's echo gives a sample instead (timestampRTT).
		e.timing, e.timedSeq, e.timedAt, e.timedRetx = true, seq, e.layer.clock.Now(), false
	}
	if len(data) > 0 || flags&FlagFIN != 0 {
		e.lastDataSent, e.sentData = e.layer.clock.Now(), true
		// Each transmission's time, for RACK (RFC 8985 §6.1), and
		// the bytes PRR counts as sent in recovery (prr_out).
		n := uint32(len(data)) + boolInt(flags&FlagFIN != 0)
		e.sent.record(seq, seq.Add(n), e.layer.clock.Now(), retransmit)
		e.prrSent(int(n))
	}
	e.emit(h, data, step, why)
	if !e.rtxArmed() {
		e.startRetransmitTimer()
	}
}

// header builds a header at seq with the connection's ACK and window.
func (e *Endpoint) header(seq Seq, flags Flags) Header {
	h := Header{SrcPort: e.local.Port(), DstPort: e.remote.Port(), Seq: seq, Flags: flags}
	if flags&FlagACK != 0 {
		h.Ack = e.rcvNxt()
	}
	win := e.rcvWindow()
	if flags&FlagSYN != 0 {
		h.Window = uint16(min(win, 65535)) // never scaled in a SYN (RFC 7323 §2.2)
	} else {
		if flags&FlagACK != 0 {
			win = e.avoidSillyWindow(h.Ack, win)
		}
		h.Window = uint16(min(win>>e.rcvScale, 65535))
		win = int(h.Window) << e.rcvScale
	}
	if flags&FlagACK != 0 {
		e.lastAckSent = h.Ack // Last.ACK.sent (RFC 7323 §4.3)
		e.rcvAdvEnd = h.Ack.Add(uint32(win))
		// What the peer may send is what the field said: a SYN's
		// window is at most 65,535 whatever the buffer holds.
		e.rcvWndEdge, e.rcvWndSent = h.Ack.Add(uint32(h.Window)<<e.rcvScale), true
		if flags&FlagSYN != 0 {
			e.rcvWndEdge = h.Ack.Add(uint32(h.Window))
		}
	}
	// Timestamps first: SACK takes the room they leave (3 blocks with
	// them, 4 without, RFC 2018 §3).
	e.stampTimestamps(&h)
	if e.sackOK && flags&FlagACK != 0 && flags&FlagSYN == 0 {
		if e.recv.OutOfOrderRanges() > 0 || e.dsackPending {
			h.Options.SACKBlocks = e.sackBlocks(h.Options.SACKRoom())
		}
	}
	return h
}

// avoidSillyWindow is the receiver's half of silly window syndrome
// avoidance (RFC 9293 §3.8.6.2.2, a MUST): the right edge of the window
// stays where the last ACK put it until it can move by at least
// min(RCV.BUFF/2, Eff.snd.MSS). Opening a nearly closed window by a few
// bytes each time the application reads a few would invite the sender to
// fill them with as many tiny segments. A window still at least half the
// buffer invites full segments whatever its edge does, so it is offered
// as it is, as Linux's __tcp_select_window does (and the window scale's
// rounding does not show up as a held edge). win is what the buffer
// could take from ack on; the answer is what to offer.
func (e *Endpoint) avoidSillyWindow(ack Seq, win int) int {
	if !e.rcvWndSent || e.mss == 0 || e.finReceived {
		return win // after the peer's FIN no data can come to fill it
	}
	held := int(int32(e.rcvWndEdge - ack)) // the window that keeps the advertised right edge
	if held < 0 || win <= held || held >= e.recv.Cap()/2 {
		return win
	}
	if grow, need := win-held, min(e.recv.Cap()/2, e.mss); grow < need {
		e.logf("sws", viz.Note, 0, nil, "window kept at %d bytes: the free buffer would move its right edge by %d, under the %d that may move it (min(RCV.BUFF/2, MSS), RFC 9293 §3.8.6.2.2: receiver silly window avoidance)", viz.Int(held), viz.Int(grow), viz.Int(need))
		return held
	}
	return win
}

// sackBlocks lists the SACK blocks of an ACK, at most room: a pending
// D-SACK block first, followed by the held range that contains it if
// there is one (RFC 2883 §4, rules 1 and 2), then the held ranges, most
// recently changed first (RFC 2018 §4). A D-SACK is reported once.
func (e *Endpoint) sackBlocks(room int) []SACKBlock {
	held := e.recv.AppendOutOfOrder(e.sackScratch[MaxSACKBlocks:MaxSACKBlocks])
	blocks := e.sackScratch[:0]
	if e.dsackPending {
		e.dsackPending = false
		blocks = append(blocks, e.dsack)
		for i, r := range held {
			if r.Start.LessEq(e.dsack.Start) && e.dsack.End.LessEq(r.End) {
				blocks = append(blocks, r)
				held = append(held[:i:i], held[i+1:]...)
				break
			}
		}
	}
	blocks = append(blocks, held...)
	return blocks[:min(len(blocks), room)]
}

// emit sends a built segment through IP, logging it.
func (e *Endpoint) emit(h Header, data []byte, step, why string) {
	l := e.layer
	frame := l.rec.NewFrameID()
	var seg []byte
	if l.segBusy {
		seg = h.Append(nil, e.local.Addr(), e.remote.Addr(), data)
	} else {
		l.segBuf = h.Append(l.segBuf[:0], e.local.Addr(), e.remote.Addr(), data)
		seg = l.segBuf
		l.segBusy = true
		defer func() { l.segBusy = false }()
	}
	if h.Flags&FlagACK != 0 {
		// Every segment with ACK acknowledges everything received:
		// nothing is left for a delayed ACK.
		e.cancelDelayedACK()
	}
	if l.rec.On() {
		var fields [7]viz.Field
		seg5 := segmentFields(h, len(data))
		n := copy(fields[:], seg5[:])
		if e.cc != nil {
			n += copy(fields[n:], []viz.Field{viz.Fv("cwnd", viz.Int(e.cc.Cwnd)), viz.Fv("snd_wnd", viz.U32(e.sndWnd))})
		}
		var args segArgs
		format := sendLine(why, Segment(seg), e.local.Addr(), e.remote.Addr(), &args)
		l.rec.Stepf(viz.Event{Layer: viz.LayerTCP, Step: step, Verdict: viz.Send, Frame: frame, Conn: e.ID},
			fields[:n],
			format, args.a[:args.n]...)
	}
	l.stats.OutSegs++
	_ = l.net.Send(ip.Outbound{Frame: frame, Src: e.local.Addr(), Dst: e.remote.Addr(), Protocol: ip.ProtocolTCP, Payload: seg, DF: true})
}

// sendSYN sends our SYN (active open) or SYN+ACK (the clone's answer),
// announcing our MSS, window scale, SACK and timestamps (header adds
// them: in a SYN if the host offers them, in a SYN+ACK if the peer's SYN
// did, RFC 7323 §3.2). The options go in Linux's order, "mss 1460,sackOK,
// TS val 1 ecr 0,nop,wscale 7" (options.go).
func (e *Endpoint) sendSYN(withACK bool) {
	flags := FlagSYN
	if withACK {
		flags |= FlagACK
	}
	h := e.header(e.iss, flags)
	h.Options.MSS = uint16(e.ourMSS())
	if !withACK || e.sndScale > 0 || e.rcvScale > 0 {
		h.Options.HasWS, h.Options.WS = true, e.rcvScale
	}
	if !withACK && e.snd == nil || e.sackOK {
		// A connection with a Sender recovers without SACK (contract.go).
		h.Options.SACKPermitted = true
	}
	retransmit := e.rtxArmed() || e.retries > 0
	step, why := "send", "SYN"
	if withACK {
		why = "SYN+ACK"
	}
	if retransmit {
		step = "retransmit"
		e.layer.stats.RetransSegs++
		e.karn() // no RTT sample from a retransmitted SYN
	} else {
		e.timing, e.timedSeq, e.timedAt, e.timedRetx = true, e.iss, e.layer.clock.Now(), false
	}
	e.emit(h, nil, step, why)
	e.restartRetransmitTimer()
}

// sendACK sends a bare ACK at once.
func (e *Endpoint) sendACK(cause uint64, why string) {
	if e.recv == nil {
		return
	}
	e.emit(e.header(e.sndNxt, FlagACK), nil, "send", why)
	e.ackNow = false
	e.unackedSegs = 0
}

// scheduleACK decides when to acknowledge data just received (RFC 1122
// §4.2.3.2, RFC 9293 §3.8.6.3): at once for every second full-size
// segment, else after the delayed-ACK timeout, hoping our own data will
// carry the ACK for free (piggy-backing).
func (e *Endpoint) scheduleACK(in *incoming, n int) {
	if n >= e.mss {
		e.unackedSegs++
	}
	if e.layer.cfg.DelayedACK < 0 || e.unackedSegs >= 2 || in.has(FlagFIN) {
		e.ackNow = true
		return
	}
	if e.ackTimer == nil {
		d := e.layer.cfg.DelayedACK
		if e.layer.rec.On() {
			e.logf("delack", viz.Note, in.frame, []viz.Field{viz.F("timer", "delayed_ack"), viz.Fv("duration", viz.Dur(d))},
				"ACK delayed up to %v, hoping to piggy-back it on data", viz.Dur(d))
		}
		if e.ackFunc == nil {
			e.ackFunc = e.delayedACKTimeout
		}
		e.ackTimer = clock.Rearm(e.layer.clock, &e.ackSpare, d, e.ackFunc)
	}
}

// delayedACKTimeout fires when no data came to carry the ACK.
func (e *Endpoint) delayedACKTimeout() {
	e.ackTimer = nil
	if e.deleted {
		return
	}
	e.logf("delack", viz.Note, 0, nil, "delayed-ACK timer fired: no data to carry it, sending a bare ACK")
	e.sendACK(0, "delayed ACK")
}

// sendPendingACK sends an ACK that must go now and was not piggy-backed.
func (e *Endpoint) sendPendingACK(frame uint64) {
	if e.ackNow && !e.deleted {
		e.sendACK(frame, "ACK")
	}
}

func (e *Endpoint) cancelDelayedACK() {
	if e.ackTimer != nil {
		e.ackTimer.Stop()
		e.ackTimer = nil
	}
	e.ackNow = false
	e.unackedSegs = 0
}

// maybeWindowUpdate tells the peer that reading freed space, when the
// window grew by at least two segments or half the buffer (RFC 9293
// §3.8.6.2.2, receiver-side silly window avoidance), so a sender stalled
// on a zero or small window continues.
func (e *Endpoint) maybeWindowUpdate(before int) {
	if !e.state.synchronized() || e.finReceived {
		return
	}
	now := e.recv.Window()
	advertised := int(e.rcvAdvEnd - e.recv.NextSeq())
	if now-advertised >= min(2*e.mss, e.recv.Cap()/2) {
		e.logf("window", viz.Note, 0, nil, "read() freed space: window update %d -> %d bytes", viz.Int(advertised), viz.Int(now))
		e.sendACK(0, "window update")
	}
}
