package httpd

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/packetwalk/packetwalk/clock"
	"github.com/packetwalk/packetwalk/viz"
)

// Tests of the connection half of the server over the kernel's loopback,
// with a trivial Mapper, so that they depend on nothing of step 4's.

// mapperFunc is a Mapper made of a function.
type mapperFunc func(*Request) *Resource

func (f mapperFunc) Map(r *Request) *Resource { return f(r) }

// fixedNow is the clock of every test: the CLF example's instant.
var fixedNow = time.Date(2000, time.October, 10, 13, 55, 36, 0, time.FixedZone("", -7*3600))

func fixedClock() time.Time { return fixedNow }

// modTime is the test resources' modification time.
var modTime = time.Date(2000, time.October, 1, 12, 0, 0, 0, time.UTC)

// testMapper answers by path:
//
//	/redirect  301 to /new
//	/missing   404 (no body: step 5 writes the page)
//	/file      the file named by file
//	/user      200, and sets req.User = "frank"
//	/vhost     200 for the virtual host "www.marys-antiques.com"
//	/panic     panics
//	else       200 "you asked for <path>", text/plain, modified at modTime
func testMapper(file string) Mapper {
	return mapperFunc(func(r *Request) *Resource {
		switch r.Path {
		case "/redirect":
			return &Resource{Status: 301, Reason: "redirect", Location: "/new"}
		case "/missing":
			return &Resource{Status: 404, Reason: "not found"}
		case "/file":
			return &Resource{Status: 200, Reason: "file", File: file, ContentType: "text/plain"}
		case "/user":
			r.User = "frank"
			return &Resource{Status: 200, Reason: "file", Content: []byte("hello frank"), ContentType: "text/plain"}
		case "/vhost":
			return &Resource{Status: 200, Reason: "file", Content: []byte("mary"), ContentType: "text/plain", VHost: "www.marys-antiques.com"}
		case "/panic":
			panic("boom")
		}
		return &Resource{Status: 200, Reason: "file", Content: []byte("you asked for " + r.Path), ContentType: "text/plain", ModTime: modTime}
	})
}

// idConn is a kernel connection that tells a socket ID, as packetwalk's do.
type idConn struct {
	*net.TCPConn
	id uint64
}

func (c idConn) ConnID() uint64 { return c.id }

// idListener hands out idConns numbered from 100.
type idListener struct {
	net.Listener
	next atomic.Uint64
}

func (l *idListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return idConn{c.(*net.TCPConn), 100 + l.next.Add(1) - 1}, nil
}

type testServer struct {
	addr string
	srv  *Server
	done chan error
}

// startServer serves on a fresh loopback listener until the test ends.
func startServer(t *testing.T, cfg Config, m Mapper, rec *viz.Recorder) *testServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Now == nil {
		cfg.Now = fixedClock
	}
	if m == nil {
		m = testMapper("")
	}
	ts := &testServer{addr: ln.Addr().String(), srv: New(cfg, m, rec), done: make(chan error, 1)}
	go func() { ts.done <- ts.srv.Serve(&idListener{Listener: ln}) }()
	t.Cleanup(func() {
		ts.srv.Close()
		select {
		case <-ts.done:
		case <-time.After(5 * time.Second):
			t.Error("Serve did not return after Close")
		}
	})
	return ts
}

func dial(t *testing.T, addr string) *net.TCPConn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(10 * time.Second))
	t.Cleanup(func() { c.Close() })
	return c.(*net.TCPConn)
}

// readResponse reads one response; HEAD responses have no body.
func readResponse(t *testing.T, br *bufio.Reader, method string) (*http.Response, string) {
	t.Helper()
	resp, err := http.ReadResponse(br, &http.Request{Method: method})
	if err != nil {
		t.Fatalf("reading the response: %v", err)
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading the body: %v", err)
	}
	resp.Body.Close()
	return resp, string(body)
}

// exchange writes raw to a new connection and reads one response.
func exchange(t *testing.T, addr, raw string) (*http.Response, string, *bufio.Reader) {
	t.Helper()
	c := dial(t, addr)
	if _, err := io.WriteString(c, raw); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	method := strings.SplitN(raw, " ", 2)[0]
	resp, body := readResponse(t, br, method)
	return resp, body, br
}

// expectEOF checks that the server closes after what was read.
func expectEOF(t *testing.T, br *bufio.Reader) {
	t.Helper()
	if b, err := br.ReadByte(); err != io.EOF {
		t.Fatalf("want the server to close the connection, got byte %q err %v", b, err)
	}
}

// expectOpen checks that the server keeps the connection open a while.
func expectOpen(t *testing.T, c net.Conn, br *bufio.Reader) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(150 * time.Millisecond))
	_, err := br.ReadByte()
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("want the connection kept open, got %v", err)
	}
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
}

func TestServerGetWithNetHTTPClient(t *testing.T) {
	ts := startServer(t, Config{}, nil, nil)
	resp, err := http.Get("http://" + ts.addr + "/a%20b.html?x=1")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != "you asked for /a b.html" {
		t.Fatalf("got %d %q", resp.StatusCode, body)
	}
	for k, want := range map[string]string{
		"Date":           "Tue, 10 Oct 2000 20:55:36 GMT",
		"Server":         "packetwalk-httpd",
		"Content-Type":   "text/plain",
		"Content-Length": "23",
		"Last-Modified":  "Sun, 01 Oct 2000 12:00:00 GMT",
	} {
		if got := resp.Header.Get(k); got != want {
			t.Errorf("%s: got %q, want %q", k, got, want)
		}
	}
	if resp.Header.Get("Connection") != "" || resp.Header.Get("Keep-Alive") != "" {
		t.Errorf("an HTTP/1.1 persistent response needs no Connection header: %v", resp.Header)
	}
}

func TestServerKeepAliveHTTP11(t *testing.T) {
	sink := &viz.MemorySink{}
	log := viz.NewLog(clock.NewVirtual())
	log.AddSink(sink)
	ts := startServer(t, Config{}, nil, log.Recorder("server"))

	// Two requests, one after the other, on one connection.
	c := dial(t, ts.addr)
	br := bufio.NewReader(c)
	for _, p := range []string{"/one", "/two"} {
		fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: test\r\n\r\n", p)
		resp, body := readResponse(t, br, "GET")
		if resp.StatusCode != 200 || body != "you asked for "+p || resp.Close {
			t.Fatalf("%s: %d %q close=%v", p, resp.StatusCode, body, resp.Close)
		}
	}
	expectOpen(t, c, br)

	// Go's client reuses its connection too: count accepts in the log.
	client := &http.Client{Transport: &http.Transport{}}
	defer client.CloseIdleConnections()
	for i := 0; i < 3; i++ {
		resp, err := client.Get("http://" + ts.addr + "/again")
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	accepts := 0
	for _, e := range sink.Events() {
		if e.Layer == viz.LayerHTTP && e.Step == "accept" {
			accepts++
		}
	}
	if accepts != 2 {
		t.Fatalf("want 2 connections accepted (raw and net/http), got %d", accepts)
	}
}

func TestServerHTTP10KeepAlive(t *testing.T) {
	ts := startServer(t, Config{}, nil, nil)

	// Without Keep-Alive: one response, then the server closes.
	resp, _, br := exchange(t, ts.addr, "GET /a HTTP/1.0\r\n\r\n")
	// (ReadResponse turns "Connection: close" into resp.Close.)
	if resp.StatusCode != 200 || !resp.Close || resp.Header.Get("Keep-Alive") != "" {
		t.Fatalf("HTTP/1.0: %d %v", resp.StatusCode, resp.Header)
	}
	expectEOF(t, br)

	// With Keep-Alive: the server agrees, states its terms, and stays.
	c := dial(t, ts.addr)
	br = bufio.NewReader(c)
	for i, wantMax := range []string{"99", "98"} {
		io.WriteString(c, "GET /k HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n")
		resp, body := readResponse(t, br, "GET")
		if resp.StatusCode != 200 || body != "you asked for /k" {
			t.Fatalf("request %d: %d %q", i, resp.StatusCode, body)
		}
		if got := resp.Header.Get("Connection"); got != "Keep-Alive" {
			t.Fatalf("Connection: %q", got)
		}
		if got, want := resp.Header.Get("Keep-Alive"), "timeout=30, max="+wantMax; got != want {
			t.Fatalf("Keep-Alive: %q, want %q", got, want)
		}
	}
	expectOpen(t, c, br)
}

func TestServerConnectionCloseAndKeepAliveMax(t *testing.T) {
	ts := startServer(t, Config{KeepAliveMax: 2}, nil, nil)
	resp, _, br := exchange(t, ts.addr, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
	if !resp.Close {
		t.Fatal("no Connection: close in the answer to Connection: close")
	}
	expectEOF(t, br)

	c := dial(t, ts.addr)
	br = bufio.NewReader(c)
	io.WriteString(c, "GET /1 HTTP/1.1\r\nHost: x\r\n\r\nGET /2 HTTP/1.1\r\nHost: x\r\n\r\n")
	if r1, _ := readResponse(t, br, "GET"); r1.Close {
		t.Fatal("the first of two allowed requests closed the connection")
	}
	if r2, _ := readResponse(t, br, "GET"); !r2.Close {
		t.Fatal("the last allowed request did not say Connection: close")
	}
	expectEOF(t, br)
}

func TestServerPipelining(t *testing.T) {
	ts := startServer(t, Config{}, nil, nil)
	c := dial(t, ts.addr)
	// Three requests in one write: the server reads them from one
	// buffer and must answer each, in order.
	io.WriteString(c, "GET /first HTTP/1.1\r\nHost: x\r\n\r\n"+
		"HEAD /second HTTP/1.1\r\nHost: x\r\n\r\n"+
		"GET /third HTTP/1.1\r\nHost: x\r\n\r\n")
	br := bufio.NewReader(c)
	for _, want := range []struct{ method, body string }{{"GET", "you asked for /first"}, {"HEAD", ""}, {"GET", "you asked for /third"}} {
		resp, body := readResponse(t, br, want.method)
		if resp.StatusCode != 200 || body != want.body {
			t.Fatalf("%s: %d %q, want %q", want.method, resp.StatusCode, body, want.body)
		}
	}
	expectOpen(t, c, br)
}

func TestServerHalfClose(t *testing.T) {
	ts := startServer(t, Config{}, nil, nil)
	c := dial(t, ts.addr)
	io.WriteString(c, "GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n")
	// shutdown(SHUT_WR): the client has no more to say but still reads.
	if err := c.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	for _, p := range []string{"/a", "/b"} {
		resp, body := readResponse(t, br, "GET")
		if resp.StatusCode != 200 || body != "you asked for "+p {
			t.Fatalf("%s: %d %q", p, resp.StatusCode, body)
		}
	}
	expectEOF(t, br)
}

func TestServerHEADAndFile(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "f.txt")
	content := strings.Repeat("0123456789", 1000)
	if err := os.WriteFile(file, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	mt := time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC)
	os.Chtimes(file, mt, mt)
	ts := startServer(t, Config{}, testMapper(file), nil)

	c := dial(t, ts.addr)
	io.WriteString(c, "HEAD /file HTTP/1.1\r\nHost: x\r\n\r\nGET /file HTTP/1.1\r\nHost: x\r\n\r\n")
	br := bufio.NewReader(c)
	head, body := readResponse(t, br, "HEAD")
	if head.StatusCode != 200 || body != "" || head.Header.Get("Content-Length") != "10000" {
		t.Fatalf("HEAD: %d %q %v", head.StatusCode, body, head.Header)
	}
	if got := head.Header.Get("Last-Modified"); got != "Sat, 03 Feb 2001 04:05:06 GMT" {
		t.Fatalf("Last-Modified from the file: %q", got)
	}
	// If HEAD had sent a body, this response would be garbage.
	get, body := readResponse(t, br, "GET")
	if get.StatusCode != 200 || body != content {
		t.Fatalf("GET after HEAD: %d, %d bytes", get.StatusCode, len(body))
	}

	// A file that vanished between step 4 and step 5: 404.
	os.Remove(file)
	resp, body, _ := exchange(t, ts.addr, "GET /file HTTP/1.1\r\nHost: x\r\n\r\n")
	if resp.StatusCode != 404 || !strings.Contains(body, "<h1>Not Found</h1>") {
		t.Fatalf("vanished file: %d %q", resp.StatusCode, body)
	}
}

func TestServerIfModifiedSince(t *testing.T) {
	ts := startServer(t, Config{}, nil, nil)
	for _, tc := range []struct {
		ims    string
		status int
	}{
		{"Sun, 01 Oct 2000 12:00:00 GMT", 304},                         // exactly the modification time
		{"Mon, 02 Oct 2000 12:00:00 GMT", 304},                         // later
		{"Sunday, 01-Oct-00 12:00:00 GMT", 304},                        // RFC 850 form
		{"Sun Oct  1 12:00:00 2000", 304},                              // asctime form
		{"Sat, 30 Sep 2000 12:00:00 GMT", 200},                         // earlier: modified since
		{"Wed, 01 Jan 2020 00:00:00 GMT", 200},                         // in the future (after Now): invalid, ignored
		{"yesterday", 200},                                             // unparseable: ignored
		{"Sun, 01 Oct 2000 12:00:00 GMT\r\nIf-None-Match: \"x\"", 200}, // If-None-Match wins
	} {
		resp, body, _ := exchange(t, ts.addr, "GET /page HTTP/1.1\r\nHost: x\r\nIf-Modified-Since: "+tc.ims+"\r\n\r\n")
		if resp.StatusCode != tc.status {
			t.Errorf("If-Modified-Since %q: got %d, want %d", tc.ims, resp.StatusCode, tc.status)
			continue
		}
		if tc.status == 304 {
			if body != "" || resp.Header.Get("Content-Length") != "" || resp.Header.Get("Content-Type") != "" {
				t.Errorf("304 with body %q or framing headers %v", body, resp.Header)
			}
			if resp.Header.Get("Last-Modified") == "" || resp.Header.Get("Date") == "" {
				t.Errorf("304 without Date/Last-Modified: %v", resp.Header)
			}
		}
	}
}

func TestServerRedirectAndErrorPages(t *testing.T) {
	ts := startServer(t, Config{}, nil, nil)
	resp, body, _ := exchange(t, ts.addr, "GET /redirect HTTP/1.1\r\nHost: x\r\n\r\n")
	if resp.StatusCode != 301 || resp.Header.Get("Location") != "/new" || !strings.Contains(body, `href="/new"`) {
		t.Fatalf("redirect: %d %v %q", resp.StatusCode, resp.Header, body)
	}
	resp, body, br := exchange(t, ts.addr, "GET /missing HTTP/1.1\r\nHost: x\r\n\r\n")
	if resp.StatusCode != 404 || resp.Header.Get("Content-Type") != "text/html; charset=utf-8" ||
		!strings.Contains(body, "The requested URL /missing was not found") || resp.Close {
		t.Fatalf("404: %d %v %q", resp.StatusCode, resp.Header, body)
	}
	_ = br
	resp, _, _ = exchange(t, ts.addr, "GET /panic HTTP/1.1\r\nHost: x\r\n\r\n")
	if resp.StatusCode != 500 {
		t.Fatalf("a panicking mapper: %d", resp.StatusCode)
	}
}

// TestServerErrorStatuses sends every kind of request the server must
// refuse, by raw TCP, and checks the status, that the connection closes
// when the stream cannot be trusted, and the drop reason in the step log.
func TestServerErrorStatuses(t *testing.T) {
	sink := &viz.MemorySink{}
	log := viz.NewLog(clock.NewVirtual())
	log.AddSink(sink)
	ts := startServer(t, Config{MaxBodyBytes: 100, MaxRequestLine: 200, MaxHeaderBytes: 300}, nil, log.Recorder("server"))

	const host = "Host: x\r\n"
	for _, tc := range []struct {
		name   string
		raw    string
		status int
		reason viz.Reason
		open   bool // the connection stays open afterwards
	}{
		{"request line without version", "GET /\r\n\r\n", 400, viz.ReasonHTTPBadRequest, false},
		{"request line with four parts", "GET / HTTP/1.1 x\r\n" + host + "\r\n", 400, viz.ReasonHTTPBadRequest, false},
		{"two spaces", "GET  / HTTP/1.1\r\n" + host + "\r\n", 400, viz.ReasonHTTPBadRequest, false},
		{"lower-case version", "GET / http/1.1\r\n" + host + "\r\n", 400, viz.ReasonHTTPBadRequest, false},
		{"header line without colon", "GET / HTTP/1.1\r\n" + host + "NoColon\r\n\r\n", 400, viz.ReasonHTTPBadRequest, false},
		{"whitespace before colon", "GET / HTTP/1.1\r\nHost : x\r\n\r\n", 400, viz.ReasonHTTPBadRequest, false},
		{"obsolete line folding", "GET / HTTP/1.1\r\n" + host + "X-A: a\r\n b\r\n\r\n", 400, viz.ReasonHTTPBadRequest, false},
		{"control byte in a value", "GET / HTTP/1.1\r\n" + host + "X-A: a\x00b\r\n\r\n", 400, viz.ReasonHTTPBadRequest, false},
		{"bad chunk size", "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked\r\n\r\nzz\r\n", 400, viz.ReasonHTTPBadRequest, false},
		{"chunk longer than its size", "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n0\r\n\r\n", 400, viz.ReasonHTTPBadRequest, false},
		{"Content-Length not a number", "POST / HTTP/1.1\r\n" + host + "Content-Length: abc\r\n\r\n", 400, viz.ReasonHTTPBadRequest, false},
		{"negative Content-Length", "POST / HTTP/1.1\r\n" + host + "Content-Length: -1\r\n\r\n", 400, viz.ReasonHTTPBadRequest, false},
		{"duplicate differing Content-Length", "POST / HTTP/1.1\r\n" + host + "Content-Length: 3\r\nContent-Length: 4\r\n\r\nabcd", 400, viz.ReasonHTTPAmbiguousLength, false},
		{"differing Content-Length list", "POST / HTTP/1.1\r\n" + host + "Content-Length: 3, 4\r\n\r\nabcd", 400, viz.ReasonHTTPAmbiguousLength, false},
		{"Content-Length with Transfer-Encoding", "POST / HTTP/1.1\r\n" + host + "Content-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400, viz.ReasonHTTPAmbiguousLength, false},
		{"Transfer-Encoding not ending in chunked", "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked, gzip\r\n\r\n", 400, viz.ReasonHTTPBadRequest, false},
		{"Transfer-Encoding in HTTP/1.0", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400, viz.ReasonHTTPBadRequest, false},
		{"HTTP/1.1 without Host", "GET / HTTP/1.1\r\n\r\n", 400, viz.ReasonHTTPBadRequest, false},
		{"two Host fields", "GET / HTTP/1.1\r\n" + host + "Host: y\r\n\r\n", 400, viz.ReasonHTTPBadRequest, false},
		{"invalid Host", "GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", 400, viz.ReasonHTTPBadRequest, false},
		{"encoded NUL", "GET /a%00b HTTP/1.1\r\n" + host + "\r\n", 400, viz.ReasonHTTPBadRequest, false},
		{"bad percent escape", "GET /a%zz HTTP/1.1\r\n" + host + "\r\n", 400, viz.ReasonHTTPBadRequest, false},
		{"target not a path", "GET index.html HTTP/1.1\r\n" + host + "\r\n", 400, viz.ReasonHTTPBadRequest, false},
		{"HTTP/2.0", "GET / HTTP/2.0\r\n" + host + "\r\n", 505, viz.ReasonHTTPVersion, false},
		{"HTTP/0.9 style version", "GET / HTTP/0.9\r\n\r\n", 505, viz.ReasonHTTPVersion, false},
		{"PUT", "PUT /x HTTP/1.1\r\n" + host + "Content-Length: 2\r\n\r\nhi", 405, viz.ReasonHTTPMethodNotAllowed, true},
		{"DELETE", "DELETE /x HTTP/1.1\r\n" + host + "\r\n", 405, viz.ReasonHTTPMethodNotAllowed, true},
		{"TRACE", "TRACE / HTTP/1.1\r\n" + host + "\r\n", 405, viz.ReasonHTTPMethodNotAllowed, true},
		{"CONNECT", "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n", 405, viz.ReasonHTTPMethodNotAllowed, true},
		{"unknown method", "BREW /pot HTTP/1.1\r\n" + host + "\r\n", 501, viz.ReasonHTTPNotImplemented, true},
		{"unknown transfer coding", "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: gzip, chunked\r\n\r\n", 501, viz.ReasonHTTPNotImplemented, false},
		{"POST without length", "POST /form HTTP/1.1\r\n" + host + "\r\n", 411, viz.ReasonHTTPLengthRequired, false},
		{"Content-Length over the limit", "POST / HTTP/1.1\r\n" + host + "Content-Length: 101\r\n\r\n", 413, viz.ReasonHTTPBodyTooLarge, false},
		{"chunked body over the limit", "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked\r\n\r\n40\r\n" + strings.Repeat("a", 64) + "\r\n40\r\n" + strings.Repeat("b", 64) + "\r\n0\r\n\r\n", 413, viz.ReasonHTTPBodyTooLarge, false},
		{"Content-Length beyond int64", "POST / HTTP/1.1\r\n" + host + "Content-Length: 99999999999999999999\r\n\r\n", 413, viz.ReasonHTTPBodyTooLarge, false},
		{"request line too long", "GET /" + strings.Repeat("a", 250) + " HTTP/1.1\r\n" + host + "\r\n", 414, viz.ReasonHTTPURITooLong, false},
		{"header section too large", "GET / HTTP/1.1\r\n" + host + strings.Repeat("X-Pad: 0123456789012345678901234567890123456789\r\n", 8) + "\r\n", 431, viz.ReasonHTTPHeaderTooLarge, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := dial(t, ts.addr)
			io.WriteString(c, tc.raw)
			br := bufio.NewReader(c)
			resp, body := readResponse(t, br, "GET")
			if resp.StatusCode != tc.status {
				t.Fatalf("got %d, want %d (%q)", resp.StatusCode, tc.status, body)
			}
			if tc.status == 405 && resp.Header.Get("Allow") != allowedMethods {
				t.Errorf("405 without Allow: %v", resp.Header)
			}
			if resp.Header.Get("Content-Type") != "text/html; charset=utf-8" || !strings.Contains(body, "<h1>") {
				t.Errorf("no error page: %v %q", resp.Header, body)
			}
			if tc.open {
				if resp.Close {
					t.Errorf("a well-framed refused request closed the connection")
				}
				io.WriteString(c, "GET /after HTTP/1.1\r\nHost: x\r\n\r\n")
				if r2, b2 := readResponse(t, br, "GET"); r2.StatusCode != 200 || b2 != "you asked for /after" {
					t.Errorf("the next request on the connection: %d %q", r2.StatusCode, b2)
				}
			} else {
				if !resp.Close {
					t.Errorf("no Connection: close after a request that cannot be trusted")
				}
				expectEOF(t, br)
			}
		})
	}

	// Each refusal is a drop with its named reason.
	reasons := map[viz.Reason]int{}
	for _, e := range sink.Events() {
		if e.Layer == viz.LayerHTTP && e.Verdict == viz.Drop {
			if !e.Reason.Known() {
				t.Errorf("unknown reason %q in %+v", e.Reason, e)
			}
			reasons[e.Reason]++
		}
	}
	for _, r := range []viz.Reason{viz.ReasonHTTPBadRequest, viz.ReasonHTTPAmbiguousLength, viz.ReasonHTTPVersion,
		viz.ReasonHTTPMethodNotAllowed, viz.ReasonHTTPNotImplemented, viz.ReasonHTTPLengthRequired,
		viz.ReasonHTTPBodyTooLarge, viz.ReasonHTTPURITooLong, viz.ReasonHTTPHeaderTooLarge} {
		if reasons[r] == 0 {
			t.Errorf("no drop with reason %s", r)
		}
	}
}

func TestServerAcceptedForms(t *testing.T) {
	ts := startServer(t, Config{}, mapperFunc(func(r *Request) *Resource {
		return &Resource{Status: 200, Content: []byte(fmt.Sprintf("%s|%s|%s|%d|%q", r.Host, r.Path, r.RawQuery, r.ProtoMinor, r.Body))}
	}), nil)
	for _, tc := range []struct{ raw, want string }{
		{"GET /a%2Fb%20c?q=%20 HTTP/1.1\r\nHost: WWW.Example.COM:8080\r\n\r\n", `www.example.com|/a/b c|q=%20|1|""`},
		{"GET http://Other.example/p?x HTTP/1.1\r\nHost: ignored\r\n\r\n", `other.example|/p|x|1|""`},
		{"\r\n\r\nGET /after-crlf HTTP/1.0\n\n", `|/after-crlf||0|""`},
		{"GET / HTTP/1.9\r\nHost: [::1]:80\r\n\r\n", `::1|/||1|""`},
		{"POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3;ext=1\r\nabc\r\n2\r\nde\r\n0\r\nTrailer-Field: x\r\n\r\n", `x|/c||1|"abcde"`},
		{"POST /l HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nxyz", `x|/l||1|"xyz"`},
		{"GET /body HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nbody", `x|/body||1|"body"`},
	} {
		resp, body, _ := exchange(t, ts.addr, tc.raw)
		if resp.StatusCode != 200 || body != tc.want {
			t.Errorf("%q: got %d %s, want %s", tc.raw, resp.StatusCode, body, tc.want)
		}
	}
}

func TestServerOptions(t *testing.T) {
	ts := startServer(t, Config{}, nil, nil)
	for _, target := range []string{"*", "/page"} {
		resp, body, _ := exchange(t, ts.addr, "OPTIONS "+target+" HTTP/1.1\r\nHost: x\r\n\r\n")
		if resp.StatusCode != 204 || resp.Header.Get("Allow") != allowedMethods || body != "" || resp.Header.Get("Content-Length") != "" {
			t.Fatalf("OPTIONS %s: %d %v %q", target, resp.StatusCode, resp.Header, body)
		}
	}
}

func TestServerExpectContinue(t *testing.T) {
	ts := startServer(t, Config{}, mapperFunc(func(r *Request) *Resource {
		return &Resource{Status: 200, Content: r.Body}
	}), nil)
	c := dial(t, ts.addr)
	io.WriteString(c, "POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n")
	br := bufio.NewReader(c)
	line, _ := br.ReadString('\n')
	blank, _ := br.ReadString('\n')
	if line != "HTTP/1.1 100 Continue\r\n" || blank != "\r\n" {
		t.Fatalf("want 100 Continue before the body, got %q %q", line, blank)
	}
	io.WriteString(c, "hello")
	if resp, body := readResponse(t, br, "POST"); resp.StatusCode != 200 || body != "hello" {
		t.Fatalf("%d %q", resp.StatusCode, body)
	}
}

func TestServerTimeouts(t *testing.T) {
	ts := startServer(t, Config{HeaderTimeout: 200 * time.Millisecond, KeepAliveTimeout: 200 * time.Millisecond, IdleTimeout: 300 * time.Millisecond}, nil, nil)

	// A request that stops in the middle of its header section: 408.
	c := dial(t, ts.addr)
	io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n")
	br := bufio.NewReader(c)
	resp, _ := readResponse(t, br, "GET")
	if resp.StatusCode != 408 || !resp.Close {
		t.Fatalf("slow header: %d close=%v", resp.StatusCode, resp.Close)
	}
	expectEOF(t, br)

	// A body that stalls: 408.
	c = dial(t, ts.addr)
	io.WriteString(c, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc")
	br = bufio.NewReader(c)
	if resp, _ := readResponse(t, br, "POST"); resp.StatusCode != 408 {
		t.Fatalf("stalled body: %d", resp.StatusCode)
	}

	// A persistent connection left idle: closed without a word.
	c = dial(t, ts.addr)
	io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	br = bufio.NewReader(c)
	readResponse(t, br, "GET")
	expectEOF(t, br)

	// A new connection that never sends: closed after IdleTimeout.
	c = dial(t, ts.addr)
	expectEOF(t, bufio.NewReader(c))
}

// TestServerSevenSteps follows one request through the step log: the
// seven steps, in order, each tied to the socket's ID.
func TestServerSevenSteps(t *testing.T) {
	sink := &viz.MemorySink{}
	log := viz.NewLog(clock.NewVirtual())
	log.AddSink(sink)
	ts := startServer(t, Config{}, nil, log.Recorder("server"))
	c := dial(t, ts.addr)
	io.WriteString(c, "GET /index.html HTTP/1.0\r\nUser-Agent: test\r\n\r\n")
	br := bufio.NewReader(c)
	resp, _ := readResponse(t, br, "GET")
	if resp.StatusCode != 200 {
		t.Fatal(resp.Status)
	}
	expectEOF(t, br)
	c.Close()
	ts.srv.Shutdown(context.Background())

	var steps []string
	for _, e := range sink.Events() {
		if e.Layer != viz.LayerHTTP {
			continue
		}
		if e.Conn != 100 {
			t.Errorf("step %s has conn %d, want the socket's ID 100", e.Step, e.Conn)
		}
		if e.Msg == "" || !strings.HasSuffix(e.Msg, ".") {
			t.Errorf("step %s: msg %q is not a sentence", e.Step, e.Msg)
		}
		if n := len(steps); n > 0 && steps[n-1] == e.Step {
			// Step 5 narrates its decisions (encoding, ranges,
			// conditions) as respond steps before the one that builds.
			continue
		}
		steps = append(steps, e.Step)
		switch e.Step {
		case "receive":
			if v, _ := e.Field("method"); v != "GET" {
				t.Errorf("receive: method %q", v)
			}
			if v, _ := e.Field("path"); v != "/index.html" {
				t.Errorf("receive: path %q", v)
			}
		case "map":
			if v, _ := e.Field("status"); v != "200" {
				t.Errorf("map: status %q", v)
			}
			if v, _ := e.Field("reason"); v != "file" {
				t.Errorf("map: reason %q", v)
			}
		case "send":
			if e.Verdict != viz.Send {
				t.Errorf("send: verdict %q", e.Verdict)
			}
			if v, _ := e.Field("keep"); v != "no" {
				t.Errorf("send: keep %q for HTTP/1.0", v)
			}
		case "log":
			if v, _ := e.Field("line"); !strings.HasPrefix(v, `127.0.0.1 - - [10/Oct/2000:13:55:36 -0700] "GET /index.html HTTP/1.0" 200 25`) {
				t.Errorf("log line %q", v)
			}
		}
	}
	// The default architecture, "event", hands the complete request
	// from its loop to a worker between steps 2 and 3.
	want := []string{"accept", "dispatch", "receive", "process", "map", "respond", "send", "log"}
	if len(steps) < len(want) || strings.Join(steps[:len(want)], " ") != strings.Join(want, " ") {
		t.Fatalf("steps %v, want %v first", steps, want)
	}
}

func TestServerAllowDeny(t *testing.T) {
	loop := netip.MustParsePrefix("127.0.0.0/8")
	host := netip.MustParsePrefix("127.0.0.1/32")
	ten := netip.MustParsePrefix("10.0.0.0/8")

	var errs bytes.Buffer
	sink := &viz.MemorySink{}
	log := viz.NewLog(clock.NewVirtual())
	log.AddSink(sink)
	ts := startServer(t, Config{Deny: []netip.Prefix{loop}, ErrorLog: &errs}, nil, log.Recorder("server"))
	resp, _, br := exchange(t, ts.addr, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	if resp.StatusCode != 403 || !resp.Close {
		t.Fatalf("denied: %d close=%v", resp.StatusCode, resp.Close)
	}
	expectEOF(t, br)
	if !strings.Contains(errs.String(), "client denied by server configuration (Deny from 127.0.0.0/8)") {
		t.Fatalf("error log: %q", errs.String())
	}
	found := false
	for _, e := range sink.Events() {
		if e.Step == "accept" && e.Verdict == viz.Drop && e.Reason == viz.ReasonHTTPDenied {
			found = true
		}
	}
	if !found {
		t.Fatal("no accept drop with http_denied")
	}

	// DenyClose: no answer at all.
	ts = startServer(t, Config{Deny: []netip.Prefix{loop}, DenyClose: true}, nil, nil)
	c := dial(t, ts.addr)
	io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	if b, err := io.ReadAll(c); len(b) != 0 {
		t.Fatalf("DenyClose answered %q (%v)", b, err)
	}

	// The longest prefix decides; an Allow list refuses the rest.
	ts = startServer(t, Config{Deny: []netip.Prefix{loop}, Allow: []netip.Prefix{host}}, nil, nil)
	if resp, _, _ := exchange(t, ts.addr, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"); resp.StatusCode != 200 {
		t.Fatalf("Allow 127.0.0.1/32 inside Deny 127.0.0.0/8: %d", resp.StatusCode)
	}
	ts = startServer(t, Config{Allow: []netip.Prefix{ten}}, nil, nil)
	if resp, _, _ := exchange(t, ts.addr, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"); resp.StatusCode != 403 {
		t.Fatalf("not in the Allow list: %d", resp.StatusCode)
	}

	for _, tc := range []struct {
		addr        string
		allow, deny []netip.Prefix
		refused     bool
	}{
		{"10.1.2.3", nil, nil, false},
		{"10.1.2.3", []netip.Prefix{ten}, nil, false},
		{"11.1.2.3", []netip.Prefix{ten}, nil, true},
		{"10.1.2.3", nil, []netip.Prefix{ten}, true},
		{"10.1.2.3", []netip.Prefix{netip.MustParsePrefix("10.1.0.0/16")}, []netip.Prefix{ten}, false},
		{"10.1.2.3", []netip.Prefix{ten}, []netip.Prefix{netip.MustParsePrefix("10.1.2.3/32")}, true},
		{"10.1.2.3", []netip.Prefix{ten}, []netip.Prefix{ten}, true}, // a tie: Deny wins
	} {
		if got, _ := refused(netip.MustParseAddr(tc.addr), tc.allow, tc.deny); got != tc.refused {
			t.Errorf("%s allow %v deny %v: refused=%v", tc.addr, tc.allow, tc.deny, got)
		}
	}
}

func TestServerReverseDNSAndIdent(t *testing.T) {
	// A fake identd on a port of its own; the dialer sends port 113
	// there.
	identLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer identLn.Close()
	queries := make(chan string, 1)
	go func() {
		c, err := identLn.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		q, _ := bufio.NewReader(c).ReadString('\n')
		queries <- q
		ports := strings.TrimSpace(q)
		fmt.Fprintf(c, "%s : USERID : UNIX : diana\r\n", ports)
	}()
	dialIdent := func(ctx context.Context, network, addr string) (net.Conn, error) {
		if !strings.HasSuffix(addr, ":113") {
			return nil, fmt.Errorf("ident dialled %s, not port 113", addr)
		}
		var d net.Dialer
		return d.DialContext(ctx, network, identLn.Addr().String())
	}
	var access bytes.Buffer
	sink := &viz.MemorySink{}
	log := viz.NewLog(clock.NewVirtual())
	log.AddSink(sink)
	ts := startServer(t, Config{
		AccessLog: &access,
		ReverseDNS: func(ctx context.Context, a netip.Addr) (string, error) {
			return "client.example.", nil
		},
		Ident: IdentDialer(dialIdent),
	}, nil, log.Recorder("server"))
	c := dial(t, ts.addr)
	io.WriteString(c, "GET /who HTTP/1.0\r\n\r\n")
	readResponse(t, bufio.NewReader(c), "GET")
	clientPort := c.LocalAddr().(*net.TCPAddr).Port
	serverPort := c.RemoteAddr().(*net.TCPAddr).Port
	if q := <-queries; q != fmt.Sprintf("%d , %d\r\n", clientPort, serverPort) {
		t.Fatalf("ident query %q", q)
	}
	c.Close()
	ts.srv.Shutdown(context.Background())
	want := `client.example diana - [10/Oct/2000:13:55:36 -0700] "GET /who HTTP/1.0" 200 18` + "\n"
	if access.String() != want {
		t.Fatalf("access log:\n%q\nwant\n%q", access.String(), want)
	}
	for _, e := range sink.Events() {
		if e.Step == "accept" {
			if v, _ := e.Field("rdns"); v != "client.example" {
				t.Errorf("accept rdns %q", v)
			}
			if _, ok := e.Field("rdns_delay"); !ok {
				t.Errorf("accept step without the lookup's delay")
			}
			if v, _ := e.Field("ident"); v != "diana" {
				t.Errorf("accept ident %q", v)
			}
		}
	}
}

func TestIdentReplies(t *testing.T) {
	for _, tc := range []struct {
		line, user string
		fail       bool
	}{
		{"6193, 23 : USERID : UNIX : stjohns\r\n", "stjohns", false},
		{"6193 , 23 : USERID : OTHER, US-ASCII :  a:b c \r\n", "a:b c", false},
		{"6193, 23 : ERROR : NO-USER\r\n", "", true},
		{"6195, 23 : USERID : UNIX : x\r\n", "", true}, // another connection
		{"garbage\r\n", "", true},
		{"6193, 23 : USERID : UNIX\r\n", "", true},
	} {
		user, err := parseIdentReply(tc.line, 6193, 23)
		if (err != nil) != tc.fail || user != tc.user {
			t.Errorf("%q: %q %v", tc.line, user, err)
		}
	}
}

func TestServerArchSingle(t *testing.T) {
	ts := startServer(t, Config{Arch: ArchSingle}, nil, nil)
	// The first client holds the only thread with a persistent
	// connection; the second waits in the listen backlog until the
	// first leaves.
	c1 := dial(t, ts.addr)
	br1 := bufio.NewReader(c1)
	io.WriteString(c1, "GET /1 HTTP/1.1\r\nHost: x\r\n\r\n")
	readResponse(t, br1, "GET")
	c2 := dial(t, ts.addr)
	br2 := bufio.NewReader(c2)
	io.WriteString(c2, "GET /2 HTTP/1.1\r\nHost: x\r\n\r\n")
	expectOpen(t, c2, br2) // no answer yet
	c1.Close()
	if resp, body := readResponse(t, br2, "GET"); resp.StatusCode != 200 || body != "you asked for /2" {
		t.Fatalf("second client: %d %q", resp.StatusCode, body)
	}
}

func TestServerArchPool(t *testing.T) {
	sink := &viz.MemorySink{}
	log := viz.NewLog(clock.NewVirtual())
	log.AddSink(sink)
	ts := startServer(t, Config{Arch: ArchPool, Workers: 1, MaxConns: 2}, nil, log.Recorder("server"))
	c1 := dial(t, ts.addr)
	br1 := bufio.NewReader(c1)
	io.WriteString(c1, "GET /1 HTTP/1.1\r\nHost: x\r\n\r\n")
	readResponse(t, br1, "GET")

	// The second connection queues behind the one worker.
	c2 := dial(t, ts.addr)
	br2 := bufio.NewReader(c2)
	io.WriteString(c2, "GET /2 HTTP/1.1\r\nHost: x\r\n\r\n")
	expectOpen(t, c2, br2)

	// The third is one too many: 503 at once.
	c3 := dial(t, ts.addr)
	br3 := bufio.NewReader(c3)
	resp, body := readResponse(t, br3, "GET")
	if resp.StatusCode != 503 || !resp.Close || !strings.Contains(body, "Service Unavailable") {
		t.Fatalf("beyond MaxConns: %d close=%v %q", resp.StatusCode, resp.Close, body)
	}
	expectEOF(t, br3)

	// When the first leaves, the worker takes the queued one.
	c1.Close()
	if resp, body := readResponse(t, br2, "GET"); resp.StatusCode != 200 || body != "you asked for /2" {
		t.Fatalf("queued client: %d %q", resp.StatusCode, body)
	}
	var queued, overloaded bool
	for _, e := range sink.Events() {
		if e.Step == "accept" && e.Verdict == viz.Note && strings.Contains(e.Msg, "waits in the queue") {
			queued = true
		}
		if e.Step == "accept" && e.Reason == viz.ReasonHTTPOverloaded {
			overloaded = true
		}
	}
	if !queued || !overloaded {
		t.Fatalf("step log: queued=%v overloaded=%v", queued, overloaded)
	}
}

func TestServerRefusesBadArch(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if !kernelPollSupported {
		// On Linux, poll(2) watches kernel sockets (poll_linux.go).
		err = New(Config{Arch: ArchMultiplexed}, nil, nil).Serve(ln)
		if err == nil || !strings.Contains(err.Error(), "Poller") {
			t.Fatalf("multiplexed without a Poller: %v", err)
		}
	}
	err = New(Config{Arch: "forked"}, nil, nil).Serve(ln)
	if err == nil || !strings.Contains(err.Error(), "unknown architecture") {
		t.Fatalf("unknown arch: %v", err)
	}
}

func TestServerShutdown(t *testing.T) {
	for _, arch := range []string{ArchSingle, ArchPool, ArchMultiplexed} {
		t.Run(arch, func(t *testing.T) {
			cfg := Config{Arch: arch}
			var wrap func(net.Listener) net.Listener = func(l net.Listener) net.Listener { return l }
			if arch == ArchMultiplexed {
				cfg.Poller = testPoller{}
				wrap = func(l net.Listener) net.Listener { return &peekListener{l} }
			}
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			srv := New(cfg, testMapper(""), nil)
			done := make(chan error, 1)
			go func() { done <- srv.Serve(wrap(ln)) }()

			c := dial(t, ln.Addr().String())
			br := bufio.NewReader(c)
			io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
			readResponse(t, br, "GET")

			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := srv.Shutdown(ctx); err != nil {
				t.Fatalf("Shutdown: %v", err)
			}
			if err := <-done; err != ErrServerClosed {
				t.Fatalf("Serve returned %v", err)
			}
			expectEOF(t, br) // the idle persistent connection was closed
		})
	}
}

// A Poller over kernel sockets for the tests: each connection is read by a
// goroutine of its own into a buffer, and "ready" means the buffer holds
// something (or the stream ended).

type peekListener struct{ net.Listener }

func (l *peekListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	p := &peekConn{TCPConn: c.(*net.TCPConn)}
	go p.pump()
	return p, nil
}

type peekConn struct {
	*net.TCPConn
	mu       sync.Mutex
	buf      []byte
	err      error
	deadline time.Time
}

func (p *peekConn) pump() {
	b := make([]byte, 4096)
	for {
		n, err := p.TCPConn.Read(b)
		p.mu.Lock()
		p.buf = append(p.buf, b[:n]...)
		if err != nil {
			p.err = err
		}
		p.mu.Unlock()
		if err != nil {
			return
		}
	}
}

func (p *peekConn) ready() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.buf) > 0 || p.err != nil
}

func (p *peekConn) Read(b []byte) (int, error) {
	for {
		p.mu.Lock()
		if len(p.buf) > 0 {
			n := copy(b, p.buf)
			p.buf = p.buf[n:]
			p.mu.Unlock()
			return n, nil
		}
		err, dl := p.err, p.deadline
		p.mu.Unlock()
		if err != nil {
			return 0, err
		}
		if !dl.IsZero() && time.Now().After(dl) {
			return 0, os.ErrDeadlineExceeded
		}
		time.Sleep(time.Millisecond)
	}
}

func (p *peekConn) SetReadDeadline(t time.Time) error {
	p.mu.Lock()
	p.deadline = t
	p.mu.Unlock()
	return nil
}

func (p *peekConn) SetDeadline(t time.Time) error {
	p.SetReadDeadline(t)
	return p.TCPConn.SetWriteDeadline(t)
}

type testPoller struct{}

func (testPoller) Poll(conns []net.Conn, timeout time.Duration) ([]int, error) {
	end := time.Now().Add(timeout)
	for {
		var ready []int
		for i, c := range conns {
			if c.(*peekConn).ready() {
				ready = append(ready, i)
			}
		}
		if len(ready) > 0 || !time.Now().Before(end) {
			return ready, nil
		}
		time.Sleep(time.Millisecond)
	}
}

func TestServerArchMultiplexed(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := New(Config{Arch: ArchMultiplexed, Poller: testPoller{}, Now: fixedClock, HeaderTimeout: 300 * time.Millisecond}, testMapper(""), nil)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(&peekListener{ln}) }()
	defer func() { srv.Close(); <-done }()
	addr := ln.Addr().String()

	// Several clients at once, one goroutine serving them all: an idle
	// one does not hold the others up.
	idle := dial(t, addr)
	_ = idle
	c := dial(t, addr)
	br := bufio.NewReader(c)
	// Pipelined, and the third request split across two writes.
	io.WriteString(c, "GET /1 HTTP/1.1\r\nHost: x\r\n\r\nGET /2 HTTP/1.1\r\nHost: x\r\n\r\nPOST /3 HTTP/1.1\r\nHost: x\r\nContent-Le")
	for _, p := range []string{"/1", "/2"} {
		if resp, body := readResponse(t, br, "GET"); resp.StatusCode != 200 || body != "you asked for "+p {
			t.Fatalf("%s: %d %q", p, resp.StatusCode, body)
		}
	}
	io.WriteString(c, "ngth: 3\r\n\r\nabc")
	if resp, body := readResponse(t, br, "POST"); resp.StatusCode != 200 || body != "you asked for /3" {
		t.Fatalf("/3: %d %q", resp.StatusCode, body)
	}
	expectOpen(t, c, br)

	// Errors and timeouts as in the other architectures.
	resp, _, br2 := exchange(t, addr, "GET / HTTP/1.1\r\nHost : x\r\n\r\n")
	if resp.StatusCode != 400 {
		t.Fatalf("bad header: %d", resp.StatusCode)
	}
	expectEOF(t, br2)
	c3 := dial(t, addr)
	io.WriteString(c3, "GET / HTTP/1.1\r\n")
	br3 := bufio.NewReader(c3)
	if resp, _ := readResponse(t, br3, "GET"); resp.StatusCode != 408 {
		t.Fatalf("slow header: %d", resp.StatusCode)
	}

	// Half close: the pending request is answered, then the end.
	c4 := dial(t, addr)
	io.WriteString(c4, "GET /last HTTP/1.1\r\nHost: x\r\n\r\n")
	c4.CloseWrite()
	br4 := bufio.NewReader(c4)
	if resp, body := readResponse(t, br4, "GET"); resp.StatusCode != 200 || body != "you asked for /last" {
		t.Fatalf("half close: %d %q", resp.StatusCode, body)
	}
	expectEOF(t, br4)
}

// TestBuiltBodySaysWhatItIs: the map step names what a body the mapper
// built is (a listing, a CGI program's output, the page with its includes
// done, an error page), not only its step number.
func TestBuiltBodySaysWhatItIs(t *testing.T) {
	for _, c := range []struct {
		res  Resource
		want string
	}{
		{Resource{Status: 200, Reason: "listing", Content: make([]byte, 10)}, "a directory listing (10 bytes)"},
		{Resource{Status: 200, Reason: "cgi", Content: make([]byte, 3)}, "a CGI program's output (3 bytes)"},
		{Resource{Status: 200, Reason: "ssi", Content: make([]byte, 7)}, "the page with its server-side includes done (7 bytes)"},
		{Resource{Status: 404, Reason: "not found", Content: make([]byte, 5)}, "an error page (5 bytes)"},
		{Resource{Status: 200, Reason: "file", Content: make([]byte, 4)}, "a file of the embedded site (4 bytes)"},
		{Resource{Status: 200, Reason: "directory index (index.html)", Content: make([]byte, 2)}, "the directory's index file, from the embedded site (2 bytes)"},
	} {
		if got := builtBody(&c.res); got != c.want {
			t.Errorf("%s: %q, want %q", c.res.Reason, got, c.want)
		}
	}
}
