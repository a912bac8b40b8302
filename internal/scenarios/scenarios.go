// Package scenarios holds small seeded scenarios with packetwalk on both
// ends, shared by the tests of the renderers (narration, ladder, report):
// the same exchange, rendered several ways.
package scenarios

import (
	"context"
	"io"
	"net/netip"
	"testing"
	"time"

	"github.com/packetwalk/packetwalk/stack"
	"github.com/packetwalk/packetwalk/viz"
	"github.com/packetwalk/packetwalk/wire"
)

// Echo runs a small seeded TCP exchange with packetwalk on both
// ends: connect, "hello" one way, echoed back, both sides close. faults
// name frames the wire loses or corrupts, to show drops and retransmits.
func Echo(t testing.TB, faults ...wire.Fault) []viz.Event {
	t.Helper()
	p, err := stack.NewPair(stack.TopologyConfig{Seed: 1, Wire: wire.Config{Faults: faults}})
	if err != nil {
		t.Fatal(err)
	}
	mem := &viz.MemorySink{}
	p.Net.Log.AddSink(mem)
	addr := netip.AddrPortFrom(p.Server.Addr(), 80)
	ready := make(chan struct{})
	serverDone, clientDone := false, false
	p.Net.Go(func() {
		defer func() { serverDone = true }()
		ln, err := p.Server.ListenTCP(addr, 8)
		close(ready)
		if err != nil {
			return
		}
		c, err := ln.Accept()
		if err != nil {
			return
		}
		buf := make([]byte, 5)
		if _, err := io.ReadFull(c, buf); err == nil {
			c.Write(buf)
		}
		io.Copy(io.Discard, c)
		c.Close()
		ln.Close()
	})
	p.Net.Go(func() {
		defer func() { clientDone = true }()
		<-ready
		c, err := p.Client.DialTCP(context.Background(), addr)
		if err != nil {
			return
		}
		c.Write([]byte("hello"))
		io.ReadFull(c, make([]byte, 5))
		c.Close()
	})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := p.Net.RunUntil(ctx, func() bool { return serverDone && clientDone }); err != nil {
		t.Fatalf("run: %v", err)
	}
	// Let the last FIN and ACK cross and TIME_WAIT run out.
	p.Net.Run()
	return mem.Events()
}

// Ping pings once over a wire that loses the first echo reply's
// frame, so ARP, ICMP and a loss all appear.
func Ping(t testing.TB) []viz.Event {
	t.Helper()
	p, err := stack.NewPair(stack.TopologyConfig{Seed: 1, Wire: wire.Config{Faults: []wire.Fault{{Frame: 4, Kind: wire.FaultDrop}}}})
	if err != nil {
		t.Fatal(err)
	}
	mem := &viz.MemorySink{}
	p.Net.Log.AddSink(mem)
	p.Client.Ping(stack.PingConfig{Dst: p.Server.Addr(), Count: 2}, func(stack.PingEvent) {}, func(stack.PingStats) {})
	p.Net.Run()
	return mem.Events()
}
