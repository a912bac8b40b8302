package httpd

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"sort"
	"strings"
	"sync"
	"testing"
)

// lockedBuffer is a log writer the test can read while the server runs.
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

// runRequests sends each raw request on a connection of its own, reads
// the answer, and shuts the server down so every log line is written.
func runRequests(t *testing.T, cfg Config, raws ...string) {
	t.Helper()
	ts := startServer(t, cfg, nil, nil)
	for _, raw := range raws {
		c := dial(t, ts.addr)
		io.WriteString(c, raw)
		readResponse(t, bufio.NewReader(c), strings.SplitN(raw, " ", 2)[0])
		c.Close()
	}
	ts.srv.Shutdown(context.Background())
}

func TestLogCommonFormat(t *testing.T) {
	var access, errs lockedBuffer
	runRequests(t, Config{AccessLog: &access, ErrorLog: &errs},
		"GET /apache_pb.gif HTTP/1.0\r\nReferer: http://www.example.com/start.html\r\n\r\n",
		"GET /user HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
		"HEAD /h HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
		"GET /missing HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
		"GET /\"quote\"\x01 HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET /panic HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
	)
	want := `127.0.0.1 - - [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 200 28
127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /user HTTP/1.1" 200 11
127.0.0.1 - - [10/Oct/2000:13:55:36 -0700] "HEAD /h HTTP/1.1" 200 -
127.0.0.1 - - [10/Oct/2000:13:55:36 -0700] "GET /missing HTTP/1.1" 404 168
127.0.0.1 - - [10/Oct/2000:13:55:36 -0700] "GET /\"quote\"\x01 HTTP/1.1" 400 182
127.0.0.1 - - [10/Oct/2000:13:55:36 -0700] "GET /panic HTTP/1.1" 500 205
`
	if got := access.String(); !sameLines(got, want) {
		t.Fatalf("access log:\n%s\nwant\n%s", got, want)
	}
	// The error log has the parse error and the 5xx, not the 404.
	lines := strings.Split(strings.TrimSpace(errs.String()), "\n")
	if len(lines) != 3 {
		t.Fatalf("error log:\n%s", errs.String())
	}
	prefix := "[Tue Oct 10 13:55:36 2000] [error] [client 127.0.0.1:"
	for _, l := range lines {
		if !strings.HasPrefix(l, prefix) {
			t.Errorf("error log line %q does not start with %q", l, prefix)
		}
	}
	if !strings.Contains(lines[0], `] 400 Bad Request: the request target contains the byte '\x01'`) {
		t.Errorf("parse error line: %q", lines[0])
	}
	if !strings.Contains(lines[1], "the mapper failed on /panic: boom") ||
		!strings.Contains(lines[2], `500 Internal Server Error for "GET /panic HTTP/1.1" (mapper failed)`) {
		t.Errorf("5xx lines: %q", lines[1:])
	}
}

func TestLogCombinedFormatAndVirtualHosts(t *testing.T) {
	var access, mary, maryErrs lockedBuffer
	runRequests(t, Config{
		LogFormat:      "combined",
		AccessLog:      &access,
		VHostLogs:      map[string]io.Writer{"www.marys-antiques.com": &mary},
		VHostErrorLogs: map[string]io.Writer{"www.marys-antiques.com": &maryErrs},
	},
		"GET /apache_pb.gif HTTP/1.0\r\nReferer: http://www.example.com/start.html\r\nUser-Agent: Mozilla/4.08 [en] (Win98; I ;Nav)\r\n\r\n",
		"GET /vhost HTTP/1.1\r\nHost: www.marys-antiques.com\r\nConnection: close\r\n\r\n",
	)
	want := `127.0.0.1 - - [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 200 28 "http://www.example.com/start.html" "Mozilla/4.08 [en] (Win98; I ;Nav)"` + "\n"
	if got := access.String(); !sameLines(got, want) {
		t.Fatalf("access log:\n%q\nwant\n%q", got, want)
	}
	wantMary := `127.0.0.1 - - [10/Oct/2000:13:55:36 -0700] "GET /vhost HTTP/1.1" 200 4 "-" "-"` + "\n"
	if got := mary.String(); !sameLines(got, wantMary) {
		t.Fatalf("virtual host's log:\n%q\nwant\n%q", got, wantMary)
	}
}

func TestLogEscaping(t *testing.T) {
	for in, want := range map[string]string{
		"plain":           "plain",
		`a"b\c`:           `a\"b\\c`,
		"new\nline\x7f":   `new\x0aline\x7f`,
		"caf\xc3\xa9":     `caf\xc3\xa9`,
		"":                "",
		"tab\tand space ": `tab\x09and space `,
	} {
		if got := logEscape(in); got != want {
			t.Errorf("logEscape(%q) = %q, want %q", in, got, want)
		}
	}
	if got := logWord("john doe"); got != `john\x20doe` {
		t.Errorf("logWord: %q", got)
	}
	if got := logWord(""); got != "-" {
		t.Errorf("logWord empty: %q", got)
	}
}

// sameLines compares log contents line by line in any order: each request
// comes on a connection of its own, and a connection's step 7 may finish
// after the next connection's, so the order of lines is not fixed.
func sameLines(got, want string) bool {
	g, w := strings.Split(got, "\n"), strings.Split(want, "\n")
	sort.Strings(g)
	sort.Strings(w)
	return strings.Join(g, "\n") == strings.Join(w, "\n")
}
