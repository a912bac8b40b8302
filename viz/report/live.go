package report

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/packetwalk/packetwalk/viz"
)

// Defaults of LiveOptions: what a late joiner of the live view is given
// before the live events, and so what the hub holds in memory however
// long the server runs.
const (
	DefaultLiveHistory  = 20_000  // events
	DefaultLiveFrames   = 5_000   // frames whose ladder row is kept
	DefaultLiveCaptures = 10_000  // captured copies of frames
	DefaultLiveBytes    = 8 << 20 // bytes of those copies
	// DefaultLiveBuffer is how many events one page may fall behind
	// before the events it misses are dropped (and counted, and the page
	// told): a slow browser never stalls the stack.
	DefaultLiveBuffer = 4096
	// DefaultLivePages is how many pages may follow the stream at once:
	// each holds a buffer of Buffer events; one more is refused with 503.
	DefaultLivePages = 16
)

// LiveOptions configure a Live hub. Zero values mean the defaults.
type LiveOptions struct {
	Title    string
	History  int // events a late joiner is sent first
	Frames   int // frames kept for the ladder
	Captures int // frame copies kept for the hex dump
	Bytes    int // bytes of frame copies kept
	Buffer   int // events a subscriber may fall behind before losing some
	Pages    int // streams at once
}

func (o LiveOptions) withDefaults() LiveOptions {
	if o.Title == "" {
		o.Title = "packetwalk live"
	}
	if o.History <= 0 {
		o.History = DefaultLiveHistory
	}
	if o.Frames <= 0 {
		o.Frames = DefaultLiveFrames
	}
	if o.Captures <= 0 {
		o.Captures = DefaultLiveCaptures
	}
	if o.Bytes <= 0 {
		o.Bytes = DefaultLiveBytes
	}
	if o.Buffer <= 0 {
		o.Buffer = DefaultLiveBuffer
	}
	if o.Pages <= 0 {
		o.Pages = DefaultLivePages
	}
	return o
}

// Live is the live view's hub: a viz.Capturer that keeps a bounded history
// of the run (the last events, the ladder rows of the last frames, the
// bytes of the last captures) and fans new events out to the pages that
// watch, through a viz.Broadcaster. Handler serves the page and the
// stream.
//
// Frames and captures travel with the events: the hub's own Broadcaster
// also carries a marker event (no layer, the frame's ID) when a frame is
// captured, and each page's stream then sends the frame's ladder row and
// its new captures. A marker never leaves the hub.
type Live struct {
	opts LiveOptions
	b    viz.Broadcaster
	topo atomic.Pointer[func() viz.Topology] // SetTopology's

	mu         sync.Mutex
	events     []viz.Event // ring of the last History events
	evStart    int         // index of the oldest event in the ring
	evTotal    int         // events ever seen
	frames     map[uint64]*liveFrame
	frameOrder []uint64 // FIFO of kept frames
	caps       []liveCapture
	capBytes   int
	capSeq     uint64 // sequence number of the next capture
	closed     bool
	done       chan struct{}
	pages      int // streams being served
	refused    int // streams refused by the Pages limit
}

type liveFrame struct {
	info    frameInfo
	version uint64 // bumped at every change of info
}

type liveCapture struct {
	seq uint64
	c   capture
	n   int // bytes held
}

var _ viz.Capturer = (*Live)(nil)

// NewLive returns an empty hub.
func NewLive(opts LiveOptions) *Live {
	return &Live{opts: opts.withDefaults(), frames: make(map[uint64]*liveFrame), done: make(chan struct{})}
}

// SetTopology gives the hub the run's topology (usually the Log's
// Topology method), asked for whenever a page joins, so that a page
// draws the network as it is by then.
func (l *Live) SetTopology(get func() viz.Topology) { l.topo.Store(&get) }

// topology asks SetTopology's function, nil if none or empty. It is
// called without l.mu: the Log holds its own lock while it hands l events
// (which take l.mu), so asking it under l.mu could deadlock.
func (l *Live) topology() *viz.Topology {
	if get := l.topo.Load(); get != nil {
		return topologyOf(*get)
	}
	return nil
}

// frame returns the frame's record, keeping at most opts.Frames: the
// oldest is forgotten first.
func (l *Live) frame(id uint64, e func() *frameInfo) *liveFrame {
	if f, ok := l.frames[id]; ok {
		return f
	}
	for len(l.frameOrder) >= l.opts.Frames {
		delete(l.frames, l.frameOrder[0])
		l.frameOrder = l.frameOrder[1:]
	}
	f := &liveFrame{info: *e()}
	l.frames[id] = f
	l.frameOrder = append(l.frameOrder, id)
	return f
}

// Event implements viz.Sink.
func (l *Live) Event(e *viz.Event) {
	if e.Layer == "" {
		return // not a step (and the hub's own marker shape)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return
	}
	c := e.Resolved()
	if len(l.events) < l.opts.History {
		l.events = append(l.events, c)
	} else {
		l.events[l.evStart] = c
		l.evStart = (l.evStart + 1) % len(l.events)
	}
	l.evTotal++
	if e.Frame != 0 {
		f := l.frame(e.Frame, func() *frameInfo { return newFrameInfo(e.Frame, e.T) })
		f.info.noteEvent(e)
		f.version++
	}
	l.b.Event(e)
}

// Capture implements viz.Capturer: it keeps the copy's bytes, within the
// limits, and tells the pages.
func (l *Live) Capture(c *viz.CapturedFrame) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return
	}
	f := l.frame(c.Frame, func() *frameInfo { return newFrameInfo(c.Frame, c.T) })
	f.info.noteCapture(c)
	f.version++
	cp := newCapture(c)
	cp.Bytes = base64.StdEncoding.EncodeToString(c.Data)
	l.caps = append(l.caps, liveCapture{seq: l.capSeq, c: cp, n: len(c.Data)})
	l.capSeq++
	l.capBytes += len(c.Data)
	for len(l.caps) > 1 && (len(l.caps) > l.opts.Captures || l.capBytes > l.opts.Bytes) {
		l.capBytes -= l.caps[0].n
		l.caps = l.caps[1:]
	}
	l.b.Event(&viz.Event{Frame: c.Frame}) // the marker: a frame changed
}

// EndWalk implements viz.Capturer.
func (l *Live) EndWalk(host string, frame uint64) {}

// Close ends every page's stream (the pages say the server stopped).
func (l *Live) Close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.closed {
		l.closed = true
		close(l.done)
	}
}

// snapshot is the first message of a stream: the page's data (the same
// shape as the report's) from the history, and topo. The caller subscribes under
// the same lock, so that no event falls between the two.
func (l *Live) snapshot(topo *viz.Topology) ([]byte, uint64) {
	d := data{Title: l.opts.Title, Live: true, Limit: l.opts.History, Hosts: []string{}, Wires: []string{}, Frames: []*frameInfo{}, Captures: []capture{}, Notes: []string{}, Topology: topo}
	ev := []byte{'['}
	n := len(l.events)
	for i := 0; i < n; i++ {
		if i > 0 {
			ev = append(ev, ',')
		}
		ev = viz.AppendJSON(ev, &l.events[(l.evStart+i)%n])
	}
	d.Events = append(ev, ']')
	for _, id := range l.frameOrder {
		fi := l.frames[id].info
		d.Frames = append(d.Frames, &fi)
	}
	for _, c := range l.caps {
		d.Captures = append(d.Captures, c.c)
	}
	if missed := l.evTotal - n; missed > 0 {
		d.Notes = append(d.Notes, fmt.Sprintf("The live view keeps the last %d events: the %d before them are not shown (the --json log has them all).", l.opts.History, missed))
	}
	b, _ := json.Marshal(d) // plain types: cannot fail
	return b, l.capSeq
}
