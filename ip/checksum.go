package ip

import (
	"encoding/binary"
	"math/bits"
	"net/netip"
)

// The Internet checksum (RFC 1071) protects the IPv4 header, ICMP messages,
// and UDP and TCP segments. It is the one's complement of the one's-complement
// sum of the data taken as 16-bit big-endian words. One's-complement addition
// is ordinary addition with every carry out of the top bit added back in at
// the bottom ("end-around carry"), so:
//
//   - the order of the words does not matter, and neither does the width the
//     sum is kept in: words may be added 64 bits at a time and folded down to
//     16 bits at the end (RFC 1071 §2(B), (C));
//   - a receiver sums the data with its checksum field included and gets
//     0xffff ("minus zero"), whose complement is 0, when nothing changed.
//
// The API follows that split: Sum accumulates, Checksum finishes.

// Sum returns the one's-complement sum of b, taken as 16-bit big-endian
// words, plus initial (a partial sum from an earlier call or
// PseudoHeaderSum), folded to 16 bits. An odd final byte is padded with a
// zero byte on the right (RFC 1071 §4.1). Chained calls must give every
// chunk but the last an even length, since the words are aligned to b's
// start.
func Sum(b []byte, initial uint32) uint16 {
	acc := uint64(initial)
	var carry uint64
	// Eight bytes at a time: a 64-bit word is four 16-bit words side by
	// side, and the carry out of bit 63 goes back in at bit 0, which is
	// end-around carry at every width.
	for len(b) >= 32 {
		acc, carry = bits.Add64(acc, binary.BigEndian.Uint64(b[0:8]), 0)
		acc, carry = bits.Add64(acc, binary.BigEndian.Uint64(b[8:16]), carry)
		acc, carry = bits.Add64(acc, binary.BigEndian.Uint64(b[16:24]), carry)
		acc, carry = bits.Add64(acc, binary.BigEndian.Uint64(b[24:32]), carry)
		acc += carry // cannot overflow: a sum that carried is at most 2^64-2
		b = b[32:]
	}
	for len(b) >= 8 {
		acc, carry = bits.Add64(acc, binary.BigEndian.Uint64(b), 0)
		acc += carry
		b = b[8:]
	}
	if len(b) >= 4 {
		acc, carry = bits.Add64(acc, uint64(binary.BigEndian.Uint32(b)), 0)
		acc += carry
		b = b[4:]
	}
	if len(b) >= 2 {
		acc, carry = bits.Add64(acc, uint64(binary.BigEndian.Uint16(b)), 0)
		acc += carry
		b = b[2:]
	}
	if len(b) == 1 {
		acc, carry = bits.Add64(acc, uint64(b[0])<<8, 0)
		acc += carry
	}
	return fold(acc)
}

// fold adds the halves of a wide one's-complement sum until it fits in 16
// bits.
func fold(acc uint64) uint16 {
	for acc > 0xffff {
		acc = acc>>16 + acc&0xffff
	}
	return uint16(acc)
}

// Checksum returns the Internet checksum of b with initial folded in: the
// value a sender stores in a zeroed checksum field. Over bytes whose
// checksum field is already correct the result is 0, which is how a
// receiver verifies them.
func Checksum(b []byte, initial uint32) uint16 { return ^Sum(b, initial) }

// PseudoHeaderSum returns the partial sum of the IPv4 pseudo-header that UDP
// (RFC 768) and TCP (RFC 9293 §3.1) put under their checksum, so that a
// segment delivered to the wrong address or protocol fails it:
//
//	+--------+--------+--------+--------+
//	|          source address           |
//	+--------+--------+--------+--------+
//	|        destination address        |
//	+--------+--------+--------+--------+
//	|  zero  |protocol|      length     |
//	+--------+--------+--------+--------+
//
// length is the UDP or TCP length: header plus data. Pass the result as the
// initial value of Sum or Checksum over the segment.
func PseudoHeaderSum(src, dst netip.Addr, proto Protocol, length uint16) uint32 {
	s, d := src.As4(), dst.As4()
	return uint32(binary.BigEndian.Uint16(s[0:2])) + uint32(binary.BigEndian.Uint16(s[2:4])) +
		uint32(binary.BigEndian.Uint16(d[0:2])) + uint32(binary.BigEndian.Uint16(d[2:4])) +
		uint32(proto) + uint32(length)
}

// UpdateChecksum returns checksum hc after one 16-bit word of the data it
// covers changes from oldWord to newWord, without summing the data again
// (RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m')). A router uses it for the TTL,
// which it decrements in every datagram it forwards (RFC 1812 §5.3.1).
// Eqn. 3 corrects RFC 1141's formula, which could give 0xffff ("minus
// zero") where summing the data again gives 0x0000.
func UpdateChecksum(hc, oldWord, newWord uint16) uint16 {
	sum := uint64(^hc) + uint64(^oldWord) + uint64(newWord)
	return ^fold(sum)
}
