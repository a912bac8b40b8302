package main

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/packetwalk/packetwalk/internal/netns"
	"github.com/packetwalk/packetwalk/internal/testenv"
)

// type-o-serve on packetwalk's stack through a TUN device, in a namespace:
// curl (the kernel's TCP) sends the request, the operator (this test, on
// type-o-serve's standard input) reads it and types the response, and
// curl receives exactly the typed bytes. When the operator's input ends,
// type-o-serve lets TCP deliver what it sent and exits.
func TestTypeOServeTUN(t *testing.T) { testTypeOServeDevice(t, "--tun") }

// The same through a TAP device: the kernel first resolves the stack's
// MAC with ARP, then the exchange is the same.
func TestTypeOServeTAP(t *testing.T) { testTypeOServeDevice(t, "--tap") }

func testTypeOServeDevice(t *testing.T, deviceFlag string) {
	curl := testenv.Tool(t, "curl", "install it with: apt-get install curl")
	ns := netns.New(t)
	dir := t.TempDir()
	stdinR, stdinW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stdinW.Close() })
	stdout := &syncBuffer{}
	cmd := ns.Command(context.Background(), os.Args[0], "type-o-serve", deviceFlag, "pw0", "--addr", tunAddr+"/24", "--user", "root", "8080")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdinR, stdout, stdout
	proc := startListening(t, ns, cmd, filepath.Join(dir, "ready"), stdout.String)
	stdinR.Close() // the child has its copy
	waitFor(t, "the banner", func() bool { return strings.Contains(stdout.String(), "<<<Type-O-Serve Accepting on Port 8080>>>") })

	// curl waits for the response while the operator reads the request.
	type result struct {
		out, errOut string
		err         error
	}
	got := make(chan result, 1)
	go func() {
		o, e, err := ns.Run(30*time.Second, curl, "-sS", "-i", "--max-time", "25", "-H", "X-Asked-By: curl", "http://"+tunAddr+":8080/typed")
		got <- result{o, e, err}
	}()
	waitFor(t, "the request and the prompt", func() bool {
		return strings.Contains(stdout.String(), "<<<Type Response Followed by '.'>>>")
	})
	out := stdout.String()
	for _, want := range []string{"<<<Request From '10.9.0.1:", "GET /typed HTTP/1.1\r\n", "X-Asked-By: curl\r\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("type-o-serve did not show %q of the request:\n%s", want, out)
		}
	}
	io.WriteString(stdinW, typedResponse)
	r := <-got
	if r.err != nil {
		t.Fatalf("curl: %v: %s", r.err, r.errOut)
	}
	// curl -i prints the response as it arrived: the typed lines, each
	// ended with CRLF by type-o-serve.
	want := strings.ReplaceAll(strings.TrimSuffix(typedResponse, ".\n"), "\n", "\r\n")
	if r.out != want {
		t.Errorf("curl received %q, want exactly the typed %q", r.out, want)
	}

	// The operator's input ends. type-o-serve notices when it reads
	// the next response (as on the kernel's sockets): it closes that
	// connection without a word and exits by itself, cleanly.
	stdinW.Close()
	if _, errOut, err := ns.Run(30*time.Second, curl, "-sS", "--max-time", "25", "http://"+tunAddr+":8080/again"); err == nil || !strings.Contains(errOut, "Empty reply") {
		t.Errorf("curl after the operator's input ended: %v %q; want an empty reply", err, errOut)
	}
	select {
	case <-proc.Done():
		if err := proc.Err(); err != nil {
			t.Errorf("type-o-serve exited with %v after its input ended:\n%s", err, stdout)
		}
	case <-time.After(15 * time.Second):
		t.Errorf("type-o-serve did not exit within 15 s of its input ending:\n%s", stdout)
	}
}
