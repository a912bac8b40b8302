package stack

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/packetwalk/packetwalk/nic"
	"github.com/packetwalk/packetwalk/tcp"
	"github.com/packetwalk/packetwalk/viz"
	"github.com/packetwalk/packetwalk/wire"
)

// TCP's behaviour between whole hosts over a simulated wire, in virtual
// time, asserted through the step log and the socket API: every transition
// of RFC 9293's Figure 5, the seed's two clients with one port, backlog
// overflow, RST on a closed port, half close, TIME_WAIT reuse, Nagle and
// delayed ACK, SO_LINGER 0, loss recovery, zero window, determinism, Poll.

// --- helpers ---------------------------------------------------------------

// tbPair builds client 10.0.0.1 and server 10.0.0.2 with tc as both hosts'
// TCP settings, logging into memory.
func tbPair(t testing.TB, seed int64, tc tcp.Config, wire wire.Config) (*Pair, *viz.MemorySink) {
	t.Helper()
	p, err := NewPair(TopologyConfig{Seed: seed, Wire: wire, IP: HostConfig{TCP: tc}})
	if err != nil {
		t.Fatal(err)
	}
	mem := &viz.MemorySink{}
	p.Net.Log.AddSink(mem)
	return p, mem
}

// tbApps runs application goroutines on a simulation until all return.
type tbApps struct {
	t       testing.TB
	n       *Network
	pending atomic.Int32
	mu      sync.Mutex
	errs    []error
}

func tbRun(t testing.TB, n *Network) *tbApps { return &tbApps{t: t, n: n} }

// Go starts an application; an error it returns fails the test.
func (a *tbApps) Go(name string, f func() error) {
	a.pending.Add(1)
	a.n.Go(func() {
		defer a.pending.Add(-1)
		if err := f(); err != nil {
			a.mu.Lock()
			a.errs = append(a.errs, fmt.Errorf("%s: %w", name, err))
			a.mu.Unlock()
		}
	})
}

// Wait runs the simulation until every application returned and until
// holds (checked on the loop; nil: no further condition).
func (a *tbApps) Wait(until func() bool) {
	a.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	err := a.n.RunUntil(ctx, func() bool { return a.pending.Load() == 0 && (until == nil || until()) })
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, e := range a.errs {
		a.t.Error(e)
	}
	if err != nil {
		a.t.Fatalf("simulation: %v", err)
	}
	if len(a.errs) > 0 {
		a.t.FailNow()
	}
}

// tbSleep lets d of the host's time pass for the calling application.
func tbSleep(h *Host, d time.Duration) { h.Poll(nil, d) }

// tbSleepUntil sleeps until the host's clock reads at.
func tbSleepUntil(h *Host, at time.Duration) {
	if d := at - h.Clock.Now(); d > 0 {
		tbSleep(h, d)
	}
}

// tbListen is socket, bind, listen, with options set before listen (the
// clones inherit them).
func tbListen(h *Host, addr netip.AddrPort, backlog int, opts ...[3]int) (FD, error) {
	fd, err := h.Socket(AF_INET, SOCK_STREAM)
	if err != nil {
		return -1, err
	}
	for _, o := range opts {
		if err := h.SetSockopt(fd, o[0], o[1], o[2]); err != nil {
			return -1, err
		}
	}
	if err := h.Bind(fd, addr); err != nil {
		return -1, err
	}
	return fd, h.Listen(fd, backlog)
}

// tbDial is socket, bind (if local is valid), connect.
func tbDial(h *Host, local, remote netip.AddrPort, opts ...[3]int) (FD, error) {
	fd, err := h.Socket(AF_INET, SOCK_STREAM)
	if err != nil {
		return -1, err
	}
	for _, o := range opts {
		if err := h.SetSockopt(fd, o[0], o[1], o[2]); err != nil {
			return -1, err
		}
	}
	if local.IsValid() {
		if err := h.Bind(fd, local); err != nil {
			return fd, err
		}
	}
	return fd, h.Connect(fd, remote)
}

// tbListener is the shape most tests share: a "server" application that
// listens and serves, and clients that start only once the listener exists
// (or failed to), so that no SYN meets a closed port.
type tbListener struct {
	a     *tbApps
	Addr  netip.AddrPort // where Dial connects
	ready chan struct{}  // closed once listen() returned
}

// Serve starts the "server" application on h: socket, bind addr, listen
// with backlog (opts set before listen), then serve(lfd), which closes it.
func (a *tbApps) Serve(h *Host, addr netip.AddrPort, backlog int, serve func(lfd FD) error, opts ...[3]int) *tbListener {
	l := &tbListener{a: a, Addr: addr, ready: make(chan struct{})}
	a.Go("server", func() error {
		lfd, err := tbListen(h, addr, backlog, opts...)
		close(l.ready)
		if err != nil {
			return err
		}
		return serve(lfd)
	})
	return l
}

// ServeOne is Serve for a server of one connection: it accepts it and
// hands serve the listener and the connection (serve closes both).
func (a *tbApps) ServeOne(h *Host, addr netip.AddrPort, backlog int, serve func(lfd, fd FD) error, opts ...[3]int) *tbListener {
	return a.Serve(h, addr, backlog, func(lfd FD) error {
		fd, _, err := h.Accept(lfd)
		if err != nil {
			return err
		}
		return serve(lfd, fd)
	}, opts...)
}

// Client starts the application name, which runs f once the listener
// exists.
func (l *tbListener) Client(name string, f func() error) {
	l.a.Go(name, func() error {
		<-l.ready
		return f()
	})
}

// Dial starts the client application name on h: once the listener exists
// it connects from an ephemeral port and runs f on the connection (f
// closes it).
func (l *tbListener) Dial(name string, h *Host, f func(fd FD) error) {
	l.Client(name, func() error {
		fd, err := tbDial(h, netip.AddrPort{}, l.Addr)
		if err != nil {
			return err
		}
		return f(fd)
	})
}

// tbAllClosed holds once neither host of p has a TCP socket left (TIME_WAIT
// included): a Wait condition.
func tbAllClosed(p *Pair) func() bool {
	return func() bool { return len(p.Client.TCP.Endpoints()) == 0 && len(p.Server.TCP.Endpoints()) == 0 }
}

// tbRequest is a client's whole exchange with a server that reads to EOF:
// write data, shut down the sending half (the FIN is the server's EOF),
// and read the answer up to the server's FIN.
func tbRequest(h *Host, fd FD, data []byte) ([]byte, error) {
	if _, err := h.Write(fd, data); err != nil {
		return nil, err
	}
	if err := h.Shutdown(fd, SHUT_WR); err != nil {
		return nil, err
	}
	return tbReadAll(h, fd)
}

// tbConsume reads to EOF through a buffer of bufBytes, handing each read's
// bytes to each (the buffer size sets how much one read takes from the
// receive queue, and so when window updates go out: callers keep theirs).
func tbConsume(h *Host, fd FD, bufBytes int, each func([]byte)) error {
	buf := make([]byte, bufBytes)
	for {
		n, err := h.Read(fd, buf)
		each(buf[:n])
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// tbReadFull reads exactly n bytes.
func tbReadFull(h *Host, fd FD, n int) ([]byte, error) {
	buf := make([]byte, n)
	got := 0
	for got < n {
		m, err := h.Read(fd, buf[got:])
		got += m
		if err != nil {
			return buf[:got], err
		}
	}
	return buf, nil
}

// tbReadAll reads until EOF.
func tbReadAll(h *Host, fd FD) ([]byte, error) {
	var out []byte
	buf := make([]byte, 32<<10)
	for {
		n, err := h.Read(fd, buf)
		out = append(out, buf[:n]...)
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
	}
}

// tbConnID is the step log's socket ID of a descriptor.
func tbConnID(h *Host, fd FD) uint64 {
	var id uint64
	h.loop.Do(func() {
		if s, err := h.get(fd); err == nil && s.tcp != nil {
			id = s.tcp.ID
		}
	})
	return id
}

// tbState is the TCP state of a descriptor's socket.
func tbState(h *Host, fd FD) tcp.State {
	st := tcp.State(255)
	h.loop.Do(func() {
		if s, err := h.get(fd); err == nil && s.tcp != nil {
			st = s.tcp.State()
		}
	})
	return st
}

// tbEndpoints lists the host's sockets (run on the loop).
func tbEndpoints(h *Host) []tcp.Info {
	var out []tcp.Info
	for _, e := range h.TCP.Endpoints() {
		out = append(out, e.Info())
	}
	return out
}

func tbBytes(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, 99))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// tbSteps returns the events of host (any host if "") at layer and step.
func tbSteps(mem *viz.MemorySink, host string, layer viz.Layer, step string) []viz.Event {
	var out []viz.Event
	for _, e := range mem.Events() {
		if (host == "" || e.Host == host) && e.Layer == layer && e.Step == step {
			out = append(out, e)
		}
	}
	return out
}

func tbDrops(mem *viz.MemorySink, host string, reason viz.Reason) []viz.Event {
	var out []viz.Event
	for _, e := range mem.Events() {
		if (host == "" || e.Host == host) && e.Verdict == viz.Drop && e.Reason == reason {
			out = append(out, e)
		}
	}
	return out
}

// tbTrail returns the state steps of one socket as "FROM>TO".
func tbTrail(mem *viz.MemorySink, host string, conn uint64) []string {
	var out []string
	for _, e := range tbSteps(mem, host, viz.LayerTCP, "state") {
		if e.Conn == conn {
			from, _ := e.Field("from")
			to, _ := e.Field("to")
			out = append(out, from+">"+to)
		}
	}
	return out
}

func tbExpectTrail(t *testing.T, mem *viz.MemorySink, host string, conn uint64, want ...string) {
	t.Helper()
	if got := tbTrail(mem, host, conn); !slices.Equal(got, want) {
		t.Errorf("%s socket #%d: transitions %v, want %v", host, conn, got, want)
	}
}

// tbStateAt returns when the socket entered state to.
func tbStateAt(t *testing.T, mem *viz.MemorySink, host string, conn uint64, to string) time.Duration {
	t.Helper()
	for _, e := range tbSteps(mem, host, viz.LayerTCP, "state") {
		if v, _ := e.Field("to"); e.Conn == conn && v == to {
			return e.T
		}
	}
	t.Fatalf("%s socket #%d never entered %s", host, conn, to)
	return 0
}

func field(e viz.Event, key string) string {
	v, _ := e.Field(key)
	return v
}

// --- 1. every transition of Figure 5 ---------------------------------------

// TestTCPTransitionsOpenAndClose: the client opens actively and closes
// first (FIN_WAIT_1, FIN_WAIT_2, TIME_WAIT for 2 MSL); the server's clone
// opens passively and closes second (CLOSE_WAIT, LAST_ACK); the listener
// stays in LISTEN until it is closed.
func TestTCPTransitionsOpenAndClose(t *testing.T) {
	const msl = 50 * time.Millisecond
	p, mem := tbPair(t, 1, tcp.Config{MSL: msl}, wire.Config{})
	srv := netip.AddrPortFrom(p.Server.Addr(), 80)
	var lstID, srvID, cliID uint64
	a := tbRun(t, p.Net)
	l := a.Serve(p.Server, srv, 4, func(lfd FD) error {
		lstID = tbConnID(p.Server, lfd)
		fd, _, err := p.Server.Accept(lfd)
		if err != nil {
			return err
		}
		srvID = tbConnID(p.Server, fd)
		if st := tbState(p.Server, lfd); st != tcp.Listen {
			return fmt.Errorf("listener in %s after accept", st)
		}
		got, err := tbReadAll(p.Server, fd)
		if err != nil || string(got) != "hello" {
			return fmt.Errorf("read %q, %v", got, err)
		}
		if st := tbState(p.Server, fd); st != tcp.CloseWait {
			return fmt.Errorf("server socket in %s after EOF, want CLOSE_WAIT", st)
		}
		p.Server.Close(fd)
		return p.Server.Close(lfd)
	})
	l.Dial("client", p.Client, func(fd FD) error {
		cliID = tbConnID(p.Client, fd)
		if _, err := p.Client.Write(fd, []byte("hello")); err != nil {
			return err
		}
		return p.Client.Close(fd)
	})
	a.Wait(tbAllClosed(p))

	tbExpectTrail(t, mem, "client", cliID, "CLOSED>SYN_SENT", "SYN_SENT>ESTABLISHED", "ESTABLISHED>FIN_WAIT_1",
		"FIN_WAIT_1>FIN_WAIT_2", "FIN_WAIT_2>TIME_WAIT", "TIME_WAIT>CLOSED")
	tbExpectTrail(t, mem, "server", lstID, "CLOSED>LISTEN", "LISTEN>CLOSED")
	tbExpectTrail(t, mem, "server", srvID, "CLOSED>SYN_RECEIVED", "SYN_RECEIVED>ESTABLISHED", "ESTABLISHED>CLOSE_WAIT",
		"CLOSE_WAIT>LAST_ACK", "LAST_ACK>CLOSED")
	if tw := tbStateAt(t, mem, "client", cliID, "CLOSED") - tbStateAt(t, mem, "client", cliID, "TIME_WAIT"); tw != 2*msl {
		t.Errorf("TIME_WAIT lasted %v, want 2 MSL = %v", tw, 2*msl)
	}
	// The clone is logged with what it got from the SYN.
	clones := tbSteps(mem, "server", viz.LayerTCP, "listen_clone")
	if len(clones) != 1 || clones[0].Conn != srvID || field(clones[0], "listener") != fmt.Sprint(lstID) {
		t.Errorf("listen_clone steps %+v", clones)
	}
}

// TestTCPTransitionsSimultaneousClose: both applications close at the same
// virtual instant; the FINs cross and both sides pass through CLOSING.
func TestTCPTransitionsSimultaneousClose(t *testing.T) {
	const msl = 50 * time.Millisecond
	p, mem := tbPair(t, 2, tcp.Config{MSL: msl}, wire.Config{})
	srv := netip.AddrPortFrom(p.Server.Addr(), 80)
	const closeAt = 10 * time.Millisecond
	var srvID, cliID uint64
	a := tbRun(t, p.Net)
	l := a.ServeOne(p.Server, srv, 4, func(lfd, fd FD) error {
		srvID = tbConnID(p.Server, fd)
		p.Server.Close(lfd)
		tbSleepUntil(p.Server, closeAt)
		return p.Server.Close(fd)
	})
	l.Dial("client", p.Client, func(fd FD) error {
		cliID = tbConnID(p.Client, fd)
		tbSleepUntil(p.Client, closeAt)
		return p.Client.Close(fd)
	})
	a.Wait(tbAllClosed(p))
	closing := []string{"ESTABLISHED>FIN_WAIT_1", "FIN_WAIT_1>CLOSING", "CLOSING>TIME_WAIT", "TIME_WAIT>CLOSED"}
	tbExpectTrail(t, mem, "client", cliID, append([]string{"CLOSED>SYN_SENT", "SYN_SENT>ESTABLISHED"}, closing...)...)
	tbExpectTrail(t, mem, "server", srvID, append([]string{"CLOSED>SYN_RECEIVED", "SYN_RECEIVED>ESTABLISHED"}, closing...)...)
	for _, h := range []struct {
		name string
		id   uint64
	}{{"client", cliID}, {"server", srvID}} {
		if at := tbStateAt(t, mem, h.name, h.id, "FIN_WAIT_1"); at != closeAt {
			t.Errorf("%s closed at %v, want %v", h.name, at, closeAt)
		}
	}
}

// TestTCPTransitionsSimultaneousOpen: two hosts connect() to each other's
// bound port at the same virtual instant (RFC 9293 Figure 8): no listener,
// the SYNs cross, both go SYN_SENT -> SYN_RECEIVED -> ESTABLISHED, and the
// one connection carries data both ways.
func TestTCPTransitionsSimultaneousOpen(t *testing.T) {
	p, mem := tbPair(t, 3, tcp.Config{MSL: 10 * time.Millisecond}, wire.Config{})
	aAddr := netip.AddrPortFrom(p.Client.Addr(), 5001)
	bAddr := netip.AddrPortFrom(p.Server.Addr(), 5002)
	var ids [2]uint64
	peer := func(i int, h *Host, local, remote netip.AddrPort, say string) func() error {
		return func() error {
			fd, err := tbDial(h, local, remote)
			if err != nil {
				return fmt.Errorf("connect: %w", err)
			}
			ids[i] = tbConnID(h, fd)
			got, err := tbRequest(h, fd, []byte(say))
			if err != nil {
				return err
			}
			if want := map[string]string{"ping": "pong", "pong": "ping"}[say]; string(got) != want {
				return fmt.Errorf("read %q, want %q", got, want)
			}
			return h.Close(fd)
		}
	}
	a := tbRun(t, p.Net)
	a.Go("a", peer(0, p.Client, aAddr, bAddr, "ping"))
	a.Go("b", peer(1, p.Server, bAddr, aAddr, "pong"))
	a.Wait(tbAllClosed(p))
	for i, host := range []string{"client", "server"} {
		trail := tbTrail(mem, host, ids[i])
		if len(trail) < 3 || !slices.Equal(trail[:3], []string{"CLOSED>SYN_SENT", "SYN_SENT>SYN_RECEIVED", "SYN_RECEIVED>ESTABLISHED"}) {
			t.Errorf("%s: transitions %v, want a simultaneous open", host, trail)
		}
		if at := tbStateAt(t, mem, host, ids[i], "SYN_SENT"); at != 0 {
			t.Errorf("%s connected at %v, want 0", host, at)
		}
	}
	if n := len(tbSteps(mem, "", viz.LayerTCP, "listen_clone")); n != 0 {
		t.Errorf("%d listen_clone steps without a listener", n)
	}
	if d := tbDrops(mem, "", viz.ReasonSeqOutOfWindow); len(d) != 0 {
		t.Errorf("the crossing SYN+ACKs were dropped: %s", d[0].Msg)
	}
}

// --- 3. the seed's two clients with the same port -------------------------

// TestTCPTwoClientsSamePort is "How Network Works" ch. 6: two clients both
// use port 1025 and reach port 80 of one server. The server tells them
// apart by the whole four-tuple: each client's segments go to a socket of
// its own.
func TestTCPTwoClientsSamePort(t *testing.T) {
	n := NewNetwork(6)
	mem := &viz.MemorySink{}
	n.Log.AddSink(mem)
	w, err := n.AddWire(wire.Config{Mode: wire.Switch})
	if err != nil {
		t.Fatal(err)
	}
	add := func(name string, mac int, prefix string) *Host {
		h := n.AddHost(HostConfig{Name: name})
		if _, err := h.AddInterface(InterfaceConfig{NIC: nic.Config{MAC: MAC(mac)}, Prefix: netip.MustParsePrefix(prefix)}, w); err != nil {
			t.Fatal(err)
		}
		return h
	}
	server := add("server", 1, "198.18.203.1/24")
	clients := []*Host{add("client153", 2, "198.18.203.153/24"), add("client86", 3, "198.18.203.86/24")}
	srv := netip.AddrPortFrom(server.Addr(), 80)

	served := map[string]uint64{} // client address -> the server socket that answered it
	var mu sync.Mutex
	a := tbRun(t, n)
	l := a.Serve(server, netip.AddrPortFrom(netip.IPv4Unspecified(), 80), 8, func(lfd FD) error {
		for range clients {
			fd, peer, err := server.Accept(lfd)
			if err != nil {
				return err
			}
			id := tbConnID(server, fd)
			n.Go(func() { // a process per connection, as a forking server does
				defer server.Close(fd)
				msg, err := tbReadAll(server, fd)
				if err != nil {
					return
				}
				mu.Lock()
				served[peer.String()] = id
				mu.Unlock()
				server.Write(fd, fmt.Appendf(nil, "socket #%d to %s: %s", id, peer, msg))
			})
		}
		return server.Close(lfd)
	})
	answers := make([]string, len(clients))
	for i, c := range clients {
		l.Client(c.Name, func() error {
			local := netip.AddrPortFrom(c.Addr(), 1025)
			fd, err := tbDial(c, local, srv)
			if err != nil {
				return err
			}
			got, err := tbRequest(c, fd, []byte("hello from "+c.Name))
			if err != nil {
				return err
			}
			answers[i] = string(got)
			return c.Close(fd)
		})
	}
	a.Wait(nil)

	ids := map[uint64]bool{}
	for i, c := range clients {
		peer := netip.AddrPortFrom(c.Addr(), 1025).String()
		id := served[peer]
		if id == 0 || ids[id] {
			t.Fatalf("client %s served by socket #%d (served: %v)", peer, id, served)
		}
		ids[id] = true
		if want := fmt.Sprintf("socket #%d to %s: hello from %s", id, peer, c.Name); answers[i] != want {
			t.Errorf("%s got %q, want %q", c.Name, answers[i], want)
		}
		// Every segment from this client after the SYN went to that
		// socket by an exact four-tuple match.
		exact := 0
		for _, e := range tbSteps(mem, "server", viz.LayerTCP, "demux") {
			if field(e, "remote") != peer {
				continue
			}
			switch field(e, "rule") {
			case "exact":
				exact++
				if e.Conn != id {
					t.Errorf("segment from %s resolved to socket #%d, want #%d", peer, e.Conn, id)
				}
			case "listener":
				if field(e, "local") != "198.18.203.1:80" {
					t.Errorf("listener demux %s", e.Msg)
				}
			}
		}
		if exact < 3 {
			t.Errorf("%d exact demux steps for %s", exact, peer)
		}
	}
	if clones := tbSteps(mem, "server", viz.LayerTCP, "listen_clone"); len(clones) != 2 {
		t.Errorf("%d listen_clone steps, want 2", len(clones))
	}
}

// --- 4. backlog overflow ---------------------------------------------------

// TestTCPBacklogOverflow: listen(backlog 2); one client connects, then four
// more at once while the server does not accept. SYNs beyond the SYN
// queue and a final ACK beyond the accept queue are dropped (backlog_full);
// once accept() drains the queue, the retransmitted SYNs and SYN+ACKs get
// through and all five connections are accepted.
func TestTCPBacklogOverflow(t *testing.T) {
	// SYN cookies off: this is the SYN queue's own overflow (with them,
	// the default, a full SYN queue answers with cookies: TestSYNFlood).
	p, mem := tbPair(t, 4, tcp.Config{SynCookies: tcp.SynCookiesOff}, wire.Config{})
	srv := netip.AddrPortFrom(p.Server.Addr(), 80)
	const clients = 5
	const acceptAt = 3 * time.Second
	got := map[byte]bool{}
	a := tbRun(t, p.Net)
	l := a.Serve(p.Server, srv, 2, func(lfd FD) error {
		tbSleepUntil(p.Server, acceptAt)
		for range clients {
			fd, _, err := p.Server.Accept(lfd)
			if err != nil {
				return err
			}
			b, err := tbReadFull(p.Server, fd, 1)
			if err != nil {
				return err
			}
			got[b[0]] = true
			p.Server.Close(fd)
		}
		return p.Server.Close(lfd)
	})
	for i := range clients {
		l.Client(fmt.Sprintf("client%d", i), func() error {
			if i > 0 {
				// The first is established (at 200 µs) before the
				// others try, all at once.
				tbSleepUntil(p.Client, 10*time.Millisecond)
			}
			fd, err := tbDial(p.Client, netip.AddrPort{}, srv)
			if err != nil {
				return err
			}
			if _, err := p.Client.Write(fd, []byte{byte(i)}); err != nil {
				return err
			}
			if _, err := tbReadAll(p.Client, fd); err != nil {
				return err
			}
			return p.Client.Close(fd)
		})
	}
	a.Wait(nil)
	if len(got) != clients {
		t.Fatalf("accepted %v, want %d clients", got, clients)
	}
	var synQueue, acceptQueue int
	for _, e := range tbDrops(mem, "server", viz.ReasonBacklogFull) {
		if e.T >= acceptAt {
			continue
		}
		switch {
		case e.Step == "listen" && strings.Contains(e.Msg, "2 half-open"):
			synQueue++
		case e.Step == "ack" && strings.Contains(e.Msg, "accept queue full"):
			acceptQueue++
		}
	}
	if synQueue == 0 || acceptQueue == 0 {
		t.Errorf("backlog_full drops before accept(): %d for the SYN queue, %d for the accept queue; want both", synQueue, acceptQueue)
	}
	var synRtx, synAckRtx int
	for _, e := range tbSteps(mem, "", viz.LayerTCP, "retransmit") {
		switch {
		case e.Host == "client" && field(e, "flags") == tcp.FlagSYN.String():
			synRtx++
		case e.Host == "server" && field(e, "flags") == (tcp.FlagSYN|tcp.FlagACK).String():
			synAckRtx++
		}
	}
	if synRtx == 0 || synAckRtx == 0 {
		t.Errorf("%d SYN and %d SYN+ACK retransmissions, want both", synRtx, synAckRtx)
	}
	t.Logf("all %d accepted by %v; %d SYN-queue and %d accept-queue drops, %d SYN and %d SYN+ACK retransmissions",
		clients, p.Net.Clock.Now(), synQueue, acceptQueue, synRtx, synAckRtx)
}

// --- 5. RST on a closed port -----------------------------------------------

func TestTCPConnectClosedPortRefused(t *testing.T) {
	p, mem := tbPair(t, 5, tcp.Config{}, wire.Config{})
	var err error
	var took time.Duration
	a := tbRun(t, p.Net)
	a.Go("client", func() error {
		start := p.Client.Clock.Now()
		_, err = tbDial(p.Client, netip.AddrPort{}, netip.AddrPortFrom(p.Server.Addr(), 81))
		took = p.Client.Clock.Now() - start
		return nil
	})
	a.Wait(nil)
	if !errors.Is(err, tcp.ErrConnRefused) {
		t.Fatalf("connect: %v, want ECONNREFUSED", err)
	}
	if took > 10*time.Millisecond {
		t.Errorf("connect took %v to be refused", took)
	}
	// The server's walk: demux finds nobody (rule none, no_socket), then
	// the RST; the client takes it as a refusal.
	var demux, rst int = -1, -1
	for i, e := range mem.Events() {
		switch {
		case e.Host == "server" && e.Step == "demux" && field(e, "rule") == "none" && e.Reason == viz.ReasonNoSocket:
			demux = i
		case e.Host == "server" && e.Step == "rst" && e.Verdict == viz.Send && demux >= 0 && rst < 0:
			rst = i
			if f := field(e, "flags"); f != (tcp.FlagRST | tcp.FlagACK).String() {
				t.Errorf("RST flags %s", f)
			}
		}
	}
	if demux < 0 || rst < 0 {
		t.Fatalf("demux rule=none at %d, RST at %d", demux, rst)
	}
	if d := tbSteps(mem, "client", viz.LayerTCP, "rst"); len(d) != 1 || d[0].Verdict != viz.Deliver {
		t.Errorf("client rst steps %+v", d)
	}
}

// --- 6. half close ---------------------------------------------------------

// TestTCPHalfClose: the client sends a request and shuts down its sending
// half; the server reads EOF and still sends 100 kB, which the client reads
// in full.
func TestTCPHalfClose(t *testing.T) {
	p, mem := tbPair(t, 6, tcp.Config{}, wire.Config{})
	srv := netip.AddrPortFrom(p.Server.Addr(), 80)
	reply := tbBytes(6, 100_000)
	var got []byte
	var cliID uint64
	a := tbRun(t, p.Net)
	l := a.ServeOne(p.Server, srv, 4, func(lfd, fd FD) error {
		req, err := tbReadAll(p.Server, fd)
		if err != nil || string(req) != "GET /big" {
			return fmt.Errorf("request %q, %v", req, err)
		}
		if _, err := p.Server.Write(fd, reply); err != nil {
			return fmt.Errorf("write after the peer's FIN: %w", err)
		}
		p.Server.Close(lfd)
		return p.Server.Close(fd)
	})
	l.Dial("client", p.Client, func(fd FD) error {
		cliID = tbConnID(p.Client, fd)
		p.Client.Write(fd, []byte("GET /big"))
		if err := p.Client.Shutdown(fd, SHUT_WR); err != nil {
			return err
		}
		if _, err := p.Client.Write(fd, []byte("more")); !errors.Is(err, tcp.ErrBrokenPipe) {
			return fmt.Errorf("write after SHUT_WR: %v, want EPIPE", err)
		}
		var err error
		got, err = tbReadAll(p.Client, fd)
		if err != nil {
			return err
		}
		return p.Client.Close(fd)
	})
	a.Wait(nil)
	if !bytes.Equal(got, reply) {
		t.Fatalf("client read %d bytes, want the %d sent after its FIN", len(got), len(reply))
	}
	// The client sat in FIN_WAIT_2 while the data came.
	fw2 := tbStateAt(t, mem, "client", cliID, "FIN_WAIT_2")
	tw := tbStateAt(t, mem, "client", cliID, "TIME_WAIT")
	delivered := 0
	for _, e := range tbSteps(mem, "client", viz.LayerTCP, "data") {
		if e.Conn == cliID && e.Verdict == viz.Deliver && e.T >= fw2 && e.T <= tw {
			var n int
			fmt.Sscan(field(e, "bytes"), &n)
			delivered += n
		}
	}
	if delivered != len(reply) {
		t.Errorf("%d bytes arrived in FIN_WAIT_2, want %d", delivered, len(reply))
	}
}

// --- 7. TIME_WAIT reuse rules ----------------------------------------------

func TestTCPTimeWaitReuse(t *testing.T) {
	const msl = 500 * time.Millisecond
	p, mem := tbPair(t, 7, tcp.Config{MSL: msl}, wire.Config{})
	srv := netip.AddrPortFrom(p.Server.Addr(), 80)
	clientPort := func(port uint16) netip.AddrPort { return netip.AddrPortFrom(p.Client.Addr(), port) }
	var newSYNConn uint64
	a := tbRun(t, p.Net)
	l := a.Serve(p.Server, srv, 8, func(lfd FD) error {
		// First connection: the client closes first.
		fd, _, err := p.Server.Accept(lfd)
		if err != nil {
			return err
		}
		tbReadAll(p.Server, fd)
		p.Server.Close(fd)
		// Second: the server closes first and keeps the TIME_WAIT.
		fd, _, err = p.Server.Accept(lfd)
		if err != nil {
			return err
		}
		tbReadFull(p.Server, fd, 1)
		p.Server.Close(fd)
		// Third: the same client four-tuple again, while the second
		// is in TIME_WAIT here.
		fd, _, err = p.Server.Accept(lfd)
		if err != nil {
			return err
		}
		newSYNConn = tbConnID(p.Server, fd)
		tbReadAll(p.Server, fd)
		p.Server.Close(fd)
		// Fourth: after 2 MSL, from the first port.
		fd, _, err = p.Server.Accept(lfd)
		if err != nil {
			return err
		}
		tbReadAll(p.Server, fd)
		p.Server.Close(fd)
		return p.Server.Close(lfd)
	})
	l.Client("client", func() error {
		// (a) After an active close the port is held in TIME_WAIT.
		fd, err := tbDial(p.Client, clientPort(40000), srv)
		if err != nil {
			return err
		}
		p.Client.Write(fd, []byte("a"))
		p.Client.Close(fd)
		tbSleep(p.Client, 10*time.Millisecond)
		inTW := false
		p.Client.loop.Do(func() {
			for _, e := range tbEndpoints(p.Client) {
				inTW = inTW || e.Local == clientPort(40000) && e.State == tcp.TimeWait
			}
		})
		if !inTW {
			return errors.New("the first connection is not in TIME_WAIT")
		}
		fd, _ = p.Client.Socket(AF_INET, SOCK_STREAM)
		if err := p.Client.Bind(fd, clientPort(40000)); !errors.Is(err, tcp.ErrAddrInUse) {
			return fmt.Errorf("(a) bind during TIME_WAIT: %v, want EADDRINUSE", err)
		}
		// (b) SO_REUSEADDR lets bind() take it.
		p.Client.SetSockopt(fd, SOL_SOCKET, SO_REUSEADDR, 1)
		if err := p.Client.Bind(fd, clientPort(40000)); err != nil {
			return fmt.Errorf("(b) bind with SO_REUSEADDR: %v", err)
		}
		p.Client.Close(fd)

		// (c) The server closes first: its socket waits in TIME_WAIT,
		// and a new SYN from the same four-tuple with a higher
		// sequence number ends it early.
		fd, err = tbDial(p.Client, clientPort(40001), srv)
		if err != nil {
			return err
		}
		p.Client.Write(fd, []byte("c"))
		if _, err := tbReadAll(p.Client, fd); err != nil {
			return err
		}
		p.Client.Close(fd)
		tbSleep(p.Client, 10*time.Millisecond)
		fd, err = tbDial(p.Client, clientPort(40001), srv)
		if err != nil {
			return fmt.Errorf("(c) reconnect from the same port: %w", err)
		}
		p.Client.Write(fd, []byte("again"))
		p.Client.Close(fd)

		// (d) After 2 MSL the first port is free, without SO_REUSEADDR.
		tbSleep(p.Client, 2*msl)
		fd, err = tbDial(p.Client, clientPort(40000), srv)
		if err != nil {
			return fmt.Errorf("(d) bind and connect after 2 MSL: %w", err)
		}
		p.Client.Write(fd, []byte("d"))
		return p.Client.Close(fd)
	})
	a.Wait(nil)
	tw := tbSteps(mem, "server", viz.LayerTCP, "time_wait")
	if len(tw) != 1 {
		t.Fatalf("%d time_wait steps on the server, want 1", len(tw))
	}
	// The SYN that ended TIME_WAIT went on to the listener and became the
	// third connection.
	var clone *viz.Event
	for _, e := range tbSteps(mem, "server", viz.LayerTCP, "listen_clone") {
		if e.Frame == tw[0].Frame {
			clone = &e
		}
	}
	if clone == nil || clone.Conn != newSYNConn {
		t.Errorf("the SYN that ended TIME_WAIT (frame %d) did not become socket #%d", tw[0].Frame, newSYNConn)
	}
	for _, e := range mem.Events() {
		if e.Frame == tw[0].Frame && e.Verdict == viz.Drop {
			t.Errorf("the new SYN was dropped: %s", e.Msg)
		}
	}
}

// --- 8. Nagle and delayed ACK ----------------------------------------------

// TestTCPNagleDelayedACK: a client writes 10 bytes and 10 bytes, then waits
// for the answer, from a server that answers once it has 20 bytes. With
// Nagle the second write waits for the ACK of the first, which the server
// delays 200 ms hoping for data to carry it: the exchange takes 200 ms.
// With TCP_NODELAY it takes about one round trip.
func TestTCPNagleDelayedACK(t *testing.T) {
	for _, tc := range []struct {
		name    string
		noDelay bool
	}{{"nagle", false}, {"nodelay", true}} {
		t.Run(tc.name, func(t *testing.T) {
			p, mem := tbPair(t, 8, tcp.Config{}, wire.Config{})
			srv := netip.AddrPortFrom(p.Server.Addr(), 80)
			var took time.Duration
			var start time.Duration
			a := tbRun(t, p.Net)
			l := a.ServeOne(p.Server, srv, 4, func(lfd, fd FD) error {
				if _, err := tbReadFull(p.Server, fd, 20); err != nil {
					return err
				}
				if _, err := p.Server.Write(fd, []byte("answer: twenty bytes")); err != nil {
					return err
				}
				tbReadAll(p.Server, fd)
				p.Server.Close(lfd)
				return p.Server.Close(fd)
			})
			l.Dial("client", p.Client, func(fd FD) error {
				if tc.noDelay {
					if err := p.Client.SetSockopt(fd, IPPROTO_TCP, TCP_NODELAY, 1); err != nil {
						return err
					}
				}
				tbSleep(p.Client, time.Millisecond) // the handshake's last ACK is in
				start = p.Client.Clock.Now()
				p.Client.Write(fd, []byte("0123456789"))
				p.Client.Write(fd, []byte("abcdefghij"))
				if _, err := tbReadFull(p.Client, fd, 20); err != nil {
					return err
				}
				took = p.Client.Clock.Now() - start
				return p.Client.Close(fd)
			})
			a.Wait(nil)
			nagle := tbSteps(mem, "client", viz.LayerTCP, "nagle")
			var fired []viz.Event
			for _, e := range tbSteps(mem, "server", viz.LayerTCP, "delack") {
				if strings.Contains(e.Msg, "fired") && e.T < start+time.Second {
					fired = append(fired, e)
				}
			}
			if tc.noDelay {
				if len(nagle) != 0 || len(fired) != 0 {
					t.Errorf("TCP_NODELAY: %d nagle holds, %d delayed ACKs fired", len(nagle), len(fired))
				}
				if took > time.Millisecond {
					t.Errorf("TCP_NODELAY: the exchange took %v, want about one round trip", took)
				}
			} else {
				if len(nagle) == 0 || field(nagle[0], "held") != "10" {
					t.Fatalf("no nagle step holding 10 bytes: %+v", nagle)
				}
				if len(fired) != 1 || fired[0].T-start < 200*time.Millisecond || fired[0].T-start > 201*time.Millisecond {
					t.Fatalf("delayed-ACK timer fired %+v, want once, 200 ms after the first write", fired)
				}
				if took < 200*time.Millisecond || took > 201*time.Millisecond {
					t.Errorf("Nagle: the exchange took %v, want just over the 200 ms delayed ACK", took)
				}
				// The second segment left only after the delayed ACK.
				sent := 0
				for _, e := range tbSteps(mem, "client", viz.LayerTCP, "send") {
					if e.T >= start && field(e, "len") == "10" {
						sent++
						if sent == 2 && e.T < fired[0].T {
							t.Errorf("second segment sent at %v, before the delayed ACK at %v", e.T, fired[0].T)
						}
					}
				}
				if sent != 2 {
					t.Errorf("%d 10-byte segments, want 2", sent)
				}
			}
			t.Logf("%s: write, write, read took %v", tc.name, took)
		})
	}
}

// --- 9. SO_LINGER 0 and close with unread data -------------------------------

func TestTCPAbortiveClose(t *testing.T) {
	for _, tc := range []struct {
		name string
		// abort is what the aborting side (the server) does after
		// receiving "data".
		linger bool
	}{{"linger0", true}, {"unread", false}} {
		t.Run(tc.name, func(t *testing.T) {
			p, mem := tbPair(t, 9, tcp.Config{}, wire.Config{})
			srv := netip.AddrPortFrom(p.Server.Addr(), 80)
			var readErr error
			a := tbRun(t, p.Net)
			l := a.ServeOne(p.Server, srv, 4, func(lfd, fd FD) error {
				p.Server.Close(lfd)
				if tc.linger {
					if _, err := tbReadFull(p.Server, fd, 4); err != nil {
						return err
					}
					if err := p.Server.SetSockopt(fd, SOL_SOCKET, SO_LINGER, 0); err != nil {
						return err
					}
				} else {
					tbSleep(p.Server, 10*time.Millisecond) // "data" arrives, unread
				}
				return p.Server.Close(fd)
			})
			l.Dial("client", p.Client, func(fd FD) error {
				p.Client.Write(fd, []byte("data"))
				_, readErr = tbReadAll(p.Client, fd)
				return p.Client.Close(fd)
			})
			a.Wait(nil)
			if !errors.Is(readErr, tcp.ErrConnReset) {
				t.Fatalf("client read: %v, want ECONNRESET", readErr)
			}
			rst := tbSteps(mem, "server", viz.LayerTCP, "rst")
			if len(rst) != 1 || rst[0].Verdict != viz.Send || field(rst[0], "flags") != tcp.FlagRST.String() {
				t.Fatalf("server rst steps %+v", rst)
			}
			for _, e := range tbSteps(mem, "server", viz.LayerTCP, "send") {
				if strings.Contains(field(e, "flags"), "F") {
					t.Errorf("a FIN was sent: %s", e.Msg)
				}
			}
		})
	}
}

// --- 10. loss recovery -------------------------------------------------------

// tbTransfer sends data from client to server over p and checks that every
// byte arrives; it returns when both applications are done.
func tbTransfer(t *testing.T, p *Pair, data []byte) {
	t.Helper()
	srv := netip.AddrPortFrom(p.Server.Addr(), 80)
	want := sha256.Sum256(data)
	var got []byte
	a := tbRun(t, p.Net)
	l := a.ServeOne(p.Server, srv, 4, func(lfd, fd FD) error {
		h := sha256.New()
		if err := tbConsume(p.Server, fd, 64<<10, func(chunk []byte) { h.Write(chunk) }); err != nil {
			return err
		}
		if _, err := p.Server.Write(fd, h.Sum(nil)); err != nil {
			return err
		}
		p.Server.Close(lfd)
		return p.Server.Close(fd)
	})
	l.Dial("client", p.Client, func(fd FD) error {
		var err error
		if got, err = tbRequest(p.Client, fd, data); err != nil {
			return err
		}
		return p.Client.Close(fd)
	})
	a.Wait(nil)
	if !bytes.Equal(got, want[:]) {
		t.Fatalf("the server's sha256 of %d bytes does not match", len(data))
	}
}

// TestTCPLossRecovery: 1 MB over wires that lose 2% to 5% of frames
// arrives intact; the log shows slow start growing cwnd and fast
// retransmit repairing losses.
func TestTCPLossRecovery(t *testing.T) {
	for _, loss := range []float64{0.02, 0.05} {
		t.Run(fmt.Sprint(loss), func(t *testing.T) {
			p, mem := tbPair(t, 10, tcp.Config{}, wire.Config{BandwidthBitsPerSecond: 100_000_000,
				Impairments: wire.Impairments{Loss: loss, Seed: 10}})
			tbTransfer(t, p, tbBytes(10, 1<<20))
			if len(tbDrops(mem, "", viz.ReasonWireLoss)) == 0 {
				t.Fatal("the wire lost nothing")
			}
			var fast, slowStart, grew int
			for _, e := range tbSteps(mem, "client", viz.LayerTCP, "cwnd") {
				switch {
				case strings.Contains(e.Msg, "fast retransmit"):
					fast++
				case strings.Contains(e.Msg, "(slow start)"):
					slowStart++
					var from, to int
					fmt.Sscan(field(e, "from"), &from)
					fmt.Sscan(field(e, "cwnd"), &to)
					if to > from {
						grew++
					}
				}
			}
			if fast == 0 || grew < 5 {
				t.Errorf("%d fast retransmits, %d slow start increases", fast, grew)
			}
			t.Logf("loss %v: %d frames lost, %d fast retransmits, %d slow-start steps, %d retransmissions, virtual time %v",
				loss, len(tbDrops(mem, "", viz.ReasonWireLoss)), fast, slowStart,
				len(tbSteps(mem, "client", viz.LayerTCP, "retransmit")), p.Net.Clock.Now())
		})
	}
}

// TestTCPFastRetransmitTargetedDrop: one data frame dropped by a targeted
// fault is repaired by fast retransmit after three duplicate ACKs, not by
// the retransmission timer.
func TestTCPFastRetransmitTargetedDrop(t *testing.T) {
	data := tbBytes(11, 256<<10)
	// A first run finds the frame ID of the 30th data segment.
	p, mem := tbPair(t, 11, tcp.Config{}, wire.Config{})
	tbTransfer(t, p, data)
	var victim uint64
	n := 0
	for _, e := range tbSteps(mem, "client", viz.LayerTCP, "send") {
		if field(e, "len") != "0" {
			if n++; n == 30 {
				victim = e.Frame
			}
		}
	}
	if victim == 0 {
		t.Fatalf("only %d data segments", n)
	}
	// The second run, identical but for the fault.
	p, mem = tbPair(t, 11, tcp.Config{}, wire.Config{Faults: []wire.Fault{{Frame: victim, Kind: wire.FaultDrop}}})
	tbTransfer(t, p, data)
	if d := tbDrops(mem, "", viz.ReasonWireFault); len(d) != 1 || d[0].Frame != victim {
		t.Fatalf("fault drops %+v, want frame %d", d, victim)
	}
	var seq string
	for _, e := range tbSteps(mem, "client", viz.LayerTCP, "send") {
		if e.Frame == victim {
			seq = field(e, "seq")
		}
	}
	var fast, rtx, timeouts int
	for _, e := range tbSteps(mem, "client", viz.LayerTCP, "cwnd") {
		if strings.Contains(e.Msg, "fast retransmit") {
			fast++
		}
	}
	for _, e := range tbSteps(mem, "client", viz.LayerTCP, "retransmit") {
		if field(e, "seq") == seq {
			rtx++
		}
	}
	for _, e := range tbSteps(mem, "client", viz.LayerTCP, "timer") {
		if field(e, "timer") == "retransmit" {
			timeouts++
		}
	}
	if fast != 1 || rtx != 1 || timeouts != 0 {
		t.Errorf("%d fast retransmits, %d retransmissions of seq %s, %d timeouts; want 1, 1, 0", fast, rtx, seq, timeouts)
	}
	if len(tbSteps(mem, "client", viz.LayerTCP, "dupack")) < 3 {
		t.Errorf("fewer than three duplicate ACKs")
	}
}

// --- 11. zero window ---------------------------------------------------------

// TestTCPZeroWindowProbe: a receiver with a 4 kB SO_RCVBUF that does not
// read fills up; the sender stops, probes the zero window, and goes on once
// the receiver reads.
func TestTCPZeroWindowProbe(t *testing.T) {
	p, mem := tbPair(t, 12, tcp.Config{}, wire.Config{})
	srv := netip.AddrPortFrom(p.Server.Addr(), 80)
	data := tbBytes(12, 64<<10)
	const readAt = 5 * time.Second
	var got []byte
	a := tbRun(t, p.Net)
	l := a.ServeOne(p.Server, srv, 4, func(lfd, fd FD) error {
		tbSleepUntil(p.Server, readAt)
		var err error
		if got, err = tbReadAll(p.Server, fd); err != nil {
			return err
		}
		p.Server.Close(lfd)
		return p.Server.Close(fd)
	}, [3]int{SOL_SOCKET, SO_RCVBUF, 4096})
	l.Dial("client", p.Client, func(fd FD) error {
		if _, err := tbRequest(p.Client, fd, data); err != nil {
			return err
		}
		return p.Client.Close(fd)
	})
	a.Wait(nil)
	if !bytes.Equal(got, data) {
		t.Fatalf("received %d bytes, want %d intact", len(got), len(data))
	}
	probes := tbSteps(mem, "client", viz.LayerTCP, "probe")
	if len(probes) < 2 {
		t.Fatalf("%d zero-window probes, want several", len(probes))
	}
	for _, pr := range probes {
		if pr.T > readAt {
			t.Errorf("probe at %v, after the receiver read", pr.T)
		}
	}
	// Probes back off: each waits longer than the one before.
	for i := 2; i < len(probes); i++ {
		if probes[i].T-probes[i-1].T <= probes[i-1].T-probes[i-2].T {
			t.Errorf("probe intervals do not grow: %v", probes)
			break
		}
	}
	opened := false
	for _, e := range tbSteps(mem, "client", viz.LayerTCP, "window") {
		opened = opened || e.T >= readAt && strings.Contains(e.Msg, "opened")
	}
	if !opened {
		t.Errorf("no window-opened step after the receiver read")
	}
	t.Logf("%d probes; done at %v", len(probes), p.Net.Clock.Now())
}

// TestTCPZeroWindowReaderPause: a receiver with a 64 KiB SO_RCVBUF stops
// reading for 30 s in the middle of a 1 MB download, then reads to the
// end. While its window is zero the sender only probes (RFC 9293
// §3.8.6.1): no retransmission, no fast retransmit, no abort while the
// probes are answered (RFC 1122 §4.2.2.17); and the window update that
// follows the read lets the rest go at once (within one RTT plus 50 ms),
// not when a backed-off timer fires.
func TestTCPZeroWindowReaderPause(t *testing.T) {
	const (
		latency = 5 * time.Millisecond // one way: an RTT of 10 ms
		pause   = 30 * time.Second
		rtt     = 2 * latency
	)
	p, mem := tbPair(t, 14, tcp.Config{}, wire.Config{Latency: latency, BandwidthBitsPerSecond: 100_000_000})
	srv := netip.AddrPortFrom(p.Server.Addr(), 80)
	data := tbBytes(14, 1<<20)
	var got []byte
	var resumed, done time.Duration
	a := tbRun(t, p.Net)
	l := a.ServeOne(p.Server, srv, 4, func(lfd, fd FD) error {
		if _, err := p.Server.Write(fd, data); err != nil {
			return err
		}
		p.Server.Close(lfd)
		return p.Server.Close(fd)
	})
	l.Client("client", func() error {
		fd, err := tbDial(p.Client, netip.AddrPort{}, l.Addr, [3]int{SOL_SOCKET, SO_RCVBUF, 64 << 10})
		if err != nil {
			return err
		}
		head, err := tbReadFull(p.Client, fd, 100<<10)
		if err != nil {
			return err
		}
		tbSleep(p.Client, pause)
		resumed = p.Client.Clock.Now()
		rest, err := tbReadAll(p.Client, fd)
		done = p.Client.Clock.Now()
		got = append(head, rest...)
		if err != nil {
			return err
		}
		return p.Client.Close(fd)
	})
	a.Wait(nil)
	if !bytes.Equal(got, data) {
		t.Fatalf("received %d bytes, want %d intact", len(got), len(data))
	}
	probes := tbSteps(mem, "server", viz.LayerTCP, "probe")
	rtx := tbSteps(mem, "server", viz.LayerTCP, "retransmit")
	var first time.Duration // the first data segment after the reader resumed
	for _, e := range tbSteps(mem, "server", viz.LayerTCP, "send") {
		if e.T >= resumed && field(e, "len") != "0" {
			first = e.T
			break
		}
	}
	t.Logf("resume -> first data %v, resume -> end of transfer %v; %d probes, %d retransmissions, %d duplicate ACKs",
		first-resumed, done-resumed, len(probes), len(rtx), len(tbSteps(mem, "server", viz.LayerTCP, "dupack")))
	if len(probes) < 5 {
		t.Errorf("%d zero-window probes in %v, want them to go on", len(probes), pause)
	}
	// The first segment after the window opens carries the last probe's
	// byte again, so it may count as a retransmission; nothing before it
	// may: no fast retransmit, no timeout while the peer answers probes.
	for _, e := range rtx {
		if e.T < resumed {
			t.Errorf("retransmission at %v, while the reader paused: %s", e.T, e.Msg)
		}
	}
	if d := tbSteps(mem, "server", viz.LayerTCP, "dupack"); len(d) > 0 {
		t.Errorf("%d duplicate ACKs on a lossless wire, the first at %v: %s", len(d), d[0].T, d[0].Msg)
	}
	if d := first - resumed; first == 0 || d > rtt+50*time.Millisecond {
		t.Errorf("the first data after the reader resumed came %v later, want within one RTT plus 50 ms", d)
	}
}

// --- 12. determinism ---------------------------------------------------------

// tbScenarioLog runs a 200 kB echo between two packetwalk hosts over an
// impaired seeded wire (and, with twoClients, a second client started at
// the same instant) and returns the JSON Lines log.
func tbScenarioLog(t *testing.T, twoClients bool) []byte {
	var buf bytes.Buffer
	p, err := NewPair(TopologyConfig{Seed: 21, Wire: wire.Config{Impairments: wire.Impairments{
		Loss: 0.02, Duplicate: 0.02, Reorder: 0.02, Corrupt: 0.02}}})
	if err != nil {
		t.Fatal(err)
	}
	sink := viz.NewJSONLSink(&buf)
	p.Net.Log.AddSink(sink)
	srv := netip.AddrPortFrom(p.Server.Addr(), 7)
	clients := 1
	if twoClients {
		clients = 2
	}
	a := tbRun(t, p.Net)
	l := a.Serve(p.Server, srv, 4, func(lfd FD) error {
		for range clients {
			fd, _, err := p.Server.Accept(lfd)
			if err != nil {
				return err
			}
			p.Net.Go(func() { // echo
				defer p.Server.Close(fd)
				buf := make([]byte, 8<<10)
				for {
					n, err := p.Server.Read(fd, buf)
					if n > 0 {
						p.Server.Write(fd, buf[:n])
					}
					if err != nil {
						return
					}
				}
			})
		}
		return p.Server.Close(lfd)
	})
	for i := range clients {
		l.Dial(fmt.Sprint("client", i), p.Client, func(fd FD) error {
			data := tbBytes(uint64(i), 200_000)
			got, err := tbRequest(p.Client, fd, data)
			if err != nil {
				return err
			}
			if !bytes.Equal(got, data) {
				return fmt.Errorf("echo: %d bytes back, want %d intact", len(got), len(data))
			}
			return p.Client.Close(fd)
		})
	}
	a.Wait(tbAllClosed(p))
	if err := sink.Flush(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestTCPDeterministicLog(t *testing.T) {
	for _, two := range []bool{false, true} {
		t.Run(fmt.Sprintf("clients=%d", map[bool]int{false: 1, true: 2}[two]), func(t *testing.T) {
			first := tbScenarioLog(t, two)
			for run := 2; run <= 3; run++ {
				again := tbScenarioLog(t, two)
				if !bytes.Equal(first, again) {
					a, b := bytes.Split(first, []byte("\n")), bytes.Split(again, []byte("\n"))
					for i := 0; i < min(len(a), len(b)); i++ {
						if !bytes.Equal(a[i], b[i]) {
							t.Fatalf("run %d differs at line %d of %d/%d:\n  %s\n  %s", run, i+1, len(a), len(b), a[i], b[i])
						}
					}
					t.Fatalf("run %d: %d lines, first run %d", run, len(b), len(a))
				}
			}
			t.Logf("%d bytes of JSON Lines, identical in three runs", len(first))
		})
	}
}

// --- 13. Poll ----------------------------------------------------------------

// TestTCPPollServer: one application serves a listener and two connections
// with Poll, answering each client in turn as its data arrives.
func TestTCPPollServer(t *testing.T) {
	p, _ := tbPair(t, 13, tcp.Config{}, wire.Config{})
	srv := netip.AddrPortFrom(p.Server.Addr(), 80)
	a := tbRun(t, p.Net)
	l := a.Serve(p.Server, srv, 4, func(lfd FD) error {
		fds := []PollFD{{FD: lfd, Events: POLLIN}}
		accepted, closed := 0, 0
		buf := make([]byte, 1024)
		for closed < 2 {
			n, err := p.Server.Poll(fds, -1)
			if err != nil {
				return err
			}
			if n == 0 {
				return errors.New("poll returned nothing without a timeout")
			}
			var keep []PollFD
			for _, pf := range fds {
				switch {
				case pf.FD == lfd && pf.Revents&POLLIN != 0:
					fd, _, err := p.Server.Accept(lfd)
					if err != nil {
						return err
					}
					accepted++
					keep = append(keep, pf, PollFD{FD: fd, Events: POLLIN})
					continue
				case pf.FD != lfd && pf.Revents&(POLLIN|POLLHUP|POLLERR) != 0:
					n, err := p.Server.Read(pf.FD, buf)
					if n > 0 {
						p.Server.Write(pf.FD, append([]byte("echo: "), buf[:n]...))
					}
					if err != nil {
						p.Server.Close(pf.FD)
						closed++
						continue
					}
				}
				keep = append(keep, pf)
			}
			fds = keep
		}
		if accepted != 2 {
			return fmt.Errorf("accepted %d", accepted)
		}
		return p.Server.Close(lfd)
	})
	for i, msg := range []string{"first client", "second client"} {
		l.Client(msg, func() error {
			tbSleep(p.Client, time.Duration(i)*time.Millisecond)
			fd, err := tbDial(p.Client, netip.AddrPort{}, srv)
			if err != nil {
				return err
			}
			for round := range 3 {
				say := fmt.Sprintf("%s round %d", msg, round)
				p.Client.Write(fd, []byte(say))
				got, err := tbReadFull(p.Client, fd, len("echo: ")+len(say))
				if err != nil || string(got) != "echo: "+say {
					return fmt.Errorf("got %q, %v", got, err)
				}
				tbSleep(p.Client, 3*time.Millisecond)
			}
			return p.Client.Close(fd)
		})
	}
	a.Wait(nil)
}

// --- 14. benchmarks ----------------------------------------------------------

// BenchmarkTCPBulkTransfer moves 10 MB from client to server over a clean
// simulated wire per op, in virtual time, with nobody listening to the log.
func BenchmarkTCPBulkTransfer(b *testing.B) {
	const size = 10 << 20
	data := tbBytes(1, size)
	b.ReportAllocs()
	b.SetBytes(size)
	for b.Loop() {
		p, err := NewPair(TopologyConfig{Seed: 1})
		if err != nil {
			b.Fatal(err)
		}
		srv := netip.AddrPortFrom(p.Server.Addr(), 80)
		received := 0
		a := tbRun(b, p.Net)
		l := a.ServeOne(p.Server, srv, 4, func(lfd, fd FD) error {
			if err := tbConsume(p.Server, fd, 256<<10, func(chunk []byte) { received += len(chunk) }); err != nil {
				return err
			}
			p.Server.Close(fd)
			return p.Server.Close(lfd)
		})
		l.Dial("client", p.Client, func(fd FD) error {
			if _, err := p.Client.Write(fd, data); err != nil {
				return err
			}
			return p.Client.Close(fd)
		})
		a.Wait(nil)
		if received != size {
			b.Fatalf("received %d bytes", received)
		}
	}
}

// BenchmarkTCPConnectionSetup is connect + accept + close per op, in
// virtual time, with nobody listening to the log.
func BenchmarkTCPConnectionSetup(b *testing.B) {
	p, err := NewPair(TopologyConfig{Seed: 1, IP: HostConfig{TCP: tcp.Config{MSL: time.Millisecond}}})
	if err != nil {
		b.Fatal(err)
	}
	srv := netip.AddrPortFrom(p.Server.Addr(), 80)
	n := b.N
	b.ReportAllocs()
	a := tbRun(b, p.Net)
	l := a.Serve(p.Server, srv, 128, func(lfd FD) error {
		for range n {
			fd, _, err := p.Server.Accept(lfd)
			if err != nil {
				return err
			}
			p.Server.Close(fd)
		}
		return p.Server.Close(lfd)
	})
	l.Client("client", func() error {
		for range n {
			fd, err := tbDial(p.Client, netip.AddrPort{}, srv)
			if err != nil {
				return err
			}
			p.Client.Close(fd)
		}
		return nil
	})
	b.ResetTimer()
	a.Wait(nil)
}
