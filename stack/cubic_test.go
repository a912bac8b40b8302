package stack

import (
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/packetwalk/packetwalk/tcp"
	"github.com/packetwalk/packetwalk/viz"
	"github.com/packetwalk/packetwalk/wire"
)

// cubicPoint is one cwnd step of the client: when, the window after it
// (bytes) and its reason.
type cubicPoint struct {
	at   time.Duration
	cwnd int
	why  string
}

// cubicRun sends data from client to server, both with congestion control
// cc, over a 10 Mbit/s wire with 100 ms of latency each way (RTT 200 ms)
// that drops the frames in faults, and returns the client's cwnd steps
// and the whole log.
func cubicRun(t *testing.T, cc tcp.CongestionControl, data []byte, faults []wire.Fault) ([]cubicPoint, *viz.MemorySink) {
	t.Helper()
	p, mem := tbPair(t, 38, tcp.Config{Congestion: cc},
		wire.Config{Latency: 100 * time.Millisecond, BandwidthBitsPerSecond: 10_000_000, Faults: faults})
	tbTransfer(t, p, data)
	var pts []cubicPoint
	for _, e := range tbSteps(mem, "client", viz.LayerTCP, "cwnd") {
		n, _ := strconv.Atoi(field(e, "cwnd"))
		pts = append(pts, cubicPoint{e.T, n, e.Msg})
	}
	return pts, mem
}

// cubicRecovery returns the client's one loss reduction (the cwnd step of
// its fast retransmit), the FlightSize when it began (PRR's RecoverFS)
// and when the recovery ended.
func cubicRecovery(t *testing.T, mem *viz.MemorySink) (loss viz.Event, recoverFS int, end time.Duration) {
	t.Helper()
	var losses []viz.Event
	for _, e := range tbSteps(mem, "client", viz.LayerTCP, "cwnd") {
		if strings.Contains(e.Msg, "fast retransmit") {
			losses = append(losses, e)
		}
	}
	if len(losses) != 1 {
		t.Fatalf("%d loss reductions, want the one the fault caused", len(losses))
	}
	for _, e := range tbSteps(mem, "client", viz.LayerTCP, "prr") {
		if v, ok := e.Field("recover_fs"); ok && strings.HasPrefix(e.Msg, "recovery begins") {
			recoverFS, _ = strconv.Atoi(v)
		}
		if strings.HasPrefix(e.Msg, "recovery ends") {
			end = e.T
		}
	}
	if recoverFS == 0 || end == 0 {
		t.Fatal("no PRR recovery in the log")
	}
	return losses[0], recoverFS, end
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}

// TestCUBICRegrowsAlongTheCurve: a CUBIC connection (Config.Congestion)
// that loses one segment in slow start, on a path with an RTT of 200 ms,
// sets ssthresh to 0.7 × FlightSize (RFC 9438 §4.6) where NewReno halves
// it, and after the recovery cwnd climbs back along W_cubic(t) = C(t−K)³
// + W_max (§4.2): fast at first, ever slower as it nears W_max (concave,
// §4.4), reaching it K = cbrt((W_max − cwnd_epoch)/C) seconds after the
// recovery, then faster again beyond it (convex, §4.5). Both hosts are
// packetwalk; the same seed gives the same cwnd trace twice.
func TestCUBICRegrowsAlongTheCurve(t *testing.T) {
	const rtt = 200 * time.Millisecond
	data := tbBytes(38, 6<<20)
	// A first run without the fault finds the frame of the 150th data
	// segment, sent in slow start when about 100 segments are in flight.
	_, mem := cubicRun(t, tcp.CongestionCUBIC, data, nil)
	var victim uint64
	n, mss := 0, 0 // the MSS: the largest segment (1448 bytes with timestamps)
	for _, e := range tbSteps(mem, "client", viz.LayerTCP, "send") {
		if l := atoi(field(e, "len")); l != 0 {
			mss = max(mss, l)
			if n++; n == 150 {
				victim = e.Frame
			}
		}
	}
	if victim == 0 {
		t.Fatalf("only %d data segments", n)
	}
	seg := float64(mss)
	fault := []wire.Fault{{Frame: victim, Kind: wire.FaultDrop}}
	pts, mem := cubicRun(t, tcp.CongestionCUBIC, data, fault)

	// The reduction: ssthresh = 0.7 × FlightSize, W_max = the cwnd
	// when the loss was found (the first loss: no fast convergence).
	loss, recoverFS, end := cubicRecovery(t, mem)
	wMax, ssthresh := atoi(field(loss, "from")), atoi(field(loss, "ssthresh"))
	if want := recoverFS * 7 / 10; ssthresh != want || !strings.Contains(loss.Msg, "RFC 9438 §4.6") {
		t.Errorf("loss: %s; want ssthresh 0.7 × FlightSize %d = %d", loss.Msg, recoverFS, want)
	}
	if field(loss, "w_max") != strconv.Itoa(wMax) || wMax < 80*mss {
		t.Errorf("loss: W_max %s, want the cwnd %d at the loss (80 segments or more)", field(loss, "w_max"), wMax)
	}
	k := math.Cbrt(float64(wMax-ssthresh) / seg / 0.4) // seconds, RFC 9438 §4.2
	if logged, err := time.ParseDuration(field(loss, "k")); err != nil || math.Abs(logged.Seconds()-k) > 0.001 {
		t.Errorf("loss: k %q, want K = cbrt((W_max - ssthresh)/C) = %.3fs", field(loss, "k"), k)
	}
	t.Logf("loss at %v: cwnd %d segments, FlightSize %d, ssthresh %d (%.3f of FlightSize)",
		loss.T, wMax/mss, recoverFS/mss, ssthresh/mss, float64(ssthresh)/float64(recoverFS))

	// Congestion avoidance after the recovery: cwnd starts at ssthresh
	// and follows the curve.
	var ca []cubicPoint
	for _, p := range pts {
		if p.at >= end && strings.Contains(p.why, "CUBIC congestion avoidance") {
			ca = append(ca, p)
		}
	}
	if len(ca) < 100 {
		t.Fatalf("%d congestion avoidance steps after the recovery", len(ca))
	}
	epoch := ca[0].at
	curve := func(at time.Duration) float64 {
		d := (at - epoch).Seconds() - k
		return 0.4*d*d*d + float64(wMax)/seg
	}
	cwndAt := func(at time.Duration) float64 {
		c := ca[0].cwnd
		for _, p := range ca {
			if p.at > at {
				break
			}
			c = p.cwnd
		}
		return float64(c) / seg
	}
	if ca[0].cwnd-ssthresh > mss {
		t.Errorf("congestion avoidance starts at cwnd %d, want ssthresh %d", ca[0].cwnd, ssthresh)
	}
	end = ca[len(ca)-1].at
	if end < epoch+time.Duration((k+3)*float64(time.Second)) {
		t.Fatalf("the transfer ended %v after the recovery, before K + 3 s (K = %.2f s)", end-epoch, k)
	}
	// Each ACK aims at W_cubic(t + RTT), which cwnd reaches in about a
	// round trip: cwnd is on W_cubic(t), within two segments, all along.
	worst := 0.0
	for _, p := range ca {
		if p.at < epoch+rtt {
			continue
		}
		d := math.Abs(float64(p.cwnd)/seg - curve(p.at))
		worst = max(worst, d)
		if d > 2 {
			t.Fatalf("at %v after the recovery cwnd is %.1f segments, W_cubic(t) %.1f", p.at-epoch, float64(p.cwnd)/seg, curve(p.at))
		}
		if strings.Contains(p.why, "Reno-friendly") {
			t.Errorf("at %v after the recovery: %s; at this RTT and window the curve is ahead of Reno", p.at-epoch, p.why)
		}
	}
	sec := func(s float64) time.Duration { return epoch + time.Duration(s*float64(time.Second)) }
	g := []float64{cwndAt(sec(1)) - cwndAt(sec(0)), cwndAt(sec(2)) - cwndAt(sec(1)), cwndAt(sec(3)) - cwndAt(sec(2))}
	if !(g[0] > g[1] && g[1] > g[2] && g[2] > 0) {
		t.Errorf("growth in the first three seconds %.1f, %.1f, %.1f segments: want ever less (concave)", g[0], g[1], g[2])
	}
	if at := cwndAt(sec(k)); math.Abs(at-float64(wMax)/seg) > 1.5 {
		t.Errorf("cwnd at K = %.2f s: %.1f segments, want W_max %.1f", k, at, float64(wMax)/seg)
	}
	h := []float64{cwndAt(sec(k+2)) - cwndAt(sec(k+1)), cwndAt(sec(k+3)) - cwndAt(sec(k+2))}
	if !(h[1] > h[0] && h[0] > 0) {
		t.Errorf("growth in seconds K+1..K+2, K+2..K+3: %.1f, %.1f segments: want ever more (convex)", h[0], h[1])
	}
	t.Logf("congestion avoidance from %v: cwnd %d segments; K %.2f s; growth by second %.1f, %.1f, %.1f, then past W_max %.1f, %.1f; at most %.2f segments off W_cubic(t)",
		epoch, ca[0].cwnd/mss, k, g[0], g[1], g[2], h[0], h[1], worst)

	// The same seed, the same trace.
	again, _ := cubicRun(t, tcp.CongestionCUBIC, data, fault)
	if !slices.Equal(pts, again) {
		t.Errorf("a second run with the same seed drew another cwnd trace (%d and %d steps)", len(pts), len(again))
	}

	// NewReno, the default, over the same wire and fault: half.
	_, mem = cubicRun(t, tcp.CongestionNewReno, data, fault)
	loss, recoverFS, _ = cubicRecovery(t, mem)
	if ss := atoi(field(loss, "ssthresh")); ss != recoverFS/2 || strings.Contains(loss.Msg, "CUBIC") {
		t.Errorf("NewReno: %s; want ssthresh FlightSize/2 = %d", loss.Msg, recoverFS/2)
	}
}
