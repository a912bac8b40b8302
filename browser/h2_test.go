package browser

import (
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/packetwalk/packetwalk/clock"
	"github.com/packetwalk/packetwalk/viz"
)

// Against Go's server speaking HTTP/2 over cleartext (code we did not
// write): the page after a redirect, then its three subresources as
// three streams at once, all on one connection, each judged as over
// HTTP/1.1.
func TestBrowserHTTP2AgainstGoServer(t *testing.T) {
	var h2 atomic.Int32
	srv, peers := goSiteWith(t, func(s *http.Server) {
		s.Protocols = new(http.Protocols)
		s.Protocols.SetHTTP1(true)
		s.Protocols.SetUnencryptedHTTP2(true)
		inner := s.Handler
		s.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.ProtoMajor == 2 {
				h2.Add(1)
			}
			inner.ServeHTTP(w, r)
		})
	})
	sink := &viz.MemorySink{}
	log := viz.NewLog(clock.NewVirtual())
	log.AddSink(sink)
	addr := srv.Listener.Addr().String()
	b, err := New(Config{Dial: func() (net.Conn, error) { return net.Dial("tcp", addr) }, Host: addr, Gzip: true, HTTP2: true, Rec: log.Recorder("client")})
	if err != nil {
		t.Fatal(err)
	}
	b.Visit([]string{"/old"})
	rs := b.Results()
	var got []string
	for _, r := range rs {
		if r.Err != nil {
			t.Fatalf("%s: %v", r.Path, r.Err)
		}
		got = append(got, r.Path+" "+r.Status+" "+string(r.Action))
	}
	if len(got) != 5 || got[0] != "/old 301 Moved Permanently follow" || got[1] != "/ 200 OK display-html" {
		t.Fatalf("responses:\n%s", strings.Join(got, "\n"))
	}
	rest := strings.Join(got[2:], "\n")
	for _, want := range []string{"/s.css 200 OK use", "/i.png 200 OK display-image", "/j.png 200 OK display-image"} {
		if !strings.Contains(rest, want) {
			t.Errorf("no %q among the subresources:\n%s", want, rest)
		}
	}
	if rs[1].Encoding != "gzip" || rs[1].Bytes <= rs[1].Wire {
		t.Errorf("the page: encoding %q, %d bytes decoded from %d on the wire", rs[1].Encoding, rs[1].Bytes, rs[1].Wire)
	}
	if n := peers(); n != 1 {
		t.Errorf("Go's server saw %d connections, want 1", n)
	}
	if n := h2.Load(); n != 5 {
		t.Errorf("Go's server saw %d HTTP/2 requests, want 5", n)
	}
	streams := map[string]bool{}
	for _, e := range sink.Events() {
		if e.Step == "request" {
			s, _ := e.Field("stream")
			streams[s] = true
		}
	}
	if len(streams) != 5 {
		t.Errorf("requests on streams %v, want 5 streams", streams)
	}
}
