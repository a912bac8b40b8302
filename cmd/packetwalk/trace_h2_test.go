package main

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"github.com/packetwalk/packetwalk/labs/scenario"
)

// trace --http2: the browser fetches the page, then the stylesheet and
// the logo as three streams on one TCP connection; the server's frames
// of the two subresources are interleaved; and the run is reproducible
// from its seed, byte for byte, on an impaired wire too.
func TestTraceHTTP2(t *testing.T) {
	args := []string{"--http2", "--seed", "2", "--loss", "0.05", "--reorder", "0.02", "--get", "/big.txt"}
	dir := t.TempDir()
	j1, p1, h1, o1 := traceFiles(t, dir, args...)
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
		t.Error("seed 2 with 5% loss retransmits nothing: the reproducibility check did not cover recovery")
	}
	events, err := scenario.ReadLog(filepath.Join(dir, "t.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	conns := map[uint64]bool{}
	streamOf := map[string]string{}
	var frames []string // server's DATA and HEADERS frames, by stream
	for _, e := range events {
		switch {
		case e.Host == "client" && e.Layer == "browser" && e.Step == "request":
			p, _ := e.Field("path")
			s, _ := e.Field("stream")
			streamOf[p] = s
			conns[e.Conn] = true
		case e.Host == "server" && e.Layer == "http" && e.Step == "h2_frame":
			if dir, _ := e.Field("dir"); dir == "sent" {
				typ, _ := e.Field("type")
				s, _ := e.Field("stream")
				if typ == "HEADERS" || typ == "DATA" {
					frames = append(frames, s)
				}
			}
		}
	}
	if len(conns) != 1 {
		t.Errorf("the browser's requests went on %d connections, want 1", len(conns))
	}
	for p, want := range map[string]string{"/": "1", "/style.css": "3", "/logo.png": "5", "/big.txt": "7"} {
		if streamOf[p] != want {
			t.Errorf("%s went on stream %q, want %s", p, streamOf[p], want)
		}
	}
	// After stream 1's frames, the subresources' frames alternate.
	seq := strings.Join(frames, "")
	if !strings.Contains(seq, "3535") {
		t.Errorf("the server's frames by stream are %s: streams 3 and 5 are not interleaved", seq)
	}
	for _, want := range []string{"GET /style.css (stylesheet): 200 OK", "GET /logo.png (image): 200 OK", "GET /big.txt: 200 OK"} {
		if !strings.Contains(o1, want) {
			t.Errorf("the summary lacks %q", want)
		}
	}
}

func TestTraceHTTP2FlagErrors(t *testing.T) {
	for _, args := range [][]string{{"--http2", "--connections", "2"}, {"--http2", "--client", "gvisor"}} {
		code, _, errOut := runCLI(append([]string{"trace", "--json", "", "--pcap", "", "--html", ""}, args...)...)
		if code == 0 || !strings.Contains(errOut, "--http2") {
			t.Errorf("trace %v: exit %d, %q", args, code, errOut)
		}
	}
}
