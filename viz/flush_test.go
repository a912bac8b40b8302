package viz

import (
	"bytes"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"
)

// lockedBuffer is a bytes.Buffer safe for the flush timer's goroutine.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// With FlushWithin, an event stays in the buffer at first and reaches the
// writer later without another event or a Flush.
func TestJSONLSinkFlushWithin(t *testing.T) {
	var out lockedBuffer
	s := NewJSONLSink(&out)
	s.FlushWithin = 10 * time.Millisecond
	s.Event(&Event{Host: "server", Layer: LayerTCP, Step: "data", Msg: "1460 bytes in order"})
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(out.String(), `"step":"data"`) {
		if time.Now().After(deadline) {
			t.Fatal("the event never reached the writer")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(out.String(), "\n"); n != 1 {
		t.Errorf("%d lines written, want 1", n)
	}
}

// appendString's fast path for plain ASCII and its slow path agree with
// encoding/json: the string each writes decodes to the same value, and for
// valid UTF-8 the bytes are the same (HTML escaping aside, which the step
// log does not do; for invalid UTF-8 encoding/json writes the replacement
// character as \ufffd, appendString as itself).
func TestAppendStringMatchesEncodingJSON(t *testing.T) {
	for _, s := range []string{
		"", "plain ASCII, 1460 bytes in order: RCV.NXT 1 -> 1461",
		`quote " and backslash \ inside`, "tab\tnewline\ncr\r", "ctl \x01\x1f",
		"café -> naïve", "ends in é", "\u2028 and \u2029", "bad \xff utf-8",
	} {
		var want bytes.Buffer
		enc := json.NewEncoder(&want)
		enc.SetEscapeHTML(false)
		enc.Encode(s)
		got := appendString(nil, s)
		var a, b string
		if err := json.Unmarshal(got, &a); err != nil {
			t.Fatalf("appendString(%q) = %s: not JSON: %v", s, got, err)
		}
		json.Unmarshal(want.Bytes(), &b)
		if a != b || utf8.ValidString(s) && string(got) != strings.TrimSuffix(want.String(), "\n") {
			t.Errorf("appendString(%q) = %s, encoding/json gives %s", s, got, want.String())
		}
	}
}

// appendFormatted, which escapes a message where it made it, writes the
// bytes appendString writes for the same text, with the text at the start
// of the buffer and after other bytes, and makes no copy of the text to
// escape it: a message with a "§" or a "µs" costs no allocation.
func TestAppendFormattedMatchesAppendString(t *testing.T) {
	for _, s := range []string{
		"", "plain ASCII, 1460 bytes in order: RCV.NXT 1 -> 1461",
		`quote " and backslash \ inside`, "tab\tnewline\ncr\r", "ctl \x01\x1f",
		"café -> naïve", "ends in é", "\u2028 and \u2029", "bad \xff utf-8", "cut \xe2\x82",
		"RTO 200µs (RFC 6298 §2)",
	} {
		for _, prefix := range []string{"", `{"msg":`} {
			want := appendString([]byte(prefix), s)
			got := appendFormatted([]byte(prefix), "%s", []Arg{Str(s)})
			if string(got) != string(want) {
				t.Errorf("appendFormatted(%q) = %s, appendString gives %s", s, got, want)
			}
		}
	}
	buf := make([]byte, 0, 256)
	args := []Arg{Dur(200 * time.Microsecond), Int(3)}
	if n := testing.AllocsPerRun(100, func() {
		buf = appendFormatted(buf[:0], "RTO %v, try %d (RFC 6298 §5.5)", args)
	}); n != 0 {
		t.Errorf("appendFormatted allocates %v times for a message with a \"§\", want 0", n)
	}
}
