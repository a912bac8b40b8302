// Package reference is a solution of the impl-router lab, kept out of the
// skeleton. It passes every graded test: a list of routes searched in
// full for the longest prefix, and RFC 1812's forwarding decision.
package reference

import (
	"net/netip"
	"slices"

	"github.com/packetwalk/packetwalk/ip"
)

// Router is the routing table of one host.
type Router struct {
	routes []ip.Route // in the order added
}

// New returns an empty table.
func New() ip.Router { return &Router{} }

// Add puts r in the table.
func (t *Router) Add(r ip.Route) { t.routes = append(t.routes, r) }

// Lookup returns the route with the longest prefix containing dst; on a
// tie, the route added first.
func (t *Router) Lookup(dst netip.Addr) (ip.Route, bool) {
	best, found := ip.Route{}, false
	for _, r := range t.routes {
		if r.Prefix.Contains(dst) && (!found || r.Prefix.Bits() > best.Prefix.Bits()) {
			best, found = r, true
		}
	}
	return best, found
}

// Routes lists the table, most specific first.
func (t *Router) Routes() []ip.Route {
	out := slices.Clone(t.routes)
	slices.SortStableFunc(out, func(a, b ip.Route) int { return b.Prefix.Bits() - a.Prefix.Bits() })
	return out
}

// Forward decides for a datagram to dst that arrived with TTL ttl.
func (t *Router) Forward(dst netip.Addr, ttl uint8) ip.ForwardDecision {
	// RFC 1812 §5.3.1: the TTL would reach 0 here.
	if ttl <= 1 {
		return ip.ForwardDecision{Verdict: ip.ForwardTimeExceeded}
	}
	r, ok := t.Lookup(dst)
	if !ok {
		return ip.ForwardDecision{Verdict: ip.ForwardNoRoute}
	}
	next := dst // on the link: the destination itself
	if r.Gateway.IsValid() {
		next = r.Gateway
	}
	return ip.ForwardDecision{Verdict: ip.ForwardSend, Route: r, NextHop: next, TTL: ttl - 1}
}
