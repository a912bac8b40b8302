package httpd

import (
	"bufio"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/packetwalk/packetwalk/clock"
	"github.com/packetwalk/packetwalk/viz"
)

// Tests of the "event" architecture (event.go) over the kernel's
// loopback, where its loop polls with poll(2) (poll_linux.go). Each
// compares with an architecture that fails the same load, so that the
// test shows the difference rather than only a pass.

func skipWithoutKernelPoll(t *testing.T) {
	if !kernelPollSupported {
		t.Skip("no poller for kernel sockets on this system")
	}
}

// waitSteps waits until the step log has n steps that match, or fails.
func waitSteps(t *testing.T, sink *viz.MemorySink, n int, match func(viz.Event) bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		got := 0
		for _, e := range sink.Events() {
			if match(e) {
				got++
			}
		}
		if got >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("only %d of %d matching steps after 5 s", got, n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// answeredWithin sends GET path on a new connection and reports whether
// the response came within d.
func answeredWithin(t *testing.T, addr, path string, d time.Duration) (bool, *bufio.Reader, net.Conn) {
	t.Helper()
	c := dial(t, addr)
	io.WriteString(c, "GET "+path+" HTTP/1.1\r\nHost: x\r\n\r\n")
	c.SetReadDeadline(time.Now().Add(d))
	br := bufio.NewReader(c)
	_, err := br.Peek(1)
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	var ne net.Error
	if err != nil && !(errors.As(err, &ne) && ne.Timeout()) {
		t.Fatalf("GET %s: %v", path, err)
	}
	return err == nil, br, c
}

// TestEventIdleClientsDoNotStarve: connections that send nothing hold
// every worker of "pool", so a normal client waits in its queue; "event"
// keeps them in its loop and serves the client at once.
func TestEventIdleClientsDoNotStarve(t *testing.T) {
	skipWithoutKernelPoll(t)
	const workers, idle = 4, 20
	for _, c := range []struct {
		arch   string
		served bool
	}{{ArchPool, false}, {ArchEvent, true}} {
		t.Run(c.arch, func(t *testing.T) {
			sink := &viz.MemorySink{}
			log := viz.NewLog(clock.NewVirtual())
			log.AddSink(sink)
			ts := startServer(t, Config{Arch: c.arch, Workers: workers}, nil, log.Recorder("server"))
			for range idle {
				dial(t, ts.addr)
			}
			// Every idle connection accepted (pool: the first four
			// by a worker, the rest queued).
			waitSteps(t, sink, idle, func(e viz.Event) bool { return e.Step == "accept" })
			ok, br, _ := answeredWithin(t, ts.addr, "/now", 500*time.Millisecond)
			if ok != c.served {
				t.Fatalf("%s with %d idle connections and %d workers: answered within 500 ms = %v, want %v", c.arch, idle, workers, ok, c.served)
			}
			if ok {
				if resp, body := readResponse(t, br, "GET"); resp.StatusCode != 200 || body != "you asked for /now" {
					t.Fatalf("%d %q", resp.StatusCode, body)
				}
			}
		})
	}
}

// blockingMapper answers /slow only once release is closed, and counts
// the /slow requests it holds in started.
func blockingMapper(release <-chan struct{}, started chan<- string) Mapper {
	inner := testMapper("")
	return mapperFunc(func(r *Request) *Resource {
		if strings.HasPrefix(r.Path, "/slow") {
			started <- r.Path
			<-release
		}
		return inner.Map(r)
	})
}

// TestEventSlowMapperDoesNotBlock: a slow step 4 (a CGI program, a
// backend) holds the one goroutine of "multiplexed", and with it every
// other connection; in "event" it holds one worker.
func TestEventSlowMapperDoesNotBlock(t *testing.T) {
	skipWithoutKernelPoll(t)
	for _, c := range []struct {
		arch   string
		served bool
	}{{ArchMultiplexed, false}, {ArchEvent, true}} {
		t.Run(c.arch, func(t *testing.T) {
			release, started := make(chan struct{}), make(chan string, 4)
			ts := startServer(t, Config{Arch: c.arch, Workers: 4}, blockingMapper(release, started), nil)
			slow := dial(t, ts.addr)
			io.WriteString(slow, "GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
			<-started
			ok, br, _ := answeredWithin(t, ts.addr, "/fast", 500*time.Millisecond)
			close(release)
			if ok != c.served {
				t.Fatalf("%s: /fast answered within 500 ms while /slow maps = %v, want %v", c.arch, ok, c.served)
			}
			if resp, body := readResponse(t, br, "GET"); resp.StatusCode != 200 || body != "you asked for /fast" {
				t.Fatalf("/fast: %d %q", resp.StatusCode, body)
			}
			if resp, body := readResponse(t, bufio.NewReader(slow), "GET"); resp.StatusCode != 200 || body != "you asked for /slow" {
				t.Fatalf("/slow: %d %q", resp.StatusCode, body)
			}
		})
	}
}

// TestEventQueueFull: with every worker busy and MaxQueue complete
// requests waiting, one more is answered 503 (http_queue_full) and its
// connection closed; the queued request is served once a worker is free.
func TestEventQueueFull(t *testing.T) {
	skipWithoutKernelPoll(t)
	sink := &viz.MemorySink{}
	log := viz.NewLog(clock.NewVirtual())
	log.AddSink(sink)
	release, started := make(chan struct{}), make(chan string, 4)
	defer func() {
		select {
		case <-release:
		default:
			close(release)
		}
	}()
	ts := startServer(t, Config{Arch: ArchEvent, Workers: 1, MaxQueue: 1}, blockingMapper(release, started), log.Recorder("server"))

	a := dial(t, ts.addr)
	io.WriteString(a, "GET /slow-a HTTP/1.1\r\nHost: x\r\n\r\n")
	<-started // the one worker is busy
	b := dial(t, ts.addr)
	io.WriteString(b, "GET /b HTTP/1.1\r\nHost: x\r\n\r\n")
	waitSteps(t, sink, 1, func(e viz.Event) bool {
		q, _ := e.Field("queue")
		return e.Step == "dispatch" && e.Verdict == viz.Pass && q == "1"
	})

	c := dial(t, ts.addr)
	io.WriteString(c, "GET /c HTTP/1.1\r\nHost: x\r\n\r\n")
	brc := bufio.NewReader(c)
	resp, _ := readResponse(t, brc, "GET")
	if resp.StatusCode != 503 || !resp.Close || resp.Header.Get("Retry-After") != "1" {
		t.Fatalf("beyond MaxQueue: %d close=%v Retry-After %q", resp.StatusCode, resp.Close, resp.Header.Get("Retry-After"))
	}
	expectEOF(t, brc)
	waitSteps(t, sink, 1, func(e viz.Event) bool {
		return e.Step == "dispatch" && e.Verdict == viz.Drop && e.Reason == viz.ReasonHTTPQueueFull
	})

	close(release)
	if resp, body := readResponse(t, bufio.NewReader(a), "GET"); resp.StatusCode != 200 || body != "you asked for /slow-a" {
		t.Fatalf("a: %d %q", resp.StatusCode, body)
	}
	if resp, body := readResponse(t, bufio.NewReader(b), "GET"); resp.StatusCode != 200 || body != "you asked for /b" {
		t.Fatalf("queued b: %d %q", resp.StatusCode, body)
	}
}

// TestEventStepsShowTheHandOff: the loop's dispatch step and the
// worker's receive and send steps say which loop and worker handled the
// request; the connection, handed back, carries a second request.
func TestEventStepsShowTheHandOff(t *testing.T) {
	skipWithoutKernelPoll(t)
	sink := &viz.MemorySink{}
	log := viz.NewLog(clock.NewVirtual())
	log.AddSink(sink)
	ts := startServer(t, Config{}, nil, log.Recorder("server"))
	c := dial(t, ts.addr)
	br := bufio.NewReader(c)
	for _, p := range []string{"/one", "/two"} {
		io.WriteString(c, "GET "+p+" HTTP/1.1\r\nHost: x\r\n\r\n")
		if resp, body := readResponse(t, br, "GET"); resp.StatusCode != 200 || body != "you asked for "+p {
			t.Fatalf("%s: %d %q", p, resp.StatusCode, body)
		}
	}
	waitSteps(t, sink, 2, func(e viz.Event) bool { return e.Step == "log" })
	var dispatched, received, sent int
	for _, e := range sink.Events() {
		loop, _ := e.Field("loop")
		worker, _ := e.Field("worker")
		switch e.Step {
		case "dispatch":
			q, _ := e.Field("queue")
			if loop != "1" || worker != "1" || q != "0" || !strings.Contains(e.Msg, "hands it to worker 1") {
				t.Errorf("dispatch: loop %q worker %q queue %q: %s", loop, worker, q, e.Msg)
			}
			dispatched++
		case "receive":
			if loop == "1" && worker == "1" {
				received++
			}
		case "send":
			if loop == "1" && worker == "1" {
				sent++
			}
		}
	}
	if dispatched != 2 || received != 2 || sent != 2 {
		t.Fatalf("dispatch %d, receive by worker 1 %d, send by worker 1 %d; want 2 each", dispatched, received, sent)
	}
}

// TestEventSeveralLoops: with EventLoops 3, connections are spread over
// the loops and every one is served.
func TestEventSeveralLoops(t *testing.T) {
	skipWithoutKernelPoll(t)
	sink := &viz.MemorySink{}
	log := viz.NewLog(clock.NewVirtual())
	log.AddSink(sink)
	ts := startServer(t, Config{EventLoops: 3}, nil, log.Recorder("server"))
	for i := range 6 {
		resp, body, _ := exchange(t, ts.addr, "GET /x HTTP/1.1\r\nHost: x\r\n\r\n")
		if resp.StatusCode != 200 || body != "you asked for /x" {
			t.Fatalf("connection %d: %d %q", i, resp.StatusCode, body)
		}
	}
	loops := map[string]int{}
	for _, e := range sink.Events() {
		if e.Step == "dispatch" {
			l, _ := e.Field("loop")
			loops[l]++
		}
	}
	if len(loops) != 3 || loops["1"] != 2 || loops["2"] != 2 || loops["3"] != 2 {
		t.Fatalf("requests per loop %v, want 2 on each of loops 1, 2 and 3", loops)
	}
}
