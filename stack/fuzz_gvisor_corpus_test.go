package stack_test

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/packetwalk/packetwalk/viz"
	"github.com/packetwalk/packetwalk/wire"
)

// frameTap is a Capturer that keeps the frames arriving at one host.
type frameTap struct {
	host   string
	mu     sync.Mutex
	frames [][]byte
}

func (c *frameTap) Event(*viz.Event)       {}
func (c *frameTap) EndWalk(string, uint64) {}
func (c *frameTap) Capture(f *viz.CapturedFrame) {
	if f.Host == c.host && f.Dir == viz.Inbound {
		c.mu.Lock()
		c.frames = append(c.frames, append([]byte(nil), f.Data...))
		c.mu.Unlock()
	}
}

// TestFuzzCorpusFromGVisor records what `packetwalk trace` shows: gVisor's
// netstack (10.0.0.1, the addresses of the fuzz rig's client) fetching a
// page from packetwalk's server (10.0.0.2:80), and keeps the frames that
// arrive at packetwalk. Another stack's SYN (its options, timestamps,
// window scale), data and FIN are seeds the rig's own exchange does not
// have. With -update-corpus they are written to the committed corpora of
// FuzzHostReceive and FuzzEthernet.
func TestFuzzCorpusFromGVisor(t *testing.T) {
	x := newInterop(t, 41, wire.Impairments{})
	tap := &frameTap{host: "server"}
	x.net.Log.AddSink(tap)
	addr := netip.AddrPortFrom(x.pw.Addr(), 80)
	x.run(t, 30*time.Second, func() error {
		ln, err := x.pw.ListenTCP(addr, 8)
		if err != nil {
			return err
		}
		defer ln.Close()
		srv := acceptOne(ln, func(c net.Conn) error {
			br := bufio.NewReader(c)
			for {
				line, err := br.ReadString('\n')
				if err != nil {
					return err
				}
				if line == "\r\n" {
					break
				}
			}
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello")
			return c.Close()
		})
		c, err := x.gv.DialTCP(context.Background(), addr)
		if err != nil {
			return err
		}
		io.WriteString(c, "GET / HTTP/1.1\r\nHost: 10.0.0.2\r\nUser-Agent: fuzz-corpus\r\n\r\n")
		body, err := io.ReadAll(c)
		c.Close()
		if err != nil || !strings.HasSuffix(string(body), "hello") {
			return fmt.Errorf("gVisor read %q, %v", body, err)
		}
		err = <-srv
		time.Sleep(300 * time.Millisecond) // the last ACKs and FINs, paced by the wall clock
		return err
	})
	tap.mu.Lock()
	frames := append([][]byte(nil), tap.frames...)
	tap.mu.Unlock()
	if len(frames) < 5 {
		t.Fatalf("%d frames from gVisor reached packetwalk; want a handshake, a request and a close", len(frames))
	}
	if f := flag.Lookup("update-corpus"); f == nil || f.Value.String() != "true" {
		return
	}
	for _, dir := range []string{filepath.Join("testdata", "fuzz", "FuzzHostReceive"), filepath.Join("..", "nic", "testdata", "fuzz", "FuzzEthernet")} {
		for i, fr := range frames {
			body := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n[]byte(\"\")\nbyte('\\x00')\n", fr)
			if strings.Contains(dir, "FuzzEthernet") {
				body = fmt.Sprintf("go test fuzz v1\n[]byte(%q)\nbool(false)\n", fr)
			}
			if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("gvisor-%02d", i)), []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}
