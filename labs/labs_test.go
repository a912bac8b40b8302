package labs

import (
	"bytes"
	"context"
	"fmt"
	"path"
	"regexp"
	"strings"
	"testing"

	"github.com/packetwalk/packetwalk/labs/scenario"
	"github.com/packetwalk/packetwalk/viz"
)

// runOne runs a scenario and returns its result, failing the test on an
// error; log, if not nil, receives the step log as JSON Lines.
func runOne(t *testing.T, sc *scenario.Scenario, log *bytes.Buffer) *scenario.Result {
	t.Helper()
	res, err := scenario.Run(context.Background(), sc, scenario.Options{})
	if err != nil {
		t.Fatalf("%s: %v", sc.File, err)
	}
	if res.Unfinished > 0 {
		t.Errorf("%s: %d traffic item(s) did not finish", sc.File, res.Unfinished)
	}
	if log != nil {
		var line []byte
		for i := range res.Events {
			line = append(viz.AppendJSON(line[:0], &res.Events[i]), '\n')
			log.Write(line)
		}
	}
	return res
}

// TestLabsList: every embedded lab loads, in order, with a title, a
// handout that shows the questions but not the solution, and a reference
// answer for every question.
func TestLabsList(t *testing.T) {
	ls, err := List()
	if err != nil {
		t.Fatal(err)
	}
	if len(ls) < 13 {
		t.Fatalf("%d scenario labs, want 13", len(ls))
	}
	for i, l := range ls {
		if want := fmt.Sprintf("%02d-", i+1); !strings.HasPrefix(l.ID, want) {
			t.Errorf("lab %d is %s, want its ID to start with %s", i+1, l.ID, want)
		}
		if l.Title == "" || len(l.Questions) < 3 {
			t.Errorf("%s: title %q and %d questions; want a title and at least 3 questions", l.ID, l.Title, len(l.Questions))
		}
		if !strings.Contains(l.Handout, "seeds/") {
			t.Errorf("%s: the handout cites no seed chapter", l.ID)
		}
		for _, q := range l.Questions {
			if !strings.Contains(l.Handout, q.Ask) {
				t.Errorf("%s: the handout lacks question %s", l.ID, q.ID)
			}
			k, ok := l.Solution.Values[q.ID]
			if !ok {
				t.Errorf("%s: question %s has no reference answer", l.ID, q.ID)
				continue
			}
			// The solution must not leak into the handout.
			if q.Type != "choice" && len(k.Values[0]) > 3 && strings.Contains(l.Handout, "**"+q.ID+"**") &&
				strings.Contains(l.Handout, q.ID+": "+k.Values[0]) {
				t.Errorf("%s: the handout shows the answer of %s", l.ID, q.ID)
			}
		}
		if strings.Contains(l.Handout, "solution.yaml") {
			t.Errorf("%s: the handout mentions solution.yaml", l.ID)
		}
	}
	if _, err := Get("1"); err != nil {
		t.Errorf("Get(\"1\"): %v", err)
	}
	if _, err := Get("99-nope"); err == nil {
		t.Error("Get of an unknown lab did not fail")
	}
}

// TestLabsReferenceRuns: every scenario of every lab runs, its
// expectations hold on the reference run (a task's on its solution's run,
// and the untouched task fails them), the reference answers pass the
// check, a wrong answer fails it with the question's hint, and a run
// repeated with the same seed writes the same step log.
func TestLabsReferenceRuns(t *testing.T) {
	ls, err := List()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range ls {
		t.Run(l.ID, func(t *testing.T) {
			for _, sc := range l.Scenarios {
				name := path.Base(sc.File)
				if IsTask(name) {
					res := runOne(t, sc, nil)
					if len(res.Failed()) == 0 {
						t.Errorf("%s: the untouched task already meets its expectations", name)
					}
					sol := l.Solved[name]
					res = runOne(t, sol, nil)
					for _, o := range scenario.Evaluate(sc.Expect, res.Events) {
						if !o.Pass {
							t.Errorf("%s on the solution's run: %s: %s", name, o.Name(), o.Detail)
						}
					}
					continue
				}
				var first, second bytes.Buffer
				res := runOne(t, sc, &first)
				for _, o := range res.Failed() {
					t.Errorf("%s: %s: %s", name, o.Name(), o.Detail)
				}
				if len(sc.Expect) == 0 {
					t.Errorf("%s has no expectations", name)
				}
				// Determinism: the same seed gives the same log (the
				// temporary folder of a site's files aside), unless a
				// gVisor host made the run follow the wall clock.
				if res.Paced {
					continue
				}
				runOne(t, sc, &second)
				a, b := normalizeSite(first.String()), normalizeSite(second.String())
				if a == "" || a != b {
					t.Errorf("%s: two runs with seed %d wrote different step logs (%d and %d bytes)", name, sc.Seed, len(a), len(b))
				}
			}
			var out bytes.Buffer
			ok, err := l.CheckAnswers(l.Solution, &out)
			if err != nil || !ok {
				t.Errorf("the reference answers do not pass: %v\n%s", err, out.String())
			}
			// One wrong answer per question: it fails, with the hint.
			for _, q := range l.Questions {
				wrong := &scenario.Answers{File: "wrong.yaml", Values: map[string]scenario.AnswerValue{}}
				for k, v := range l.Solution.Values {
					wrong.Values[k] = v
				}
				wrong.Values[q.ID] = scenario.AnswerValue{Values: []string{wrongAnswer(q, l.Solution.Values[q.ID])}}
				out.Reset()
				ok, err := l.CheckAnswers(wrong, &out)
				if err != nil || ok {
					t.Errorf("a wrong answer to %s passed (%v):\n%s", q.ID, err, out.String())
					continue
				}
				if !strings.Contains(out.String(), "FAIL "+q.ID+":") || q.Hint != "" && !strings.Contains(out.String(), q.Hint) {
					t.Errorf("the failure of %s does not name it with its hint:\n%s", q.ID, out.String())
				}
			}
		})
	}
}

var siteDir = regexp.MustCompile(`packetwalk-lab-site-[0-9]+`)

func normalizeSite(s string) string { return siteDir.ReplaceAllString(s, "SITE") }

// wrongAnswer returns an answer to q that differs from the key.
func wrongAnswer(q scenario.Question, key scenario.AnswerValue) string {
	switch q.Type {
	case "number":
		return "123456789"
	case "choice":
		for i, c := range q.Choices {
			right := false
			for _, k := range key.Values {
				right = right || strings.EqualFold(k, c) || len(k) == 1 && int(k[0]-'a') == i
			}
			if !right {
				return c
			}
		}
	}
	return "certainly not this"
}
