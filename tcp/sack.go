package tcp

// The sender's SACK scoreboard (RFC 2018, RFC 6675): which bytes beyond
// SND.UNA the peer says it holds. With it, a duplicate ACK that reports new
// SACKed data counts even when the peer's window changed, the sender
// retransmits the holes the peer reports instead of only SND.UNA, and after
// a timeout it does not resend what the peer already has.

// scoreboard is a sorted list of disjoint SACKed ranges above SND.UNA.
type scoreboard struct {
	blocks []SACKBlock
}

// add merges blocks reported by an ACK, keeping only what lies in
// (una, max]; it reports whether anything new was SACKed.
func (s *scoreboard) add(blocks []SACKBlock, una, max Seq) bool {
	grew := false
	for _, b := range blocks {
		if b.Start.LessThan(una) {
			b.Start = una
		}
		if b.End.GreaterThan(max) {
			b.End = max
		}
		if !b.Start.LessThan(b.End) {
			continue // outside the window: stale or bogus (RFC 2883 D-SACK included)
		}
		if s.insert(b) {
			grew = true
		}
	}
	return grew
}

// insert merges one block; it reports whether it covered new bytes.
func (s *scoreboard) insert(b SACKBlock) bool {
	covered := 0
	out := s.blocks[:0:0]
	placed := false
	for _, x := range s.blocks {
		switch {
		case x.End.LessThan(b.Start):
			out = append(out, x)
		case b.End.LessThan(x.Start):
			if !placed {
				out = append(out, b)
				placed = true
			}
			out = append(out, x)
		default: // overlapping or adjacent: merge into b
			lo, hi := MaxSeq(x.Start, b.Start), MinSeq(x.End, b.End)
			if lo.LessThan(hi) {
				covered += int(hi - lo)
			}
			b.Start, b.End = MinSeq(x.Start, b.Start), MaxSeq(x.End, b.End)
		}
	}
	if !placed {
		out = append(out, b)
	}
	s.blocks = out
	return covered < int(b.End-b.Start) && s.total() > 0
}

// ack drops what the cumulative ACK now covers.
func (s *scoreboard) ack(una Seq) {
	out := s.blocks[:0]
	for _, x := range s.blocks {
		if x.End.LessEq(una) {
			continue
		}
		if x.Start.LessThan(una) {
			x.Start = una
		}
		out = append(out, x)
	}
	s.blocks = out
}

func (s *scoreboard) reset() { s.blocks = s.blocks[:0] }

func (s *scoreboard) total() int {
	n := 0
	for _, x := range s.blocks {
		n += int(x.End - x.Start)
	}
	return n
}

// sackedBelow counts SACKed bytes before seq.
func (s *scoreboard) sackedBelow(seq Seq) int {
	n := 0
	for _, x := range s.blocks {
		if !x.Start.LessThan(seq) {
			break
		}
		n += int(MinSeq(x.End, seq) - x.Start)
	}
	return n
}

// skip returns seq, or the end of the SACKed block containing it.
func (s *scoreboard) skip(seq Seq) Seq {
	for _, x := range s.blocks {
		if seq.GreaterEq(x.Start) && seq.LessThan(x.End) {
			return x.End
		}
	}
	return seq
}

// nextHole returns the first byte at or after from that is not SACKed and
// lies below the highest SACKed byte (so the peer has reported data beyond
// it: RFC 6675's notion of a lost segment, simplified), and how long the
// hole is.
func (s *scoreboard) nextHole(from Seq) (Seq, int, bool) {
	from = s.skip(from)
	for _, x := range s.blocks {
		if from.LessThan(x.Start) {
			return from, int(x.Start - from), true
		}
		if from.LessThan(x.End) {
			from = x.End
		}
	}
	return 0, 0, false
}

// highestSACKed is the end of the highest SACKed block, the upper bound
// of RFC 6675's holes (a byte above every SACKed one is not known to be
// missing); ok is false with no block.
func (s *scoreboard) highestSACKed() (Seq, bool) {
	if len(s.blocks) == 0 {
		return 0, false
	}
	return s.blocks[len(s.blocks)-1].End, true
}

// lostBelow is where RFC 6675 §4's IsLost changes its answer: an unSACKed
// byte below the returned sequence number is lost, one at or above it is
// not (ok is false when no byte is lost). IsLost(S) holds when DupThresh
// discontiguous SACKed ranges, or more than (DupThresh - 1) * SMSS SACKed
// bytes, lie above S; counting from the top, the block at which the
// ranges or bytes first suffice marks the edge. Reordering by fewer than
// DupThresh segments does not reach it.
func (s *scoreboard) lostBelow(mss int) (Seq, bool) {
	ranges, bytes := 0, 0
	for i := len(s.blocks) - 1; i >= 0; i-- {
		x := s.blocks[i]
		ranges++
		bytes += int(x.End - x.Start)
		if ranges >= dupAckThreshold || bytes > (dupAckThreshold-1)*mss {
			return x.Start, true
		}
	}
	return 0, false
}

// isLost is RFC 6675 §4 IsLost(seq) for an unSACKed seq.
func (s *scoreboard) isLost(seq Seq, mss int) bool {
	edge, ok := s.lostBelow(mss)
	return ok && seq.LessThan(edge)
}

// pipe is RFC 6675 §4 SetPipe: the bytes between una (HighACK) and
// highData (SND.MAX) thought to be in the network. Each unSACKed byte
// counts once if it is not lost (its original transmission may still be
// on its way), and once more if it was retransmitted (below highRxt, one
// past the highest byte retransmitted): a lost byte sent again counts
// once, a lost one not yet resent not at all. SACKed bytes have left the
// network. lostTo, when after, also declares lost every byte below it
// (after a timeout: see Endpoint.lostTo).
func (s *scoreboard) pipe(una, highData, highRxt Seq, mss int, lostTo Seq, after bool) int {
	edge, lost := s.lostBelow(mss)
	if after && (!lost || lostTo.GreaterThan(edge)) {
		edge, lost = lostTo, true
	}
	if !lost {
		edge = una
	}
	n := 0
	count := func(a, b Seq) { // a hole [a, b)
		if !a.LessThan(b) {
			return
		}
		if lo := MaxSeq(a, edge); lo.LessThan(b) {
			n += int(b - lo) // not lost
		}
		if hi := MinSeq(b, highRxt); a.LessThan(hi) {
			n += int(hi - a) // retransmitted
		}
	}
	from := una
	for _, x := range s.blocks {
		if !x.End.GreaterThan(from) {
			continue
		}
		if x.Start.GreaterEq(highData) {
			break
		}
		count(from, x.Start)
		from = x.End
	}
	count(from, highData)
	return n
}

// nextLost is RFC 6675 §4 NextSeg rule 1: the first unSACKed byte at or
// above from that IsLost declares lost and that lies below the highest
// SACKed byte, and how many bytes of the hole follow it (up to the next
// SACKed block). With rescue set it is rule 3 instead: the loss test is
// left out, and any hole below the highest SACKed byte qualifies.
func (s *scoreboard) nextLost(from Seq, mss int, rescue bool) (Seq, int, bool) {
	seq, n, ok := s.nextHole(from)
	if !ok || rescue {
		return seq, n, ok
	}
	edge, lost := s.lostBelow(mss)
	if !lost || !seq.LessThan(edge) {
		return 0, 0, false
	}
	return seq, n, true
}

// holeEnd is where the hole that starts at seq ends: the start of the
// next SACKed block above it, or ok false when none is above.
func (s *scoreboard) holeEnd(seq Seq) (Seq, bool) {
	for _, x := range s.blocks {
		if x.Start.GreaterThan(seq) {
			return x.Start, true
		}
	}
	return 0, false
}
