package scenario

import (
	"os"
	"strings"
	"testing"
)

// TestDocsExample runs the complete example of docs/labs.md, so that the
// teachers' documentation cannot drift from the format.
func TestDocsExample(t *testing.T) {
	b, err := os.ReadFile("../../docs/labs.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(b), "## A complete example\n\n```yaml\n")
	example, _, ok2 := strings.Cut(rest, "```")
	if !ok || !ok2 {
		t.Fatal("docs/labs.md has no complete example in a yaml block")
	}
	sc, err := Parse("docs/labs.md example", []byte(example))
	if err != nil {
		t.Fatal(err)
	}
	runPassing(t, sc)
	key := &Answers{Values: map[string]AnswerValue{}}
	gs, err := GradeAnswers(sc.Questions, key, &Answers{Values: map[string]AnswerValue{
		"q1": {Values: []string{"1"}}, "q2": {Values: []string{"b"}}, "q3": {Values: []string{"301 moved permanently"}}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range gs {
		if !g.Pass {
			t.Errorf("the example's answer to %s: %s", g.ID, g.Detail)
		}
	}
}
