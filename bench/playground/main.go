// Command playground measures the playground (issue 20): the size of the
// folder `packetwalk playground` writes (each file raw and as a static
// host sends it, gzip-compressed), the time from opening the page in
// headless Chromium to the main job's report drawn, from file:// and from
// a local static web server, and the simulation's speed in the page
// against native `packetwalk trace` on this machine, in events per second,
// for the same run.
//
//	go run ./bench/playground [--rounds 3] [--gets 10] [--chromium /usr/bin/chromium] [--keep DIR]
//
// Run it from the module's root: it builds packetwalk and runs
// `packetwalk playground`, which builds the module for js/wasm. The speed
// run is `trace --get /big.txt` repeated --gets times (more events than the
// main job, so that the per-run start-up does not dominate); the page's
// time is packetwalk.run's own (the command alone), the native time the
// process's wall time. Every round opens a fresh Chromium.
package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/packetwalk/packetwalk/internal/chromium"
)

func main() {
	rounds := flag.Int("rounds", 3, "rounds of each measurement (the median is printed)")
	gets := flag.Int("gets", 10, "how many times the speed run fetches /big.txt")
	chromiumPath := flag.String("chromium", "/usr/bin/chromium", "the Chromium to open the page in")
	keep := flag.String("keep", "", "keep the playground and the runs' files in this folder (default: a temporary one, removed)")
	flag.Parse()
	if err := run(*rounds, *gets, *chromiumPath, *keep); err != nil {
		fmt.Fprintln(os.Stderr, "bench/playground:", err)
		os.Exit(1)
	}
}

func run(rounds, gets int, chromiumPath, keep string) error {
	if rounds < 1 || gets < 1 {
		return fmt.Errorf("--rounds and --gets must be positive")
	}
	if _, err := os.Stat(chromiumPath); err != nil {
		return fmt.Errorf("no Chromium at %s (apt-get install chromium, or --chromium PATH)", chromiumPath)
	}
	dir := keep
	if dir == "" {
		d, err := os.MkdirTemp("", "pw-bench-playground-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		dir = d
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	dir, _ = filepath.Abs(dir)
	bin := filepath.Join(dir, "packetwalk")
	if out, err := exec.Command("go", "build", "-o", bin, "./cmd/packetwalk").CombinedOutput(); err != nil {
		return fmt.Errorf("go build ./cmd/packetwalk (run from the module's root): %v\n%s", err, out)
	}
	site := filepath.Join(dir, "site")
	start := time.Now()
	if out, err := exec.Command(bin, "playground", "--out", site).CombinedOutput(); err != nil {
		return fmt.Errorf("packetwalk playground: %v\n%s", err, out)
	}
	fmt.Printf("packetwalk playground --out site: %.1f s (the js/wasm build, cached or not)\n", time.Since(start).Seconds())

	// Sizes.
	fmt.Printf("%-20s %12s %14s %14s\n", "file", "bytes", "gzip -6", "gzip -9")
	ents, err := os.ReadDir(site)
	if err != nil {
		return err
	}
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(site, e.Name()))
		if err != nil {
			return err
		}
		fmt.Printf("%-20s %12d %14d %14d\n", e.Name(), len(b), gz(b, gzip.DefaultCompression), gz(b, gzip.BestCompression))
	}

	// The speed run, natively.
	argv := []string{"trace", "--quiet"}
	for range gets {
		argv = append(argv, "--get", "/big.txt")
	}
	var nativeMS []float64
	events := 0
	for i := 0; i < rounds; i++ {
		out := filepath.Join(dir, fmt.Sprintf("native%d", i))
		os.MkdirAll(out, 0o755)
		cmd := exec.Command(bin, argv...)
		cmd.Dir = out
		t0 := time.Now()
		if b, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("native trace: %v\n%s", err, b)
		}
		nativeMS = append(nativeMS, float64(time.Since(t0).Microseconds())/1000)
		if events, err = lines(filepath.Join(out, "trace.jsonl")); err != nil {
			return err
		}
	}

	// A static web server for the folder (Go's FileServer sends .wasm as
	// application/wasm, so the page compiles it while it streams).
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: http.FileServer(http.Dir(site))}
	go srv.Serve(ln)
	defer srv.Close()

	type result struct{ ready, drawn, runMS float64 }
	var fileRes, httpRes []result
	var pageEvents int
	for i := 0; i < rounds; i++ {
		for _, via := range []string{"file", "http"} {
			url := "file://" + filepath.Join(site, "playground.html")
			if via == "http" {
				url = "http://" + ln.Addr().String() + "/playground.html"
			}
			load, _ := os.ReadFile("/proc/loadavg")
			r, n, err := openAndRun(chromiumPath, filepath.Join(dir, fmt.Sprintf("profile-%s-%d", via, i)), url, argv)
			if err != nil {
				return fmt.Errorf("%s: %v", url, err)
			}
			pageEvents = n
			fmt.Printf("%s round %d: ready %.0f ms, main job's report drawn %.0f ms after opening; speed run %.0f ms in the page (load average %s)\n",
				via, i+1, r.ready, r.drawn, r.runMS, strings.Join(strings.Fields(string(load))[:3], " "))
			if via == "file" {
				fileRes = append(fileRes, result(r))
			} else {
				httpRes = append(httpRes, result(r))
			}
		}
	}
	med := func(xs []float64) float64 {
		s := append([]float64(nil), xs...)
		sort.Float64s(s)
		return s[len(s)/2]
	}
	pick := func(rs []result, f func(result) float64) float64 {
		var xs []float64
		for _, r := range rs {
			xs = append(xs, f(r))
		}
		return med(xs)
	}
	if pageEvents != events {
		fmt.Printf("note: the page's run logged %d events, the native one %d\n", pageEvents, events)
	}
	nm := med(nativeMS)
	var pageMS []float64
	for _, r := range append(fileRes, httpRes...) {
		pageMS = append(pageMS, r.runMS)
	}
	pm := med(pageMS)
	fmt.Printf("median over %d rounds:\n", rounds)
	fmt.Printf("  open to ready: file:// %.0f ms, http:// %.0f ms\n", pick(fileRes, func(r result) float64 { return r.ready }), pick(httpRes, func(r result) float64 { return r.ready }))
	fmt.Printf("  open to the main job's report drawn: file:// %.0f ms, http:// %.0f ms\n", pick(fileRes, func(r result) float64 { return r.drawn }), pick(httpRes, func(r result) float64 { return r.drawn }))
	fmt.Printf("  speed run (%s, %d events): native %.0f ms = %.0f events/s; in the page %.0f ms = %.0f events/s (%.1fx slower)\n",
		strings.Join(argv, " "), events, nm, float64(events)/nm*1000, pm, float64(pageEvents)/pm*1000, pm/nm)
	return nil
}

// openAndRun opens the page in a fresh Chromium, runs the main job as
// soon as the module is ready and waits for its report's ladder, then
// runs argv through the page's API; times are the page's performance.now()
// (from the navigation's start).
func openAndRun(chromiumPath, profile, url string, argv []string) (r struct{ ready, drawn, runMS float64 }, events int, err error) {
	ctx, stop := chromium.Start(chromiumPath, profile, 3*time.Minute)
	defer stop()
	if err = chromedp.Do(ctx, chromedp.Navigate(url)); err != nil {
		return
	}
	poll := func(js string) error {
		_, err := chromedp.Run(ctx, chromedp.Poll[bool](js, chromedp.WithPollingTimeout(2*time.Minute)))
		return err
	}
	if err = poll(`document.body.dataset.ready == "1"`); err != nil {
		return
	}
	if r.ready, err = chromedp.Run(ctx, chromedp.Evaluate[float64](`window.playground.timing.ready`)); err != nil {
		return
	}
	if err = chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#mj-run"))); err != nil {
		return
	}
	if err = poll(`(() => { const d = document.getElementById("report").contentDocument; return !!d && d.querySelectorAll("#ladder .arrow").length > 0 })()`); err != nil {
		return
	}
	if r.drawn, err = chromedp.Run(ctx, chromedp.Evaluate[float64](`performance.now()`)); err != nil {
		return
	}
	js := fmt.Sprintf(`(async () => { memfs.mkdirAll("/home/student/speed"); process.chdir("/home/student/speed"); const res = await packetwalk.run(%s); process.chdir("/home/student"); if (res.code !== 0) throw new Error(res.stderr); return [res.ms, memfs.readText("/home/student/speed/trace.jsonl").split("\n").length - 1]; })()`, jsArray(argv))
	out, err := chromedp.Run(ctx, chromedp.Evaluate[[]float64](js, chromedp.EvalAwaitPromise))
	if err != nil {
		return
	}
	r.runMS, events = out[0], int(out[1])
	return
}

func jsArray(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = fmt.Sprintf("%q", s)
	}
	return "[" + strings.Join(q, ",") + "]"
}

func gz(b []byte, level int) int {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, level)
	zw.Write(b)
	zw.Close()
	return buf.Len()
}

func lines(path string) (int, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	n := 0
	for sc.Scan() {
		n++
	}
	return n, sc.Err()
}
