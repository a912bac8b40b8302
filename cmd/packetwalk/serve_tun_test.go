package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/packetwalk/packetwalk/internal/netns"
	"github.com/packetwalk/packetwalk/internal/testenv"
)

// These tests run `packetwalk serve --tun` (this test binary as the
// command, see TestMain) inside a network namespace each test creates, and
// point the kernel's own clients at it from the same namespace: curl, ping,
// tshark. Nothing touches the machine's own interfaces.

const (
	tunAddr = "10.9.0.2"
	// tunCmdTimeout bounds each client command.
	tunCmdTimeout = 20 * time.Second
)

// tunServer is a `packetwalk serve --tun pw0` (or --tap) running in a
// namespace.
type tunServer struct {
	ns    *netns.NS
	proc  *netns.Proc
	dir   string
	jsonl string
	pcap  string
	out   string // its standard output and error
}

// startTUNServer starts the server in a fresh namespace and waits until it
// listens.
func startTUNServer(t *testing.T, args ...string) *tunServer {
	t.Helper()
	return startDeviceServer(t, []string{"--tun", "pw0"}, args...)
}

// startDeviceServer starts `serve DEVICE --addr 10.9.0.2/24 args...` in a
// fresh namespace, device being --tun NAME or --tap NAME, and waits until
// it listens.
func startDeviceServer(t *testing.T, device []string, args ...string) *tunServer {
	t.Helper()
	s := newTUNServer(t)
	s.jsonl = filepath.Join(s.dir, "steps.jsonl")
	s.pcap = filepath.Join(s.dir, "capture.pcapng")
	all := append(append([]string{"serve"}, device...), "--addr", tunAddr+"/24", "--quiet", "--json", s.jsonl, "--pcap", s.pcap)
	if !slices.Contains(args, "--user") {
		// The tests' folders are root's: the server keeps root unless
		// a test is about giving it up (privilege_tun_test.go).
		all = append(all, "--user", "root")
	}
	s.start(t, append(all, args...)...)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("serve output:\n%s", s.output())
		}
	})
	return s
}

// newTUNServer makes the fresh namespace and the folder of a server's
// files (s.out is its output).
func newTUNServer(t *testing.T) *tunServer {
	t.Helper()
	s := &tunServer{ns: netns.New(t), dir: t.TempDir()}
	s.out = filepath.Join(s.dir, "serve.out")
	return s
}

// start runs `packetwalk args...` in s's namespace, its standard output
// and error into s.out, and waits until it listens.
func (s *tunServer) start(t *testing.T, args ...string) {
	t.Helper()
	outFile, err := os.Create(s.out)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { outFile.Close() })
	cmd := s.ns.Command(context.Background(), os.Args[0], args...)
	cmd.Stdout, cmd.Stderr = outFile, outFile
	s.proc = startListening(t, s.ns, cmd, filepath.Join(s.dir, "ready"), s.output)
}

// startListening starts cmd, this test binary as `packetwalk ...` (see
// TestMain) made by ns.Command, and waits (10 s at most) until it
// listens, which it tells by creating readyFile (readyFileVar). If it
// exits first, or takes longer, the test fails with its output.
func startListening(t *testing.T, ns *netns.NS, cmd *exec.Cmd, readyFile string, output func() string) *netns.Proc {
	t.Helper()
	cmd.Env = append(os.Environ(), asCLIVar+"=1", readyFileVar+"="+readyFile)
	proc := ns.Start(cmd)
	what := "packetwalk " + strings.Join(cmd.Args[1:], " ")
	deadline := time.After(10 * time.Second)
	for {
		if _, err := os.Stat(readyFile); err == nil {
			return proc
		}
		select {
		case <-proc.Done():
			t.Fatalf("%s exited before listening: %v\n%s", what, proc.Err(), output())
		case <-deadline:
			t.Fatalf("%s did not listen within 10 s\n%s", what, output())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func (s *tunServer) output() string {
	b, _ := os.ReadFile(s.out)
	return string(b)
}

// run runs a client in the server's namespace.
func (s *tunServer) run(t *testing.T, name string, args ...string) (string, string, error) {
	t.Helper()
	return s.ns.Run(tunCmdTimeout, name, args...)
}

func TestServeTUN(t *testing.T) {
	testenv.Tool(t, "curl", "install it with: apt-get install curl")
	testenv.Tool(t, "ping", "install it with: apt-get install iputils-ping")
	tshark := testenv.Tool(t, "tshark", "install it with: apt-get install tshark")
	s := startTUNServer(t)

	t.Run("index", func(t *testing.T) {
		out, errOut, err := s.run(t, "curl", "-sS", "--max-time", "10", "-w", "\n%{http_code}", "http://"+tunAddr+"/")
		if err != nil {
			t.Fatalf("curl: %v: %s", err, errOut)
		}
		if !strings.HasSuffix(out, "\n200") || !strings.Contains(out, "<title>packetwalk demo site</title>") {
			t.Fatalf("curl http://%s/: want the demo site's index with 200, got %q", tunAddr, out)
		}
	})
	t.Run("redirect", func(t *testing.T) {
		out, errOut, err := s.run(t, "curl", "-sSI", "--max-time", "10", "http://"+tunAddr+"/docs")
		if err != nil {
			t.Fatalf("curl: %v: %s", err, errOut)
		}
		if !strings.HasPrefix(out, "HTTP/1.1 301") || !strings.Contains(out, "/docs/") {
			t.Fatalf("curl -I /docs: want a 301 to /docs/, got %q", out)
		}
	})
	t.Run("ping", func(t *testing.T) {
		out, errOut, err := s.run(t, "ping", "-c", "3", "-i", "0.2", "-W", "2", tunAddr)
		if err != nil || !strings.Contains(out, "3 received") {
			t.Fatalf("ping -c 3: %v: %s%s", err, out, errOut)
		}
	})
	t.Run("ping_fragmented", func(t *testing.T) {
		// 4000 bytes of payload in a 4028-byte datagram: three
		// fragments each way with the device's MTU of 1500.
		out, errOut, err := s.run(t, "ping", "-c", "2", "-i", "0.2", "-W", "2", "-s", "4000", tunAddr)
		if err != nil || !strings.Contains(out, "2 received") || !strings.Contains(out, "4008 bytes from") {
			t.Fatalf("ping -s 4000: %v: %s%s", err, out, errOut)
		}
	})
	t.Run("closed_port", func(t *testing.T) {
		_, errOut, err := s.run(t, "curl", "-sS", "--max-time", "10", "http://"+tunAddr+":81/")
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 7 {
			t.Fatalf("curl to a closed port: want exit 7 (could not connect), got %v: %s", err, errOut)
		}
		if strings.Contains(errOut, "timed out") {
			t.Fatalf("curl to a closed port timed out instead of being refused: %s", errOut)
		}
		// The refusal is packetwalk's RST: TCP found no socket.
		waitForFile(t, s.jsonl, `"reason":"no_socket"`)
	})
	t.Run("live_capture", func(t *testing.T) {
		// The capture is flushed after each exchange: tshark reads the
		// running file, comments (the step trails) included, and the
		// FCS the simulated PHY added checks out.
		var out string
		deadline := time.Now().Add(10 * time.Second)
		for {
			o, errOut, err := s.run(t, tshark, "-r", s.pcap, "-o", "eth.check_fcs:TRUE", "-Y", "frame.comment && http && eth.fcs.status == 1")
			out = o
			if err == nil && strings.Contains(out, "HTTP") {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("tshark on the live capture: %v: %q\n%s", err, errOut, out)
			}
			time.Sleep(200 * time.Millisecond)
		}
		if !strings.Contains(out, "GET / HTTP/1.1") {
			t.Errorf("tshark shows no GET / with a comment and a good FCS:\n%s", out)
		}
	})
	if err := s.proc.Stop(); err != nil {
		t.Errorf("serve did not stop cleanly on SIGTERM: %v\n%s", err, s.output())
	}
	if !strings.Contains(s.output(), "stopped") {
		t.Errorf("serve did not say it stopped:\n%s", s.output())
	}
}

// TestServeTUNBigFile fetches a 50 MB file through the TUN device and
// checks it by sha256.
func TestServeTUNBigFile(t *testing.T) {
	testenv.Tool(t, "curl", "install it with: apt-get install curl")
	docroot := t.TempDir()
	data := make([]byte, 50_000_000)
	for i := range data {
		data[i] = byte(i*7 + i>>11)
	}
	if err := os.WriteFile(filepath.Join(docroot, "big.bin"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	want := sha256.Sum256(data)
	s := startTUNServer(t, "--docroot", docroot)
	dl := filepath.Join(t.TempDir(), "big.dl")
	if _, errOut, err := s.ns.Run(60*time.Second, "curl", "-sS", "--max-time", "50", "-o", dl, "http://"+tunAddr+"/big.bin"); err != nil {
		t.Fatalf("curl big.bin: %v: %s", err, errOut)
	}
	got, err := os.ReadFile(dl)
	if err != nil {
		t.Fatal(err)
	}
	if sum := sha256.Sum256(got); sum != want {
		t.Fatalf("big.bin: %d bytes, sha256 %s; want %d bytes, sha256 %s", len(got), hex.EncodeToString(sum[:]), len(data), hex.EncodeToString(want[:]))
	}
}

// TestServeTUNNoConfigure checks that --no-configure leaves the device
// alone and prints the ip commands, which then make it work.
func TestServeTUNNoConfigure(t *testing.T) {
	testenv.Tool(t, "curl", "install it with: apt-get install curl")
	s := startTUNServer(t, "--no-configure", "--port", "8080")
	out := s.output()
	for _, want := range []string{"ip addr replace 10.9.0.1/24 dev pw0", "ip link set dev pw0 up"} {
		if !strings.Contains(out, want) {
			t.Fatalf("--no-configure did not print %q:\n%s", want, out)
		}
	}
	if o, _, _ := s.run(t, "ip", "-br", "addr", "show", "dev", "pw0"); strings.Contains(o, "10.9.0.1") {
		t.Fatalf("--no-configure configured the device: %s", o)
	}
	for _, c := range [][]string{{"addr", "replace", "10.9.0.1/24", "dev", "pw0"}, {"link", "set", "dev", "pw0", "up"}} {
		if _, errOut, err := s.run(t, "ip", c...); err != nil {
			t.Fatalf("ip %v: %v: %s", c, err, errOut)
		}
	}
	body, errOut, err := s.run(t, "curl", "-sS", "--max-time", "10", "http://"+tunAddr+":8080/")
	if err != nil || !strings.Contains(body, "packetwalk demo site") {
		t.Fatalf("curl on --port 8080 after configuring by hand: %v: %s%s", err, errOut, body)
	}
}

// TestServeTUNErrors checks the one-sentence failures that need a device.
func TestServeTUNErrors(t *testing.T) {
	ns := netns.New(t)
	// A device of that name that is not a TUN (a TAP), one that is not a
	// TAP (a TUN), and the address on another interface (lo).
	for _, c := range [][]string{{"tuntap", "add", "pw1", "mode", "tap"}, {"tuntap", "add", "pw3", "mode", "tun"}, {"addr", "add", "10.9.0.2/24", "dev", "lo"}} {
		if _, errOut, err := ns.Run(tunCmdTimeout, "ip", c...); err != nil {
			t.Fatalf("ip %v: %v: %s", c, err, errOut)
		}
	}
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"--tun", "pw1", "--addr", "10.8.0.2/24"}, "is not a TUN device"},
		{[]string{"--tap", "pw3", "--addr", "10.8.0.2/24"}, "is not a TAP device; choose another --tap name"},
		{[]string{"--tap", "pw2", "--addr", "10.9.0.5/24"}, "subnet 10.9.0.0/24 is already in use"},
		{[]string{"--tun", "pw2", "--addr", "10.9.0.2/24"}, "address 10.9.0.2 is already in use by the kernel on lo"},
		{[]string{"--tun", "pw2", "--addr", "10.9.0.5/24"}, "subnet 10.9.0.0/24 is already in use"},
	}
	for _, c := range cases {
		ctx, cancel := context.WithTimeout(context.Background(), tunCmdTimeout)
		cmd := ns.Command(ctx, os.Args[0], append([]string{"serve", "--quiet"}, c.args...)...)
		cmd.Env = append(os.Environ(), asCLIVar+"=1")
		out, err := cmd.CombinedOutput()
		cancel()
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 1 || len(lines) != 1 || !strings.Contains(string(out), c.want) {
			t.Errorf("serve %v: %v, output %q; want exit 1 and one line with %q", c.args, err, out, c.want)
		}
	}
}

// waitForFile waits until file contains s.
func waitForFile(t *testing.T, file, s string) {
	t.Helper()
	waitFor(t, s+" in "+filepath.Base(file), func() bool {
		b, _ := os.ReadFile(file)
		return strings.Contains(string(b), s)
	})
}
