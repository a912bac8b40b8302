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

func (t *routeTable) add(r Route) {
	t.routes = append(t.routes, r)
	sort.SliceStable(t.routes, func(i, j int) bool { return t.routes[i].Prefix.Bits() > t.routes[j].Prefix.Bits() })
}

func (t *routeTable) lookup(dst netip.Addr) (Route, bool) {
	for _, r := range t.routes {
		if r.Prefix.Contains(dst) {
			return r, true
		}
	}
	return Route{}, false
}

func (t *routeTable) list() []Route { return append([]Route(nil), t.routes...) }

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
