package tcp

import "github.com/packetwalk/packetwalk/viz"

// Proportional Rate Reduction (RFC 6937), how much a SACK connection
// sends during fast recovery. Recovery halves the window (ssthresh =
// FlightSize/2), but how it gets there matters. RFC 6675 sets cwnd =
// ssthresh at once: nothing goes until half of the flight has left, then
// everything at once, and a flight with more losses than that may not
// send at all. RFC 5681's NewReno inflates cwnd with each duplicate ACK,
// which bursts when it deflates. PRR spreads the reduction over the
// recovery's round trip: for every ACK, while pipe is above ssthresh it
// sends ssthresh/RecoverFS of what the ACK delivered (about one segment
// for two delivered, the ACK clock at half rate); once pipe has come down
// to ssthresh (at the end of the recovery, or at once when more was lost
// than the halving takes off) it sends what was delivered and one segment
// more, slow start's pace, up to ssthresh (the reduction bound,
// PRR-SSRB). Linux and FreeBSD use it.
//
//	at the start of recovery:
//	  RecoverFS = FlightSize, prr_delivered = prr_out = 0
//	on every ACK of the recovery:
//	  prr_delivered += DeliveredData (bytes newly ACKed or SACKed)
//	  if pipe > ssthresh:
//	    sndcnt = ceil(prr_delivered * ssthresh / RecoverFS) - prr_out,
//	             rounded up to whole segments
//	  else:
//	    sndcnt = min(ssthresh - pipe, max(prr_delivered - prr_out, DeliveredData) + MSS)
//	  cwnd = pipe + sndcnt
//	on every segment sent in recovery: prr_out += its bytes
//
// The connection's send paths then send while cwnd - pipe has room, so no
// more than sndcnt goes. The `prr` step says when recovery begins, when
// the reduction bound takes over, and what PRR sent when recovery ends;
// not every ACK's sndcnt, which would add a step for every ACK of every
// recovery (half as many again as a lossy transfer's log holds): each
// segment's `send` step carries cwnd, and the arithmetic is the same on
// every ACK.

// prrState is RFC 6937 §3's variables, for one recovery.
type prrState struct {
	active    bool
	recoverFS int  // RecoverFS: FlightSize when recovery began
	delivered int  // prr_delivered: bytes delivered during the recovery
	out       int  // prr_out: bytes sent during the recovery
	bounded   bool // pipe was at or below ssthresh: the reduction bound applies
}

// prrStart begins PRR for a recovery that just started (when the
// connection uses it: NewReno.PRR): recoverFS is FlightSize at the start.
func (e *Endpoint) prrStart(frame uint64, recoverFS int) {
	if !e.cc.PRR || !e.cc.SACK {
		return
	}
	e.prr = prrState{active: true, recoverFS: max(recoverFS, 1)}
	e.logf("prr", viz.Note, frame, []viz.Field{viz.Fv("recover_fs", viz.Int(recoverFS)), viz.Fv("ssthresh", viz.Int(e.cc.Ssthresh))},
		"recovery begins with %d bytes in flight (RecoverFS): PRR brings cwnd down to ssthresh %d, sending %d/%d of what each ACK delivers while pipe > ssthresh (RFC 6937 §3)",
		viz.Int(recoverFS), viz.Int(e.cc.Ssthresh), viz.Int(e.cc.Ssthresh), viz.Int(recoverFS))
}

// prrOnAck sets cwnd for an ACK of the recovery: delivered is its
// DeliveredData (deliveredData). The first ACK of a recovery lets at
// least one segment go, the fast retransmission (RFC 6675 §5 step 4.3;
// Linux's tcp_cwnd_reduction forces it the same way).
func (e *Endpoint) prrOnAck(frame uint64, delivered int) {
	p := &e.prr
	if !p.active {
		return
	}
	p.delivered += max(delivered, 0)
	pipe, ss := e.pipe(), e.cc.Ssthresh
	var sndcnt int
	bounded := pipe <= ss
	if bounded {
		sndcnt = min(ss-pipe, max(p.delivered-p.out, delivered)+e.mss)
	} else {
		sndcnt = int((int64(p.delivered)*int64(ss)+int64(p.recoverFS)-1)/int64(p.recoverFS)) - p.out
		// Round a part of a segment up to a whole one: packetwalk sends
		// whole segments, and a fraction left for the next ACK may wait
		// for an ACK that never comes (the last one of the flight, lost),
		// until the RTO. What goes early is taken off later ACKs' share,
		// since prr_out counts it. Linux computes PRR in segments with
		// the same rounding up (tcp_cwnd_reduction).
		if sndcnt > 0 {
			sndcnt = (sndcnt + e.mss - 1) / e.mss * e.mss
		}
	}
	if p.out == 0 {
		sndcnt = max(sndcnt, e.mss)
	}
	sndcnt = max(sndcnt, 0)
	e.cc.Cwnd = pipe + sndcnt
	if bounded && !p.bounded {
		e.logf("prr", viz.Note, frame, []viz.Field{viz.Fv("prr_delivered", viz.Int(p.delivered)), viz.Fv("prr_out", viz.Int(p.out)),
			viz.Fv("pipe", viz.Int(pipe)), viz.Fv("sndcnt", viz.Int(sndcnt))},
			"pipe %d has come down to ssthresh %d: PRR's reduction bound takes over, sending what each ACK delivers and one segment more (slow start's pace), up to ssthresh; sndcnt %d (prr_delivered %d, prr_out %d; RFC 6937 §3, PRR-SSRB)",
			viz.Int(pipe), viz.Int(ss), viz.Int(sndcnt), viz.Int(p.delivered), viz.Int(p.out))
	}
	p.bounded = bounded
}

// prrSent counts bytes sent during the recovery (prr_out).
func (e *Endpoint) prrSent(n int) {
	if e.prr.active {
		e.prr.out += n
	}
}

// prrEnd closes PRR when recovery ends: cwnd is ssthresh (NewReno's
// OnFullAck), and the step says what the recovery delivered and sent.
func (e *Endpoint) prrEnd(frame uint64) {
	p := &e.prr
	if !p.active {
		return
	}
	p.active = false
	e.logf("prr", viz.Note, frame, []viz.Field{viz.Fv("prr_delivered", viz.Int(p.delivered)), viz.Fv("prr_out", viz.Int(p.out)),
		viz.Fv("recover_fs", viz.Int(p.recoverFS)), viz.Fv("cwnd", viz.Int(e.cc.Cwnd))},
		"recovery ends: %d bytes delivered and %d sent during it (RecoverFS %d); cwnd = ssthresh %d (RFC 6937 §3)",
		viz.Int(p.delivered), viz.Int(p.out), viz.Int(p.recoverFS), viz.Int(e.cc.Cwnd))
}

// prrAbandon forgets PRR when a timeout ends the recovery: slow start
// from one segment takes over (RFC 5681 §3.1).
func (e *Endpoint) prrAbandon() { e.prr.active = false }

// deliveredData is RFC 6937's DeliveredData for the ACK being processed:
// the change in SND.UNA plus the change in SACKed bytes, the bytes the
// ACK says have left the network (processACK notes where both stood).
func (e *Endpoint) deliveredData() int {
	return int(e.sndUna-e.ackUnaBefore) + e.sacked.total() - e.ackSackedBefore
}
