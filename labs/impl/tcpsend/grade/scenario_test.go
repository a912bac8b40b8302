package grade

import (
	"bytes"
	"strings"
	"testing"

	"github.com/packetwalk/packetwalk/tcp"
)

// TestWireExercisesTheSender: the lossy transfer reaches the three
// decisions the unit tests grade (segments cut by the window and cwnd, RTT
// samples, a retransmission timeout with backoff, fast retransmit on a
// third duplicate ACK), so that comparing with the stack's own sender
// checks them on the wire too.
func TestWireExercisesTheSender(t *testing.T) {
	payload := wirePayload()
	run := runWire(tcp.NewSender, payload)
	if run.err != nil || !bytes.Equal(run.got, payload) {
		t.Fatalf("the transfer with the stack's own sender: %d bytes, error %v", len(run.got), run.err)
	}
	count := map[string]int{}
	for _, e := range run.log {
		if e.Host != "client" {
			continue
		}
		count[e.Step]++
		if e.Step == "cwnd" && strings.Contains(e.Message(), "fast retransmit") {
			count["fast retransmit"]++
		}
		if e.Step == "timer" && strings.Contains(e.Message(), "retransmission timeout") {
			count["timeout"]++
		}
	}
	t.Logf("%d segments from the client; steps: %v", len(run.segs), count)
	for _, k := range []string{"retransmit", "rtt", "dupack", "fast retransmit", "timeout"} {
		if count[k] == 0 {
			t.Errorf("the lossy transfer has no %q step on the sending host", k)
		}
	}
}
