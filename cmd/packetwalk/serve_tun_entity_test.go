package main

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/packetwalk/packetwalk/internal/testenv"
	"github.com/packetwalk/packetwalk/viz"
)

// TestServeTUNCurlEntity: what curl uses every day, against httpd on
// packetwalk's own stack through TUN: --compressed (gzip), -r (a range),
// -C - (resuming a download) and If-None-Match with the ETag (304).
func TestServeTUNCurlEntity(t *testing.T) {
	testenv.Tool(t, "curl", "install it with: apt-get install curl")
	docroot := t.TempDir()
	page := bytes.Repeat([]byte("<p>Resources are named by URLs; representations travel.</p>\n"), 400)
	big := make([]byte, 3_000_000)
	for i := range big {
		big[i] = byte(i*31 + i>>9)
	}
	write := func(name string, b []byte) {
		if err := os.WriteFile(filepath.Join(docroot, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("page.html", page)
	write("big.bin", big)
	s := startTUNServer(t, "--docroot", docroot)
	base := "http://" + tunAddr
	dir := t.TempDir()
	curl := func(args ...string) (headers, body string) {
		t.Helper()
		hdr, out := filepath.Join(dir, "h"), filepath.Join(dir, "b")
		os.Remove(out)
		if _, errOut, err := s.ns.Run(60*time.Second, "curl", append([]string{"-sS", "--max-time", "50", "-D", hdr, "-o", out}, args...)...); err != nil {
			t.Fatalf("curl %v: %v: %s", args, err, errOut)
		}
		h, _ := os.ReadFile(hdr)
		b, _ := os.ReadFile(out)
		return string(h), string(b)
	}

	t.Run("compressed", func(t *testing.T) {
		// With --compressed curl sends Accept-Encoding and inflates
		// what comes back; without it, the same URL comes as it is.
		h, body := curl("--compressed", base+"/page.html")
		if !regexp.MustCompile(`(?i)\r\ncontent-encoding: gzip\r\n`).MatchString(h) || !regexp.MustCompile(`(?i)\r\nvary: accept-encoding\r\n`).MatchString(h) {
			t.Fatalf("curl --compressed: no gzip:\n%s", h)
		}
		if body != string(page) {
			t.Fatalf("curl --compressed: %d bytes after inflating, want the %d-byte page", len(body), len(page))
		}
		h, body = curl("-H", "Accept-Encoding: gzip", base+"/page.html")
		zr, err := gzip.NewReader(strings.NewReader(body))
		if err != nil {
			t.Fatalf("the raw gzip body: %v\n%s", err, h)
		}
		plain, _ := io.ReadAll(zr)
		if !bytes.Equal(plain, page) || len(body) > len(page)/10 {
			t.Fatalf("raw gzip: %d bytes on the wire, %d inflated", len(body), len(plain))
		}
		if h, body = curl(base + "/page.html"); strings.Contains(strings.ToLower(h), "content-encoding") || body != string(page) {
			t.Fatalf("without --compressed:\n%s", h)
		}
	})
	t.Run("range", func(t *testing.T) {
		h, body := curl("-r", "0-99", base+"/big.bin")
		if !strings.HasPrefix(h, "HTTP/1.1 206 ") || !strings.Contains(h, "Content-Range: bytes 0-99/3000000\r\n") || body != string(big[:100]) {
			t.Fatalf("curl -r 0-99: %d bytes\n%s", len(body), h)
		}
		h, _ = curl("-r", "5000000-", base+"/big.bin")
		if !strings.HasPrefix(h, "HTTP/1.1 416 ") || !strings.Contains(h, "Content-Range: bytes */3000000\r\n") {
			t.Fatalf("curl -r past the end:\n%s", h)
		}
	})
	t.Run("resume", func(t *testing.T) {
		// A download cut at 1 MB; curl -C - asks for the rest by Range
		// and appends it (exit 33 if the server ignored the Range).
		dl := filepath.Join(dir, "big.dl")
		if err := os.WriteFile(dl, big[:1_000_000], 0o644); err != nil {
			t.Fatal(err)
		}
		if _, errOut, err := s.ns.Run(60*time.Second, "curl", "-sS", "--max-time", "50", "-C", "-", "-o", dl, base+"/big.bin"); err != nil {
			t.Fatalf("curl -C -: %v: %s", err, errOut)
		}
		got, _ := os.ReadFile(dl)
		if sha256.Sum256(got) != sha256.Sum256(big) {
			t.Fatalf("curl -C -: %d bytes, not the file's sha256", len(got))
		}
		waitForFile(t, s.jsonl, "bytes 1000000-2999999/3000000")
	})
	t.Run("etag", func(t *testing.T) {
		h, _ := curl(base + "/big.bin")
		m := regexp.MustCompile(`\r\nETag: ("[^"]+")\r\n`).FindStringSubmatch(h)
		if m == nil {
			t.Fatalf("no ETag:\n%s", h)
		}
		h, body := curl("-H", "If-None-Match: "+m[1], base+"/big.bin")
		if !strings.HasPrefix(h, "HTTP/1.1 304 ") || body != "" || !strings.Contains(h, "ETag: "+m[1]+"\r\n") {
			t.Fatalf("If-None-Match with the ETag:\n%s", h)
		}
		h, _ = curl("-H", `If-Match: "not-it"`, base+"/big.bin")
		if !strings.HasPrefix(h, "HTTP/1.1 412 ") {
			t.Fatalf("If-Match with another tag:\n%s", h)
		}
	})
	t.Run("options", func(t *testing.T) {
		h, _ := curl("-X", "OPTIONS", base+"/page.html")
		allow := regexp.MustCompile(`\r\nAllow: ([^\r]+)\r\n`).FindStringSubmatch(h)
		h2, _ := curl("-X", "POST", "-d", "x=1", base+"/page.html")
		allow2 := regexp.MustCompile(`\r\nAllow: ([^\r]+)\r\n`).FindStringSubmatch(h2)
		if allow == nil || allow2 == nil || allow[1] != allow2[1] || strings.Contains(allow[1], "POST") || !strings.HasPrefix(h2, "HTTP/1.1 405 ") {
			t.Fatalf("OPTIONS and POST to a file disagree:\n%s\n%s", h, h2)
		}
	})

	// Each decision was a respond step.
	decisions := map[string]bool{}
	for _, e := range readSteps(t, s.jsonl) {
		if e.Layer == viz.LayerHTTP && e.Step == "respond" {
			decisions[field(e, "decision")] = true
		}
	}
	for _, d := range []string{"encoding", "range", "condition"} {
		if !decisions[d] {
			t.Errorf("no respond step with decision=%s in the step log", d)
		}
	}
}
