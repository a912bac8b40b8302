package tcp

import (
	"math"
	"strings"
	"testing"
	"time"
)

// newCubicSACK returns CUBIC state for a SACK connection without PRR, so
// that a loss sets cwnd = ssthresh at once (RFC 6675 §5 step 4.2), as the
// tests below read it.
func newCubicSACK() *NewReno {
	c := NewNewReno(ccMSS)
	c.Cubic = &Cubic{}
	c.SACK = true
	return c
}

// cubicLoss makes c lose a segment with cwnd and the flight at segs
// segments: three duplicate ACKs, then the full ACK that ends recovery.
// It returns the change of the third duplicate and SND.UNA after the
// recovery.
func cubicLoss(t *testing.T, c *NewReno, una Seq, segs int) (CwndChange, Seq) {
	t.Helper()
	c.Cwnd = segs * ccMSS
	sndMax := una.Add(uint32(segs * ccMSS))
	var ch CwndChange
	for range 3 {
		ch = c.OnDupAck(una, sndMax, segs*ccMSS)
	}
	if !ch.Retransmit || !c.InRecovery() {
		t.Fatalf("three duplicate ACKs did not start recovery: %+v", ch)
	}
	c.OnAck(sndMax, segs*ccMSS, 0)
	if c.InRecovery() {
		t.Fatal("the full ACK did not end recovery")
	}
	return ch, sndMax
}

// cubicRound is one round trip in congestion avoidance: cwnd/MSS
// segments, each ACKed on its own, the ACKs spread over rtt. It returns
// SND.UNA after it and the reasons of the round's cwnd changes.
func cubicRound(t *testing.T, c *NewReno, una Seq, rtt time.Duration) (Seq, map[string]int) {
	t.Helper()
	why := map[string]int{}
	segs := max(c.Cwnd/c.MSS, 1)
	for i := range segs {
		c.Cubic.Now += rtt / time.Duration(segs)
		c.Cubic.SRTT = rtt
		una = una.Add(uint32(c.MSS))
		ch := c.OnAck(una, c.MSS, (segs-1-i)*c.MSS)
		if ch.To < ch.From || ch.Retransmit {
			t.Fatalf("ACK %d of a round: %+v", i, ch)
		}
		why[ch.Why]++
	}
	return una, why
}

// TestCubicK: K = cbrt(W_max(1-beta)/C) (RFC 9438 §4.2): a loss at 100
// segments gives K = cbrt(100 × 0.3/0.4) = cbrt(75) ≈ 4.217 s; at 1000
// segments cbrt(750) ≈ 9.086 s.
func TestCubicK(t *testing.T) {
	for _, tc := range []struct {
		wMax float64
		want float64
	}{{100, 4.2171633}, {1000, 9.0856030}, {10, 1.9574338}} {
		if k := cubicK(tc.wMax, tc.wMax*cubicBeta); math.Abs(k-tc.want) > 1e-6 {
			t.Errorf("K(W_max %v, cwnd_epoch %v) = %v s, want %v", tc.wMax, tc.wMax*cubicBeta, k, tc.want)
		}
	}
	if k := cubicK(50, 60); k != 0 {
		t.Errorf("K with cwnd_epoch above W_max = %v, want 0", k)
	}
	// The same through the connection's state: a loss with 100
	// segments in flight, then the first ACK of congestion avoidance.
	c := newCubicSACK()
	_, una := cubicLoss(t, c, 1000, 100)
	if c.Cwnd != 70*ccMSS || c.Phase() != "congestion avoidance" {
		t.Fatalf("after recovery: cwnd %d (%s), want 70 segments in congestion avoidance", c.Cwnd, c.Phase())
	}
	c.Cubic.Now, c.Cubic.SRTT = time.Second, 100*time.Millisecond
	c.OnAck(una.Add(ccMSS), ccMSS, 69*ccMSS)
	if k := c.Cubic.K(); (k - 4217*time.Millisecond).Abs() > time.Millisecond {
		t.Errorf("K = %v, want 4.217s", k)
	}
	if c.Cubic.WMax() != 100*ccMSS {
		t.Errorf("W_max = %d, want %d (the cwnd at the loss)", c.Cubic.WMax(), 100*ccMSS)
	}
}

// TestCubicCurve: W_cubic(0) is the window after the reduction, W_cubic(K)
// = W_max (RFC 9438 §4.2, Figure 1), and the curve is symmetric about K.
func TestCubicCurve(t *testing.T) {
	const wMax = 100.0
	k := cubicK(wMax, wMax*cubicBeta)
	if w := cubicW(k, k, wMax); w != wMax {
		t.Errorf("W_cubic(K) = %v, want W_max %v", w, wMax)
	}
	if w := cubicW(0, k, wMax); math.Abs(w-wMax*cubicBeta) > 1e-9 {
		t.Errorf("W_cubic(0) = %v, want beta × W_max = %v", w, wMax*cubicBeta)
	}
	if lo, hi := cubicW(k-1, k, wMax), cubicW(k+1, k, wMax); math.Abs((wMax-lo)-(hi-wMax)) > 1e-9 || math.Abs(hi-wMax-cubicC) > 1e-9 {
		t.Errorf("W_cubic(K-1) = %v, W_cubic(K+1) = %v: not C = %v either side of W_max", lo, hi, cubicC)
	}
}

// TestCubicConcaveThenConvex: after a loss at 100 segments (RTT 200 ms),
// cwnd climbs back fast, then ever slower as it nears W_max (concave, RFC
// 9438 §4.4), is at W_max about K later, then grows ever faster beyond
// it (convex, §4.5). With this RTT and window the curve stays ahead of
// Reno's estimate W_est for the 7 seconds watched (§4.3); at 100 ms W_est
// would overtake it about 1.5 s after K.
func TestCubicConcaveThenConvex(t *testing.T) {
	const rtt = 200 * time.Millisecond
	c := newCubicSACK()
	_, una := cubicLoss(t, c, 0, 100)
	k := 4217 * time.Millisecond
	type point struct {
		at   time.Duration
		cwnd float64 // segments
	}
	var curve []point
	regions := map[string]int{}
	for c.Cubic.Now < k+3*time.Second {
		var why map[string]int
		una, why = cubicRound(t, c, una, rtt)
		for w, n := range why {
			regions[w] += n
		}
		curve = append(curve, point{c.Cubic.Now, float64(c.Cwnd) / ccMSS})
	}
	// At t = 0 the curve is at cwnd_epoch = W_est, and the first ACK's
	// share of alpha puts W_est a few bytes ahead: one Reno-friendly step.
	if regions[whyCubicFriendly] > 1 || regions[whyCubicConcave] == 0 || regions[whyCubicConvex] == 0 {
		t.Fatalf("regions %v: want concave and convex, no Reno-friendly steps after the first at this RTT and window", regions)
	}
	// Each ACK aims at W_cubic(t + RTT), so at the end of every round
	// trip cwnd is on the curve: within a segment of W_cubic(t).
	for _, p := range curve {
		if want := cubicW(p.at.Seconds(), k.Seconds(), 100); math.Abs(p.cwnd-want) > 1 {
			t.Errorf("at %v cwnd %.1f segments, W_cubic(t) = %.1f", p.at, p.cwnd, want)
		}
	}
	// Growth per second: first second > second > ... until K, and after
	// K the other way.
	at := func(d time.Duration) float64 {
		for _, p := range curve {
			if p.at >= d {
				return p.cwnd
			}
		}
		return curve[len(curve)-1].cwnd
	}
	g1, g2, g3 := at(time.Second)-at(0), at(2*time.Second)-at(time.Second), at(3*time.Second)-at(2*time.Second)
	if !(g1 > g2 && g2 > g3 && g3 > 0) {
		t.Errorf("growth in seconds 1, 2, 3: %.1f, %.1f, %.1f segments; want shrinking (concave)", g1, g2, g3)
	}
	if w := at(k); math.Abs(w-100) > 1.5 {
		t.Errorf("cwnd at K = %.1f segments, want W_max 100", w)
	}
	h1, h2 := at(k+2*time.Second)-at(k+time.Second), at(k+3*time.Second-rtt)-at(k+2*time.Second-rtt)
	if !(h2 > h1 && h1 > 0) {
		t.Errorf("growth in seconds K+1..K+2, K+2..K+3: %.1f, %.1f segments; want growing (convex)", h1, h2)
	}
}

// TestCubicBeta: a loss sets ssthresh to 0.7 × FlightSize (RFC 9438
// §4.6), where NewReno halves it; the recovery machinery stays:
// cwnd = ssthresh with SACK (RFC 6675), ssthresh + 3 segments without,
// cwnd left to PRR with it, at most ssthresh after a tail loss probe.
func TestCubicBeta(t *testing.T) {
	for _, tc := range []struct {
		name             string
		sack, prr        bool
		flight, ss, cwnd int
	}{
		{"sack", true, false, 100 * ccMSS, 70 * ccMSS, 70 * ccMSS},
		{"newreno", false, false, 100 * ccMSS, 70 * ccMSS, 73 * ccMSS},
		{"prr", true, true, 100 * ccMSS, 70 * ccMSS, 100 * ccMSS},
		{"odd flight", true, false, 33 * ccMSS, 33 * ccMSS * 7 / 10, 33 * ccMSS * 7 / 10},
		{"two segments at least", true, false, 2 * ccMSS, 2 * ccMSS, 2 * ccMSS},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := NewNewReno(ccMSS)
			c.Cubic, c.SACK, c.PRR = &Cubic{}, tc.sack, tc.prr
			c.Cwnd = 100 * ccMSS
			var ch CwndChange
			for range 3 {
				ch = c.OnDupAck(0, Seq(tc.flight), tc.flight)
			}
			if !ch.Retransmit || ch.SsthreshTo != tc.ss || ch.To != tc.cwnd {
				t.Fatalf("fast retransmit: %+v; want ssthresh %d, cwnd %d", ch, tc.ss, tc.cwnd)
			}
			if !strings.HasPrefix(ch.Why, "fast retransmit") || !strings.Contains(ch.Why, "RFC 9438 §4.6") {
				t.Errorf("reason %q", ch.Why)
			}
		})
	}
	// RACK's verdict and a tail loss probe reduce by the same factor.
	c := newCubicSACK()
	c.Cwnd = 40 * ccMSS
	if ch := c.OnRACKLoss(0, 40*ccMSS, 40*ccMSS); ch.SsthreshTo != 28*ccMSS || ch.To != 28*ccMSS {
		t.Errorf("RACK loss: %+v", ch)
	}
	c = newCubicSACK()
	c.Cwnd = 40 * ccMSS
	if ch := c.OnProbeRecovery(20 * ccMSS); ch.SsthreshTo != 14*ccMSS || ch.To != 14*ccMSS || !strings.Contains(ch.Why, "RFC 9438") {
		t.Errorf("tail loss probe: %+v", ch)
	}
	// NewReno, unchanged: half.
	r := NewNewReno(ccMSS)
	r.SACK, r.Cwnd = true, 100*ccMSS
	for range 3 {
		r.OnDupAck(0, 100*ccMSS, 100*ccMSS)
	}
	if r.Ssthresh != 50*ccMSS {
		t.Errorf("NewReno ssthresh %d, want 50 segments", r.Ssthresh/ccMSS)
	}
}

// TestCubicFastConvergence: a loss below the last W_max lowers W_max
// further, to cwnd × (1 + beta)/2 (RFC 9438 §4.7), unless fast
// convergence is off; a loss above it sets W_max = cwnd.
func TestCubicFastConvergence(t *testing.T) {
	for _, off := range []bool{false, true} {
		c := newCubicSACK()
		c.Cubic.NoFastConvergence = off
		_, una := cubicLoss(t, c, 0, 100)
		if c.Cubic.WMax() != 100*ccMSS {
			t.Fatalf("first loss: W_max %d, want 100 segments", c.Cubic.WMax()/ccMSS)
		}
		ch, una := cubicLoss(t, c, una, 80)
		want, why := 68*ccMSS, whyCubicConvergence // 80 × 0.85
		if off {
			want, why = 80*ccMSS, whyCubicLoss
		}
		if c.Cubic.WMax() != want || ch.SsthreshTo != 56*ccMSS || !strings.HasSuffix(ch.Why, why) {
			t.Errorf("fast convergence off %v: W_max %d bytes, ssthresh %d, %q; want W_max %d, ssthresh %d, %q",
				off, c.Cubic.WMax(), ch.SsthreshTo, ch.Why, want, 56*ccMSS, why)
		}
		// The curve aims at the lowered W_max: K = cbrt((68 - 56)/0.4).
		c.Cubic.Now, c.Cubic.SRTT = time.Second, 100*time.Millisecond
		c.OnAck(una.Add(ccMSS), ccMSS, 0)
		wantK := math.Cbrt(float64(want/ccMSS-56) / cubicC)
		if k := c.Cubic.K().Seconds(); math.Abs(k-wantK) > 1e-3 {
			t.Errorf("fast convergence off %v: K = %v s, want %v", off, k, wantK)
		}
		// A loss above W_max: W_max = cwnd, and the next stage's curve
		// is a new one: K = cbrt((120 - 84)/0.4).
		_, una = cubicLoss(t, c, una.Add(ccMSS), 120)
		if c.Cubic.WMax() != 120*ccMSS {
			t.Errorf("loss above W_max: W_max %d segments, want 120", c.Cubic.WMax()/ccMSS)
		}
		c.Cubic.Now += time.Second
		c.OnAck(una.Add(ccMSS), ccMSS, 0)
		if k, want := c.Cubic.K().Seconds(), math.Cbrt(90); math.Abs(k-want) > 1e-3 {
			t.Errorf("after the loss at 120 segments: K = %v s, want %v (a new curve)", k, want)
		}
	}
}

// TestCubicTargetBound: however far the curve has run ahead, the target
// is at most 1.5 × cwnd (RFC 9438 §4.2), so cwnd grows by at most half a
// segment per segment ACKed, as in slow start at a third of its pace.
func TestCubicTargetBound(t *testing.T) {
	c := newCubicSACK()
	_, una := cubicLoss(t, c, 0, 100)
	c.Cubic.Now, c.Cubic.SRTT = time.Second, 100*time.Millisecond
	una = una.Add(ccMSS)
	c.OnAck(una, ccMSS, 0)
	c.Cubic.Now += time.Minute // W_cubic(60 s) is some 70000 segments
	ch := c.OnAck(una.Add(ccMSS), ccMSS, 0)
	if grew := ch.To - ch.From; grew <= 0 || grew > ccMSS/2 {
		t.Errorf("an ACK a minute into the curve: %+v; want at most %d bytes more", ch, ccMSS/2)
	}
}

// TestCubicRenoFriendly: with a short RTT and a small window, Reno would
// grow faster than the cubic curve; CUBIC then follows W_est, which grows
// by alpha_cubic ≈ 0.53 segment per RTT up to the window of the loss and
// by one segment per RTT beyond it (RFC 9438 §4.3). With a long RTT and a
// large window the curve is ahead and W_est has no say.
func TestCubicRenoFriendly(t *testing.T) {
	if a := 3 * (1 - 0.7) / (1 + 0.7); math.Abs(cubicAlpha-a) > 1e-12 || math.Abs(cubicAlpha-0.5294) > 1e-4 {
		t.Fatalf("alpha_cubic = %v, want 3(1-beta)/(1+beta) = %v", cubicAlpha, a)
	}
	c := newCubicSACK()
	_, una := cubicLoss(t, c, 0, 10) // W_max 10, ssthresh 7 segments
	regions := map[string]int{}
	for range 20 {
		var why map[string]int
		una, why = cubicRound(t, c, una, time.Millisecond)
		for w, n := range why {
			regions[w] += n
		}
	}
	// W_est: 7 segments, +0.53 per RTT to 10 (about 6 RTTs), +1 per RTT
	// for the 14 RTTs left: about 24. The curve after 20 ms is still at 7.
	got := float64(c.Cwnd) / ccMSS
	if got < 22 || got > 25 {
		t.Errorf("after 20 round trips of 1 ms: cwnd %.1f segments, want about 24 (Reno-friendly)", got)
	}
	if regions[whyCubicFriendly] < regions[whyCubicConcave]+regions[whyCubicConvex] {
		t.Errorf("regions %v: want mostly Reno-friendly", regions)
	}
	if w := cubicW(0.02, cubicK(10, 7), 10); w > 7.1 {
		t.Errorf("W_cubic(20 ms) = %v", w)
	}
}

// TestCubicTimeout: a retransmission timeout sets ssthresh by beta (RFC
// 9438 §4.8) and cwnd to one segment (RFC 5681 §3.1); a second timeout
// keeps ssthresh. After slow start, the first congestion avoidance stage
// starts a curve with K = 0 and W_max = the cwnd it starts from, so it
// grows convex from there.
func TestCubicTimeout(t *testing.T) {
	c := newCubicSACK()
	c.Cwnd = 100 * ccMSS
	ch := c.OnTimeout(100*ccMSS, 100*ccMSS)
	if ch.To != ccMSS || ch.SsthreshTo != 70*ccMSS || !strings.Contains(ch.Why, "RFC 9438 §4.8") {
		t.Fatalf("timeout: %+v", ch)
	}
	if ch := c.OnTimeout(100*ccMSS, 100*ccMSS); ch.SsthreshTo != 70*ccMSS {
		t.Fatalf("second timeout: %+v", ch)
	}
	una := Seq(0)
	for c.Cwnd < c.Ssthresh {
		una = una.Add(ccMSS)
		c.Cubic.Now += time.Millisecond
		if ch := c.OnAck(una, ccMSS, 0); ch.Why != "slow start" {
			t.Fatalf("below ssthresh: %+v", ch)
		}
	}
	start := c.Cwnd
	c.Cubic.SRTT = 100 * time.Millisecond
	una = una.Add(ccMSS)
	ch = c.OnAck(una, ccMSS, 0)
	if c.Cubic.K() != 0 || c.Cubic.WMax() != start || !strings.HasPrefix(ch.Why, "CUBIC congestion avoidance") {
		t.Errorf("first congestion avoidance after a timeout: K %v, W_max %d (want 0, %d), %q", c.Cubic.K(), c.Cubic.WMax(), start, ch.Why)
	}
}

// TestCubicIdleRestart: after an idle restart (RFC 5681 §4.1) the curve
// starts again from the restart, not from the old epoch: a minute idle
// must not make W_cubic(t) leap and cwnd jump by half on the first ACK.
func TestCubicIdleRestart(t *testing.T) {
	c := newCubicSACK()
	_, una := cubicLoss(t, c, 0, 12)
	c.Cubic.Now, c.Cubic.SRTT = time.Second, 10*time.Millisecond
	una, _ = cubicRound(t, c, una, 10*time.Millisecond)
	c.Cubic.Now += time.Minute
	c.OnIdle() // ssthresh (8 segments) is below the restart window: congestion avoidance goes on
	before := c.Cwnd
	una = una.Add(ccMSS)
	c.OnAck(una, ccMSS, 0)
	if c.Cwnd > before+ccMSS {
		t.Errorf("first ACK after a minute idle: cwnd %d -> %d", before, c.Cwnd)
	}
}

// TestParseCongestionControl: the names of Linux's and FreeBSD's sysctls;
// anything else is an error of one sentence.
func TestParseCongestionControl(t *testing.T) {
	for name, want := range map[string]CongestionControl{"cubic": CongestionCUBIC, "CUBIC": CongestionCUBIC, "reno": CongestionNewReno, "newreno": CongestionNewReno} {
		if got, err := ParseCongestionControl(name); err != nil || got != want {
			t.Errorf("%q: %v, %v; want %v", name, got, err, want)
		}
	}
	for _, name := range []string{"bbr", "", "vegas"} {
		if _, err := ParseCongestionControl(name); err == nil || !strings.Contains(err.Error(), "newreno") || strings.Count(err.Error(), ".") > 0 {
			t.Errorf("%q: error %v", name, err)
		}
	}
	if CongestionCUBIC.String() != "cubic" || CongestionNewReno.String() != "newreno" {
		t.Errorf("names %v %v", CongestionCUBIC, CongestionNewReno)
	}
}
