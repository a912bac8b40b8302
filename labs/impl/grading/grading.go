// Package grading holds what the implementation labs' graded tests share:
// running a test so that a panic in the student's code becomes a failure
// with a message, and writing failure messages that say what was sent,
// what was expected, what happened, and the step log around it.
package grading

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"

	"github.com/packetwalk/packetwalk/viz"
)

// Test is one graded test of a lab.
type Test[F any] struct {
	Name string
	Run  func(t *testing.T, newImpl F)
}

// Run runs the graded tests as subtests of t, in order. A panic in one of
// them (usually in the student's code) fails that test with the panic and
// where it happened, and the next test runs.
func Run[F any](t *testing.T, tests []Test[F], newImpl F) {
	for _, gt := range tests {
		t.Run(gt.Name, func(t *testing.T) {
			defer func() {
				if v := recover(); v != nil {
					t.Errorf("your code panicked: %v\n%s", v, panicWhere(debug.Stack()))
				}
			}()
			gt.Run(t, newImpl)
		})
	}
}

// panicWhere keeps the lines of a stack trace that point into the student's
// package (or, if none, the first few frames after the panic).
func panicWhere(stack []byte) string {
	lines := strings.Split(string(stack), "\n")
	var mine []string
	for i := 0; i+1 < len(lines); i++ {
		if strings.Contains(lines[i], "/student.") || strings.Contains(lines[i], "graded/student") {
			mine = append(mine, "  "+strings.TrimSpace(lines[i]), "    "+strings.TrimSpace(lines[i+1]))
			i++
		}
	}
	if len(mine) == 0 {
		mine = append(mine, "  (in the stack, not in your files: probably a value your code returned)")
		for i, l := range lines {
			if strings.HasPrefix(l, "panic(") && i+5 < len(lines) {
				for _, x := range lines[i+2 : i+6] {
					mine = append(mine, "  "+strings.TrimSpace(x))
				}
				break
			}
		}
	}
	return "where:\n" + strings.Join(mine, "\n")
}

// Failure is a graded test's failure message.
type Failure struct {
	Sent     string      // what the test did or sent
	Expected string      // what should have happened
	Got      string      // what happened
	Steps    []viz.Event // the step log around it (may be empty)
	Hint     string      // where to look
}

// String formats the message, one labelled block per part.
func (f Failure) String() string {
	var b strings.Builder
	block := func(label, text string) {
		if text == "" {
			return
		}
		lines := strings.Split(strings.TrimRight(text, "\n"), "\n")
		fmt.Fprintf(&b, "%-9s %s\n", label+":", lines[0])
		for _, l := range lines[1:] {
			fmt.Fprintf(&b, "          %s\n", l)
		}
	}
	block("sent", f.Sent)
	block("expected", f.Expected)
	block("got", f.Got)
	if len(f.Steps) > 0 {
		b.WriteString("step log around it:\n")
		b.WriteString(FormatSteps(f.Steps, 40))
	}
	block("hint", f.Hint)
	return strings.TrimRight(b.String(), "\n")
}

// FormatSteps writes events one a line, like the JSON Lines log but easier
// to read, at most max lines (the first ones).
func FormatSteps(events []viz.Event, max int) string {
	var b strings.Builder
	for i, e := range events {
		if i == max {
			fmt.Fprintf(&b, "  ... %d more steps\n", len(events)-max)
			break
		}
		b.WriteString("  " + FormatStep(e) + "\n")
	}
	return b.String()
}

// FormatStep writes one event: "0.000532 server nic/fcs drop(fcs_mismatch) frame 13: FCS ...".
func FormatStep(e viz.Event) string {
	var b strings.Builder
	b.WriteString(viz.FormatSeconds(e.T))
	fmt.Fprintf(&b, " %s %s/%s", e.Host, e.Layer, e.Step)
	if e.Verdict != "" {
		b.WriteString(" " + string(e.Verdict))
		if e.Reason != "" {
			b.WriteString("(" + string(e.Reason) + ")")
		}
	}
	if e.Frame != 0 {
		b.WriteString(" frame " + strconv.FormatUint(e.Frame, 10))
	}
	if e.Conn != 0 {
		b.WriteString(" conn " + strconv.FormatUint(e.Conn, 10))
	}
	if e.HasMessage() {
		b.WriteString(": " + e.Message())
	}
	return b.String()
}

// Select returns the events that keep accepts.
func Select(events []viz.Event, keep func(e *viz.Event) bool) []viz.Event {
	var out []viz.Event
	for i := range events {
		if keep(&events[i]) {
			out = append(out, events[i])
		}
	}
	return out
}

// OfFrame returns the steps of one frame, on every host.
func OfFrame(events []viz.Event, frame uint64) []viz.Event {
	return Select(events, func(e *viz.Event) bool { return e.Frame == frame })
}

// Last returns the last n events.
func Last(events []viz.Event, n int) []viz.Event {
	if len(events) > n {
		return events[len(events)-n:]
	}
	return events
}

// Hex writes bytes as hex octets, at most max of them.
func Hex(b []byte, max int) string {
	if len(b) == 0 {
		return "(no bytes)"
	}
	var s strings.Builder
	for i, c := range b {
		if i == max {
			fmt.Fprintf(&s, " ... (%d bytes)", len(b))
			break
		}
		if i > 0 {
			s.WriteByte(' ')
		}
		fmt.Fprintf(&s, "%02x", c)
	}
	return s.String()
}

// SourceEnv is set by `packetwalk lab test` to the directory holding the
// student's files, for checks on the source itself.
const SourceEnv = "PACKETWALK_LAB_SOURCE"

// Imports returns the import paths of the Go files in the student's
// package and where the first import of each is. ok is false when
// SourceEnv is not set (the tests run outside `lab test`).
func Imports(t *testing.T) (imports map[string]string, ok bool) {
	dir := os.Getenv(SourceEnv)
	if dir == "" {
		return nil, false
	}
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		t.Fatalf("reading your files: %v", err)
	}
	imports = map[string]string{}
	fset := token.NewFileSet()
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		af, err := parser.ParseFile(fset, f, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatalf("reading %s: %v", filepath.Base(f), err)
		}
		for _, im := range af.Imports {
			p, _ := strconv.Unquote(im.Path.Value)
			if _, seen := imports[p]; !seen {
				pos := fset.Position(im.Pos())
				imports[p] = fmt.Sprintf("%s:%d", filepath.Base(pos.Filename), pos.Line)
			}
		}
	}
	return imports, true
}

// Walk is one frame's steps on one host, as "step verdict(reason)" strings.
type Walk struct {
	Host  string
	Frame uint64
	Steps []string
}

// Walks groups the events keep accepts by host and frame, in order of
// first appearance.
func Walks(events []viz.Event, keep func(e *viz.Event) bool) []Walk {
	var out []Walk
	index := map[[2]string]int{}
	for i := range events {
		e := &events[i]
		if e.Frame == 0 || !keep(e) {
			continue
		}
		k := [2]string{e.Host, strconv.FormatUint(e.Frame, 10)}
		j, ok := index[k]
		if !ok {
			j = len(out)
			index[k] = j
			out = append(out, Walk{Host: e.Host, Frame: e.Frame})
		}
		s := e.Step
		if e.Verdict != "" {
			s += " " + string(e.Verdict)
			if e.Reason != "" {
				s += "(" + string(e.Reason) + ")"
			}
		}
		out[j].Steps = append(out[j].Steps, s)
	}
	return out
}

// WalkDiff is a frame whose walk differs between the reference run and the
// student's.
type WalkDiff struct {
	Host      string
	Frame     uint64
	Want, Got []string
}

// DiffWalks compares two runs' walks frame by frame, in the reference run's
// order; frames only the student's run has come last.
func DiffWalks(want, got []Walk) []WalkDiff {
	type key struct {
		host  string
		frame uint64
	}
	g := map[key][]string{}
	for _, w := range got {
		g[key{w.Host, w.Frame}] = w.Steps
	}
	var out []WalkDiff
	seen := map[key]bool{}
	for _, w := range want {
		k := key{w.Host, w.Frame}
		seen[k] = true
		if strings.Join(w.Steps, ", ") != strings.Join(g[k], ", ") {
			out = append(out, WalkDiff{Host: w.Host, Frame: w.Frame, Want: w.Steps, Got: g[k]})
		}
	}
	for _, w := range got {
		if k := (key{w.Host, w.Frame}); !seen[k] {
			out = append(out, WalkDiff{Host: w.Host, Frame: w.Frame, Got: w.Steps})
		}
	}
	return out
}

// Trail writes a walk's steps, "fcs pass -> mac drop(mac_not_mine)", or
// "(nothing)".
func Trail(steps []string) string {
	if len(steps) == 0 {
		return "(nothing)"
	}
	return strings.Join(steps, " -> ")
}

// Selectors returns the selector names (x.Name) used in the student's files,
// with where each is first used, leaving out the names of functions and
// methods the files declare themselves; ok is false outside `lab test`.
func Selectors(t *testing.T) (names map[string]string, ok bool) {
	dir := os.Getenv(SourceEnv)
	if dir == "" {
		return nil, false
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.go"))
	names = map[string]string{}
	declared := map[string]bool{}
	fset := token.NewFileSet()
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		af, err := parser.ParseFile(fset, f, nil, 0)
		if err != nil {
			t.Fatalf("reading %s: %v", filepath.Base(f), err)
		}
		ast.Inspect(af, func(n ast.Node) bool {
			if fd, isFunc := n.(*ast.FuncDecl); isFunc {
				declared[fd.Name.Name] = true
			}
			if s, isSel := n.(*ast.SelectorExpr); isSel {
				if _, seen := names[s.Sel.Name]; !seen {
					pos := fset.Position(s.Pos())
					names[s.Sel.Name] = fmt.Sprintf("%s:%d", filepath.Base(pos.Filename), pos.Line)
				}
			}
			return true
		})
	}
	// A name the student declared is theirs to call.
	for n := range declared {
		delete(names, n)
	}
	return names, true
}
