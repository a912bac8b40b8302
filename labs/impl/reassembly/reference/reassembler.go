// Package reference is a solution of the impl-reassembly lab, kept out of
// the skeleton. It passes every graded test. It follows RFC 815's hole
// descriptors and ip.Reassembler's policies (discard on overlap, refuse
// over the memory limits, a timer from the first fragment), in fewer lines
// and with fewer steps in the log.
package reference

import (
	"fmt"
	"math"
	"slices"

	"github.com/packetwalk/packetwalk/clock"
	"github.com/packetwalk/packetwalk/ip"
	"github.com/packetwalk/packetwalk/viz"
)

// maxDatagram is the largest IPv4 datagram, header included (RFC 791: a
// 16-bit Total Length).
const maxDatagram = 65535

// infinity is RFC 815's: the end of the last hole before the last fragment
// has said where the datagram ends.
const infinity = math.MaxInt

type hole struct{ first, last int }

// datagram is one datagram being reassembled.
type datagram struct {
	key    ip.FragmentKey
	holes  []hole
	data   []byte // payload bytes, grown as fragments arrive
	end    int    // payload length once the last fragment came; -1 before
	maxEnd int    // one past the furthest byte held
	bytes  int    // payload bytes held
	header []byte // the first fragment's header
	first  []byte // the first fragment's payload, for ICMP
	timer  clock.Timer
}

// Reassembler is the reference ip.FragmentReassembler.
type Reassembler struct {
	cfg     ip.ReassemblerConfig
	pending map[ip.FragmentKey]*datagram
	bytes   int
}

// New returns the reference reassembler; zero limits take ip's defaults.
func New(cfg ip.ReassemblerConfig) ip.FragmentReassembler {
	if cfg.Timeout <= 0 {
		cfg.Timeout = ip.DefaultReassemblyTimeout
	}
	if cfg.MaxBytes <= 0 {
		cfg.MaxBytes = ip.DefaultReassemblyMaxBytes
	}
	if cfg.MaxDatagrams <= 0 {
		cfg.MaxDatagrams = ip.DefaultReassemblyMaxDatagrams
	}
	return &Reassembler{cfg: cfg, pending: map[ip.FragmentKey]*datagram{}}
}

// Pending implements ip.FragmentReassembler.
func (r *Reassembler) Pending() (datagrams, bytes int) { return len(r.pending), r.bytes }

// Add implements ip.FragmentReassembler.
func (r *Reassembler) Add(f ip.Fragment) (payload, header []byte, done bool) {
	n := len(f.Payload)
	end := f.Offset + n
	d := r.pending[f.Key]
	if n == 0 || f.Offset%8 != 0 || (f.More && n%8 != 0) {
		r.drop(&f, viz.ReasonIPMalformed, "offset or length is not what RFC 791 allows")
		return nil, nil, false
	}
	if len(f.Header)+end > maxDatagram || (d != nil && len(d.header)+end > maxDatagram) || 20+end > maxDatagram {
		if d != nil {
			r.forget(d)
		}
		r.drop(&f, viz.ReasonFragTooLarge, fmt.Sprintf("it reaches byte %d: the datagram would exceed 65,535 bytes", end))
		return nil, nil, false
	}
	if d == nil && len(r.pending) >= r.cfg.MaxDatagrams {
		r.drop(&f, viz.ReasonFragMemory, fmt.Sprintf("%d datagrams are already waiting", len(r.pending)))
		return nil, nil, false
	}
	if r.bytes+n > r.cfg.MaxBytes {
		r.drop(&f, viz.ReasonFragMemory, fmt.Sprintf("holding %d more bytes would pass the %d-byte limit", n, r.cfg.MaxBytes))
		return nil, nil, false
	}
	if d == nil {
		d = &datagram{key: f.Key, holes: []hole{{0, infinity}}, end: -1}
		d.timer = r.cfg.Clock.AfterFunc(r.cfg.Timeout, func() { r.expire(d) })
		r.pending[f.Key] = d
	}

	// The end: fixed by the last fragment; nobody may move it or pass it.
	if d.end >= 0 && (end > d.end || (!f.More && end != d.end)) || d.end < 0 && !f.More && end < d.maxEnd {
		r.forget(d)
		r.drop(&f, viz.ReasonFragOverlap, "it disagrees with where the datagram ends")
		return nil, nil, false
	}
	if !f.More && d.end < 0 {
		d.end = end
		if last := &d.holes[len(d.holes)-1]; last.last == infinity {
			if last.first >= end {
				d.holes = d.holes[:len(d.holes)-1]
			} else {
				last.last = end - 1
			}
		}
	}

	// New bytes fill part of one hole; bytes already held must repeat
	// exactly (a duplicate), anything else is an overlap.
	switch inside, touches := r.where(d, f.Offset, end-1); {
	case inside:
		if end > len(d.data) {
			d.data = append(d.data, make([]byte, end-len(d.data))...)
		}
		copy(d.data[f.Offset:], f.Payload)
		d.bytes += n
		r.bytes += n
		d.maxEnd = max(d.maxEnd, end)
		if f.Offset == 0 {
			d.header, d.first = slices.Clone(f.Header), slices.Clone(f.Payload)
		}
		d.holes = fill(d.holes, f.Offset, end-1, f.More)
	case !touches && string(d.data[f.Offset:end]) == string(f.Payload):
		// A duplicate adds nothing (but its MF=0 may have set the end).
	default:
		r.forget(d)
		r.drop(&f, viz.ReasonFragOverlap, "it overlaps bytes already held with different ones")
		return nil, nil, false
	}
	if len(d.holes) > 0 {
		return nil, nil, false
	}
	r.forget(d)
	return d.data[:d.end], d.header, true
}

// where says whether bytes first..last lie inside one hole, and whether
// they touch any.
func (r *Reassembler) where(d *datagram, first, last int) (inside, touches bool) {
	for _, h := range d.holes {
		if first > h.last || last < h.first {
			continue
		}
		return h.first <= first && last <= h.last, true
	}
	return false, false
}

// fill is RFC 815 §3: remove the hole the fragment falls in and put back
// the parts before and after it (none after the last fragment).
func fill(holes []hole, first, last int, more bool) []hole {
	var out []hole
	for _, h := range holes {
		if first > h.last || last < h.first {
			out = append(out, h)
			continue
		}
		if first > h.first {
			out = append(out, hole{h.first, first - 1})
		}
		if last < h.last && more {
			out = append(out, hole{last + 1, h.last})
		}
	}
	return out
}

// expire is the reassembly timer.
func (r *Reassembler) expire(d *datagram) {
	if r.pending[d.key] != d {
		return
	}
	r.forget(d)
	if rec := r.cfg.Recorder; rec.On() {
		rec.Emit(viz.Event{Layer: viz.LayerIP, Step: "reassembly", Verdict: viz.Drop, Reason: viz.ReasonFragTimeout,
			Msg: fmt.Sprintf("datagram %s incomplete after %v: %d holes remain", d.key, r.cfg.Timeout, len(d.holes))})
	}
	if d.header != nil && r.cfg.OnTimeout != nil {
		r.cfg.OnTimeout(d.key, d.header, d.first)
	}
}

func (r *Reassembler) forget(d *datagram) {
	d.timer.Stop()
	delete(r.pending, d.key)
	r.bytes -= d.bytes
}

func (r *Reassembler) drop(f *ip.Fragment, reason viz.Reason, why string) {
	if rec := r.cfg.Recorder; rec.On() {
		rec.Emit(viz.Event{Layer: viz.LayerIP, Step: "reassembly", Verdict: viz.Drop, Reason: reason, Frame: f.Frame,
			Msg: fmt.Sprintf("fragment %d..%d of %s: %s", f.Offset, f.Offset+len(f.Payload)-1, f.Key, why)})
	}
}
