package scenario

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/packetwalk/packetwalk/viz"
)

// valueMatcher matches one string of an event: exact, "re:REGEXP", or a
// numeric comparison (">0", ">=1460", "<3", "<=10", "!=0").
type valueMatcher func(string) bool

func compileValue(want string) (valueMatcher, error) {
	if want == "" {
		return func(string) bool { return true }, nil
	}
	if re, ok := strings.CutPrefix(want, "re:"); ok {
		r, err := regexp.Compile(re)
		if err != nil {
			return nil, fmt.Errorf("%q is not a regular expression: %v", re, err)
		}
		return r.MatchString, nil
	}
	for _, op := range []string{">=", "<=", "!=", ">", "<"} {
		rest, ok := strings.CutPrefix(want, op)
		if !ok {
			continue
		}
		n, err := strconv.ParseFloat(strings.TrimSpace(rest), 64)
		if err != nil {
			if op == "!=" {
				return func(s string) bool { return s != rest }, nil
			}
			return nil, fmt.Errorf("%q compares with %q, which is not a number", want, rest)
		}
		return func(s string) bool {
			x, err := strconv.ParseFloat(s, 64)
			if err != nil {
				return false
			}
			switch op {
			case ">=":
				return x >= n
			case "<=":
				return x <= n
			case "!=":
				return x != n
			case ">":
				return x > n
			}
			return x < n
		}, nil
	}
	return func(s string) bool { return s == want }, nil
}

// matcher is a compiled Match.
type matcher struct {
	m      *Match
	msg    valueMatcher
	fields map[string]valueMatcher
}

func compileMatch(m *Match) matcher {
	c := matcher{m: m, fields: map[string]valueMatcher{}}
	c.msg, _ = compileValue(m.Msg) // validated when parsed
	for k, v := range m.Fields {
		c.fields[k], _ = compileValue(v)
	}
	return c
}

func (c matcher) match(e *viz.Event) bool {
	m := c.m
	switch {
	case m.Host != "" && m.Host != e.Host,
		m.Layer != "" && m.Layer != string(e.Layer),
		m.Step != "" && m.Step != e.Step,
		m.Verdict != "" && !(m.Verdict == string(e.Verdict) || m.Verdict == "note" && e.Verdict == viz.Note),
		m.Reason != "" && m.Reason != string(e.Reason),
		m.Frame != 0 && m.Frame != e.Frame,
		m.Conn != 0 && m.Conn != e.Conn,
		!c.msg(e.Message()):
		return false
	}
	for k, f := range c.fields {
		v, ok := e.Field(k)
		if !ok || !f(v) {
			return false
		}
	}
	return true
}

// describe writes the match as a filter a student can read.
func (m *Match) describe() string {
	var parts []string
	add := func(k, v string) {
		if v != "" {
			parts = append(parts, k+"="+v)
		}
	}
	add("host", m.Host)
	add("layer", m.Layer)
	add("step", m.Step)
	add("verdict", m.Verdict)
	add("reason", m.Reason)
	if m.Frame != 0 {
		add("frame", strconv.FormatUint(m.Frame, 10))
	}
	if m.Conn != 0 {
		add("conn", strconv.FormatUint(m.Conn, 10))
	}
	add("msg", m.Msg)
	for _, k := range sortedKeys(m.Fields) {
		add("fields."+k, m.Fields[k])
	}
	return strings.Join(parts, " ")
}

// Outcome is the result of one expectation.
type Outcome struct {
	Expect *Expect
	Pass   bool
	Count  int // matching events
	// First is the first matching event, if any.
	First *viz.Event
	// Detail says what was wanted and what was found.
	Detail string
}

// Name returns the expectation's name or its line.
func (o Outcome) Name() string {
	if o.Expect.Name != "" {
		return o.Expect.Name
	}
	return fmt.Sprintf("line %d", o.Expect.Line)
}

// Evaluate checks every expectation against events, in order.
func Evaluate(expects []Expect, events []viz.Event) []Outcome {
	firstIdx := map[string]int{} // expectation name -> index of its first match (-1: none)
	var out []Outcome
	for i := range expects {
		x := &expects[i]
		c := compileMatch(&x.Match)
		start, ref := 0, -1
		o := Outcome{Expect: x}
		if x.After != "" {
			ref = firstIdx[x.After]
			if ref < 0 {
				o.Detail = fmt.Sprintf("%s never happened, so nothing can follow it", x.After)
				firstIdx[x.Name] = -1
				out = append(out, o)
				continue
			}
			start = ref + 1
		}
		first := -1
		for j := start; j < len(events); j++ {
			e := &events[j]
			if ref >= 0 && x.Within > 0 && e.T-events[ref].T > x.Within.D() {
				break
			}
			if c.match(e) {
				if first < 0 {
					first = j
				}
				o.Count++
			}
		}
		if x.Name != "" {
			firstIdx[x.Name] = first
		}
		if first >= 0 {
			o.First = &events[first]
		}
		want := "at least 1"
		switch {
		case x.None:
			o.Pass, want = o.Count == 0, "none"
		case x.Count != nil:
			o.Pass, want = o.Count == *x.Count, fmt.Sprintf("exactly %d", *x.Count)
		case x.AtLeast != nil || x.AtMost != nil:
			lo, hi := 0, -1
			if x.AtLeast != nil {
				lo = *x.AtLeast
			}
			if x.AtMost != nil {
				hi = *x.AtMost
			}
			o.Pass = o.Count >= lo && (hi < 0 || o.Count <= hi)
			want = fmt.Sprintf("at least %d", lo)
			if hi >= 0 {
				want += fmt.Sprintf(" and at most %d", hi)
			}
		default:
			o.Pass = o.Count >= 1
		}
		where := ""
		if x.After != "" {
			where = " after " + x.After
			if x.Within > 0 {
				where += fmt.Sprintf(" (within %v)", x.Within.D())
			}
		}
		o.Detail = fmt.Sprintf("wanted %s event(s) with %s%s; found %d", want, x.Match.describe(), where, o.Count)
		if o.First != nil {
			o.Detail += fmt.Sprintf(", the first at t=%ss", viz.FormatSeconds(o.First.T))
			if o.First.Frame != 0 {
				o.Detail += fmt.Sprintf(" (frame %d)", o.First.Frame)
			}
		}
		out = append(out, o)
	}
	return out
}

// maxLogEvents bounds how many events ReadLog keeps.
const maxLogEvents = 4 << 20

// ReadLog reads a step log (trace.jsonl) written by any run.
func ReadLog(path string) ([]viz.Event, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read the step log %s: %v", path, unwrapPath(err))
	}
	defer f.Close()
	return DecodeLog(path, f)
}

// DecodeLog reads JSON Lines events from r.
func DecodeLog(name string, r io.Reader) ([]viz.Event, error) {
	var events []viz.Event
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	line := 0
	for sc.Scan() {
		line++
		if len(strings.TrimSpace(sc.Text())) == 0 {
			continue
		}
		if len(events) >= maxLogEvents {
			return nil, &Error{File: name, Line: line, Msg: fmt.Sprintf("more than %d events", maxLogEvents)}
		}
		var e viz.Event
		if err := e.UnmarshalJSON(sc.Bytes()); err != nil {
			return nil, &Error{File: name, Line: line, Msg: "not a step-log event: " + err.Error()}
		}
		events = append(events, e)
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, &Error{File: name, Line: line + 1, Msg: "a line is longer than 16 MiB"}
		}
		return nil, fmt.Errorf("%s: %v", name, err)
	}
	return events, nil
}

var _ = time.Second
