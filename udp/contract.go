package udp

import (
	"net/netip"

	"github.com/packetwalk/packetwalk/ip"
)

// This file is UDP's contract with the layers next to it.
//
// Upwards, UDP offers sockets: Layer.Bind returns an Endpoint, whose
// SendTo sends a datagram and whose Recv takes a queued one; Notify wakes
// the socket API (package stack) when a datagram or an ICMP error arrives.
// Nothing here blocks: blocking is the socket API's business.
//
// Downwards, UDP is an ip.Transport for protocol 17, registered by package
// stack: IP hands it each datagram for this host (Layer.Receive) and each
// ICMP error quoting a datagram it sent (Layer.ReceiveError). As an
// ip.Describer it gives IP the one-line summary of a UDP datagram for IP's
// own steps. It needs of IP what Network says.

// Network is what UDP needs of the IP layer (*ip.Layer).
type Network interface {
	// Send sends a datagram this host originates.
	Send(o ip.Outbound) error
	// SourceFor picks the source address toward dst, for a socket bound
	// to every address.
	SourceFor(dst netip.Addr) (netip.Addr, error)
	// IsMine says whether addr is one of this host's addresses (or
	// broadcasts): a socket can be bound only to those.
	IsMine(addr netip.Addr) (mine, broadcast bool)
	// SendICMPError answers a datagram nobody listens for with Port
	// Unreachable (RFC 1122 §4.1.3.1), within the rules and rate limit
	// of ICMP errors that IP applies.
	SendICMPError(h ip.IPv4, payload []byte, t ip.ICMPType, code ip.ICMPCode, info int, cause uint64)
}

var (
	_ ip.Transport = (*Layer)(nil)
	_ ip.Describer = (*Layer)(nil)
)
