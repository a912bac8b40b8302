package phy

import (
	"fmt"
	"strings"
)

// Code is a line code: how bits become signal levels on the wire.
type Code uint8

const (
	// Off: no signal model. The wire carries bytes, as without --phy.
	Off Code = iota
	// Manchester is 10BASE-T's code (IEEE 802.3 clause 14.3.1.2.1 uses the
	// Manchester encoding of clause 7.3.1.1): every bit is two half-bit
	// symbols with a transition in the middle, so the clock travels with
	// the data. The price is two baud per bit (20 Mbaud for 10 Mb/s).
	Manchester
	// NRZ (non-return-to-zero, level coded: 1 high, 0 low) is not an
	// Ethernet line code. It is here to show why: a long run of equal bits
	// has no transition at all, and a receiver whose clock drifts has
	// nothing to stay in step with.
	NRZ
	// FourB5BNRZI is 100BASE-X's 4B/5B block code (IEEE 802.3 clause
	// 24.2.2.1, Table 24-1) sent with NRZI (a 1 is a transition, a 0 none),
	// as 100BASE-FX's fibre PMD does (clause 26, by reference to the FDDI
	// PMD). Every code group has at least two 1s and at most three 0s in a
	// row, so the signal never goes long without a transition: 5 baud per
	// 4 bits (125 Mbaud for 100 Mb/s).
	FourB5BNRZI
	// FourB5BMLT3 is 100BASE-TX's signal (IEEE 802.3 clause 25, which
	// takes the TP-PMD of ANSI X3.263): the same 4B/5B code groups sent
	// with MLT-3, three levels visited in the cycle 0, +1, 0, -1, a 1
	// moving to the next level and a 0 staying. Its fundamental frequency
	// is a quarter of the baud rate, which is what fits 125 Mbaud into
	// Category 5 cable. (The scrambler 100BASE-TX adds to spread the
	// spectrum is left out: it changes no lesson here.)
	FourB5BMLT3
)

// codeNames are the names ParseCode reads and String gives, in Code order.
var codeNames = [...]string{"off", "manchester", "nrz", "4b5b-nrzi", "4b5b-mlt3"}

func (c Code) String() string {
	if int(c) < len(codeNames) {
		return codeNames[c]
	}
	return fmt.Sprintf("Code(%d)", uint8(c))
}

// Codes lists the line codes' names, for a flag's help.
func Codes() []string { return codeNames[:] }

// ParseCode reads a line code's name: off (or none, or empty), manchester,
// nrz, 4b5b-nrzi or 4b5b-mlt3.
func ParseCode(s string) (Code, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	if s == "" || s == "none" {
		return Off, nil
	}
	for i, n := range codeNames {
		if n == s {
			return Code(i), nil
		}
	}
	return Off, fmt.Errorf("line code %q: want %s", s, strings.Join(codeNames[:], ", "))
}

// Is4B5B reports whether the code carries 4B/5B code groups.
func (c Code) Is4B5B() bool { return c == FourB5BNRZI || c == FourB5BMLT3 }

// BaudPerBit is how many signal symbols (baud) one data bit costs.
func (c Code) BaudPerBit() float64 {
	switch c {
	case Manchester:
		return 2
	case FourB5BNRZI, FourB5BMLT3:
		return 1.25
	}
	return 1
}

// Level is the signal's voltage during one baud, in units of the
// transmitter's amplitude: -1 low, +1 high, and 0 for MLT-3's middle level.
type Level int8

// Manchester symbols, IEEE 802.3 clause 7.3.1.1: "during the first half of
// the bit cell, the encoded signal is the logical complement of the bit
// value being encoded; during the second half, the uncomplemented value".
// So a 1 is low then high (a rising edge mid-bit), a 0 high then low.
//
// This is the IEEE convention. G. E. Thomas's original one (still used in
// some textbooks) is the opposite: 0 rising, 1 falling. packetwalk follows
// IEEE because it is what a 10BASE-T adapter does, and the lab's question
// about the preamble's waveform has one answer only under one convention.
func manchesterAppend(levels []Level, bit byte) []Level {
	if bit == 1 {
		return append(levels, -1, +1)
	}
	return append(levels, +1, -1)
}

// nrzAppend is NRZ-L: the level is the bit.
func nrzAppend(levels []Level, bit byte) []Level {
	if bit == 1 {
		return append(levels, +1)
	}
	return append(levels, -1)
}

// nrziLevel is NRZI: a 1 toggles the level, a 0 keeps it.
func nrziLevel(prev Level, bit byte) Level {
	if bit == 1 {
		return -prev
	}
	return prev
}

// mlt3 walks MLT-3's cycle of levels 0, +1, 0, -1: a 1 steps to the next
// level, a 0 stays (ANSI X3.263 as used by IEEE 802.3 clause 25).
type mlt3 struct{ step uint8 }

var mlt3Cycle = [4]Level{0, +1, 0, -1}

func (m *mlt3) level(bit byte) Level {
	if bit == 1 {
		m.step = (m.step + 1) % 4
	}
	return mlt3Cycle[m.step]
}
