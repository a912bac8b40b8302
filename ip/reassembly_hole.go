package ip

import (
	"math"
	"slices"
	"strconv"
)

// RFC 815 ("IP Datagram Reassembly Algorithms", D. Clark, 1982) keeps, for
// each datagram being reassembled, a list of hole descriptors: the ranges of
// payload bytes that are still missing. It starts as one hole from 0 to
// "infinity", because nothing says how long the datagram is until its last
// fragment (More Fragments = 0) arrives. Each fragment that arrives fills
// part of a hole, possibly splitting it in two; the datagram is complete
// when the list is empty. RFC 815 §4 stores the descriptors inside the
// holes of the reassembly buffer itself, to need no extra memory; here they
// live in a small slice beside the data, which reads more easily and is
// shown in the step log as is.

// holeInfinity is RFC 815's "infinity": the last byte of the last hole while
// the fragment with More Fragments = 0 has not arrived.
const holeInfinity = math.MaxInt

// hole is one RFC 815 hole descriptor: payload bytes first..last, both
// inclusive as RFC 815 writes them, are missing.
type hole struct {
	first, last int
}

// holeList is a datagram's hole descriptors, kept sorted by first (RFC 815
// needs no order; sorted reads better in the log). Holes never touch: each
// is separated from the next by bytes that are held.
type holeList []hole

// newHoleList is RFC 815 §3's starting point: when reassembly of a datagram
// begins, the whole of it is missing, one hole from zero to infinity.
func newHoleList() holeList { return holeList{{0, holeInfinity}} }

// fill runs RFC 815 §3's algorithm for an arriving fragment holding payload
// bytes first..last (inclusive); more is its More Fragments flag. The
// numbered comments are the RFC's steps.
func (hs holeList) fill(first, last int, more bool) holeList {
	for i := 0; i < len(hs); { // 1. Select the next hole descriptor (none left: step 8).
		h := hs[i]
		if first > h.last { // 2. The fragment lies after this hole.
			i++
			continue
		}
		if last < h.first { // 3. The fragment lies before this hole.
			i++
			continue
		}
		// 4. Delete the current entry from the hole descriptor list; 5 and 6
		// may put back the parts of it that the fragment did not fill.
		var rest [2]hole
		n := 0
		if first > h.first { // 5. A new hole before the fragment.
			rest[n] = hole{h.first, first - 1}
			n++
		}
		// 6. A new hole after the fragment, unless the fragment is the
		// last one: then nothing follows it.
		if last < h.last && more {
			rest[n] = hole{last + 1, h.last}
			n++
		}
		hs = slices.Replace(hs, i, i+1, rest[:n]...)
		// 7. Go to step 1. The holes just made lie outside the fragment,
		// so the search resumes after them.
		i += n
	}
	// 8. An empty list means the datagram is complete; the caller checks.
	return hs
}

// setEnd applies the arrival of the last fragment (More Fragments = 0),
// which tells the payload's length: the hole that ran to infinity now stops
// at end-1, or disappears if the bytes before end are all held. RFC 815 does
// the same in step 6 by not re-creating the infinite hole after a last
// fragment; doing it separately also covers a last fragment whose bytes were
// already held (sent once with MF=1 and again, identical, with MF=0).
func (hs holeList) setEnd(end int) holeList {
	n := len(hs)
	if n == 0 || hs[n-1].last != holeInfinity {
		return hs
	}
	if hs[n-1].first >= end {
		return hs[:n-1]
	}
	hs[n-1].last = end - 1
	return hs
}

// locate says how bytes first..last (inclusive) sit among the holes: inside
// reports that one hole holds all of them (the fragment brings only new
// bytes); touches reports that some hole holds at least one of them. A range
// that touches no hole lies entirely on bytes already held (or past a known
// end, which the caller rules out first).
func (hs holeList) locate(first, last int) (inside, touches bool) {
	for _, h := range hs {
		if first > h.last || last < h.first {
			continue
		}
		if h.first <= first && last <= h.last {
			return true, true
		}
		return false, true
	}
	return false, false
}

// appendHoles appends the holes for a human, "[0..1479] [2960..∞]", or, with
// plain set, for a field, "0-1479,2960-inf". An empty list appends "none".
func appendHoles(b []byte, hs holeList, plain bool) []byte {
	if len(hs) == 0 {
		return append(b, "none"...)
	}
	for i, h := range hs {
		if i > 0 {
			if plain {
				b = append(b, ',')
			} else {
				b = append(b, ' ')
			}
		}
		if !plain {
			b = append(b, '[')
		}
		b = strconv.AppendInt(b, int64(h.first), 10)
		if plain {
			b = append(b, '-')
		} else {
			b = append(b, ".."...)
		}
		switch {
		case h.last != holeInfinity:
			b = strconv.AppendInt(b, int64(h.last), 10)
		case plain:
			b = append(b, "inf"...)
		default:
			b = append(b, "∞"...)
		}
		if !plain {
			b = append(b, ']')
		}
	}
	return b
}
