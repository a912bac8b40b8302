// Package scale is the simulation-at-scale scenario of the benchmarks
// (issue 9, target 3): many concurrent clients on one packetwalk host fetch
// a 1 KiB file from httpd on another, over a simulated wire, in virtual
// time. It reports how many simulation events ran per second of wall time,
// the wall time, and the process's peak memory; and, separately, the memory
// an idle established connection costs, on packetwalk and on gVisor's
// netstack. bench/sim runs it with 10,000 connections; scale_test.go with
// a few hundred.
package scale

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"runtime"
	"strings"
	"sync/atomic"
	"syscall"
	"testing/fstest"
	"time"

	"github.com/packetwalk/packetwalk/arp"
	"github.com/packetwalk/packetwalk/httpd"
	"github.com/packetwalk/packetwalk/nic"
	"github.com/packetwalk/packetwalk/stack"
	"github.com/packetwalk/packetwalk/stack/gvisorhost"
	"github.com/packetwalk/packetwalk/tcp"
	"github.com/packetwalk/packetwalk/wire"
)

// Config describes one run.
type Config struct {
	Seed  int64
	Conns int // concurrent clients, each fetching the file once
	// FileBytes is the size of the file fetched; 0 means 1024.
	FileBytes int
	// Workers is httpd's pool size; 0 means 64.
	Workers int
	// Timeout bounds the run in wall time; 0 means 10 minutes.
	Timeout time.Duration
}

// Result is what a run measured.
type Result struct {
	Conns     int           // clients that got the whole file with status 200
	Events    uint64        // simulation events run (frames, timers, socket calls)
	Virtual   time.Duration // simulated time the run took
	Wall      time.Duration
	PeakHeap  uint64 // the largest heap in use sampled during the run, bytes
	MaxRSS    uint64 // the process's peak resident set (getrusage), bytes
	Frames    uint64 // frames the server's NIC received
	Log       string // the server's and client's counters, one line each
	ServeErrs int    // requests that failed, with the first error in Err
	Err       error
}

// EventsPerSecond is Events divided by the wall time.
func (r Result) EventsPerSecond() float64 { return float64(r.Events) / r.Wall.Seconds() }

// The limits a crowd of this size meets, raised here (never in the
// defaults): descriptors on both hosts, the listen backlog, httpd's
// connection limit, the NIC's RX ring (every client's SYN arrives in the
// same instant) and ARP's queue (the SYNs wait for the server's MAC).
func topology(cfg Config) stack.TopologyConfig {
	n := cfg.Conns + 64
	return stack.TopologyConfig{
		Seed: cfg.Seed,
		IP:   stack.HostConfig{MaxSockets: n, TCP: tcp.Config{MaxBacklog: n}},
		ARP:  arp.Config{QueueLimit: n},
		NIC:  func(c *nic.Config) { c.RingSize = n },
	}
}

// Run runs the scenario: cfg.Conns clients connect at the same instant,
// send "GET /file HTTP/1.1" with Connection: close, read the response to
// the end and check it.
func Run(cfg Config) Result {
	if cfg.FileBytes <= 0 {
		cfg.FileBytes = 1024
	}
	if cfg.Workers <= 0 {
		cfg.Workers = 64
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Minute
	}
	var res Result
	p, err := stack.NewPair(topology(cfg))
	if err != nil {
		res.Err = err
		return res
	}
	body := make([]byte, cfg.FileBytes)
	for i := range body {
		body[i] = 'a' + byte(i%26)
	}
	site := fstest.MapFS{"file": {Data: body}}
	hc := httpd.Config{Arch: httpd.ArchPool, Workers: cfg.Workers, MaxConns: cfg.Conns + 64, Spawn: p.Net.Go}
	srv := httpd.New(hc, httpd.NewMapper(httpd.MapConfig{}, site), p.Net.Log.Recorder("server"))
	addr := netip.AddrPortFrom(p.Server.Addr(), 80)
	ln, err := p.Server.ListenTCP(addr, cfg.Conns+64)
	if err != nil {
		res.Err = err
		return res
	}
	p.Net.Go(func() { srv.Serve(ln) })

	const want = "HTTP/1.1 200 "
	finished := 0
	for i := 0; i < cfg.Conns; i++ {
		p.Net.Go(func() {
			defer func() { finished++ }()
			err := fetch(p.Client, addr, want, cfg.FileBytes)
			if err != nil {
				if res.ServeErrs == 0 {
					res.Err = err
				}
				res.ServeErrs++
				return
			}
			res.Conns++
		})
	}

	ctx, cancel := context.WithTimeout(context.Background(), cfg.Timeout)
	defer cancel()
	stopSampling := samplePeakHeap(&res.PeakHeap)
	events0 := p.Net.Clock.Steps()
	start := time.Now()
	err = p.Net.RunUntil(ctx, func() bool { return finished == cfg.Conns })
	res.Wall = time.Since(start)
	res.Events = p.Net.Clock.Steps() - events0
	res.Virtual = p.Net.Clock.Now()
	stopSampling()
	res.MaxRSS = maxRSS()
	st := p.Server.Interfaces()[0].NIC.Stats()
	res.Frames = st.RxPackets
	res.Log = fmt.Sprintf("server tcp %+v\nclient tcp %+v", p.Server.TCP.Stats(), p.Client.TCP.Stats())
	if err != nil && res.Err == nil {
		res.Err = fmt.Errorf("after %d of %d clients: %v", finished, cfg.Conns, err)
	}
	// Close the listener so that the accept loop ends; the workers end
	// as their connections close.
	p.Net.Go(func() { srv.Close() })
	p.Net.RunUntil(ctx, func() bool { return false })
	return res
}

// fetch is one client: connect, ask, read to the end, check.
func fetch(h *stack.Host, addr netip.AddrPort, want string, size int) error {
	c, err := h.DialTCP(context.Background(), addr)
	if err != nil {
		return fmt.Errorf("connect: %v", err)
	}
	defer c.Close()
	if _, err := io.WriteString(c, "GET /file HTTP/1.1\r\nHost: sim\r\nConnection: close\r\n\r\n"); err != nil {
		return fmt.Errorf("write: %v", err)
	}
	resp, err := io.ReadAll(c)
	if err != nil {
		return fmt.Errorf("read: %v", err)
	}
	s := string(resp)
	i := strings.Index(s, "\r\n\r\n")
	switch {
	case !strings.HasPrefix(s, want):
		return fmt.Errorf("response %.40q, want %q", s, want)
	case i < 0 || len(s)-i-4 != size:
		return fmt.Errorf("body of %d bytes, want %d", len(s)-i-4, size)
	}
	return nil
}

// samplePeakHeap records the largest HeapInuse seen every 50 ms until the
// returned function is called.
func samplePeakHeap(peak *uint64) func() {
	done := make(chan struct{})
	stopped := make(chan struct{})
	sample := func() {
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		*peak = max(*peak, ms.HeapInuse)
	}
	go func() {
		defer close(stopped)
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				sample()
				return
			case <-t.C:
				sample()
			}
		}
	}()
	return func() { close(done); <-stopped }
}

func maxRSS() uint64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return uint64(ru.Maxrss) * 1024 // kilobytes on Linux
}

// heapInUse is the heap after a full collection.
func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// IdleMemory is the heap an idle established connection costs, both ends
// counted and divided by two: the client's socket and the server's
// accepted one, each with its protocol state and buffers, after a small
// request and answer have gone through (so the buffers have been used).
type IdleMemory struct {
	Conns      int
	Packetwalk float64 // bytes per connection end
	GVisor     float64
}

// MeasureIdle opens conns idle connections on packetwalk (two packetwalk
// hosts) and on gVisor (two gVisor hosts), one stack after the other, and
// measures the heap each set holds.
func MeasureIdle(conns int) (IdleMemory, error) {
	m := IdleMemory{Conns: conns}
	var err error
	if m.Packetwalk, err = idlePacketwalk(conns); err != nil {
		return m, fmt.Errorf("packetwalk: %v", err)
	}
	if m.GVisor, err = idleGVisor(conns); err != nil {
		return m, fmt.Errorf("gVisor: %v", err)
	}
	return m, nil
}

// exchange writes one small message and reads it back at the other end,
// both ways, so that both ends' buffers have been used once.
func exchange(a, b net.Conn) error {
	msg := []byte("ping")
	buf := make([]byte, len(msg))
	for _, d := range [][2]net.Conn{{a, b}, {b, a}} {
		if _, err := d[0].Write(msg); err != nil {
			return err
		}
		if _, err := io.ReadFull(d[1], buf); err != nil {
			return err
		}
	}
	return nil
}

func idlePacketwalk(conns int) (float64, error) {
	p, err := stack.NewPair(topology(Config{Seed: 1, Conns: conns}))
	if err != nil {
		return 0, err
	}
	addr := netip.AddrPortFrom(p.Server.Addr(), 80)
	var clients, servers []net.Conn
	var failed error
	done := false
	p.Net.Go(func() {
		defer func() { done = true }()
		ln, err := p.Server.ListenTCP(addr, conns+64)
		if err != nil {
			failed = err
			return
		}
		for i := 0; i < conns; i++ {
			c, err := p.Client.DialTCP(context.Background(), addr)
			if err != nil {
				failed = err
				return
			}
			s, err := ln.Accept()
			if err != nil {
				failed = err
				return
			}
			if err := exchange(c, s); err != nil {
				failed = err
				return
			}
			clients, servers = append(clients, c), append(servers, s)
		}
	})
	before := heapInUse()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if err := p.Net.RunUntil(ctx, func() bool { return done }); err != nil {
		return 0, err
	}
	if failed != nil {
		return 0, failed
	}
	// Let delayed ACKs go out: the connections are idle after this.
	p.Net.RunFor(time.Second)
	after := heapInUse()
	runtime.KeepAlive(p)
	runtime.KeepAlive(clients)
	runtime.KeepAlive(servers)
	return (float64(after) - float64(before)) / float64(2*conns), nil
}

func idleGVisor(conns int) (float64, error) {
	n := stack.NewNetwork(1)
	n.Loop.SetPaced(true) // gVisor runs goroutines of its own
	w, err := n.AddWire(wire.Config{})
	if err != nil {
		return 0, err
	}
	mk := func(name string, i int, prefix string) (*gvisorhost.Host, error) {
		h, err := gvisorhost.New(gvisorhost.Config{Name: name, MAC: stack.MAC(i), Addr: netip.MustParsePrefix(prefix), Clock: n.Clock, Log: n.Log})
		if err != nil {
			return nil, err
		}
		w.Attach(h)
		h.Attach(w)
		return h, nil
	}
	cli, err := mk("client", 1, "10.0.0.1/24")
	if err != nil {
		return 0, err
	}
	defer cli.Close()
	srv, err := mk("server", 2, "10.0.0.2/24")
	if err != nil {
		return 0, err
	}
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	loopDone := make(chan error, 1)
	var stop atomic.Bool
	go func() { loopDone <- n.RunUntil(ctx, stop.Load) }()

	ln, err := srv.ListenTCP(80)
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	var clients, servers []net.Conn
	before := heapInUse()
	addr := netip.AddrPortFrom(srv.Addr(), 80)
	for i := 0; i < conns; i++ {
		c, err := cli.DialTCP(ctx, addr)
		if err != nil {
			return 0, err
		}
		s, err := ln.Accept()
		if err != nil {
			return 0, err
		}
		if err := exchange(c, s); err != nil {
			return 0, err
		}
		clients, servers = append(clients, c), append(servers, s)
	}
	time.Sleep(time.Second) // delayed ACKs
	after := heapInUse()
	runtime.KeepAlive(clients)
	runtime.KeepAlive(servers)
	stop.Store(true)
	n.Loop.Wake()
	if err := <-loopDone; err != nil && !errors.Is(err, context.Canceled) {
		return 0, err
	}
	for _, c := range append(clients, servers...) {
		c.Close()
	}
	return (float64(after) - float64(before)) / float64(2*conns), nil
}
