package wire

import (
	"bytes"
	"strconv"
	"strings"
	"testing"

	"github.com/packetwalk/packetwalk/nic"
	"github.com/packetwalk/packetwalk/phy"
	"github.com/packetwalk/packetwalk/viz"
)

// With a clean signal every code delivers the frame unchanged, after the
// sender's encode and the receiver's preamble, sfd and decode steps.
func TestPHYCleanDelivers(t *testing.T) {
	for _, code := range []phy.Code{phy.Manchester, phy.NRZ, phy.FourB5BNRZI, phy.FourB5BMLT3} {
		tn := newTestNet(t, Config{PHY: phy.Config{Code: code}}, 2, true)
		_, bits := tn.send(0, tn.ports[1].mac, 100)
		tn.clock.Run()
		if len(tn.ports[1].got) != 1 || !bytes.Equal(tn.ports[1].got[0].bits, bits) {
			t.Fatalf("%v: %d arrivals, intact %v", code, len(tn.ports[1].got), len(tn.ports[1].got) == 1 && bytes.Equal(tn.ports[1].got[0].bits, bits))
		}
		for _, step := range []string{"encode", "preamble", "sfd", "decode"} {
			if n := len(tn.steps(step)); n != 1 {
				t.Errorf("%v: %d %s steps, want 1", code, n, step)
			}
		}
		d := tn.steps("decode")[0]
		if field(t, d, "code") != code.String() || field(t, d, "symbol_errors") != "0" || field(t, d, "slips") != "0" || field(t, d, "to") != "b/eth0" {
			t.Errorf("%v: decode step %v", code, d.Fields)
		}
		if w := field(t, d, "wave"); len(w) != len(field(t, d, "ticks")) || len(w) == 0 {
			t.Errorf("%v: wave %q", code, w)
		}
		// The receiver's steps come when the frame arrives, not when it
		// is sent.
		if e := tn.steps("encode")[0]; e.T != 0 || d.T != DefaultLatency {
			t.Errorf("%v: encode at %v, decode at %v", code, e.T, d.T)
		}
	}
}

// Noise and drift damage frames through the signal: the bytes the port
// gets differ from those sent (the NIC's FCS catches it), or the PHY drops
// the frame with a named reason. The --corrupt coin flip plays no part.
func TestPHYNoiseDamagesFrames(t *testing.T) {
	tn := newTestNet(t, Config{PHY: phy.Config{Code: phy.Manchester, Noise: phy.NoiseForSNR(9)}}, 2, true)
	sent := map[uint64][]byte{}
	for range 40 {
		id, bits := tn.send(0, tn.ports[1].mac, 200)
		sent[id] = bits
	}
	tn.clock.Run()
	damaged := 0
	for _, a := range tn.ports[1].got {
		if !bytes.Equal(a.bits, sent[a.id]) {
			damaged++
			if _, _, ok := (nic.StandardFilter{}).CheckFCS(a.bits); ok && len(a.bits) >= nic.MinFrameLen {
				t.Errorf("frame %d: damaged, yet its FCS checks", a.id)
			}
		}
	}
	drops := 40 - len(tn.ports[1].got)
	if damaged+drops == 0 {
		t.Fatalf("SNR 9 dB over 40 frames of 200 bytes damaged nothing")
	}
	if st := tn.wire.Stats(); st.Corrupted != 0 {
		t.Errorf("the coin flip corrupted %d", st.Corrupted)
	}
	for _, e := range tn.sink.Events() {
		if e.Verdict == viz.Drop && e.Reason != viz.ReasonPHYNoLock && e.Reason != viz.ReasonPHYSFDMissing && e.Reason != viz.ReasonPHYSymbolError {
			t.Errorf("unexpected drop %s", e.Reason)
		}
	}
	t.Logf("%d damaged, %d dropped by the PHY", damaged, drops)
}

// NRZ with drift slips on a frame of zeros; Manchester does not.
func TestPHYNRZDriftSlips(t *testing.T) {
	slips := func(code phy.Code) int {
		tn := newTestNet(t, Config{PHY: phy.Config{Code: code, DriftPPM: 20000}}, 2, true)
		bits := nic.AppendFrame(nil, tn.ports[1].mac, tn.ports[0].mac, nic.EtherTypeIPv4, make([]byte, 200))
		tn.wire.Transmit(tn.ports[0], bits, tn.log.NewFrameID())
		tn.clock.Run()
		d := tn.steps("decode")
		if len(d) != 1 {
			t.Fatalf("%v: %d decode steps", code, len(d))
		}
		n, _ := strconv.Atoi(field(t, d[0], "slips"))
		return n
	}
	if n := slips(phy.NRZ); n == 0 {
		t.Errorf("NRZ, 2%% drift, 200 zero bytes: no slip")
	}
	if n := slips(phy.Manchester); n != 0 {
		t.Errorf("Manchester, 2%% drift: %d slips", n)
	}
}

// The same seed gives the same log, byte for byte; another seed another
// noise.
func TestPHYDeterministic(t *testing.T) {
	run := func(seed int64) []byte {
		tn := newTestNet(t, Config{Impairments: Impairments{Seed: seed}, PHY: phy.Config{Code: phy.FourB5BMLT3, Noise: phy.NoiseForSNR(15), Jitter: 0.05, DriftPPM: 300}}, 3, true)
		for i := range 10 {
			tn.send(i%3, nic.MAC{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, 100+i)
		}
		tn.clock.Run()
		return tn.jsonl()
	}
	a, b := run(1), run(1)
	if !bytes.Equal(a, b) {
		t.Fatal("the same seed gave two different logs")
	}
	if bytes.Equal(a, run(2)) {
		t.Error("seeds 1 and 2 gave the same noise")
	}
}

// Bad knobs are one sentence from New.
func TestPHYConfigChecked(t *testing.T) {
	tn := newTestNet(t, Config{}, 0, false)
	_, err := New(Config{Clock: tn.clock, PHY: phy.Config{Code: phy.NRZ, DriftPPM: 1e6}})
	if err == nil {
		t.Fatal("a drift of 1e6 ppm was accepted")
	}
	if want := `wire "wire0": --phy-drift 1e+06: a clock drift must be within ±100000 ppm`; err.Error() != want {
		t.Errorf("error %q, want %q", err, want)
	}
}

func BenchmarkWirePHY(b *testing.B) {
	tn := newTestNet(b, Config{Mode: Switch, PHY: phy.Config{Code: phy.Manchester, Noise: phy.NoiseForSNR(20)}}, 2, false)
	bits := nic.AppendFrame(nil, tn.ports[1].mac, tn.ports[0].mac, nic.EtherTypeIPv4, make([]byte, 1500))
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		tn.wire.Transmit(tn.ports[0], bits, uint64(i+1))
		tn.clock.Run()
		tn.ports[1].got = tn.ports[1].got[:0]
	}
}

// Each of the PHY's named drops is reached from the knobs a user sets
// (--phy, --phy-snr), not from a hand-damaged signal: it is logged as a
// drop at the receiver's step where the receiver gave up (preamble, sfd,
// decode), with its reason from viz/reason.go, and the NIC gets nothing
// for that frame. Frames that are not dropped reach the NIC.
func TestPHYNamedDrops(t *testing.T) {
	for _, c := range []struct {
		reason viz.Reason
		step   string
		cfg    phy.Config
	}{
		// Noise as strong as the signal: the sampler never sees 16
		// transitions in a row where it expects them.
		{viz.ReasonPHYNoLock, "preamble", phy.Config{Code: phy.Manchester, Noise: phy.NoiseForSNR(3)}},
		// Locked, but noise turns one bit of 10101011 into another.
		{viz.ReasonPHYSFDMissing, "sfd", phy.Config{Code: phy.NRZ, Noise: phy.NoiseForSNR(6)}},
		// A flipped NRZI baud turns a data code group into one that
		// Table 24-1 does not have.
		{viz.ReasonPHYSymbolError, "decode", phy.Config{Code: phy.FourB5BNRZI, Noise: phy.NoiseForSNR(9)}},
	} {
		t.Run(string(c.reason), func(t *testing.T) {
			tn := newTestNet(t, Config{PHY: c.cfg}, 2, true)
			const frames = 20
			for range frames {
				tn.send(0, tn.ports[1].mac, 200)
			}
			tn.clock.Run()
			dropped := map[uint64]bool{}
			for _, e := range tn.sink.Events() {
				if e.Verdict != viz.Drop {
					continue
				}
				if e.Layer != viz.LayerPHY || e.Reason != c.reason && e.Reason != viz.ReasonPHYNoLock && e.Reason != viz.ReasonPHYSFDMissing && e.Reason != viz.ReasonPHYSymbolError {
					t.Errorf("unexpected drop %s/%s %s", e.Layer, e.Step, e.Reason)
				}
				if e.Reason == c.reason {
					if e.Step != c.step {
						t.Errorf("%s logged at step %s, want %s", c.reason, e.Step, c.step)
					}
					if field(t, e, "to") != "b/eth0" || field(t, e, "wave") == "" || !strings.Contains(e.Msg, "IEEE 802.3 clause") {
						t.Errorf("%s step lacks the receiver, the waveform or the clause: %v", c.reason, e)
					}
				}
				dropped[e.Frame] = true
			}
			n := 0
			for _, e := range tn.sink.Events() {
				if e.Verdict == viz.Drop && e.Reason == c.reason {
					n++
				}
			}
			if n == 0 {
				t.Fatalf("%v: no %s drop in %d frames", c.cfg, c.reason, frames)
			}
			for _, a := range tn.ports[1].got {
				if dropped[a.id] {
					t.Errorf("frame %d was dropped by the PHY, yet reached the NIC", a.id)
				}
			}
			if got := len(tn.ports[1].got) + len(dropped); got != frames {
				t.Errorf("%d arrived + %d dropped, want %d frames accounted for", len(tn.ports[1].got), len(dropped), frames)
			}
			t.Logf("%v: %d of %d frames dropped with %s", c.cfg, n, frames, c.reason)
		})
	}
}
