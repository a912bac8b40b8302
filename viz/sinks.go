package viz

import (
	"bufio"
	"io"
	"sync"
	"time"
)

// DefaultMemoryLimit is how many events a MemorySink keeps unless told
// otherwise: enough for a few thousand frames' walks.
const DefaultMemoryLimit = 1 << 20

// MemorySink keeps events in memory, up to a limit; later events are counted
// in Lost rather than kept, so a runaway run cannot eat the machine. It is
// meant for tests, labs and the HTML report of short runs.
type MemorySink struct {
	Limit int // events kept at most; 0 means DefaultMemoryLimit

	mu     sync.Mutex
	events []Event
	lost   int
}

// Event implements Sink.
func (m *MemorySink) Event(e *Event) {
	m.mu.Lock()
	defer m.mu.Unlock()
	limit := m.Limit
	if limit == 0 {
		limit = DefaultMemoryLimit
	}
	if len(m.events) >= limit {
		m.lost++
		return
	}
	c := e.Resolved()
	m.events = append(m.events, c)
}

// Events returns a copy of the events kept so far.
func (m *MemorySink) Events() []Event {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]Event(nil), m.events...)
}

// Lost returns how many events arrived after the limit was reached.
func (m *MemorySink) Lost() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.lost
}

// JSONLSink streams events as JSON Lines to a writer, through a buffer. The
// first write error is kept and returned by Flush and Close; events after it
// are discarded rather than blocking the stack.
type JSONLSink struct {
	mu     sync.Mutex // Event and Flush may race with FlushWithin's timer
	w      *bufio.Writer
	closer io.Closer
	line   []byte
	err    error
	timer  *time.Timer
	// FlushEach makes every event reach the writer at once, for live files
	// (packetwalk serve) that another program tails. It costs one write
	// system call per event.
	FlushEach bool
	// FlushWithin, if positive (and FlushEach is not set), makes every
	// event reach the writer within that time: a timer flushes the buffer
	// once per period in which events came, so a file being tailed stays
	// current at the cost of one write per period, not per event (a
	// system call per event would cost more than the encoding itself).
	FlushWithin time.Duration
}

// NewJSONLSink returns a sink writing to w. If w is an io.Closer, Close
// closes it.
func NewJSONLSink(w io.Writer) *JSONLSink {
	s := &JSONLSink{w: bufio.NewWriterSize(w, 64<<10)}
	if c, ok := w.(io.Closer); ok {
		s.closer = c
	}
	return s
}

// Event implements Sink.
func (s *JSONLSink) Event(e *Event) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return
	}
	// Encoded straight into the bufio.Writer's free space when the line
	// fits (Write then finds it in place), instead of into s.line and
	// copied: one pass over ~250 bytes per event less (BenchmarkStepJSONL).
	var line []byte
	if s.w.Available() >= 512 {
		line = append(AppendJSON(s.w.AvailableBuffer(), e), '\n')
	} else {
		s.line = append(AppendJSON(s.line[:0], e), '\n')
		line = s.line
	}
	if _, err := s.w.Write(line); err != nil {
		s.err = err
		return
	}
	switch {
	case s.FlushEach:
		s.err = s.w.Flush()
	case s.FlushWithin > 0 && s.timer == nil:
		s.timer = time.AfterFunc(s.FlushWithin, s.flushLater)
	}
}

// flushLater is FlushWithin's timer.
func (s *JSONLSink) flushLater() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.timer = nil
	if s.err == nil {
		s.err = s.w.Flush()
	}
}

// Flush writes buffered events out and reports the first error seen.
func (s *JSONLSink) Flush() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.timer != nil {
		s.timer.Stop()
		s.timer = nil
	}
	if s.err != nil {
		return s.err
	}
	s.err = s.w.Flush()
	return s.err
}

// Close flushes, closes the underlying writer if it can be closed, and
// reports the first error seen.
func (s *JSONLSink) Close() error {
	err := s.Flush()
	if s.closer != nil {
		if cerr := s.closer.Close(); err == nil {
			err = cerr
		}
	}
	return err
}

// SinkFunc adapts a function to a Sink.
type SinkFunc func(e *Event)

// Event implements Sink.
func (f SinkFunc) Event(e *Event) { f(e) }

// Broadcaster fans events out to live subscribers (the live view's
// Server-Sent Events, a terminal narrator in another goroutine). Each
// subscriber has a bounded channel; a subscriber too slow to keep up loses
// events, counted in its Lost, rather than stalling the stack.
type Broadcaster struct {
	mu   sync.Mutex
	subs map[*Subscription]struct{}
}

// Subscription is one live subscriber's feed.
type Subscription struct {
	C    <-chan Event
	c    chan Event
	b    *Broadcaster
	mu   sync.Mutex
	lost int
}

// DefaultSubscriptionBuffer is the channel size of a subscription made with
// a size of 0.
const DefaultSubscriptionBuffer = 4096

// Subscribe returns a feed of later events, buffered up to size events.
func (b *Broadcaster) Subscribe(size int) *Subscription {
	if size <= 0 {
		size = DefaultSubscriptionBuffer
	}
	c := make(chan Event, size)
	s := &Subscription{C: c, c: c, b: b}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.subs == nil {
		b.subs = make(map[*Subscription]struct{})
	}
	b.subs[s] = struct{}{}
	return s
}

// Close ends the subscription and closes its channel.
func (s *Subscription) Close() {
	s.b.mu.Lock()
	defer s.b.mu.Unlock()
	if _, ok := s.b.subs[s]; ok {
		delete(s.b.subs, s)
		close(s.c)
	}
}

// Lost returns how many events this subscriber missed by being slow.
func (s *Subscription) Lost() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lost
}

// Event implements Sink.
func (b *Broadcaster) Event(e *Event) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for s := range b.subs {
		c := e.Resolved()
		select {
		case s.c <- c:
		default:
			s.mu.Lock()
			s.lost++
			s.mu.Unlock()
		}
	}
}
