package main

import (
	"flag"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/packetwalk/packetwalk/phy"
)

// phyFlags choose the signal model of the simulated wire (package phy):
// --phy CODE, --phy-drift PPM, --phy-jitter UI, --phy-snr DB. Off by
// default: the wire carries bytes.
type phyFlags struct {
	code   phyCodeFlag
	drift  float64
	jitter float64
	snr    snrFlag
}

func (p *phyFlags) register(fs *flag.FlagSet) {
	fs.Var(&p.code, "phy", "the wire's signal model: off (bytes), manchester (10BASE-T), nrz, 4b5b-nrzi (100BASE-FX) or 4b5b-mlt3 (100BASE-TX): frames are line-coded, the receiver recovers the clock and decodes them")
	fs.Float64Var(&p.drift, "phy-drift", 0, "with --phy: how much faster the receiver's clock runs than the sender's, in `PPM` (negative: slower; real oscillators: ±100)")
	fs.Float64Var(&p.jitter, "phy-jitter", 0, "with --phy: standard deviation of every edge's timing, in `UI` (fractions of a baud, 0..0.25)")
	fs.Var(&p.snr, "phy-snr", "with --phy: signal-to-noise ratio in dB; Gaussian noise on every sample (default: no noise)")
}

// config is the PHY the flags describe; its error is one sentence.
func (p *phyFlags) config() (phy.Config, error) {
	c := phy.Config{Code: p.code.code, DriftPPM: p.drift, Jitter: p.jitter}
	if p.snr.set {
		c.Noise = phy.NoiseForSNR(p.snr.db)
	}
	if !c.On() && (p.drift != 0 || p.jitter != 0 || p.snr.set) {
		return c, fmt.Errorf("--phy-drift, --phy-jitter and --phy-snr need a line code: add --phy manchester (or nrz, 4b5b-nrzi, 4b5b-mlt3)")
	}
	return c, c.Validate()
}

// phyCodeFlag is --phy: a line code's name, checked when it is parsed.
type phyCodeFlag struct{ code phy.Code }

func (f *phyCodeFlag) String() string {
	if f == nil {
		return "off"
	}
	return f.code.String()
}

func (f *phyCodeFlag) Set(s string) error {
	c, err := phy.ParseCode(s)
	if err != nil {
		return err
	}
	f.code = c
	return nil
}

func (f *phyCodeFlag) placeholder() string { return strings.Join(phy.Codes(), "|") }

// snrFlag is --phy-snr: a ratio in dB, or nothing (no noise).
type snrFlag struct {
	db  float64
	set bool
}

func (f *snrFlag) String() string {
	if f == nil || !f.set {
		return ""
	}
	return strconv.FormatFloat(f.db, 'g', -1, 64)
}

func (f *snrFlag) Set(s string) error {
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return fmt.Errorf("%q is not a number of dB", s)
	}
	if v < -20 || v > 100 {
		return fmt.Errorf("%v dB is outside -20..100", v)
	}
	f.db, f.set = v, true
	return nil
}

func (f *snrFlag) placeholder() string { return "DB" }
