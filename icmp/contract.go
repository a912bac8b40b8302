package icmp

import (
	"net/netip"

	"github.com/packetwalk/packetwalk/ip"
)

// This file is ICMP's contract with the layers next to it.
//
// Upwards, ICMP offers ping: Layer.Echo sends an echo request, and
// OnEchoReply and OnICMPError hand the application (stack's Ping) the
// replies and the errors about its requests.
//
// Downwards, ICMP is an ip.Transport for protocol 1, registered by package
// stack: IP hands it each ICMP message for this host (Layer.Receive), and
// hands back, through its transport table, each error quoting an ICMP
// message this host sent (Layer.ReceiveError). The seam with IP runs both
// ways without ip importing this package:
//
//   - errors IP's walk decides on (protocol unreachable, time exceeded,
//     fragmentation needed, parameter problem) IP builds and sends itself,
//     with the message format of ip/icmp.go (ip.Layer.SendICMPError);
//   - errors that arrive are checked here, then given to the transport
//     they are about by IP's table (Network.DeliverICMPError).

// Network is what ICMP needs of the IP layer (*ip.Layer).
type Network interface {
	// Send sends a datagram this host originates (a reply, a request).
	Send(o ip.Outbound) error
	// SourceFor picks the source address toward dst, for the reply to a
	// request sent to a broadcast address.
	SourceFor(dst netip.Addr) (netip.Addr, error)
	// IsMine says whether addr is this host's, and whether it is one of
	// its broadcast addresses.
	IsMine(addr netip.Addr) (mine, broadcast bool)
	// EchoOptions returns the IP options an echo reply from src carries
	// for a request whose header, as received, is h (RFC 1122 §3.2.2.6):
	// its Record Route and Timestamp with src recorded again.
	EchoOptions(h ip.IPv4, src netip.Addr) ([]byte, error)
	// DeliverICMPError hands an error to the transport that sent the
	// datagram it quotes.
	DeliverICMPError(e ip.ICMPError)
}

var _ ip.Transport = (*Layer)(nil)
