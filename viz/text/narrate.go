// Package text narrates the step log in a terminal: one line per step,
// aligned in columns, with drops marked (and coloured on a terminal), so a
// reader can follow each frame's walk layer by layer.
package text

import (
	"bufio"
	"fmt"
	"io"
	"strings"

	"github.com/packetwalk/packetwalk/viz"
)

// Options select what the narrator prints.
type Options struct {
	Color     bool // ANSI colours, for a terminal
	DropsOnly bool // only drops
	Hosts     []string
	Layers    []viz.Layer
}

// Narrator is a viz.Sink that prints each step as it is logged.
type Narrator struct {
	w         *bufio.Writer
	opts      Options
	lastFrame uint64
	err       error
}

// NewNarrator returns a narrator writing to w.
func NewNarrator(w io.Writer, opts Options) *Narrator {
	return &Narrator{w: bufio.NewWriter(w), opts: opts}
}

const (
	red   = "\x1b[31m"
	green = "\x1b[32m"
	cyan  = "\x1b[36m"
	dim   = "\x1b[2m"
	reset = "\x1b[0m"
)

// Event implements viz.Sink.
func (n *Narrator) Event(e *viz.Event) {
	if n.err != nil || !n.wanted(e) {
		return
	}
	if e.Frame != 0 && e.Frame != n.lastFrame {
		n.lastFrame = e.Frame
	}
	verdict := string(e.Verdict)
	if e.Verdict == viz.Drop {
		verdict = "DROP " + string(e.Reason)
	}
	frame := "     "
	if e.Frame != 0 {
		frame = fmt.Sprintf("#%-4d", e.Frame)
	}
	line := fmt.Sprintf("%11.6f %-8s %s %-6s %-12s %-9s %s", e.T.Seconds(), e.Host, frame, e.Layer, e.Step, verdict, e.Msg)
	if e.Msg == "" && len(e.Fields) > 0 {
		var parts []string
		for _, f := range e.Fields {
			parts = append(parts, f.Key+"="+f.Value)
		}
		line += strings.Join(parts, " ")
	}
	line = strings.TrimRight(line, " ")
	if n.opts.Color {
		switch e.Verdict {
		case viz.Drop:
			line = red + line + reset
		case viz.Deliver:
			line = green + line + reset
		case viz.Send:
			line = cyan + line + reset
		case viz.Note:
			line = dim + line + reset
		}
	}
	_, n.err = fmt.Fprintln(n.w, line)
}

func (n *Narrator) wanted(e *viz.Event) bool {
	if n.opts.DropsOnly && e.Verdict != viz.Drop {
		return false
	}
	if len(n.opts.Hosts) > 0 && !contains(n.opts.Hosts, e.Host) {
		return false
	}
	if len(n.opts.Layers) > 0 {
		ok := false
		for _, l := range n.opts.Layers {
			ok = ok || l == e.Layer
		}
		if !ok {
			return false
		}
	}
	return true
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// Println writes a line of the application's own (a ping reply, a
// summary) into the narration, in order with the steps.
func (n *Narrator) Println(s string) {
	if n.err == nil {
		_, n.err = fmt.Fprintln(n.w, s)
	}
}

// Flush writes out what is buffered and reports the first error.
func (n *Narrator) Flush() error {
	if n.err != nil {
		return n.err
	}
	return n.w.Flush()
}
