package ip

import (
	"fmt"
	"net/netip"
	"sort"
	"strings"
)

// Route is one entry of the routing table: datagrams to Prefix leave
// through Link, to Gateway if it is set (a router on that link), else
// straight to the destination, which is on the link.
type Route struct {
	Prefix  netip.Prefix
	Gateway netip.Addr // zero: on-link
	Link    Link
	Src     netip.Addr // the source address for datagrams this host originates
}

func (r Route) String() string {
	s := r.Prefix.String()
	if r.Prefix.Bits() == 0 {
		s = "default"
	}
	if r.Gateway.IsValid() {
		s += " via " + r.Gateway.String()
	}
	s += " dev " + r.Link.Name()
	if r.Src.IsValid() {
		s += " src " + r.Src.String()
	}
	return s
}

// routeTable is a list kept most specific first, so a lookup is the first
// match: the longest-prefix match of RFC 1812 §5.2.4.3. A host has a
// handful of routes; a list reads better than a trie.
type routeTable struct{ routes []Route }

// NewRouteTable returns the layer's own Router: an empty table.
func NewRouteTable() Router { return &routeTable{} }

var _ Router = (*routeTable)(nil)

// Add implements Router.
func (t *routeTable) Add(r Route) {
	t.routes = append(t.routes, r)
	sort.SliceStable(t.routes, func(i, j int) bool { return t.routes[i].Prefix.Bits() > t.routes[j].Prefix.Bits() })
}

// Lookup implements Router.
func (t *routeTable) Lookup(dst netip.Addr) (Route, bool) {
	for _, r := range t.routes {
		if r.Prefix.Contains(dst) {
			return r, true
		}
	}
	return Route{}, false
}

// Routes implements Router.
func (t *routeTable) Routes() []Route { return append([]Route(nil), t.routes...) }

// Forward implements Router. The TTL is checked before the route is
// looked up, so a datagram that could go nowhere and whose TTL ran out is
// answered with Time Exceeded.
func (t *routeTable) Forward(dst netip.Addr, ttl uint8) ForwardDecision {
	// RFC 1812 §5.3.1: a router that would decrement the TTL to zero
	// discards the datagram.
	if ttl <= 1 {
		return ForwardDecision{Verdict: ForwardTimeExceeded}
	}
	r, ok := t.Lookup(dst)
	if !ok {
		return ForwardDecision{Verdict: ForwardNoRoute}
	}
	return ForwardDecision{Verdict: ForwardSend, Route: r, NextHop: r.nextHop(dst), TTL: ttl - 1}
}

// FormatRoutes prints a table like `ip route`.
func FormatRoutes(routes []Route) string {
	var b strings.Builder
	for _, r := range routes {
		fmt.Fprintln(&b, r)
	}
	return b.String()
}

// nextHop returns where a datagram to dst goes first: the route's gateway,
// or dst itself when it is on the link.
func (r Route) nextHop(dst netip.Addr) netip.Addr {
	if r.Gateway.IsValid() {
		return r.Gateway
	}
	return dst
}
