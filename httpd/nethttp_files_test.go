package httpd

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"
)

func TestNetHTTPFiles(t *testing.T) {
	root := http.FS(fstest.MapFS{"a.txt": {Data: []byte("hello")}})
	h := NetHTTPFiles(root, 1000)
	for _, c := range []struct {
		method string
		body   string
		status int
		want   string
	}{
		{"GET", "", 200, "hello"},
		{"POST", strings.Repeat("x", 999), 405, "999 body bytes read"},
		{"PUT", strings.Repeat("x", 1001), 413, "larger than 1000 bytes"},
	} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(c.method, "/a.txt", bytes.NewReader([]byte(c.body))))
		got, _ := io.ReadAll(rec.Body)
		if rec.Code != c.status || !strings.Contains(string(got), c.want) {
			t.Errorf("%s /a.txt with %d body bytes: %d %q, want %d and %q", c.method, len(c.body), rec.Code, got, c.status, c.want)
		}
		if c.status == 405 && rec.Header().Get("Allow") != "GET, HEAD" {
			t.Errorf("405 without Allow: GET, HEAD: %q", rec.Header().Get("Allow"))
		}
	}
	// 0 is httpd's default limit, 1 MiB, not "no body at all".
	rec := httptest.NewRecorder()
	NetHTTPFiles(root, 0).ServeHTTP(rec, httptest.NewRequest("POST", "/a.txt", strings.NewReader("hello")))
	if rec.Code != 405 {
		t.Errorf("POST of 5 bytes with the default limit: %d, want 405", rec.Code)
	}
}
