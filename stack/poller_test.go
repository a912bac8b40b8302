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

// watch(c) wakes the loop's poll when c becomes readable, though c is not
// in the poll's set, and not before: an event loop is woken when a
// persistent connection's next request arrives, not when a worker gives
// the connection back. A connection already readable wakes it at once.
func TestPollerWatch(t *testing.T) {
	const sendAt = 300 * time.Millisecond
	for _, already := range []bool{false, true} {
		p, err := stack.NewPair(stack.TopologyConfig{Seed: 1})
		if err != nil {
			t.Fatal(err)
		}
		poll, _, watch := stack.Poller{Host: p.Server}.WatchWakeable()
		var returned, arrived atomic.Int64
		var done atomic.Bool
		var ready []int
		var perr error
		p.Net.Go(func() {
			defer done.Store(true)
			addr := netip.AddrPortFrom(p.Server.Addr(), 80)
			ln, err := p.Server.ListenTCP(addr, 4)
			if err != nil {
				perr = err
				return
			}
			p.Net.Go(func() {
				c, err := p.Client.DialTCP(context.Background(), addr)
				if err != nil {
					perr = err
					return
				}
				if !already {
					p.Client.Poll(nil, sendAt)
				}
				c.Write([]byte("GET / HTTP/1.1\r\n\r\n"))
			})
			sc, err := ln.Accept()
			if err != nil {
				perr = err
				return
			}
			if already {
				p.Server.Poll(nil, sendAt) // the request arrives meanwhile
			}
			arrived.Store(int64(p.Net.Clock.Now()))
			watch(sc)
			// The connection is not in the set: only watch can end
			// this poll before its timeout.
			_, ready, perr = poll(nil, []net.Conn{}, 10*time.Second)
			returned.Store(int64(p.Net.Clock.Now()))
			if !already {
				// The request's arrival is what woke it.
				n, _ := sc.Read(make([]byte, 100))
				if n == 0 {
					perr = net.ErrClosed
				}
			}
		})
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err = p.Net.RunUntil(ctx, done.Load)
		cancel()
		if err != nil || perr != nil {
			t.Fatalf("already readable %v: %v %v", already, err, perr)
		}
		got := time.Duration(returned.Load())
		switch {
		case already && got != time.Duration(arrived.Load()):
			t.Errorf("a connection already readable when watched: the poll returned at %v; want at once (%v)", got, time.Duration(arrived.Load()))
		case !already && (got < sendAt || got > sendAt+100*time.Millisecond):
			t.Errorf("the watched connection's request was sent at %v: the poll returned at %v; want as it arrives", sendAt, got)
		}
		if len(ready) != 0 {
			t.Errorf("already readable %v: ready %v; want none (the set was empty)", already, ready)
		}
	}
}
