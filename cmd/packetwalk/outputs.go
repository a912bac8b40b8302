package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

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
	pcapHosts   stringList   // --pcap-host: a capture of each of these hosts' NICs
	seen        *filterWatch // what the run's steps were on, when a filter is set
	ladderOut   io.Writer    // where the ladder goes when not with the narration (split)
}

// split returns where a command's narration, summaries and "wrote" lines
// go: standard output, unless the ladder is a Mermaid diagram, which then
// has standard output to itself (so that `> handshake.mmd` makes a file
// Mermaid reads) and the rest goes to standard error.
func (v *viewFlags) split(stdout, stderr io.Writer) io.Writer {
	if v.ladder && strings.EqualFold(v.ladderFmt, "mermaid") {
		v.ladderOut = stdout
		return stderr
	}
	return stdout
}

func (v *viewFlags) register(fs *flag.FlagSet) {
	v.registerFilters(fs)
	fs.BoolVar(&v.ladder, "ladder", false, "print a ladder diagram of the frames after the run")
	fs.IntVar(&v.ladderRows, "ladder-rows", ladder.DefaultMaxRows, "rows of the ladder diagram at most (the rest are counted)")
	fs.Var(newChoice(&v.ladderFmt, "text", "text", "mermaid"), "ladder-format", "the ladder's format: text, or mermaid (a sequenceDiagram for slides)")
	fs.Var(&v.pcapHosts, "pcap-host", "also write what a capture on host `NAME` sees (repeatable): every frame its NICs sent and received, "+
		"to the --pcap file's name with -NAME added (trace-server.pcapng)")
}

// registerFilters registers the narration's filters alone (serve, which
// draws no ladder).
func (v *viewFlags) registerFilters(fs *flag.FlagSet) {
	fs.Var(&v.hosts, "host", "narrate only the steps on the host `NAME` (repeatable), e.g. --host server")
	fs.Var(&v.layers, "layer", "narrate only these `LAYERS` (repeatable or a comma list): phy,nic,arp,ip,icmp,udp,tcp,socket,http,app")
	fs.Uint64Var(&v.conn, "conn", 0, "narrate only socket `N`'s steps and the frames that carried its segments")
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

// checkHosts says, before a run, that a --host names none of the run's
// hosts and wires (names), rather than narrating nothing.
func (v *viewFlags) checkHosts(names []string) error {
	for _, h := range v.hosts {
		if !slices.Contains(names, h) {
			return fmt.Errorf("--host %s: this run has no host or wire of that name (it has %s)", h, strings.Join(names, ", "))
		}
	}
	for _, h := range v.pcapHosts {
		if !slices.Contains(names, h) {
			return fmt.Errorf("--pcap-host %s: this run has no host of that name (it has %s)", h, strings.Join(names, ", "))
		}
	}
	return nil
}

// watch subscribes to log a sink that records the hosts and sockets of the
// run's steps, when --host or --conn is set, for unmatched.
func (v *viewFlags) watch(log *viz.Log) {
	if len(v.hosts) == 0 && v.conn == 0 {
		return
	}
	if v.seen == nil {
		v.seen = &filterWatch{hosts: map[string]bool{}, conns: map[uint64]bool{}}
	}
	log.AddSink(v.seen)
}

// unmatched returns, after a run, the sentence for a --host or --conn that
// matched no step of it (whose narration was therefore empty), or nil.
func (v *viewFlags) unmatched() error {
	w := v.seen
	if w == nil {
		return nil
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, h := range v.hosts {
		if !w.hosts[h] {
			return fmt.Errorf("--host %s: no step of this run was on a host or wire of that name (its steps were on %s)", h, strings.Join(sortedKeys(w.hosts), ", "))
		}
	}
	if v.conn != 0 && !w.conns[v.conn] {
		ids := make([]uint64, 0, len(w.conns))
		for id := range w.conns {
			ids = append(ids, id)
		}
		slices.Sort(ids)
		if len(ids) == 0 {
			return fmt.Errorf("--conn %d: this run opened no socket", v.conn)
		}
		return fmt.Errorf("--conn %d: this run had no socket %d (its sockets were %s)", v.conn, v.conn, idRanges(ids))
	}
	return nil
}

// filterWatch records the hosts (and wires) and the sockets that a run's
// steps were on.
type filterWatch struct {
	mu    sync.Mutex
	hosts map[string]bool
	conns map[uint64]bool
}

func (w *filterWatch) Event(e *viz.Event) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if e.Host != "" {
		w.hosts[e.Host] = true
	}
	if e.Conn != 0 {
		w.conns[e.Conn] = true
	}
}

// idRanges writes sorted IDs compactly: 1-4, 7.
func idRanges(ids []uint64) string {
	var parts []string
	for i := 0; i < len(ids); {
		j := i
		for j+1 < len(ids) && ids[j+1] == ids[j]+1 {
			j++
		}
		if j == i {
			parts = append(parts, fmt.Sprint(ids[i]))
		} else {
			parts = append(parts, fmt.Sprintf("%d-%d", ids[i], ids[j]))
		}
		i = j + 1
	}
	return strings.Join(parts, ", ")
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
		view.watch(log)
		opts.Hosts, opts.Layers, opts.Conn, opts.DropsOnly = view.hosts, view.layerValues, view.conn, view.dropsOnly
		if view.ladder {
			o.ladder = ladder.New(ladder.Options{MaxRows: view.ladderRows})
			o.ladderTo, o.ladderMM = stdout, strings.EqualFold(view.ladderFmt, "mermaid")
			if view.ladderOut != nil {
				o.ladderTo = view.ladderOut
			}
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
		// Each frame once, as a tap on the wire sees it: with every copy
		// a NIC captured (the sender's and the receiver's), Wireshark's
		// TCP analysis, which follows a conversation across interfaces,
		// took the second copy for a retransmission.
		w, err := pcapng.New(f, pcapng.Options{View: pcapng.ViewWire, Topology: log.Topology,
			Comment: "packetwalk simulation: each frame once, as it arrived at the wire's far end (a frame lost on the wire is not in the file); " +
				"its comments are the walks of the hosts that handled it: the sender's, the wire's, the receiver's"})
		if err != nil {
			f.Close()
			o.close()
			return nil, fmt.Errorf("cannot write the capture: %v", err)
		}
		o.pcap, o.pcapFile = w, f
		o.files = append(o.files, w)
		o.paths = append(o.paths, pcapPath)
	}
	if view != nil {
		for _, h := range view.pcapHosts {
			path := hostCapturePath(pcapPath, h)
			f, err := os.Create(path)
			if err != nil {
				o.close()
				return nil, fmt.Errorf("cannot write the capture of host %s: %v", h, err)
			}
			// One file per host rather than one interface per host in
			// one file: Wireshark's TCP analysis follows a conversation
			// across the interfaces of a file, so two hosts' copies of
			// one segment in one file read as a retransmission.
			w, err := pcapng.New(f, pcapng.Options{View: pcapng.ViewNICs, Hosts: []string{h}, Topology: log.Topology,
				Comment: "packetwalk simulation: what a capture on host " + h + " sees, every frame its NICs sent and received; " +
					"each packet's comment is the frame's walk on " + h})
			if err != nil {
				f.Close()
				o.close()
				return nil, fmt.Errorf("cannot write the capture of host %s: %v", h, err)
			}
			o.files = append(o.files, w)
			o.paths = append(o.paths, path)
		}
	}
	o.files = append(o.files, extra...)
	if len(o.files) > 0 {
		o.fileQ = viz.NewAsync(o.files, viz.AsyncOptions{})
		log.AddSink(o.fileQ)
	}
	return o, nil
}

// hostCapturePath is where --pcap-host NAME writes: the --pcap file's name
// with -NAME before its extension (trace.pcapng: trace-NAME.pcapng), or
// NAME.pcapng without --pcap.
func hostCapturePath(pcapPath, host string) string {
	if pcapPath == "" {
		return host + ".pcapng"
	}
	ext := filepath.Ext(pcapPath)
	if ext == "" {
		ext = ".pcapng"
	}
	return strings.TrimSuffix(pcapPath, filepath.Ext(pcapPath)) + "-" + host + ext
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
	o.html = report.New(f, report.Options{Title: title, Topology: log.Topology})
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
		if o.ladderMM {
			keep(o.ladder.WriteMermaid(o.ladderTo))
		} else {
			fmt.Fprintln(o.ladderTo) // a blank line between the narration and the ladder
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
