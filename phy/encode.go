package phy

// Signal is a frame line-coded for the wire: one level per baud, from the
// first baud of the preamble (or, for 4B/5B, of the IDLE before it) to the
// last one the transmitter sends.
type Signal struct {
	Code   Code
	Levels []Level
	// Frame is what was encoded (the frame with its FCS), for the
	// receiver's count of bit errors.
	Frame []byte
	// SFDBaud is the baud where the start-of-frame delimiter begins and
	// FrameBaud the one where the frame's first bit begins.
	SFDBaud, FrameBaud int
	// HeaderEndBaud is where the frame's 14-byte Ethernet header ends:
	// the waveform a viewer draws stops there.
	HeaderEndBaud int
	// LongestRun is the longest stretch of the signal without a
	// transition, in baud: what a receiver's clock must bridge without
	// help.
	LongestRun int
}

// Encode line-codes frame (with its FCS) behind its preamble and SFD.
// Without a line code (Off) it returns an empty Signal.
func Encode(code Code, frame []byte) *Signal {
	s := &Signal{Code: code, Frame: frame}
	switch code {
	case Manchester, NRZ:
		appendBit := nrzAppend
		if code == Manchester {
			appendBit = manchesterAppend
		}
		per := int(code.BaudPerBit())
		s.Levels = make([]Level, 0, (PreambleLen+1+len(frame))*8*per)
		var bits []byte
		for i := 0; i < PreambleLen; i++ {
			bits = appendOctetBits(bits, PreambleOctet)
		}
		bits = appendOctetBits(bits, SFD)
		for _, b := range bits {
			s.Levels = appendBit(s.Levels, b)
		}
		s.SFDBaud = PreambleLen * 8 * per
		s.FrameBaud = (PreambleLen + 1) * 8 * per
		for _, octet := range frame {
			for i := 0; i < 8; i++ {
				s.Levels = appendBit(s.Levels, (octet>>i)&1)
			}
		}
		s.HeaderEndBaud = min(len(s.Levels), s.FrameBaud+14*8*per)
	case FourB5BNRZI, FourB5BMLT3:
		// 100BASE-X (IEEE 802.3 clause 24.2.2.1): IDLE until the frame,
		// then /J/K/ in place of the preamble's first octet, the rest of
		// the preamble, the SFD and the frame as data code groups, then
		// /T/R/ and IDLE again.
		bits := make([]byte, 0, (idleLeadGroups+idleTrailGroups+4)*5+(PreambleLen+len(frame))*10)
		for i := 0; i < idleLeadGroups; i++ {
			bits = appendGroup(bits, groupI)
		}
		bits = appendGroup(bits, groupJ)
		bits = appendGroup(bits, groupK)
		for i := 1; i < PreambleLen; i++ {
			bits = appendOctetGroups(bits, PreambleOctet)
		}
		s.SFDBaud = len(bits)
		bits = appendOctetGroups(bits, SFD)
		s.FrameBaud = len(bits)
		for _, octet := range frame {
			bits = appendOctetGroups(bits, octet)
		}
		s.HeaderEndBaud = min(len(bits), s.FrameBaud+14*10)
		bits = appendGroup(bits, groupT)
		bits = appendGroup(bits, groupR)
		for i := 0; i < idleTrailGroups; i++ {
			bits = appendGroup(bits, groupI)
		}
		s.Levels = make([]Level, len(bits))
		if code == FourB5BNRZI {
			level := Level(-1)
			for i, b := range bits {
				level = nrziLevel(level, b)
				s.Levels[i] = level
			}
		} else {
			var m mlt3
			for i, b := range bits {
				s.Levels[i] = m.level(b)
			}
		}
	default:
		return s
	}
	s.LongestRun = longestRun(s.Levels)
	return s
}

// longestRun is the longest stretch of equal levels, in baud.
func longestRun(levels []Level) int {
	best, run := 0, 0
	for i, l := range levels {
		if i > 0 && l == levels[i-1] {
			run++
		} else {
			run = 1
		}
		best = max(best, run)
	}
	return best
}

// Bauds is the signal's length in baud.
func (s *Signal) Bauds() int { return len(s.Levels) }
