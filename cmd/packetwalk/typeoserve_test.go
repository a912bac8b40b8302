package main

import (
	"bufio"
	"context"
	"io"
	"net"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/packetwalk/packetwalk/internal/testenv"
)

// typedResponse is what the operator types: LF line ends, as a terminal
// gives them; type-o-serve sends CRLF.
const typedResponse = "HTTP/1.0 200 OK\nContent-Type: text/plain\nX-Typed-By: the operator\n\nhello from the keyboard\n.\n"

// type-o-serve prints the request as it arrived, waits for the operator's
// response up to ".", and sends it: driven here through a pipe on its
// standard input, the request sent by a raw client.
func TestTypeOServe(t *testing.T) {
	stdinR, stdinW := io.Pipe()
	defer stdinW.Close()
	stdout, stderr := &syncBuffer{}, &syncBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ready := make(chan net.Addr, 1)
	exited := make(chan error, 1)
	go func() {
		exited <- typeOServeCommand(ctx, []string{"--listen", "127.0.0.1:0"}, stdinR, stdout, stderr, func(a net.Addr) { ready <- a })
	}()
	var addr string
	select {
	case a := <-ready:
		addr = a.String()
	case err := <-exited:
		t.Fatalf("type-o-serve exited: %v %s", err, stderr)
	}
	_, port, _ := net.SplitHostPort(addr)
	waitFor(t, "the banner", func() bool {
		return strings.Contains(stdout.String(), "<<<Type-O-Serve Accepting on Port "+port+">>>")
	})

	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(15 * time.Second))
	request := "POST /form HTTP/1.1\r\nHost: example.test\r\nX-Odd-Header:   spaced  \r\nContent-Length: 7\r\n\r\nq=hello"
	io.WriteString(c, request)

	// The operator sees the request, exactly as sent, then the prompt.
	waitFor(t, "the request and the prompt", func() bool {
		return strings.Contains(stdout.String(), "<<<Type Response Followed by '.'>>>")
	})
	out := stdout.String()
	local := c.LocalAddr().String()
	if !strings.Contains(out, "<<<Request From '"+local+"'>>>\n"+request) {
		t.Errorf("the request was not printed as it arrived:\n%s", out)
	}
	io.WriteString(stdinW, typedResponse)

	got, err := io.ReadAll(c)
	if err != nil {
		t.Fatal(err)
	}
	want := strings.ReplaceAll(strings.TrimSuffix(typedResponse, ".\n"), "\n", "\r\n")
	if string(got) != want {
		t.Errorf("the client received %q, want %q", got, want)
	}

	// Ctrl-C (here the context) stops it while it waits for a client.
	cancel()
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("exit: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("type-o-serve did not stop")
	}
}

// The command itself, with its real standard input and the PORT
// argument: curl's request is printed, the typed response reaches curl,
// and when standard input ends, the next client gets nothing and the
// command exits 0. SIGTERM ends it too.
func TestTypeOServeCommand(t *testing.T) {
	curlPath := testenv.Tool(t, "curl", "install it with: apt-get install curl")
	cmd := cliCommand(t, "type-o-serve", "0")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdoutPipe, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr syncBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	stdout := &syncBuffer{}
	go io.Copy(stdout, stdoutPipe)

	var port string
	banner := regexp.MustCompile(`<<<Type-O-Serve Accepting on Port (\d+)>>>`)
	waitFor(t, "the banner", func() bool {
		m := banner.FindStringSubmatch(stdout.String())
		if m != nil {
			port = m[1]
		}
		return m != nil
	})
	addr := net.JoinHostPort("127.0.0.1", port)

	// First client: answered with what is typed.
	type answer struct {
		r   curlResult
		err error
	}
	done := make(chan answer, 1)
	go func() {
		r, err := runCurl(curlPath, "-H", "X-Probe: 42", "http://"+addr+"/probe?x=1")
		done <- answer{r, err}
	}()
	waitFor(t, "the prompt", func() bool { return strings.Contains(stdout.String(), "<<<Type Response Followed by '.'>>>") })
	for _, want := range []string{"GET /probe?x=1 HTTP/1.1\r\n", "Host: " + addr + "\r\n", "X-Probe: 42\r\n", "User-Agent: curl/"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("the printed request lacks %q:\n%s", want, stdout.String())
		}
	}
	io.WriteString(stdin, typedResponse)
	select {
	case a := <-done:
		r := a.r
		if a.err != nil {
			t.Fatal(a.err)
		}
		if r.status != 200 || r.header.Get("X-Typed-By") != "the operator" || r.body != "hello from the keyboard\r\n" {
			t.Errorf("curl got %d %v %q", r.status, r.header, r.body)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("curl got no answer")
	}

	// Standard input ends: the next client is closed without an answer,
	// and type-o-serve is done.
	stdin.Close()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "GET /second HTTP/1.0\r\n\r\n")
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if b, err := bufio.NewReader(c).ReadByte(); err != io.EOF {
		t.Errorf("the second client got %q, %v; want the connection closed", b, err)
	}
	c.Close() // or type-o-serve's lingering close waits for it
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("exit: %v\n%s", err, stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("type-o-serve kept running after its standard input ended")
	}
	if !strings.Contains(stdout.String(), "GET /second HTTP/1.0") {
		t.Errorf("the second request was not printed")
	}
}

// SIGTERM while waiting for a client: exit 0.
func TestTypeOServeStopsOnSignal(t *testing.T) {
	cmd := cliCommand(t, "type-o-serve", "--listen", "127.0.0.1:0")
	var stdout, stderr syncBuffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	waitFor(t, "the banner", func() bool { return strings.Contains(stdout.String(), "<<<Type-O-Serve Accepting on Port ") })
	cmd.Process.Signal(syscall.SIGTERM)
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	select {
	case err := <-exited:
		if err != nil || stderr.String() != "" {
			t.Errorf("exit: %v, stderr %q", err, stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("still running after SIGTERM")
	}
}
