package tcp

// Seq is a TCP sequence or acknowledgement number (RFC 9293 §3.4).
//
// Every byte of data, and the SYN and the FIN, has a sequence number, and the
// numbers live in a 32-bit space that wraps: after 0xffffffff comes 0. A fast
// connection goes round in seconds (at 10 Gb/s, 2^32 bytes take 3.4 s), and
// an ISN chosen near the top wraps within the first few megabytes, so
// sequence numbers must never be compared as plain integers: 0x00000010
// follows 0xfffffff0 even though it is smaller.
//
// RFC 9293 §3.4 compares them "modulo 2^32", and like every stack this file
// does it with serial number arithmetic (RFC 1982): a is before b when the
// distance b-a, computed with wrapping 32-bit subtraction, is positive as a
// signed 32-bit number, i.e. when b lies less than 2^31 ahead of a. Linux's
// before() and after() in include/net/tcp.h are this one line. It works as
// long as everything a connection compares lies within 2^31 of each other;
// windows (at most 2^30 bytes with window scaling, RFC 7323 §2.3) keep it so.
// Two numbers exactly 2^31 apart are each "before" the other: such a pair
// has no order, and a correct connection never meets one.
//
// Go's own + and - on Seq already wrap modulo 2^32, so s+1 and b-a are
// right; it is <, <=, > and >= that must not be used on Seq, nor the builtin
// min and max (use MinSeq and MaxSeq).
type Seq uint32

// Add returns s advanced by n bytes, wrapping past 0xffffffff.
func (s Seq) Add(n uint32) Seq { return s + Seq(n) }

// Sub returns the signed distance from b to s: positive when s is after b.
// s == b.Add(uint32(s.Sub(b))) always holds.
func (s Seq) Sub(b Seq) int32 { return int32(s - b) }

// LessThan reports whether s comes before b in sequence space (s < b).
func (s Seq) LessThan(b Seq) bool { return int32(s-b) < 0 }

// LessEq reports whether s is b or comes before it (s =< b).
func (s Seq) LessEq(b Seq) bool { return int32(s-b) <= 0 }

// GreaterThan reports whether s comes after b in sequence space (s > b).
func (s Seq) GreaterThan(b Seq) bool { return int32(s-b) > 0 }

// GreaterEq reports whether s is b or comes after it (s >= b).
func (s Seq) GreaterEq(b Seq) bool { return int32(s-b) >= 0 }

// InRange reports whether a =< s < b in sequence space: s lies in the
// half-open range that starts at a and ends before b. The range is empty
// when a == b. The test is one unsigned comparison of distances from a,
// which is correct across the wrap for any range shorter than 2^32; it is
// RFC 9293 §3.4's "RCV.NXT =< SEG.SEQ < RCV.NXT+RCV.WND" with b the end.
func (s Seq) InRange(a, b Seq) bool { return uint32(s-a) < uint32(b-a) }

// InWindow reports whether s lies in the size bytes that start at start:
// start =< s < start+size. A window of size 0 holds nothing (RFC 9293
// §3.10.7.4 treats a zero receive window separately: only SEG.SEQ = RCV.NXT
// with no data is acceptable).
func (s Seq) InWindow(start Seq, size uint32) bool { return uint32(s-start) < size }

// MinSeq returns whichever of a and b comes first in sequence space.
func MinSeq(a, b Seq) Seq {
	if a.LessThan(b) {
		return a
	}
	return b
}

// MaxSeq returns whichever of a and b comes last in sequence space.
func MaxSeq(a, b Seq) Seq {
	if a.GreaterThan(b) {
		return a
	}
	return b
}
