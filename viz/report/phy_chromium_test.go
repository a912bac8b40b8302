package report_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/packetwalk/packetwalk/internal/chromium"
	"github.com/packetwalk/packetwalk/internal/testenv"
	"github.com/packetwalk/packetwalk/phy"
	"github.com/packetwalk/packetwalk/stack"
	"github.com/packetwalk/packetwalk/viz/report"
	"github.com/packetwalk/packetwalk/wire"
)

// With --phy, clicking a frame's arrow draws its signal for each receiver: the
// sender's clock, the waveform, the recovered clock's ticks and the
// sampled levels, the noisy ones red. Without --phy there is no signal.
func TestReportPHYWaveInChromium(t *testing.T) {
	chromiumPath := testenv.Tool(t, "chromium", "install it with: apt-get install chromium")
	build := func(pc phy.Config) []byte {
		p, err := stack.NewPair(stack.TopologyConfig{Seed: 3, Wire: wire.Config{PHY: pc}})
		if err != nil {
			t.Fatal(err)
		}
		registerPair(p)
		var page bytes.Buffer
		rw := report.New(&page, report.Options{Title: "phy", Topology: p.Net.Log.Topology})
		p.Net.Log.AddSink(rw)
		p.Client.Ping(stack.PingConfig{Dst: p.Server.Addr(), Count: 2, Interval: 10 * time.Millisecond, Wait: 500 * time.Millisecond}, nil, func(stack.PingStats) {})
		p.Net.Run()
		if err := rw.Close(); err != nil {
			t.Fatal(err)
		}
		return page.Bytes()
	}
	dir := t.TempDir()
	ctx, stop := chromium.Start(chromiumPath, filepath.Join(dir, "profile"), 60*time.Second)
	defer stop()
	console := chromium.WatchConsole(ctx)
	// open loads a page, clicks frame 2's arrow in the ladder (the first
	// ARP request, on the wire whatever the noise) and counts what the
	// frame's detail draws: waveforms, the sender's clock ticks, the
	// recovered clock's ticks, the sampled levels and those sampled wrong.
	open := func(name string, page []byte) (svgs, clock, ticks, samples, errs int) {
		t.Helper()
		file := filepath.Join(dir, name)
		if err := os.WriteFile(file, page, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := chromedp.Do(ctx, chromedp.Navigate("file://"+file), chromedp.WaitVisible(chromedp.ID("ladderSvg")),
			chromedp.ScrollIntoView(chromedp.ID("ar2")), chromedp.Click(chromedp.CSS("#ar2 line"))); err != nil {
			t.Fatal(err)
		}
		js := `(() => { const q = (s) => document.querySelectorAll("#frame .phywave " + s).length;
			const clk = document.querySelector("#frame .phywave path.phy-clock");
			return [q("svg .phy-line"), clk ? (clk.getAttribute("d").match(/M/g) || []).length : 0, q("path.phy-tick"), q("circle"), q("circle.phy-err")]; })()`
		got, err := chromedp.Run(ctx, chromedp.Evaluate[[]int](js))
		if err != nil {
			t.Fatal(err)
		}
		return got[0], got[1], got[2], got[3], got[4]
	}
	svgs, clock, ticks, samples, errs := open("clean.html", build(phy.Config{Code: phy.Manchester}))
	if svgs != 1 || clock < 100 || ticks < 100 || samples != ticks || errs != 0 {
		t.Errorf("clean Manchester: %d waveforms, %d sender clock ticks, %d recovered clock ticks, %d samples, %d errors; want one waveform (one receiver), both clocks, a sample per recovered tick, no errors", svgs, clock, ticks, samples, errs)
	}
	t.Logf("clean: %d sender clock ticks, %d recovered clock ticks and samples", clock, ticks)
	svgs, _, _, _, errs = open("noisy.html", build(phy.Config{Code: phy.Manchester, Noise: phy.NoiseForSNR(3)}))
	if svgs != 1 || errs == 0 {
		t.Errorf("SNR 3 dB: %d waveforms, %d samples marked wrong; want errors marked", svgs, errs)
	}
	t.Logf("SNR 3 dB: %d samples marked wrong", errs)
	if svgs, _, _, _, _ := open("off.html", build(phy.Config{})); svgs != 0 {
		t.Errorf("without --phy: %d waveforms", svgs)
	}
	if msgs := console.Take(); len(msgs) > 0 {
		t.Errorf("console: %v", msgs)
	}
}
