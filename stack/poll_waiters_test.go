package stack

import (
	"context"
	"net/netip"
	"testing"
	"time"
)

// A poll on several sockets, woken by one of them, leaves no waiter behind
// on the others: an event loop polls its idle connections thousands of
// times a second, and every waiter left on a socket that stays quiet was
// memory until the poll's timeout (a keep-alive load grew the server to
// gigabytes in bench/soak/run).
func TestPollLeavesNoWaiters(t *testing.T) {
	p, err := NewPair(TopologyConfig{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	h := p.Server
	quiet, err := h.Socket(AF_INET, SOCK_DGRAM)
	if err != nil {
		t.Fatal(err)
	}
	busy, _ := h.Socket(AF_INET, SOCK_DGRAM)
	if err := h.Bind(quiet, netip.MustParseAddrPort("10.0.0.2:7001")); err != nil {
		t.Fatal(err)
	}
	if err := h.Bind(busy, netip.MustParseAddrPort("10.0.0.2:7002")); err != nil {
		t.Fatal(err)
	}
	client, _ := p.Client.Socket(AF_INET, SOCK_DGRAM)
	const rounds = 50
	done := false
	p.Net.Go(func() {
		buf := make([]byte, 64)
		for range rounds {
			fds := []PollFD{{FD: quiet, Events: POLLIN}, {FD: busy, Events: POLLIN}}
			if _, err := h.Poll(fds, time.Hour); err != nil {
				t.Error(err)
				break
			}
			h.RecvFrom(busy, buf)
		}
		done = true
	})
	p.Net.Go(func() {
		for range rounds {
			p.Client.SendTo(client, []byte("x"), netip.MustParseAddrPort("10.0.0.2:7002"))
			p.Client.Poll(nil, time.Millisecond)
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := p.Net.RunUntil(ctx, func() bool { return done }); err != nil {
		t.Fatal(err)
	}
	var left int
	h.loop.Do(func() {
		s, _ := h.get(quiet)
		left = len(s.readable.waiters) + len(s.writable.waiters) + len(s.acceptable.waiters)
	})
	if left > 0 {
		t.Errorf("after %d polls woken by the busy socket, the quiet socket's wait queues hold %d waiters; want 0", rounds, left)
	}
}
