package httpd

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/packetwalk/packetwalk/viz"
)

// The connection I/O architectures of "HTTP: The Definitive Guide" ch. 5
// (step 2), chosen by Config.Arch, so that a lab can compare them under
// load:
//
//	single       one connection at a time: the accept loop serves each to
//	             its end; every other client waits in the listen backlog.
//	             Simple, and right only for a diagnostic tool.
//	pool         a bounded pool of goroutines (Config.Workers), one per
//	             connection; connections beyond it wait in a queue, and
//	             beyond Config.MaxConns are answered 503. (The book's
//	             multi-process/multithreaded server.)
//	multiplexed  one goroutine watches every connection for readiness
//	             (Config.Poller) and does a little work on whichever is
//	             ready: read what arrived, answer each complete request.
//	             No goroutine waits on an idle client; but it answers
//	             requests itself, so a slow mapping (a CGI program) or a
//	             client that stops reading stalls every other connection
//	             (for IdleTimeout at most), which a lab can show.
//	event        multiplexed multithreaded (the book's fourth; Apache's
//	             event MPM, nginx with a thread pool): Config.EventLoops
//	             event loops watch the connections for readiness and
//	             parse bytes into complete requests, as "multiplexed"
//	             does, and hand each complete request to a bounded pool
//	             of workers (Config.Workers, queue Config.MaxQueue) that
//	             run steps 3 to 7; the worker then hands the connection
//	             back to its loop. No worker waits on an idle client or
//	             on one that sends slowly, and a slow mapping holds one
//	             worker, not the loop. The default (event.go).
//
// Only "pool" and "event" use more than one goroutine to serve requests;
// only "multiplexed" and "event" need a Poller.

// The architectures' names.
const (
	ArchSingle      = "single"
	ArchPool        = "pool"
	ArchMultiplexed = "multiplexed"
	ArchEvent       = "event"
)

// Poller waits until connections are ready to read, as poll(2) does: it
// returns the indexes in conns of those with bytes to read, a pending end
// of stream or an error, waiting at most timeout (0: do not wait; negative:
// wait until one is ready). With no conns it just waits out the timeout.
// Package stack implements it over its Poll call for packetwalk's
// connections.
//
// If the Poller also has a method Now() time.Time, the multiplexer measures
// its timeouts with it rather than with time.Now: a simulation's poller
// passes virtual time that way.
type Poller interface {
	Poll(conns []net.Conn, timeout time.Duration) (ready []int, err error)
}

// ListenPoller is a Poller that also watches a listening socket, as an
// event loop puts its listening sockets in the same poll set as its
// connections (nginx's workers do, with epoll). The multiplexer then
// accepts in its own loop the moment a connection is ready, instead of
// learning of it from a goroutine blocked in accept() only when its poll
// next times out.
type ListenPoller interface {
	Poller
	// PollListener waits as Poll does, and also reports whether ln has
	// a connection to accept (or an error, which Accept will return).
	PollListener(ln net.Listener, conns []net.Conn, timeout time.Duration) (acceptable bool, ready []int, err error)
}

// WakePoller is a Poller that an event loop can be woken from, as an
// event loop puts an eventfd(2) or a self-pipe in its poll set: the
// "event" architecture's workers hand connections back to their loop
// through it. Wakeable returns, for one event loop, its poll (as
// PollListener; ln may be nil) and wake, which other goroutines call to
// make the loop's current poll return at once (or its next one, if it is
// not polling). Package stack's Poller and the kernel poller
// (poll_linux.go) implement it. Without it, a loop learns of a returned
// connection when its poll next times out (PollInterval).
type WakePoller interface {
	Poller
	Wakeable() (poll func(ln net.Listener, conns []net.Conn, timeout time.Duration) (acceptable bool, ready []int, err error), wake func())
}

// WatchPoller is a WakePoller whose event loops can also be woken by a
// connection becoming readable without being woken first to add it to
// their poll set: WatchWakeable's watch(c) makes the loop's poll return
// once c has bytes to read (at once if it has), as a connection re-armed
// in an epoll(7) set with EPOLLONESHOT does. The "event" architecture's
// workers give a persistent connection back this way, so that a
// keep-alive request costs the loop one wake-up, not two. Package
// stack's Poller implements it.
type WatchPoller interface {
	WakePoller
	WatchWakeable() (poll func(ln net.Listener, conns []net.Conn, timeout time.Duration) (acceptable bool, ready []int, err error), wake func(), watch func(c net.Conn))
}

// pollerFor is the Poller that watches ln's connections: Config.Poller,
// else the listener's own, else poll(2) on kernel sockets.
func (s *Server) pollerFor(ln net.Listener) Poller {
	if s.cfg.Poller != nil {
		return s.cfg.Poller
	}
	if rp, ok := ln.(interface{ ReadinessPoller() any }); ok {
		if p, ok := rp.ReadinessPoller().(Poller); ok {
			return p
		}
	}
	return kernelPoller{}
}

// maxLingerers bounds the goroutines that close connections gently for
// the accept loop and the multiplexer (which must not wait themselves).
const maxLingerers = 64

// muxReadSize is how much the multiplexer reads from a ready connection
// at a time.
const muxReadSize = 32 << 10

// muxBodyReadSize bounds one read into a body of known length (see read).
const muxBodyReadSize = 1 << 20

// serveSingle is the "single" architecture.
func (s *Server) serveSingle(ln net.Listener) error {
	return s.acceptLoop(ln, s.serveConn)
}

// servePool is the "pool" architecture. Workers are started on demand
// (with Config.Spawn) up to Config.Workers, and a worker that finishes a
// connection takes the next from the queue or ends: no goroutine waits
// on a channel, which keeps a simulation's virtual time able to advance.
func (s *Server) servePool(ln net.Listener) error {
	return s.acceptLoop(ln, func(nc net.Conn) {
		s.mu.Lock()
		switch {
		case s.closing:
			s.mu.Unlock()
			nc.Close()
		case s.workers+len(s.queue) >= s.cfg.MaxConns:
			s.mu.Unlock()
			s.overloaded(nc)
		case s.workers < s.cfg.Workers:
			s.workers++
			s.mu.Unlock()
			s.cfg.Spawn(func() { s.worker(nc) })
		default:
			s.queue = append(s.queue, nc)
			pos := len(s.queue)
			s.mu.Unlock()
			if st := s.st; st.on() {
				c := s.newConn(nc)
				st.emit(c.id, "accept", viz.Note, "",
					fmt.Sprintf("all %d workers are busy: the connection from %s waits in the queue (position %d).", s.cfg.Workers, c.remote, pos),
					viz.F("client", c.remote.String()), viz.F("queue", strconv.Itoa(pos)), viz.F("arch", s.cfg.Arch))
			}
		}
	})
}

// worker serves connections until the queue is empty.
func (s *Server) worker(nc net.Conn) {
	for {
		s.serveConn(nc)
		s.mu.Lock()
		if len(s.queue) == 0 {
			s.workers--
			s.mu.Unlock()
			return
		}
		nc = s.queue[0]
		s.queue[0] = nil
		s.queue = s.queue[1:]
		s.mu.Unlock()
	}
}

// overloaded answers a connection beyond MaxConns with 503 and closes it,
// without reading its request.
func (s *Server) overloaded(nc net.Conn) {
	c := s.newConn(nc)
	s.closes.add(CloseOverloaded)
	msg := fmt.Sprintf("the server holds its maximum of %d connections", s.cfg.MaxConns)
	s.errorLog("", c.remote, msg+": answered 503")
	if st := s.st; st.on() {
		st.emit(c.id, "accept", viz.Drop, viz.ReasonHTTPOverloaded,
			fmt.Sprintf("%s: the connection from %s is answered 503 Service Unavailable and closed.", msg, c.remote),
			viz.F("client", c.remote.String()), viz.F("max_conns", strconv.Itoa(s.cfg.MaxConns)), viz.F("arch", s.cfg.Arch))
	}
	body := errorPage(503, &Request{}, &Resource{})
	resp := fmt.Sprintf("HTTP/1.1 503 Service Unavailable\r\nDate: %s\r\nServer: %s\r\nRetry-After: 1\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s",
		s.cfg.Now().UTC().Format(httpTimeFormat), s.cfg.ServerSoftware, len(body), body)
	// The accept loop must not wait on a slow client for long.
	nc.SetWriteDeadline(time.Now().Add(time.Second))
	n, err := io.WriteString(nc, resp)
	if st := s.st; st.on() {
		if err != nil {
			st.emit(c.id, "send", viz.Drop, viz.ReasonHTTPSendFailed, "writing 503 failed: "+err.Error()+"; closing.",
				viz.F("status", "503"), viz.F("bytes", strconv.Itoa(n)))
		} else {
			st.emit(c.id, "send", viz.Send, "", fmt.Sprintf("wrote 503 Service Unavailable (%d bytes); closing the connection.", n),
				viz.F("status", "503"), viz.F("bytes", strconv.Itoa(n)), viz.F("keep", "no"))
		}
	}
	s.closeAsync(nc)
}

// closeAsync closes nc gently: it sends the FIN at once (shutdown(2) does
// not wait), then reads and discards what still comes (lingerClose) in a
// goroutine of its own, so that the caller does not wait; with too many
// such goroutines already, it closes at once.
func (s *Server) closeAsync(nc net.Conn) {
	cw, ok := nc.(interface{ CloseWrite() error })
	if !ok || cw.CloseWrite() != nil {
		nc.Close()
		return
	}
	if s.lingerers.Add(1) > maxLingerers {
		s.lingerers.Add(-1)
		nc.Close()
		return
	}
	s.cfg.Spawn(func() {
		defer s.lingerers.Add(-1)
		lingerDrain(nc)
	})
}

// muxer is the "multiplexed" architecture's one goroutine and its
// connections.
type muxer struct {
	s      *Server
	now    func() time.Time
	poller Poller

	// ln is the listener the multiplexer watches itself (ListenPoller);
	// nil when a separate accept loop hands it connections.
	ln net.Listener

	mu      sync.Mutex
	pending []*conn // accepted, not yet watched
	stopped bool    // the accept loop has ended
	err     error   // why the multiplexer gave up

	conns []*muxConn // owned by the multiplexer goroutine

	// The "event" architecture (event.go); ev is nil in "multiplexed".
	ev       *eventPool
	es       *eventServe
	id       int // the loop's number in the step log, from 1
	poll     func(ln net.Listener, conns []net.Conn, timeout time.Duration) (bool, []int, error)
	wake     func()
	watch    func(net.Conn) // WatchPoller: wake the loop once the connection is readable
	done     func()         // releases what poll and wake hold, once the loop has ended
	sleeping atomic.Bool    // the loop may be in (or about to enter) its poll
	back     []handBack     // connections the workers gave back (under mu)

	// The parser's readers, reset for each request (advance).
	rd bytes.Reader
	br *bufio.Reader
}

// muxConn is one multiplexed connection's state between readiness events:
// the bytes received and not yet parsed, and where in a request it is.
type muxConn struct {
	c          *conn
	in         []byte    // received, not yet consumed
	eof        bool      // the client closed its sending half
	broken     error     // a read failed
	lastActive time.Time // when it last finished a response (or was accepted)
	since      time.Time // first byte of the current request; zero: none yet
	headAt     time.Time // when the current request's header section was complete
	received   time.Time // Config.Now at the first byte, for the log
	sent100    bool      // 100 Continue sent for the current request
	body       bodyWait  // where the current request's body ends, once its head is parsed
	closed     bool
	busy       bool // "event": a worker has its request; the loop leaves it alone
	// kaw: the wait for the next request across keep-alive timeouts
	// (keepAliveMore); reset by each response.
	kaw kaWait
}

// serveMultiplexed is the "multiplexed" architecture. With a
// ListenPoller (and no step-1 lookups, which would hold up every other
// connection), this goroutine is the multiplexer and watches the listener
// with the connections; otherwise this goroutine accepts (and runs step
// 1, whose lookups may take a while) and the multiplexer, started with
// Spawn, does the rest.
func (s *Server) serveMultiplexed(ln net.Listener) error {
	m := &muxer{s: s, now: time.Now, poller: s.pollerFor(ln)}
	if n, ok := m.poller.(interface{ Now() time.Time }); ok {
		m.now = n.Now
	}
	s.mu.Lock()
	s.mux = append(s.mux, m)
	s.mu.Unlock()
	if _, ok := m.poller.(ListenPoller); ok && s.cfg.ReverseDNS == nil && s.cfg.Ident == nil {
		m.ln = ln
		m.run()
		if err := m.failed(); err != nil {
			return err
		}
		return ErrServerClosed
	}
	s.cfg.Spawn(m.run)

	err := s.acceptLoop(ln, m.admit)
	m.mu.Lock()
	m.stopped = true
	if m.err != nil {
		err = m.err
	}
	m.mu.Unlock()
	return err
}

// admit runs step 1 on an accepted connection and hands it to the
// multiplexer.
func (m *muxer) admit(nc net.Conn) {
	s := m.s
	if m.failed() != nil {
		nc.Close()
		return
	}
	if s.held() >= s.cfg.MaxConns {
		s.overloaded(nc)
		return
	}
	c := s.newConn(nc)
	c.mux = true
	if !s.track(c) {
		nc.Close()
		return
	}
	if !c.accept() {
		s.closes.add(CloseRefused)
		c.close(false)
		s.untrack(c)
		return
	}
	c.bw = bufio.NewWriterSize(nc, connBufferSize)
	m.mu.Lock()
	m.pending = append(m.pending, c)
	m.mu.Unlock()
}

// acceptReady accepts the connection the poll said was ready; when the
// listener fails (it was closed by Shutdown or Close), the multiplexer
// stops watching it and ends once its connections have.
func (m *muxer) acceptReady() {
	nc, err := m.ln.Accept()
	if err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() && !m.s.isClosing() {
			return // nothing after all: poll again
		}
		if !m.s.isClosing() {
			m.s.errorLog("", netip.AddrPort{}, "accept failed: "+err.Error())
		}
		m.ln = nil
		if m.es != nil {
			m.es.stop()
			return
		}
		m.mu.Lock()
		m.stopped = true
		m.mu.Unlock()
		return
	}
	if m.es != nil {
		m.es.admit(nc, m)
		return
	}
	m.admit(nc)
}

func (m *muxer) failed() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.err
}

// run is the multiplexer: poll, read what is ready, answer every complete
// request, enforce the timeouts; until the accept loop has ended and no
// connection is left.
func (m *muxer) run() {
	s := m.s
	defer func() {
		if m.done != nil {
			m.done()
		}
		s.mu.Lock()
		for i, x := range s.mux {
			if x == m {
				s.mux = append(s.mux[:i], s.mux[i+1:]...)
				break
			}
		}
		s.mu.Unlock()
	}()
	scratch := make([]byte, muxReadSize)
	var list []net.Conn
	var index []int // list[i] is m.conns[index[i]]
	for {
		// From here until the poll, a worker that hands a connection
		// back wakes the poll (event.go).
		m.sleeping.Store(true)
		m.mu.Lock()
		for _, c := range m.pending {
			m.conns = append(m.conns, &muxConn{c: c, lastActive: m.now()})
		}
		m.pending = m.pending[:0]
		back := m.back
		m.back = nil
		stopped := m.stopped
		m.mu.Unlock()
		for _, b := range back {
			m.takeBack(b)
		}

		if s.isClosing() {
			for _, mc := range m.conns {
				if !mc.closed && !mc.busy && len(mc.in) == 0 {
					mc.c.endOfRequests(nil, nil, errShutdown)
					m.drop(mc)
				}
			}
		}
		m.compact()
		if stopped && len(m.conns) == 0 {
			m.mu.Lock()
			empty := len(m.pending) == 0
			m.mu.Unlock()
			if empty {
				return
			}
			continue
		}

		list, index = list[:0], index[:0]
		for i, mc := range m.conns {
			if !mc.busy {
				list = append(list, mc.c.nc)
				index = append(index, i)
			}
		}
		var ready []int
		var acceptable bool
		var err error
		switch {
		case m.poll != nil:
			acceptable, ready, err = m.poll(m.ln, list, m.timeout())
		case m.ln != nil:
			acceptable, ready, err = m.poller.(ListenPoller).PollListener(m.ln, list, m.timeout())
		default:
			ready, err = m.poller.Poll(list, m.timeout())
		}
		m.sleeping.Store(false)
		if err != nil {
			m.giveUp(err)
			return
		}
		for _, i := range ready {
			if i < 0 || i >= len(index) || m.conns[index[i]].closed {
				continue
			}
			mc := m.conns[index[i]]
			m.read(mc, scratch)
			m.advance(mc)
		}
		m.expire()
		if acceptable {
			m.acceptReady()
		}
	}
}

// giveUp closes everything after the Poller failed; Serve returns err.
func (m *muxer) giveUp(err error) {
	s := m.s
	s.errorLog("", netip.AddrPort{}, "the multiplexer's poll failed: "+err.Error())
	m.mu.Lock()
	m.err = fmt.Errorf("httpd: poll: %w", err)
	pending := m.pending
	m.pending = nil
	m.mu.Unlock()
	for _, mc := range m.conns {
		mc.c.nc.Close()
		m.drop(mc)
	}
	for _, c := range pending {
		c.nc.Close()
		s.untrack(c)
	}
	s.mu.Lock()
	for ln := range s.listeners {
		ln.Close() // so the accept loop ends and Serve reports the error
	}
	s.mu.Unlock()
}

func (m *muxer) drop(mc *muxConn) {
	if !mc.closed {
		mc.closed = true
		m.s.untrack(mc.c)
	}
}

func (m *muxer) compact() {
	keep := m.conns[:0]
	for _, mc := range m.conns {
		if !mc.closed {
			keep = append(keep, mc)
		}
	}
	for i := len(keep); i < len(m.conns); i++ {
		m.conns[i] = nil
	}
	m.conns = keep
}

// read takes what a ready connection has: one Read, which readiness
// promises will not block. While a body is due (of known length, or
// chunked), the Read goes straight into the request's buffer and may take
// up to muxBodyReadSize, as much as the socket holds: 32 KiB per poll
// would make a large upload cost a poll round per 32 KiB.
func (m *muxer) read(mc *muxConn, scratch []byte) {
	var n int
	var err error
	due := mc.body.need - len(mc.in)
	if mc.body.chunked {
		due = muxBodyReadSize // a chunked body's end is not known: read what is there
	}
	// At most as much again as has arrived, so that a client announcing
	// a large body and trickling it makes the server hold no more than
	// twice what it sent.
	if size := min(due, muxBodyReadSize, max(len(mc.in), len(scratch))); size > len(scratch) {
		if cap(mc.in)-len(mc.in) < size {
			// Double (append grows a large slice by a quarter at a
			// time), but not past the body's end when it is known.
			c := max(2*cap(mc.in), len(mc.in)+size)
			if mc.body.need > 0 {
				c = min(c, max(mc.body.need, len(mc.in)+size))
			}
			grown := make([]byte, len(mc.in), c)
			copy(grown, mc.in)
			mc.in = grown
		}
		n, err = mc.c.nc.Read(mc.in[len(mc.in) : len(mc.in)+size])
		mc.in = mc.in[:len(mc.in)+n]
	} else {
		n, err = mc.c.nc.Read(scratch)
		if n > 0 {
			if len(mc.in) == 0 && mc.since.IsZero() {
				mc.since, mc.received = m.now(), m.s.cfg.Now()
			}
			mc.in = append(mc.in, scratch[:n]...)
		}
	}
	switch {
	case err == io.EOF:
		mc.eof = true
	case err != nil:
		mc.broken = err
	}
}

// advance answers every complete request in mc.in, in order (pipelining),
// and leaves a partial one for the next readiness event.
func (m *muxer) advance(mc *muxConn) {
	s, c := m.s, mc.c
	for !mc.closed {
		if m.advanceH2(mc) { // HTTP/2 (h2_mux.go)
			return
		}
		if len(mc.in) == 0 {
			switch {
			case mc.eof:
				c.endOfRequests(nil, nil, io.EOF)
				m.drop(mc)
			case mc.broken != nil:
				c.endOfRequests(nil, nil, mc.broken)
				m.drop(mc)
			}
			return
		}
		if mc.body.waiting(mc.in, s.lim.bodyBytes) && !mc.eof && mc.broken == nil {
			return // its body is still arriving (body_wait.go)
		}
		// Parse from the start of what has arrived; a request that is
		// not complete yet reads as an early end of stream. The
		// readers are the loop's own, reused for every request (the
		// parser copies what it keeps out of them).
		rd := &m.rd
		rd.Reset(mc.in)
		if m.br == nil {
			m.br = bufio.NewReaderSize(rd, connBufferSize)
		}
		br := m.br
		br.Reset(rd)
		req, h, err := readHead(br, s.lim)
		if err == nil {
			if mc.headAt.IsZero() {
				mc.headAt = m.now()
			}
			if h.expectContinue && req.ProtoMinor == 1 && !mc.sent100 {
				c.nc.SetWriteDeadline(time.Now().Add(s.cfg.IdleTimeout))
				c.bw.WriteString("HTTP/1.1 100 Continue\r\n\r\n")
				c.bw.Flush()
				mc.sent100 = true
			}
			bodyAt := len(mc.in) - rd.Len() - br.Buffered()
			if !h.chunked && h.length > int64(len(mc.in)-bodyAt) {
				// Not all here: readBody would allocate the whole
				// announced length only to find it short.
				err = io.ErrUnexpectedEOF
			} else {
				err = readBody(br, req, h, s.lim)
			}
			if err == io.EOF || err == io.ErrUnexpectedEOF {
				mc.body.learn(h, bodyAt)
			}
		}
		incomplete := err == io.EOF || err == io.ErrUnexpectedEOF
		if incomplete && !mc.eof && mc.broken == nil {
			return // wait for more bytes
		}
		if req != nil {
			c.fill(req, mc.received)
		}
		var re *requestError
		switch {
		case errors.As(err, &re):
			c.answerError(req, h, re)
			c.close(true)
			m.drop(mc)
			return
		case err == io.EOF: // only empty lines, then the end
			c.endOfRequests(nil, nil, io.EOF)
			m.drop(mc)
			return
		case incomplete:
			c.endOfRequests(req, h, io.ErrUnexpectedEOF)
			m.drop(mc)
			return
		case err != nil:
			c.endOfRequests(req, h, err)
			m.drop(mc)
			return
		}
		consumed := len(mc.in) - rd.Len() - br.Buffered()
		if rest := mc.in[consumed:]; len(rest) > 0 {
			mc.in = append([]byte(nil), rest...)
			mc.since, mc.received = m.now(), s.cfg.Now()
		} else {
			// Keep a small buffer for the next request rather than
			// allocate one per request; a large one (a body) goes.
			if cap(mc.in) > connBufferSize {
				mc.in = nil
			}
			mc.in, mc.since = mc.in[:0], time.Time{}
		}
		mc.headAt, mc.sent100 = time.Time{}, false
		mc.body.reset()
		if m.ev != nil {
			// Steps 3 to 7 run on a worker; a pipelined request
			// behind this one waits until the connection comes back,
			// so that responses leave in the order of the requests
			// (RFC 9112 §9.3.2).
			m.dispatch(mc, req, h)
			return
		}
		keep := c.serveRequest(req, h, len(mc.in))
		mc.lastActive, mc.kaw = m.now(), kaWait{}
		if !keep {
			c.close(true)
			m.drop(mc)
			return
		}
	}
}

// deadline is when mc times out, and which of its timeouts that is.
// timeout runs it for every connection at every poll, so it allocates
// nothing: the error saying what happened is built by timeoutError, once
// the deadline has passed.
func (m *muxer) deadline(mc *muxConn) (time.Time, muxTimeout) {
	cfg := &m.s.cfg
	switch {
	case len(mc.in) == 0 && mc.since.IsZero():
		return mc.lastActive.Add(m.idleWait(mc)), timeoutIdle
	case mc.headAt.IsZero():
		return mc.since.Add(cfg.HeaderTimeout), timeoutHeader
	}
	return mc.headAt.Add(cfg.IdleTimeout), timeoutBody
}

// muxTimeout names the timeout a connection waits on (deadline).
type muxTimeout int

const (
	timeoutIdle   muxTimeout = iota // no request yet: IdleTimeout, KeepAliveTimeout after one
	timeoutHeader                   // the header section: HeaderTimeout
	timeoutBody                     // the body: IdleTimeout
)

// idleWait is how long mc may wait for a request: IdleTimeout on a new
// connection, KeepAliveTimeout between requests.
func (m *muxer) idleWait(mc *muxConn) time.Duration {
	if mc.c.served > 0 {
		return m.s.cfg.KeepAliveTimeout
	}
	return m.s.cfg.IdleTimeout
}

// timeoutError is what happens when mc's deadline of kind passes.
func (m *muxer) timeoutError(mc *muxConn, kind muxTimeout) error {
	cfg := &m.s.cfg
	switch kind {
	case timeoutIdle:
		return idleError{m.idleWait(mc)}
	case timeoutHeader:
		return &requestError{408, viz.ReasonHTTPRequestTimeout,
			fmt.Sprintf("the header section did not arrive within %v", cfg.HeaderTimeout)}
	}
	return &requestError{408, viz.ReasonHTTPRequestTimeout,
		fmt.Sprintf("the body stalled for %v", cfg.IdleTimeout)}
}

// timeout is how long the next Poll may wait: until the nearest deadline,
// at most PollInterval (to pick up new connections).
func (m *muxer) timeout() time.Duration {
	d := m.s.cfg.PollInterval
	now := m.now()
	for _, mc := range m.conns {
		if mc.busy {
			continue // a worker's write deadline bounds it
		}
		at, _ := m.deadline(mc)
		d = min(d, max(at.Sub(now), 0))
	}
	return d
}

// expire closes the connections whose deadline has passed: silently when
// idle, with 408 when a request was under way.
func (m *muxer) expire() {
	now := m.now()
	for _, mc := range m.conns {
		if mc.closed || mc.busy {
			continue
		}
		at, kind := m.deadline(mc)
		if now.Before(at) {
			continue
		}
		if kind == timeoutIdle {
			if more := mc.c.keepAliveMore(&mc.kaw, now); more > 0 {
				mc.lastActive = now.Add(more - m.s.cfg.KeepAliveTimeout)
				continue
			}
		}
		why := m.timeoutError(mc, kind)
		var re *requestError
		if errors.As(why, &re) {
			req := &Request{Header: map[string][]string{}}
			mc.c.fill(req, mc.received)
			mc.c.answerError(req, nil, re)
			mc.c.close(true)
		} else {
			mc.c.endOfRequests(nil, nil, why)
		}
		m.drop(mc)
	}
	m.compact()
}
