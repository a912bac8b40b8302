package main

import (
	"bufio"
	"bytes"
	"context"
	"image"
	"image/png"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/packetwalk/packetwalk/internal/chromium"
	"github.com/packetwalk/packetwalk/internal/testenv"
)

// These tests open `packetwalk serve --viz` in headless Chromium and watch
// the steps of requests arrive: with kernel sockets (--listen, rootless:
// socket and HTTP steps, no frames) and on a TUN device in a namespace
// (frames, walks and bytes).

var liveURLRE = regexp.MustCompile(`live view on (http://\S+/) `)

// liveURL finds the live view's address in serve's output.
func liveURL(t *testing.T, out func() string) string {
	t.Helper()
	var url string
	waitFor(t, "the live view's address", func() bool {
		m := liveURLRE.FindStringSubmatch(out())
		if m != nil {
			url = m[1]
		}
		return m != nil
	})
	return url
}

// browser is a headless Chromium whose console errors are gathered.
type browser struct {
	ctx     context.Context
	console *chromium.Console
}

func newBrowser(t *testing.T) *browser {
	t.Helper()
	path := testenv.Tool(t, "chromium", "install it with: apt-get install chromium")
	ctx, stop := chromium.Start(path, filepath.Join(t.TempDir(), "profile"), 90*time.Second)
	t.Cleanup(stop)
	return &browser{ctx: ctx, console: chromium.WatchConsole(ctx)}
}

func (b *browser) do(t *testing.T, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(b.ctx, actions...); err != nil {
		t.Fatal(err)
	}
}

func (b *browser) int(t *testing.T, js string) int {
	t.Helper()
	n, err := chromedp.Run(b.ctx, chromedp.Evaluate[int](js))
	if err != nil {
		t.Fatalf("%s: %v", js, err)
	}
	return n
}

func (b *browser) str(t *testing.T, js string) string {
	t.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](js))
	if err != nil {
		t.Fatalf("%s: %v", js, err)
	}
	return s
}

// waitInt polls js in the page until ok holds (20 s at most).
func (b *browser) waitInt(t *testing.T, what, js string, ok func(int) bool) int {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		n := b.int(t, js)
		if ok(n) {
			return n
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s: %s is %d", what, js, n)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (b *browser) checkConsole(t *testing.T) {
	t.Helper()
	if problems := b.console.Take(); len(problems) > 0 {
		t.Errorf("the page reported errors:\n%s", strings.Join(problems, "\n"))
	}
}

// openLive opens the live view and waits until its stream is live.
func (b *browser) openLive(t *testing.T, url string) {
	t.Helper()
	b.do(t, chromedp.Navigate(url), chromedp.WaitVisible(chromedp.CSS(`body[data-ready="1"]`)))
	b.waitInt(t, "the stream to be live", `window.packetwalk.live() && window.packetwalk.live().status === "live" ? 1 : 0`, func(n int) bool { return n == 1 })
}

func TestServeVizStream(t *testing.T) {
	// The stream without a browser: a snapshot first, then each step of a
	// request as it happens.
	s := startServe(t, "--quiet", "--viz", "127.0.0.1:0")
	url := liveURL(t, s.stdout.String)
	resp, err := http.Get(url + "events")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("/events is %q, want text/event-stream", ct)
	}
	lines := make(chan string, 1024)
	go func() {
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	next := func(want string) string {
		t.Helper()
		timeout := time.After(10 * time.Second)
		for {
			select {
			case l, ok := <-lines:
				if !ok {
					t.Fatalf("the stream ended before %q", want)
				}
				if strings.Contains(l, want) {
					return l
				}
			case <-timeout:
				t.Fatalf("no %q on the stream within 10 s", want)
			}
		}
	}
	next("event: snapshot")
	if l := next("data: "); !strings.Contains(l, `"live":true`) {
		t.Fatalf("the snapshot is not the live page's data: %.200s", l)
	}
	r, err := http.Get(s.url + "/")
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, r.Body)
	r.Body.Close()
	// Steps that come together share one message (a JSON array).
	l := next(`"layer":"http","step":"accept"`)
	if !strings.HasPrefix(l, "data: [") {
		t.Errorf("a step message is not a JSON array: %.100s", l)
	}
	if !strings.Contains(l, `"layer":"http","step":"log"`) {
		next(`"layer":"http","step":"log"`)
	}

	// The page itself is the report's, in live mode.
	page, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(page.Body)
	page.Body.Close()
	if !strings.Contains(string(body), `"live":true`) || !strings.Contains(string(body), `id="ladder"`) {
		t.Errorf("GET / of the live view is not the report's page in live mode")
	}
}

func TestServeVizBadAddress(t *testing.T) {
	var out, errOut syncBuffer
	err := serveCommand(context.Background(), []string{"--listen", "127.0.0.1:0", "--viz", "nowhere"}, &out, &errOut, nil)
	if err == nil || !strings.Contains(err.Error(), "--viz \"nowhere\" is not HOST:PORT") {
		t.Fatalf("serve --viz nowhere: %v", err)
	}
}

func TestServeVizListenInChromium(t *testing.T) {
	testenv.Tool(t, "curl", "install it with: apt-get install curl")
	s := startServe(t, "--quiet", "--viz", "127.0.0.1:0")
	url := liveURL(t, s.stdout.String)
	// A request before the page opens: a late joiner gets the history.
	if _, errOut, err := runCmd(t, "curl", "-sS", "--max-time", "10", "-o", "/dev/null", s.url+"/"); err != nil {
		t.Fatalf("curl: %v: %s", err, errOut)
	}
	b := newBrowser(t)
	b.openLive(t, url)
	before := b.waitInt(t, "the history", `window.packetwalk.events()`, func(n int) bool { return n >= 7 })
	b.waitInt(t, "the first request's steps", `document.querySelectorAll("#http .conn.http").length`, func(n int) bool { return n == 1 })
	for i := 0; i < 3; i++ {
		if _, errOut, err := runCmd(t, "curl", "-sS", "--max-time", "10", "-o", "/dev/null", s.url+"/docs/"); err != nil {
			t.Fatalf("curl: %v: %s", err, errOut)
		}
	}
	after := b.waitInt(t, "the new steps", `window.packetwalk.events()`, func(n int) bool { return n >= before+3*7 })
	reqs := b.waitInt(t, "four requests drawn", `document.querySelectorAll("#http .conn.http").length`, func(n int) bool { return n == 4 })
	// No frames with the kernel's sockets: the page says so instead of
	// failing.
	hint := b.str(t, `document.getElementById("ladder").textContent`)
	if !strings.Contains(hint, "No frames yet") {
		t.Errorf("the ladder should say there are no frames with --listen, says %q", hint)
	}
	if n := b.int(t, `window.packetwalk.cursor()`); n != after-1 && n < before {
		t.Errorf("the cursor (%d) does not follow the newest step (%d events)", n, after)
	}
	t.Logf("%d events in the history, %d after three more requests, %d requests drawn", before, after, reqs)
	b.checkConsole(t)
}

func TestServeVizDeviceInChromium(t *testing.T) {
	for _, device := range [][]string{{"--tun", "pw0"}, {"--tap", "pwtap0"}} {
		t.Run(device[0][2:], func(t *testing.T) { testVizDevice(t, device) })
	}
}

// testVizDevice watches a request to serve on a TUN or TAP device: its
// frames arrive in the ladder, with their walks and bytes.
func testVizDevice(t *testing.T, device []string) {
	testenv.Tool(t, "curl", "install it with: apt-get install curl")
	testenv.Tool(t, "chromium", "install it with: apt-get install chromium")
	s := startDeviceServer(t, device, "--viz", "127.0.0.1:0")
	inside := strings.TrimSuffix(strings.TrimPrefix(liveURL(t, s.output), "http://"), "/")
	// A new namespace's loopback is down: the viewer on its 127.0.0.1
	// needs it up.
	if _, errOut, err := s.run(t, "ip", "link", "set", "lo", "up"); err != nil {
		t.Fatalf("ip link set lo up: %v: %s", err, errOut)
	}
	// The viewer listens in the namespace; the browser runs outside.
	url := "http://" + s.ns.Forward(t, inside) + "/"
	b := newBrowser(t)
	b.openLive(t, url)
	frames0 := b.int(t, `window.packetwalk.frames()`)
	events0 := b.int(t, `window.packetwalk.events()`)
	if out, errOut, err := s.run(t, "curl", "-sS", "--max-time", "10", "http://"+tunAddr+"/"); err != nil || !strings.Contains(out, "packetwalk demo site") {
		t.Fatalf("curl through the TUN device: %v: %s", err, errOut)
	}
	// SYN, SYN+ACK, ACK, request, response, FINs and ACKs: ten frames or so.
	// Each frame drawn as an arrow (the page redraws a moment after the
	// frames arrive).
	frames := b.waitInt(t, "the request's frames, drawn", `(() => { const p = window.packetwalk; return p.arrows() === p.frames() ? p.frames() : -1 })()`, func(n int) bool { return n >= frames0+8 })
	b.waitInt(t, "the request's seven steps", `document.querySelectorAll("#http .conn.http").length`, func(n int) bool { return n >= 1 })
	events := b.int(t, `window.packetwalk.events()`)
	cols := b.str(t, `Array.from(document.querySelectorAll("#ladder .colname")).map(e => e.textContent).join(",")`)
	if !strings.Contains(cols, "kernel") {
		t.Errorf("the ladder's columns are %q; want the kernel on the other side of the device", cols)
	}
	// Click the last frame: its walk and its bytes.
	last := b.int(t, `(() => { const g = document.querySelectorAll("#ladder .arrow"); return +g[g.length - 1].dataset.frame })()`)
	b.do(t, chromedp.Click(chromedp.CSS(`#ar`+strconv.Itoa(last)+` line`)))
	steps := b.int(t, `document.querySelectorAll("#frame .walkhost ol.steps li").length`)
	hex := b.int(t, `document.querySelectorAll("#hex span.b").length`)
	if steps < 3 || hex < 2*54 {
		t.Errorf("clicking frame #%d showed %d steps and %d byte cells", last, steps, hex)
	}
	if out := os.Getenv("PACKETWALK_LIVE_SCREENSHOT"); out != "" && device[0] == "--tun" {
		// The top of the page (PNG, recompressed), for the README.
		shot, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(bytes.NewReader(shot))
		if err != nil {
			t.Fatal(err)
		}
		if r := img.Bounds(); r.Dy() > 1250 {
			img = img.(interface {
				SubImage(image.Rectangle) image.Image
			}).SubImage(image.Rect(r.Min.X, r.Min.Y, r.Max.X, r.Min.Y+1250))
		}
		var buf bytes.Buffer
		if err := (&png.Encoder{CompressionLevel: png.BestCompression}).Encode(&buf, img); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(out, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("frames %d -> %d, events %d -> %d, frame #%d: %d steps", frames0, frames, events0, events, last, steps)
	b.checkConsole(t)
}

// runCmd runs a client on this machine (for --listen on 127.0.0.1).
func runCmd(t *testing.T, name string, args ...string) (string, string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), tunCmdTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	var o, e strings.Builder
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	return o.String(), e.String(), err
}

// TestServeNarrationFilters checks that serve's narration takes trace's
// filters: --layer tcp leaves out the web server's steps (the kernel's
// sockets log none of their own), --layer http keeps them.
func TestServeNarrationFilters(t *testing.T) {
	for _, c := range []struct {
		layer  string
		accept bool
	}{{"tcp", false}, {"http", true}} {
		s := startServe(t, "--layer", c.layer)
		r, err := http.Get(s.url + "/")
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, r.Body)
		r.Body.Close()
		waitForFile(t, s.jsonl, `"step":"log"`)
		if c.accept {
			// The narration is written on a goroutine of its own: it may
			// come a moment after the step log.
			waitFor(t, "the accept step in the narration", func() bool { return strings.Contains(s.stdout.String(), "accepted a connection") })
		} else {
			time.Sleep(100 * time.Millisecond) // what would be narrated has had time to be
		}
		out := s.stdout.String()
		if !strings.Contains(out, "serving http://") {
			t.Errorf("--layer %s hid the command's own line:\n%s", c.layer, out)
		}
		if got := strings.Contains(out, "accepted a connection"); got != c.accept {
			t.Errorf("--layer %s: accept step narrated = %v, want %v:\n%s", c.layer, got, c.accept, out)
		}
	}
	var out, errOut syncBuffer
	err := serveCommand(context.Background(), []string{"--listen", "127.0.0.1:0", "--layer", "nope"}, &out, &errOut, nil)
	if err == nil || !strings.Contains(err.Error(), `unknown layer "nope"`) {
		t.Errorf("serve --layer nope: %v", err)
	}
}
