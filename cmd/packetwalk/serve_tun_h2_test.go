package main

import (
	"bytes"
	"crypto/sha256"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/packetwalk/packetwalk/internal/testenv"
	"github.com/packetwalk/packetwalk/viz"
)

// curl (with nghttp2, code we did not write) speaks HTTP/2 over cleartext
// to `serve --tun`: with prior knowledge; and with --http2, the HTTP/1.1
// Upgrade, two downloads at once (-Z) multiplexed as two streams on one
// connection, whose DATA frames the step log shows interleaved.
func TestServeTUNCurlHTTP2(t *testing.T) {
	testenv.Tool(t, "curl", "install it with: apt-get install curl")
	// 3 MB each: the first stream must still be sending when the second
	// request arrives, also on a loaded machine (at 300 KB it was done
	// before curl's second HEADERS came, and nothing could interleave).
	data := make([]byte, 3_000_000)
	for i := range data {
		data[i] = byte(i*7 + i>>9)
	}
	docroot := t.TempDir()
	if err := os.WriteFile(filepath.Join(docroot, "a.bin"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(docroot, "b.bin"), bytes.Repeat([]byte("b"), 3_000_000), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, arch := range []string{"single", "pool"} {
		t.Run(arch, func(t *testing.T) {
			s := startTUNServer(t, "--docroot", docroot, "--arch", arch)
			dl := t.TempDir()

			// Prior knowledge: the preface, then the request on stream 1.
			out, errOut, err := s.ns.Run(30*time.Second, "curl", "-sS", "--max-time", "20", "--http2-prior-knowledge",
				"-w", "%{http_version} %{http_code} %{size_download}\n", "-o", filepath.Join(dl, "a"), "http://"+tunAddr+"/a.bin")
			if err != nil {
				t.Fatalf("curl --http2-prior-knowledge: %v: %s", err, errOut)
			}
			if strings.TrimSpace(out) != "2 200 3000000" {
				t.Fatalf("curl --http2-prior-knowledge says %q; want an HTTP/2 200 of 3000000 bytes", out)
			}
			if got, _ := os.ReadFile(filepath.Join(dl, "a")); sha256.Sum256(got) != sha256.Sum256(data) {
				t.Fatalf("a.bin came back different (%d bytes)", len(got))
			}
			waitFor(t, "the preface step", func() bool {
				for _, e := range readSteps(t, s.jsonl) {
					if e.Step == "h2_preface" && e.Verdict == viz.Pass {
						return true
					}
				}
				return false
			})

			// The Upgrade path with two downloads at once (-Z): curl
			// sends the first request as HTTP/1.1 with Upgrade: h2c and
			// the second as stream 3 of the upgraded connection. (curl
			// 7.88 cannot reuse a prior-knowledge connection for a
			// second transfer, curl issue #10634, hence Upgrade here.)
			out, errOut, err = s.ns.Run(30*time.Second, "curl", "-sS", "--max-time", "20", "--http2", "-Z",
				"-w", "%{http_version} %{http_code} %{size_download}\n",
				"-o", filepath.Join(dl, "a2"), "http://"+tunAddr+"/a.bin", "-o", filepath.Join(dl, "b"), "http://"+tunAddr+"/b.bin")
			if err != nil {
				t.Fatalf("curl --http2 -Z: %v: %s", err, errOut)
			}
			if strings.Count(out, "2 200 3000000") != 2 {
				t.Fatalf("curl --http2 -Z says %q; want two HTTP/2 200s of 3000000 bytes", out)
			}
			if got, _ := os.ReadFile(filepath.Join(dl, "a2")); sha256.Sum256(got) != sha256.Sum256(data) {
				t.Fatalf("a.bin over the upgraded connection came back different (%d bytes)", len(got))
			}
			var upgraded uint64
			var order []string
			waitFor(t, "both streams of the upgraded connection sent", func() bool {
				upgraded, order = 0, nil
				sends := 0
				for _, e := range readSteps(t, s.jsonl) {
					switch {
					case e.Layer != viz.LayerHTTP:
					case e.Step == "h2_upgrade" && e.Verdict == viz.Pass:
						upgraded = e.Conn
					case upgraded == 0 || e.Conn != upgraded:
					case e.Step == "h2_frame" && field(e, "type") == "DATA" && field(e, "dir") == "sent":
						order = append(order, field(e, "stream"))
					case e.Step == "send" && field(e, "stream") != "":
						sends++
					}
				}
				return sends == 2
			})
			seq := strings.Join(order, "")
			if !strings.Contains(seq, "1313") {
				t.Errorf("DATA frames by stream on connection %d: %s; want streams 1 and 3 interleaved", upgraded, seq)
			}
		})
	}
}
