package phy

import "math/rand/v2"

// line is the signal as it reaches the receiver: each edge displaced by
// jitter, and Gaussian noise on every sample. Time is counted in the
// sender's baud (the sender's clock ticks at 0, 1, 2, ...); it is read at
// increasing times only.
type line struct {
	sig           *Signal
	rng           *rand.Rand
	jitter, noise float64
	baud          int     // the baud whose level is on the line now
	nextEdge      float64 // when baud+1 starts, jitter included
}

func newLine(sig *Signal, cfg *Config, rng *rand.Rand) *line {
	l := &line{sig: sig, rng: rng, jitter: cfg.Jitter, noise: cfg.Noise}
	l.nextEdge = 1 + l.edgeJitter()
	return l
}

// edgeJitter draws one edge's displacement, clipped so that edges stay in
// order.
func (l *line) edgeJitter() float64 {
	if l.jitter == 0 {
		return 0
	}
	return max(-0.45, min(0.45, l.jitter*l.rng.NormFloat64()))
}

// at returns the voltage on the line at sender time t.
func (l *line) at(t float64) float64 {
	for t >= l.nextEdge && l.baud < len(l.sig.Levels)-1 {
		l.baud++
		l.nextEdge = float64(l.baud+1) + l.edgeJitter()
	}
	v := float64(l.sig.Levels[l.baud])
	if l.noise > 0 {
		v += l.noise * l.rng.NormFloat64()
	}
	return v
}

// slice decides which level a voltage is: the receiver's comparator. Two
// levels meet at 0; MLT-3's three at ±0.5, half the distance, which is why
// MLT-3 needs a better signal-to-noise ratio for the same error rate.
func slice(code Code, v float64) Level {
	if code == FourB5BMLT3 {
		switch {
		case v > 0.5:
			return +1
		case v < -0.5:
			return -1
		}
		return 0
	}
	if v >= 0 {
		return +1
	}
	return -1
}
