package stack

import (
	"bytes"
	"context"
	"crypto/sha256"
	"io"
	"net/netip"
	"testing"
	"time"

	"github.com/packetwalk/packetwalk/tcp"
	"github.com/packetwalk/packetwalk/viz"
)

func TestTCPEchoVirtualTime(t *testing.T) {
	p, err := NewPair(TopologyConfig{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	mem := &viz.MemorySink{}
	p.Net.Log.AddSink(mem)
	data := bytes.Repeat([]byte("packetwalk "), 20000) // 220 kB
	want := sha256.Sum256(data)
	var got [32]byte
	var serverErr, clientErr error
	done := false
	serverAddr := netip.AddrPortFrom(p.Server.Addr(), 80)
	ready := make(chan struct{})
	p.Net.Go(func() {
		ln, err := p.Server.ListenTCP(serverAddr, 8)
		if err != nil {
			serverErr = err
			close(ready)
			return
		}
		close(ready)
		c, err := ln.Accept()
		if err != nil {
			serverErr = err
			return
		}
		h := sha256.New()
		if _, err := io.Copy(h, c); err != nil {
			serverErr = err
			return
		}
		if _, err := c.Write(h.Sum(nil)); err != nil {
			serverErr = err
		}
		c.Close()
		ln.Close()
	})
	p.Net.Go(func() {
		<-ready
		c, err := p.Client.DialTCP(context.Background(), serverAddr)
		if err != nil {
			clientErr = err
			done = true
			return
		}
		if _, err := c.Write(data); err != nil {
			clientErr = err
		}
		c.(*Conn).CloseWrite()
		sum, err := io.ReadAll(c)
		if err != nil {
			clientErr = err
		}
		copy(got[:], sum)
		c.Close()
		done = true
	})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := p.Net.RunUntil(ctx, func() bool { return done }); err != nil {
		t.Fatalf("run: %v (server %v, client %v)", err, serverErr, clientErr)
	}
	if serverErr != nil || clientErr != nil {
		t.Fatalf("server %v, client %v", serverErr, clientErr)
	}
	if got != want {
		t.Fatalf("sha256 mismatch")
	}
	clones, states := 0, 0
	for _, e := range mem.Events() {
		if e.Step == "listen_clone" {
			clones++
		}
		if e.Step == "state" {
			states++
		}
	}
	if clones != 1 {
		t.Fatalf("%d listen_clone steps", clones)
	}
	_ = tcp.Established
	t.Logf("virtual time %v, %d events, %d state changes", p.Net.Clock.Now(), len(mem.Events()), states)
}
