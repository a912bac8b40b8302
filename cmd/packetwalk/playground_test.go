package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
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
// report's ladder is drawn and whose downloaded capture is byte for byte
// what `packetwalk trace --pcap` writes natively with the same flags; a
// lab run with its ladder and its questions answered and checked in the
// page; a second lab; a scenario with a mistake, whose error names its
// line.
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
	ctx, stop := chromium.Start(chromiumPath, filepath.Join(dir, "profile"), 4*time.Minute)
	defer stop()
	console := chromium.WatchConsole(ctx)
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
	must(chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`#res-files a[data-file="trace.pcapng"]`))))
	native := filepath.Join(dir, "native.pcapng")
	stdout.Reset()
	stderr.Reset()
	if code := run(append([]string{"trace", "--quiet", "--pcap", native, "--json", "", "--html", ""}, flags...), &stdout, &stderr); code != 0 {
		t.Fatalf("native trace: exit %d: %s", code, stderr.String())
	}
	want, err := os.ReadFile(native)
	must(err)
	var got []byte
	for deadline := time.Now().Add(30 * time.Second); ; {
		got, err = os.ReadFile(filepath.Join(downloads, "trace.pcapng"))
		if err == nil && len(got) >= len(want) || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("the capture was not downloaded: %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("the page's trace.pcapng (%d bytes) differs from native packetwalk trace --pcap (%d bytes) with %s", len(got), len(want), strings.Join(flags, " "))
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

	if problems := console.Take(); len(problems) > 0 {
		t.Errorf("the page logged errors: %q", problems)
	}
}
