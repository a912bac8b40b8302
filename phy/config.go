package phy

import (
	"fmt"
	"math"
)

// Config is a wire's PHY: the line code and what the medium and the
// receiver's clock do to the signal. The zero value is Off.
type Config struct {
	Code Code
	// DriftPPM is how much faster the receiver's clock runs than the
	// sender's, in parts per million (negative: slower). Real Ethernet
	// oscillators are within ±100 ppm of nominal (IEEE 802.3 clause
	// 14.3.1.2.1 for 10BASE-T, clause 24.2.3 for 100BASE-X), so two of
	// them differ by up to 200 ppm; the labs use much more to make a lost
	// lock happen within one frame. At most MaxDriftPPM either way. With
	// the default loop the receiver locks on the preamble up to about ±2%
	// (20,000 ppm) in Manchester, whose preamble has an edge every second
	// baud, and up to about ±4% in the other codes (an edge every baud);
	// beyond that the frame is dropped with phy_no_lock.
	// TestBoundedDriftRecovered holds ±2% for every code with transitions.
	DriftPPM float64
	// Jitter is the standard deviation of every edge's displacement from
	// its ideal time, in unit intervals (fractions of a baud), 0 to
	// MaxJitter.
	Jitter float64
	// Noise is the standard deviation of the Gaussian noise added to every
	// sample, in units of the transmitter's amplitude: 0 is a clean
	// signal. NoiseForSNR gives it from a signal-to-noise ratio in dB.
	Noise float64
	// SamplesPerBaud is how often the receiver samples the line per baud
	// of its own clock; 0 means DefaultSamplesPerBaud.
	SamplesPerBaud int
	// LockTransitions is how many transitions in a row must fall where the
	// recovered clock expects them before the receiver calls itself
	// locked; 0 means DefaultLockTransitions.
	LockTransitions int
	// LoopGain is the fraction of each transition's phase error the
	// recovered clock corrects at once (a first-order digital PLL); 0 means
	// DefaultLoopGain.
	LoopGain float64
}

// Defaults and limits of the receiver.
const (
	// DefaultSamplesPerBaud: sixteen times the baud rate is a UART's
	// classic oversampling; eight is enough to place an edge within an
	// eighth of a baud and keeps a 1518-byte Manchester frame at about
	// 200,000 samples.
	DefaultSamplesPerBaud = 8
	// DefaultLockTransitions: sixteen well-placed transitions, a quarter
	// of a 10BASE-T preamble, so that a receiver still locks when it
	// misses the preamble's start, as a real one may.
	DefaultLockTransitions = 16
	// DefaultLoopGain corrects a quarter of each phase error: fast enough
	// to pull in within the preamble, slow enough that one noisy edge does
	// not throw the clock off.
	DefaultLoopGain = 0.25

	MaxDriftPPM        = 100_000 // 10%: far beyond the loop's lock range (see DriftPPM), so every phy_no_lock can be shown
	MaxJitter          = 0.25    // UI: beyond it edges cross each other
	MaxSamplesPerBaud  = 64
	MaxLockTransitions = 48 // fewer than a preamble has
)

// On reports whether a signal model is chosen.
func (c Config) On() bool { return c.Code != Off }

// withDefaults fills in the zero fields.
func (c Config) withDefaults() Config {
	if c.SamplesPerBaud == 0 {
		c.SamplesPerBaud = DefaultSamplesPerBaud
	}
	if c.LockTransitions == 0 {
		c.LockTransitions = DefaultLockTransitions
	}
	if c.LoopGain == 0 {
		c.LoopGain = DefaultLoopGain
	}
	return c
}

// Validate checks every knob. Its errors are one sentence naming the
// command-line flag.
func (c Config) Validate() error {
	switch {
	case int(c.Code) >= len(codeNames):
		return fmt.Errorf("--phy %v: want one of off, manchester, nrz, 4b5b-nrzi, 4b5b-mlt3", c.Code)
	case !(math.Abs(c.DriftPPM) <= MaxDriftPPM):
		return fmt.Errorf("--phy-drift %v: a clock drift must be within ±%d ppm", c.DriftPPM, MaxDriftPPM)
	case !(c.Jitter >= 0 && c.Jitter <= MaxJitter):
		return fmt.Errorf("--phy-jitter %v: jitter must be between 0 and %v of a baud", c.Jitter, MaxJitter)
	case !(c.Noise >= 0 && c.Noise <= 10):
		return fmt.Errorf("noise %v: want 0 (none) to 10 times the signal's amplitude (an SNR of -20 dB)", c.Noise)
	case c.SamplesPerBaud != 0 && (c.SamplesPerBaud < 4 || c.SamplesPerBaud > MaxSamplesPerBaud):
		return fmt.Errorf("samples per baud %d: want 4 to %d", c.SamplesPerBaud, MaxSamplesPerBaud)
	case c.LockTransitions < 0 || c.LockTransitions > MaxLockTransitions:
		return fmt.Errorf("lock transitions %d: want 1 to %d", c.LockTransitions, MaxLockTransitions)
	case !(c.LoopGain >= 0 && c.LoopGain <= 1):
		return fmt.Errorf("loop gain %v: want a fraction between 0 and 1", c.LoopGain)
	}
	return nil
}

// NoiseForSNR is the noise that gives a signal-to-noise ratio of snrDB:
// the signal's power is its amplitude squared (1), the noise's is Noise
// squared, so Noise = 10^(-SNR/20).
func NoiseForSNR(snrDB float64) float64 { return math.Pow(10, -snrDB/20) }

// SNR is the signal-to-noise ratio in dB that Noise gives (+Inf for none).
func (c Config) SNR() float64 {
	if c.Noise == 0 {
		return math.Inf(1)
	}
	return -20 * math.Log10(c.Noise)
}

// String describes the PHY in one phrase, e.g. "manchester, drift 200 ppm,
// jitter 0.05 UI, SNR 12 dB".
func (c Config) String() string {
	s := c.Code.String()
	if c.DriftPPM != 0 {
		s += fmt.Sprintf(", drift %g ppm", c.DriftPPM)
	}
	if c.Jitter != 0 {
		s += fmt.Sprintf(", jitter %g UI", c.Jitter)
	}
	if c.Noise != 0 {
		s += fmt.Sprintf(", SNR %.3g dB", c.SNR())
	}
	return s
}
