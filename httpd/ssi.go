package httpd

import (
	"bytes"
	"html"
	"io/fs"
	"net/url"
	"os"
	"path"
	"strconv"
	"strings"
	"time"
)

// ssi.go is rule 9, server-side includes (Apache's mod_include) for
// .shtml files when MapConfig.SSI is on: before the page is sent, each
// directive in it is replaced by what it asks for.
//
//	<!--#include virtual="/footer.html" -->   the body of another URL,
//	    mapped by the same rules (access control included); relative
//	    URLs resolve against this page. include file="x.html" is the same
//	    for a name relative to this page's directory, without "..".
//	<!--#echo var="DATE_LOCAL" -->            a variable, HTML-escaped
//	    unless encoding="none" (or "url") comes before var=
//	<!--#config errmsg="..." -->              the text shown for errors
//
// Variables: DATE_LOCAL, DATE_GMT, DOCUMENT_NAME, DOCUMENT_URI,
// LAST_MODIFIED, QUERY_STRING_UNESCAPED, and the CGI-like QUERY_STRING,
// REMOTE_ADDR, REMOTE_PORT, REMOTE_USER, REQUEST_METHOD, SERVER_NAME,
// SERVER_PORT, SERVER_PROTOCOL, SERVER_SOFTWARE and HTTP_* ones; an
// unknown one echoes "(none)". Dates use Apache's default timefmt
// "%A, %d-%b-%Y %H:%M:%S %Z". exec and the flow-control directives are
// not supported (Apache's IncludesNOEXEC): like any failing directive
// they print Apache's "[an error occurred while processing this
// directive]". Includes nest up to maxInternalDepth, and a page's output
// is bounded by ssiMaxOutputBytes.
//
// An SSI page is built per request, so it has no Last-Modified
// (Resource.ModTime stays zero), as in Apache without XBitHack.

const (
	ssiErrMsg         = "[an error occurred while processing this directive]"
	ssiTimeFormat     = "Monday, 02-Jan-2006 15:04:05 MST"
	ssiMaxOutputBytes = 10 << 20
)

// include processes the SSI page rel (real path real in a real tree),
// served at URL path upath.
func (m *FileMapper) include(req *Request, root *docRoot, upath, rel, real string, info fs.FileInfo, depth int) *Resource {
	src, err := root.readFile(rel, real, info)
	if err != nil {
		return status(500, "read error")
	}
	name, lang := splitLang(path.Base(rel))
	s := &ssiState{m: m, req: req, uri: upath, name: name, mod: info.ModTime(), depth: depth, errmsg: ssiErrMsg}
	s.run(src)
	out := s.out.Bytes()
	return &Resource{
		Status:          200,
		Reason:          "ssi",
		Content:         out,
		ContentType:     m.contentType(upath, name, bytesHead(out)),
		ContentLanguage: lang,
	}
}

// ssiState is one SSI page being processed.
type ssiState struct {
	m      *FileMapper
	req    *Request
	uri    string // DOCUMENT_URI
	name   string // DOCUMENT_NAME
	mod    time.Time
	depth  int
	errmsg string
	out    bytes.Buffer
	full   bool
}

func (s *ssiState) run(src []byte) {
	for len(src) > 0 && !s.full {
		i := bytes.Index(src, []byte("<!--#"))
		if i < 0 {
			s.write(src)
			return
		}
		s.write(src[:i])
		src = src[i+len("<!--#"):]
		j := bytes.Index(src, []byte("-->"))
		if j < 0 {
			s.write([]byte(s.errmsg)) // unterminated directive
			return
		}
		s.directive(string(src[:j]))
		src = src[j+len("-->"):]
	}
}

func (s *ssiState) write(p []byte) {
	if s.full {
		return
	}
	if s.out.Len()+len(p) > ssiMaxOutputBytes {
		p = p[:ssiMaxOutputBytes-s.out.Len()]
		s.full = true
	}
	s.out.Write(p)
}

// directive runs one "name attr=value ..." directive.
func (s *ssiState) directive(text string) {
	text = strings.TrimSpace(text)
	name, rest, _ := strings.Cut(text, " ")
	attrs, ok := parseSSIAttrs(rest)
	if !ok || len(attrs) == 0 {
		s.write([]byte(s.errmsg))
		return
	}
	encoding := "entity"
	for _, a := range attrs {
		ok := false
		switch name + " " + a[0] {
		case "include virtual":
			ok = s.includeURL(a[1], false)
		case "include file":
			ok = s.includeURL(a[1], true)
		case "echo encoding":
			if ok = a[1] == "entity" || a[1] == "none" || a[1] == "url"; ok {
				encoding = a[1]
			}
		case "echo var":
			v := s.variable(a[1])
			switch encoding {
			case "entity":
				v = html.EscapeString(v)
			case "url":
				v = url.PathEscape(v)
			}
			s.write([]byte(v))
			ok = true
		case "config errmsg":
			s.errmsg, ok = a[1], true
		}
		if !ok {
			s.write([]byte(s.errmsg))
		}
	}
}

// parseSSIAttrs reads attr="value" pairs; quotes may be " or ' (or
// none, for a value without spaces).
func parseSSIAttrs(s string) (attrs [][2]string, ok bool) {
	for {
		s = strings.TrimLeft(s, " \t\r\n")
		if s == "" {
			return attrs, true
		}
		eq := strings.IndexByte(s, '=')
		if eq <= 0 {
			return nil, false
		}
		name := strings.ToLower(strings.TrimSpace(s[:eq]))
		s = strings.TrimLeft(s[eq+1:], " \t")
		var value string
		if s != "" && (s[0] == '"' || s[0] == '\'') {
			end := strings.IndexByte(s[1:], s[0])
			if end < 0 {
				return nil, false
			}
			value, s = s[1:1+end], s[2+end:]
		} else {
			end := strings.IndexAny(s, " \t\r\n")
			if end < 0 {
				end = len(s)
			}
			value, s = s[:end], s[end:]
		}
		attrs = append(attrs, [2]string{name, value})
	}
}

// includeURL writes the body of another URL (or, for file, a name in
// this page's directory) mapped as an internal GET.
func (s *ssiState) includeURL(ref string, file bool) bool {
	if s.depth+1 > maxInternalDepth || strings.Contains(strings.ToLower(ref), "%2f") {
		return false
	}
	u, err := url.Parse(ref)
	if err != nil || u.Scheme != "" || u.Host != "" || u.Path == "" {
		return false
	}
	if file {
		for seg := range strings.SplitSeq(u.Path, "/") {
			if seg == ".." {
				return false
			}
		}
		if strings.HasPrefix(u.Path, "/") {
			return false
		}
	}
	if !strings.HasPrefix(u.Path, "/") {
		// Relative to this page, as a browser resolves a link.
		p := path.Join(path.Dir(s.uri), u.Path)
		if strings.HasSuffix(u.Path, "/") && p != "/" {
			p += "/"
		}
		u.Path, u.RawPath = p, ""
	}
	res := s.m.mapDepth(subRequest(s.req, u), s.depth+1)
	if res.Status != 200 {
		return false
	}
	body := res.Content
	if res.File != "" {
		body, err = readFileMax(res.File, maxMemFileBytes)
		if err != nil {
			return false
		}
	}
	s.write(body)
	return true
}

// variable is the value of an echo var.
func (s *ssiState) variable(name string) string {
	now := time.Now
	if s.m.Now != nil {
		now = s.m.Now
	}
	req := s.req
	switch name {
	case "DATE_LOCAL":
		return now().Format(ssiTimeFormat)
	case "DATE_GMT":
		return now().UTC().Format(ssiTimeFormat)
	case "DOCUMENT_NAME":
		return s.name
	case "DOCUMENT_URI":
		return s.uri
	case "LAST_MODIFIED":
		if s.mod.IsZero() {
			return "(none)"
		}
		return s.mod.Format(ssiTimeFormat)
	case "QUERY_STRING_UNESCAPED":
		if q, err := url.QueryUnescape(req.RawQuery); err == nil {
			return q
		}
		return req.RawQuery
	case "QUERY_STRING":
		return req.RawQuery
	case "REMOTE_ADDR":
		if req.RemoteAddr.IsValid() {
			return req.RemoteAddr.Addr().Unmap().String()
		}
	case "REMOTE_PORT":
		if req.RemoteAddr.IsValid() {
			return strconv.Itoa(int(req.RemoteAddr.Port()))
		}
	case "REMOTE_USER":
		if req.User != "" {
			return req.User
		}
	case "REQUEST_METHOD":
		return req.Method
	case "SERVER_NAME":
		return serverName(req)
	case "SERVER_PORT":
		return serverPort(req)
	case "SERVER_PROTOCOL":
		return req.Proto
	case "SERVER_SOFTWARE":
		return s.m.software()
	default:
		if strings.HasPrefix(name, "HTTP_") {
			for _, kv := range httpVars(req) {
				if k, v, _ := strings.Cut(kv, "="); k == name {
					return v
				}
			}
		}
	}
	return "(none)"
}

// readFileMax reads a file of at most max bytes.
func readFileMax(name string, max int64) ([]byte, error) {
	info, err := os.Stat(name)
	if err != nil {
		return nil, err
	}
	if info.Size() > max {
		return nil, fs.ErrInvalid
	}
	return os.ReadFile(name)
}
