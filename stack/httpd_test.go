package stack_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/packetwalk/packetwalk/httpd"
	"github.com/packetwalk/packetwalk/stack"
	"github.com/packetwalk/packetwalk/viz"
	"github.com/packetwalk/packetwalk/wire"
)

// The seed's I/O architectures on packetwalk's sockets: the same httpd,
// single-threaded, with a pool, multiplexed over the host's Poll, and event
// (loops handing requests to workers, the listener giving its Poller), each
// serving several concurrent clients of Go's net/http.
func TestHTTPDArchitecturesOnPacketwalk(t *testing.T) {
	for _, arch := range []string{httpd.ArchSingle, httpd.ArchPool, httpd.ArchMultiplexed, httpd.ArchEvent} {
		t.Run(arch, func(t *testing.T) {
			p, err := stack.NewPair(stack.TopologyConfig{Seed: 5})
			if err != nil {
				t.Fatal(err)
			}
			p.Net.Loop.SetPaced(true) // net/http's client runs goroutines of its own
			mem := &viz.MemorySink{}
			p.Net.Log.AddSink(mem)
			mapCfg := httpd.MapConfig{DirectoryIndex: []string{"index.html"}}
			cfg := httpd.Config{Arch: arch, Map: mapCfg}
			if arch == httpd.ArchMultiplexed {
				cfg.Poller = stack.Poller{Host: p.Server}
			}
			srv := httpd.New(cfg, httpd.NewMapper(mapCfg, httpd.DemoSite()), p.Net.Log.Recorder("server"))
			addr := netip.AddrPortFrom(p.Server.Addr(), 80)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			var failures []error
			done := make(chan struct{})
			go func() {
				defer close(done)
				defer p.Net.Loop.Wake()
				ln, err := p.Server.ListenTCP(addr, 16)
				if err != nil {
					failures = append(failures, err)
					return
				}
				go srv.Serve(ln)
				var wg sync.WaitGroup
				var mu sync.Mutex
				for i := 0; i < 4; i++ {
					wg.Add(1)
					go func() {
						defer wg.Done()
						c := &http.Client{Transport: &http.Transport{DialContext: p.Client.Dialer(), DisableKeepAlives: true}}
						resp, err := c.Get("http://10.0.0.2/")
						if err == nil {
							_, err = io.ReadAll(resp.Body)
							resp.Body.Close()
							if resp.StatusCode != 200 {
								err = fmt.Errorf("status %d", resp.StatusCode)
							}
						}
						if err != nil {
							mu.Lock()
							failures = append(failures, err)
							mu.Unlock()
						}
					}()
				}
				wg.Wait()
				// Shutdown, not Close: a worker may still be between
				// writing the last byte and logging its send step.
				sctx, scancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer scancel()
				if err := srv.Shutdown(sctx); err != nil {
					failures = append(failures, err)
				}
			}()
			if err := p.Net.RunUntil(ctx, func() bool {
				select {
				case <-done:
					return true
				default:
					return false
				}
			}); err != nil {
				t.Fatal(err)
			}
			if len(failures) > 0 {
				t.Fatal(failures)
			}
			accepts, sends := 0, 0
			for _, e := range mem.Events() {
				if e.Layer == viz.LayerHTTP && e.Step == "accept" && e.Verdict == viz.Pass {
					accepts++
				}
				if e.Layer == viz.LayerHTTP && e.Step == "send" {
					sends++
				}
			}
			if accepts != 4 || sends != 4 {
				t.Fatalf("%d http accept steps and %d send steps, want 4 each", accepts, sends)
			}
		})
	}
}

// httpd's features through a real client in simulation: Go's net/http
// client on gVisor's netstack, against httpd on packetwalk serving the
// embedded demo site.
func TestHTTPDFeaturesGVisorClient(t *testing.T) {
	x := newInterop(t, 51, wire.Impairments{})
	mapCfg := httpd.MapConfig{DirectoryIndex: []string{"index.html"}, Listings: true, SSI: true,
		Redirects: []httpd.Redirect{{Status: 308, From: "/old", To: "/docs/"}}}
	srv := httpd.New(httpd.Config{Map: mapCfg}, httpd.NewMapper(mapCfg, httpd.DemoSite()), x.net.Log.Recorder("server"))
	type check struct {
		method, path string
		header       map[string]string
		status       int
		wantHeader   map[string]string // header -> substring
		bodyHas      string
	}
	checks := []check{
		{"GET", "/", nil, 200, map[string]string{"Content-Type": "text/html"}, "<html"},
		{"GET", "/style.css", nil, 200, map[string]string{"Content-Type": "text/css"}, ""},
		{"GET", "/logo.png", nil, 200, map[string]string{"Content-Type": "image/png"}, ""},
		{"GET", "/docs", nil, 301, map[string]string{"Location": "/docs/"}, ""},
		{"GET", "/old/x", nil, 308, map[string]string{"Location": "/docs/x"}, ""},
		{"GET", "/hello.html", map[string]string{"Accept-Language": "ko, en;q=0.5"}, 200, map[string]string{"Content-Language": "ko", "Vary": "Accept-Language"}, ""},
		{"GET", "/hello.html", map[string]string{"Accept-Language": "en"}, 200, map[string]string{"Content-Language": "en"}, ""},
		{"HEAD", "/style.css", nil, 200, map[string]string{"Content-Length": ""}, ""},
		{"GET", "/style.css", map[string]string{"If-Modified-Since": "Thu, 02 Jan 2025 00:00:00 GMT"}, 304, nil, ""},
		{"GET", "/ssi.shtml", nil, 200, nil, ""},
		{"GET", "/pub/", nil, 200, nil, "<a href"},
		{"GET", "/no-such-page", nil, 404, nil, ""},
		{"GET", "/../etc/passwd", nil, 0, nil, ""}, // Go's client cleans the path: just must not escape
		{"DELETE", "/", nil, 405, map[string]string{"Allow": "GET"}, ""},
	}
	x.run(t, 30*time.Second, func() error {
		ln, err := x.pw.ListenTCP(netip.AddrPortFrom(x.pw.Addr(), 80), 16)
		if err != nil {
			return err
		}
		go srv.Serve(ln)
		defer srv.Close()
		hc := x.gv.HTTPClient()
		hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		for _, c := range checks {
			req, _ := http.NewRequest(c.method, "http://10.0.0.2"+c.path, nil)
			for k, v := range c.header {
				req.Header.Set(k, v)
			}
			resp, err := hc.Do(req)
			if err != nil {
				return fmt.Errorf("%s %s: %v", c.method, c.path, err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if c.status != 0 && resp.StatusCode != c.status {
				return fmt.Errorf("%s %s: status %d, want %d", c.method, c.path, resp.StatusCode, c.status)
			}
			if c.status == 0 && resp.StatusCode == 200 && strings.Contains(string(body), "root:") {
				return fmt.Errorf("%s escaped the docroot", c.path)
			}
			for k, v := range c.wantHeader {
				if got := resp.Header.Get(k); got == "" || !strings.Contains(got, v) {
					return fmt.Errorf("%s %s: %s = %q, want it to contain %q", c.method, c.path, k, got, v)
				}
			}
			if c.bodyHas != "" && !strings.Contains(string(body), c.bodyHas) {
				return fmt.Errorf("%s %s: body lacks %q", c.method, c.path, c.bodyHas)
			}
			if c.method == "HEAD" && len(body) != 0 {
				return fmt.Errorf("HEAD returned a body")
			}
		}
		hc.CloseIdleConnections()
		return nil
	})
	// Keep-alive: every request rode one connection (one accept step).
	accepts := 0
	for _, e := range x.events.Events() {
		if e.Layer == viz.LayerHTTP && e.Step == "accept" {
			accepts++
		}
	}
	if accepts != 1 {
		t.Fatalf("%d http accept steps for %d keep-alive requests, want 1", accepts, len(checks))
	}
}

// A step is never narrated after the steps it caused: when the server is
// closed with a connection still open, its note that it closes the
// connection comes before the FIN that close sends (issue 16). In virtual
// time, with every architecture's goroutines on the loop.
func TestHTTPDCloseNotedBeforeItsFIN(t *testing.T) {
	for _, arch := range []string{httpd.ArchSingle, httpd.ArchMultiplexed} {
		t.Run(arch, func(t *testing.T) {
			p, err := stack.NewPair(stack.TopologyConfig{Seed: 5})
			if err != nil {
				t.Fatal(err)
			}
			mem := &viz.MemorySink{}
			p.Net.Log.AddSink(mem)
			cfg := httpd.Config{Arch: arch, Spawn: p.Net.Go}
			if arch == httpd.ArchMultiplexed {
				cfg.Poller = stack.Poller{Host: p.Server}
			}
			srv := httpd.New(cfg, httpd.NewMapper(httpd.MapConfig{}, httpd.DemoSite()), p.Net.Log.Recorder("server"))
			addr := netip.AddrPortFrom(p.Server.Addr(), 80)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			var done bool
			p.Net.Go(func() {
				ln, err := p.Server.ListenTCP(addr, 4)
				if err != nil {
					t.Error(err)
					done = true
					return
				}
				p.Net.Go(func() { srv.Serve(ln) })
				p.Net.Go(func() {
					c, err := p.Client.DialTCP(ctx, addr)
					if err != nil {
						t.Error(err)
						done = true
						return
					}
					p.Client.Poll(nil, 50*time.Millisecond) // the connection sits idle
					srv.Close()
					io.ReadAll(c) // the server's FIN
					c.Close()
					p.Client.Poll(nil, time.Second)
					done = true
				})
			})
			if err := p.Net.RunUntil(ctx, func() bool { return done }); err != nil {
				t.Fatal(err)
			}
			note, fin := -1, -1
			for i, e := range mem.Events() {
				msg := e.Message()
				if e.Host == "server" && e.Layer == viz.LayerHTTP && strings.Contains(msg, "closing") && note < 0 {
					note = i
				}
				if e.Host == "server" && e.Layer == viz.LayerTCP && e.Step == "send" && strings.Contains(msg, "Flags [F") && fin < 0 {
					fin = i
				}
			}
			if note < 0 || fin < 0 {
				t.Fatalf("no closing note (%d) or no server FIN (%d) in the log", note, fin)
			}
			if note > fin {
				t.Errorf("the server's note that it closes the connection is event %d, after the FIN it sent (event %d)", note, fin)
			}
		})
	}
}
