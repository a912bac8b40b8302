package text_test

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/packetwalk/packetwalk/viz"
	"github.com/packetwalk/packetwalk/viz/text"
)

// --layer phy draws, under a receiver's last phy step, the signal around
// the SFD: the level sent and sampled per baud ('‾' high, '_' low, '-'
// MLT-3's middle), where in the baud the recovered clock ticked, an errors
// row ('^' sampled wrong, '*' sampled twice, '.' skipped) and a ruler
// naming where the SFD and the frame start. The full narration does not
// draw it.
func TestPHYWaveDrawing(t *testing.T) {
	sent := strings.Repeat("-+", 48) // 96 baud of a square wave
	got := []byte(sent)
	ticks := []byte(strings.Repeat("5", len(sent)))
	got[20] = '+' // noise: baud 20 was sent low, sampled high
	ticks[25] = '*'
	ticks[26], got[26] = '.', '.'
	got[30] = '0'
	event := func(sent, ticks, got string, sfd, frame int) viz.Event {
		return viz.Event{T: 50 * time.Microsecond, Host: "wire0", Layer: viz.LayerPHY, Step: "decode", Verdict: viz.Pass, Frame: 2,
			Msg: "b/eth0 sampled the signal", Fields: []viz.Field{viz.F("to", "b/eth0"), viz.F("wave", sent), viz.F("ticks", ticks),
				viz.F("got", got), viz.F("sfd_baud", strconv.Itoa(sfd)), viz.F("frame_baud", strconv.Itoa(frame)), viz.F("lock_baud", "3")}}
	}
	drawing := func(e viz.Event) []string {
		var rows []string
		for _, l := range strings.Split(narrate(t, []viz.Event{e}, text.Options{Layers: []viz.Layer{viz.LayerPHY}, NoLegend: true}), "\n") {
			if f := strings.Fields(l); len(f) > 0 && (f[0] == "line" || f[0] == "sampled" || f[0] == "tick" || f[0] == "errors" || f[0] == "baud") {
				rows = append(rows, strings.TrimSpace(l))
			}
		}
		return rows
	}
	e := event(sent, string(ticks), string(got), 24, 40)
	// The window is 64 baud from 16 before the SFD: bauds 8 to 71.
	want := []string{
		"line     " + strings.Repeat("_‾", 32),
		"sampled  " + strings.Repeat("_‾", 6) + "‾‾" + strings.Repeat("_‾", 2) + " ‾" + "_‾" + "-‾" + strings.Repeat("_‾", 20),
		"tick     " + strings.Repeat("5", 17) + "*." + strings.Repeat("5", 45),
		"errors               ^    *.   ^",
		"baud 8                   |SFD 24         |frame 40",
	}
	rows := drawing(e)
	if len(rows) != len(want) {
		t.Fatalf("drawing rows:\n%s\nwant:\n%s", strings.Join(rows, "\n"), strings.Join(want, "\n"))
	}
	for i := range want {
		if rows[i] != want[i] {
			t.Errorf("row %d\n got %q\nwant %q", i, rows[i], want[i])
		}
	}
	// A label that does not fit before the drawing ends is a bare mark,
	// not a number cut short ("|frame 4" for baud 40).
	short := drawing(event(sent[:44], string(ticks[:44]), string(got[:44]), 24, 40))
	if ruler := short[len(short)-1]; !strings.HasSuffix(ruler, "|SFD 24         |") {
		t.Errorf("ruler of a 44-baud signal: %q", ruler)
	}
	if full := narrate(t, []viz.Event{e}, text.Options{NoLegend: true}); strings.Contains(full, "|SFD") {
		t.Errorf("the full narration draws the waveform:\n%s", full)
	}
}
