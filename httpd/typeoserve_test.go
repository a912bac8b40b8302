package httpd

import (
	"bytes"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/packetwalk/packetwalk/clock"
	"github.com/packetwalk/packetwalk/viz"
)

// TestTypeOServe drives type-o-serve as the book does: a browser (here
// Go's client) asks, the request appears on the operator's screen, the
// operator's typed response (here a strings.Reader) goes back.
func TestTypeOServe(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	typed := "HTTP/1.0 200 OK\n" +
		"Connection: close\n" +
		"Content-type: text/plain\n" +
		"\n" +
		"Hi there!\n" +
		".\n" +
		"HTTP/1.0 201 Created\r\n" + // a second response, with CRLF typed already
		"\r\n" +
		".\r\n"
	var screen bytes.Buffer
	sink := &viz.MemorySink{}
	log := viz.NewLog(clock.NewVirtual())
	log.AddSink(sink)
	done := make(chan error, 1)
	go func() {
		done <- TypeOServe(&idListener{Listener: ln}, strings.NewReader(typed), &screen, log.Recorder("server"))
	}()

	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := client.Get("http://" + ln.Addr().String() + "/index.html")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != "Hi there!\r\n" || resp.Header.Get("Content-Type") != "text/plain" {
		t.Fatalf("got %d %q %v", resp.StatusCode, body, resp.Header)
	}

	// A POST: its Content-Length body is printed too.
	resp, err = client.Post("http://"+ln.Addr().String()+"/form", "application/x-www-form-urlencoded", strings.NewReader("a=1&b=2"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 201 {
		t.Fatalf("second response: %d", resp.StatusCode)
	}

	// The operator's input has run out: the third client gets nothing
	// and type-o-serve ends.
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(c, "GET /third HTTP/1.0\r\n\r\n")
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if b, _ := io.ReadAll(c); len(b) != 0 {
		t.Fatalf("third client got %q", b)
	}
	c.Close()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("TypeOServe: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("TypeOServe did not end when its input ran out")
	}
	ln.Close()

	out := screen.String()
	for _, want := range []string{
		"<<<Type-O-Serve Accepting on Port ",
		"<<<Request From '127.0.0.1:",
		"GET /index.html HTTP/1.1\r\nHost: " + ln.Addr().String() + "\r\n",
		"\r\n\r\n<<<Type Response Followed by '.'>>>\n",
		"POST /form HTTP/1.1\r\n",
		"Content-Length: 7\r\n",
		"\r\n\r\na=1&b=2<<<Type Response Followed by '.'>>>\n",
		"GET /third HTTP/1.0\r\n\r\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the screen lacks %q:\n%s", want, out)
		}
	}
	if n := strings.Count(out, "<<<Request From"); n != 3 {
		t.Errorf("%d requests on the screen, want 3", n)
	}

	var steps []string
	for _, e := range sink.Events() {
		if e.Conn == 100 {
			steps = append(steps, e.Step)
		}
	}
	if strings.Join(steps, " ") != "accept receive send" {
		t.Errorf("steps of the first connection: %v", steps)
	}
}

// TestTypeOServeClosedListener: closing the listener ends type-o-serve
// without an error.
func TestTypeOServeClosedListener(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- TypeOServe(ln, strings.NewReader(""), io.Discard, nil) }()
	time.Sleep(10 * time.Millisecond)
	ln.Close()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("TypeOServe did not end")
	}
}
