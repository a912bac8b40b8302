package tcp

import "testing"

const ccMSS = 1460

func TestInitialWindow(t *testing.T) {
	for _, tc := range []struct{ mss, rfc6928, rfc5681 int }{
		{536, 5360, 2144},    // 10 segments fit in 14600; 4 segments
		{1095, 10950, 4380},  // 4 segments up to 1095
		{1460, 14600, 4380},  // Ethernet: the familiar 10 and 3
		{2190, 14600, 6570},  // 3 segments up to 2190
		{4000, 14600, 8000},  // 14600 bytes, 3.65 segments; 2 segments
		{9000, 18000, 18000}, // jumbo: at least 2 segments
	} {
		if got := InitialWindowRFC6928(tc.mss); got != tc.rfc6928 {
			t.Errorf("RFC 6928 IW(%d) = %d, want %d", tc.mss, got, tc.rfc6928)
		}
		if got := InitialWindowRFC5681(tc.mss); got != tc.rfc5681 {
			t.Errorf("RFC 5681 IW(%d) = %d, want %d", tc.mss, got, tc.rfc5681)
		}
	}
	c := NewNewReno(ccMSS)
	if c.Cwnd != 14600 || c.Ssthresh != MaxBufferBytes || c.Phase() != "slow start" || c.InRecovery() {
		t.Errorf("NewNewReno: cwnd %d ssthresh %d %s", c.Cwnd, c.Ssthresh, c.Phase())
	}
	defer func() {
		if recover() == nil {
			t.Error("NewNewReno(0) did not panic")
		}
	}()
	NewNewReno(0)
}

// ackRound sends a round trip's worth of full segments (cwnd/MSS of them)
// and ACKs each one, as a receiver without delayed ACKs does; it returns
// SND.UNA afterwards.
func ackRound(t *testing.T, c *NewReno, una Seq) Seq {
	t.Helper()
	segs := c.Cwnd / c.MSS
	for i := range segs {
		una = una.Add(uint32(c.MSS))
		ch := c.OnAck(una, c.MSS, (segs-1-i)*c.MSS)
		if ch.Retransmit || ch.To != c.Cwnd || ch.From > ch.To {
			t.Fatalf("ACK %d: %+v", i, ch)
		}
	}
	return una
}

// TestNewRenoSlowStart: one MSS per ACK doubles cwnd every round trip
// (RFC 5681 §3.1).
func TestNewRenoSlowStart(t *testing.T) {
	c := NewNewReno(ccMSS)
	una := Seq(0xffff0000) // the rounds cross 2^32
	for round := 1; round <= 6; round++ {
		before := c.Cwnd
		una = ackRound(t, c, una)
		if c.Cwnd != 2*before || c.Phase() != "slow start" {
			t.Fatalf("round %d: cwnd %d -> %d (%s), want doubled", round, before, c.Cwnd, c.Phase())
		}
	}
	// A stretch ACK of 3 segments still adds only one (min(N, SMSS)).
	if ch := c.OnAck(una.Add(3*ccMSS), 3*ccMSS, 0); ch.To-ch.From != ccMSS || ch.Why != "slow start" {
		t.Errorf("stretch ACK: %+v", ch)
	}
	if ch := c.OnAck(una.Add(3*ccMSS+100), 100, 0); ch.To-ch.From != 100 {
		t.Errorf("small ACK: %+v", ch)
	}
	if ch := c.OnAck(una.Add(3*ccMSS+100), 0, 0); ch.Changed() {
		t.Errorf("ACK of no data: %+v", ch)
	}
}

// TestNewRenoCongestionAvoidance: one MSS per round trip once cwnd
// reaches ssthresh (RFC 5681 §3.1, byte counting).
func TestNewRenoCongestionAvoidance(t *testing.T) {
	c := NewNewReno(ccMSS)
	c.Cwnd, c.Ssthresh = 20*ccMSS, 20*ccMSS
	if c.Phase() != "congestion avoidance" {
		t.Fatalf("phase %q at cwnd = ssthresh", c.Phase())
	}
	una := Seq(0)
	for round := 1; round <= 10; round++ {
		before := c.Cwnd
		una = ackRound(t, c, una)
		if grew := c.Cwnd - before; grew < ccMSS*9/10 || grew > ccMSS {
			t.Fatalf("round %d: cwnd grew %d bytes, want about one MSS (%d)", round, grew, ccMSS)
		}
	}
	if c.Cwnd < 29*ccMSS || c.Cwnd > 30*ccMSS {
		t.Errorf("after 10 round trips cwnd = %.2f MSS, want about 30", float64(c.Cwnd)/ccMSS)
	}
	// Byte counting (RFC 5681 §3.1, RECOMMENDED): a receiver that ACKs
	// every other segment still gets one MSS per round trip (equation
	// (3), which counts ACKs, would give half), and one that splits its
	// ACKs into pieces gets no more.
	for _, per := range []int{2 * ccMSS, ccMSS / 10} {
		c = NewNewReno(ccMSS)
		c.Cwnd, c.Ssthresh = 20*ccMSS, 20*ccMSS
		una = 0
		for i := 0; i < 20*ccMSS/per; i++ {
			una = una.Add(uint32(per))
			c.OnAck(una, per, 0)
		}
		if c.Cwnd != 21*ccMSS {
			t.Errorf("one round of ACKs of %d bytes: cwnd %d, want %d (one MSS more)", per, c.Cwnd, 21*ccMSS)
		}
	}
	c.Cwnd = MaxBufferBytes
	c.OnAck(200, 100, 0)
	if c.Cwnd != MaxBufferBytes {
		t.Errorf("cwnd passed its cap: %d", c.Cwnd)
	}
}

// TestNewRenoFastRecovery walks RFC 5681 §3.2 and RFC 6582 §3.2: three
// duplicate ACKs, inflation, partial ACKs, the full ACK.
func TestNewRenoFastRecovery(t *testing.T) {
	c := NewNewReno(ccMSS)
	c.Cwnd, c.Ssthresh = 20*ccMSS, 20*ccMSS
	una := Seq(0xfffffa00)
	sndMax := una.Add(20 * ccMSS) // past the wrap
	flight := 20 * ccMSS
	for i := 1; i <= 2; i++ {
		if ch := c.OnDupAck(una, sndMax, flight); ch.Changed() || ch.Retransmit || ch.Why != "duplicate ACK" || c.DupAcks != i {
			t.Fatalf("dup ACK %d: %+v", i, ch)
		}
	}
	ch := c.OnDupAck(una, sndMax, flight)
	want := CwndChange{From: 20 * ccMSS, To: 13 * ccMSS, SsthreshFrom: 20 * ccMSS, SsthreshTo: 10 * ccMSS,
		Why: "fast retransmit", Retransmit: true}
	if ch != want || !c.InRecovery() || c.Recover != sndMax-1 || c.Phase() != "fast recovery" {
		t.Fatalf("third dup ACK: %+v, recover %#x; want %+v, %#x", ch, uint32(c.Recover), want, uint32(sndMax-1))
	}
	for i, w := range []int{14, 15} {
		if ch := c.OnDupAck(una, sndMax, flight); ch.To != w*ccMSS || ch.Retransmit {
			t.Fatalf("dup ACK %d in recovery: %+v, want cwnd %d MSS", 4+i, ch, w)
		}
	}
	// New data sent while inflated raises SND.MAX; recovery still ends at
	// the old Recover.
	sndMax = sndMax.Add(2 * ccMSS)

	// A partial ACK of 3 segments: deflate by 3, add one back, retransmit.
	una = una.Add(3 * ccMSS)
	if ch := c.OnAck(una, 3*ccMSS, int(sndMax.Sub(una))); ch.To != 13*ccMSS || !ch.Retransmit || !c.InRecovery() {
		t.Fatalf("partial ACK: %+v", ch)
	}
	// A partial ACK of less than a segment adds nothing back.
	una = una.Add(500)
	if ch := c.OnAck(una, 500, int(sndMax.Sub(una))); ch.To != 13*ccMSS-500 || !ch.Retransmit {
		t.Fatalf("small partial ACK: %+v", ch)
	}
	if ch := c.OnDupAck(una, sndMax, int(sndMax.Sub(una))); ch.To != 14*ccMSS-500 || ch.Retransmit {
		t.Fatalf("dup ACK after a partial ACK inflates: %+v", ch)
	}
	// The ACK covering Recover: recovery ends and cwnd deflates to
	// min(ssthresh, max(FlightSize, SMSS) + SMSS).
	una = c.Recover + 1
	flight = int(sndMax.Sub(una)) // the 2 new segments
	ch = c.OnAck(una, 1000, flight)
	if ch.To != 3*ccMSS || ch.Retransmit || c.InRecovery() || ch.Why != "full ACK: fast recovery ends" || c.Phase() != "slow start" {
		t.Fatalf("full ACK: %+v, phase %s", ch, c.Phase())
	}
	if c.Ssthresh != 10*ccMSS {
		t.Fatalf("ssthresh %d changed in recovery", c.Ssthresh)
	}
}

func TestNewRenoFullAckBounds(t *testing.T) {
	for _, tc := range []struct{ flight, want int }{
		{0, 2 * ccMSS},           // nothing outstanding: max(0, SMSS) + SMSS
		{5 * ccMSS, 6 * ccMSS},   // FlightSize + SMSS
		{12 * ccMSS, 10 * ccMSS}, // ssthresh
	} {
		c := NewNewReno(ccMSS)
		c.OnDupAck(0, 20*ccMSS, 20*ccMSS)
		c.OnDupAck(0, 20*ccMSS, 20*ccMSS)
		c.OnDupAck(0, 20*ccMSS, 20*ccMSS)
		if ch := c.OnFullAck(tc.flight); ch.To != tc.want {
			t.Errorf("flight %d: cwnd %d, want %d", tc.flight, ch.To, tc.want)
		}
		// Outside recovery both are no-ops.
		if ch := c.OnFullAck(0); ch.Changed() || ch.Why != "" {
			t.Errorf("OnFullAck outside recovery: %+v", ch)
		}
		if ch := c.OnPartialAck(ccMSS); ch.Changed() || ch.Retransmit {
			t.Errorf("OnPartialAck outside recovery: %+v", ch)
		}
	}
	// ssthresh is at least 2 segments.
	c := NewNewReno(ccMSS)
	for range 3 {
		c.OnDupAck(0, 3*ccMSS, 3*ccMSS)
	}
	if c.Ssthresh != 2*ccMSS || c.Cwnd != 5*ccMSS {
		t.Errorf("small flight: ssthresh %d cwnd %d", c.Ssthresh, c.Cwnd)
	}
	// Partial ACKs never take cwnd below one segment.
	c.OnPartialAck(20 * ccMSS)
	if c.Cwnd != ccMSS {
		t.Errorf("deflated to %d", c.Cwnd)
	}
}

// TestNewRenoTimeout: cwnd collapses to the loss window; ssthresh halves
// FlightSize once and holds on a repeated timeout (RFC 5681 §3.1).
func TestNewRenoTimeout(t *testing.T) {
	c := NewNewReno(ccMSS)
	c.Cwnd, c.Ssthresh = 30*ccMSS, 20*ccMSS
	sndMax := Seq(0x10000)
	ch := c.OnTimeout(sndMax, 30*ccMSS)
	want := CwndChange{From: 30 * ccMSS, To: ccMSS, SsthreshFrom: 20 * ccMSS, SsthreshTo: 15 * ccMSS, Why: "retransmission timeout"}
	if ch != want || c.Phase() != "slow start" || c.Recover != sndMax-1 {
		t.Fatalf("timeout: %+v, want %+v", ch, want)
	}
	if ch := c.OnTimeout(sndMax, 30*ccMSS); ch.SsthreshTo != 15*ccMSS || ch.To != ccMSS {
		t.Fatalf("second timeout: %+v, want ssthresh held", ch)
	}
	c.OnAck(sndMax-Seq(29*ccMSS), ccMSS, 29*ccMSS) // new data acknowledged
	if ch := c.OnTimeout(sndMax, 29*ccMSS); ch.SsthreshTo != 29*ccMSS/2 {
		t.Fatalf("timeout after progress: %+v", ch)
	}
	// A timeout ends fast recovery.
	c = NewNewReno(ccMSS)
	for range 3 {
		c.OnDupAck(0, 20*ccMSS, 20*ccMSS)
	}
	c.OnTimeout(20*ccMSS, 20*ccMSS)
	if c.InRecovery() || c.Cwnd != ccMSS || c.DupAcks != 0 {
		t.Fatalf("timeout in recovery: %s cwnd %d", c.Phase(), c.Cwnd)
	}
}

// TestNewRenoRecoverCheck: after a timeout, duplicate ACKs below Recover
// come from our own go-back-N retransmissions and must not start fast
// retransmit (RFC 6582 §3.2 step 1); past Recover they may.
func TestNewRenoRecoverCheck(t *testing.T) {
	c := NewNewReno(ccMSS)
	una := Seq(0xffffe000)
	sndMax := una.Add(10 * ccMSS) // wraps
	c.OnTimeout(sndMax, 10*ccMSS)
	una = una.Add(4 * ccMSS)
	c.OnAck(una, 4*ccMSS, int(sndMax.Sub(una)))
	for range 3 {
		if ch := c.OnDupAck(una, sndMax, int(sndMax.Sub(una))); ch.Retransmit || c.InRecovery() {
			t.Fatalf("dup ACK at %#x before recover %#x: %+v", uint32(una), uint32(c.Recover), ch)
		}
	}
	// The ACK of exactly Recover itself is still not past it.
	c.OnAck(c.Recover, int((c.Recover).Sub(una)), 1)
	for range 3 {
		if ch := c.OnDupAck(c.Recover, sndMax, 1); ch.Retransmit {
			t.Fatalf("dup ACK at recover: %+v", ch)
		}
	}
	// Past it, three duplicates are a loss again.
	sndMax = sndMax.Add(20 * ccMSS)
	c.OnAck(c.Recover+1, 1, 20*ccMSS)
	var ch CwndChange
	for range 3 {
		ch = c.OnDupAck(c.Recover+1, sndMax, 20*ccMSS)
	}
	if !ch.Retransmit || !c.InRecovery() || c.Recover != sndMax-1 {
		t.Fatalf("third dup ACK past recover: %+v", ch)
	}
}

func TestCwndChangeString(t *testing.T) {
	c := NewNewReno(ccMSS)
	if got := c.OnAck(ccMSS, ccMSS, 0).String(); got != "cwnd 14600 -> 16060, ssthresh inf (slow start)" {
		t.Errorf("slow start: %q", got)
	}
	c.OnDupAck(ccMSS, 21*ccMSS, 20*ccMSS)
	if got := c.OnDupAck(ccMSS, 21*ccMSS, 20*ccMSS).String(); got != "cwnd 16060, ssthresh inf (duplicate ACK)" {
		t.Errorf("dup ACK: %q", got)
	}
	if got := c.OnDupAck(ccMSS, 21*ccMSS, 20*ccMSS).String(); got != "cwnd 16060 -> 18980, ssthresh inf -> 14600 (fast retransmit), retransmit" {
		t.Errorf("fast retransmit: %q", got)
	}
}

// TestNewRenoSACKRecovery: with SACK, recovery is RFC 6675's: cwnd =
// ssthresh = FlightSize/2 on entry (no +3 segments), no inflation by
// duplicate ACKs, no deflation or retransmission request on a partial ACK
// (the connection's pipe and NextSeg decide), cwnd unchanged at the end.
func TestNewRenoSACKRecovery(t *testing.T) {
	c := NewNewReno(ccMSS)
	c.SACK = true
	una := Seq(0xfffff000) // past the wrap
	sndMax := una.Add(10 * ccMSS)
	c.OnDupAck(una, sndMax, 10*ccMSS)
	c.OnDupAck(una, sndMax.Add(ccMSS), 11*ccMSS) // limited transmit sent one
	ch := c.OnDupAck(una, sndMax.Add(2*ccMSS), 12*ccMSS)
	want := CwndChange{From: 10 * ccMSS, To: 5 * ccMSS, SsthreshFrom: cwndMax, SsthreshTo: 5 * ccMSS, Why: "fast retransmit", Retransmit: true}
	if ch != want || !c.InRecovery() {
		t.Fatalf("third dup ACK: %+v, want %+v", ch, want)
	}
	if ch := c.OnDupAck(una, sndMax, 12*ccMSS); ch.Changed() || ch.Retransmit {
		t.Fatalf("dup ACK in SACK recovery: %+v", ch)
	}
	una = una.Add(3 * ccMSS)
	if ch := c.OnAck(una, 3*ccMSS, 9*ccMSS); ch.Changed() || ch.Retransmit || !c.InRecovery() {
		t.Fatalf("partial ACK: %+v", ch)
	}
	if ch := c.OnAck(c.Recover+1, ccMSS, 0); ch.Changed() || c.InRecovery() {
		t.Fatalf("full ACK: %+v", ch)
	}
}

// TestNewRenoSACKLoss: IsLost may start recovery before the third
// duplicate ACK (RFC 6675 §5 step 2), but not in recovery nor before an
// earlier Recover is passed (RFC 6582 §3.2 step 1, RFC 6675 §5.1).
func TestNewRenoSACKLoss(t *testing.T) {
	c := NewNewReno(ccMSS)
	c.SACK = true
	c.OnDupAck(0, 10*ccMSS, 10*ccMSS)
	ch := c.OnSACKLoss(0, 10*ccMSS)
	if !ch.Retransmit || !c.InRecovery() || c.Ssthresh != 5*ccMSS || c.Cwnd != 5*ccMSS || c.Recover != 10*ccMSS-1 {
		t.Fatalf("SACK loss: %+v", ch)
	}
	if ch := c.OnSACKLoss(0, 10*ccMSS); ch.Retransmit || ch.Changed() {
		t.Fatalf("SACK loss in recovery: %+v", ch)
	}
	c.OnTimeout(20*ccMSS, 20*ccMSS)
	c.OnAck(5*ccMSS, 5*ccMSS, 15*ccMSS)
	c.OnDupAck(5*ccMSS, 20*ccMSS, 15*ccMSS)
	if ch := c.OnSACKLoss(5*ccMSS, 20*ccMSS); ch.Retransmit || c.InRecovery() {
		t.Fatalf("SACK loss before recover: %+v", ch)
	}
}

// TestNewRenoOnIdle: the restart window is min(IW, cwnd) (RFC 5681 §4.1).
func TestNewRenoOnIdle(t *testing.T) {
	c := NewNewReno(ccMSS)
	c.Cwnd, c.Ssthresh = 30*ccMSS, 20*ccMSS
	if ch := c.OnIdle(); ch.To != 10*ccMSS || ch.SsthreshTo != 20*ccMSS || ch.Why != "restart after idle" {
		t.Fatalf("idle: %+v", ch)
	}
	c.Cwnd = 4 * ccMSS
	if ch := c.OnIdle(); ch.Changed() {
		t.Fatalf("idle below IW: %+v", ch)
	}
}
