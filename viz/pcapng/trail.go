package pcapng

import (
	"unicode/utf8"

	"github.com/packetwalk/packetwalk/viz"
)

// TruncatedNote ends the comment of a packet whose trail is incomplete:
// it was written before its walk ended (too many packets pending, or the
// writer was flushed or closed meanwhile), or its steps did not fit in
// Options.MaxCommentBytes.
const TruncatedNote = " (trail truncated)"

// key names one frame's walk on one host: the events of that walk are the
// ones that carry this (Host, Frame). The host is a number the Writer gives
// each host name (Writer.keyOf): a key of two integers hashes and compares
// faster than one holding the name, and every event and frame looks keys
// up in two maps.
type key struct {
	host  uint32
	frame uint64
}

// trail is a frame's step trail on one host. It is kept already rendered,
// as the packet comment it will become, so that a step costs one append
// and a waiting packet holds a few hundred bytes rather than events:
//
//	server nic: FCS ok -> ring 3/256 -> IPv4 | ip: checksum ok, mine, proto 6
//
// The host comes first; consecutive steps of one layer are joined by
// " -> " after a "layer: " label; layers are separated by " | ".
type trail struct {
	buf       []byte
	layer     viz.Layer // the layer of the last step, "" before the first
	truncated bool      // a step did not fit; later ones are left out too
	ended     bool      // the walk has ended: no TruncatedNote for it

	// The links of the table of trails not yet captured (trailTable).
	key        key
	prev, next *trail
}

// reset starts an empty trail for host, keeping the buffer's memory.
func (t *trail) reset(host string) {
	t.buf = appendText(t.buf[:0], host)
	t.layer = ""
	t.truncated = false
	t.ended = false
	t.prev, t.next = nil, nil
}

// add appends e as the next step, unless the comment would grow beyond
// limit bytes (the note included). Once a step is left out, all later ones
// are too, so that a trail is always a prefix of the walk.
func (t *trail) add(e *viz.Event, limit int) {
	if t.truncated {
		return
	}
	n := len(t.buf)
	switch {
	case t.layer == "":
		t.buf = append(t.buf, ' ')
		t.buf = appendLayer(t.buf, e.Layer)
	case e.Layer != t.layer:
		t.buf = append(t.buf, " | "...)
		t.buf = appendLayer(t.buf, e.Layer)
	default:
		t.buf = append(t.buf, " -> "...)
	}
	t.buf = appendStep(t.buf, e)
	if len(t.buf)+len(TruncatedNote) > limit {
		t.buf = t.buf[:n]
		t.truncated = true
		return
	}
	t.layer = e.Layer
}

// comment returns the packet comment; cut says the walk had not ended when
// the packet was written.
func (t *trail) comment(cut bool) string { return string(t.commentBytes(cut)) }

// commentBytes is comment in the trail's own buffer, valid until the trail
// is reused: the Enhanced Packet Block writer copies it into the block, so
// a packet's comment costs no string (BenchmarkWriteFrame).
func (t *trail) commentBytes(cut bool) []byte {
	if t.layer == "" && !t.truncated {
		t.buf = append(t.buf, ": no steps logged"...)
	}
	if cut || t.truncated {
		t.buf = append(t.buf, TruncatedNote...)
	}
	if len(t.buf) > maxOptionLen { // only a host name this long gets here
		n := maxOptionLen - len(TruncatedNote)
		for n > 0 && !utf8.RuneStart(t.buf[n]) {
			n-- // do not cut a character in two
		}
		t.buf = append(t.buf[:n], TruncatedNote...)
	}
	return t.buf
}

func appendLayer(b []byte, l viz.Layer) []byte {
	if l == "" {
		l = "?"
	}
	b = appendText(b, string(l))
	return append(b, ": "...)
}

// appendStep renders one step: its message if it has one (it is written
// for people), else its name and verdict; a drop always shows its reason,
// the name Linux's dropreason.h would give it.
func appendStep(b []byte, e *viz.Event) []byte {
	if e.Verdict == viz.Drop {
		b = append(b, "DROP "...)
		if e.Reason != "" {
			b = appendText(b, string(e.Reason))
		} else {
			b = append(b, "unnamed"...)
		}
		b = append(b, ": "...)
		if !e.HasMessage() {
			return appendText(b, e.Step)
		}
		return appendMessage(b, e)
	}
	if e.HasMessage() {
		return appendMessage(b, e)
	}
	b = appendText(b, e.Step)
	if e.Verdict != viz.Note {
		b = append(b, ' ')
		b = appendText(b, string(e.Verdict))
	}
	return b
}

// appendMessage appends e's sentence as appendText does. The sentence is
// made in place (it is mostly printable ASCII, which needs nothing more);
// only if it holds another byte is it made again through appendText.
func appendMessage(b []byte, e *viz.Event) []byte {
	start := len(b)
	b = e.AppendMessage(b)
	for _, c := range b[start:] {
		if !commentPlain[c] {
			text := string(b[start:])
			return appendText(b[:start], text)
		}
	}
	return b
}

// appendText appends s as one line of valid UTF-8, which is what an
// opt_comment must hold (draft-ietf-opsawg-pcapng, 3.5 "Options"): control
// characters become spaces, invalid bytes U+FFFD.
// commentPlain[c] says byte c goes into a comment as it is: printable
// ASCII.
var commentPlain = func() (t [256]bool) {
	for c := 0x20; c < 0x7f; c++ {
		t[c] = true
	}
	return t
}()

func appendText(b []byte, s string) []byte {
	// One table lookup per byte (commentPlain) instead of two
	// comparisons: every step's message passes here.
	i := 0
	for i < len(s) && commentPlain[s[i]] {
		i++
	}
	if i == len(s) {
		return append(b, s...)
	}
	for _, r := range s {
		switch {
		case r == utf8.RuneError:
			b = utf8.AppendRune(b, utf8.RuneError)
		case r < 0x20 || r == 0x7f:
			b = append(b, ' ')
		default:
			b = utf8.AppendRune(b, r)
		}
	}
	return b
}

// trailTable holds the trails of walks whose frame has not been captured:
// the steps a host logs before its NIC sends the frame (they become the
// outbound packet's trail), and the steps of frames that never reach a
// NIC of that host (phy steps logged under a wire's name, packets dropped
// on the way down). It is bounded: beyond max trails the oldest is
// forgotten. Trails are listed oldest first through their prev/next links,
// so eviction never depends on map order.
type trailTable struct {
	byKey      map[key]*trail
	head, tail *trail // oldest, newest
	max        int
	evicted    uint64
}

func newTrailTable(max int) trailTable {
	return trailTable{byKey: make(map[key]*trail), max: max}
}

func (tt *trailTable) len() int { return len(tt.byKey) }

func (tt *trailTable) get(k key) *trail { return tt.byKey[k] }

// insert adds t, made for k, as the newest trail. If the table is full it
// first removes the oldest trail and returns it, for reuse.
func (tt *trailTable) insert(k key, t *trail) (evicted *trail) {
	if len(tt.byKey) >= tt.max && tt.head != nil {
		evicted = tt.head
		tt.remove(evicted)
		tt.evicted++
	}
	t.key = k
	t.prev, t.next = tt.tail, nil
	if tt.tail != nil {
		tt.tail.next = t
	} else {
		tt.head = t
	}
	tt.tail = t
	tt.byKey[k] = t
	return evicted
}

// remove takes t out of the table.
func (tt *trailTable) remove(t *trail) {
	if t.prev != nil {
		t.prev.next = t.next
	} else {
		tt.head = t.next
	}
	if t.next != nil {
		t.next.prev = t.prev
	} else {
		tt.tail = t.prev
	}
	t.prev, t.next = nil, nil
	delete(tt.byKey, t.key)
}
