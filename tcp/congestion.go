package tcp

import "strconv"

// Congestion control: RFC 5681's slow start, congestion avoidance, fast
// retransmit and fast recovery, with RFC 6582's NewReno change to fast
// recovery (partial acknowledgements keep the sender in recovery until all
// data outstanding at the loss is acknowledged). The connection decides
// what an ACK is (new data, duplicate per RFC 5681 §2, or neither) and
// tells NewReno; NewReno answers with how cwnd and ssthresh changed and
// whether a segment must be retransmitted at once.
//
// With SACK (NewReno.SACK) the recovery is RFC 6675's instead: the same
// entry and exit, the same halving, but cwnd is not inflated by duplicate
// ACKs nor deflated by partial ones. The connection counts what is in the
// network itself, from its scoreboard (pipe, sack.go), and sends while
// pipe is below cwnd; counting the departed segments in cwnd as well would
// count them twice.
//
// With PRR (NewReno.PRR, RFC 6937, prr.go) SACK recovery does not drop
// cwnd to ssthresh at once either: the connection sets cwnd on every ACK
// of the recovery, so that what it sends follows what the ACKs say was
// delivered, and cwnd arrives at ssthresh when recovery ends.

// dupAckThreshold is how many duplicate ACKs signal a loss (RFC 5681 §3.2):
// one or two can come from reordering, three rarely do.
const dupAckThreshold = 3

// cwndMax caps the congestion window and is ssthresh's starting value.
// RFC 5681 §3.1: "The initial value of ssthresh SHOULD be set arbitrarily
// high (e.g., to the size of the largest possible advertised window)", and
// the largest possible window is 2^30 bytes (RFC 7323 §2.3): a cwnd beyond
// it could never be used, and capping it keeps growth from running on while
// the sender is limited by the application or the receiver.
const cwndMax = MaxBufferBytes

// InitialWindowRFC6928 is the initial window of RFC 6928 §2,
// min(10*MSS, max(2*MSS, 14600)) bytes: ten 1460-byte segments. NewNewReno
// uses it. RFC 6928 is Experimental, but it is what Linux (since 2.6.39)
// and gVisor do, so packetwalk's first flight looks like that of the peers
// it talks to, and a small web page leaves in one flight.
func InitialWindowRFC6928(mss int) int {
	return min(10*mss, max(2*mss, 14600))
}

// InitialWindowRFC5681 is the standard's initial window, RFC 5681 §3.1
// equation (1): 2, 3 or 4 segments depending on the MSS (3 × 1460 bytes on
// Ethernet). A lab that wants to watch slow start on a small transfer sets
// Cwnd to it.
func InitialWindowRFC5681(mss int) int {
	switch {
	case mss > 2190:
		return 2 * mss
	case mss > 1095:
		return 3 * mss
	default:
		return 4 * mss
	}
}

// NewReno is one connection's congestion control state (RFC 5681, RFC 6582).
// Its methods return a CwndChange saying what changed and why, which the
// connection logs (when cwnd or ssthresh moved, or when the change asks for
// a retransmission) without comparing before and after itself.
type NewReno struct {
	Cwnd     int // congestion window in bytes: how much may be in flight
	Ssthresh int // slow start threshold in bytes: slow start below, congestion avoidance at or above
	MSS      int // SMSS in bytes: the largest segment the sender sends

	// Recover is RFC 6582's "recover": the highest sequence number sent
	// when fast recovery or the last retransmission timeout began
	// (SND.MAX-1). Recovery ends with the ACK that covers it.
	Recover Seq
	// DupAcks counts duplicate ACKs in a row (RFC 5681 §2); an ACK of new
	// data resets it.
	DupAcks int
	// SACK says the connection recovers with a SACK scoreboard (RFC
	// 6675): cwnd = ssthresh in recovery, and the connection's pipe, not
	// an inflated cwnd, accounts for the segments that left the network.
	SACK bool
	// PRR says the connection paces SACK recovery with Proportional Rate
	// Reduction (RFC 6937, prr.go): entering recovery sets ssthresh but
	// leaves cwnd for the connection to set on each ACK, and cwnd =
	// ssthresh only when recovery ends. Without it cwnd = ssthresh at
	// once, as RFC 6675 §5 step 4.2 says.
	PRR bool
	// Initial is the initial window, the restart window's bound after an
	// idle period (RFC 5681 §4.1).
	Initial int
	// Cubic, when set, makes this CUBIC (RFC 9438, cubic.go): ssthresh
	// 0.7 × FlightSize on a loss instead of half, and cwnd along the
	// cubic curve in congestion avoidance. Recovery is the same.
	Cubic *Cubic
	// AppLimited, set by the connection before OnAck, says the last
	// window did not use cwnd (the application sent less than it
	// allowed): the ACK does not grow it, since it tested nothing (RFC
	// 9438 §5.8, RFC 7661; Linux's tcp_is_cwnd_limited).
	AppLimited bool

	// dupAckFlight is FlightSize when the first duplicate ACK of a run
	// arrived: what limited transmit sends after it must not count in the
	// FlightSize that halves ssthresh (RFC 5681 §3.2 step 2, RFC 3042).
	dupAckFlight int
	// caBytes counts the bytes acknowledged in congestion avoidance since
	// cwnd last grew by SMSS (RFC 5681 §3.1's byte counting); a loss, a
	// timeout or slow start start it again.
	caBytes      int
	inRecovery   bool // in fast recovery (RFC 5681 §3.2 steps 2-6, RFC 6582 §3.2)
	recoverValid bool // Recover is set and no ACK has passed it yet
	timedOut     bool // a timeout happened and no new data was acknowledged since
}

// NewNewReno returns congestion state for a connection whose segments
// carry at most mss bytes: cwnd at the initial window of RFC 6928
// (InitialWindowRFC6928), ssthresh "arbitrarily high" (RFC 5681 §3.1), so
// the connection starts in slow start. It panics if mss is not positive.
func NewNewReno(mss int) *NewReno {
	if mss <= 0 {
		panic("tcp: NewNewReno with MSS " + strconv.Itoa(mss))
	}
	iw := InitialWindowRFC6928(mss)
	return &NewReno{Cwnd: iw, Ssthresh: cwndMax, MSS: mss, Initial: iw}
}

// InRecovery reports whether the connection is in fast recovery.
func (c *NewReno) InRecovery() bool { return c.inRecovery }

// Phase names what governs cwnd now, for the step log: "slow start",
// "congestion avoidance" or "fast recovery".
func (c *NewReno) Phase() string {
	switch {
	case c.inRecovery:
		return "fast recovery"
	case c.Cwnd < c.Ssthresh:
		return "slow start"
	default:
		return "congestion avoidance"
	}
}

// CwndChange is what one event did to the congestion state.
type CwndChange struct {
	From, To                 int    // cwnd before and after, bytes
	SsthreshFrom, SsthreshTo int    // ssthresh before and after, bytes
	Why                      string // the rule that applied, e.g. "slow start"; a constant
	// Retransmit asks the connection to retransmit the first
	// unacknowledged segment now: fast retransmit (RFC 5681 §3.2 step 3)
	// or a partial ACK (RFC 6582 §3.2 step 5).
	Retransmit bool
}

// Changed reports whether cwnd or ssthresh moved.
func (ch CwndChange) Changed() bool {
	return ch.From != ch.To || ch.SsthreshFrom != ch.SsthreshTo
}

// String describes the change for the step log, e.g.
// "cwnd 14600 -> 16060, ssthresh inf (slow start)".
func (ch CwndChange) String() string {
	b := make([]byte, 0, 80)
	b = append(b, "cwnd "...)
	b = strconv.AppendInt(b, int64(ch.From), 10)
	if ch.To != ch.From {
		b = append(b, " -> "...)
		b = strconv.AppendInt(b, int64(ch.To), 10)
	}
	b = append(b, ", ssthresh "...)
	b = appendSsthresh(b, ch.SsthreshFrom)
	if ch.SsthreshTo != ch.SsthreshFrom {
		b = append(b, " -> "...)
		b = appendSsthresh(b, ch.SsthreshTo)
	}
	if ch.Why != "" {
		b = append(b, " ("...)
		b = append(b, ch.Why...)
		b = append(b, ')')
	}
	if ch.Retransmit {
		b = append(b, ", retransmit"...)
	}
	return string(b)
}

// appendSsthresh writes ssthresh, "inf" while it is still the initial
// "arbitrarily high" value.
func appendSsthresh(b []byte, ssthresh int) []byte {
	if ssthresh >= cwndMax {
		return append(b, "inf"...)
	}
	return strconv.AppendInt(b, int64(ssthresh), 10)
}

// begin and change bracket a method: the CwndChange from the state before
// to the state after.
func (c *NewReno) begin() CwndChange {
	return CwndChange{From: c.Cwnd, SsthreshFrom: c.Ssthresh}
}

func (c *NewReno) change(ch CwndChange, why string) CwndChange {
	ch.To, ch.SsthreshTo, ch.Why = c.Cwnd, c.Ssthresh, why
	return ch
}

// lossSsthresh is RFC 5681 §3.1 equation (4): half the data in flight, but
// at least two segments. FlightSize, not cwnd: cwnd may be far above what
// was actually sent (RFC 5681 warns this is an easy mistake).
func (c *NewReno) lossSsthresh(flightSize int) int {
	return max(flightSize/2, 2*c.MSS)
}

// reduce sets ssthresh for a loss: RFC 5681's half of FlightSize, or
// CUBIC's 0.7 of it (RFC 9438 §4.6). It returns what the step log adds to
// the reason for CUBIC, "" for NewReno.
func (c *NewReno) reduce(flightSize int) string {
	if c.Cubic == nil {
		c.Ssthresh = c.lossSsthresh(flightSize)
		return ""
	}
	ss, converged := c.Cubic.onLoss(c.Cwnd, flightSize, c.MSS)
	c.Ssthresh = ss
	if converged {
		return whyCubicConvergence
	}
	return whyCubicLoss
}

// withCubic appends CUBIC's part of a reason, if any.
func withCubic(why, cubic string) string {
	if cubic == "" {
		return why
	}
	return why + "; " + cubic
}

// OnAck handles an ACK that acknowledged new data (SND.UNA < SEG.ACK):
// ack is SEG.ACK, ackedBytes how many bytes it acknowledged, flightSize
// the bytes still outstanding after it (SND.MAX - SEG.ACK).
//
// In fast recovery it is a full ACK (OnFullAck) if it covers Recover, else
// a partial one (OnPartialAck). Otherwise cwnd grows:
//
//   - slow start (cwnd < ssthresh), RFC 5681 §3.1 equation (2):
//     cwnd += min(N, SMSS), N the bytes acknowledged: one segment per ACK,
//     so cwnd doubles every round trip when every segment is ACKed (with
//     delayed ACKs, every other one, it grows by half).
//   - congestion avoidance, RFC 5681 §3.1's RECOMMENDED byte counting:
//     the bytes acknowledged are counted, and when they reach cwnd, cwnd
//     grows by SMSS: one segment per round trip, also when the receiver
//     acknowledges every other segment (equation (3), cwnd +=
//     SMSS*SMSS/cwnd per ACK, grows half as fast then, since it counts
//     ACKs, not bytes; and a receiver splitting its ACKs cannot speed
//     byte counting up).
//
// With AppLimited set (the connection was limited by the application
// rather than by cwnd) it does not grow cwnd, which the ACK did not test
// (RFC 7661, RFC 9438 §5.8); cwndMax bounds it in any case.
func (c *NewReno) OnAck(ack Seq, ackedBytes, flightSize int) CwndChange {
	c.DupAcks = 0
	c.timedOut = false
	if c.inRecovery {
		if ack.GreaterThan(c.Recover) {
			return c.OnFullAck(flightSize)
		}
		return c.OnPartialAck(ackedBytes)
	}
	if c.recoverValid && ack.GreaterThan(c.Recover) {
		// Past recover, the RFC 6582 check can no longer fail; forget
		// Recover before the sequence space wraps round to it.
		c.recoverValid = false
	}
	ch := c.begin()
	if ackedBytes <= 0 {
		return c.change(ch, "ACK of no data")
	}
	if c.AppLimited {
		return c.change(ch, "application-limited")
	}
	if c.Cwnd < c.Ssthresh {
		c.caBytes = 0
		if c.Cubic != nil {
			c.Cubic.restart() // congestion avoidance will start a new curve
		}
		c.Cwnd = min(c.Cwnd+min(ackedBytes, c.MSS), cwndMax)
		return c.change(ch, "slow start")
	}
	if c.Cubic != nil {
		var why string
		c.Cwnd, why = c.Cubic.avoid(c.Cwnd, ackedBytes, c.MSS)
		return c.change(ch, why)
	}
	c.caBytes += ackedBytes
	if c.caBytes < c.Cwnd {
		return c.change(ch, "congestion avoidance")
	}
	c.caBytes -= c.Cwnd
	c.Cwnd = min(c.Cwnd+c.MSS, cwndMax)
	return c.change(ch, "congestion avoidance: a window's worth of bytes acknowledged")
}

// OnDupAck handles a duplicate ACK as RFC 5681 §2 defines it (outstanding
// data, no payload, no SYN or FIN, SEG.ACK = SND.UNA, same window): ack is
// SEG.ACK, sndMax the sequence number after the highest byte sent (SND.NXT,
// or SND.MAX if SND.NXT was pulled back), flightSize the bytes outstanding.
//
//   - The first two only count (RFC 5681 §3.2 step 1); limited transmit
//     (RFC 3042) is the connection's choice. The first records FlightSize,
//     for the third: the segments limited transmit sends in between "MUST
//     NOT be included" in it (RFC 5681 §3.2 step 2).
//   - The third starts fast retransmit and fast recovery (enterRecovery).
//     Unless (RFC 6582 §3.2 step 1) the ACK does not pass Recover of an
//     earlier recovery or timeout: then the duplicates are likely echoes
//     of our own retransmissions, and nothing happens.
//   - In fast recovery without SACK each one inflates cwnd by SMSS (RFC
//     5681 §3.2 step 4), letting a new segment out for each that left.
//     With SACK cwnd stays: the SACK blocks it carries have taken the
//     departed segment out of the connection's pipe (RFC 6675 §5).
func (c *NewReno) OnDupAck(ack, sndMax Seq, flightSize int) CwndChange {
	return c.onDupAck(ack, sndMax, flightSize, c.DupAcks+1 == dupAckThreshold)
}

// onDupAck is OnDupAck with the count's verdict given: third says this is
// the third duplicate ACK in a row, which a connection's Sender decides
// (contract.go).
func (c *NewReno) onDupAck(ack, sndMax Seq, flightSize int, third bool) CwndChange {
	c.DupAcks++
	if c.DupAcks == 1 && !c.inRecovery {
		c.dupAckFlight = flightSize
	}
	ch := c.begin()
	switch {
	case c.inRecovery && c.SACK:
		return c.change(ch, "SACK recovery: pipe, not cwnd, counts what left")
	case c.inRecovery:
		c.Cwnd = min(c.Cwnd+c.MSS, cwndMax)
		return c.change(ch, "fast recovery: inflate")
	case !third:
		return c.change(ch, "duplicate ACK")
	case c.recoverValid && !ack.GreaterThan(c.Recover):
		return c.change(ch, "third duplicate ACK before recover: no fast retransmit")
	}
	return c.enterRecovery(ch, sndMax, "fast retransmit")
}

// OnSACKLoss handles a duplicate ACK after which the SACK scoreboard
// declares the segment at SND.UNA lost (RFC 6675 §4 IsLost: DupThresh
// SACKed ranges, or more than (DupThresh-1)*SMSS SACKed bytes, above it)
// although fewer than DupThresh duplicate ACKs arrived: one ACK that
// SACKs three segments, from a receiver that acknowledges every other
// segment or a stretch ACK, says as much as three duplicates. RFC 6675 §5
// step 2: enter loss recovery as on the third duplicate ACK. The same
// RFC 6582 check applies: not before an earlier recovery's or timeout's
// Recover is passed (RFC 6675 §5.1). Call it after OnDupAck, outside
// recovery.
func (c *NewReno) OnSACKLoss(ack, sndMax Seq) CwndChange {
	ch := c.begin()
	if c.inRecovery || c.recoverValid && !ack.GreaterThan(c.Recover) {
		return c.change(ch, "")
	}
	return c.enterRecovery(ch, sndMax, "fast retransmit: SACK shows the segment lost")
}

// CountDupAck counts a duplicate ACK and does nothing else: with RACK
// (RFC 8985, rack.go) time, not the count, says when a segment is lost,
// and OnRACKLoss starts recovery. The count is kept for the step log, and
// the first duplicate's FlightSize as OnDupAck keeps it.
func (c *NewReno) CountDupAck(flightSize int) {
	c.DupAcks++
	if c.DupAcks == 1 && !c.inRecovery {
		c.dupAckFlight = flightSize
	}
}

// OnRACKLoss starts fast recovery when RACK (RFC 8985 §6.2 step 5) has
// marked a segment lost: flightSize is FlightSize before the ACK (or the
// timer) that showed the loss. It is RFC 6675 §5 step 4 with RACK's
// verdict in place of DupThresh; RACK-TLP leaves what follows to the
// congestion control (RFC 8985 §9.3). The RFC 6582 check applies as in
// OnSACKLoss: not before the Recover of an earlier recovery or timeout is
// passed (ack is SEG.ACK, or SND.UNA for a timer). Retransmit says whether
// recovery began.
func (c *NewReno) OnRACKLoss(ack, sndMax Seq, flightSize int) CwndChange {
	ch := c.begin()
	if c.inRecovery || c.recoverValid && !ack.GreaterThan(c.Recover) {
		return c.change(ch, "")
	}
	c.dupAckFlight = flightSize
	return c.enterRecovery(ch, sndMax, "fast retransmit: RACK marked a segment lost")
}

// OnProbeRecovery handles a tail loss probe that repaired a loss (RFC
// 8985 §7.4.2): the probe's ACK shows that one segment was lost and the
// probe replaced it, so the sender reacts as to any loss, as if fast
// recovery had begun and ended at once: ssthresh = max(FlightSize/2,
// 2*SMSS), FlightSize when the probe went, and cwnd at most ssthresh.
// CUBIC reduces by its own factor (RFC 9438 §4.6).
func (c *NewReno) OnProbeRecovery(flightSize int) CwndChange {
	c.caBytes = 0
	ch := c.begin()
	cubic := c.reduce(flightSize)
	c.Cwnd = min(c.Cwnd, c.Ssthresh)
	return c.change(ch, withCubic("a tail loss probe repaired a loss", cubic))
}

// enterRecovery is fast retransmit (RFC 5681 §3.2 steps 2-3, RFC 6675 §5
// step 4): ssthresh = max(FlightSize/2, 2*SMSS), FlightSize as the first
// duplicate ACK found it; Recover = the highest sequence number sent;
// Retransmit is set. cwnd = ssthresh + 3*SMSS without SACK (the three
// segments that the duplicates say have left the network), cwnd =
// ssthresh with SACK (RFC 6675 §5 step 4.2: the scoreboard's pipe already
// leaves them out); with PRR cwnd stays, for PRR to bring it down to
// ssthresh over the recovery (RFC 6937 §3). CUBIC's ssthresh is 0.7 ×
// FlightSize (RFC 9438 §4.6); the rest is the same.
func (c *NewReno) enterRecovery(ch CwndChange, sndMax Seq, why string) CwndChange {
	c.caBytes = 0
	why = withCubic(why, c.reduce(c.dupAckFlight))
	switch {
	case !c.SACK:
		c.Cwnd = c.Ssthresh + 3*c.MSS
	case !c.PRR:
		c.Cwnd = c.Ssthresh
	}
	c.Recover = sndMax - 1
	c.recoverValid = true
	c.inRecovery = true
	ch.Retransmit = true
	return c.change(ch, why)
}

// OnPartialAck handles an ACK of new data in fast recovery that does not
// cover Recover (RFC 6582 §3.2 step 5): another segment was lost in the
// same window. cwnd deflates by the bytes acknowledged, then grows back by
// SMSS if they were at least SMSS (for the segment that left the network),
// so that about ssthresh bytes are outstanding when recovery ends; the
// connection retransmits the first unacknowledged segment (Retransmit) and
// stays in recovery. cwnd keeps at least one SMSS. OnAck calls it; it does
// nothing outside fast recovery.
//
// With SACK cwnd stays at ssthresh and nothing is retransmitted here: the
// partial ACK shrinks the connection's pipe, and the scoreboard picks what
// to send next (RFC 6675 §5 steps B and C, NextSeg), which may not be the
// segment at SND.UNA: recovery may have resent it already (HighRxt).
func (c *NewReno) OnPartialAck(ackedBytes int) CwndChange {
	ch := c.begin()
	if !c.inRecovery {
		return c.change(ch, "")
	}
	c.DupAcks = 0
	if c.SACK {
		return c.change(ch, "partial ACK: SACK recovery goes on")
	}
	c.Cwnd -= ackedBytes
	if ackedBytes >= c.MSS {
		c.Cwnd += c.MSS
	}
	c.Cwnd = max(c.Cwnd, c.MSS)
	ch.Retransmit = true
	return c.change(ch, "partial ACK: retransmit the next hole")
}

// OnFullAck handles the ACK that covers Recover (RFC 6582 §3.2 step 4):
// every segment outstanding at the loss is acknowledged and fast recovery
// ends. cwnd "deflates" to min(ssthresh, max(FlightSize, SMSS) + SMSS), the
// RFC's option (1), with flightSize the bytes still outstanding: unlike
// option (2), cwnd = ssthresh, it cannot release a burst when little is in
// flight. OnAck calls it; it does nothing outside fast recovery.
//
// With SACK cwnd was never inflated: it stays at ssthresh, where RFC 6675
// §5 step 4.2 set it, and the connection's pipe bounds what goes next.
// With PRR, which moved cwnd on every ACK, it becomes ssthresh now (RFC
// 6937 §3: recovery ends with cwnd at ssthresh, as Linux's
// tcp_end_cwnd_reduction sets it).
func (c *NewReno) OnFullAck(flightSize int) CwndChange {
	ch := c.begin()
	if !c.inRecovery {
		return c.change(ch, "")
	}
	c.DupAcks = 0
	switch {
	case !c.SACK:
		c.Cwnd = min(c.Ssthresh, max(flightSize, c.MSS)+c.MSS)
	case c.PRR:
		c.Cwnd = c.Ssthresh
	}
	c.inRecovery = false
	c.recoverValid = false
	return c.change(ch, "full ACK: fast recovery ends")
}

// OnIdle handles a send after an idle period longer than the RTO (RFC
// 5681 §4.1): the sender has had no ACK to probe the path with for that
// long, so cwnd restarts from the restart window, RW = min(IW, cwnd),
// rather than releasing a whole grown window at once. ssthresh stays, so
// slow start climbs back to where congestion avoidance took over. The
// connection calls it before sending when nothing is in flight.
func (c *NewReno) OnIdle() CwndChange {
	c.caBytes = 0
	ch := c.begin()
	c.Cwnd = min(c.Cwnd, c.Initial)
	if c.Cubic != nil {
		c.Cubic.restart()
	}
	return c.change(ch, "restart after idle")
}

// OnTimeout handles the expiry of the retransmission timer: sndMax is the
// sequence number after the highest byte sent, flightSize the bytes
// outstanding. RFC 5681 §3.1: ssthresh = max(FlightSize/2, 2*SMSS)
// (equation (4)), held as it is if the timer expires again before new data
// is acknowledged, as the RFC says, since FlightSize is then our own
// retransmission; cwnd = the loss window, 1 SMSS, so the sender slow-starts
// from one segment. RFC 6582 §3.2 step 6: Recover = the highest sequence
// number sent, and fast recovery, if on, ends. CUBIC sets ssthresh by
// its own factor and starts its next curve afresh (RFC 9438 §4.8).
func (c *NewReno) OnTimeout(sndMax Seq, flightSize int) CwndChange {
	c.caBytes = 0
	ch := c.begin()
	why := "retransmission timeout"
	switch {
	case c.timedOut:
	case c.Cubic != nil:
		c.Ssthresh = c.Cubic.onTimeout(c.Cwnd, flightSize, c.MSS)
		why = "retransmission timeout; " + whyCubicTimeout
	default:
		c.Ssthresh = c.lossSsthresh(flightSize)
	}
	c.Cwnd = c.MSS
	c.timedOut = true
	c.inRecovery = false
	c.DupAcks = 0
	c.Recover = sndMax - 1
	c.recoverValid = true
	return c.change(ch, why)
}
