package report

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/packetwalk/packetwalk/viz"
)

// liveKeepalive is how often an idle stream sends a comment line, so that
// a page (and any proxy between) sees the connection is alive.
const liveKeepalive = 15 * time.Second

// liveBatch is how many queued events one write to a page carries at
// most: a page that fell behind catches up in few large writes.
const liveBatch = 512

// Handler serves the live view:
//
//	GET /        the report's page, in live mode: it opens /events
//	GET /events  Server-Sent Events (text/event-stream), one stream per page
//
// A stream starts with one "snapshot" message (the history, in the shape
// of the report's embedded data), then sends the new steps as default
// messages (each a JSON array of step log objects: one step, or several
// when they come fast), a frame's ladder row as "f" and a captured copy's
// bytes as "c" when they change, "lost" with the number of steps this page
// missed by being slow, and "bye" when the server stops.
func (l *Live) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", l.servePage)
	mux.HandleFunc("GET /events", l.serveEvents)
	return mux
}

func (l *Live) servePage(w http.ResponseWriter, r *http.Request) {
	d := data{Title: l.opts.Title, Live: true, Limit: l.opts.History, Hosts: []string{}, Wires: []string{},
		Events: json.RawMessage("[]"), Frames: []*frameInfo{}, Captures: []capture{}, Notes: []string{}}
	js, _ := json.Marshal(d)
	page, err := render(l.opts.Title, escapeScript(js), "")
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Write(page)
}

// sseWriter gathers one batch of messages. Steps go out together, as one
// message holding a JSON array: a page parses one message per batch
// rather than one per step, and keeps up with a busy server much longer.
type sseWriter struct {
	b     []byte
	steps []byte // "[e1,e2" while steps are pending
}

func (s *sseWriter) step(e *viz.Event) {
	if len(s.steps) == 0 {
		s.steps = append(s.steps, '[')
	} else {
		s.steps = append(s.steps, ',')
	}
	s.steps = viz.AppendJSON(s.steps, e)
}

// endSteps turns the pending steps into one message.
func (s *sseWriter) endSteps() {
	if len(s.steps) > 0 {
		s.msg("", append(s.steps, ']'))
		s.steps = s.steps[:0]
	}
}

func (s *sseWriter) msg(event string, data []byte) {
	if event != "" {
		s.b = append(s.b, "event: "...)
		s.b = append(s.b, event...)
		s.b = append(s.b, '\n')
	}
	s.b = append(s.b, "data: "...)
	s.b = append(s.b, data...) // JSON: no newlines
	s.b = append(s.b, '\n', '\n')
}

func (l *Live) serveEvents(w http.ResponseWriter, r *http.Request) {
	fl, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "streaming is not supported by this connection", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")

	var out sseWriter
	topo := l.topology()
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		out.msg("bye", []byte("{}"))
		w.Write(out.b)
		return
	}
	if l.pages >= l.opts.Pages {
		l.refused++
		l.mu.Unlock()
		h.Set("Content-Type", "text/plain; charset=utf-8")
		http.Error(w, "too many pages follow this live view already ("+strconv.Itoa(l.opts.Pages)+"); close one and reload", http.StatusServiceUnavailable)
		return
	}
	l.pages++
	snap, nextCap := l.snapshot(topo)
	sub := l.b.Subscribe(l.opts.Buffer)
	l.mu.Unlock()
	defer sub.Close()
	defer func() { l.mu.Lock(); l.pages--; l.mu.Unlock() }()

	out.msg("snapshot", snap)
	if _, err := w.Write(out.b); err != nil {
		return
	}
	fl.Flush()

	sent := make(map[uint64]uint64) // frame -> version this page has
	lostTold := 0
	touched := make(map[uint64]bool)
	keep := time.NewTicker(liveKeepalive)
	defer keep.Stop()
	for {
		out.b = out.b[:0]
		select {
		case <-r.Context().Done():
			return
		case <-l.done:
			// What is queued still goes out, then the goodbye.
			clear(touched)
			for drained := false; !drained; {
				select {
				case e, ok := <-sub.C:
					if !ok {
						drained = true
						break
					}
					l.add(&out, &e, touched)
				default:
					drained = true
				}
			}
			out.endSteps()
			l.frameNews(&out, touched, sent, nextCap)
			if lost := sub.Lost(); lost > lostTold {
				out.msg("lost", strconv.AppendInt(nil, int64(lost), 10))
			}
			out.msg("bye", []byte("{}"))
			w.Write(out.b)
			fl.Flush()
			return
		case <-keep.C:
			out.b = append(out.b, ": keepalive\n\n"...)
		case e, ok := <-sub.C:
			if !ok {
				return
			}
			clear(touched)
			l.add(&out, &e, touched)
		drain:
			for n := 1; n < liveBatch; n++ {
				select {
				case e, ok := <-sub.C:
					if !ok {
						break drain
					}
					l.add(&out, &e, touched)
				default:
					break drain
				}
			}
			out.endSteps()
			nextCap = l.frameNews(&out, touched, sent, nextCap)
			if lost := sub.Lost(); lost > lostTold {
				lostTold = lost
				out.msg("lost", strconv.AppendInt(nil, int64(lost), 10))
			}
		}
		if _, err := w.Write(out.b); err != nil {
			return // the page went away
		}
		fl.Flush()
	}
}

// add appends one step (or notes a marker's frame).
func (l *Live) add(out *sseWriter, e *viz.Event, touched map[uint64]bool) {
	if e.Frame != 0 {
		touched[e.Frame] = true
	}
	if e.Layer == "" {
		return // the hub's marker: only its frame matters
	}
	out.step(e)
}

// frameNews appends the ladder rows that changed since this page last saw
// them, and the captures it has not had; it returns the next capture's
// sequence number. It copies under the hub's lock, which the log's Event
// waits for, and encodes after.
func (l *Live) frameNews(out *sseWriter, touched map[uint64]bool, sent map[uint64]uint64, nextCap uint64) uint64 {
	var infos []frameInfo
	var caps []capture
	l.mu.Lock()
	for id := range touched {
		f, ok := l.frames[id]
		if !ok || sent[id] == f.version {
			continue
		}
		sent[id] = f.version
		infos = append(infos, f.info)
	}
	if len(sent) > 4*l.opts.Frames {
		// Forget what the hub forgot; at worst a row is sent again.
		for id := range sent {
			if _, ok := l.frames[id]; !ok {
				delete(sent, id)
			}
		}
	}
	// Captures are kept in sequence order: this page's first new one is
	// found by arithmetic, not by a scan.
	start := 0
	if len(l.caps) > 0 && nextCap > l.caps[0].seq {
		start = int(min(nextCap-l.caps[0].seq, uint64(len(l.caps))))
	}
	for _, c := range l.caps[start:] {
		caps = append(caps, c.c)
	}
	next := l.capSeq
	l.mu.Unlock()
	for i := range infos {
		b, _ := json.Marshal(&infos[i])
		out.msg("f", b)
	}
	for i := range caps {
		b, _ := json.Marshal(&caps[i])
		out.msg("c", b)
	}
	return next
}
