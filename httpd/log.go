package httpd

import (
	"io"
	"net/netip"
	"strconv"
	"strings"

	"github.com/packetwalk/packetwalk/viz"
)

// Step 7, log: one line per transaction in the access log, in the Common
// Log Format of the NCSA server (Apache's "common"):
//
//	127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 200 2326
//	host      ident user  time the request arrived  request line            status body bytes
//
// or the Combined format, which adds the Referer and User-Agent headers:
//
//	... 200 2326 "http://www.example.com/start.html" "Mozilla/4.08"
//
// The ident field is the RFC 1413 answer of step 1, the user the one Basic
// authentication found in step 4; "-" stands for anything unknown. Quotes,
// backslashes and control bytes are escaped, so a request line cannot
// forge a log line.

// clfTimeFormat is the access log's time stamp: [10/Oct/2000:13:55:36 -0700].
const clfTimeFormat = "02/Jan/2006:15:04:05 -0700"

// errorLogTimeFormat is the error log's: [Wed Oct 11 14:32:52 2000].
const errorLogTimeFormat = "Mon Jan 02 15:04:05 2006"

func (c *conn) logTransaction(tx *transaction) {
	s := c.s
	w, msg := s.cfg.AccessLog, "logged the transaction in the access log ("+s.cfg.LogFormat+" format)."
	if tx.vhost != "" {
		if vw, ok := s.cfg.VHostLogs[tx.vhost]; ok {
			w, msg = vw, "logged the transaction in the access log of "+tx.vhost+" ("+s.cfg.LogFormat+" format)."
		}
	}
	st := c.st()
	if w == nil && !st.on() {
		return // no log to write and nobody watching: no line to format
	}
	line := s.accessLine(tx)
	if w != nil {
		s.logMu.Lock()
		io.WriteString(w, line+"\n")
		s.logMu.Unlock()
	} else {
		msg = "formatted the transaction's log line (" + s.cfg.LogFormat + " format); no access log is configured."
	}
	if st.on() {
		fields := []viz.Field{viz.F("line", line), viz.F("status", strconv.Itoa(tx.status)), viz.F("bytes", strconv.FormatInt(tx.bodyBytes, 10))}
		if tx.vhost != "" {
			fields = append(fields, viz.F("vhost", tx.vhost))
		}
		st.emit(c.id, "log", viz.Note, "", msg, fields...)
	}
}

// accessLine formats one transaction in the configured log format.
func (s *Server) accessLine(tx *transaction) string {
	req := tx.req
	host := req.RemoteHost
	if host == "" {
		host = "-"
		if req.RemoteAddr.IsValid() {
			host = req.RemoteAddr.Addr().String()
		}
	}
	at := req.Received
	if at.IsZero() {
		at = s.cfg.Now()
	}
	requestLine := "-"
	if tx.head != nil && tx.head.requestLine != "" {
		requestLine = tx.head.requestLine
	}
	bytes := "-"
	if tx.bodyBytes > 0 {
		bytes = strconv.FormatInt(tx.bodyBytes, 10)
	}
	var b strings.Builder
	b.WriteString(logWord(host))
	b.WriteByte(' ')
	b.WriteString(logWord(req.Ident))
	b.WriteByte(' ')
	b.WriteString(logWord(req.User))
	b.WriteString(" [")
	b.WriteString(clfText.format(at)) // remembered per second (timetext.go)
	b.WriteString("] \"")
	b.WriteString(logEscape(requestLine))
	b.WriteString("\" ")
	b.WriteString(strconv.Itoa(tx.status))
	b.WriteByte(' ')
	b.WriteString(bytes)
	if s.cfg.LogFormat == "combined" {
		b.WriteString(" \"")
		b.WriteString(logEscape(orDash(req.Header.Get("Referer"))))
		b.WriteString("\" \"")
		b.WriteString(logEscape(orDash(req.Header.Get("User-Agent"))))
		b.WriteByte('"')
	}
	return b.String()
}

// errorLog writes a line to the error log (of the virtual host, if it has
// one): 5xx responses, requests that could not be read, refused clients,
// failed lookups and sends.
//
//	[Wed Oct 11 14:32:52 2000] [error] [client 127.0.0.1:49152] 400 Bad Request: ...
func (s *Server) errorLog(vhost string, client netip.AddrPort, msg string) {
	w := s.cfg.ErrorLog
	if vhost != "" {
		if vw, ok := s.cfg.VHostErrorLogs[vhost]; ok {
			w = vw
		}
	}
	if w == nil {
		return
	}
	who := ""
	if client.IsValid() {
		who = "[client " + client.String() + "] "
	}
	line := "[" + s.cfg.Now().Format(errorLogTimeFormat) + "] [error] " + who + escapeControls(msg) + "\n"
	s.logMu.Lock()
	io.WriteString(w, line)
	s.logMu.Unlock()
}

// logWord is a field without quotes around it: "-" when empty, and no
// blank may split it.
func logWord(s string) string {
	if s == "" {
		return "-"
	}
	s = logEscape(s)
	return strings.ReplaceAll(s, " ", `\x20`)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// logEscape escapes what could forge or break a log line, as Apache's
// ap_escape_logitem does: " and \ get a backslash, control bytes and
// bytes beyond ASCII become \xhh.
func logEscape(s string) string { return escapeLog(s, true) }

// escapeControls escapes only control bytes and bytes beyond ASCII: for
// the error log, whose message is not a quoted field.
func escapeControls(s string) string { return escapeLog(s, false) }

func escapeLog(s string, quotes bool) string {
	special := func(c byte) bool { return c < ' ' || c >= 0x7f || quotes && (c == '"' || c == '\\') }
	clean := true
	for i := 0; i < len(s); i++ {
		if special(s[i]) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	const hex = "0123456789abcdef"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case !special(c):
			b.WriteByte(c)
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c < ' ' || c >= 0x7f:
			b.WriteString(`\x`)
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
		}
	}
	return b.String()
}
