package stack

import (
	"net/netip"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/packetwalk/packetwalk/ip"
	"github.com/packetwalk/packetwalk/nic"
	"github.com/packetwalk/packetwalk/viz"
)

// TestNetworkStepsAreTyped is TestTCPStepsAreTyped for the layers below
// and beside TCP: no ARP, IP, ICMP, UDP or NIC step makes its sentence
// on the stack's goroutine (issue 15). The runs take ARP's resolution
// (lookup, queue, request, reply, learn, update, flush of the queue) and
// its failure, fragmentation and reassembly (fragments sent, held,
// reassembled, and a datagram that times out), IP options (Record Route
// recorded and echoed, a malformed option answered with Parameter
// Problem), forwarding through a router (route, forward) and the ICMP
// errors sent and received (Time Exceeded in transit and in reassembly).
func TestNetworkStepsAreTyped(t *testing.T) {
	var mu sync.Mutex
	made := map[string]string{} // layer/step -> a sentence made by the layer
	seen := map[string]bool{}
	check := viz.SinkFunc(func(e *viz.Event) {
		switch e.Layer {
		case viz.LayerARP, viz.LayerIP, viz.LayerICMP, viz.LayerUDP, viz.LayerNIC:
		default:
			return
		}
		mu.Lock()
		defer mu.Unlock()
		key := string(e.Layer) + "/" + e.Step
		seen[key] = true
		if e.Msg != "" || e.Fmt == "" {
			made[key] = e.Message()
		}
	})

	// ARP resolution and fragments: a 4000-byte ping at MTU 1500.
	p, err := NewPair(TopologyConfig{Seed: 1, MTU: 1500})
	if err != nil {
		t.Fatal(err)
	}
	p.Net.Log.AddSink(check)
	if _, stats, _ := iptPing(p.Net, p.Client, PingConfig{Dst: p.Server.Addr(), Count: 2, Size: 4000}); stats.Received != 2 {
		t.Fatalf("fragmented ping: %+v, want 2 replies", stats)
	}
	// ARP's failure: nobody has 10.0.0.9.
	iptPing(p.Net, p.Client, PingConfig{Dst: netip.MustParseAddr("10.0.0.9"), Count: 1})

	// A first fragment whose rest never comes: reassembly times out and
	// the sender gets Time Exceeded (code 1).
	arrive := func(p *Pair, hdr ip.IPv4Header, payload []byte) {
		datagram := append(hdr.Append(nil, len(payload)), payload...)
		frame := nic.AppendFrame(nil, p.Server.Interfaces()[0].NIC.MAC(), p.Client.Interfaces()[0].NIC.MAC(), nic.EtherTypeIPv4, datagram)
		n := p.Server.Interfaces()[0].NIC
		id := p.Net.Log.NewFrameID()
		p.Net.Clock.Post(func() { n.Arrive(frame, id) })
		p.Net.RunFor(time.Minute)
	}
	arrive(p, ip.IPv4Header{ID: 77, MF: true, TTL: 64, Protocol: ip.ProtocolUDP, Src: p.Client.Addr(), Dst: p.Server.Addr()},
		make([]byte, 64))

	// IP options: Record Route recorded and echoed; a Timestamp whose
	// pointer is below its minimum, answered with Parameter Problem.
	p, err = NewPair(TopologyConfig{Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	p.Net.Log.AddSink(check)
	client := p.Client.Addr().As4()
	rr := append([]byte{byte(ip.OptionNOP), byte(ip.OptionRecordRoute), 39, 8}, client[:]...)
	rr = append(rr, make([]byte, 32)...)
	serverSent(t, p, optionsEchoFrame(p, rr))
	serverSent(t, p, optionsEchoFrame(p, []byte{byte(ip.OptionTimestamp), 8, 4, 0, 0, 0, 0, 0}))

	// Forwarding, and Time Exceeded in transit from the router.
	r, err := NewRouted(TopologyConfig{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	r.Net.Log.AddSink(check)
	iptPing(r.Net, r.Client, PingConfig{Dst: r.Server.Addr(), Count: 1})
	r, err = NewRouted(TopologyConfig{Seed: 1, IP: HostConfig{IP: ip.Config{DefaultTTL: 1}}})
	if err != nil {
		t.Fatal(err)
	}
	r.Net.Log.AddSink(check)
	iptPing(r.Net, r.Client, PingConfig{Dst: r.Server.Addr(), Count: 1})

	mu.Lock()
	defer mu.Unlock()
	for _, step := range []string{
		"arp/lookup", "arp/queue", "arp/request", "arp/check", "arp/learn", "arp/update", "arp/reply", "arp/resolved", "arp/failed",
		"ip/send", "ip/header", "ip/reassembly", "ip/reassembled", "ip/ip_options", "ip/route", "ip/forward",
		"icmp/error", "icmp/param_problem", "icmp/rr_echo", "nic/fcs",
	} {
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
}
