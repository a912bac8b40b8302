package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket/pcapgo"
	"github.com/packetwalk/packetwalk/internal/testenv"
	"github.com/packetwalk/packetwalk/viz"
)

// The stack's NIC on a device: stack.MAC(2), the simulated server's.
const tapStackMAC = "02:00:00:00:00:02"

// TestServeTAP runs `packetwalk serve --tap` in a namespace: the kernel on
// the other end of a TAP device speaks Ethernet, so it must find the
// stack's MAC address with ARP before curl's SYN can leave, and the stack
// must find the kernel's.
func TestServeTAP(t *testing.T) {
	testenv.Tool(t, "curl", "install it with: apt-get install curl")
	testenv.Tool(t, "ping", "install it with: apt-get install iputils-ping")
	before := time.Now()
	s := startDeviceServer(t, []string{"--tap", "pwtap0"})

	// The kernel side's own MAC, which the stack must learn.
	link, _, err := s.run(t, "ip", "-br", "link", "show", "dev", "pwtap0")
	if err != nil {
		t.Fatalf("ip link show pwtap0: %v", err)
	}
	kernelMAC := regexp.MustCompile(`([0-9a-f]{2}:){5}[0-9a-f]{2}`).FindString(link)
	if kernelMAC == "" || kernelMAC == tapStackMAC {
		t.Fatalf("ip link show pwtap0: no MAC of the kernel's own in %q", link)
	}

	t.Run("curl", func(t *testing.T) {
		out, errOut, err := s.run(t, "curl", "-sS", "--max-time", "10", "-w", "\n%{http_code}", "http://"+tunAddr+"/")
		if err != nil {
			t.Fatalf("curl: %v: %s", err, errOut)
		}
		if !strings.HasSuffix(out, "\n200") || !strings.Contains(out, "<title>packetwalk demo site</title>") {
			t.Fatalf("curl http://%s/ over TAP: want the demo site's index with 200, got %q", tunAddr, out)
		}
	})
	t.Run("arp", func(t *testing.T) {
		// The kernel's neighbour table holds the stack's MAC, learned
		// from the stack's ARP reply (REACHABLE, or STALE once unused
		// for a while; DELAY or PROBE while the kernel re-checks it).
		neigh, _, err := s.run(t, "ip", "neigh", "show", tunAddr, "dev", "pwtap0")
		if err != nil || !regexp.MustCompile(`lladdr `+tapStackMAC+` (REACHABLE|STALE|DELAY|PROBE)`).MatchString(neigh) {
			t.Fatalf("ip neigh show %s: %v: %q; want lladdr %s and a usable state", tunAddr, err, neigh, tapStackMAC)
		}
		// The step log has the kernel's request delivered to the
		// stack's ARP, the reply sent for it, and the kernel's MAC
		// learned.
		var requestFrame uint64
		var replied, learned bool
		waitFor(t, "the ARP exchange in the step log", func() bool {
			for _, e := range readSteps(t, s.jsonl) {
				switch {
				case e.Layer == viz.LayerARP && e.Step == "request" && e.Verdict == viz.Deliver && strings.Contains(e.Msg, tunAddr):
					requestFrame = e.Frame
				case e.Layer == viz.LayerARP && e.Step == "reply" && e.Verdict == viz.Send && requestFrame != 0 &&
					field(e, "request_frame") == strconv.FormatUint(requestFrame, 10) && strings.Contains(e.Msg, tapStackMAC):
					replied = true
				case e.Layer == viz.LayerARP && e.Step == "learn" && field(e, "mac") == kernelMAC && field(e, "ip") == "10.9.0.1":
					learned = true
				}
			}
			return requestFrame != 0 && replied && learned
		})
		// The frames are the kernel's own: the TAP's phy step shows
		// its MAC as the source of what it read.
		if !bytes.Contains(mustRead(t, s.jsonl), []byte(`"kind":"TAP","len"`)) {
			t.Errorf("the step log has no phy step of a frame read from the TAP device")
		}
	})
	t.Run("ping", func(t *testing.T) {
		out, errOut, err := s.run(t, "ping", "-c", "3", "-i", "0.2", "-W", "2", tunAddr)
		if err != nil || !strings.Contains(out, "3 received") {
			t.Fatalf("ping -c 3 over TAP: %v: %s%s", err, out, errOut)
		}
	})
	t.Run("busy", func(t *testing.T) {
		// A second server on the same device: one sentence, exit 1.
		ctx, cancel := context.WithTimeout(context.Background(), tunCmdTimeout)
		defer cancel()
		cmd := s.ns.Command(ctx, os.Args[0], "serve", "--quiet", "--tap", "pwtap0", "--addr", "10.7.0.2/24", "--user", "root")
		cmd.Env = append(os.Environ(), asCLIVar+"=1")
		out, err := cmd.CombinedOutput()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 1 || strings.Count(strings.TrimSpace(string(out)), "\n") != 0 ||
			!strings.Contains(string(out), "cannot open TAP device pwtap0: it is busy") {
			t.Errorf("a second serve --tap pwtap0: %v, output %q; want exit 1 and one sentence saying the device is busy", err, out)
		}
	})
	if err := s.proc.Stop(); err != nil {
		t.Errorf("serve --tap did not stop cleanly on SIGTERM: %v\n%s", err, s.output())
	}
	if out := s.output(); !strings.Contains(out, "kernel side 10.9.0.1/24 at "+kernelMAC) {
		t.Errorf("serve --tap did not announce both MACs:\n%s", out)
	}

	// Real time on TAP as on TUN (issue 16; TestTUNRealTime loads it):
	// the capture is dated in this run, each frame with a time of its
	// own, and TCP's RTT samples are round trips through the kernel, not
	// the 0 s of a clock that stood still.
	after := time.Now()
	lg := scanRealTime(t, s.jsonl)
	for _, r := range lg.rtts {
		if r < 10*time.Microsecond {
			t.Errorf("an RTT sample of %v over TAP: not a round trip through the kernel", r)
		}
	}
	if len(lg.rtts) == 0 || lg.frames == 0 || float64(lg.stamps) < 0.9*float64(lg.frames) {
		t.Errorf("step log over TAP: %d RTT samples, %d frames with %d distinct times", len(lg.rtts), lg.frames, lg.stamps)
	}
	f, err := os.Open(s.pcap)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := pcapgo.NewNgReader(f, pcapgo.DefaultNgReaderOptions)
	if err != nil {
		t.Fatal(err)
	}
	packets := 0
	for {
		_, ci, err := r.ZeroCopyReadPacketData()
		if err != nil {
			break
		}
		packets++
		if ci.Timestamp.Before(before) || ci.Timestamp.After(after) {
			t.Fatalf("packet %d of the TAP capture is dated %v, outside this run (%v to %v)", packets, ci.Timestamp, before, after)
		}
	}
	if packets == 0 {
		t.Errorf("the TAP capture has no packet")
	}
}

// readSteps reads the step log streamed so far (a last line still being
// written is left out).
func readSteps(t *testing.T, file string) []viz.Event {
	t.Helper()
	var events []viz.Event
	sc := bufio.NewScanner(bytes.NewReader(mustRead(t, file)))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var e viz.Event
		if err := e.UnmarshalJSON(sc.Bytes()); err != nil {
			continue // the line being written
		}
		events = append(events, e)
	}
	return events
}

func mustRead(t *testing.T, file string) []byte {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return b
}
