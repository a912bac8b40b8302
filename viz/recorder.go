package viz

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/packetwalk/packetwalk/clock"
)

// Direction says whether a captured frame was leaving or entering a NIC.
type Direction uint8

const (
	Inbound  Direction = 1 // received by the NIC (as it arrived off the medium)
	Outbound Direction = 2 // transmitted by the NIC (as it went onto the medium)
)

func (d Direction) String() string {
	switch d {
	case Inbound:
		return "in"
	case Outbound:
		return "out"
	}
	return "?"
}

// CapturedFrame is a frame as a capture tool sees it at a NIC: the whole
// Ethernet frame including its FCS, and when it crossed the NIC.
type CapturedFrame struct {
	T        time.Duration
	Host     string
	NIC      string // the NIC's name on its host, e.g. "eth0"
	MAC      string // the NIC's own address, for the capture's interface
	Dir      Direction
	Frame    uint64
	Data     []byte // the frame with its 4-byte FCS; only valid during the call
	FCSError bool   // the NIC found the FCS wrong (or, outbound, sent it wrong)
}

// A Capturer is a Sink that also receives the frames themselves (the pcapng
// writer is one). Between Capture and EndWalk, the events a host logs for
// that frame are the frame's step trail on that host.
type Capturer interface {
	Sink
	Capture(f *CapturedFrame)
	// EndWalk says that host has finished with frame: it was dropped,
	// delivered, or (outbound) put on the medium.
	EndWalk(host string, frame uint64)
}

// Log is the step log of one run: the clock that stamps events, the sinks
// that receive them, and the counters that hand out frame and socket IDs to
// every host of the run, so that one frame keeps one ID from the sender's NIC
// to the receiver's.
//
// A Log is safe for concurrent use: protocol state is owned by one event
// loop, but applications (the web server's seven steps) log from their own
// goroutines.
type Log struct {
	clock clock.Clock

	mu        sync.Mutex
	sinks     []Sink
	capturers []Capturer
	listening atomic.Bool // len(sinks) > 0, read without the lock on every step

	nextFrame atomic.Uint64
	nextConn  atomic.Uint64

	// event, fields and frame are the one Event, Fields array and
	// CapturedFrame handed to the sinks, reused under mu. Emit copies the
	// caller's event into them instead of passing its address: an address
	// given to an interface method escapes, so every event (and the array
	// of its fields literal) would be a heap allocation at its call site,
	// one per step of every frame. Sinks already may not keep the event
	// (Sink's contract), so nothing changes for them.
	event  Event
	fields []Field
	args   []Arg
	frame  CapturedFrame

	topoMu sync.Mutex
	topo   Topology // what the run is made of (topology.go), under topoMu

	// marks add a field to the events they match (Mark), under mu.
	marks []mark
}

type mark struct {
	match func(*Event) bool
	field Field
}

// NewLog returns a log stamped by clock, with no sinks yet.
func NewLog(clock clock.Clock) *Log {
	return &Log{clock: clock}
}

// Clock returns the clock that stamps the log's events.
func (l *Log) Clock() clock.Clock { return l.clock }

// AddSink subscribes s to every later event. A Capturer is also given the
// frames that NICs capture.
func (l *Log) AddSink(s Sink) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sinks = append(l.sinks, s)
	if c, ok := s.(Capturer); ok && wantsFrames(s) {
		l.capturers = append(l.capturers, c)
	}
	l.listening.Store(true)
}

// Mark adds field f to every later event for which match returns true,
// before any sink sees it. `packetwalk lab serve` marks the steps that a
// student's component takes (impl: student); a log without marks pays
// nothing for them. match is called with the log's lock held and must not
// call back into the log.
func (l *Log) Mark(match func(*Event) bool, f Field) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.marks = append(l.marks, mark{match, f})
}

// RemoveSink unsubscribes s.
func (l *Log) RemoveSink(s Sink) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sinks = removeSink(l.sinks, s)
	if c, ok := s.(Capturer); ok {
		for i, x := range l.capturers {
			if x == c {
				l.capturers = append(l.capturers[:i:i], l.capturers[i+1:]...)
				break
			}
		}
	}
	l.listening.Store(len(l.sinks) > 0)
}

// wantsFrames reports whether a Capturer wants frames: an AsyncSink is a
// Capturer in its type but wants them only if the sink it wraps is one.
func wantsFrames(s Sink) bool {
	w, ok := s.(interface{ wantsFrames() bool })
	return !ok || w.wantsFrames()
}

func removeSink(sinks []Sink, s Sink) []Sink {
	for i, x := range sinks {
		if x == s {
			return append(sinks[:i:i], sinks[i+1:]...)
		}
	}
	return sinks
}

// NewFrameID hands out the next frame ID. IDs start at 1; 0 means "no frame".
func (l *Log) NewFrameID() uint64 { return l.nextFrame.Add(1) }

// NewConnID hands out the next socket ID. IDs start at 1; 0 means "no socket".
func (l *Log) NewConnID() uint64 { return l.nextConn.Add(1) }

// Recorder returns the recorder through which host's layers log.
func (l *Log) Recorder(host string) *Recorder {
	return &Recorder{log: l, host: host}
}

// emit hands a copy of e, with fields and args, to every sink. Nothing of
// the caller's escapes: the strings are copied into the log's own Event,
// and the elements of fields and args into the log's own arrays. fields
// and args come as parameters of their own, not inside e, because the
// compiler's escape analysis does not tell a struct's members apart:
// copying e's strings would make it think the slices' arrays escape too,
// and put every step's slice literals on the heap (Recorder.Stepf).
func (l *Log) emit(host string, e *Event, fields []Field, args []Arg) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.fields = append(l.fields[:0], fields...)
	l.args = append(l.args[:0], args...)
	l.event = Event{
		T:     l.clock.Now(), // stamped under the lock, so file order is time order
		Host:  host,
		Layer: e.Layer, Step: e.Step, Verdict: e.Verdict, Reason: e.Reason,
		Frame: e.Frame, Conn: e.Conn,
		Msg: e.Msg, Fmt: e.Fmt, Args: l.args, Fields: l.fields,
	}
	for _, m := range l.marks {
		if m.match(&l.event) {
			l.fields = append(l.fields, m.field)
			l.event.Fields = l.fields
		}
	}
	for _, s := range l.sinks {
		s.Event(&l.event)
	}
	// Drop the references to the caller's strings until the next event.
	clear(l.fields)
	clear(l.args)
	l.event = Event{}
}

// Recorder is one host's handle on the log. Every layer of the host holds
// the same Recorder. A nil *Recorder is valid and records nothing, so a
// layer built without a log (a unit test, a benchmark) needs no special case.
type Recorder struct {
	log  *Log
	host string
}

// Log returns the log this recorder writes to (nil for a nil Recorder), for
// the composition root to register the host's parts (Log.AddTopoNIC).
func (r *Recorder) Log() *Log {
	if r == nil {
		return nil
	}
	return r.log
}

// Host returns the name stamped on this recorder's events.
func (r *Recorder) Host() string {
	if r == nil {
		return ""
	}
	return r.host
}

// On reports whether anybody listens. Guard every step with it, so that when
// nobody does, no Event is built:
//
//	if rec.On() {
//		rec.Emit(viz.Event{Layer: viz.LayerNIC, Step: "fcs", ...})
//	}
//
// When somebody does, the message is still not made here: the event
// carries its format and typed arguments (Fmt, Args) and the sinks make
// the text.
func (r *Recorder) On() bool {
	return r != nil && r.log != nil && r.log.listening.Load()
}

// Emit records e, stamped with the time and this recorder's host. The
// slices e holds (Fields, Args) are copied, but passing them inside e puts
// them on the heap (see Log.emit): a step taken for every frame uses Stepf.
func (r *Recorder) Emit(e Event) {
	if !r.On() {
		return
	}
	r.log.emit(r.host, &e, e.Fields, e.Args)
}

// Stepf records the step e (its Layer, Step, Verdict, Reason, Frame, Conn)
// with fields and the sentence format of args, stamped with the time and
// this recorder's host:
//
//	rec.Stepf(viz.Event{Layer: viz.LayerNIC, Step: "fcs", Verdict: viz.Pass, Frame: id},
//		[]viz.Field{viz.Fv("fcs", viz.Hex32(fcs))}, "FCS ok (%s)", viz.Hex32(fcs))
//
// Nothing is formatted here and nothing is allocated: the fields literal
// and the arguments stay on the caller's stack, the log copies them, and
// the sinks make the text.
func (r *Recorder) Stepf(e Event, fields []Field, format string, args ...Arg) {
	if !r.On() {
		return
	}
	e.Fmt = format
	r.log.emit(r.host, &e, fields, args)
}

// Now returns the log clock's time, or 0 without a log.
func (r *Recorder) Now() time.Duration {
	if r == nil || r.log == nil {
		return 0
	}
	return r.log.clock.Now()
}

// NewFrameID hands out a run-wide frame ID; it counts whether or not anybody
// listens, so a targeted fault ("drop frame 7") finds the same frame either
// way. A recorder without a log returns 0.
func (r *Recorder) NewFrameID() uint64 {
	if r == nil || r.log == nil {
		return 0
	}
	return r.log.NewFrameID()
}

// NewConnID hands out a run-wide socket ID.
func (r *Recorder) NewConnID() uint64 {
	if r == nil || r.log == nil {
		return 0
	}
	return r.log.NewConnID()
}

// Capturing reports whether any Capturer wants frames.
func (r *Recorder) Capturing() bool {
	if !r.On() {
		return false
	}
	r.log.mu.Lock()
	defer r.log.mu.Unlock()
	return len(r.log.capturers) > 0
}

// Capture hands a frame crossing one of this host's NICs to every Capturer.
// f.T and f.Host are filled in here.
func (r *Recorder) Capture(f CapturedFrame) {
	if !r.On() {
		return
	}
	l := r.log
	l.mu.Lock()
	defer l.mu.Unlock()
	// Copied into the log's own CapturedFrame so that f does not escape
	// (see Log.event).
	l.frame = f
	l.frame.T = l.clock.Now()
	l.frame.Host = r.host
	for _, c := range l.capturers {
		c.Capture(&l.frame)
	}
	l.frame = CapturedFrame{}
}

// EndWalk says this host is done with frame (see Capturer.EndWalk).
func (r *Recorder) EndWalk(frame uint64) {
	if !r.On() || frame == 0 {
		return
	}
	l := r.log
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, c := range l.capturers {
		c.EndWalk(r.host, frame)
	}
}
