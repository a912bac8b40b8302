package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/packetwalk/packetwalk/internal/chromium"
	"github.com/packetwalk/packetwalk/internal/testenv"
)

const drillPassive = "../../drill/corpus/handshake/passive-open.pkt"

// TestDrillCommand runs a corpus script through the command: it passes,
// narrates, counts, and writes the same step log and capture twice.
func TestDrillCommand(t *testing.T) {
	dir := t.TempDir()
	var logs, caps [2][]byte
	for i := range 2 {
		js, pc, html := filepath.Join(dir, "d.jsonl"), filepath.Join(dir, "d.pcapng"), filepath.Join(dir, "d.html")
		code, out, errs := runCLI("drill", "--json", js, "--pcap", pc, "--html", html, "--ladder", drillPassive)
		if code != 0 {
			t.Fatalf("exit %d: %s%s", code, out, errs)
		}
		for _, want := range []string{"listen_clone", "ok   " + drillPassive, "1 passed, 0 failed", "SYN_RECEIVED"} {
			if !strings.Contains(out, want) {
				t.Errorf("output lacks %q:\n%s", want, out)
			}
		}
		logs[i], _ = os.ReadFile(js)
		caps[i], _ = os.ReadFile(pc)
		if h, _ := os.ReadFile(html); !bytes.Contains(h, []byte("script line")) {
			t.Errorf("the HTML report does not show the script's lines")
		}
	}
	if len(logs[0]) == 0 || !bytes.Equal(logs[0], logs[1]) || !bytes.Equal(caps[0], caps[1]) {
		t.Errorf("two runs of one script differ (step log %d/%d bytes, capture %d/%d bytes)", len(logs[0]), len(logs[1]), len(caps[0]), len(caps[1]))
	}
}

// TestDrillFailures: a wrong expectation names its line and field and
// exits 1; bad input is one sentence and a non-zero exit.
func TestDrillFailures(t *testing.T) {
	dir := t.TempDir()
	src, err := os.ReadFile(drillPassive)
	if err != nil {
		t.Fatal(err)
	}
	// The same script, expecting the SYN+ACK to acknowledge 2 instead of 1.
	lines := strings.Split(string(src), "\n")
	at := -1
	for i, l := range lines {
		if strings.Contains(l, "> S. 0:0(0) ack 1") {
			lines[i] = strings.Replace(l, "ack 1", "ack 2", 1)
			at = i + 1
			break
		}
	}
	if at < 0 {
		t.Fatalf("%s has no SYN+ACK line to alter", drillPassive)
	}
	wrong := filepath.Join(dir, "wrong.pkt")
	os.WriteFile(wrong, []byte(strings.Join(lines, "\n")), 0o644)
	bad := filepath.Join(dir, "bad.pkt")
	os.WriteFile(bad, []byte("0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n+0 < S 0:0(5) win 100\n"), 0o644)

	code, out, _ := runCLI("drill", "--quiet", wrong, drillPassive)
	want := wrong + ":" + strconv.Itoa(at) + ": outbound segment: expected ack 2, got ack 1"
	if code != 1 || !strings.Contains(out, want) || !strings.HasSuffix(strings.TrimSpace(out), "1 passed, 1 failed") {
		t.Errorf("exit %d, output:\n%s\nwant exit 1 and %q", code, out, want)
	}
	code, out, _ = runCLI("drill", bad)
	if code != 1 || !strings.Contains(out, bad+":2: ") {
		t.Errorf("a malformed script: exit %d, output %q; want exit 1 and %s:2:", code, out, bad)
	}
	code, out, _ = runCLI("drill", filepath.Join(dir, "missing.pkt"))
	if code != 1 || !strings.Contains(out, "no such file") {
		t.Errorf("a missing script: exit %d, output %q", code, out)
	}
	if code, _, errs := runCLI("drill"); code != 2 || !strings.Contains(errs, "give one or more packetdrill scripts") {
		t.Errorf("no script: exit %d, %q", code, errs)
	}
	if code, _, errs := runCLI("drill", "--json", "x.jsonl", drillPassive, drillPassive); code == 0 || !strings.Contains(errs, "one file") {
		t.Errorf("--json with two scripts: exit %d, %q", code, errs)
	}
}

// TestDrillReportInChromium: the HTML report of a failed script names the
// failing line at the top, and the link moves the cursor to the moment it
// failed.
func TestDrillReportInChromium(t *testing.T) {
	chromiumPath := testenv.Tool(t, "chromium", "install it with: apt-get install chromium")
	dir := t.TempDir()
	src, err := os.ReadFile(drillPassive)
	if err != nil {
		t.Fatal(err)
	}
	wrong := filepath.Join(dir, "wrong.pkt")
	os.WriteFile(wrong, []byte(strings.Replace(string(src), "> S. 0:0(0) ack 1", "> S. 0:0(0) ack 2", 1)), 0o644)
	html := filepath.Join(dir, "d.html")
	if code, out, errs := runCLI("drill", "--quiet", "--html", html, wrong); code != 1 {
		t.Fatalf("exit %d, want 1: %s%s", code, out, errs)
	}
	ctx, stop := chromium.Start(chromiumPath, filepath.Join(dir, "profile"), 60*time.Second, chromedp.Flag("disable-quic", true))
	defer stop()
	if err := chromedp.Do(ctx, chromedp.Navigate("file://"+html), chromedp.WaitVisible(chromedp.ID("drillfail"))); err != nil {
		t.Fatal(err)
	}
	banner, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById("drillfail").textContent`))
	if err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.ID("drillfail"))); err != nil {
		t.Fatal(err)
	}
	moved, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`/drill_fail/.test(document.getElementById("current").textContent)`))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(banner, "wrong.pkt:") || !strings.Contains(banner, "expected ack 2, got ack 1") {
		t.Errorf("the report's banner says %q; want the failing line and field", banner)
	}
	if !moved {
		t.Errorf("clicking the banner did not move the cursor to the failure")
	}
}
