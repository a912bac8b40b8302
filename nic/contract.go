// Package nic is the LAN adapter, the NIC of the walk (wire -> NIC ->
// ARP/IP -> ICMP/UDP/TCP -> sockets -> httpd): the Ethernet frame and its
// FCS (ethernet.go), the adapter's receive path (PHY, size check, FCS check,
// destination-MAC filter, RX ring, interrupt) and the driver that hands
// frames to protocols by EtherType (receive.go), and the transmit path
// (nic.go).
//
// The receive path follows "How Network Works" ch. 6 step by step; each
// stage is a logged step with a named drop:
//
//	phy   bits arrive (the medium may have flipped some)
//	size  runt (< 64 bytes) or longer than the MTU allows   -> runt, frame_too_long
//	fcs   CRC-32 over the frame == its FCS?                 -> fcs_mismatch
//	mac   destination is mine, broadcast, a joined group,
//	      or we are promiscuous?                             -> mac_not_mine
//	ring  copy into a free RX ring slot (buffer memory)      -> ring_full
//	irq   the adapter interrupts; the driver drains the ring
//	driver EtherType 0x0800 IPv4, 0x0806 ARP, else           -> unknown_ethertype
//
// Imports point one way: nic knows only the clock, the step log and the
// standard library, and the packages next to it on the walk import nic.
// Below, the media a NIC attaches to (package wire: the simulated wire, TUN
// and TAP devices) import nic for the frame format and for the two
// interfaces declared here, Medium (what the NIC needs of a medium) and
// Port (what a medium delivers to); the NIC is handed its medium through
// Attach and never knows which one it is. Above, the protocols (package
// arp, and IPv4 through stack.Interface) implement Protocol and are
// registered with the driver by EtherType (Register) by the composition
// root, stack.Host.AddInterface.
//
// This file is the layer's contract: what the NIC offers the protocols above
// it, and what it needs from the medium below it. See docs/design.md for
// the whole walk and the contracts of the layers above.
package nic

// ---- Upwards: the driver hands received frames to protocols ----

// Protocol is a protocol the driver dispatches frames to, by EtherType
// (IPv4 to the IP layer through stack.Interface, ARP to package arp).
type Protocol interface {
	// Receive takes one received frame. It runs on the host's event loop
	// and must finish the frame's walk on this host before it returns:
	// every outcome (deliver, drop with a reason, forward) is logged with
	// Frame: f.ID. f.Payload points into the RX ring slot, which is
	// reused once Receive returns: a protocol that keeps bytes (the IP
	// reassembler, a socket's receive buffer) copies them.
	Receive(f RxFrame)
}

// RxFrame is a received frame as the driver hands it up.
type RxFrame struct {
	NIC       *NIC
	ID        uint64 // the frame ID shared with the sender's copy
	Dst, Src  MAC
	EtherType EtherType
	Class     Class  // why the MAC filter accepted it
	Payload   []byte // after the 14-byte header, before the FCS; Ethernet padding included
}

// Class says why the destination-MAC filter let a frame in, like Linux's
// skb->pkt_type. IP drops ClassOtherHost frames: a promiscuous NIC shows
// them to a capture, but they are not for this host.
type Class uint8

const (
	ClassHost      Class = iota // addressed to this NIC's own MAC
	ClassBroadcast              // ff:ff:ff:ff:ff:ff
	ClassMulticast              // a group this NIC joined
	ClassOtherHost              // for somebody else; accepted only in promiscuous mode
)

func (c Class) String() string {
	switch c {
	case ClassHost:
		return "mine"
	case ClassBroadcast:
		return "broadcast"
	case ClassMulticast:
		return "multicast"
	case ClassOtherHost:
		return "other host (promiscuous)"
	}
	return "?"
}

// ---- Downwards: the medium the PHY is attached to ----

// Medium is what a NIC's PHY is attached to: the simulated wire (hub or
// switch), or a TUN/TAP device (package wire has them all). A medium
// delivers the bits of a frame, possibly damaged, to the other ports; it
// never looks inside them except as a switch reads the destination and
// source MACs.
type Medium interface {
	// Transmit carries one frame (header, payload, padding and FCS) from
	// port from. The medium must not keep bits after it returns; it
	// copies what it delivers later.
	Transmit(from Port, bits []byte, id uint64)
}

// Port is one attachment to a medium: the PHY of a NIC.
type Port interface {
	// Arrive is called by the medium, on the event loop, when a frame's
	// bits reach this port. bits is only valid during the call: the port
	// copies what it keeps (the NIC into its RX ring, a wire into its
	// delivery, gVisor into its own buffers), so that a device medium can
	// read the next packet into the same memory (wire/tun.go).
	Arrive(bits []byte, id uint64)
	// PortName names the port in the medium's steps, e.g. "client/eth0".
	PortName() string
}

// ---- Inside the adapter: the receive checks, replaceable ----

// FrameFilter is the adapter's two hardware checks on a received frame, the
// FCS and the destination MAC ("How Network Works" ch. 6), behind an
// interface so that a student's implementation can sit in the NIC (the
// implementation lab impl-fcs-mac, labs/impl). Config.Filter nil means
// StandardFilter. The NIC calls the filter on its event loop, once per
// frame that passed the size check, and logs and counts its verdicts itself.
type FrameFilter interface {
	// CheckFCS computes the CRC-32 of frame (IEEE 802.3 clause 3.2.9:
	// over everything before the last 4 bytes) and compares it with the
	// FCS those 4 bytes carry, least significant byte first. frame is
	// at least HeaderLen+FCSLen bytes long and belongs to the caller.
	// carried and computed are shown in the step log.
	CheckFCS(frame []byte) (carried, computed uint32, ok bool)
	// Classify is the destination-MAC filter: whether a frame sent to dst
	// is for this NIC and why (its Class), given the NIC's own address,
	// the multicast groups it joined and promiscuous mode.
	Classify(dst MAC, nic FilterState) (Class, bool)
}

// FilterState is what the destination-MAC filter knows of its NIC.
type FilterState struct {
	Own         MAC          // the NIC's own address
	Promiscuous bool         // accept every frame
	Groups      map[MAC]bool // multicast groups joined; read only
}
