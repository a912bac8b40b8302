package main

import (
	"bufio"
	"encoding/binary"
	"errors"
	"io"
	"net"
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
// RTT samples are real round trips through the kernel (each at least the
// kernel's own round trip for the same segment, from a capture on the
// kernel's side of the device); and the RX ring at
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

	// The kernel's own view of the same round trips: a capture on its
	// side of the device, stamped by the kernel as segments enter and
	// leave it.
	kernelPcap, dumpcap := captureKernelSide(t, s)

	start := time.Now()
	out, errOut, err = s.ns.Run(30*time.Second, "curl", "-sS", "--max-time", "25", "-o", "/dev/null", "-w", "%{size_download}", "http://"+tunAddr+"/big.bin")
	if err != nil || out != strconv.Itoa(size) {
		t.Fatalf("curl big.bin: %q bytes, %v: %s", out, err, errOut)
	}
	took := time.Since(start)
	time.Sleep(200 * time.Millisecond) // the last ACKs into the kernel's capture
	dumpcap.Stop()
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
		// Each sample against the kernel's real round trip for the
		// same segment: from the timed segment's arrival in the kernel
		// to the kernel's first ACK covering it, both as the kernel
		// stamped them. packetwalk's clock starts before its write to the
		// device and stops after its read from it, so a true sample
		// contains the kernel's; a stale clock makes it shorter.
		matched, shorter, worst := 0, 0, time.Duration(0)
		kernel := kernelRoundTrips(t, kernelPcap)
		for _, smp := range lg.samples {
			k, ok := kernel.roundTrip(smp.seq)
			if !ok {
				continue
			}
			matched++
			// The capture's stamps are in microseconds.
			if smp.rtt+time.Microsecond < k {
				shorter++
				worst = max(worst, k-smp.rtt)
			}
		}
		t.Logf("%d of %d RTT samples matched in the kernel's capture of pw0; %d shorter than the kernel's round trip for the same segment (by at most %v)", matched, len(lg.samples), shorter, worst)
		if matched < len(lg.samples)/2 {
			t.Errorf("only %d of %d RTT samples found their segment and ACK in the kernel's capture", matched, len(lg.samples))
		}
		if shorter > 0 {
			t.Errorf("%d of %d RTT samples are shorter than the kernel's own round trip for the same segment (by up to %v): packetwalk's clock did not advance with real time", shorter, matched, worst)
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
	samples        []rttSample     // the valid ones (not Karn-ambiguous), with the timed segment
}

// rttSample is one RTT sample of the step log and the sequence number of
// the segment it timed.
type rttSample struct {
	rtt time.Duration
	seq uint32
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
			var smp rttSample
			hasSeq := false
			for _, fl := range e.Fields {
				switch fl.Key {
				case "rtt":
					d, err := time.ParseDuration(fl.Value())
					if err != nil {
						t.Fatalf("rtt step with sample %q: %v", fl.Value(), err)
					}
					lg.rtts = append(lg.rtts, d)
					smp.rtt = d
				case "seq":
					n, err := strconv.ParseUint(fl.Value(), 10, 32)
					if err != nil {
						t.Fatalf("rtt step with seq %q: %v", fl.Value(), err)
					}
					smp.seq, hasSeq = uint32(n), true
				}
			}
			if hasSeq {
				lg.samples = append(lg.samples, smp)
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

// kernelTrips is what the kernel's capture of pw0 says about packetwalk's
// data segments and the kernel's ACKs.
type kernelTrips struct {
	dataAt map[uint32]time.Time // a data segment's sequence number: when its first copy reached the kernel
	acks   []kernelACK          // the kernel's ACKs to packetwalk, in capture order
}

type kernelACK struct {
	at  time.Time
	ack uint32
}

// kernelRoundTrips reads a capture of the TUN device (raw IPv4) made on
// the kernel's side.
func kernelRoundTrips(t *testing.T, file string) kernelTrips {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := pcapgo.NewNgReader(bufio.NewReaderSize(f, 1<<20), pcapgo.DefaultNgReaderOptions)
	if err != nil {
		t.Fatalf("the kernel's capture: %v", err)
	}
	kt := kernelTrips{dataAt: map[uint32]time.Time{}}
	server := net.ParseIP(tunAddr).To4()
	for {
		data, ci, err := r.ZeroCopyReadPacketData()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("the kernel's capture: %v", err)
		}
		if len(data) < 20 || data[0]>>4 != 4 || data[9] != 6 {
			continue // not IPv4, or not TCP
		}
		ihl := int(data[0]&0x0f) * 4
		if len(data) < ihl+20 {
			continue
		}
		totalLen := int(binary.BigEndian.Uint16(data[2:4]))
		tcp := data[ihl:]
		seq, ack := binary.BigEndian.Uint32(tcp[4:8]), binary.BigEndian.Uint32(tcp[8:12])
		payload := totalLen - ihl - int(tcp[12]>>4)*4
		switch {
		case net.IP(data[12:16]).Equal(server) && payload > 0:
			if _, seen := kt.dataAt[seq]; !seen {
				kt.dataAt[seq] = ci.Timestamp
			}
		case net.IP(data[16:20]).Equal(server) && tcp[13]&0x10 != 0:
			kt.acks = append(kt.acks, kernelACK{ci.Timestamp, ack})
		}
	}
	return kt
}

// roundTrip is the kernel's round trip for the segment at seq: from its
// arrival to the first ACK the kernel sent after it that covers it.
func (kt kernelTrips) roundTrip(seq uint32) (time.Duration, bool) {
	at, ok := kt.dataAt[seq]
	if !ok {
		return 0, false
	}
	i, _ := slices.BinarySearchFunc(kt.acks, at, func(a kernelACK, t time.Time) int { return a.at.Compare(t) })
	for ; i < len(kt.acks); i++ {
		if int32(kt.acks[i].ack-seq) > 0 {
			return kt.acks[i].at.Sub(at), true
		}
	}
	return 0, false
}
