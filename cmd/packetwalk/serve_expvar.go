package main

import (
	"expvar"
	"fmt"
	"net"
	"net/http"
	"os"
	"runtime"
	"runtime/pprof"
	"sync"
	"sync/atomic"
	"time"

	"github.com/packetwalk/packetwalk/httpd"
	"github.com/packetwalk/packetwalk/stack"
	"github.com/packetwalk/packetwalk/tcp"
)

// serve --expvar ADDR: Go's expvar page (/debug/vars: the memory
// statistics, the command line, and the number of goroutines) on a kernel
// HTTP listener, so that a soak test or a monitor can watch the server's
// memory and goroutines without turning the step log on (the live view,
// --viz, is a step log sink).

var publishGoroutines sync.Once

// expvarServer is the httpd whose connection closes by reason the expvar
// page shows (httpd_closes): the one serve runs now.
var (
	expvarServer  atomic.Pointer[httpd.Server]
	publishCloses sync.Once
)

// publishCloseCounts shows s's CloseCounts on the expvar page as
// httpd_closes.
func publishCloseCounts(s *httpd.Server) {
	expvarServer.Store(s)
	publishCloses.Do(func() {
		expvar.Publish("httpd_closes", expvar.Func(func() any {
			if s := expvarServer.Load(); s != nil {
				return s.CloseCounts()
			}
			return nil
		}))
	})
}

// expvarHost is the device host whose TCP counters the expvar page shows
// as tcp: packetwalk's own /proc/net/snmp, read where `nstat` would read
// the kernel's (retransmitted segments, resets, SYN cookies, ...).
var (
	expvarHost atomic.Pointer[stack.DeviceHost]
	publishTCP sync.Once
)

// publishTCPStats shows dh's TCP counters on the expvar page as tcp. They
// are read on the host's loop, which owns them.
func publishTCPStats(dh *stack.DeviceHost) {
	expvarHost.Store(dh)
	publishTCP.Do(func() {
		expvar.Publish("tcp", expvar.Func(func() any {
			dh := expvarHost.Load()
			if dh == nil {
				return nil
			}
			var st tcp.Stats
			dh.Loop.Do(func() { st = dh.TCP.Stats() })
			return st
		}))
	})
}

func startExpvar(addr string) (func(), error) {
	if addr == "" {
		return func() {}, nil
	}
	if _, port, err := net.SplitHostPort(addr); err != nil || !validPort(port) {
		return nil, fmt.Errorf("--expvar %q is not HOST:PORT with a port 0..65535, e.g. --expvar 127.0.0.1:6060", addr)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("--expvar: %v", listenError(addr, err))
	}
	publishGoroutines.Do(func() {
		expvar.Publish("goroutines", expvar.Func(func() any { return runtime.NumGoroutine() }))
	})
	mux := http.NewServeMux()
	mux.Handle("GET /debug/vars", expvar.Handler())
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	return func() { srv.Close() }, nil
}

// startCPUProfile is serve --cpuprofile FILE: Go's CPU profile of the
// whole run, written when the server stops, for whoever wants to know
// where a server's time goes (BENCHMARKS.md's profiles were made so).
func startCPUProfile(path string) (func(), error) {
	if path == "" {
		return func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("--cpuprofile: %v", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("--cpuprofile: %v", err)
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}
