package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/packetwalk/packetwalk/labs"
	"github.com/packetwalk/packetwalk/labs/impl"
	"github.com/packetwalk/packetwalk/labs/scenario"
	"github.com/packetwalk/packetwalk/viz"
)

const labUsage = `packetwalk lab list
packetwalk lab show ID                         the handout (and, for a task, --file NAME prints a scenario file)
packetwalk lab run ID [--out DIR] [--scenario FILE] [--quiet]
                                               run the lab's scenarios; write trace*.jsonl/.pcapng/.html
                                               and the narration (trace*.txt) into DIR (default lab-ID)
packetwalk lab check ID [--answers FILE] [--run DIR]
                                               grade answers and/or the runs in DIR
packetwalk lab skeleton ID DIR                 copy an implementation lab's skeleton into DIR
packetwalk lab test ID --impl DIR              run an implementation lab's graded tests on DIR`

// runLab is `packetwalk lab`: the course labs. The work is in package
// labs (scenario labs) and labs/impl (implementation labs).
func runLab(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "help" || args[0] == "--help" || args[0] == "-h" {
		fmt.Fprintln(stdout, labUsage)
		return nil
	}
	sub, rest := args[0], args[1:]
	if sub == "list" {
		if len(rest) > 0 {
			return fmt.Errorf("list takes no arguments")
		}
		return labList(stdout)
	}
	if len(rest) == 0 || strings.HasPrefix(rest[0], "-") {
		return fmt.Errorf("%s needs a lab ID, e.g. packetwalk lab %s 01-http-life (packetwalk lab list shows them)", sub, sub)
	}
	id, rest := rest[0], rest[1:]
	if _, ok := findImpl(id); ok && (sub == "run" || sub == "check") {
		return fmt.Errorf("%s is an implementation lab: packetwalk lab show %s tells what to write, and packetwalk lab test %s --impl DIR grades it", id, id, id)
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
	case "test":
		fs := newFlagSet("lab test")
		dir := fs.String("impl", "", "the directory of your implementation")
		if err := parseFlags(fs, rest, stdout, stderr); err != nil {
			return err
		}
		if *dir == "" {
			return fmt.Errorf("test needs --impl DIR, the directory of your implementation")
		}
		passed, err := impl.Test(context.Background(), id, *dir, stdout)
		if err != nil {
			return err
		}
		if !passed {
			return exitError{1}
		}
		return nil
	}
	return fmt.Errorf("unknown lab command %q; the commands are list, show, run, check, skeleton and test", sub)
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
	fs := newFlagSet("lab show")
	file := fs.String("file", "", "print this scenario file of the lab (e.g. task-nodelay.yaml), to copy and edit")
	if err := parseFlags(fs, args, stdout, stderr); err != nil {
		return err
	}
	if l, ok := findImpl(id); ok {
		fmt.Fprint(stdout, l.Handout)
		return nil
	}
	l, err := labs.Get(id)
	if err != nil {
		return err
	}
	if *file != "" {
		b, err := l.ScenarioFile(*file)
		if err != nil || strings.HasPrefix(path.Base(*file), "solution") {
			return fmt.Errorf("lab %s has no scenario file %q", l.ID, *file)
		}
		stdout.Write(b)
		return nil
	}
	fmt.Fprint(stdout, l.Handout)
	return nil
}

func labRun(id string, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("lab run")
	out := fs.String("out", "", "the folder for the traces (default lab-ID)")
	file := fs.String("scenario", "", "run this scenario file (your edited copy of a task) instead of the lab's own")
	quiet := fs.Bool("quiet", false, "print only the results and the checks")
	if err := parseFlags(fs, args, stdout, stderr); err != nil {
		return err
	}
	l, err := labs.Get(id)
	if err != nil {
		return err
	}
	dir := *out
	if dir == "" {
		dir = "lab-" + l.ID
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("cannot create %s: %v", dir, errors.Unwrap(err))
	}
	scs := l.Scenarios
	if *file != "" {
		sc, err := scenario.ReadFile(*file)
		if err != nil {
			return err
		}
		scs = []*scenario.Scenario{sc}
	}
	allOK := true
	for _, sc := range scs {
		stem := labs.Stem(sc.File)
		if *file == "" && labs.IsTask(sc.File) {
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
		ok, err := runScenarioWithOutputs(sc, stdout, filepath.Join(dir, stem), *quiet)
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
	fs := newFlagSet("lab check")
	answers := fs.String("answers", "", "your answers file (YAML, one line per question: q1: 42)")
	runDir := fs.String("run", "", "the folder your `lab run` wrote (its trace*.jsonl are checked)")
	if err := parseFlags(fs, args, stdout, stderr); err != nil {
		return err
	}
	l, err := labs.Get(id)
	if err != nil {
		return err
	}
	if *answers == "" && *runDir == "" {
		return fmt.Errorf("give --answers FILE (your answers) and/or --run DIR (the folder of your runs)")
	}
	ok := true
	if *answers != "" {
		a, err := scenario.ReadAnswers(*answers)
		if err != nil {
			return err
		}
		pass, err := l.CheckAnswers(a, stdout)
		if err != nil {
			return err
		}
		ok = ok && pass
	}
	if *runDir != "" {
		pass, err := l.CheckRuns(*runDir, stdout)
		if err != nil {
			return err
		}
		ok = ok && pass
	}
	if !ok {
		return exitError{1}
	}
	return nil
}
