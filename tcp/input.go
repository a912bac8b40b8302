package tcp

import (
	"github.com/packetwalk/packetwalk/viz"
)

// segmentArrives is RFC 9293 §3.10.7, SEGMENT ARRIVES, for a segment the
// demux table gave this endpoint. It reads as the RFC does: first by state
// (LISTEN, SYN_SENT), then, for every other state, the numbered checks in
// order: sequence number, RST, SYN, ACK, data, FIN.
func (e *Endpoint) segmentArrives(in *incoming) {
	e.lastRecv = e.layer.clock.Now()
	switch e.state {
	case Listen:
		e.listenArrives(in)
		return
	case SynSent:
		e.synSentArrives(in)
		return
	case Closed:
		e.layer.resetFor(in, e.ID)
		return
	case TimeWait:
		if newer, ok := e.newIncarnation(in); ok {
			// A new connection on this four-tuple (RFC 1122
			// §4.2.2.13, RFC 6191): its SYN starts beyond anything the
			// old one sent, or carries a newer timestamp, so no old
			// duplicate can be confused with it. End TIME_WAIT early
			// and let the listener take it.
			if lst := e.layer.table.LookupListener(in.local); lst != nil {
				if newer == newerSeq {
					e.logf("time_wait", viz.Note, in.frame, nil, "new SYN (seq %d > RCV.NXT %d) reuses the four-tuple: TIME_WAIT ends early",
						viz.U32(uint32(in.hdr.Seq)), viz.U32(uint32(e.rcvNxt())))
				} else {
					e.logf("time_wait", viz.Note, in.frame, nil, "new SYN (TSval %d > TS.Recent %d, RFC 6191 §2) reuses the four-tuple: TIME_WAIT ends early",
						viz.U32(in.hdr.Options.TSVal), viz.U32(e.tsRecent))
				}
				e.deleteTCB(in.frame, "four-tuple reused by a new connection")
				e.layer.demuxStep(in, lst, "listener")
				lst.segmentArrives(in)
				return
			}
		}
	}

	// PAWS (RFC 7323 §5.3 R1) comes before the acceptability test: an
	// old duplicate may well look acceptable by its sequence numbers.
	if e.pawsReject(in) {
		return
	}

	// A SYN at IRS in SYN_RECEIVED ends at RCV.NXT, so it fails the
	// acceptability test below, yet it is expected: without ACK it is
	// the peer's SYN again (our SYN+ACK was lost); with ACK it is the
	// peer's SYN+ACK of a simultaneous open (RFC 9293 Figure 8, line 6),
	// whose ACK completes the open (Linux's tcp_validate_incoming lets it
	// through the same way).
	synOfOpen := false
	if e.state == SynReceived && in.has(FlagSYN) && !in.has(FlagRST) && in.hdr.Seq == e.irs {
		if !in.has(FlagACK) {
			e.logf("syn", viz.Note, in.frame, nil, "retransmitted SYN: sending SYN+ACK again")
			e.sendSYN(true)
			return
		}
		synOfOpen = true
	}

	if e.state == TimeWait && e.timeWaitArrives(in) {
		return
	}

	// First: is the segment acceptable? (§3.10.7.4, the table of four
	// cases: a segment is acceptable if any part of it falls in the
	// receive window.)
	if !synOfOpen && !e.acceptable(in) {
		e.dropf(in.frame, "accept", viz.ReasonSeqOutOfWindow,
			"seq %d..%d is outside the receive window %d..%d", viz.U32(uint32(in.hdr.Seq)), viz.U32(uint32(in.hdr.Seq)+uint32(in.segLen())),
			viz.U32(uint32(e.rcvNxt())), viz.U32(uint32(e.rcvNxt())+uint32(e.acceptWindow())))
		if !in.has(FlagRST) && e.answerInvalid(in, false) {
			if n := uint32(len(in.payload)); n > 0 && e.sackOK && in.hdr.Seq.Add(n).LessEq(e.rcvNxt()) {
				// Data received before, sent again: say so (RFC 2883 §4).
				e.reportDuplicate(in, SACKBlock{in.hdr.Seq, in.hdr.Seq.Add(n)})
			}
			e.sendACK(in.frame, "an unacceptable segment is answered with an ACK")
		}
		return
	}

	// Second: RST (RFC 5961 §3.2): only a RST whose sequence number is
	// exactly RCV.NXT resets; one elsewhere in the window might be a blind
	// attack, so it gets a challenge ACK instead.
	if in.has(FlagRST) {
		if in.hdr.Seq != e.rcvNxt() && !e.layer.cfg.RFC793RST {
			e.challengeACK(in, "RST not at RCV.NXT")
			return
		}
		e.resetArrives(in)
		return
	}

	// Fourth (RFC 5961 §4): a SYN on a synchronized connection is answered
	// with a challenge ACK; a legitimate peer that restarted will then
	// send a RST with the right sequence number.
	if in.has(FlagSYN) && !synOfOpen {
		if e.layer.cfg.RFC793SYN {
			e.synInWindow(in)
			return
		}
		e.challengeACK(in, "SYN on a synchronized connection")
		return
	}

	// Fifth: a segment without ACK is dropped.
	if !in.has(FlagACK) {
		e.dropf(in.frame, "ack", viz.ReasonTCPNoACK, "segment without ACK in %s", viz.Str(e.state.String()))
		return
	}
	if !e.ackArrives(in) {
		return
	}

	// Seventh: the data, in ESTABLISHED, FIN_WAIT_1 and FIN_WAIT_2.
	if len(in.payload) > 0 {
		e.dataArrives(in)
	}
	// Eighth: FIN.
	if in.has(FlagFIN) {
		e.finArrives(in)
	}
	e.output(in.frame)
	e.sendPendingACK(in.frame)
}

// acceptable is the segment acceptability test of RFC 9293 §3.10.7.4:
//
//	Segment Length  Receive Window  Test
//	0               0               SEG.SEQ = RCV.NXT
//	0               >0              RCV.NXT =< SEG.SEQ < RCV.NXT+RCV.WND
//	>0              0               not acceptable
//	>0              >0              RCV.NXT =< SEG.SEQ < RCV.NXT+RCV.WND
//	                                or RCV.NXT =< SEG.SEQ+SEG.LEN-1 < RCV.NXT+RCV.WND
func (e *Endpoint) acceptable(in *incoming) bool {
	seq, n := in.hdr.Seq, uint32(in.segLen())
	nxt, wnd := e.rcvNxt(), uint32(e.acceptWindow())
	switch {
	case n == 0 && wnd == 0:
		return seq == nxt
	case n == 0:
		return seq.InWindow(nxt, wnd)
	case wnd == 0:
		return false
	default:
		return seq.InWindow(nxt, wnd) || seq.Add(n-1).InWindow(nxt, wnd)
	}
}

// rcvNxt is RCV.NXT: the next sequence number expected, counting a FIN.
func (e *Endpoint) rcvNxt() Seq {
	n := e.recv.NextSeq()
	if e.finReceived {
		n = n.Add(1)
	}
	return n
}

// rcvWindow is RCV.WND: what we can still take. After our FIN has been
// received... the window stays what the buffer allows.
func (e *Endpoint) rcvWindow() int {
	w := e.recv.Window()
	if e.finReceived && w == 0 {
		return 0
	}
	return w
}

// acceptWindow is RCV.WND as the acceptability test uses it: the window
// we last advertised, counted from RCV.NXT (RFC 9293 §3.8.6.2.2: a
// receiver must take what it offered, and has offered no more). The
// buffer may have room beyond it (a 1 MiB buffer behind a 65,535-byte
// window field without scaling), but data there was never invited: Linux
// drops it too (tcp_receive_window), and a wider test would widen the
// target of blind injection that RFC 5961 narrows.
func (e *Endpoint) acceptWindow() int {
	if !e.rcvWndSent {
		// No window offered yet (SYN_SENT, or a connection made from a
		// SYN cookie, whose SYN+ACK the listener sent): the buffer's.
		return min(e.rcvWindow(), 65535)
	}
	adv := int32(e.rcvWndEdge - e.rcvNxt())
	if adv < 0 {
		return 0
	}
	return int(adv)
}

// listenArrives handles a segment at a listening socket (§3.10.7.2). A SYN
// is where "How Network Works" ch. 6 happens: the listener is copied into a
// new socket that holds the peer's address and port, a fresh ISN and
// window, and its own buffers; the copy answers SYN+ACK; the listener stays
// in LISTEN for the next client.
func (e *Endpoint) listenArrives(in *incoming) {
	l := e.layer
	switch {
	case in.has(FlagRST):
		e.dropf(in.frame, "listen", viz.ReasonTCPStray, "RST at a listening socket is ignored (RFC 9293 §3.10.7.2)")
		return
	case in.has(FlagACK):
		// An ACK with no connection: it may return one of our SYN
		// cookies (syncookie.go); otherwise the other side thinks a
		// connection exists that does not.
		if l.cfg.SynCookies != SynCookiesOff && e.cookieACK(in) {
			return
		}
		l.resetFor(in, e.ID)
		return
	case !in.has(FlagSYN):
		e.dropf(in.frame, "listen", viz.ReasonTCPStray, "segment without SYN at a listening socket")
		return
	case in.has(FlagFIN):
		// RFC 9293 §3.10.7.2 would open the connection and queue the
		// FIN for after the handshake, but only T/TCP (RFC 1644, now
		// historic, RFC 6247) ever sent SYN with FIN: today it is a
		// scanner's probe (the nmap "Xmas" and OS-fingerprint
		// segments), and Linux discards it (tcp_rcv_state_process,
		// LISTEN: "if (th->fin) goto discard").
		e.dropf(in.frame, "listen", viz.ReasonTCPFlags,
			"SYN with FIN (flags %s) at a listening socket is discarded, as Linux does, where RFC 9293 §3.10.7.2 would queue the FIN: no stack sends it since T/TCP (RFC 1644, historic)", viz.Str(in.hdr.Flags.String()))
		return
	}
	// Backlog: the SYN queue (half-open) and the accept queue (waiting
	// for accept()) are both bounded by listen()'s backlog. A full
	// accept queue refuses the SYN; a full SYN queue, under a SYN flood,
	// is where SYN cookies take over (RFC 4987 §3.6, syncookie.go).
	if len(e.acceptQueue) < e.backlog && l.cfg.SynCookies != SynCookiesOff &&
		(l.cfg.SynCookies == SynCookiesAlways || len(e.synQueue) >= e.backlog) {
		e.sendCookie(in, l.cfg.SynCookies == SynCookiesAlways)
		return
	}
	if len(e.synQueue) >= e.backlog || len(e.acceptQueue) >= e.backlog {
		l.stats.ListenDrops++
		e.dropf(in.frame, "listen", viz.ReasonBacklogFull, "backlog %d full: %d half-open, %d waiting for accept()",
			viz.Int(e.backlog), viz.Int(len(e.synQueue)), viz.Int(len(e.acceptQueue)))
		return
	}

	// The SYN brings the peer's ISN; ours is chosen now (RFC 9293
	// §3.4.1), and our SYN will take one sequence number.
	c := e.cloneListener(in, "listen", func(c *Endpoint) {
		c.irs = in.hdr.Seq
		c.recv.SetNextSeq(in.hdr.Seq.Add(1))
		c.iss = l.isn.isn(l.clock.Now(), c.local, c.remote)
		c.sndUna, c.sndNxt, c.sndMax = c.iss, c.iss.Add(1), c.iss.Add(1)
		c.send.SetStart(c.iss.Add(1))
		c.negotiate(in.hdr, in.frame)
	})
	if c == nil {
		return
	}
	e.synQueue = append(e.synQueue, c)
	if l.rec.On() {
		l.rec.Stepf(viz.Event{Layer: viz.LayerTCP, Step: "listen_clone", Verdict: viz.Pass, Frame: in.frame, Conn: c.ID},
			[]viz.Field{viz.Fv("listener", viz.U64(e.ID)), viz.Fv("remote", viz.AddrPort(c.remote)),
				viz.Fv("isn", viz.U32(uint32(c.iss))), viz.Fv("irs", viz.U32(uint32(c.irs))),
				viz.Fv("window", viz.U32(c.sndWnd)), viz.Fv("mss", viz.Int(c.mss)),
				viz.Fv("sndbuf", viz.Int(c.send.Cap())), viz.Fv("rcvbuf", viz.Int(c.recv.Cap()))},
			"SYN on listener %s -> new socket #%d %s <-> %s", viz.AddrPort(e.local), viz.U64(c.ID), viz.AddrPort(c.remote), viz.AddrPort(c.local))
	}
	c.setState(SynReceived, in.frame, "cloned from the listener on SYN")
	c.sendSYN(true)
}

// cloneListener is the copy itself, the one place both passive opens make
// it: "How Network Works" ch. 6 and RFC 9293 §3.10.7.2 say the SYN copies
// the listener. The copy keeps the listener's options and its parent (for
// the accept queue), takes the four-tuple of the segment, gets its own
// buffers and RTT estimator, and goes into the connection table, where
// the next segment of the four-tuple finds it rather than the listener.
//
// The two callers differ only in where the sequence numbers come from:
// listenArrives takes the peer's ISN from a SYN and chooses ours;
// cookieACK reads both back from the ACK that returns a SYN cookie.
// synchronize sets them (and the MSS), before the peer's window is read,
// which depends on the window scale agreed. step names the drop when the
// four-tuple is already taken; cloneListener then returns nil.
func (e *Endpoint) cloneListener(in *incoming, step string, synchronize func(c *Endpoint)) *Endpoint {
	l := e.layer
	c := l.newEndpoint(e.opts, nil)
	c.parent = e
	c.local, c.remote = in.local, in.remote
	c.initBuffers()
	synchronize(c)
	c.updateWindow(in)
	if err := l.table.AddConn(c); err != nil {
		e.dropf(in.frame, step, viz.ReasonNoSocket, "four-tuple busy: %v", viz.Str(err.Error()))
		return nil
	}
	// The clone's socket comes from the listener's, once, now: the one
	// accept() will return (contract.go, Upper.Cloned).
	if e.upper != nil {
		c.upper = e.upper.Cloned(c)
	}
	l.stats.PassiveOpens++
	return c
}

// enqueueAccept is the accept-queue hand-off, the one place both passive
// opens make it: a clone that reached ESTABLISHED (the handshake's final
// ACK, or the ACK returning a SYN cookie) leaves the listener's SYN queue
// for its accept queue, where accept() takes it, and the listener's socket
// is told a connection is ready. The caller has checked that the accept
// queue has room.
func (e *Endpoint) enqueueAccept(c *Endpoint, frame uint64) {
	e.synQueue = removeEndpoint(e.synQueue, c)
	e.acceptQueue = append(e.acceptQueue, c)
	c.logf("accept_queue", viz.Pass, frame, nil, "socket #%d waits in listener #%d's accept queue (%d/%d)", viz.U64(c.ID), viz.U64(e.ID), viz.Int(len(e.acceptQueue)), viz.Int(e.backlog))
	e.ready(ReadyAccept)
}

// synSentArrives handles a segment after our SYN (§3.10.7.3).
func (e *Endpoint) synSentArrives(in *incoming) {
	h := in.hdr
	// First, the ACK: it must acknowledge our SYN exactly.
	if in.has(FlagACK) && (h.Ack.LessEq(e.iss) || h.Ack.GreaterThan(e.sndNxt)) {
		if !in.has(FlagRST) {
			e.layer.resetFor(in, e.ID)
		}
		e.dropf(in.frame, "ack", viz.ReasonTCPBadACK, "ACK %d does not acknowledge our SYN (ISS %d)", viz.U32(uint32(h.Ack)), viz.U32(uint32(e.iss)))
		return
	}
	// Second, RST: with an acceptable ACK, the peer refused.
	if in.has(FlagRST) {
		if !in.has(FlagACK) {
			e.dropf(in.frame, "rst", viz.ReasonTCPNoACK, "RST without ACK in SYN_SENT is ignored")
			return
		}
		e.err = ErrConnRefused
		e.layer.stats.AttemptFails++
		e.logf("rst", viz.Deliver, in.frame, nil, "connection refused: the peer answered our SYN with RST")
		e.deleteTCB(in.frame, "connection refused")
		return
	}
	if !in.has(FlagSYN) {
		e.dropf(in.frame, "syn", viz.ReasonTCPNoACK, "neither SYN nor RST in SYN_SENT")
		return
	}
	// Fourth, SYN.
	e.irs = h.Seq
	e.recv.SetNextSeq(h.Seq.Add(1))
	e.negotiate(h, in.frame)
	if in.has(FlagACK) {
		e.ackSYN(in)
		e.setState(Established, in.frame, "our SYN was acknowledged and the peer's SYN received")
		e.updateWindow(in)
		e.ackNow = true
		if len(in.payload) > 0 {
			e.dataArrives(in)
		}
		e.output(in.frame)
		e.sendPendingACK(in.frame)
		e.wakeWriters()
		return
	}
	// Simultaneous open (RFC 9293 Figure 8): both sent SYN. Our SYN goes
	// again with the ACK of theirs; the timer restarts for it, so it is
	// not logged as a retransmission.
	e.setState(SynReceived, in.frame, "simultaneous open: the peer's SYN crossed ours")
	e.stopRetransmitTimer()
	e.sendSYN(true)
	if len(in.payload) > 0 || in.has(FlagFIN) {
		// "If there are other controls or text in the segment, queue
		// them for processing after the ESTABLISHED state has been
		// reached" (RFC 9293 §3.10.7.3). Our SYN+ACK acknowledges the
		// SYN alone; the data is acknowledged once it is taken. Linux
		// drops it instead and waits for the retransmission.
		q := *in
		q.payload = append([]byte(nil), in.payload...) // in.payload is ring memory
		e.synText = &q
		e.logf("syn_text", viz.Note, in.frame, []viz.Field{viz.Fv("bytes", viz.Int(len(in.payload))), viz.Fv("fin", viz.Bool(in.has(FlagFIN)))},
			"the peer's SYN carries %d bytes of data%s: queued until the connection is ESTABLISHED (RFC 9293 §3.10.7.3)", viz.Int(len(in.payload)), viz.Str(finNote(in)))
	}
}

// finNote is " and FIN" when the segment carries FIN, for messages.
func finNote(in *incoming) string {
	if in.has(FlagFIN) {
		return " and FIN"
	}
	return ""
}

// synTextArrives processes what the peer's SYN of a simultaneous open
// carried (synSentArrives queued it), now that the handshake's last ACK
// has made the connection ESTABLISHED: its data goes to the receive
// buffer at IRS+1, its FIN after it, as if the segment arrived now.
func (e *Endpoint) synTextArrives(frame uint64) {
	q := e.synText
	e.synText = nil
	q.frame = frame
	e.logf("syn_text", viz.Note, frame, []viz.Field{viz.Fv("bytes", viz.Int(len(q.payload))), viz.Fv("fin", viz.Bool(q.has(FlagFIN)))},
		"ESTABLISHED: the %d bytes%s queued from the peer's SYN are processed now (RFC 9293 §3.10.7.3)", viz.Int(len(q.payload)), viz.Str(finNote(q)))
	if len(q.payload) > 0 {
		e.dataArrives(q)
	}
	if q.has(FlagFIN) {
		e.finArrives(q)
	}
}

// negotiate takes the options of the peer's SYN: its MSS (536 if absent,
// RFC 9293 §3.7.1, and never below minPeerMSS), timestamps (RFC 7323 §3.2,
// which take 12 bytes off every segment), window scaling only if both
// sides offer it (RFC 7323 §2.2), SACK likewise (RFC 2018).
func (e *Endpoint) negotiate(h Header, frame uint64) {
	peerMSS := 536
	if h.Options.MSS != 0 {
		peerMSS = int(h.Options.MSS)
	}
	if peerMSS < minPeerMSS {
		e.logf("mss", viz.Note, frame, []viz.Field{viz.Fv("peer_mss", viz.Int(peerMSS)), viz.Fv("mss", viz.Int(minPeerMSS))},
			"the peer announces MSS %d: raised to the floor of %d bytes (40 of options and 8 of data), as Linux does, so that it cannot make us send segments of a byte or two (RFC 9293 §3.7.1 sets no floor; RFC 6691)",
			viz.Int(peerMSS), viz.Int(minPeerMSS))
		peerMSS = minPeerMSS
	}
	e.mss = min(peerMSS, e.ourMSS())
	e.negotiateTimestamps(h.Options, frame)
	// Congestion state counts in segments of the MSS just agreed.
	e.cc = e.layer.newCongestion(e.mss)
	if h.Options.HasWS {
		e.sndScale = h.Options.WS
	} else {
		e.sndScale, e.rcvScale = 0, 0
	}
	e.sackOK = h.Options.SACKPermitted && e.snd == nil
	// With SACK, loss recovery is RFC 6675's (recovery.go), with RACK-TLP
	// deciding what is lost unless the host chose DupThresh (rack.go).
	e.cc.SACK = e.sackOK
	// PRR paces SACK recovery unless the host asks for RFC 6675's cwnd =
	// ssthresh (prr.go, Config.NoPRR).
	e.cc.PRR = e.sackOK && !e.layer.cfg.NoPRR
}

// minPeerMSS is the smallest MSS we take from a peer: Linux's
// TCP_MIN_SND_MSS, 48 bytes, the 40 bytes TCP options can take and 8 of
// data ("reserve room for full set of TCP options and 8 bytes of data",
// tcp_mtu_to_mss; since Linux 5.2 the default of net.ipv4.tcp_min_snd_mss,
// added after CVE-2019-11479). A peer announcing MSS 1 would otherwise
// make us cut our data into one-byte segments, 40 bytes of headers each:
// an attacker's way to make a server burn its CPU and memory and flood
// the path. 48 rather than the 64 of some accounts: 48 is what Linux
// applies, old kernels and new, and what a capture of Linux shows.
const minPeerMSS = 48

// ackSYN records that the peer acknowledged our SYN.
func (e *Endpoint) ackSYN(in *incoming) {
	e.sndUna = in.hdr.Ack
	e.stopRetransmitTimer()
	synTimedOut := e.retries > 0
	e.retries = 0
	if e.timing {
		e.rttSample(in.frame)
	} else if e.snd != nil {
		e.ambiguousSample(in.hdr.Ack, in.frame)
	}
	// RFC 6298 (5.7): if the timer expired awaiting the ACK of our SYN
	// (or SYN+ACK), the path may be slower than the initial 1 s assumed,
	// and the ACK gave no sample (Karn: it may answer either copy); the
	// RTO for the data starts at 3 s, not at the backed-off SYN timer.
	if synTimedOut && e.rtt.HandshakeRetransmitted() {
		rto := viz.Dur(e.rtt.RTO())
		e.logf("rtt", viz.Note, in.frame, []viz.Field{viz.Fv("rto", rto)},
			"our SYN was retransmitted and no RTT sample was taken: RTO re-initialised to %s for the data (RFC 6298 (5.7))", rto)
	}
}

// updateWindow takes SEG.WND as the send window, scaled except on a SYN
// (RFC 7323 §2.2: the window of a SYN is never scaled).
func (e *Endpoint) updateWindow(in *incoming) {
	w := uint32(in.hdr.Window)
	if !in.has(FlagSYN) {
		w <<= e.sndScale
	}
	e.sndWnd = w
	e.maxSndWnd = max(e.maxSndWnd, w)
	e.sndWl1, e.sndWl2 = in.hdr.Seq, in.hdr.Ack
}

// resetArrives handles a RST at RCV.NXT (§3.10.7.4, second check).
func (e *Endpoint) resetArrives(in *incoming) {
	switch {
	case e.state == SynReceived && e.parent != nil:
		// From a passive open: forget the half-open clone; the listener
		// is still there.
		e.logf("rst", viz.Deliver, in.frame, nil, "RST in SYN_RECEIVED: the half-open socket is discarded")
		e.deleteTCB(in.frame, "reset during the handshake")
	case e.state == SynReceived:
		e.err = ErrConnRefused
		e.deleteTCB(in.frame, "connection refused")
	case e.state == TimeWait:
		e.deleteTCB(in.frame, "RST while closing")
	case e.state == Closing || e.state == LastAck:
		// §3.10.7.4 only says "enter CLOSED"; a socket the application
		// still holds (after shutdown(SHUT_WR)) learns why, as Linux's
		// tcp_reset and FreeBSD report it: ECONNRESET from SO_ERROR.
		e.err = ErrConnReset
		e.logf("rst", viz.Deliver, in.frame, nil, "RST while closing: connection reset by peer")
		e.deleteTCB(in.frame, "RST while closing")
	default:
		e.err = ErrConnReset
		e.layer.stats.EstabResets++
		e.logf("rst", viz.Deliver, in.frame, nil, "connection reset by peer")
		e.deleteTCB(in.frame, "connection reset by peer")
	}
}

// synInWindow is RFC 793's answer to a SYN in the window of a
// synchronized connection (§3.9, "fourth, check the SYN bit"): it is an
// error, so send a reset, report "connection reset" and delete the TCB.
// RFC 5961 §4 replaced it with a challenge ACK, because a blind attacker
// who guesses a sequence number in the window could otherwise kill the
// connection; Config.RFC793SYN brings it back to show that.
func (e *Endpoint) synInWindow(in *incoming) {
	h := Header{SrcPort: e.local.Port(), DstPort: e.remote.Port(), Seq: e.sndNxt, Ack: e.rcvNxt(), Flags: FlagRST | FlagACK}
	e.stampTimestamps(&h)
	e.layer.stats.OutRsts++
	e.layer.sendRaw(e.local.Addr(), e.remote.Addr(), h, nil, e.ID, "rst", "SYN in the window of a synchronized connection (RFC 793 §3.9): RST")
	if e.state != TimeWait {
		// In TIME_WAIT the application has closed: nobody to tell.
		e.err = ErrConnReset
		e.layer.stats.EstabResets++
	}
	e.deleteTCB(in.frame, "SYN in the window (RFC 793)")
}

// challengeACK answers a suspicious RST or SYN with an ACK of where we
// are (RFC 5961 §§3-4): a genuine peer learns our RCV.NXT and can reset
// correctly; a blind attacker gains nothing.
func (e *Endpoint) challengeACK(in *incoming, why string) {
	e.layer.stats.ChallengeACKs++
	e.dropf(in.frame, "challenge_ack", viz.ReasonTCPChallenge, "%s: answered with a challenge ACK (RFC 5961)", viz.Str(why))
	if e.answerInvalid(in, true) {
		e.sendACK(in.frame, "challenge ACK")
	}
}

// ackArrives is the fifth check (§3.10.7.4, "fifth, check the ACK
// field"). It reports whether processing goes on.
func (e *Endpoint) ackArrives(in *incoming) bool {
	h := in.hdr
	if e.state == SynReceived {
		if !(e.sndUna.LessThan(h.Ack) && h.Ack.LessEq(e.sndNxt)) {
			e.layer.resetFor(in, e.ID)
			e.dropf(in.frame, "ack", viz.ReasonTCPBadACK, "ACK %d does not acknowledge our SYN+ACK", viz.U32(uint32(h.Ack)))
			return false
		}
		if p := e.parent; p != nil {
			if len(p.acceptQueue) >= p.backlog {
				// Like Linux with tcp_abort_on_overflow off: keep the
				// clone half-open and let our SYN+ACK be retransmitted.
				e.layer.stats.ListenOverflows++
				e.dropf(in.frame, "ack", viz.ReasonBacklogFull, "accept queue full (%d): the final ACK is ignored", viz.Int(p.backlog))
				return false
			}
		}
		e.ackSYN(in)
		e.updateWindow(in)
		e.setState(Established, in.frame, "the handshake's final ACK arrived")
		if e.synText != nil {
			e.synTextArrives(in.frame)
		}
		if p := e.parent; p != nil {
			p.enqueueAccept(e, in.frame)
		}
		e.wakeWriters()
	}

	// RFC 5961 §5: an ACK for data never sent, or far older than any
	// window, is suspicious.
	if h.Ack.GreaterThan(e.sndMax) {
		e.dropf(in.frame, "ack", viz.ReasonTCPBadACK, "ACK %d acknowledges data not yet sent (SND.NXT %d)", viz.U32(uint32(h.Ack)), viz.U32(uint32(e.sndMax)))
		if e.answerInvalid(in, true) {
			e.sendACK(in.frame, "ACK for unsent data")
		}
		return false
	}
	if h.Ack.LessThan(e.sndUna.Add(-e.maxSndWnd)) {
		e.challengeACK(in, "ACK older than any window")
		return false
	}

	// The segment's timestamp: TS.Recent and an RTT sample from its echo
	// (RFC 7323 §4), before the ACK restarts the retransmission timer.
	e.timestampsOnACK(in)
	e.processACK(in)

	// Our FIN acknowledged?
	finAcked := e.finSent && h.Ack.GreaterEq(e.ourFinSeq.Add(1))
	switch e.state {
	case FinWait1:
		if finAcked {
			e.setState(FinWait2, in.frame, "our FIN was acknowledged")
		}
	case Closing:
		if finAcked {
			e.enterTimeWait(in.frame, "our FIN was acknowledged")
		}
	case LastAck:
		if finAcked {
			e.deleteTCB(in.frame, "our FIN was acknowledged")
			return false
		}
	case TimeWait:
		// A retransmitted FIN means our ACK was lost: ACK again and
		// restart the 2 MSL wait.
		if in.has(FlagFIN) {
			e.ackNow = true
			e.sendPendingACK(in.frame)
			e.enterTimeWait(in.frame, "the peer retransmitted its FIN")
		}
		return false
	}
	return true
}

// processACK takes SEG.ACK and SEG.WND: release acknowledged data, time
// the round trip, grow cwnd, count duplicate ACKs, update the window.
func (e *Endpoint) processACK(in *incoming) {
	h := in.hdr
	// The peer is alive: the zero-window probes it left unanswered so far
	// no longer count toward giving up (RFC 1122 §4.2.2.17).
	e.probesUnanswered = 0
	// Where things stood before this ACK: PRR's DeliveredData
	// (deliveredData) and FlightSize for a recovery it may start.
	e.ackUnaBefore, e.ackSackedBefore = e.sndUna, e.sacked.total()
	priorFlight := int(e.sndMax - e.sndUna)
	newSACK := false
	if e.sackOK && len(h.Options.SACKBlocks) > 0 {
		newSACK = e.sacked.add(h.Options.SACKBlocks, MaxSeq(e.sndUna, h.Ack), e.sndMax)
		e.noteSACKed(h.Options.SACKBlocks, MaxSeq(e.sndUna, h.Ack), e.sndMax)
	}
	rack := e.rackOn()
	if rack {
		// RACK's steps 1-3 for what the ACK delivers, while the log
		// still holds what it acknowledges (RFC 8985 §6.2).
		e.rackDelivered(h, in.frame)
	}
	advanced := e.sndUna.LessThan(h.Ack)
	// A duplicate ACK by RFC 5681 §2's definition, SACK or not: what the
	// tail loss probe's ACK test needs (RFC 8985 §7.4.2).
	ai := e.ackInfo(in)
	dupAck := isDuplicateACK(ai)
	var kind ACKKind
	if e.snd != nil {
		kind = e.snd.OnACK(ai)
	}
	switch {
	case advanced:
		finAcked := e.finSent && h.Ack.GreaterThan(e.ourFinSeq)
		dataAcked := int(h.Ack - e.sndUna)
		if finAcked {
			dataAcked-- // the FIN's sequence number is not data
		}
		e.send.Ack(h.Ack)
		e.sndUna = h.Ack
		e.sacked.ack(h.Ack)
		e.sent.ack(h.Ack)
		if e.sndNxt.LessThan(e.sndUna) {
			e.sndNxt = e.sndUna
		}
		if e.timing && h.Ack.GreaterThan(e.timedSeq) {
			e.rttSample(in.frame)
		} else if e.snd != nil {
			e.ambiguousSample(h.Ack, in.frame)
		}
		e.retries = 0
		e.resetRTOBackoff()
		e.congestionOnAck(in, dataAcked)
		if !e.outstanding() {
			// Nothing left to time, or only a zero-window probe's byte,
			// which is the persist timer's.
			e.stopRetransmitTimer()
		} else {
			e.restartRetransmitTimer()
		}
		if e.layer.rec.On() {
			e.logf("ack", viz.Pass, in.frame, []viz.Field{viz.Fv("acked", viz.Int(int(dataAcked))), viz.Fv("snd_una", viz.U32(uint32(e.sndUna)))},
				"ACK %d: %d bytes acknowledged, %d still in flight", viz.U32(uint32(h.Ack)), viz.Int(int(dataAcked)), viz.Int(int(e.sndMax-e.sndUna)))
		}
		e.wakeWriters()
	case h.Ack == e.sndUna && h.Window == 0 && !e.outstanding() && e.sndMax != e.sndUna:
		// The peer answers our zero-window probe and keeps its window
		// closed. The probe's byte is not outstanding data, so this is
		// no duplicate ACK (RFC 5681 §2): no fast retransmit into a
		// closed window; the persist timer probes again.
		e.logf("persist", viz.Note, in.frame, []viz.Field{viz.F("timer", "persist")},
			"ACK %d, window 0: the peer answers our probe and keeps its window closed; not a duplicate ACK (RFC 5681 §2)", viz.U32(uint32(h.Ack)))
	case e.snd != nil:
		// The Sender says which ACKs are duplicates (RFC 5681 §2) and
		// which is the third (§3.2).
		if kind == ACKDuplicate || kind == ACKThirdDuplicate {
			e.congestionOnDupAck(in, kind)
		}
	case h.Ack == e.sndUna && len(in.payload) == 0 && !in.has(FlagSYN|FlagFIN) && e.outstanding() &&
		e.duplicateACK(in, newSACK):
		e.congestionOnDupAck(in, ACKOther)
	}
	// The send window, from the most recent segment only (SND.WL1/WL2).
	if e.sndWl1.LessThan(h.Seq) || e.sndWl1 == h.Seq && e.sndWl2.LessEq(h.Ack) {
		old := e.sndWnd
		e.updateWindow(in)
		if old == 0 && e.sndWnd > 0 {
			e.logf("window", viz.Note, in.frame, nil, "the peer's window opened again: %d bytes", viz.U32(e.sndWnd))
			e.stopPersistTimer()
		}
	}
	if rack {
		// RACK's loss detection, the tail loss probe's ACK, recovery
		// and the timers (rack.go, RFC 8985 §6.2 steps 4-5, §7.4).
		e.rackOnAck(in, priorFlight, advanced, dupAck)
	}
}

// duplicateACK completes the test of a duplicate ACK for an ACK that does
// not move SND.UNA, carries no data, SYN or FIN, while data other than a
// window probe is outstanding. Without SACK it is RFC 5681 §2's: the
// window is unchanged (the peer got a segment past a hole and
// re-acknowledges the hole's start). With SACK it is RFC 6675 §2's: the
// ACK SACKs bytes not SACKed before, whatever its window; an ACK that
// tells nothing new (a window update, an answer to an out-of-window
// segment or a challenge ACK, RFC 5961) does not count, as in Linux,
// since it says nothing about a segment leaving the network.
func (e *Endpoint) duplicateACK(in *incoming, newSACK bool) bool {
	if e.sackOK {
		return newSACK
	}
	return uint32(in.hdr.Window)<<e.sndScale == e.sndWnd
}

func boolInt(b bool) uint32 {
	if b {
		return 1
	}
	return 0
}

// dataArrives puts the segment's data into the receive buffer (seventh
// check): in order, it is readable at once; beyond a hole, it waits in the
// out-of-order queue and we ACK at once so the sender learns of the hole.
func (e *Endpoint) dataArrives(in *incoming) {
	if !e.state.canReceive() || e.finReceived {
		e.dropf(in.frame, "data", viz.ReasonTCPDataAfterFIN, "data after the peer's FIN is ignored")
		return
	}
	if e.shutRead {
		// Linux answers data after shutdown(SHUT_RD) by... accepting and
		// discarding it; we do the same, acknowledging it.
		e.recv.InsertDetail(in.hdr.Seq, in.payload)
		var scratch [4096]byte
		for e.recv.Readable() > 0 {
			e.recv.Read(scratch[:])
		}
		e.ackNow = true
		return
	}
	seq := in.hdr.Seq
	if in.has(FlagSYN) {
		seq = seq.Add(1)
	}
	before := e.recv.NextSeq()
	hadHoles := e.recv.OutOfOrderRanges() > 0
	ins := e.recv.InsertDetail(seq, in.payload)
	accepted, advanced := ins.Accepted, ins.Advanced
	if ins.HasDSACK && e.sackOK {
		e.reportDuplicate(in, ins.DSACK)
	}
	switch {
	case advanced:
		if e.layer.rec.On() {
			n, next := viz.Int(int(e.recv.NextSeq()-before)), viz.U32(uint32(e.recv.NextSeq()))
			e.logf("data", viz.Deliver, in.frame, []viz.Field{viz.Fv("bytes", n), viz.Fv("rcv_nxt", next)},
				"%d bytes in order: RCV.NXT %d -> %d, %d readable", n, viz.U32(uint32(before)), next, viz.Int(e.recv.Readable()))
		}
		e.wakeReaders()
		e.scheduleACK(in, len(in.payload))
		if hadHoles || e.recv.OutOfOrderRanges() > 0 || e.finPending {
			// RFC 5681 §4.2: ACK at once a segment that fills all or
			// part of a gap, so the sender learns the hole is gone.
			e.ackNow = true
		}
	case accepted > 0:
		e.logf("data", viz.Pass, in.frame, []viz.Field{viz.F("ooo", "true")},
			"%d bytes out of order (seq %d, expected %d): held until the hole is filled", viz.Int(accepted), viz.U32(uint32(seq)), viz.U32(uint32(before)))
		e.ackNow = true
	default:
		e.logf("data", viz.Note, in.frame, nil, "duplicate data (seq %d, already have up to %d): ACK again", viz.U32(uint32(seq)), viz.U32(uint32(before)))
		e.ackNow = true
	}
	if e.finPending && e.recv.NextSeq() == e.finSeq {
		e.acceptFIN(in.frame)
	}
}

// reportDuplicate remembers bytes the peer sent twice, for the first
// SACK block of the next ACK (a D-SACK, RFC 2883 §4): the sender learns
// that its retransmission was not needed (the original was only late, or
// its ACK was lost), which is how a sender can undo a needless cwnd cut
// (RFC 3708) and how a capture shows spurious retransmissions.
func (e *Endpoint) reportDuplicate(in *incoming, b SACKBlock) {
	e.dsack, e.dsackPending = b, true
	e.logf("dsack", viz.Note, in.frame, []viz.Field{viz.Fv("start", viz.U32(uint32(b.Start))), viz.Fv("end", viz.U32(uint32(b.End)))},
		"bytes %d..%d arrived twice: reported in a D-SACK block (RFC 2883 §4)", viz.U32(uint32(b.Start)), viz.U32(uint32(b.End)))
}

// finArrives is the eighth check: the peer will send no more.
func (e *Endpoint) finArrives(in *incoming) {
	if e.finReceived {
		return
	}
	seq := in.hdr.Seq.Add(uint32(len(in.payload)))
	if in.has(FlagSYN) {
		seq = seq.Add(1)
	}
	e.finSeq = seq
	if e.recv.NextSeq() != seq {
		// The FIN came before some of the data: remember it.
		e.finPending = true
		e.logf("fin", viz.Note, in.frame, nil, "FIN at seq %d is beyond a hole; it counts once the data before it arrives", viz.U32(uint32(seq)))
		e.ackNow = true
		return
	}
	e.acceptFIN(in.frame)
}

// acceptFIN moves the state once the peer's FIN is in order.
func (e *Endpoint) acceptFIN(frame uint64) {
	e.finReceived, e.finPending = true, false
	e.ackNow = true
	e.logf("fin", viz.Deliver, frame, nil, "FIN: the peer has finished sending; read() will return EOF after %d bytes", viz.Int(e.recv.Readable()))
	e.wakeReaders()
	switch e.state {
	case SynReceived, Established:
		e.setState(CloseWait, frame, "the peer closed its half (FIN)")
	case FinWait1:
		if e.finSent && e.sndUna.GreaterThan(e.ourFinSeq) {
			e.enterTimeWait(frame, "FIN received after ours was acknowledged")
		} else {
			e.setState(Closing, frame, "simultaneous close: FINs crossed")
		}
	case FinWait2:
		e.enterTimeWait(frame, "the peer's FIN after ours")
	}
}

// enterTimeWait waits 2 MSL before deleting the connection (RFC 9293
// §3.6): long enough for our last ACK to be retransmitted if lost, and for
// old duplicates of this connection to die out before its four-tuple is
// used again.
func (e *Endpoint) enterTimeWait(frame uint64, why string) {
	e.setState(TimeWait, frame, why)
	e.stopRetransmitTimer()
	if e.timeWaitTimer != nil {
		e.timeWaitTimer.Stop()
	}
	d := 2 * e.layer.cfg.MSL
	e.logf("timer", viz.Note, frame, []viz.Field{viz.F("timer", "time_wait"), viz.Fv("duration", viz.Dur(d))},
		"TIME_WAIT for 2 MSL = %v before the four-tuple is free", viz.Dur(d))
	e.timeWaitTimer = e.layer.clock.AfterFunc(d, func() { e.deleteTCB(0, "2 MSL passed") })
}
