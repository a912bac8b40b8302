package browser

import (
	"compress/gzip"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// goSite is a site served by Go's net/http, a server we did not write: a
// page that needs a stylesheet and an image, a redirect, and gzip when
// the client asks for it.
func goSite(t *testing.T) (*httptest.Server, func() int) { return goSiteWith(t, nil) }

// goSiteWith is goSite with the server's configuration changed by set
// before it starts.
func goSiteWith(t *testing.T, set func(*http.Server)) (*httptest.Server, func() int) {
	var mu sync.Mutex
	peers := map[string]bool{}
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		page := `<link rel="stylesheet" href="s.css"><img src="i.png"><img src="j.png"><p>` + strings.Repeat("words ", 200)
		if strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
			w.Header().Set("Content-Encoding", "gzip")
			zw := gzip.NewWriter(w)
			zw.Write([]byte(page))
			zw.Close()
			return
		}
		w.Write([]byte(page))
	})
	mux.HandleFunc("/s.css", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/css")
		w.Write([]byte("p{color:red}"))
	})
	img := pngOf(t, 4, 4)
	for _, p := range []string{"/i.png", "/j.png"} {
		mux.HandleFunc(p, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "image/png")
			w.Write(img)
		})
	}
	mux.HandleFunc("/old", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/", http.StatusMovedPermanently) })
	srv := httptest.NewUnstartedServer(mux)
	srv.Config.ConnState = func(c net.Conn, s http.ConnState) {
		if s == http.StateNew {
			mu.Lock()
			peers[c.RemoteAddr().String()] = true
			mu.Unlock()
		}
	}
	if set != nil {
		set(srv.Config)
	}
	srv.Start()
	t.Cleanup(srv.Close)
	return srv, func() int { mu.Lock(); defer mu.Unlock(); return len(peers) }
}

func visit(t *testing.T, srv *httptest.Server, conns int, gz bool, paths ...string) []Result {
	t.Helper()
	addr := srv.Listener.Addr().String()
	b, err := New(Config{Dial: func() (net.Conn, error) { return net.Dial("tcp", addr) }, Host: addr, Connections: conns, Gzip: gz})
	if err != nil {
		t.Fatal(err)
	}
	b.Visit(paths)
	return b.Results()
}

// Against Go's server: the page, decompressed, then its three
// subresources, on one persistent connection.
func TestBrowserPersistentAgainstGoServer(t *testing.T) {
	srv, peers := goSite(t)
	rs := visit(t, srv, 1, true, "/old")
	var got []string
	for _, r := range rs {
		if r.Err != nil {
			t.Fatalf("%s: %v", r.Path, r.Err)
		}
		got = append(got, r.Path+" "+r.Status+" "+string(r.Action))
	}
	want := []string{"/old 301 Moved Permanently follow", "/ 200 OK display-html", "/s.css 200 OK use", "/i.png 200 OK display-image", "/j.png 200 OK display-image"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("responses:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if rs[1].Encoding != "gzip" || rs[1].Bytes <= rs[1].Wire {
		t.Errorf("the page: encoding %q, %d bytes decoded from %d on the wire; want gzip, larger decoded", rs[1].Encoding, rs[1].Bytes, rs[1].Wire)
	}
	if n := peers(); n != 1 {
		t.Errorf("Go's server saw %d connections, want 1 (persistent)", n)
	}
}

// With 3 connections allowed, the three subresources go on three
// connections (the page's own connection among them).
func TestBrowserParallelAgainstGoServer(t *testing.T) {
	srv, peers := goSite(t)
	rs := visit(t, srv, 3, false, "/")
	if len(rs) != 4 {
		t.Fatalf("%d responses, want 4: %+v", len(rs), rs)
	}
	if rs[0].Encoding != "" {
		t.Errorf("without Gzip the page came with Content-Encoding %q", rs[0].Encoding)
	}
	if n := peers(); n != 3 {
		t.Errorf("Go's server saw %d connections, want 3", n)
	}
}

func TestBrowserConfigErrors(t *testing.T) {
	if _, err := New(Config{}); err == nil {
		t.Error("New without Dial: no error")
	}
	if _, err := New(Config{Dial: func() (net.Conn, error) { return nil, nil }, Connections: MaxConnections + 1}); err == nil {
		t.Errorf("New with %d connections: no error", MaxConnections+1)
	}
}
