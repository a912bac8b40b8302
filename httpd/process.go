package httpd

import (
	"fmt"
	"net/textproto"
	"strconv"
	"strings"

	"github.com/packetwalk/packetwalk/viz"
)

// transaction is one request and its response, as it goes through steps 3
// to 7.
type transaction struct {
	req  *Request
	head *head
	// closeAs is the reason CloseCounts gives if the connection closes
	// after this response; "" is CloseResponse.
	closeAs string

	forceClose bool   // steps 1 to 3 decided the connection must close
	closeWhy   string // and why

	// Filled by steps 5 and 6.
	status      int
	vhost       string
	keep        bool
	keepWhy     string
	headerBytes int
	bodyBytes   int64 // body bytes written (the log's %b)
	sendErr     error
}

// allowedMethods is what the server as a whole allows: the Allow of
// "OPTIONS *", and of a resource whose Mapper says nothing of its own.
// A FileMapper's resources say what they accept (staticAllow, cgiAllow).
const allowedMethods = "GET, HEAD, POST, OPTIONS"

// serveRequest runs steps 3 to 7 for a request that step 2 read; buffered
// is how many bytes of further (pipelined) requests are already waiting.
// It reports whether the connection stays open.
func (c *conn) serveRequest(req *Request, h *head, buffered int) bool {
	c.logReceive(req, h, buffered)
	if c.upgradeH2(req, h) { // Upgrade: h2c (h2.go)
		return true
	}
	tx := &transaction{req: req, head: h}
	return c.finish(tx, c.resourceFor(tx))
}

// resourceFor runs steps 3 and 4: the Resource step 5 builds.
func (c *conn) resourceFor(tx *transaction) *Resource {
	req := tx.req
	if c.denied {
		tx.forceClose, tx.closeWhy = true, "the client's address is refused"
		return &Resource{Status: 403, Reason: "address denied (step 1)"}
	}
	res := c.process(tx)
	if res == nil {
		res = c.mapResource(tx)
		if req.Method == "OPTIONS" && res.Status >= 200 && res.Status < 300 && res.Header.Get("Allow") == "" {
			// A Mapper that does not know OPTIONS mapped it like a GET:
			// answer for the server as a whole, as step 3 does for "*".
			res = &Resource{Status: 204, Reason: "options", Header: textproto.MIMEHeader{"Allow": {allowedMethods}}, VHost: res.VHost}
		}
	}
	return res
}

// logReceive is the receive step of a request read in full.
func (c *conn) logReceive(req *Request, h *head, buffered int) {
	st := c.st()
	if !st.on() {
		return
	}
	body := "no body"
	switch {
	case h.chunked:
		body = fmt.Sprintf("a chunked body of %d bytes (%d on the wire)", len(req.Body), h.bodyWire)
	case h.hasLength:
		body = fmt.Sprintf("a body of %d bytes", len(req.Body))
	}
	// Joined with + rather than fmt.Sprintf: one allocation, and this
	// step is logged for every request (%q is strconv.Quote).
	msg := "read " + strconv.Quote(h.requestLine) + ": " + strconv.Itoa(h.fields) + " header field(s), " + body + "."
	if buffered > 0 {
		msg = fmt.Sprintf("read %q: %d header field(s), %s; %d bytes of a pipelined request wait behind it.", h.requestLine, h.fields, body, buffered)
	}
	fields := []viz.Field{
		viz.F("method", req.Method), viz.F("target", req.Target), viz.F("path", req.Path),
		viz.F("proto", req.Proto), viz.F("host", req.Host),
		viz.F("headers", strconv.Itoa(h.fields)), viz.F("head_bytes", strconv.Itoa(h.headBytes)),
		viz.F("body_bytes", strconv.Itoa(len(req.Body))),
	}
	if buffered > 0 {
		fields = append(fields, viz.F("pipelined_bytes", strconv.Itoa(buffered)))
	}
	st.emit(c.id, "receive", viz.Pass, "", msg, c.archFields(fields)...)
}

// Step 3, process: what does the method ask for? Methods this server
// answers itself (OPTIONS) or refuses come back as a Resource; nil sends
// the request on to step 4.
func (c *conn) process(tx *transaction) *Resource {
	req, h := tx.req, tx.head
	st := c.st()
	pass := func(msg string) {
		if st.on() {
			st.emit(c.id, "process", viz.Pass, "", msg, viz.F("method", req.Method), viz.F("path", req.Path))
		}
	}
	refuse := func(status int, reason viz.Reason, msg string, res *Resource) *Resource {
		if st.on() {
			st.emit(c.id, "process", viz.Drop, reason, msg, viz.F("method", req.Method), viz.F("path", req.Path),
				viz.F("status", strconv.Itoa(status)))
		}
		res.Status = status
		return res
	}
	allow := func() textproto.MIMEHeader { return textproto.MIMEHeader{"Allow": {allowedMethods}} }

	switch req.Method {
	case "GET", "HEAD":
		what := "the resource"
		if req.Method == "HEAD" {
			what = "the headers of the resource"
		}
		msg := req.Method + " asks for " + what + " " + req.Path + "." // not fmt: see logReceive
		if len(req.Body) > 0 {
			// RFC 9110 §9.3.1: a body on GET has no defined meaning.
			msg = fmt.Sprintf("%s asks for %s %s; its %d-byte body was read and is ignored.", req.Method, what, req.Path, len(req.Body))
		}
		pass(msg)
		return nil
	case "POST":
		if !h.chunked && !h.hasLength {
			tx.forceClose, tx.closeWhy = true, "a POST without a length leaves its body's end unknown"
			return refuse(411, viz.ReasonHTTPLengthRequired,
				"POST without Content-Length or a chunked body: its end cannot be found; answering 411 Length Required.",
				&Resource{Reason: "length required"})
		}
		pass(fmt.Sprintf("POST sends %d bytes to %s.", len(req.Body), req.Path))
		return nil
	case "OPTIONS":
		if req.Path == "*" {
			pass(fmt.Sprintf("OPTIONS * asks what the server allows: %s; answered here, without mapping (RFC 9110 §9.3.7).", allowedMethods))
			return &Resource{Status: 204, Reason: "options", Header: allow()}
		}
		// What a resource accepts is the Mapper's to say: a file takes
		// GET and HEAD, a CGI program POST too (RFC 9110 §9.3.7).
		pass(fmt.Sprintf("OPTIONS asks what %s allows; step 4 maps it to say.", req.Path))
		return nil
	case "TRACE", "PUT", "DELETE", "PATCH", "CONNECT":
		// TRACE would echo the request, cookies and credentials
		// included, into a response script can read: refused, as most
		// servers do. The Allow is the resource's own, the one OPTIONS
		// shows (RFC 9110 §15.5.6).
		allowed := c.allowFor(req)
		return refuse(405, viz.ReasonHTTPMethodNotAllowed,
			fmt.Sprintf("%s is a known method that this server does not allow (Allow: %s); answering 405.", req.Method, allowed),
			&Resource{Reason: "method not allowed", Header: textproto.MIMEHeader{"Allow": {allowed}}})
	}
	return refuse(501, viz.ReasonHTTPNotImplemented,
		fmt.Sprintf("the method %s is unknown to this server; answering 501 Not Implemented.", truncate(req.Method, 40)),
		&Resource{Reason: "method not implemented"})
}

// allowFor asks the Mapper what the resource of req accepts, by mapping
// an OPTIONS request for it (which runs no program); the server's own
// list if the Mapper does not say.
func (c *conn) allowFor(req *Request) string {
	if req.Path == "" || req.Path[0] != '/' {
		return allowedMethods
	}
	probe := *req
	probe.Method, probe.Body = "OPTIONS", nil
	res, panicked := c.callMapper(&probe)
	if panicked != nil || res == nil || res.Header.Get("Allow") == "" {
		return allowedMethods
	}
	return res.Header.Get("Allow")
}

// Step 4, map: the Mapper (map.go and its helpers) decides the resource;
// the step is logged here, around the call.
func (c *conn) mapResource(tx *transaction) *Resource {
	res, panicked := c.callMapper(tx.req)
	switch {
	case panicked != nil:
		c.s.errorLog("", c.remote, fmt.Sprintf("the mapper failed on %s: %v", tx.req.Path, panicked))
		res = &Resource{Status: 500, Reason: "mapper failed"}
	case res == nil:
		c.s.errorLog("", c.remote, "the mapper returned no resource for "+tx.req.Path)
		res = &Resource{Status: 500, Reason: "no resource"}
	}
	if res.Status == 0 {
		res.Status = 200
	}
	if st := c.st(); st.on() {
		var to string
		switch {
		case res.Location != "":
			to = " to a redirect to " + res.Location
		case res.File != "":
			to = " to the file " + res.File
		case res.Content != nil:
			to = " to " + builtBody(res)
		}
		msg := "mapped " + tx.req.Path + to + ": " + strconv.Itoa(res.Status) + " " + statusText(res.Status) + " (" + res.Reason + ")." // not fmt: see logReceive
		fields := []viz.Field{viz.F("status", strconv.Itoa(res.Status)), viz.F("reason", res.Reason)}
		for _, f := range []viz.Field{
			viz.F("file", res.File), viz.F("vhost", res.VHost), viz.F("type", res.ContentType),
			viz.F("location", res.Location), viz.F("user", tx.req.User),
		} {
			if f.Value() != "" {
				fields = append(fields, f)
			}
		}
		st.emit(c.id, "map", viz.Pass, "", msg, fields...)
	}
	return res
}

// builtBody says what a body the mapper built is, for the map step: a
// listing, a CGI program's output, a page with its includes done, or an
// error page, with its size.
func builtBody(res *Resource) string {
	n := strconv.Itoa(len(res.Content)) + " bytes"
	switch {
	case res.Reason == "listing":
		return "a directory listing (" + n + ")"
	case res.Reason == "cgi":
		return "a CGI program's output (" + n + ")"
	case res.Reason == "ssi":
		return "the page with its server-side includes done (" + n + ")"
	case res.Status >= 400:
		return "an error page (" + n + ")"
	case res.Reason == "file":
		// A site in an fs.FS (the embedded demo site) has no file
		// name on disk: its file's bytes are the body.
		return "a file of the embedded site (" + n + ")"
	case strings.HasPrefix(res.Reason, "directory index"):
		return "the directory's index file, from the embedded site (" + n + ")"
	}
	return n + " the server made"
}

// callMapper calls the Mapper, turning a panic into a value: one bad
// request must not take the server down.
func (c *conn) callMapper(req *Request) (res *Resource, panicked any) {
	defer func() {
		if p := recover(); p != nil {
			res, panicked = nil, p
		}
	}()
	return c.s.m.Map(req), nil
}

// hasToken reports whether a comma-separated header (Connection) holds
// token, case-insensitively.
func hasToken(values []string, token string) bool {
	for _, v := range values {
		for _, t := range strings.Split(v, ",") {
			if strings.EqualFold(strings.Trim(t, " \t"), token) {
				return true
			}
		}
	}
	return false
}
