// Package arp is ARP and the neighbour cache, the stop of the walk (wire ->
// NIC -> ARP/IP -> ICMP/UDP/TCP -> sockets -> httpd) where an IPv4 next hop
// becomes the MAC address a frame is sent to (RFC 826): the packet format
// (packet.go) and, for each NIC, the resolver that keeps the cache, queues
// packets while it asks, and answers for the NIC's own addresses
// (neighbor.go). Its steps are the arp layer's:
//
//	receive  check    hardware Ethernet, protocol IPv4, lengths, opcode;
//	                  a station's sender, not a group       -> arp_malformed
//	                  another host's frame seen promiscuously -> mac_not_mine
//	         conflict sender claims one of our addresses    -> arp_conflict
//	         update   RFC 826's merge: refresh what we know of the sender
//	         learn    the target is ours: add the sender
//	         request  the target is ours: reply (is-at)
//	         probe, gratuitous, target: not for us          -> arp_not_for_me
//	send     lookup   REACHABLE: send; none: resolve; FAILED -> arp_unresolved
//	         queue    wait for the answer                   -> arp_queue_full
//	         request  who-has, broadcast, retried; failed after MaxRequests
//	         resolved the queued packets go out; expire, evict
//
// Imports point one way: arp imports nic (the Ethernet frame format, the
// frames the driver hands up, and nic.Protocol, which ARP implements), never
// the reverse, and knows nothing of IP's layer: the IP side reaches it
// through stack's Interface. The composition root, stack.Host.AddInterface,
// makes an ARP for each NIC and registers it with the NIC's driver for
// EtherType 0x0806, as it registers IPv4 for 0x0800. Package wire imports
// arp for the packet format only: a TUN device, which has no link layer,
// answers the NIC's requests itself.
//
// This file is the package's contract: what ARP offers the layers above and
// beside it, and what it needs of the NIC below.
package arp

import (
	"net/netip"

	"github.com/packetwalk/packetwalk/clock"
	"github.com/packetwalk/packetwalk/nic"
	"github.com/packetwalk/packetwalk/viz"
)

// ---- Upwards: what ARP offers ----
//
// To IP (stack.Interface.Output): ARP.Output resolves a unicast next hop
// and sends the packet, or queues it until the reply comes.
//
// To the NIC's driver: ARP.Receive takes every ARP frame the NIC receives,
// once stack has registered the ARP for EtherType 0x0806.
//
// To labs and tools: ARP.Entries, the cache as `ip neigh` shows it.
var _ nic.Protocol = (*ARP)(nil)

// Resolver is what stack's Interface needs of a NIC's ARP: the four calls
// above. It is an interface so that a student's neighbour cache can run in
// the stack (the implementation lab impl-arp, labs/impl); Config.Resolver
// nil means this package's ARP, whose comments state the contract in full:
// Output sends at once to a REACHABLE neighbour, else queues a copy and
// broadcasts who-has (RFC 826), retried every RetryInterval up to
// MaxRequests, after which the queued packets are dropped (arp_unresolved);
// Receive answers requests for AddAddress's addresses and merges what a
// packet says of its sender; entries expire after CacheTimeout. Every call
// runs on the host's event loop.
type Resolver interface {
	nic.Protocol // Receive: every ARP frame the NIC receives
	AddAddress(ip netip.Addr)
	Output(nextHop netip.Addr, t nic.EtherType, payload []byte, id uint64) error
	Entries() []Neighbor
}

var _ Resolver = (*ARP)(nil)

// NewResolver returns the resolver of NIC n: cfg.Resolver's, given cfg
// with its defaults filled in, or this package's ARP when it is nil.
func NewResolver(n NIC, cfg Config) Resolver {
	if cfg.Resolver != nil {
		return cfg.Resolver(n, cfg.withDefaults())
	}
	return New(n, cfg)
}

// ---- Downwards: what ARP needs of the NIC ----

// NIC is the adapter ARP resolves for: its name and address, the clock and
// step log of its host, and the transmit path that puts ARP packets and
// resolved datagrams in frames. *nic.NIC implements it.
type NIC interface {
	Name() string
	MAC() nic.MAC
	Clock() clock.Clock
	Recorder() *viz.Recorder
	// Transmit sends payload in a frame of EtherType t to dst; it logs
	// its own drops (tx_too_long, no_carrier).
	Transmit(dst nic.MAC, t nic.EtherType, payload []byte, id uint64) error
}

var _ NIC = (*nic.NIC)(nil)
