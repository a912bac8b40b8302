//go:build unix

package httpd

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// cgiSite makes a docroot with shell CGI scripts and a script-alias
// directory; it skips where there is no /bin/sh.
func cgiSite(t *testing.T, timeout time.Duration) (*FileMapper, string) {
	t.Helper()
	if _, err := os.Stat("/bin/sh"); err != nil {
		t.Skip("CGI tests need /bin/sh")
	}
	root, bin := t.TempDir(), t.TempDir()
	scripts := map[string]string{
		root + "/env.cgi":      "#!/bin/sh\nprintf 'Content-Type: text/plain\\r\\nX-Script: env\\r\\n\\r\\n'\nenv | LC_ALL=C sort\necho '--- stdin'\ncat\n",
		root + "/status.cgi":   "#!/bin/sh\nprintf 'Status: 404 Not Here\\nContent-Type: text/html\\nContent-Length: 9999\\nConnection: close\\nSet-Cookie: a=1\\nSet-Cookie: b=2\\n\\n<p>gone</p>'\n",
		root + "/away.cgi":     "#!/bin/sh\nprintf 'Location: http://example.org/there\\n\\n'\n",
		root + "/inside.cgi":   "#!/bin/sh\nprintf 'Location: /target.txt?from=cgi\\n\\n'\n",
		root + "/loop.cgi":     "#!/bin/sh\nprintf 'Location: /loop.cgi\\n\\n'\n",
		root + "/bad.cgi":      "#!/bin/sh\necho 'this is not a header'\n",
		root + "/nohdr.cgi":    "#!/bin/sh\nprintf 'X-Only: 1\\n\\nbody'\n",
		root + "/silent.cgi":   "#!/bin/sh\nexit 3\n",
		root + "/fail.cgi":     "#!/bin/sh\nprintf 'Content-Type: text/plain\\n\\npartial'\nexit 1\n",
		root + "/huge.cgi":     "#!/bin/sh\nprintf 'Content-Type: application/octet-stream\\n\\n'\nhead -c 11000000 /dev/zero\n",
		root + "/sub/deep.cgi": "#!/bin/sh\nprintf 'Content-Type: text/plain\\n\\n%s|%s|%s' \"$SCRIPT_NAME\" \"$PATH_INFO\" \"$PWD\"\n",
		bin + "/tool":          "#!/bin/sh\nprintf 'Content-Type: text/plain\\n\\n%s|%s|%s' \"$SCRIPT_NAME\" \"$PATH_INFO\" \"$QUERY_STRING\"\n",
		bin + "/sub/x.sh":      "#!/bin/sh\nprintf 'Content-Type: text/plain\\n\\n%s|%s' \"$SCRIPT_NAME\" \"$PATH_INFO\"\n",
	}
	for name, text := range scripts {
		if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(name, []byte(text), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	writeTree(t, root, map[string]string{"target.txt": "the target", "noexec.cgi": "#!/bin/sh\necho hi\n"})
	m := NewMapper(MapConfig{
		DocRoot:       root,
		CGIExtensions: []string{".cgi"},
		ScriptAliases: map[string]string{"/cgi-bin/": bin},
		CGITimeout:    timeout,
	}, nil)
	return m, root
}

func envOf(out string) map[string]string {
	env := map[string]string{}
	head, _, _ := strings.Cut(out, "--- stdin")
	for line := range strings.Lines(head) {
		if k, v, ok := strings.Cut(strings.TrimSuffix(line, "\n"), "="); ok {
			env[k] = v
		}
	}
	return env
}

func TestCGIMetaVariables(t *testing.T) {
	m, root := cgiSite(t, 0)
	req := newReq("POST", "/env.cgi/extra/a%20path?a=1&b=%20x",
		"Host: www.example.com",
		"User-Agent: packetwalk-test/1",
		"Content-Type: application/x-www-form-urlencoded",
		"Content-Length: 11",
		"X-Custom: one",
		"X-Custom: two",
		"X_Custom: spoof",
		"Proxy: http://evil.example:8080",
		"Authorization: Basic c2VjcmV0",
	)
	req.Body = []byte("name=walker")
	req.User = "alice"
	res := m.Map(req)
	expect(t, res, 200, "cgi")
	if res.ContentType != "text/plain" || res.Header.Get("X-Script") != "env" {
		t.Errorf("type %q header %v", res.ContentType, res.Header)
	}
	out := string(res.Content)
	env := envOf(out)
	realRoot, _ := filepath.EvalSymlinks(root)
	for k, want := range map[string]string{
		"GATEWAY_INTERFACE": "CGI/1.1",
		"SERVER_SOFTWARE":   "packetwalk-httpd",
		"SERVER_NAME":       "www.example.com",
		"SERVER_PORT":       "80",
		"SERVER_PROTOCOL":   "HTTP/1.1",
		"REQUEST_METHOD":    "POST",
		"REQUEST_URI":       "/env.cgi/extra/a%20path?a=1&b=%20x",
		"SCRIPT_NAME":       "/env.cgi",
		"SCRIPT_FILENAME":   filepath.Join(realRoot, "env.cgi"),
		"PATH_INFO":         "/extra/a path",
		"PATH_TRANSLATED":   filepath.Join(root, "extra", "a path"),
		"DOCUMENT_ROOT":     root,
		"QUERY_STRING":      "a=1&b=%20x",
		"REMOTE_ADDR":       "192.0.2.10",
		"REMOTE_PORT":       "40000",
		"REMOTE_USER":       "alice",
		"AUTH_TYPE":         "Basic",
		"CONTENT_TYPE":      "application/x-www-form-urlencoded",
		"CONTENT_LENGTH":    "11",
		"HTTP_USER_AGENT":   "packetwalk-test/1",
		"HTTP_HOST":         "www.example.com",
		"HTTP_X_CUSTOM":     "one, two",
		"PATH":              cgiPath,
	} {
		if env[k] != want {
			t.Errorf("%s=%q, want %q", k, env[k], want)
		}
	}
	for _, k := range []string{"HTTP_AUTHORIZATION", "HTTP_PROXY", "HTTP_CONTENT_TYPE", "HTTP_CONTENT_LENGTH", "HOME", "REMOTE_IDENT"} {
		if v, ok := env[k]; ok {
			t.Errorf("%s=%q should not be passed", k, v)
		}
	}
	if !strings.HasSuffix(out, "--- stdin\nname=walker") {
		t.Errorf("stdin not passed; output ends %q", out[max(0, len(out)-40):])
	}

	// A GET without a body has no CONTENT_LENGTH; the server name falls
	// back to the local address.
	req = newReq("GET", "/env.cgi")
	env = envOf(string(m.Map(req).Content))
	if _, ok := env["CONTENT_LENGTH"]; ok {
		t.Error("CONTENT_LENGTH on a GET without a body")
	}
	if env["SERVER_NAME"] != "192.0.2.1" || env["PATH_INFO"] != "" || env["QUERY_STRING"] != "" {
		t.Errorf("GET env: %q %q %q", env["SERVER_NAME"], env["PATH_INFO"], env["QUERY_STRING"])
	}
}

func TestCGIResponses(t *testing.T) {
	m, _ := cgiSite(t, 0)
	res := m.Map(newReq("GET", "/status.cgi"))
	expect(t, res, 404, "cgi")
	if string(res.Content) != "<p>gone</p>" || res.ContentType != "text/html" {
		t.Errorf("status.cgi: %q %q", res.Content, res.ContentType)
	}
	if res.Header.Get("Content-Length") != "" || res.Header.Get("Connection") != "" || res.Header.Get("Status") != "" {
		t.Errorf("hop-by-hop headers passed on: %v", res.Header)
	}
	if c := res.Header.Values("Set-Cookie"); len(c) != 2 {
		t.Errorf("Set-Cookie: %v", c)
	}

	res = m.Map(newReq("GET", "/away.cgi"))
	expect(t, res, 302, "cgi redirect")
	if res.Location != "http://example.org/there" {
		t.Errorf("Location %q", res.Location)
	}

	res = m.Map(newReq("GET", "/inside.cgi"))
	if res.Status != 200 || res.Reason != "cgi local redirect (file)" || body(t, res) != "the target" {
		t.Errorf("local redirect: %d %q %q", res.Status, res.Reason, body(t, res))
	}
	expect(t, m.Map(newReq("GET", "/loop.cgi")), 500, "cgi local redirect")

	expect(t, m.Map(newReq("GET", "/bad.cgi")), 502, "cgi bad header")
	expect(t, m.Map(newReq("GET", "/nohdr.cgi")), 502, "cgi bad header")
	expect(t, m.Map(newReq("GET", "/silent.cgi")), 502, "cgi bad header")
	res = m.Map(newReq("GET", "/fail.cgi")) // a non-zero exit after a good header still answers
	if res.Status != 200 || string(res.Content) != "partial" {
		t.Errorf("fail.cgi: %d %q", res.Status, res.Content)
	}
	expect(t, m.Map(newReq("GET", "/noexec.cgi")), 500, "cgi error")
	expect(t, m.Map(newReq("GET", "/huge.cgi")), 502, "cgi output too large")
	expect(t, m.Map(newReq("GET", "/missing.cgi/x")), 404, "not found")

	res = m.Map(newReq("GET", "/sub/deep.cgi/p/q/"))
	parts := strings.Split(string(res.Content), "|")
	if len(parts) != 3 || parts[0] != "/sub/deep.cgi" || parts[1] != "/p/q/" || !strings.HasSuffix(parts[2], "/sub") {
		t.Errorf("deep.cgi: %q", res.Content)
	}
	if res := m.Map(newReq("GET", "/sub/deep.cgi/")); string(res.Content) != "/sub/deep.cgi|/|"+parts[2] {
		t.Errorf("deep.cgi/: %q", res.Content)
	}
}

func TestCGIScriptAlias(t *testing.T) {
	m, _ := cgiSite(t, 0)
	for target, want := range map[string]string{
		"/cgi-bin/tool":           "/cgi-bin/tool||",
		"/cgi-bin/tool/a/b?x=1":   "/cgi-bin/tool|/a/b|x=1",
		"/cgi-bin/sub/x.sh":       "/cgi-bin/sub/x.sh|",
		"/cgi-bin/sub/x.sh/more/": "/cgi-bin/sub/x.sh|/more/",
	} {
		res := m.Map(newReq("GET", target))
		if res.Status != 200 || string(res.Content) != want {
			t.Errorf("%s: %d %q %q, want %q", target, res.Status, res.Reason, res.Content, want)
		}
	}
	expect(t, m.Map(newReq("GET", "/cgi-bin/")), 403, "directory forbidden")
	expect(t, m.Map(newReq("GET", "/cgi-bin/sub/")), 403, "directory forbidden")
	expect(t, m.Map(newReq("GET", "/cgi-bin/none")), 404, "not found")
	expect(t, m.Map(newReq("GET", "/cgi-bin/../env.cgi")), 403, "path escape")
}

func TestCGITimeout(t *testing.T) {
	m, root := cgiSite(t, 300*time.Millisecond)
	pidDir := t.TempDir()
	script := "#!/bin/sh\necho $$ > " + pidDir + "/sh.pid\nsleep 30 &\necho $! > " + pidDir + "/sleep.pid\nwait\n"
	if err := os.WriteFile(filepath.Join(root, "slow.cgi"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	expect(t, m.Map(newReq("GET", "/slow.cgi")), 504, "cgi timeout")
	// The script and the sleep it started are both gone: the whole
	// process group was killed, not only the shell.
	for _, name := range []string{"sh.pid", "sleep.pid"} {
		data, err := os.ReadFile(filepath.Join(pidDir, name))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		pid, _ := strconv.Atoi(strings.TrimSpace(string(data)))
		if alive(pid) {
			t.Errorf("%s: process %d still alive after the timeout", name, pid)
		}
	}
}

// alive reports whether process pid exists and is not a zombie, waiting
// a little for the kernel to reap it.
func alive(pid int) bool {
	for range 50 {
		err := syscall.Kill(pid, 0)
		if errors.Is(err, syscall.ESRCH) {
			return false
		}
		if stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat"); err == nil && bytes.Contains(stat, []byte(") Z ")) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
	return true
}

func TestCGIStderr(t *testing.T) {
	m, root := cgiSite(t, 0)
	script := "#!/bin/sh\necho 'oops' >&2\nprintf 'Content-Type: text/plain\\n\\nok'\n"
	if err := os.WriteFile(filepath.Join(root, "warn.cgi"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	m.CGIStderr = &log
	m.ServerSoftware = "custom/1.0"
	expect(t, m.Map(newReq("GET", "/warn.cgi")), 200, "cgi")
	if log.String() != "cgi /warn.cgi: oops\n" {
		t.Errorf("stderr log %q", log.String())
	}
	if env := envOf(string(m.Map(newReq("GET", "/env.cgi")).Content)); env["SERVER_SOFTWARE"] != "custom/1.0" {
		t.Errorf("SERVER_SOFTWARE %q", env["SERVER_SOFTWARE"])
	}
}

func TestParseCGIResponse(t *testing.T) {
	for _, tc := range []struct {
		out    string
		status int
		body   string
		err    bool
	}{
		{"Content-Type: text/plain\n\nhi", 0, "hi", false},
		{"Content-Type: text/plain\r\n\r\nhi\n\nthere", 0, "hi\n\nthere", false},
		{"Status: 201 Created\nContent-Type: text/plain\n\n", 201, "", false},
		{"Status: 204\n\n", 204, "", false},
		{"Location: /x\n\n", 0, "", false},
		{"Status: abc\nContent-Type: text/plain\n\n", 0, "", true},
		{"Status: 99 Low\nContent-Type: text/plain\n\n", 0, "", true},
		{"Content-Type: text/plain\n", 0, "", true},
		{"", 0, "", true},
		{"Bad Header: x\n\n", 0, "", true},
		{"X-Only: 1\n\n", 0, "", true},
		{"Content-Type: text/plain\n continued\n\n", 0, "", true},
	} {
		st, _, b, err := parseCGIResponse([]byte(tc.out))
		if (err != nil) != tc.err || st != tc.status || string(b) != tc.body {
			t.Errorf("%q: %d %q %v", tc.out, st, b, err)
		}
	}
}

// A script whose interpreter is missing cannot start: a clear 500.
func TestCGIMissingInterpreter(t *testing.T) {
	m, root := cgiSite(t, 0)
	if err := os.WriteFile(filepath.Join(root, "nointerp.cgi"), []byte("#!/nonexistent/interpreter\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	expect(t, m.Map(newReq("GET", "/nointerp.cgi")), 500, "cgi error")
}

// TestServerAllowConsistent: OPTIONS shows what a resource accepts, and
// a 405 for that resource repeats it.
func TestServerAllowConsistent(t *testing.T) {
	m, _ := cgiSite(t, 5*time.Second)
	ts := startServer(t, Config{}, m, nil)
	for _, tc := range []struct {
		path, allow string
	}{
		{"/target.txt", staticAllow},
		{"/env.cgi", cgiAllow},
		{"/cgi-bin/tool", cgiAllow},
	} {
		resp, body, _ := exchange(t, ts.addr, "OPTIONS "+tc.path+" HTTP/1.1\r\nHost: x\r\n\r\n")
		if resp.StatusCode != 204 || resp.Header.Get("Allow") != tc.allow || body != "" {
			t.Errorf("OPTIONS %s: %d Allow %q, want 204 %q", tc.path, resp.StatusCode, resp.Header.Get("Allow"), tc.allow)
		}
		methods := []string{"PUT", "DELETE"}
		if !strings.Contains(tc.allow, "POST") {
			methods = append(methods, "POST")
		}
		for _, method := range methods {
			resp, _, _ := exchange(t, ts.addr, method+" "+tc.path+" HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
			if resp.StatusCode != 405 || resp.Header.Get("Allow") != tc.allow {
				t.Errorf("%s %s: %d Allow %q, want 405 %q", method, tc.path, resp.StatusCode, resp.Header.Get("Allow"), tc.allow)
			}
		}
	}
	resp, _, _ := exchange(t, ts.addr, "OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n")
	if resp.StatusCode != 204 || resp.Header.Get("Allow") != allowedMethods {
		t.Errorf("OPTIONS *: %d %q", resp.StatusCode, resp.Header.Get("Allow"))
	}
}
