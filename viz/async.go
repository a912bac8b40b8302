package viz

import (
	"sync"
	"time"
)

// async.go: a sink whose encoding runs on its own goroutine.
//
// Every sink is called under the log's lock, on the goroutine that took the
// step: a synchronous JSON Lines or pcapng encoder runs on the stack's own
// goroutine and holds up every other goroutine that logs, since the
// encoding is most of what a logged step costs. The stack's loop uses one
// core; a machine has more. An AsyncSink copies each event (its typed
// arguments and fields as they are, unformatted: viz/arg.go) and each
// captured frame's bytes into a batch and hands the batch to one
// goroutine that calls the sink, so the formatting of the messages, the
// encoding and the write system calls move to another core. What is left
// on the stack's goroutine is a fixed-size copy per event. This pays where a core is idle (a
// bulk download, where the client leaves one free); when clients keep
// every core busy it neither helps nor hurts. BENCHMARKS.md has the
// figures.
//
// Nothing is lost and order is kept: there is one consumer per sink, and
// the queue is bounded by blocking, not by dropping. When the consumer
// falls a whole batch behind, the next step waits for it (backpressure),
// so memory stays bounded and a run's files are byte for byte what a
// synchronous sink writes: the sink sees the same calls in the same order,
// only later. Flush and Close wait until the sink has seen every call made
// before them.
//
// A sink with an EndBatch method has it called after each batch: a live
// sink flushes there, once per batch rather than once per step.
//
// Tests and labs that read a sink right after a step (MemorySink, a file
// read back mid-run) keep synchronous sinks; the command line's file
// outputs (serve, trace, ping, lab run) use this one.

// AsyncOptions are the limits of an AsyncSink's queue.
type AsyncOptions struct {
	// MaxBatch is how many calls (events, captures, ends of walks) one
	// batch holds; a step waits while a full batch is queued behind the
	// one being written. 0 means DefaultAsyncBatch.
	MaxBatch int
	// MaxBatchBytes bounds the captured frame bytes one batch holds, in
	// bytes. 0 means DefaultAsyncBatchBytes.
	MaxBatchBytes int
	// MaxDelay is how long a call may wait in a batch that is not full
	// before the consumer takes it anyway. 0 means DefaultAsyncDelay.
	MaxDelay time.Duration
}

// Defaults of AsyncOptions.
const (
	DefaultAsyncBatch      = 1024
	DefaultAsyncBatchBytes = 1 << 20
	DefaultAsyncDelay      = time.Millisecond
	// asyncKick is the batch size at which the consumer is woken at once
	// rather than by MaxDelay's timer: waking a goroutine costs about as
	// much as encoding a few events, so it is done once per many.
	asyncKick = 64
)

// The kinds of call a batch records.
const (
	callEvent uint8 = iota
	callCapture
	callEndWalk
)

// asyncBatch is the calls of one batch, in order: kinds says which slice
// the next call comes from. Events' fields and frames' bytes live in the
// batch's own arrays (fields, data), so the producer's buffers can be
// reused the moment a call returns. A batch is recycled by the consumer:
// the producer never touches one the consumer holds.
type asyncBatch struct {
	kinds  []uint8
	events []Event
	spans  []span // each event's fields in fields
	fields []Field
	aspans []span // each event's arguments in args
	args   []Arg
	frames []CapturedFrame
	bytes  []span // each frame's bytes in data
	data   []byte
	ends   []endWalk
}

type span struct{ lo, hi int }

type endWalk struct {
	host  string
	frame uint64
}

func (b *asyncBatch) reset() {
	b.kinds = b.kinds[:0]
	// Cleared so a batch does not keep a long run's strings alive.
	clear(b.events)
	b.events = b.events[:0]
	b.spans = b.spans[:0]
	clear(b.fields)
	b.fields = b.fields[:0]
	b.aspans = b.aspans[:0]
	clear(b.args)
	b.args = b.args[:0]
	clear(b.frames)
	b.frames = b.frames[:0]
	b.bytes = b.bytes[:0]
	b.data = b.data[:0]
	clear(b.ends)
	b.ends = b.ends[:0]
}

// AsyncSink passes the calls it receives to another sink from its own
// goroutine (see the top of async.go). It implements Capturer; the log
// gives it frames only if the sink it wraps is a Capturer.
type AsyncSink struct {
	sink Sink
	cap  Capturer // sink as a Capturer, or nil
	opts AsyncOptions

	mu      sync.Mutex
	room    sync.Cond   // a producer waiting for room, or Flush for done
	pending *asyncBatch // calls not yet taken by the consumer
	spare   *asyncBatch // the batch the consumer gave back, or nil
	queued  uint64      // calls ever queued
	done    uint64      // calls the sink has seen
	closed  bool

	kick   chan struct{} // wakes the consumer: a batch filled, Flush, Close
	timer  *time.Timer   // wakes the consumer MaxDelay after a batch starts
	exited chan struct{} // closed when the consumer returns
}

// NewAsync starts the goroutine that will call s and returns the sink to
// add to the log in its place. Close it when the run ends.
func NewAsync(s Sink, opts AsyncOptions) *AsyncSink {
	if opts.MaxBatch <= 0 {
		opts.MaxBatch = DefaultAsyncBatch
	}
	if opts.MaxBatchBytes <= 0 {
		opts.MaxBatchBytes = DefaultAsyncBatchBytes
	}
	if opts.MaxDelay <= 0 {
		opts.MaxDelay = DefaultAsyncDelay
	}
	a := &AsyncSink{
		sink:    s,
		opts:    opts,
		pending: &asyncBatch{},
		spare:   &asyncBatch{},
		kick:    make(chan struct{}, 1),
		exited:  make(chan struct{}),
	}
	a.cap, _ = s.(Capturer)
	a.room.L = &a.mu
	a.timer = time.NewTimer(time.Hour)
	a.timer.Stop()
	go a.consume()
	return a
}

// wantsFrames tells Log.AddSink whether to hand this sink frames.
func (a *AsyncSink) wantsFrames() bool { return a.cap != nil }

// Event implements Sink: e is copied into the batch.
func (a *AsyncSink) Event(e *Event) {
	a.mu.Lock()
	b := a.admit(0)
	if b == nil {
		a.mu.Unlock()
		return
	}
	lo := len(b.fields)
	b.fields = append(b.fields, e.Fields...)
	b.spans = append(b.spans, span{lo, len(b.fields)})
	lo = len(b.args)
	b.args = append(b.args, e.Args...)
	b.aspans = append(b.aspans, span{lo, len(b.args)})
	b.events = append(b.events, *e)
	b.events[len(b.events)-1].Fields = nil
	b.events[len(b.events)-1].Args = nil
	a.queue(b, callEvent)
}

// Capture implements Capturer: f and its bytes are copied into the batch.
func (a *AsyncSink) Capture(f *CapturedFrame) {
	if a.cap == nil {
		return
	}
	a.mu.Lock()
	b := a.admit(len(f.Data))
	if b == nil {
		a.mu.Unlock()
		return
	}
	lo := len(b.data)
	b.data = append(b.data, f.Data...)
	b.bytes = append(b.bytes, span{lo, len(b.data)})
	b.frames = append(b.frames, *f)
	b.frames[len(b.frames)-1].Data = nil
	a.queue(b, callCapture)
}

// EndWalk implements Capturer.
func (a *AsyncSink) EndWalk(host string, frame uint64) {
	if a.cap == nil {
		return
	}
	a.mu.Lock()
	b := a.admit(0)
	if b == nil {
		a.mu.Unlock()
		return
	}
	b.ends = append(b.ends, endWalk{host, frame})
	a.queue(b, callEndWalk)
}

// admit waits, with a.mu held, until the pending batch has room for one
// call carrying n bytes, and returns it; nil once the sink is closed.
func (a *AsyncSink) admit(n int) *asyncBatch {
	for !a.closed {
		b := a.pending
		if len(b.kinds) == 0 || (len(b.kinds) < a.opts.MaxBatch && len(b.data)+n <= a.opts.MaxBatchBytes) {
			return b
		}
		// Backpressure: the batch is full and the consumer still holds
		// the one before it. Wake it (it may be waiting for its timer)
		// and wait for it to take this one.
		a.wake()
		a.room.Wait()
	}
	return nil
}

// queue records the call just appended to b and unlocks a.mu.
func (a *AsyncSink) queue(b *asyncBatch, kind uint8) {
	b.kinds = append(b.kinds, kind)
	a.queued++
	switch len(b.kinds) {
	case 1:
		// A new batch: the consumer takes it within MaxDelay even if no
		// more calls come.
		a.timer.Reset(a.opts.MaxDelay)
	case asyncKick:
		a.wake()
	}
	a.mu.Unlock()
}

// wake wakes the consumer, or leaves it a token if it is busy.
func (a *AsyncSink) wake() {
	select {
	case a.kick <- struct{}{}:
	default:
	}
}

// consume is the goroutine that calls the sink: it takes the pending batch
// whole, leaves its spare in its place, and passes the calls on in order.
func (a *AsyncSink) consume() {
	defer close(a.exited)
	for {
		select {
		case <-a.kick:
		case <-a.timer.C:
		}
		a.mu.Lock()
		b := a.pending
		if len(b.kinds) == 0 {
			closed := a.closed
			a.mu.Unlock()
			if closed {
				return
			}
			continue
		}
		a.pending, a.spare = a.spare, nil
		a.room.Broadcast() // producers waiting for room
		a.mu.Unlock()

		a.deliver(b)
		if be, ok := a.sink.(interface{ EndBatch() }); ok {
			// A sink that writes to a terminal or a pipe flushes once
			// per batch, not once per step (the live narration).
			be.EndBatch()
		}
		n := uint64(len(b.kinds))
		b.reset()

		a.mu.Lock()
		a.spare = b // the return path: this batch is the next pending
		a.done += n
		a.room.Broadcast() // Flush waiting for done
		a.mu.Unlock()
		// The next batch is taken when it has asyncKick calls (the
		// producer's token is waiting if it already has) or when its
		// timer fires, not at once: taking a few calls at a time would
		// make the producer and the consumer fight over a.mu for every
		// call, costing more than the synchronous sink it replaces.
	}
}

// deliver calls the sink for every call in b, in order.
func (a *AsyncSink) deliver(b *asyncBatch) {
	var ie, ic, iw int
	for _, k := range b.kinds {
		switch k {
		case callEvent:
			e := &b.events[ie]
			s := b.spans[ie]
			e.Fields = b.fields[s.lo:s.hi:s.hi]
			s = b.aspans[ie]
			e.Args = b.args[s.lo:s.hi:s.hi]
			a.sink.Event(e)
			ie++
		case callCapture:
			f := &b.frames[ic]
			s := b.bytes[ic]
			f.Data = b.data[s.lo:s.hi:s.hi]
			a.cap.Capture(f)
			ic++
		case callEndWalk:
			w := b.ends[iw]
			a.cap.EndWalk(w.host, w.frame)
			iw++
		}
	}
}

// Drain waits until the sink has seen every call queued before Drain was
// called. Calls made meanwhile by other goroutines may or may not be seen.
func (a *AsyncSink) Drain() {
	a.mu.Lock()
	target := a.queued
	for a.done < target {
		// The consumer may be waiting for its timer; do not wait for it.
		a.wake()
		a.room.Wait()
	}
	a.mu.Unlock()
}

// Flush drains the queue and then flushes the sink if it has a Flush
// method (JSONLSink, the pcapng Writer), returning its error.
func (a *AsyncSink) Flush() error {
	a.Drain()
	if f, ok := a.sink.(interface{ Flush() error }); ok {
		return f.Flush()
	}
	return nil
}

// Close drains the queue, stops the goroutine, and closes the sink if it
// has a Close method, returning its error. Calls after Close are ignored,
// as a closed JSONLSink or pcapng Writer would. Close may be called more
// than once; only the first closes the sink.
func (a *AsyncSink) Close() error {
	a.mu.Lock()
	if a.closed {
		a.mu.Unlock()
		<-a.exited
		return nil
	}
	target := a.queued
	for a.done < target {
		a.wake()
		a.room.Wait()
	}
	a.closed = true
	a.room.Broadcast() // producers waiting for room give up
	a.mu.Unlock()
	a.wake()
	<-a.exited
	a.timer.Stop()
	if c, ok := a.sink.(interface{ Close() error }); ok {
		return c.Close()
	}
	return nil
}

// Tee passes every call to each of its sinks in turn, in the order given:
// the log's own fan-out, as one sink. Behind one AsyncSink it lets several
// file sinks share a queue, so each event is copied and handed over once,
// not once per sink: when the clients leave no core idle, every hand-over
// is paid on the stack's goroutine.
type Tee []Sink

// Event implements Sink.
func (t Tee) Event(e *Event) {
	for _, s := range t {
		s.Event(e)
	}
}

// Capture implements Capturer: the frame goes to the sinks that want it.
func (t Tee) Capture(f *CapturedFrame) {
	for _, s := range t {
		if c, ok := s.(Capturer); ok && wantsFrames(s) {
			c.Capture(f)
		}
	}
}

// EndWalk implements Capturer.
func (t Tee) EndWalk(host string, frame uint64) {
	for _, s := range t {
		if c, ok := s.(Capturer); ok && wantsFrames(s) {
			c.EndWalk(host, frame)
		}
	}
}

// wantsFrames: a Tee wants frames if one of its sinks does.
func (t Tee) wantsFrames() bool {
	for _, s := range t {
		if _, ok := s.(Capturer); ok && wantsFrames(s) {
			return true
		}
	}
	return false
}

// Flush flushes every sink that has a Flush method and returns the first
// error.
func (t Tee) Flush() error {
	var first error
	for _, s := range t {
		if f, ok := s.(interface{ Flush() error }); ok {
			if err := f.Flush(); err != nil && first == nil {
				first = err
			}
		}
	}
	return first
}

// Close closes every sink that has a Close method and returns the first
// error.
func (t Tee) Close() error {
	var first error
	for _, s := range t {
		if c, ok := s.(interface{ Close() error }); ok {
			if err := c.Close(); err != nil && first == nil {
				first = err
			}
		}
	}
	return first
}
