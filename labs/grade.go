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

// Result is one graded item, as `lab check --json` prints it: an answer
// to a question, or a check (an expectation) on a student's run.
type Result struct {
	ID      string `json:"id"`   // the question's id, or "FILE: the check's name"
	Kind    string `json:"kind"` // "answer" or "check"
	Passed  bool   `json:"passed"`
	Points  int    `json:"points"`            // 1 for a pass, 0 for a failure
	Given   string `json:"given,omitempty"`   // the student's answer
	Message string `json:"message,omitempty"` // why it failed, with the hint
	line    string // the plain output's line
}

// Summary counts results: "N passed, N failed", the last line of `lab
// check` and the summary of its JSON.
func Summary(rs []Result) (passed, failed int, line string) {
	for _, r := range rs {
		if r.Passed {
			passed++
		} else {
			failed++
		}
	}
	return passed, failed, fmt.Sprintf("%d passed, %d failed", passed, failed)
}

// Line is the result's line in the plain output.
func (r Result) Line() string { return r.line }

// AnswerResults grades a student's answers against the reference (for a
// standalone scenario, the answers written inline in it), question by
// question.
func (l *Lab) AnswerResults(student *scenario.Answers) ([]Result, error) {
	if l.Standalone {
		for _, q := range l.Questions {
			if _, ok := l.Solution.Values[q.ID]; !ok {
				return nil, &scenario.Error{File: l.ID, Line: q.Line,
					Msg: fmt.Sprintf("question %s has no answer: (a standalone scenario keeps its reference answers inline)", q.ID)}
			}
		}
	}
	grades, err := scenario.GradeAnswers(l.Questions, l.Solution, student)
	if err != nil {
		return nil, err
	}
	var rs []Result
	for _, g := range grades {
		r := Result{ID: g.ID, Kind: "answer", Passed: g.Pass, Given: g.Given}
		if g.Pass {
			r.Points = 1
			r.line = fmt.Sprintf("PASS %s: %s", g.ID, g.Given)
		} else {
			r.Message = g.Detail
			r.line = fmt.Sprintf("FAIL %s: %s", g.ID, g.Detail)
		}
		rs = append(rs, r)
	}
	return rs, nil
}

// CheckAnswers grades a student's answers against the reference, printing
// one line per question (PASS, or FAIL with why and a hint) to out. It
// reports whether every answer was right.
func (l *Lab) CheckAnswers(student *scenario.Answers, out io.Writer) (bool, error) {
	rs, err := l.AnswerResults(student)
	if err != nil {
		return false, err
	}
	for _, r := range rs {
		fmt.Fprintln(out, r.line)
	}
	ok, _, _ := Summary(rs)
	fmt.Fprintf(out, "%d of %d answers right\n", ok, len(rs))
	return ok == len(rs), nil
}

// RunResults re-evaluates the expectations of the lab's scenarios on the
// step logs a student's `lab run` wrote into dir (trace*.jsonl). A
// scenario without its log in dir is not graded; notes say which. A task
// is judged by the student's own run of it.
func (l *Lab) RunResults(dir string) (rs []Result, notes []string, err error) {
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return nil, nil, fmt.Errorf("%s is not a folder written by `packetwalk lab run %s`", dir, l.ID)
	}
	found := 0
	for _, sc := range l.Scenarios {
		log := filepath.Join(dir, Stem(sc.File)+".jsonl")
		if _, err := os.Stat(log); err != nil {
			notes = append(notes, fmt.Sprintf("SKIP %s: no %s (run `packetwalk lab run %s --out %s`)", path.Base(sc.File), log, l.ID, dir))
			continue
		}
		found++
		events, err := scenario.ReadLog(log)
		if err != nil {
			return nil, nil, err
		}
		rs = append(rs, outcomeResults(path.Base(sc.File), scenario.Evaluate(sc.Expect, events))...)
	}
	if found == 0 {
		return nil, nil, fmt.Errorf("%s holds no step log of lab %s; run `packetwalk lab run %s --out %s` first", dir, l.ID, l.ID, dir)
	}
	return rs, notes, nil
}

// CheckRuns is RunResults printed, one line per expectation; it reports
// whether all held.
func (l *Lab) CheckRuns(dir string, out io.Writer) (bool, error) {
	rs, notes, err := l.RunResults(dir)
	if err != nil {
		return false, err
	}
	for _, n := range notes {
		fmt.Fprintln(out, n)
	}
	for _, r := range rs {
		fmt.Fprintln(out, r.line)
	}
	_, failed, _ := Summary(rs)
	return failed == 0, nil
}

// outcomeResults turns expectation outcomes into results.
func outcomeResults(file string, outcomes []scenario.Outcome) []Result {
	var rs []Result
	for _, o := range outcomes {
		says := o.Expect.Says
		if says == "" {
			says = o.Name()
		}
		r := Result{ID: file + ": " + o.Name(), Kind: "check", Passed: o.Pass}
		if o.Pass {
			r.Points = 1
			r.line = fmt.Sprintf("PASS %s: %s", file, says)
		} else {
			r.Message = says + ": " + o.Detail
			if o.Expect.Hint != "" {
				r.Message += "; hint: " + o.Expect.Hint
			}
			r.line = fmt.Sprintf("FAIL %s: %s", file, r.Message)
		}
		rs = append(rs, r)
	}
	return rs
}

// report prints expectation outcomes; it returns whether all passed.
func report(out io.Writer, file string, outcomes []scenario.Outcome) bool {
	all := true
	for _, r := range outcomeResults(file, outcomes) {
		fmt.Fprintln(out, r.line)
		all = all && r.Passed
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
