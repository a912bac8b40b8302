package text

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/packetwalk/packetwalk/viz"
)

// The PHY model's waveform (package phy), drawn under the receiver's last
// phy step when the narration shows the phy layer alone or among a few
// (--layer phy): one character per baud of the sender's clock, around the
// start-of-frame delimiter, where the preamble's regular pattern breaks.
//
//	line     ‾__‾‾__‾‾__‾‾_‾_‾__‾‾_      the level sent
//	sampled  ‾__‾‾__‾‾__‾‾_‾_‾__‾‾_      the level sampled at the recovered clock
//	tick     45454545454545454545454      where in the baud (tenths) it sampled
//	errors        ^                       ^ wrong level, * sampled twice, . skipped
//	             |SFD 112       |frame 128

// waveWindow is how many baud the drawing shows, and waveBefore how many
// of them come before the SFD.
const (
	waveWindow = 64
	waveBefore = 16
)

// phyWave returns the drawing's lines for a step with a waveform, or nil.
func phyWave(e *viz.Event) []string {
	sent, ok := e.Field("wave")
	if !ok || sent == "" {
		return nil
	}
	ticks, _ := e.Field("ticks")
	got, _ := e.Field("got")
	if len(ticks) != len(sent) || len(got) != len(sent) {
		return nil
	}
	sfd := fieldInt(e, "sfd_baud")
	frame := fieldInt(e, "frame_baud")
	from := max(0, min(sfd-waveBefore, len(sent)-waveWindow))
	to := min(len(sent), from+waveWindow)
	var line, sampled, tick, errs strings.Builder
	for i := from; i < to; i++ {
		line.WriteString(levelGlyph(sent[i]))
		sampled.WriteString(levelGlyph(got[i]))
		tick.WriteByte(ticks[i])
		switch {
		case ticks[i] == '*':
			errs.WriteByte('*')
		case got[i] == '.':
			errs.WriteByte('.')
		case got[i] != sent[i]:
			errs.WriteByte('^')
		default:
			errs.WriteByte(' ')
		}
	}
	ruler := []byte(strings.Repeat(" ", to-from))
	label := func(at int, name string) {
		if at < from || at >= to {
			return
		}
		s := fmt.Sprintf("|%s %d", name, at)
		if len(s) > len(ruler)-(at-from) {
			s = "|" // a label cut short would name the wrong baud
		}
		copy(ruler[at-from:], s)
	}
	label(sfd, "SFD")
	label(frame, "frame")
	pad := indent + "           "
	out := []string{
		fmt.Sprintf("%s%-8s %s", pad, "line", line.String()),
		fmt.Sprintf("%s%-8s %s", pad, "sampled", sampled.String()),
		fmt.Sprintf("%s%-8s %s", pad, "tick", tick.String()),
	}
	if e := strings.TrimRight(errs.String(), " "); e != "" {
		out = append(out, fmt.Sprintf("%s%-8s %s", pad, "errors", e))
	}
	out = append(out, strings.TrimRight(fmt.Sprintf("%s%-8s %s", pad, "baud "+strconv.Itoa(from), string(ruler)), " "))
	return out
}

func levelGlyph(c byte) string {
	switch c {
	case '+':
		return "‾"
	case '-':
		return "_"
	case '0':
		return "-"
	}
	return " "
}

func fieldInt(e *viz.Event, key string) int {
	v, _ := e.Field(key)
	n, _ := strconv.Atoi(v)
	return n
}
