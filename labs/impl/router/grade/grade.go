// Package grade holds the graded tests of the impl-router lab: the
// student's ip.Router at unit level (the longest-prefix match, the table's
// listing, the forwarding decision: next hop, TTL, time exceeded, no
// route) and inside the stack, on the three-host network with a router,
// where what ping sees and the frames every NIC sends are compared with
// the run of ip's own routing table.
package grade

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/packetwalk/packetwalk/ip"
	"github.com/packetwalk/packetwalk/labs/impl/grading"
	"github.com/packetwalk/packetwalk/stack"
	"github.com/packetwalk/packetwalk/viz"
)

// New is the student's constructor.
type New = func() ip.Router

// Tests are the graded tests, in the order the handout introduces them.
var Tests = []grading.Test[New]{
	{Name: "OnLinkRoute", Run: testOnLink},
	{Name: "LongestPrefixMatch", Run: testLPM},
	{Name: "NoRoute", Run: testNoRoute},
	{Name: "RoutesListed", Run: testRoutes},
	{Name: "ForwardNextHop", Run: testNextHop},
	{Name: "TTLExpires", Run: testTTL},
	{Name: "WireRoutedPing", Run: testWirePing},
	{Name: "WireTimeExceeded", Run: testWireTTL},
	{Name: "WireNoRoute", Run: testWireNoRoute},
}

// Run runs every graded test with the student's constructor.
func Run(t *testing.T, newRouter New) { grading.Run(t, Tests, newRouter) }

// link is an interface as IP sees it; the unit tests only name it.
type link string

func (l link) Name() string                                    { return string(l) }
func (l link) MTU() int                                        { return 1500 }
func (l link) Output(netip.Addr, []byte, uint64) error         { return nil }
func (l link) OutputBroadcast(datagram []byte, _ uint64) error { return nil }

var eth0, eth1, eth2 = link("eth0"), link("eth1"), link("eth2")

func route(prefix, gw string, l link) ip.Route {
	r := ip.Route{Prefix: netip.MustParsePrefix(prefix), Link: l}
	if gw != "" {
		r.Gateway = netip.MustParseAddr(gw)
	}
	return r
}

// bench is a table under test and what the test did to it.
type bench struct {
	r   ip.Router
	log []string
}

func newBench(newR New, routes ...ip.Route) *bench {
	b := &bench{r: newR()}
	b.log = append(b.log, "New()")
	for _, r := range routes {
		b.r.Add(r)
		b.log = append(b.log, "Add("+r.String()+")")
	}
	return b
}

func (b *bench) sent() string { return strings.Join(b.log, "\n") }

func (b *bench) lookup(dst string) (ip.Route, bool) {
	b.log = append(b.log, "Lookup("+dst+")")
	return b.r.Lookup(netip.MustParseAddr(dst))
}

func (b *bench) forward(dst string, ttl uint8) ip.ForwardDecision {
	b.log = append(b.log, fmt.Sprintf("Forward(%s, TTL %d)", dst, ttl))
	return b.r.Forward(netip.MustParseAddr(dst), ttl)
}

func show(r ip.Route, ok bool) string {
	if !ok {
		return "no route (false)"
	}
	if r.Link == nil {
		return fmt.Sprintf("a route with no link (%s)", r.Prefix)
	}
	return r.String()
}

func same(a, b ip.Route) bool {
	return a.Prefix == b.Prefix && a.Gateway == b.Gateway && a.Link == b.Link
}

func showDecision(d ip.ForwardDecision) string {
	if d.Verdict != ip.ForwardSend {
		return d.Verdict.String()
	}
	return fmt.Sprintf("send by %s to next hop %s with TTL %d", show(d.Route, d.Route.Link != nil), d.NextHop, d.TTL)
}

func testOnLink(t *testing.T, newR New) {
	subnet := route("10.0.0.0/24", "", eth0)
	b := newBench(newR, subnet)
	for _, dst := range []string{"10.0.0.2", "10.0.0.0", "10.0.0.255"} {
		if r, ok := b.lookup(dst); !ok || !same(r, subnet) {
			t.Fatal(grading.Failure{Sent: b.sent(), Expected: subnet.String() + ": " + dst + " is inside 10.0.0.0/24", Got: show(r, ok),
				Hint: "netip.Prefix.Contains tells whether an address is in a prefix; keep every route Add is given"})
		}
	}
	if r, ok := b.lookup("10.0.1.2"); ok {
		t.Error(grading.Failure{Sent: b.sent(), Expected: "no route: 10.0.1.2 is outside 10.0.0.0/24 and there is no default route", Got: show(r, ok)})
	}
}

func testLPM(t *testing.T, newR New) {
	// Added in no particular order: the table must not depend on it.
	routes := []ip.Route{
		route("10.0.0.0/8", "192.168.1.2", eth0),
		route("0.0.0.0/0", "192.168.1.1", eth0),
		route("10.1.2.0/24", "192.168.2.1", eth1),
		route("192.168.1.0/24", "", eth0),
		route("10.1.2.128/25", "", eth2),
		route("10.1.0.0/16", "192.168.1.3", eth0),
		route("10.1.2.200/32", "192.168.2.9", eth1),
		route("192.168.2.0/24", "", eth1),
	}
	b := newBench(newR, routes...)
	for _, c := range []struct {
		dst  string
		want int
		why  string
	}{
		{"10.1.2.7", 2, "/24 is longer than /16, /8 and /0"},
		{"10.1.2.130", 4, "/25 is longer than /24"},
		{"10.1.2.200", 6, "a host route, /32, beats every other"},
		{"10.1.3.1", 5, "only /16, /8 and /0 contain it"},
		{"10.200.0.1", 0, "only /8 and /0 contain it"},
		{"192.168.1.77", 3, "the subnet on eth0"},
		{"8.8.8.8", 1, "only the default route contains it"},
	} {
		if r, ok := b.lookup(c.dst); !ok || !same(r, routes[c.want]) {
			t.Error(grading.Failure{Sent: b.sent(), Expected: routes[c.want].String() + ": " + c.why, Got: show(r, ok),
				Hint: "RFC 1812 §5.2.4.3: of the routes whose prefix contains the destination, the one with the most bits (Prefix.Bits()) wins, whatever the order they were added in"})
			return
		}
	}
}

func testNoRoute(t *testing.T, newR New) {
	b := newBench(newR, route("10.0.0.0/24", "", eth0), route("10.2.0.0/16", "10.0.0.9", eth0))
	if r, ok := b.lookup("10.2.3.4"); !ok || r.Gateway != netip.MustParseAddr("10.0.0.9") {
		t.Fatal(grading.Failure{Sent: b.sent(), Expected: "10.2.0.0/16 via 10.0.0.9 dev eth0", Got: show(r, ok)})
	}
	if r, ok := b.lookup("10.3.0.1"); ok {
		t.Error(grading.Failure{Sent: b.sent(), Expected: "no route (false): no prefix contains 10.3.0.1 and there is no default route", Got: show(r, ok)})
	}
	if d := b.forward("10.3.0.1", 64); d.Verdict != ip.ForwardNoRoute {
		t.Error(grading.Failure{Sent: b.sent(), Expected: "no-route: IP drops it (no_route) and tells the source with ICMP Destination Unreachable, net unreachable (RFC 1812 §5.2.7.1)",
			Got: showDecision(d)})
	}
}

func testRoutes(t *testing.T, newR New) {
	routes := []ip.Route{route("0.0.0.0/0", "10.0.0.254", eth0), route("10.0.0.0/24", "", eth0), route("10.9.0.0/16", "10.0.0.1", eth0), route("10.0.1.0/24", "", eth1)}
	b := newBench(newR, routes...)
	want := []ip.Route{routes[1], routes[3], routes[2], routes[0]}
	got := b.r.Routes()
	ok := len(got) == len(want)
	for i := 0; ok && i < len(got); i++ {
		ok = same(got[i], want[i])
	}
	if !ok {
		t.Error(grading.Failure{Sent: b.sent() + "\nRoutes()", Expected: ip.FormatRoutes(want) + "(most specific first; the /24s in the order added)",
			Got: ip.FormatRoutes(got) + "(end)", Hint: "return a sorted copy (slices.SortStableFunc keeps the order of equal lengths), not your own slice"})
	}
}

func testNextHop(t *testing.T, newR New) {
	b := newBench(newR, route("10.0.0.0/24", "", eth0), route("10.0.1.0/24", "", eth1), route("0.0.0.0/0", "10.0.1.1", eth1))
	d := b.forward("10.0.0.2", 64)
	if d.Verdict != ip.ForwardSend || d.Route.Link != eth0 || d.NextHop != netip.MustParseAddr("10.0.0.2") || d.TTL != 63 {
		t.Error(grading.Failure{Sent: b.sent(), Expected: "send by 10.0.0.0/24 dev eth0 to next hop 10.0.0.2 with TTL 63: the destination is on eth0's link, so ARP asks for it directly",
			Got: showDecision(d), Hint: "no gateway: the next hop is the destination itself"})
	}
	d = b.forward("93.184.216.34", 64)
	if d.Verdict != ip.ForwardSend || d.Route.Link != eth1 || d.NextHop != netip.MustParseAddr("10.0.1.1") || d.TTL != 63 {
		t.Error(grading.Failure{Sent: b.sent(), Expected: "send by default via 10.0.1.1 dev eth1 to next hop 10.0.1.1 with TTL 63: the frame goes to the gateway's MAC address, the IP header still names 93.184.216.34",
			Got: showDecision(d), Hint: "a route with a gateway: the next hop is the gateway"})
	}
}

func testTTL(t *testing.T, newR New) {
	b := newBench(newR, route("10.0.0.0/24", "", eth0))
	if d := b.forward("10.0.0.2", 2); d.Verdict != ip.ForwardSend || d.TTL != 1 || d.Route.Link != eth0 {
		t.Fatal(grading.Failure{Sent: b.sent(), Expected: "send with TTL 1: the copy may still reach a host on the next link", Got: showDecision(d)})
	}
	for _, ttl := range []uint8{1, 0} {
		if d := b.forward("10.0.0.2", ttl); d.Verdict != ip.ForwardTimeExceeded {
			t.Error(grading.Failure{Sent: b.sent(), Expected: fmt.Sprintf("time-exceeded: TTL %d would not survive this hop (RFC 1812 §5.3.1); IP sends ICMP Time Exceeded to the source, which is how traceroute finds each router", ttl),
				Got: showDecision(d), Hint: "a router forwards only a datagram whose TTL is more than 1, and never lets a TTL of 0 wrap around to 255"})
			return
		}
	}
	if d := b.forward("172.16.0.1", 1); d.Verdict != ip.ForwardTimeExceeded {
		t.Error(grading.Failure{Sent: b.sent(), Expected: "time-exceeded: the TTL is checked before the route, as ip's own router does", Got: showDecision(d)})
	}
}

// ---- On the simulated wire ----

type wireRun struct {
	ping, frames []string
	log          []viz.Event
}

// scenario pings dst from the client of the routed network, every host
// using newR (nil: ip's own table).
func scenario(t *testing.T, newR New, cfg stack.TopologyConfig, dst netip.Addr) wireRun {
	cfg.IP.IP.Router = newR
	n, mem := grading.NewRouted(t, cfg)
	var r wireRun
	n.Client.Ping(stack.PingConfig{Dst: dst, Count: 2, Interval: time.Second, Wait: 3 * time.Second},
		func(e stack.PingEvent) { r.ping = append(r.ping, e.String()) },
		func(s stack.PingStats) {
			r.ping = append(r.ping, fmt.Sprintf("%d transmitted, %d received, %d errors", s.Transmitted, s.Received, s.Errors))
		})
	n.Net.Run()
	r.log = mem.Events()
	r.frames = grading.Frames(r.log)
	return r
}

func wireTest(t *testing.T, newR New, what string, cfg stack.TopologyConfig, dst string, sane string) {
	want := scenario(t, nil, cfg, netip.MustParseAddr(dst))
	if !strings.Contains(strings.Join(want.ping, "\n"), sane) {
		t.Fatalf("grading scenario broken: ip's own router gives:\n%s", strings.Join(want.ping, "\n"))
	}
	got := scenario(t, newR, cfg, netip.MustParseAddr(dst))
	if strings.Join(want.ping, "\n") == strings.Join(got.ping, "\n") && strings.Join(want.frames, "\n") == strings.Join(got.frames, "\n") {
		return
	}
	t.Error(grading.Failure{
		Sent:     what + "; client 10.0.0.1 - router 10.0.0.254 | 10.0.1.254 - server 10.0.1.2, every host routing with your table",
		Expected: "ping sees\n" + strings.Join(want.ping, "\n") + "\nand the NICs send\n" + strings.Join(want.frames, "\n"),
		Got:      "ping sees\n" + strings.Join(append(got.ping, "(end)"), "\n") + "\nand the NICs send\n" + strings.Join(append(got.frames, "(end)"), "\n"),
		Steps: grading.Last(grading.Select(got.log, func(e *viz.Event) bool {
			return e.Layer == viz.LayerIP && (e.Step == "route" || e.Step == "forward" || e.Verdict == viz.Drop) || e.Layer == viz.LayerICMP
		}), 20),
		Hint: "the expected lines are what the same seeded run gives with ip's own routing table",
	})
}

func testWirePing(t *testing.T, newR New) {
	wireTest(t, newR, "ping -c 2 10.0.1.2 (seed 3)", stack.TopologyConfig{Seed: 3}, "10.0.1.2", "ttl=63")
}

func testWireTTL(t *testing.T, newR New) {
	cfg := stack.TopologyConfig{Seed: 3}
	cfg.IP.IP.DefaultTTL = 1
	wireTest(t, newR, "ping -c 2 10.0.1.2 with every host sending TTL 1", cfg, "10.0.1.2", "Time to live exceeded")
}

func testWireNoRoute(t *testing.T, newR New) {
	wireTest(t, newR, "ping -c 2 192.0.2.7: the client's default route leads to the router, which has no route for it", stack.TopologyConfig{Seed: 3}, "192.0.2.7", "Unreachable")
}
