package httpd

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"errors"
	"net/textproto"
	"net/url"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// cgi.go is rule 6, dynamic content by the Common Gateway Interface (RFC
// 3875): the server runs a program for the request, passes the request
// in meta-variables (environment) and the body on standard input, and
// reads a CGI response from standard output:
//
//	Status: 404 Not Found          optional, default 200 (302 with Location)
//	Content-Type: text/html        required for a document
//	Location: /other or http://... a local redirect (re-mapped here as a
//	                               GET) or a client redirect
//	other headers                  passed on to the client
//	(blank line, then the body)
//
// A program is a file with one of MapConfig.CGIExtensions in a real
// docroot (path segments after it become PATH_INFO), or any file under
// a MapConfig.ScriptAliases prefix. It runs in its own directory with
// only the meta-variables and PATH, for at most MapConfig.CGITimeout
// (then it and its process group are killed: 504 "cgi timeout"), and
// may print at most cgiMaxOutputBytes (502 "cgi output too large").

const (
	defaultCGITimeout = 10 * time.Second
	cgiMaxOutputBytes = 10 << 20
	cgiMaxHeaderBytes = 64 << 10
	cgiMaxStderrBytes = 64 << 10
	// cgiWaitDelay bounds the wait for a killed program's pipes, which a
	// child it left behind may hold open.
	cgiWaitDelay = 2 * time.Second
	cgiPath      = "/usr/local/bin:/usr/bin:/bin"
)

// isCGI reports whether a file name has a CGI extension.
func (m *FileMapper) isCGI(rel string) bool {
	return len(m.cgiExt) > 0 && m.cgiExt[strings.ToLower(path.Ext(rel))]
}

// cgiWithPathInfo looks for a CGI program among the leading segments of
// rest ("/app.cgi" in "/app.cgi/a/b"); what follows it is PATH_INFO.
// nil if there is none.
func (m *FileMapper) cgiWithPathInfo(req *Request, root *docRoot, base, rest string, depth int) *Resource {
	if len(m.cgiExt) == 0 {
		return nil
	}
	segs := strings.Split(relName(rest), "/")
	for i := 1; i < len(segs); i++ {
		prefix := strings.Join(segs[:i], "/")
		info, real, err := root.stat(prefix)
		if err != nil {
			return statError(err)
		}
		if info.IsDir() {
			continue
		}
		if !m.isCGI(prefix) {
			return nil
		}
		return m.runCGI(req, root, urlOf(base, prefix), real, strings.TrimPrefix(rest, "/"+prefix), depth)
	}
	return nil
}

// scriptAliased answers a path under a ScriptAlias prefix: rest names a
// program in a.dir, perhaps followed by PATH_INFO. docs is the request's
// docroot.
func (m *FileMapper) scriptAliased(req *Request, a scriptAlias, rest string, docs *docRoot, depth int) *Resource {
	root := &docRoot{dir: a.dir}
	rel := relName(rest)
	if rel == "." {
		return status(403, "directory forbidden (script alias)")
	}
	segs := strings.Split(rel, "/")
	for i := 1; i <= len(segs); i++ {
		prefix := strings.Join(segs[:i], "/")
		info, real, err := root.stat(prefix)
		if err != nil {
			if res := statError(err); res != nil {
				return res
			}
			return status(404, "not found")
		}
		if info.IsDir() {
			continue
		}
		return m.runCGI(req, docs, a.prefix+"/"+prefix, real, strings.TrimPrefix(rest, "/"+prefix), depth)
	}
	return status(403, "directory forbidden (script alias)")
}

// runCGI runs the program at real path prog as URL scriptName for req;
// docs is the request's docroot (DOCUMENT_ROOT, PATH_TRANSLATED).
func (m *FileMapper) runCGI(req *Request, docs *docRoot, scriptName, prog, pathInfo string, depth int) *Resource {
	if prog == "" {
		// An fs.FS tree has no program file to execute; serving the
		// script's source instead would be the classic leak.
		return status(403, "cgi unavailable (no real directory)")
	}
	switch req.Method {
	case "GET", "HEAD", "POST", "":
	case "OPTIONS":
		return options(cgiAllow) // answered without running the program
	default:
		return methodNotAllowed(cgiAllow)
	}
	if abs, err := filepath.Abs(prog); err == nil {
		// The program runs in its own directory (cmd.Dir), where a
		// relative path (a ScriptAlias relative to where packetwalk
		// runs) would name another file.
		prog = abs
	}
	ctx, cancel := context.WithTimeout(context.Background(), m.cgiTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, prog)
	cmd.Dir = filepath.Dir(prog)
	cmd.Env = m.cgiEnv(req, docs, scriptName, prog, pathInfo)
	cmd.Stdin = bytes.NewReader(req.Body)
	stdout := &capBuffer{max: cgiMaxOutputBytes, full: cancel}
	stderr := &capBuffer{max: cgiMaxStderrBytes}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	cmd.WaitDelay = cgiWaitDelay
	killGroup(cmd)
	err := cmd.Run()
	if m.CGIStderr != nil && stderr.buf.Len() > 0 {
		_, _ = m.CGIStderr.Write(append([]byte("cgi "+scriptName+": "), stderr.buf.Bytes()...))
	}
	switch {
	case stdout.overflow:
		return status(502, "cgi output too large")
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return status(504, "cgi timeout ("+m.cgiTimeout.String()+")")
	case err != nil && cmd.ProcessState == nil:
		return status(500, "cgi error ("+err.Error()+")")
	}
	st, hdr, body, perr := parseCGIResponse(stdout.buf.Bytes())
	if perr != nil {
		return status(502, "cgi bad header ("+perr.Error()+")")
	}
	return m.cgiResource(req, st, hdr, body, depth)
}

// cgiResource turns a parsed CGI response into a resource (RFC 3875 §6.2).
func (m *FileMapper) cgiResource(req *Request, st int, hdr textproto.MIMEHeader, body []byte, depth int) *Resource {
	loc := hdr.Get("Location")
	hdr.Del("Location")
	ctype := hdr.Get("Content-Type")
	hdr.Del("Content-Type")
	if loc != "" && strings.HasPrefix(loc, "/") && (st == 0 || st == 200) {
		// Local redirect: the server fetches that path itself, as a GET,
		// and the client never learns of it.
		if depth+1 > maxInternalDepth {
			return status(500, "cgi local redirect (too deep)")
		}
		u, err := url.Parse(loc)
		if err != nil {
			return status(502, "cgi bad header (Location)")
		}
		sub := m.mapDepth(subRequest(req, u), depth+1)
		if !strings.HasPrefix(sub.Reason, "cgi local redirect") {
			sub.Reason = "cgi local redirect (" + sub.Reason + ")"
		}
		return sub
	}
	res := &Resource{Status: st, Reason: "cgi", Content: body, ContentType: ctype}
	if loc != "" {
		// Client redirect.
		res.Location = loc
		res.Reason = "cgi redirect"
		if res.Status == 0 {
			res.Status = 302
		}
	}
	if res.Status == 0 {
		res.Status = 200
	}
	if res.ContentType == "" && len(body) > 0 {
		res.ContentType = "application/octet-stream"
	}
	if len(hdr) > 0 {
		res.Header = hdr
	}
	return res
}

// cgiHopHeaders are about the connection between the program and us, or
// are computed by the server; a program cannot set them.
var cgiHopHeaders = []string{"Status", "Content-Length", "Connection", "Keep-Alive",
	"Transfer-Encoding", "Te", "Trailer", "Upgrade", "Proxy-Connection"}

// parseCGIResponse splits a program's output into status (0 if not
// given), header fields and body. Lines may end in LF or CRLF.
func parseCGIResponse(out []byte) (st int, hdr textproto.MIMEHeader, body []byte, err error) {
	end, sep := bytes.Index(out, []byte("\n\n")), 2
	if i := bytes.Index(out, []byte("\r\n\r\n")); i >= 0 && (end < 0 || i < end) {
		end, sep = i, 4
	}
	if end < 0 {
		if len(out) == 0 {
			return 0, nil, nil, errors.New("no output")
		}
		return 0, nil, nil, errors.New("no blank line after the header")
	}
	if end > cgiMaxHeaderBytes {
		return 0, nil, nil, errors.New("header too large")
	}
	hdr = textproto.MIMEHeader{}
	sc := bufio.NewScanner(bytes.NewReader(out[:end]))
	for sc.Scan() {
		line := strings.TrimSuffix(sc.Text(), "\r")
		name, value, ok := strings.Cut(line, ":")
		if !ok || name == "" || strings.ContainsAny(name, " \t") {
			return 0, nil, nil, errors.New("malformed line " + strconv.Quote(line))
		}
		hdr.Add(textproto.CanonicalMIMEHeaderKey(name), strings.TrimSpace(value))
	}
	if s := hdr.Get("Status"); s != "" {
		code, _, _ := strings.Cut(s, " ")
		st, err = strconv.Atoi(code)
		if err != nil || len(code) != 3 || st < 100 || st > 599 {
			return 0, nil, nil, errors.New("bad Status " + strconv.Quote(s))
		}
	}
	if hdr.Get("Content-Type") == "" && hdr.Get("Location") == "" && st == 0 {
		return 0, nil, nil, errors.New("no Content-Type, Location or Status")
	}
	for _, h := range cgiHopHeaders {
		hdr.Del(h)
	}
	return st, hdr, out[end+sep:], nil
}

// cgiEnv builds the meta-variables of RFC 3875 §4.1, plus PATH and
// Apache's REQUEST_URI, SCRIPT_FILENAME and DOCUMENT_ROOT.
func (m *FileMapper) cgiEnv(req *Request, docs *docRoot, scriptName, prog, pathInfo string) []string {
	env := []string{
		"GATEWAY_INTERFACE=CGI/1.1",
		"SERVER_SOFTWARE=" + m.software(),
		"SERVER_NAME=" + serverName(req),
		"SERVER_PORT=" + serverPort(req),
		"SERVER_PROTOCOL=" + cmp.Or(req.Proto, "HTTP/1.1"),
		"REQUEST_METHOD=" + cmp.Or(req.Method, "GET"),
		"REQUEST_URI=" + req.Target,
		"SCRIPT_NAME=" + scriptName,
		"SCRIPT_FILENAME=" + prog,
		"PATH_INFO=" + pathInfo,
		"QUERY_STRING=" + req.RawQuery,
		"PATH=" + cgiPath,
	}
	if docs != nil && docs.dir != "" {
		env = append(env, "DOCUMENT_ROOT="+docs.dir)
		if pathInfo != "" {
			env = append(env, "PATH_TRANSLATED="+filepath.Join(docs.dir, filepath.FromSlash(pathInfo)))
		}
	}
	if a := req.RemoteAddr; a.IsValid() {
		env = append(env, "REMOTE_ADDR="+a.Addr().Unmap().String(), "REMOTE_PORT="+strconv.Itoa(int(a.Port())))
	}
	if req.RemoteHost != "" {
		env = append(env, "REMOTE_HOST="+req.RemoteHost)
	}
	if req.Ident != "" && req.Ident != "-" {
		env = append(env, "REMOTE_IDENT="+req.Ident)
	}
	if req.User != "" {
		env = append(env, "AUTH_TYPE=Basic", "REMOTE_USER="+req.User)
	}
	if ct := req.Header.Get("Content-Type"); ct != "" {
		env = append(env, "CONTENT_TYPE="+ct)
	}
	if len(req.Body) > 0 || req.Header.Get("Content-Length") != "" {
		env = append(env, "CONTENT_LENGTH="+strconv.Itoa(len(req.Body)))
	}
	return append(env, httpVars(req)...)
}

// httpVars are the HTTP_* meta-variables (RFC 3875 §4.1.18), sorted.
// Left out: credentials (Authorization), the fields that have their own
// variables (Content-Type, Content-Length), Proxy (the "httpoxy" hole:
// HTTP_PROXY would pose as the proxy setting of the program's own HTTP
// client), and names with characters other than letters, digits and
// '-', so that "X_User" cannot pose as "X-User" once both are HTTP_X_USER
// (Apache does the same).
func httpVars(req *Request) []string {
	var out []string
	for name, values := range req.Header {
		switch textproto.CanonicalMIMEHeaderKey(name) {
		case "Authorization", "Proxy-Authorization", "Content-Type", "Content-Length", "Proxy":
			continue
		}
		if !cgiSafeName(name) {
			continue
		}
		key := "HTTP_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
		out = append(out, key+"="+strings.Join(values, ", "))
	}
	slices.Sort(out)
	return out
}

func cgiSafeName(name string) bool {
	for _, c := range name {
		if !(c == '-' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return name != ""
}

// software is SERVER_SOFTWARE.
func (m *FileMapper) software() string {
	return cmp.Or(m.ServerSoftware, "packetwalk-httpd")
}

// serverName is SERVER_NAME: the Host the client asked for, else our address.
func serverName(req *Request) string {
	if req.Host != "" {
		return req.Host
	}
	if req.LocalAddr.IsValid() {
		return req.LocalAddr.Addr().Unmap().String()
	}
	return "localhost"
}

func serverPort(req *Request) string {
	if req.LocalAddr.IsValid() {
		return strconv.Itoa(int(req.LocalAddr.Port()))
	}
	return "80"
}

// capBuffer collects up to max bytes. Past that it records the
// overflow and, if full is set, calls it (to kill the program) and fails
// the write; without full it keeps the first max bytes and drops the rest.
type capBuffer struct {
	mu       sync.Mutex
	buf      bytes.Buffer
	max      int
	overflow bool
	full     func()
}

func (b *capBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.buf.Len()+len(p) <= b.max {
		return b.buf.Write(p)
	}
	b.overflow = true
	if b.full != nil {
		b.full()
		return 0, errors.New("output limit reached")
	}
	b.buf.Write(p[:b.max-b.buf.Len()])
	return len(p), nil
}
