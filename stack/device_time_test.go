package stack_test

import (
	"context"
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/packetwalk/packetwalk/ip"
	"github.com/packetwalk/packetwalk/stack"
	"github.com/packetwalk/packetwalk/viz"
	"github.com/packetwalk/packetwalk/wire"
)

// memTUN is a TUN file descriptor in memory whose kernel side has queued a
// whole burst before the host reads: every read returns at once, as from a
// kernel sending at full speed.
type memTUN struct {
	in      chan []byte
	closed  chan struct{}
	once    sync.Once
	mu      sync.Mutex
	written int
	enough  chan struct{} // closed after want writes
	want    int
}

func (d *memTUN) Read(p []byte) (int, error) {
	select {
	case b := <-d.in:
		return copy(p, b), nil
	case <-d.closed:
		return 0, io.EOF
	}
}

func (d *memTUN) Write(p []byte) (int, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.written++
	if d.written == d.want {
		close(d.enough)
	}
	return len(p), nil
}

func (d *memTUN) Close() error { d.once.Do(func() { close(d.closed) }); return nil }

// A host on a device stamps every step with the wall clock at the moment
// it happens, not once per wake of its paced loop: a burst of echo
// requests read and drained back to back, through a wire that duplicates
// 5% of them, gives (almost) every frame a time of its own, the times
// never go back, the host's epoch is the real time it was made, and the RX
// ring at its default size keeps up with the drain (no ring_full).
//
// With half the frames duplicated the ring must keep up too: the drain
// hands the NIC at most half its driver's budget per event.
func TestDeviceHostStampsStepsWithTheWallClock(t *testing.T) {
	for _, dup := range []float64{0.05, 0.5} {
		t.Run(fmt.Sprintf("dup_%v", dup), func(t *testing.T) { testDeviceHostWallClock(t, dup) })
	}
}

func testDeviceHostWallClock(t *testing.T, dup float64) {
	const burst = 2000
	server := netip.MustParseAddr("10.9.0.2")
	kernel := netip.MustParseAddr("10.9.0.1")
	dev := &memTUN{in: make(chan []byte, burst), closed: make(chan struct{}), enough: make(chan struct{}), want: burst}
	payload := make([]byte, 1000)
	for i := range burst {
		icmp := ip.AppendEchoRequest(nil, 7, uint16(i), payload)
		pkt := ip.IPv4Header{ID: uint16(i), TTL: 64, Protocol: ip.ProtocolICMP, Src: kernel, Dst: server}.Append(nil, len(icmp))
		dev.in <- append(pkt, icmp...)
	}
	before := time.Now()
	var mem viz.MemorySink
	mem.Limit = 1 << 22
	dh, err := stack.NewDeviceHost(dev, stack.DeviceHostConfig{
		Prefix: netip.PrefixFrom(server, 24),
		Device: wire.DeviceConfig{Kind: wire.TUN, Name: "tun0"},
		Link:   &wire.Config{Latency: time.Microsecond, Impairments: wire.Impairments{Duplicate: dup, Seed: 3}},
	})
	if err != nil {
		t.Fatal(err)
	}
	dh.Log.AddSink(&mem)
	if e := dh.Epoch(); e.Before(before) || e.After(time.Now()) {
		t.Errorf("the host's epoch is %v, not the real time it was made (between %v and now)", e, before)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- dh.Run(ctx) }()
	select {
	case <-dev.enough:
	case <-time.After(10 * time.Second):
		t.Errorf("the host answered %d of %d echo requests within 10 s", dev.written, burst)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}

	first := map[uint64]time.Duration{}
	stamps := map[time.Duration]bool{}
	var last time.Duration
	ringFull, ringUsed := 0, 0
	for _, e := range mem.Events() {
		if e.T < last {
			t.Fatalf("step %s/%s at %v comes after one at %v: time went back", e.Layer, e.Step, e.T, last)
		}
		last = e.T
		if e.Reason == viz.ReasonRingFull {
			ringFull++
		}
		if e.Layer == viz.LayerNIC && e.Step == "ring" && e.Verdict == viz.Pass {
			for _, f := range e.Fields {
				if n, err := strconv.Atoi(f.Value()); err == nil && f.Key == "used" {
					ringUsed = max(ringUsed, n)
				}
			}
		}
		if _, ok := first[e.Frame]; e.Frame != 0 && !ok {
			first[e.Frame] = e.T
			stamps[e.T] = true
		}
	}
	distinct := float64(len(stamps)) / float64(len(first))
	t.Logf("%d frames, %d distinct times (%.1f%%), %d ring_full (at most %d RX ring slots used), the last step %v after the epoch",
		len(first), len(stamps), 100*distinct, ringFull, ringUsed, last)
	if len(first) < burst+burst/2 {
		t.Errorf("the step log has %d frames, want at least the %d requests and most of their replies", len(first), burst)
	}
	if distinct < 0.9 {
		t.Errorf("%d frames share %d times (%.1f%% distinct): each step must be stamped with the wall clock when it happens", len(first), len(stamps), 100*distinct)
	}
	if ringFull > 0 {
		t.Errorf("%d frames were dropped with ring_full: the drain outran the RX ring's default size", ringFull)
	}
}
