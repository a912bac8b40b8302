package scenario

import (
	"fmt"
	"math"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Error is a problem in a scenario or answers file, at a line: it prints as
// "file:line: what is wrong", one sentence, like a compiler's message.
type Error struct {
	File string
	Line int
	Msg  string
}

func (e *Error) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.File, e.Msg)
}

// decoder turns a yaml.Node tree into the scenario's Go structs. It is
// written here rather than taken from yaml's own Decode because a teacher's
// mistake must name its line: every unknown key, wrong type and bad value
// is reported as file:line with the key's name, and a struct field named
// Line (tagged `yaml:"-"`) receives the line of the mapping it came from,
// so that later checks (validation, a failed expectation) can point at it.
type decoder struct{ file string }

func (d *decoder) errf(n *yaml.Node, format string, args ...any) error {
	line := 0
	if n != nil {
		line = n.Line
	}
	// Messages start with the value's name ("%s: ..."), which is empty
	// for the document itself: "unknown key" rather than ": unknown key".
	msg := strings.TrimPrefix(fmt.Sprintf(format, args...), ": ")
	return &Error{File: d.file, Line: line, Msg: msg}
}

// nodeDecoder is implemented by types with a syntax of their own (a
// duration, a payload that is text or a size).
type nodeDecoder interface {
	decodeNode(d *decoder, n *yaml.Node) error
}

var (
	durationType = reflect.TypeOf(time.Duration(0))
	lineName     = "Line"
)

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping (key: value lines)"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		return fmt.Sprintf("%q", n.Value)
	case yaml.AliasNode:
		return "an alias"
	}
	return "nothing"
}

// decode stores n into v (addressable), where the value is called what.
func (d *decoder) decode(n *yaml.Node, v reflect.Value, what string) error {
	if n.Kind == yaml.DocumentNode {
		if len(n.Content) == 0 {
			return d.errf(n, "the file is empty")
		}
		n = n.Content[0]
	}
	if n.Kind == yaml.AliasNode {
		return d.errf(n, "%s: aliases (*name) are not supported; write the value out", what)
	}
	if v.CanAddr() {
		if nd, ok := v.Addr().Interface().(nodeDecoder); ok {
			return nd.decodeNode(d, n)
		}
	}
	if v.Type() == durationType {
		dur, err := parseDuration(n.Value)
		if n.Kind != yaml.ScalarNode || err != nil {
			return d.errf(n, "%s: %s is not a duration like 200ms, 1.5s or 2m", what, kindName(n))
		}
		v.SetInt(int64(dur))
		return nil
	}
	switch v.Kind() {
	case reflect.Pointer:
		if n.Tag == "!!null" {
			return nil
		}
		p := reflect.New(v.Type().Elem())
		if err := d.decode(n, p.Elem(), what); err != nil {
			return err
		}
		v.Set(p)
		return nil
	case reflect.Struct:
		return d.decodeStruct(n, v, what)
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			// One value where a list is expected is a list of one:
			// "get: /" reads as "get: [/]".
			if n.Kind == yaml.ScalarNode && n.Tag != "!!null" {
				e := reflect.New(v.Type().Elem()).Elem()
				if err := d.decode(n, e, what); err != nil {
					return err
				}
				v.Set(reflect.Append(reflect.MakeSlice(v.Type(), 0, 1), e))
				return nil
			}
			return d.errf(n, "%s: want a list, got %s", what, kindName(n))
		}
		s := reflect.MakeSlice(v.Type(), 0, len(n.Content))
		for i, c := range n.Content {
			e := reflect.New(v.Type().Elem()).Elem()
			if err := d.decode(c, e, fmt.Sprintf("%s[%d]", what, i+1)); err != nil {
				return err
			}
			s = reflect.Append(s, e)
		}
		v.Set(s)
		return nil
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			return d.errf(n, "%s: want a mapping (key: value lines), got %s", what, kindName(n))
		}
		m := reflect.MakeMapWithSize(v.Type(), len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, val := n.Content[i], n.Content[i+1]
			if m.MapIndex(reflect.ValueOf(k.Value)).IsValid() {
				return d.errf(k, "%s: the key %q is given twice", what, k.Value)
			}
			e := reflect.New(v.Type().Elem()).Elem()
			if err := d.decode(val, e, what+"."+k.Value); err != nil {
				return err
			}
			m.SetMapIndex(reflect.ValueOf(k.Value), e)
		}
		v.Set(m)
		return nil
	}
	if n.Kind != yaml.ScalarNode {
		return d.errf(n, "%s: want a single value, got %s", what, kindName(n))
	}
	s := n.Value
	switch v.Kind() {
	case reflect.String:
		if isProse(what) && n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle|yaml.LiteralStyle|yaml.FoldedStyle) == 0 && n.LineComment != "" {
			// YAML 1.2 section 6.6: " #" ends a plain scalar and starts a
			// comment, so the rest of a sentence would vanish from the
			// handout without a word.
			return d.errf(n, "%s: the text stops at %q because YAML reads \" #\" as the start of a comment; put the whole text in double quotes", what, " "+n.LineComment)
		}
		v.SetString(s)
	case reflect.Bool:
		b, err := strconv.ParseBool(strings.ToLower(s))
		if err != nil {
			return d.errf(n, "%s: %q is not true or false", what, s)
		}
		v.SetBool(b)
	case reflect.Int, reflect.Int64, reflect.Int32:
		i, err := strconv.ParseInt(strings.ReplaceAll(s, "_", ""), 0, 64)
		if err != nil || v.OverflowInt(i) {
			return d.errf(n, "%s: %q is not a whole number", what, s)
		}
		v.SetInt(i)
	case reflect.Uint64, reflect.Uint, reflect.Uint32, reflect.Uint16:
		i, err := strconv.ParseUint(strings.ReplaceAll(s, "_", ""), 0, 64)
		if err != nil || v.OverflowUint(i) {
			return d.errf(n, "%s: %q is not a whole number from 0 up", what, s)
		}
		v.SetUint(i)
	case reflect.Float64:
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return d.errf(n, "%s: %q is not a number", what, s)
		}
		v.SetFloat(f)
	default:
		return d.errf(n, "%s: cannot hold a value (internal: %s)", what, v.Type())
	}
	return nil
}

// decodeStruct fills a struct from a mapping, rejecting keys the struct
// does not have (a typo must not be silently ignored).
func (d *decoder) decodeStruct(n *yaml.Node, v reflect.Value, what string) error {
	if n.Kind != yaml.MappingNode {
		return d.errf(n, "%s: want a mapping (key: value lines), got %s", what, kindName(n))
	}
	t := v.Type()
	fields := map[string]int{}
	var names []string
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if f.Name == lineName && f.Type.Kind() == reflect.Int {
			v.Field(i).SetInt(int64(n.Line))
			continue
		}
		tag := strings.Split(f.Tag.Get("yaml"), ",")[0]
		if tag == "-" || tag == "" || !f.IsExported() {
			continue
		}
		fields[tag] = i
		names = append(names, tag)
	}
	sort.Strings(names)
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		idx, ok := fields[k.Value]
		if !ok {
			return d.errf(k, "%s: unknown key %q (known keys: %s)", what, k.Value, strings.Join(names, ", "))
		}
		if seen[k.Value] {
			return d.errf(k, "%s: the key %q is given twice", what, k.Value)
		}
		seen[k.Value] = true
		name := k.Value
		if what != "" {
			name = what + "." + k.Value
		}
		if err := d.decode(val, v.Field(idx), name); err != nil {
			return err
		}
	}
	return nil
}

// isProse reports whether the value called what is a sentence for people
// (a question, a hint, a check's message, a title), whose text must not be
// cut by a comment.
func isProse(what string) bool {
	i := strings.LastIndexByte(what, '.')
	last := what[i+1:]
	if j := strings.IndexByte(last, '['); j >= 0 {
		last = last[:j]
	}
	switch last {
	case "ask", "hint", "says", "title", "description", "choices":
		return true
	}
	return false
}

// parseDuration reads a Go duration ("200ms", "1.5s"); a bare 0 is zero.
func parseDuration(s string) (time.Duration, error) {
	if s == "0" {
		return 0, nil
	}
	return time.ParseDuration(s)
}

// Duration is a length of virtual time in a scenario: "200ms", "1.5s",
// "2m". The word "off" reads as -1 (used by delayed_ack: off).
type Duration time.Duration

func (x *Duration) decodeNode(d *decoder, n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode && strings.EqualFold(n.Value, "off") {
		*x = -1
		return nil
	}
	dur, err := parseDuration(n.Value)
	if n.Kind != yaml.ScalarNode || err != nil {
		return d.errf(n, "%s is not a duration like 200ms, 1.5s or 2m", kindName(n))
	}
	if dur < 0 {
		return d.errf(n, "the duration %s is negative", n.Value)
	}
	*x = Duration(dur)
	return nil
}

// D returns the duration as a time.Duration.
func (x Duration) D() time.Duration { return time.Duration(x) }

// Payload is data an application sends: text ("GET / HTTP/1.0\r\n\r\n",
// with YAML's escapes in double quotes), or a size ("1460 bytes", "64KiB")
// filled with a repeating pattern.
type Payload struct {
	Text  string
	Size  int
	IsLen bool
	Line  int
}

func (p *Payload) decodeNode(d *decoder, n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return d.errf(n, "a payload is text or a size like \"1460 bytes\", got %s", kindName(n))
	}
	p.Line = n.Line
	if size, ok := parseSize(n.Value); ok {
		p.Size, p.IsLen = size, true
		return nil
	}
	if n.Tag == "!!int" {
		return d.errf(n, "a payload size needs its unit: write \"%s bytes\"", n.Value)
	}
	p.Text = n.Value
	return nil
}

// maxPayload bounds one payload, so that a scenario cannot ask for
// gigabytes.
const maxPayload = 16 << 20

// parseSize reads "1460 bytes", "64KiB", "1MiB", "10 B".
func parseSize(s string) (int, bool) {
	s = strings.TrimSpace(s)
	units := []struct {
		suffix string
		mult   int
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"bytes", 1}, {"byte", 1}, {"B", 1}}
	for _, u := range units {
		if num, ok := strings.CutSuffix(s, u.suffix); ok {
			v, err := strconv.Atoi(strings.TrimSpace(num))
			if err != nil || v < 0 || v*u.mult > maxPayload {
				return 0, false
			}
			return v * u.mult, true
		}
	}
	return 0, false
}

// Bytes returns the payload's bytes: the text, or Size bytes of a
// repeating alphabet (easy to spot in a hex dump).
func (p Payload) Bytes() []byte {
	if !p.IsLen {
		return []byte(p.Text)
	}
	b := make([]byte, p.Size)
	for i := range b {
		b[i] = 'a' + byte(i%26)
	}
	return b
}
