package tcp

import (
	"net/netip"
	"strings"
	"testing"
	"time"
)

// synQueueFlood gives a listener with the backlog spoofed SYNs from as
// many ports, never answered.
func synQueueFlood(t *testing.T, backlog, spoofed int) (r *rig, lst *Endpoint) {
	t.Helper()
	r = newRig(t, Config{SynCookies: SynCookiesOff})
	lst, err := r.l.Listen(srvAddr, backlog, Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range spoofed {
		r.inject(netip.AddrPortFrom(rigRemote, uint16(30000+i)), srvAddr, peerSYN(peerISS), nil)
	}
	r.take()
	return r, lst
}

// A SYN queue more than half full of half-open connections that never
// answer (a spoofed flood) drops them after 2 SYN+ACK retransmissions, at
// 7 s, not 5 (63 s), until it is half empty: the free half is room for
// new clients' half-opens (RFC 4987 §3.4, as Linux's reqsk_timer_handler
// does). A queue at most half full keeps the full 5 retries.
func TestSynQueuePressureShortensSynAckRetries(t *testing.T) {
	r, lst := synQueueFlood(t, 16, 16)
	r.clock.RunFor(7*time.Second + 100*time.Millisecond)
	if n := lst.HalfOpen(); n != 8 {
		t.Errorf("a full SYN queue of never-answered half-opens: %d of 16 left 7.1 s after their SYNs, want 8 (2 retries while it is over half full)", n)
	}
	var pruned int
	for _, e := range r.mem.Events() {
		if e.Step == "timer" && strings.Contains(e.Msg, "RFC 4987 §3.4") {
			pruned++
		}
	}
	if pruned != 8 {
		t.Errorf("%d steps say the pressure shortened the retries, want 8", pruned)
	}

	r, lst = synQueueFlood(t, 16, 8) // half full: no pressure
	r.clock.RunFor(62 * time.Second)
	if n := lst.HalfOpen(); n != 8 {
		t.Errorf("a half-full SYN queue: %d of 8 half-opens left at 62 s, want all (5 retries: given up at 63 s)", n)
	}
	r.clock.RunFor(2 * time.Second)
	if n := lst.HalfOpen(); n != 0 {
		t.Errorf("a half-full SYN queue: %d half-opens left at 64 s, want 0", n)
	}
}

// Young children (their first SYN+ACK not yet retransmitted) count for
// the queue: while they make up half of it, the old ones keep more of
// their retries. 12 old ones and 12 young ones in a 24-slot queue: the
// old ones keep 4 retries (Linux's loop: young 24 -> 48 > 24 after one
// step), where a queue of old ones alone would leave them 2.
func TestSynQueueYoungKeepOldRetries(t *testing.T) {
	r, lst := synQueueFlood(t, 24, 12)
	r.clock.RunFor(500 * time.Millisecond)
	for i := range 12 {
		r.inject(netip.AddrPortFrom(rigRemote, uint16(40000+i)), srvAddr, peerSYN(peerISS), nil)
	}
	// At 1.1 s the first 12 have retransmitted once, the other 12 not yet
	// (their first timeout is at 1.5 s): qlen 24 >= young*2 24 takes one
	// retry off (4), then 24 < 48 stops.
	r.clock.RunFor(600 * time.Millisecond)
	old := lst.synQueue[0]
	if got, _ := old.synAckRetryLimit(); got != 4 {
		t.Errorf("with 12 young of 24, an old half-open may retransmit %d times, want 4", got)
	}
	r.clock.RunFor(500 * time.Millisecond) // the young ones retransmit too
	if got, pruned := old.synAckRetryLimit(); got != 2 || !pruned {
		t.Errorf("with none young of 24, an old half-open may retransmit %d times (pruned %v), want 2", got, pruned)
	}
}
