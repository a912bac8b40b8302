package labs

import (
	"context"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"

	"github.com/packetwalk/packetwalk/labs/scenario"
)

// CheckAnswers grades a student's answers against the reference, printing
// one line per question (PASS, or FAIL with why and a hint) to out. It
// reports whether every answer was right.
func (l *Lab) CheckAnswers(student *scenario.Answers, out io.Writer) (bool, error) {
	grades, err := scenario.GradeAnswers(l.Questions, l.Solution, student)
	if err != nil {
		return false, err
	}
	ok := 0
	for _, g := range grades {
		if g.Pass {
			ok++
			fmt.Fprintf(out, "PASS %s: %s\n", g.ID, g.Given)
			continue
		}
		fmt.Fprintf(out, "FAIL %s: %s\n", g.ID, g.Detail)
	}
	fmt.Fprintf(out, "%d of %d answers right\n", ok, len(grades))
	return ok == len(grades), nil
}

// CheckRuns re-evaluates the expectations of the lab's scenarios on the
// step logs a student's `lab run` wrote into dir (trace*.jsonl), printing
// one line per expectation. A scenario without its log in dir is reported
// as not run. A task is judged by the student's own run of it.
func (l *Lab) CheckRuns(dir string, out io.Writer) (bool, error) {
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return false, fmt.Errorf("%s is not a folder written by `packetwalk lab run %s`", dir, l.ID)
	}
	all, found := true, 0
	for _, sc := range l.Scenarios {
		log := filepath.Join(dir, Stem(sc.File)+".jsonl")
		if _, err := os.Stat(log); err != nil {
			fmt.Fprintf(out, "SKIP %s: no %s (run `packetwalk lab run %s --out %s`)\n", path.Base(sc.File), log, l.ID, dir)
			continue
		}
		found++
		events, err := scenario.ReadLog(log)
		if err != nil {
			return false, err
		}
		if !report(out, path.Base(sc.File), scenario.Evaluate(sc.Expect, events)) {
			all = false
		}
	}
	if found == 0 {
		return false, fmt.Errorf("%s holds no step log of lab %s; run `packetwalk lab run %s --out %s` first", dir, l.ID, l.ID, dir)
	}
	return all, nil
}

// report prints expectation outcomes; it returns whether all passed.
func report(out io.Writer, file string, outcomes []scenario.Outcome) bool {
	all := true
	for _, o := range outcomes {
		says := o.Expect.Says
		if says == "" {
			says = o.Name()
		}
		if o.Pass {
			fmt.Fprintf(out, "PASS %s: %s\n", file, says)
			continue
		}
		all = false
		fmt.Fprintf(out, "FAIL %s: %s: %s", file, says, o.Detail)
		if o.Expect.Hint != "" {
			fmt.Fprintf(out, "; hint: %s", o.Expect.Hint)
		}
		fmt.Fprintln(out)
	}
	return all
}

// RunScenario runs one scenario with opts and prints its expectations'
// outcomes to out; it reports whether they all held.
func RunScenario(ctx context.Context, sc *scenario.Scenario, opts scenario.Options, out io.Writer) (*scenario.Result, bool, error) {
	res, err := scenario.Run(ctx, sc, opts)
	if err != nil {
		return nil, false, err
	}
	return res, report(out, path.Base(sc.File), res.Outcomes), nil
}
