package phy

import (
	"math/bits"
	"math/rand/v2"
)

// Drop says why a receiver gave up on a frame.
type Drop uint8

const (
	NoDrop Drop = iota
	// DropNoLock: the recovered clock never locked during the preamble
	// (too much noise or jitter, or a drift beyond the loop's range).
	DropNoLock
	// DropSFDMissing: locked, but the start-of-frame delimiter (for
	// 4B/5B, also the /J/K/ start-of-stream delimiter) never came where
	// it should.
	DropSFDMissing
	// DropSymbolError: a 4B/5B code group that is not in Table 24-1, or
	// the stream ended without /T/R/ (IEEE 802.3 clause 24.2.4.4: the PCS
	// reports a receive error and the frame is discarded).
	DropSymbolError
)

// Result is what a receiver made of a signal.
type Result struct {
	// Frame is the decoded frame, for the NIC; nil when dropped.
	Frame []byte
	Drop  Drop
	// Why says more about a drop, in a phrase.
	Why string

	// The receiver's own view.
	Samples      int // samples taken
	Decisions    int // symbols sampled (one per baud of the recovered clock)
	Transitions  int // edges seen until the lock
	Locked       bool
	LockBaud     int // the sender's baud at which the receiver locked
	SFDFound     bool
	SFDBaud      int // the baud at which the SFD's last bit was decided
	Violations   int // Manchester bits whose two halves were equal
	DribbleBits  int // bits after the last whole octet, discarded
	CodeGroupBad int // invalid 4B/5B code groups

	// What only the simulator can know, seeing both clocks.
	SymbolErrors int // sampled symbols that differ from the level sent
	Slips        int // bauds sampled twice or skipped by the recovered clock
	BitErrors    int // bits of Frame that differ from the frame sent (over the shorter length)

	// Wave is the beginning of the waveform, for a viewer.
	Wave Wave
}

// Receive runs the receiver over a signal: clock recovery, preamble, SFD
// and decoding, with the impairments of cfg drawn from rng. The same
// signal, configuration and generator state give the same result.
func Receive(sig *Signal, cfg Config, rng *rand.Rand) *Result {
	cfg = cfg.withDefaults()
	r := &Result{}
	if len(sig.Levels) == 0 {
		r.Drop, r.Why = DropNoLock, "no signal"
		return r
	}
	ln := newLine(sig, &cfg, rng)
	// The receiver's clock has an arbitrary phase against the sender's.
	pll := newPLL(&cfg, rng.Float64()*float64(cfg.SamplesPerBaud))
	step := 1 / (float64(cfg.SamplesPerBaud) * (1 + cfg.DriftPPM*1e-6))
	end := float64(len(sig.Levels))
	dec := newDecoder(sig, r)
	r.Wave.start(sig)

	lastBaud := -1
	for t := step / 2; t < end; t += step {
		r.Samples++
		s := slice(sig.Code, ln.at(t))
		decision, edgeBefore := pll.sample(s)
		if !pll.locked && !r.Locked {
			if int(t) >= sig.FrameBaud {
				r.Drop, r.Transitions = DropNoLock, pll.transitions
				r.Why = "the preamble ended before the clock locked"
				r.Wave.finish()
				return r
			}
		} else if !r.Locked {
			r.Locked, r.LockBaud, r.Transitions = true, int(t), pll.lockedAt
			r.Wave.LockBaud = r.LockBaud
		}
		if !decision {
			continue
		}
		r.Decisions++
		baud := int(t)
		// Slips and errors count from the lock on: before it the
		// clock is still being pulled in, which is what the preamble is for.
		if lastBaud >= 0 && r.Locked {
			switch d := baud - lastBaud; {
			case d == 0:
				r.Slips++
			case d > 1:
				r.Slips += d - 1
			default:
				if s != sig.Levels[baud] {
					r.SymbolErrors++
				}
			}
		}
		lastBaud = baud
		r.Wave.tick(baud, t-float64(baud), s)
		if r.Locked {
			if !dec.symbol(s, edgeBefore, baud) {
				break
			}
		}
	}
	r.Wave.finish()
	dec.finish()
	return r
}

// decoder turns decided symbols into the frame, code by code.
type decoder struct {
	sig *Signal
	r   *Result
	// Manchester: waiting for the first mid-bit edge, then pairing.
	aligned  bool
	half     Level
	haveHalf bool
	// 4B/5B: the previous symbol (NRZI and MLT-3 carry a 1 as a change).
	prev     Level
	havePrev bool
	group    uint16 // shift register of line bits
	nGroup   int    // bits in the current code group, once aligned
	ssd      bool   // /J/K/ seen
	hunted   int    // bits hunted for the SFD (or the SSD) so far
	// Octets.
	shift  uint32 // recent bits, newest in bit 0
	octet  byte
	nBits  int
	nibble byte
	haveLo bool
	inSFD  bool // the SFD was found: octets are the frame's
	out    []byte
	done   bool
}

func newDecoder(sig *Signal, r *Result) *decoder {
	return &decoder{sig: sig, r: r, out: make([]byte, 0, len(sig.Frame)+2)}
}

// huntLimit is how many bits after the lock the receiver looks for the
// SFD (or the SSD) before giving up: a whole preamble's worth.
const huntLimit = (PreambleLen + 1) * 8

// symbol takes one decided symbol; false stops the receiver.
func (d *decoder) symbol(s Level, edgeBefore bool, baud int) bool {
	if d.done {
		return false
	}
	switch d.sig.Code {
	case Manchester:
		if !d.aligned {
			// In the preamble every edge is a mid-bit one (10101010
			// has none between bits), so the symbol after an edge is a
			// bit's second half.
			if !edgeBefore {
				d.half = s
				return true
			}
			d.aligned = true
			return d.bit(boolBit(s == +1), baud)
		}
		if !d.haveHalf {
			d.half, d.haveHalf = s, true
			return true
		}
		d.haveHalf = false
		if d.half == s {
			d.r.Violations++
		}
		return d.bit(boolBit(s == +1), baud)
	case NRZ:
		return d.bit(boolBit(s == +1), baud)
	default: // 4B/5B
		if !d.havePrev {
			d.prev, d.havePrev = s, true
			return true
		}
		b := boolBit(s != d.prev)
		d.prev = s
		return d.lineBit(b, baud)
	}
}

func boolBit(b bool) byte {
	if b {
		return 1
	}
	return 0
}

// bit takes one data bit of Manchester or NRZ: first the hunt for the SFD,
// then the frame's octets.
func (d *decoder) bit(b byte, baud int) bool {
	if !d.inSFD {
		d.shift = d.shift<<1 | uint32(b)
		d.hunted++
		if d.hunted >= 8 && d.shift&0xff == sfdBits {
			d.inSFD, d.r.SFDFound, d.r.SFDBaud = true, true, baud
			return true
		}
		if d.hunted > huntLimit {
			return d.fail(DropSFDMissing, "no start-of-frame delimiter (10101011) within a preamble's length of the lock")
		}
		return true
	}
	d.octet |= b << d.nBits
	d.nBits++
	if d.nBits == 8 {
		d.out = append(d.out, d.octet)
		d.octet, d.nBits = 0, 0
	}
	return true
}

// lineBit takes one bit of a 4B/5B line: the hunt for /J/K/, then code
// groups.
func (d *decoder) lineBit(b byte, baud int) bool {
	d.group = d.group<<1 | uint16(b)
	if !d.ssd {
		d.hunted++
		if d.group&0x3ff == uint16(groupJ)<<5|uint16(groupK) {
			d.ssd, d.hunted = true, 0
			return true
		}
		if d.hunted > huntLimit {
			return d.fail(DropSFDMissing, "no start-of-stream delimiter /J/K/ within a preamble's length of the lock")
		}
		return true
	}
	d.nGroup++
	if d.nGroup < 5 {
		return true
	}
	d.nGroup = 0
	nib, kind := decodeGroup(uint8(d.group & 0x1f))
	switch kind {
	case groupData:
	case groupEndT:
		if !d.inSFD {
			return d.fail(DropSFDMissing, "the stream ended (/T/) before a start-of-frame delimiter")
		}
		d.done = true
		return false
	case groupIdle:
		d.r.CodeGroupBad++
		return d.fail(DropSymbolError, "IDLE inside the frame: the stream ended without /T/R/")
	default:
		d.r.CodeGroupBad++
		return d.fail(DropSymbolError, "invalid code group "+groupString(uint8(d.group&0x1f))+", not in IEEE 802.3 Table 24-1")
	}
	if !d.haveLo {
		d.nibble, d.haveLo = nib, true
		return true
	}
	d.haveLo = false
	octet := d.nibble | nib<<4
	if !d.inSFD {
		switch octet {
		case SFD:
			d.inSFD, d.r.SFDFound, d.r.SFDBaud = true, true, baud
		case PreambleOctet:
		default:
			return d.fail(DropSFDMissing, "an octet other than the preamble's 0x55 or the SFD 0xD5 after /J/K/")
		}
		return true
	}
	d.out = append(d.out, octet)
	return true
}

func groupString(g uint8) string {
	b := make([]byte, 5)
	for i := range b {
		b[i] = '0' + (g>>(4-i))&1
	}
	return string(b)
}

func (d *decoder) fail(drop Drop, why string) bool {
	d.r.Drop, d.r.Why, d.done = drop, why, true
	return false
}

// finish hands over the frame, or the reason there is none.
func (d *decoder) finish() {
	r := d.r
	if r.Drop != NoDrop {
		return
	}
	if !r.Locked {
		r.Drop, r.Why = DropNoLock, "the signal ended before the clock locked"
		return
	}
	if !r.SFDFound {
		r.Drop, r.Why = DropSFDMissing, "the signal ended before a start-of-frame delimiter"
		return
	}
	if d.sig.Code.Is4B5B() && !d.done {
		r.Drop, r.Why = DropSymbolError, "the signal ended without the end-of-stream delimiter /T/R/"
		return
	}
	r.DribbleBits = d.nBits
	if d.haveLo {
		r.DribbleBits = 4
	}
	r.Frame = d.out
	n := min(len(d.out), len(d.sig.Frame))
	for i := 0; i < n; i++ {
		r.BitErrors += bits.OnesCount8(d.out[i] ^ d.sig.Frame[i])
	}
}
