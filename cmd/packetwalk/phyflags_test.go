package main

import (
	"bytes"
	"os"
	"path/filepath"
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
		{[]string{"trace", "--scenario", "02-lan-adapter", "--phy", "manchester", "--phy-snr", "20"}, "--phy, --phy-snr cannot be combined with --scenario: the scenario file sets its own wires"},
	} {
		code, _, stderr := runCLI(c.args...)
		if code == 0 || !strings.Contains(stderr, c.want) || strings.Count(strings.TrimSpace(stderr), "\n") > 0 {
			t.Errorf("%v: exit %d, stderr %q, want one line with %q", c.args, code, stderr, c.want)
		}
	}
}

// ping and drill take --phy as trace does: the wire line-codes their
// frames. Over NRZ with a drifting clock the zero runs of the ARP
// request's padding slip and the FCS check fails, so ping gets no reply;
// a packetdrill script still passes over a clean Manchester wire.
func TestPingAndDrillPHY(t *testing.T) {
	dir := t.TempDir()
	count := func(log []byte, s string) int { return bytes.Count(log, []byte(s)) }
	pj := filepath.Join(dir, "ping.jsonl")
	code, out, stderr := runCLI("ping", "--phy", "nrz", "--phy-drift", "20000", "--count", "2", "--json", pj)
	if code == 0 || !strings.Contains(out, "2 packets transmitted, 0 received") {
		t.Errorf("ping over NRZ with 2%% drift: exit %d, %q %q", code, lastLine(out), stderr)
	}
	log, err := os.ReadFile(pj)
	if err != nil {
		t.Fatal(err)
	}
	if count(log, `"step":"encode"`) == 0 || count(log, `"step":"decode"`) == 0 || count(log, `"reason":"fcs_mismatch"`) == 0 || !bytes.Contains(log, []byte(`"code":"nrz"`)) {
		t.Errorf("ping --phy nrz: %d encode, %d decode steps, %d fcs_mismatch drops", count(log, `"step":"encode"`), count(log, `"step":"decode"`), count(log, `"reason":"fcs_mismatch"`))
	}

	dj := filepath.Join(dir, "drill.jsonl")
	code, out, stderr = runCLI("drill", "--phy", "manchester", "--quiet", "--json", dj, drillPassive)
	if code != 0 {
		t.Fatalf("drill --phy manchester: exit %d, %q %q", code, out, stderr)
	}
	if log, err = os.ReadFile(dj); err != nil {
		t.Fatal(err)
	}
	if n := count(log, `"step":"decode"`); n == 0 || n != count(log, `"step":"encode"`) || !bytes.Contains(log, []byte(`"code":"manchester"`)) {
		t.Errorf("drill --phy manchester: %d encode, %d decode steps", count(log, `"step":"encode"`), n)
	}
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	return s[strings.LastIndex(s, "\n")+1:]
}
