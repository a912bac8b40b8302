package httpd

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/packetwalk/packetwalk/clock"
	"github.com/packetwalk/packetwalk/viz"
)

// Tests of step 5's representation decisions: compression, ranges and
// validators, over the kernel's loopback, with raw requests and with Go's
// net/http client as a peer we did not write.

// entitySite is a docroot with a compressible page, a PNG, a small text
// and a binary file, all modified at siteMod, served by a FileMapper.
var siteMod = time.Date(2000, 2, 3, 4, 5, 6, 0, time.UTC) // before fixedNow

func entitySite(t *testing.T, cfg Config, rec *viz.Recorder) (*testServer, map[string][]byte) {
	t.Helper()
	root := t.TempDir()
	files := map[string][]byte{
		"page.html": []byte(strings.Repeat("<p>The quick brown fox jumps over the lazy dog.</p>\n", 200)),
		"logo.png":  append([]byte("\x89PNG\r\n\x1a\n"), bytes.Repeat([]byte("pixels"), 500)...),
		"tiny.txt":  []byte("small\n"),
		"data.bin":  []byte(strings.Repeat("0123456789", 100)),
	}
	for name, b := range files {
		p := filepath.Join(root, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		os.Chtimes(p, siteMod, siteMod)
	}
	return startServer(t, cfg, NewMapper(MapConfig{DocRoot: root}, nil), rec), files
}

func gunzip(t *testing.T, b []byte) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("not gzip: %v", err)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		t.Fatalf("bad gzip: %v", err)
	}
	return out
}

func get(t *testing.T, addr, path string, headers ...string) (*http.Response, string) {
	t.Helper()
	// Connection: close, so that the test's many connections do not
	// hold the pool's workers for the keep-alive timeout.
	raw := "GET " + path + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
	for _, h := range headers {
		raw += h + "\r\n"
	}
	resp, body, _ := exchange(t, addr, raw+"\r\n")
	return resp, body
}

func TestServerGzip(t *testing.T) {
	sink := &viz.MemorySink{}
	log := viz.NewLog(clock.NewVirtual())
	log.AddSink(sink)
	ts, files := entitySite(t, Config{}, log.Recorder("server"))
	page := files["page.html"]

	for _, tc := range []struct {
		ae   string // the Accept-Encoding line, "" for none
		gzip bool
	}{
		{"", false},
		{"Accept-Encoding: gzip", true},
		{"Accept-Encoding: GZIP;q=0.5", true},
		{"Accept-Encoding: x-gzip", true},
		{"Accept-Encoding: *", true},
		{"Accept-Encoding: deflate, gzip;q=1.0, *;q=0.5", true},
		{"Accept-Encoding: gzip, identity", true},
		{"Accept-Encoding: gzip;q=0", false},
		{"Accept-Encoding: *;q=0, identity", false},
		{"Accept-Encoding: identity", false},
		{"Accept-Encoding: br", false},
		{"Accept-Encoding: ", false},
		{"Accept-Encoding: gzip;q=0.4, identity;q=0.8", false},
		{"Accept-Encoding: gzip;q=2", false}, // a malformed weight: the entry is ignored
	} {
		var hdr []string
		if tc.ae != "" {
			hdr = append(hdr, tc.ae)
		}
		resp, body := get(t, ts.addr, "/page.html", hdr...)
		if resp.StatusCode != 200 || resp.Header.Get("Vary") != "Accept-Encoding" {
			t.Errorf("%q: %d, Vary %q", tc.ae, resp.StatusCode, resp.Header.Get("Vary"))
		}
		got := []byte(body)
		if tc.gzip {
			if resp.Header.Get("Content-Encoding") != "gzip" {
				t.Errorf("%q: not compressed: %v", tc.ae, resp.Header)
				continue
			}
			if len(got) >= len(page)/4 {
				t.Errorf("%q: %d bytes compressed to %d", tc.ae, len(page), len(got))
			}
			if resp.Header.Get("Content-Length") != strconv.Itoa(len(got)) {
				t.Errorf("%q: Content-Length %s for %d bytes", tc.ae, resp.Header.Get("Content-Length"), len(got))
			}
			if !strings.HasSuffix(resp.Header.Get("ETag"), `-gzip"`) {
				t.Errorf("%q: the gzip body needs an ETag of its own, got %q", tc.ae, resp.Header.Get("ETag"))
			}
			got = gunzip(t, got)
		} else if ce := resp.Header.Get("Content-Encoding"); ce != "" {
			t.Errorf("%q: Content-Encoding %q, want none", tc.ae, ce)
		}
		if !bytes.Equal(got, page) {
			t.Errorf("%q: the body differs from the file", tc.ae)
		}
	}

	// The same bytes every time: no time stamp, no name in the header.
	_, a := get(t, ts.addr, "/page.html", "Accept-Encoding: gzip")
	_, b := get(t, ts.addr, "/page.html", "Accept-Encoding: gzip")
	if a != b || a[4:8] != "\x00\x00\x00\x00" || a[3]&0x08 != 0 {
		t.Errorf("gzip output differs run to run, or carries MTIME/FNAME: % x", []byte(a[:10]))
	}

	// HEAD says what GET would send: the compressed length, no body.
	c := dial(t, ts.addr)
	io.WriteString(c, "HEAD /page.html HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\n\r\n")
	resp, _ := readResponse(t, bufio.NewReader(c), "HEAD")
	if resp.Header.Get("Content-Encoding") != "gzip" || resp.Header.Get("Content-Length") != strconv.Itoa(len(a)) {
		t.Errorf("HEAD: %v, want the gzip length %d", resp.Header, len(a))
	}

	// Not compressed: a PNG (and no Vary: it never varies), a body under
	// CompressMinSize.
	for _, p := range []string{"/logo.png", "/tiny.txt"} {
		resp, body := get(t, ts.addr, p, "Accept-Encoding: gzip")
		if resp.Header.Get("Content-Encoding") != "" || resp.Header.Get("Vary") != "" || body != string(files[strings.TrimPrefix(p, "/")]) {
			t.Errorf("%s: %v", p, resp.Header)
		}
	}

	// Each decision is a respond step that says why.
	whys := map[string]string{}
	for _, e := range sink.Events() {
		if d, _ := e.Field("decision"); e.Step == "respond" && d == "encoding" {
			enc, _ := e.Field("encoding")
			why, _ := e.Field("why")
			whys[enc+": "+why] = e.Msg
			if enc == "gzip" {
				if before, _ := e.Field("before"); before != strconv.Itoa(len(page)) {
					t.Errorf("gzip step: before %q", before)
				}
				if !strings.Contains(e.Msg, "RFC 9110") {
					t.Errorf("gzip step without its RFC section: %q", e.Msg)
				}
			}
		}
	}
	for _, want := range []string{"gzip: ", "identity: the request has no Accept-Encoding", "does not accept gzip", "prefers identity",
		"identity: the type image/png is not worth compressing", "smaller than CompressMinSize"} {
		found := false
		for k := range whys {
			if strings.Contains(k, want) {
				found = true
			}
		}
		if !found {
			t.Errorf("no encoding step says %q; have %v", want, whys)
		}
	}
}

func TestServerGzipLimitsAndKnob(t *testing.T) {
	sink := &viz.MemorySink{}
	log := viz.NewLog(clock.NewVirtual())
	log.AddSink(sink)
	ts, files := entitySite(t, Config{CompressMaxBytes: 1000}, log.Recorder("server"))
	resp, body := get(t, ts.addr, "/page.html", "Accept-Encoding: gzip")
	if resp.Header.Get("Content-Encoding") != "" || body != string(files["page.html"]) {
		t.Fatalf("a body over CompressMaxSize was compressed: %v", resp.Header)
	}
	dropped := false
	for _, e := range sink.Events() {
		if e.Verdict == viz.Drop && e.Reason == viz.ReasonHTTPCompressTooLarge {
			dropped = true
		}
	}
	if !dropped {
		t.Error("no http_compress_too_large step")
	}

	ts, _ = entitySite(t, Config{DisableCompression: true}, nil)
	resp, _ = get(t, ts.addr, "/page.html", "Accept-Encoding: gzip")
	if resp.Header.Get("Content-Encoding") != "" || resp.Header.Get("Vary") != "" {
		t.Fatalf("Compression Off still compressed or varied: %v", resp.Header)
	}
}

// TestServerGzipNetHTTP: Go's client sends Accept-Encoding: gzip by
// itself and decompresses what comes back; it must get the file.
func TestServerGzipNetHTTP(t *testing.T) {
	ts, files := entitySite(t, Config{}, nil)
	resp, err := http.Get("http://" + ts.addr + "/page.html")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !resp.Uncompressed || !bytes.Equal(body, files["page.html"]) {
		t.Fatalf("net/http: uncompressed=%v, %d bytes, want the %d-byte file", resp.Uncompressed, len(body), len(files["page.html"]))
	}
}

func TestServerRanges(t *testing.T) {
	sink := &viz.MemorySink{}
	log := viz.NewLog(clock.NewVirtual())
	log.AddSink(sink)
	ts, files := entitySite(t, Config{MaxRanges: 3}, log.Recorder("server"))
	data := string(files["data.bin"])

	resp, body := get(t, ts.addr, "/data.bin")
	if resp.StatusCode != 200 || resp.Header.Get("Accept-Ranges") != "bytes" || body != data {
		t.Fatalf("plain GET: %d %v", resp.StatusCode, resp.Header)
	}
	etag := resp.Header.Get("ETag")
	lastMod := resp.Header.Get("Last-Modified")

	for _, tc := range []struct {
		headers []string
		status  int
		cr      string // Content-Range
		body    string // for 200 and 206
	}{
		{[]string{"Range: bytes=0-99"}, 206, "bytes 0-99/1000", data[:100]},
		{[]string{"Range: bytes=990-"}, 206, "bytes 990-999/1000", data[990:]},
		{[]string{"Range: bytes=-5"}, 206, "bytes 995-999/1000", data[995:]},
		{[]string{"Range: bytes=-5000"}, 206, "bytes 0-999/1000", data},
		{[]string{"Range: bytes=900-5000"}, 206, "bytes 900-999/1000", data[900:]},
		{[]string{"Range: BYTES = 10-19"}, 206, "bytes 10-19/1000", data[10:20]},
		{[]string{"Range: bytes=2000-"}, 416, "bytes */1000", ""},
		{[]string{"Range: bytes=-0"}, 416, "bytes */1000", ""},
		{[]string{"Range: bytes=1000-1000, 2000-"}, 416, "bytes */1000", ""},
		{[]string{"Range: bytes=5-1"}, 200, "", data},                                         // invalid: ignored
		{[]string{"Range: lines=1-2"}, 200, "", data},                                         // unknown unit: ignored
		{[]string{"Range: bytes=0-1,2-3,4-5,6-7"}, 200, "", data},                             // over MaxRanges: ignored
		{[]string{"Range: bytes=0-999,0-999"}, 200, "", data},                                 // overlapping beyond the whole: ignored
		{[]string{"Range: bytes=0-9", "If-Range: " + etag}, 206, "bytes 0-9/1000", data[:10]}, // same file
		{[]string{"Range: bytes=0-9", "If-Range: \"old\""}, 200, "", data},                    // changed: the whole
		{[]string{"Range: bytes=0-9", "If-Range: W/" + etag}, 200, "", data},                  // weak never matches
		{[]string{"Range: bytes=0-9", "If-Range: " + lastMod}, 206, "bytes 0-9/1000", data[:10]},
		{[]string{"Range: bytes=0-9", "If-Range: Sat, 01 Jan 2000 00:00:00 GMT"}, 200, "", data},
	} {
		resp, body := get(t, ts.addr, "/data.bin", tc.headers...)
		if resp.StatusCode != tc.status || resp.Header.Get("Content-Range") != tc.cr {
			t.Errorf("%q: %d Content-Range %q, want %d %q", tc.headers, resp.StatusCode, resp.Header.Get("Content-Range"), tc.status, tc.cr)
			continue
		}
		if tc.status != 416 && body != tc.body {
			t.Errorf("%q: body %q, want %q", tc.headers, truncate(body, 40), truncate(tc.body, 40))
		}
		if tc.status == 206 && resp.Header.Get("Content-Length") != strconv.Itoa(len(tc.body)) {
			t.Errorf("%q: Content-Length %s", tc.headers, resp.Header.Get("Content-Length"))
		}
	}

	// Several ranges: multipart/byteranges (RFC 9110 §14.6), read with
	// Go's multipart reader.
	resp, body = get(t, ts.addr, "/data.bin", "Range: bytes=0-4, 10-14,-3")
	mt, params, err := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if resp.StatusCode != 206 || err != nil || mt != "multipart/byteranges" || resp.Header.Get("Content-Range") != "" {
		t.Fatalf("multiple ranges: %d %v", resp.StatusCode, resp.Header)
	}
	mr := multipart.NewReader(strings.NewReader(body), params["boundary"])
	want := []struct{ cr, body string }{{"bytes 0-4/1000", data[:5]}, {"bytes 10-14/1000", data[10:15]}, {"bytes 997-999/1000", data[997:]}}
	for i := 0; ; i++ {
		part, err := mr.NextPart()
		if err == io.EOF {
			if i != len(want) {
				t.Fatalf("%d parts, want %d", i, len(want))
			}
			break
		}
		if err != nil || i >= len(want) {
			t.Fatalf("part %d: %v", i, err)
		}
		b, _ := io.ReadAll(part)
		if part.Header.Get("Content-Range") != want[i].cr || string(b) != want[i].body || part.Header.Get("Content-Type") != "application/octet-stream" {
			t.Errorf("part %d: %v %q", i, part.Header, b)
		}
	}
	_, again := get(t, ts.addr, "/data.bin", "Range: bytes=0-4, 10-14,-3")
	if again != body {
		t.Error("the multipart body (and its boundary) differs run to run")
	}

	// A range of a compressible file is a range of its identity bytes.
	page := string(files["page.html"])
	resp, body = get(t, ts.addr, "/page.html", "Range: bytes=100-199", "Accept-Encoding: gzip")
	if resp.StatusCode != 206 || resp.Header.Get("Content-Encoding") != "" || body != page[100:200] || resp.Header.Get("Vary") != "Accept-Encoding" {
		t.Errorf("Range with gzip accepted: %d %v", resp.StatusCode, resp.Header)
	}
	// HEAD ignores Range (it is defined for GET only).
	c := dial(t, ts.addr)
	io.WriteString(c, "HEAD /data.bin HTTP/1.1\r\nHost: x\r\nRange: bytes=0-9\r\n\r\n")
	if resp, _ := readResponse(t, bufio.NewReader(c), "HEAD"); resp.StatusCode != 200 || resp.Header.Get("Content-Length") != "1000" {
		t.Errorf("HEAD with Range: %d %v", resp.StatusCode, resp.Header)
	}

	reasons := map[viz.Reason]bool{}
	for _, e := range sink.Events() {
		if d, _ := e.Field("decision"); d == "range" {
			reasons[e.Reason] = true
			if !strings.Contains(e.Msg, "RFC 9110 §1") {
				t.Errorf("range step without its RFC section: %q", e.Msg)
			}
		}
	}
	if !reasons[viz.ReasonHTTPTooManyRanges] || !reasons[""] {
		t.Errorf("range steps: reasons %v", reasons)
	}
}

// TestServerRangesNetHTTP resumes a download with Go's client, as curl
// -C - does: the bytes it lacks, by Range and If-Range.
func TestServerRangesNetHTTP(t *testing.T) {
	ts, files := entitySite(t, Config{}, nil)
	full := files["page.html"]
	// curl -C - asks for no compression: the bytes it has are the file's.
	hc := &http.Client{Transport: &http.Transport{DisableCompression: true}}
	resp, err := hc.Get("http://" + ts.addr + "/page.html")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	req, _ := http.NewRequest("GET", "http://"+ts.addr+"/page.html", nil)
	req.Header.Set("Range", "bytes=4000-")
	req.Header.Set("If-Range", resp.Header.Get("ETag"))
	resp2, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	rest, _ := io.ReadAll(resp2.Body)
	resp2.Body.Close()
	if resp.Header.Get("ETag") == "" || resp2.StatusCode != 206 || !bytes.Equal(rest, full[4000:]) {
		t.Fatalf("resume: %d, %d bytes (ETag %q)", resp2.StatusCode, len(rest), resp.Header.Get("ETag"))
	}
	// The gzip body's tag names other bytes: If-Range fails, the whole
	// file comes (RFC 9110 §13.1.5).
	gz, err := http.Get("http://" + ts.addr + "/page.html")
	if err != nil {
		t.Fatal(err)
	}
	gz.Body.Close()
	req.Header.Set("If-Range", gz.Header.Get("ETag"))
	resp3, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	all, _ := io.ReadAll(resp3.Body)
	resp3.Body.Close()
	if resp3.StatusCode != 200 || !bytes.Equal(all, full) {
		t.Fatalf("If-Range with the gzip tag: %d, %d bytes", resp3.StatusCode, len(all))
	}
}

func TestServerValidators(t *testing.T) {
	sink := &viz.MemorySink{}
	log := viz.NewLog(clock.NewVirtual())
	log.AddSink(sink)
	ts, _ := entitySite(t, Config{}, log.Recorder("server"))
	resp, _ := get(t, ts.addr, "/data.bin")
	etag := resp.Header.Get("ETag")
	if !strings.HasPrefix(etag, `"`) || !strings.HasSuffix(etag, `"`) || len(etag) < 4 {
		t.Fatalf("a file needs a strong ETag, got %q", etag)
	}
	lm := "Thu, 03 Feb 2000 04:05:06 GMT"
	before, after := "Wed, 02 Feb 2000 00:00:00 GMT", "Fri, 04 Feb 2000 00:00:00 GMT"
	for _, tc := range []struct {
		headers []string
		status  int
	}{
		{[]string{"If-None-Match: " + etag}, 304},
		{[]string{"If-None-Match: W/" + etag}, 304}, // weak comparison
		{[]string{`If-None-Match: "a", ` + etag + `, "b"`}, 304},
		{[]string{`If-None-Match: "a"`, "If-None-Match: " + etag}, 304}, // two lines
		{[]string{"If-None-Match: *"}, 304},
		{[]string{`If-None-Match: "other"`}, 200},
		{[]string{`If-None-Match: "other"`, "If-Modified-Since: " + lm}, 200}, // If-None-Match takes precedence
		{[]string{"If-None-Match: " + etag, "If-Modified-Since: " + before}, 304},
		{[]string{"If-Modified-Since: " + lm}, 304},
		{[]string{"If-Match: " + etag}, 200},
		{[]string{"If-Match: *"}, 200},
		{[]string{`If-Match: "other"`}, 412},
		{[]string{"If-Match: W/" + etag}, 412}, // If-Match compares strongly
		{[]string{"If-Unmodified-Since: " + after}, 200},
		{[]string{"If-Unmodified-Since: " + before}, 412},
		{[]string{"If-Match: " + etag, "If-Unmodified-Since: " + before}, 200}, // If-Match wins
		{[]string{`If-Match: "other"`, "If-None-Match: " + etag}, 412},         // If-Match first
		{[]string{"If-None-Match: garbage"}, 200},
	} {
		resp, body := get(t, ts.addr, "/data.bin", tc.headers...)
		if resp.StatusCode != tc.status {
			t.Errorf("%q: got %d, want %d", tc.headers, resp.StatusCode, tc.status)
			continue
		}
		switch tc.status {
		case 304:
			if body != "" || resp.Header.Get("ETag") != etag || resp.Header.Get("Content-Length") != "" || resp.Header.Get("Last-Modified") != lm {
				t.Errorf("%q: 304 with %q, %v", tc.headers, body, resp.Header)
			}
		case 412:
			if !strings.Contains(body, "Precondition Failed") || resp.Header.Get("ETag") != "" {
				t.Errorf("%q: 412 with %q, %v", tc.headers, body, resp.Header)
			}
		}
	}
	// The gzip body has its own tag, and a 304 for it says Vary.
	resp, _ = get(t, ts.addr, "/page.html", "Accept-Encoding: gzip")
	gzTag := resp.Header.Get("ETag")
	resp, _ = get(t, ts.addr, "/page.html", "Accept-Encoding: gzip", "If-None-Match: "+gzTag)
	if resp.StatusCode != 304 || resp.Header.Get("ETag") != gzTag || resp.Header.Get("Vary") != "Accept-Encoding" {
		t.Errorf("304 for the gzip body: %d %v", resp.StatusCode, resp.Header)
	}
	resp, _ = get(t, ts.addr, "/page.html", "If-None-Match: "+gzTag)
	if resp.StatusCode != 200 {
		t.Errorf("the gzip body's tag matched the identity body: %d", resp.StatusCode)
	}

	n := 0
	for _, e := range sink.Events() {
		if d, _ := e.Field("decision"); d == "condition" {
			n++
			if !strings.Contains(e.Msg, "RFC 9110 §13") {
				t.Errorf("condition step without its RFC section: %q", e.Msg)
			}
		}
	}
	if n < 15 {
		t.Errorf("%d condition steps, want one per conditional request", n)
	}
}

func TestConfigCompressionAndRanges(t *testing.T) {
	cfg, err := ParseConfig("t.conf", strings.NewReader("Compression Off\nCompressMinSize 1K\nCompressMaxSize 4M\nMaxRanges 10\n"))
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.DisableCompression || cfg.CompressMinBytes != 1024 || cfg.CompressMaxBytes != 4<<20 || cfg.MaxRanges != 10 {
		t.Fatalf("got %+v", cfg)
	}
	d := Config{}.withDefaults()
	if d.DisableCompression || d.CompressMinBytes != 256 || d.CompressMaxBytes != 1<<20 || d.MaxRanges != 200 {
		t.Fatalf("defaults: %+v", d)
	}
	for _, bad := range []string{"Compression maybe", "MaxRanges 0", "CompressMaxSize big"} {
		if _, err := ParseConfig("t.conf", strings.NewReader(bad+"\n")); err == nil || !strings.HasPrefix(err.Error(), "t.conf:1: ") {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

func TestEtagList(t *testing.T) {
	for _, tc := range []struct {
		in   string
		tags []string
		star bool
		ok   bool
	}{
		{`"a"`, []string{`"a"`}, false, true},
		{`W/"a", "b,c" ,"d"`, []string{`W/"a"`, `"b,c"`, `"d"`}, false, true},
		{` * `, nil, true, true},
		{`a`, nil, false, false},
		{`"a" "b"`, nil, false, false},
		{`"a`, nil, false, false},
		{``, nil, false, false},
	} {
		tags, star, ok := etagList(tc.in)
		if strings.Join(tags, "|") != strings.Join(tc.tags, "|") || star != tc.star || ok != tc.ok {
			t.Errorf("%q: %q %v %v", tc.in, tags, star, ok)
		}
	}
}

func TestCompressible(t *testing.T) {
	for ct, want := range map[string]bool{
		"text/html; charset=utf-8": true, "text/css": true, "application/javascript": true,
		"application/json": true, "image/svg+xml": true, "application/atom+xml": true,
		"image/png": false, "image/jpeg": false, "application/zip": false, "application/gzip": false,
		"video/mp4": false, "application/octet-stream": false, "": false,
	} {
		if compressible(ct) != want {
			t.Errorf("compressible(%q) = %v", ct, !want)
		}
	}
}

// A current FILE.gz beside a file is sent as the gzip representation
// (nginx's gzip_static): its own bytes, not a compression made per
// request; a stale one (older than the file) is ignored, and a client
// that does not accept gzip gets the file itself.
func TestServerPrecompressed(t *testing.T) {
	root := t.TempDir()
	page := []byte(strings.Repeat("<p>precompressed or not</p>\n", 100))
	var gzBuf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&gzBuf, gzip.BestCompression)
	zw.Write(page)
	zw.Close()
	write := func(name string, b []byte, mod time.Time) {
		p := filepath.Join(root, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		os.Chtimes(p, mod, mod)
	}
	write("a.html", page, siteMod)
	write("a.html.gz", gzBuf.Bytes(), siteMod.Add(time.Second))
	write("old.html", page, siteMod)
	write("old.html.gz", []byte("stale, and not even gzip"), siteMod.Add(-time.Hour))
	sink := &viz.MemorySink{}
	log := viz.NewLog(clock.NewVirtual())
	log.AddSink(sink)
	ts := startServer(t, Config{}, NewMapper(MapConfig{DocRoot: root}, nil), log.Recorder("server"))

	resp, body := get(t, ts.addr, "/a.html", "Accept-Encoding: gzip")
	if resp.Header.Get("Content-Encoding") != "gzip" || body != gzBuf.String() || resp.Header.Get("Vary") != "Accept-Encoding" {
		t.Errorf("/a.html with gzip: Content-Encoding %q, Vary %q, %d bytes; want a.html.gz's %d bytes as they are",
			resp.Header.Get("Content-Encoding"), resp.Header.Get("Vary"), len(body), gzBuf.Len())
	}
	if resp, body := get(t, ts.addr, "/a.html"); resp.Header.Get("Content-Encoding") != "" || body != string(page) {
		t.Errorf("/a.html without gzip: Content-Encoding %q, %d bytes; want the file", resp.Header.Get("Content-Encoding"), len(body))
	}
	resp, body = get(t, ts.addr, "/old.html", "Accept-Encoding: gzip")
	if resp.Header.Get("Content-Encoding") != "gzip" || string(gunzip(t, []byte(body))) != string(page) {
		t.Errorf("/old.html with gzip: want the file compressed on the fly, not the stale .gz")
	}
	found := false
	for _, e := range sink.Events() {
		if v, _ := e.Field("precompressed"); v == "a.html.gz" {
			found = true
		}
	}
	if !found {
		t.Error("no respond step names a.html.gz as the precompressed representation")
	}
}
