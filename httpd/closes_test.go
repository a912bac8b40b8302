package httpd

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"syscall"
	"testing"
	"time"
)

// Each way a connection ends is counted under its reason, in every
// architecture: a client closing between requests, a response with
// Connection: close, the keep-alive timeout after a response, the idle
// timeout of a silent new connection, a malformed request.
func TestCloseCounts(t *testing.T) {
	for _, arch := range []string{ArchPool, ArchMultiplexed, ArchEvent} {
		t.Run(arch, func(t *testing.T) {
			if arch != ArchPool {
				skipWithoutKernelPoll(t)
			}
			cfg := Config{Arch: arch, KeepAliveTimeout: 100 * time.Millisecond, IdleTimeout: 200 * time.Millisecond, PollInterval: 10 * time.Millisecond}
			ts := startServer(t, cfg, nil, nil)
			get := func(extra string) (*bufio.Reader, func()) {
				c := dial(t, ts.addr)
				io.WriteString(c, "GET /x HTTP/1.1\r\nHost: x\r\n"+extra+"\r\n")
				br := bufio.NewReader(c)
				readResponse(t, br, "GET")
				return br, func() { c.Close() }
			}
			// A client that closes after its response.
			_, closeIt := get("")
			closeIt()
			// Connection: close.
			get("Connection: close\r\n")
			// Kept alive, then silent: the keep-alive timeout.
			br, _ := get("")
			if _, err := br.ReadByte(); err != io.EOF {
				t.Fatalf("after the keep-alive timeout: %v, want EOF", err)
			}
			// Silent from the start: the idle timeout.
			c := dial(t, ts.addr)
			if _, err := c.Read(make([]byte, 1)); err != io.EOF {
				t.Fatalf("after the idle timeout: %v, want EOF", err)
			}
			// Not HTTP.
			c = dial(t, ts.addr)
			io.WriteString(c, "NONSENSE\r\n\r\n")
			io.ReadAll(c)

			want := map[string]int64{CloseClientDone: 1, CloseResponse: 1, CloseKeepAlive: 1, CloseIdleTimeout: 1, CloseRequestError: 1}
			deadline := time.Now().Add(5 * time.Second)
			for {
				got := ts.srv.CloseCounts()
				same := true
				for k, v := range got {
					if v != want[k] {
						same = false
					}
				}
				if same {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("close counts %v, want %v", got, want)
				}
				time.Sleep(10 * time.Millisecond)
			}
		})
	}
}

// A persistent connection whose response the client has not acknowledged
// yet is not closed as idle when KeepAliveTimeout passes: its client
// (here one whose receive window is full, as one whose ACKs a lossy link
// delays) is still waiting for the response and sends its next request
// only once it has it. It is closed as idle once the response is
// acknowledged and the client stays silent.
func TestKeepAliveWaitsForTheResponseToBeAcknowledged(t *testing.T) {
	body := make([]byte, 1<<20)
	m := mapperFunc(func(r *Request) *Resource {
		return &Resource{Status: 200, Content: body, ContentType: "application/octet-stream"}
	})
	for _, arch := range []string{ArchPool, ArchEvent} {
		t.Run(arch, func(t *testing.T) {
			if arch != ArchPool {
				skipWithoutKernelPoll(t)
			}
			const ka = 100 * time.Millisecond
			ts := startServer(t, Config{Arch: arch, KeepAliveTimeout: ka, IdleTimeout: 10 * time.Second, PollInterval: 10 * time.Millisecond}, m, nil)
			d := net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
				// A small receive buffer: most of the response stays
				// in the server's send queue, unacknowledged.
				rc.Control(func(fd uintptr) { syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
				return nil
			}}
			c, err := d.Dial("tcp", ts.addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(10 * time.Second))
			br := bufio.NewReader(c)
			for i := range 2 {
				io.WriteString(c, "GET /big HTTP/1.1\r\nHost: x\r\n\r\n")
				time.Sleep(5 * ka) // not reading: the response waits
				resp, err := http.ReadResponse(br, nil)
				if err != nil {
					t.Fatalf("request %d: %v (close counts %v)", i+1, err, ts.srv.CloseCounts())
				}
				got, err := io.ReadAll(resp.Body)
				if err != nil || resp.StatusCode != 200 || len(got) != len(body) {
					t.Fatalf("request %d: %d, %d bytes, %v; want 200, %d (close counts %v)", i+1, resp.StatusCode, len(got), err, len(body), ts.srv.CloseCounts())
				}
			}
			// Then silent: closed as idle.
			if _, err := br.ReadByte(); err != io.EOF {
				t.Fatalf("a silent client after its responses: %v; want the server's close (EOF)", err)
			}
			counts := ts.srv.CloseCounts()
			if counts[KeepAliveWaitedInFlight] == 0 || counts[CloseKeepAlive] != 1 {
				t.Errorf("close counts %v: want keep-alive waits for the unacknowledged response, then 1 keep-alive close", counts)
			}
		})
	}
}
