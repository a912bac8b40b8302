package tcp

import "sync"

// smallRings recycles the initialRingBytes rings of send and receive
// buffers. A keep-alive HTTP connection empties both buffers after every
// exchange; giving the small ring back then, and taking one again for the
// next request, means an idle connection holds no buffer memory at all
// (the figure bench/sim reports per idle connection) and the steady state
// of bench/run's keep-alive test allocates nothing per request. Larger
// rings (a bulk transfer's) stay with their connection until Release, so a
// sender whose buffer drains now and then does not grow it from 4 KiB
// again each time.
//
// What a ring held before is never read: a buffer only hands out bytes it
// wrote, so recycled storage cannot leak one connection's data to another
// (nor change a seeded run's log).
var smallRings = sync.Pool{New: func() any { return new([initialRingBytes]byte) }}

// newRing returns storage of size bytes, recycled when it is the small
// size.
func newRing(size int) []byte {
	if size == initialRingBytes {
		return smallRings.Get().(*[initialRingBytes]byte)[:]
	}
	return make([]byte, size)
}

// recycleRing gives a ring that holds nothing back to the pool if it is a
// small one, and reports whether it did.
func recycleRing(ring []byte) bool {
	if len(ring) != initialRingBytes {
		return false
	}
	smallRings.Put((*[initialRingBytes]byte)(ring))
	return true
}
