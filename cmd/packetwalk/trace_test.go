package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/packetwalk/packetwalk/labs/scenario"
)

// traceFiles runs trace into dir and returns its three files' bytes and
// its standard output.
func traceFiles(t *testing.T, dir string, args ...string) (jsonl, pcap, html []byte, out string) {
	t.Helper()
	j, p, h := filepath.Join(dir, "t.jsonl"), filepath.Join(dir, "t.pcapng"), filepath.Join(dir, "t.html")
	code, out, errOut := runCLI(append([]string{"trace", "--json", j, "--pcap", p, "--html", h}, args...)...)
	if code != 0 {
		t.Fatalf("trace %v: exit %d: %s", args, code, errOut)
	}
	read := func(path string) []byte {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	// The files name themselves in the narration's last lines; the
	// folder differs between the two runs, the rest must not.
	return read(j), read(p), read(h), strings.ReplaceAll(out, dir, "DIR")
}

// With packetwalk hosts on both ends, trace is reproducible from its
// seed: two runs with the same flags, on an impaired wire with parallel
// connections, give the same step log, capture, report and narration,
// byte for byte (issue 16).
func TestTraceIsReproducible(t *testing.T) {
	args := []string{"--seed", "3", "--loss", "0.03", "--reorder", "0.02", "--connections", "2", "--get", "/big.txt", "--get", "/docs"}
	j1, p1, h1, o1 := traceFiles(t, t.TempDir(), args...)
	j2, p2, h2, o2 := traceFiles(t, t.TempDir(), args...)
	for _, f := range []struct {
		name string
		a, b []byte
	}{{"trace.jsonl", j1, j2}, {"trace.pcapng", p1, p2}, {"trace.html", h1, h2}, {"the narration", []byte(o1), []byte(o2)}} {
		if !bytes.Equal(f.a, f.b) {
			t.Errorf("two runs with the same seed wrote different %s (%d and %d bytes)", f.name, len(f.a), len(f.b))
		}
	}
	if !bytes.Contains(j1, []byte(`"step":"retransmit"`)) {
		t.Error("seed 3 with 3% loss retransmits nothing: the reproducibility check did not cover recovery")
	}
}

// The default trace narrates the seed's browser: both hosts' walks and
// TCP states, and the browser's judgement of each response in the seed's
// order (status, Content-Type, Content-Encoding, charset), then what it
// does with the data, then the page's subresources on the same
// connection.
func TestTraceShowsTheBrowser(t *testing.T) {
	dir := t.TempDir()
	_, _, _, out := traceFiles(t, dir, "--ladder")
	events, err := scenario.ReadLog(filepath.Join(dir, "t.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	var browserSteps []string
	states := map[string]bool{}
	conns := map[uint64]bool{}
	for _, e := range events {
		switch {
		case e.Layer == "browser" && e.Host == "client":
			p, _ := e.Field("path")
			browserSteps = append(browserSteps, p+" "+e.Step)
			if e.Step == "type" && p == "/" {
				if ct, _ := e.Field("content_type"); ct != "text/html; charset=utf-8" {
					t.Errorf("the page's type step has content_type %q", ct)
				}
			}
			if e.Step == "charset" && p == "/" {
				if cs, _ := e.Field("charset"); cs != "utf-8" {
					t.Errorf("the page's charset step has charset %q", cs)
				}
			}
			if e.Step == "request" {
				conns[e.Conn] = true
			}
		case e.Layer == "tcp" && e.Step == "state":
			states[e.Host] = true
		}
	}
	got := strings.Join(browserSteps, "\n")
	for _, want := range []string{
		"/ request\n/ response\n/ status\n/ type\n/ encoding\n/ charset\n/ display",
		"/style.css request", "/style.css type", "/logo.png display",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("the browser's steps lack %q; they are:\n%s", want, got)
		}
	}
	if !strings.Contains(got, " subresources") {
		t.Errorf("no subresources step:\n%s", got)
	}
	if len(conns) != 1 {
		t.Errorf("the page and its subresources went on %d connections, want 1 (persistent)", len(conns))
	}
	if !states["client"] || !states["server"] {
		t.Errorf("TCP state changes logged for %v, want both client and server", states)
	}
	// The ladder has both columns' states: the client's TIME_WAIT (it
	// closes first) and the server's LAST_ACK.
	for _, want := range []string{"SYN_SENT", "TIME_WAIT", "SYN_RECEIVED", "LAST_ACK", "image/png"} {
		if !strings.Contains(out, want) {
			t.Errorf("the narration and ladder lack %q", want)
		}
	}
}

// --connections 2 fetches the stylesheet and the image on two
// connections; --client gvisor keeps the production peer; bad values are
// refused in one sentence.
func TestTraceConnectionsAndClientFlags(t *testing.T) {
	dir := t.TempDir()
	traceFiles(t, dir, "--quiet", "--connections", "2")
	events, err := scenario.ReadLog(filepath.Join(dir, "t.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	conns := map[uint64]bool{}
	for _, e := range events {
		if e.Layer == "browser" && e.Step == "request" {
			conns[e.Conn] = true
		}
	}
	if len(conns) != 2 {
		t.Errorf("--connections 2: requests on %d connections, want 2", len(conns))
	}
	for _, bad := range [][]string{{"--connections", "0"}, {"--connections", "17"}, {"--client", "lynx"}} {
		code, _, errOut := runCLI(append([]string{"trace", "--quiet", "--json", "", "--pcap", "", "--html", ""}, bad...)...)
		if code == 0 || strings.Count(strings.TrimSpace(errOut), "\n") > 0 || !strings.Contains(errOut, bad[1]) {
			t.Errorf("trace %v: exit %d, stderr %q; want a failure and a one-line error naming %s", bad, code, errOut, bad[1])
		}
	}
	code, out, errOut := runCLI("trace", "--quiet", "--client", "gvisor", "--json", "", "--pcap", "", "--html", "")
	if code != 0 || !strings.Contains(out, "gVisor's HTTP client") || !strings.Contains(out, "GET /: 200 OK") {
		t.Errorf("trace --client gvisor: exit %d\n%s%s", code, out, errOut)
	}
}

// A step is never narrated after the steps it caused (issue 16): in the
// default trace, with parallel connections and with a large response,
// listen() comes before the LISTEN it makes, connect() before the socket's
// first TCP step (SYN_SENT, the SYN), close() before the FIN it sends, and
// the web server's send step (6) before the write that puts the response
// into TCP. Before, the socket calls were logged when TCP had returned,
// after their state changes and segments, and httpd's send step after the
// response had gone out.
func TestTraceCausesComeFirst(t *testing.T) {
	for _, args := range [][]string{nil, {"--connections", "2"}, {"--get", "/big.txt", "--get", "/docs"}} {
		dir := t.TempDir()
		traceFiles(t, dir, append([]string{"--quiet"}, args...)...)
		events, err := scenario.ReadLog(filepath.Join(dir, "t.jsonl"))
		if err != nil {
			t.Fatal(err)
		}
		type hc struct {
			host string
			conn uint64
		}
		called := map[hc]string{} // the socket call seen on (host, socket): listen, connect, close
		responding := map[uint64]bool{}
		sends, checked := 0, 0
		for i, e := range events {
			k := hc{e.Host, e.Conn}
			switch {
			case e.Layer == "socket" && (e.Step == "listen" || e.Step == "connect" || e.Step == "close") && e.Conn != 0:
				called[k] = e.Step
			case e.Layer == "tcp" && e.Step == "state" && e.Conn != 0:
				to, _ := e.Field("to")
				want := map[string]string{"LISTEN": "listen", "SYN_SENT": "connect", "FIN_WAIT_1": "close", "LAST_ACK": "close"}[to]
				if from, _ := e.Field("from"); want == "" || from == "SYN_RECEIVED" {
					break
				}
				if called[k] != want {
					t.Errorf("trace %v: event %d, %s's socket #%d goes to %s before its %s() step (last call seen: %q)", args, i, e.Host, e.Conn, to, want, called[k])
				}
				checked++
			case e.Layer == "http" && e.Host == "server" && e.Step == "respond":
				responding[e.Conn] = true
			case e.Layer == "http" && e.Host == "server" && e.Step == "send":
				responding[e.Conn] = false
				sends++
			case e.Layer == "tcp" && e.Host == "server" && e.Step == "write" && responding[e.Conn]:
				t.Errorf("trace %v: event %d, the server writes the response on socket #%d before its http send step", args, i, e.Conn)
				responding[e.Conn] = false
			}
		}
		if sends < 3 || checked < 4 {
			t.Errorf("trace %v: %d http send steps and %d state changes checked: the log lacks what this test reads", args, sends, checked)
		}
	}
}
