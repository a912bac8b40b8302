package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/packetwalk/packetwalk/internal/testenv"
	"github.com/packetwalk/packetwalk/labs/impl"
	"github.com/packetwalk/packetwalk/labs/scenario"
	"github.com/packetwalk/packetwalk/viz"
)

// The lab commands a student types, with their exit codes: list and show
// succeed; run writes the trace files and succeeds when the expectations
// hold; check passes the reference answers and the student's own run, and
// fails (exit 1) on a wrong answer, naming it with its hint.
func TestLabCommands(t *testing.T) {
	code, out, errOut := runCLI("lab", "list")
	if code != 0 || !strings.Contains(out, "01-http-life") || !strings.Contains(out, "13-io-architectures") {
		t.Fatalf("lab list: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	if strings.Contains(out, "impl-") && !strings.Contains(out, "(implementation lab)") {
		t.Errorf("lab list does not mark the implementation labs: %q", out)
	}

	code, out, _ = runCLI("lab", "show", "01-http-life")
	if code != 0 || !strings.Contains(out, "# The life of an HTTP request") || !strings.Contains(out, "**syn_frame**") {
		t.Fatalf("lab show: exit %d, %q", code, out)
	}
	if strings.Contains(out, "frames_total: 11") {
		t.Error("lab show prints the solution")
	}
	if code, out, _ = runCLI("lab", "show", "8", "--file", "task-nodelay.yaml"); code != 0 || !strings.Contains(out, "name: nagle-task") {
		t.Errorf("lab show --file: exit %d, %q", code, out)
	}
	if code, _, _ = runCLI("lab", "show", "8", "--file", "solution-nodelay.yaml"); code == 0 {
		t.Error("lab show --file printed a solution")
	}

	// The implementation labs' handouts come from package labs/impl.
	for _, l := range impl.Labs() {
		if code, out, _ = runCLI("lab", "show", l.ID); code != 0 || out != l.Handout {
			t.Errorf("lab show %s: exit %d, not its handout", l.ID, code)
		}
		if code, _, errOut = runCLI("lab", "test", l.ID); code == 0 || !strings.Contains(errOut, "--impl DIR") {
			t.Errorf("lab test %s without --impl: exit %d, %q", l.ID, code, errOut)
		}
	}

	dir := t.TempDir()
	run := filepath.Join(dir, "run")
	code, out, errOut = runCLI("lab", "run", "01-http-life", "--out", run, "--quiet")
	if code != 0 {
		t.Fatalf("lab run: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	for _, f := range []string{"trace.txt", "trace.jsonl", "trace.pcapng", "trace.html"} {
		if st, err := os.Stat(filepath.Join(run, f)); err != nil || st.Size() == 0 {
			t.Errorf("lab run did not write %s: %v", f, err)
		}
	}
	narration, _ := os.ReadFile(filepath.Join(run, "trace.txt"))
	if !strings.Contains(string(narration), "listen_clone") || !strings.Contains(string(narration), "GET /: 200 OK") {
		t.Errorf("the narration lacks the walk or the result:\n%.2000s", narration)
	}

	key := filepath.Join(dir, "key.yaml")
	writeFile(t, key, "arp_frames: 2\nsyn_frame: 1\nhandshake_ms: 2\nlistener_state: b\nbody_bytes: 1072\nfirst_fin: server\ntime_wait_host: server\nframes_total: 11\ngvisor_user_agent: go-http-client/1.1\n")
	if code, out, errOut = runCLI("lab", "check", "01-http-life", "--answers", key, "--run", run); code != 0 || !strings.Contains(out, "9 of 9 answers right") ||
		!regexp.MustCompile(`\n[1-9][0-9] passed, 0 failed\n$`).MatchString(out) {
		t.Fatalf("lab check with the right answers and the run: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	wrong := filepath.Join(dir, "wrong.yaml")
	writeFile(t, wrong, "arp_frames: 3\nsyn_frame: 1\n")
	code, out, _ = runCLI("lab", "check", "1", "--answers", wrong)
	if code != 1 || !strings.Contains(out, "FAIL arp_frames: 3 is not right; hint:") || !strings.Contains(out, "PASS syn_frame") ||
		!strings.Contains(out, "FAIL body_bytes: not answered") || !strings.HasSuffix(out, "\n1 passed, 8 failed\n") {
		t.Errorf("lab check with wrong answers: exit %d, %q", code, out)
	}

	// A student's run that does not meet a lab's expectations fails check.
	os.WriteFile(filepath.Join(run, "trace.jsonl"), []byte(`{"t":0,"host":"client","layer":"tcp","step":"send"}`+"\n"), 0o644)
	if code, out, _ = runCLI("lab", "check", "1", "--run", run); code != 1 || !strings.Contains(out, "FAIL scenario.yaml: the client opens with a SYN") {
		t.Errorf("lab check --run on a foreign log: exit %d, %q", code, out)
	}
}

// The task of lab 08 fails as given and passes once the student sets
// TCP_NODELAY in their copy: run --scenario and check --run.
func TestLabTaskFlow(t *testing.T) {
	dir := t.TempDir()
	code, out, _ := runCLI("lab", "run", "08-nagle", "--out", dir, "--quiet")
	if code != 1 || !strings.Contains(out, "FAIL task-nodelay.yaml") {
		t.Fatalf("lab run with the task unsolved: exit %d, %q", code, out)
	}
	task := filepath.Join(dir, "task-nodelay.yaml")
	b, err := os.ReadFile(task)
	if err != nil {
		t.Fatalf("lab run left no copy of the task: %v", err)
	}
	if code, _, _ = runCLI("lab", "check", "08-nagle", "--run", dir); code != 1 {
		t.Errorf("lab check on the unsolved task: exit %d, want 1", code)
	}
	writeFile(t, task, strings.Replace(string(b), "close: close}", "close: close, nodelay: true}", 1))
	if code, out, _ = runCLI("lab", "run", "08-nagle", "--scenario", task, "--out", dir, "--quiet"); code != 0 {
		t.Fatalf("lab run --scenario on the solved task: exit %d, %q", code, out)
	}
	if code, out, _ = runCLI("lab", "check", "08-nagle", "--run", dir); code != 0 {
		t.Errorf("lab check on the solved task: exit %d, %q", code, out)
	}
}

// Bad lab command lines: one sentence on stderr, a non-zero exit.
func TestLabBadInput(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	writeFile(t, bad, "name: x\nhosts:\n  - name: a\n    interfaces: [{wire: nowhere, addr: 10.0.0.1/24}]\n")
	notYAML := filepath.Join(dir, "answers.yaml")
	writeFile(t, notYAML, "q1: [\n")
	cases := [][]string{
		{"lab"},
		{"lab", "frobnicate", "1"},
		{"lab", "frob"},
		{"lab", "skeleton"},
		{"lab", "test"},
		{"lab", "test", "01-http-life", "--impl", dir},
		{"lab", "show", "impl-demux", "--file", "x.yaml"},
		{"lab", "show", filepath.Join(dir, "missing.yaml")},
		{"lab", "show", bad},
		{"lab", "show"},
		{"lab", "show", "99-nope"},
		{"lab", "run", "1", "--scenario", bad, "--out", dir},
		{"lab", "run", "1", "--scenario", filepath.Join(dir, "missing.yaml"), "--out", dir},
		{"lab", "check", "1"},
		{"lab", "check", "1", "--answers", notYAML},
		{"lab", "check", "1", "--run", filepath.Join(dir, "nothing")},
		{"lab", "test", "impl-nope"},
		{"lab", "serve", "impl-drill"},
		{"lab", "serve", "impl-drill", "--impl", dir},
		{"lab", "test", "impl-drill", "--impl", dir},
		{"trace", "--scenario", bad},
		{"trace", "--scenario", "01-http-life", "--get", "/x"},
		{"trace", "--scenario", "01-http-life", "--loss", "0.1", "--seed", "3"},
		{"trace", "--scenario", "01-http-life", "--connections", "2"},
		{"trace", "--timeout", "-1s"},
	}
	for _, args := range cases {
		code, out, errOut := runCLI(args...)
		if len(args) == 1 { // bare "lab" prints its usage, as an error
			if code != 2 || out != "" || !strings.Contains(errOut, "packetwalk lab list") {
				t.Errorf("%v: exit %d, stdout %q, stderr %q", args, code, out, errOut)
			}
			continue
		}
		lines := strings.Split(strings.TrimSpace(errOut), "\n")
		if code == 0 || len(lines) != 1 || lines[0] == "" || strings.Contains(errOut, "goroutine") {
			t.Errorf("%v: exit %d, stderr %q, stdout %q", args, code, errOut, out)
		}
	}
	_, _, errOut := runCLI("lab", "run", "1", "--scenario", bad, "--out", dir)
	if !strings.Contains(errOut, "bad.yaml:4: host a: wire \"nowhere\"") {
		t.Errorf("a bad scenario's error does not give file:line: %q", errOut)
	}
	// Each usage error says what the command needs, not another's.
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"lab", "frob"}, `unknown command "frob"`},
		{[]string{"lab", "skeleton"}, "skeleton needs an implementation lab's ID and a new directory, e.g. packetwalk lab skeleton impl-fcs-mac"},
		{[]string{"lab", "test"}, "test needs an implementation lab's ID, e.g. packetwalk lab test impl-fcs-mac --impl"},
		{[]string{"lab", "show"}, "show needs a lab ID or a scenario file"},
		{[]string{"lab", "test", "01-http-life", "--impl", dir}, "01-http-life is a scenario lab"},
		{[]string{"lab", "show", bad}, "bad.yaml:4: host a: wire \"nowhere\" is not among the wires: there are no wires"},
		{[]string{"lab", "serve", "impl-drill", "--impl", dir}, "impl-drill has no component of yours to carry traffic"},
		{[]string{"lab", "test", "impl-drill", "--impl", dir}, "has no packetdrill scripts (*.pkt)"},
	} {
		if _, _, errOut := runCLI(c.args...); !strings.Contains(errOut, c.want) || strings.Contains(errOut, "needs a lab ID") && c.args[1] == "frob" {
			t.Errorf("%v: %q, want it to say %q", c.args, errOut, c.want)
		}
	}
}

// trace --scenario runs a lab's scenario with trace's outputs.
func TestTraceScenario(t *testing.T) {
	dir := t.TempDir()
	jsonPath := filepath.Join(dir, "t.jsonl")
	code, out, errOut := runCLI("trace", "--scenario", "04-routing/scenario-ttl.yaml", "--json", jsonPath, "--pcap", "", "--html", "", "--drops-only")
	if code != 0 || !strings.Contains(out, "ttl_expired") || !strings.Contains(out, "PASS the router drops the echo request with ttl_expired") {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	events, err := scenario.ReadLog(jsonPath)
	if err != nil || len(events) == 0 {
		t.Fatalf("the step log: %d events, %v", len(events), err)
	}
}

// A teacher's own scenario file, with its answers inline, is a lab of its
// own: lab show prints its questions (not the answers), lab run runs it,
// and lab check grades answers and runs, in text and in JSON.
func TestLabStandalone(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "router-loss.yaml")
	writeFile(t, file, `name: router-loss
title: A ping through a lossy wire
description: |
  The wire loses the second echo request; ping says so.
wires:
  - {name: lan, latency: 1ms, faults: ["drop:5"]}
hosts:
  - name: a
    interfaces: [{wire: lan, addr: 10.0.0.1/24}]
  - name: b
    interfaces: [{wire: lan, addr: 10.0.0.2/24}]
traffic:
  - ping: {from: a, to: b, count: 3, interval: 100ms}
expect:
  - says: frame 5 is lost on the wire
    match: {frame: 5, layer: phy, verdict: drop, reason: wire_fault}
    count: 1
questions:
  - id: lost
    type: number
    ask: "How many echo replies does a miss? (#5 is the frame to look at)"
    hint: count ping_reply steps
    answer: 1
  - id: who
    type: choice
    choices: [a, b]
    ask: Which host never sees the lost request?
    answer: b
`)
	code, out, errOut := runCLI("lab", "show", file)
	if code != 0 || !strings.Contains(out, "# A ping through a lossy wire") || !strings.Contains(out, "the second echo request") ||
		!strings.Contains(out, "**lost** (a number): How many echo replies does a miss? (#5 is the frame to look at)") ||
		!strings.Contains(out, "lab check "+file+" --answers") {
		t.Fatalf("lab show FILE: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	if strings.Contains(out, "answer: 1") {
		t.Errorf("lab show FILE prints the answers:\n%s", out)
	}
	run := filepath.Join(dir, "run")
	if code, out, errOut = runCLI("lab", "run", file, "--out", run, "--quiet"); code != 0 || !strings.Contains(out, "PASS router-loss.yaml: frame 5 is lost on the wire") {
		t.Fatalf("lab run FILE: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	if _, err := os.Stat(filepath.Join(run, "trace-router-loss.jsonl")); err != nil {
		t.Fatalf("lab run FILE wrote no step log: %v", err)
	}
	answers := filepath.Join(dir, "a.yaml")
	writeFile(t, answers, "lost: 1\nwho: a\n")
	code, out, errOut = runCLI("lab", "check", file, "--answers", answers, "--run", run)
	if code != 1 || !strings.Contains(out, "PASS lost: 1") || !strings.Contains(out, "FAIL who: (a) a is not right") ||
		!strings.Contains(out, "PASS router-loss.yaml: frame 5 is lost") || !strings.HasSuffix(out, "\n2 passed, 1 failed\n") {
		t.Fatalf("lab check FILE: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	code, out, errOut = runCLI("lab", "check", file, "--answers", answers, "--run", run, "--json")
	var grades struct {
		Lab     string
		Results []struct {
			ID      string
			Kind    string
			Passed  bool
			Points  int
			Message string
		}
		Passed, Failed int
		Summary        string
	}
	if err := json.Unmarshal([]byte(out), &grades); err != nil || code != 1 {
		t.Fatalf("lab check --json: exit %d, %v: %q %q", code, err, out, errOut)
	}
	if grades.Passed != 2 || grades.Failed != 1 || grades.Summary != "2 passed, 1 failed" || len(grades.Results) != 3 ||
		grades.Results[0].ID != "lost" || !grades.Results[0].Passed || grades.Results[0].Points != 1 ||
		grades.Results[1].ID != "who" || grades.Results[1].Passed || grades.Results[1].Points != 0 || !strings.Contains(grades.Results[1].Message, "not right") ||
		grades.Results[2].Kind != "check" || !grades.Results[2].Passed {
		t.Errorf("lab check --json: %+v", grades)
	}

	// Without inline answers, grading says which question lacks one.
	noKey := filepath.Join(dir, "nokey.yaml")
	b, _ := os.ReadFile(file)
	writeFile(t, noKey, strings.Replace(string(b), "    answer: b\n", "", 1))
	if code, _, errOut = runCLI("lab", "check", noKey, "--answers", answers); code == 0 || !strings.Contains(errOut, "question who has no answer:") {
		t.Errorf("lab check of a file without inline answers: exit %d, %q", code, errOut)
	}
}

// lab test --json grades an untouched skeleton for a machine: every
// graded test is listed, failed, with no points, and the summary says so.
func TestLabTestJSON(t *testing.T) {
	testenv.Tool(t, "go", "the graded tests are run by the go command")
	dir := filepath.Join(t.TempDir(), "mylab")
	if code, out, errOut := runCLI("lab", "skeleton", "impl-demux", dir); code != 0 {
		t.Fatalf("lab skeleton: exit %d, %q, %q", code, out, errOut)
	}
	code, out, errOut := runCLI("lab", "test", "impl-demux", "--impl", dir, "--json")
	var rep struct {
		Lab     string
		Built   bool
		Results []struct {
			ID      string
			Passed  bool
			Points  int
			Message string
		}
		Passed, Failed int
		Summary        string
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil || code != 1 {
		t.Fatalf("lab test --json: exit %d, %v: stdout %q, stderr %q", code, err, out, errOut)
	}
	if rep.Lab != "impl-demux" || !rep.Built || rep.Passed != 0 || rep.Failed != len(rep.Results) || len(rep.Results) < 5 ||
		rep.Summary != fmt.Sprintf("0 passed, %d failed", rep.Failed) {
		t.Errorf("lab test --json on the skeleton: %+v", rep)
	}
	for _, r := range rep.Results {
		if r.ID == "" || r.Passed || r.Points != 0 || r.Message == "" {
			t.Errorf("graded test %+v: want an id, a failure, 0 points and a message", r)
		}
	}
}

// Wireshark's HTTP dissector, which we did not write, reads the responses
// of lab 14's capture with the same headers the browser judged: for each
// response, its Content-Type is the one of the browser's type step, its
// Content-Encoding the one of the encoding step, and the Content-Length
// the body's bytes on the wire.
func TestLabBrowserTshark(t *testing.T) {
	tshark := testenv.Tool(t, "tshark", "install it with: apt-get install tshark")
	dir := t.TempDir()
	if code, out, errOut := runCLI("lab", "run", "14-browser", "--out", dir, "--quiet"); code != 0 {
		t.Fatalf("lab run: exit %d, %q, %q", code, out, errOut)
	}
	events, err := scenario.ReadLog(filepath.Join(dir, "trace.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	// The browser's judgements, one line per response, in order.
	var judged []string
	var ctype string
	field := func(e *viz.Event, k string) string { v, _ := e.Field(k); return v }
	for i := range events {
		e := &events[i]
		if e.Layer != "browser" {
			continue
		}
		switch e.Step {
		case "type":
			ctype = field(e, "content_type")
		case "encoding":
			enc, wire := field(e, "encoding"), field(e, "bytes")
			if enc == "identity" {
				enc = ""
			}
			judged = append(judged, fmt.Sprintf("%s\t%s\t%s\t%s", field(e, "path"), ctype, enc, wire))
		}
	}
	out, err := exec.Command(tshark, "-r", filepath.Join(dir, "trace.pcapng"), "-Y", "http.response",
		"-T", "fields", "-e", "http.response_for.uri", "-e", "http.content_type", "-e", "http.content_encoding",
		"-e", "http.content_length_header").Output()
	if err != nil {
		t.Fatalf("tshark: %v", err)
	}
	var seen []string
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Split(line, "\t")
		if len(f) != 4 {
			t.Fatalf("tshark line %q", line)
		}
		uri := f[0][strings.Index(f[0], "10.0.0.2")+len("10.0.0.2"):]
		seen = append(seen, fmt.Sprintf("%s\t%s\t%s\t%s", uri, f[1], f[2], f[3]))
	}
	// The browser's encoding step gives the body's length only for a
	// compressed body; compare the identity ones without it.
	for i := range judged {
		if i < len(seen) && strings.HasSuffix(judged[i], "\t") {
			seen[i] = seen[i][:strings.LastIndex(seen[i], "\t")+1]
		}
	}
	if len(judged) != 9 || strings.Join(judged, "\n") != strings.Join(seen, "\n") {
		t.Errorf("the browser judged:\n%s\nWireshark reads:\n%s", strings.Join(judged, "\n"), strings.Join(seen, "\n"))
	}
}

// Wireshark's HTTP dissector reads lab 18's responses with the header
// fields the server's respond steps say it built: for each response in
// order, its status, Content-Type, Content-Encoding, Content-Length, ETag
// and Content-Range (of the 206 and the 416, from the range decision).
func TestLabResponsesTshark(t *testing.T) {
	tshark := testenv.Tool(t, "tshark", "install it with: apt-get install tshark")
	dir := t.TempDir()
	if code, out, errOut := runCLI("lab", "run", "18-responses", "--out", dir, "--quiet"); code != 0 {
		t.Fatalf("lab run: exit %d, %q, %q", code, out, errOut)
	}
	events, err := scenario.ReadLog(filepath.Join(dir, "trace.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	field := func(e *viz.Event, k string) string { v, _ := e.Field(k); return v }
	var built []string
	contentRange := ""
	for i := range events {
		e := &events[i]
		if e.Host != "server" || e.Layer != "http" || e.Step != "respond" {
			continue
		}
		if field(e, "decision") == "range" {
			contentRange = field(e, "content_range")
			if field(e, "status") == "416" {
				contentRange = "bytes */4000" // the message names it; the field is for 206
			}
			continue
		}
		if field(e, "source") == "" {
			continue // another decision
		}
		length := field(e, "length")
		if length == "-1" {
			length = ""
		}
		// A 304's type names the representation it stands for, which
		// goes without Content-Type; a redirect's step names no type.
		ctype := field(e, "type")
		if field(e, "status") == "304" {
			ctype = ""
		}
		built = append(built, strings.Join([]string{field(e, "status"), ctype, field(e, "encoding"), length, field(e, "etag"), contentRange}, "|"))
		contentRange = ""
	}
	out, err := exec.Command(tshark, "-r", filepath.Join(dir, "trace.pcapng"), "-Y", "http.response",
		"-T", "fields", "-e", "http.response.code", "-e", "http.content_type", "-e", "http.content_encoding",
		"-e", "http.content_length_header", "-e", "http.response.line").Output()
	if err != nil {
		t.Fatalf("tshark: %v", err)
	}
	var seen []string
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Split(line, "\t")
		if len(f) != 5 {
			t.Fatalf("tshark line %q", line)
		}
		var etag, cr string
		for _, h := range strings.Split(f[4], ",") {
			h = strings.TrimSuffix(h, `\r\n`)
			if v, ok := strings.CutPrefix(h, "ETag: "); ok {
				etag = v
			}
			if v, ok := strings.CutPrefix(h, "Content-Range: "); ok {
				cr = v
			}
		}
		if f[0] == "301" {
			f[1] = ""
		}
		seen = append(seen, strings.Join([]string{f[0], f[1], f[2], f[3], etag, cr}, "|"))
	}
	if len(built) != 11 || strings.Join(built, "\n") != strings.Join(seen, "\n") {
		t.Errorf("the server's respond steps built:\n%s\nWireshark reads:\n%s", strings.Join(built, "\n"), strings.Join(seen, "\n"))
	}
}

func writeFile(t *testing.T, path, text string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

// tshark, which we did not write, reads the capture of lab 02's run and
// finds a bad FCS exactly on the frames the step log has fcs_mismatch drops
// for (the corrupted frame and the crafted one): each once, as the hub
// carried it, with the walk of every receiver that dropped it among its
// comments.
func TestLabCaptureTshark(t *testing.T) {
	tshark := testenv.Tool(t, "tshark", "install it with: apt-get install tshark")
	dir := t.TempDir()
	if code, out, errOut := runCLI("lab", "run", "02-lan-adapter", "--out", dir, "--quiet"); code != 0 {
		t.Fatalf("lab run: exit %d, %q, %q", code, out, errOut)
	}
	events, err := scenario.ReadLog(filepath.Join(dir, "trace.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	droppedBy := map[string][]string{} // frame ID -> hosts
	drops := 0
	for _, e := range events {
		if e.Reason == "fcs_mismatch" {
			drops++
			id := strconv.FormatUint(e.Frame, 10)
			droppedBy[id] = append(droppedBy[id], e.Host)
		}
	}
	out, err := exec.Command(tshark, "-r", filepath.Join(dir, "trace.pcapng"), "-o", "eth.check_fcs:TRUE",
		"-Y", "eth.fcs.status == 0", "-T", "fields", "-E", "occurrence=a", "-E", "aggregator=|",
		"-e", "frame.packet_id", "-e", "frame.comment").Output()
	if err != nil {
		t.Fatalf("tshark: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if drops != 7 || len(droppedBy) != 2 || len(lines) != len(droppedBy) {
		t.Fatalf("tshark finds %d frames with a bad FCS: %q; the step log has %d fcs_mismatch drops of %d frames (want 7 drops of 2 frames, each frame once)",
			len(lines), lines, drops, len(droppedBy))
	}
	for _, l := range lines {
		id, comments, _ := strings.Cut(l, "\t")
		hosts := droppedBy[id]
		if hosts == nil {
			t.Errorf("tshark finds a bad FCS on frame %s, which no NIC dropped for it", id)
		}
		for _, h := range hosts {
			if !strings.Contains("|"+comments, "|"+h+" phy: ") {
				t.Errorf("frame %s: no comment is %s's walk: %q", id, h, comments)
			}
		}
	}
}
