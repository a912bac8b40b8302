package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/packetwalk/packetwalk/internal/testenv"
	"github.com/packetwalk/packetwalk/viz"
)

// TestTUNKernelReaderPause: the Linux kernel as the client, with a small
// receive buffer, downloads 1 MB from `serve --tun` and its application
// stops reading for 10 s after the first bytes. Its window closes;
// packetwalk must only probe it (RFC 9293 §3.8.6.1): the kernel's answers
// to the probes are not duplicate ACKs (RFC 5681 §2), so no fast
// retransmit and no retransmission timeout while the reader pauses, and
// the connection stays open (RFC 1122 §4.2.2.17). When the reader
// resumes, its window update lets the rest go at once: the issue measured
// 10 s from resume to the end of the download before the fix (the
// backed-off retransmission timer had to fire), Linux to Linux 10 ms.
func TestTUNKernelReaderPause(t *testing.T) {
	py := testenv.Tool(t, "python3", "install it with: apt-get install python3")
	const size = 1 << 20
	docroot := t.TempDir()
	data := make([]byte, size)
	for i := range data {
		data[i] = byte(i*13 + i>>9)
	}
	if err := os.WriteFile(filepath.Join(docroot, "one.bin"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	s := startTUNServer(t, "--docroot", docroot)
	script := filepath.Join(t.TempDir(), "pause.py")
	if err := os.WriteFile(script, []byte(pausingReader), 0o644); err != nil {
		t.Fatal(err)
	}
	out, errOut, err := s.ns.Run(60*time.Second, py, script, tunAddr, "10")
	if err != nil {
		t.Fatalf("pausing reader: %v: %s%s", err, out, errOut)
	}
	f := strings.Fields(out)
	if len(f) != 2 {
		t.Fatalf("pausing reader printed %q, want the body's length and the seconds from resume to its end", out)
	}
	n, _ := strconv.Atoi(f[0])
	resumeToEnd, _ := strconv.ParseFloat(f[1], 64)
	if n != size {
		t.Fatalf("the reader got %d bytes of body, want %d", n, size)
	}
	time.Sleep(200 * time.Millisecond) // the step log is streamed; let it reach the file
	var probes, fast, timeouts int
	for _, e := range readSteps(t, s.jsonl) {
		switch {
		case e.Layer != viz.LayerTCP:
		case e.Step == "probe":
			probes++
		case e.Step == "cwnd" && strings.Contains(e.Msg, "fast retransmit"):
			fast++
		case e.Step == "timer" && strings.Contains(e.Msg, "retransmission timeout"):
			timeouts++
		}
	}
	t.Logf("1 MB, the reader paused 10 s: resume -> end of the download %.3f s; %d zero-window probes, %d fast retransmits, %d retransmission timeouts",
		resumeToEnd, probes, fast, timeouts)
	if probes < 3 {
		t.Errorf("%d zero-window probes in 10 s, want them to go on", probes)
	}
	if fast > 0 || timeouts > 0 {
		t.Errorf("%d fast retransmits and %d retransmission timeouts on a lossless device while the window was closed", fast, timeouts)
	}
	// One RTT (well under a millisecond here) plus 50 ms, as the issue
	// asks, plus the time to move 1 MB through the device.
	if resumeToEnd > 0.5 {
		t.Errorf("the download ended %.3f s after the reader resumed, want well under 0.5 s", resumeToEnd)
	}
}

// pausingReader is a kernel client with a 16 kB receive buffer that
// reads the first bytes of an HTTP response, sleeps, then reads to the
// end; it prints the body's length and the seconds from resume to end.
const pausingReader = `import socket, sys, time
addr, pause = sys.argv[1], float(sys.argv[2])
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16384)
s.connect((addr, 80))
s.sendall(b"GET /one.bin HTTP/1.0\r\nHost: " + addr.encode() + b"\r\n\r\n")
got = s.recv(4096)
time.sleep(pause)
start = time.monotonic()
while True:
    b = s.recv(1 << 16)
    if not b:
        break
    got += b
took = time.monotonic() - start
print(len(got) - got.index(b"\r\n\r\n") - 4, "%.6f" % took)
`
