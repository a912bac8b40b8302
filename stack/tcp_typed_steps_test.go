package stack

import (
	"net/netip"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/packetwalk/packetwalk/tcp"
	"github.com/packetwalk/packetwalk/viz"
)

// TestTCPStepsAreTyped holds that no TCP step, socket call or wire step
// makes its sentence on the stack's goroutine: every one reaches the log as a format and typed
// arguments (Event.Fmt, Args), for the sinks to make into text, and none
// as a made sentence (Event.Msg), which would cost a fmt.Sprintf and its
// allocations per step whenever anybody listens (issue 15). The runs
// take loss recovery's steps (a transfer at 5% loss: duplicate ACKs,
// SACK, RACK, PRR, NextSeg, timeouts, cwnd), the handshake's and
// teardown's, a listener's SYN cookies and the RST for a closed port.
func TestTCPStepsAreTyped(t *testing.T) {
	var mu sync.Mutex
	made := map[string]string{} // step -> a sentence made by the layer
	seen := map[string]bool{}
	check := viz.SinkFunc(func(e *viz.Event) {
		if e.Layer != viz.LayerTCP && e.Layer != viz.LayerSocket && e.Layer != viz.LayerPHY {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		seen[e.Step] = true
		if e.Msg != "" || e.Fmt == "" {
			made[e.Step] = e.Message()
		}
	})

	// Loss recovery: 256 KB over the recovery figures' lossy wire.
	p, err := NewPair(TopologyConfig{Seed: 14, Wire: recoveryWire(0)})
	if err != nil {
		t.Fatal(err)
	}
	p.Net.Log.AddSink(check)
	transfer(t, p, 256<<10)

	// SYN cookies on every SYN, and a SYN to a port nobody listens on.
	p, err = NewPair(TopologyConfig{Seed: 1, IP: HostConfig{TCP: tcp.Config{SynCookies: tcp.SynCookiesAlways}}})
	if err != nil {
		t.Fatal(err)
	}
	p.Net.Log.AddSink(check)
	transfer(t, p, 10<<10)
	a := tbRun(t, p.Net)
	a.Go("client", func() error {
		if _, err := tbDial(p.Client, netip.AddrPort{}, netip.AddrPortFrom(p.Server.Addr(), 81)); err == nil {
			t.Error("connect to a closed port succeeded")
		}
		return nil
	})
	a.Wait(nil)

	mu.Lock()
	defer mu.Unlock()
	for _, step := range []string{"dupack", "data", "next_seg", "prr", "rack_lost", "cwnd", "timer", "state",
		"listen_clone", "syn_cookie", "accept_queue", "accept", "fin", "timestamps", "rst", "demux",
		"socket", "bind", "listen", "connect", "close", "loss"} {
		if !seen[step] {
			t.Errorf("the runs took no %q step: the test no longer covers it", step)
		}
	}
	steps := make([]string, 0, len(made))
	for s := range made {
		steps = append(steps, s)
	}
	sort.Strings(steps)
	for _, s := range steps {
		t.Errorf("step %q made its sentence on the stack's goroutine: %q", s, made[s])
	}
	if len(steps) > 0 {
		t.Logf("steps with a made sentence: %s", strings.Join(steps, ", "))
	}
}

// transfer sends n bytes from p's client to its server and waits until
// the server has read them all and both have closed.
func transfer(t *testing.T, p *Pair, n int) {
	t.Helper()
	data := tbBytes(1, n)
	srv := netip.AddrPortFrom(p.Server.Addr(), 80)
	received := 0
	a := tbRun(t, p.Net)
	l := a.ServeOne(p.Server, srv, 4, func(lfd, fd FD) error {
		if err := tbConsume(p.Server, fd, 64<<10, func(chunk []byte) { received += len(chunk) }); err != nil {
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
	if received != n {
		t.Fatalf("the server read %d bytes of %d", received, n)
	}
}
