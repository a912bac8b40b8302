// Package arpcache is your NIC's ARP (RFC 826): the neighbour cache that
// turns the IPv4 address of the next hop into the MAC address a frame is
// sent to, with the queue of packets waiting for an answer, the requests
// and their retries, the replies for this NIC's own addresses, and expiry.
//
// Keep the package's name and New's signature: `packetwalk lab test
// impl-arp --impl DIR` builds the stack with New.
package arpcache

import (
	"fmt"
	"net/netip"
	"slices"

	"github.com/packetwalk/packetwalk/arp"
	"github.com/packetwalk/packetwalk/nic"
	"github.com/packetwalk/packetwalk/viz"
)

// Cache is your arp.Resolver, the ARP of one NIC. It is used on the host's
// event loop only (Output, Receive and your timers run one at a time): no
// locks are needed.
type Cache struct {
	nic   arp.NIC    // Name, MAC, Clock (your timers), Recorder (your steps), Transmit
	cfg   arp.Config // the limits and timers, defaults filled in
	addrs []netip.Addr
	// TODO: the entries by IPv4 address: state (arp.NeighborIncomplete,
	// Reachable, Failed), MAC address, when it was last confirmed, the
	// requests sent, its timer, and the packets waiting for it (copies).
}

// New returns your ARP for NIC n. cfg comes with arp's defaults filled in:
// CacheTimeout 60 s, RetryInterval 1 s, MaxRequests 3, QueueLimit 101,
// FailedTimeout 1 s.
func New(n arp.NIC, cfg arp.Config) arp.Resolver {
	return &Cache{nic: n, cfg: cfg}
}

// AddAddress makes the cache answer requests for ip, an address of this NIC.
func (c *Cache) AddAddress(ip netip.Addr) {
	if !slices.Contains(c.addrs, ip) {
		c.addrs = append(c.addrs, ip)
	}
}

// Output sends payload, a packet of EtherType t (IPv4), in a frame to the
// MAC address of nextHop, a neighbour on this NIC's link. id is the
// packet's frame ID: pass it to Transmit (0: take a new one).
//
// What to handle (the handout explains each):
//
//  1. a REACHABLE entry: c.nic.Transmit(mac, t, payload, id) at once;
//  2. no entry: create an INCOMPLETE one, queue a copy of the packet
//     (the caller reuses payload as soon as you return) and broadcast a
//     who-has request (see request); return nil;
//  3. an INCOMPLETE entry: queue the packet, send nothing; when
//     cfg.QueueLimit packets already wait, drop it (c.dropPacket with
//     viz.ReasonARPQueueFull) and return arp.ErrQueueFull;
//  4. a FAILED entry: drop it (viz.ReasonARPUnresolved) and return
//     arp.ErrUnresolved.
func (c *Cache) Output(nextHop netip.Addr, t nic.EtherType, payload []byte, id uint64) error {
	// TODO
	return nil
}

// request broadcasts one who-has for ip. An ARP packet you send is a frame
// of its own: take a new frame ID (c.nic.Recorder().NewFrameID()). The
// bytes: arp.Append(buf, arp.Request, our MAC, our first address, a zero
// MAC, ip); the frame goes to nic.Broadcast with nic.EtherTypeARP. Arm a
// timer (c.nic.Clock().AfterFunc(c.cfg.RetryInterval, ...)): if no reply
// came, ask again, and after cfg.MaxRequests requests give up: drop every
// queued packet (viz.ReasonARPUnresolved) and keep the entry FAILED for
// cfg.FailedTimeout, then delete it.
func (c *Cache) request(ip netip.Addr) {
	// TODO
}

// Receive takes one ARP frame the NIC received (f.Payload is the ARP
// packet: read it with arp.Packet(f.Payload); the NIC reuses the memory
// when you return). RFC 826's "Packet Reception", in order:
//
//  1. Check(): not Ethernet/IPv4, too short, unknown opcode:
//     c.dropFrame with viz.ReasonARPMalformed;
//  2. merge: if the sender's IP has an entry, update its MAC address,
//     make it REACHABLE for another cfg.CacheTimeout, and send the packets
//     waiting for it;
//  3. "Am I the target?" No: nothing more (c.dropFrame with
//     viz.ReasonARPNotForMe if nothing was merged). Yes: add the sender
//     if it was not merged, and if the opcode is a request, reply: our MAC
//     and the asked-for IP as the sender, the asker's as the target,
//     Transmit to the asker's MAC (a new frame ID).
func (c *Cache) Receive(f nic.RxFrame) {
	// TODO
}

// Entries lists the cache as `ip neigh` does, sorted by IP address
// (netip.Addr.Compare), with Dev c.nic.Name() and Queued the packets
// waiting.
func (c *Cache) Entries() []arp.Neighbor {
	// TODO
	return nil
}

// step logs one of your steps (a packet queued, a request sent, a reply,
// an entry learned or expired): the step log shows the student's ARP at
// work. frame is the packet's or frame's ID, 0 for none.
func (c *Cache) step(step string, v viz.Verdict, frame uint64, format string, args ...any) {
	if r := c.nic.Recorder(); r.On() {
		r.Emit(viz.Event{Layer: viz.LayerARP, Step: step, Verdict: v, Frame: frame, Msg: fmt.Sprintf(format, args...)})
	}
}

// dropPacket logs that a packet from Output was dropped, and why (every
// drop has a name; the graded tests look for these steps), and ends the
// packet's walk.
func (c *Cache) dropPacket(step string, reason viz.Reason, frame uint64, format string, args ...any) {
	if r := c.nic.Recorder(); r.On() {
		r.Emit(viz.Event{Layer: viz.LayerARP, Step: step, Verdict: viz.Drop, Reason: reason, Frame: frame, Msg: fmt.Sprintf(format, args...)})
		r.EndWalk(frame)
	}
}

// dropFrame logs that a received ARP frame was dropped (the NIC's driver
// ends its walk when Receive returns).
func (c *Cache) dropFrame(step string, reason viz.Reason, frame uint64, format string, args ...any) {
	if r := c.nic.Recorder(); r.On() {
		r.Emit(viz.Event{Layer: viz.LayerARP, Step: step, Verdict: viz.Drop, Reason: reason, Frame: frame, Msg: fmt.Sprintf(format, args...)})
	}
}
