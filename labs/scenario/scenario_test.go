package scenario

import (
	"context"
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/packetwalk/packetwalk/viz"
)

// A minimal valid scenario that the bad cases below spoil one line at a
// time.
const base = `name: t
wires:
  - name: lan
hosts:
  - name: a
    interfaces: [{wire: lan, addr: 10.0.0.1/24}]
  - name: b
    interfaces: [{wire: lan, addr: 10.0.0.2/24}]
`

// TestBadScenarios: each mistake is one sentence with file:line, and the
// line is the mistake's.
func TestBadScenarios(t *testing.T) {
	cases := []struct {
		name, text string
		line       int
		want       string
	}{
		{"empty", "", 1, "empty"},
		{"not yaml", "name: [\n", 1, "not valid YAML"},
		{"unknown top key", base + "hostz: []\n", 9, `unknown key "hostz"`},
		{"unknown nested key", base + "traffic:\n  - ping: {from: a, to: b, cuont: 3}\n", 10, `unknown key "cuont"`},
		{"wrong type", base + "seed: many\n", 9, `"many" is not a whole number`},
		{"bad duration", base + "time_limit: soon\n", 9, "not a duration"},
		{"no hosts", "name: t\n", 1, "needs hosts"},
		{"unknown wire", strings.Replace(base, "{wire: lan, addr: 10.0.0.2/24}", "{wire: lann, addr: 10.0.0.2/24}", 1), 8, `wire "lann" is not among the wires: lan`},
		{"bad address", strings.Replace(base, "10.0.0.2/24", "10.0.0.2", 1), 8, "not an IPv4 address with its prefix"},
		{"duplicate address", strings.Replace(base, "10.0.0.2/24", "10.0.0.1/24", 1), 8, "already a's"},
		{"bad probability", strings.Replace(base, "  - name: lan\n", "  - name: lan\n    loss: 1.5\n", 1), 3, "loss 1.5 is not a probability"},
		{"bad fault", strings.Replace(base, "  - name: lan\n", "  - name: lan\n    faults: [explode:3]\n", 1), 3, "fault"},
		{"two traffic kinds", base + "traffic:\n  - ping: {from: a, to: b}\n    udp: {from: a, to: \"b:9\"}\n", 10, "exactly one of"},
		{"unknown from", base + "traffic:\n  - ping: {from: c, to: b}\n", 10, `host "c" is not among the hosts: a, b`},
		{"unknown frame wire", base + "traffic:\n  - frame: {wire: wan, hex: \"00\"}\n", 10, `wire "wan" is not among the wires: lan`},
		{"unknown server host", base + "servers:\n  - {host: srv, kind: echo, port: 7}\n", 10, `host "srv" is not among the hosts: a, b`},
		{"unknown to", base + "traffic:\n  - ping: {from: a, to: bb}\n", 10, `"bb" is neither an IPv4 address nor a host (the hosts: a, b)`},
		{"ask cut by a comment", base + "questions:\n  - id: q1\n    type: number\n    ask: Which frame, #N in the narration, is it?\n", 12, `questions[1].ask: the text stops at " #N in the narration, is it?"`},
		{"hint cut by a comment", base + "questions:\n  - id: q1\n    type: number\n    ask: Which frame?\n    hint: socket #1\n", 13, "put the whole text in double quotes"},
		{"port needed", base + "traffic:\n  - tcp: {from: a, to: b}\n", 10, "needs a port"},
		{"bad syn_cookies", strings.Replace(base, "  - name: b\n", "  - name: b\n    tcp: {syn_cookies: sometimes}\n", 1), 8, "want when_full, off or always"},
		{"bad timestamps", strings.Replace(base, "  - name: b\n", "  - name: b\n    tcp: {timestamps: maybe}\n", 1), 8, "want on or off"},
		{"bad server kind", base + "servers:\n  - {host: b, kind: ftp, port: 21}\n", 10, `kind "ftp"`},
		{"bad reason", base + "expect:\n  - match: {reason: fcs_mismatchh}\n", 10, `reason "fcs_mismatchh"`},
		{"bad layer", base + "expect:\n  - match: {layer: tcpp}\n", 10, `layer "tcpp"`},
		{"after unknown", base + "expect:\n  - after: nope\n    match: {layer: tcp}\n", 10, `after: "nope" is not the name of an expectation above this one (no expectation above it has a name:)`},
		{"after unknown, names listed", base + "expect:\n  - name: syn\n    match: {layer: tcp}\n  - after: nope\n    match: {layer: tcp}\n", 12, `after: "nope" is not the name of an expectation above this one (syn)`},
		{"within without after", base + "expect:\n  - within: 1ms\n    match: {layer: tcp}\n", 10, "within: needs after:"},
		{"bad regexp", base + "expect:\n  - match: {msg: \"re:(\"}\n", 10, "not a regular expression"},
		{"question type", base + "questions:\n  - {id: q1, ask: why, type: essay}\n", 10, `type "essay"`},
		{"choice answer", base + "questions:\n  - {id: q1, ask: which, type: choice, choices: [x, y], answer: z}\n", 10, `"z" is not one of the choices`},
		{"payload size without unit", base + "traffic:\n  - udp: {from: a, to: \"b:9\", payload: 100}\n", 10, "needs its unit"},
		{"frame bad hex", base + "traffic:\n  - frame: {wire: lan, hex: \"zz\"}\n", 10, "hex"},
		{"alias", base + "x: &a 1\n", 9, `unknown key "x"`},
		{"unknown http client", base + "traffic:\n  - http: {from: a, to: b, client: curl}\n", 10, `http client "curl" is not plain or browser`},
		{"browser with a mode", base + "traffic:\n  - http: {from: a, to: b, client: browser, mode: parallel}\n", 10, "give connections: (1 to 16), not mode:"},
		{"browser with a method", base + "traffic:\n  - http: {from: a, to: b, client: browser, method: POST}\n", 10, "writes its own requests"},
		{"gzip without the browser", base + "traffic:\n  - http: {from: a, to: b, gzip: false}\n", 10, "gzip: is for client: browser"},
		{"http2 without the browser", base + "traffic:\n  - http: {from: a, to: b, http2: true}\n", 10, "http2: is for client: browser"},
		{"http2 with connections", base + "traffic:\n  - http: {from: a, to: b, client: browser, http2: true, connections: 4}\n", 10, "leave out connections:"},
		{"unknown congestion", strings.Replace(base, "  - name: b\n", "  - name: b\n    tcp: {congestion: bbr}\n", 1), 8, `congestion "bbr": want newreno or cubic`},
		{"pause on an echo server", base + "servers:\n  - {host: b, kind: echo, port: 7, pause_after: \"1KiB\", pause: 1s}\n", 10, "pause: is for a discard server"},
		{"pause_after without pause", base + "servers:\n  - {host: b, kind: discard, port: 9, pause_after: \"1KiB\"}\n", 10, "pause_after: needs pause:"},
		{"pause_after not a size", base + "servers:\n  - {host: b, kind: discard, port: 9, pause_after: soon, pause: 1s}\n", 10, `pause_after "soon" is not a size`},
		{"pad of a missing file", base + "servers:\n  - host: b\n    kind: http\n    port: 80\n    files: {index.html: hi}\n    pad:\n      big.txt: \"2KiB\"\n", 15, `pad: "big.txt" is not among the server's files: index.html`},
		{"pad smaller than the file", base + "servers:\n  - host: b\n    kind: http\n    port: 80\n    files: {index.html: hello}\n    pad: {index.html: \"2 bytes\"}\n", 14, "index.html is 5 bytes already"},
		{"pad not a size", base + "servers:\n  - host: b\n    kind: http\n    port: 80\n    files: {index.html: hello}\n    pad: {index.html: big}\n", 14, `"big" is not a size`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse("lab.yaml", []byte(c.text))
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("got %v, want an *Error", err)
			}
			if e.File != "lab.yaml" || e.Line != c.line || !strings.Contains(e.Msg, c.want) {
				t.Fatalf("got %q, want lab.yaml:%d: ...%s...", err, c.line, c.want)
			}
			if strings.HasPrefix(e.Msg, ":") || strings.HasPrefix(e.Msg, " ") {
				t.Fatalf("the sentence starts with an empty name: %q", err)
			}
			if strings.Count(err.Error(), "\n") > 0 {
				t.Fatalf("the error is more than one line: %q", err)
			}
		})
	}
}

// TestEvaluate: counts, order and virtual-time bounds on a hand-made log.
func TestEvaluate(t *testing.T) {
	ms := time.Millisecond
	events := []viz.Event{
		{T: 0, Host: "client", Layer: viz.LayerTCP, Step: "send", Frame: 1, Fields: []viz.Field{viz.F("flags", "[S]"), viz.F("len", "0")}},
		{T: 1 * ms, Host: "server", Layer: viz.LayerNIC, Step: "fcs", Verdict: viz.Drop, Reason: "fcs_mismatch", Frame: 1},
		{T: 1001 * ms, Host: "client", Layer: viz.LayerTCP, Step: "send", Frame: 2, Fields: []viz.Field{viz.F("flags", "[S]"), viz.F("len", "0")}},
		{T: 1002 * ms, Host: "server", Layer: viz.LayerTCP, Step: "send", Frame: 3, Fields: []viz.Field{viz.F("flags", "[S.]"), viz.F("len", "0")}},
	}
	one, two := 1, 2
	expects := []Expect{
		{Name: "syn", Match: Match{Host: "client", Fields: map[string]string{"flags": "[S]"}}, Count: &two},
		{Name: "drop7", Match: Match{Frame: 1, Verdict: "drop", Reason: "fcs_mismatch"}, Count: &one},
		{Name: "synack_fast", After: "syn", Within: Duration(ms), Match: Match{Host: "server", Fields: map[string]string{"flags": "[S.]"}}},
		{Name: "synack", After: "syn", Match: Match{Host: "server", Fields: map[string]string{"flags": "[S.]"}}, Count: &one},
		{Name: "nothing_big", Match: Match{Fields: map[string]string{"len": ">0"}}, None: true},
		{Name: "re", Match: Match{Layer: "tcp", Fields: map[string]string{"flags": "re:^\\[S"}}, AtLeast: &two, AtMost: &two},
	}
	got := Evaluate(expects, events)
	want := []bool{true, true, false, true, true, false}
	for i, o := range got {
		if o.Pass != want[i] {
			t.Errorf("%s: pass %v, want %v (%s)", o.Name(), o.Pass, want[i], o.Detail)
		}
	}
	if !strings.Contains(got[2].Detail, "within 1ms") {
		t.Errorf("detail %q does not state the bound", got[2].Detail)
	}
	// An expectation after one that never matched fails and says why.
	never := []Expect{{Name: "x", Match: Match{Step: "nope"}}, {Name: "y", After: "x", Match: Match{}}}
	if o := Evaluate(never, events)[1]; o.Pass || !strings.Contains(o.Detail, "never happened") {
		t.Errorf("got %+v", o)
	}
}

// TestGrade: numbers with tolerance and units, choices by letter or text,
// normalized text, missing and unknown answers.
func TestGrade(t *testing.T) {
	sc, err := Parse("q.yaml", []byte(base+`questions:
  - {id: n, ask: how many, type: number, tolerance: 0.5, hint: count them}
  - {id: c, ask: which, type: choice, choices: [LISTEN, ESTABLISHED]}
  - {id: s, ask: what, type: text}
  - {id: m, ask: missing, type: number, hint: look again}
`))
	if err != nil {
		t.Fatal(err)
	}
	key, err := ParseAnswers("key.yaml", []byte("n: 42\nc: b\ns: [TIME_WAIT, time-wait state]\nm: 1\n"))
	if err != nil {
		t.Fatal(err)
	}
	check := func(answers string, want ...bool) {
		t.Helper()
		student, err := ParseAnswers("a.yaml", []byte(answers))
		if err != nil {
			t.Fatal(err)
		}
		gs, err := GradeAnswers(sc.Questions, key, student)
		if err != nil {
			t.Fatal(err)
		}
		for i, g := range gs {
			if g.Pass != want[i] {
				t.Errorf("%q: %s pass %v, want %v (%s)", answers, g.ID, g.Pass, want[i], g.Detail)
			}
		}
	}
	check("n: 42.4\nc: established\ns: \"Time wait.\"\nm: 1\n", true, true, true, true)
	check("n: 42 ms\nc: B\ns: time-wait state\nm: 1\n", true, true, true, true)
	check("n: 43\nc: a\ns: CLOSED\n", false, false, false, false)
	student, _ := ParseAnswers("a.yaml", []byte("n: 1\n"))
	gs, _ := GradeAnswers(sc.Questions, key, student)
	if !strings.Contains(gs[0].Detail, "hint: count them") || !strings.Contains(gs[3].Detail, "not answered") {
		t.Errorf("details: %q, %q", gs[0].Detail, gs[3].Detail)
	}
	extra, _ := ParseAnswers("a.yaml", []byte("n: 42\nzz: 1\n"))
	if _, err := GradeAnswers(sc.Questions, key, extra); err == nil || !strings.Contains(err.Error(), `a.yaml:2: there is no question "zz"`) {
		t.Errorf("an unknown question id: %v", err)
	}
	if _, err := ParseAnswers("a.yaml", []byte("n: {x: 1}\n")); err == nil || !strings.HasPrefix(err.Error(), "a.yaml:1:") {
		t.Errorf("a mapping as an answer: %v", err)
	}
}

// TestCraftedFrame: a described frame's bytes carry the right headers,
// checksums and FCS, and bad_fcs spoils only the FCS; the receiver drops
// it with fcs_mismatch, and a good one reaches UDP (port unreachable).
func TestCraftedFrame(t *testing.T) {
	sc, err := Parse("f.yaml", []byte(base+`traffic:
  - frame: {wire: lan, dst: b, ip: {src: a, dst: b}, udp: {src_port: 5000, dst_port: 9}, payload: "hi"}
  - at: 1s
    frame: {wire: lan, dst: b, ip: {src: a, dst: b}, udp: {src_port: 5000, dst_port: 9}, payload: "hi", bad_fcs: true}
  - at: 2s
    frame: {wire: lan, hex: "02 00 00 00 00 02 02 ee 00 00 00 09 88 b5 01 02 03"}
expect:
  - {name: unreachable, match: {host: b, layer: icmp, step: error, verdict: send, fields: {type: "3", code: "3"}}, count: 1}
  - {match: {host: b, layer: nic, step: fcs, verdict: drop, reason: fcs_mismatch}, count: 1}
  - {match: {host: b, layer: nic, step: driver, verdict: drop, reason: unknown_ethertype}, count: 1}
`))
	if err != nil {
		t.Fatal(err)
	}
	runPassing(t, sc)
}

// TestGVisorClient runs a scenario whose client is gVisor's netstack with
// Go's net/http, against packetwalk's httpd.
func TestGVisorClient(t *testing.T) {
	sc, err := ReadFile("testdata/gvisor.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if res := runPassing(t, sc); !res.Paced {
		t.Error("a scenario with a gVisor host did not run paced")
	}
}

// runPassing runs sc and fails the test for each expectation that does
// not hold.
func runPassing(t *testing.T, sc *Scenario) *Result {
	t.Helper()
	res, err := Run(context.Background(), sc, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range res.Failed() {
		t.Errorf("%s: %s", o.Name(), o.Detail)
	}
	return res
}

// TestTimeLimit: a scenario whose traffic cannot finish stops at its time
// limit in virtual time, and says so.
func TestTimeLimit(t *testing.T) {
	sc, err := Parse("l.yaml", []byte(base+`time_limit: 3s
servers:
  - {host: b, kind: rpc, port: 7, request_bytes: 100, response_bytes: 1}
traffic:
  - tcp: {from: a, to: "b:7", write: ["10 bytes"], read: 1}
`))
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	res, err := Run(context.Background(), sc, Options{Say: func(s string) { lines = append(lines, s) }})
	if err != nil {
		t.Fatal(err)
	}
	if !res.TimedOut || res.End != 3*time.Second || !strings.Contains(strings.Join(lines, "\n"), "time limit") {
		t.Fatalf("timed out %v at %v, lines %q", res.TimedOut, res.End, lines)
	}
}

// TestTimestampsOption: a host's timestamps word reaches tcp. On (the
// default), b answers a's SYN with timestamps; off, it declines them.
func TestTimestampsOption(t *testing.T) {
	for _, c := range []struct{ word, value string }{{"on", "on"}, {"off", "off"}} {
		t.Run(c.word, func(t *testing.T) {
			text := strings.Replace(base, "  - name: b\n", "  - name: b\n    tcp: {timestamps: "+c.word+"}\n", 1) + `time_limit: 2s
servers:
  - {host: b, kind: discard, port: 7}
traffic:
  - tcp: {from: a, to: "b:7", write: ["x"], close: close}
expect:
  - match: {host: b, layer: tcp, step: timestamps, fields: {timestamps: ` + c.value + `}}
    at_least: 1
`
			sc, err := Parse("timestamps.yaml", []byte(text))
			if err != nil {
				t.Fatal(err)
			}
			runPassing(t, sc)
		})
	}
}

// TestSynCookiesOption: a host's syn_cookies word reaches tcp. With the
// default, SYNs beyond a backlog of 1 are answered with cookies; with off,
// they are dropped with backlog_full, as before cookies existed.
func TestSynCookiesOption(t *testing.T) {
	for _, c := range []struct{ word, step, verdict, reason string }{
		{"when_full", "syn_cookie", "", ""},
		{"off", "listen", "drop", "backlog_full"},
	} {
		t.Run(c.word, func(t *testing.T) {
			text := strings.Replace(base, "  - name: b\n", "  - name: b\n    tcp: {syn_cookies: "+c.word+"}\n", 1) + `time_limit: 2s
servers:
  - {host: b, kind: discard, port: 7, backlog: 1, accept_after: 1s}
traffic:
  - tcp: {from: a, to: "b:7", connections: 3, concurrent: true, write: ["x"], close: close}
expect:
  - match: {host: b, layer: tcp, step: ` + c.step + `, verdict: ` + c.verdict + `, reason: ` + c.reason + `}
    at_least: 1
`
			text = strings.ReplaceAll(text, ", verdict: , reason: }", "}")
			sc, err := Parse("cookies.yaml", []byte(text))
			if err != nil {
				t.Fatal(err)
			}
			runPassing(t, sc)
		})
	}
}

// TestBrowserClient: http traffic with client: browser runs package
// browser on the client host: its judgements are browser steps in the
// log, it fetches the page's stylesheet on the same connection, asks for
// gzip unless told not to, and each response is an http_response app step
// saying what the browser did with it.
func TestBrowserClient(t *testing.T) {
	big := strings.Repeat("a line of text that repeats\n", 40)
	sc, err := Parse("b.yaml", []byte(base+`servers:
  - host: b
    kind: http
    port: 80
    files:
      index.html: "<html><head><link rel=stylesheet href=s.css></head><body>hi</body></html>"
      s.css: "body { margin: 0 }"
      big.txt: "`+strings.ReplaceAll(big, "\n", `\n`)+`"
traffic:
  - http: {from: a, to: b, client: browser, get: [/index.html, /big.txt]}
  - at: 1s
    http: {from: a, to: b, client: browser, gzip: false, get: [/big.txt]}
expect:
  - says: the page is displayed
    match: {host: a, layer: browser, step: display, fields: {path: /index.html, action: display-html}}
    count: 1
  - says: its stylesheet is fetched on the same connection
    match: {host: a, layer: browser, step: subresources, fields: {count: "1", connections: "1"}}
    count: 1
  - says: the big text comes gzipped once, and as it is without Accept-Encoding
    match: {host: a, layer: browser, step: encoding, fields: {path: /big.txt, encoding: gzip}}
    count: 1
  - says: each response is reported with the browser's action
    match: {host: a, layer: app, step: http_response, fields: {status: "200", action: "re:^(display-html|use|display-text)$"}}
    count: 4
  - says: the uncompressed one is 1120 bytes on the wire
    match: {host: a, layer: app, step: http_response, fields: {path: /big.txt, encoding: identity, wire_bytes: "1120"}}
    count: 1
`))
	if err != nil {
		t.Fatal(err)
	}
	runPassing(t, sc)
}

// TestBrowserHTTP2: http2: true makes the browser speak HTTP/2 with
// prior knowledge: one connection, the page's resources as streams on
// it, the server's DATA frames of the padded files interleaved; the
// server's nodelay reaches httpd's connections (without it the last
// small segment of the burst would wait for the client's delayed ACK).
func TestBrowserHTTP2(t *testing.T) {
	wired := strings.Replace(base, "  - name: lan\n", "  - {name: lan, latency: 20ms}\n", 1)
	sc, err := Parse("h2.yaml", []byte(wired+`servers:
  - host: b
    kind: http
    port: 80
    nodelay: true
    files:
      index.html: "<html><head><link rel=stylesheet href=s.css><script src=a.js></script></head><body>hi</body></html>"
      s.css: "body { margin: 0 }"
      a.js: "// script"
    pad: {s.css: "20KiB", a.js: "20KiB"}
traffic:
  - http: {from: a, to: b, client: browser, http2: true, gzip: false, get: [/index.html]}
expect:
  - says: one connection
    match: {host: a, layer: tcp, step: send, fields: {flags: "[S]"}}
    count: 1
  - says: the browser opens with the HTTP/2 preface
    match: {host: a, layer: browser, step: h2_preface}
    count: 1
  - name: first3
    says: the server sends a 16384-byte DATA frame of stream 3
    match: {host: b, layer: http, step: h2_frame, fields: {dir: sent, type: DATA, stream: "3", length: "16384"}}
    count: 1
  - says: and then one of stream 5 before stream 3's last, interleaved
    after: first3
    match: {host: b, layer: http, step: h2_frame, fields: {dir: sent, type: DATA, stream: "5", length: "16384"}}
    count: 1
  - says: the padded files are 20 KiB each
    match: {host: a, layer: app, step: http_response, fields: {path: "re:^/(s.css|a.js)$", bytes: "20480"}}
    count: 2
  - says: no response is held back 200 ms by Nagle's algorithm and a delayed ACK
    match: {host: a, layer: app, step: http_response, fields: {path: /a.js}}
    count: 1
`))
	if err != nil {
		t.Fatal(err)
	}
	res := runPassing(t, sc)
	for _, e := range res.Events {
		if e.Host == "b" && e.Layer == viz.LayerTCP && e.Step == "send" && e.T > 300*time.Millisecond && fieldOf(e, "len") != "0" {
			t.Errorf("the server still sends data at %v: its last segment waited (Nagle's algorithm and the client's delayed ACK)", e.T)
		}
	}
}

// TestCongestionAndPause: congestion: cubic reaches tcp.Config (a loss
// multiplies the window by 0.7, not 0.5), and a discard server with
// pause_after and pause closes its window, so that the client probes it.
func TestCongestionAndPause(t *testing.T) {
	for _, cc := range []struct{ name, why string }{{"newreno", "fast retransmit: RACK marked a segment lost), retransmit"}, {"cubic", "beta 0.7"}} {
		text := strings.Replace(base, "  - name: a\n", "  - name: a\n    tcp: {congestion: "+cc.name+"}\n", 1)
		text = strings.Replace(text, "  - name: lan\n", "  - {name: lan, latency: 5ms, faults: [\"drop:30\"]}\n", 1)
		sc, err := Parse("cc.yaml", []byte(text+`servers:
  - {host: b, kind: discard, port: 9}
traffic:
  - tcp: {from: a, to: "b:9", write: ["200KiB"], close: shutdown}
expect:
  - says: the loss's window reduction is the congestion control's
    match: {host: a, layer: tcp, step: cwnd, fields: {phase: fast recovery}, msg: 're:`+regexp.QuoteMeta(cc.why)+`'}
    count: 1
`))
		if err != nil {
			t.Fatal(err)
		}
		runPassing(t, sc)
	}
	sc, err := Parse("pause.yaml", []byte(strings.Replace(base, "  - name: b\n", "  - name: b\n    tcp: {receive_buffer: 8192}\n", 1)+`servers:
  - {host: b, kind: discard, port: 9, pause_after: "16KiB", pause: 3s}
traffic:
  - tcp: {from: a, to: "b:9", write: ["64KiB"], close: shutdown}
expect:
  - says: the reader pauses after 16 KiB
    match: {host: b, layer: app, step: read_pause, fields: {after: "16384"}}
    count: 1
  - says: the window closes
    match: {host: b, layer: tcp, step: send, fields: {win: "0"}}
    at_least: 1
  - says: the client probes it
    match: {host: a, layer: tcp, step: probe}
    at_least: 2
  - says: and everything arrives after the reader reads on
    match: {host: a, layer: app, step: tcp_done, fields: {written: "65536"}}
    count: 1
`))
	if err != nil {
		t.Fatal(err)
	}
	runPassing(t, sc)
}

// fieldOf returns an event's field, or "".
func fieldOf(e viz.Event, key string) string {
	for _, f := range e.Fields {
		if f.Key == key {
			return f.Value()
		}
	}
	return ""
}
