package report_test

import (
	"bytes"
	"context"
	"encoding/json"
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
	"github.com/packetwalk/packetwalk/internal/testenv"
	"github.com/packetwalk/packetwalk/stack"
	"github.com/packetwalk/packetwalk/viz/report"
)

// realReport runs an HTTP exchange between two packetwalk hosts on a
// simulated wire and returns the report of the run.
func realReport(t *testing.T) []byte {
	t.Helper()
	p, err := stack.NewPair(stack.TopologyConfig{Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	p.Net.Loop.SetPaced(true) // net/http's client runs goroutines of its own
	var page bytes.Buffer
	rw := report.New(&page, report.Options{Title: "packetwalk report: GET / and /docs"})
	p.Net.Log.AddSink(rw)
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
	return page.Bytes()
}

func TestReportInChromium(t *testing.T) {
	chromium := testenv.Tool(t, "chromium", "install it with: apt-get install chromium")
	page := realReport(t)
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

	opts := append(chromedp.DefaultExecAllocatorOptions[:0:0],
		chromedp.ExecPath(chromium),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.UserDataDir(filepath.Join(dir, "profile")),
		chromedp.WindowSize(1400, 1000),
	)
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelA()
	ctx, cancelC := chromedp.NewContext(actx)
	defer cancelC()
	ctx, cancelT := context.WithTimeout(ctx, 60*time.Second)
	defer cancelT()

	// Subscribe to the console (console.error, uncaught exceptions) before
	// the page loads, and gather it while the test clicks around.
	var mu sync.Mutex
	var problems []string
	messages := chromedp.Console(ctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			if m.Type == chromedp.ConsoleError || m.Type == chromedp.ConsoleException {
				mu.Lock()
				problems = append(problems, m.String())
				mu.Unlock()
			}
		}
	}()

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
	// Step into the exchange and select a data segment, so the screenshot
	// shows a walk in progress and its bytes.
	eval(`(() => { for (let i = 0; i < 60; i++) window.packetwalk.step(); return 0 })()`)
	must(chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`#ar6 line`))))
	shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	must(err)
	mu.Lock()
	defer mu.Unlock()
	if len(problems) > 0 {
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
}
