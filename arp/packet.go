package arp

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"

	"github.com/packetwalk/packetwalk/nic"
	"github.com/packetwalk/packetwalk/viz"
)

// An ARP packet for Ethernet and IPv4 (RFC 826, "Packet format"), the
// payload of a frame with EtherType 0x0806. RFC 826 defines the format for
// any pair of hardware and protocol; with 6-byte MACs and 4-byte IPv4
// addresses it is always 28 bytes (Ethernet pads it to 46):
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|   Hardware type (ar$hrd) = 1  | Protocol type (ar$pro) 0x0800 |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|   ar$hln = 6  |   ar$pln = 4  |     Opcode (ar$op) 1 or 2     |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|           Sender hardware address (ar$sha, 6 bytes)           |
//	+                               +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                               |    Sender protocol address    |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+       (ar$spa, 4 bytes)       +
//	|                               |    Target hardware address    |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+       (ar$tha, 6 bytes)       +
//	|                                                               |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|           Target protocol address (ar$tpa, 4 bytes)           |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// A request fills everything but the target hardware address, which is
// what it asks for (it is sent as zeros); the reply swaps sender and target
// and fills in the answer as the sender hardware address.
const (
	PacketLen = 28 // an Ethernet/IPv4 ARP packet, without Ethernet padding

	arpHTypeEthernet = 1      // ar$hrd for Ethernet (RFC 826 calls it ares_hrd$Ethernet)
	arpPTypeIPv4     = 0x0800 // ar$pro: the EtherType of the protocol being resolved
	arpHLenEthernet  = 6
	arpPLenIPv4      = 4

	arpOffHType = 0
	arpOffPType = 2
	arpOffHLen  = 4
	arpOffPLen  = 5
	arpOffOp    = 6
	arpOffSHA   = 8
	arpOffSPA   = 14
	arpOffTHA   = 18
	arpOffTPA   = 24
)

// Op is ar$op, the operation code.
type Op uint16

const (
	Request Op = 1 // ares_op$REQUEST: who has this protocol address?
	Reply   Op = 2 // ares_op$REPLY: it is at this hardware address
)

func (o Op) String() string {
	switch o {
	case Request:
		return "Request"
	case Reply:
		return "Reply"
	}
	return fmt.Sprintf("op %d", uint16(o))
}

// ErrMalformed is wrapped by every error Check returns: the receive path
// drops such packets with the arp_malformed reason.
var ErrMalformed = errors.New("malformed ARP packet")

// Packet is a view of an ARP packet's bytes (an Ethernet frame's
// payload, padding included). Accessors do not check the length: call
// Check first on bytes from outside.
type Packet []byte

// HType returns ar$hrd, the hardware type (1 for Ethernet).
func (p Packet) HType() uint16 { return binary.BigEndian.Uint16(p[arpOffHType:]) }

// PType returns ar$pro, the protocol type (0x0800 for IPv4).
func (p Packet) PType() uint16 { return binary.BigEndian.Uint16(p[arpOffPType:]) }

// HLen returns ar$hln, the length of a hardware address in bytes.
func (p Packet) HLen() uint8 { return p[arpOffHLen] }

// PLen returns ar$pln, the length of a protocol address in bytes.
func (p Packet) PLen() uint8 { return p[arpOffPLen] }

// Op returns ar$op.
func (p Packet) Op() Op { return Op(binary.BigEndian.Uint16(p[arpOffOp:])) }

// SenderMAC returns ar$sha.
func (p Packet) SenderMAC() (m nic.MAC) { copy(m[:], p[arpOffSHA:]); return }

// SenderIP returns ar$spa.
func (p Packet) SenderIP() netip.Addr { return netip.AddrFrom4([4]byte(p[arpOffSPA:])) }

// TargetMAC returns ar$tha (zeros in a request).
func (p Packet) TargetMAC() (m nic.MAC) { copy(m[:], p[arpOffTHA:]); return }

// TargetIP returns ar$tpa.
func (p Packet) TargetIP() netip.Addr { return netip.AddrFrom4([4]byte(p[arpOffTPA:])) }

// IsGratuitous reports whether the packet announces its sender's own
// binding: sender and target protocol addresses are the same (an ARP
// Announcement, RFC 5227 section 3, or a gratuitous reply). A probe
// (sender 0.0.0.0) is not gratuitous.
func (p Packet) IsGratuitous() bool {
	spa := p.SenderIP()
	return spa == p.TargetIP() && !spa.IsUnspecified()
}

// Check reports whether p is an ARP packet packetwalk understands:
// Ethernet hardware, IPv4 protocol, the matching address lengths, a request
// or a reply, and at least 28 bytes. RFC 826's reception algorithm starts
// with the same questions ("Do I have the hardware type in ar$hrd? ... Do I
// speak the protocol in ar$pro?"); it makes the length checks optional, but
// the accessors rely on them.
func (p Packet) Check() error {
	if p.valid() {
		return nil
	}
	return fmt.Errorf("%w: %s", ErrMalformed, p.malformed())
}

// valid reports whether p passes Check.
func (p Packet) valid() bool {
	return len(p) >= PacketLen && p.HType() == arpHTypeEthernet && p.PType() == arpPTypeIPv4 &&
		p.HLen() == arpHLenEthernet && p.PLen() == arpPLenIPv4 && (p.Op() == Request || p.Op() == Reply)
}

// malformed returns why p fails Check, or "".
func (p Packet) malformed() string {
	format, args, n := p.malformedStep()
	if format == "" {
		return ""
	}
	return string(viz.AppendFormat(nil, format, args[:n]))
}

// malformedPrefix begins the message of a malformed packet's drop:
// ErrMalformed's text, then malformedStep's.
const malformedPrefix = "malformed ARP packet: "

// malformedStep says why p fails Check as a format and its typed
// arguments (n of them), for the step log to make into text; "" if p
// passes.
func (p Packet) malformedStep() (format string, args [2]viz.Arg, n int) {
	// The fixed header first: its fields explain a short packet better
	// than its length does (a 52-byte IPv6-over-ARP packet is "protocol
	// 0x86dd", not "too short").
	if len(p) < arpOffSHA {
		return "%d bytes, shorter than the %d-byte ARP header", [2]viz.Arg{viz.Int(len(p)), viz.Int(arpOffSHA)}, 2
	}
	switch {
	case p.HType() != arpHTypeEthernet:
		return "hardware type %d is not Ethernet (1)", [2]viz.Arg{viz.Int(int(p.HType()))}, 1
	case p.PType() != arpPTypeIPv4:
		return "protocol type %#04x is not IPv4 (0x0800)", [2]viz.Arg{viz.Int(int(p.PType()))}, 1
	case p.HLen() != arpHLenEthernet:
		return "hardware address length %d is not 6", [2]viz.Arg{viz.Int(int(p.HLen()))}, 1
	case p.PLen() != arpPLenIPv4:
		return "protocol address length %d is not 4", [2]viz.Arg{viz.Int(int(p.PLen()))}, 1
	case p.Op() != Request && p.Op() != Reply:
		return "operation %d is neither request (1) nor reply (2)", [2]viz.Arg{viz.Int(int(p.Op()))}, 1
	case len(p) < PacketLen:
		return "%d bytes, shorter than the %d of an Ethernet/IPv4 ARP packet", [2]viz.Arg{viz.Int(len(p)), viz.Int(PacketLen)}, 2
	}
	return "", args, 0
}

// Append appends a 28-byte Ethernet/IPv4 ARP packet to b. A request
// passes the zero MAC as targetMAC: that is what it asks for. The
// addresses must be IPv4 (or IPv4-mapped IPv6); anything else is a
// programming error and panics, as netip.Addr.As4 does.
func Append(b []byte, op Op, senderMAC nic.MAC, senderIP netip.Addr, targetMAC nic.MAC, targetIP netip.Addr) []byte {
	spa, tpa := senderIP.As4(), targetIP.As4()
	b = binary.BigEndian.AppendUint16(b, arpHTypeEthernet)
	b = binary.BigEndian.AppendUint16(b, arpPTypeIPv4)
	b = append(b, arpHLenEthernet, arpPLenIPv4)
	b = binary.BigEndian.AppendUint16(b, uint16(op))
	b = append(b, senderMAC[:]...)
	b = append(b, spa[:]...)
	b = append(b, targetMAC[:]...)
	return append(b, tpa[:]...)
}

// String prints the packet as tcpdump does:
//
//	ARP, Request who-has 10.0.0.2 tell 10.0.0.1
//	ARP, Reply 10.0.0.2 is-at 02:00:00:00:00:02
//
// A request that names a target MAC (a unicast re-check) shows it in
// parentheses, as tcpdump does; a packet that fails Check says why.
func (p Packet) String() string {
	if d := p.malformed(); d != "" {
		return "ARP, malformed: " + d
	}
	kind, args, n := p.summaryArgs()
	return string(viz.AppendFormat(nil, summaryFormats[kind], args[:n]))
}

// The kinds of a valid packet's summary (String), and their formats.
const (
	summaryRequest       = iota // a request: who-has, tell
	summaryRequestTarget        // a request that names a target MAC
	summaryReply                // a reply: is-at
)

var (
	summaryFormats = [...]string{
		summaryRequest:       summaryRequestFmt,
		summaryRequestTarget: summaryRequestTargetFmt,
		summaryReply:         summaryReplyFmt,
	}
	// promiscuousFormats are the summaries followed by the drop of a
	// frame seen in promiscuous mode, whose last argument is the frame's
	// destination MAC.
	promiscuousFormats = [...]string{
		summaryRequest:       summaryRequestFmt + promiscuousFmt,
		summaryRequestTarget: summaryRequestTargetFmt + promiscuousFmt,
		summaryReply:         summaryReplyFmt + promiscuousFmt,
	}
)

const (
	summaryRequestFmt       = "ARP, Request who-has %s tell %s"
	summaryRequestTargetFmt = "ARP, Request who-has %s (%s) tell %s"
	summaryReplyFmt         = "ARP, Reply %s is-at %s"
	promiscuousFmt          = " seen in promiscuous mode, sent to %s: ARP does not learn from other hosts' frames"
)

// summaryArgs returns the kind of a valid packet's summary and its typed
// arguments (n of them), with room for one more after them.
func (p Packet) summaryArgs() (kind int, args [4]viz.Arg, n int) {
	if p.Op() == Request {
		if tha := p.TargetMAC(); tha != (nic.MAC{}) {
			return summaryRequestTarget, [4]viz.Arg{viz.Addr(p.TargetIP()), viz.MAC(tha), viz.Addr(p.SenderIP())}, 3
		}
		return summaryRequest, [4]viz.Arg{viz.Addr(p.TargetIP()), viz.Addr(p.SenderIP())}, 2
	}
	// Check admits only requests and replies.
	return summaryReply, [4]viz.Arg{viz.Addr(p.SenderIP()), viz.MAC(p.SenderMAC())}, 2
}
