package main

import (
	"bytes"
	"crypto/sha256"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/packetwalk/packetwalk/httpd"
	"github.com/packetwalk/packetwalk/internal/testenv"
	"github.com/packetwalk/packetwalk/viz"
)

// More of the kernel's clients through the TUN device, each a program we
// did not write: Python's UDP socket, wget, ab, headless Chromium. Each
// test runs its own server in its own namespace (see startTUNServer).

// A UDP datagram to a port with no socket is answered with ICMP Port
// Unreachable (RFC 1122 §4.1.3.1), which the kernel turns into
// ECONNREFUSED on the client's connected socket (Python raises
// ConnectionRefusedError on the next recv).
func TestServeTUNUDPClosedPort(t *testing.T) {
	python := testenv.Tool(t, "python3", "install it with: apt-get install python3")
	s := startTUNServer(t)
	script := `
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(5)
s.connect((sys.argv[1], 9999))
s.send(b"anybody there?")
try:
    s.recv(100)
    print("answered")
except ConnectionRefusedError:
    print("refused")
except socket.timeout:
    print("timeout")
`
	out, errOut, err := s.run(t, python, "-c", script, tunAddr)
	if err != nil || strings.TrimSpace(out) != "refused" {
		t.Fatalf("a UDP datagram to %s:9999: %v: %q %s; want the connected socket refused", tunAddr, err, out, errOut)
	}
	// The walk: UDP found no socket, and ICMP sent type 3 code 3 about
	// that very frame.
	var dropped uint64
	waitFor(t, "the udp drop and the icmp port unreachable in the step log", func() bool {
		for _, e := range readSteps(t, s.jsonl) {
			switch {
			case e.Layer == viz.LayerUDP && e.Verdict == viz.Drop && e.Reason == viz.ReasonNoSocket && strings.Contains(e.Msg, "9999"):
				dropped = e.Frame
			case e.Layer == viz.LayerICMP && e.Verdict == viz.Send && dropped != 0 &&
				field(e, "type") == "3" && field(e, "code") == "3" && field(e, "cause_frame") == strconv.FormatUint(dropped, 10):
				return true
			}
		}
		return false
	})
}

// ab (apache2-utils) with and without keep-alive: every request succeeds,
// and the step log's accepts say how many connections carried them: one
// per request without keep-alive, a few for all of them with it.
func TestServeTUNApacheBench(t *testing.T) {
	ab := testenv.Tool(t, "ab", "install it with: apt-get install apache2-utils")
	s := startTUNServer(t)
	const requests, concurrency = 200, 4
	accepts := func() int {
		n := 0
		for _, e := range readSteps(t, s.jsonl) {
			if e.Layer == viz.LayerHTTP && e.Step == "accept" && e.Verdict == viz.Pass {
				n++
			}
		}
		return n
	}
	// logged counts the transactions logged (step 7) so far.
	logged := func() int {
		n := 0
		for _, e := range readSteps(t, s.jsonl) {
			if e.Layer == viz.LayerHTTP && e.Step == "log" {
				n++
			}
		}
		return n
	}
	runAB := func(keepAlive bool) (acceptsDuring int) {
		t.Helper()
		args := []string{"-n", strconv.Itoa(requests), "-c", strconv.Itoa(concurrency), "-s", "10"}
		if keepAlive {
			args = append(args, "-k")
		}
		before, loggedBefore := accepts(), logged()
		out, errOut, err := s.ns.Run(60*time.Second, ab, append(args, "http://"+tunAddr+"/")...)
		if err != nil {
			t.Fatalf("ab %v: %v\n%s%s", args, err, out, errOut)
		}
		for _, want := range []string{"Complete requests:      " + strconv.Itoa(requests), "Failed requests:        0"} {
			if !strings.Contains(out, want) {
				t.Fatalf("ab %v: no %q in its report:\n%s", args, want, out)
			}
		}
		if keepAlive && !strings.Contains(out, "Keep-Alive requests:    "+strconv.Itoa(requests)) {
			t.Errorf("ab -k: not every request was answered with keep-alive:\n%s", out)
		}
		// Every transaction reaches step 7 (its log line) before the
		// accepts are counted.
		waitFor(t, "every transaction logged", func() bool { return logged()-loggedBefore >= requests })
		return accepts() - before
	}
	// ab may open a connection more than it needs and close it unused
	// once the last request is answered: up to one per concurrent
	// client.
	if n := runAB(false); n < requests || n > requests+concurrency {
		t.Errorf("ab without -k: %d accepts for %d requests; want one connection per request", n, requests)
	}
	if n := runAB(true); n < concurrency || n >= requests/10 {
		t.Errorf("ab -k -c %d: %d accepts for %d requests; want about one connection per concurrent client", concurrency, n, requests)
	}
}

// wget: a plain fetch, and a recursive one that follows the demo site's
// links; every file it saved is byte for byte the embedded demo site's.
func TestServeTUNWget(t *testing.T) {
	wget := testenv.Tool(t, "wget", "install it with: apt-get install wget")
	s := startTUNServer(t)
	site := httpd.DemoSite()

	out, errOut, err := s.run(t, wget, "-q", "-O", "-", "http://"+tunAddr+"/hello.html")
	if err != nil {
		t.Fatalf("wget -O - /hello.html: %v: %s", err, errOut)
	}
	if !strings.Contains(out, "<html") {
		t.Errorf("wget /hello.html: got %q", out)
	}

	dir := t.TempDir()
	if _, errOut, err := s.ns.Run(60*time.Second, wget, "-q", "-r", "-l", "2", "-nH", "-P", dir, "http://"+tunAddr+"/"); err != nil {
		t.Fatalf("wget -r: %v: %s", err, errOut)
	}
	compared := 0
	filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		want, err := fs.ReadFile(site, rel)
		if err != nil {
			return nil // a listing or a page built by the server (index of pub/, ssi)
		}
		got, _ := os.ReadFile(path)
		if rel == "ssi.shtml" {
			return nil // includes expanded by the server
		}
		if !bytes.Equal(got, want) {
			t.Errorf("wget -r saved %s: %d bytes, sha256 %x; the demo site has %d bytes, sha256 %x", rel, len(got), sha256.Sum256(got), len(want), sha256.Sum256(want))
		}
		compared++
		return nil
	})
	for _, f := range []string{"index.html", "style.css", "logo.png", "hello.html"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("wget -r did not follow the links to %s", f)
		}
	}
	if compared < 4 {
		t.Errorf("wget -r saved %d files of the demo site; want at least index.html, style.css, logo.png and hello.html", compared)
	}
}

// Headless Chromium loads the demo site through the TUN: the DOM it built
// has the site's title, and the step log shows the page's sub-resources
// (its stylesheet and its image) served with 200.
func TestServeTUNChromium(t *testing.T) {
	chromium := testenv.Tool(t, "chromium", "install it with: apt-get install chromium")
	s := startTUNServer(t)
	dom, errOut, err := s.ns.Run(60*time.Second, chromium, "--headless", "--no-sandbox", "--disable-gpu",
		"--no-first-run", "--user-data-dir="+t.TempDir(), "--dump-dom", "http://"+tunAddr+"/")
	if err != nil {
		t.Fatalf("chromium --dump-dom: %v\n%s", err, tail(errOut, 2000))
	}
	if !strings.Contains(dom, "<title>packetwalk demo site</title>") {
		t.Fatalf("chromium's DOM has no demo site title:\n%s", tail(dom, 2000))
	}
	served := regexp.MustCompile(`"GET (/|/style\.css|/logo\.png) HTTP/1\.1" 200 `)
	waitFor(t, "/, /style.css and /logo.png served with 200 in the step log", func() bool {
		seen := map[string]bool{}
		for _, e := range readSteps(t, s.jsonl) {
			if e.Layer == viz.LayerHTTP && e.Step == "log" {
				if m := served.FindStringSubmatch(field(e, "line")); m != nil {
					seen[m[1]] = true
				}
			}
		}
		return len(seen) == 3
	})
}

// The impairment flags strike the frames between the device and the NIC:
// with 5% of them lost, TCP's retransmissions still bring a 1 MB file
// byte-identical, and the step log names the losses.
func TestServeTUNImpaired(t *testing.T) {
	testenv.Tool(t, "curl", "install it with: apt-get install curl")
	docroot := t.TempDir()
	data := make([]byte, 1_000_000)
	for i := range data {
		data[i] = byte(i*13 + i>>9)
	}
	if err := os.WriteFile(filepath.Join(docroot, "one.bin"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	s := startTUNServer(t, "--docroot", docroot, "--loss", "0.05", "--seed", "7")
	dl := filepath.Join(t.TempDir(), "one.dl")
	if _, errOut, err := s.ns.Run(90*time.Second, "curl", "-sS", "--max-time", "80", "-o", dl, "http://"+tunAddr+"/one.bin"); err != nil {
		t.Fatalf("curl one.bin over a lossy link: %v: %s", err, errOut)
	}
	got, err := os.ReadFile(dl)
	if err != nil {
		t.Fatal(err)
	}
	if sha256.Sum256(got) != sha256.Sum256(data) {
		t.Fatalf("one.bin over a lossy link: %d bytes, not the %d bytes served", len(got), len(data))
	}
	losses := 0
	for _, e := range readSteps(t, s.jsonl) {
		if e.Layer == viz.LayerPHY && e.Step == "loss" && e.Verdict == viz.Drop && e.Reason == viz.ReasonWireLoss {
			losses++
		}
	}
	if losses == 0 {
		t.Errorf("--loss 0.05: the step log has no wire_loss drop")
	}
	if out := s.output(); !strings.Contains(out, "the frames between pw0 and the NIC cross the simulated wire pw0-wire (loss 0.05, seed 7)") {
		t.Errorf("serve did not say that the device's frames are impaired:\n%s", out)
	}
	t.Logf("%d frames lost on the way, the file arrived whole", losses)
}
