package tcp

import "time"

// Defaults of the retransmission timer (RFC 6298). Each can be changed per
// layer (Config.RTOMin, RTOMax, RTOInitial) or per estimator (its fields).
const (
	// DefaultRTOMin is the least RTO, 200 ms, as in Linux (TCP_RTO_MIN)
	// and gVisor, rather than RFC 6298 (2.4)'s 1 s. The RFC's floor is a
	// SHOULD, there to keep clear of spurious timeouts on slow paths; on a
	// simulated wire or a LAN the RTT is well under a millisecond, so 1 s
	// would make every lost segment stall a demonstration for a second,
	// and the peers we interoperate with (the Linux kernel, gVisor) use
	// 200 ms themselves. One caution: a delayed ACK can take as long as
	// the floor (DefaultDelayedACK is 200 ms too), so a lone segment may be
	// retransmitted just before its delayed ACK arrives, until RTT samples
	// that include the delay have raised SRTT and RTTVAR; a connection
	// that sees this in a trace can raise Config.RTOMin.
	DefaultRTOMin = 200 * time.Millisecond
	// DefaultRTOMax caps the RTO and its exponential backoff: 120 s, as in
	// Linux (TCP_RTO_MAX); RFC 6298 (2.5) allows a cap of at least 60 s.
	DefaultRTOMax = 120 * time.Second
	// DefaultRTOInitial is the RTO before the first RTT sample: 1 s, as
	// RFC 6298 (2.1) says (it was 3 s in RFC 2988).
	DefaultRTOInitial = 1 * time.Second
	// DefaultClockGranularity is G in RFC 6298 (2.3), the smallest RTTVAR
	// term. packetwalk's clocks count nanoseconds, but a timer wheel or an
	// event loop cannot fire that precisely; 1 ms is Linux's finest
	// (HZ=1000). It only matters when RTTVAR is tiny.
	DefaultClockGranularity = time.Millisecond
	// rtoAfterSynTimeout is the RTO after a handshake whose SYN had to be
	// retransmitted (RFC 6298 (5.7)).
	rtoAfterSynTimeout = 3 * time.Second
)

// RTTEstimator computes the retransmission timeout (RTO) from round-trip
// time samples, as RFC 6298 §2 specifies, and backs it off exponentially
// when the timer expires (rule (5.5)).
//
// Karn's algorithm (RFC 6298 §3) is the caller's job: never call Sample with
// the RTT of a segment that was retransmitted, because its ACK may answer
// either transmission and the sample would be ambiguous. The caller times
// one segment at a time and discards the measurement when that segment is
// retransmitted, or uses timestamps (RFC 7323 §4), whose echo says which
// transmission the ACK answers, and calls SampleWeighted on every ACK.
//
// The zero value is ready to use with the defaults; a zero Min, Max,
// Initial or G means the default.
type RTTEstimator struct {
	// SRTT and RTTVar are RFC 6298's smoothed round-trip time and its
	// variation; both zero until the first sample. Exported to be logged.
	SRTT, RTTVar time.Duration

	Min, Max, Initial time.Duration // RTO bounds and first value; zero: default
	G                 time.Duration // clock granularity; zero: DefaultClockGranularity

	samples  int           // samples taken
	base     time.Duration // the RTO of (2.1)-(2.5), before backoff; zero: Initial
	backoffs int           // timer expiries since the last sample or ResetBackoff
	rto      time.Duration // base doubled backoffs times, capped at Max; zero: not computed yet
}

// NewRTTEstimator returns an estimator with the given bounds; zero means
// the default (DefaultRTOMin, DefaultRTOMax, DefaultRTOInitial).
func NewRTTEstimator(rtoMin, rtoMax, rtoInitial time.Duration) RTTEstimator {
	return RTTEstimator{Min: rtoMin, Max: rtoMax, Initial: rtoInitial}
}

func (e *RTTEstimator) rtoMin() time.Duration { return orDefault(e.Min, DefaultRTOMin) }
func (e *RTTEstimator) rtoMax() time.Duration { return orDefault(e.Max, DefaultRTOMax) }
func (e *RTTEstimator) granularity() time.Duration {
	return orDefault(e.G, DefaultClockGranularity)
}

func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

// clamp applies RFC 6298 (2.4) and (2.5): the RTO is at least Min and at
// most Max.
func (e *RTTEstimator) clamp(d time.Duration) time.Duration {
	return min(max(d, e.rtoMin()), e.rtoMax())
}

// Sample takes one round-trip time measurement R: the time from sending a
// segment (never a retransmitted one; see Karn above) to the ACK that
// covered it. A negative R (a clock that went backwards) is ignored.
//
// A sample also ends any backoff: RFC 6298 §5's closing note says the new
// RTO computed from it "may result in 'collapsing' RTO back down after it
// has been subject to exponential back off".
func (e *RTTEstimator) Sample(rtt time.Duration) { e.SampleWeighted(rtt, 1) }

// SampleWeighted takes one of several samples a round trip gives, as the
// Timestamps option gives one per ACK (RFC 7323 §4). RFC 6298's weights
// assume one sample per round trip; with n of them, SRTT and RTTVAR would
// forget the path's history n times faster. RFC 7323 Appendix G divides
// the weights by ExpectedSamples, the samples one window of data gives:
//
//	alpha' = alpha / ExpectedSamples, beta' = beta / ExpectedSamples
//	ExpectedSamples = ceiling(FlightSize / (SMSS * 2))
//
// (2: a receiver ACKs every second segment). The caller computes
// expectedSamples; below 1 it counts as 1, which is Sample.
func (e *RTTEstimator) SampleWeighted(rtt time.Duration, expectedSamples int) {
	if rtt < 0 {
		return
	}
	n := time.Duration(max(expectedSamples, 1))
	if e.samples == 0 {
		// (2.2) The first measurement R: SRTT <- R, RTTVAR <- R/2.
		e.SRTT, e.RTTVar = rtt, rtt/2
	} else {
		// (2.3) A subsequent measurement R', with alpha = 1/8 and beta = 1/4
		// (each divided by n, RFC 7323 Appendix G):
		//   RTTVAR <- (1 - beta) * RTTVAR + beta * |SRTT - R'|
		//   SRTT   <- (1 - alpha) * SRTT + alpha * R'
		// RTTVAR first, since it uses the SRTT from before this sample.
		dev := e.SRTT - rtt
		if dev < 0 {
			dev = -dev
		}
		e.RTTVar = ((4*n-1)*e.RTTVar + dev) / (4 * n)
		e.SRTT = ((8*n-1)*e.SRTT + rtt) / (8 * n)
	}
	e.samples++
	// (2.2)/(2.3) RTO <- SRTT + max(G, K*RTTVAR) with K = 4, then (2.4)
	// and (2.5) clamp it.
	e.base = e.clamp(e.SRTT + max(e.granularity(), 4*e.RTTVar))
	e.backoffs = 0
	e.rto = e.base
}

// Samples returns how many samples have been taken.
func (e *RTTEstimator) Samples() int { return e.samples }

// RTO returns the retransmission timeout to start the timer with: the
// computed value (or Initial before any sample, (2.1)), doubled once per
// Backoff and capped at Max.
func (e *RTTEstimator) RTO() time.Duration {
	if e.rto == 0 {
		e.rto = e.clamp(e.baseRTO())
	}
	return e.rto
}

// baseRTO is the RTO without backoff: computed from samples, else Initial.
func (e *RTTEstimator) baseRTO() time.Duration {
	if e.base > 0 {
		return e.base
	}
	return orDefault(e.Initial, DefaultRTOInitial)
}

// Backoff doubles the RTO after the retransmission timer expired, as
// RFC 6298 (5.5) says ("back off the timer"), capped at Max as (5.5)
// allows, and returns the new RTO. The doubling makes a sender on a path
// that has gone bad retry ever more gently instead of flooding it.
func (e *RTTEstimator) Backoff() time.Duration {
	e.backoffs++
	if r := e.RTO(); r > e.rtoMax()/2 { // 2*r would pass the cap (or overflow)
		e.rto = e.rtoMax()
	} else {
		e.rto = 2 * r
	}
	return e.rto
}

// Backoffs returns how many times the RTO has been doubled since the last
// sample or ResetBackoff: the retransmission count to compare with a retry
// limit (RFC 9293 §3.8.3's R1 and R2).
func (e *RTTEstimator) Backoffs() int { return e.backoffs }

// ResetBackoff returns the RTO to its computed value. Sample does this
// already; a caller may also do it when an ACK acknowledges new data
// without yielding a sample (Karn), as Linux does, rather than keep the
// backed-off value until the next clean sample as Karn's algorithm strictly
// says.
func (e *RTTEstimator) ResetBackoff() {
	e.backoffs = 0
	e.rto = e.clamp(e.baseRTO())
}

// HandshakeRetransmitted is called once the three-way handshake completes
// after the SYN (or SYN+ACK) had to be retransmitted (the endpoint's
// ackSYN calls it). RFC 6298 (5.7): if the timer expired awaiting the ACK
// of a SYN and the RTO is below 3 s, the RTO MUST be re-initialised to 3 s
// when data transmission begins, since the path has shown it is slower
// than the initial 1 s assumed; Linux does the same (tcp_init_metrics,
// TCP_TIMEOUT_FALLBACK). The backed-off SYN timer is not kept either. A
// sample taken meanwhile (from an unambiguous segment) is kept, and then
// HandshakeRetransmitted reports false: nothing was re-initialised.
func (e *RTTEstimator) HandshakeRetransmitted() bool {
	if e.samples > 0 {
		return false
	}
	e.base = max(e.baseRTO(), rtoAfterSynTimeout)
	e.ResetBackoff()
	return true
}
