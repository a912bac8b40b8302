package ip

import (
	"fmt"
	"net/netip"
)

// This file is the IP layer's contract: what it needs from the links below
// it (a NIC with ARP, adapted by package stack, since ip does not import
// nic) and what it offers the transports above it: ICMP (package icmp),
// TCP (package tcp) and UDP (package udp), each registered by package
// stack (Layer.Register). Imports point one way: the transports import ip,
// ip imports none of them.
//
// ICMP sits on both sides of the seam, and the seam is two calls:
//
//   - Errors IP's walk decides on (protocol unreachable, time exceeded
//     while forwarding or reassembling, fragmentation needed, parameter
//     problem) are IP's to send, and a transport's too (UDP's port
//     unreachable): Layer.SendICMPError builds the message (the ICMP
//     format is in icmp.go) under the rules of RFC 1122 §3.2.2 and the
//     rate limit of RFC 1812 §4.3.2.8.
//   - Errors that arrive are checked by package icmp, the transport for
//     protocol 1, which hands each to Layer.DeliverICMPError: IP finds the
//     transport the quoted datagram belongs to in its table and calls its
//     ReceiveError.

// ---- Downwards: the links IP sends through ----

// Link is one network interface as IP sees it.
type Link interface {
	// Name names the interface in steps, e.g. "eth0".
	Name() string
	// MTU is the largest datagram the link carries unfragmented.
	MTU() int
	// Output sends datagram to nextHop, a neighbour on this link,
	// resolving its link-layer address first (ARP). id is the frame ID of
	// the step log. The link copies what it keeps.
	Output(nextHop netip.Addr, datagram []byte, id uint64) error
	// OutputBroadcast sends datagram to every station on the link.
	OutputBroadcast(datagram []byte, id uint64) error
}

// Inbound is a received datagram as the link hands it to IP.
type Inbound struct {
	Link  Link
	Frame uint64 // frame ID of the step log
	// OtherHost marks a frame the NIC accepted only because it is
	// promiscuous: IP drops it (ip_not_mine), as Linux drops
	// PACKET_OTHERHOST.
	OtherHost bool
	// LinkBroadcast marks a frame sent to the link's broadcast address.
	LinkBroadcast bool
	// Data is the frame's payload: the IPv4 header, its payload, and
	// possibly Ethernet padding after TotalLength. It is only valid
	// during the call (it is the NIC's ring memory).
	Data []byte
}

// ---- Upwards: the transports IP delivers to ----

// Transport is a protocol IP delivers datagrams to by protocol number: 1
// ICMP, 6 TCP, 17 UDP. A number nobody registered is answered with ICMP
// protocol unreachable (the protocol step, unknown_protocol).
type Transport interface {
	// Receive takes one datagram addressed to this host, already
	// checked and reassembled. It runs on the host's event loop and must
	// finish the walk before it returns (deliver, drop or answer), and
	// copy what it keeps: d.Payload may be ring memory.
	Receive(d Datagram)
	// ReceiveError takes an ICMP error (destination unreachable, time
	// exceeded) about a datagram this transport sent: quoted is the
	// original IP header and at least the first 8 bytes of its payload
	// (RFC 792), enough for the ports.
	ReceiveError(e ICMPError)
}

// Describer is what a Transport may offer besides: its own one-line
// summary of a datagram of its protocol, for the steps IP logs about it
// (header, send, forward), as tcpdump describes a UDP datagram by its
// ports. Without it, IP describes the datagram by its IP header.
type Describer interface {
	// Describe returns the line for h, a whole datagram (not a
	// fragment) whose IP header passed its checks, in the form of
	// IPv4.Summary ("IP 10.0.0.1.5353 > 10.0.0.2.53: UDP, length 12"),
	// or false to leave it to IP. It is called only while the step log
	// is on.
	Describe(h IPv4) (string, bool)
}

// Datagram is a received datagram for a transport.
type Datagram struct {
	Frame    uint64
	Link     Link
	Src, Dst netip.Addr
	Protocol Protocol
	TTL      uint8
	Header   IPv4   // the IP header (of the first fragment, if reassembled)
	Payload  []byte // the transport's bytes
	// Broadcast marks a datagram that was not for this host alone: sent
	// to a broadcast address (255.255.255.255 or a subnet's), or in a
	// link-layer broadcast frame. TCP, which is unicast only, drops it.
	Broadcast bool
}

// ICMPError is an ICMP error message handed to the transport that sent the
// datagram it quotes.
type ICMPError struct {
	Frame      uint64
	From       netip.Addr // the router or host that sent the error
	Type, Code uint8
	MTU        int    // next-hop MTU, for fragmentation needed (RFC 1191)
	Quoted     IPv4   // the original datagram's header + leading payload bytes
	Payload    []byte // Quoted's payload part (at least 8 bytes: the ports)
}

// Outbound is a datagram a transport asks IP to send.
type Outbound struct {
	Frame    uint64 // frame ID already used in the transport's steps; 0: a new one
	Src      netip.Addr
	Dst      netip.Addr
	Protocol Protocol
	TTL      uint8 // 0: the layer's default
	TOS      uint8
	DF       bool // don't fragment (TCP sets it, for path MTU discovery)
	// Options are the IP options (an echo reply's Record Route, RFC
	// 1122 §3.2.2.6): at most 40 bytes, well formed; Send pads them to a
	// multiple of 4.
	Options []byte
	Payload []byte
}

// ---- Inside the layer: the reassembler, replaceable ----

// FragmentReassembler gathers fragments into datagrams (RFC 791 §3.2, RFC
// 815). It sits behind an interface so that a student's reassembler can
// run in the stack (the implementation lab impl-reassembly, labs/impl);
// Config.Reassembler nil means this package's Reassembler, whose comments
// state the contract in full: Add copies what it keeps, returns the whole
// payload and the first fragment's header once no hole remains, logs every
// arrival and drop as a step, and calls ReassemblerConfig.OnTimeout when a
// datagram whose first fragment arrived times out (IP then sends ICMP Time
// Exceeded). It is called on the host's event loop only.
type FragmentReassembler interface {
	Add(f Fragment) (datagram, header []byte, done bool)
	// Pending reports how many datagrams are incomplete and how many
	// payload bytes they hold.
	Pending() (datagrams, bytes int)
}

// ---- Inside the layer: the routing table and the forwarding decision, replaceable ----

// Router is the host's routing table and, on a router, the decision what
// to do with a datagram addressed elsewhere. It sits behind an interface so
// that a student's router can run in the stack (the implementation lab
// impl-router, labs/impl); Config.Router nil means NewRouteTable. Every
// datagram the host sends or forwards is routed by Lookup. The layer keeps
// what is not the decision's: the martian and option checks before it, and
// after it the drops and ICMP errors it asks for, the step log, and
// building, fragmenting and sending the forwarded copy. It is called on
// the host's event loop only.
type Router interface {
	// Add puts r in the table; the layer has masked r.Prefix and filled
	// r.Src.
	Add(r Route)
	// Lookup returns the route whose prefix contains dst with the most
	// bits, the longest-prefix match of RFC 1812 §5.2.4.3; false when no
	// route contains dst.
	Lookup(dst netip.Addr) (Route, bool)
	// Routes lists the table, most specific first, as `ip route` shows it.
	Routes() []Route
	// Forward decides for a datagram to dst that arrived with TTL ttl
	// (RFC 1812 §5.3.1, §5.2.4): time exceeded when forwarding would take
	// the TTL to 0, no route when Lookup finds none, else send, with the
	// route, the next hop on its link and the decremented TTL.
	Forward(dst netip.Addr, ttl uint8) ForwardDecision
}

// ForwardVerdict is a router's decision for a datagram addressed elsewhere.
type ForwardVerdict uint8

const (
	// ForwardSend: send the copy with TTL Decision.TTL to NextHop on
	// Route.Link.
	ForwardSend ForwardVerdict = iota + 1
	// ForwardTimeExceeded: drop it (ttl_expired) and send ICMP Time
	// Exceeded, code 0 (RFC 792, RFC 1812 §5.3.1).
	ForwardTimeExceeded
	// ForwardNoRoute: drop it (no_route) and send ICMP Destination
	// Unreachable, code 0 net unreachable (RFC 1812 §5.2.7.1).
	ForwardNoRoute
)

func (v ForwardVerdict) String() string {
	switch v {
	case ForwardSend:
		return "send"
	case ForwardTimeExceeded:
		return "time-exceeded"
	case ForwardNoRoute:
		return "no-route"
	}
	return fmt.Sprintf("ForwardVerdict(%d)", uint8(v))
}

// ForwardDecision is what Router.Forward decided.
type ForwardDecision struct {
	Verdict ForwardVerdict
	Route   Route      // the matching route (ForwardSend)
	NextHop netip.Addr // Route.Gateway, or the destination itself when it is on the link
	TTL     uint8      // the forwarded copy's TTL: the arriving TTL minus one
}
