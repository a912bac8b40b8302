package httpd

import (
	"cmp"
	"context"
	"errors"
	"net"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/packetwalk/packetwalk/viz"
)

// ErrServerClosed is returned by Serve after Shutdown or Close.
var ErrServerClosed = errors.New("httpd: server closed")

// Server is the seven-step web server. Make one with New, give it one or
// more listeners with Serve, stop it with Shutdown or Close.
type Server struct {
	cfg Config
	m   Mapper
	st  stepper
	lim limits

	mu        sync.Mutex
	listeners map[net.Listener]struct{}
	conns     map[*conn]struct{} // connections being served
	queue     []net.Conn         // "pool": accepted, waiting for a worker
	workers   int                // "pool": workers running
	closing   bool               // Shutdown or Close was called
	mux       []*muxer           // "multiplexed": one per Serve; "event": its loops
	ev        *eventPool         // "event": the workers

	lingerers atomic.Int32 // goroutines closing refused connections gently
	closes    closeCounts  // connections closed, by reason (closes.go)
	logMu     sync.Mutex   // one log line at a time
}

// New returns a server that maps requests with m (step 4) and logs its
// steps to rec (nil: no step log). Options left at zero take the defaults
// documented on Config; a configuration that cannot work (an unknown
// architecture) is refused by Serve.
func New(cfg Config, m Mapper, rec *viz.Recorder) *Server {
	if m == nil {
		m = notFoundMapper{}
	}
	c := cfg.withDefaults()
	return &Server{
		cfg: c,
		m:   m,
		st:  stepper{rec: rec},
		lim: limits{requestLine: c.MaxRequestLine, headerBytes: c.MaxHeaderBytes, bodyBytes: c.MaxBodyBytes},

		listeners: map[net.Listener]struct{}{},
		conns:     map[*conn]struct{}{},
	}
}

// notFoundMapper answers every request 404: the server without content.
type notFoundMapper struct{}

func (notFoundMapper) Map(*Request) *Resource { return &Resource{Status: 404, Reason: "no mapper"} }

// Serve accepts connections on ln and serves them with the configured
// I/O architecture until Shutdown or Close (then it returns
// ErrServerClosed) or until Accept fails for good. It may be called for
// several listeners at once.
func (s *Server) Serve(ln net.Listener) error {
	if err := s.cfg.Validate(); err != nil {
		return err
	}
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		return ErrServerClosed
	}
	s.listeners[ln] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.listeners, ln)
		s.mu.Unlock()
	}()

	switch s.cfg.Arch {
	case ArchSingle:
		return s.serveSingle(ln)
	case ArchMultiplexed:
		return s.serveMultiplexed(ln)
	case ArchEvent:
		return s.serveEvent(ln)
	}
	return s.servePool(ln)
}

// acceptLoop is step 1's first half, the same in every architecture: take
// the next connection from the listener's accept queue and hand it on.
// Temporary failures (too many open files) back off as net/http does.
func (s *Server) acceptLoop(ln net.Listener, handle func(net.Conn)) error {
	var backoff time.Duration
	for {
		nc, err := ln.Accept()
		if err != nil {
			if s.isClosing() {
				return ErrServerClosed
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				if backoff == 0 {
					backoff = 5 * time.Millisecond
				} else {
					backoff = min(2*backoff, time.Second)
				}
				time.Sleep(backoff)
				continue
			}
			return err
		}
		backoff = 0
		handle(nc)
	}
}

// closeWorkers ends the "event" architecture's waiting workers.
func (s *Server) closeWorkers() {
	s.mu.Lock()
	ev := s.ev
	s.mu.Unlock()
	if ev != nil {
		ev.close()
	}
}

func (s *Server) isClosing() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closing
}

// Shutdown stops the server gracefully: it closes the listeners, closes
// connections waiting for a request, lets requests in progress finish
// (their responses say Connection: close), and waits until every
// connection is closed or ctx is done; then it closes what is left and
// returns ctx's error. It waits on a wall-clock ticker: in a virtual-time
// simulation, call it from a goroutine the loop does not track, or use
// Close.
func (s *Server) Shutdown(ctx context.Context) error {
	defer s.closeWorkers()
	s.mu.Lock()
	s.closing = true
	for ln := range s.listeners {
		ln.Close()
	}
	queued := s.queue
	s.queue = nil
	for c := range s.conns {
		if c.idle {
			// Wake the read that waits for the next request; the
			// connection sees closing and ends.
			c.nc.SetReadDeadline(time.Now())
		}
	}
	s.mu.Unlock()
	for _, nc := range queued {
		nc.Close()
	}

	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		if s.idleNow() {
			return nil
		}
		select {
		case <-ctx.Done():
			s.Close()
			return ctx.Err()
		case <-tick.C:
		}
	}
}

// idleNow reports whether no connection is held.
func (s *Server) idleNow() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns) == 0 && len(s.queue) == 0 && s.workers == 0 && len(s.mux) == 0
}

// Close stops the server at once: listeners and every connection are
// closed; requests in progress fail.
func (s *Server) Close() error {
	defer s.closeWorkers()
	s.mu.Lock()
	s.closing = true
	var err error
	for ln := range s.listeners {
		if e := ln.Close(); e != nil && err == nil && !errors.Is(e, net.ErrClosed) {
			err = e
		}
	}
	// In the order of the sockets' IDs, not the map's: a seeded run must
	// log the same steps in the same order every time.
	conns := make([]*conn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	slices.SortFunc(conns, func(a, b *conn) int { return cmp.Compare(a.id, b.id) })
	for _, c := range conns {
		// Say so before closing: the close sends a FIN, whose steps
		// must come after the decision that caused them.
		if s.st.on() {
			s.st.emit(c.id, "receive", viz.Note, "", "the server is closing: closing the connection.")
		}
		c.closeNoted = true
		c.nc.Close()
	}
	for _, nc := range s.queue {
		nc.Close()
	}
	s.queue = nil
	s.mu.Unlock()
	return err
}

// track adds c to the connections held; it reports false (and does not
// add it) when the server is closing.
func (s *Server) track(c *conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return false
	}
	s.conns[c] = struct{}{}
	return true
}

func (s *Server) untrack(c *conn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
}

// held is how many connections count against MaxConns.
func (s *Server) held() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns) + len(s.queue)
}

// stepper logs the seven steps (the type is declared in contract.go).

func (st stepper) on() bool { return st.rec.On() }

func (st stepper) emit(conn uint64, step string, v viz.Verdict, r viz.Reason, msg string, fields ...viz.Field) {
	if st.stream != 0 {
		fields = append([]viz.Field{viz.F("stream", strconv.FormatUint(uint64(st.stream), 10))}, fields...)
	}
	st.rec.Emit(viz.Event{Layer: viz.LayerHTTP, Step: step, Verdict: v, Reason: r, Conn: conn, Msg: msg, Fields: fields})
}

// st is the stepper for c's steps: the server's, with the HTTP/2 stream
// being served, if any.
func (c *conn) st() stepper { return stepper{rec: c.s.st.rec, stream: c.stream} }
