package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/packetwalk/packetwalk/internal/testenv"
	"github.com/packetwalk/packetwalk/viz"
)

func runCLI(args ...string) (code int, stdout, stderr string) {
	var o, e bytes.Buffer
	code = run(args, &o, &e)
	return code, o.String(), e.String()
}

func TestHelpExitsZero(t *testing.T) {
	for _, args := range [][]string{{"help"}, {"--help"}, {"trace", "--help"}, {"ping", "-h"}} {
		code, out, _ := runCLI(args...)
		if code != 0 || !strings.Contains(out, "packetwalk") && !strings.Contains(out, "Usage") {
			t.Errorf("%v: exit %d, output %q", args, code, out)
		}
	}
}

// Bad input gets one sentence on stderr and a non-zero exit, never a
// stack trace.
func TestBadInputIsOneSentence(t *testing.T) {
	cases := [][]string{
		{"frobnicate"},
		{"trace", "--loss", "1.5"},
		{"trace", "--loss", "abc"},
		{"trace", "--corrupt", "NaN"},
		{"trace", "--mtu", "20"},
		{"trace", "--fault", "explode:3"},
		{"trace", "--wire", "token-ring"},
		{"trace", "--nonsense"},
		{"trace", "extra-arg"},
		{"ping", "--count", "0"},
		{"ping", "--size", "70000"},
		{"ping", "--ttl", "0"},
		{"trace", "--json", "/nonexistent-dir/x.jsonl"},
	}
	for _, args := range cases {
		code, out, errOut := runCLI(args...)
		lines := strings.Split(strings.TrimSpace(errOut), "\n")
		if code == 0 || len(lines) != 1 || lines[0] == "" || strings.Contains(errOut, "goroutine") {
			t.Errorf("%v: exit %d, stderr %q, stdout %q", args, code, errOut, out)
		}
	}
}

func TestTraceWritesItsFiles(t *testing.T) {
	dir := t.TempDir()
	jsonPath, pcapPath := filepath.Join(dir, "t.jsonl"), filepath.Join(dir, "t.pcapng")
	htmlPath := filepath.Join(dir, "t.html")
	code, out, errOut := runCLI("trace", "--json", jsonPath, "--pcap", pcapPath, "--html", htmlPath, "--get", "/docs")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{"fcs", "listen_clone", "demux", " http ", "map", "GET /: 200 OK", "GET /docs: 301", "== summary"} {
		if !strings.Contains(out, want) {
			t.Errorf("narration lacks %q", want)
		}
	}
	f, err := os.Open(jsonPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	n := 0
	for sc.Scan() {
		var e viz.Event
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("line %d: %v", n+1, err)
		}
		n++
	}
	if n < 50 {
		t.Fatalf("only %d events", n)
	}
	if st, err := os.Stat(pcapPath); err != nil || st.Size() < 1000 {
		t.Fatalf("capture: %v", err)
	}
	if st, err := os.Stat(htmlPath); err != nil || st.Size() < 10000 {
		t.Fatalf("report: %v", err)
	}
}

func TestPingExitStatus(t *testing.T) {
	if code, out, errOut := runCLI("ping", "--quiet", "--count", "2"); code != 0 || !strings.Contains(out, "2 received") {
		t.Fatalf("clean ping: exit %d\n%s%s", code, out, errOut)
	}
	// Every frame lost: no reply, so ping fails like ping(8).
	if code, out, _ := runCLI("ping", "--quiet", "--count", "2", "--loss", "1"); code != 1 || !strings.Contains(out, "100% packet loss") {
		t.Fatalf("lossy ping: exit %d\n%s", code, out)
	}
}

// The acceptance run: replies, reassembly and FCS drops all show.
func TestPingFragmentedOverCorruptWire(t *testing.T) {
	code, out, errOut := runCLI("ping", "--count", "5", "--size", "4000", "--mtu", "1500", "--corrupt", "0.1", "--seed", "7")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{"4008 bytes from 10.0.0.2", "reassembled", "fcs_mismatch", "ping statistics"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q", want)
		}
	}
}

// The IP issue's acceptance run, checked by tshark against the step log:
// the frames Wireshark finds with a bad FCS are exactly the NICs'
// fcs_mismatch drops, and the reassembly shows in the comments.
func TestPingCaptureAgreesWithTshark(t *testing.T) {
	tshark := testenv.Tool(t, "tshark", "install it with: apt-get install tshark")
	dir := t.TempDir()
	pcap, jsonl := filepath.Join(dir, "p.pcapng"), filepath.Join(dir, "p.jsonl")
	if code, _, errOut := runCLI("ping", "--quiet", "--count", "5", "--size", "4000", "--mtu", "1500", "--corrupt", "0.1",
		"--seed", "7", "--pcap", pcap, "--json", jsonl); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	raw, err := os.ReadFile(jsonl)
	if err != nil {
		t.Fatal(err)
	}
	drops := strings.Count(string(raw), `"reason":"fcs_mismatch"`)
	if drops == 0 {
		t.Fatal("seed 7 corrupts no frame; choose another seed for this test")
	}
	out, err := exec.Command(tshark, "-r", pcap, "-o", "eth.check_fcs:TRUE", "-Y", "eth.fcs.status == 0", "-T", "fields", "-e", "frame.packet_id").Output()
	if err != nil {
		t.Fatal(err)
	}
	if got := len(strings.Fields(string(out))); got != drops {
		t.Fatalf("tshark finds %d bad-FCS frames, the log has %d fcs_mismatch drops", got, drops)
	}
	out, err = exec.Command(tshark, "-r", pcap, "-Y", `frame.comment contains "reassembled"`).Output()
	if err != nil || len(strings.TrimSpace(string(out))) == 0 {
		t.Fatalf("no packet comment shows the reassembly: %v", err)
	}
}
