package main

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/packetwalk/packetwalk/internal/testenv"
	"github.com/packetwalk/packetwalk/labs/impl"
)

// `lab serve` builds packetwalk with a student's component (go build of a
// temporary module, cached in GOCACHE after the first) and runs trace or
// serve with it. The tests run the reference solutions, an untouched
// skeleton and a package that does not compile through it.

// labRef is an implementation lab's reference solution in this checkout.
func labRef(dir string) string { return filepath.Join("..", "..", "labs", "impl", dir, "reference") }

// jsonSteps reads a step log written as JSON Lines.
func jsonSteps(t *testing.T, path string) []map[string]any {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var steps []map[string]any
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		steps = append(steps, m)
	}
	return steps
}

func stepField(step map[string]any, key string) string {
	f, _ := step["fields"].(map[string]any)
	s, _ := f[key].(string)
	return s
}

// labServeTrace runs lab serve in trace mode, its step log into a
// temporary file, and returns the exit status, the output and the steps.
func labServeTrace(t *testing.T, id, implDir string) (int, string, []map[string]any) {
	t.Helper()
	testenv.Tool(t, "go", "lab serve builds with the go command")
	jsonl := filepath.Join(t.TempDir(), "steps.jsonl")
	code, out, errOut := runCLI("lab", "serve", id, "--impl", implDir, "--",
		"--quiet", "--json", jsonl, "--pcap", "", "--html", "", "--timeout", "20s")
	out += errOut
	if strings.Contains(out, "goroutine ") || strings.Contains(out, "panic:") {
		t.Fatalf("lab serve %s --impl %s panicked:\n%s", id, implDir, out)
	}
	if _, err := os.Stat(jsonl); err != nil {
		t.Fatalf("lab serve %s: exit %d, no step log:\n%s", id, code, out)
	}
	return code, out, jsonSteps(t, jsonl)
}

// The reference FCS/MAC filter carries the main job: every request
// answered, the step log opening with whose filter runs, and the FCS and
// MAC steps (only those) marked impl: student, on both hosts.
func TestLabServeTraceReference(t *testing.T) {
	code, out, steps := labServeTrace(t, "impl-fcs-mac", labRef("fcsmac"))
	if code != 0 || !strings.Contains(out, "GET /: 200 OK") || !strings.Contains(out, "GET /logo.png (image): 200 OK") {
		t.Fatalf("lab serve impl-fcs-mac with the reference: exit %d, want 0 and every request answered:\n%s", code, out)
	}
	for i, host := range []string{"client", "server"} {
		s := steps[i]
		msg, _ := s["msg"].(string)
		if s["step"] != "impl" || s["host"] != host || !strings.Contains(msg, "eth0's FrameFilter") || !strings.Contains(msg, "is the student's (") {
			t.Errorf("step %d: want %s's line saying eth0's FrameFilter is the student's, got %v", i, host, s)
		}
	}
	marked := map[string]int{}
	for _, s := range steps {
		if stepField(s, "impl") == "student" {
			marked[s["host"].(string)+" "+s["layer"].(string)+" "+s["step"].(string)]++
		}
	}
	for _, want := range []string{"client nic fcs", "client nic mac", "server nic fcs", "server nic mac"} {
		if marked[want] == 0 {
			t.Errorf("no %q step is marked impl: student (marked: %v)", want, marked)
		}
	}
	for k := range marked {
		if !strings.HasSuffix(k, " fcs") && !strings.HasSuffix(k, " mac") {
			t.Errorf("%q is marked impl: student, but the FrameFilter does not take it", k)
		}
	}
}

// An untouched skeleton's FCS check (every CRC 0) drops every frame with
// fcs_mismatch, a named drop marked as the student's; the request fails
// and so does the command, without a panic.
func TestLabServeTraceSkeleton(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "mylab")
	if err := impl.Skeleton("impl-fcs-mac", dir); err != nil {
		t.Fatal(err)
	}
	code, out, steps := labServeTrace(t, "impl-fcs-mac", dir)
	if code != 1 || !strings.Contains(out, "GET /: FAILED") {
		t.Fatalf("lab serve impl-fcs-mac with the skeleton: exit %d, want 1 and GET / failed:\n%s", code, out)
	}
	drops := 0
	for _, s := range steps {
		if s["reason"] == "fcs_mismatch" && stepField(s, "impl") == "student" {
			drops++
		}
	}
	if drops == 0 {
		t.Errorf("the skeleton's run has no fcs_mismatch drop marked impl: student")
	}
}

// A package that does not compile is reported with the student's own file
// paths, and nothing runs.
func TestLabServeBuildError(t *testing.T) {
	testenv.Tool(t, "go", "lab serve builds with the go command")
	dir := filepath.Join(t.TempDir(), "mylab")
	if err := impl.Skeleton("impl-demux", dir); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "broken.go"), []byte("package demux\n\nfunc broken() int { return \"x\" }\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runCLI("lab", "serve", "impl-demux", "--impl", dir, "--", "--quiet", "--json", "", "--pcap", "", "--html", "")
	if code != 1 {
		t.Fatalf("exit %d, want 1:\n%s%s", code, out, errOut)
	}
	if !strings.Contains(out, filepath.Join(dir, "broken.go")+":3:") || strings.Contains(out, "student/") {
		t.Errorf("the compiler's message does not name the student's file %s:\n%s", filepath.Join(dir, "broken.go"), out)
	}
	if lines := strings.Split(strings.TrimSpace(errOut), "\n"); len(lines) != 1 || !strings.Contains(errOut, "did not build") {
		t.Errorf("stderr: want one sentence saying the package did not build, got %q", errOut)
	}
	if strings.Contains(out, "summary") {
		t.Errorf("trace ran although the package did not build:\n%s", out)
	}
}

// Bad command lines get one sentence, without building anything.
func TestLabServeBadInput(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"lab", "serve"}, "serve needs an implementation lab's ID"},
		{[]string{"lab", "serve", "impl-fcs-mac"}, "--impl DIR"},
		{[]string{"lab", "serve", "01-http-life", "--impl", "x"}, "is a scenario lab"},
		{[]string{"lab", "serve", "impl-nope", "--impl", "x"}, "no implementation lab"},
		{[]string{"lab", "serve", "impl-fcs-mac", "--impl", "/nonexistent/mylab"}, "does not exist"},
		{[]string{"lab", "serve", "impl-fcs-mac", "--impl", "x", "--addr", "10.9.0.2/24"}, "give --tun NAME or --tap NAME"},
		{[]string{"lab", "serve", "impl-fcs-mac", "--impl", "x", "--tun", "a", "--tap", "b"}, "not both"},
		{[]string{"lab", "serve", "impl-fcs-mac", "--impl", "x", "--", "--scenario", "f.yaml"}, "--scenario"},
		{[]string{"lab", "serve", "impl-tcp-sender", "--impl", "x", "--also", "impl-tcp-receiver"}, "--also takes ID=DIR"},
		{[]string{"lab", "serve", "impl-tcp-sender", "--impl", labRef("tcpsend"), "--also", "impl-nope=x"}, "no implementation lab"},
		{[]string{"lab", "serve", "impl-tcp-sender", "--impl", labRef("tcpsend"), "--also", "impl-tcp-sender=x"}, "given twice"},
		{[]string{"lab", "serve", "impl-tcp-sender", "--impl", labRef("tcpsend"), "--also", "impl-tcp-receiver=/nonexistent/r"}, "does not exist"},
	} {
		code, out, errOut := runCLI(tc.args...)
		lines := strings.Split(strings.TrimSpace(errOut), "\n")
		if code == 0 || len(lines) != 1 || !strings.Contains(errOut, tc.want) || strings.Contains(out, "building") {
			t.Errorf("%v: exit %d, stderr %q, stdout %q; want one sentence with %q", tc.args, code, errOut, out, tc.want)
		}
	}
}

// labServeTUN runs `lab serve args... --tun pw0 --addr 10.9.0.2/24` in a
// namespace the test makes, has curl fetch the demo site's index through
// it, waits until the step log holds waitFor, stops it and returns the
// steps.
func labServeTUN(t *testing.T, waitFor string, args ...string) []map[string]any {
	t.Helper()
	testenv.Tool(t, "curl", "install it with: apt-get install curl")
	testenv.Tool(t, "go", "lab serve builds with the go command")
	s := newTUNServer(t)
	s.jsonl = filepath.Join(s.dir, "steps.jsonl")
	outFile, err := os.Create(s.out)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { outFile.Close() })
	ready := filepath.Join(s.dir, "ready")
	args = append(append([]string{"lab", "serve"}, args...), "--tun", "pw0", "--addr", tunAddr+"/24", "--", "--quiet", "--json", s.jsonl, "--user", "root")
	cmd := s.ns.Command(context.Background(), os.Args[0], args...)
	cmd.Stdout, cmd.Stderr = outFile, outFile
	cmd.Env = append(os.Environ(), asCLIVar+"=1", readyFileVar+"="+ready)
	// The build of the temporary module comes first: give it longer
	// than serve's own start.
	proc := s.ns.Start(cmd)
	deadline := time.After(45 * time.Second)
	for {
		if _, err := os.Stat(ready); err == nil {
			break
		}
		select {
		case <-proc.Done():
			t.Fatalf("lab serve exited before listening: %v\n%s", proc.Err(), s.output())
		case <-deadline:
			t.Fatalf("lab serve did not listen within 45 s\n%s", s.output())
		case <-time.After(50 * time.Millisecond):
		}
	}
	out, errOut, err := s.run(t, "curl", "-sS", "--max-time", "10", "-w", "\n%{http_code}", "http://"+tunAddr+"/")
	if err != nil {
		t.Fatalf("curl: %v: %s\n%s", err, errOut, s.output())
	}
	if !strings.HasSuffix(out, "\n200") || !strings.Contains(out, "<title>packetwalk demo site</title>") {
		t.Fatalf("curl http://%s/: want the demo site's index with 200, got %q", tunAddr, out)
	}
	waitForFile(t, s.jsonl, waitFor)
	if err := proc.Stop(); err != nil {
		t.Errorf("lab serve did not stop cleanly on SIGTERM: %v\n%s", err, s.output())
	}
	if !strings.Contains(s.output(), "stopped") {
		t.Errorf("lab serve's serve did not say it stopped (SIGTERM not passed on?):\n%s", s.output())
	}
	return jsonSteps(t, s.jsonl)
}

// Through TUN: curl, in a namespace the test makes, fetches the demo site
// from `lab serve impl-demux --tun`, whose TCP demux table is the
// reference solution's; the step log says so and marks its demux steps.
func TestLabServeTUN(t *testing.T) {
	ref, err := filepath.Abs(labRef("demux"))
	if err != nil {
		t.Fatal(err)
	}
	steps := labServeTUN(t, `"step":"demux"`, "impl-demux", "--impl", ref)
	first, _ := steps[0]["msg"].(string)
	if steps[0]["step"] != "impl" || first != "server's TCP demux table is the student's ("+ref+")" {
		t.Errorf("the step log's first line: want the server's TCP demux table is the student's, got %v", steps[0])
	}
	demux := 0
	for _, st := range steps {
		if st["layer"] == "tcp" && st["step"] == "demux" {
			if stepField(st, "impl") != "student" {
				t.Fatalf("a demux step is not marked impl: student: %v", st)
			}
			demux++
		}
	}
	if demux == 0 {
		t.Errorf("no demux step in the step log")
	}
}

// Through TUN with two components: curl's request and the server's
// response go through the reference TCP receiver and TCP sender at once
// (lab serve impl-tcp-sender --also impl-tcp-receiver=DIR); the step log
// opens with a line for each, and marks the receiver's data steps and the
// sender's data segments as the student's, and the server's bare ACKs
// not.
func TestLabServeTUNReceiverAndSender(t *testing.T) {
	send, err := filepath.Abs(labRef("tcpsend"))
	if err != nil {
		t.Fatal(err)
	}
	recv, err := filepath.Abs(labRef("tcprecv"))
	if err != nil {
		t.Fatal(err)
	}
	steps := labServeTUN(t, `"step":"data"`, "impl-tcp-sender", "--impl", send, "--also", "impl-tcp-receiver="+recv)
	checkSenderAndReceiverMarked(t, steps, []string{"server"}, send, recv)
}

// checkSenderAndReceiverMarked checks the step log of a run with the
// reference TCP sender and receiver on hosts: the opening lines, and
// which TCP steps are marked impl: student.
func checkSenderAndReceiverMarked(t *testing.T, steps []map[string]any, hosts []string, send, recv string) {
	t.Helper()
	var want []string
	for _, h := range hosts {
		want = append(want, h+"'s TCP sender (each connection's segment sizes, RTO and duplicate ACKs) is the student's ("+send+")")
	}
	for _, h := range hosts {
		want = append(want, h+"'s TCP receiver (each connection's reassembler, RCV.NXT and window) is the student's ("+recv+")")
	}
	for i, w := range want {
		if msg, _ := steps[i]["msg"].(string); steps[i]["step"] != "impl" || msg != w {
			t.Errorf("step %d: want %q, got %v", i, w, steps[i])
		}
	}
	marked := map[string]int{}
	for _, st := range steps {
		if st["layer"] != "tcp" || st["host"] != hosts[len(hosts)-1] {
			continue
		}
		f, _ := st["fields"].(map[string]any)
		key := st["step"].(string)
		if key == "send" {
			key += " data"
			if flags, _ := f["flags"].(string); f["len"] == "0" && !strings.Contains(flags, "F") {
				key = "send bare" // an ACK or a SYN: a FIN goes where the data ends, the sender's
			}
		}
		if stepField(st, "impl") == "student" {
			marked[key]++
		} else if key == "data" || key == "send data" || key == "rtt" {
			t.Errorf("a %s step is not marked impl: student: %v", key, st)
		}
	}
	for _, k := range []string{"data", "send data", "rtt"} {
		if marked[k] == 0 {
			t.Errorf("no %q step marked impl: student (marked: %v)", k, marked)
		}
	}
	if marked["send bare"] > 0 {
		t.Errorf("%d bare ACKs or SYNs are marked as the sender's", marked["send bare"])
	}
}

// Simulated, with two components: trace's browser fetches the demo site
// through the reference TCP sender and receiver on both hosts.
func TestLabServeTraceTwoComponents(t *testing.T) {
	testenv.Tool(t, "go", "lab serve builds with the go command")
	send, _ := filepath.Abs(labRef("tcpsend"))
	recv, _ := filepath.Abs(labRef("tcprecv"))
	jsonl := filepath.Join(t.TempDir(), "steps.jsonl")
	code, out, errOut := runCLI("lab", "serve", "impl-tcp-sender", "--impl", send, "--also", "impl-tcp-receiver="+recv, "--",
		"--quiet", "--json", jsonl, "--pcap", "", "--html", "", "--timeout", "20s")
	if code != 0 || !strings.Contains(out, "GET /logo.png (image): 200 OK") {
		t.Fatalf("exit %d, want 0 and every request answered:\n%s%s", code, out, errOut)
	}
	checkSenderAndReceiverMarked(t, jsonSteps(t, jsonl), []string{"client", "server"}, send, recv)
}
