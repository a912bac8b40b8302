package tcp

import (
	"fmt"
	"math"
	"strings"
	"time"
)

// CUBIC (RFC 9438), Linux's default congestion control, as an option
// beside NewReno (Config.Congestion). It changes two things and leaves
// the rest of congestion.go as it is (fast retransmit, SACK recovery,
// RACK-TLP, PRR, NewReno's partial ACKs, slow start):
//
//   - On a loss, ssthresh = 0.7 × FlightSize instead of half of it
//     (beta_cubic, §4.6): CUBIC gives up less, because it regrows fast.
//   - In congestion avoidance, cwnd follows a cubic function of the time
//     since the congestion avoidance stage began (§4.2), not one segment
//     per round trip:
//
//     W_cubic(t) = C × (t − K)³ + W_max
//
//     with W_max the cwnd when the last loss struck and K the time the
//     curve takes to climb back to it. Below W_max the curve is concave:
//     fast at first, flattening as it nears the window where the path
//     dropped a segment (§4.4). Past it, convex: slow at first, then ever
//     faster, probing for more bandwidth (§4.5). Where Reno would grow
//     faster than the curve (a short RTT or a small window), CUBIC grows
//     at least as fast as Reno would (the Reno-friendly region, §4.3).
//
// The curve runs in segments and seconds (C = 0.4 segments/s³); cwnd,
// ssthresh and W_max are kept in bytes like NewReno's, and converted with
// the MSS. Time is the connection's clock (virtual in a simulation, so a
// seed still gives one step log), and RTT its smoothed RTT (RFC 6298).
// Slow start below ssthresh is RFC 5681's, as NewReno's (§4.10 allows it;
// Linux adds HyStart, RFC 9406, which packetwalk does not). Undoing a
// reduction that a spurious loss caused (§4.9) is left out: the reduction
// stays.

// CongestionControl selects a connection's congestion control
// (Config.Congestion).
type CongestionControl uint8

const (
	// CongestionNewReno is RFC 5681's slow start and congestion avoidance
	// with RFC 6582's NewReno recovery (congestion.go). The zero value:
	// the traces and labs are drawn with it.
	CongestionNewReno CongestionControl = iota
	// CongestionCUBIC is RFC 9438's CUBIC (cubic.go), Linux's default.
	CongestionCUBIC
)

func (cc CongestionControl) String() string {
	switch cc {
	case CongestionNewReno:
		return "newreno"
	case CongestionCUBIC:
		return "cubic"
	}
	return fmt.Sprintf("CongestionControl(%d)", uint8(cc))
}

// ParseCongestionControl reads a congestion control's name: "newreno"
// (or "reno", Linux's name for it) or "cubic", as Linux's
// net.ipv4.tcp_congestion_control and FreeBSD's net.inet.tcp.cc.algorithm
// spell them. An unknown name is an error of one sentence.
func ParseCongestionControl(name string) (CongestionControl, error) {
	switch strings.ToLower(strings.TrimSpace(name)) {
	case "newreno", "reno":
		return CongestionNewReno, nil
	case "cubic":
		return CongestionCUBIC, nil
	}
	return 0, fmt.Errorf("unknown congestion control %q: packetwalk has newreno (also called reno) and cubic", name)
}

// RFC 9438's constants.
const (
	// cubicBeta is beta_cubic, the multiplicative decrease factor (§4.6):
	// cwnd and ssthresh drop to 0.7 of the window on a loss. Linux: 717/1024.
	cubicBeta = 0.7
	// cubicC is C, the curve's aggressiveness, in segments/s³ (§4.2, §5).
	cubicC = 0.4
	// cubicAlpha is alpha_cubic = 3(1 − beta)/(1 + beta) ≈ 0.53 (§4.3):
	// the additive increase per RTT that makes an AIMD(alpha, beta) flow
	// as fast on average as Reno's AIMD(1, 0.5).
	cubicAlpha = 3 * (1 - cubicBeta) / (1 + cubicBeta)
	// cubicMaxTargetGrowth bounds the target at 1.5 × cwnd (§4.2): one
	// round trip never more than half again as much.
	cubicMaxTargetGrowth = 1.5
)

// Why strings of the cwnd steps CUBIC causes.
const (
	whyCubicFriendly    = "CUBIC congestion avoidance, Reno-friendly region: cwnd = W_est (RFC 9438 §4.3)"
	whyCubicConcave     = "CUBIC congestion avoidance, concave region: toward W_max along W_cubic(t+RTT) (RFC 9438 §4.2, §4.4)"
	whyCubicConvex      = "CUBIC congestion avoidance, convex region: beyond W_max along W_cubic(t+RTT) (RFC 9438 §4.2, §4.5)"
	whyCubicLoss        = "CUBIC loss: beta 0.7 (RFC 9438 §4.6)"
	whyCubicConvergence = "CUBIC loss: beta 0.7, fast convergence lowers W_max (RFC 9438 §4.6, §4.7)"
	whyCubicTimeout     = "CUBIC: ssthresh by beta 0.7, the next congestion avoidance starts a new curve (RFC 9438 §4.8)"
)

// Cubic is RFC 9438's per-connection state (§4.1's variables). NewReno
// holds it (NewReno.Cubic) and calls it on a loss and in congestion
// avoidance; the connection sets Now and SRTT before each ACK.
type Cubic struct {
	// Now is the connection's clock when the ACK arrived, SRTT its
	// smoothed round-trip time (zero before the first sample): RFC 9438
	// §4.2's current_time and RTT.
	Now, SRTT time.Duration
	// NoFastConvergence turns §4.7 off: W_max is then always the cwnd at
	// the loss (Linux's tcp_cubic fast_convergence=0).
	NoFastConvergence bool

	wMax      float64       // W_max in bytes: the window at the last loss (§4.7 may lower it)
	cwndPrior float64       // cwnd_prior in bytes: cwnd just before the last reduction (§4.6)
	k         float64       // K in seconds: when W_cubic(t) reaches W_max again (§4.2)
	tEpoch    time.Duration // t_epoch: when this congestion avoidance stage began
	cwndEpoch float64       // cwnd_epoch in bytes: cwnd when it began
	wEst      float64       // W_est in bytes: what Reno would have now (§4.3)
	epoch     bool          // a congestion avoidance stage is under way (t_epoch, cwnd_epoch, K set)
	// afterTimeout says the next congestion avoidance stage is the first
	// since a retransmission timeout: it starts with K = 0 and W_max =
	// cwnd_epoch (§4.8).
	afterTimeout bool
	frac         float64 // growth below one byte, carried to the next ACK
}

// WMax and K report W_max (bytes) and K for the step log and tests.
func (cu *Cubic) WMax() int        { return int(cu.wMax) }
func (cu *Cubic) K() time.Duration { return time.Duration(cu.k * float64(time.Second)) }

// cubicK is §4.2's K = cbrt((W_max − cwnd_epoch)/C) in seconds, with the
// windows in segments; after a loss from a window W (cwnd_epoch = beta ×
// W) it is cbrt(W × (1 − beta)/C). Zero when cwnd_epoch is at or above
// W_max: the curve starts at its plateau.
func cubicK(wMaxSegs, cwndEpochSegs float64) float64 {
	if cwndEpochSegs >= wMaxSegs {
		return 0
	}
	return math.Cbrt(float64(wMaxSegs-cwndEpochSegs) / cubicC)
}

// cubicW is §4.2's W_cubic(t) = C(t − K)³ + W_max, windows in segments,
// t and K in seconds. The float64 conversions round each product, so that
// no architecture fuses them into one multiply-add (the Go spec allows
// it) and a seed gives the same step log on every machine.
func cubicW(t, k, wMaxSegs float64) float64 {
	d := t - k
	return float64(cubicC*float64(d*d)*d) + wMaxSegs
}

// onLoss is the reduction on a congestion event (§4.6) with fast
// convergence (§4.7): cwnd is the window when the loss was found,
// flightSize the data in flight. It returns ssthresh, max(flight_size ×
// beta_cubic, 2 × SMSS) (FlightSize as RFC 5681 §3.1 says, and RFC 9438
// §4.6 asks of an implementation, rather than cwnd as Linux does), and
// whether fast convergence lowered W_max.
func (cu *Cubic) onLoss(cwnd, flightSize, mss int) (ssthresh int, converged bool) {
	w := float64(cwnd)
	// §4.7: a loss below the W_max of the previous one says the path's
	// capacity shrank, or a new flow joined: aim lower, at the midpoint
	// of the window and its reduction, to leave the new flow room.
	if w < cu.wMax && !cu.NoFastConvergence {
		cu.wMax = float64(w*(1+cubicBeta)) / 2
		converged = true
	} else {
		cu.wMax = w
	}
	cu.cwndPrior = w
	cu.epoch = false // the next congestion avoidance stage starts a new curve
	cu.frac = 0
	// 7/10 in integers: the same bytes as 0.7 × FlightSize, without
	// rounding an exact multiple down (0.7 is not exact in binary).
	ssthresh = max(flightSize*7/10, 2*mss)
	// K as it will be if congestion avoidance starts at ssthresh, for the
	// step log; the stage computes it again from its own cwnd_epoch.
	cu.k = cubicK(cu.wMax/float64(mss), float64(ssthresh)/float64(mss))
	return ssthresh, converged
}

// onTimeout is §4.8: ssthresh as on any loss (§4.6), cwnd to one segment
// by the caller (RFC 5681), and the first congestion avoidance stage
// after it starts a fresh curve at its own window.
func (cu *Cubic) onTimeout(cwnd, flightSize, mss int) int {
	ss, _ := cu.onLoss(cwnd, flightSize, mss)
	cu.afterTimeout = true
	cu.k = 0
	return ss
}

// restart forgets the stage under way: slow start, or an idle period
// that restarted cwnd (RFC 5681 §4.1), ends it, and the next congestion
// avoidance stage begins a curve of its own from its own time and window
// (§4.2: t is the time since the stage began). Linux instead shifts the
// epoch by the idle time.
func (cu *Cubic) restart() {
	cu.epoch = false
	cu.frac = 0
}

// avoid is one ACK in congestion avoidance: cwnd and mss in bytes,
// ackedBytes what the ACK acknowledged. It returns the new cwnd and the
// region that set it.
//
// The first ACK of a stage begins it (§4.2): t_epoch = now, cwnd_epoch =
// cwnd, W_est = cwnd_epoch (§4.3), K from W_max, or after a timeout K = 0
// and W_max = cwnd_epoch (§4.8). Then, with t = now − t_epoch:
//
//   - W_est += alpha × segments_acked/cwnd (§4.3), alpha = alpha_cubic
//     until W_est reaches cwnd_prior, 1 from there (Reno's own pace,
//     once past the window of the last loss).
//   - If W_cubic(t) < W_est, Reno would be ahead: cwnd = W_est
//     (Reno-friendly region).
//   - Otherwise target = W_cubic(t + RTT), kept within [cwnd, 1.5 ×
//     cwnd] (§4.2), and cwnd += (target − cwnd)/cwnd segments for each
//     segment acknowledged (§4.4 concave if cwnd < W_max, §4.5 convex
//     otherwise): cwnd reaches the target in about one round trip. RFC
//     9438 states the increase per ACK; packetwalk counts the segments
//     an ACK covers, as Linux and gVisor do, so that a receiver's
//     delayed ACKs (one per two segments) do not halve the growth.
func (cu *Cubic) avoid(cwnd, ackedBytes, mss int) (int, string) {
	seg := float64(mss)
	w := float64(cwnd)
	if !cu.epoch {
		cu.epoch = true
		cu.tEpoch = cu.Now
		cu.cwndEpoch = w
		cu.wEst = w
		if cu.afterTimeout || cu.wMax < w {
			// §4.8, and a stage that starts above the last W_max
			// (ssthresh was not set by a loss of this curve): the
			// plateau is where the stage starts.
			cu.wMax = w
			cu.afterTimeout = false
		}
		cu.k = cubicK(cu.wMax/seg, w/seg)
		cu.frac = 0
	}
	t := (cu.Now - cu.tEpoch).Seconds()

	alpha := cubicAlpha
	if cu.wEst >= cu.cwndPrior {
		alpha = 1
	}
	cu.wEst += float64(alpha*float64(ackedBytes)) * seg / w

	var next float64
	why := whyCubicConcave
	if wc := cubicW(t, cu.k, cu.wMax/seg) * seg; wc < cu.wEst && w < cu.wEst {
		next, why = cu.wEst, whyCubicFriendly
	} else {
		if w >= cu.wMax {
			why = whyCubicConvex
		}
		target := cubicW(t+cu.SRTT.Seconds(), cu.k, cu.wMax/seg) * seg
		target = min(max(target, w), float64(cubicMaxTargetGrowth*w))
		next = w + float64((target-w)*float64(ackedBytes))/w
	}
	// Whole bytes into cwnd, the rest kept: a window near its target
	// grows by fractions of a byte per ACK.
	next += cu.frac
	grown := math.Floor(next)
	cu.frac = next - grown
	if grown < w {
		grown, cu.frac = w, 0
	}
	return min(int(grown), cwndMax), why
}

// newCongestion returns the congestion state of a new connection whose
// segments carry mss bytes: NewReno's, with CUBIC's rules when the host
// chose it (Config.Congestion).
func (l *Layer) newCongestion(mss int) *NewReno {
	c := NewNewReno(mss)
	if l.cfg.Congestion == CongestionCUBIC {
		c.Cubic = &Cubic{}
	}
	return c
}
