package tcp

import (
	"time"

	"github.com/packetwalk/packetwalk/viz"
)

// The send side's seam (Sender, contract.go). Without a Sender the
// connection decides with the functions below and its RTTEstimator, as
// NewSender does; with one, it asks the Sender and keeps its own estimator
// only for what is not the Sender's (SRTT for CUBIC and STATUS, the
// persist timer's interval).

// sendableBytes is the stack's segment size: the queued bytes, at most
// one segment, inside the usable window of RFC 9293 §3.8.6.2.1 (SND.UNA +
// SND.WND - SND.NXT, negative when the peer shrank its window below
// SND.NXT) and inside cwnd less what is in the network (RFC 5681 §3.1,
// RFC 6675's pipe with SACK); 0 when nothing may go.
func sendableBytes(w SendWindow) int {
	usable := min(int(w.UNA.Add(w.WND).Sub(w.NXT)), w.Cwnd-w.InFlight)
	return max(min(w.Queued, w.MSS, usable), 0)
}

// isDuplicateACK is RFC 5681 §2's definition: (a) data is outstanding,
// (b) the ACK carries no data, (c) neither SYN nor FIN, (d) SEG.ACK is
// SND.UNA, the highest acknowledgment so far, and (e) the window is
// unchanged.
func isDuplicateACK(a ACKInfo) bool {
	return a.Outstanding > 0 && a.Len == 0 && !a.SYN && !a.FIN && a.Ack == a.UNA && a.Window == a.WND
}

// NewSender returns the stack's own Sender: sendableBytes, an
// RTTEstimator (rto.go) with cfg's bounds, and a count of duplicate ACKs
// (RFC 5681 §2, §3.2). It is what a connection without Config.Sender
// decides, for a lab to compare a student's Sender with.
func NewSender(cfg SenderConfig) Sender {
	return &ownSender{est: RTTEstimator{Min: cfg.RTOMin, Max: cfg.RTOMax, Initial: cfg.RTOInitial, G: cfg.G}}
}

type ownSender struct {
	est  RTTEstimator
	dups int
}

func (s *ownSender) SegmentSize(w SendWindow) int { return sendableBytes(w) }

func (s *ownSender) Sample(rtt time.Duration, retransmitted bool) {
	if !retransmitted { // Karn (RFC 6298 §3)
		s.est.Sample(rtt)
	}
}

func (s *ownSender) RTO() time.Duration { return s.est.RTO() }
func (s *ownSender) Backoff()           { s.est.Backoff() }
func (s *ownSender) ResetBackoff()      { s.est.ResetBackoff() }

func (s *ownSender) OnACK(a ACKInfo) ACKKind {
	switch {
	case a.Ack.GreaterThan(a.UNA):
		s.dups = 0
		return ACKNew
	case !isDuplicateACK(a):
		return ACKOther
	}
	s.dups++
	if s.dups == dupAckThreshold {
		return ACKThirdDuplicate
	}
	return ACKDuplicate
}

// newSender builds a connection's Sender, if the layer has one.
func (l *Layer) newSender() Sender {
	if l.cfg.Sender == nil {
		return nil
	}
	return l.cfg.Sender(SenderConfig{
		RTOMin: orDefault(l.cfg.RTOMin, DefaultRTOMin), RTOMax: orDefault(l.cfg.RTOMax, DefaultRTOMax),
		RTOInitial: orDefault(l.cfg.RTOInitial, DefaultRTOInitial), G: DefaultClockGranularity,
	})
}

// segmentSize asks the Sender, or the stack, how much the next segment
// carries. A Sender's answer beyond what is queued is cut to it: there
// is nothing more to send.
func (e *Endpoint) segmentSize(w SendWindow) int {
	if e.snd == nil {
		return sendableBytes(w)
	}
	return min(e.snd.SegmentSize(w), w.Queued)
}

// rto is the retransmission timeout the timer starts with.
func (e *Endpoint) rto() time.Duration {
	if e.snd != nil {
		r := e.snd.RTO()
		if r < time.Millisecond && !e.badRTO {
			// A student's sender whose RTO is 0 retransmits at once and
			// gives up within the same instant: say why, once.
			e.badRTO = true
			e.logf("rtt", viz.Note, 0, nil,
				"the Sender's RTO is %v: RFC 6298 (2.1) starts it at 1 s and (2.4) keeps it at least 1 s (Linux: 200 ms), so the timer fires at once", viz.Dur(r))
		}
		return r
	}
	return e.rtt.RTO()
}

// backoffRTO doubles the RTO after a timeout (RFC 6298 (5.5)).
func (e *Endpoint) backoffRTO() {
	e.rtt.Backoff()
	if e.snd != nil {
		e.snd.Backoff()
	}
}

// resetRTOBackoff undoes the backoff on an ACK of new data.
func (e *Endpoint) resetRTOBackoff() {
	e.rtt.ResetBackoff()
	if e.snd != nil {
		e.snd.ResetBackoff()
	}
}

// karn stops timing the timed segment, which is being sent again (RFC
// 6298 §3). A Sender applies Karn's rule itself: it is told the sample
// when the ACK comes, marked retransmitted (ambiguousSample).
func (e *Endpoint) karn() {
	if e.timing && e.snd != nil {
		e.timedRetx = true
	}
	e.timing = false
}

// ambiguousSample hands a Sender the round trip of a timed segment that
// was retransmitted before the ACK covering it came.
func (e *Endpoint) ambiguousSample(ack Seq, frame uint64) {
	if !e.timedRetx || !ack.GreaterThan(e.timedSeq) {
		return
	}
	e.timedRetx = false
	r := e.layer.clock.Now() - e.timedAt
	e.snd.Sample(r, true)
	if e.layer.rec.On() {
		e.logf("rtt", viz.Note, frame, []viz.Field{viz.Fv("rtt", viz.Dur(r)), viz.Fv("rto", viz.Dur(e.rto())), viz.F("retransmitted", "true")},
			"ACK of a retransmitted segment after %v: an ambiguous sample, not to be used (Karn, RFC 6298 §3); RTO %v", viz.Dur(r), viz.Dur(e.rto()))
	}
}

// ackInfo is what an arriving ACK meets, for RFC 5681 §2's test and the
// Sender.
func (e *Endpoint) ackInfo(in *incoming) ACKInfo {
	a := ACKInfo{Ack: in.hdr.Ack, Window: uint32(in.hdr.Window) << e.sndScale, Len: len(in.payload),
		SYN: in.has(FlagSYN), FIN: in.has(FlagFIN), UNA: e.sndUna, WND: e.sndWnd}
	if e.outstanding() {
		a.Outstanding = int(e.sndMax - e.sndUna)
	}
	return a
}

// rttByTimestamps says the round trip is measured from timestamp echoes
// (RFC 7323 §4.1, timestampRTT) rather than by timing one segment at a
// time: with timestamps, unless a Sender takes the samples, whose
// Sample is RFC 6298's one per round trip.
func (e *Endpoint) rttByTimestamps() bool { return e.tsOK && e.snd == nil }
