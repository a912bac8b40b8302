package main

import (
	"bufio"
	"errors"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/gopacket/gopacket/pcapgo"
	"github.com/packetwalk/packetwalk/internal/testenv"
	"github.com/packetwalk/packetwalk/viz"
)

// TestTUNRealTime: through TUN, curl downloads 100 MB from packetwalk with
// 5% of the frames between the device and the NIC duplicated, the kernel
// sending as fast as it can. On a device the steps are stamped with the
// wall clock when they happen: at least 90% of the frames have a time of
// their own in the step log and in the capture; the capture is dated in
// real time (within this run, not on the simulations' fixed date); TCP's
// RTT samples are real round trips through the kernel; and the RX ring at
// its default size keeps up with the drain (no ring_full).
//
// The kernel's TCP timestamps are turned off in the namespace, so that
// packetwalk times one segment per round trip with its clock (RFC 6298
// §3) instead of echoing timestamps counted in 1 ms ticks, which would
// hide a frozen clock behind the tick.
func TestTUNRealTime(t *testing.T) {
	testenv.Tool(t, "curl", "install it with: apt-get install curl")
	testenv.Tool(t, "ping", "install it with: apt-get install iputils-ping")
	const size = 100 << 20
	docroot := t.TempDir()
	// A sparse file: zeros cost the server a read like any other bytes.
	if err := os.Truncate(mustCreate(t, filepath.Join(docroot, "big.bin")), size); err != nil {
		t.Fatal(err)
	}
	before := time.Now()
	s := startTUNServer(t, "--docroot", docroot, "--dup", "0.05", "--seed", "3")
	if _, errOut, err := s.run(t, "sysctl", "-qw", "net.ipv4.tcp_timestamps=0"); err != nil {
		t.Fatalf("turning off TCP timestamps in the namespace: %v: %s", err, errOut)
	}

	// The round trip through the device while nothing else runs: the
	// kernel's ping, answered by packetwalk's ICMP.
	out, errOut, err := s.run(t, "ping", "-q", "-c", "5", "-i", "0.2", "-W", "2", tunAddr)
	m := regexp.MustCompile(`= ([0-9.]+)/([0-9.]+)/`).FindStringSubmatch(out)
	if err != nil || m == nil {
		t.Fatalf("ping: %v: %s%s", err, out, errOut)
	}
	pingMin, _ := strconv.ParseFloat(m[1], 64)
	pingRTT := time.Duration(pingMin * float64(time.Millisecond))

	start := time.Now()
	out, errOut, err = s.ns.Run(30*time.Second, "curl", "-sS", "--max-time", "25", "-o", "/dev/null", "-w", "%{size_download}", "http://"+tunAddr+"/big.bin")
	if err != nil || out != strconv.Itoa(size) {
		t.Fatalf("curl big.bin: %q bytes, %v: %s", out, err, errOut)
	}
	took := time.Since(start)
	if err := s.proc.Stop(); err != nil {
		t.Fatalf("serve did not stop cleanly on SIGTERM: %v", err)
	}
	after := time.Now()

	// The step log: each frame's first step, the RTT samples, the drops.
	lg := scanRealTime(t, s.jsonl)
	distinct := float64(lg.stamps) / float64(lg.frames)
	slices.Sort(lg.rtts)
	t.Logf("100 MB in %v; step log: %d frames, %d distinct times (%.1f%%), %d ring_full; %d RTT samples: min %v, p10 %v, median %v, p90 %v; ping's minimum %v",
		took.Round(time.Millisecond), lg.frames, lg.stamps, 100*distinct, lg.ringFull, len(lg.rtts),
		quantile(lg.rtts, 0), quantile(lg.rtts, 0.1), quantile(lg.rtts, 0.5), quantile(lg.rtts, 0.9), pingRTT)
	if lg.frames < size/1500 {
		t.Fatalf("the step log has %d frames; 100 MB take at least %d", lg.frames, size/1500)
	}
	if distinct < 0.9 {
		t.Errorf("step log: %d frames share %d times (%.1f%% distinct), want at least 90%%: a step must be stamped when it happens", lg.frames, lg.stamps, 100*distinct)
	}
	if lg.ringFull > 0 {
		t.Errorf("%d frames were dropped with ring_full at the default ring size", lg.ringFull)
	}
	// A round trip through the kernel is a write to the device, the
	// kernel's TCP and a read back: tens of microseconds at the least.
	// A clock that stands still while the loop drains gives 0 or a few
	// microseconds (the device link's latency).
	const floor = 10 * time.Microsecond
	if len(lg.rtts) == 0 {
		t.Errorf("the step log has no RTT sample")
	} else {
		below := 0
		for _, r := range lg.rtts {
			if r < floor {
				below++
			}
		}
		if below > len(lg.rtts)/100 {
			t.Errorf("%d of %d RTT samples are below %v (the shortest %v): not real round trips", below, len(lg.rtts), floor, lg.rtts[0])
		}
		// Under load a sample can be shorter than ping's idle round
		// trip, which also counts ping's own wake-up and the paced
		// loop's from idle: the median must not be.
		underPing := 0
		for _, r := range lg.rtts {
			if r < pingRTT {
				underPing++
			}
		}
		t.Logf("%d of %d RTT samples (%.1f%%) are below ping's idle minimum %v; %d below %v", underPing, len(lg.rtts), 100*float64(underPing)/float64(len(lg.rtts)), pingRTT, below, floor)
		if med := quantile(lg.rtts, 0.5); med < pingRTT {
			t.Errorf("the median RTT sample under load, %v, is below the kernel's idle round trip through the device (ping's minimum, %v)", med, pingRTT)
		}
	}

	// The capture: dated in real time, one time per frame.
	f, err := os.Open(s.pcap)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := pcapgo.NewNgReader(bufio.NewReaderSize(f, 1<<20), pcapgo.DefaultNgReaderOptions)
	if err != nil {
		t.Fatal(err)
	}
	packets, outside := 0, 0
	times := map[int64]bool{}
	var first time.Time
	for {
		_, ci, err := r.ZeroCopyReadPacketData()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("reading packet %d of the capture: %v", packets+1, err)
		}
		if packets == 0 {
			first = ci.Timestamp
		}
		packets++
		times[ci.Timestamp.UnixNano()] = true
		if ci.Timestamp.Before(before) || ci.Timestamp.After(after) {
			outside++
		}
	}
	pdistinct := float64(len(times)) / float64(max(packets, 1))
	t.Logf("capture: %d packets, %d distinct times (%.1f%%), the first at %v", packets, len(times), 100*pdistinct, first.Local().Format(time.RFC3339Nano))
	if pdistinct < 0.9 {
		t.Errorf("capture: %d packets share %d times (%.1f%% distinct), want at least 90%%", packets, len(times), 100*pdistinct)
	}
	if outside > 0 {
		t.Errorf("capture: %d of %d packets are dated outside this run (%v to %v), the first at %v: a live capture is dated in real time",
			outside, packets, before.Format(time.RFC3339), after.Format(time.RFC3339), first.Format(time.RFC3339Nano))
	}
}

func mustCreate(t *testing.T, file string) string {
	t.Helper()
	f, err := os.Create(file)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	return file
}

// realTimeLog is what TestTUNRealTime reads from a step log.
type realTimeLog struct {
	frames, stamps int // frames, and distinct times of their first steps
	ringFull       int
	rtts           []time.Duration // the rtt steps' samples
}

// scanRealTime reads a step log line by line (it holds a million steps).
func scanRealTime(t *testing.T, file string) realTimeLog {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var lg realTimeLog
	seen := map[uint64]bool{}
	stamps := map[time.Duration]bool{}
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var e viz.Event
		if err := e.UnmarshalJSON(sc.Bytes()); err != nil {
			t.Fatalf("step log: %v: %s", err, sc.Bytes())
		}
		if e.Reason == viz.ReasonRingFull {
			lg.ringFull++
		}
		if e.Frame != 0 && !seen[e.Frame] {
			seen[e.Frame] = true
			stamps[e.T] = true
		}
		if e.Layer == viz.LayerTCP && e.Step == "rtt" {
			for _, fl := range e.Fields {
				if fl.Key == "rtt" {
					d, err := time.ParseDuration(fl.Value())
					if err != nil {
						t.Fatalf("rtt step with sample %q: %v", fl.Value(), err)
					}
					lg.rtts = append(lg.rtts, d)
				}
			}
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	lg.frames, lg.stamps = len(seen), len(stamps)
	return lg
}

// quantile returns the q-quantile of sorted durations (0 for none).
func quantile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(int(q*float64(len(sorted))), len(sorted)-1)]
}
