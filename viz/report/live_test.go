package report

import (
	"bufio"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/packetwalk/packetwalk/viz"
)

func step(n int) *viz.Event {
	return &viz.Event{T: time.Duration(n) * time.Millisecond, Host: "server", Layer: viz.LayerHTTP, Step: "log", Conn: uint64(n), Msg: "request " + string(rune('a'+n%26))}
}

// TestLiveHistory checks what a late joiner gets: the last History events
// with a note about the rest, the frames and the captures.
func TestLiveHistory(t *testing.T) {
	l := NewLive(LiveOptions{History: 3, Frames: 2, Captures: 2})
	for i := 0; i < 5; i++ {
		l.Event(step(i))
	}
	for id := uint64(1); id <= 3; id++ {
		l.Event(&viz.Event{Host: "server", Layer: viz.LayerNIC, Step: "tx", Verdict: viz.Send, Frame: id, Msg: "eth0 sends"})
		l.Capture(&viz.CapturedFrame{Host: "server", NIC: "eth0", Dir: viz.Outbound, Frame: id, Data: []byte{1, 2, 3, byte(id)}})
	}
	l.SetTopology(func() viz.Topology {
		return viz.Topology{Hosts: []viz.TopoHost{{Name: "server", Kind: "packetwalk", NICs: []viz.TopoNIC{{Name: "eth0", Addrs: []string{"10.0.0.2/24"}}}}}}
	})
	topo := l.topology()
	l.mu.Lock()
	snap, _ := l.snapshot(topo)
	l.mu.Unlock()
	var d struct {
		Topology *viz.Topology
		Live     bool
		Limit    int
		Events   []viz.Event
		Frames   []frameInfo
		Captures []capture
		Notes    []string
	}
	if err := json.Unmarshal(snap, &d); err != nil {
		t.Fatal(err)
	}
	if !d.Live || d.Limit != 3 || len(d.Events) != 3 || d.Events[2].Frame != 3 {
		t.Errorf("snapshot: live %v, limit %d, %d events (last %+v); want the last 3", d.Live, d.Limit, len(d.Events), d.Events)
	}
	if len(d.Frames) != 2 || d.Frames[0].ID != 2 || d.Frames[1].From != "server" {
		t.Errorf("frames = %+v, want the last two, sent by server", d.Frames)
	}
	if len(d.Captures) != 2 || d.Captures[1].Frame != 3 || d.Captures[1].Bytes == "" {
		t.Errorf("captures = %+v, want the last two with bytes", d.Captures)
	}
	if len(d.Notes) != 1 || !strings.Contains(d.Notes[0], "5 before them") {
		t.Errorf("notes = %q, want one saying 5 events are not shown", d.Notes)
	}
	if d.Topology == nil || len(d.Topology.Hosts) != 1 || d.Topology.Hosts[0].NICs[0].Addrs[0] != "10.0.0.2/24" {
		t.Errorf("topology = %+v, want the one SetTopology gives", d.Topology)
	}
}

// blockingWriter is a page that does not read: every write waits until
// release is closed.
type blockingWriter struct {
	header  http.Header
	release chan struct{}
	mu      sync.Mutex
	out     strings.Builder
	writes  int
}

func (w *blockingWriter) Header() http.Header { return w.header }
func (w *blockingWriter) WriteHeader(int)     {}
func (w *blockingWriter) Flush()              {}
func (w *blockingWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	w.writes++
	first := w.writes == 1
	w.mu.Unlock()
	if !first { // the snapshot goes through; then the page stops reading
		<-w.release
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.out.Write(p)
}

// TestLiveSlowPage checks that a page that stops reading never stalls the
// log: the hub goes on, the page's stream loses steps, counts them, and
// tells the page once it reads again.
func TestLiveSlowPage(t *testing.T) {
	l := NewLive(LiveOptions{Buffer: 8})
	w := &blockingWriter{header: http.Header{}, release: make(chan struct{})}
	req := httptest.NewRequest("GET", "/events", nil)
	done := make(chan struct{})
	go func() { l.serveEvents(w, req); close(done) }()
	// The snapshot's write comes after the subscription.
	waitUntil(t, func() bool { w.mu.Lock(); defer w.mu.Unlock(); return w.writes >= 1 })

	logged := make(chan struct{})
	go func() {
		for i := 0; i < 1000; i++ {
			l.Event(step(i))
		}
		close(logged)
	}()
	select {
	case <-logged:
	case <-time.After(10 * time.Second):
		t.Fatal("a page that does not read stalled the log")
	}
	close(w.release)
	l.Event(step(1000)) // wakes the stream if it drained everything
	l.Close()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the stream did not end after Close")
	}
	out := w.out.String()
	if !strings.HasPrefix(out, "event: snapshot\n") || !strings.Contains(out, "event: bye\n") {
		t.Errorf("the stream should start with the snapshot and end with bye:\n%.300s", out)
	}
	lost := 0
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		if sc.Text() == "event: lost" && sc.Scan() {
			json.Unmarshal([]byte(strings.TrimPrefix(sc.Text(), "data: ")), &lost)
		}
	}
	delivered := strings.Count(out, `"step":"log"`)
	if lost == 0 || delivered+lost != 1001 {
		t.Errorf("%d steps delivered and %d reported lost; want some lost and 1001 in all", delivered, lost)
	}
}

func waitUntil(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("timed out")
		}
		time.Sleep(time.Millisecond)
	}
}

// TestLivePagesLimit checks that the streams at once are bounded: one
// more is refused with 503 and a sentence, and a place frees up when a
// page goes.
func TestLivePagesLimit(t *testing.T) {
	l := NewLive(LiveOptions{Pages: 1})
	srv := httptest.NewServer(l.Handler())
	defer srv.Close()
	defer l.Close()
	first, err := http.Get(srv.URL + "/events")
	if err != nil {
		t.Fatal(err)
	}
	if first.StatusCode != 200 {
		t.Fatalf("first stream: %s", first.Status)
	}
	second, err := http.Get(srv.URL + "/events")
	if err != nil {
		t.Fatal(err)
	}
	body := make([]byte, 200)
	n, _ := second.Body.Read(body)
	second.Body.Close()
	if second.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(body[:n]), "too many pages") {
		t.Errorf("second stream: %s %q, want 503 saying too many pages", second.Status, body[:n])
	}
	first.Body.Close()
	waitUntil(t, func() bool {
		r, err := http.Get(srv.URL + "/events")
		if err != nil {
			return false
		}
		r.Body.Close()
		return r.StatusCode == 200
	})
}
