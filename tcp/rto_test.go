package tcp

import (
	"math"
	"testing"
	"time"
)

const rttMs = time.Millisecond

// TestRTTEstimatorRFC6298 follows RFC 6298 §2's formulas through samples
// worked by hand: (2.2) for the first, (2.3) after.
func TestRTTEstimatorRFC6298(t *testing.T) {
	e := NewRTTEstimator(time.Millisecond, 0, 0) // a low floor, to see the formulas
	if got := e.RTO(); got != time.Second {
		t.Fatalf("RTO before any sample = %v, want 1s (2.1)", got)
	}
	for i, tc := range []struct {
		r                 time.Duration
		srtt, rttvar, rto time.Duration
	}{
		// (2.2): SRTT = R, RTTVAR = R/2, RTO = SRTT + 4*RTTVAR.
		{100 * rttMs, 100 * rttMs, 50 * rttMs, 300 * rttMs},
		// RTTVAR = 3/4*50 + 1/4*|100-200| = 62.5; SRTT = 7/8*100 + 1/8*200 = 112.5.
		{200 * rttMs, 112500 * time.Microsecond, 62500 * time.Microsecond, 362500 * time.Microsecond},
		// RTTVAR = 3/4*62.5 + 1/4*|112.5-50| = 62.5; SRTT = 7/8*112.5 + 1/8*50 = 104.6875.
		{50 * rttMs, 104687500, 62500 * time.Microsecond, 354687500},
		// RTTVAR = 3/4*62.5 + 1/4*|104.6875-104.6875| = 46.875; SRTT unchanged.
		{104687500, 104687500, 46875 * time.Microsecond, 292187500},
	} {
		e.Sample(tc.r)
		if e.SRTT != tc.srtt || e.RTTVar != tc.rttvar || e.RTO() != tc.rto {
			t.Fatalf("sample %d (%v): SRTT %v RTTVAR %v RTO %v; want %v %v %v",
				i+1, tc.r, e.SRTT, e.RTTVar, e.RTO(), tc.srtt, tc.rttvar, tc.rto)
		}
	}
	if e.Samples() != 4 {
		t.Errorf("Samples = %d", e.Samples())
	}
}

// TestRTTEstimatorFloat checks a long irregular series against the
// formulas in floating point: the integer arithmetic may only round.
func TestRTTEstimatorFloat(t *testing.T) {
	var e RTTEstimator // the zero value uses the defaults
	e.Min = time.Nanosecond
	var srtt, rttvar float64
	for i := range 200 {
		r := time.Duration(40+37*(i%7)+int(30*math.Sin(float64(i)))) * rttMs // 10..292 rttMs
		e.Sample(r)
		if i == 0 {
			srtt, rttvar = float64(r), float64(r)/2
		} else {
			rttvar = 0.75*rttvar + 0.25*math.Abs(srtt-float64(r))
			srtt = 0.875*srtt + 0.125*float64(r)
		}
		if math.Abs(float64(e.SRTT)-srtt) > 10 || math.Abs(float64(e.RTTVar)-rttvar) > 10 {
			t.Fatalf("sample %d: SRTT %v RTTVAR %v, formulas give %v %v", i, e.SRTT, e.RTTVar,
				time.Duration(srtt), time.Duration(rttvar))
		}
		if want := srtt + max(float64(time.Millisecond), 4*rttvar); math.Abs(float64(e.RTO())-want) > 50 {
			t.Fatalf("sample %d: RTO %v, want %v", i, e.RTO(), time.Duration(want))
		}
	}
}

func TestRTTEstimatorClamp(t *testing.T) {
	var e RTTEstimator
	e.Sample(1 * rttMs) // 1 + 4*0.5 = 3 rttMs, raised to the floor
	if got := e.RTO(); got != DefaultRTOMin {
		t.Errorf("RTO after a 1 rttMs sample = %v, want %v", got, DefaultRTOMin)
	}
	e = RTTEstimator{}
	e.Sample(100 * time.Second) // 100 + 200 s, capped
	if got := e.RTO(); got != DefaultRTOMax {
		t.Errorf("RTO after a 100 s sample = %v, want %v", got, DefaultRTOMax)
	}
	// G: with constant samples RTTVAR decays to nothing, and G is what is
	// left of the variation term.
	e = NewRTTEstimator(time.Microsecond, 0, 0)
	for range 200 {
		e.Sample(10 * rttMs)
	}
	if e.RTTVar != 0 || e.RTO() != 10*rttMs+DefaultClockGranularity {
		t.Errorf("steady 10 rttMs: RTTVAR %v RTO %v, want 0, 11ms", e.RTTVar, e.RTO())
	}
	// A negative sample (a clock going backwards) is ignored; zero is an RTT.
	e.Sample(-time.Second)
	if e.Samples() != 200 {
		t.Errorf("negative sample counted")
	}
	e.Sample(0)
	if e.Samples() != 201 {
		t.Errorf("zero sample not counted")
	}
}

// TestRTTEstimatorBackoff doubles from the initial 1 s to the 120 s cap
// (RFC 6298 (5.5)); a sample collapses it again (§5's closing note).
func TestRTTEstimatorBackoff(t *testing.T) {
	var e RTTEstimator
	want := []time.Duration{2, 4, 8, 16, 32, 64, 120, 120, 120}
	for i, w := range want {
		if got := e.Backoff(); got != w*time.Second || e.RTO() != got {
			t.Fatalf("backoff %d: %v, RTO %v; want %v", i+1, got, e.RTO(), w*time.Second)
		}
	}
	if e.Backoffs() != len(want) {
		t.Errorf("Backoffs = %d, want %d", e.Backoffs(), len(want))
	}
	e.ResetBackoff()
	if e.RTO() != time.Second || e.Backoffs() != 0 {
		t.Errorf("after ResetBackoff: RTO %v, Backoffs %d", e.RTO(), e.Backoffs())
	}
	e.Sample(300 * rttMs) // RTO 900 rttMs
	e.Backoff()
	e.Backoff()
	if e.RTO() != 3600*rttMs {
		t.Errorf("two backoffs from 900 rttMs = %v", e.RTO())
	}
	e.Sample(300 * rttMs) // RTTVAR 112.5 rttMs: 300 + 450
	if e.RTO() != 750*rttMs || e.Backoffs() != 0 {
		t.Errorf("a sample after backoff: RTO %v, Backoffs %d; want 750ms, 0", e.RTO(), e.Backoffs())
	}
	// A cap near the top of time.Duration must not overflow.
	e = NewRTTEstimator(0, math.MaxInt64, 0)
	for range 100 {
		if e.Backoff() <= 0 {
			t.Fatal("backoff overflowed")
		}
	}
}

func TestRTTEstimatorHandshakeRetransmitted(t *testing.T) {
	var e RTTEstimator
	e.Backoff() // the SYN timed out: 2 s
	e.HandshakeRetransmitted()
	if e.RTO() != 3*time.Second || e.Backoffs() != 0 {
		t.Errorf("after a SYN timeout: RTO %v, want 3s (RFC 6298 (5.7))", e.RTO())
	}
	e = RTTEstimator{}
	e.Sample(50 * rttMs)
	e.HandshakeRetransmitted()
	if e.RTO() != DefaultRTOMin {
		t.Errorf("with a sample: RTO %v, want the sample's %v", e.RTO(), DefaultRTOMin)
	}
	e = NewRTTEstimator(0, 2*time.Second, 0)
	e.HandshakeRetransmitted()
	if e.RTO() != 2*time.Second {
		t.Errorf("3 s above a 2 s Max: RTO %v", e.RTO())
	}
}

// TestRTTEstimatorAppendixG: with ExpectedSamples n, the weights are 1/(8n)
// and 1/(4n) (RFC 7323 Appendix G); n of 1 (or less) is RFC 6298's Sample.
func TestRTTEstimatorAppendixG(t *testing.T) {
	a, b := NewRTTEstimator(time.Millisecond, 0, 0), NewRTTEstimator(time.Millisecond, 0, 0)
	for _, r := range []time.Duration{100 * rttMs, 200 * rttMs, 50 * rttMs} {
		a.Sample(r)
		b.SampleWeighted(r, 0)
		if a.SRTT != b.SRTT || a.RTTVar != b.RTTVar || a.RTO() != b.RTO() {
			t.Fatalf("SampleWeighted(%v, 0) gave SRTT %v RTTVAR %v, Sample %v %v", r, b.SRTT, b.RTTVar, a.SRTT, a.RTTVar)
		}
	}
	e := NewRTTEstimator(time.Millisecond, 0, 0)
	e.SampleWeighted(100*rttMs, 5) // the first sample is (2.2) whatever n
	if e.SRTT != 100*rttMs || e.RTTVar != 50*rttMs {
		t.Fatalf("first sample: SRTT %v RTTVAR %v", e.SRTT, e.RTTVar)
	}
	// n = 5: RTTVAR = 19/20*50 + 1/20*|100-50| = 50; SRTT = 39/40*100 + 1/40*50 = 98.75.
	e.SampleWeighted(50*rttMs, 5)
	if e.SRTT != 98750*time.Microsecond || e.RTTVar != 50*rttMs || e.RTO() != 298750*time.Microsecond {
		t.Fatalf("n=5: SRTT %v RTTVAR %v RTO %v; want 98.75ms 50ms 298.75ms", e.SRTT, e.RTTVar, e.RTO())
	}
}
