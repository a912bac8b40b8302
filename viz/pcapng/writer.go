package pcapng

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/packetwalk/packetwalk/viz"
)

// Writer writes a run's captured frames, with their step trails, as a
// pcapng file. Add it to a viz.Log as a sink; it implements viz.Capturer.
//
// How a packet's trail is gathered (the events of its walk on one host are
// the ones carrying that host and the frame's ID):
//
//   - An outbound frame is built by the layers above the NIC before the NIC
//     sends it, so its trail is what the host logged for the frame before
//     Capture; the packet is complete when captured.
//   - An inbound frame's walk starts at the NIC, so its trail is what the
//     host logs for it from Capture until EndWalk (after the RX ring's
//     interrupt, up through IP and TCP); the packet waits until then.
//
// Packets are written in capture order: a complete packet waits behind an
// earlier inbound one whose walk has not ended. The sink methods are called
// under the log's lock; Flush, FlushPending and Close may be called from
// any goroutine.
type Writer struct {
	mu  sync.Mutex
	cfg Options // with defaults filled in

	out    *tap // between pcapgo and the output
	ng     *pcapgo.NgWriter
	closer io.Closer
	nics   map[nicKey]int // interface IDs

	queue fifo             // captured packets, in capture order
	open  map[key]openWalk // inbound walks that have not ended
	// The wire view's indexes, by frame ID, of packets still queued: a
	// sender's copy waiting for its arrival, and a received copy that
	// another receiver of the same medium may share.
	sent map[uint64]*packet
	recv map[uint64]*packet
	held []*packet // received packets held until time moves on (packet.held)
	// hosts, if not empty, are the only hosts whose frames and steps
	// the file holds (Options.Hosts).
	hosts  map[string]bool
	trails trailTable // trails of walks whose frame is not captured
	stats  Stats      // counters, for Stats
	err    error      // the first error; nothing is written after it
	closed bool

	freePackets []*packet
	freeTrails  []*trail

	// bw buffers the Enhanced Packet Blocks this package encodes itself
	// (epb.go) on their way to out; block is the one being built.
	bw         *bufio.Writer
	block      []byte
	commentBuf [][]byte

	// names holds the addresses a Name Resolution Block has named
	// (names.go), as their octets.
	names map[string]bool

	// Host numbers for keys (keyOf); the last name asked for is
	// remembered, as events come in runs from one host.
	hostIDs  map[string]uint32
	lastHost string
	lastID   uint32
	haveLast bool
}

// keyOf returns the key of frame's walk on host.
func (w *Writer) keyOf(host string, frame uint64) key {
	if !w.haveLast || host != w.lastHost {
		id, ok := w.hostIDs[host]
		if !ok {
			id = uint32(len(w.hostIDs))
			w.hostIDs[host] = id
		}
		w.lastHost, w.lastID, w.haveLast = host, id, true
	}
	return key{w.lastID, frame}
}

// Stats counts what a Writer did.
type Stats struct {
	Packets    uint64 // Enhanced Packet Blocks written
	Truncated  uint64 // of those, written before their walk ended
	Interfaces int    // Interface Description Blocks written
	Pending    int    // packets waiting to be written
	Trails     int    // trails held for frames not (yet) captured
	Evicted    uint64 // trails forgotten because MaxTrails were held
}

var _ viz.Capturer = (*Writer)(nil)

// New returns a Writer that writes to w, and writes the file's Section
// Header Block at once (draft-ietf-opsawg-pcapng, 4.1), so even a file
// without packets is a valid capture. If w is an io.Closer, Close closes it.
func New(w io.Writer, opts Options) (*Writer, error) {
	cfg := opts.withDefaults()
	out := &tap{w: w, hold: true}
	section := pcapgo.NgWriterOptions{SectionInfo: pcapgo.NgSectionInfo{
		// Hardware and OS are left out: they would make files from two
		// machines differ.
		Application: "packetwalk",
		Comment:     cfg.Comment,
	}}
	// pcapgo writes a first interface with the section header, but no NIC
	// has captured yet. So the placeholder's IDB is held back with the
	// header, and only the header goes to the file; every real interface
	// is added later (interfaceFor).
	placeholder := pcapgo.NgInterface{LinkType: layers.LinkTypeEthernet, SnapLength: uint32(cfg.SnapLen)}
	ng, err := pcapgo.NewNgWriterInterface(out, placeholder, section)
	if err == nil {
		err = ng.Flush()
	}
	out.hold = false
	if err != nil {
		return nil, fmt.Errorf("pcapng: %w", err)
	}
	shb, err := firstBlock(out.take())
	if err != nil {
		return nil, err
	}
	if _, err := w.Write(shb); err != nil {
		return nil, fmt.Errorf("pcapng: %w", err)
	}
	wr := &Writer{
		cfg:    cfg,
		out:    out,
		ng:     ng,
		nics:   make(map[nicKey]int),
		open:   make(map[key]openWalk),
		sent:   make(map[uint64]*packet),
		recv:   make(map[uint64]*packet),
		trails: newTrailTable(cfg.MaxTrails),
		bw:     bufio.NewWriterSize(out, 64<<10),

		hostIDs: make(map[string]uint32),
	}
	if len(cfg.Hosts) > 0 {
		wr.hosts = make(map[string]bool, len(cfg.Hosts))
		for _, h := range cfg.Hosts {
			wr.hosts[h] = true
		}
	}
	if c, ok := w.(io.Closer); ok {
		wr.closer = c
	}
	return wr, nil
}

// Event implements viz.Sink: it adds e to the trail of the walk it belongs
// to. Events without a frame (socket state changes, timers) belong to no
// packet.
func (w *Writer) Event(e *viz.Event) {
	if e.Frame == 0 {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed || w.err != nil {
		return
	}
	if w.hosts != nil && !w.hosts[e.Host] {
		return
	}
	w.expire(e.T)
	k := w.keyOf(e.Host, e.Frame)
	if ow, ok := w.open[k]; ok {
		ow.t.add(e, w.cfg.MaxCommentBytes)
		return
	}
	if w.cfg.View == ViewWire && e.Layer == viz.LayerPHY {
		w.wireEvent(e)
		return
	}
	t := w.trails.get(k)
	if e.Verdict == viz.Drop {
		// The walk ends here without its frame being captured on this
		// host (or after its packet was written early): its trail will
		// never be wanted.
		if t != nil {
			w.trails.remove(t)
			w.freeTrail(t)
		}
		return
	}
	if t == nil {
		t = w.newTrail(e.Host)
		if old := w.trails.insert(k, t); old != nil {
			w.freeTrail(old)
		}
	}
	t.add(e, w.cfg.MaxCommentBytes)
}

// Capture implements viz.Capturer: it queues the frame as a packet, with
// a copy of its bytes, and writes what is ready.
func (w *Writer) Capture(f *viz.CapturedFrame) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed || w.err != nil {
		return
	}
	if w.hosts != nil && !w.hosts[f.Host] {
		return
	}
	w.expire(f.T)
	if w.cfg.View == ViewWire && f.Frame != 0 && f.Dir == viz.Inbound {
		if r := w.recv[f.Frame]; r != nil && r.fcsError == f.FCSError && r.origLen == len(f.Data) &&
			string(r.data) == string(f.Data[:min(len(f.Data), w.cfg.SnapLen)]) {
			// Another receiver of the same bits (a hub, a switch
			// flooding): one frame on the medium, one more walk.
			w.addWalk(r, w.keyOf(f.Host, f.Frame), f.Host)
			return
		}
	}
	iface, err := w.interfaceFor(f)
	if err != nil {
		w.fail(err)
		return
	}
	k := w.keyOf(f.Host, f.Frame)
	p := w.newPacket()
	p.key, p.iface, p.t, p.dir, p.fcsError = k, iface, f.T, f.Dir, f.FCSError
	p.origLen = len(f.Data)
	p.data = append(p.data[:0], f.Data[:min(len(f.Data), w.cfg.SnapLen)]...)

	earlier := w.trails.get(k)
	if earlier != nil {
		w.trails.remove(earlier)
	}
	switch {
	case f.Dir == viz.Outbound:
		// Built above the NIC: the steps so far are the whole trail.
		if earlier == nil {
			earlier = w.newTrail(f.Host)
		}
		earlier.ended = true
		p.trs, earlier = append(p.trs, earlier), nil
		p.complete = true
		if w.cfg.View == ViewWire && f.Frame != 0 {
			// Written where and when it arrives, as a capture on the
			// wire's far end sees it (wireEvent, and the inbound case).
			if old := w.sent[f.Frame]; old != nil {
				old.inFlight, old.complete = false, true
			}
			p.inFlight, p.complete = true, false
			w.sent[f.Frame] = p
		}
	case f.Frame == 0:
		// Without an ID no step can name this frame: nothing to wait for.
		t := w.newTrail(f.Host)
		t.ended = true
		p.trs = append(p.trs, t)
		p.complete = true
	default:
		if w.cfg.View == ViewWire {
			w.arrived(p)
		}
		// The walk starts here; steps logged before it (if any) belong to
		// another walk of the same frame ID, not to this copy's.
		w.addWalk(p, k, f.Host)
	}
	if earlier != nil {
		w.freeTrail(earlier)
	}
	if w.queue.len() >= w.cfg.MaxPending {
		w.writeHead()
	}
	w.queue.push(p)
	w.writeReady()
}

// EndWalk implements viz.Capturer: host is done with frame. An inbound
// packet waiting for it is complete; a trail of a walk that was never
// captured on host is discarded.
func (w *Writer) EndWalk(host string, frame uint64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return
	}
	k := w.keyOf(host, frame)
	if ow, ok := w.open[k]; ok {
		delete(w.open, k)
		w.endTrail(ow)
		w.writeReady()
		return
	}
	if t := w.trails.get(k); t != nil {
		w.trails.remove(t)
		w.freeTrail(t)
	}
}

// addWalk starts the walk of p's frame on host (key k) as a new trail of p.
func (w *Writer) addWalk(p *packet, k key, host string) {
	if other, ok := w.open[k]; ok {
		// A second copy of one frame on one host (two NICs on one
		// hub): steps cannot tell the copies apart, so they go to the
		// newer, and the older's trail ends here.
		w.endTrail(other)
	}
	t := w.newTrail(host)
	t.key = k
	p.trs = append(p.trs, t)
	p.walking++
	w.open[k] = openWalk{p, t}
}

// endTrail ends one walk of a packet; the packet is complete when none is
// left.
func (w *Writer) endTrail(ow openWalk) {
	if ow.t.ended {
		return
	}
	ow.t.ended = true
	ow.p.walking--
	if ow.p.walking <= 0 && !ow.p.inFlight && !ow.p.held {
		ow.p.complete = true
	}
}

// arrived is the wire view's start of an inbound packet p: the sender's
// copy waiting for it gives up its trail (the sender's walk comes first
// in p's comments) and is not written, and the wire's steps on the way
// (carry, reorder, corrupt, duplicate) come next.
func (w *Writer) arrived(p *packet) {
	id := p.key.frame
	if s := w.sent[id]; s != nil {
		delete(w.sent, id)
		p.trs = append(p.trs, s.trs...)
		clear(s.trs)
		s.trs = s.trs[:0]
		s.inFlight, s.skip, s.complete = false, true, true
	}
	wk := key{wireHost, id}
	if t := w.trails.get(wk); t != nil {
		w.trails.remove(t)
		t.ended = true
		p.trs = append(p.trs, t)
	}
	w.recv[id] = p
	p.held = true
	w.held = append(w.held, p)
}

// wireHost is the host number of the wire view's trails of the medium's
// own steps (keyOf numbers real hosts from 0 up).
const wireHost = ^uint32(0)

// wireEvent files e, a phy step of no walk in progress, in the wire view:
// the medium's steps between a frame's sender and its receivers. A drop
// there (loss, a targeted fault, a full queue) means the frame never
// arrives: its sender's copy is not written, as a capture on the wire's
// far end would never see it.
func (w *Writer) wireEvent(e *viz.Event) {
	wk := key{wireHost, e.Frame}
	t := w.trails.get(wk)
	if e.Verdict == viz.Drop {
		if t != nil {
			w.trails.remove(t)
			w.freeTrail(t)
		}
		if s := w.sent[e.Frame]; s != nil {
			delete(w.sent, e.Frame)
			s.inFlight, s.skip, s.complete = false, true, true
			w.writeReady()
		}
		return
	}
	if t == nil {
		t = w.newTrail(e.Host)
		if old := w.trails.insert(wk, t); old != nil {
			w.freeTrail(old)
		}
	}
	t.add(e, w.cfg.MaxCommentBytes)
}

// expire writes the packets at the head of the queue whose walk has gone
// on longer than MaxPendingAge by now, a run time seen in an event or a
// capture.
func (w *Writer) expire(now time.Duration) {
	if len(w.held) > 0 && now > w.held[len(w.held)-1].t {
		// Every delivery of those instants has been captured.
		for i, p := range w.held {
			p.held = false
			if p.walking <= 0 && !p.inFlight {
				p.complete = true
			}
			w.held[i] = nil
		}
		w.held = w.held[:0]
		w.writeReady()
	}
	if w.cfg.MaxPendingAge <= 0 {
		return
	}
	for w.queue.len() > 0 {
		p := w.queue.front()
		if !p.complete && now-p.t < w.cfg.MaxPendingAge {
			return
		}
		w.writeHead()
	}
}

// Flush writes the file's buffered blocks to the output, so that a reader
// sees every packet written so far; packets still waiting for their walk
// to end (and those captured after them) stay queued. It returns the first
// error the Writer met.
func (w *Writer) Flush() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.flush()
}

func (w *Writer) flush() error {
	if w.err == nil {
		w.writeReady()
		if err := w.bw.Flush(); err != nil {
			w.fail(err)
		} else if err := w.ng.Flush(); err != nil {
			w.fail(err)
		}
	}
	return w.err
}

// FlushPending writes every queued packet, those whose walk has not ended
// with TruncatedNote, then flushes. It is for live captures, where a
// reader wants the file to be complete now: call it after an exchange,
// or on a timer.
func (w *Writer) FlushPending() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.writeAll()
	return w.flush()
}

func (w *Writer) writeAll() {
	for w.queue.len() > 0 {
		w.writeHead()
	}
}

// Close writes every queued packet (as FlushPending does), flushes, and
// closes the output if it is an io.Closer. It returns the first error met
// since New; later calls return the same. Events and frames that arrive
// after Close are ignored.
func (w *Writer) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return w.err
	}
	w.closed = true
	w.writeAll()
	w.writeNames() // hosts registered after the last new interface
	_ = w.flush()  // its error is kept in w.err
	if w.closer != nil {
		if err := w.closer.Close(); err != nil {
			w.fail(err)
		}
	}
	// Let go of everything a long run may have left behind.
	clear(w.open)
	w.trails = newTrailTable(w.cfg.MaxTrails)
	w.freePackets, w.freeTrails = nil, nil
	return w.err
}

// Stats returns the Writer's counters.
func (w *Writer) Stats() Stats {
	w.mu.Lock()
	defer w.mu.Unlock()
	s := w.stats
	s.Interfaces = len(w.nics)
	s.Pending = w.queue.len()
	s.Trails = w.trails.len()
	s.Evicted = w.trails.evicted
	return s
}

// fail keeps the first error.
func (w *Writer) fail(err error) {
	if w.err == nil {
		if !errors.Is(err, errBlock) {
			err = fmt.Errorf("pcapng: %w", err)
		}
		w.err = err
	}
}
