package viz

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// AppendJSON appends e's JSON Lines form (without the newline) to b. It is
// written by hand, not with encoding/json, so that key order is fixed (the
// contract's order: t host layer step verdict reason frame conn msg fields)
// and fields keep the order they were given: two runs with the same seed give
// byte-identical logs.
func AppendJSON(b []byte, e *Event) []byte {
	b = append(b, `{"t":`...)
	b = AppendSeconds(b, e.T)
	b = appendKey(b, "host", e.Host)
	b = appendKey(b, "layer", string(e.Layer))
	b = appendKey(b, "step", e.Step)
	if e.Verdict != Note {
		b = appendKey(b, "verdict", string(e.Verdict))
	}
	if e.Reason != "" {
		b = appendKey(b, "reason", string(e.Reason))
	}
	if e.Frame != 0 {
		b = append(b, `,"frame":`...)
		b = strconv.AppendUint(b, e.Frame, 10)
	}
	if e.Conn != 0 {
		b = append(b, `,"conn":`...)
		b = strconv.AppendUint(b, e.Conn, 10)
	}
	if e.Fmt != "" {
		b = append(b, `,"msg":`...)
		b = appendFormatted(b, e.Fmt, e.Args)
	} else if e.Msg != "" {
		b = appendKey(b, "msg", e.Msg)
	}
	if len(e.Fields) > 0 {
		b = append(b, `,"fields":{`...)
		for i, f := range e.Fields {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, f.Key)
			b = append(b, ':')
			switch {
			case f.Val.k == kindStr:
				b = appendString(b, f.Val.s)
			case f.Val.plain():
				// Digits, dots, colons: nothing to escape.
				b = append(f.Val.AppendTo(append(b, '"')), '"')
			default:
				b = appendString(b, f.Value())
			}
		}
		b = append(b, '}')
	}
	return append(b, '}')
}

// appendFormatted appends format with args as a JSON string. The text is
// made in place, after the opening quote; from the first byte that needs
// escaping on (a "§", a "µs", a quoted name) it is escaped into place.
func appendFormatted(b []byte, format string, args []Arg) []byte {
	b = append(b, '"')
	start := len(b)
	b = AppendFormat(b, format, args)
	end := len(b)
	for i := start; i < end; i++ {
		if !jsonPlain[b[i]] {
			// Escape the rest after the text, then move it into place:
			// no copy of the text as a string (a "§" or "µs" in a
			// message is common). If the append grows b, b[i:end] still
			// reads the old array; if not, it writes past end only.
			b = appendEscaped(b, b[i:end])
			n := copy(b[i:], b[end:])
			return append(b[:i+n], '"')
		}
	}
	return append(b, '"')
}

func appendKey(b []byte, key, value string) []byte {
	b = append(b, ',', '"')
	b = append(b, key...)
	b = append(b, '"', ':')
	return appendString(b, value)
}

const hexDigits = "0123456789abcdef"

// jsonPlain[c] says byte c goes into a JSON string as it is: printable
// ASCII other than '"' and '\\'.
var jsonPlain = func() (t [256]bool) {
	for c := 0x20; c < 0x80; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// appendString appends s as a JSON string. Invalid UTF-8 is kept as the
// replacement character, as encoding/json does.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	// Fast path: a run of printable ASCII other than '"' and '\\' is
	// copied as it is, in one append. Messages are mostly that, and every
	// byte of every step's message and fields passes here, so going rune
	// by rune through all of them would dominate the encoder. One table
	// lookup per byte (jsonPlain) instead of four comparisons, for the
	// same reason (BenchmarkStepJSONL measures it).
	i := 0
	for i < len(s) && jsonPlain[s[i]] {
		i++
	}
	b = append(b, s[:i]...)
	if i == len(s) {
		return append(b, '"')
	}
	for _, r := range s[i:] {
		b = appendRune(b, r)
	}
	return append(b, '"')
}

// appendEscaped appends s as appendString does between the quotes.
func appendEscaped(b, s []byte) []byte {
	for len(s) > 0 {
		if jsonPlain[s[0]] {
			b = append(b, s[0])
			s = s[1:]
			continue
		}
		// Invalid UTF-8 decodes as the replacement character, one byte
		// at a time, as ranging over a string does.
		r, size := utf8.DecodeRune(s)
		b = appendRune(b, r)
		s = s[size:]
	}
	return b
}

// appendRune appends r as a JSON string has it.
func appendRune(b []byte, r rune) []byte {
	switch {
	case r == '"' || r == '\\':
		return append(b, '\\', byte(r))
	case r == '\n':
		return append(b, '\\', 'n')
	case r == '\r':
		return append(b, '\\', 'r')
	case r == '\t':
		return append(b, '\\', 't')
	case r < 0x20 || r == 0x2028 || r == 0x2029:
		// Control characters, and the two separators that break
		// JavaScript when the log is embedded in the HTML report.
		return append(b, '\\', 'u', hexDigits[r>>12&0xf], hexDigits[r>>8&0xf], hexDigits[r>>4&0xf], hexDigits[r&0xf])
	}
	return utf8.AppendRune(b, r)
}

// MarshalJSON gives the contract's form of e.
func (e Event) MarshalJSON() ([]byte, error) { return AppendJSON(nil, &e), nil }

// wireEvent is the JSON shape used for decoding; fields are decoded
// separately to keep their order.
type wireEvent struct {
	T       json.Number     `json:"t"`
	Host    string          `json:"host"`
	Layer   Layer           `json:"layer"`
	Step    string          `json:"step"`
	Verdict Verdict         `json:"verdict"`
	Reason  Reason          `json:"reason"`
	Frame   uint64          `json:"frame"`
	Conn    uint64          `json:"conn"`
	Msg     string          `json:"msg"`
	Fields  json.RawMessage `json:"fields"`
}

// UnmarshalJSON reads the contract's form, keeping the order of fields.
func (e *Event) UnmarshalJSON(data []byte) error {
	var w wireEvent
	if err := json.Unmarshal(data, &w); err != nil {
		return err
	}
	t, err := parseSeconds(string(w.T))
	if err != nil {
		return err
	}
	*e = Event{
		T:    t,
		Host: w.Host, Layer: w.Layer, Step: w.Step, Verdict: w.Verdict,
		Reason: w.Reason, Frame: w.Frame, Conn: w.Conn, Msg: w.Msg,
	}
	if len(w.Fields) == 0 || string(w.Fields) == "null" {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(w.Fields))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return fmt.Errorf("event fields: want an object of strings")
	}
	for dec.More() {
		kt, err := dec.Token()
		if err != nil {
			return fmt.Errorf("event fields: %w", err)
		}
		var v string
		if err := dec.Decode(&v); err != nil {
			return fmt.Errorf("event field %q: want a string value", kt)
		}
		e.Fields = append(e.Fields, F(kt.(string), v))
	}
	return nil
}

// AppendSeconds appends d as decimal seconds, exact to the nanosecond and
// without trailing zeros ("1.50005", not the float 1.5000499999999999), so
// times read the same in every renderer and round-trip exactly.
func AppendSeconds(b []byte, d time.Duration) []byte {
	if d < 0 {
		b = append(b, '-')
		d = -d
	}
	b = strconv.AppendInt(b, int64(d/time.Second), 10)
	ns := int64(d % time.Second)
	if ns == 0 {
		return b
	}
	var frac [10]byte
	frac[0] = '.'
	for i := 9; i >= 1; i-- {
		frac[i] = byte('0' + ns%10)
		ns /= 10
	}
	n := 10
	for frac[n-1] == '0' {
		n--
	}
	return append(b, frac[:n]...)
}

// FormatSeconds is AppendSeconds for a string.
func FormatSeconds(d time.Duration) string { return string(AppendSeconds(nil, d)) }

// parseSeconds reads decimal seconds exactly, the inverse of AppendSeconds;
// other number forms (exponents) go through float64.
func parseSeconds(s string) (time.Duration, error) {
	if s == "" {
		return 0, nil
	}
	whole, frac, _ := strings.Cut(s, ".")
	neg := strings.HasPrefix(whole, "-")
	whole = strings.TrimPrefix(whole, "-")
	sec, err1 := strconv.ParseInt(whole, 10, 64)
	if len(frac) > 9 {
		frac = frac[:9]
	}
	ns := int64(0)
	var err2 error
	if frac != "" {
		ns, err2 = strconv.ParseInt(frac+strings.Repeat("0", 9-len(frac)), 10, 64)
	}
	if err1 != nil || err2 != nil || whole == "" {
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return 0, fmt.Errorf("event time %q is not a number of seconds", s)
		}
		return time.Duration(f*1e9 + 0.5), nil
	}
	d := time.Duration(sec)*time.Second + time.Duration(ns)
	if neg {
		d = -d
	}
	return d, nil
}
