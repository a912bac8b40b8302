package phy

// pll is the receiver's clock recovery: an edge-tracking sampler, the
// simplest digital PLL. The receiver samples the line SamplesPerBaud times
// per baud of its own clock and keeps a phase, the position of the current
// sample within its idea of the baud (0 at the baud's start). Two things
// happen per sample:
//
//   - when the sampled level differs from the previous sample, an edge
//     happened between them; edges belong at baud boundaries (phase 0), so
//     the phase at the edge is the clock's error, and a fraction (the loop
//     gain) of it is corrected. Between transitions nothing corrects the
//     clock: that is why a line code must guarantee transitions.
//   - when the phase passes the middle of the baud, the line is sampled
//     for this baud's symbol (the decision), as far as possible from both
//     edges.
//
// The receiver counts itself locked once LockTransitions edges in a row
// fell within a quarter of a baud of where it expected them.
type pll struct {
	samples     float64 // per baud
	gain        float64
	lockAfter   int
	phase       float64 // in samples, 0 <= phase < samples
	decided     bool    // this baud's symbol has been sampled
	prev        Level
	started     bool
	edgeSince   bool // an edge since the last decision
	goodInRow   int
	transitions int // edges seen, for the preamble step
	locked      bool
	lockedAt    int // transitions seen when the lock came
}

func newPLL(cfg *Config, phase float64) *pll {
	return &pll{samples: float64(cfg.SamplesPerBaud), gain: cfg.LoopGain, lockAfter: cfg.LockTransitions, phase: phase}
}

// sample takes one sample; it reports whether it was a decision, and
// whether an edge came since the previous decision.
func (p *pll) sample(s Level) (decision, edgeBefore bool) {
	p.phase++
	if p.phase >= p.samples {
		p.phase -= p.samples
		p.decided = false
	}
	if p.started && s != p.prev {
		p.transitions++
		p.edgeSince = true
		// The edge lies between this sample and the previous one.
		err := p.phase - 0.5
		if err >= p.samples/2 {
			err -= p.samples
		}
		if err < 0 {
			err = max(err, -p.samples/2)
		}
		if err >= -p.samples/4 && err <= p.samples/4 {
			p.goodInRow++
		} else {
			p.goodInRow = 0
		}
		if !p.locked && p.goodInRow >= p.lockAfter {
			p.locked = true
			p.lockedAt = p.transitions
		}
		p.phase -= p.gain * err
		switch {
		case p.phase < 0:
			// Pulled back into the previous baud, whose symbol was
			// already taken.
			p.phase += p.samples
			p.decided = true
		case p.phase >= p.samples:
			p.phase -= p.samples
			p.decided = false
		}
	}
	p.prev, p.started = s, true
	if !p.decided && p.phase >= p.samples/2 {
		p.decided = true
		edgeBefore, p.edgeSince = p.edgeSince, false
		return true, edgeBefore
	}
	return false, false
}
