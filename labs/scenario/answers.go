package scenario

import (
	"fmt"
	"math"
	"os"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"unicode"

	"go.yaml.in/yaml/v3"
)

// AnswerValue is an answer: one value, or a list of accepted alternatives
// (for a text question, ["TIME_WAIT", "time-wait"]).
type AnswerValue struct {
	Values []string
	Line   int
}

func (a *AnswerValue) decodeNode(d *decoder, n *yaml.Node) error {
	a.Line = n.Line
	switch n.Kind {
	case yaml.ScalarNode:
		a.Values = []string{n.Value}
	case yaml.SequenceNode:
		for _, c := range n.Content {
			if c.Kind != yaml.ScalarNode {
				return d.errf(c, "an answer is a value or a list of values")
			}
			a.Values = append(a.Values, c.Value)
		}
	default:
		return d.errf(n, "an answer is a value or a list of values, got %s", kindName(n))
	}
	if len(a.Values) == 0 || strings.TrimSpace(strings.Join(a.Values, "")) == "" {
		return d.errf(n, "the answer is empty")
	}
	return nil
}

func (a AnswerValue) String() string { return strings.Join(a.Values, " | ") }

// Answers are a student's (or the reference) answers: question id to
// value. The file is YAML, one line per question:
//
//	q1: 42
//	q2: b
//	q3: TIME_WAIT
type Answers struct {
	File   string
	Values map[string]AnswerValue
}

// ReadAnswers reads an answers file.
func ReadAnswers(path string) (*Answers, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read the answers %s: %v", path, unwrapPath(err))
	}
	return ParseAnswers(path, data)
}

// ParseAnswers reads answers from data.
func ParseAnswers(file string, data []byte) (*Answers, error) {
	var root yaml.Node
	if err := parseYAML(file, data, &root); err != nil {
		return nil, err
	}
	m := map[string]AnswerValue{}
	d := &decoder{file: file}
	if err := d.decode(&root, reflect.ValueOf(&m).Elem(), "answers"); err != nil {
		return nil, err
	}
	return &Answers{File: file, Values: m}, nil
}

func unwrapPath(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}

func (q *Question) validate(file string) error {
	errf := func(format string, args ...any) error {
		return &Error{File: file, Line: q.Line, Msg: fmt.Sprintf("question %s: ", q.ID) + fmt.Sprintf(format, args...)}
	}
	if q.Ask == "" {
		return errf("ask: is the question's text and is missing")
	}
	switch q.Type {
	case "number":
		if q.Tolerance < 0 {
			return errf("tolerance %v is negative", q.Tolerance)
		}
	case "choice":
		if len(q.Choices) < 2 {
			return errf("a choice question needs at least two choices:")
		}
	case "text":
	default:
		return errf("type %q is not number, choice or text", q.Type)
	}
	if q.Answer != nil {
		if err := q.checkKey(*q.Answer); err != nil {
			return &Error{File: file, Line: q.Answer.Line, Msg: fmt.Sprintf("question %s: %v", q.ID, err)}
		}
	}
	return nil
}

// checkKey checks that a reference answer fits the question.
func (q *Question) checkKey(a AnswerValue) error {
	for _, v := range a.Values {
		switch q.Type {
		case "number":
			if _, err := parseNumber(v); err != nil {
				return fmt.Errorf("the answer %q is not a number", v)
			}
		case "choice":
			if q.choiceIndex(v) < 0 {
				return fmt.Errorf("the answer %q is not one of the choices", v)
			}
		}
	}
	return nil
}

// choiceIndex finds v among the choices: by its text, or by its letter
// (a for the first choice, b for the second ...). -1 if none.
func (q *Question) choiceIndex(v string) int {
	n := normalize(v)
	for i, c := range q.Choices {
		if normalize(c) == n {
			return i
		}
	}
	if len(n) == 1 && n[0] >= 'a' && int(n[0]-'a') < len(q.Choices) {
		return int(n[0] - 'a')
	}
	return -1
}

// Grade is the result of one question.
type Grade struct {
	ID     string
	Ask    string
	Pass   bool
	Given  string // "" when unanswered
	Detail string // why it failed, and the hint
}

// GradeAnswers grades student answers against the key, question by
// question, in the order of qs.
func GradeAnswers(qs []Question, key, student *Answers) ([]Grade, error) {
	var gs []Grade
	for i := range qs {
		q := &qs[i]
		k, ok := key.Values[q.ID]
		if !ok && q.Answer != nil {
			k, ok = *q.Answer, true
		}
		if !ok {
			return nil, fmt.Errorf("question %s has no reference answer", q.ID)
		}
		g := Grade{ID: q.ID, Ask: q.Ask}
		given, answered := student.Values[q.ID]
		switch {
		case !answered:
			g.Detail = "not answered (add a line \"" + q.ID + ": your answer\" to the answers file)"
		default:
			g.Given = given.String()
			g.Pass, g.Detail = q.grade(k, given)
		}
		if !g.Pass && q.Hint != "" {
			g.Detail += "; hint: " + q.Hint
		}
		gs = append(gs, g)
	}
	var extra []string
	for id := range student.Values {
		found := false
		for _, q := range qs {
			found = found || q.ID == id
		}
		if !found {
			extra = append(extra, id)
		}
	}
	if len(extra) > 0 {
		sort.Strings(extra)
		return gs, &Error{File: student.File, Line: student.Values[extra[0]].Line,
			Msg: fmt.Sprintf("there is no question %q (the questions are %s)", extra[0], questionIDs(qs))}
	}
	return gs, nil
}

func questionIDs(qs []Question) string {
	var ids []string
	for _, q := range qs {
		ids = append(ids, q.ID)
	}
	return strings.Join(ids, ", ")
}

// grade compares one answer with the key.
func (q *Question) grade(key, given AnswerValue) (bool, string) {
	g := given.Values[0]
	switch q.Type {
	case "number":
		x, err := parseNumber(g)
		if err != nil {
			return false, fmt.Sprintf("%q is not a number", g)
		}
		for _, k := range key.Values {
			want, _ := parseNumber(k)
			if math.Abs(x-want) <= q.Tolerance+1e-9 {
				return true, ""
			}
		}
		return false, fmt.Sprintf("%s is not right", g)
	case "choice":
		i := q.choiceIndex(g)
		if i < 0 {
			return false, fmt.Sprintf("%q is not one of the choices (answer with a letter a-%c or the choice's text)", g, 'a'+len(q.Choices)-1)
		}
		for _, k := range key.Values {
			if q.choiceIndex(k) == i {
				return true, ""
			}
		}
		return false, fmt.Sprintf("(%c) %s is not right", 'a'+i, q.Choices[i])
	default:
		for _, k := range key.Values {
			if normalize(k) == normalize(g) {
				return true, ""
			}
		}
		return false, fmt.Sprintf("%q is not right", g)
	}
}

// parseNumber reads a number, allowing a unit or a percent sign after it
// ("12 ms", "50%") and thousands separators ("1,460").
func parseNumber(s string) (float64, error) {
	s = strings.TrimSpace(strings.ReplaceAll(s, ",", ""))
	end := 0
	for end < len(s) && (s[end] == '-' || s[end] == '+' || s[end] == '.' || s[end] == 'e' || (s[end] >= '0' && s[end] <= '9')) {
		end++
	}
	return strconv.ParseFloat(s[:end], 64)
}

// normalize makes text answers comparable: lower case, words separated by
// one space, punctuation dropped ("TIME_WAIT." = "time-wait" = "time wait").
func normalize(s string) string {
	var b strings.Builder
	space := false
	for _, r := range strings.ToLower(s) {
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r) || r == '+' || r == '/':
			if space && b.Len() > 0 {
				b.WriteByte(' ')
			}
			space = false
			b.WriteRune(r)
		default:
			space = true
		}
	}
	return b.String()
}
