package httpd

import (
	"bytes"
	"image"
	"image/png"
	"testing"
)

func TestBundledMIMETypes(t *testing.T) {
	types := builtinTypes()
	distinct := map[string]bool{}
	for _, typ := range types {
		distinct[typ] = true
	}
	if len(distinct) < 90 {
		t.Errorf("mime.types has %d types, want about 100", len(distinct))
	}
	for ext, want := range map[string]string{
		".html": "text/html", ".HTM": "text/html", ".shtml": "text/html", ".css": "text/css",
		".js": "text/javascript", ".png": "image/png", ".jpg": "image/jpeg", ".svg": "image/svg+xml",
		".json": "application/json", ".pdf": "application/pdf", ".gz": "application/gzip",
		".txt": "text/plain", ".mp4": "video/mp4", ".woff2": "font/woff2", ".bin": "application/octet-stream",
	} {
		if got := types[normExt(ext)]; got != want {
			t.Errorf("%s: %q, want %q", ext, got, want)
		}
	}
}

func TestParseMIMETypes(t *testing.T) {
	got := parseMIMETypes("# comment\ntext/x-a  a  b # trailing\n\ntext/x-c a c\nbad-line-without-ext\n")
	want := map[string]string{".a": "text/x-a", ".b": "text/x-a", ".c": "text/x-c"}
	if len(got) != len(want) {
		t.Fatalf("got %v", got)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %q, want %q (first line wins)", k, got[k], v)
		}
	}
}

// TestContentTypeOrder checks the precedence explicit > AddType >
// mime.types > magic > default, each through a real file.
func TestContentTypeOrder(t *testing.T) {
	var pngBytes bytes.Buffer
	if err := png.Encode(&pngBytes, image.NewGray(image.Rect(0, 0, 1, 1))); err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	writeTree(t, root, map[string]string{
		"page.html":     "<p>é</p>",
		"latin1.html":   "<p>caf\xe9</p>",
		"forced.html":   "<p>x</p>",
		"raw/a.html":    "<p>x</p>",
		"raw/deep/b.js": "x",
		"data.foo":      "foo",
		"style.css":     "body{}",
		"image":         pngBytes.String(),
		"README":        "plain words\n",
		"page":          "<!DOCTYPE html><html><body>x</body></html>",
		"blob":          "\x00\x01\x02\x03binary",
		"empty":         "",
		"big.weird":     "unknown extension, text content",
		"shift.txt":     "\x83\x65\x83\x58\x83\x67", // Shift_JIS, not UTF-8
		"hello.html.ko": "<p>안녕</p>",
		"x.svg":         "<svg/>",
		"x.png":         "not really a png",
	})
	m := NewMapper(MapConfig{
		DocRoot: root,
		Types:   map[string]string{".foo": "application/x-foo", "CSS": "text/x-overridden"},
		ExplicitTypes: map[string]string{
			"/forced.html": "text/plain",
			"/raw/":        "application/octet-stream",
			"/raw/deep/":   "text/plain; charset=iso-8859-1",
		},
	}, nil)
	for _, tc := range []struct{ path, want string }{
		{"/page.html", "text/html; charset=utf-8"},           // mime.types, UTF-8 content
		{"/latin1.html", "text/html"},                        // mime.types, not UTF-8: no charset
		{"/forced.html", "text/plain"},                       // explicit beats mime.types, sent as configured
		{"/raw/a.html", "application/octet-stream"},          // explicit directory prefix
		{"/raw/deep/b.js", "text/plain; charset=iso-8859-1"}, // the longest prefix wins
		{"/data.foo", "application/x-foo"},                   // AddType
		{"/style.css", "text/x-overridden; charset=utf-8"},   // AddType beats mime.types
		{"/image", "image/png"},                              // magic
		{"/README", "text/plain; charset=utf-8"},             // magic, text
		{"/page", "text/html; charset=utf-8"},                // magic, HTML
		{"/blob", "application/octet-stream"},                // magic finds nothing: default
		{"/empty", "text/plain; charset=utf-8"},              // magic on nothing
		{"/big.weird", "text/plain; charset=utf-8"},          // unknown extension: magic
		{"/shift.txt", "text/plain"},                         // not UTF-8
		{"/hello.html.ko", "text/html; charset=utf-8"},       // language extension skipped
		{"/x.svg", "image/svg+xml; charset=utf-8"},           // XML is text
		{"/x.png", "image/png"},                              // the name decides, not the content
	} {
		res := m.Map(newReq("GET", tc.path))
		if res.ContentType != tc.want {
			t.Errorf("%s: %q, want %q", tc.path, res.ContentType, tc.want)
		}
	}
	if lang := m.Map(newReq("GET", "/hello.html.ko")).ContentLanguage; lang != "ko" {
		t.Errorf("hello.html.ko: Content-Language %q", lang)
	}
}

func TestValidUTF8Prefix(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want bool
	}{
		{"", true}, {"ascii", true}, {"한국어", true},
		{"한국어"[:4], true}, // cut inside a character by the window
		{"caf\xe9 ok", false}, {"\xff", false}, {"\xffx", false}, {"a\xed\xa0\x80b", false},
	} {
		if got := validUTF8Prefix([]byte(tc.in)); got != tc.want {
			t.Errorf("validUTF8Prefix(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}
