package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/packetwalk/packetwalk/internal/chromium"
	"github.com/packetwalk/packetwalk/internal/testenv"
	"github.com/packetwalk/packetwalk/labs"
)

// TestPlaygroundBuildsForWasm holds that packetwalk builds for js/wasm,
// the playground's engine: TUN and TAP openers, kernel-socket code and
// gVisor stay behind build tags, and none of them is linked in.
func TestPlaygroundBuildsForWasm(t *testing.T) {
	if testing.Short() {
		t.Skip("builds packetwalk for js/wasm")
	}
	cmd := exec.Command("go", "list", "-deps", ".")
	cmd.Env = append(os.Environ(), "GOOS=js", "GOARCH=wasm")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("GOOS=js GOARCH=wasm go list -deps ./cmd/packetwalk: %v\n%s", err, out)
	}
	for _, dep := range strings.Fields(string(out)) {
		if strings.HasPrefix(dep, "gvisor.dev/") || strings.HasSuffix(dep, "/stack/gvisorhost") || strings.HasPrefix(dep, "github.com/songgao/water") {
			t.Errorf("the playground's module links %s, which is not part of the page", dep)
		}
	}
	cmd = exec.Command("go", "build", "-o", filepath.Join(t.TempDir(), "packetwalk.wasm"), ".")
	cmd.Env = append(os.Environ(), "GOOS=js", "GOARCH=wasm")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("GOOS=js GOARCH=wasm go build ./cmd/packetwalk: %v\n%s", err, out)
	}
}

// TestPlaygroundInChromium writes the playground with `packetwalk
// playground`, opens it from file:// in headless Chromium and uses it as a
// student would: the main job with a seed, loss and two connections, whose
// report (ladder, frame walk, bytes, sockets, seven steps, Stevens graphs)
// is drawn and whose downloaded capture, step log and report are byte for
// byte what `packetwalk trace` writes natively with the same flags; the
// main job with --phy and its waveform; ping; a lab run with its ladder
// and its questions answered and checked in the page, one wrong; a second
// lab and its reassembly; scenarios with mistakes, whose errors name their
// lines; every scenario lab against lab run in a terminal, its reference
// answers marked right; bad command lines, which the page survives. No
// request leaves file:// meanwhile. Then the folder from a web server.
func TestPlaygroundInChromium(t *testing.T) {
	chromiumPath := testenv.Tool(t, "chromium", "install it with: apt-get install chromium")
	if _, err := exec.LookPath("go"); err != nil {
		testenv.Unavailable(t, "go is not on the PATH; the playground is built with it")
	}
	dir := t.TempDir()
	site := filepath.Join(dir, "site")
	var stdout, stderr bytes.Buffer
	if code := run([]string{"playground", "--out", site}, &stdout, &stderr); code != 0 {
		t.Fatalf("packetwalk playground: exit %d\n%s%s", code, stdout.String(), stderr.String())
	}
	for _, f := range []string{"playground.html", "wasm_exec.js", "packetwalk.wasm", "packetwalk.wasm.js"} {
		if !strings.Contains(stdout.String(), filepath.Join(site, f)) {
			t.Errorf("packetwalk playground did not say it wrote %s:\n%s", f, stdout.String())
		}
	}

	downloads := filepath.Join(dir, "downloads")
	// About 45 runs in the page: room for a slow, shared CI machine.
	ctx, stop := chromium.Start(chromiumPath, filepath.Join(dir, "profile"), 8*time.Minute)
	defer stop()
	console := chromium.WatchConsole(ctx)
	// Every request the page makes, to hold that it works offline: from
	// file://, nothing may leave the folder (file:), the page itself
	// (data:, blob: downloads, about:srcdoc reports).
	var requests struct {
		sync.Mutex
		urls []string
	}
	if err := chromedp.Listen(ctx, func(ev any) {
		if e, ok := ev.(*network.EventRequestWillBeSent); ok {
			requests.Lock()
			requests.urls = append(requests.urls, e.Request.URL)
			requests.Unlock()
		}
	}); err != nil {
		t.Fatal(err)
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	str := func(js string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Evaluate[string](js))
		must(err)
		return s
	}
	num := func(js string) int {
		t.Helper()
		n, err := chromedp.Run(ctx, chromedp.Evaluate[int](js))
		must(err)
		return n
	}
	waitFor := func(what, js string, timeout time.Duration) {
		t.Helper()
		if _, err := chromedp.Run(ctx, chromedp.Poll[bool](js, chromedp.WithPollingInterval(100*time.Millisecond), chromedp.WithPollingTimeout(timeout))); err != nil {
			t.Fatalf("waiting for %s: %v (status: %q; console: %q)", what, err, str(`document.getElementById("status").textContent`), console.Take())
		}
	}
	runs := 0
	// ran waits for the page's next run to finish and returns its exit
	// status; arrows is then the number of arrows in its report's ladder.
	ran := func(what string) int {
		t.Helper()
		runs++
		waitFor(what, fmt.Sprintf(`document.body.dataset.runs == "%d"`, runs), 2*time.Minute)
		return num(`+document.getElementById("res-status").dataset.code`)
	}
	arrows := func(what string) int {
		t.Helper()
		waitFor(what+"'s report", `(() => { const d = document.getElementById("report").contentDocument; return !!d && d.querySelectorAll("#ladder .arrow").length > 0 })()`, 30*time.Second)
		return num(`document.getElementById("report").contentDocument.querySelectorAll("#ladder .arrow").length`)
	}

	must(chromedp.Do(ctx, chromedp.Navigate("file://"+filepath.Join(site, "playground.html"))))
	_, err := chromedp.CallBrowser(ctx, cdpbrowser.SetDownloadBehavior, cdpbrowser.SetDownloadBehaviorParams{
		Behavior: cdpbrowser.SetDownloadBehaviorBehaviorAllow, DownloadPath: downloads})
	must(err)
	waitFor("the module to load", `document.body.dataset.ready == "1"`, time.Minute)
	if via := str(`window.playground.timing.via`); via != "packetwalk.wasm.js" {
		t.Errorf("from file:// the page loaded the module through %s, want the script packetwalk.wasm.js", via)
	}

	// The main job.
	flags := []string{"--seed", "3", "--loss", "0.02", "--connections", "2"}
	must(chromedp.Do(ctx,
		chromedp.SetValue(chromedp.CSS("#mj-seed"), "3"),
		chromedp.SetValue(chromedp.CSS("#mj-loss"), "0.02"),
		chromedp.SetValue(chromedp.CSS("#mj-connections"), "2"),
		chromedp.Click(chromedp.CSS("#mj-run"))))
	if code := ran("the main job"); code != 0 {
		t.Fatalf("the main job failed in the page: %s", str(`document.getElementById("res-err").textContent`))
	}
	if cmd := str(`document.getElementById("res-cmd").textContent`); cmd != "packetwalk trace "+strings.Join(flags, " ") {
		t.Errorf("the page shows the command %q, want packetwalk trace %s", cmd, strings.Join(flags, " "))
	}
	if n := arrows("the main job"); n < 20 {
		t.Errorf("the main job's ladder has %d arrows", n)
	}
	// The report in the page is the run's trace.html, drawn: the ladder
	// (above), a frame's walk through each host and its bytes, the socket
	// table, the seven steps of each request, the Stevens graph.
	report := func(js string) int {
		t.Helper()
		return num(`(() => { const d = document.getElementById("report").contentDocument, w = document.getElementById("report").contentWindow; return ` + js + ` })()`)
	}
	if n := report(`(w.packetwalk.select(+d.querySelector("#ladder .arrow").dataset.frame), d.querySelectorAll("#frame .walkhost ol.steps li").length)`); n < 3 {
		t.Errorf("the main job's report walks a frame through %d steps", n)
	}
	if n := report(`d.querySelectorAll("#hex span.b").length`); n < 42 {
		t.Errorf("the main job's report shows %d bytes of a frame", n)
	}
	if n := report(`d.querySelectorAll("#sockets tr").length`); n < 3 {
		t.Errorf("the main job's socket table has %d rows", n)
	}
	if n := report(`d.querySelectorAll("#http .conn.http").length`); n < 2 {
		t.Errorf("the main job's report has the seven steps of %d requests", n)
	}
	if n := report(`d.querySelectorAll("#conns svg.stevens").length`); n < 2 {
		t.Errorf("the main job's report has %d Stevens graphs, want one per connection that sent data (2 at least)", n)
	}

	// The files to download are, byte for byte, what packetwalk trace
	// writes natively with the same flags: the capture, the step log and
	// the report itself.
	nativeDir := filepath.Join(dir, "native")
	must(os.Mkdir(nativeDir, 0o755))
	stdout.Reset()
	stderr.Reset()
	if code := run(append([]string{"trace", "--quiet", "--pcap", filepath.Join(nativeDir, "trace.pcapng"), "--json", filepath.Join(nativeDir, "trace.jsonl"), "--html", filepath.Join(nativeDir, "trace.html")}, flags...), &stdout, &stderr); code != 0 {
		t.Fatalf("native trace: exit %d: %s", code, stderr.String())
	}
	for _, name := range []string{"trace.pcapng", "trace.jsonl", "trace.html"} {
		must(chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`#res-files a[data-file="`+name+`"]`))))
		want, err := os.ReadFile(filepath.Join(nativeDir, name))
		must(err)
		var got []byte
		for deadline := time.Now().Add(30 * time.Second); ; {
			got, err = os.ReadFile(filepath.Join(downloads, name))
			if err == nil && len(got) >= len(want) || time.Now().After(deadline) {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		if err != nil {
			t.Fatalf("%s was not downloaded: %v", name, err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("the page's %s (%d bytes) differs from native packetwalk trace's (%d bytes) with %s", name, len(got), len(want), strings.Join(flags, " "))
		}
	}
	if shown := report(`d.documentElement.outerHTML.length > 0 && d.getElementById("data") ? 1 : 0`); shown != 1 {
		t.Error("the page's report frame does not hold the run's trace.html")
	}

	// The main job with the PHY model on: the report draws a frame's
	// signal as its receiver sampled it.
	must(chromedp.Do(ctx,
		chromedp.SetValue(chromedp.CSS("#mj-phy"), "manchester"),
		chromedp.SetValue(chromedp.CSS("#mj-loss"), "0"),
		chromedp.SetValue(chromedp.CSS("#mj-connections"), "1"),
		chromedp.Click(chromedp.CSS("#mj-run"))))
	if code := ran("the main job with --phy"); code != 0 {
		t.Fatalf("the main job with --phy manchester failed in the page: %s", str(`document.getElementById("res-err").textContent`))
	}
	if cmd := str(`document.getElementById("res-cmd").textContent`); cmd != "packetwalk trace --seed 3 --phy manchester" {
		t.Errorf("the page ran %q, want packetwalk trace --seed 3 --phy manchester", cmd)
	}
	arrows("the main job with --phy")
	if n := report(`(w.packetwalk.select(+d.querySelector("#ladder .arrow").dataset.frame), d.querySelectorAll("#frame .phywave svg .phy-line").length)`); n < 1 {
		t.Errorf("with --phy manchester the report draws %d waveforms of a frame", n)
	}
	must(chromedp.Do(ctx, chromedp.SetValue(chromedp.CSS("#mj-phy"), "off")))

	// Ping, through a router.
	must(chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`#tabs button[data-tab="ping"]`)),
		chromedp.SetValue(chromedp.CSS("#ping-count"), "3"),
		chromedp.Click(chromedp.CSS("#ping-router")),
		chromedp.Click(chromedp.CSS("#ping-run"))))
	if code := ran("ping"); code != 0 {
		t.Fatalf("ping failed in the page: %s", str(`document.getElementById("res-err").textContent`))
	}
	if s := str(`document.getElementById("res-out").textContent`); !strings.Contains(s, "3 packets transmitted, 3 received") {
		t.Errorf("ping's output in the page:\n%s", s)
	}
	if n := arrows("ping"); n < 12 {
		t.Errorf("ping's ladder through a router has %d arrows", n)
	}

	// A lab: run it, see its ladder, answer its questions with the
	// reference answers and have them checked in the page.
	must(chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`#tabs button[data-tab="labs"]`))))
	lab, err := labs.Get("01-http-life")
	must(err)
	must(chromedp.Do(ctx, chromedp.SetValue(chromedp.CSS("#lab-select"), lab.ID)))
	str(`document.getElementById("lab-select").dispatchEvent(new Event("change")), ""`)
	must(chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#lab-run"))))
	if code := ran("lab 01"); code != 0 {
		t.Fatalf("lab run 01-http-life failed in the page: %s%s", str(`document.getElementById("res-out").textContent`), str(`document.getElementById("res-err").textContent`))
	}
	if n := arrows("lab 01"); n < 10 {
		t.Errorf("lab 01's ladder has %d arrows", n)
	}
	if s := str(`document.getElementById("res-out").textContent`); !strings.Contains(s, "skipped: a host of this scenario runs gVisor") {
		t.Errorf("lab 01's gVisor scenario was not said to be skipped:\n%s", s)
	}
	if n := num(`document.querySelectorAll("#lab-questions li").length`); n != len(lab.Questions) || n == 0 {
		t.Fatalf("the page lists %d questions of lab 01, want %d", n, len(lab.Questions))
	}
	for i, q := range lab.Questions {
		v := lab.Solution.Values[q.ID].Values[0]
		if i == 0 {
			v = "12345" // one wrong answer, which the page must mark
		}
		str(fmt.Sprintf(`document.getElementById(%q).value = %q, ""`, "q-"+q.ID, v))
	}
	must(chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#lab-check"))))
	if code := ran("lab check"); code != 1 {
		t.Errorf("lab check with one wrong answer: exit status %d, want 1", code)
	}
	if n := num(`document.querySelectorAll("#lab-questions li.pass").length`); n != len(lab.Questions)-1 {
		t.Errorf("%d questions marked right, want %d:\n%s", n, len(lab.Questions)-1, str(`document.getElementById("lab-grade").textContent`))
	}
	if id := str(`Array.from(document.querySelectorAll("#lab-questions li.fail")).map(li => li.dataset.q).join(",")`); id != lab.Questions[0].ID {
		t.Errorf("questions marked wrong: %q, want %q", id, lab.Questions[0].ID)
	}

	// A second lab.
	must(chromedp.Do(ctx, chromedp.SetValue(chromedp.CSS("#lab-select"), "03-fragments")))
	str(`document.getElementById("lab-select").dispatchEvent(new Event("change")), ""`)
	must(chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#lab-run"))))
	if code := ran("lab 03"); code != 0 {
		t.Fatalf("lab run 03-fragments failed in the page: %s", str(`document.getElementById("res-err").textContent`))
	}
	if n := arrows("lab 03"); n < 10 {
		t.Errorf("lab 03's ladder has %d arrows", n)
	}
	if n := num(`document.getElementById("res-reports").options.length`); n < 2 {
		t.Errorf("lab 03 has two scenarios; the page offers %d reports", n)
	}
	if n := report(`d.querySelectorAll("#reasm .reasm").length`); n < 6 {
		t.Errorf("lab 03's report shows the reassembly of %d datagrams", n)
	}

	// The scenario editor: a wire misspelt; the error names its line.
	must(chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`#tabs button[data-tab="editor"]`))))
	waitFor("the editor's scenario", `document.getElementById("sc-text").value.includes("wire: lan")`, 10*time.Second)
	line := 1 + num(`document.getElementById("sc-text").value.split("\n").findIndex(l => l.includes("wire: lan"))`)
	str(`(() => { const t = document.getElementById("sc-text"); t.value = t.value.replace("wire: lan", "wire: lam"); return "" })()`)
	must(chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#sc-run"))))
	if code := ran("the broken scenario"); code == 0 {
		t.Fatal("a scenario naming a wire that does not exist ran")
	}
	errs := str(`Array.from(document.querySelectorAll("#sc-errors li")).map(li => li.textContent).join("\n")`)
	if !strings.HasPrefix(errs, fmt.Sprintf("line %d: ", line)) || !strings.Contains(errs, `"lam"`) {
		t.Errorf("the editor shows %q, want line %d: and the wire's name", errs, line)
	}

	// Other mistakes a student makes in the editor: each is one line
	// "line N: sentence" (the sentence not starting with an empty name),
	// and none stops the simulation.
	for _, c := range []struct{ what, text, want string }{
		{"an empty scenario", "", "line 1: the file is empty"},
		{"not YAML", "name: [\n", "line 1: not valid YAML"},
		{"a misspelt key", "name: x\nhostz: []\n", `line 2: unknown key "hostz"`},
		{"a ping too big", strings.Replace(lab3Scenario(t), "size: 4000", "size: 70000", 1), "line 18: ping: count is 1..10000 and size 0..65507"},
	} {
		str(fmt.Sprintf(`document.getElementById("sc-text").value = %q, ""`, c.text))
		must(chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#sc-run"))))
		if code := ran(c.what); code != 1 {
			t.Errorf("%s: exit status %d, want 1", c.what, code)
		}
		if errs := str(`Array.from(document.querySelectorAll("#sc-errors li")).map(li => li.textContent).join("\n")`); !strings.HasPrefix(errs, c.want) || strings.Contains(errs, "\n") {
			t.Errorf("%s: the editor shows %q, want one line starting %q", c.what, errs, c.want)
		}
	}

	// Every scenario lab, as a student takes it in the page: run it (the
	// same outcome, line for line, as lab run in a terminal, but for a
	// gVisor scenario, which the page says it skips), then answer its
	// questions with the reference answers and have them all marked right.
	nativeLabs := filepath.Join(dir, "native-labs")
	must(os.Mkdir(nativeLabs, 0o755))
	t.Chdir(nativeLabs) // so that lab run's output names lab-ID/ as the page's does
	all, err := labs.List()
	must(err)
	must(chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`#tabs button[data-tab="labs"]`))))
	for _, l := range all {
		if len(l.Scenarios) == 0 {
			// An implementation lab: its code is built in a terminal, and
			// the page shows its handout without a Run button to press.
			must(chromedp.Do(ctx, chromedp.SetValue(chromedp.CSS("#lab-select"), l.ID)))
			if s := str(`document.getElementById("lab-select").dispatchEvent(new Event("change")), document.getElementById("lab-run").disabled + " " + document.getElementById("lab-handout").textContent`); !strings.HasPrefix(s, "true An implementation lab") {
				t.Errorf("lab %s in the page: %.120q, want Run disabled and the handout saying it is for a terminal", l.ID, s)
			}
			continue
		}
		must(chromedp.Do(ctx, chromedp.SetValue(chromedp.CSS("#lab-select"), l.ID)))
		str(`document.getElementById("lab-select").dispatchEvent(new Event("change")), ""`)
		must(chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#lab-run"))))
		code := ran("lab " + l.ID)
		pageOut := str(`document.getElementById("res-out").textContent`)
		stdout.Reset()
		stderr.Reset()
		nativeCode := run([]string{"lab", "run", l.ID, "--out", "lab-" + l.ID}, &stdout, &stderr)
		gvisor := 0
		for _, sc := range l.Scenarios {
			if sc.UsesGVisor() {
				gvisor++
			}
		}
		pageSec, skipped := labSections(pageOut)
		nativeSec, _ := labSections(stdout.String())
		for name := range skipped {
			delete(nativeSec, name)
		}
		if code != nativeCode || len(skipped) != gvisor || !maps.Equal(pageSec, nativeSec) {
			t.Errorf("lab run %s: exit status %d in the page, %d in a terminal; %d gVisor scenarios skipped, want %d; the page printed\n%s\nthe terminal\n%s", l.ID, code, nativeCode, len(skipped), gvisor, pageOut, stdout.String())
		}
		if n := num(`document.querySelectorAll("#lab-questions li").length`); n != len(l.Questions) {
			t.Errorf("lab %s: the page asks %d questions, want %d", l.ID, n, len(l.Questions))
		}
		for _, q := range l.Questions {
			v := l.Solution.Values[q.ID].Values[0]
			if q.Type == "choice" && len(v) == 1 && v[0] >= 'a' && int(v[0]-'a') < len(q.Choices) {
				v = q.Choices[v[0]-'a'] // a choice is picked by its text
			}
			// An answer the input cannot hold (a choice not offered) stays
			// empty and is marked unanswered below.
			str(fmt.Sprintf(`document.getElementById(%q).value = %q, ""`, "q-"+q.ID, v))
		}
		must(chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#lab-check"))))
		if code := ran("lab check " + l.ID); code != 0 {
			t.Errorf("lab check %s with the reference answers: exit status %d:\n%s", l.ID, code, str(`document.getElementById("lab-grade").textContent`))
		}
		if n := num(`document.querySelectorAll("#lab-questions li.pass").length`); n != len(l.Questions) {
			t.Errorf("lab %s: %d of %d reference answers marked right:\n%s", l.ID, n, len(l.Questions), str(`document.getElementById("lab-grade").textContent`))
		}
	}

	// Bad input never stops the page's Go program: each is a sentence
	// and an exit status, and the simulation runs on.
	for _, argv := range [][]string{
		{"trace", "--seed", "x"}, {"trace", "--loss", "2"}, {"trace", "--mtu", "10"}, {"trace", "--connections", "0"},
		{"trace", "--get", "nope"}, {"trace", "--phy", "bogus"}, {"trace", "--timeout", "-1s"}, {"trace", "--json", "/"},
		{"trace", "--scenario", "/nope.yaml"}, {"trace", "--client", "gvisor"}, {"trace", "--conn", "999"},
		{"ping", "--size", "70000"}, {"ping", "--count", "0"}, {"ping", "--ttl", "0"},
		{"lab", "run", "nope"}, {"lab", "check", "01-http-life", "--answers", "/nope"}, {"lab", "test", "impl-arp", "--impl", "x"},
		{"serve"}, {"drill", "x.pkt"}, {"playground"}, {"nonsense"}, {""}, {" "},
	} {
		b, _ := json.Marshal(argv)
		res, err := chromedp.Run(ctx, chromedp.Evaluate[struct {
			Code   int    `json:"code"`
			Stderr string `json:"stderr"`
		}](`window.playground.run(`+string(b)+`)`, chromedp.EvalAwaitPromise))
		must(err)
		runs++
		if res.Code != 1 && res.Code != 2 || !strings.HasPrefix(res.Stderr, "packetwalk") || strings.Count(res.Stderr, "\n") != 1 {
			t.Errorf("packetwalk %s in the page: exit status %d, %q; want 1 or 2 and one sentence", strings.Join(argv, " "), res.Code, res.Stderr)
		}
	}
	if v, err := chromedp.Run(ctx, chromedp.Evaluate[string](`window.playground.run(["version"]).then(r => r.code + " " + document.getElementById("status").className)`, chromedp.EvalAwaitPromise)); err != nil || v != "0 ready" {
		t.Errorf("after the bad input, packetwalk version in the page: %q, %v", v, err)
	}

	// The page keeps the last five runs' folders, not every run's.
	if n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`memfs.list("/home/student").filter((n) => n.startsWith("run-")).length`)); err != nil || n < 1 || n > 5 {
		t.Errorf("the page holds %d run folders in memory (%v), want 1 to 5", n, err)
	}

	requests.Lock()
	offline := requests.urls
	requests.urls = nil
	requests.Unlock()
	for _, u := range offline {
		if scheme, _, _ := strings.Cut(u, ":"); scheme != "file" && scheme != "data" && scheme != "blob" && scheme != "about" {
			t.Errorf("the page opened from file:// requested %s", u)
		}
	}
	if len(offline) < 3 {
		t.Errorf("only %d requests seen (the page, wasm_exec.js and the module at least): is the listener deaf?", len(offline))
	}
	if problems := console.Take(); len(problems) > 0 {
		t.Errorf("the page logged errors: %q", problems)
	}

	// The same folder on a static web host (Go's file server, as any
	// would serve it): the page fetches packetwalk.wasm, not the base64
	// script, and the main job runs.
	host := httptest.NewServer(http.FileServer(http.Dir(site)))
	defer host.Close()
	must(chromedp.Do(ctx, chromedp.Navigate(host.URL+"/playground.html")))
	waitFor("the module to load over http", `document.body.dataset.ready == "1"`, time.Minute)
	if via := str(`window.playground.timing.via`); via != "packetwalk.wasm" {
		t.Errorf("from a web host the page loaded the module through %s, want packetwalk.wasm", via)
	}
	runs = 0
	must(chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#mj-run"))))
	if code := ran("the main job from a web host"); code != 0 {
		t.Fatalf("the main job failed in the page from a web host: %s", str(`document.getElementById("res-err").textContent`))
	}
	arrows("the main job from a web host")
	if problems := console.Take(); len(problems) > 0 {
		t.Errorf("the page from a web host logged errors: %q", problems)
	}
}

// labSections splits lab run's output into its scenarios' sections
// ("== FILE: title" and what follows), and names those the page skipped
// (a gVisor host's).
func labSections(out string) (sections map[string]string, skipped map[string]bool) {
	sections, skipped = map[string]string{}, map[string]bool{}
	name := ""
	for _, line := range strings.SplitAfter(out, "\n") {
		if rest, ok := strings.CutPrefix(line, "== "); ok {
			name, _, _ = strings.Cut(rest, ":")
		}
		sections[name] += line
		if strings.HasPrefix(line, "skipped: a host of this scenario runs gVisor") {
			skipped[name] = true
		}
	}
	for name := range skipped {
		delete(sections, name)
	}
	return sections, skipped
}

// lab3Scenario is lab 03's scenario, a valid file to spoil.
func lab3Scenario(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("../../labs/03-fragments/scenario.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
