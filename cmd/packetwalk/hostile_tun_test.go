package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/packetwalk/packetwalk/internal/testenv"
)

// Hostile traffic from real tools through TUN, in a namespace each test
// creates: a SYN flood from hping3 with random source addresses, nmap's
// SYN scan and OS detection, and malformed packets crafted with scapy.
// Each ends by checking that the stack still serves curl.

// startBareServer is startTUNServer without the step log and capture (a
// flood would write gigabytes of them): `serve --tun pw0 --addr
// 10.9.0.2/24 --quiet` and extra.
func startBareServer(t *testing.T, extra ...string) *tunServer {
	t.Helper()
	s := newTUNServer(t)
	s.start(t, append([]string{"serve", "--tun", "pw0", "--addr", tunAddr + "/24", "--quiet", "--user", "root"}, extra...)...)
	return s
}

// curlOK fetches / and fails the test unless it is the demo site's 200.
func (s *tunServer) curlOK(t *testing.T, when string) {
	t.Helper()
	out, errOut, err := s.run(t, "curl", "-sS", "--max-time", "15", "-o", "/dev/null", "-w", "%{http_code}", "http://"+tunAddr+"/")
	if err != nil || out != "200" {
		t.Fatalf("curl %s: %q, %v: %s\nserve output:\n%s", when, out, err, errOut, s.output())
	}
}

// memoryPeak returns the serve process's peak resident memory (VmHWM), in
// KiB, from /proc.
func (s *tunServer) memoryPeak(t *testing.T) int {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.proc.Cmd.Process.Pid))
	if err != nil {
		t.Fatalf("reading the server's memory: %v", err)
	}
	m := regexp.MustCompile(`VmHWM:\s+(\d+) kB`).FindSubmatch(b)
	if m == nil {
		t.Fatalf("no VmHWM in /proc/%d/status", s.proc.Cmd.Process.Pid)
	}
	n, _ := strconv.Atoi(string(m[1]))
	return n
}

// tunTxPackets is how many packets the kernel handed to the TUN device
// (its TX counter: packetwalk's receive side), and how many it dropped.
func (s *tunServer) tunTxPackets(t *testing.T) (sent, dropped int) {
	t.Helper()
	out, _, err := s.run(t, "cat", "/sys/class/net/pw0/statistics/tx_packets", "/sys/class/net/pw0/statistics/tx_dropped")
	if err != nil {
		t.Fatalf("reading pw0's counters: %v", err)
	}
	f := strings.Fields(out)
	if len(f) != 2 {
		t.Fatalf("pw0 counters: %q", out)
	}
	sent, _ = strconv.Atoi(f[0])
	dropped, _ = strconv.Atoi(f[1])
	return sent, dropped
}

// TestTUNSYNFlood: hping3 floods port 80 with SYNs from random source
// addresses until 100,000 have reached the device (at most 60 s), while
// curl fetches the index page; afterwards the server still serves, and
// its peak memory is reported.
func TestTUNSYNFlood(t *testing.T) {
	testenv.Tool(t, "hping3", "install it with: apt-get install hping3")
	testenv.Tool(t, "curl", "install it with: apt-get install curl")
	s := startBareServer(t)
	s.curlOK(t, "before the flood")
	before, _ := s.tunTxPackets(t)
	memBefore := s.memoryPeak(t)

	const want = 100_000
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	// -c bounds the count even in flood mode; the context bounds the time.
	flood := s.ns.Start(s.ns.Command(ctx, "hping3", "-S", "-p", "80", "--flood", "--rand-source", "-c", strconv.Itoa(2*want), tunAddr))
	start := time.Now()
	served := 0
	for {
		s.curlOK(t, "during the flood")
		served++
		n, _ := s.tunTxPackets(t)
		if n-before >= want {
			break
		}
		select {
		case <-flood.Done():
			n, d := s.tunTxPackets(t)
			t.Fatalf("hping3 ended after %d packets reached the device (%d dropped by the kernel's queue): %v", n-before, d, flood.Err())
		case <-ctx.Done():
			t.Fatalf("only %d SYNs reached the device in 60 s", n-before)
		default:
		}
	}
	flood.Stop()
	took := time.Since(start)
	n, dropped := s.tunTxPackets(t)
	s.curlOK(t, "after the flood")
	memAfter := s.memoryPeak(t)
	t.Logf("%d SYNs reached packetwalk through pw0 in %v (%d more dropped by the kernel's TUN queue); %d curl fetches served during the flood; server peak RSS %d MiB before, %d MiB after",
		n-before, took.Round(time.Millisecond), dropped, served, memBefore>>10, memAfter>>10)
	if memAfter > 1<<20 { // KiB: 1 GiB
		t.Errorf("the server's peak memory reached %d MiB under the flood", memAfter>>10)
	}
}

// TestTUNNmap: nmap's SYN scan and OS detection against the stack find
// port 80 open and 22 closed, and the stack still serves afterwards.
func TestTUNNmap(t *testing.T) {
	testenv.Tool(t, "nmap", "install it with: apt-get install nmap")
	testenv.Tool(t, "curl", "install it with: apt-get install curl")
	s := startBareServer(t)
	out, errOut, err := s.ns.Run(90*time.Second, "nmap", "-n", "-Pn", "-sS", "-O", "--max-os-tries", "1", "-p", "22,80", tunAddr)
	if err != nil {
		t.Fatalf("nmap: %v: %s%s", err, out, errOut)
	}
	t.Logf("nmap:\n%s", out)
	if !regexp.MustCompile(`(?m)^80/tcp\s+open`).MatchString(out) {
		t.Errorf("nmap did not find port 80 open")
	}
	if !regexp.MustCompile(`(?m)^22/tcp\s+closed`).MatchString(out) {
		t.Errorf("nmap did not find port 22 closed (RST)")
	}
	s.curlOK(t, "after nmap")
}

// scapyAttacks sends malformed and hostile packets to the stack; each
// line of its output names one it sent.
const scapyAttacks = `
import sys
from scapy.all import IP, TCP, UDP, ICMP, Raw, send, conf
conf.verb = 0
dst = sys.argv[1]
def out(name, pkts):
    send(pkts)
    print(name, flush=True)
# overlapping fragments: the second rewrites bytes 8..15 of the first
out("frag-overlap", [IP(dst=dst, id=101, flags="MF", frag=0, proto=17)/Raw(b"A"*24),
                     IP(dst=dst, id=101, frag=1, proto=17)/Raw(b"B"*24)])
# teardrop: the second fragment lies inside the first
out("frag-teardrop", [IP(dst=dst, id=102, flags="MF", frag=0, proto=17)/Raw(b"C"*48),
                      IP(dst=dst, id=102, frag=2, proto=17)/Raw(b"D"*8)])
# a datagram that would end past 65,535 bytes (ping of death)
out("frag-too-large", [IP(dst=dst, id=103, flags="MF", frag=0, proto=1)/Raw(b"E"*1000),
                       IP(dst=dst, id=103, frag=8189, proto=1)/Raw(b"F"*1000)])
# 200 incomplete datagrams
out("frag-flood", [IP(dst=dst, id=1000+i, flags="MF", frag=0, proto=17)/Raw(b"G"*1000) for i in range(200)])
# TCP data offset 15 in a 20-byte header, and below 5
out("tcp-offset-15", IP(dst=dst)/TCP(dport=80, flags="S", dataofs=15))
out("tcp-offset-4", IP(dst=dst)/TCP(dport=80, flags="S", dataofs=4))
# an MSS option whose length runs past the header
out("tcp-option-past-header", IP(dst=dst)/TCP(dport=80, flags="S", dataofs=6)/Raw(b"\x02\x28\x05\xb4"))
# a zero-length option
out("tcp-option-zero-length", IP(dst=dst)/TCP(dport=80, flags="S", dataofs=6)/Raw(b"\x08\x00\x01\x01"))
# an IP header length below 5 words
out("ip-ihl-4", IP(dst=dst, ihl=4)/Raw(b"x"*20))
`

// TestTUNScapy: malformed headers and fragment attacks crafted by scapy
// are dropped with their named reasons, and the stack still serves.
func TestTUNScapy(t *testing.T) {
	py := scapyPython(t)
	testenv.Tool(t, "curl", "install it with: apt-get install curl")
	if out, err := pythonRun(t, py, "import scapy.all"); err != nil {
		testenv.Unavailable(t, "python3 cannot import scapy ("+strings.TrimSpace(out)+"); install it with: apt-get install python3-scapy")
	}
	s := startTUNServer(t)
	script := filepath.Join(t.TempDir(), "attacks.py")
	if err := os.WriteFile(script, []byte(scapyAttacks), 0o644); err != nil {
		t.Fatal(err)
	}
	out, errOut, err := s.ns.Run(60*time.Second, py, script, tunAddr)
	if err != nil {
		t.Fatalf("scapy: %v: %s%s", err, out, errOut)
	}
	if strings.Count(out, "\n") != 9 {
		t.Fatalf("scapy sent %q, want 9 attacks", out)
	}
	s.curlOK(t, "after the attacks")
	time.Sleep(200 * time.Millisecond) // the step log is streamed; let it reach the file
	log, err := os.ReadFile(s.jsonl)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range []string{"frag_overlap", "frag_too_large", "tcp_malformed", "tcp_options_malformed", "ip_malformed"} {
		if !strings.Contains(string(log), `"reason":"`+r+`"`) {
			t.Errorf("no drop with reason %s in the step log", r)
		}
	}
}

// scapyPython is the Python that has Debian's python3-scapy: the system's
// /usr/bin/python3 (a python3 earlier on PATH, from pyenv or /usr/local,
// usually lacks it).
func scapyPython(t *testing.T) string {
	t.Helper()
	if _, err := os.Stat("/usr/bin/python3"); err == nil {
		return "/usr/bin/python3"
	}
	return testenv.Tool(t, "python3", "install it with: apt-get install python3-scapy")
}

// pythonRun runs py -c code on the host.
func pythonRun(t *testing.T, py, code string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, py, "-c", code).CombinedOutput()
	return string(out), err
}

// TestTUNExpvarStackCounters: serve --expvar on a TUN device shows the
// stack's counters (stack), and what it says the device read agrees with
// the kernel's own count of what it handed to the device (pw0's
// tx_packets), which bench/soak/run reports per SYN flood.
func TestTUNExpvarStackCounters(t *testing.T) {
	testenv.Tool(t, "curl", "install it with: apt-get install curl")
	s := newTUNServer(t)
	if _, errOut, err := s.run(t, "ip", "link", "set", "lo", "up"); err != nil {
		t.Fatalf("ip link set lo up: %v: %s", err, errOut)
	}
	s.start(t, "serve", "--tun", "pw0", "--addr", tunAddr+"/24", "--quiet", "--user", "root", "--expvar", "127.0.0.1:6060")
	s.curlOK(t, "once")
	s.curlOK(t, "twice")
	out, errOut, err := s.run(t, "curl", "-sS", "--max-time", "10", "http://127.0.0.1:6060/debug/vars")
	if err != nil {
		t.Fatalf("curl /debug/vars: %v: %s", err, errOut)
	}
	read, _ := s.tunTxPackets(t)
	var vars struct {
		Stack map[string]uint64 `json:"stack"`
	}
	if err := json.Unmarshal([]byte(out), &vars); err != nil {
		t.Fatalf("/debug/vars: %v", err)
	}
	st := vars.Stack
	if st == nil {
		t.Fatalf("/debug/vars has no stack counters: %.300s", out)
	}
	// Nothing reaches the device between the two reads but what the
	// kernel may send on its own (an IPv6 router solicitation is not
	// carried, but counted): allow a few.
	if st["device_read"] == 0 || st["device_read"] > uint64(read) || uint64(read)-st["device_read"] > 5 {
		t.Errorf("stack.device_read %d, pw0 tx_packets %d: want them (nearly) equal", st["device_read"], read)
	}
	if st["tcp_passive_opens"] < 2 || st["tcp_in_segs"] == 0 || st["device_written"] == 0 {
		t.Errorf("stack counters %v: want at least 2 passive opens, segments in and packets written", st)
	}
	// The listener at least is among the endpoints the stack holds.
	if st["tcp_endpoints"] < 1 || st["tcp_time_wait"] > st["tcp_endpoints"] {
		t.Errorf("stack counters %v: want tcp_endpoints (the listener at least) and tcp_time_wait among them", st)
	}
	if _, ok := st["tcp_syn_cookies_sent"]; !ok {
		t.Errorf("stack counters %v: no tcp_syn_cookies_sent", st)
	}
}
