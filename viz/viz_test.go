package viz

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/packetwalk/packetwalk/clock"
)

func TestEventJSONContract(t *testing.T) {
	e := Event{T: 532 * time.Microsecond, Host: "server", Layer: LayerNIC, Step: "fcs", Verdict: Drop,
		Reason: ReasonFCSMismatch, Frame: 13, Msg: "FCS 0x1c2d3e4f != computed 0x9a0b11c2"}
	got := string(AppendJSON(nil, &e))
	want := `{"t":0.000532,"host":"server","layer":"nic","step":"fcs","verdict":"drop","reason":"fcs_mismatch","frame":13,"msg":"FCS 0x1c2d3e4f != computed 0x9a0b11c2"}`
	if got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
	// A note has no verdict key; fields keep their order.
	n := Event{T: 611 * time.Microsecond, Host: "server", Layer: LayerTCP, Step: "state", Conn: 5,
		Fields: []Field{F("from", "LISTEN"), F("to", "SYN_RECEIVED")}}
	got = string(AppendJSON(nil, &n))
	want = `{"t":0.000611,"host":"server","layer":"tcp","step":"state","conn":5,"fields":{"from":"LISTEN","to":"SYN_RECEIVED"}}`
	if got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
}

func TestEventJSONRoundTripAndEscaping(t *testing.T) {
	e := Event{T: 1500 * time.Millisecond, Host: "h\"1", Layer: LayerHTTP, Step: "receive", Verdict: Deliver,
		Frame: 1<<63 + 5, Conn: 7, Msg: "GET /a\tb\n\x01 \u2028 ünï",
		Fields: []Field{F("z", "1"), F("a", "\\"), F("m", "\x00")}}
	line := AppendJSON(nil, &e)
	if !json.Valid(line) {
		t.Fatalf("not valid JSON: %s", line)
	}
	if bytes.Contains(line, []byte("\u2028")) {
		t.Fatalf("U+2028 must be escaped for embedding in HTML: %s", line)
	}
	var back Event
	if err := json.Unmarshal(line, &back); err != nil {
		t.Fatal(err)
	}
	if back.Msg != e.Msg || back.Host != e.Host || back.Frame != e.Frame || back.Conn != e.Conn || back.T != e.T {
		t.Fatalf("round trip changed the event:\n%+v\n%+v", e, back)
	}
	if len(back.Fields) != 3 || back.Fields[0] != e.Fields[0] || back.Fields[1] != e.Fields[1] || back.Fields[2] != e.Fields[2] {
		t.Fatalf("fields changed or reordered: %v", back.Fields)
	}
	if err := json.Unmarshal([]byte(`{"t":1,"fields":{"a":1}}`), &back); err == nil {
		t.Fatal("a non-string field value was accepted")
	}
}

func TestReasonsDocumented(t *testing.T) {
	seen := map[Reason]bool{}
	for _, r := range Reasons() {
		if r.Describe() == "" || !r.Known() {
			t.Errorf("reason %q has no sentence", r)
		}
		if strings.ToLower(string(r)) != string(r) || strings.Contains(string(r), " ") {
			t.Errorf("reason %q is not a lower_snake_case name", r)
		}
		seen[r] = true
	}
	for _, r := range []Reason{ReasonFCSMismatch, ReasonMACNotMine, ReasonRingFull, ReasonIPChecksum, ReasonIPNotMine,
		ReasonTTLExpired, ReasonFragTimeout, ReasonFragOverlap, ReasonNoSocket, ReasonBacklogFull, ReasonSeqOutOfWindow} {
		if !seen[r] {
			t.Errorf("reason %q, which docs/design.md names, is missing", r)
		}
	}
	if Reason("no_such_reason").Known() {
		t.Error("an unlisted reason counts as known")
	}
}

func TestLogStampsAndCounts(t *testing.T) {
	c := clock.NewVirtual()
	l := NewLog(c)
	var mem MemorySink
	r := l.Recorder("client")
	if r.On() {
		t.Fatal("On with no sink")
	}
	r.Emit(Event{Step: "lost"}) // nobody listens: nothing kept
	l.AddSink(&mem)
	c.AfterFunc(3*time.Millisecond, func() { r.Emit(Event{Layer: LayerNIC, Step: "x"}) })
	c.Run()
	ev := mem.Events()
	if len(ev) != 1 || ev[0].Host != "client" || ev[0].T != 3*time.Millisecond {
		t.Fatalf("got %+v", ev)
	}
	if a, b := r.NewFrameID(), r.NewFrameID(); a != 1 || b != 2 {
		t.Fatalf("frame IDs %d %d", a, b)
	}
	l.RemoveSink(&mem)
	if r.On() {
		t.Fatal("On after the last sink left")
	}
	var nilRec *Recorder
	nilRec.Emit(Event{}) // must not panic
	if nilRec.On() || nilRec.NewFrameID() != 0 {
		t.Fatal("a nil recorder records")
	}
}

func TestMemorySinkBounded(t *testing.T) {
	l := NewLog(clock.NewVirtual())
	mem := &MemorySink{Limit: 3}
	l.AddSink(mem)
	r := l.Recorder("h")
	for i := 0; i < 10; i++ {
		r.Emit(Event{Step: "s"})
	}
	if len(mem.Events()) != 3 || mem.Lost() != 7 {
		t.Fatalf("kept %d lost %d", len(mem.Events()), mem.Lost())
	}
}

func TestJSONLSink(t *testing.T) {
	var buf bytes.Buffer
	l := NewLog(clock.NewVirtual())
	s := NewJSONLSink(&buf)
	l.AddSink(s)
	l.Recorder("a").Emit(Event{Layer: LayerIP, Step: "route", Verdict: Pass, Frame: 2})
	l.Recorder("b").Emit(Event{Layer: LayerTCP, Step: "demux", Fields: []Field{F("rule", "exact")}})
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	want := `{"t":0,"host":"a","layer":"ip","step":"route","verdict":"pass","frame":2}` + "\n" +
		`{"t":0,"host":"b","layer":"tcp","step":"demux","fields":{"rule":"exact"}}` + "\n"
	if buf.String() != want {
		t.Fatalf("got\n%s\nwant\n%s", buf.String(), want)
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errDiskFull }

var errDiskFull = &json.UnsupportedValueError{Str: "disk full"}

func TestJSONLSinkKeepsFirstError(t *testing.T) {
	s := NewJSONLSink(failingWriter{})
	s.FlushEach = true
	s.Event(&Event{Step: "a"})
	s.Event(&Event{Step: "b"})
	if err := s.Close(); err != errDiskFull {
		t.Fatalf("got %v", err)
	}
}

func TestBroadcasterSlowSubscriberLoses(t *testing.T) {
	var b Broadcaster
	l := NewLog(clock.NewVirtual())
	l.AddSink(&b)
	sub := b.Subscribe(2)
	for i := 0; i < 5; i++ {
		l.Recorder("h").Emit(Event{Step: "s"})
	}
	if len(sub.C) != 2 || sub.Lost() != 3 {
		t.Fatalf("buffered %d lost %d", len(sub.C), sub.Lost())
	}
	sub.Close()
	for range sub.C {
	}
}

// BenchmarkStepOff is the cost of a guarded step when nobody listens: it
// must be zero allocations (docs/design.md, "How a frame's step trail is
// built": logging costs nothing when nobody listens).
func BenchmarkStepOff(b *testing.B) {
	l := NewLog(clock.NewVirtual())
	r := l.Recorder("server")
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if r.On() {
			r.Emit(Event{Layer: LayerNIC, Step: "fcs", Verdict: Pass, Frame: uint64(i),
				Msg: "FCS ok", Fields: []Field{F("fcs", "0x12345678")}})
		}
	}
}

// BenchmarkStepJSONL is the cost of a step streamed to a JSON Lines file.
func BenchmarkStepJSONL(b *testing.B) {
	l := NewLog(clock.NewVirtual())
	var buf bytes.Buffer
	s := NewJSONLSink(&buf)
	l.AddSink(s)
	r := l.Recorder("server")
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if r.On() {
			r.Emit(Event{Layer: LayerNIC, Step: "fcs", Verdict: Pass, Frame: uint64(i),
				Msg: "FCS ok", Fields: []Field{F("fcs", "0x12345678")}})
		}
		if buf.Len() > 1<<20 {
			buf.Reset()
		}
	}
}

func TestStepOffAllocatesNothing(t *testing.T) {
	l := NewLog(clock.NewVirtual())
	r := l.Recorder("server")
	allocs := testing.AllocsPerRun(1000, func() {
		if r.On() {
			r.Emit(Event{Layer: LayerNIC, Step: "fcs", Msg: "x"})
		}
		r.EndWalk(3)
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per step with nobody listening", allocs)
	}
}

// Mark adds its field to the events it matches, before every sink, and to
// no other event.
func TestLogMark(t *testing.T) {
	log := NewLog(clock.NewVirtual())
	var mem MemorySink
	log.AddSink(&mem)
	log.Mark(func(e *Event) bool { return e.Layer == LayerNIC && e.Step == "fcs" && e.Host == "server" }, F("impl", "student"))
	rec, other := log.Recorder("server"), log.Recorder("client")
	rec.Stepf(Event{Layer: LayerNIC, Step: "fcs", Verdict: Pass}, []Field{F("fcs", "0x1")}, "FCS ok")
	rec.Stepf(Event{Layer: LayerNIC, Step: "ring", Verdict: Pass}, nil, "ring")
	other.Stepf(Event{Layer: LayerNIC, Step: "fcs", Verdict: Pass}, nil, "FCS ok")
	rec.Emit(Event{Layer: LayerNIC, Step: "fcs", Verdict: Drop, Reason: ReasonFCSMismatch})
	ev := mem.Events()
	if len(ev) != 4 {
		t.Fatalf("%d events, want 4", len(ev))
	}
	for i, want := range []bool{true, false, false, true} {
		v, ok := ev[i].Field("impl")
		if ok != want || ok && v != "student" {
			t.Errorf("event %d (%s %s): impl field %q %v, want marked %v", i, ev[i].Host, ev[i].Step, v, ok, want)
		}
	}
	if v, _ := ev[0].Field("fcs"); v != "0x1" {
		t.Errorf("the event's own field was lost: fcs=%q", v)
	}
}

// BenchmarkAppendFormat is the cost of making one typed step's message,
// with a format and arguments like TCP's send step.
func BenchmarkAppendFormat(b *testing.B) {
	args := []Arg{Str("192.168.0.2.8080"), Str("192.0.2.1.40000"), U32(3399551078), U32(3399552078), U32(1), Int(32768), Int(1000)}
	const format = "segment sent to the wire: %s > %s: Flags [P.], seq %d:%d, ack %d, win %d, length %d (RFC 9293 §3.10.4, SEND call)"
	buf := make([]byte, 0, 256)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		buf = AppendFormat(buf[:0], format, args)
	}
}
