package drill

import (
	"bytes"
	"errors"
	"testing"
	"time"
)

// fuzzSeeds are small scripts that between them use every construct of
// the language, so that the fuzzer starts from inputs that go deep.
var fuzzSeeds = []string{
	"--tolerance_usecs=10000\n--ip_version=ipv4\n`defaults.sh`\n" +
		"0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n" +
		"+0 setsockopt(3, SOL_SOCKET, SO_REUSEADDR, [1], 4) = 0\n" +
		"+0 bind(3, ..., ...) = 0\n+0 listen(3, 1) = 0\n",
	"0 < S 0:0(0) win 32792 <mss 1000,sackOK,nop,nop,nop,wscale 7>\n" +
		"+0 > S. 0:0(0) ack 1 <mss 1460,nop,nop,sackOK,nop,wscale 8>\n" +
		"+.1 < . 1:1(0) ack 1 win 257\n+0 accept(3, ..., ...) = 4\n",
	"0 > [ect0] P. 1:1001(1000) ack 1 <nop,nop,TS val 100 ecr 0,sack 1:2 3:4>\n" +
		"+.004~+.008 > F. 1001:1001(0) ack 1 <...>\n* > R 0:0(0)\n",
	"0 fcntl(3, F_GETFL) = 0x02 (flags O_RDWR)\n" +
		"+0 connect(3, ..., ...) = -1 EINPROGRESS (Operation now in progress)\n" +
		"+0...0.100 poll([{fd=4, events=POLLIN|POLLOUT, revents=POLLIN}], 1, 0) = 1\n",
	"0 connect(3, {sa_family=AF_INET, sin_port=htons(8080), sin_addr=inet_addr(\"192.0.2.1\")}, 16) = 0\n" +
		"+0 recvmsg(4, {msg_name(...)=..., msg_iov(1)=[{..., 4}], msg_flags=0}, 0) = 4\n" +
		"+0 setsockopt(3, SOL_SOCKET, SO_LINGER, {l_onoff=1, l_linger=0}, 8) = 0\n",
	"/* block\ncomment */ 0 %{\nassert tcpi_state == 1\n}%\n+0 `sysctl -w a=1\necho b`\n`cleanup`\n",
	"0 < (tos 0x28) F. 1:1(0)! ack 1 win 100/udp(1 > 9811)\n#ifdef FreeBSD\n+0 > S. ...(0) ack 1\n#endif\n" +
		"+0 < icmp unreachable frag_needed mtu 1234 [0:0(0)]\n+0 < udp (100)\n",
}

// FuzzParse checks that Parse never panics or hangs, and that every
// error it returns is a *SyntaxError that points into the file.
func FuzzParse(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		start := time.Now()
		script, err := Parse("f.pkt", src)
		// Parsing is linear in the input; fuzz inputs are small, so a
		// second means something loops.
		if d := time.Since(start); d > time.Second {
			t.Fatalf("Parse took %v on %d bytes", d, len(src))
		}
		if err != nil {
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("error %v (%T) is not a *SyntaxError", err, err)
			}
			lines := bytes.Count(src, []byte("\n")) + 1
			if se.File != "f.pkt" || se.Line < 1 || se.Line > lines || se.Msg == "" {
				t.Fatalf("bad error %q (line %d of %d)", err, se.Line, lines)
			}
			return
		}
		if len(script.Events) == 0 {
			t.Fatalf("no error but no events")
		}
		for _, ev := range script.Events {
			n := 0
			for _, set := range []bool{ev.Packet != nil, ev.Syscall != nil, ev.Command != nil, ev.Code != nil} {
				if set {
					n++
				}
			}
			if n != 1 || ev.Line < 1 {
				t.Fatalf("event at line %d has %d actions", ev.Line, n)
			}
		}
	})
}
