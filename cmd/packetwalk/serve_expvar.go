package main

import (
	"expvar"
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"runtime"
	rpprof "runtime/pprof"
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
// --viz, is a step log sink). On a device (--tun, --tap) the page also
// has the stack's counters (stack: what the device read and wrote, the
// NIC's ring drops, TCP's segments, SYN cookies and listen overflows),
// and the same listener serves Go's profiles (/debug/pprof/: the heap and
// its allocations, goroutines, CPU), to find what a long-running server
// allocates. The listener is the operator's choice of address, normally
// the loopback; nothing on it is reachable from packetwalk's own stack.

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

// expvarHost is the device host whose counters the expvar page shows
// (stack): the one serve runs now.
var (
	expvarHost      atomic.Pointer[stack.DeviceHost]
	publishCounters sync.Once
)

// publishStackCounters shows dh's counters on the expvar page as stack.
// They are read on dh's loop (Loop.Do), which owns them.
func publishStackCounters(dh *stack.DeviceHost) {
	expvarHost.Store(dh)
	publishCounters.Do(func() {
		expvar.Publish("stack", expvar.Func(func() any {
			dh := expvarHost.Load()
			if dh == nil {
				return nil
			}
			m := map[string]uint64{}
			dh.Loop.Do(func() {
				d := dh.Medium.Stats()
				m["device_read"], m["device_written"], m["device_write_errors"] = d.Read, d.Written, d.WriteErrors
				n := dh.Iface.NIC.Stats()
				m["nic_rx_packets"], m["nic_rx_dropped"], m["nic_rx_over_errors"] = n.RxPackets, n.RxDropped, n.RxOverErrors
				m["nic_tx_packets"], m["nic_tx_dropped"] = n.TxPackets, n.TxDropped
				t := dh.TCP.Stats()
				m["tcp_in_segs"], m["tcp_out_segs"], m["tcp_retrans_segs"], m["tcp_out_rsts"] = t.InSegs, t.OutSegs, t.RetransSegs, t.OutRsts
				m["tcp_passive_opens"], m["tcp_curr_estab"] = t.PassiveOpens, uint64(t.CurrEstab)
				m["tcp_listen_overflows"], m["tcp_listen_drops"], m["tcp_challenge_acks"] = t.ListenOverflows, t.ListenDrops, t.ChallengeACKs
				m["tcp_syn_cookies_sent"], m["tcp_syn_cookies_recv"], m["tcp_syn_cookies_failed"] = t.SynCookiesSent, t.SynCookiesRecv, t.SynCookiesFailed
				// The connections the stack holds, and those of them
				// waiting out 2 MSL in TIME_WAIT (RFC 9293 §3.6.1): a
				// server's memory follows them.
				for _, e := range dh.TCP.Endpoints() {
					m["tcp_endpoints"]++
					if e.State() == tcp.TimeWait {
						m["tcp_time_wait"]++
					}
				}
			})
			return m
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
	mux.HandleFunc("GET /debug/pprof/", pprof.Index)
	mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
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
	if err := rpprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("--cpuprofile: %v", err)
	}
	return func() { rpprof.StopCPUProfile(); f.Close() }, nil
}
