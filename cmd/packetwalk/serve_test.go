package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/packetwalk/packetwalk/httpd"
	"github.com/packetwalk/packetwalk/internal/testenv"
	"github.com/packetwalk/packetwalk/viz"
)

// These tests run `packetwalk serve --listen` and `packetwalk
// type-o-serve` against real peers: curl, and raw TCP clients where curl
// cannot say what is to be seen (pipelining, an HTTP/2.0 request line).
// Most run the command in-process on 127.0.0.1:0 and stop it through its
// context; a few run this test binary as the packetwalk command (see
// TestMain) to see signals, standard input and the ready file for real.

// asCLIVar makes the test binary behave as the packetwalk command.
const asCLIVar = "PACKETWALK_TEST_AS_CLI"

func TestMain(m *testing.M) {
	if os.Getenv(asCLIVar) == "1" {
		os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// syncBuffer is a bytes.Buffer that a command writes while a test reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// waitFor polls cond until it holds or 10 s have passed.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// A served is a `packetwalk serve` running in-process.
type served struct {
	addr   string // 127.0.0.1:port
	url    string // http://127.0.0.1:port
	stdout *syncBuffer
	jsonl  string // the --json step log
}

// startServe runs `packetwalk serve --listen 127.0.0.1:0 --json FILE
// args...` until the test ends, when it checks that the server stopped
// cleanly.
func startServe(t *testing.T, args ...string) *served {
	t.Helper()
	s := &served{stdout: &syncBuffer{}, jsonl: filepath.Join(t.TempDir(), "steps.jsonl")}
	stderr := &syncBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan net.Addr, 1)
	exited := make(chan error, 1)
	all := append([]string{"--listen", "127.0.0.1:0", "--json", s.jsonl}, args...)
	go func() {
		exited <- serveCommand(ctx, all, s.stdout, stderr, func(a net.Addr) { ready <- a })
	}()
	select {
	case a := <-ready:
		s.addr = a.String()
		s.url = "http://" + s.addr
	case err := <-exited:
		cancel()
		t.Fatalf("serve %v exited before listening: %v\n%s", all, err, stderr)
	case <-time.After(10 * time.Second):
		cancel()
		t.Fatalf("serve %v did not start listening", all)
	}
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-exited:
			if err != nil {
				t.Errorf("serve stopped with %v\n%s", err, stderr)
			}
		case <-time.After(15 * time.Second):
			t.Errorf("serve did not stop within 15 s of being told to")
		}
		if !strings.Contains(s.stdout.String(), "\nstopped") {
			t.Errorf("serve did not say it stopped:\n%s", tail(s.stdout.String(), 400))
		}
	})
	return s
}

func tail(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}

// steps reads the step log written so far.
func (s *served) steps(t *testing.T) []viz.Event {
	t.Helper()
	raw, err := os.ReadFile(s.jsonl)
	if err != nil {
		t.Fatal(err)
	}
	// The server writes the log while it runs: a last line without its
	// newline is still being written and is left for the next read.
	if i := bytes.LastIndexByte(raw, '\n'); i >= 0 {
		raw = raw[:i+1]
	} else {
		raw = nil
	}
	var events []viz.Event
	sc := bufio.NewScanner(bytes.NewReader(raw))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var e viz.Event
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("step log line %q: %v", sc.Text(), err)
		}
		events = append(events, e)
	}
	return events
}

// count counts the http steps named step with verdict v ("" for any), and
// the distinct connections they belong to.
func count(events []viz.Event, step string, v viz.Verdict) (n, conns int) {
	seen := map[uint64]bool{}
	for _, e := range events {
		if e.Layer == viz.LayerHTTP && e.Step == step && (v == "" || e.Verdict == v) {
			n++
			seen[e.Conn] = true
		}
	}
	return n, len(seen)
}

func field(e viz.Event, key string) string {
	v, _ := e.Field(key)
	return v
}

// curlResult is one exchange as curl saw it.
type curlResult struct {
	status  int
	header  http.Header
	body    string
	verbose string // curl's -v trace on standard error
}

// curl runs curl -s -i with args against the server and parses the last
// response it printed (after a 1xx, if any).
func curl(t *testing.T, args ...string) curlResult {
	t.Helper()
	path := testenv.Tool(t, "curl", "install it with: apt-get install curl")
	r, err := runCurl(path, args...)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// runCurl is curl without a *testing.T, for other goroutines.
func runCurl(path string, args ...string) (curlResult, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, append([]string{"-s", "-i", "--max-time", "15"}, args...)...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		return curlResult{}, fmt.Errorf("curl %v: %v\n%s", args, err, errOut.String())
	}
	r, err := parseResponses(out.String())
	r.verbose = errOut.String()
	if err != nil {
		return r, fmt.Errorf("curl %v: %v", args, err)
	}
	return r, nil
}

// parseResponses parses the header and body of the last of the responses
// in curl -i's output.
func parseResponses(out string) (curlResult, error) {
	var r curlResult
	for {
		headEnd := strings.Index(out, "\r\n\r\n")
		if !strings.HasPrefix(out, "HTTP/") || headEnd < 0 {
			return r, fmt.Errorf("no response in %q", tail(out, 300))
		}
		lines := strings.Split(out[:headEnd], "\r\n")
		fields := strings.Fields(lines[0])
		if len(fields) < 2 {
			return r, fmt.Errorf("bad status line %q", lines[0])
		}
		r.status, _ = strconv.Atoi(fields[1])
		r.header = http.Header{}
		for _, l := range lines[1:] {
			name, value, _ := strings.Cut(l, ":")
			r.header.Add(name, strings.TrimSpace(value))
		}
		r.body = out[headEnd+4:]
		if !strings.HasPrefix(r.body, "HTTP/") || r.status >= 200 && (r.status < 300 || r.status >= 400) {
			return r, nil
		}
		out = r.body // after a 1xx, or a redirect that curl -L followed
	}
}

// status asks curl for only the status code.
func status(t *testing.T, args ...string) int {
	t.Helper()
	path := testenv.Tool(t, "curl", "install it with: apt-get install curl")
	out, err := exec.Command(path, append([]string{"-s", "--max-time", "15", "-o", os.DevNull, "-w", "%{http_code}"}, args...)...).Output()
	if err != nil {
		t.Fatalf("curl %v: %v", args, err)
	}
	code, _ := strconv.Atoi(string(out))
	return code
}

// raw sends bytes over a plain TCP connection, half-closes it, and returns
// everything the server sent until it closed.
func raw(t *testing.T, addr, request string) string {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(15 * time.Second))
	if _, err := io.WriteString(c, request); err != nil {
		t.Fatal(err)
	}
	c.(*net.TCPConn).CloseWrite()
	got, err := io.ReadAll(c)
	if err != nil {
		t.Fatalf("reading the answer to %q: %v", request, err)
	}
	return string(got)
}

// site is a docroot and its neighbours, built for the tests.
type site struct {
	dir      string // the temporary directory that holds it all
	docroot  string
	htpasswd string
	logs     string
	secret   string // a file outside every docroot
	modTime  time.Time
}

func write(t *testing.T, path, content string, mode fs.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
}

// testPNG is the demo site's logo, a real PNG.
func testPNG(t *testing.T) []byte {
	data, err := fs.ReadFile(httpd.DemoSite(), "logo.png")
	if err != nil || !bytes.HasPrefix(data, []byte("\x89PNG\r\n\x1a\n")) {
		t.Fatalf("the demo site's logo.png is not a PNG: %v", err)
	}
	return data
}

// newSite builds a docroot with a file for every mapping and typing
// feature, the two virtual hosts of the seed, a user's public_html, a
// password file and a secret outside.
func newSite(t *testing.T) *site {
	dir := t.TempDir()
	s := &site{
		dir:      dir,
		docroot:  filepath.Join(dir, "docs", "www"),
		htpasswd: filepath.Join(dir, "htpasswd"),
		logs:     filepath.Join(dir, "logs"),
		secret:   filepath.Join(dir, "outside", "secret.txt"),
		modTime:  time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC),
	}
	d := s.docroot
	write(t, filepath.Join(d, "index.html"), "<h1>the default site</h1>\n", 0o644)
	write(t, filepath.Join(d, "hello.txt"), "hello, world\n", 0o644)
	write(t, filepath.Join(d, "style.css"), "body { color: black }\n", 0o644)
	write(t, filepath.Join(d, "data.foo"), "foo data\n", 0o644)
	write(t, filepath.Join(d, "readme"), "<html><body>looks like HTML</body></html>\n", 0o644)
	write(t, filepath.Join(d, "img", "picture"), string(testPNG(t)), 0o644)
	write(t, filepath.Join(d, "onlyhtm", "index.htm"), "the second DirectoryIndex choice\n", 0o644)
	write(t, filepath.Join(d, "pub", "a.txt"), "a\n", 0o644)
	write(t, filepath.Join(d, "pub", "b.txt"), "b\n", 0o644)
	write(t, filepath.Join(d, "sub", "index.html"), "inside sub\n", 0o644)
	write(t, filepath.Join(d, "lang", "index.html.en"), "<p>Hello</p>\n", 0o644)
	write(t, filepath.Join(d, "lang", "index.html.ko"), "<p>안녕하세요</p>\n", 0o644)
	write(t, filepath.Join(d, "ssi", "page.shtml"),
		`<p>name: <!--#echo var="DOCUMENT_NAME" --></p>`+"\n"+`<!--#include virtual="/ssi/footer.html" -->`, 0o644)
	write(t, filepath.Join(d, "ssi", "footer.html"), "<footer>the included footer</footer>\n", 0o644)
	write(t, filepath.Join(d, "cgi-bin", "echo.cgi"), "#!/bin/sh\n"+
		"printf 'Content-Type: text/plain\\r\\n\\r\\n'\n"+
		"echo \"method=$REQUEST_METHOD\"\n"+
		"echo \"query=$QUERY_STRING\"\n"+
		"printf 'body='\n"+
		"cat\n", 0o755)
	write(t, filepath.Join(d, "private", "secret.txt"), "staff only\n", 0o644)
	write(t, filepath.Join(d, "denied", "x.txt"), "not for loopback\n", 0o644)
	write(t, filepath.Join(dir, "docs", "joe", "index.html"), "Joe's Hardware\n", 0o644)
	write(t, filepath.Join(dir, "docs", "mary", "index.html"), "Mary's Hardware\n", 0o644)
	write(t, filepath.Join(dir, "home", "diana", "public_html", "index.html"), "Diana's page\n", 0o644)
	write(t, s.secret, "root:x:0:0:the secret outside\n", 0o644)
	if err := os.Symlink(filepath.Dir(s.secret), filepath.Join(d, "escape")); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(s.logs, 0o755); err != nil {
		t.Fatal(err)
	}
	hash, err := bcrypt.GenerateFromPassword([]byte("s3cret"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	write(t, s.htpasswd, "# made by the test with golang.org/x/crypto/bcrypt\ndiana:"+string(hash)+"\n", 0o644)
	// One modification time for the conditional GETs.
	filepath.WalkDir(d, func(p string, e fs.DirEntry, err error) error {
		if err == nil && e.Type()&fs.ModeSymlink == 0 {
			os.Chtimes(p, s.modTime, s.modTime)
		}
		return err
	})
	return s
}

// config writes the config file: the seed's two VirtualHost blocks as
// they are in the book, around a default server with every feature on.
func (s *site) config(t *testing.T) string {
	text := fmt.Sprintf(`# packetwalk serve --config: a subset of Apache's directives
ServerName www.packetwalk.test
DocumentRoot %[1]s/docs/www
DirectoryIndex index.html index.htm
Options Indexes Includes
UserDir public_html
UserHome diana %[1]s/home/diana
TransferLog %[1]s/logs/access_log
ErrorLog %[1]s/logs/error_log

Redirect 301 /moved /hello.txt
Redirect 302 /found /hello.txt
Redirect 303 /see-other /hello.txt
Redirect 307 /temporary /hello.txt
Redirect 308 /permanent /hello.txt

AddType text/x-foo .foo
ForceType /readme text/plain
AddHandler cgi-script .cgi
AddHandler server-parsed .shtml

<Location /denied>
    Deny from 127.0.0.0/8
</Location>
<Location /private>
    AuthType Basic
    AuthName "Staff only"
    AuthUserFile %[1]s/htpasswd
    Require valid-user
</Location>

<VirtualHost www.joes-hardware.com>
    ServerName www.joes-hardware.com
    DocumentRoot %[1]s/docs/joe
    TransferLog %[1]s/logs/joe.access_log
    ErrorLog %[1]s/logs/joe.error_log
</VirtualHost>

<VirtualHost www.mary-hardware.com>
    ServerName www.mary-hardware.com
    DocumentRoot %[1]s/docs/mary
    TransferLog %[1]s/logs/mary.access_log
    ErrorLog %[1]s/logs/mary.error_log
</VirtualHost>
`, s.dir)
	path := filepath.Join(s.dir, "httpd.conf")
	write(t, path, text, 0o644)
	return path
}

// clfLine is a Common Log Format line.
var clfLine = regexp.MustCompile(`^(\S+) (\S+) (\S+) \[\d{2}/[A-Z][a-z]{2}/\d{4}:\d{2}:\d{2}:\d{2} [+-]\d{4}\] "([^"]*)" (\d{3}) (\d+|-)$`)

// logLine waits for the access log at path to hold a line for the
// request line req with the status code, and returns its fields.
func logLine(t *testing.T, path, req, code string) []string {
	t.Helper()
	var found []string
	waitFor(t, fmt.Sprintf("%q %s in %s", req, code, filepath.Base(path)), func() bool {
		data, _ := os.ReadFile(path)
		for _, l := range strings.Split(string(data), "\n") {
			if m := clfLine.FindStringSubmatch(l); m != nil && m[4] == req && m[5] == code {
				found = m
				return true
			}
		}
		return false
	})
	return found
}

// The embedded demo site is served when neither --docroot nor --config
// names a folder, with its listing and its includes on.
func TestServeDemoSiteByDefault(t *testing.T) {
	testenv.Tool(t, "curl", "install it with: apt-get install curl")
	s := startServe(t)
	if want := "serving " + s.url + "/ (docroot the embedded demo site); press Ctrl-C to stop\n"; !strings.HasPrefix(s.stdout.String(), want) {
		t.Errorf("first line: got %q, want %q", strings.SplitAfter(s.stdout.String(), "\n")[0], want)
	}
	if r := curl(t, s.url+"/"); r.status != 200 || !strings.Contains(r.body, "ssi.shtml") {
		t.Errorf("/: %d %q", r.status, tail(r.body, 200))
	}
	if r := curl(t, s.url+"/docs"); r.status != 301 || r.header.Get("Location") != "/docs/" {
		t.Errorf("/docs: %d, Location %q", r.status, r.header.Get("Location"))
	}
	if r := curl(t, s.url+"/pub/"); r.status != 200 || !strings.Contains(r.body, "Index of /pub/") {
		t.Errorf("/pub/: %d, no listing", r.status)
	}
	if r := curl(t, s.url+"/ssi.shtml"); r.status != 200 || !strings.Contains(r.body, "included by the server") || strings.Contains(r.body, "<!--#") {
		t.Errorf("/ssi.shtml: %d %q", r.status, r.body)
	}
	// The steps are narrated on standard output as they happen.
	waitFor(t, "the narration of the log step", func() bool {
		out := s.stdout.String()
		return strings.Contains(out, " http    accept ") && strings.Contains(out, " http    log ")
	})
}

// The whole feature list of the issue, through curl against a config
// file that mirrors the seed's VirtualHost example.
func TestServeConfigFileWithCurl(t *testing.T) {
	testenv.Tool(t, "curl", "install it with: apt-get install curl")
	st := newSite(t)
	s := startServe(t, "--config", st.config(t))
	u := s.url
	if !strings.Contains(s.stdout.String(), "(docroot "+st.docroot+", virtual hosts www.joes-hardware.com, www.mary-hardware.com)") {
		t.Errorf("the first line does not name the docroot and virtual hosts: %q", strings.SplitAfter(s.stdout.String(), "\n")[0])
	}
	accessLog := filepath.Join(st.logs, "access_log")

	t.Run("DocrootFile", func(t *testing.T) {
		r := curl(t, u+"/hello.txt")
		if r.status != 200 || r.body != "hello, world\n" || r.header.Get("Content-Length") != "13" {
			t.Fatalf("%d %q %v", r.status, r.body, r.header)
		}
		if lm := r.header.Get("Last-Modified"); lm != "Fri, 01 Mar 2024 12:00:00 GMT" {
			t.Errorf("Last-Modified %q", lm)
		}
	})
	t.Run("VirtualHostsByHostHeader", func(t *testing.T) {
		if r := curl(t, "-H", "Host: www.joes-hardware.com", u+"/"); r.status != 200 || r.body != "Joe's Hardware\n" {
			t.Errorf("joe: %d %q", r.status, r.body)
		}
		_, port, _ := net.SplitHostPort(s.addr)
		mary := "www.mary-hardware.com:" + port
		if r := curl(t, "--resolve", mary+":127.0.0.1", "http://"+mary+"/"); r.status != 200 || r.body != "Mary's Hardware\n" {
			t.Errorf("mary: %d %q", r.status, r.body)
		}
		if r := curl(t, "-H", "Host: www.unknown.test", u+"/"); r.body != "<h1>the default site</h1>\n" {
			t.Errorf("an unknown host is not served the default docroot: %q", r.body)
		}
		// Each host logs to its own TransferLog.
		logLine(t, filepath.Join(st.logs, "joe.access_log"), "GET / HTTP/1.1", "200")
		logLine(t, filepath.Join(st.logs, "mary.access_log"), "GET / HTTP/1.1", "200")
	})
	t.Run("UserPublicHTML", func(t *testing.T) {
		if r := curl(t, u+"/~diana/"); r.status != 200 || r.body != "Diana's page\n" {
			t.Errorf("/~diana/: %d %q", r.status, r.body)
		}
		if r := curl(t, u+"/~diana"); r.status != 301 || r.header.Get("Location") != "/~diana/" {
			t.Errorf("/~diana: %d Location %q", r.status, r.header.Get("Location"))
		}
		if c := status(t, u+"/~nobody/"); c != 404 {
			t.Errorf("/~nobody/: %d", c)
		}
	})
	t.Run("DirectoryIndex", func(t *testing.T) {
		if r := curl(t, u+"/"); r.body != "<h1>the default site</h1>\n" {
			t.Errorf("/: %q", r.body)
		}
		if r := curl(t, u+"/onlyhtm/"); r.status != 200 || r.body != "the second DirectoryIndex choice\n" {
			t.Errorf("/onlyhtm/: %d %q", r.status, r.body)
		}
	})
	t.Run("Listing", func(t *testing.T) {
		r := curl(t, u+"/pub/")
		if r.status != 200 || !strings.HasPrefix(r.header.Get("Content-Type"), "text/html") {
			t.Fatalf("%d %v", r.status, r.header)
		}
		for _, want := range []string{"Index of /pub/", `href="./a.txt"`, `href="./b.txt"`, "2024-03-01"} {
			if !strings.Contains(r.body, want) {
				t.Errorf("the listing lacks %q:\n%s", want, r.body)
			}
		}
	})
	t.Run("TrailingSlashRedirect", func(t *testing.T) {
		r := curl(t, "-I", u+"/sub")
		if r.status != 301 || r.header.Get("Location") != "/sub/" {
			t.Fatalf("%d Location %q", r.status, r.header.Get("Location"))
		}
		if r := curl(t, "-L", u+"/sub"); r.status != 200 || r.body != "inside sub\n" {
			t.Errorf("following it: %d %q", r.status, r.body)
		}
	})
	t.Run("ConfiguredRedirects", func(t *testing.T) {
		for path, code := range map[string]int{"/moved": 301, "/found": 302, "/see-other": 303, "/temporary": 307, "/permanent": 308} {
			r := curl(t, "-I", u+path)
			if r.status != code || r.header.Get("Location") != "/hello.txt" {
				t.Errorf("%s: %d Location %q, want %d /hello.txt", path, r.status, r.header.Get("Location"), code)
			}
		}
		if r := curl(t, "-L", u+"/moved"); r.status != 200 || r.body != "hello, world\n" {
			t.Errorf("following /moved: %d %q", r.status, r.body)
		}
	})
	t.Run("CGI", func(t *testing.T) {
		r := curl(t, u+"/cgi-bin/echo.cgi?x=1")
		if r.status != 200 || r.body != "method=GET\nquery=x=1\nbody=" || r.header.Get("Content-Type") != "text/plain" {
			t.Errorf("GET: %d %q %v", r.status, r.body, r.header)
		}
		r = curl(t, "--data-binary", "posted bytes", u+"/cgi-bin/echo.cgi")
		if r.status != 200 || r.body != "method=POST\nquery=\nbody=posted bytes" {
			t.Errorf("POST: %d %q", r.status, r.body)
		}
	})
	t.Run("SSI", func(t *testing.T) {
		r := curl(t, u+"/ssi/page.shtml")
		if r.status != 200 || r.body != "<p>name: page.shtml</p>\n<footer>the included footer</footer>\n" {
			t.Errorf("%d %q", r.status, r.body)
		}
	})
	t.Run("DenyByAddress", func(t *testing.T) {
		if r := curl(t, u+"/denied/x.txt"); r.status != 403 || strings.Contains(r.body, "not for loopback") {
			t.Errorf("%d %q", r.status, r.body)
		}
	})
	t.Run("BasicAuth", func(t *testing.T) {
		r := curl(t, u+"/private/secret.txt")
		if r.status != 401 || !strings.HasPrefix(r.header.Get("WWW-Authenticate"), `Basic realm="Staff only"`) {
			t.Errorf("without credentials: %d %v", r.status, r.header)
		}
		if c := status(t, "-u", "diana:wrong", u+"/private/secret.txt"); c != 401 {
			t.Errorf("a wrong password: %d", c)
		}
		if r := curl(t, "-u", "diana:s3cret", u+"/private/secret.txt"); r.status != 200 || r.body != "staff only\n" {
			t.Errorf("diana: %d %q", r.status, r.body)
		}
		if m := logLine(t, accessLog, "GET /private/secret.txt HTTP/1.1", "200"); m[3] != "diana" {
			t.Errorf("the log line's user is %q, not diana", m[3])
		}
	})
	t.Run("PathEscapes", func(t *testing.T) {
		for _, p := range []string{
			"/../outside/secret.txt", "/../../../../etc/passwd", "/%2e%2e/outside/secret.txt",
			"/sub/%2e%2e/%2e%2e/outside/secret.txt", "/..%2foutside%2fsecret.txt", "/sub%2f..%2f..%2foutside/secret.txt",
			"/escape/secret.txt", "/.htpasswd",
		} {
			r := curl(t, "--path-as-is", u+p)
			if (r.status != 403 && r.status != 404) || strings.Contains(r.body, "root:") {
				t.Errorf("%s: %d %q", p, r.status, tail(r.body, 100))
			}
		}
	})
	t.Run("ContentTypes", func(t *testing.T) {
		for path, want := range map[string]string{
			"/hello.txt":   "text/plain; charset=utf-8", // mime.types
			"/style.css":   "text/css; charset=utf-8",   // mime.types
			"/data.foo":    "text/x-foo; charset=utf-8", // AddType
			"/readme":      "text/plain",                // ForceType, though its content is HTML
			"/img/picture": "image/png",                 // magic: no extension
			"/index.html":  "text/html; charset=utf-8",
		} {
			if r := curl(t, u+path); r.status != 200 || r.header.Get("Content-Type") != want {
				t.Errorf("%s: %d Content-Type %q, want %q", path, r.status, r.header.Get("Content-Type"), want)
			}
		}
		if r := curl(t, u+"/img/picture"); r.body != string(testPNG(t)) {
			t.Errorf("the PNG came back changed")
		}
	})
	t.Run("AcceptLanguage", func(t *testing.T) {
		for lang, want := range map[string]string{"ko": "안녕하세요", "en": "Hello", "ko;q=0.4, en;q=0.9": "Hello", "fr, ko;q=0.5": "안녕하세요"} {
			r := curl(t, "-H", "Accept-Language: "+lang, u+"/lang/")
			if r.status != 200 || !strings.Contains(r.body, want) || !strings.Contains(r.header.Get("Vary"), "Accept-Language") {
				t.Errorf("Accept-Language %s: %d %q %v", lang, r.status, r.body, r.header)
			}
			if cl := r.header.Get("Content-Language"); want == "Hello" && cl != "en" || want != "Hello" && cl != "ko" {
				t.Errorf("Accept-Language %s: Content-Language %q", lang, cl)
			}
		}
	})
	t.Run("IfModifiedSince", func(t *testing.T) {
		r := curl(t, "-z", "Sat, 01 Jun 2024 00:00:00 GMT", u+"/hello.txt")
		if r.status != 304 || r.body != "" || r.header.Get("Content-Length") != "" {
			t.Errorf("not modified since June: %d %q %v", r.status, r.body, r.header)
		}
		if r := curl(t, "-z", "Mon, 01 Jan 2024 00:00:00 GMT", u+"/hello.txt"); r.status != 200 || r.body != "hello, world\n" {
			t.Errorf("modified since January: %d %q", r.status, r.body)
		}
	})
	t.Run("HEAD", func(t *testing.T) {
		r := curl(t, "-I", u+"/hello.txt")
		if r.status != 200 || r.header.Get("Content-Length") != "13" || r.header.Get("Content-Type") != "text/plain; charset=utf-8" {
			t.Errorf("curl -I: %d %v", r.status, r.header)
		}
		// On the wire: the header and not one byte more.
		got := raw(t, s.addr, "HEAD /hello.txt HTTP/1.0\r\n\r\n")
		if !strings.HasPrefix(got, "HTTP/1.1 200 OK\r\n") || !strings.HasSuffix(got, "\r\n\r\n") || strings.Contains(got, "hello, world") {
			t.Errorf("HEAD on the wire: %q", got)
		}
	})
	t.Run("HTTP10KeepAlive", func(t *testing.T) {
		r := curl(t, "-v", "-0", "-H", "Connection: keep-alive", u+"/hello.txt")
		if r.status != 200 || !strings.Contains(r.verbose, "< Keep-Alive: timeout=") || !strings.Contains(r.verbose, "left intact") {
			t.Errorf("HTTP/1.0 with keep-alive:\n%s", r.verbose)
		}
		r = curl(t, "-v", "-0", u+"/hello.txt")
		if r.status != 200 || strings.Contains(r.verbose, "< Keep-Alive:") || strings.Contains(r.verbose, "left intact") ||
			!strings.Contains(r.verbose, "< Connection: close") {
			t.Errorf("HTTP/1.0 without keep-alive:\n%s", r.verbose)
		}
	})
	t.Run("ReuseOneConnection", func(t *testing.T) {
		r := curl(t, "-v", u+"/hello.txt", u+"/style.css")
		if r.status != 200 || !strings.Contains(r.verbose, "Re-using existing connection") {
			t.Errorf("curl did not reuse the connection:\n%s", r.verbose)
		}
	})
	t.Run("ErrorStatuses", func(t *testing.T) {
		if r := curl(t, "-X", "DELETE", u+"/hello.txt"); r.status != 405 || r.header.Get("Allow") == "" {
			t.Errorf("DELETE: %d %v", r.status, r.header)
		}
		if c := status(t, "-X", "BREW", u+"/hello.txt"); c != 501 {
			t.Errorf("BREW: %d", c)
		}
		if got := raw(t, s.addr, "GET / HTTP/2.0\r\nHost: x\r\n\r\n"); !strings.HasPrefix(got, "HTTP/1.1 505 ") {
			t.Errorf("HTTP/2.0 request line: %q", tail(got, 200))
		}
		if c := status(t, u+"/"+strings.Repeat("a", 9<<10)); c != 414 {
			t.Errorf("a 9 KiB URL: %d", c)
		}
		var headers []string
		for i := range 10 {
			headers = append(headers, "-H", fmt.Sprintf("X-Filler-%d: %s", i, strings.Repeat("x", 7<<10)))
		}
		if c := status(t, append(headers, u+"/")...); c != 431 {
			t.Errorf("70 KiB of headers: %d", c)
		}
		if c := status(t, u+"/no/such/file"); c != 404 {
			t.Errorf("a missing file: %d", c)
		}
		waitFor(t, "the 505 in the error log", func() bool {
			data, _ := os.ReadFile(filepath.Join(st.logs, "error_log"))
			return strings.Contains(string(data), "[error]") && strings.Contains(string(data), "505")
		})
	})
	t.Run("CommonLogFormat", func(t *testing.T) {
		curl(t, u+"/hello.txt?clf=1")
		m := logLine(t, accessLog, "GET /hello.txt?clf=1 HTTP/1.1", "200")
		if m[1] != "127.0.0.1" || m[2] != "-" || m[3] != "-" || m[6] != "13" {
			t.Errorf("access log line %q", m[0])
		}
	})
}

// --docroot, --vhost, --access-log, --error-log and --arch without a
// config file; listings and includes are on as for trace.
func TestServeFlags(t *testing.T) {
	testenv.Tool(t, "curl", "install it with: apt-get install curl")
	st := newSite(t)
	access, errs := filepath.Join(st.logs, "flags.access"), filepath.Join(st.logs, "flags.error")
	s := startServe(t, "--docroot", st.docroot, "--vhost", "www.joes-hardware.com="+filepath.Join(st.dir, "docs", "joe"),
		"--access-log", access, "--error-log", errs, "--arch", "single", "--quiet")
	if out := s.stdout.String(); !strings.HasPrefix(out, "serving "+s.url+"/ (docroot "+st.docroot+", virtual hosts www.joes-hardware.com); press Ctrl-C to stop\n") {
		t.Errorf("first line %q", out)
	}
	if r := curl(t, s.url+"/hello.txt"); r.status != 200 || r.body != "hello, world\n" {
		t.Errorf("docroot: %d %q", r.status, r.body)
	}
	if r := curl(t, "-H", "Host: WWW.Joes-Hardware.com.", s.url+"/"); r.body != "Joe's Hardware\n" {
		t.Errorf("--vhost: %d %q", r.status, r.body)
	}
	if r := curl(t, s.url+"/pub/"); r.status != 200 || !strings.Contains(r.body, "a.txt") {
		t.Errorf("listing: %d", r.status)
	}
	if r := curl(t, s.url+"/ssi/page.shtml"); !strings.Contains(r.body, "the included footer") {
		t.Errorf("SSI: %q", r.body)
	}
	logLine(t, access, "GET /hello.txt HTTP/1.1", "200")
	status(t, "-X", "BREW", s.url+"/")
	waitFor(t, "the error log", func() bool {
		data, _ := os.ReadFile(errs)
		return strings.Contains(string(data), "501")
	})
	waitFor(t, "the steps of 5 requests", func() bool { n, _ := count(s.steps(t), "log", ""); return n == 5 })
	for _, e := range s.steps(t) {
		if e.Step == "accept" && field(e, "arch") != "single" {
			t.Errorf("accept step with arch %q, want single", field(e, "arch"))
		}
	}
	if strings.Contains(s.stdout.String(), " http ") {
		t.Errorf("--quiet narrated the steps")
	}
}

// Keep-alive: two requests on one connection are one accept step; two
// curl runs are two.
func TestServeKeepAliveCountsAccepts(t *testing.T) {
	testenv.Tool(t, "curl", "install it with: apt-get install curl")
	st := newSite(t)
	s := startServe(t, "--docroot", st.docroot, "--quiet")
	curl(t, s.url+"/hello.txt", s.url+"/style.css")
	waitFor(t, "two log steps", func() bool { n, _ := count(s.steps(t), "log", ""); return n == 2 })
	events := s.steps(t)
	if n, conns := count(events, "accept", viz.Pass); n != 1 || conns != 1 {
		t.Errorf("one curl, two URLs: %d accept steps on %d connections, want 1", n, conns)
	}
	if n, conns := count(events, "receive", viz.Pass); n != 2 || conns != 1 {
		t.Errorf("one curl, two URLs: %d requests received on %d connections, want 2 on 1", n, conns)
	}

	curl(t, s.url+"/hello.txt")
	curl(t, s.url+"/style.css")
	waitFor(t, "four log steps", func() bool { n, _ := count(s.steps(t), "log", ""); return n == 4 })
	if n, conns := count(s.steps(t), "accept", viz.Pass); n != 3 || conns != 3 {
		t.Errorf("then two curls: %d accept steps on %d connections, want 3", n, conns)
	}
}

// Pipelining: three requests written at once on one connection are
// answered in order, and the step log shows one accept.
func TestServePipelining(t *testing.T) {
	st := newSite(t)
	write(t, filepath.Join(st.docroot, "one.txt"), "first\n", 0o644)
	write(t, filepath.Join(st.docroot, "two.txt"), "second\n", 0o644)
	write(t, filepath.Join(st.docroot, "three.txt"), "third\n", 0o644)
	s := startServe(t, "--docroot", st.docroot, "--quiet")
	got := raw(t, s.addr, "GET /one.txt HTTP/1.1\r\nHost: a\r\n\r\n"+
		"GET /two.txt HTTP/1.1\r\nHost: a\r\n\r\n"+
		"GET /three.txt HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
	if n := strings.Count(got, "HTTP/1.1 200 OK\r\n"); n != 3 {
		t.Fatalf("%d responses, want 3:\n%s", n, got)
	}
	i1, i2, i3 := strings.Index(got, "\r\n\r\nfirst\n"), strings.Index(got, "\r\n\r\nsecond\n"), strings.Index(got, "\r\n\r\nthird\n")
	if i1 < 0 || i2 < i1 || i3 < i2 || !strings.HasSuffix(got, "third\n") {
		t.Errorf("the responses are not in order:\n%s", got)
	}
	waitFor(t, "three log steps", func() bool { n, _ := count(s.steps(t), "log", ""); return n == 3 })
	events := s.steps(t)
	if n, conns := count(events, "accept", viz.Pass); n != 1 || conns != 1 {
		t.Errorf("%d accept steps on %d connections, want 1", n, conns)
	}
	if n, conns := count(events, "receive", viz.Pass); n != 3 || conns != 1 {
		t.Errorf("%d requests received on %d connections, want 3 on 1", n, conns)
	}
	pipelined := 0
	for _, e := range events {
		if e.Step == "receive" && field(e, "pipelined_bytes") != "" {
			pipelined++
		}
	}
	if pipelined == 0 {
		t.Errorf("no receive step says a pipelined request waited behind it")
	}
}

// Bad flags, files and ports: one sentence on standard error, a non-zero
// exit, and no server.
func TestServeBadInput(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file.txt")
	write(t, file, "not a folder\n", 0o644)
	badConf := filepath.Join(dir, "bad.conf")
	write(t, badConf, "ServerName x\nDocumentRoot "+dir+"\nRedirect 399 /a /b\n", 0o644)
	openConf := filepath.Join(dir, "open.conf")
	write(t, openConf, "<VirtualHost www.a.test>\n  DocumentRoot "+dir+"\n", 0o644)
	missingRoot := filepath.Join(dir, "missing.conf")
	write(t, missingRoot, "DocumentRoot "+filepath.Join(dir, "nowhere")+"\n", 0o644)
	held, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	busy := held.Addr().String()

	cases := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"serve", "--listen", busy}, 1, "cannot listen on " + busy + ": address already in use"},
		{[]string{"serve"}, 2, "--listen HOST:PORT"},
		{[]string{"serve", "--listen", "8080"}, 2, "is not HOST:PORT"},
		{[]string{"serve", "--listen", "127.0.0.1:70000"}, 2, "is not HOST:PORT"},
		{[]string{"serve", "--listen", "192.0.2.1:8080"}, 1, "cannot listen on 192.0.2.1:8080"},
		{[]string{"serve", "--listen", ":0", "--docroot", file}, 1, "--docroot " + file + " is not a folder"},
		{[]string{"serve", "--listen", ":0", "--docroot", filepath.Join(dir, "nowhere")}, 1, "does not exist"},
		{[]string{"serve", "--listen", ":0", "--vhost", "www.a.test"}, 1, "is not NAME=DIR"},
		{[]string{"serve", "--listen", ":0", "--vhost", "=" + dir}, 1, "is not NAME=DIR"},
		{[]string{"serve", "--listen", ":0", "--vhost", "www.a.test=" + file}, 1, "is not a folder"},
		{[]string{"serve", "--listen", ":0", "--config", badConf}, 1, badConf + ":3: redirect status"},
		{[]string{"serve", "--listen", ":0", "--config", openConf}, 1, openConf + ":1:"},
		{[]string{"serve", "--listen", ":0", "--config", missingRoot}, 1, "DocumentRoot " + filepath.Join(dir, "nowhere") + " does not exist"},
		{[]string{"serve", "--listen", ":0", "--config", filepath.Join(dir, "none.conf")}, 1, "no such file"},
		{[]string{"serve", "--listen", ":0", "--access-log", filepath.Join(dir, "no", "dir", "log")}, 1, "cannot open a log file"},
		{[]string{"serve", "--listen", ":0", "--json", filepath.Join(dir, "no", "dir", "x.jsonl")}, 1, "cannot write the step log"},
		{[]string{"serve", "--listen", ":0", "--arch", "threads"}, 2, "is not single, pool, multiplexed or event"},
		{[]string{"serve", "--tun", "pw0", "--addr", "10.9.0.2/24", "--arch", "threads"}, 2, "is not single, pool, multiplexed or event"},
		{[]string{"serve", "--listen", ":0", "--server", "nethttp"}, 2, "--server chooses the web server on packetwalk's stack"},
		{[]string{"serve", "--listen", ":0", "--user", "nobody"}, 2, "--user gives up root once a TUN or TAP device is open"},
		{[]string{"serve", "--tun", "pw0", "--addr", "10.9.0.2/24", "--server", "nginx"}, 2, `--server "nginx": want httpd`},
		{[]string{"serve", "--tun", "pw0", "--addr", "10.9.0.2/24", "--backlog", "0"}, 2, "--backlog 0: want 1 to 4096"},
		{[]string{"serve", "--tun", "pw0", "--addr", "10.9.0.2/24", "--backlog", "5000"}, 2, "--backlog 5000: want 1 to 4096"},
		{[]string{"serve", "--tun", "pw0"}, 2, "needs --addr CIDR"},
		{[]string{"serve", "--addr", "10.9.0.2/24"}, 2, "--addr goes with --tun NAME"},
		{[]string{"serve", "--tun", "pw0", "--addr", "10.9.0.2"}, 2, "is not an IPv4 address with a prefix length"},
		{[]string{"serve", "--tun", "pw0", "--addr", "10.9.0.2/31"}, 2, "leaves no address for the kernel side"},
		{[]string{"serve", "--tun", "pw0", "--addr", "10.9.0.0/24"}, 2, "is the network address"},
		{[]string{"serve", "--tun", "pw0", "--addr", "10.9.0.2/24", "--listen", ":0"}, 2, "exclude each other"},
		{[]string{"serve", "--tun", "pw0", "--addr", "10.9.0.2/24", "--port", "0"}, 2, "is not a port"},
		{[]string{"serve", "--tun", "a/b", "--addr", "10.9.0.2/24"}, 2, "is not a device name"},
		{[]string{"serve", "--tap", "tap0"}, 2, "--tap tap0 needs --addr CIDR"},
		{[]string{"serve", "--tun", "pw0", "--tap", "tap0", "--addr", "10.9.0.2/24"}, 2, "--tun and --tap exclude each other"},
		{[]string{"serve", "--tap", "tap0", "--addr", "10.9.0.2/24", "--listen", ":0"}, 2, "--tap and --listen exclude each other"},
		{[]string{"serve", "--tun", "pw0", "--addr", "10.9.0.2/24", "--loss", "1.5"}, 2, "is not a probability between 0 and 1"},
		{[]string{"serve", "--tun", "pw0", "--addr", "10.9.0.2/24", "--fault", "drop:0"}, 2, "want drop:N"},
		{[]string{"serve", "--listen", ":0", "--loss", "0.1"}, 2, "with --listen the kernel handles the frames"},
		{[]string{"serve", "--listen", ":0", "--pcap", "x.pcapng"}, 2, "--pcap needs the frames"},
		{[]string{"serve", "--listen", ":0", "extra"}, 2, "unexpected argument"},
		{[]string{"serve", "--tunnel", "pw0"}, 2, "flag provided but not defined"},
		{[]string{"type-o-serve", "8080", "8081"}, 2, "unexpected argument \"8081\""},
		{[]string{"type-o-serve", "http"}, 2, "PORT \"http\" is not a number"},
		{[]string{"type-o-serve", "--listen", "127.0.0.1:0", "8080"}, 2, "not both"},
		{[]string{"type-o-serve", "--listen", "nonsense"}, 2, "is not HOST:PORT"},
		{[]string{"type-o-serve", "--tun", "tun0"}, 2, "--tun tun0 needs --addr CIDR"},
		{[]string{"type-o-serve", "--tun", "tun0", "--addr", "10.9.0.2/24", "0"}, 2, "PORT \"0\" is not a number 1..65535"},
		{[]string{"type-o-serve", "--tun", "tun0", "--addr", "10.9.0.2/24", "--listen", "127.0.0.1:0"}, 2, "exclude each other"},
		{[]string{"type-o-serve", "--tap", "tap0", "--addr", "10.9.0.2/24", "--wire", "switch"}, 2, "the kernel's MTU applies"},
		{[]string{"type-o-serve", "--listen", busy}, 1, "address already in use"},
	}
	for _, c := range cases {
		code, out, errOut := runCLI(c.args...)
		lines := strings.Split(strings.TrimSpace(errOut), "\n")
		if code != c.code || len(lines) != 1 || !strings.Contains(errOut, c.want) || strings.Contains(errOut, "goroutine") {
			t.Errorf("%v: exit %d (want %d), stderr %q (want one line with %q), stdout %q", c.args, code, c.code, errOut, c.want, out)
		}
		if strings.Contains(out, "serving http://") {
			t.Errorf("%v: started serving", c.args)
		}
	}
	for _, args := range [][]string{{"serve", "--help"}, {"type-o-serve", "-h"}} {
		if code, out, _ := runCLI(args...); code != 0 || !strings.Contains(out, "-listen") {
			t.Errorf("%v: exit %d, %q", args, code, out)
		}
	}
	if _, out, _ := runCLI("help"); !strings.Contains(out, "packetwalk serve ") || !strings.Contains(out, "packetwalk type-o-serve ") {
		t.Errorf("the usage does not list serve and type-o-serve")
	}
}

// A privileged port without root is refused with a sentence that says so.
// As root, the test runs the command as the user nobody to see it.
func TestServePrivilegedPort(t *testing.T) {
	// The sentence, for the error the kernel gives.
	err := listenError("0.0.0.0:80", &net.OpError{Op: "listen", Net: "tcp", Err: os.NewSyscallError("bind", syscall.EACCES)})
	if !strings.Contains(err.Error(), "cannot listen on 0.0.0.0:80: ports below 1024 are privileged") || !strings.Contains(err.Error(), "above 1024") {
		t.Errorf("%v", err)
	}

	// And for real, when the kernel treats port 80 as privileged.
	if data, err := os.ReadFile("/proc/sys/net/ipv4/ip_unprivileged_port_start"); err == nil {
		if n, _ := strconv.Atoi(strings.TrimSpace(string(data))); n <= 80 {
			t.Logf("this kernel lets anyone bind port 80 (ip_unprivileged_port_start=%d); only the sentence was checked", n)
			return
		}
	}
	cmd := cliCommand(t, "serve", "--listen", "127.0.0.1:80", "--quiet")
	if os.Geteuid() == 0 {
		runAsNobody(t, cmd)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err = cmd.Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 {
		t.Fatalf("exit: %v; stderr %q", err, stderr.String())
	}
	if got := stderr.String(); !strings.Contains(got, "cannot listen on 127.0.0.1:80: ports below 1024 are privileged") || strings.Count(got, "\n") != 1 {
		t.Errorf("stderr %q", got)
	}
}

// cliCommand runs this test binary as the packetwalk command.
func cliCommand(t *testing.T, args ...string) *exec.Cmd {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, args...)
	cmd.Env = append(os.Environ(), asCLIVar+"=1")
	return cmd
}

// runAsNobody makes cmd run as the user nobody, from a copy of the test
// binary that nobody can read.
func runAsNobody(t *testing.T, cmd *exec.Cmd) {
	dir, err := os.MkdirTemp("", "packetwalk-nobody-") // t.TempDir's parent is private
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(cmd.Path)
	if err != nil {
		t.Fatal(err)
	}
	exe := filepath.Join(dir, "packetwalk")
	if err := os.WriteFile(exe, data, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd.Path, cmd.Args[0], cmd.Dir = exe, exe, dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
}

// The command itself: PACKETWALK_READY_FILE names the port chosen for
// :0, and SIGINT or SIGTERM stop the server cleanly (exit 0), even with
// an idle keep-alive connection open.
func TestServeStopsOnSignal(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			readyFile := filepath.Join(t.TempDir(), "ready")
			cmd := cliCommand(t, "serve", "--listen", "127.0.0.1:0")
			cmd.Env = append(cmd.Env, readyFileVar+"="+readyFile)
			var stdout, stderr syncBuffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			exited := make(chan error, 1)
			go func() { exited <- cmd.Wait() }()
			defer func() {
				if cmd.ProcessState == nil {
					cmd.Process.Kill()
				}
			}()
			var addr string
			waitFor(t, "the ready file", func() bool {
				data, err := os.ReadFile(readyFile)
				addr = strings.TrimSpace(string(data))
				return err == nil
			})
			if !strings.Contains(stdout.String(), "serving http://"+addr+"/ (docroot the embedded demo site); press Ctrl-C to stop") {
				t.Errorf("stdout %q", stdout.String())
			}
			// An idle persistent connection, after one request.
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			io.WriteString(c, "GET /style.css HTTP/1.1\r\nHost: x\r\n\r\n")
			br := bufio.NewReader(c)
			resp, err := http.ReadResponse(br, nil)
			if err != nil || resp.StatusCode != 200 {
				t.Fatalf("GET /style.css: %v", err)
			}
			io.Copy(io.Discard, resp.Body)

			cmd.Process.Signal(sig)
			select {
			case err := <-exited:
				if err != nil {
					t.Fatalf("after %v: %v\n%s", sig, err, stderr.String())
				}
			case <-time.After(10 * time.Second):
				t.Fatalf("still running 10 s after %v", sig)
			}
			if _, err := br.ReadByte(); err != io.EOF {
				t.Errorf("the idle connection was not closed: %v", err)
			}
			if !strings.HasSuffix(stdout.String(), "\nstopped\n") || stderr.String() != "" {
				t.Errorf("stdout ends %q, stderr %q", tail(stdout.String(), 200), stderr.String())
			}
		})
	}
}

// The README's config example is a config file that httpd reads as the
// README says.
func TestServeREADMEConfigExample(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(readme), "### The config file")
	_, rest, ok2 := strings.Cut(rest, "```apache\n")
	example, _, ok3 := strings.Cut(rest, "```")
	if !ok || !ok2 || !ok3 {
		t.Fatal("the README has no config example under \"### The config file\"")
	}
	cfg, err := httpd.ParseConfig("README.md", strings.NewReader(example))
	if err != nil {
		t.Fatal(err)
	}
	m := cfg.Map
	if cfg.Listen != "127.0.0.1:8080" || m.DocRoot != "examples/www" || !m.Listings || !m.SSI || m.UserDir != "public_html" ||
		len(m.Redirects) != 1 || m.Redirects[0].Status != 301 || m.Types[".foo"] != "text/x-foo" || len(m.CGIExtensions) != 1 ||
		len(m.ScriptAliases) != 1 || len(m.Locations) != 2 || cfg.AccessLogFile != "examples/logs/access_log" {
		t.Errorf("the example reads as %+v", cfg)
	}
	// It is examples/httpd.conf (after its three lines of comment), which
	// TestREADMEServeExamples serves.
	file, err := os.ReadFile("../../examples/httpd.conf")
	if err != nil {
		t.Fatal(err)
	}
	if parts := strings.SplitN(string(file), "\n", 4); len(parts) != 4 || parts[3] != example {
		t.Errorf("the README's config example differs from examples/httpd.conf")
	}
	for name, log := range map[string]string{"www.joes-hardware.com": "examples/logs/joe.access_log", "www.mary-hardware.com": "examples/logs/mary.access_log"} {
		if vh := m.VHosts[name]; vh.AccessLog != log || vh.DocRoot == "" {
			t.Errorf("virtual host %s: %+v", name, vh)
		}
	}
}

// --expvar serves Go's /debug/vars with the number of goroutines and the
// memory statistics, which bench/soak samples.
func TestServeExpvar(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	startServe(t, "--expvar", addr)
	resp, err := http.Get("http://" + addr + "/debug/vars")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var vars struct {
		Goroutines int `json:"goroutines"`
		Memstats   struct {
			Sys uint64 `json:"Sys"`
		} `json:"memstats"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&vars); err != nil {
		t.Fatal(err)
	}
	if vars.Goroutines < 2 || vars.Memstats.Sys == 0 {
		t.Errorf("/debug/vars: %d goroutines, Sys %d; want both set", vars.Goroutines, vars.Memstats.Sys)
	}
	// The same listener serves Go's profiles, to find what a long-running
	// server allocates.
	heap, err := http.Get("http://" + addr + "/debug/pprof/heap?debug=1")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(heap.Body)
	heap.Body.Close()
	if heap.StatusCode != 200 || !strings.Contains(string(body), "heap profile") {
		t.Errorf("/debug/pprof/heap?debug=1: %s, %.200q", heap.Status, body)
	}
	if code, _, errOut := runCLI("serve", "--listen", "127.0.0.1:0", "--expvar", "nonsense"); code == 0 || !strings.Contains(errOut, "--expvar") {
		t.Errorf("serve --expvar nonsense: exit %d, %q", code, errOut)
	}
}
