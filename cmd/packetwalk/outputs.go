package main

import (
	"fmt"
	"io"
	"os"

	"github.com/packetwalk/packetwalk/viz"
	"github.com/packetwalk/packetwalk/viz/pcapng"
	"github.com/packetwalk/packetwalk/viz/text"
)

// outputs are the files and the narration a run writes, attached to its
// step log as sinks.
type outputs struct {
	narrator *text.Narrator
	jsonl    *viz.JSONLSink
	pcap     *pcapng.Writer
	pcapFile *os.File
	paths    []string
}

// openOutputs creates the requested files (an empty path means none) and
// subscribes them to log. quiet suppresses the step narration on stdout.
func openOutputs(log *viz.Log, stdout io.Writer, quiet bool, jsonPath, pcapPath string) (*outputs, error) {
	o := &outputs{}
	o.narrator = text.NewNarrator(stdout, text.Options{Color: isTerminal(stdout)})
	if !quiet {
		log.AddSink(o.narrator)
	}
	if jsonPath != "" {
		f, err := os.Create(jsonPath)
		if err != nil {
			return nil, fmt.Errorf("cannot write the step log: %v", err)
		}
		o.jsonl = viz.NewJSONLSink(f)
		log.AddSink(o.jsonl)
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
		log.AddSink(w)
		o.paths = append(o.paths, pcapPath)
	}
	return o, nil
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
	keep(o.narrator.Flush())
	if o.jsonl != nil {
		keep(o.jsonl.Close())
	}
	if o.pcap != nil {
		keep(o.pcap.Close())
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
