package report

import (
	"bytes"
	"encoding/json"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/packetwalk/packetwalk/clock"
	"github.com/packetwalk/packetwalk/viz"
)

// embedded pulls the JSON out of a page and undoes nothing: the escaped
// form must itself be valid JSON that decodes to the original strings.
func embedded(t *testing.T, page []byte) []byte {
	t.Helper()
	const open = `<script type="application/json" id="data">`
	_, rest, ok := bytes.Cut(page, []byte(open))
	if !ok {
		t.Fatal("the page has no data script")
	}
	js, _, ok := bytes.Cut(rest, []byte("</script>"))
	if !ok {
		t.Fatal("the data script is not closed")
	}
	return js
}

func TestEmbeddedDataIsValidAndEscaped(t *testing.T) {
	var page bytes.Buffer
	w := New(&page, Options{Title: "a <b> & c"})
	evil := "</script><script>alert(1)</script> <!-- \u2028 \u2029 & >"
	w.Event(&viz.Event{T: time.Millisecond, Host: "client", Layer: viz.LayerTCP, Step: "send", Verdict: viz.Send, Frame: 1, Conn: 1, Msg: evil,
		Fields: []viz.Field{viz.F("flags", "[S]"), viz.F("k", evil)}})
	w.Capture(&viz.CapturedFrame{T: time.Millisecond, Host: "client", NIC: "eth0", Dir: viz.Outbound, Frame: 1, Data: []byte("0123456789abcdefghij")})
	w.Capture(&viz.CapturedFrame{T: 2 * time.Millisecond, Host: "server", NIC: "eth0", Dir: viz.Inbound, Frame: 1, Data: []byte("0123456789abcdefghij")})
	w.Event(&viz.Event{T: 2 * time.Millisecond, Host: "server", Layer: viz.LayerNIC, Step: "fcs", Verdict: viz.Drop, Reason: viz.ReasonFCSMismatch, Frame: 1})
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	js := embedded(t, page.Bytes())
	for _, bad := range []string{"</", "<!--", "\u2028", "\u2029", "<script"} {
		if bytes.Contains(js, []byte(bad)) {
			t.Errorf("embedded data contains %q", bad)
		}
	}
	if strings.Count(page.String(), "</script>") != 2 {
		t.Errorf("want exactly the two closing script tags of the page, got %d", strings.Count(page.String(), "</script>"))
	}
	if !strings.Contains(page.String(), "<title>a &lt;b&gt; &amp; c</title>") {
		t.Error("the title is not HTML-escaped")
	}
	var d struct {
		Hosts    []string
		Events   []viz.Event
		Frames   []frameInfo
		Captures []capture
	}
	if err := json.Unmarshal(js, &d); err != nil {
		t.Fatalf("embedded data is not JSON: %v\n%s", err, js)
	}
	if len(d.Events) != 2 || d.Events[0].Msg != evil {
		t.Fatalf("events did not survive the escaping: %+v", d.Events)
	}
	if v, _ := d.Events[0].Field("k"); v != evil {
		t.Errorf("field = %q, want %q", v, evil)
	}
	if len(d.Frames) != 1 || d.Frames[0].From != "client" || len(d.Frames[0].To) != 1 || d.Frames[0].To[0] != "server" {
		t.Fatalf("frames = %+v", d.Frames)
	}
	if d.Frames[0].Drop == nil || d.Frames[0].Drop.Reason != string(viz.ReasonFCSMismatch) {
		t.Errorf("the drop is not on the frame: %+v", d.Frames[0].Drop)
	}
	if len(d.Captures) != 2 || d.Captures[0].Bytes == "" || d.Captures[1].Ref == nil || *d.Captures[1].Ref != 0 {
		t.Errorf("the inbound copy should refer to the identical outbound one: %+v", d.Captures)
	}
	if strings.Join(d.Hosts, ",") != "client,server" {
		t.Errorf("hosts = %v", d.Hosts)
	}
}

func TestLimits(t *testing.T) {
	var page bytes.Buffer
	w := New(&page, Options{MaxEvents: 10, MaxFrames: 3, MaxBytes: 100, SnapLen: 20})
	data := bytes.Repeat([]byte{0xab}, 60)
	for i := 1; i <= 5; i++ {
		w.Event(&viz.Event{Host: "a", Layer: viz.LayerNIC, Step: "tx", Verdict: viz.Send, Frame: uint64(i)})
		w.Capture(&viz.CapturedFrame{Host: "a", NIC: "eth0", Dir: viz.Outbound, Frame: uint64(i), Data: data})
		w.Event(&viz.Event{Host: "a", Layer: viz.LayerApp, Step: "note"})
		w.Event(&viz.Event{Host: "a", Layer: viz.LayerApp, Step: "note"})
	}
	st := w.Stats()
	if st.Events != 10 || st.LostEvents != 5 || st.Frames != 3 || st.Snapped == 0 || st.HeldBytes > 100+20*3 {
		t.Errorf("stats = %+v", st)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	var d struct{ Notes []string }
	if err := json.Unmarshal(embedded(t, page.Bytes()), &d); err != nil {
		t.Fatal(err)
	}
	if len(d.Notes) != 3 {
		t.Errorf("want a note for each limit reached, got %q", d.Notes)
	}
	// After Close, nothing more is kept and a second Close is harmless.
	w.Event(&viz.Event{Host: "a", Layer: viz.LayerApp, Step: "late"})
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestEmptyReport(t *testing.T) {
	var page bytes.Buffer
	if err := New(&page, Options{}).Close(); err != nil {
		t.Fatal(err)
	}
	var d map[string]any
	if err := json.Unmarshal(embedded(t, page.Bytes()), &d); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"events", "frames", "captures", "hosts"} {
		if _, ok := d[k].([]any); !ok {
			t.Errorf("%s is %v, want an empty list", k, d[k])
		}
	}
}

// The page embeds the run's topology as it is when the page is written
// (parts registered after New are in it), in the order it was built, and
// the same run gives the same bytes.
func TestTopologyEmbedded(t *testing.T) {
	write := func() []byte {
		log := viz.NewLog(clock.NewVirtual())
		var page bytes.Buffer
		w := New(&page, Options{Topology: log.Topology})
		log.AddSink(w)
		log.AddTopoWire("wire0", "wire")
		log.AddTopoNIC("server", viz.TopoNIC{Name: "eth0", MAC: "02:00:00:00:00:02", Addrs: []string{"10.0.0.2/24"}, Wire: "wire0"})
		log.AddTopoNIC("client", viz.TopoNIC{Name: "eth0", MAC: "02:00:00:00:00:01", Addrs: []string{"10.0.0.1/24"}, Wire: "wire0"})
		log.AddTopoHost("server", "packetwalk")
		log.Recorder("client").Emit(viz.Event{Layer: viz.LayerApp, Step: "note"})
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		return page.Bytes()
	}
	a, b := write(), write()
	if !bytes.Equal(a, b) {
		t.Error("two reports of the same run differ")
	}
	var d struct{ Topology *viz.Topology }
	if err := json.Unmarshal(embedded(t, a), &d); err != nil {
		t.Fatal(err)
	}
	if d.Topology == nil || len(d.Topology.Hosts) != 2 || d.Topology.Hosts[0].Name != "server" || d.Topology.Hosts[0].Kind != "packetwalk" ||
		len(d.Topology.Hosts[1].NICs) != 1 || d.Topology.Hosts[1].NICs[0].Addrs[0] != "10.0.0.1/24" || len(d.Topology.Wires) != 1 {
		t.Errorf("embedded topology = %+v", d.Topology)
	}
	// Without a topology, or with an empty one, the data has none.
	var page bytes.Buffer
	log := viz.NewLog(clock.NewVirtual())
	if err := New(&page, Options{Topology: log.Topology}).Close(); err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(embedded(t, page.Bytes()), []byte(`"topology"`)) {
		t.Error("an empty topology is embedded")
	}
}

// Writing the page asks the Log for its topology while the Log may be
// handing the Writer events (under the Log's lock): the two locks are
// never taken in opposite orders.
func TestTopologyWhileLogging(t *testing.T) {
	log := viz.NewLog(clock.NewVirtual())
	w := New(io.Discard, Options{Topology: log.Topology})
	log.AddSink(w)
	log.AddTopoHost("client", "packetwalk")
	done := make(chan struct{})
	go func() {
		defer close(done)
		rec := log.Recorder("client")
		for i := 0; i < 10000; i++ {
			rec.Emit(viz.Event{Layer: viz.LayerApp, Step: "note"})
		}
	}()
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		for i := 0; i < 200; i++ {
			if _, err := w.Data(); err != nil {
				t.Error(err)
				return
			}
		}
		<-done
	}()
	select {
	case <-finished:
	case <-time.After(20 * time.Second):
		t.Fatal("writing the page while the log runs did not finish: the locks deadlocked")
	}
}
