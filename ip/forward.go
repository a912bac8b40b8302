package ip

import (
	"net/netip"

	"github.com/packetwalk/packetwalk/viz"
)

// forward is a router's path for a datagram addressed elsewhere (RFC 1812
// §5.2, §5.3): check the TTL, find the route, decrement the TTL, and send
// it on, fragmenting if the next link is smaller. The header is rebuilt with
// a fresh checksum; a hardware router updates it incrementally instead (RFC
// 1624, UpdateChecksum), with the same result. The forwarded datagram is a new frame with its own
// ID; its first step names the frame it came from.
func (l *Layer) forward(in Inbound, h IPv4) {
	// RFC 1122 §3.2.2: no ICMP error about a datagram that came as a
	// link-layer broadcast (every router on the link would answer).
	icmpError := func(t ICMPType, code ICMPCode, mtu int) {
		if !in.LinkBroadcast {
			l.SendICMPError(h, h.Payload(), t, code, mtu, in.Frame)
		}
	}
	// RFC 1812 §5.3.7 and §5.3.4: never forward to or from addresses that
	// name no single host (0.0.0.0/8, multicast, 240.0.0.0/4, broadcast),
	// nor a unicast datagram that came in a link-layer broadcast.
	if martian(h.Dst()) || martian(h.Src()) || in.LinkBroadcast {
		l.dropf(in.Frame, "forward", viz.ReasonIPMartian, "%s -> %s is not forwarded (RFC 1812 §5.3.7)", viz.Addr(h.Src()), viz.Addr(h.Dst()))
		return
	}
	// The options are checked before anything else is done with the
	// datagram, as Linux's ip_rcv_options does for a router too: a
	// malformed one gets Parameter Problem (RFC 1122 §3.2.2.5, RFC 792).
	if h.HeaderLen() > IPv4MinHeaderLen {
		if _, ce := compileOptions(h[:h.HeaderLen()], nil); ce != nil {
			l.optionsProblem(in, h, ce, false)
			return
		}
	}
	// The decision is the Router's (Config.Router): RFC 1812 §5.3.1, a
	// router that would decrement the TTL to zero discards the datagram
	// and sends Time Exceeded; §5.2.4.3, the longest-prefix match; §5.2.7.1,
	// no route is answered with Destination Unreachable.
	d := l.routes.Forward(h.Dst(), h.TTL())
	switch {
	case d.Verdict == ForwardTimeExceeded:
		l.dropf(in.Frame, "forward", viz.ReasonTTLExpired, "TTL %d would reach 0 at this hop", viz.Int(int(h.TTL())))
		icmpError(ICMPTimeExceeded, ICMPTTLExceeded, 0)
		return
	case d.Verdict == ForwardNoRoute:
		l.stats.OutNoRoutes++
		l.dropf(in.Frame, "forward", viz.ReasonNoRoute, "no route to %s", viz.Addr(h.Dst()))
		icmpError(ICMPDestUnreachable, ICMPNetUnreachable, 0)
		return
	case d.Verdict != ForwardSend || d.Route.Link == nil:
		// A replaced Router (a lab's) that decided nothing usable: the
		// datagram cannot go anywhere, and nobody is told.
		l.stats.OutNoRoutes++
		l.dropf(in.Frame, "forward", viz.ReasonNoRoute, "the router's decision for %s names no verdict and link (%s, link %v)",
			viz.Addr(h.Dst()), viz.Str(d.Verdict.String()), viz.Bool(d.Route.Link != nil))
		return
	}
	r := d.Route
	if l.rec.On() {
		route := viz.Str(l.routeText(r))
		l.rec.Stepf(viz.Event{Layer: viz.LayerIP, Step: "route", Verdict: viz.Pass, Frame: in.Frame},
			[]viz.Field{viz.Fv("dst", viz.Addr(h.Dst())), viz.F("decision", "forward"), viz.Fv("route", route)},
			"%s is not mine: forwarding by route %s", viz.Addr(h.Dst()), route)
	}
	hdr := h.Header()
	if len(hdr.Options) > 0 && r.Src.Is4() {
		// The router records the address it sends from in Record
		// Route and Timestamp (RFC 791 §3.1; Linux's
		// ip_forward_options).
		c := IPv4(append([]byte(nil), h[:h.HeaderLen()]...))
		_, _ = compileOptions(c, &optionStamp{write: true, addr: r.Src.As4(), time: l.timestamp(), local: l.tsLocal})
		hdr.Options = c.Header().Options
	}
	hdr.TTL = d.TTL
	id := l.rec.NewFrameID()
	if l.rec.On() {
		l.rec.Stepf(viz.Event{Layer: viz.LayerIP, Step: "forward", Frame: id},
			[]viz.Field{viz.Fv("from_frame", viz.U64(in.Frame))},
			"forwarded copy of frame %d, TTL %d -> %d", viz.U64(in.Frame), viz.Int(int(h.TTL())), viz.Int(int(hdr.TTL)))
	}
	if err := l.output(r, d.NextHop, hdr, h.Payload(), id, "forward"); err == ErrMessageTooLong {
		// RFC 1191 §4: tell the sender the next-hop MTU, so that path
		// MTU discovery can shrink its segments.
		icmpError(ICMPDestUnreachable, ICMPFragmentationNeeded, r.Link.MTU())
		return
	}
	l.stats.ForwDatagrams++
}

// routeKey is what a route's text says: Route itself holds an interface
// (its Link), which need not be comparable.
type routeKey struct {
	prefix   netip.Prefix
	gw, src  netip.Addr
	linkName string
}

const maxRouteTexts = 64

// routeText returns r.String(), made the first time r is used.
func (l *Layer) routeText(r Route) string {
	k := routeKey{r.Prefix, r.Gateway, r.Src, r.Link.Name()}
	if s, ok := l.routeTexts[k]; ok {
		return s
	}
	if l.routeTexts == nil || len(l.routeTexts) >= maxRouteTexts {
		l.routeTexts = make(map[routeKey]string)
	}
	s := r.String()
	l.routeTexts[k] = s
	return s
}

// martian reports whether a is not a single host's unicast address.
func martian(a netip.Addr) bool {
	b := a.As4()
	return b[0] == 0 || a.IsMulticast() || b[0] >= 240 || a.IsLoopback()
}
