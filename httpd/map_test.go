package httpd

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"image/png"
	"net/netip"
	"net/textproto"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
)

// newReq builds a request as the parser would: Path is the target's
// path, percent-decoded; headers come in "Name: value" pairs.
func newReq(method, target string, headers ...string) *Request {
	rawPath, query, _ := strings.Cut(target, "?")
	p, err := url.PathUnescape(rawPath)
	if err != nil {
		panic(err)
	}
	req := &Request{
		Method:     method,
		Target:     target,
		Path:       p,
		RawQuery:   query,
		Proto:      "HTTP/1.1",
		ProtoMinor: 1,
		Header:     textproto.MIMEHeader{},
		RemoteAddr: netip.MustParseAddrPort("192.0.2.10:40000"),
		LocalAddr:  netip.MustParseAddrPort("192.0.2.1:80"),
	}
	for _, h := range headers {
		name, value, _ := strings.Cut(h, ":")
		req.Header.Add(textproto.CanonicalMIMEHeaderKey(name), strings.TrimSpace(value))
		if strings.EqualFold(name, "Host") {
			req.Host = strings.ToLower(strings.TrimSpace(value))
		}
	}
	return req
}

// writeTree creates files (name -> content; a name ending in "/" is a
// directory) under dir.
func writeTree(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if strings.HasSuffix(name, "/") {
			if err := os.MkdirAll(p, 0o755); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// body returns what step 5 would send: Content, or File's bytes.
func body(t *testing.T, res *Resource) string {
	t.Helper()
	if res.File != "" {
		data, err := os.ReadFile(res.File)
		if err != nil {
			t.Fatal(err)
		}
		return string(data)
	}
	return string(res.Content)
}

// reasonName is the enumerated part of a Reason.
func reasonName(r string) string {
	name, _, _ := strings.Cut(r, " (")
	return name
}

func expect(t *testing.T, res *Resource, status int, reason string) {
	t.Helper()
	if res.Status != status || reasonName(res.Reason) != reason {
		t.Fatalf("got %d %q, want %d %q", res.Status, res.Reason, status, reason)
	}
}

func TestMapDocroot(t *testing.T) {
	root := t.TempDir()
	writeTree(t, root, map[string]string{"a b.html": "<p>hi</p>", "sub/x.txt": "x"})
	m := NewMapper(MapConfig{DocRoot: root}, nil)
	res := m.Map(newReq("GET", "/a%20b.html"))
	expect(t, res, 200, "file")
	if want, _ := filepath.EvalSymlinks(filepath.Join(root, "a b.html")); res.File != want {
		t.Errorf("File = %q, want %q", res.File, want)
	}
	if res.ContentType != "text/html; charset=utf-8" || res.ModTime.IsZero() || res.Content != nil {
		t.Errorf("got %+v", res)
	}
	expect(t, m.Map(newReq("HEAD", "/sub/x.txt")), 200, "file")
	expect(t, m.Map(newReq("GET", "/nope.html")), 404, "not found")
	expect(t, m.Map(newReq("GET", "/sub/x.txt/more")), 404, "not found")
	expect(t, m.Map(newReq("GET", "/sub/x.txt/")), 404, "not found")
	expect(t, m.Map(newReq("GET", "/./sub//x.txt")), 200, "file")
	expect(t, m.Map(newReq("GET", "*")), 400, "bad path")

	res = m.Map(newReq("POST", "/a%20b.html"))
	expect(t, res, 405, "method not allowed")
	if res.Header.Get("Allow") != "GET, HEAD, OPTIONS" {
		t.Errorf("Allow = %q", res.Header.Get("Allow"))
	}
	expect(t, NewMapper(MapConfig{}, nil).Map(newReq("GET", "/")), 404, "not found")
}

func TestMapVirtualHosts(t *testing.T) {
	def, joe, mary := t.TempDir(), t.TempDir(), t.TempDir()
	writeTree(t, def, map[string]string{"who.txt": "default"})
	writeTree(t, joe, map[string]string{"who.txt": "joe"})
	writeTree(t, mary, map[string]string{"who.txt": "mary"})
	m := NewMapper(MapConfig{DocRoot: def, VHosts: map[string]VHost{
		"www.joes-hardware.com":  {DocRoot: joe},
		"WWW.Mary-Hardware.com.": {DocRoot: mary},
	}}, nil)
	for _, tc := range []struct{ host, who, vhost string }{
		{"www.joes-hardware.com", "joe", "www.joes-hardware.com"},
		{"WWW.JOES-HARDWARE.COM:8080", "joe", "www.joes-hardware.com"},
		{"www.mary-hardware.com", "mary", "WWW.Mary-Hardware.com."},
		{"unknown.example", "default", ""},
		{"", "default", ""},
	} {
		req := newReq("GET", "/who.txt")
		req.Host = tc.host
		res := m.Map(req)
		if got := body(t, res); got != tc.who || res.VHost != tc.vhost {
			t.Errorf("Host %q: body %q vhost %q, want %q %q", tc.host, got, res.VHost, tc.who, tc.vhost)
		}
	}
}

func TestMapRedirects(t *testing.T) {
	m := NewMapper(MapConfig{DocRoot: t.TempDir(), Redirects: []Redirect{
		{Status: 301, From: "/old", To: "/new"},
		{Status: 308, From: "/moved/", To: "http://elsewhere.example/"},
		{Status: 303, From: "/login", To: "/auth/login.html"},
		{Status: 307, From: "/tmp", To: "/temp"},
		{Status: 0, From: "/plain", To: "/p"},
	}}, nil)
	for _, tc := range []struct {
		target, loc string
		status      int
	}{
		{"/old", "/new", 301},
		{"/old/a%20b.html?x=1", "/new/a%20b.html?x=1", 301},
		{"/moved/x/y", "http://elsewhere.example/x/y", 308},
		{"/moved", "http://elsewhere.example/", 308},
		{"/login", "/auth/login.html", 303},
		{"/tmp/f", "/temp/f", 307},
		{"/plain", "/p", 302},
	} {
		res := m.Map(newReq("GET", tc.target))
		if res.Status != tc.status || res.Location != tc.loc || res.Reason != "redirect" {
			t.Errorf("%s: %d %q %q, want %d %q", tc.target, res.Status, res.Location, res.Reason, tc.status, tc.loc)
		}
	}
	// A prefix matches whole segments only.
	expect(t, m.Map(newReq("GET", "/olden")), 404, "not found")
}

func TestMapUserDirs(t *testing.T) {
	home := t.TempDir()
	writeTree(t, home, map[string]string{"public_html/x.html": "joe's", "secret.txt": "no"})
	cfg := MapConfig{DocRoot: t.TempDir(), UserDir: "public_html", UserDirs: map[string]string{"joe": home}}
	m := NewMapper(cfg, nil)
	res := m.Map(newReq("GET", "/~joe/x.html"))
	expect(t, res, 200, "file")
	if body(t, res) != "joe's" {
		t.Errorf("body %q", body(t, res))
	}
	res = m.Map(newReq("GET", "/~joe?q"))
	expect(t, res, 301, "slash redirect")
	if res.Location != "/~joe/?q" {
		t.Errorf("Location %q", res.Location)
	}
	expect(t, m.Map(newReq("GET", "/~nobody/x.html")), 404, "no such user")
	expect(t, m.Map(newReq("GET", "/~/x.html")), 404, "no such user")
	expect(t, m.Map(newReq("GET", "/~joe/../secret.txt")), 403, "path escape")
	expect(t, m.Map(newReq("GET", "/~joe/%2e%2e/secret.txt")), 403, "path escape")
	// Without UserDir, ~user URLs are ordinary paths.
	cfg.UserDir = ""
	expect(t, NewMapper(cfg, nil).Map(newReq("GET", "/~joe/x.html")), 404, "not found")
}

func TestMapPathEscapes(t *testing.T) {
	parent := t.TempDir()
	root := filepath.Join(parent, "www")
	writeTree(t, parent, map[string]string{"secret.txt": "secret", "www/a/x.txt": "x", "www/.htpasswd": "u:h"})
	m := NewMapper(MapConfig{DocRoot: root, Listings: true}, nil)
	for _, target := range []string{
		"/../secret.txt",
		"/a/../../secret.txt",
		"/a/..",
		"/%2e%2e/secret.txt",
		"/%2E%2E/%2e%2e/secret.txt",
		"/a/%2e%2e/%2e%2e/secret.txt",
		"/a%2f..%2f..%2fsecret.txt",
		"/a%2fx.txt",
		"/..%5csecret.txt",
		"/a\\..\\..\\secret.txt",
		"/a/x.txt%00.html",
		"/a/x.txt\x00",
	} {
		res := m.Map(newReq("GET", target))
		if res.Status != 403 || reasonName(res.Reason) != "path escape" {
			t.Errorf("%q: %d %q, want 403 path escape", target, res.Status, res.Reason)
		}
	}
	expect(t, m.Map(newReq("GET", "/.htpasswd")), 403, "hidden file")
	expect(t, m.Map(newReq("GET", "/a/x.txt")), 200, "file")
}

func TestMapSymlinks(t *testing.T) {
	parent := t.TempDir()
	root := filepath.Join(parent, "www")
	writeTree(t, parent, map[string]string{"secret.txt": "secret", "outdir/s.txt": "s", "www/in.txt": "in", "www/d/": ""})
	links := map[string]string{
		"www/out.txt":     "../secret.txt",
		"www/abs.txt":     filepath.Join(parent, "secret.txt"),
		"www/outdir":      "../outdir",
		"www/d/up.txt":    "../../secret.txt",
		"www/alias.txt":   "in.txt",
		"www/dangling":    "nowhere",
		"www/loop":        "loop",
		"www/d/indir.txt": "../in.txt",
	}
	for name, target := range links {
		if err := os.Symlink(target, filepath.Join(parent, name)); err != nil {
			t.Skip("cannot create symlinks here:", err)
		}
	}
	m := NewMapper(MapConfig{DocRoot: root, Listings: true}, nil)
	for _, target := range []string{"/out.txt", "/abs.txt", "/outdir/s.txt", "/outdir/", "/d/up.txt"} {
		res := m.Map(newReq("GET", target))
		if res.Status != 403 || res.Reason != "path escape (symlink)" {
			t.Errorf("%s: %d %q, want 403 path escape (symlink)", target, res.Status, res.Reason)
		}
	}
	expect(t, m.Map(newReq("GET", "/alias.txt")), 200, "file")
	expect(t, m.Map(newReq("GET", "/d/indir.txt")), 200, "file")
	expect(t, m.Map(newReq("GET", "/dangling")), 404, "not found")
	expect(t, m.Map(newReq("GET", "/loop")), 404, "not found")

	// A docroot that is itself a symlink is fine.
	linkRoot := filepath.Join(parent, "wwwlink")
	if err := os.Symlink("www", linkRoot); err != nil {
		t.Fatal(err)
	}
	m2 := NewMapper(MapConfig{DocRoot: linkRoot}, nil)
	expect(t, m2.Map(newReq("GET", "/in.txt")), 200, "file")
	expect(t, m2.Map(newReq("GET", "/out.txt")), 403, "path escape")

	// The listing leaves out what leads outside or nowhere.
	res := m.Map(newReq("GET", "/"))
	expect(t, res, 200, "listing")
	page := body(t, res)
	for _, hidden := range []string{"out.txt", "abs.txt", "outdir", "dangling", "loop"} {
		if strings.Contains(page, ">"+hidden) {
			t.Errorf("listing shows %s:\n%s", hidden, page)
		}
	}
	for _, shown := range []string{">alias.txt<", ">in.txt<", ">d/<"} {
		if !strings.Contains(page, shown) {
			t.Errorf("listing lacks %s:\n%s", shown, page)
		}
	}
}

func TestMapDirectories(t *testing.T) {
	root := t.TempDir()
	writeTree(t, root, map[string]string{
		"docs/index.html": "html", "docs/index.htm": "htm",
		"only-htm/index.htm": "htm",
		"empty/":             "",
	})
	m := NewMapper(MapConfig{DocRoot: root, DirectoryIndex: []string{"index.html", "index.htm"}}, nil)
	res := m.Map(newReq("GET", "/docs?a=1&b=2"))
	expect(t, res, 301, "slash redirect")
	if res.Location != "/docs/?a=1&b=2" {
		t.Errorf("Location %q", res.Location)
	}
	res = m.Map(newReq("GET", "/docs/"))
	if res.Status != 200 || res.Reason != "directory index (index.html)" || body(t, res) != "html" {
		t.Errorf("got %d %q %q", res.Status, res.Reason, body(t, res))
	}
	res = m.Map(newReq("GET", "/only-htm/"))
	if res.Reason != "directory index (index.htm)" || body(t, res) != "htm" {
		t.Errorf("got %q %q", res.Reason, body(t, res))
	}
	expect(t, m.Map(newReq("GET", "/empty/")), 403, "directory forbidden")
	// With the default DirectoryIndex (index.html) and listings on.
	m = NewMapper(MapConfig{DocRoot: root, Listings: true}, nil)
	expect(t, m.Map(newReq("GET", "/only-htm/")), 200, "listing")
	expect(t, m.Map(newReq("GET", "/docs/")), 200, "directory index")
	expect(t, m.Map(newReq("POST", "/empty/")), 405, "method not allowed")
}

func TestDemoSite(t *testing.T) {
	m := NewMapper(MapConfig{SSI: true, Listings: true}, DemoSite())
	get := func(target string, headers ...string) *Resource {
		t.Helper()
		return m.Map(newReq("GET", target, headers...))
	}
	res := get("/")
	expect(t, res, 200, "directory index")
	if res.ContentType != "text/html; charset=utf-8" || res.File != "" || !bytes.Contains(res.Content, []byte(`href="style.css"`)) ||
		!bytes.Contains(res.Content, []byte(`src="logo.png"`)) || !res.ModTime.Equal(demoModTime) {
		t.Errorf("index: %q %q %v", res.ContentType, res.File, res.ModTime)
	}
	res = get("/docs")
	expect(t, res, 301, "slash redirect")
	if res.Location != "/docs/" {
		t.Errorf("Location %q", res.Location)
	}
	expect(t, get("/docs/"), 200, "directory index")
	if ct := get("/style.css").ContentType; ct != "text/css; charset=utf-8" {
		t.Errorf("style.css: %q", ct)
	}

	res = get("/logo.png")
	if res.ContentType != "image/png" {
		t.Errorf("logo.png: %q", res.ContentType)
	}
	img, err := png.Decode(bytes.NewReader(res.Content))
	if err != nil {
		t.Fatalf("logo.png is not a valid PNG: %v", err)
	}
	if b := img.Bounds(); b.Dx() != 32 || b.Dy() != 32 {
		t.Errorf("logo.png is %v", b)
	}

	res = get("/big.txt")
	if n := len(res.Content); n < 290<<10 || n > 300<<10 || res.ContentType != "text/plain; charset=utf-8" {
		t.Errorf("big.txt: %d bytes, %q", n, res.ContentType)
	}
	if !bytes.HasPrefix(res.Content, []byte("00001 ")) || !bytes.HasSuffix(res.Content, []byte(".\n")) {
		t.Errorf("big.txt starts %q", res.Content[:40])
	}
	if !bytes.Equal(res.Content, demoBigText(demoBigBytes)) {
		t.Error("big.txt is not deterministic")
	}
	t.Logf("big.txt: %d bytes, sha256 %x", len(res.Content), sha256.Sum256(res.Content))

	res = get("/hello.html", "Accept-Language: ko-KR, ko;q=0.9, en;q=0.5")
	if res.ContentLanguage != "ko" || !bytes.Contains(res.Content, []byte("안녕하세요")) || res.Header.Get("Vary") != "Accept-Language" {
		t.Errorf("hello.html (ko): %q %q", res.ContentLanguage, res.Reason)
	}
	if res := get("/hello.html"); res.ContentLanguage != "en" {
		t.Errorf("hello.html (default): %q", res.ContentLanguage)
	}

	res = get("/ssi.shtml")
	expect(t, res, 200, "ssi")
	for _, want := range []string{"This page is ssi.shtml at\n/ssi.shtml", "for 192.0.2.10", "This footer was included"} {
		if !bytes.Contains(res.Content, []byte(want)) {
			t.Errorf("ssi.shtml lacks %q:\n%s", want, res.Content)
		}
	}
	if bytes.Contains(res.Content, []byte("<!--#")) || bytes.Contains(res.Content, []byte(ssiErrMsg)) {
		t.Errorf("ssi.shtml not fully processed:\n%s", res.Content)
	}

	if ct := get("/pub/notes").ContentType; ct != "text/plain; charset=utf-8" {
		t.Errorf("pub/notes: %q", ct)
	}
	res = get("/pub/")
	expect(t, res, 200, "listing")
	if !bytes.Contains(res.Content, []byte(`href="./readme.txt"`)) {
		t.Errorf("pub/ listing:\n%s", res.Content)
	}
	expect(t, NewMapper(MapConfig{}, DemoSite()).Map(newReq("GET", "/pub/")), 403, "directory forbidden")
	expect(t, get("/missing"), 404, "not found")
	expect(t, get("/../x"), 403, "path escape")
}

func TestMapFSRootRefusesCGI(t *testing.T) {
	fsys := fstest.MapFS{"x.cgi": {Data: []byte("#!/bin/sh\necho secret source\n")}}
	m := NewMapper(MapConfig{CGIExtensions: []string{".cgi"}}, fsys)
	expect(t, m.Map(newReq("GET", "/x.cgi")), 403, "cgi unavailable")
	expect(t, m.Map(newReq("GET", "/x.cgi/path/info")), 403, "cgi unavailable")
}

func TestSafePath(t *testing.T) {
	for _, tc := range []struct{ path, target, clean, why string }{
		{"/", "/", "/", ""},
		{"", "", "/", ""},
		{"/a/./b//c/", "/a/./b//c/", "/a/b/c/", ""},
		{"/a/../b", "/a/../b", "", ".."},
		{"/a/b", "/a%2Fb", "", "%2f"},
		{"/a/b", "/a/b?x=%2f", "/a/b", ""},
		{"/a\\b", "/a%5cb", "", "backslash"},
		{"/a\x00", "/a%00", "", "NUL"},
		{"a", "a", "", "bad path"},
	} {
		clean, why := safePath(tc.path, tc.target)
		if clean != tc.clean || why != tc.why {
			t.Errorf("safePath(%q, %q) = %q, %q; want %q, %q", tc.path, tc.target, clean, why, tc.clean, tc.why)
		}
	}
}

func TestHostKey(t *testing.T) {
	for in, want := range map[string]string{
		"Example.COM": "example.com", "example.com:8080": "example.com", "example.com.": "example.com",
		"[::1]:80": "::1", "::1": "::1", "10.0.0.1:80": "10.0.0.1",
	} {
		if got := hostKey(in); got != want {
			t.Errorf("hostKey(%q) = %q, want %q", in, got, want)
		}
	}
}

func ExampleNewMapper() {
	m := NewMapper(MapConfig{SSI: true}, DemoSite())
	for _, target := range []string{"/", "/docs", "/hello.html", "/nope"} {
		res := m.Map(&Request{Method: "GET", Target: target, Path: target})
		line := fmt.Sprint(target, " ", res.Status, " ", res.Reason)
		if res.Location != "" {
			line += " -> " + res.Location
		}
		fmt.Println(line)
	}
	// Output:
	// / 200 directory index (index.html)
	// /docs 301 slash redirect -> /docs/
	// /hello.html 200 negotiated (en)
	// /nope 404 not found
}
