package ip

import (
	"net/netip"
	"testing"

	"github.com/packetwalk/packetwalk/viz"
)

// scriptedRouter is a Router (Config.Router) whose Forward returns a fixed
// decision, and whose table is ip's own: what a lab's router might do.
type scriptedRouter struct {
	Router
	decision ForwardDecision
	asked    int
}

func (r *scriptedRouter) Forward(dst netip.Addr, ttl uint8) ForwardDecision {
	r.asked++
	return r.decision
}

// TestConfigRouterDecides: with Config.Router set, the forwarding decision
// is the Router's: its next hop and TTL are the ones sent, and a decision
// that names no verdict or no link is a named drop (no_route), not a
// panic and not an ICMP error.
func TestConfigRouterDecides(t *testing.T) {
	echo := AppendEchoRequest(nil, 1, 1, ltPattern(100))
	sr := &scriptedRouter{Router: NewRouteTable()}
	h := newLTRouter(t, Config{Router: func() Router { return sr }}, 1500)
	hop := netip.MustParseAddr("10.0.1.77")
	sr.decision = ForwardDecision{Verdict: ForwardSend, Route: Route{Prefix: netip.MustParsePrefix("10.0.1.0/24"), Link: h.eth1}, NextHop: hop, TTL: 9}

	h.receive(h.eth0, ltDatagram(ltHeader(ltPeer, ltFar, ProtocolICMP), echo), nil)
	outs := h.outputs()
	if sr.asked != 1 || len(outs) != 1 || outs[0].link != "eth1" || outs[0].nextHop != hop || IPv4(outs[0].data).TTL() != 9 {
		t.Fatalf("asked %d times, sent %+v; want one datagram on eth1 to %s with TTL 9", sr.asked, outs, hop)
	}
	if _, ip4 := ltDecode(t, outs[0].data); ip4.TTL != 9 {
		t.Errorf("gopacket reads TTL %d, want 9", ip4.TTL)
	}

	for _, d := range []ForwardDecision{{}, {Verdict: ForwardSend, NextHop: hop, TTL: 9}} {
		sr.decision = d
		frame := h.receive(h.eth0, ltDatagram(ltHeader(ltPeer, ltFar, ProtocolICMP), echo), nil)
		ltWantDrop(t, h.events(), viz.LayerIP, viz.ReasonNoRoute, frame)
		if outs := h.outputs(); len(outs) != 0 {
			t.Errorf("decision %+v: %d datagrams sent, want none", d, len(outs))
		}
	}

	// The host's own datagrams are routed by the Router's table too.
	if r, ok := h.l.RouteTo(ltFar); !ok || r.Link != h.eth1 {
		t.Errorf("RouteTo(%s) = %v, %v; want the on-link route of eth1", ltFar, r, ok)
	}
}
