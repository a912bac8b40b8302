package report_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/packetwalk/packetwalk/internal/chromium"
	"github.com/packetwalk/packetwalk/internal/testenv"
	"github.com/packetwalk/packetwalk/viz"
	"github.com/packetwalk/packetwalk/viz/report"
)

// The real run's report is made once for the tests of this file.
var (
	sharedOnce sync.Once
	sharedPage []byte
)

func sharedReport(t *testing.T) []byte {
	t.Helper()
	sharedOnce.Do(func() { sharedPage, _ = realReport(t) })
	if sharedPage == nil {
		t.Fatal("the report of the real run could not be made")
	}
	return sharedPage
}

// browser is one headless Chromium tab, with helpers that fail the test.
type browser struct {
	t       *testing.T
	ctx     context.Context
	dir     string
	console *chromium.Console
}

func openBrowser(t *testing.T) *browser {
	t.Helper()
	path := testenv.Tool(t, "chromium", "install it with: apt-get install chromium")
	dir := t.TempDir()
	ctx, stop := chromium.Start(path, filepath.Join(dir, "profile"), 60*time.Second, chromedp.Flag("disable-quic", true))
	t.Cleanup(stop)
	return &browser{t: t, ctx: ctx, dir: dir, console: chromium.WatchConsole(ctx)}
}

// file writes page into the browser's directory and returns its URL.
func (b *browser) file(name string, page []byte) string {
	b.t.Helper()
	f := filepath.Join(b.dir, name)
	if err := os.WriteFile(f, page, 0o644); err != nil {
		b.t.Fatal(err)
	}
	return "file://" + f
}

// open loads url afresh (by way of a blank page, so that a URL that
// differs only in its fragment is loaded, not just scrolled to) and waits
// until the page has drawn.
func (b *browser) open(url string) {
	b.t.Helper()
	b.run(chromedp.Navigate("about:blank"), chromedp.Navigate(url), chromedp.WaitVisible(chromedp.CSS(`body[data-ready="1"]`)))
}

func (b *browser) run(actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, actions...); err != nil {
		b.t.Fatal(err)
	}
}

func (b *browser) int(js string) int {
	b.t.Helper()
	n, err := chromedp.Run(b.ctx, chromedp.Evaluate[int](js))
	if err != nil {
		b.t.Fatalf("%s: %v", js, err)
	}
	return n
}

func (b *browser) str(js string) string {
	b.t.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](js))
	if err != nil {
		b.t.Fatalf("%s: %v", js, err)
	}
	return s
}

// quiet fails the test if the page reported errors.
func (b *browser) quiet() {
	b.t.Helper()
	if problems := b.console.Take(); len(problems) > 0 {
		b.t.Errorf("the page reported errors:\n%s", strings.Join(problems, "\n"))
	}
}

// pageEvent is what these tests read of an event in a page's data.
type pageEvent struct {
	Host   string            `json:"host"`
	Layer  string            `json:"layer"`
	Step   string            `json:"step"`
	Frame  uint64            `json:"frame"`
	Conn   uint64            `json:"conn"`
	Fields map[string]string `json:"fields"`
}

type pageData struct {
	Events []pageEvent `json:"events"`
	Frames []struct {
		ID uint64 `json:"id"`
	} `json:"frames"`
}

func pageDataOf(t *testing.T, page []byte) pageData {
	t.Helper()
	_, rest, _ := strings.Cut(string(page), `<script type="application/json" id="data">`)
	js, _, _ := strings.Cut(rest, "</script>")
	var d pageData
	if err := json.Unmarshal([]byte(js), &d); err != nil {
		t.Fatal(err)
	}
	return d
}

// firstEvent is the index of frame id's first event, -1 if none.
func (d pageData) firstEvent(id uint64) int {
	for i, e := range d.Events {
		if e.Frame == id {
			return i
		}
	}
	return -1
}

// socketStates is the socket table's "state now" column at event cur, as
// "host #conn STATE" lines: each socket that has states or demultiplexed
// segments; its last state at or before cur; "(not yet)" before its
// first event. It is worked out here from the data, apart from the page.
func (d pageData) socketStates(cur int) []string {
	type sock struct {
		host     string
		conn     uint64
		first    int
		now      string
		hasState bool
		hasDemux bool
	}
	var order []*sock
	byKey := map[string]*sock{}
	for i, e := range d.Events {
		if e.Conn == 0 || (e.Layer != "tcp" && e.Layer != "socket") {
			continue
		}
		k := fmt.Sprintf("%s/%d", e.Host, e.Conn)
		s := byKey[k]
		if s == nil {
			s = &sock{host: e.Host, conn: e.Conn, first: i, now: "—"}
			byKey[k] = s
			order = append(order, s)
		}
		if e.Step == "state" {
			s.hasState = true
			if i <= cur {
				s.now = e.Fields["to"]
			}
		}
		if e.Step == "demux" && e.Layer == "tcp" {
			s.hasDemux = true
		}
	}
	var out []string
	for _, s := range order {
		if !s.hasState && !s.hasDemux {
			continue
		}
		now := s.now
		if s.first > cur {
			now = "(not yet)"
		}
		out = append(out, fmt.Sprintf("%s #%d %s", s.host, s.conn, now))
	}
	return out
}

// tableStates reads the same lines from the page's socket table.
const tableStates = `Array.from(document.querySelectorAll("#sockets tr")).slice(1).map(r => r.cells[0].textContent + " " + r.cells[1].textContent + " " + r.cells[5].textContent).join("\n")`

// Clicking a frame's arrow moves the event cursor to the frame's first
// step: the position, the socket table (each socket's state at that
// moment) and the URL follow.
func TestReportClickMovesCursorInChromium(t *testing.T) {
	page := sharedReport(t)
	d := pageDataOf(t, page)
	b := openBrowser(t)
	b.open(b.file("trace.html", page))
	// The last frame that a socket handled: by then every socket of the
	// run exists and has moved on from where the page opens.
	var id uint64
	for _, e := range d.Events {
		if e.Frame != 0 && e.Conn != 0 && e.Layer == "tcp" {
			id = e.Frame
		}
	}
	want := d.firstEvent(id)
	atOpen := b.str(tableStates)
	b.run(chromedp.ScrollIntoView(chromedp.ID(fmt.Sprintf("ar%d", id))), chromedp.Click(chromedp.CSS(fmt.Sprintf("#ar%d line", id))))
	if got := b.int(`window.packetwalk.cursor()`); got != want {
		t.Errorf("clicking frame %d's arrow put the cursor at event %d, want its first step, event %d", id, got, want)
	}
	wantTable := strings.Join(d.socketStates(want), "\n")
	got := b.str(tableStates)
	if got != wantTable {
		t.Errorf("after clicking frame %d the socket table shows\n%s\nwant the states at its first step (event %d):\n%s", id, got, want, wantTable)
	}
	if got == atOpen {
		t.Errorf("the socket table did not change when frame %d was clicked:\n%s", id, got)
	}
	if h := b.str(`location.hash`); h != fmt.Sprintf("#frame=%d", id) {
		t.Errorf("after clicking frame %d the URL's fragment is %q", id, h)
	}
	if p := b.str(`document.getElementById("pos").textContent`); !strings.HasPrefix(p, fmt.Sprintf("event %d / ", want+1)) {
		t.Errorf("the position reads %q, want event %d", p, want+1)
	}
	// A frame link in the socket table does the same as its arrow.
	link := b.int(`+document.querySelector("#sockets a.fr").dataset.frame`)
	b.run(chromedp.Click(chromedp.CSS(`#sockets a.fr`)))
	if got, want := b.int(`window.packetwalk.cursor()`), d.firstEvent(uint64(link)); got != want {
		t.Errorf("clicking the link to frame %d put the cursor at event %d, want %d", link, got, want)
	}
	// Stepping moves on from there, and the URL names the event.
	b.run(chromedp.Click(chromedp.ID("step")))
	cur := b.int(`window.packetwalk.cursor()`)
	// The URL follows the steps at most every quarter second.
	if _, err := chromedp.Run(b.ctx, chromedp.Poll[bool](fmt.Sprintf(`location.hash === "#event=%d"`, cur+1), chromedp.WithPollingTimeout(3*time.Second))); err != nil {
		t.Errorf("after a step to event %d the URL's fragment is %q", cur+1, b.str(`location.hash`))
	}
	b.quiet()
}

// report.html#frame=N opens at frame N (selected, the cursor at its first
// step); #event=N at event N (counted from 1, as the page shows it); a
// fragment changed on an open page is followed; a link to nothing says so.
func TestReportDeepLinkInChromium(t *testing.T) {
	page := sharedReport(t)
	d := pageDataOf(t, page)
	if len(d.Frames) < 12 {
		t.Fatalf("only %d frames", len(d.Frames))
	}
	b := openBrowser(t)
	url := b.file("trace.html", page)
	frame := d.Frames[11].ID
	b.open(fmt.Sprintf("%s#frame=%d", url, frame))
	if got := b.str(`(document.querySelector("#ladder .arrow.sel") || {id: "none"}).id`); got != fmt.Sprintf("ar%d", frame) {
		t.Errorf("#frame=%d: the selected arrow is %s", frame, got)
	}
	if got := b.str(`document.querySelector("#frame h3").textContent`); !strings.HasPrefix(got, fmt.Sprintf("Frame #%d:", frame)) {
		t.Errorf("#frame=%d: the frame panel shows %q", frame, got)
	}
	if got, want := b.int(`window.packetwalk.cursor()`), d.firstEvent(frame); got != want {
		t.Errorf("#frame=%d: the cursor is at event %d, want the frame's first step %d", frame, got, want)
	}
	if got, want := b.str(tableStates), strings.Join(d.socketStates(d.firstEvent(frame)), "\n"); got != want {
		t.Errorf("#frame=%d: the socket table shows\n%s\nwant\n%s", frame, got, want)
	}
	// The arrow is in view in the ladder's scrolling box.
	if n := b.int(`(() => { const box = document.getElementById("ladderBox").getBoundingClientRect(), a = document.querySelector("#ladder .arrow.sel line").getBoundingClientRect(); return a.top >= box.top && a.bottom <= box.bottom ? 1 : 0 })()`); n != 1 {
		t.Errorf("#frame=%d: the frame's arrow is scrolled out of the ladder's view", frame)
	}

	event := len(d.Events) / 2
	b.open(fmt.Sprintf("%s#event=%d", url, event))
	if got := b.int(`window.packetwalk.cursor()`); got != event-1 {
		t.Errorf("#event=%d: the cursor is at index %d, want %d", event, got, event-1)
	}
	if p := b.str(`document.getElementById("pos").textContent`); !strings.HasPrefix(p, fmt.Sprintf("event %d / ", event)) {
		t.Errorf("#event=%d: the position reads %q", event, p)
	}
	if got, want := b.str(tableStates), strings.Join(d.socketStates(event-1), "\n"); got != want {
		t.Errorf("#event=%d: the socket table shows\n%s\nwant\n%s", event, got, want)
	}

	// Changing the fragment of the open page (a link followed within it).
	other := d.Frames[4].ID
	b.str(fmt.Sprintf(`location.hash = "#frame=%d"`, other))
	if _, err := chromedp.Run(b.ctx, chromedp.Poll[bool](fmt.Sprintf(`window.packetwalk.cursor() === %d`, d.firstEvent(other)), chromedp.WithPollingTimeout(5*time.Second))); err != nil {
		t.Errorf("after the fragment changed to #frame=%d the cursor is at %d, want %d", other, b.int(`window.packetwalk.cursor()`), d.firstEvent(other))
	}

	// A link to a frame the report does not have.
	b.open(url + "#frame=99999")
	if got := b.str(`document.getElementById("notes").textContent`); !strings.Contains(got, "frame 99999") {
		t.Errorf("#frame=99999: the page's notes say %q, want that there is no such frame", got)
	}
	b.quiet()
}

// overlaps measures every text of the SVG selected by svg against the
// SVG's box, the lifelines (line.col) and each other, and describes each
// text that is clipped, runs over a lifeline, or overlaps another.
const overlaps = `((svg) => {
  const W = +svg.getAttribute("width"), H = +svg.getAttribute("height"), out = [];
  const lines = Array.from(svg.querySelectorAll("line.col")).map((l) => ({x: +l.getAttribute("x1"), y1: +l.getAttribute("y1"), y2: +l.getAttribute("y2")}));
  const ts = Array.from(svg.querySelectorAll("text")).filter((t) => t.textContent).map((t) => { const b = t.getBBox(); return {s: t.textContent, x: b.x, y: b.y, r: b.x + b.width, b: b.y + b.height}; });
  const f = (n) => n.toFixed(1);
  ts.forEach((t, i) => {
    if (t.x < 0 || t.r > W || t.y < 0 || t.b > H) out.push("clipped: " + JSON.stringify(t.s) + " spans x " + f(t.x) + ".." + f(t.r) + ", y " + f(t.y) + ".." + f(t.b) + " of " + W + "x" + H);
    lines.forEach((l) => { if (t.x < l.x && t.r > l.x && t.y < l.y2 && t.b > l.y1) out.push("over the lifeline at x=" + l.x + ": " + JSON.stringify(t.s) + " spans x " + f(t.x) + ".." + f(t.r)); });
    ts.slice(i + 1).forEach((u) => { if (t.x < u.r && u.x < t.r && t.y < u.b && u.y < t.b) out.push("overlapping: " + JSON.stringify(t.s) + " and " + JSON.stringify(u.s)); });
  });
  return JSON.stringify({texts: ts.length, problems: out});
})`

type measured struct {
	Texts    int
	Problems []string
}

func (b *browser) measure(selector string) []measured {
	b.t.Helper()
	js := fmt.Sprintf(`JSON.stringify(Array.from(document.querySelectorAll(%q)).map((svg) => JSON.parse(%s(svg))))`, selector, overlaps)
	var ms []measured
	if err := json.Unmarshal([]byte(b.str(js)), &ms); err != nil {
		b.t.Fatal(err)
	}
	return ms
}

func checkLayout(t *testing.T, what string, ms []measured, minTexts int) {
	t.Helper()
	texts := 0
	for _, m := range ms {
		texts += m.Texts
		for _, p := range m.Problems {
			t.Errorf("%s: %s", what, p)
		}
	}
	if texts < minTexts {
		t.Errorf("%s: %d texts measured, want at least %d", what, texts, minTexts)
	}
}

// threeHosts is a report of frames between three hosts on one wire: one
// from a to c (its arrow passes over b's lifeline), a dropped one whose
// reason is long, one that nobody received, and states on every host.
func threeHosts(t *testing.T) []byte {
	t.Helper()
	var page bytes.Buffer
	w := report.New(&page, report.Options{Title: "three hosts"})
	ms := time.Millisecond
	frame := func(id uint64, from, to, label string) {
		w.Event(&viz.Event{T: time.Duration(id) * ms, Host: from, Layer: viz.LayerNIC, Step: "tx", Verdict: viz.Send, Frame: id, Msg: label})
		w.Capture(&viz.CapturedFrame{T: time.Duration(id) * ms, Host: from, NIC: "eth0", Dir: viz.Outbound, Frame: id, Data: []byte("short")})
		if to != "" {
			w.Capture(&viz.CapturedFrame{T: time.Duration(id)*ms + ms/2, Host: to, NIC: "eth0", Dir: viz.Inbound, Frame: id, Data: []byte("short")})
		}
	}
	state := func(id uint64, host, to string) {
		w.Event(&viz.Event{T: time.Duration(id)*ms + ms/2, Host: host, Layer: viz.LayerTCP, Step: "state", Frame: id, Conn: 1, Fields: []viz.Field{viz.F("from", "CLOSED"), viz.F("to", to)}})
	}
	long := "a label as long as the summary of a frame gets, sixty chars"
	frame(1, "a", "b", long)
	state(1, "a", "SYN_SENT")
	state(1, "b", "SYN_RECEIVED")
	frame(2, "b", "c", long)
	state(2, "c", "SYN_RECEIVED")
	frame(3, "a", "c", long)
	state(3, "c", "ESTABLISHED")
	frame(4, "c", "a", long)
	state(4, "a", "FIN_WAIT_1")
	state(4, "a", "FIN_WAIT_2")
	frame(5, "a", "c", long)
	w.Event(&viz.Event{T: 5 * ms, Host: "c", Layer: viz.LayerNIC, Step: "fcs", Verdict: viz.Drop, Frame: 5,
		Reason: viz.Reason("a_drop_reason_long_enough_that_label_and_reason_do_not_fit_in_one_gap")})
	frame(6, "c", "", long)
	state(6, "b", "CLOSE_WAIT")
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return page.Bytes()
}

// The ladder's labels (frames, times, states, hosts) are measured as drawn:
// none is clipped by the picture's edge, none runs over a lifeline, none
// overlaps another; nor do the names on the connections' state timelines.
func TestReportLabelsInChromium(t *testing.T) {
	page := sharedReport(t)
	b := openBrowser(t)
	b.open(b.file("trace.html", page))
	frames := len(pageDataOf(t, page).Frames)
	// Each frame has a time and a label; the two columns are named.
	checkLayout(t, "the run's ladder", b.measure("#ladderSvg"), 2*frames+2)
	checkLayout(t, "the state timelines", b.measure("#conns svg.timeline"), 3)
	if n := b.int(`document.querySelectorAll("#ladder text.state").length`); n < 4 {
		t.Errorf("%d state labels in the ladder, want the states of both hosts", n)
	}
	// Where a connection ended up is always named on its timeline.
	if got := b.str(`Array.from(document.querySelectorAll("#conns svg.timeline")).map((s) => { const t = s.querySelectorAll("text.stname"); return t.length ? t[t.length - 1].textContent : "" }).join(",")`); strings.Contains(","+got+",", ",,") || got == "" {
		t.Errorf("the last state of each timeline: %q, want every one named", got)
	}

	b.open(b.file("three.html", threeHosts(t)))
	checkLayout(t, "the three hosts' ladder", b.measure("#ladderSvg"), 2*6+3+6)
	// The dropped frame's label keeps its reason, shortened or not.
	if got := b.str(`document.querySelector("#ar5 text.lbl").textContent`); !strings.Contains(got, "✗") {
		t.Errorf("the dropped frame's label %q does not mark the drop", got)
	}
	// Whatever was shortened is whole in the arrow's tooltip.
	if got := b.str(`document.querySelector("#ar5 title").textContent`); !strings.Contains(got, "a_drop_reason_long_enough") {
		t.Errorf("the dropped frame's tooltip %q lacks its reason", got)
	}
	b.quiet()
}

// The report draws the run's topology: each host as a box with its kind
// and NICs (name, MAC, addresses) inside it, each wire or device as a line
// that the NICs plugged into it join.
func TestReportTopologyInChromium(t *testing.T) {
	log := viz.NewLog(nil)
	log.AddTopoWire("wire0", "wire")
	log.AddTopoWire("wire1", "wire")
	log.AddTopoWire("tun0", "tun")
	log.AddTopoHost("client", "packetwalk")
	log.AddTopoNIC("client", viz.TopoNIC{Name: "eth0", MAC: "02:00:00:00:00:01", Addrs: []string{"10.0.0.1/24"}, Wire: "wire0"})
	log.AddTopoHost("router", "packetwalk")
	log.AddTopoNIC("router", viz.TopoNIC{Name: "eth0", MAC: "02:00:00:00:00:03", Addrs: []string{"10.0.0.254/24"}, Wire: "wire0"})
	log.AddTopoNIC("router", viz.TopoNIC{Name: "eth1", MAC: "02:00:00:00:00:04", Addrs: []string{"10.0.1.254/24", "10.0.1.253/24"}, Wire: "wire1"})
	log.AddTopoHost("server", "gvisor")
	log.AddTopoNIC("server", viz.TopoNIC{Name: "eth0", MAC: "02:00:00:00:00:02", Addrs: []string{"10.0.1.2/24"}, Wire: "wire1"})
	log.AddTopoNIC("server", viz.TopoNIC{Name: "tun0", MAC: "02:00:00:00:00:05", Addrs: []string{"10.0.2.2/24"}, Wire: "tun0"})
	log.AddTopoHost("kernel", "kernel")
	log.AddTopoNIC("kernel", viz.TopoNIC{Name: "pw0", Addrs: []string{"10.0.2.1/24"}, Wire: "tun0"})
	// A NIC on a wire nobody registered, and one plugged into nothing.
	log.AddTopoNIC("injector", viz.TopoNIC{Name: "inj0", MAC: "02:00:00:00:00:09", Wire: "wire9"})
	log.AddTopoNIC("injector", viz.TopoNIC{Name: "spare", MAC: "02:00:00:00:00:0a"})
	topo := log.Topology()

	var page bytes.Buffer
	if err := report.New(&page, report.Options{Title: "topology", Topology: log.Topology}).Close(); err != nil {
		t.Fatal(err)
	}
	b := openBrowser(t)
	b.open(b.file("topo.html", page.Bytes()))
	if n := b.int(`document.querySelectorAll("#topoSvg").length`); n != 1 {
		t.Fatalf("%d topology pictures, want 1", n)
	}
	plugged := 0
	for _, h := range topo.Hosts {
		texts := b.str(fmt.Sprintf(`Array.from(document.querySelectorAll('#topoSvg g.thost[data-host=%q] text')).map((t) => t.textContent).join("|")`, h.Name))
		if !strings.HasPrefix(texts, h.Name+"|") {
			t.Errorf("host %s: its box reads %q, want its name first", h.Name, texts)
		}
		for _, n := range h.NICs {
			for _, want := range append([]string{n.Name, n.MAC}, n.Addrs...) {
				if want != "" && !strings.Contains("|"+texts+"|", "|"+want+"|") {
					t.Errorf("host %s: its box reads %q, lacking %s's %q", h.Name, texts, n.Name, want)
				}
			}
			if n.Wire != "" {
				plugged++
			}
		}
		// Every text of a host is inside its box.
		if out := b.str(fmt.Sprintf(`(() => { const g = document.querySelector('#topoSvg g.thost[data-host=%q]'), r = g.querySelector("rect.hbox").getBBox(); return Array.from(g.querySelectorAll("text")).filter((t) => { const b = t.getBBox(); return b.x < r.x || b.y < r.y || b.x + b.width > r.x + r.width || b.y + b.height > r.y + r.height }).map((t) => t.textContent).join(", ") })()`, h.Name)); out != "" {
			t.Errorf("host %s: %s run out of its box", h.Name, out)
		}
	}
	wires := b.str(`Array.from(document.querySelectorAll("#topoSvg g.twire")).map((g) => g.textContent).join("|")`)
	for _, want := range []string{"wire0 · simulated wire", "wire1 · simulated wire", "tun0 · TUN device", "wire9"} {
		if !strings.Contains(wires, want) {
			t.Errorf("the wires read %q, lacking %q", wires, want)
		}
	}
	// Each plugged NIC's line ends on its wire.
	if got := b.int(`(() => { let n = 0; document.querySelectorAll("#topoSvg circle.plug").forEach((c) => { if (Array.from(document.querySelectorAll("#topoSvg line.bus")).some((l) => l.getAttribute("y1") === c.getAttribute("cy") && +l.getAttribute("x1") <= +c.getAttribute("cx") && +l.getAttribute("x2") >= +c.getAttribute("cx"))) n++ }); return n })()`); got != plugged {
		t.Errorf("%d NICs are joined to their wire, want %d", got, plugged)
	}
	checkLayout(t, "the topology", b.measure("#topoSvg"), 20)
	b.quiet()

	// A report whose run described nothing says so.
	var bare bytes.Buffer
	if err := report.New(&bare, report.Options{Title: "no topology"}).Close(); err != nil {
		t.Fatal(err)
	}
	b.open(b.file("bare.html", bare.Bytes()))
	if got := b.str(`document.getElementById("topology").textContent`); !strings.Contains(got, "did not describe its network") {
		t.Errorf("without a topology the section reads %q", got)
	}
	b.quiet()
}
