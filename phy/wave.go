package phy

// Wave is the beginning of a received signal, from its first baud to the
// end of the frame's Ethernet header, as three strings with one character
// per baud of the sender's clock, for a viewer to draw:
//
//	Sent   the level sent: '+' high, '-' low, '0' MLT-3's middle level
//	Ticks  where the receiver's recovered clock sampled this baud, in tenths
//	       of the baud ('0'..'9'); '.' if it did not sample it (a slip
//	       skipped it, or the clock was not running yet), '*' if it
//	       sampled it more than once (a slip)
//	Got    the level sampled: '+', '-', '0', or '.' where none was
//
// A sampled level that differs from the one sent is a symbol error (noise,
// or a sample too close to an edge). SFDBaud and FrameBaud say where the
// SFD and the frame start, LockBaud where the receiver locked.
type Wave struct {
	Sent, Ticks, Got string
	SFDBaud          int
	FrameBaud        int
	LockBaud         int

	ticks, got []byte
}

func levelChar(l Level) byte {
	switch l {
	case +1:
		return '+'
	case -1:
		return '-'
	}
	return '0'
}

func (w *Wave) start(sig *Signal) {
	n := min(sig.HeaderEndBaud, len(sig.Levels))
	sent := make([]byte, n)
	for i := range sent {
		sent[i] = levelChar(sig.Levels[i])
	}
	w.Sent = string(sent)
	w.ticks, w.got = make([]byte, n), make([]byte, n)
	for i := range w.ticks {
		w.ticks[i], w.got[i] = '.', '.'
	}
	w.SFDBaud, w.FrameBaud = sig.SFDBaud, sig.FrameBaud
}

func (w *Wave) tick(baud int, frac float64, s Level) {
	if baud >= len(w.ticks) {
		return
	}
	if w.ticks[baud] != '.' {
		w.ticks[baud] = '*'
	} else {
		w.ticks[baud] = '0' + byte(min(9, max(0, int(frac*10))))
	}
	w.got[baud] = levelChar(s)
}

func (w *Wave) finish() {
	w.Ticks, w.Got = string(w.ticks), string(w.got)
	w.ticks, w.got = nil, nil
}
