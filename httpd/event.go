package httpd

import (
	"fmt"
	"net"
	"net/textproto"
	"strconv"
	"sync"
	"time"

	"github.com/packetwalk/packetwalk/viz"
)

// The "event" architecture: multiplexed multithreaded ("HTTP: The
// Definitive Guide" ch. 5, step 2; Apache's event MPM).
//
//	event loop (one per Config.EventLoops)        workers (at most Config.Workers)
//	  poll every idle connection                    steps 3-7 of one request:
//	  read what is ready, parse (step 2)            process, map, respond, send, log
//	  complete request --- dispatch ------------->  (a slow CGI holds only its worker)
//	  <------------------ hand the connection back  then the next queued request
//
// The loop is the "multiplexed" architecture's muxer (io_arch.go) with
// one difference: instead of answering a complete request itself, it
// hands it to a worker and stops watching that connection until the
// worker gives it back (so that pipelined responses stay in order). The
// worker writes the response itself, with the write deadline every
// architecture uses (IdleTimeout): a client that stops reading holds one
// worker for that long, never the loop nor another connection.
//
// Workers are started on demand with Config.Spawn, and a worker that has
// finished a request takes the next from the queue or ends: no goroutine
// ever waits on a channel for work. In a virtual-time simulation every
// goroutine then waits only in socket calls (its writes, the loop's poll),
// the hand-back wakes the loop through the Poller (WakePoller, an
// eventfd in a real event loop), and the run is deterministic.

// eventPool is the server's workers and their queue, shared by every
// listener's loops.
type eventPool struct {
	s *Server

	mu      sync.Mutex
	queue   []*job // complete requests waiting for a worker
	running []bool // running[i]: worker i+1 is running
	busy    int    // workers running

	// In real time (Config.Spawn is the go statement) worker i+1 is a
	// goroutine that lives on between requests, waiting for the next on
	// inbox[i]: a goroutine started per request would grow its stack
	// from scratch every time (copying it while serving: about a fifth
	// of the server's CPU under keep-alive load). In a simulation every
	// goroutine may wait only in socket calls, so a worker is started per
	// request and ends when the queue is empty (work).
	inbox  []chan *job
	closed bool // Close or Shutdown: the waiting workers have ended
}

// job is one complete request on its way to a worker.
type job struct {
	m        *muxer
	mc       *muxConn
	req      *Request
	h        *head
	buffered int // bytes of a pipelined request behind it
}

// handBack is a connection a worker gives back to its loop: keep says
// whether it stays open for another request.
type handBack struct {
	mc   *muxConn
	keep bool
}

// eventServe is one Serve call's event loops.
type eventServe struct {
	loops []*muxer
	mu    sync.Mutex
	next  int // the loop the next connection goes to (round robin)
}

func (s *Server) eventPool() *eventPool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ev == nil {
		s.ev = &eventPool{s: s, running: make([]bool, s.cfg.Workers)}
		if s.cfg.spawnGo {
			s.ev.inbox = make([]chan *job, s.cfg.Workers)
		}
	}
	return s.ev
}

// serveEvent is the "event" architecture. With a ListenPoller (and no
// step-1 lookups, which would hold up every connection of the loop), this
// goroutine is loop 1 and watches the listener too; otherwise it accepts
// (and runs step 1) and hands each connection to a loop.
func (s *Server) serveEvent(ln net.Listener) error {
	p := s.eventPool()
	poller := s.pollerFor(ln)
	es := &eventServe{}
	for i := range s.cfg.EventLoops {
		m := &muxer{s: s, now: time.Now, poller: poller, ev: p, es: es, id: i + 1}
		if n, ok := poller.(interface{ Now() time.Time }); ok {
			m.now = n.Now
		}
		switch wp := poller.(type) {
		case kernelPoller:
			m.poll, m.wake, m.done = wp.wakeable()
		case WatchPoller:
			m.poll, m.wake, m.watch = wp.WatchWakeable()
		case WakePoller:
			m.poll, m.wake = wp.Wakeable()
		}
		es.loops = append(es.loops, m)
	}
	s.mu.Lock()
	s.mux = append(s.mux, es.loops...)
	s.mu.Unlock()
	for _, m := range es.loops[1:] {
		s.cfg.Spawn(m.run)
	}

	_, listens := poller.(ListenPoller)
	if listens && s.cfg.ReverseDNS == nil && s.cfg.Ident == nil {
		m := es.loops[0]
		m.ln = ln
		m.run()
		if err := m.failed(); err != nil {
			return err
		}
		return ErrServerClosed
	}
	s.cfg.Spawn(es.loops[0].run)
	err := s.acceptLoop(ln, func(nc net.Conn) { es.admit(nc, nil) })
	es.stop()
	for _, m := range es.loops {
		if e := m.failed(); e != nil {
			err = e
		}
	}
	return err
}

// admit gives an accepted connection to the next loop, from the loop
// that accepted it (nil: the accept loop).
func (es *eventServe) admit(nc net.Conn, from *muxer) {
	es.mu.Lock()
	m := es.loops[es.next%len(es.loops)]
	es.next++
	es.mu.Unlock()
	m.admit(nc)
	if m != from {
		m.nudge()
	}
}

// stop tells every loop that no connection will come any more: each ends
// once its connections have.
func (es *eventServe) stop() {
	for _, m := range es.loops {
		m.mu.Lock()
		m.stopped = true
		m.mu.Unlock()
		m.nudge()
	}
}

// nudge wakes the loop if it is in its poll (or about to enter it), so
// that it sees a connection handed to it at once rather than when its
// poll times out.
func (m *muxer) nudge() {
	if m.wake != nil && m.sleeping.Swap(false) {
		m.wake()
	}
}

// dispatch hands a complete request to a worker: a new one if fewer than
// Workers run, else the queue; a full queue is answered 503.
func (m *muxer) dispatch(mc *muxConn, req *Request, h *head) {
	s, p := m.s, m.ev
	j := &job{m: m, mc: mc, req: req, h: h, buffered: len(mc.in)}
	p.mu.Lock()
	worker := 0
	switch {
	case p.busy < s.cfg.Workers:
		for i, r := range p.running {
			if !r {
				worker = i + 1
				p.running[i] = true
				break
			}
		}
		p.busy++
	case len(p.queue) >= s.cfg.MaxQueue:
		p.mu.Unlock()
		m.reject(mc, req, h)
		return
	default:
		p.queue = append(p.queue, j)
	}
	queued, busy := len(p.queue), p.busy
	p.mu.Unlock()
	mc.busy = true

	if st := s.st; st.on() {
		what := fmt.Sprintf("hands it to worker %d (%d of %d workers busy)", worker, busy, s.cfg.Workers)
		if worker == 0 {
			what = fmt.Sprintf("queues it: all %d workers are busy (queue length %d)", s.cfg.Workers, queued)
		}
		fields := []viz.Field{viz.F("loop", strconv.Itoa(m.id)), viz.F("method", req.Method), viz.F("path", req.Path),
			viz.F("queue", strconv.Itoa(queued)), viz.F("busy", strconv.Itoa(busy)), viz.F("workers", strconv.Itoa(s.cfg.Workers))}
		if worker > 0 {
			fields = append(fields, viz.F("worker", strconv.Itoa(worker)))
		}
		st.emit(mc.c.id, "dispatch", viz.Pass, "",
			fmt.Sprintf("event loop %d has a complete request (%s %s) and %s; it stops watching the connection until the worker gives it back.",
				m.id, req.Method, truncate(req.Target, 80), what), fields...)
	}
	if worker > 0 {
		p.start(worker, j)
	}
}

// start gives j to worker, which was idle: on its inbox when workers live
// on (starting its goroutine the first time), else on a new goroutine.
func (p *eventPool) start(worker int, j *job) {
	if p.inbox == nil {
		p.s.cfg.Spawn(func() { p.work(worker, j) })
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		// The server is closing: serve this last request on a
		// goroutine of its own.
		go p.work(worker, j)
		return
	}
	ch := p.inbox[worker-1]
	if ch == nil {
		ch = make(chan *job, 1)
		p.inbox[worker-1] = ch
		go func() {
			for j := range ch {
				p.work(worker, j)
			}
		}()
	}
	ch <- j // the worker is idle and the channel holds one: never blocks
}

// close ends the workers that wait for work (Close, Shutdown).
func (p *eventPool) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	p.closed = true
	for i, ch := range p.inbox {
		if ch != nil {
			close(ch)
			p.inbox[i] = nil
		}
	}
}

// work is one worker: it serves j, then the queued requests, until the
// queue is empty.
func (p *eventPool) work(worker int, j *job) {
	for {
		j.run(worker)
		p.mu.Lock()
		if len(p.queue) == 0 {
			p.busy--
			p.running[worker-1] = false
			p.mu.Unlock()
			return
		}
		j = p.queue[0]
		p.queue[0] = nil
		p.queue = p.queue[1:]
		p.mu.Unlock()
	}
}

// run is steps 3 to 7 of one request on a worker; then the connection
// goes back to its loop.
func (j *job) run(worker int) {
	c := j.mc.c
	c.loop, c.worker = j.m.id, worker
	keep := c.serveRequest(j.req, j.h, j.buffered)
	c.worker = 0
	if !keep {
		// The FIN leaves now, from the worker (a shutdown(2) does
		// not wait), not after the hand-back reaches the loop: a
		// client that reads until the server closes (HTTP/1.0, ab)
		// waits for it. The lingering read that follows runs on a
		// goroutine of its own (closeAsync), never on the worker.
		c.close(true)
	}
	m := j.m
	m.mu.Lock()
	m.back = append(m.back, handBack{j.mc, keep})
	m.mu.Unlock()
	if keep && m.watch != nil && j.buffered == 0 && c.h2 == nil {
		// Nothing for the loop to do until the next request comes:
		// wake it then, not now (WatchPoller). Its keep-alive timer
		// starts when it takes the connection back, at most
		// PollInterval later.
		m.watch(c.nc)
		return
	}
	m.nudge()
}

// takeBack is the loop receiving a connection from a worker: closed if
// the response said so, else watched again (and a pipelined request
// that already waits is dispatched at once).
func (m *muxer) takeBack(b handBack) {
	mc := b.mc
	mc.busy = false
	mc.lastActive, mc.kaw = m.now(), kaWait{}
	if !b.keep {
		m.drop(mc) // the worker has closed it
		return
	}
	m.advance(mc)
}

// reject answers a request that found the queue full: 503 and close,
// written by a goroutine of its own (bounded as lingering closes are), so
// that the loop does not wait on the client.
func (m *muxer) reject(mc *muxConn, req *Request, h *head) {
	s, c := m.s, mc.c
	msg := fmt.Sprintf("all %d workers are busy and %d complete requests already wait (MaxQueue)", s.cfg.Workers, s.cfg.MaxQueue)
	s.errorLog("", c.remote, msg+": answered 503")
	if st := s.st; st.on() {
		st.emit(c.id, "dispatch", viz.Drop, viz.ReasonHTTPQueueFull,
			fmt.Sprintf("event loop %d has a complete request (%s %s), but %s: answering 503 Service Unavailable and closing.", m.id, req.Method, truncate(req.Target, 80), msg),
			viz.F("loop", strconv.Itoa(m.id)), viz.F("method", req.Method), viz.F("path", req.Path),
			viz.F("queue", strconv.Itoa(s.cfg.MaxQueue)), viz.F("workers", strconv.Itoa(s.cfg.Workers)))
	}
	m.drop(mc)
	if s.lingerers.Add(1) > maxLingerers {
		s.lingerers.Add(-1)
		c.nc.Close()
		return
	}
	s.cfg.Spawn(func() {
		defer s.lingerers.Add(-1)
		tx := &transaction{req: req, head: h, forceClose: true, closeWhy: "the server is overloaded", closeAs: CloseOverloaded}
		c.finish(tx, &Resource{Status: 503, Reason: string(viz.ReasonHTTPQueueFull), Header: textproto.MIMEHeader{"Retry-After": {"1"}}})
		c.bw.Flush()
		lingerClose(c.nc)
	})
}

// archFields are the fields that say which loop and worker handle a
// request, for the receive and send steps of the "event" architecture.
func (c *conn) archFields(fields []viz.Field) []viz.Field {
	if c.worker == 0 {
		return fields
	}
	return append(fields, viz.F("loop", strconv.Itoa(c.loop)), viz.F("worker", strconv.Itoa(c.worker)))
}
