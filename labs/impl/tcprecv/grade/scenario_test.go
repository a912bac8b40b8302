package grade

import (
	"strings"
	"testing"
)

// TestScenariosExerciseTheReceiver: the ACK script and the lossy transfer
// reach the parts of a receiver the unit tests grade (holes, SACK blocks,
// D-SACK, a closed window), so that comparing with the stack's own
// receiver checks them on the wire too.
func TestScenariosExerciseTheReceiver(t *testing.T) {
	acks := strings.Join(runACKs(nil).answers, "\n")
	for _, want := range []string{"sack 1 {", "sack 2 {", "win 0", "ack 3004001"} {
		if !strings.Contains(acks, want) {
			t.Errorf("the ACK script's answers lack %q:\n%s", want, acks)
		}
	}
	payload := make([]byte, 120_000)
	run := runWire(nil, payload)
	count := func(s string) (n int) {
		for _, a := range run.acks {
			n += strings.Count(a, s)
		}
		return n
	}
	held, dsack := 0, 0
	for _, e := range run.log {
		if e.Host == "server" && e.Step == "data" {
			if v, _ := e.Field("ooo"); v == "true" {
				held++
			}
		}
		if e.Host == "server" && e.Step == "dsack" {
			dsack++
		}
	}
	t.Logf("%d segments from the server, %d with SACK blocks, %d out-of-order arrivals, %d D-SACKs", len(run.acks), count("sack"), held, dsack)
	if run.err != nil || len(run.acks) < 50 || count("sack") < 5 || held < 5 || dsack < 1 {
		t.Errorf("the lossy transfer does not exercise the receiver enough (error %v)", run.err)
	}
}
