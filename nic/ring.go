package nic

// rxRing is the adapter's receive buffer memory: a fixed number of slots,
// each large enough for one maximum-size frame, filled by the adapter and
// emptied by the driver in order. Its size is the limit that a burst of
// frames meets when the driver is slow (ring_full).
type rxRing struct {
	slots []rxSlot
	head  int // next slot the driver takes
	count int // slots holding a frame
}

type rxSlot struct {
	buf   []byte
	len   int
	id    uint64
	class Class
}

func newRxRing(slots, slotBytes int) rxRing {
	r := rxRing{slots: make([]rxSlot, slots)}
	// One allocation for all the buffer memory, as an adapter has it.
	mem := make([]byte, slots*slotBytes)
	for i := range r.slots {
		r.slots[i].buf = mem[i*slotBytes : (i+1)*slotBytes : (i+1)*slotBytes]
	}
	return r
}

func (r *rxRing) size() int { return len(r.slots) }
func (r *rxRing) used() int { return r.count }

// put copies frame into the next free slot and returns its index, or false
// when every slot is in use. The caller has checked the frame fits a slot.
func (r *rxRing) put(frame []byte, id uint64, class Class) (int, bool) {
	if r.count == len(r.slots) {
		return 0, false
	}
	i := (r.head + r.count) % len(r.slots)
	s := &r.slots[i]
	s.len = copy(s.buf, frame)
	s.id, s.class = id, class
	r.count++
	return i, true
}

// peek returns the oldest filled slot without freeing it.
func (r *rxRing) peek() (*rxSlot, bool) {
	if r.count == 0 {
		return nil, false
	}
	return &r.slots[r.head], true
}

// pop frees the oldest slot.
func (r *rxRing) pop() {
	r.head = (r.head + 1) % len(r.slots)
	r.count--
}
