package stack_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/packetwalk/packetwalk/httpd"
	"github.com/packetwalk/packetwalk/stack"
	"github.com/packetwalk/packetwalk/viz"
)

// The seed's I/O architectures on packetwalk's sockets: the same httpd,
// single-threaded, with a pool, and multiplexed over the host's Poll, each
// serving several concurrent clients of Go's net/http.
func TestHTTPDArchitecturesOnPacketwalk(t *testing.T) {
	for _, arch := range []string{httpd.ArchSingle, httpd.ArchPool, httpd.ArchMultiplexed} {
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
				srv.Close()
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
