package httpd

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net/textproto"
	"strconv"
	"strings"

	"github.com/packetwalk/packetwalk/viz"
)

// Step 2, receive: reading a request message from the connection's
// buffered reader, piece by piece, as RFC 9112 describes it:
//
//	request-line   = method SP request-target SP HTTP-version CRLF
//	*( field-line CRLF )
//	CRLF
//	[ message-body ]            by Content-Length, or chunked
//
// The reader is the connection's own bufio.Reader, so bytes of a request
// pipelined behind this one stay buffered for the next call. Any error
// leaves the stream at an unknown place: the connection is answered and
// closed.

// requestError is a request the server cannot serve as sent: the status
// to answer with, the drop reason for the step log, and what was wrong.
type requestError struct {
	Status int
	Reason viz.Reason
	Msg    string
}

func (e *requestError) Error() string { return fmt.Sprintf("%d: %s", e.Status, e.Msg) }

func badRequest(format string, a ...any) *requestError {
	return &requestError{400, viz.ReasonHTTPBadRequest, fmt.Sprintf(format, a...)}
}

// limits bound what a client can make the server hold (docs/design.md,
// "Principles: A limit on everything").
type limits struct {
	requestLine int   // bytes of the request line, without its CRLF
	headerBytes int   // bytes of the header section (and of the trailers), line ends included
	bodyBytes   int64 // bytes of the body, after dechunking
}

// maxChunkLine bounds a chunk-size line with its extensions.
const maxChunkLine = 4096

// maxLeadingEmptyLines is how many empty lines before a request line are
// skipped (RFC 9112 §2.2: old clients sent a CRLF after a POST body).
const maxLeadingEmptyLines = 8

// head is what step 2 learned about the message besides the Request: how
// it arrived and how its body is framed.
type head struct {
	requestLine    string // as received, for the access log
	authority      string // the host of an absolute-form target, which replaces Host
	headBytes      int    // bytes of request line, headers and blank line
	fields         int    // header field lines
	chunked        bool
	length         int64 // Content-Length when not chunked; 0 if none
	hasLength      bool  // a Content-Length field was present
	expectContinue bool  // Expect: 100-continue
	bodyWire       int64 // bytes of the body on the wire (chunk framing included)
}

// errLineTooLong is readLine's answer when the line exceeds its limit.
var errLineTooLong = errors.New("line too long")

// readLine reads one line ending in LF (CRLF or a bare LF, RFC 9112 §2.2)
// and returns it without the line end, and the bytes consumed. It stops
// with errLineTooLong as soon as more than max bytes have come without a
// line end, so a client cannot make it buffer an endless line. io.EOF
// means nothing at all was read; io.ErrUnexpectedEOF a partial line.
func readLine(br *bufio.Reader, max int) (line []byte, n int, err error) {
	var buf []byte
	for {
		frag, e := br.ReadSlice('\n')
		if e == nil && buf == nil {
			buf = frag // the common case: the whole line was buffered
		} else {
			buf = append(buf, frag...)
		}
		if e == nil {
			line = buf[:len(buf)-1]
			if len(line) > 0 && line[len(line)-1] == '\r' {
				line = line[:len(line)-1]
			}
			if len(line) > max {
				return nil, len(buf), errLineTooLong
			}
			// Copy out of the reader's buffer, which the next read
			// overwrites.
			return append([]byte(nil), line...), len(buf), nil
		}
		if len(buf) > max+1 { // +1: the CR may already be in
			return nil, len(buf), errLineTooLong
		}
		switch {
		case e == bufio.ErrBufferFull:
			buf = append([]byte(nil), buf...) // keep it: ReadSlice's slice is reused
			continue
		case e == io.EOF && len(buf) == 0:
			return nil, 0, io.EOF
		case e == io.EOF:
			return nil, len(buf), io.ErrUnexpectedEOF
		}
		return nil, len(buf), e
	}
}

// readHead reads the request line and the header section. On a
// requestError the Request holds what was understood (at least the request
// line, when it could be split) for the log. io.EOF means the client
// closed before sending anything; other I/O errors come back as they are.
func readHead(br *bufio.Reader, lim limits) (*Request, *head, error) {
	h := &head{}
	req := &Request{Header: textproto.MIMEHeader{}}

	// The request line, after any empty lines.
	var line []byte
	for empties := 0; ; empties++ {
		l, n, err := readLine(br, lim.requestLine)
		h.headBytes += n
		if err == errLineTooLong {
			return req, h, &requestError{414, viz.ReasonHTTPURITooLong,
				fmt.Sprintf("the request line is longer than %d bytes", lim.requestLine)}
		}
		if err != nil { // io.EOF after only empty lines is still a clean close
			return req, h, err
		}
		if len(l) > 0 {
			line = l
			break
		}
		if empties >= maxLeadingEmptyLines {
			return req, h, badRequest("more than %d empty lines before the request line", maxLeadingEmptyLines)
		}
	}
	h.requestLine = string(line)
	if err := parseRequestLine(req, h, h.requestLine); err != nil {
		return req, h, err
	}

	// The header section: field lines up to the empty line.
	budget := lim.headerBytes
	for {
		l, n, err := readLine(br, budget)
		h.headBytes += n
		budget -= n
		if err == errLineTooLong || budget < 0 {
			return req, h, &requestError{431, viz.ReasonHTTPHeaderTooLarge,
				fmt.Sprintf("the header section is larger than %d bytes", lim.headerBytes)}
		}
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		if err != nil {
			return req, h, err
		}
		if len(l) == 0 {
			break
		}
		name, value, perr := parseFieldLine(l)
		if perr != nil {
			return req, h, perr
		}
		req.Header[name] = append(req.Header[name], value)
		h.fields++
	}

	if err := checkHead(req, h, lim); err != nil {
		return req, h, err
	}
	return req, h, nil
}

// parseRequestLine splits "GET /a%20b?x=1 HTTP/1.1" into the Request.
func parseRequestLine(req *Request, h *head, line string) error {
	method, rest, ok1 := strings.Cut(line, " ")
	target, proto, ok2 := strings.Cut(rest, " ")
	if !ok1 || !ok2 || strings.Contains(proto, " ") {
		return badRequest("the request line is not METHOD SP target SP version, each separated by one space")
	}
	if method == "" || !isToken(method) {
		return badRequest("the method %q is not a token", method)
	}
	req.Method, req.Target, req.Proto = method, target, proto

	// HTTP-version = "HTTP/" DIGIT "." DIGIT, case-sensitive.
	if len(proto) != 8 || !strings.HasPrefix(proto, "HTTP/") || !isDigit(proto[5]) || proto[6] != '.' || !isDigit(proto[7]) {
		return badRequest("the version %q is not HTTP/x.y", proto)
	}
	major, minor := int(proto[5]-'0'), int(proto[7]-'0')
	if major != 1 {
		return &requestError{505, viz.ReasonHTTPVersion, fmt.Sprintf("this server speaks HTTP/1.0 and HTTP/1.1, not %s", proto)}
	}
	req.ProtoMinor = min(minor, 1) // HTTP/1.2 and later minors are served as 1.1

	if target == "" {
		return badRequest("the request target is empty")
	}
	for i := 0; i < len(target); i++ {
		if c := target[i]; c <= ' ' || c == 0x7f || c == '#' {
			return badRequest("the request target contains the byte %q", c)
		}
	}
	return parseTarget(req, h, target)
}

// parseTarget understands the four forms of request-target (RFC 9112
// §3.2) and sets Path (decoded once), RawQuery and, for the absolute form,
// the authority that stands for Host.
func parseTarget(req *Request, h *head, target string) error {
	switch {
	case target[0] == '/': // origin-form
	case target == "*": // asterisk-form, OPTIONS only
		if req.Method != "OPTIONS" {
			return badRequest("the target * is only for OPTIONS")
		}
		req.Path = "*"
		return nil
	case hasSchemePrefix(target): // absolute-form: the authority replaces Host
		rest := target[strings.Index(target, "://")+3:]
		authority := rest
		if i := strings.IndexAny(rest, "/?"); i >= 0 {
			authority, rest = rest[:i], rest[i:]
		} else {
			rest = "/"
		}
		if rest[0] == '?' {
			rest = "/" + rest
		}
		if authority == "" || strings.Contains(authority, "@") || !validHost(authority) {
			return badRequest("the absolute target %q has no valid authority", target)
		}
		h.authority = authority
		target = rest
	case req.Method == "CONNECT": // authority-form
		if !validHost(target) {
			return badRequest("the CONNECT target %q is not host:port", target)
		}
		req.Path = ""
		return nil
	default:
		return badRequest("the target %q is neither a path nor an absolute URL", target)
	}
	rawPath, rawQuery, _ := strings.Cut(target, "?")
	path, err := percentDecode(rawPath)
	if err != nil {
		return err
	}
	req.Path, req.RawQuery = path, rawQuery
	return nil
}

func hasSchemePrefix(s string) bool {
	l := strings.ToLower(s)
	return strings.HasPrefix(l, "http://") || strings.HasPrefix(l, "https://")
}

// percentDecode decodes %XX escapes once. An encoded NUL is refused: it
// would cut a file name short in the C library below a CGI script.
// Encoded slashes become slashes; the mapper judges the result.
func percentDecode(s string) (string, error) {
	if !strings.Contains(s, "%") {
		return s, nil
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			b.WriteByte(s[i])
			continue
		}
		if i+2 >= len(s) || !isHex(s[i+1]) || !isHex(s[i+2]) {
			return "", badRequest("the path has a %% not followed by two hex digits")
		}
		c := unhex(s[i+1])<<4 | unhex(s[i+2])
		if c == 0 {
			return "", badRequest("the path contains an encoded NUL (%%00)")
		}
		b.WriteByte(c)
		i += 2
	}
	return b.String(), nil
}

// parseFieldLine splits "Name: value" (RFC 9112 §5).
func parseFieldLine(l []byte) (name, value string, err error) {
	if l[0] == ' ' || l[0] == '\t' {
		// obs-fold: a continuation line. RFC 9112 §5.2 lets a server
		// reject it with 400.
		return "", "", badRequest("a header line starts with whitespace (obsolete line folding)")
	}
	colon := strings.IndexByte(string(l), ':')
	if colon < 0 {
		return "", "", badRequest("the header line %q has no colon", truncate(string(l), 40))
	}
	n := string(l[:colon])
	if n == "" {
		return "", "", badRequest("a header line has an empty name")
	}
	if last := n[len(n)-1]; last == ' ' || last == '\t' {
		// RFC 9112 §5.1: a server MUST reject whitespace between the
		// field name and the colon, a classic smuggling trick.
		return "", "", badRequest("whitespace between the header name %q and its colon", strings.TrimRight(n, " \t"))
	}
	if !isToken(n) {
		return "", "", badRequest("the header name %q is not a token", truncate(n, 40))
	}
	v := strings.Trim(string(l[colon+1:]), " \t")
	for i := 0; i < len(v); i++ {
		if c := v[i]; (c < ' ' && c != '\t') || c == 0x7f {
			return "", "", badRequest("the value of header %s contains the control byte %q", n, c)
		}
	}
	return textproto.CanonicalMIMEHeaderKey(n), v, nil
}

// checkHead applies the rules that need the whole header section: Host,
// and how the body is framed (RFC 9112 §6).
func checkHead(req *Request, h *head, lim limits) error {
	// Host (RFC 9112 §3.2): required in HTTP/1.1, never twice. An
	// absolute-form target's authority replaces it (§3.2.2).
	hosts := req.Header.Values("Host")
	switch {
	case h.authority != "":
		req.Host = hostWithoutPort(h.authority)
		req.Header.Set("Host", h.authority)
	case len(hosts) > 1:
		return badRequest("%d Host header fields; there must be one", len(hosts))
	case len(hosts) == 0 && req.ProtoMinor == 1:
		return badRequest("an HTTP/1.1 request without a Host header")
	case len(hosts) == 1 && hosts[0] != "" && !validHost(hosts[0]):
		return badRequest("the Host %q is not a valid host[:port]", truncate(hosts[0], 60))
	case len(hosts) == 1:
		req.Host = hostWithoutPort(hosts[0])
	}

	// Framing.
	te := req.Header.Values("Transfer-Encoding")
	cl := req.Header.Values("Content-Length")
	if len(te) > 0 {
		if req.ProtoMinor == 0 {
			// RFC 9112 §6.1: Transfer-Encoding in HTTP/1.0 means the
			// framing is faulty.
			return badRequest("Transfer-Encoding in an HTTP/1.0 request")
		}
		if len(cl) > 0 {
			// RFC 9112 §6.1: a request with both is the raw
			// material of request smuggling; refuse it.
			return &requestError{400, viz.ReasonHTTPAmbiguousLength, "both Content-Length and Transfer-Encoding: the body's length is ambiguous"}
		}
		var codings []string
		for _, v := range te {
			for _, c := range strings.Split(v, ",") {
				if c = strings.ToLower(strings.Trim(c, " \t")); c != "" {
					codings = append(codings, c)
				}
			}
		}
		chunks := 0
		for _, c := range codings {
			if c == "chunked" {
				chunks++
			}
		}
		switch {
		case len(codings) == 0 || codings[len(codings)-1] != "chunked":
			return badRequest("Transfer-Encoding %q does not end in chunked, so the body's end cannot be found", strings.Join(te, ", "))
		case chunks > 1:
			return badRequest("chunked is applied more than once")
		case len(codings) > 1:
			return &requestError{501, viz.ReasonHTTPNotImplemented, fmt.Sprintf("the transfer coding %q is not supported (only chunked)", codings[0])}
		}
		h.chunked = true
	}
	if len(cl) > 0 {
		var n int64 = -1
		for _, v := range cl {
			for _, s := range strings.Split(v, ",") {
				s = strings.Trim(s, " \t")
				if s == "" || strings.TrimLeft(s, "0123456789") != "" {
					return badRequest("Content-Length %q is not a number", truncate(v, 40))
				}
				x, err := strconv.ParseInt(s, 10, 64)
				if err != nil {
					return &requestError{413, viz.ReasonHTTPBodyTooLarge, fmt.Sprintf("Content-Length %s is beyond any limit", truncate(s, 40))}
				}
				if n >= 0 && x != n {
					return &requestError{400, viz.ReasonHTTPAmbiguousLength, fmt.Sprintf("Content-Length values differ (%d and %d): the body's length is ambiguous", n, x)}
				}
				n = x
			}
		}
		if n > lim.bodyBytes {
			return &requestError{413, viz.ReasonHTTPBodyTooLarge, fmt.Sprintf("Content-Length %d is over the limit of %d bytes", n, lim.bodyBytes)}
		}
		h.length, h.hasLength = n, true
	}
	if e := req.Header.Get("Expect"); strings.EqualFold(e, "100-continue") && (h.chunked || h.length > 0) {
		h.expectContinue = true
	}
	return nil
}

// readBody reads the body that head announced into req.Body.
func readBody(br *bufio.Reader, req *Request, h *head, lim limits) error {
	switch {
	case h.chunked:
		return readChunked(br, req, h, lim)
	case h.length > 0:
		body := make([]byte, h.length)
		n, err := io.ReadFull(br, body)
		h.bodyWire = int64(n)
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		if err != nil {
			return err
		}
		req.Body = body
	}
	return nil
}

// readChunked decodes a chunked body (RFC 9112 §7.1):
//
//	chunked-body = *chunk last-chunk trailer-section CRLF
//	chunk        = chunk-size [ chunk-ext ] CRLF chunk-data CRLF
//	last-chunk   = 1*("0") [ chunk-ext ] CRLF
//
// Extensions and trailer fields are read and ignored.
func readChunked(br *bufio.Reader, req *Request, h *head, lim limits) error {
	var body []byte
	for {
		l, n, err := readLine(br, maxChunkLine)
		h.bodyWire += int64(n)
		switch {
		case err == errLineTooLong:
			return badRequest("a chunk-size line is longer than %d bytes", maxChunkLine)
		case err == io.EOF:
			return io.ErrUnexpectedEOF
		case err != nil:
			return err
		}
		sizeStr, _, _ := strings.Cut(string(l), ";")
		sizeStr = strings.TrimRight(sizeStr, " \t") // BWS before an extension
		if sizeStr == "" || len(sizeStr) > 15 || strings.Trim(sizeStr, "0123456789abcdefABCDEF") != "" {
			return badRequest("the chunk size %q is not a hexadecimal number", truncate(sizeStr, 20))
		}
		size, _ := strconv.ParseInt(sizeStr, 16, 64)
		if size == 0 {
			break
		}
		if int64(len(body))+size > lim.bodyBytes {
			return &requestError{413, viz.ReasonHTTPBodyTooLarge, fmt.Sprintf("the chunked body grows over the limit of %d bytes", lim.bodyBytes)}
		}
		start := len(body)
		body = append(body, make([]byte, size)...)
		m, err := io.ReadFull(br, body[start:])
		h.bodyWire += int64(m)
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		if err != nil {
			return err
		}
		l, n, err = readLine(br, 0)
		h.bodyWire += int64(n)
		switch {
		case err == errLineTooLong:
			return badRequest("chunk data is not followed by CRLF (the chunk is longer than its size says)")
		case err == io.EOF:
			return io.ErrUnexpectedEOF
		case err != nil:
			return err
		}
	}
	// The trailer section: field lines up to an empty line, ignored.
	budget := lim.headerBytes
	for {
		l, n, err := readLine(br, budget)
		h.bodyWire += int64(n)
		budget -= n
		switch {
		case err == errLineTooLong || budget < 0:
			return &requestError{431, viz.ReasonHTTPHeaderTooLarge, fmt.Sprintf("the trailer section is larger than %d bytes", lim.headerBytes)}
		case err == io.EOF:
			return io.ErrUnexpectedEOF
		case err != nil:
			return err
		}
		if len(l) == 0 {
			break
		}
		if _, _, perr := parseFieldLine(l); perr != nil {
			return perr
		}
	}
	req.Body = body
	return nil
}

// hostWithoutPort turns "WWW.Example.com:8080" into "www.example.com" and
// "[::1]:80" into "::1".
func hostWithoutPort(s string) string {
	s = strings.ToLower(s)
	if strings.HasPrefix(s, "[") {
		if i := strings.IndexByte(s, ']'); i > 0 {
			return s[1:i]
		}
		return s
	}
	if i := strings.LastIndexByte(s, ':'); i >= 0 && strings.Count(s, ":") == 1 {
		return s[:i]
	}
	return s
}

// validHost checks a Host value (uri-host [ ":" port ]) for bytes that
// have no place in it.
func validHost(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("-._~%!$&'()*+,;=:[]", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// isToken reports whether s is a token (RFC 9110 §5.6.2).
func isToken(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return s != ""
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func isHex(c byte) bool {
	return isDigit(c) || ('a' <= c && c <= 'f') || ('A' <= c && c <= 'F')
}

func unhex(c byte) byte {
	switch {
	case isDigit(c):
		return c - '0'
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
