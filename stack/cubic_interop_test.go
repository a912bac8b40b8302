package stack_test

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/packetwalk/packetwalk/tcp"
	"github.com/packetwalk/packetwalk/viz"
)

// cwndReasons counts the reasons of packetwalk's cwnd steps.
type cwndReasons struct {
	mu                        sync.Mutex
	cubicLoss, cubicAvoidance int
	renoAvoidance             int
}

func (c *cwndReasons) Event(e *viz.Event) {
	if e.Layer != viz.LayerTCP || e.Step != "cwnd" {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case strings.Contains(e.Message(), "CUBIC loss"):
		c.cubicLoss++
	case strings.Contains(e.Message(), "CUBIC congestion avoidance"):
		c.cubicAvoidance++
	case strings.HasSuffix(e.Message(), "(congestion avoidance)"):
		c.renoAvoidance++
	}
}

// TestInteropCUBICSender: packetwalk's CUBIC (tcp.Config.Congestion, RFC
// 9438) sends 1 MB to gVisor's netstack over the impaired link (5% loss,
// duplication, reordering and corruption each way); every byte arrives
// (sha256), and the sender reduced on losses by CUBIC's beta and grew
// along its curve, never by NewReno's rule.
func TestInteropCUBICSender(t *testing.T) {
	x := newInteropTCP(t, 38, links[1].imp, tcp.Config{Congestion: tcp.CongestionCUBIC})
	steps := &cwndReasons{}
	x.net.Log.AddSink(steps)
	start := time.Now()
	x.packetwalkSends(t, randomBytes(38, interopImpairedSendBytes), 120*time.Second)
	steps.mu.Lock()
	defer steps.mu.Unlock()
	if steps.cubicLoss == 0 || steps.cubicAvoidance == 0 || steps.renoAvoidance != 0 {
		t.Errorf("cwnd steps: %d CUBIC reductions, %d CUBIC congestion avoidance, %d NewReno congestion avoidance; want CUBIC's only",
			steps.cubicLoss, steps.cubicAvoidance, steps.renoAvoidance)
	}
	t.Logf("1 MB packetwalk CUBIC -> gVisor, impaired link, in %v wall: %d CUBIC reductions, %d congestion avoidance steps",
		time.Since(start).Round(time.Millisecond), steps.cubicLoss, steps.cubicAvoidance)
}
