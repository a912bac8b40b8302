// Package reference is the reference solution of impl-tcp-sender: the
// segment size within the peer's window and cwnd (RFC 9293 §3.8.6.2.1),
// RFC 6298's retransmission timeout with Karn's algorithm and backoff,
// and RFC 5681's duplicate ACKs.
package reference

import (
	"time"

	"github.com/packetwalk/packetwalk/tcp"
)

// Sender is the reference tcp.Sender.
type Sender struct {
	cfg          tcp.SenderConfig
	srtt, rttvar time.Duration
	sampled      bool
	base         time.Duration // the RTO computed from the samples, before backoff
	rto          time.Duration // base, doubled by each Backoff, at most RTOMax
	dups         int
}

// New returns the Sender of a new connection.
func New(cfg tcp.SenderConfig) tcp.Sender {
	s := &Sender{cfg: cfg, base: clamp(cfg.RTOInitial, cfg)}
	s.rto = s.base
	return s
}

func clamp(d time.Duration, cfg tcp.SenderConfig) time.Duration {
	return min(max(d, cfg.RTOMin), cfg.RTOMax)
}

// SegmentSize is the queued bytes, at most one segment, inside the
// usable window and cwnd.
func (s *Sender) SegmentSize(w tcp.SendWindow) int {
	usable := int(w.UNA.Add(w.WND).Sub(w.NXT)) // negative if the window shrank below SND.NXT
	n := min(w.Queued, w.MSS, usable, w.Cwnd-w.InFlight)
	return max(n, 0)
}

// Sample is RFC 6298 (2.2) and (2.3), in integer nanoseconds.
func (s *Sender) Sample(rtt time.Duration, retransmitted bool) {
	if retransmitted || rtt < 0 {
		return // Karn: the ACK may answer either copy
	}
	if !s.sampled {
		s.srtt, s.rttvar, s.sampled = rtt, rtt/2, true
	} else {
		dev := s.srtt - rtt
		if dev < 0 {
			dev = -dev
		}
		s.rttvar = (3*s.rttvar + dev) / 4
		s.srtt = (7*s.srtt + rtt) / 8
	}
	s.base = clamp(s.srtt+max(s.cfg.G, 4*s.rttvar), s.cfg)
	s.rto = s.base
}

func (s *Sender) RTO() time.Duration { return s.rto }

// Backoff is RFC 6298 (5.5).
func (s *Sender) Backoff() { s.rto = min(2*s.rto, s.cfg.RTOMax) }

func (s *Sender) ResetBackoff() { s.rto = s.base }

// OnACK is RFC 5681 §2's duplicate ACK and §3.2's third.
func (s *Sender) OnACK(a tcp.ACKInfo) tcp.ACKKind {
	if a.UNA.LessThan(a.Ack) {
		s.dups = 0
		return tcp.ACKNew
	}
	if a.Outstanding == 0 || a.Len > 0 || a.SYN || a.FIN || a.Ack != a.UNA || a.Window != a.WND {
		return tcp.ACKOther
	}
	s.dups++
	if s.dups == 3 {
		return tcp.ACKThirdDuplicate
	}
	return tcp.ACKDuplicate
}
