package tcp

// How long a half-open connection keeps its place in a listener's SYN
// queue.
//
// A SYN at a listener makes a child in SYN_RECEIVED that retransmits its
// SYN+ACK with the usual backoff (1, 2, 4, ... s) until the peer's ACK
// comes or the retries run out (Config.SynAckRetries, 5 as Linux's
// tcp_synack_retries: the last SYN+ACK goes 31 s after the first, and the
// child gives up at 63 s). A SYN flood from spoofed addresses fills the
// queue with children whose ACK will never come; once it is full, new
// clients get SYN cookies (syncookie.go), which carry no window scaling
// and no SACK, and the flood's children hold their places for a minute
// after the flood has ended. RFC 4987 §3.4 ("Reducing SYN-RECEIVED
// Timer") shortens their wait when the queue is under pressure, and Linux
// (reqsk_timer_handler) does it this way: when more than half of the
// queue is taken, children that have already had to retransmit their
// SYN+ACK (the "old" ones: a live client usually answers the first) get
// fewer retries, down to 2, until the young ones make up at least half
// of the queue again. A flood's children are then dropped 7 s after their
// SYN (retransmissions at 1 s and 3 s, the end at 7 s) until half of the
// queue is free, so within seconds of the flood's end new clients get
// half-open connections again instead of cookies; the rest keep their
// places until their 5 retries run out.

// DefaultSynAckRetries bounds the retransmissions of a SYN+ACK, as
// Linux's tcp_synack_retries (5).
const DefaultSynAckRetries = 5

// minPrunedSynAckRetries is the fewest retries an old child keeps under
// pressure (Linux's reqsk_timer_handler stops at 2).
const minPrunedSynAckRetries = 2

// synAckRetryLimit is how many times this child of a listener may
// retransmit its SYN+ACK, and whether the queue's pressure lowered it.
func (e *Endpoint) synAckRetryLimit() (limit int, pruned bool) {
	limit = e.layer.cfg.SynAckRetries
	p := e.parent
	if p == nil {
		return limit, false
	}
	qlen := len(p.synQueue)
	if 2*qlen <= max(8, p.backlog) {
		return limit, false
	}
	young := 0
	for _, c := range p.synQueue {
		if c.retries == 0 {
			young++
		}
	}
	young *= 2
	for limit > minPrunedSynAckRetries && qlen >= young {
		limit--
		young *= 2
		pruned = true
	}
	return limit, pruned
}
