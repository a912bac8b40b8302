package viz

import "time"

// This file is the step log's contract.
//
// Up, to whoever watches: every step of every frame's walk is one Event,
// in the order the host's event loop took them, delivered to the Sinks
// added to the Log (narration, JSON Lines, pcapng comments, the HTML
// report, the ladder, a test's memory). An Event's JSON Lines form, its
// step names, its drop reasons (reason.go) and its narration are public:
// the golden traces, the labs and the report read them.
//
// Down, from the layers: a layer logs through its host's Recorder
// (Recorder.Emit), which stamps the time from the clock it was given and
// the host's name, numbers frames and connections (NewFrameID,
// NewConnID) and takes the frames a capture wants (Capture). Recorder.On
// says whether anybody listens, so that a layer builds no message when
// nobody does (no allocation per frame). The log never calls back into a
// layer.

// A Sink receives every event of a log. Event is called with the log's lock
// held, one event at a time, in log order; the sink must not keep e (copy
// what it needs) and must not call back into the log.
type Sink interface {
	Event(e *Event)
}

// Layer names the part of the stack that took a step. The set is closed:
// viewers colour and filter by it.
type Layer string

const (
	LayerPHY     Layer = "phy"     // the medium: bits on a wire, impairments
	LayerNIC     Layer = "nic"     // FCS, MAC filter, RX ring, driver dispatch
	LayerARP     Layer = "arp"     // neighbour resolution
	LayerIP      Layer = "ip"      // IPv4 checks, routing, fragments
	LayerICMP    Layer = "icmp"    // echo, errors
	LayerUDP     Layer = "udp"     // datagrams
	LayerTCP     Layer = "tcp"     // demux, state machine, data transfer
	LayerSocket  Layer = "socket"  // the socket API seen by applications
	LayerHTTP    Layer = "http"    // the web server's seven steps
	LayerBrowser Layer = "browser" // the web browser judging and displaying responses
	LayerApp     Layer = "app"     // anything an application reports
)

// Verdict is what a step decided about the packet. The empty verdict marks a
// note: a step that records a fact (a state change, a timer) without judging
// a packet.
type Verdict string

const (
	Note    Verdict = ""
	Pass    Verdict = "pass"    // the packet goes on to the next step
	Drop    Verdict = "drop"    // the walk ends here; Reason says why
	Deliver Verdict = "deliver" // the walk ends here, successfully: handed up
	Send    Verdict = "send"    // the packet leaves this layer downwards
)

// Field is one named value attached to an event. Its value is typed (an
// Arg) and made into text by whoever reads it; in the JSON it is always a
// string, so the JSON shape never depends on a Go type. Order is kept as
// given, which keeps the log byte-for-byte reproducible.
type Field struct {
	Key string
	Val Arg
}

// F builds a Field with a string value; it reads well in a list:
// viz.F("rule", "exact").
func F(key, value string) Field { return Field{key, Str(value)} }

// Fv builds a Field with a typed value: viz.Fv("len", viz.Int(n)).
func Fv(key string, v Arg) Field { return Field{key, v} }

// Value returns the field's value as text.
func (f Field) Value() string { return f.Val.String() }

// Event is one step of the walk. Its JSON Lines form is packetwalk's public
// contract (see docs/design.md, "Public contracts"):
//
//	{"t":0.000532,"host":"server","layer":"nic","step":"fcs","verdict":"drop",
//	 "reason":"fcs_mismatch","frame":13,"msg":"FCS 0x1c2d3e4f != computed 0x9a0b11c2"}
//
// Zero values are left out of the JSON: an event without a frame has no
// "frame" key, a note has no "verdict".
//
// The message is either Msg, made by the layer, or Fmt and Args, a format
// and its typed arguments that the sinks make into text (arg.go): read it
// with Message or AppendMessage, not Msg.
type Event struct {
	T       time.Duration // since the start of the run (Clock.Now)
	Host    string        // the host, or the wire for phy steps
	Layer   Layer
	Step    string  // e.g. "fcs", "mac", "ring", "demux", "state"
	Verdict Verdict // empty for a note
	Reason  Reason  // set only when Verdict is Drop
	Frame   uint64  // frame ID, shared by every copy of one frame; 0 if none
	Conn    uint64  // socket ID; 0 if none
	Msg     string  // one human sentence, if Fmt is empty
	Fmt     string  // the sentence as a fmt format of Args
	Args    []Arg
	Fields  []Field
}

// Message returns the event's sentence.
func (e *Event) Message() string {
	if e.Fmt == "" {
		return e.Msg
	}
	var buf [160]byte
	return string(AppendFormat(buf[:0], e.Fmt, e.Args))
}

// AppendMessage appends the event's sentence to b.
func (e *Event) AppendMessage(b []byte) []byte {
	if e.Fmt == "" {
		return append(b, e.Msg...)
	}
	return AppendFormat(b, e.Fmt, e.Args)
}

// HasMessage reports whether the event has a sentence.
func (e *Event) HasMessage() bool { return e.Fmt != "" || e.Msg != "" }

// Field returns the value of the named field and whether it was present.
func (e *Event) Field(key string) (string, bool) {
	for _, f := range e.Fields {
		if f.Key == key {
			return f.Value(), true
		}
	}
	return "", false
}

// Resolved returns a copy of e that owns its memory and has its text made:
// Msg holds the sentence, and the fields are strings. A sink that keeps
// events (MemorySink, the narrator, the report) keeps these.
func (e *Event) Resolved() Event {
	c := *e
	c.Msg, c.Fmt, c.Args = e.Message(), "", nil
	c.Fields = nil
	if len(e.Fields) > 0 {
		c.Fields = make([]Field, len(e.Fields))
		for i, f := range e.Fields {
			if f.Val.k == kindStr || f.Val.k == kindNone {
				c.Fields[i] = f
			} else {
				c.Fields[i] = F(f.Key, f.Value())
			}
		}
	}
	return c
}
