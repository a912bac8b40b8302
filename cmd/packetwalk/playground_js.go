//go:build js

// Built for js/wasm, packetwalk is the playground's engine: the page
// (viz/playground) loads it and runs its command lines, the very code a
// terminal runs, on an in-memory file system that the page provides
// (viz/playground/assets/memfs.js), so that a run in the page writes the
// same step log, capture and report, byte for byte, as `packetwalk trace`
// with the same seed and flags writes to disk.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"path"
	"runtime/debug"
	"strings"
	"syscall/js"
	"time"

	"github.com/packetwalk/packetwalk/httpd"
	"github.com/packetwalk/packetwalk/labs"
	"github.com/packetwalk/packetwalk/stack"
)

// playgroundCommands are the commands a page may run: those that simulate.
// The others need a terminal (type-o-serve reads one), a device or the
// kernel's sockets (serve), or files of the reader's own (drill, lab test).
var playgroundCommands = map[string]bool{
	"trace": true, "ping": true, "lab": true, "help": true, "version": true,
}

// main publishes globalThis.packetwalk to the page and waits for calls:
//
//	packetwalk.run(["trace", "--seed", "3"]) -> Promise<{code, stdout, stderr, ms}>
//	packetwalk.labs() -> JSON of the scenario labs, their handouts and questions
//
// then calls globalThis.packetwalkReady, if the page set it.
func main() {
	pw := js.Global().Get("Object").New()
	pw.Set("run", js.FuncOf(jsRun))
	pw.Set("labs", js.FuncOf(func(js.Value, []js.Value) any { return labsJSON() }))
	js.Global().Set("packetwalk", pw)
	if ready := js.Global().Get("packetwalkReady"); ready.Type() == js.TypeFunction {
		ready.Invoke()
	}
	select {}
}

// jsRun runs one command line on a goroutine of its own (a JavaScript
// caller must not block: the simulation's goroutines and the file
// system's callbacks need the page's event loop) and returns a Promise of
// its outcome.
func jsRun(_ js.Value, args []js.Value) any {
	var argv []string
	if len(args) > 0 && args[0].Type() == js.TypeObject {
		for i := 0; i < args[0].Length(); i++ {
			argv = append(argv, args[0].Index(i).String())
		}
	}
	var executor js.Func
	executor = js.FuncOf(func(_ js.Value, p []js.Value) any {
		resolve := p[0]
		go func() {
			defer executor.Release()
			var stdout, stderr bytes.Buffer
			start := time.Now()
			code := runInPage(argv, &stdout, &stderr)
			res := js.Global().Get("Object").New()
			res.Set("code", code)
			res.Set("stdout", stdout.String())
			res.Set("stderr", stderr.String())
			res.Set("ms", float64(time.Since(start).Microseconds())/1000)
			resolve.Invoke(res)
		}()
		return nil
	})
	return js.Global().Get("Promise").New(executor)
}

// runInPage is run for the page: only the commands that simulate, and a
// panic becomes a sentence and exit status 3 rather than the end of the
// page's Go program.
func runInPage(argv []string, stdout, stderr io.Writer) (code int) {
	if len(argv) > 0 && strings.TrimSpace(argv[0]) == "" {
		fmt.Fprintln(stderr, "packetwalk: the command is empty; the playground runs trace, ping, lab, help and version.")
		return 2
	}
	if len(argv) > 0 && !playgroundCommands[argv[0]] && !strings.HasPrefix(argv[0], "-") {
		fmt.Fprintf(stderr, "packetwalk %s: not in the playground, which runs trace, ping, lab, help and version; run it with packetwalk in a terminal.\n", argv[0])
		return 2
	}
	if len(argv) > 1 && argv[0] == "lab" {
		switch argv[1] {
		case "skeleton", "test":
			fmt.Fprintf(stderr, "packetwalk lab %s: implementation labs build your Go code, which needs a terminal with Go installed.\n", argv[1])
			return 2
		}
	}
	defer func() {
		if p := recover(); p != nil {
			fmt.Fprintf(stderr, "packetwalk: internal error (please report it): %v\n%s", p, debug.Stack())
			code = 3
		}
	}()
	return run(argv, stdout, stderr)
}

// pageLab is a scenario lab as the page lists it.
type pageLab struct {
	ID        string         `json:"id"`
	Title     string         `json:"title"`
	Handout   string         `json:"handout"`
	Scenarios []string       `json:"scenarios"`
	Questions []pageQuestion `json:"questions"`
}

type pageQuestion struct {
	ID      string   `json:"id"`
	Ask     string   `json:"ask"`
	Type    string   `json:"type"`
	Choices []string `json:"choices,omitempty"`
	Hint    string   `json:"hint,omitempty"`
	// Terminal marks a question about a scenario the page cannot run
	// (a gVisor host's).
	Terminal bool `json:"terminal,omitempty"`
}

// labsJSON lists the scenario labs for the page (the answers stay out:
// `lab check` grades them, as in a terminal).
func labsJSON() string {
	ls, err := labs.List()
	if err != nil {
		b, _ := json.Marshal(map[string]string{"error": err.Error()})
		return string(b)
	}
	out := []pageLab{}
	for _, l := range ls {
		pl := pageLab{ID: l.ID, Title: l.Title, Handout: l.Handout, Scenarios: []string{}, Questions: []pageQuestion{}}
		for _, sc := range l.Scenarios {
			pl.Scenarios = append(pl.Scenarios, path.Base(sc.File))
		}
		for _, sc := range l.Scenarios {
			for _, q := range sc.Questions {
				pl.Questions = append(pl.Questions, pageQuestion{ID: q.ID, Ask: q.Ask, Type: q.Type, Choices: q.Choices, Hint: q.Hint,
					Terminal: sc.UsesGVisor()})
			}
		}
		out = append(out, pl)
	}
	b, _ := json.Marshal(out)
	return string(b)
}

// traceGVisor: gVisor's netstack is not built into the playground, which
// keeps the page smaller and every run in it reproducible.
func traceGVisor(o *traceOpts, paths []string, topo stack.TopologyConfig, site fs.FS, mapCfg httpd.MapConfig, stdout, stderr io.Writer) error {
	return errors.New("--client gvisor: gVisor's netstack is not part of the playground; run it with packetwalk in a terminal")
}

// typeOServeSim needs gVisor's client and a terminal to type into.
func typeOServeSim(ctx context.Context, lf *linkFlags, path string, steps bool, in io.Reader, stdout io.Writer) error {
	return errors.New("--sim: not part of the playground; run it with packetwalk in a terminal")
}

// The playground's own command has nothing to do in the page.
type playgroundOpts struct{ out string }

func (o *playgroundOpts) flagSet() *flag.FlagSet {
	fs := newFlagSet("playground")
	fs.StringVar(&o.out, "out", "playground", "write the playground into this folder (`DIR`)")
	return fs
}

func runPlayground(args []string, stdout, stderr io.Writer) error {
	return errors.New("this is the playground already")
}
