// Package reference is a solution of the impl-tcp-receiver lab, kept out of
// the skeleton: a TCP receiver that keeps the window's bytes in an array
// indexed by their distance from RCV.NXT, with a flag for each byte held.
// It favours being easy to check over speed: every Insert looks at each
// byte, and Held scans the window.
package reference

import "github.com/packetwalk/packetwalk/tcp"

// Receiver is one connection's receive side.
type Receiver struct {
	capacity int
	rcvNxt   tcp.Seq // RCV.NXT: the next byte expected in order
	ready    []byte  // in-order bytes that read() has not taken yet
	// slot[i] is the byte at sequence number RCV.NXT+i, if have[i]: the
	// bytes that arrived beyond a hole. Both are capacity long, which is
	// as far as the window can ever reach.
	slot []byte
	have []bool
}

// New returns an empty receiver of capacity bytes.
func New(capacity int) tcp.Receiver {
	return &Receiver{capacity: capacity, slot: make([]byte, capacity), have: make([]bool, capacity)}
}

// SetNextSeq sets RCV.NXT to IRS+1, before any data.
func (r *Receiver) SetNextSeq(rcvNxt tcp.Seq) { r.rcvNxt = rcvNxt }

// Insert stores the bytes of the segment that fall inside the window and
// are not held yet, then moves every byte now in order to ready.
func (r *Receiver) Insert(seq tcp.Seq, data []byte) int {
	win := r.Window()
	stored := 0
	for i, b := range data {
		// The distance from RCV.NXT, in sequence space: Sub wraps at
		// 2^32, so byte 1 is 5 bytes after byte 2^32-4.
		off := int(seq.Add(uint32(i)).Sub(r.rcvNxt))
		if off < 0 || off >= win || r.have[off] {
			continue // old, beyond the window, or held already
		}
		r.slot[off], r.have[off] = b, true
		stored++
	}
	n := 0
	for n < win && r.have[n] {
		n++
	}
	if n > 0 {
		r.ready = append(r.ready, r.slot[:n]...)
		copy(r.slot, r.slot[n:])
		copy(r.have, r.have[n:])
		clear(r.have[len(r.have)-n:])
		r.rcvNxt = r.rcvNxt.Add(uint32(n))
	}
	return stored
}

// NextSeq returns RCV.NXT.
func (r *Receiver) NextSeq() tcp.Seq { return r.rcvNxt }

// Window returns the capacity not taken by bytes waiting for read().
func (r *Receiver) Window() int { return max(r.capacity-len(r.ready), 0) }

// Readable returns how many bytes Read can return.
func (r *Receiver) Readable() int { return len(r.ready) }

// Read takes up to len(p) in-order bytes.
func (r *Receiver) Read(p []byte) int {
	n := copy(p, r.ready)
	r.ready = r.ready[n:]
	if len(r.ready) == 0 {
		r.ready = nil
	}
	return n
}

// Peek copies like Read and leaves the bytes.
func (r *Receiver) Peek(p []byte) int { return copy(p, r.ready) }

// Held returns the runs of held bytes beyond RCV.NXT, in order.
func (r *Receiver) Held() []tcp.SACKBlock {
	var held []tcp.SACKBlock
	for i := 0; i < r.Window(); i++ {
		if !r.have[i] {
			continue
		}
		j := i
		for j < r.Window() && r.have[j] {
			j++
		}
		held = append(held, tcp.SACKBlock{Start: r.rcvNxt.Add(uint32(i)), End: r.rcvNxt.Add(uint32(j))})
		i = j
	}
	return held
}
