package stack

import (
	"errors"
	"fmt"
	"net"
	"time"
)

// Poller waits for readiness on packetwalk connections through the host's
// Poll call: it is what a multiplexed server (httpd's "multiplexed" I/O
// architecture, "HTTP: The Definitive Guide" ch. 5) uses to serve many
// connections from one goroutine.
type Poller struct{ Host *Host }

// Poll returns the indexes of the connections with data to read, an end of
// stream or an error, waiting at most timeout (negative: until one is
// ready).
func (p Poller) Poll(conns []net.Conn, timeout time.Duration) ([]int, error) {
	fds := make([]PollFD, len(conns))
	for i, c := range conns {
		pc, ok := c.(*Conn)
		if !ok || pc.h != p.Host {
			return nil, fmt.Errorf("stack.Poller: connection %d is not a socket of host %s", i, p.Host.Name)
		}
		fds[i] = PollFD{FD: pc.fd, Events: POLLIN}
	}
	if len(fds) == 0 && timeout < 0 {
		return nil, errors.New("stack.Poller: waiting for ever on no connections")
	}
	if _, err := p.Host.Poll(fds, timeout); err != nil {
		return nil, err
	}
	var ready []int
	for i, f := range fds {
		if f.Revents != 0 {
			ready = append(ready, i)
		}
	}
	return ready, nil
}

// PollListener is Poll with a listening socket in the set: acceptable is
// set when ln has a connection in its accept queue (or an error).
func (p Poller) PollListener(ln net.Listener, conns []net.Conn, timeout time.Duration) (acceptable bool, ready []int, err error) {
	l, ok := ln.(*listener)
	if !ok || l.h != p.Host {
		return false, nil, fmt.Errorf("stack.Poller: the listener is not a socket of host %s", p.Host.Name)
	}
	fds := make([]PollFD, len(conns)+1)
	for i, c := range conns {
		pc, ok := c.(*Conn)
		if !ok || pc.h != p.Host {
			return false, nil, fmt.Errorf("stack.Poller: connection %d is not a socket of host %s", i, p.Host.Name)
		}
		fds[i] = PollFD{FD: pc.fd, Events: POLLIN}
	}
	fds[len(conns)] = PollFD{FD: l.fd, Events: POLLIN}
	if _, err := p.Host.Poll(fds, timeout); err != nil {
		return false, nil, err
	}
	for i, f := range fds[:len(conns)] {
		if f.Revents != 0 {
			ready = append(ready, i)
		}
	}
	return fds[len(conns)].Revents != 0, ready, nil
}

// pollWake is one event loop's wake-up: Wake sets pending and wakes the
// loop's Poll, which then returns (as an eventfd(2) in a poll(2) set
// does in a real event loop). Its fields are touched only on the host's
// loop.
type pollWake struct {
	pending bool // wake was called since the last poll that saw it
	q       waitQueue

	// The loop's poll set and its answer, kept between calls (one
	// event loop polls from one goroutine) rather than made anew for
	// every poll, as epoll keeps its interest list.
	fds    []PollFD
	ready  []int
	queues []*waitQueue
}

// Wakeable returns a poll for one event loop (PollListener's, where ln
// may be nil), and wake, which another
// goroutine calls to make that loop's poll return at once, or its next
// one if it is not polling: httpd's "event" architecture hands a
// connection back to its event loop this way once a worker has answered
// its request. wake is a socket call (it goes through the host's loop),
// so in virtual time it is as deterministic as a write.
func (p Poller) Wakeable() (poll func(ln net.Listener, conns []net.Conn, timeout time.Duration) (acceptable bool, ready []int, err error), wake func()) {
	return p.wakeable(&pollWake{})
}

func (p Poller) wakeable(wk *pollWake) (poll func(ln net.Listener, conns []net.Conn, timeout time.Duration) (acceptable bool, ready []int, err error), wake func()) {
	h := p.Host
	wake = func() {
		h.loop.Do(func() {
			wk.pending = true
			wk.q.wakeAll(h.loop)
		})
	}
	poll = func(ln net.Listener, conns []net.Conn, timeout time.Duration) (bool, []int, error) {
		fds := wk.fds[:0]
		for i, c := range conns {
			pc, ok := c.(*Conn)
			if !ok || pc.h != h {
				return false, nil, fmt.Errorf("stack.Poller: connection %d is not a socket of host %s", i, h.Name)
			}
			fds = append(fds, PollFD{FD: pc.fd, Events: POLLIN})
		}
		if ln != nil {
			l, ok := ln.(*listener)
			if !ok || l.h != h {
				return false, nil, fmt.Errorf("stack.Poller: the listener is not a socket of host %s", h.Name)
			}
			fds = append(fds, PollFD{FD: l.fd, Events: POLLIN})
		}
		wk.fds = fds
		if _, err := h.poll(fds, timeout, wk); err != nil {
			return false, nil, err
		}
		// ready is valid until the next call, which the loop makes
		// only once it has handled this one's.
		ready := wk.ready[:0]
		for i, f := range fds[:len(conns)] {
			if f.Revents != 0 {
				ready = append(ready, i)
			}
		}
		wk.ready = ready
		return ln != nil && fds[len(conns)].Revents != 0, ready, nil
	}
	return poll, wake
}

// WatchWakeable is Wakeable with watch: watch(c) makes the loop's poll
// return (as wake does) once c has something to read, or at once if it
// already has; it does not wake the loop before that. An event loop's
// worker that gives a persistent connection back calls it rather than
// wake, so that the loop is not woken just to add the connection to its
// poll set and wait again: it wakes when the next request arrives, as a
// connection re-armed in an epoll(7) set with EPOLLONESHOT wakes
// epoll_wait only when it is ready. The watch ends once it has fired or
// the socket is closed.
func (p Poller) WatchWakeable() (poll func(ln net.Listener, conns []net.Conn, timeout time.Duration) (acceptable bool, ready []int, err error), wake func(), watch func(c net.Conn)) {
	wk := &pollWake{}
	poll, wake = p.wakeable(wk)
	h := p.Host
	fire := func() {
		wk.pending = true
		wk.q.wakeAll(h.loop)
	}
	watch = func(c net.Conn) {
		pc, ok := c.(*Conn)
		if !ok || pc.h != h {
			wake()
			return
		}
		h.loop.Do(func() {
			s, err := h.get(pc.fd)
			if err != nil || h.revents(PollFD{FD: pc.fd, Events: POLLIN}) != 0 {
				fire()
				return
			}
			s.readable.add(&waiter{fn: fire})
		})
	}
	return poll, wake, watch
}

// Now is the host's clock as a time, so a multiplexer measures its
// timeouts in the simulation's time.
func (p Poller) Now() time.Time { return time.Unix(0, 0).Add(p.Host.Clock.Now()) }
