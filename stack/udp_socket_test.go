package stack

import (
	"context"
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/packetwalk/packetwalk/udp"
)

// The datagram socket of the socket API: an echo exchange with blocking
// RecvFrom, a deadline, and ECONNREFUSED after ICMP port unreachable.
func TestUDPSocketEcho(t *testing.T) {
	p, err := NewPair(TopologyConfig{Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	serverAddr := netip.AddrPortFrom(p.Server.Addr(), 7)
	var got string
	var from netip.AddrPort
	var refused, timedOut error
	done := false
	p.Net.Go(func() { // the echo server: socket, bind, recvfrom, sendto
		fd, _ := p.Server.Socket(AF_INET, SOCK_DGRAM)
		if err := p.Server.Bind(fd, serverAddr); err != nil {
			t.Error(err)
			return
		}
		buf := make([]byte, 1500)
		n, peer, err := p.Server.RecvFrom(fd, buf)
		if err != nil {
			t.Error(err)
			return
		}
		p.Server.SendTo(fd, buf[:n], peer)
	})
	p.Net.Go(func() {
		defer func() { done = true }()
		fd, _ := p.Client.Socket(AF_INET, SOCK_DGRAM)
		if _, err := p.Client.SendTo(fd, []byte("ping over udp"), serverAddr); err != nil {
			t.Error(err)
			return
		}
		buf := make([]byte, 1500)
		n, peer, err := p.Client.RecvFrom(fd, buf)
		if err != nil {
			t.Error(err)
			return
		}
		got, from = string(buf[:n]), peer
		// Nobody listens on port 9: the ICMP port unreachable makes the
		// next call fail with ECONNREFUSED, as on Linux.
		p.Client.SendTo(fd, []byte("anyone?"), netip.AddrPortFrom(p.Server.Addr(), 9))
		p.Client.SetDeadlines(fd, time.Now().Add(50*time.Millisecond), time.Time{})
		_, _, refused = p.Client.RecvFrom(fd, buf)
		// And a read with nothing coming times out at its deadline.
		p.Client.SetDeadlines(fd, time.Now().Add(20*time.Millisecond), time.Time{})
		_, _, timedOut = p.Client.RecvFrom(fd, buf)
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := p.Net.RunUntil(ctx, func() bool { return done }); err != nil {
		t.Fatal(err)
	}
	if got != "ping over udp" || from != serverAddr {
		t.Fatalf("echo %q from %v", got, from)
	}
	if !errors.Is(refused, udp.ErrConnRefused) {
		t.Fatalf("after port unreachable: %v, want ECONNREFUSED", refused)
	}
	if !errors.Is(timedOut, ErrTimeout) {
		t.Fatalf("read with a deadline: %v, want a timeout", timedOut)
	}
}

func TestDescriptorLimit(t *testing.T) {
	n := NewNetwork(1)
	h := n.AddHost(HostConfig{Name: "h", MaxSockets: 2})
	a, err1 := h.Socket(AF_INET, SOCK_STREAM)
	b, err2 := h.Socket(AF_INET, SOCK_DGRAM)
	if err1 != nil || err2 != nil || a != 3 || b != 4 {
		t.Fatalf("fds %d %d, errors %v %v", a, b, err1, err2)
	}
	if _, err := h.Socket(AF_INET, SOCK_STREAM); !errors.Is(err, ErrTooManyFiles) {
		t.Fatalf("third socket: %v, want EMFILE", err)
	}
	h.Close(a)
	if c, err := h.Socket(AF_INET, SOCK_STREAM); err != nil || c != 3 {
		t.Fatalf("after close: fd %d, %v (want the lowest free descriptor, 3)", c, err)
	}
}
