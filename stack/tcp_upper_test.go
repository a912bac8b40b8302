package stack

import (
	"errors"
	"net/netip"
	"runtime"
	"testing"
	"time"
	"weak"

	"github.com/packetwalk/packetwalk/ip"
	"github.com/packetwalk/packetwalk/nic"
	"github.com/packetwalk/packetwalk/tcp"
	"github.com/packetwalk/packetwalk/viz"
	"github.com/packetwalk/packetwalk/wire"
)

// The socket layer's side of TCP's upward contract (tcp/contract.go): a
// listening socket makes the socket of each connection a SYN clones from
// it (socket.Cloned), with no descriptor until accept().

// cloneWatch is a sink that, on every server TCP step, finds the server's
// clones (connections with a parent listener) and keeps a weak pointer to
// each one's socket, so that the test can see it go; and the largest the
// server's descriptor table got.
type cloneWatch struct {
	h       *Host
	sockets map[uint64]weak.Pointer[socket]
	maxFDs  int
	noUpper map[uint64]bool // clones without a socket of their own
}

func (w *cloneWatch) Event(e *viz.Event) {
	if e.Host != w.h.Name || e.Layer != viz.LayerTCP {
		return
	}
	w.maxFDs = max(w.maxFDs, len(w.h.socketTable().byFD))
	for _, c := range w.h.TCP.Endpoints() {
		if c.Parent() == nil {
			continue
		}
		if _, seen := w.sockets[c.ID]; seen || w.noUpper[c.ID] {
			continue
		}
		s, ok := c.Upper().(*socket)
		if !ok || s.tcp != c || s.fd != -1 {
			w.noUpper[c.ID] = true
			continue
		}
		w.sockets[c.ID] = weak.Make(s)
	}
}

// TestUnacceptedClonesFreeTheirSockets: connections a listener cloned but
// nobody accepted (reset in SYN_RECEIVED, half-open ones of a SYN flood
// that time out, one reset while it waits in the accept queue, and those
// still queued when the listener closes) never take a descriptor, and
// their sockets are freed with them: only TCP held them.
func TestUnacceptedClonesFreeTheirSockets(t *testing.T) {
	const backlog = 4
	p, err := NewPair(TopologyConfig{Seed: 15, IP: HostConfig{TCP: tcp.Config{SynAckRetries: 2}}})
	if err != nil {
		t.Fatal(err)
	}
	srv := netip.AddrPortFrom(p.Server.Addr(), 80)
	watch := &cloneWatch{h: p.Server, sockets: map[uint64]weak.Pointer[socket]{}, noUpper: map[uint64]bool{}}
	p.Net.Log.AddSink(watch)
	srvNIC := p.Server.Interfaces()[0].NIC
	srvMAC, cliMAC := srvNIC.MAC(), p.Client.Interfaces()[0].NIC.MAC()
	syn := func(from netip.AddrPort) {
		h := tcp.Header{SrcPort: from.Port(), DstPort: srv.Port(), Seq: tcp.Seq(7000 + uint32(from.Port())), Flags: tcp.FlagSYN, Window: 65535}
		h.Options.MSS = 1460
		seg := h.Append(nil, from.Addr(), srv.Addr(), nil)
		srvNIC.Arrive(nic.AppendFrame(nil, srvMAC, cliMAC, nic.EtherTypeIPv4, ipv4Packet(from.Addr(), srv.Addr(), ip.ProtocolTCP, from.Port(), 0, seg)),
			p.Net.Log.NewFrameID())
	}
	const closeAt = 30 * time.Second // after the half-open clones timed out (SYN+ACK 1 s, 2 s, 4 s)

	a := tbRun(t, p.Net)
	l := a.Serve(p.Server, srv, backlog, func(lfd FD) error {
		tbSleepUntil(p.Server, closeAt)
		// The half-open clones have timed out; three wait in the accept
		// queue: the two live ones and the reset one (a reset does not
		// take a connection off the queue: accept() would return it).
		var in tcp.Info
		p.Server.loop.Do(func() { in = p.Server.TCP.Endpoints()[0].Info() })
		if in.State != tcp.Listen || in.SynQueue != 0 || in.AcceptQueue != 3 {
			t.Errorf("before close: %s with %d half-open and %d queued, want LISTEN with 0 and 3", in.State, in.SynQueue, in.AcceptQueue)
		}
		return p.Server.Close(lfd)
	})
	l.Client("client", func() error {
		p.Net.Clock.AfterFunc(0, func() {
			// SYNs from the client's address on ports it has no socket
			// on: its TCP answers the SYN+ACKs with RSTs (the clones
			// are reset in SYN_RECEIVED).
			for port := range uint16(2) {
				syn(netip.AddrPortFrom(p.Client.Addr(), 50001+port))
			}
			// A flood from an address nobody holds: half-open clones
			// fill the SYN queue and time out; the rest get cookies.
			for port := range uint16(6) {
				syn(netip.AddrPortFrom(netip.MustParseAddr("10.0.0.77"), 1000+port))
			}
		})
		tbSleep(p.Client, 10*time.Millisecond)

		// One connection reset while it waits in the accept queue.
		fd, err := tbDial(p.Client, netip.AddrPort{}, srv, [3]int{SOL_SOCKET, SO_LINGER, 0})
		if err != nil {
			return err
		}
		if err := p.Client.Close(fd); err != nil {
			return err
		}
		// Two that wait until the listener closes and resets them.
		var fds []FD
		for range 2 {
			fd, err := tbDial(p.Client, netip.AddrPort{}, srv)
			if err != nil {
				return err
			}
			fds = append(fds, fd)
		}
		for _, fd := range fds {
			if _, err := tbReadAll(p.Client, fd); !errors.Is(err, tcp.ErrConnReset) {
				return errors.New("a queued connection was not reset when its listener closed: " + errString(err))
			}
			p.Client.Close(fd)
		}
		return nil
	})
	a.Wait(func() bool { return len(p.Server.TCP.Endpoints()) == 0 })

	if len(watch.noUpper) > 0 {
		t.Fatalf("clones %v had no socket of their own (want one from socket.Cloned, with no descriptor)", watch.noUpper)
	}
	// 2 reset in SYN_RECEIVED, 4 flood clones (backlog 4, less those the
	// RSTs had not freed yet), 3 dialled: at least 7.
	if len(watch.sockets) < 7 {
		t.Fatalf("saw %d clones' sockets, want at least 7", len(watch.sockets))
	}
	t.Logf("%d clones never accepted; the descriptor table peaked at %d", len(watch.sockets), watch.maxFDs)
	if watch.maxFDs != 1 {
		t.Errorf("the server's descriptor table reached %d, want 1 (the listener): clones not accepted took descriptors", watch.maxFDs)
	}
	if n := len(p.Server.socketTable().byFD); n != 0 {
		t.Errorf("%d descriptors left after the listener closed", n)
	}
	runtime.GC()
	runtime.GC()
	var alive []uint64
	for id, w := range watch.sockets {
		if w.Value() != nil {
			alive = append(alive, id)
		}
	}
	if len(alive) > 0 {
		t.Errorf("the sockets of %d of %d clones never accepted are still reachable (connections %v)", len(alive), len(watch.sockets), alive)
	}
	runtime.KeepAlive(p)
}

func errString(err error) string {
	if err == nil {
		return "no error"
	}
	return err.Error()
}

// TestAcceptedSocketKeepsListenerOptions: an accepted socket has the
// options its connection inherited from the listener (the socket is made
// from the clone), so that setting one option on it keeps the others.
// Before, the accepted socket's own copy started empty, and
// setsockopt(TCP_NODELAY) turned off the SO_KEEPALIVE it had inherited.
func TestAcceptedSocketKeepsListenerOptions(t *testing.T) {
	p, _ := tbPair(t, 16, tcp.Config{}, wire.Config{})
	srv := netip.AddrPortFrom(p.Server.Addr(), 80)
	var keep, sndbuf, nodelay int
	a := tbRun(t, p.Net)
	l := a.ServeOne(p.Server, srv, 4, func(lfd, fd FD) error {
		defer p.Server.Close(lfd)
		defer p.Server.Close(fd)
		if err := p.Server.SetSockopt(fd, IPPROTO_TCP, TCP_NODELAY, 1); err != nil {
			return err
		}
		var err error
		if keep, err = p.Server.GetSockopt(fd, SOL_SOCKET, SO_KEEPALIVE); err != nil {
			return err
		}
		if sndbuf, err = p.Server.GetSockopt(fd, SOL_SOCKET, SO_SNDBUF); err != nil {
			return err
		}
		nodelay, err = p.Server.GetSockopt(fd, IPPROTO_TCP, TCP_NODELAY)
		return err
	}, [3]int{SOL_SOCKET, SO_KEEPALIVE, 1}, [3]int{SOL_SOCKET, SO_SNDBUF, 32 << 10})
	l.Dial("client", p.Client, func(fd FD) error {
		_, err := tbReadAll(p.Client, fd)
		p.Client.Close(fd)
		return err
	})
	a.Wait(nil)
	if keep != 1 || sndbuf != 32<<10 || nodelay != 1 {
		t.Fatalf("accepted socket after TCP_NODELAY: SO_KEEPALIVE %d, SO_SNDBUF %d, TCP_NODELAY %d; want 1, %d, 1 (inherited from the listener)", keep, sndbuf, nodelay, 32<<10)
	}
}

// TestReceivePathThroughSocketNoAllocs: with the log off, a data segment's
// walk from the NIC to the application's read allocates nothing when the
// connection has its socket above it, as every accepted one does: the
// readiness TCP reports on the way (socket.Ready) is a method call on the
// socket, with nothing built per segment.
func TestReceivePathThroughSocketNoAllocs(t *testing.T) {
	r := newDataRigOn(t, fullSegment, true)
	if _, ok := r.srv.Upper().(*socket); !ok {
		t.Fatalf("the server's connection has Upper %T, want the socket its listener cloned", r.srv.Upper())
	}
	clock, log := r.p.Net.Clock, r.p.Net.Log
	read := 0
	allocs := testing.AllocsPerRun(200, func() {
		r.next()
		r.nic.Arrive(r.frame, log.NewFrameID())
		clock.RunUntil(clock.Now())
		n, _ := r.srv.Read(r.readBuf)
		read += n
	})
	if read != 201*fullSegment {
		t.Fatalf("the application read %d bytes, want %d", read, 201*fullSegment)
	}
	if allocs != 0 {
		t.Fatalf("%.1f allocations per segment with the log off, want 0", allocs)
	}
}
