package httpd

import (
	"bufio"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/packetwalk/packetwalk/viz"
)

var testLimits = limits{requestLine: 64, headerBytes: 256, bodyBytes: 32}

// parseAll reads one request from s, as step 2 does.
func parseAll(s string) (*Request, *head, *bufio.Reader, error) {
	br := bufio.NewReaderSize(strings.NewReader(s), 16)
	req, h, err := readHead(br, testLimits)
	if err == nil {
		err = readBody(br, req, h, testLimits)
	}
	return req, h, br, err
}

func TestParseRequest(t *testing.T) {
	req, h, br, err := parseAll("POST /cgi-bin/a%20b.cgi?x=1&y=%20 HTTP/1.1\r\nHost: Example.COM:8080\r\n" +
		"content-type: text/plain\r\nX-Multi: 1\r\nx-multi: 2\r\nTransfer-Encoding: chunked\r\n\r\n" +
		"4\r\nWiki\r\n5 ; name=value\r\npedia\r\n0\r\nExpires: never\r\n\r\nGET /next HTTP/1.1\r\n")
	if err != nil {
		t.Fatal(err)
	}
	if req.Method != "POST" || req.Target != "/cgi-bin/a%20b.cgi?x=1&y=%20" || req.Path != "/cgi-bin/a b.cgi" ||
		req.RawQuery != "x=1&y=%20" || req.Proto != "HTTP/1.1" || req.ProtoMinor != 1 || req.Host != "example.com" {
		t.Fatalf("request: %+v", req)
	}
	if got := req.Header["X-Multi"]; len(got) != 2 || got[0] != "1" || got[1] != "2" {
		t.Fatalf("repeated header: %v", got)
	}
	if req.Header.Get("Content-Type") != "text/plain" {
		t.Fatalf("the header table is keyed canonically: %v", req.Header)
	}
	if string(req.Body) != "Wikipedia" || !h.chunked || h.fields != 5 {
		t.Fatalf("body %q, head %+v", req.Body, h)
	}
	// The next pipelined request stays in the reader.
	if rest, _ := io.ReadAll(br); string(rest) != "GET /next HTTP/1.1\r\n" {
		t.Fatalf("pipelined bytes lost: %q", rest)
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct {
		in     string
		status int
		reason viz.Reason
	}{
		{"GET / HTTP/1.1\r\nHost: x\r\nBad Name: v\r\n\r\n", 400, viz.ReasonHTTPBadRequest},
		{"GET / HTTP/1.1\r\nHost: x\r\n: v\r\n\r\n", 400, viz.ReasonHTTPBadRequest},
		{"GET / HTTP/1.1\r\nHost:\tx\r\nX:\ta\rb\r\n\r\n", 400, viz.ReasonHTTPBadRequest},
		{"GET /%2 HTTP/1.1\r\nHost: x\r\n\r\n", 400, viz.ReasonHTTPBadRequest},
		{"G(T / HTTP/1.1\r\nHost: x\r\n\r\n", 400, viz.ReasonHTTPBadRequest},
		{"GET / HTTP/1.10\r\nHost: x\r\n\r\n", 400, viz.ReasonHTTPBadRequest},
		{"GET * HTTP/1.1\r\nHost: x\r\n\r\n", 400, viz.ReasonHTTPBadRequest},
		{"GET /#frag HTTP/1.1\r\nHost: x\r\n\r\n", 400, viz.ReasonHTTPBadRequest},
		{"GET / HTTP/3.0\r\n\r\n", 505, viz.ReasonHTTPVersion},
		{"GET /" + strings.Repeat("x", 64) + " HTTP/1.1\r\n", 414, viz.ReasonHTTPURITooLong},
		{"GET / HTTP/1.1\r\nHost: x\r\nX: " + strings.Repeat("y", 256) + "\r\n\r\n", 431, viz.ReasonHTTPHeaderTooLarge},
		{"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 33\r\n\r\n", 413, viz.ReasonHTTPBodyTooLarge},
		{"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: +3\r\n\r\nabc", 400, viz.ReasonHTTPBadRequest},
		{"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0x5\r\nabcde\r\n0\r\n\r\n", 400, viz.ReasonHTTPBadRequest},
		{"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffff\r\n", 400, viz.ReasonHTTPBadRequest},
		{"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n21\r\n", 413, viz.ReasonHTTPBodyTooLarge},
		{"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, chunked\r\n\r\n", 400, viz.ReasonHTTPBadRequest},
		{"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nBad Trailer\r\n\r\n", 400, viz.ReasonHTTPBadRequest},
		{"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 0\r\n\r\n", 400, viz.ReasonHTTPAmbiguousLength},
		{"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab", 400, viz.ReasonHTTPAmbiguousLength},
		{strings.Repeat("\r\n", 10) + "GET / HTTP/1.1\r\nHost: x\r\n\r\n", 400, viz.ReasonHTTPBadRequest},
	} {
		_, _, _, err := parseAll(tc.in)
		var re *requestError
		if !errors.As(err, &re) || re.Status != tc.status || re.Reason != tc.reason {
			t.Errorf("%q: got %v, want %d %s", tc.in, err, tc.status, tc.reason)
		}
	}
}

// TestParseIncremental feeds a request one byte more at a time, as the
// multiplexer does: every prefix is "not yet" (an early end of stream),
// never an error, and the whole is the request.
func TestParseIncremental(t *testing.T) {
	full := "POST /p HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
	for n := 0; n < len(full); n++ {
		_, _, _, err := parseAll(full[:n])
		if err != io.EOF && err != io.ErrUnexpectedEOF {
			t.Fatalf("prefix %q: %v, want an early end of stream", full[:n], err)
		}
	}
	if req, _, _, err := parseAll(full); err != nil || string(req.Body) != "abc" {
		t.Fatalf("whole: %v %q", err, req.Body)
	}
	// A limit is enforced before the line is complete: a client cannot
	// make the server buffer an endless request line.
	_, _, _, err := parseAll("GET /" + strings.Repeat("a", 70))
	var re *requestError
	if !errors.As(err, &re) || re.Status != 414 {
		t.Fatalf("endless request line: %v", err)
	}
	// Only empty lines, then the end: a clean close.
	if _, _, _, err := parseAll("\r\n\r\n"); err != io.EOF {
		t.Fatalf("empty lines then EOF: %v", err)
	}
}

func TestParseHostWithoutPort(t *testing.T) {
	for in, want := range map[string]string{
		"Example.com":      "example.com",
		"example.com:8080": "example.com",
		"[::1]:80":         "::1",
		"[::1]":            "::1",
		"10.0.0.1:80":      "10.0.0.1",
	} {
		if got := hostWithoutPort(in); got != want {
			t.Errorf("hostWithoutPort(%q) = %q, want %q", in, got, want)
		}
	}
}

func FuzzParseRequest(f *testing.F) {
	f.Add("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	f.Add("POST /p HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n")
	f.Add("POST /p HTTP/1.0\r\nContent-Length: 3\r\n\r\nabc")
	f.Fuzz(func(t *testing.T, s string) {
		req, h, _, err := parseAll(s)
		var re *requestError
		switch {
		case err == nil:
			if req.Method == "" || len(req.Body) > int(testLimits.bodyBytes) || h.headBytes > len(s) {
				t.Fatalf("accepted %q as %+v", s, req)
			}
		case errors.As(err, &re):
			if re.Status < 400 || !re.Reason.Known() {
				t.Fatalf("%q: bad error %+v", s, re)
			}
		case err == io.EOF || err == io.ErrUnexpectedEOF:
		default:
			t.Fatalf("%q: unexpected error %v", s, err)
		}
	})
}
