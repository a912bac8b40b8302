// Package report writes the HTML report of a run: one self-contained file
// (inline script and style, the run's data embedded as JSON, nothing fetched
// from a network) that a student opens offline and steps through frame by
// frame. It shows a picture of the network (Options.Topology), a ladder
// diagram of every frame between the hosts, each frame's layer walk on each
// host with its raw bytes, the socket table over time, per-connection state
// timelines and sequence-number plots, the reassembly of fragmented
// datagrams, and the web server's seven steps per request. Its address
// names the frame or event shown (report.html#frame=7, #event=120), so a
// moment of a run can be linked to.
//
// A Writer is a viz.Capturer: add it to a viz.Log and Close it at the end of
// the run. It keeps what it needs in memory, within limits (Options); what
// goes over a limit is counted and the page says so. A large run's data is
// embedded compressed (Options.CompressAbove).
//
// Live is the same page for a run that is still going (packetwalk serve
// --viz): a viz.Capturer that keeps a bounded history and serves the page
// and a stream of Server-Sent Events that the page follows (live.go,
// live_http.go). Both derive a frame's ladder row the same way (frames.go);
// the page's script (assets/report.js) draws both.
package report

import (
	"bytes"
	"compress/gzip"
	_ "embed"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/packetwalk/packetwalk/viz"
)

//go:embed assets/report.html
var pageTemplate string

//go:embed assets/report.css
var pageCSS string

//go:embed assets/report.js
var pageJS string

// Defaults of Options.
const (
	DefaultMaxEvents = 250_000 // a 10,000-frame trace logs about 120,000
	DefaultMaxFrames = 20_000
	DefaultMaxBytes  = 4 << 20
	// DefaultCompressAbove is the size of the page's data (JSON, bytes)
	// above which it is embedded gzip-compressed and base64-encoded: a
	// 10,000-frame trace's data shrinks about tenfold, and the browser
	// inflates it with its own DecompressionStream, still offline.
	DefaultCompressAbove = 256 << 10
	// DefaultSnapLen is how much of a frame is kept once MaxBytes of frame
	// bytes are held: the Ethernet, IP and TCP headers with options.
	DefaultSnapLen = 128
)

// Options configure a Writer. Zero values mean the defaults.
type Options struct {
	Title     string // the page's title; "packetwalk report" if empty
	MaxEvents int    // events kept at most; later ones are counted, not kept
	MaxFrames int    // frames drawn at most (and whose bytes are kept)
	MaxBytes  int    // frame bytes kept in full; after that, SnapLen per copy
	SnapLen   int
	// CompressAbove: data larger than this many bytes is embedded
	// compressed (see DefaultCompressAbove); negative: never.
	CompressAbove int
	// Topology, if set, is asked for the run's hosts, NICs and wires when
	// the page is written (usually the Log's Topology method: the parts
	// register as the run builds them, so asking at the end finds them
	// all). The page draws it as a picture; without it, it says the run
	// did not describe its network.
	Topology func() viz.Topology
}

func (o Options) withDefaults() Options {
	if o.Title == "" {
		o.Title = "packetwalk report"
	}
	if o.MaxEvents <= 0 {
		o.MaxEvents = DefaultMaxEvents
	}
	if o.MaxFrames <= 0 {
		o.MaxFrames = DefaultMaxFrames
	}
	if o.MaxBytes <= 0 {
		o.MaxBytes = DefaultMaxBytes
	}
	if o.SnapLen <= 0 {
		o.SnapLen = DefaultSnapLen
	}
	if o.CompressAbove == 0 {
		o.CompressAbove = DefaultCompressAbove
	}
	return o
}

// Writer collects a run's events and frames and writes the report on Close.
// Its sink methods are called under the log's lock; Close may be called from
// any goroutine.
type Writer struct {
	mu     sync.Mutex
	opts   Options
	out    io.Writer
	closer io.Closer
	closed bool

	events     []byte // the kept events, as JSON objects separated by commas
	nEvents    int
	lostEvents int

	frames     map[uint64]*frameInfo
	frameOrder []uint64
	lostFrames int

	captures   []capture
	lastOut    map[uint64]int // frame -> index of its outbound capture
	heldBytes  int
	snapped    int
	hostOrder  []string
	hostSeen   map[string]bool
	hostIsWire map[string]bool // true while a host has logged only phy steps
}

var _ viz.Capturer = (*Writer)(nil)

// New returns a Writer that writes the report to w on Close. If w is an
// io.Closer, Close closes it.
func New(w io.Writer, opts Options) *Writer {
	r := &Writer{
		opts:       opts.withDefaults(),
		out:        w,
		frames:     make(map[uint64]*frameInfo),
		lastOut:    make(map[uint64]int),
		hostSeen:   make(map[string]bool),
		hostIsWire: make(map[string]bool),
	}
	if c, ok := w.(io.Closer); ok {
		r.closer = c
	}
	return r
}

func (r *Writer) host(name string, wire bool) {
	if name == "" {
		return
	}
	if !r.hostSeen[name] {
		r.hostSeen[name] = true
		r.hostOrder = append(r.hostOrder, name)
		r.hostIsWire[name] = true
	}
	if !wire {
		r.hostIsWire[name] = false
	}
}

// frame returns the frame's record, creating it within the limit.
func (r *Writer) frame(id uint64, t time.Duration) *frameInfo {
	if f, ok := r.frames[id]; ok {
		return f
	}
	if len(r.frames) >= r.opts.MaxFrames {
		r.lostFrames++
		return nil
	}
	f := newFrameInfo(id, t)
	r.frames[id] = f
	r.frameOrder = append(r.frameOrder, id)
	return f
}

// Event implements viz.Sink.
func (r *Writer) Event(e *viz.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return
	}
	r.host(e.Host, e.Layer == viz.LayerPHY)
	if r.nEvents >= r.opts.MaxEvents {
		r.lostEvents++
		return
	}
	if r.nEvents > 0 {
		r.events = append(r.events, ',', '\n')
	}
	r.events = viz.AppendJSON(r.events, e)
	r.nEvents++
	if e.Frame == 0 {
		return
	}
	f := r.frame(e.Frame, e.T)
	if f == nil {
		return
	}
	f.noteEvent(e)
}

// Capture implements viz.Capturer: it keeps the frame's bytes.
func (r *Writer) Capture(c *viz.CapturedFrame) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return
	}
	r.host(c.Host, false)
	f := r.frame(c.Frame, c.T)
	if f == nil {
		return
	}
	cp := newCapture(c)
	f.noteCapture(c)
	data := c.Data
	keep := len(data)
	if r.heldBytes+keep > r.opts.MaxBytes && keep > r.opts.SnapLen {
		keep = r.opts.SnapLen
		r.snapped++
	}
	data = data[:keep]
	if i, ok := r.lastOut[c.Frame]; ok && c.Dir == viz.Inbound && r.sameBytes(i, data) {
		cp.Ref = &i
	} else {
		cp.Bytes = base64.StdEncoding.EncodeToString(data)
		r.heldBytes += keep
	}
	if c.Dir == viz.Outbound {
		r.lastOut[c.Frame] = len(r.captures)
	}
	r.captures = append(r.captures, cp)
}

func (r *Writer) sameBytes(i int, data []byte) bool {
	b, err := base64.StdEncoding.DecodeString(r.captures[i].Bytes)
	return err == nil && bytes.Equal(b, data)
}

// EndWalk implements viz.Capturer; the report needs nothing at the end of
// a walk, since it groups a frame's steps by host when the page is drawn.
func (r *Writer) EndWalk(host string, frame uint64) {}

// Stats says what a Writer kept and what it left out.
type Stats struct {
	Events, LostEvents int
	Frames, LostFrames int
	Captures, Snapped  int
	HeldBytes          int
}

// Stats returns the counters so far.
func (r *Writer) Stats() Stats {
	r.mu.Lock()
	defer r.mu.Unlock()
	return Stats{Events: r.nEvents, LostEvents: r.lostEvents, Frames: len(r.frames), LostFrames: r.lostFrames,
		Captures: len(r.captures), Snapped: r.snapped, HeldBytes: r.heldBytes}
}

// data is the JSON embedded in the page.
type data struct {
	Title    string          `json:"title"`
	Hosts    []string        `json:"hosts"`
	Wires    []string        `json:"wires"`
	Events   json.RawMessage `json:"events"`
	Frames   []*frameInfo    `json:"frames"`
	Captures []capture       `json:"captures"`
	Notes    []string        `json:"notes"`
	// Topology is what the run is made of, for the picture; nil when
	// nothing described it.
	Topology *viz.Topology `json:"topology,omitempty"`
	// Live marks the live view's page, which then follows /events;
	// Limit is how many events it keeps (the oldest go first).
	Live  bool `json:"live,omitempty"`
	Limit int  `json:"limit,omitempty"`
}

// topologyOf asks get for the topology, nil if there is nothing to draw.
func topologyOf(get func() viz.Topology) *viz.Topology {
	if get == nil {
		return nil
	}
	t := get()
	if len(t.Hosts) == 0 && len(t.Wires) == 0 {
		return nil
	}
	return &t
}

// Data returns the JSON that the page embeds (before the escaping that
// makes it safe inside a script element).
func (r *Writer) Data() ([]byte, error) {
	topo := topologyOf(r.opts.Topology)
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.data(topo)
}

// data builds the page's data. topo is asked for before r.mu is taken:
// the Log holds its own lock while it calls r's sink methods, which take
// r.mu, so asking the Log while holding r.mu could deadlock.
func (r *Writer) data(topo *viz.Topology) ([]byte, error) {
	d := data{Title: r.opts.Title, Hosts: []string{}, Wires: []string{}, Frames: []*frameInfo{}, Captures: r.captures, Notes: []string{}}
	if d.Captures == nil {
		d.Captures = []capture{}
	}
	d.Topology = topo
	// Hosts in the order they first sent or received a frame, so that the
	// client (which speaks first) is the left column; then the rest.
	placed := map[string]bool{}
	place := func(h string) {
		if h != "" && !placed[h] && !r.hostIsWire[h] {
			placed[h] = true
			d.Hosts = append(d.Hosts, h)
		}
	}
	for _, id := range r.frameOrder {
		f := r.frames[id]
		place(f.From)
		for _, h := range f.To {
			place(h)
		}
		d.Frames = append(d.Frames, f)
	}
	for _, h := range r.hostOrder {
		if r.hostIsWire[h] {
			d.Wires = append(d.Wires, h)
		} else {
			place(h)
		}
	}
	ev := make([]byte, 0, len(r.events)+2)
	ev = append(ev, '[')
	ev = append(ev, r.events...)
	ev = append(ev, ']')
	d.Events = ev
	if r.lostEvents > 0 {
		d.Notes = append(d.Notes, fmt.Sprintf("The report keeps at most %d events: the last %d were left out (see the JSON Lines log for all of them).", r.opts.MaxEvents, r.lostEvents))
	}
	if r.lostFrames > 0 {
		d.Notes = append(d.Notes, fmt.Sprintf("The ladder draws at most %d frames: %d more were left out.", r.opts.MaxFrames, r.lostFrames))
	}
	if r.snapped > 0 {
		d.Notes = append(d.Notes, fmt.Sprintf("After %d bytes of frames, only the first %d bytes of each frame were kept (%d frames cut short).", r.opts.MaxBytes, r.opts.SnapLen, r.snapped))
	}
	return json.Marshal(d)
}

// escapeScript makes JSON safe inside <script type="application/json">:
// "<" (and so "</script>" and "<!--") becomes \u003c, and the JavaScript
// line separators are escaped. Outside strings, JSON has none of these.
func escapeScript(b []byte) []byte {
	var out bytes.Buffer
	out.Grow(len(b) + len(b)/64)
	for i := 0; i < len(b); i++ {
		switch {
		case b[i] == '<':
			out.WriteString(`\u003c`)
		case b[i] == '>':
			out.WriteString(`\u003e`)
		case b[i] == '&':
			out.WriteString(`\u0026`)
		case b[i] == 0xe2 && i+2 < len(b) && b[i+1] == 0x80 && (b[i+2] == 0xa8 || b[i+2] == 0xa9):
			out.WriteString(`\u202`)
			out.WriteByte("89"[b[i+2]-0xa8])
			i += 2
		default:
			out.WriteByte(b[i])
		}
	}
	return out.Bytes()
}

// WriteTo writes the page to w (without closing anything).
func (r *Writer) WriteTo(w io.Writer) (int64, error) {
	topo := topologyOf(r.opts.Topology)
	r.mu.Lock()
	js, err := r.data(topo)
	r.mu.Unlock()
	if err != nil {
		return 0, fmt.Errorf("report: %w", err)
	}
	var page []byte
	if r.opts.CompressAbove > 0 && len(js) > r.opts.CompressAbove {
		page, err = render(r.opts.Title, compress(js), encGzipBase64)
	} else {
		page, err = render(r.opts.Title, escapeScript(js), "")
	}
	if err != nil {
		return 0, err
	}
	n, err := w.Write(page)
	return int64(n), err
}

// encGzipBase64 is the data script's data-encoding when the data is
// compressed: base64 of the gzip of the JSON.
const encGzipBase64 = "gzip+base64"

// compress gzips js and base64-encodes the result, which needs no escaping
// inside a script element (base64 has no "<").
func compress(js []byte) []byte {
	var z bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&z, gzip.BestSpeed)
	zw.Write(js)
	zw.Close()
	out := make([]byte, base64.StdEncoding.EncodedLen(z.Len()))
	base64.StdEncoding.Encode(out, z.Bytes())
	return out
}

// render fills the page template. The template's placeholders are plain
// markers, not html/template actions, because the data, script and style
// are inserted verbatim (the data already escaped for a script element, or
// compressed: enc says how).
func render(title string, js []byte, enc string) ([]byte, error) {
	parts := strings.Split(pageTemplate, "{{")
	if len(parts) == 0 {
		return nil, errors.New("report: empty template")
	}
	var b bytes.Buffer
	b.Grow(len(pageTemplate) + len(pageCSS) + len(pageJS) + len(js))
	b.WriteString(parts[0])
	for _, p := range parts[1:] {
		name, rest, ok := strings.Cut(p, "}}")
		if !ok {
			return nil, fmt.Errorf("report: template: unclosed {{%s", name)
		}
		switch name {
		case "title":
			b.WriteString(htmlEscape(title))
		case "css":
			b.WriteString(pageCSS)
		case "js":
			b.WriteString(pageJS)
		case "data":
			b.Write(js)
		case "datatype":
			if enc == "" {
				b.WriteString("application/json")
			} else {
				b.WriteString("application/octet-stream")
			}
		case "dataenc":
			if enc != "" {
				b.WriteString(` data-encoding="` + enc + `"`)
			}
		default:
			return nil, fmt.Errorf("report: template: unknown {{%s}}", name)
		}
		b.WriteString(rest)
	}
	return b.Bytes(), nil
}

func htmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&#34;").Replace(s)
}

// Close writes the report and closes the underlying writer if it can be
// closed. Events and frames that arrive later are ignored.
func (r *Writer) Close() error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	r.mu.Unlock()
	_, err := r.WriteTo(r.out)
	r.mu.Lock()
	r.closed = true
	r.mu.Unlock()
	if r.closer != nil {
		if cerr := r.closer.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	return nil
}
