package report_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"io"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/packetwalk/packetwalk/httpd"
	"github.com/packetwalk/packetwalk/internal/chromium"
	"github.com/packetwalk/packetwalk/internal/testenv"
	"github.com/packetwalk/packetwalk/stack"
	"github.com/packetwalk/packetwalk/viz"
	"github.com/packetwalk/packetwalk/viz/report"
	"github.com/packetwalk/packetwalk/wire"
)

// realReport runs an HTTP exchange between two packetwalk hosts on a
// simulated wire that loses one segment of the first response (so that it
// is retransmitted), then a ping whose datagrams are fragmented, and
// returns the report of the run; compressed is the same report with its
// data embedded gzip+base64.
func realReport(t *testing.T) (page, compressed []byte) {
	t.Helper()
	p, err := stack.NewPair(stack.TopologyConfig{Seed: 7, Wire: wire.Config{Faults: []wire.Fault{{Frame: lostFrame, Kind: wire.FaultDrop}}}})
	if err != nil {
		t.Fatal(err)
	}
	p.Net.Loop.SetPaced(true) // net/http's client runs goroutines of its own
	registerPair(p)
	var plain, packed bytes.Buffer
	rw := report.New(&plain, report.Options{Title: "packetwalk report: GET / and /docs", Topology: p.Net.Log.Topology})
	p.Net.Log.AddSink(rw)
	rz := report.New(&packed, report.Options{Title: "packetwalk report: GET / and /docs", CompressAbove: 1, Topology: p.Net.Log.Topology})
	p.Net.Log.AddSink(rz)
	mapCfg := httpd.MapConfig{DirectoryIndex: []string{"index.html"}}
	srv := httpd.New(httpd.Config{Map: mapCfg}, httpd.NewMapper(mapCfg, httpd.DemoSite()), p.Net.Log.Recorder("server"))
	addr := netip.AddrPortFrom(p.Server.Addr(), 80)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var failure error
	var mu sync.Mutex
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer p.Net.Loop.Wake()
		ln, err := p.Server.ListenTCP(addr, 16)
		if err != nil {
			failure = err
			return
		}
		go srv.Serve(ln)
		c := &http.Client{Transport: &http.Transport{DialContext: p.Client.Dialer()}}
		for _, path := range []string{"/", "/docs"} {
			resp, err := c.Get("http://10.0.0.2" + path)
			if err == nil {
				_, err = io.ReadAll(resp.Body)
				resp.Body.Close()
			}
			if err != nil {
				mu.Lock()
				failure = err
				mu.Unlock()
			}
		}
		c.CloseIdleConnections()
		srv.Close()
		// 4000 bytes of echo data: three fragments each way.
		pinged := make(chan struct{})
		p.Net.Loop.Do(func() {
			p.Client.Ping(stack.PingConfig{Dst: p.Server.Addr(), Count: 1, Size: 4000, Wait: 500 * time.Millisecond}, func(stack.PingEvent) {}, func(stack.PingStats) { close(pinged) })
		})
		<-pinged
	}()
	if err := p.Net.RunUntil(ctx, func() bool {
		select {
		case <-done:
			return true
		default:
			return false
		}
	}); err != nil {
		t.Fatal(err)
	}
	quiet, cancel2 := context.WithTimeout(context.Background(), 300*time.Millisecond)
	p.Net.RunUntil(quiet, nil)
	cancel2()
	if failure != nil {
		t.Fatal(failure)
	}
	if err := rw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := rz.Close(); err != nil {
		t.Fatal(err)
	}
	return plain.Bytes(), packed.Bytes()
}

// registerPair describes the pair's network on its Log, as the
// composition root does, unless stack.NewPair already did.
func registerPair(p *stack.Pair) {
	log := p.Net.Log
	if len(log.Topology().Hosts) > 0 {
		return
	}
	log.AddTopoWire(p.Wire.Name(), "wire")
	for i, h := range []*stack.Host{p.Client, p.Server} {
		name := []string{"client", "server"}[i]
		log.AddTopoHost(name, "packetwalk")
		log.AddTopoNIC(name, viz.TopoNIC{Name: "eth0", MAC: fmt.Sprintf("02:00:00:00:00:%02x", i+1), Addrs: []string{h.Addr().String() + "/24"}, Wire: p.Wire.Name()})
	}
}

// lostFrame is the frame the wire loses: a data segment of the first
// response, which the server then retransmits.
const lostFrame = 9

func TestReportInChromium(t *testing.T) {
	chromiumPath := testenv.Tool(t, "chromium", "install it with: apt-get install chromium")
	page, compressed := realReport(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "trace.html")
	if err := os.WriteFile(file, page, 0o644); err != nil {
		t.Fatal(err)
	}
	var want struct {
		Frames []json.RawMessage `json:"frames"`
	}
	_, rest, _ := strings.Cut(string(page), `<script type="application/json" id="data">`)
	js, _, _ := strings.Cut(rest, "</script>")
	if err := json.Unmarshal([]byte(js), &want); err != nil {
		t.Fatal(err)
	}
	if len(want.Frames) < 10 {
		t.Fatalf("only %d frames in an HTTP exchange", len(want.Frames))
	}

	ctx, stop := chromium.Start(chromiumPath, filepath.Join(dir, "profile"), 60*time.Second, chromedp.Flag("disable-quic", true))
	defer stop()
	// Gather the console (console.error, uncaught exceptions) from before
	// the page loads, while the test clicks around.
	console := chromium.WatchConsole(ctx)

	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	eval := func(js string) int {
		t.Helper()
		n, err := chromedp.Run(ctx, chromedp.Evaluate[int](js))
		must(err)
		return n
	}
	must(chromedp.Do(ctx, chromedp.Navigate("file://"+file), chromedp.WaitVisible(chromedp.ID("ladderSvg"))))
	arrows := eval(`document.querySelectorAll("#ladder .arrow").length`)
	title, err := chromedp.Run(ctx, chromedp.Title())
	must(err)
	// Click the third arrow (the SYN+ACK or so): its walk appears.
	must(chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`#ar3 line`))))
	steps := eval(`document.querySelectorAll("#frame .walkhost ol.steps li").length`)
	walkHosts, err := chromedp.Run(ctx, chromedp.Evaluate[string](`Array.from(document.querySelectorAll("#frame .walkhost h3")).map(h => h.textContent).join(" | ")`))
	must(err)
	hexBytes := eval(`document.querySelectorAll("#hex span.b").length`)
	// The step control advances the event cursor; back returns.
	before := eval(`window.packetwalk.cursor()`)
	must(chromedp.Do(ctx, chromedp.Click(chromedp.ID("step")), chromedp.Click(chromedp.ID("step"))))
	after := eval(`window.packetwalk.cursor()`)
	must(chromedp.Do(ctx, chromedp.Click(chromedp.ID("back"))))
	afterBack := eval(`window.packetwalk.cursor()`)
	if arrows != len(want.Frames) {
		t.Errorf("%d arrows in the ladder, want one per frame: %d", arrows, len(want.Frames))
	}
	if title != "packetwalk report: GET / and /docs" {
		t.Errorf("title = %q", title)
	}
	if steps < 5 || !strings.Contains(walkHosts, "client") || !strings.Contains(walkHosts, "server") {
		t.Errorf("clicking a frame showed %d steps on %q; want its walk on both hosts", steps, walkHosts)
	}
	if hexBytes < 2*60 {
		t.Errorf("the hex dump shows %d byte cells, want the frame's bytes (hex and text)", hexBytes)
	}
	if after != before+2 || afterBack != before+1 {
		t.Errorf("cursor %d, after two steps %d, after back %d", before, after, afterBack)
	}
	str := func(js string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Evaluate[string](js))
		must(err)
		return s
	}
	// The field under the cursor: point at the TCP sequence number of
	// the selected frame's bytes.
	field := str(`(() => { const g = Array.from(document.querySelectorAll("#ladder .arrow")).find(g => /\[S\]/.test(g.textContent)); window.packetwalk.select(+g.dataset.frame); const s = Array.from(document.querySelectorAll("#hex span.b")).find(x => x.classList.contains("h-tcp")); if (!s) return "no TCP byte"; s.dispatchEvent(new MouseEvent("mouseover", {bubbles: true})); return document.getElementById("fieldinfo").textContent + " | " + document.querySelectorAll("#hex span.on").length })()`)
	if !strings.HasPrefix(field, "TCP ") || strings.HasSuffix(field, "| 0") {
		t.Errorf("pointing at a TCP byte shows %q; want the TCP field named and its bytes lit", field)
	}
	// At the last event, the socket table: the listener, the clone and the
	// client's socket, with the demux rule of each segment that arrived.
	must(chromedp.Do(ctx, chromedp.Click(chromedp.ID("last"))))
	rules := str(`Array.from(document.querySelectorAll("#sockets .rule")).map(e => e.textContent).join(" ")`)
	kinds := str(`Array.from(document.querySelectorAll("#sockets tr td:nth-child(3)")).map(e => e.textContent).join(",")`)
	if !strings.Contains(rules, "listener") || !strings.Contains(rules, "exact") || !strings.Contains(kinds, "listener") || !strings.Contains(kinds, "cloned from #") {
		t.Errorf("socket table: kinds %q, demux rules %q; want the listener, a clone, and listener and exact matches", kinds, rules)
	}
	// The lost segment is retransmitted, and marked so in the Stevens
	// graph; cwnd is drawn.
	if n := eval(`document.querySelectorAll("#conns svg.stevens line.rtx").length`); n < 1 {
		t.Errorf("no retransmission marked in the sequence graphs (frame %d was lost)", lostFrame)
	}
	if n := eval(`document.querySelectorAll("#conns svg.cwnd polyline").length`); n < 1 {
		t.Error("no cwnd graph")
	}
	// Three requests (net/http follows /docs's redirect to /docs/), each
	// with its seven steps and linked segments.
	if n := eval(`document.querySelectorAll("#http .conn.http").length`); n != 3 {
		steps, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`JSON.stringify(window.packetwalk ? [] : []) + Array.from(document.querySelectorAll("#http .conn.http")).map(d => d.innerText.replace(/\s+/g, " ").slice(0, 400)).join("\n")`))
		t.Errorf("%d requests drawn, want 3:\n%s", n, steps)
	}
	if n := eval(`Math.min(...Array.from(document.querySelectorAll("#http .conn.http")).map(d => d.querySelectorAll("a.fr").length))`); n < 2 {
		t.Errorf("a request is linked to %d segments, want those of the request and the response", n)
	}
	// The ping's datagrams: three fragments each way, the buffer filling.
	if n := eval(`document.querySelectorAll("#reasm .reasm").length`); n != 2 {
		t.Errorf("%d reassembled datagrams drawn, want 2 (the echo request and reply)", n)
	}
	if h := str(`Array.from(document.querySelectorAll("#reasm .reasm tr:last-child td:nth-child(5)")).map(e => e.textContent).join(",")`); !strings.Contains(h, "none") {
		t.Errorf("the last row of each datagram's holes: %q, want none left", h)
	}
	if n := eval(`document.querySelectorAll("#reasm svg.buf").length`); n < 6 {
		t.Errorf("%d buffer pictures, want one per fragment and more", n)
	}
	// Step into the exchange and select a data segment, so the screenshot
	// shows a walk in progress and its bytes.
	must(chromedp.Do(ctx, chromedp.Click(chromedp.ID("first"))))
	eval(`(() => { for (let i = 0; i < 60; i++) window.packetwalk.step(); return 0 })()`)
	must(chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`#ar6 line`))))
	shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	must(err)
	if problems := console.Take(); len(problems) > 0 {
		t.Errorf("the page reported errors:\n%s", strings.Join(problems, "\n"))
	}
	if out := os.Getenv("PACKETWALK_REPORT_SCREENSHOT"); out != "" {
		// The top of the page (controls, ladder, walk, bytes, sockets,
		// connections), recompressed, keeps the committed file small.
		img, err := png.Decode(bytes.NewReader(shot))
		must(err)
		if b := img.Bounds(); b.Dy() > 2300 {
			img = img.(interface {
				SubImage(image.Rectangle) image.Image
			}).SubImage(image.Rect(b.Min.X, b.Min.Y, b.Max.X, b.Min.Y+2300))
		}
		var buf bytes.Buffer
		enc := png.Encoder{CompressionLevel: png.BestCompression}
		must(enc.Encode(&buf, img))
		shot = buf.Bytes()
		if err := os.WriteFile(out, shot, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("screenshot: %s (%d bytes)", out, len(shot))
	}
	t.Logf("%d frames, %d steps in frame 3's walk", arrows, steps)

	// The same report with its data compressed opens alike.
	zfile := filepath.Join(dir, "trace-gz.html")
	if err := os.WriteFile(zfile, compressed, 0o644); err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(compressed, []byte(`data-encoding="gzip+base64"`)) || len(compressed) >= len(page) {
		t.Errorf("the compressed report (%d bytes, plain %d) is not compressed", len(compressed), len(page))
	}
	must(chromedp.Do(ctx, chromedp.Navigate("file://"+zfile), chromedp.WaitVisible(chromedp.CSS(`body[data-rendered="1"]`))))
	if n := eval(`window.packetwalk.arrows()`); n != arrows {
		t.Errorf("the compressed report draws %d arrows, the plain one %d", n, arrows)
	}
	if problems := console.Take(); len(problems) > 0 {
		t.Errorf("the compressed report reported errors:\n%s", strings.Join(problems, "\n"))
	}
}
