package stack_test

import (
	"context"
	"net"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	"github.com/packetwalk/packetwalk/stack"
)

// A Wakeable poll returns when another goroutine calls wake, at that
// virtual instant, and only then: without the wake it waits out its
// timeout. (httpd's "event" workers hand connections back this way.)
func TestPollerWake(t *testing.T) {
	for _, wakeAt := range []time.Duration{-1, 0, 300 * time.Millisecond} {
		p, err := stack.NewPair(stack.TopologyConfig{Seed: 1})
		if err != nil {
			t.Fatal(err)
		}
		poll, wake := stack.Poller{Host: p.Server}.Wakeable()
		var returned atomic.Int64
		var done atomic.Bool
		var ready []int
		var acceptable bool
		var perr error
		p.Net.Go(func() {
			ln, err := p.Server.ListenTCP(netip.AddrPortFrom(p.Server.Addr(), 80), 4)
			if err != nil {
				perr = err
				done.Store(true)
				return
			}
			if wakeAt >= 0 {
				p.Net.Go(func() {
					p.Server.Poll(nil, wakeAt) // sleep in virtual time
					wake()
				})
			}
			acceptable, ready, perr = poll(ln, []net.Conn{}, time.Second)
			returned.Store(int64(p.Net.Clock.Now()))
			done.Store(true)
		})
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err = p.Net.RunUntil(ctx, done.Load)
		cancel()
		if err != nil || perr != nil {
			t.Fatalf("wake at %v: %v %v", wakeAt, err, perr)
		}
		want := time.Second
		if wakeAt >= 0 {
			want = wakeAt
		}
		if got := time.Duration(returned.Load()); got != want || acceptable || len(ready) != 0 {
			t.Errorf("wake at %v: the poll returned at %v (acceptable %v, ready %v); want %v, nothing ready", wakeAt, got, acceptable, ready, want)
		}
	}
}
