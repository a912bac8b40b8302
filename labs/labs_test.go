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
		// A student has the book, not the project's seed notes: the
		// handout cites the chapter and section by title.
		if strings.Contains(l.Handout, "seeds/") || !bookCitation.MatchString(l.Handout) {
			t.Errorf("%s: the handout cites no book chapter and section by title (or names a seed file)", l.ID)
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

// bookCitation is a chapter and section of one of the course's books.
var bookCitation = regexp.MustCompile(`"(How Network Works|HTTP: The Definitive Guide)"[^.]*ch\. \d+[^.]*sections? \d+\.\d+`)

// TestHandoutsComplete: every question as `lab show` prints it, and every
// hint as `lab check` prints it, holds the whole text written in the
// scenario file. YAML ends a plain value at " #" (a comment), which once cut
// lab 01's questions mid-sentence; the source is read here line by line,
// independently of the YAML parser, so such a cut shows as words missing.
func TestHandoutsComplete(t *testing.T) {
	ls, err := List()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range ls {
		for _, sc := range l.Scenarios {
			src, err := l.ScenarioFile(sc.File)
			if err != nil {
				t.Fatal(err)
			}
			texts := sourceTexts(t, src)
			for _, q := range sc.Questions {
				ask, hint := texts[q.ID+".ask"], texts[q.ID+".hint"]
				if ask == "" {
					t.Errorf("%s: question %s: no ask: found in the source", sc.File, q.ID)
					continue
				}
				if line := "**" + q.ID + "** "; !strings.Contains(flatten(l.Handout), flatten(ask)) {
					t.Errorf("%s: lab show prints question %s cut:\n  source: %s\n  shown:  %s", sc.File, q.ID, ask, handoutLine(l.Handout, line))
				}
				if hint == "" {
					continue
				}
				wrong := &scenario.Answers{File: "wrong.yaml", Values: map[string]scenario.AnswerValue{
					q.ID: {Values: []string{wrongAnswer(q, l.Solution.Values[q.ID])}}}}
				var out bytes.Buffer
				l.CheckAnswers(wrong, &out)
				if !strings.Contains(flatten(out.String()), flatten(hint)) {
					t.Errorf("%s: lab check prints the hint of %s cut:\n  source: %s\n  printed: %s", sc.File, q.ID, hint, q.Hint)
				}
			}
		}
	}
}

// sourceTexts returns the text of each question's ask: and hint: keys as
// written in the file, keyed "id.ask": from the key to the line before the
// next key, quotes and YAML's block indicators removed.
func sourceTexts(t *testing.T, src []byte) map[string]string {
	lines := strings.Split(string(src), "\n")
	key := regexp.MustCompile(`^(\s*)(- )?([a-z_]+):(\s|$)`)
	texts := map[string]string{}
	id, inQuestions := "", false
	for i := 0; i < len(lines); i++ {
		m := key.FindStringSubmatch(lines[i])
		if m == nil {
			continue
		}
		if m[1] == "" && m[2] == "" {
			inQuestions = m[3] == "questions"
			continue
		}
		if !inQuestions {
			continue
		}
		rest := strings.TrimSpace(lines[i][len(m[0]):])
		switch m[3] {
		case "id":
			id = rest
		case "ask", "hint":
			text := []string{rest}
			for j := i + 1; j < len(lines) && !key.MatchString(lines[j]); j++ {
				text = append(text, strings.TrimSpace(lines[j]))
			}
			texts[id+"."+m[3]] = strings.Join(text, " ")
		}
	}
	return texts
}

// flatten makes a text comparable with its source: quotes and block
// indicators dropped, ” read as ', spaces collapsed.
func flatten(s string) string {
	s = strings.ReplaceAll(s, "''", "'")
	s = strings.NewReplacer(`\"`, "", `"`, "", "'", "", ">-", "", "|-", "").Replace(s)
	return strings.Join(strings.Fields(s), " ")
}

func handoutLine(handout, prefix string) string {
	for _, line := range strings.Split(handout, "\n") {
		if strings.Contains(line, strings.TrimSpace(prefix)) {
			return line
		}
	}
	return "(not shown)"
}
