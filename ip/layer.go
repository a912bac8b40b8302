package ip

import (
	"fmt"
	"net/netip"

	"github.com/packetwalk/packetwalk/clock"
	"github.com/packetwalk/packetwalk/viz"
)

// Defaults of the IP layer's settings; each can be changed in Config.
const (
	// DefaultTTL is the TTL of datagrams this host originates (Linux's
	// net.ipv4.ip_default_ttl).
	DefaultTTL = 64
	// DefaultICMPErrorsPerSecond and DefaultICMPErrorBurst rate-limit the
	// ICMP errors a host sends, as RFC 1812 §4.3.2.8 asks, with Linux's
	// defaults (net.ipv4.icmp_msgs_per_sec, icmp_msgs_burst): a flood of
	// bad packets must not turn the host into a flood of ICMP.
	DefaultICMPErrorsPerSecond = 1000
	DefaultICMPErrorBurst      = 50
)

// Config describes one host's IP layer.
type Config struct {
	Clock    clock.Clock
	Recorder *viz.Recorder
	// Forwarding makes the host a router: datagrams for other hosts are
	// forwarded (TTL decremented) instead of dropped as ip_not_mine.
	Forwarding bool
	// DefaultTTL for datagrams this host sends; 0 means DefaultTTL.
	DefaultTTL uint8
	// Reassembly limits; its Clock and Recorder are filled in from here.
	Reassembly ReassemblerConfig
	// Reassembler builds the layer's reassembler from Reassembly (with
	// Clock, Recorder and OnTimeout filled in); nil means NewReassembler.
	// A lab puts a student's reassembler here.
	Reassembler func(ReassemblerConfig) FragmentReassembler
	// Router builds the layer's routing table and forwarding decision;
	// nil means NewRouteTable. A lab puts a student's router here.
	Router func() Router
	// ICMPErrorsPerSecond and ICMPErrorBurst are the ICMP error token
	// bucket; 0 means the defaults, a negative rate means no limit.
	ICMPErrorsPerSecond int
	ICMPErrorBurst      int
	// IDSecret keys the Identification values of the datagrams this
	// host sends (ident.go); a simulation derives it from its seed.
	IDSecret []byte
}

// Layer is the IPv4 layer of one host: its addresses, routing table,
// reassembler, the ICMP errors it sends, and the transports registered
// above it (ICMP, TCP, UDP). Like all protocol state it is owned by the
// host's event loop.
type Layer struct {
	rec        *viz.Recorder
	clock      clock.Clock
	forwarding bool
	ttl        uint8

	addrs      []address
	routes     Router
	transports map[Protocol]Transport
	reasm      FragmentReassembler
	ids        idGenerator // Identification of the datagrams sent (ident.go)

	// txBuf holds the datagram being sent when it needs no fragmenting,
	// and txOne the one-piece list around it: the link copies what it
	// keeps, so one buffer serves every datagram and sending allocates
	// nothing. txBusy guards against a link that would send again from
	// inside Output.
	txBuf     []byte
	txOne     [1][]byte
	txBusy    bool
	icmpLimit tokenBucket // the ICMP errors IP sends (icmp_errors.go)
	// routeTexts are the routes forwarding used, as Route.String gives
	// them, for the route step: made once per route rather than once per
	// forwarded datagram (forward.go). Cleared when it grows past
	// maxRouteTexts, which a routing table of a handful of routes never
	// reaches.
	routeTexts map[routeKey]string

	stats Stats
}

// address is one of the host's addresses and the link it is on.
type address struct {
	prefix netip.Prefix
	link   Link
}

// NewLayer returns an IP layer with no addresses and no routes.
func NewLayer(cfg Config) *Layer {
	if cfg.DefaultTTL == 0 {
		cfg.DefaultTTL = DefaultTTL
	}
	rc := cfg.Reassembly
	rc.Clock, rc.Recorder = cfg.Clock, cfg.Recorder
	l := &Layer{
		rec:        cfg.Recorder,
		clock:      cfg.Clock,
		forwarding: cfg.Forwarding,
		ttl:        cfg.DefaultTTL,
		transports: make(map[Protocol]Transport),
		icmpLimit:  newTokenBucket(cfg.Clock, cfg.ICMPErrorsPerSecond, cfg.ICMPErrorBurst),
		ids:        newIDGenerator(cfg.IDSecret),
	}
	l.routes = NewRouteTable()
	if cfg.Router != nil {
		l.routes = cfg.Router()
	}
	rc.OnTimeout = l.reassemblyTimedOut
	if cfg.Reassembler != nil {
		l.reasm = cfg.Reassembler(rc)
	} else {
		l.reasm = NewReassembler(rc)
	}
	return l
}

// AddAddress gives the host address prefix.Addr() on link, and the on-link
// route to prefix.
func (l *Layer) AddAddress(link Link, prefix netip.Prefix) error {
	if !prefix.Addr().Is4() {
		return fmt.Errorf("ip: %s is not an IPv4 address", prefix)
	}
	l.addrs = append(l.addrs, address{prefix, link})
	l.routes.Add(Route{Prefix: prefix.Masked(), Link: link, Src: prefix.Addr()})
	return nil
}

// AddRoute adds a route; a zero Src is filled with the host's address on
// the route's link.
func (l *Layer) AddRoute(r Route) error {
	if !r.Prefix.Addr().Is4() || r.Link == nil {
		return fmt.Errorf("ip: a route needs an IPv4 prefix and a link")
	}
	if !r.Src.IsValid() {
		for _, a := range l.addrs {
			if a.link == r.Link {
				r.Src = a.prefix.Addr()
				break
			}
		}
	}
	r.Prefix = r.Prefix.Masked()
	l.routes.Add(r)
	return nil
}

// Routes returns the routing table, most specific first.
func (l *Layer) Routes() []Route { return l.routes.Routes() }

// Addresses returns the host's addresses.
func (l *Layer) Addresses() []netip.Prefix {
	out := make([]netip.Prefix, len(l.addrs))
	for i, a := range l.addrs {
		out[i] = a.prefix
	}
	return out
}

// Register makes IP deliver datagrams of protocol p to t, and the ICMP
// errors quoting datagrams of protocol p (DeliverICMPError). Package stack
// registers ICMP (1), TCP (6) and UDP (17).
func (l *Layer) Register(p Protocol, t Transport) { l.transports[p] = t }

// Reassembler returns the layer's reassembler, for its counters; nil if
// Config.Reassembler put another one in its place.
func (l *Layer) Reassembler() *Reassembler { r, _ := l.reasm.(*Reassembler); return r }

// Stats returns the layer's counters.
func (l *Layer) Stats() Stats { return l.stats }

// Stats are the IP layer's counters, named after the Ip: line of Linux's
// /proc/net/snmp (RFC 4293's ipSystemStats), and the ICMP errors IP sent
// (ICMPOutMsgs) or refused to send over the rate limit; package icmp and
// package udp count their own messages.
type Stats struct {
	InReceives, InHdrErrors, InAddrErrors, InUnknownProtos, InDiscards, InDelivers uint64
	ForwDatagrams, OutRequests, OutNoRoutes, OutDiscards                           uint64
	FragOKs, FragFails, FragCreates                                                uint64
	ICMPOutMsgs, ICMPOutRateLimited                                                uint64
}

// IsMine reports whether dst is addressed to this host: one of its
// addresses, the limited broadcast 255.255.255.255, or the directed
// broadcast of one of its subnets (RFC 1122 §3.3.6). broadcast says which.
func (l *Layer) IsMine(dst netip.Addr) (mine, broadcast bool) {
	if dst == limitedBroadcast {
		return true, true
	}
	for _, a := range l.addrs {
		if a.prefix.Addr() == dst {
			return true, false
		}
		if a.prefix.Bits() < 31 && directedBroadcast(a.prefix) == dst {
			return true, true
		}
	}
	return false, false
}

var limitedBroadcast = netip.AddrFrom4([4]byte{255, 255, 255, 255})

// directedBroadcast returns the all-ones host address of prefix.
func directedBroadcast(p netip.Prefix) netip.Addr {
	a := p.Masked().Addr().As4()
	bits := p.Bits()
	for i := 0; i < 4; i++ {
		for b := 0; b < 8; b++ {
			if i*8+b >= bits {
				a[i] |= 0x80 >> b
			}
		}
	}
	return netip.AddrFrom4(a)
}

// isBroadcastOn reports whether dst is a broadcast address on link.
func (l *Layer) isBroadcastOn(link Link, dst netip.Addr) bool {
	if dst == limitedBroadcast {
		return true
	}
	for _, a := range l.addrs {
		if a.link == link && a.prefix.Bits() < 31 && directedBroadcast(a.prefix) == dst {
			return true
		}
	}
	return false
}
