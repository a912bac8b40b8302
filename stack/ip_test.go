package stack

import (
	"bytes"
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/packetwalk/packetwalk/ip"
	"github.com/packetwalk/packetwalk/udp"
	"github.com/packetwalk/packetwalk/viz"
	"github.com/packetwalk/packetwalk/wire"
)

// Whole hosts (NIC, ARP, IP) over the simulated wire: ping, fragments,
// a router, determinism under impairments, and UDP between two hosts.

// iptPing runs one ping from client to dst on net and returns what the
// ping application saw.
func iptPing(net *Network, client *Host, cfg PingConfig) ([]PingEvent, PingStats, bool) {
	var events []PingEvent
	var stats PingStats
	finished := false
	client.Ping(cfg, func(e PingEvent) { events = append(events, e) }, func(s PingStats) { stats, finished = s, true })
	net.Run()
	return events, stats, finished
}

// iptSteps returns the events of host, layer and step.
func iptSteps(evs []viz.Event, host string, layer viz.Layer, step string) []viz.Event {
	var out []viz.Event
	for _, e := range evs {
		if e.Host == host && e.Layer == layer && e.Step == step {
			out = append(out, e)
		}
	}
	return out
}

// iptDrops returns the drops with reason, on any host.
func iptDrops(evs []viz.Event, reason viz.Reason) []viz.Event {
	var out []viz.Event
	for _, e := range evs {
		if e.Verdict == viz.Drop && e.Reason == reason {
			out = append(out, e)
		}
	}
	return out
}

func iptMemory(net *Network) *viz.MemorySink {
	m := &viz.MemorySink{}
	net.Log.AddSink(m)
	return m
}

func TestIPPingCleanWire(t *testing.T) {
	p, err := NewPair(TopologyConfig{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	mem := iptMemory(p.Net)
	const count = 3
	events, stats, finished := iptPing(p.Net, p.Client, PingConfig{Dst: p.Server.Addr(), Count: count})
	if !finished {
		t.Fatal("ping never finished")
	}
	if stats.Transmitted != count || stats.Received != count || stats.Duplicates != 0 || stats.Errors != 0 {
		t.Errorf("stats %+v, want %d sent and received, nothing else", stats, count)
	}
	if len(events) != count {
		t.Fatalf("%d ping events, want %d: %v", len(events), count, events)
	}
	lat := p.Wire.Config().Latency
	if lat != wire.DefaultLatency {
		t.Errorf("wire latency %v, want the default %v", lat, wire.DefaultLatency)
	}
	for i, e := range events {
		// The echo request and its reply cross the wire once each; the
		// first also waits for ARP's request and reply.
		want := 2 * lat
		if i == 0 {
			want += 2 * lat
		}
		if e.Seq != uint16(i+1) || e.From != p.Server.Addr() || e.Err != "" || e.Duplicate || e.Bytes != 56+8 || e.TTL != ip.DefaultTTL {
			t.Errorf("event %d: %v", i, e)
		}
		if e.RTT != want {
			t.Errorf("seq %d: RTT %v, want %v", e.Seq, e.RTT, want)
		}
	}
	evs := mem.Events()
	arp := 0
	for _, e := range evs {
		if e.Layer == viz.LayerARP {
			arp++
		}
	}
	if arp == 0 {
		t.Error("no ARP step in the log, yet the first RTT includes ARP")
	}
	if drops := iptDrops(evs, ""); len(drops) != 0 {
		t.Errorf("drops without a reason: %v", drops)
	}
	for _, e := range evs {
		if e.Verdict == viz.Drop {
			t.Errorf("a clean wire dropped something: %s %s/%s %s: %s", e.Host, e.Layer, e.Step, e.Reason, e.Msg)
		}
	}
	if echoes := iptSteps(evs, "server", viz.LayerICMP, "echo"); len(echoes) != count {
		t.Errorf("the server logged %d echo steps, want %d", len(echoes), count)
	}
}

func TestIPPingFragmented(t *testing.T) {
	p, err := NewPair(TopologyConfig{Seed: 1, MTU: 1500})
	if err != nil {
		t.Fatal(err)
	}
	mem := iptMemory(p.Net)
	const count, size = 2, 4000
	events, stats, _ := iptPing(p.Net, p.Client, PingConfig{Dst: p.Server.Addr(), Count: count, Size: size})
	if stats.Received != count || len(events) != count {
		t.Fatalf("stats %+v events %v, want %d replies", stats, events, count)
	}
	for _, e := range events {
		if e.Bytes != size+8 || e.Err != "" {
			t.Errorf("event %v, want %d bytes", e, size+8)
		}
	}
	evs := mem.Events()
	for _, host := range []string{"server", "client"} {
		r := iptSteps(evs, host, viz.LayerIP, "reassembled")
		if len(r) != count {
			t.Errorf("%s logged %d reassembled steps, want %d", host, len(r), count)
		}
		for _, e := range r {
			if n, _ := e.Field("fragments"); n != "3" {
				t.Errorf("%s reassembled from %s fragments, want 3 (4008 bytes at MTU 1500)", host, n)
			}
		}
	}
	// Every fragment fits the MTU: nothing was too long for a NIC.
	for _, e := range evs {
		if e.Verdict == viz.Drop {
			t.Errorf("drop on a clean wire: %s %s/%s %s: %s", e.Host, e.Layer, e.Step, e.Reason, e.Msg)
		}
	}
}

func TestIPPingViaRouter(t *testing.T) {
	t.Run("through", func(t *testing.T) {
		r, err := NewRouted(TopologyConfig{Seed: 1})
		if err != nil {
			t.Fatal(err)
		}
		events, stats, _ := iptPing(r.Net, r.Client, PingConfig{Dst: r.Server.Addr(), Count: 2})
		if stats.Received != 2 {
			t.Fatalf("stats %+v, want 2 replies", stats)
		}
		for _, e := range events {
			// The reply crossed the router once.
			if e.From != r.Server.Addr() || e.TTL != ip.DefaultTTL-1 {
				t.Errorf("event %v, want a reply from %s with TTL %d", e, r.Server.Addr(), ip.DefaultTTL-1)
			}
		}
	})

	t.Run("TTL expires at the router", func(t *testing.T) {
		// DefaultTTL 1 is what `packetwalk ping --via-router --ttl 1`
		// sets: the request reaches the router with TTL 1.
		r, err := NewRouted(TopologyConfig{Seed: 1, IP: HostConfig{IP: ip.Config{DefaultTTL: 1}}})
		if err != nil {
			t.Fatal(err)
		}
		mem := iptMemory(r.Net)
		const count = 2
		events, stats, _ := iptPing(r.Net, r.Client, PingConfig{Dst: r.Server.Addr(), Count: count})
		if stats.Received != 0 || stats.Errors != count {
			t.Errorf("stats %+v, want no reply and %d errors", stats, count)
		}
		routerAddr := netip.MustParseAddr("10.0.0.254")
		if len(events) != count {
			t.Fatalf("%d events, want %d: %v", len(events), count, events)
		}
		for i, e := range events {
			if e.Err != "Time to live exceeded" || e.From != routerAddr || e.Seq != uint16(i+1) {
				t.Errorf("event %v, want \"Time to live exceeded\" from %s for seq %d", e, routerAddr, i+1)
			}
			if !strings.Contains(e.String(), "From 10.0.0.254 icmp_seq=") {
				t.Errorf("event prints as %q", e.String())
			}
		}
		evs := mem.Events()
		var expired int
		for _, e := range iptDrops(evs, viz.ReasonTTLExpired) {
			if e.Host == "router" && e.Layer == viz.LayerIP {
				expired++
			}
		}
		if expired != count {
			t.Errorf("the router logged %d ttl_expired drops, want %d", expired, count)
		}
		for _, e := range evs {
			if e.Host == "server" && e.Layer == viz.LayerICMP {
				t.Errorf("the server saw ICMP: %s", e.Msg)
			}
		}
	})
}

func TestIPPingNoHost(t *testing.T) {
	p, err := NewPair(TopologyConfig{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	mem := iptMemory(p.Net)
	events, stats, finished := iptPing(p.Net, p.Client, PingConfig{Dst: netip.MustParseAddr("10.0.0.9"), Count: 2})
	if !finished {
		t.Fatal("ping never finished")
	}
	if stats.Received != 0 || stats.Transmitted != 2 {
		t.Errorf("stats %+v, want 2 sent and none received", stats)
	}
	for _, e := range events {
		if e.Err == "" {
			t.Errorf("a reply from nowhere: %v", e)
		}
	}
	var unresolved int
	for _, e := range iptDrops(mem.Events(), viz.ReasonARPUnresolved) {
		if e.Host == "client" && e.Layer == viz.LayerARP {
			unresolved++
		}
	}
	if unresolved == 0 {
		t.Error("no arp_unresolved drop logged on the client")
	}
}

// iptImpairedRun is `packetwalk ping --count 5 --size 4000 --mtu 1500
// --corrupt 0.1 --loss 0.05 --dup 0.05 --reorder 0.05 --seed N`.
type iptImpairedRun struct {
	jsonl       []byte
	fcsDrops    int
	rxCRCErrors uint64
	stats       PingStats
}

func iptImpairedPing(t *testing.T, seed int64) iptImpairedRun {
	t.Helper()
	p, err := NewPair(TopologyConfig{Seed: seed, MTU: 1500, Wire: wire.Config{Impairments: wire.Impairments{
		Corrupt: 0.1, Loss: 0.05, Duplicate: 0.05, Reorder: 0.05, Seed: seed}}})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	js := viz.NewJSONLSink(&buf)
	p.Net.Log.AddSink(js)
	mem := iptMemory(p.Net)
	_, stats, finished := iptPing(p.Net, p.Client, PingConfig{Dst: p.Server.Addr(), Count: 5, Size: 4000})
	if !finished {
		t.Fatal("ping never finished")
	}
	if err := js.Close(); err != nil {
		t.Fatal(err)
	}
	run := iptImpairedRun{jsonl: buf.Bytes(), stats: stats}
	if mem.Lost() != 0 {
		t.Fatalf("the memory sink lost %d events", mem.Lost())
	}
	evs := mem.Events()
	// The JSON Lines stream and the events are the same log.
	var again []byte
	for i := range evs {
		again = append(viz.AppendJSON(again, &evs[i]), '\n')
	}
	if !bytes.Equal(again, run.jsonl) {
		t.Error("AppendJSON over the MemorySink's events differs from the JSONLSink's stream")
	}
	for _, e := range iptDrops(evs, viz.ReasonFCSMismatch) {
		if e.Layer != viz.LayerNIC {
			t.Errorf("fcs_mismatch at layer %s", e.Layer)
		}
		run.fcsDrops++
	}
	for _, h := range p.Net.Hosts() {
		for _, i := range h.Interfaces() {
			run.rxCRCErrors += i.NIC.Stats().RxCRCErrors
		}
	}
	return run
}

func TestIPImpairedPingDeterministic(t *testing.T) {
	a := iptImpairedPing(t, 7)
	b := iptImpairedPing(t, 7)
	c := iptImpairedPing(t, 8)
	if len(a.jsonl) == 0 {
		t.Fatal("empty log")
	}
	if !bytes.Equal(a.jsonl, b.jsonl) {
		la, lb := bytes.Split(a.jsonl, []byte("\n")), bytes.Split(b.jsonl, []byte("\n"))
		for i := 0; i < min(len(la), len(lb)); i++ {
			if !bytes.Equal(la[i], lb[i]) {
				t.Fatalf("two runs with seed 7 differ at line %d:\n%s\n%s", i+1, la[i], lb[i])
			}
		}
		t.Fatalf("two runs with seed 7 differ in length: %d and %d lines", len(la), len(lb))
	}
	if bytes.Equal(a.jsonl, c.jsonl) {
		t.Error("seeds 7 and 8 give the same log")
	}
	for seed, r := range map[int64]iptImpairedRun{7: a, 8: c} {
		if uint64(r.fcsDrops) != r.rxCRCErrors {
			t.Errorf("seed %d: %d fcs_mismatch drops logged, the NICs count %d CRC errors", seed, r.fcsDrops, r.rxCRCErrors)
		}
		if r.stats.Transmitted != 5 {
			t.Errorf("seed %d: %d requests sent, want 5", seed, r.stats.Transmitted)
		}
	}
	if a.fcsDrops == 0 && c.fcsDrops == 0 {
		t.Error("no frame was corrupted in either run: the count check proved nothing")
	}
	t.Logf("seed 7: %d fcs_mismatch drops, ping %d/%d (+%d dup); seed 8: %d drops, ping %d/%d",
		a.fcsDrops, a.stats.Received, a.stats.Transmitted, a.stats.Duplicates, c.fcsDrops, c.stats.Received, c.stats.Transmitted)
}

func TestIPUDPBetweenHosts(t *testing.T) {
	p, err := NewPair(TopologyConfig{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	mem := iptMemory(p.Net)
	srv, err := p.Server.UDP.Bind(netip.MustParseAddrPort("0.0.0.0:7"))
	if err != nil {
		t.Fatal(err)
	}
	cli, err := p.Client.UDP.Bind(netip.AddrPort{}) // every address, an ephemeral port
	if err != nil {
		t.Fatal(err)
	}
	port := cli.LocalAddr().Port()
	if port < ip.EphemeralPorts.First || port > ip.EphemeralPorts.Last {
		t.Errorf("client port %d is not ephemeral", port)
	}
	srvAddr := netip.AddrPortFrom(p.Server.Addr(), 7)
	var sendErr error
	p.Net.Clock.Post(func() { sendErr = cli.SendTo(srvAddr, []byte("hello, echo")) })
	p.Net.Run()
	if sendErr != nil {
		t.Fatalf("SendTo: %v", sendErr)
	}
	d, ok := srv.Recv()
	if !ok {
		t.Fatal("the server got nothing")
	}
	from := netip.AddrPortFrom(p.Client.Addr(), port)
	if d.From != from || d.To != srvAddr || string(d.Data) != "hello, echo" {
		t.Errorf("server got %+v, want %q from %s to %s", d, "hello, echo", from, srvAddr)
	}

	// The echo goes back to the port it came from.
	p.Net.Clock.Post(func() { sendErr = srv.SendTo(d.From, d.Data) })
	p.Net.Run()
	if sendErr != nil {
		t.Fatalf("server SendTo: %v", sendErr)
	}
	if back, ok := cli.Recv(); !ok || back.From != srvAddr || string(back.Data) != "hello, echo" {
		t.Errorf("client got %+v, %v; want the echo from %s", back, ok, srvAddr)
	}

	// A closed port answers with ICMP port unreachable: ECONNREFUSED.
	p.Net.Clock.Post(func() { sendErr = cli.SendTo(netip.AddrPortFrom(p.Server.Addr(), 9), []byte("discard?")) })
	p.Net.Run()
	if sendErr != nil {
		t.Fatalf("SendTo: %v", sendErr)
	}
	if err := cli.TakeErr(); !errors.Is(err, udp.ErrConnRefused) {
		t.Errorf("TakeErr = %v, want ErrConnRefused", err)
	}
	var noSocket int
	for _, e := range iptDrops(mem.Events(), viz.ReasonNoSocket) {
		if e.Host == "server" && e.Layer == viz.LayerUDP {
			noSocket++
		}
	}
	if noSocket != 1 {
		t.Errorf("the server logged %d UDP no_socket drops, want 1", noSocket)
	}
}
