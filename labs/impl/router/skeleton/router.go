// Package router is your IP router's routing table and forwarding
// decision (RFC 1812): the longest-prefix match that chooses where a
// datagram goes next, and what a router does with a datagram addressed to
// someone else: the TTL, the next hop, and the errors it reports.
//
// Keep the package's name and New's signature: `packetwalk lab test
// impl-router --impl DIR` builds the stack with New.
package router

import (
	"net/netip"

	"github.com/packetwalk/packetwalk/ip"
)

// Router is your ip.Router, the routing table of one host. It is used on
// the host's event loop only: no locks are needed.
type Router struct {
	// TODO: the routes.
}

// New returns an empty table. IP adds a route for each of the host's
// subnets, and the default route (via the gateway) when the host has one.
func New() ip.Router { return &Router{} }

// Add puts r in the table. r.Prefix is masked (10.0.1.0/24, never
// 10.0.1.7/24); r.Gateway is zero for a subnet on r.Link itself.
func (t *Router) Add(r ip.Route) {
	// TODO
}

// Lookup returns the route whose prefix contains dst with the most bits:
// the longest-prefix match of RFC 1812 §5.2.4.3. 0.0.0.0/0, the default
// route, contains every address. On a tie, the route added first wins.
// false: no route contains dst.
func (t *Router) Lookup(dst netip.Addr) (ip.Route, bool) {
	// TODO
	return ip.Route{}, false
}

// Routes lists the table most specific first (the longest prefix first;
// routes of the same length in the order added), as `ip route` shows it.
func (t *Router) Routes() []ip.Route {
	// TODO
	return nil
}

// Forward decides what this router does with a datagram addressed to
// dst, not to this host, that arrived with TTL ttl:
//
//  1. RFC 1812 §5.3.1: if forwarding would take the TTL to 0, the
//     datagram dies here: ip.ForwardTimeExceeded (IP drops it and sends
//     ICMP Time Exceeded to its source). This is checked first.
//  2. no route: ip.ForwardNoRoute (IP sends ICMP Destination
//     Unreachable, net unreachable).
//  3. else ip.ForwardSend with the route, the next hop (the route's
//     gateway, or dst itself when dst is on the route's link), and the
//     TTL the forwarded copy carries.
func (t *Router) Forward(dst netip.Addr, ttl uint8) ip.ForwardDecision {
	// TODO
	return ip.ForwardDecision{}
}
