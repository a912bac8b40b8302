package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path"
	"strings"

	"github.com/packetwalk/packetwalk/labs"
	"github.com/packetwalk/packetwalk/labs/scenario"
	"github.com/packetwalk/packetwalk/viz"
)

// loadScenario finds what `trace --scenario` names: a scenario file, a
// lab's ID (its first scenario), or ID/FILE (one of the lab's scenarios).
func loadScenario(name string) (*scenario.Scenario, error) {
	if st, err := os.Stat(name); err == nil && !st.IsDir() {
		return scenario.ReadFile(name)
	}
	id, file, _ := strings.Cut(name, "/")
	l, err := labs.Get(id)
	if err != nil {
		return nil, fmt.Errorf("--scenario %s: neither a file nor a lab (packetwalk lab list shows the labs)", name)
	}
	if file == "" {
		return l.Scenarios[0], nil
	}
	if sc := l.FindScenario(file); sc != nil {
		return sc, nil
	}
	var names []string
	for _, sc := range l.Scenarios {
		names = append(names, path.Base(sc.File))
	}
	return nil, fmt.Errorf("--scenario %s: lab %s has no %s (it has %s)", name, l.ID, file, strings.Join(names, ", "))
}

// traceScenario is `trace --scenario`: the scenario's run with trace's
// outputs (narration, --json, --pcap, --html, the ladder); it fails when an
// expectation of the scenario does not hold.
func traceScenario(name string, view *viewFlags, quiet bool, jsonPath, pcapPath, htmlPath string, stdout io.Writer) error {
	sc, err := loadScenario(name)
	if err != nil {
		return err
	}
	var o *outputs
	opts := scenario.Options{
		Setup: func(log *viz.Log) error {
			var err error
			if o, err = openViewOutputs(log, stdout, view, quiet, jsonPath, pcapPath); err != nil {
				return err
			}
			return o.addHTML(log, htmlPath, "packetwalk trace: "+sc.Title)
		},
		// The results are app steps: the narration shows them, unless
		// --quiet leaves only the results.
		Say: func(line string) {
			if o != nil && quiet {
				o.println("%s", line)
			}
		},
	}
	res, err := scenario.Run(context.Background(), sc, opts)
	if o == nil {
		return err
	}
	if err == nil {
		o.println("")
		o.println("== %s (seed %d): %d events, virtual time %ss", path.Base(sc.File), sc.Seed, len(res.Events), viz.FormatSeconds(res.End))
		for _, x := range res.Outcomes {
			verdict := "PASS"
			if !x.Pass {
				verdict = "FAIL"
			}
			says := x.Expect.Says
			if says == "" {
				says = x.Name()
			}
			if x.Pass {
				o.println("%s %s", verdict, says)
			} else {
				o.println("%s %s: %s", verdict, says, x.Detail)
			}
		}
	}
	if cerr := o.close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	for _, p := range o.paths {
		fmt.Fprintf(stdout, "wrote %s\n", p)
	}
	if err := view.unmatched(); err != nil {
		return err
	}
	if len(res.Failed()) > 0 {
		return exitError{1}
	}
	return nil
}
