package drill

import (
	"strings"
	"testing"
)

// A line that stands for a TSO/GSO jumbogram ("FP. 1001:3001(2000)" where
// packetwalk sends two 1000-byte segments) matches when FIN and PSH are on
// the last segment only, as Linux's GSO splits one; a line whose flags
// leave FIN out is a mismatch that names the segment and its flags.
func TestJumbogramFlagsOnLastSegment(t *testing.T) {
	// The peer's window holds the last 2000 bytes back until after the
	// application has shut down its sending side: the FIN rides on the
	// last of them.
	const head = `0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0 setsockopt(3, SOL_SOCKET, SO_REUSEADDR, [1], 4) = 0
+0 bind(3, ..., ...) = 0
+0 listen(3, 1) = 0
+0 < S 0:0(0) win 1000 <mss 1000,nop,nop,sackOK>
+0 > S. 0:0(0) ack 1 <...>
+.1 < . 1:1(0) ack 1 win 1000
+0 accept(3, ..., ...) = 4
+0 write(4, ..., 3000) = 3000
+0 > . 1:1001(1000) ack 1
+0 shutdown(4, SHUT_WR) = 0
+.1 < . 1:1(0) ack 1001 win 3000
`
	for _, tc := range []struct {
		line, want string
	}{
		{"+0 > FP. 1001:3001(2000) ack 1\n", ""},
		{"+0 > P. 1001:3001(2000) ack 1\n", "expected flags P. on the segment at 1000 of the 2000 bytes, got FP."},
	} {
		s, err := Load("jumbo.pkt", []byte(head+tc.line))
		if err != nil {
			t.Fatal(err)
		}
		res, err := Run(s, Config{})
		if err != nil {
			t.Fatal(err)
		}
		if tc.want == "" {
			if res.Status != Passed {
				t.Errorf("%q: %v %v, want passed", tc.line, res.Status, res.Failure)
			}
			continue
		}
		if res.Status != Failed || !strings.Contains(res.Failure.Error(), tc.want) {
			t.Errorf("%q: %v %v, want a failure saying %q", tc.line, res.Status, res.Failure, tc.want)
		}
	}
}
