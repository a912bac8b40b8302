package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/packetwalk/packetwalk/viz"
	"github.com/packetwalk/packetwalk/viz/ladder"
	"github.com/packetwalk/packetwalk/viz/pcapng"
	"github.com/packetwalk/packetwalk/viz/report"
	"github.com/packetwalk/packetwalk/viz/text"
)

// outputs are the files and the narration a run writes, attached to its
// step log as sinks.
type outputs struct {
	narrator *text.Narrator
	jsonl    *viz.JSONLSink
	pcap     *pcapng.Writer
	pcapFile *os.File
	// files are the file sinks (jsonl, pcap and any extra), run by
	// fileQ on a goroutine of their own (viz.AsyncSink), so encoding and
	// writing leave the stack's goroutine; one queue for all, so each
	// step is copied once.
	files    viz.Tee
	fileQ    *viz.AsyncSink
	html     *report.Writer
	paths    []string
	ladder   *ladder.Builder
	ladderTo io.Writer
	ladderMM bool
}

// viewFlags are the flags that choose what the narration shows and whether
// a ladder diagram follows the run, shared by trace and ping.
type viewFlags struct {
	hosts       stringList
	layers      stringList
	conn        uint64
	dropsOnly   bool
	ladder      bool
	ladderRows  int
	ladderFmt   string
	layerValues []viz.Layer
}

func (v *viewFlags) register(fs *flag.FlagSet) {
	v.registerFilters(fs)
	fs.BoolVar(&v.ladder, "ladder", false, "print a ladder diagram of the frames after the run")
	fs.IntVar(&v.ladderRows, "ladder-rows", ladder.DefaultMaxRows, "rows of the ladder diagram at most (the rest are counted)")
	fs.StringVar(&v.ladderFmt, "ladder-format", "text", "the ladder's format: text, or mermaid (a sequenceDiagram for slides)")
}

// registerFilters registers the narration's filters alone (serve, which
// draws no ladder).
func (v *viewFlags) registerFilters(fs *flag.FlagSet) {
	fs.Var(&v.hosts, "host", "narrate only the steps on this host (repeatable), e.g. --host server")
	fs.Var(&v.layers, "layer", "narrate only these layers (repeatable or a comma list): phy,nic,arp,ip,icmp,udp,tcp,socket,http,app")
	fs.Uint64Var(&v.conn, "conn", 0, "narrate only socket N's steps and the frames that carried its segments")
	fs.BoolVar(&v.dropsOnly, "drops-only", false, "narrate only the drops, each under its frame's header")
}

// narration is the narrator's options for stdout: colour on a terminal,
// and the filters.
func (v *viewFlags) narration(stdout io.Writer) text.Options {
	return text.Options{Color: isTerminal(stdout), Hosts: v.hosts, Layers: v.layerValues, Conn: v.conn, DropsOnly: v.dropsOnly}
}

// check validates the flags after parsing.
func (v *viewFlags) check() error {
	for _, l := range v.layers {
		ls, err := text.ParseLayers(l)
		if err != nil {
			return fmt.Errorf("--layer: %v", err)
		}
		v.layerValues = append(v.layerValues, ls...)
	}
	if v.ladderFmt == "" {
		return nil // only the filters were registered (serve)
	}
	if v.ladderRows < 1 {
		return fmt.Errorf("--ladder-rows %d: give at least 1", v.ladderRows)
	}
	switch strings.ToLower(v.ladderFmt) {
	case "text", "mermaid":
	default:
		return fmt.Errorf("--ladder-format %q: text or mermaid", v.ladderFmt)
	}
	return nil
}

// openOutputs creates the requested files (an empty path means none) and
// subscribes them to log. quiet suppresses the step narration on stdout.
func openOutputs(log *viz.Log, stdout io.Writer, quiet bool, jsonPath, pcapPath string, extra ...viz.Sink) (*outputs, error) {
	return openViewOutputs(log, stdout, nil, quiet, jsonPath, pcapPath, extra...)
}

// openViewOutputs is openOutputs with the narration's filters and the
// ladder diagram that view asks for (nil: none).
// extra sinks (serve's live capture) share the file sinks' queue and are
// closed with them.
func openViewOutputs(log *viz.Log, stdout io.Writer, view *viewFlags, quiet bool, jsonPath, pcapPath string, extra ...viz.Sink) (*outputs, error) {
	o := &outputs{}
	opts := text.Options{Color: isTerminal(stdout)}
	if view != nil {
		opts.Hosts, opts.Layers, opts.Conn, opts.DropsOnly = view.hosts, view.layerValues, view.conn, view.dropsOnly
		if view.ladder {
			o.ladder = ladder.New(ladder.Options{MaxRows: view.ladderRows})
			o.ladderTo, o.ladderMM = stdout, strings.EqualFold(view.ladderFmt, "mermaid")
			log.AddSink(o.ladder)
		}
	}
	o.narrator = text.NewNarrator(stdout, opts)
	if !quiet {
		log.AddSink(o.narrator)
	}
	if jsonPath != "" {
		f, err := os.Create(jsonPath)
		if err != nil {
			return nil, fmt.Errorf("cannot write the step log: %v", err)
		}
		o.jsonl = viz.NewJSONLSink(f)
		o.files = append(o.files, o.jsonl)
		o.paths = append(o.paths, jsonPath)
	}
	if pcapPath != "" {
		f, err := os.Create(pcapPath)
		if err != nil {
			o.close()
			return nil, fmt.Errorf("cannot write the capture: %v", err)
		}
		w, err := pcapng.New(f, pcapng.Options{Comment: "packetwalk simulation: each packet's comment is its step trail"})
		if err != nil {
			f.Close()
			o.close()
			return nil, fmt.Errorf("cannot write the capture: %v", err)
		}
		o.pcap, o.pcapFile = w, f
		o.files = append(o.files, w)
		o.paths = append(o.paths, pcapPath)
	}
	o.files = append(o.files, extra...)
	if len(o.files) > 0 {
		o.fileQ = viz.NewAsync(o.files, viz.AsyncOptions{})
		log.AddSink(o.fileQ)
	}
	return o, nil
}

// addHTML writes the HTML report to path when the outputs close ("" for
// none).
func (o *outputs) addHTML(log *viz.Log, path, title string) error {
	if path == "" {
		return nil
	}
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("cannot write the HTML report: %v", err)
	}
	o.html = report.New(f, report.Options{Title: title})
	log.AddSink(o.html)
	o.paths = append(o.paths, path)
	return nil
}

// println writes an application line into the narration, in order.
func (o *outputs) println(format string, args ...any) {
	o.narrator.Println(fmt.Sprintf(format, args...))
}

// close flushes and closes everything, returning the first error.
func (o *outputs) close() error {
	var first error
	keep := func(err error) {
		if first == nil && err != nil {
			first = err
		}
	}
	keep(o.narrator.Close())
	if o.ladder != nil {
		fmt.Fprintln(o.ladderTo)
		if o.ladderMM {
			keep(o.ladder.WriteMermaid(o.ladderTo))
		} else {
			keep(o.ladder.WriteText(o.ladderTo))
		}
	}
	if o.fileQ != nil {
		keep(o.fileQ.Close()) // drains the queue, then closes every file sink
	} else {
		keep(o.files.Close())
	}
	if o.html != nil {
		keep(o.html.Close())
	}
	return first
}

// isTerminal reports whether w is a terminal, for colour.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0 && os.Getenv("NO_COLOR") == ""
}
