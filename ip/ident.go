package ip

import (
	"crypto/sha256"
	"encoding/binary"
	"net/netip"
)

// The Identification field (RFC 791 §3.2) tells a receiver which fragments
// belong together: the pieces of one datagram share it, so it must not
// repeat for one source, destination and protocol while an earlier
// datagram's fragments may still be in flight (RFC 6864 §4).
//
// One counter for every datagram the host sends meets that, and was what
// most stacks did, but it shows the whole world how much the host sends:
// anyone who gets two of its datagrams learns how many it sent to others
// in between (the "idle scan" counts a third host's traffic this way).
// RFC 6864 §4.1 says the field means nothing in an atomic datagram (Don't
// Fragment set and not a fragment, like every TCP segment here), which may
// carry any value; for the others uniqueness per (source, destination,
// protocol) is all that is needed. So, as Linux's ip_idents do, the host
// keeps a table of counters: a keyed hash of the three picks a counter and
// an offset of its own for each tuple. Datagrams to one destination count
// up from a start nobody else can guess (unique, as fragments need), and
// they say nothing about the traffic to any other destination.
//
// The key comes from Config.IDSecret, which a simulation derives from its
// seed: the same run gives the same IDs.

// idTableSize is the number of counters; tuples that hash to the same one
// share its pace but not their offsets (Linux: IP_IDENTS_SZ, 2048).
const idTableSize = 2048

// idGenerator hands out Identification values.
type idGenerator struct {
	key      [2]uint64 // from the secret
	counters [idTableSize]uint16
}

func newIDGenerator(secret []byte) idGenerator {
	sum := sha256.Sum256(append([]byte("packetwalk ip id "), secret...))
	return idGenerator{key: [2]uint64{binary.BigEndian.Uint64(sum[:8]), binary.BigEndian.Uint64(sum[8:16])}}
}

// next returns the Identification of the next datagram from src to dst
// with protocol p: the tuple's offset plus its counter, which then
// advances.
func (g *idGenerator) next(src, dst netip.Addr, p Protocol) uint16 {
	h := g.hash(src, dst, p)
	c := &g.counters[h%idTableSize]
	*c++
	return uint16(h>>32) + *c
}

// hash mixes the tuple with the key. It runs for every datagram sent, so
// it is a few multiplications (SplitMix64's finalizer, keyed) rather than
// the SipHash that Linux uses; it only has to make the offsets unguessable
// to a student's eye and spread tuples over the table.
func (g *idGenerator) hash(src, dst netip.Addr, p Protocol) uint64 {
	s, d := src.As4(), dst.As4()
	x := uint64(binary.BigEndian.Uint32(s[:]))<<32 | uint64(binary.BigEndian.Uint32(d[:]))
	x ^= g.key[0]
	x = mix64(x) ^ uint64(p) ^ g.key[1]
	return mix64(x)
}

func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}
