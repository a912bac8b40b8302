package reassembly

import "math"

// infinity is RFC 815's "infinity": the last byte of the last hole while the
// fragment with More Fragments = 0 has not arrived, because until then
// nothing says how long the datagram is.
const infinity = math.MaxInt

// hole is one RFC 815 hole descriptor: payload bytes first..last (both
// inclusive) are missing.
type hole struct {
	first, last int
}

// fill is RFC 815 §3's algorithm for a fragment holding bytes first..last
// (inclusive); more is its More Fragments flag. It returns the holes left:
//
//  1. select the next hole descriptor; none left: go to step 8;
//  2. if fragment.first > hole.last, go to step 1;
//  3. if fragment.last < hole.first, go to step 1;
//  4. delete the current entry from the list;
//  5. if fragment.first > hole.first, create a new hole first..fragment.first-1;
//  6. if fragment.last < hole.last and fragment.more, create a new hole
//     fragment.last+1..hole.last;
//  7. go to step 1;
//  8. if the list is empty, the datagram is complete.
func fill(holes []hole, first, last int, more bool) []hole {
	// TODO
	return holes
}
