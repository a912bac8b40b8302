// Package tcpsend is your TCP sender's three decisions: how many bytes
// the next segment carries (within the peer's window and the congestion
// window, RFC 9293 §3.8.6.2.1), the retransmission timeout (RFC 6298,
// with Karn's algorithm and exponential backoff), and which ACKs are
// duplicates, the third of which starts fast retransmit (RFC 5681 §2,
// §3.2).
//
// Keep the package's name and New's signature: `packetwalk lab test
// impl-tcp-sender --impl DIR` builds the stack with New.
package tcpsend

import (
	"time"

	"github.com/packetwalk/packetwalk/tcp"
)

// Sender is your tcp.Sender. TCP uses it on the host's event loop only:
// no locks are needed. One Sender serves one connection.
type Sender struct {
	cfg tcp.SenderConfig
	// TODO: SRTT, RTTVAR, whether a sample was taken, the RTO, and the
	// count of duplicate ACKs in a row.
}

// New returns the Sender of a new connection. cfg holds the RTO's bounds
// (RTOMin, RTOMax), its value before any sample (RTOInitial) and the
// clock granularity G.
func New(cfg tcp.SenderConfig) tcp.Sender {
	return &Sender{cfg: cfg}
}

// SegmentSize returns how many bytes of new data the next segment
// carries, 0 to send nothing now:
//   - at most w.Queued (what is waiting) and w.MSS (one segment);
//   - never past the peer's window: the usable window is SND.UNA +
//     SND.WND - SND.NXT, which is 0 or below when the window is closed or
//     the peer shrank it (RFC 9293 §3.8.6.2.1);
//   - at most w.Cwnd - w.InFlight (RFC 5681 §3.1).
func (s *Sender) SegmentSize(w tcp.SendWindow) int {
	// TODO
	return 0
}

// Sample takes a round-trip time measurement (RFC 6298 §2.2, §2.3).
// retransmitted says the timed segment was sent again before its ACK
// came: Karn's algorithm (§3) says not to use such a sample.
func (s *Sender) Sample(rtt time.Duration, retransmitted bool) {
	// TODO
}

// RTO returns the retransmission timeout: RTOInitial before any sample,
// else SRTT + max(G, 4*RTTVAR), kept within [RTOMin, RTOMax], and doubled
// once for each Backoff since (still at most RTOMax).
func (s *Sender) RTO() time.Duration {
	// TODO
	return 0
}

// Backoff: the retransmission timer expired. The RTO doubles, up to
// RTOMax (RFC 6298 §5.5).
func (s *Sender) Backoff() {
	// TODO
}

// ResetBackoff: an ACK acknowledged new data. The RTO goes back to the
// value computed from the samples (RTOInitial if there were none).
func (s *Sender) ResetBackoff() {
	// TODO
}

// OnACK classifies an ACK before TCP acts on it:
//   - tcp.ACKNew if it acknowledges new data (a.Ack beyond a.UNA); the
//     count of duplicates starts again;
//   - a duplicate ACK (RFC 5681 §2) has all of: data outstanding, no data
//     in the segment, neither SYN nor FIN, a.Ack equal to a.UNA, and the
//     window unchanged (a.Window == a.WND). The third in a row is
//     tcp.ACKThirdDuplicate (fast retransmit), any other tcp.ACKDuplicate;
//   - anything else is tcp.ACKOther.
func (s *Sender) OnACK(a tcp.ACKInfo) tcp.ACKKind {
	// TODO
	return tcp.ACKOther
}
