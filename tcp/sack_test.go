package tcp

import "testing"

// sb builds a scoreboard from [start, end) pairs relative to base.
func sb(base Seq, r ...[2]int) *scoreboard {
	s := &scoreboard{}
	for _, x := range r {
		s.insert(SACKBlock{base.Add(uint32(x[0])), base.Add(uint32(x[1]))})
	}
	return s
}

// TestScoreboardIsLost: RFC 6675 §4 IsLost, by bytes (more than
// (DupThresh-1)*SMSS SACKed above) or by ranges (DupThresh of them).
func TestScoreboardIsLost(t *testing.T) {
	const mss = 1000
	base := Seq(0xfffff000) // the blocks cross 2^32
	for _, tc := range []struct {
		name   string
		blocks [][2]int
		seq    int
		lost   bool
	}{
		{"nothing SACKed", nil, 0, false},
		{"two segments above", [][2]int{{1000, 3000}}, 0, false},
		{"three segments above", [][2]int{{1000, 4000}}, 0, true},
		{"just over two segments", [][2]int{{1000, 3001}}, 0, true},
		{"three small ranges", [][2]int{{1000, 1100}, {2000, 2100}, {3000, 3100}}, 0, true},
		{"two small ranges", [][2]int{{1000, 1100}, {2000, 2100}}, 0, false},
		{"hole between the ranges", [][2]int{{1000, 4000}, {5000, 6000}}, 4000, false},
		{"hole below three segments", [][2]int{{1000, 2000}, {3000, 6000}}, 2000, true},
	} {
		s := sb(base, tc.blocks...)
		if got := s.isLost(base.Add(uint32(tc.seq)), mss); got != tc.lost {
			t.Errorf("%s: IsLost(%d) = %v, want %v", tc.name, tc.seq, got, tc.lost)
		}
	}
}

// TestScoreboardPipe: RFC 6675 §4 SetPipe. Ten segments of 1000 bytes
// out, segment 0 lost and 1-3 SACKed: 0 is lost (not counted) until it is
// retransmitted (counted once); 4-9 are in flight.
func TestScoreboardPipe(t *testing.T) {
	const mss = 1000
	una := Seq(0xfffffc00)
	max := una.Add(10 * mss)
	s := sb(una, [2]int{1000, 4000})
	if got := s.pipe(una, max, una, mss, 0, false); got != 6*mss {
		t.Errorf("before the retransmission: pipe %d, want %d", got, 6*mss)
	}
	if got := s.pipe(una, max, una.Add(mss), mss, 0, false); got != 7*mss {
		t.Errorf("after it: pipe %d, want %d", got, 7*mss)
	}
	// A hole that is not lost and was retransmitted counts twice: the
	// original may still be on its way.
	s = sb(una, [2]int{1000, 2000})
	if got := s.pipe(una, max, una.Add(mss), mss, 0, false); got != 10*mss {
		t.Errorf("not-lost retransmitted hole: pipe %d, want %d", got, 10*mss)
	}
	// After a timeout everything sent is lost; what is resent counts.
	s = sb(una, [2]int{3000, 4000})
	if got := s.pipe(una, max, una.Add(2*mss), mss, max, true); got != 2*mss {
		t.Errorf("after a timeout: pipe %d, want %d", got, 2*mss)
	}
	// Without SACK blocks, pipe is what is outstanding.
	s = &scoreboard{}
	if got := s.pipe(una, max, una, mss, 0, false); got != 10*mss {
		t.Errorf("no SACK: pipe %d", got)
	}
}

// TestScoreboardNextLost: NextSeg rule 1 takes the first lost hole at or
// above HighRxt; rule 3 any hole below the highest SACKed byte.
func TestScoreboardNextLost(t *testing.T) {
	const mss = 1000
	una := Seq(1000)
	s := sb(una, [2]int{1000, 2000}, [2]int{3000, 6000})
	if seq, n, ok := s.nextLost(una, mss, false); !ok || seq != una || n != mss {
		t.Errorf("rule 1 from SND.UNA: %d %d %v", seq, n, ok)
	}
	if seq, n, ok := s.nextLost(una.Add(mss), mss, false); !ok || seq != una.Add(2*mss) || n != mss {
		t.Errorf("rule 1 past HighRxt: %d %d %v", seq, n, ok)
	}
	if _, _, ok := s.nextLost(una.Add(3*mss), mss, false); ok {
		t.Error("rule 1 above the last hole")
	}
	s = sb(una, [2]int{1000, 2000})
	if _, _, ok := s.nextLost(una, mss, false); ok {
		t.Error("rule 1 with one segment SACKed")
	}
	if seq, _, ok := s.nextLost(una, mss, true); !ok || seq != una {
		t.Errorf("rule 3: %d %v", seq, ok)
	}
	if end, ok := s.holeEnd(una); !ok || end != una.Add(mss) {
		t.Errorf("holeEnd %d %v", end, ok)
	}
}
