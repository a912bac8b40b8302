package tcp

import (
	"math"
	"testing"
)

func TestSeqAddWraps(t *testing.T) {
	tests := []struct {
		s    Seq
		n    uint32
		want Seq
	}{
		{0, 0, 0},
		{0xffffffff, 1, 0},
		{0xfffffff0, 0x20, 0x10},
		{0x80000000, 0x80000000, 0},
		{1000, math.MaxUint32, 999}, // adding 2^32-1 is subtracting 1
	}
	for _, tt := range tests {
		if got := tt.s.Add(tt.n); got != tt.want {
			t.Errorf("%d.Add(%d) = %d, want %d", tt.s, tt.n, got, tt.want)
		}
	}
}

func TestSeqSub(t *testing.T) {
	tests := []struct {
		a, b Seq
		want int32
	}{
		{10, 3, 7},
		{3, 10, -7},
		{0x10, 0xfffffff0, 0x20}, // across the wrap: 0x10 is 32 after 0xfffffff0
		{0xfffffff0, 0x10, -0x20},
		{0, 0xffffffff, 1},
		{0x7fffffff, 0, math.MaxInt32},
		{0x80000000, 0, math.MinInt32}, // 2^31 apart: no order
	}
	for _, tt := range tests {
		got := tt.a.Sub(tt.b)
		if got != tt.want {
			t.Errorf("%#x.Sub(%#x) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
		if back := tt.b.Add(uint32(got)); back != tt.a {
			t.Errorf("%#x.Add(uint32(%d)) = %#x, want %#x", tt.b, got, back, tt.a)
		}
	}
}

func TestSeqCompare(t *testing.T) {
	// Each pair has a before b; the wrap must not change that.
	pairs := []struct{ a, b Seq }{
		{0, 1},
		{1000, 2000},
		{0xffffffff, 0},
		{0xfffffff0, 0x10},
		{0xffff0000, 0x0000ffff},
		{0, 0x7fffffff}, // the farthest b can be ahead and still be after a
		{0x7fffffff, 0xfffffffe},
	}
	for _, p := range pairs {
		a, b := p.a, p.b
		if !a.LessThan(b) || !a.LessEq(b) || a.GreaterThan(b) || a.GreaterEq(b) {
			t.Errorf("%#x vs %#x: LessThan %v LessEq %v GreaterThan %v GreaterEq %v, want a before b",
				a, b, a.LessThan(b), a.LessEq(b), a.GreaterThan(b), a.GreaterEq(b))
		}
		if b.LessThan(a) || b.LessEq(a) || !b.GreaterThan(a) || !b.GreaterEq(a) {
			t.Errorf("%#x vs %#x: reversed comparisons disagree", b, a)
		}
		if MinSeq(a, b) != a || MinSeq(b, a) != a || MaxSeq(a, b) != b || MaxSeq(b, a) != b {
			t.Errorf("MinSeq/MaxSeq(%#x, %#x) = %#x/%#x", a, b, MinSeq(a, b), MaxSeq(a, b))
		}
	}
	for _, s := range []Seq{0, 1, 0x7fffffff, 0x80000000, 0xffffffff} {
		if s.LessThan(s) || s.GreaterThan(s) || !s.LessEq(s) || !s.GreaterEq(s) {
			t.Errorf("%#x compared with itself", s)
		}
	}
	// Plain integer comparison gets the wrap wrong; that is the point.
	if a, b := Seq(0xffffffff), Seq(0); !(a > b) || !a.LessThan(b) {
		t.Errorf("0xffffffff should be numerically larger than 0 but before it in sequence space")
	}
}

func TestSeqInRange(t *testing.T) {
	tests := []struct {
		s, a, b Seq
		want    bool
	}{
		{5, 5, 10, true}, // a =< s
		{9, 5, 10, true},
		{10, 5, 10, false}, // s < b
		{4, 5, 10, false},
		{5, 5, 5, false}, // empty range
		// A range across the wrap.
		{0xfffffff0, 0xfffffff0, 0x10, true},
		{0xffffffff, 0xfffffff0, 0x10, true},
		{0, 0xfffffff0, 0x10, true},
		{0xf, 0xfffffff0, 0x10, true},
		{0x10, 0xfffffff0, 0x10, false},
		{0xffffffef, 0xfffffff0, 0x10, false},
		{0x80000000, 0xfffffff0, 0x10, false},
	}
	for _, tt := range tests {
		if got := tt.s.InRange(tt.a, tt.b); got != tt.want {
			t.Errorf("%#x.InRange(%#x, %#x) = %v, want %v", tt.s, tt.a, tt.b, got, tt.want)
		}
		if got := tt.s.InWindow(tt.a, uint32(tt.b-tt.a)); got != tt.want {
			t.Errorf("%#x.InWindow(%#x, %d) = %v, want %v", tt.s, tt.a, uint32(tt.b-tt.a), got, tt.want)
		}
	}
}

func TestSeqInWindow(t *testing.T) {
	tests := []struct {
		s, start Seq
		size     uint32
		want     bool
	}{
		{100, 100, 0, false}, // a zero window holds nothing
		{100, 100, 1, true},
		{101, 100, 1, false},
		{0xffffffff, 0xffffffff, 2, true},
		{0, 0xffffffff, 2, true},
		{1, 0xffffffff, 2, false},
		{0x3fffffff, 0, 1 << 30, true}, // the largest scaled window, RFC 7323 §2.3
		{0x40000000, 0, 1 << 30, false},
		{0xfffffffe, 0, 1 << 30, false}, // just before the start
	}
	for _, tt := range tests {
		if got := tt.s.InWindow(tt.start, tt.size); got != tt.want {
			t.Errorf("%#x.InWindow(%#x, %d) = %v, want %v", tt.s, tt.start, tt.size, got, tt.want)
		}
	}
}
