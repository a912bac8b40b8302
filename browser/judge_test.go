package browser

import (
	"bytes"
	"compress/gzip"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"strconv"
	"strings"
	"testing"
)

func response(code int, hdr ...string) *http.Response {
	r := &http.Response{StatusCode: code, Status: strconv.Itoa(code) + " " + http.StatusText(code), Header: http.Header{}}
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Set(hdr[i], hdr[i+1])
	}
	return r
}

func gz(t *testing.T, s string) []byte {
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	w.Write([]byte(s))
	w.Close()
	return b.Bytes()
}

func pngOf(t *testing.T, w, h int) []byte {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	img.Set(0, 0, color.Black)
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func stepNamed(steps []step, name string) string {
	for _, s := range steps {
		if s.name == name {
			return s.msg
		}
	}
	return ""
}

// The seed's order of judgement: the type from Content-Type, the charset
// of text, Content-Encoding, the extension as a fallback; then display or
// hand on.
func TestJudge(t *testing.T) {
	page := "<!DOCTYPE html><meta charset=\"euc-kr\"><p>hi"
	cases := []struct {
		name, path, rel string
		resp            *http.Response
		body            []byte
		want            Judgement
		saying          map[string]string // step name -> a phrase its sentence has
	}{
		{"html with charset", "/", "", response(200, "Content-Type", "text/html; charset=UTF-8"), []byte(page),
			Judgement{MediaType: "text/html", TypeFrom: "Content-Type", Charset: "utf-8", CharsetBy: "Content-Type", Action: ShowHTML},
			map[string]string{"type": "subtype html", "charset": "utf-8", "encoding": "no Content-Encoding"}},
		{"meta charset when the header has none", "/", "", response(200, "Content-Type", "text/html"), []byte(page),
			Judgement{MediaType: "text/html", Charset: "euc-kr", CharsetBy: "<meta charset>", Action: ShowHTML},
			map[string]string{"charset": "<meta charset> says euc-kr"}},
		{"text without any charset", "/a.txt", "", response(200, "Content-Type", "text/plain"), []byte("abc"),
			Judgement{MediaType: "text/plain", Charset: "windows-1252", CharsetBy: "default", Action: ShowText}, nil},
		{"gzip decoded", "/a.txt", "", response(200, "Content-Type", "text/plain; charset=utf-8", "Content-Encoding", "gzip"), gz(t, "hello hello hello"),
			Judgement{MediaType: "text/plain", Charset: "utf-8", Encoding: "gzip", Action: ShowText, Data: []byte("hello hello hello")},
			map[string]string{"encoding": "decompressed"}},
		{"broken gzip", "/a.txt", "", response(200, "Content-Type", "text/plain", "Content-Encoding", "gzip"), []byte("not gzip"),
			Judgement{MediaType: "text/plain", Encoding: "gzip", Action: Nothing}, map[string]string{"encoding": "does not decode"}},
		{"unknown coding", "/a.txt", "", response(200, "Content-Type", "text/plain", "Content-Encoding", "br"), []byte("x"),
			Judgement{MediaType: "text/plain", Encoding: "br", Action: Nothing}, nil},
		{"no Content-Type: the extension", "/logo.png", "", response(200), pngOf(t, 3, 2),
			Judgement{MediaType: "image/png", TypeFrom: "extension", Action: ShowImage},
			map[string]string{"type": "extension .png"}},
		{"octet-stream: the extension", "/s.css", "stylesheet", response(200, "Content-Type", "application/octet-stream"), []byte("p{}"),
			Judgement{MediaType: "text/css", TypeFrom: "extension", Action: UseResource}, nil},
		{"octet-stream, no extension: save", "/pub/notes", "", response(200, "Content-Type", "application/octet-stream"), []byte{0, 1, 2},
			Judgement{MediaType: "application/octet-stream", TypeFrom: "default", Action: Save}, nil},
		{"an application's type", "/x.pdf", "", response(200, "Content-Type", "application/pdf"), []byte("%PDF"),
			Judgement{MediaType: "application/pdf", Action: HandOff}, nil},
		{"header beats extension", "/x.txt", "", response(200, "Content-Type", "text/html"), []byte("<p>"),
			Judgement{MediaType: "text/html", Action: ShowHTML}, map[string]string{"type": "the header wins"}},
		{"redirect", "/docs", "", response(301, "Location", "/docs/"), nil,
			Judgement{Action: Follow}, map[string]string{"status": "/docs/"}},
		{"not modified", "/", "", response(304), nil, Judgement{Action: Nothing}, nil},
		{"error page", "/nope", "", response(404, "Content-Type", "text/html"), []byte("<p>no"),
			Judgement{MediaType: "text/html", Action: ShowError}, map[string]string{"status": "could not give"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			j, steps := judge(c.path, c.rel, c.resp, c.body)
			if j.Action != c.want.Action || (c.want.MediaType != "" && j.MediaType != c.want.MediaType) ||
				(c.want.TypeFrom != "" && j.TypeFrom != c.want.TypeFrom) || (c.want.Charset != "" && j.Charset != c.want.Charset) ||
				(c.want.CharsetBy != "" && j.CharsetBy != c.want.CharsetBy) || j.Encoding != c.want.Encoding ||
				(c.want.Data != nil && !bytes.Equal(j.Data, c.want.Data)) {
				t.Errorf("judgement %+v, want %+v", j, c.want)
			}
			for name, phrase := range c.saying {
				if got := stepNamed(steps, name); !strings.Contains(got, phrase) {
					t.Errorf("step %s says %q, want it to say %q", name, got, phrase)
				}
			}
			if j.Action == ShowImage && (j.Image.Width != 3 || j.Image.Height != 2) {
				t.Errorf("image decoded as %dx%d, want 3x2", j.Image.Width, j.Image.Height)
			}
		})
	}
}

// A small gzip body that expands beyond the bound is refused, not
// decompressed into memory without limit.
func TestGunzipBounded(t *testing.T) {
	big := gz(t, strings.Repeat("a", MaxDecodedBytes+10))
	if _, err := gunzip(big); err == nil || !strings.Contains(err.Error(), "expands beyond") {
		t.Fatalf("gunzip of a body expanding beyond %d bytes: err %v", MaxDecodedBytes, err)
	}
}

func TestSubresources(t *testing.T) {
	page := `<html><head><link rel="stylesheet" href="style.css"><link rel="icon" href="fav.ico">
<script src="/js/app.js?v=2"></script><script>inline()</script></head>
<body><img src="logo.png"><img src="logo.png"><img src="http://elsewhere.example/x.png"><a href="other.html">x</a>
<img src="../up.gif"></body></html>`
	got := subresources("/docs/index.html", []byte(page))
	want := []Subresource{{"/docs/style.css", "stylesheet"}, {"/js/app.js?v=2", "script"}, {"/docs/logo.png", "image"}, {"/up.gif", "image"}}
	if len(got) != len(want) {
		t.Fatalf("subresources = %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("subresource %d = %v, want %v", i, got[i], want[i])
		}
	}
}
