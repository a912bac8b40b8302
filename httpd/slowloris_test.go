package httpd

import (
	"bufio"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestSlowloris opens connections that never send (idle) and connections
// that trickle a header one byte at a time (slowloris), more of them than
// the pool has workers, and checks, in each architecture, that a normal
// client is still answered and that every attacking connection is closed
// by the server: the idle ones after IdleTimeout, the trickling ones with
// 408 once HeaderTimeout, counted from their first byte, has passed,
// however steadily they trickle.
//
// In the pool architecture a slow client holds a worker (Apache's prefork
// has the same weakness, which mod_reqtimeout bounds the same way): with
// all workers held, the normal client waits in the queue until
// HeaderTimeout frees one. The multiplexed and event architectures hold
// no goroutine per connection (event: polling the kernel's sockets with
// poll(2)).
func TestSlowloris(t *testing.T) {
	for _, arch := range []string{ArchPool, ArchMultiplexed, ArchEvent} {
		t.Run(arch, func(t *testing.T) {
			cfg := Config{Arch: arch, Workers: 4, MaxConns: 64,
				HeaderTimeout: 500 * time.Millisecond, IdleTimeout: 500 * time.Millisecond, KeepAliveTimeout: 500 * time.Millisecond}
			var addr string
			if arch == ArchMultiplexed {
				ln, err := net.Listen("tcp", "127.0.0.1:0")
				if err != nil {
					t.Fatal(err)
				}
				cfg.Poller, cfg.Now = testPoller{}, fixedClock
				srv := New(cfg, testMapper(""), nil)
				done := make(chan error, 1)
				go func() { done <- srv.Serve(&peekListener{ln}) }()
				t.Cleanup(func() { srv.Close(); <-done })
				addr = ln.Addr().String()
			} else {
				addr = startServer(t, cfg, nil, nil).addr
			}

			const idle, trickle = 6, 6
			var wg sync.WaitGroup
			var closedIdle, got408 atomic.Int32
			for range idle {
				c := dial(t, addr)
				wg.Add(1)
				go func() {
					defer wg.Done()
					c.SetReadDeadline(time.Now().Add(20 * time.Second))
					if n, err := c.Read(make([]byte, 1)); n == 0 && err != nil {
						closedIdle.Add(1)
					}
				}()
			}
			for range trickle {
				c := dial(t, addr)
				wg.Add(1)
				go func() {
					defer wg.Done()
					// One byte every 50 ms: each read succeeds, so a
					// per-read timeout would never fire.
					br := bufio.NewReader(c)
					stop := time.Now().Add(20 * time.Second)
					head := "GET / HTTP/1.1\r\nHost: x\r\nX-Slow: "
					for i := 0; time.Now().Before(stop); i++ {
						b := byte('a' + i%26)
						if i < len(head) {
							b = head[i]
						}
						if _, err := c.Write([]byte{b}); err != nil {
							break
						}
						time.Sleep(50 * time.Millisecond)
						c.SetReadDeadline(time.Now().Add(time.Millisecond))
						if _, err := br.Peek(1); err == nil {
							break // the server answered
						}
					}
					c.SetReadDeadline(time.Now().Add(20 * time.Second))
					if resp, _ := readResponse(t, br, "GET"); resp.StatusCode == 408 {
						got408.Add(1)
					}
				}()
			}

			// A normal client, while they hold on.
			time.Sleep(100 * time.Millisecond)
			c := dial(t, addr)
			c.SetDeadline(time.Now().Add(20 * time.Second))
			io.WriteString(c, "GET /normal HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
			resp, body := readResponse(t, bufio.NewReader(c), "GET")
			if resp.StatusCode != 200 || body != "you asked for /normal" {
				t.Fatalf("the normal client got %d %q", resp.StatusCode, body)
			}
			wg.Wait()
			if closedIdle.Load() != idle || got408.Load() != trickle {
				t.Fatalf("%d of %d idle connections closed by the server, %d of %d trickling ones answered 408",
					closedIdle.Load(), idle, got408.Load(), trickle)
			}
		})
	}
}

// TestServerDocrootEscapes sends every docroot-escape form as a raw
// request line to a server over a real docroot with a secret next to it
// and a symlink pointing out: none is answered 200, none leaks the secret.
func TestServerDocrootEscapes(t *testing.T) {
	parent := t.TempDir()
	root := filepath.Join(parent, "www")
	writeTree(t, parent, map[string]string{"secret.txt": "TOPSECRET", "www/a/x.txt": "x"})
	if err := os.Symlink(filepath.Join(parent, "secret.txt"), filepath.Join(root, "link.txt")); err != nil {
		t.Fatal(err)
	}
	ts := startServer(t, Config{}, NewMapper(MapConfig{DocRoot: root}, nil), nil)
	for _, target := range []string{
		"/../secret.txt", "/a/../../secret.txt", "/%2e%2e/secret.txt", "/%2E%2E/secret.txt", "/.%2e/secret.txt",
		"/a%2f..%2f..%2fsecret.txt", "/..%5csecret.txt", "/a\\..\\..\\secret.txt", "/a/x.txt%00.html",
		"/%252e%252e/secret.txt", "/link.txt", "//../secret.txt", "/a/./../../secret.txt",
	} {
		resp, body, _ := exchange(t, ts.addr, "GET "+target+" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
		if resp.StatusCode == 200 || strings.Contains(body, "TOPSECRET") {
			t.Errorf("%s: %d %q", target, resp.StatusCode, body)
		}
	}
	if resp, body, _ := exchange(t, ts.addr, "GET /a/x.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"); resp.StatusCode != 200 || body != "x" {
		t.Fatalf("the docroot itself: %d %q", resp.StatusCode, body)
	}
}

// The multiplexer works out every connection's deadline before each poll
// (muxer.timeout): with hundreds of idle and slow connections, as in
// bench/soak/run, that must make no garbage, or the server's heap grows
// with the number of connections times the number of polls. The error
// saying what happened is made only for a connection whose deadline has
// passed.
func TestMuxerTimeoutAllocatesNothing(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	now := start
	srv := New(Config{Arch: ArchMultiplexed, HeaderTimeout: 2 * time.Second, IdleTimeout: 10 * time.Second, KeepAliveTimeout: 5 * time.Second}, testMapper(""), nil)
	m := &muxer{s: srv, now: func() time.Time { return now }}
	for i := 0; i < 30; i++ {
		idle := &muxConn{c: &conn{s: srv, served: i % 2}, lastActive: start}
		head := &muxConn{c: &conn{s: srv}, in: []byte("GET / HT"), since: start}
		body := &muxConn{c: &conn{s: srv}, in: []byte("abc"), since: start, headAt: start}
		m.conns = append(m.conns, idle, head, body)
	}
	now = start.Add(srv.cfg.HeaderTimeout - 5*time.Millisecond)
	if d := m.timeout(); d != 5*time.Millisecond {
		t.Errorf("timeout() = %v, want 5ms: the nearest deadline, the header sections'", d)
	}
	if allocs := testing.AllocsPerRun(100, func() { m.timeout() }); allocs != 0 {
		t.Errorf("timeout() over %d connections made %v allocations, want 0", len(m.conns), allocs)
	}
	// What the deadlines mean once they pass.
	for _, c := range []struct {
		mc   *muxConn
		want string
	}{
		{m.conns[0], "no request for 10s"},
		{m.conns[3], "no request for 5s"},
		{m.conns[1], "the header section did not arrive within 2s"},
		{m.conns[2], "the body stalled for 10s"},
	} {
		_, kind := m.deadline(c.mc)
		if got := m.timeoutError(c.mc, kind).Error(); !strings.Contains(got, c.want) {
			t.Errorf("timeoutError = %q, want %q", got, c.want)
		}
	}
}
