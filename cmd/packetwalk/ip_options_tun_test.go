package main

import (
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/packetwalk/packetwalk/internal/testenv"
	"github.com/packetwalk/packetwalk/viz"
)

// IP options against the Linux kernel through TUN: `ping -R` from the
// kernel shows packetwalk's address in the recorded route (RFC 1122
// §3.2.2.6), and each malformed option scapy crafts is answered with ICMP
// Parameter Problem (RFC 1122 §3.2.2.5) whose pointer is the one the
// kernel itself gives for the same packet, sent to its own address.

// ipOptionsProbe sends echo requests with the options given in argv[3]
// (JSON: [[name, hex], ...]) from a raw socket, to packetwalk (argv[1])
// and to the kernel's own address (argv[2]), and prints for each what
// came back from each: the Parameter Problem's pointer, "reply" (an echo
// reply, then its options in hex), or "none". scapy builds the ICMP
// message and reads the answers.
const ipOptionsProbe = `
import json, socket, struct, sys, time
from scapy.all import IP, ICMP, ICMPerror, raw, conf
conf.verb = 0
pw, kernel, cases = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
tx = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
rx = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
rx.settimeout(0.1)
ID = 0x5057
def ask(dst, seq, opts):
    base = raw(IP(src=kernel, dst=dst, id=seq)/ICMP(id=ID, seq=seq)/b"ip options")
    opts = opts + b"\0" * (-len(opts) % 4)
    b = bytearray(base[:20] + opts + base[20:])
    b[0] = 0x40 | (5 + len(opts) // 4)
    struct.pack_into("!H", b, 2, len(b))
    tx.sendto(bytes(b), (dst, 0))  # the kernel fills in the checksum
    end = time.time() + 1.5
    while time.time() < end:
        try:
            data = rx.recv(65535)
        except socket.timeout:
            continue
        p = IP(data)
        if p.src != dst or not p.haslayer(ICMP):
            continue
        m = p[ICMP]
        if m.type == 12 and p.haslayer(ICMPerror) and p[ICMPerror].id == ID and p[ICMPerror].seq == seq:
            return str(m.ptr)
        if m.type == 0 and m.id == ID and m.seq == seq:
            return "reply:" + raw(p)[20:p.ihl * 4].hex()
    return "none"
for i, (name, opts) in enumerate(cases):
    o = bytes.fromhex(opts)
    print(name, ask(pw, 100 + i, o), ask(kernel, 200 + i, o), flush=True)
`

// ipOptionsTUNCases are the malformed options of ip's
// TestOptionsParameterProblem and the pointer both stacks must give, and
// well-formed ones both must answer.
var ipOptionsTUNCases = []struct {
	name, opts string
	want       string // the pointer, or "reply"
}{
	{"rr-length-1", "07010000", "20"},
	{"rr-length-past-header", "070b040000000000", "20"},
	{"no-room-for-length", "01010107", "23"},
	{"rr-length-2", "07020000", "21"},
	{"rr-pointer-3", "0707030000000000", "22"},
	{"rr-pointer-without-room", "070908000000000000000000", "22"},
	{"rr-twice", "07070400000000070704000000000000", "27"},
	{"ts-length-3", "44030500", "21"},
	{"ts-pointer-4", "4408040000000000", "22"},
	{"ts-flag-1-no-room", "4408050100000000", "22"},
	{"ts-full-overflow-15", "440809f000000001", "23"},
	{"lsrr-pointer-2", "830702" + "0a000001" + "00", "22"},
	{"router-alert-length-2", "94020101", "21"},
	{"unknown-option", "63040102", "reply"},
	{"record-route", "01" + "0727" + "04" + strings.Repeat("00", 36), "reply"},
}

// TestTUNIPOptions: ping -R through TUN, and malformed options crafted
// by scapy, against packetwalk with the kernel as the judge.
func TestTUNIPOptions(t *testing.T) {
	testenv.Tool(t, "ping", "install it with: apt-get install iputils-ping")
	py := scapyPython(t)
	if out, err := pythonRun(t, py, "import scapy.all"); err != nil {
		testenv.Unavailable(t, "python3 cannot import scapy ("+strings.TrimSpace(out)+"); install it with: apt-get install python3-scapy")
	}
	s := startTUNServer(t)
	const kernelAddr = "10.9.0.1"

	t.Run("ping_R", func(t *testing.T) {
		out, errOut, err := s.run(t, "ping", "-n", "-R", "-c", "1", "-W", "3", tunAddr)
		if err != nil || !strings.Contains(out, "1 received") {
			t.Fatalf("ping -R -c 1: %v: %s%s", err, out, errOut)
		}
		// The kernel recorded itself leaving, packetwalk on arrival and
		// as the reply left, the kernel on the reply's arrival: what
		// ping -R to a Linux host shows.
		m := regexp.MustCompile(`(?s)RR:\s+(.*?)(\n\s*\n|$)`).FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("ping -R printed no recorded route:\n%s", out)
		}
		route := strings.Fields(m[1])
		want := []string{kernelAddr, tunAddr, tunAddr, kernelAddr}
		if strings.Join(route, " ") != strings.Join(want, " ") {
			t.Errorf("ping -R recorded route %q, want %q\n%s", route, want, out)
		}
		t.Logf("ping -R:\n%s", out)
	})

	t.Run("parameter_problem", func(t *testing.T) {
		// The kernel answers the packets sent to its own address over
		// the loopback device.
		if out, errOut, err := s.run(t, "ip", "link", "set", "lo", "up"); err != nil {
			t.Fatalf("ip link set lo up: %v: %s%s", err, out, errOut)
		}
		var cases [][2]string
		for _, c := range ipOptionsTUNCases {
			if _, err := hex.DecodeString(c.opts); err != nil {
				t.Fatalf("case %s: %v", c.name, err)
			}
			cases = append(cases, [2]string{c.name, c.opts})
		}
		arg, _ := json.Marshal(cases)
		script := filepath.Join(t.TempDir(), "ipopts.py")
		if err := os.WriteFile(script, []byte(ipOptionsProbe), 0o644); err != nil {
			t.Fatal(err)
		}
		out, errOut, err := s.ns.Run(90*time.Second, py, script, tunAddr, kernelAddr, string(arg))
		if err != nil {
			t.Fatalf("the probe: %v: %s%s", err, out, errOut)
		}
		got := map[string][2]string{}
		for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
			if f := strings.Fields(line); len(f) == 3 {
				got[f[0]] = [2]string{f[1], f[2]}
			}
		}
		for _, c := range ipOptionsTUNCases {
			g, ok := got[c.name]
			if !ok {
				t.Errorf("%s: the probe printed nothing", c.name)
				continue
			}
			pw, linux := g[0], g[1]
			if c.want == "reply" {
				// Both answer; the recorded route differs by address
				// but not by shape.
				if !strings.HasPrefix(pw, "reply") || !strings.HasPrefix(linux, "reply") {
					t.Errorf("%s: packetwalk %s, Linux %s; want echo replies from both", c.name, pw, linux)
				}
				// The raw socket's request records no one on the
				// way out; each stack records itself twice, on
				// arrival and departure, then the kernel once as the
				// reply arrives: the same option but for the first
				// two addresses.
				k, me := hex.EncodeToString([]byte{10, 9, 0, 1}), hex.EncodeToString([]byte{10, 9, 0, 2})
				if want := strings.Replace(linux, k+k, me+me, 1); pw != want {
					t.Errorf("%s: packetwalk's reply options %s, want %s (Linux's %s)", c.name, pw, want, linux)
				}
				continue
			}
			if linux != c.want {
				t.Errorf("%s: Linux's pointer %s, the table says %s", c.name, linux, c.want)
			}
			if pw != linux {
				t.Errorf("%s: packetwalk answered %s, Linux %s", c.name, pw, linux)
			}
		}
		t.Logf("case, packetwalk, Linux:\n%s", out)
		bad := 0
		for _, c := range ipOptionsTUNCases {
			if c.want != "reply" {
				bad++
			}
		}
		waitFor(t, "the ip_options drops and param_problem steps in the step log", func() bool {
			drops, pps := 0, 0
			for _, e := range readSteps(t, s.jsonl) {
				switch {
				case e.Layer == viz.LayerIP && e.Step == "ip_options" && e.Reason == viz.ReasonIPOptionsMalformed:
					drops++
				case e.Layer == viz.LayerICMP && e.Step == "param_problem" && e.Verdict == viz.Send:
					pps++
				}
			}
			return drops == bad && pps == bad
		})
	})
}
