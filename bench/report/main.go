// Command report measures the HTML report of a large trace: its size, and
// how long headless Chromium takes to open it until it is drawn.
//
//	go run ./bench/report [--size-mb 13] [--rounds 3] [--chromium /usr/bin/chromium] [--keep DIR]
//
// It builds packetwalk, makes a docroot with one text file of --size-mb
// megabytes, runs `packetwalk trace --quiet --docroot DIR --get /big.txt`
// (gVisor's HTTP client fetches the file from packetwalk's httpd over the
// simulated wire), counts the frames in trace.jsonl, prints the size of
// trace.html, then opens it --rounds times, each in a fresh headless
// Chromium, and prints the median time from navigation start until the
// report is drawn (the page's own performance.now() once its data is
// decoded, every section drawn, and the next frame painted). Targets
// (issue 7): at least 10,000 frames, under 10 MB, under 2 s.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
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
	sizeMB := flag.Float64("size-mb", 13, "size of the fetched file, MB (13 MB gives 11,000 to 12,500 frames: gVisor's ACKs vary)")
	rounds := flag.Int("rounds", 3, "how many times to open the report (the median is printed)")
	chromium := flag.String("chromium", "/usr/bin/chromium", "the Chromium to open the report in")
	keep := flag.String("keep", "", "keep the trace's files in this folder (default: a temporary one, removed)")
	flag.Parse()
	if err := run(*sizeMB, *rounds, *chromium, *keep); err != nil {
		fmt.Fprintln(os.Stderr, "bench/report:", err)
		os.Exit(1)
	}
}

func run(sizeMB float64, rounds int, chromium, keep string) error {
	if rounds < 1 || sizeMB <= 0 {
		return fmt.Errorf("--rounds and --size-mb must be positive")
	}
	if _, err := os.Stat(chromium); err != nil {
		return fmt.Errorf("no Chromium at %s (apt-get install chromium, or --chromium PATH)", chromium)
	}
	dir := keep
	if dir == "" {
		d, err := os.MkdirTemp("", "pw-bench-report-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		dir = d
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	bin := filepath.Join(dir, "packetwalk")
	if out, err := exec.Command("go", "build", "-o", bin, "./cmd/packetwalk").CombinedOutput(); err != nil {
		return fmt.Errorf("go build ./cmd/packetwalk (run from the module's root): %v\n%s", err, out)
	}
	docroot := filepath.Join(dir, "site")
	if err := os.MkdirAll(docroot, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(docroot, "big.txt"), text(int(sizeMB*1e6)), 0o644); err != nil {
		return err
	}
	trace := exec.Command(bin, "trace", "--quiet", "--docroot", docroot, "--get", "/big.txt")
	trace.Dir = dir
	if out, err := trace.CombinedOutput(); err != nil {
		return fmt.Errorf("packetwalk trace: %v\n%s", err, out)
	}
	frames, events, err := count(filepath.Join(dir, "trace.jsonl"))
	if err != nil {
		return err
	}
	page := filepath.Join(dir, "trace.html")
	st, err := os.Stat(page)
	if err != nil {
		return err
	}
	fmt.Printf("trace: %d frames, %d events (a %.1f MB file fetched)\n", frames, events, sizeMB)
	if frames < 10_000 {
		fmt.Printf("note: fewer than the 10,000 frames of the target; raise --size-mb\n")
	}
	fmt.Printf("trace.html: %d bytes (%.2f MB)\n", st.Size(), float64(st.Size())/1e6)

	var times, cpus []float64
	for i := 0; i < rounds; i++ {
		load, _ := os.ReadFile("/proc/loadavg")
		ms, cpu, arrows, err := open(chromium, page, filepath.Join(dir, fmt.Sprintf("profile%d", i)))
		if err != nil {
			return err
		}
		fmt.Printf("open %d: %.0f ms until drawn, %.0f ms of Chromium's CPU (%d arrows in the document; load average %s)\n",
			i+1, ms, cpu, arrows, strings.Join(strings.Fields(string(load))[:3], " "))
		times = append(times, ms)
		cpus = append(cpus, cpu)
	}
	sort.Float64s(times)
	sort.Float64s(cpus)
	fmt.Printf("median over %d rounds: %.0f ms until drawn, %.0f ms of CPU\n", rounds, times[len(times)/2], cpus[len(cpus)/2])
	return nil
}

// clockTicks is the unit of utime and stime in /proc/PID/stat (USER_HZ,
// 100 on Linux).
const clockTicks = 100

// treeCPU is the CPU time (user and system) used so far by the process
// root and all its descendants (Chromium's renderer, GPU and utility
// processes), in milliseconds. On a shared machine this is steadier than
// the time until drawn, which also counts waiting for a CPU.
func treeCPU(root int) float64 {
	type proc struct {
		ppid  int
		ticks int64
	}
	procs := map[int]proc{}
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		var pid int
		if _, err := fmt.Sscan(e.Name(), &pid); err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// pid (comm) state ppid ... utime stime: fields 4, 14, 15; comm
		// may hold spaces, so count from the last ')'.
		i := bytes.LastIndexByte(b, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(b[i+1:]))
		if len(f) < 13 {
			continue
		}
		var ppid int
		var ut, st int64
		fmt.Sscan(f[1], &ppid)
		fmt.Sscan(f[11], &ut)
		fmt.Sscan(f[12], &st)
		procs[pid] = proc{ppid, ut + st}
	}
	in := func(pid int) bool {
		for n := 0; pid > 1 && n < 64; n++ {
			if pid == root {
				return true
			}
			pid = procs[pid].ppid
		}
		return false
	}
	var ticks int64
	for pid, p := range procs {
		if in(pid) {
			ticks += p.ticks
		}
	}
	return float64(ticks) * 1000 / clockTicks
}

// text is n bytes of English-like words (a web page's compressibility,
// not random bytes), seeded so that every run fetches the same file.
func text(n int) []byte {
	words := strings.Fields("the frame walks through the NIC where the FCS is checked then IP checks its header " +
		"and TCP finds the socket by its four-tuple before the server reads the request and maps it to a file")
	r := rand.New(rand.NewPCG(1, 2))
	var b bytes.Buffer
	b.Grow(n)
	for b.Len() < n {
		b.WriteString(words[r.IntN(len(words))])
		b.WriteByte(' ')
	}
	return b.Bytes()[:n]
}

// count returns the number of distinct frames and of events in a step log.
func count(path string) (frames, events int, err error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	seen := map[uint64]bool{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var e struct {
			Frame uint64 `json:"frame"`
		}
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			return 0, 0, fmt.Errorf("%s: %v", path, err)
		}
		events++
		if e.Frame != 0 {
			seen[e.Frame] = true
		}
	}
	return len(seen), events, sc.Err()
}

// open loads the page in a fresh headless Chromium and returns the page's
// own time, from navigation start, until it was drawn, and the CPU time
// Chromium's processes used meanwhile.
func open(chromiumPath, page, profile string) (ms, cpu float64, arrows int, err error) {
	ctx, stop := chromium.Start(chromiumPath, profile, 120*time.Second)
	defer stop()
	// Start the browser first, so that its start-up is not counted.
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		return 0, 0, 0, fmt.Errorf("chromium: %v", err)
	}
	pid := chromedp.FromContext(ctx).Browser.Process().Pid
	time.Sleep(500 * time.Millisecond) // let start-up work settle
	cpu0 := treeCPU(pid)
	if err := chromedp.Do(ctx, chromedp.Navigate("file://"+page), chromedp.WaitVisible(chromedp.CSS(`body[data-rendered="1"]`))); err != nil {
		return 0, 0, 0, fmt.Errorf("opening the report: %v", err)
	}
	cpu = treeCPU(pid) - cpu0
	if ms, err = chromedp.Run(ctx, chromedp.Evaluate[float64](`window.packetwalk.renderedMs`)); err != nil {
		return 0, 0, 0, err
	}
	if arrows, err = chromedp.Run(ctx, chromedp.Evaluate[int](`window.packetwalk.arrows()`)); err != nil {
		return 0, 0, 0, err
	}
	parts, err := chromedp.Run(ctx, chromedp.Evaluate[string](`JSON.stringify(window.packetwalk.timings)`))
	if err != nil {
		return 0, 0, 0, err
	}
	fmt.Printf("  the page's parts, ms: %s\n", parts)
	return ms, cpu, arrows, nil
}
