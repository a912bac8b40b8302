package main

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/packetwalk/packetwalk/internal/testenv"
)

// TestTUNImpairedTransfer50MB: through TUN, with packetwalk's own
// impairments between the device and its NIC (2% loss, 2% duplication, 2%
// reordering, 0.5% bit corruption, seeded), the kernel's curl downloads a
// 50 MB file and uploads 50 MB to a CGI that hashes what it receives; both
// sha256 sums match.
func TestTUNImpairedTransfer50MB(t *testing.T) {
	testenv.Tool(t, "curl", "install it with: apt-get install curl")
	testenv.Tool(t, "sha256sum", "install it with: apt-get install coreutils")
	const size = 50 << 20
	dir := t.TempDir()
	docroot := filepath.Join(dir, "www")
	cgi := filepath.Join(dir, "cgi")
	for _, d := range []string{docroot, cgi} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	data := make([]byte, size)
	rand.Read(data)
	sum := sha256.Sum256(data)
	want := hex.EncodeToString(sum[:])
	big := filepath.Join(docroot, "big.bin")
	if err := os.WriteFile(big, data, 0o644); err != nil {
		t.Fatal(err)
	}
	script := "#!/bin/sh\nprintf 'Content-Type: text/plain\\r\\n\\r\\n'\nsha256sum | cut -d' ' -f1\n"
	if err := os.WriteFile(filepath.Join(cgi, "sum.cgi"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(dir, "httpd.conf")
	if err := os.WriteFile(conf, []byte(fmt.Sprintf("DocumentRoot %s\nScriptAlias /cgi-bin/ %s/\nLimitRequestBody 64M\nCGITimeout 600\nTimeout 120\n", docroot, cgi)), 0o644); err != nil {
		t.Fatal(err)
	}
	s := startBareServer(t, "--config", conf, "--loss", "0.02", "--dup", "0.02", "--reorder", "0.02", "--corrupt", "0.005", "--seed", "10")

	start := time.Now()
	out, errOut, err := s.ns.Run(600*time.Second, "sh", "-c",
		fmt.Sprintf("curl -sS --max-time 590 http://%s/big.bin | sha256sum | cut -d' ' -f1", tunAddr))
	if err != nil || strings.TrimSpace(out) != want {
		t.Fatalf("download: sha256 %q, want %s: %v %s\n%s", strings.TrimSpace(out), want, err, errOut, s.output())
	}
	t.Logf("download: 50 MB through TUN with impairments, sha256 equal, in %v", time.Since(start).Round(time.Millisecond))

	start = time.Now()
	out, errOut, err = s.ns.Run(600*time.Second, "curl", "-sS", "--max-time", "590", "-H", "Expect:",
		"--data-binary", "@"+big, "-H", "Content-Type: application/octet-stream", "http://"+tunAddr+"/cgi-bin/sum.cgi")
	if err != nil || strings.TrimSpace(out) != want {
		t.Fatalf("upload: the server's CGI hashed %q, want %s: %v %s\n%s", strings.TrimSpace(out), want, err, errOut, s.output())
	}
	t.Logf("upload: 50 MB through TUN with impairments, sha256 equal, in %v", time.Since(start).Round(time.Millisecond))
}
