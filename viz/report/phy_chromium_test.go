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

// With --phy, clicking a frame draws its signal for each receiver: the
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
	open := func(name string, page []byte) (svgs, samples, errs int) {
		t.Helper()
		file := filepath.Join(dir, name)
		if err := os.WriteFile(file, page, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := chromedp.Do(ctx, chromedp.Navigate("file://"+file), chromedp.WaitVisible(chromedp.ID("ladderSvg"))); err != nil {
			t.Fatal(err)
		}
		js := `(() => { window.packetwalk.select(2); // the first ARP request, on the wire whatever the noise
			return [document.querySelectorAll("#frame .phywave svg .phy-line").length, document.querySelectorAll("#frame .phywave circle").length, document.querySelectorAll("#frame .phywave circle.phy-err").length]; })()`
		got, err := chromedp.Run(ctx, chromedp.Evaluate[[]int](js))
		if err != nil {
			t.Fatal(err)
		}
		return got[0], got[1], got[2]
	}
	svgs, samples, errs := open("clean.html", build(phy.Config{Code: phy.Manchester}))
	if svgs != 1 || samples < 100 || errs != 0 {
		t.Errorf("clean Manchester: %d waveforms, %d samples, %d errors; want one waveform (one receiver), its samples, no errors", svgs, samples, errs)
	}
	svgs, _, errs = open("noisy.html", build(phy.Config{Code: phy.Manchester, Noise: phy.NoiseForSNR(3)}))
	if svgs != 1 || errs == 0 {
		t.Errorf("SNR 3 dB: %d waveforms, %d samples marked wrong; want errors marked", svgs, errs)
	}
	if svgs, _, _ := open("off.html", build(phy.Config{})); svgs != 0 {
		t.Errorf("without --phy: %d waveforms", svgs)
	}
	if msgs := console.Take(); len(msgs) > 0 {
		t.Errorf("console: %v", msgs)
	}
}
