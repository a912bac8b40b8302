package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/packetwalk/packetwalk/labs"
	"github.com/packetwalk/packetwalk/labs/impl"
	"github.com/packetwalk/packetwalk/labs/scenario"
	"github.com/packetwalk/packetwalk/viz"
)

// runLab is `packetwalk lab`: the course labs. The work is in package
// labs (scenario labs) and labs/impl (implementation labs).
func runLab(args []string, stdout, stderr io.Writer) error {
	lab := findCommand("lab")
	if len(args) == 0 {
		// A bare lab says nothing to do: its usage goes where errors go.
		writeHelp(stderr, lab, nil)
		return errUsage
	}
	switch args[0] {
	case "help", "-h", "-help", "--help":
		return runHelp(append([]string{"lab"}, args[1:]...), stdout, stderr)
	}
	sub, rest := args[0], args[1:]
	c := findCommand("lab " + sub)
	if c == nil || strings.Contains(sub, " ") {
		fmt.Fprintf(stderr, "packetwalk lab: unknown command %q; run 'packetwalk help lab' for the list.\n", sub)
		return errUsage
	}
	if len(rest) > 0 && isHelpFlag(rest[0]) {
		// lab run --help: the help needs no lab ID.
		writeHelp(stdout, c, nil)
		return flag.ErrHelp
	}
	if sub == "list" {
		if len(rest) > 0 {
			return fmt.Errorf("list takes no arguments")
		}
		return labList(stdout)
	}
	if len(rest) == 0 || strings.HasPrefix(rest[0], "-") {
		switch sub {
		case "skeleton":
			return fmt.Errorf("skeleton needs an implementation lab's ID and a new directory, e.g. packetwalk lab skeleton impl-fcs-mac mylab (packetwalk lab list shows them)")
		case "test":
			return fmt.Errorf("test needs an implementation lab's ID, e.g. packetwalk lab test impl-fcs-mac --impl mylab (packetwalk lab list shows them)")
		case "serve":
			return fmt.Errorf("serve needs an implementation lab's ID, e.g. packetwalk lab serve impl-fcs-mac --impl mylab (packetwalk lab list shows them)")
		}
		return fmt.Errorf("%s needs a lab ID or a scenario file, e.g. packetwalk lab %s 01-http-life or packetwalk lab %s my-scenario.yaml (packetwalk lab list shows the labs)", sub, sub, sub)
	}
	id, rest := rest[0], rest[1:]
	// --help prints the subcommand's flags whatever the lab's kind.
	wantsHelp := slices.ContainsFunc(rest, func(a string) bool { return a == "-h" || a == "-help" || a == "--help" })
	if _, ok := findImpl(id); ok && !wantsHelp && (sub == "run" || sub == "check") {
		return fmt.Errorf("%s is an implementation lab: packetwalk lab show %s tells what to write, and packetwalk lab test %s --impl DIR grades it", id, id, id)
	}
	if _, ok := findImpl(id); !ok && !wantsHelp && (sub == "skeleton" || sub == "test" || sub == "serve") {
		if l, err := labs.Open(id); err == nil {
			return fmt.Errorf("%s is a scenario lab, without code to write: packetwalk lab run %s runs it and packetwalk lab check %s --answers FILE grades your answers", l.ID, id, id)
		}
	}
	switch sub {
	case "show":
		return labShow(id, rest, stdout, stderr)
	case "run":
		return labRun(id, rest, stdout, stderr)
	case "check":
		return labCheck(id, rest, stdout, stderr)
	case "skeleton":
		if len(rest) != 1 {
			return fmt.Errorf("skeleton needs a lab ID and a new directory: packetwalk lab skeleton %s DIR", id)
		}
		if err := impl.Skeleton(id, rest[0]); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "wrote the skeleton of %s into %s\n", id, rest[0])
		return nil
	case "serve":
		return labServe(id, rest, stdout, stderr)
	case "test":
		var o labTestOpts
		if err := parseFlags(o.flagSet(), rest, stdout, stderr); err != nil {
			return err
		}
		if o.impl == "" {
			return fmt.Errorf("test needs --impl DIR, the directory of your implementation")
		}
		text := stdout
		if o.json {
			text = io.Discard
		}
		rep, err := impl.Grade(context.Background(), id, o.impl, text)
		if err != nil {
			return err
		}
		if o.json {
			if err := writeJSON(stdout, rep); err != nil {
				return err
			}
		}
		if rep.Failed > 0 {
			return exitError{1}
		}
		return nil
	}
	return fmt.Errorf("unknown lab command %q; run 'packetwalk help lab' for the list", sub)
}

func isHelpFlag(s string) bool { return s == "-h" || s == "-help" || s == "--help" }

// The command lines of lab's subcommands.
type (
	labShowOpts struct{ file string }
	labRunOpts  struct {
		out, scenario string
		quiet         bool
	}
	labCheckOpts struct {
		answers, run string
		json         bool
	}
	labTestOpts struct {
		impl string
		json bool
	}
)

func (o *labShowOpts) flagSet() *flag.FlagSet {
	fs := newFlagSet("lab show")
	fs.StringVar(&o.file, "file", "", "print the lab's scenario file `NAME` (e.g. task-nodelay.yaml), to copy and edit")
	return fs
}

func (o *labRunOpts) flagSet() *flag.FlagSet {
	fs := newFlagSet("lab run")
	fs.StringVar(&o.out, "out", "", "the folder (`DIR`) for the traces (default lab-ID)")
	fs.StringVar(&o.scenario, "scenario", "", "run this scenario `FILE` (your edited copy of a task) instead of the lab's own")
	fs.BoolVar(&o.quiet, "quiet", false, "print only the results and the checks")
	return fs
}

func (o *labCheckOpts) flagSet() *flag.FlagSet {
	fs := newFlagSet("lab check")
	fs.StringVar(&o.answers, "answers", "", "your answers `FILE` (YAML, one line per question: q1: 42)")
	fs.StringVar(&o.run, "run", "", "the folder (`DIR`) that lab run wrote (its trace*.jsonl are checked)")
	fs.BoolVar(&o.json, "json", false, "print the grades as JSON (per answer or check: id, passed, points, message; and the summary), for a grade book or a CI")
	return fs
}

func (o *labTestOpts) flagSet() *flag.FlagSet {
	fs := newFlagSet("lab test")
	fs.StringVar(&o.impl, "impl", "", "the folder (`DIR`) of your implementation")
	fs.BoolVar(&o.json, "json", false, "print the grades as JSON (per graded test: id, passed, points, message; and the summary), for a grade book or a CI")
	return fs
}

func labList(stdout io.Writer) error {
	ls, err := labs.List()
	if err != nil {
		return err
	}
	for _, l := range ls {
		fmt.Fprintf(stdout, "%-22s %s\n", l.ID, l.Title)
	}
	for _, l := range impl.Labs() {
		fmt.Fprintf(stdout, "%-22s %s (implementation lab)\n", l.ID, l.Title)
	}
	return nil
}

// findImpl returns the implementation lab with id, if there is one.
func findImpl(id string) (impl.Lab, bool) {
	for _, l := range impl.Labs() {
		if l.ID == id {
			return l, true
		}
	}
	return impl.Lab{}, false
}

func labShow(id string, args []string, stdout, stderr io.Writer) error {
	var o labShowOpts
	if err := parseFlags(o.flagSet(), args, stdout, stderr); err != nil {
		return err
	}
	if l, ok := findImpl(id); ok {
		if o.file != "" {
			return fmt.Errorf("%s is an implementation lab: it has no scenario files (packetwalk lab skeleton %s DIR copies its code)", id, id)
		}
		fmt.Fprint(stdout, l.Handout)
		return nil
	}
	l, err := labs.Open(id)
	if err != nil {
		return err
	}
	if o.file != "" {
		b, err := l.ScenarioFile(o.file)
		if err != nil || strings.HasPrefix(path.Base(o.file), "solution") {
			return fmt.Errorf("lab %s has no scenario file %q", l.ID, o.file)
		}
		stdout.Write(b)
		return nil
	}
	fmt.Fprint(stdout, l.Handout)
	return nil
}

func labRun(id string, args []string, stdout, stderr io.Writer) error {
	var o labRunOpts
	if err := parseFlags(o.flagSet(), args, stdout, stderr); err != nil {
		return err
	}
	l, err := labs.Open(id)
	if err != nil {
		return err
	}
	dir := o.out
	if dir == "" {
		dir = "lab-" + l.ID
		if l.Standalone {
			dir = "lab-" + strings.TrimSuffix(filepath.Base(l.ID), filepath.Ext(l.ID))
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("cannot create %s: %v", dir, errors.Unwrap(err))
	}
	scs := l.Scenarios
	if o.scenario != "" {
		sc, err := scenario.ReadFile(o.scenario)
		if err != nil {
			return err
		}
		scs = []*scenario.Scenario{sc}
	}
	allOK := true
	for _, sc := range scs {
		if !scenario.GVisor && sc.UsesGVisor() {
			// The playground (js/wasm) has no gVisor: say so and run the rest.
			fmt.Fprintf(stdout, "== %s: %s\nskipped: a host of this scenario runs gVisor's netstack, which the playground does not include; run it with packetwalk in a terminal\n", path.Base(sc.File), sc.Title)
			continue
		}
		stem := labs.Stem(sc.File)
		if o.scenario == "" && !l.Standalone && labs.IsTask(sc.File) {
			// A task is the student's to edit: leave a copy to change.
			copyPath := filepath.Join(dir, path.Base(sc.File))
			if _, err := os.Stat(copyPath); err != nil {
				b, _ := l.ScenarioFile(sc.File)
				if err := os.WriteFile(copyPath, b, 0o644); err != nil {
					return fmt.Errorf("cannot write %s: %v", copyPath, errors.Unwrap(err))
				}
				fmt.Fprintf(stdout, "wrote %s: your copy of the task; edit it and run packetwalk lab run %s --scenario %s\n", copyPath, l.ID, copyPath)
			}
		}
		fmt.Fprintf(stdout, "== %s: %s\n", path.Base(sc.File), sc.Title)
		ok, err := runScenarioWithOutputs(sc, stdout, filepath.Join(dir, stem), o.quiet)
		if err != nil {
			return err
		}
		allOK = allOK && ok
	}
	if !allOK {
		fmt.Fprintln(stdout, "some expectations did not hold (FAIL above)")
		return exitError{1}
	}
	return nil
}

// runScenarioWithOutputs runs one scenario, narrating into base.txt and
// writing base.jsonl, base.pcapng and base.html (as `trace` does); the
// result lines and the expectations' outcomes go to stdout too.
func runScenarioWithOutputs(sc *scenario.Scenario, stdout io.Writer, base string, quiet bool) (bool, error) {
	narration, err := os.Create(base + ".txt")
	if err != nil {
		return false, fmt.Errorf("cannot write the narration: %v", errors.Unwrap(err))
	}
	defer narration.Close()
	var o *outputs
	opts := scenario.Options{
		Setup: func(log *viz.Log) error {
			var err error
			if o, err = openViewOutputs(log, narration, nil, false, base+".jsonl", base+".pcapng"); err != nil {
				return err
			}
			return o.addHTML(log, base+".html", "packetwalk lab: "+sc.Title)
		},
		// The results are app steps, narrated with the rest; stdout gets
		// them as a summary.
		Say: func(line string) {
			if !quiet {
				fmt.Fprintln(stdout, line)
			}
		},
	}
	var checks bytes.Buffer
	res, ok, err := labs.RunScenario(context.Background(), sc, opts, &checks)
	stdout.Write(checks.Bytes())
	if o != nil {
		// The checks close the narration too.
		for _, line := range strings.Split(strings.TrimSpace(checks.String()), "\n") {
			if line != "" {
				o.println("%s", line)
			}
		}
		if cerr := o.close(); err == nil && cerr != nil {
			err = cerr
		}
	}
	if err != nil {
		return false, err
	}
	fmt.Fprintf(stdout, "wrote %s.txt (the narration), %s.jsonl, %s.pcapng, %s.html; %d events, virtual time %ss\n",
		base, base, base, base, len(res.Events), viz.FormatSeconds(res.End))
	return ok, nil
}

func labCheck(id string, args []string, stdout, stderr io.Writer) error {
	var o labCheckOpts
	if err := parseFlags(o.flagSet(), args, stdout, stderr); err != nil {
		return err
	}
	l, err := labs.Open(id)
	if err != nil {
		return err
	}
	if o.answers == "" && o.run == "" {
		return fmt.Errorf("give --answers FILE (your answers) and/or --run DIR (the folder of your runs)")
	}
	var results []labs.Result
	var lines []string
	if o.answers != "" {
		a, err := scenario.ReadAnswers(o.answers)
		if err != nil {
			return err
		}
		rs, err := l.AnswerResults(a)
		if err != nil {
			return err
		}
		for _, r := range rs {
			lines = append(lines, r.Line())
		}
		ok, _, _ := labs.Summary(rs)
		lines = append(lines, fmt.Sprintf("%d of %d answers right", ok, len(rs)))
		results = append(results, rs...)
	}
	if o.run != "" {
		rs, notes, err := l.RunResults(o.run)
		if err != nil {
			return err
		}
		lines = append(lines, notes...)
		for _, r := range rs {
			lines = append(lines, r.Line())
		}
		results = append(results, rs...)
	}
	passed, failed, summary := labs.Summary(results)
	if o.json {
		if err := writeJSON(stdout, struct {
			Lab     string        `json:"lab"`
			Results []labs.Result `json:"results"`
			Passed  int           `json:"passed"`
			Failed  int           `json:"failed"`
			Summary string        `json:"summary"`
		}{l.ID, results, passed, failed, summary}); err != nil {
			return err
		}
	} else {
		for _, line := range lines {
			fmt.Fprintln(stdout, line)
		}
		fmt.Fprintln(stdout, summary)
	}
	if failed > 0 {
		return exitError{1}
	}
	return nil
}

// writeJSON prints v as indented JSON, for a machine (a grade book, a CI)
// to read.
func writeJSON(w io.Writer, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}
