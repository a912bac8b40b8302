package httpd

import (
	"cmp"
	"errors"
	"fmt"
	"html"
	"io"
	"io/fs"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/packetwalk/packetwalk/viz"
)

// Steps 5 and 6: build the response message from the Resource step 4
// decided, and write it to the connection.

// response is a built response message, ready to write.
type response struct {
	status int
	fields []field   // header fields, in the order they are written
	body   []byte    // Content, or a generated page
	file   *os.File  // or a file to copy
	length int64     // Content-Length; -1 for none (1xx, 204, 304)
	noBody bool      // write the header only (HEAD, 204, 304)
	source string    // where the body comes from, for the step log
	modAt  time.Time // Last-Modified, zero if unknown
	pieces []piece   // a 206 body: pieces of the source and literal part headers; nil for the whole
}

type field struct{ name, value string }

// httpTimeFormat is the IMF-fixdate of RFC 9110 §5.6.7.
const httpTimeFormat = "Mon, 02 Jan 2006 15:04:05 GMT"

// finish runs steps 5, 6 and 7 and reports whether the connection stays
// open.
func (c *conn) finish(tx *transaction, res *Resource) bool {
	r := c.build(tx, res)
	c.send(tx, r)
	c.logTransaction(tx)
	switch {
	case tx.keep:
	case tx.sendErr != nil:
		c.s.closes.add(CloseSendFailed)
	case tx.closeAs != "":
		c.s.closes.add(tx.closeAs)
	default:
		c.s.closes.add(CloseResponse)
	}
	return tx.keep
}

// Step 5, respond: the status line and header fields, and where the body
// comes from.
func (c *conn) build(tx *transaction, res *Resource) *response {
	cfg := &c.s.cfg
	req := tx.req
	if res.Status == 0 {
		res.Status = 200
	}
	tx.vhost = res.VHost
	r := &response{status: res.Status, length: -1, modAt: res.ModTime}

	// The body's source: a file opened now, bytes from step 4, or a small
	// page the server writes for errors and redirects.
	switch {
	case res.File != "":
		f, size, modAt, err := openFile(res.File)
		if err != nil {
			status := 500
			switch {
			case errors.Is(err, fs.ErrNotExist):
				status = 404
			case errors.Is(err, fs.ErrPermission):
				status = 403
			}
			c.s.errorLog(res.VHost, c.remote, fmt.Sprintf("cannot open %s for %s: %v", res.File, req.Path, err))
			res = &Resource{Status: status, Reason: "cannot open file", VHost: res.VHost}
			r = &response{status: status, length: -1}
			r.body, r.source = errorPage(status, req, res), "error page"
			break
		}
		r.file, r.length, r.source = f, size, "file "+res.File
		if r.modAt.IsZero() {
			r.modAt = modAt
		}
	case res.Content != nil:
		r.body, r.source = res.Content, builtBody(res)+", as step 4 mapped it"
	case res.Status >= 300 && res.Status != 304:
		r.body, r.source = errorPage(res.Status, req, res), "error page"
	default:
		r.source = "none"
	}
	if r.status >= 500 {
		c.s.errorLog(res.VHost, c.remote, fmt.Sprintf("%d %s for %q (%s)", r.status, statusText(r.status), tx.head.requestLine, res.Reason))
	}
	if r.file == nil {
		r.length = int64(len(r.body))
	}

	lastMod := r.modAt
	if lm := res.Header.Get("Last-Modified"); lm != "" {
		if t, ok := parseHTTPDate(lm); ok {
			lastMod = t
		}
	}
	ct := res.ContentType
	if ct == "" {
		ct = res.Header.Get("Content-Type")
	}
	switch {
	case r.source == "error page":
		ct = "text/html; charset=utf-8"
	case ct == "" && r.length > 0:
		ct = "application/octet-stream"
	}
	rep := c.represent(tx, res, r, ct, lastMod)
	switch {
	case r.source == "error page": // 412, 416
		ct = "text/html; charset=utf-8"
	case rep.ctype != "":
		ct = rep.ctype
	}
	switch {
	case r.status < 200 || r.status == 204 || r.status == 304:
		// RFC 9110 §8.6, §15.3.5, §15.4.5: no content, no Content-Length.
		r.noBody, r.length = true, -1
	case req.Method == "HEAD":
		r.noBody = true // but the real Content-Length
	}
	if r.noBody && r.file != nil {
		r.file.Close()
		r.file = nil
	}
	tx.status = r.status

	// Step 6's decision shapes the header: keep the connection or close.
	tx.keep, tx.keepWhy = c.decideKeep(tx)

	// The header fields.
	add := func(name, value string) { r.fields = append(r.fields, field{name, value}) }
	add("Date", dateText.format(cfg.Now().UTC())) // remembered per second (timetext.go)
	add("Server", cfg.ServerSoftware)
	if res.Location != "" {
		add("Location", res.Location)
	}
	if !lastMod.IsZero() && res.Header.Get("Last-Modified") == "" && (r.status < 300 || r.status == 304) {
		add("Last-Modified", lastModText.format(lastMod.UTC()))
	}
	if rep.etag != "" && (r.status == 200 || r.status == 206 || r.status == 304) {
		add("ETag", rep.etag) // a 304 carries it too (RFC 9110 §15.4.5)
	}
	if rep.acceptRanges && r.status != 304 {
		add("Accept-Ranges", "bytes") // RFC 9110 §14.3
	}
	if rep.contentRange != "" {
		add("Content-Range", rep.contentRange)
	}
	if r.length >= 0 { // not for 1xx, 204 and 304
		if ct != "" {
			add("Content-Type", ct)
		}
		if res.ContentLanguage != "" && r.source != "error page" {
			add("Content-Language", res.ContentLanguage)
		}
		if rep.gzip {
			add("Content-Encoding", "gzip")
		}
		add("Content-Length", strconv.FormatInt(r.length, 10))
	}
	// Step 4's extra fields (WWW-Authenticate, Vary, a CGI script's),
	// except those that describe the message's framing or the
	// connection: those are this step's and step 6's to decide.
	names := make([]string, 0, len(res.Header))
	for name := range res.Header {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		switch name {
		case "Content-Length", "Transfer-Encoding", "Connection", "Keep-Alive", "Date", "Server", "Status",
			"Content-Type", "Location", "Upgrade", "Trailer", "Te", "Proxy-Connection":
			continue
		}
		if r.status == 304 && (name == "Content-Language" || name == "Content-Encoding") {
			continue
		}
		if rep.etag != "" && name == "Etag" {
			continue // step 5 made the ETag: above
		}
		for _, v := range res.Header[name] {
			add(name, v)
		}
	}
	if rep.vary && (r.status == 200 || r.status == 206 || r.status == 304) {
		// The body depends on Accept-Encoding, so a cache must key on it
		// (RFC 9110 §12.5.5); joined to the Vary step 4 may have set.
		joined := false
		for i := range r.fields {
			if r.fields[i].name == "Vary" {
				r.fields[i].value += ", Accept-Encoding"
				joined = true
				break
			}
		}
		if !joined {
			add("Vary", "Accept-Encoding")
		}
	}
	if res.Location == "" && res.Header.Get("Location") != "" {
		add("Location", res.Header.Get("Location"))
	}
	switch {
	case !tx.keep:
		add("Connection", "close")
	case req.ProtoMinor == 0:
		// HTTP/1.0 keep-alive (RFC 2068 §19.7.1): persistence is
		// only agreed when the server says so, with its terms.
		add("Connection", "Keep-Alive")
		seconds := int((cfg.KeepAliveTimeout + time.Second - 1) / time.Second) // rounded up: never "timeout=0"
		add("Keep-Alive", fmt.Sprintf("timeout=%d, max=%d", seconds, cfg.KeepAliveMax-c.served-1))
	}

	if st := c.st(); st.on() {
		length := "no Content-Length"
		if r.length >= 0 {
			length = "Content-Length " + strconv.FormatInt(r.length, 10)
		}
		// Joined with + rather than fmt.Sprintf: see logReceive.
		msg := "built " + strconv.Itoa(r.status) + " " + statusText(r.status) + " with " + length + "; body: " + r.source + "."
		switch {
		case r.status == 304:
			msg = "built 304 Not Modified: the client's copy is current, so no body."
		case req.Method == "HEAD" && r.noBody && r.length >= 0:
			msg = fmt.Sprintf("built %d %s for HEAD: headers only, with the real Content-Length %d.", r.status, statusText(r.status), r.length)
		}
		fields := []viz.Field{viz.F("status", strconv.Itoa(r.status)), viz.F("length", strconv.FormatInt(r.length, 10)), viz.F("source", r.source)}
		// The fields say what the header above carries: a 412 or 416
		// replaced the file by an error page, which goes as text/html
		// without the file's ETag and Last-Modified.
		if res.ContentType != "" {
			t := cmp.Or(rep.ctype, res.ContentType)
			if r.source == "error page" {
				t = ct
			}
			fields = append(fields, viz.F("type", t))
		}
		if rep.gzip {
			fields = append(fields, viz.F("encoding", "gzip"))
		}
		if rep.etag != "" && (r.status == 200 || r.status == 206 || r.status == 304) {
			fields = append(fields, viz.F("etag", rep.etag))
		}
		if res.Location != "" {
			fields = append(fields, viz.F("location", res.Location))
		}
		if !lastMod.IsZero() && (r.status < 300 || r.status == 304) {
			fields = append(fields, viz.F("last_modified", lastModText.format(lastMod.UTC())))
		}
		st.emit(c.id, "respond", viz.Pass, "", msg, fields...)
	}
	return r
}

// openFile opens a regular file for step 5.
func openFile(path string) (*os.File, int64, time.Time, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, time.Time{}, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, time.Time{}, err
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, 0, time.Time{}, fmt.Errorf("%s is not a regular file", path)
	}
	return f, fi.Size(), fi.ModTime(), nil
}

// decideKeep is step 6's question: may the connection carry another
// request?
func (c *conn) decideKeep(tx *transaction) (bool, string) {
	cfg := &c.s.cfg
	req := tx.req
	conn := req.Header.Values("Connection")
	switch {
	case tx.forceClose:
		return false, tx.closeWhy
	case cfg.DisableKeepAlive:
		return false, "persistent connections are off (KeepAlive Off)"
	case c.s.isClosing():
		return false, "the server is shutting down"
	case hasToken(conn, "close"):
		return false, "the client sent Connection: close"
	case req.ProtoMinor == 0 && !hasToken(conn, "keep-alive"):
		return false, "HTTP/1.0 without Connection: Keep-Alive ends with the response"
	case c.served+1 >= cfg.KeepAliveMax:
		return false, fmt.Sprintf("the connection has carried its maximum of %d requests", cfg.KeepAliveMax)
	case req.ProtoMinor == 0:
		return true, "HTTP/1.0 with Connection: Keep-Alive"
	}
	return true, "HTTP/1.1 connections are persistent by default"
}

// Step 6, send: write the status line, the header fields and the body.
func (c *conn) send(tx *transaction, r *response) {
	var b strings.Builder
	fmt.Fprintf(&b, "HTTP/1.1 %d %s\r\n", r.status, statusText(r.status))
	for _, f := range r.fields {
		b.WriteString(f.name)
		b.WriteString(": ")
		b.WriteString(f.value)
		b.WriteString("\r\n")
	}
	b.WriteString("\r\n")
	head := b.String()

	// Said before writing: the write sends the segments, whose steps must
	// come after the step that caused them. A failure is told after.
	st := c.st()
	if st.on() {
		next := "keeping the connection for the next request"
		if !tx.keep {
			next = "closing the connection after it"
		}
		body := strconv.FormatInt(r.bodySize(), 10)
		st.emit(c.id, "send", viz.Send, "",
			"writes "+strconv.Itoa(r.status)+" "+statusText(r.status)+": "+strconv.Itoa(len(head))+" header bytes and "+
				body+" body bytes; "+next+" ("+tx.keepWhy+").", // not fmt: see logReceive
			c.archFields([]viz.Field{viz.F("status", strconv.Itoa(r.status)), viz.F("header_bytes", strconv.Itoa(len(head))), viz.F("body_bytes", body),
				viz.F("keep", yesNo(tx.keep)), viz.F("why", tx.keepWhy), viz.F("requests", strconv.Itoa(c.served+1))})...)
	}

	c.armWriteDeadline()
	n, err := c.bw.WriteString(head)
	var body int64
	if err == nil && !r.noBody {
		if r.pieces != nil {
			body, err = c.writePieces(r)
		} else if r.file != nil {
			body, err = io.CopyN(c.bw, r.file, r.length)
			if err == io.EOF {
				err = fmt.Errorf("the file shrank while being sent (%d of %d bytes)", body, r.length)
			}
		} else {
			var m int
			m, err = c.bw.Write(r.body)
			body = int64(m)
		}
	}
	if err == nil {
		err = c.bw.Flush()
	}
	if r.file != nil {
		r.file.Close()
	}
	c.served++
	tx.headerBytes, tx.bodyBytes, tx.sendErr = n, body, err

	if err != nil {
		tx.keep, tx.keepWhy = false, "the response could not be written"
		c.s.errorLog(tx.vhost, c.remote, fmt.Sprintf("sending %d for %q failed: %v", r.status, tx.head.requestLine, err))
		if st.on() {
			st.emit(c.id, "send", viz.Drop, viz.ReasonHTTPSendFailed,
				fmt.Sprintf("writing %d %s failed after %d bytes: %v; closing.", r.status, statusText(r.status), int64(n)+body, err),
				viz.F("status", strconv.Itoa(r.status)), viz.F("bytes", strconv.FormatInt(int64(n)+body, 10)), viz.F("keep", "no"))
		}
		return
	}
}

// bodySize is how many body bytes send writes.
func (r *response) bodySize() int64 {
	switch {
	case r.noBody:
		return 0
	case r.pieces != nil:
		var n int64
		for _, p := range r.pieces {
			if p.lit != nil {
				n += int64(len(p.lit))
			} else {
				n += p.n
			}
		}
		return n
	case r.file != nil:
		return r.length
	}
	return int64(len(r.body))
}

// writePieces writes a 206 body: each piece is literal bytes or a
// section of the file or of the body.
func (c *conn) writePieces(r *response) (int64, error) {
	var written int64
	for _, p := range r.pieces {
		var n int64
		var err error
		switch {
		case p.lit != nil:
			var m int
			m, err = c.bw.Write(p.lit)
			n = int64(m)
		case r.file != nil:
			n, err = io.Copy(c.bw, io.NewSectionReader(r.file, p.off, p.n))
			if err == nil && n < p.n {
				err = fmt.Errorf("the file shrank while being sent (%d of %d bytes from offset %d)", n, p.n, p.off)
			}
		default:
			var m int
			m, err = c.bw.Write(r.body[p.off : p.off+p.n])
			n = int64(m)
		}
		written += n
		if err != nil {
			return written, err
		}
	}
	return written, nil
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// errorPage is the small HTML body of an error or redirect response that
// step 4 gave no content for.
func errorPage(status int, req *Request, res *Resource) []byte {
	text := statusText(status)
	var say string
	switch status {
	case 301, 302, 303, 307, 308:
		loc := res.Location
		if loc == "" {
			loc = res.Header.Get("Location")
		}
		say = fmt.Sprintf(`The document has moved <a href="%s">here</a>.`, html.EscapeString(loc))
	case 400:
		say = "Your browser sent a request that this server could not understand."
	case 401:
		say = "This server could not verify that you are authorized to access the document requested."
	case 403:
		say = "You don't have permission to access this resource."
	case 404:
		say = fmt.Sprintf("The requested URL %s was not found on this server.", html.EscapeString(req.Path))
	case 405:
		say = fmt.Sprintf("The method %s is not allowed for this URL.", html.EscapeString(req.Method))
	case 408:
		say = "The server timed out waiting for the request."
	case 412:
		say = "A precondition of the request (If-Match, If-Unmodified-Since or If-None-Match) does not hold for the current resource."
	case 416:
		say = "None of the requested ranges lies inside the resource."
	case 411:
		say = "A request of this method requires a valid Content-Length."
	case 413:
		say = "The request body is larger than this server accepts."
	case 414:
		say = "The request line is longer than this server accepts."
	case 431:
		say = "The request's header fields are larger than this server accepts."
	case 500:
		say = "The server met an internal error and could not complete your request."
	case 501:
		say = "This server does not implement what the request asks for."
	case 503:
		say = "The server is temporarily unable to serve your request. Please try again later."
	case 505:
		say = "This server speaks HTTP/1.0 and HTTP/1.1."
	default:
		say = text + "."
	}
	return []byte(fmt.Sprintf("<!DOCTYPE html>\n<html><head><title>%d %s</title></head>\n<body><h1>%s</h1>\n<p>%s</p>\n</body></html>\n",
		status, text, text, say))
}

// parseHTTPDate reads the three date formats of RFC 9110 §5.6.7.
func parseHTTPDate(s string) (time.Time, bool) {
	if s == "" {
		return time.Time{}, false
	}
	for _, layout := range []string{httpTimeFormat, "Monday, 02-Jan-06 15:04:05 GMT", "Mon Jan _2 15:04:05 2006"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// statusText is the reason phrase of a status code (RFC 9110 §15).
func statusText(code int) string {
	if t, ok := statusTexts[code]; ok {
		return t
	}
	switch {
	case code < 200:
		return "Informational"
	case code < 300:
		return "Success"
	case code < 400:
		return "Redirection"
	case code < 500:
		return "Client Error"
	}
	return "Server Error"
}

var statusTexts = map[int]string{
	100: "Continue", 101: "Switching Protocols",
	200: "OK", 201: "Created", 202: "Accepted", 203: "Non-Authoritative Information", 204: "No Content",
	205: "Reset Content", 206: "Partial Content",
	300: "Multiple Choices", 301: "Moved Permanently", 302: "Found", 303: "See Other", 304: "Not Modified",
	307: "Temporary Redirect", 308: "Permanent Redirect",
	400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed",
	406: "Not Acceptable", 408: "Request Timeout", 409: "Conflict", 410: "Gone", 411: "Length Required",
	412: "Precondition Failed", 413: "Content Too Large", 414: "URI Too Long", 415: "Unsupported Media Type",
	416: "Range Not Satisfiable", 417: "Expectation Failed", 421: "Misdirected Request", 422: "Unprocessable Content",
	426: "Upgrade Required", 428: "Precondition Required", 429: "Too Many Requests",
	431: "Request Header Fields Too Large",
	500: "Internal Server Error", 501: "Not Implemented", 502: "Bad Gateway", 503: "Service Unavailable",
	504: "Gateway Timeout", 505: "HTTP Version Not Supported",
}
