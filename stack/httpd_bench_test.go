package stack_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/packetwalk/packetwalk/httpd"
	"github.com/packetwalk/packetwalk/stack"
)

// BenchmarkKeepAlive is bench/run's keep-alive measurement in one
// process: 8 clients of Go's net/http on the client host fetch a 1 KiB
// file over persistent connections from a server on packetwalk's stack
// (paced simulation, no log), one request per op. The client, the wire
// and both stacks are the same in every sub-benchmark, so the difference
// in ns/op and allocs/op is the web server's: httpd's "event" (the
// default) and "pool" architectures, and Go's net/http.FileServer.
func BenchmarkKeepAlive(b *testing.B) {
	dir := b.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "small.bin"), make([]byte, 1024), 0o644); err != nil {
		b.Fatal(err)
	}
	type server interface {
		Serve(net.Listener) error
		Shutdown(context.Context) error
	}
	servers := []struct {
		name string
		make func() server
	}{
		{"event", func() server { return newBenchHTTPD(dir, httpd.ArchEvent) }},
		{"pool", func() server { return newBenchHTTPD(dir, httpd.ArchPool) }},
		{"nethttp", func() server { return &http.Server{Handler: http.FileServer(http.Dir(dir))} }},
	}
	for _, sv := range servers {
		b.Run(sv.name, func(b *testing.B) {
			p, err := stack.NewPair(stack.TopologyConfig{Seed: 1})
			if err != nil {
				b.Fatal(err)
			}
			p.Net.Loop.SetPaced(true)
			srv := sv.make()
			ln, err := p.Server.ListenTCP(netip.AddrPortFrom(p.Server.Addr(), 80), 128)
			if err != nil {
				b.Fatal(err)
			}
			go srv.Serve(ln)
			tr := &http.Transport{DialContext: p.Client.Dialer(), MaxIdleConnsPerHost: 8}
			client := &http.Client{Transport: tr}
			get := func() error {
				resp, err := client.Get("http://10.0.0.2/small.bin")
				if err != nil {
					return err
				}
				_, err = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if err == nil && resp.StatusCode != 200 {
					err = &net.OpError{Op: "get", Err: os.ErrInvalid}
				}
				return err
			}
			var failed atomic.Value
			done := make(chan struct{})
			go func() {
				defer close(done)
				defer p.Net.Loop.Wake()
				// Warm up: 8 connections open, every worker started.
				var wg sync.WaitGroup
				for range 8 {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for range 20 {
							if err := get(); err != nil {
								failed.Store(err)
								return
							}
						}
					}()
				}
				wg.Wait()
				b.ResetTimer()
				b.ReportAllocs()
				cpu0 := processCPU()
				var left atomic.Int64
				left.Store(int64(b.N))
				for range 8 {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for left.Add(-1) >= 0 {
							if err := get(); err != nil {
								failed.Store(err)
								return
							}
						}
					}()
				}
				wg.Wait()
				b.StopTimer()
				// CPU time rather than wall time: on a shared machine
				// it moves far less from run to run.
				b.ReportMetric(float64(processCPU()-cpu0)/float64(b.N), "cpu-ns/op")
				tr.CloseIdleConnections()
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				srv.Shutdown(ctx)
			}()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
			defer cancel()
			if err := p.Net.RunUntil(ctx, func() bool {
				select {
				case <-done:
					return true
				default:
					return false
				}
			}); err != nil {
				b.Fatal(err)
			}
			if err, ok := failed.Load().(error); ok {
				b.Fatal(err)
			}
		})
	}
}

// processCPU is the process's user and system CPU time so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func newBenchHTTPD(dir, arch string) *httpd.Server {
	mapCfg := httpd.MapConfig{DocRoot: dir}
	cfg := httpd.Config{Arch: arch, Map: mapCfg}
	return httpd.New(cfg, httpd.NewMapper(mapCfg, nil), nil)
}

// uploadSink answers every request with the length of its body.
type uploadSink struct{}

func (uploadSink) Map(req *httpd.Request) *httpd.Resource {
	return &httpd.Resource{Status: 200, Reason: "file", ContentType: "text/plain", Content: []byte(strconv.Itoa(len(req.Body)))}
}

// BenchmarkUpload: one client of Go's net/http on the client host POSTs a
// 4 MiB body per op to a server on packetwalk's stack (paced simulation,
// no log), which reads it whole and answers with its length: the request
// body's path through the web server, which the downloads of
// BenchmarkKeepAlive and bench/run never take. httpd's "event" and "pool"
// architectures against net/http with a handler that drains the body, in
// the same run: "event" read a body again at every 32 KiB before
// httpd/body_wait.go, so its MB/s against "pool" is the figure to watch.
func BenchmarkUpload(b *testing.B) {
	const size = 4 << 20
	body := make([]byte, size)
	type server interface {
		Serve(net.Listener) error
		Shutdown(context.Context) error
	}
	sink := func(arch string) server {
		return httpd.New(httpd.Config{Arch: arch, MaxBodyBytes: 2 * size}, uploadSink{}, nil)
	}
	servers := []struct {
		name string
		make func() server
	}{
		{"event", func() server { return sink(httpd.ArchEvent) }},
		{"pool", func() server { return sink(httpd.ArchPool) }},
		{"nethttp", func() server {
			return &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				n, _ := io.Copy(io.Discard, r.Body)
				io.WriteString(w, strconv.FormatInt(n, 10))
			})}
		}},
	}
	for _, sv := range servers {
		b.Run(sv.name, func(b *testing.B) {
			p, err := stack.NewPair(stack.TopologyConfig{Seed: 1})
			if err != nil {
				b.Fatal(err)
			}
			p.Net.Loop.SetPaced(true)
			srv := sv.make()
			ln, err := p.Server.ListenTCP(netip.AddrPortFrom(p.Server.Addr(), 80), 128)
			if err != nil {
				b.Fatal(err)
			}
			go srv.Serve(ln)
			client := &http.Client{Transport: &http.Transport{DialContext: p.Client.Dialer()}}
			post := func() error {
				resp, err := client.Post("http://10.0.0.2/upload", "application/octet-stream", bytes.NewReader(body))
				if err != nil {
					return err
				}
				got, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				if err == nil && (resp.StatusCode != 200 || string(got) != strconv.Itoa(size)) {
					err = fmt.Errorf("POST: %d %q, want 200 %d", resp.StatusCode, got, size)
				}
				return err
			}
			var failed error
			done := make(chan struct{})
			go func() {
				defer close(done)
				defer p.Net.Loop.Wake()
				if failed = post(); failed != nil { // warm up: the connection open
					return
				}
				b.SetBytes(size)
				b.ResetTimer()
				b.ReportAllocs()
				cpu0 := processCPU()
				for range b.N {
					if failed = post(); failed != nil {
						return
					}
				}
				b.StopTimer()
				b.ReportMetric(float64(processCPU()-cpu0)/float64(b.N), "cpu-ns/op")
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				srv.Shutdown(ctx)
			}()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
			defer cancel()
			if err := p.Net.RunUntil(ctx, func() bool {
				select {
				case <-done:
					return true
				default:
					return false
				}
			}); err != nil {
				b.Fatal(err)
			}
			if failed != nil {
				b.Fatal(failed)
			}
		})
	}
}
