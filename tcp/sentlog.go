package tcp

import (
	"sort"
	"time"
)

// The sender's log of what it has sent and not yet had acknowledged: one
// record per segment, with RFC 8985 §5.2's per-segment variables. RACK
// (rack.go) needs to know when each segment was last sent to decide, by
// time, that it was lost; the log also says what is in the network
// (pipe) once RACK has marked segments lost, and a retransmission found
// lost again is simply a segment marked lost a second time.
//
// The log covers SND.UNA to SND.MAX in sequence order. A retransmission
// that covers part of a record splits it, so that every record has one
// transmission time.

// sentSeg is one segment of the log.
type sentSeg struct {
	seq, end Seq // the sequence space it takes (a FIN counts one)
	// xmitTS is Segment.xmit_ts: when it was last sent; order counts
	// the connection's transmissions, to tell apart segments sent at the
	// same instant (rackSentAfter).
	xmitTS time.Duration
	order  uint64
	// retransmitted is Segment.retransmitted: sent more than once, so an
	// ACK of it may answer either copy.
	retransmitted bool
	// lost is Segment.lost: taken for lost and not sent again since. A
	// lost segment is not in the network: pipe leaves it out.
	lost bool
	// sacked: the peer reported holding it (RFC 2018).
	sacked bool
	// fresh: SACKed by the ACK being processed, so RACK counts it as
	// delivered now (rackDelivered clears it).
	fresh bool
}

func (s *sentSeg) len() int { return int(s.end - s.seq) }

// sentLog is the log: segs[head:] are the records, in sequence order.
// Records acknowledged at the front are dropped by moving head, and the
// slice is compacted when head has passed half of it, so that the log
// costs no allocation per segment once it has grown to the window.
type sentLog struct {
	segs   []sentSeg
	head   int
	orders uint64 // transmissions so far
}

// live returns the records, in sequence order.
func (l *sentLog) live() []sentSeg { return l.segs[l.head:] }

// release gives the log's storage back (the connection sends no more).
func (l *sentLog) release() { *l = sentLog{orders: l.orders} }

// appendSeg adds a record at the end, compacting first rather than
// growing when the front has room.
func (l *sentLog) appendSeg(s sentSeg) {
	if len(l.segs) == cap(l.segs) && l.head > 0 {
		n := copy(l.segs, l.segs[l.head:])
		l.segs, l.head = l.segs[:n], 0
	}
	l.segs = append(l.segs, s)
}

// find returns the index in live() of the first record that ends after
// seq (len(live()) if none does).
func (l *sentLog) find(seq Seq) int {
	live := l.live()
	return sort.Search(len(live), func(i int) bool { return live[i].end.GreaterThan(seq) })
}

// split makes seq a record boundary: the record that holds seq in its
// middle becomes two with the same state.
func (l *sentLog) split(seq Seq) {
	i := l.find(seq)
	live := l.live()
	if i == len(live) || !live[i].seq.LessThan(seq) {
		return
	}
	second := live[i]
	second.seq = seq
	l.appendSeg(sentSeg{}) // room for one more (may compact: index again)
	live = l.live()
	copy(live[i+2:], live[i+1:len(live)-1])
	live[i+1] = second
	live[i].end = seq
}

// record notes a transmission of [seq, end) at now (RFC 8985 §6.1):
// xmit_ts is now, the segment is no longer lost, and retransmit marks it
// retransmitted. What lies beyond the log is new and is appended.
func (l *sentLog) record(seq, end Seq, now time.Duration, retransmit bool) {
	if !seq.LessThan(end) {
		return
	}
	l.orders++
	live := l.live()
	if n := len(live); n == 0 || !seq.LessThan(live[n-1].end) {
		l.appendSeg(sentSeg{seq: seq, end: end, xmitTS: now, order: l.orders, retransmitted: retransmit})
		return
	}
	if seq.LessThan(live[0].seq) {
		seq = live[0].seq // acknowledged already: nothing to note
	}
	tail := live[len(live)-1].end
	stop := MinSeq(end, tail)
	l.split(seq)
	l.split(stop)
	live = l.live()
	for i := l.find(seq); i < len(live) && live[i].end.LessEq(stop); i++ {
		live[i].xmitTS, live[i].order, live[i].lost = now, l.orders, false
		live[i].retransmitted = true
	}
	if end.GreaterThan(tail) {
		l.appendSeg(sentSeg{seq: tail, end: end, xmitTS: now, order: l.orders, retransmitted: retransmit})
	}
}

// ack drops what the cumulative ACK una covers.
func (l *sentLog) ack(una Seq) {
	live := l.live()
	i := 0
	for i < len(live) && live[i].end.LessEq(una) {
		i++
	}
	l.head += i
	if live = l.live(); len(live) > 0 && live[0].seq.LessThan(una) {
		live[0].seq = una
	}
	if l.head > 0 && l.head >= len(l.segs)/2 {
		n := copy(l.segs, l.segs[l.head:])
		l.segs, l.head = l.segs[:n], 0
	}
}

// sack marks the records that b covers whole SACKed; those not SACKed
// before are fresh. A segment is delivered when all of it is: a block
// that covers part of one (a receiver that SACKs a byte, or a segment
// resent in other pieces) leaves it in flight, as Linux leaves an skb a
// block covers less than an MSS of.
func (l *sentLog) sack(b SACKBlock) {
	live := l.live()
	for i := l.find(b.Start); i < len(live) && live[i].end.LessEq(b.End); i++ {
		if !live[i].sacked && live[i].seq.GreaterEq(b.Start) {
			live[i].sacked, live[i].fresh = true, true
		}
	}
}

// markLost marks every record from seq on lost, SACKed ones excepted: a
// retransmission timeout (goBack) or a rewound SND.NXT (noteRewind) will
// send them again.
func (l *sentLog) markLost(seq Seq) {
	live := l.live()
	for i := l.find(seq); i < len(live); i++ {
		if !live[i].sacked && live[i].seq.GreaterEq(seq) {
			live[i].lost = true
		}
	}
}

// markLostOnRTO is RFC 8985 §6.3's marking on a retransmission timeout:
// the record at una (sent an RTO ago) is lost, and of the others, not
// SACKed, those for which lostNow says their time is up. It counts what
// it marked and what it left in flight, unSACKed and not lost.
func (l *sentLog) markLostOnRTO(una Seq, lostNow func(*sentSeg) bool) (lost, lostBytes, kept, keptBytes int, first Seq) {
	live := l.live()
	for i := range live {
		s := &live[i]
		if s.sacked {
			continue
		}
		if s.lost || s.seq.LessEq(una) || lostNow(s) {
			if lost == 0 {
				first = s.seq
			}
			s.lost = true
			lost++
			lostBytes += s.len()
			continue
		}
		kept++
		keptBytes += s.len()
	}
	return lost, lostBytes, kept, keptBytes, first
}

// pipe is what the log holds in the network: the records neither SACKed
// nor lost. A lost segment sent again is no longer lost and counts once
// (RFC 6675 §4's SetPipe, with RACK's marks for IsLost).
func (l *sentLog) pipe() int {
	n := 0
	for _, s := range l.live() {
		if !s.sacked && !s.lost {
			n += s.len()
		}
	}
	return n
}

// firstLost returns the first run of lost, unSACKed segments below
// below, at most max bytes: what to resend next.
func (l *sentLog) firstLost(below Seq, max int) (Seq, Seq, bool) {
	live := l.live()
	for i := range live {
		s := live[i]
		if !s.seq.LessThan(below) {
			break
		}
		if !s.lost || s.sacked {
			continue
		}
		seq, end := s.seq, MinSeq(s.end, below)
		for _, t := range live[i+1:] {
			if t.seq != end || !t.lost || t.sacked || t.end.GreaterThan(below) || int(t.end-seq) > max {
				break
			}
			end = t.end
		}
		if int(end-seq) > max {
			end = seq.Add(uint32(max))
		}
		return seq, end, true
	}
	return 0, 0, false
}
