package stack_test

import (
	"crypto/sha256"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/packetwalk/packetwalk/wire"
)

// A peer on goroutines of its own (gVisor's) that computes for a while
// between connecting and its first write, in either direction, while the
// paced loop runs: every transfer must complete. This was reported as a
// lost wake-up of the paced loop (2 of 12 gVisor -> packetwalk transfers
// stalled until their timeout when the client hashed its payload first);
// it was a flight of gVisor's larger than packetwalk's RX ring, landing at
// one instant on a wire without a bandwidth limit, and gVisor's slow
// recovery from the tail drop (see interopRingSize); with a 1 MB payload
// it happens without the pause too. With the default ring this test
// stalled in about half of the runs of -count=6 to -count=10; a stall now
// fails within stallLimit, with every goroutine's stack and the last steps
// logged.
func TestPacedPeerPausesBeforeWriting(t *testing.T) {
	pauses := []time.Duration{0, time.Millisecond, 3 * time.Millisecond, 7 * time.Millisecond}
	const size = 1 << 20 // enough for slow start to reach flights of hundreds of frames
	for round := range 3 {
		for i, pause := range pauses {
			for _, gvisorSends := range []bool{true, false} {
				name := fmt.Sprintf("packetwalk sends, pause %v, round %d", pause, round)
				if gvisorSends {
					name = fmt.Sprintf("gVisor sends, pause %v, round %d", pause, round)
				}
				x := newInterop(t, int64(100+i), wire.Impairments{})
				data := randomBytes(uint64(i), size)
				x.pausedSend(t, name, gvisorSends, data, pause)
			}
		}
	}
}

// stallLimit bounds one transfer of the test above (a passing one takes
// some 20 ms).
const stallLimit = 10 * time.Second

// pausedSend runs one checked transfer of data (gVisor client to
// packetwalk server, or the reverse) whose client computes for pause after
// connecting, with a watchdog that logs what every goroutine and the last
// steps were doing if the transfer does not finish.
func (x *interop) pausedSend(t *testing.T, name string, gvisorSends bool, data []byte, pause time.Duration) {
	t.Helper()
	dog := time.AfterFunc(stallLimit-time.Second, func() {
		buf := make([]byte, 1<<20)
		t.Logf("%s: stalled; goroutines:\n%s", name, buf[:runtime.Stack(buf, true)])
		evs := x.events.Events()
		for _, e := range evs[max(0, len(evs)-40):] {
			t.Logf("%v %s %s %s %v %s %s", e.T, e.Host, e.Layer, e.Step, e.Verdict, e.Reason, e.Msg)
		}
		t.Logf("gVisor's TCP counters: %+v", x.gv.Stack().Stats().TCP)
	})
	defer dog.Stop()
	beforeWrite := func() { compute(data, pause) }
	if gvisorSends {
		x.gvisorSends(t, data, stallLimit, beforeWrite)
	} else {
		x.packetwalkSends(t, data, stallLimit, beforeWrite)
	}
}

// compute keeps the calling goroutine hashing data for about d, as a
// client preparing its request does: it stays runnable and takes a CPU,
// unlike time.Sleep, so the loop and gVisor's goroutines share fewer CPUs
// meanwhile (the setting of the first report).
func compute(data []byte, d time.Duration) {
	for end := time.Now().Add(d); time.Now().Before(end); {
		sha256.Sum256(data[:min(len(data), 64<<10)])
	}
}
