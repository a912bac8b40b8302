package main

import (
	"bytes"
	"strings"
	"testing"
)

// trace --phy manchester runs the signal model on the wire: every frame is
// encoded by its sender and decoded by its receiver, the same seed gives
// the same files, and --layer phy draws the waveform around the SFD.
func TestTracePHY(t *testing.T) {
	args := []string{"--phy", "manchester", "--phy-drift", "300", "--phy-snr", "20", "--layer", "phy"}
	j1, p1, h1, out := traceFiles(t, t.TempDir(), args...)
	j2, p2, h2, _ := traceFiles(t, t.TempDir(), args...)
	if !bytes.Equal(j1, j2) || !bytes.Equal(p1, p2) || !bytes.Equal(h1, h2) {
		t.Error("two runs with --phy and the same seed wrote different files")
	}
	for _, step := range []string{"encode", "preamble", "sfd", "decode"} {
		if !bytes.Contains(j1, []byte(`"layer":"phy","step":"`+step+`"`)) {
			t.Errorf("no phy %s step in the log", step)
		}
	}
	for _, want := range []string{"Manchester (IEEE 802.3 clause 7.3.1.1", "line     ", "sampled  ", "|SFD 112", "|frame 128"} {
		if !strings.Contains(out, want) {
			t.Errorf("the narration lacks %q", want)
		}
	}
	// Without --phy nothing of the model appears.
	j, _, _, out := traceFiles(t, t.TempDir())
	if bytes.Contains(j, []byte(`"step":"encode"`)) || strings.Contains(out, "|SFD") {
		t.Error("the signal model ran without --phy")
	}
}

func TestPHYFlagsChecked(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"trace", "--phy", "4b5b"}, `line code "4b5b": want off, manchester, nrz, 4b5b-nrzi, 4b5b-mlt3`},
		{[]string{"trace", "--phy-drift", "100"}, "need a line code"},
		{[]string{"ping", "--phy", "nrz", "--phy-jitter", "0.9"}, "--phy-jitter 0.9: jitter must be between 0 and 0.25 of a baud"},
		{[]string{"drill", "--phy", "nrz", "--phy-snr", "loud", "x.pkt"}, `"loud" is not a number of dB`},
		// A scenario sets its wires' PHY itself: --phy beside it would be ignored.
		{[]string{"trace", "--scenario", "02-lan-adapter", "--phy", "manchester", "--phy-snr", "20"}, "--phy, --phy-snr cannot be combined with --scenario: a scenario file sets each wire's signal model"},
	} {
		code, _, stderr := runCLI(c.args...)
		if code == 0 || !strings.Contains(stderr, c.want) || strings.Count(strings.TrimSpace(stderr), "\n") > 0 {
			t.Errorf("%v: exit %d, stderr %q, want one line with %q", c.args, code, stderr, c.want)
		}
	}
}
