package stack

import (
	"context"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/packetwalk/packetwalk/clock"
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

// A poll waits only on the conditions it asks for: a poll for POLLIN on
// a connection whose sent data is being acknowledged is not woken by the
// room each ACK frees (an event loop would otherwise wake, find nothing
// to read and poll again once per acknowledged response), while the
// peer's FIN, which a reader must see, still ends it.
func TestPollWaitsOnlyForWhatItAsks(t *testing.T) {
	p, err := NewPair(TopologyConfig{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	h, c := p.Server, p.Client
	addr := netip.MustParseAddrPort("10.0.0.2:8080")
	ln, _ := h.Socket(AF_INET, SOCK_STREAM)
	if err := h.Bind(ln, addr); err != nil {
		t.Fatal(err)
	}
	if err := h.Listen(ln, 4); err != nil {
		t.Fatal(err)
	}
	var (
		readable, writable int // the server socket's waiters during the poll
		revents            int
		done               bool
	)
	srv := FD(-1)
	p.Net.Go(func() {
		fd, _, err := h.Accept(ln)
		if err != nil {
			t.Error(err)
			done = true
			return
		}
		srv = fd
		// 64 KB to the client: its ACKs free send space while the
		// server polls for input only.
		if _, err := h.Write(fd, make([]byte, 64<<10)); err != nil {
			t.Error(err)
		}
		fds := []PollFD{{FD: fd, Events: POLLIN}}
		if _, err := h.Poll(fds, time.Hour); err != nil {
			t.Error(err)
		}
		revents = fds[0].Revents
		done = true
	})
	p.Net.Go(func() {
		fd, _ := c.Socket(AF_INET, SOCK_STREAM)
		if err := c.Connect(fd, addr); err != nil {
			t.Error(err)
			return
		}
		buf := make([]byte, 64<<10)
		for got := 0; got < 64<<10; {
			n, err := c.Read(fd, buf)
			if err != nil {
				t.Error(err)
				return
			}
			got += n
		}
		c.Poll(nil, time.Second) // every ACK has reached the server
		h.loop.Do(func() {
			s, _ := h.get(srv)
			readable, writable = len(s.readable.waiters), len(s.writable.waiters)
		})
		c.Close(fd)
	})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := p.Net.RunUntil(ctx, func() bool { return done }); err != nil {
		t.Fatal(err)
	}
	if readable != 1 || writable != 0 {
		t.Errorf("a poll for POLLIN waits on %d readable and %d writable queues; want 1 and 0", readable, writable)
	}
	if revents&POLLIN == 0 {
		t.Errorf("the client's FIN ended the poll with revents %#x; want POLLIN", revents)
	}
}

// A wait queue keeps its array from one round of waiters to the next: an
// event loop's poll adds a waiter to every socket's queue and takes it off
// when it wakes, and a queue that made a new array at every add, remove
// and wake-up made garbage in proportion to the connections times the
// polls (a tenth of a soak's allocations). The waiters woken are still
// every one added and not removed, in order.
func TestWaitQueueReusesItsArray(t *testing.T) {
	l := NewLoop(clock.NewVirtual())
	var q waitQueue
	var woken []int
	ws := make([]*waiter, 8)
	for i := range ws {
		ws[i] = &waiter{fn: func() { woken = append(woken, i) }}
	}
	round := func() {
		woken = woken[:0]
		for _, w := range ws {
			w.woken = false
			q.add(w)
		}
		q.remove(ws[3])
		q.remove(ws[0])
		q.wakeAll(l)
	}
	round()
	if want := []int{1, 2, 4, 5, 6, 7}; !slices.Equal(woken, want) {
		t.Errorf("woken %v, want %v", woken, want)
	}
	if allocs := testing.AllocsPerRun(100, round); allocs != 0 {
		t.Errorf("a round of 8 adds, 2 removes and a wake-up made %v allocations, want 0", allocs)
	}
	if len(q.waiters) != 0 {
		t.Errorf("%d waiters left", len(q.waiters))
	}
}
