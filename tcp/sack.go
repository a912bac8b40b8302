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
