package ip

import (
	"encoding/binary"
	"fmt"
	"strings"

	"github.com/packetwalk/packetwalk/viz"
)

// An ICMP message (RFC 792), the payload of an IPv4 datagram with protocol 1:
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|     Type      |     Code      |          Checksum             |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|           Identifier          |        Sequence Number        |  echo
//	|            unused             |         Next-Hop MTU          |  unreachable, code 4
//	|    Pointer    |                   unused                      |  parameter problem
//	|                            unused                             |  other errors
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|     Data: the echo data, or, in an error, the IP header and   |
//	|     first 8 data bytes of the datagram that caused it ...     |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// The checksum covers the whole message, with no pseudo-header. An error
// quotes the offending datagram so that its sender can tell which of its
// conversations the error is about: 8 data bytes are enough for the ports
// of UDP and TCP (RFC 1122 §3.2.2).

// ICMPHeaderLen is the length of the fixed part of every ICMP message.
const ICMPHeaderLen = 8

// ICMPType is an ICMP message's type.
type ICMPType uint8

const (
	ICMPEchoReply        ICMPType = 0
	ICMPDestUnreachable  ICMPType = 3
	ICMPSourceQuench     ICMPType = 4 // deprecated by RFC 6633
	ICMPRedirect         ICMPType = 5
	ICMPEchoRequest      ICMPType = 8
	ICMPTimeExceeded     ICMPType = 11
	ICMPParameterProblem ICMPType = 12
	ICMPTimestamp        ICMPType = 13
	ICMPTimestampReply   ICMPType = 14
)

// IsError reports whether messages of this type report an error about a
// datagram, which they quote. A host never answers an error with an error
// (RFC 1122 §3.2.2), lest two hosts bounce errors forever.
func (t ICMPType) IsError() bool {
	switch t {
	case ICMPDestUnreachable, ICMPSourceQuench, ICMPRedirect, ICMPTimeExceeded, ICMPParameterProblem:
		return true
	}
	return false
}

func (t ICMPType) String() string {
	switch t {
	case ICMPEchoReply:
		return "echo reply"
	case ICMPDestUnreachable:
		return "destination unreachable"
	case ICMPSourceQuench:
		return "source quench"
	case ICMPRedirect:
		return "redirect"
	case ICMPEchoRequest:
		return "echo request"
	case ICMPTimeExceeded:
		return "time exceeded"
	case ICMPParameterProblem:
		return "parameter problem"
	case ICMPTimestamp:
		return "timestamp request"
	case ICMPTimestampReply:
		return "timestamp reply"
	}
	return fmt.Sprintf("type %d", uint8(t))
}

// ICMPCode refines an ICMP type; its meaning depends on the type.
type ICMPCode uint8

// Codes of Destination Unreachable (RFC 792; 13 from RFC 1812 §5.2.7.1).
const (
	ICMPNetUnreachable      ICMPCode = 0
	ICMPHostUnreachable     ICMPCode = 1
	ICMPProtocolUnreachable ICMPCode = 2 // no handler for the IP protocol
	ICMPPortUnreachable     ICMPCode = 3 // no UDP socket on the port
	ICMPFragmentationNeeded ICMPCode = 4 // too big for the next hop, and DF set
	ICMPSourceRouteFailed   ICMPCode = 5
	ICMPAdminProhibited     ICMPCode = 13 // a filter refused it
)

// Codes of Time Exceeded.
const (
	ICMPTTLExceeded            ICMPCode = 0 // a router decremented the TTL to zero
	ICMPReassemblyTimeExceeded ICMPCode = 1 // not every fragment arrived in time
)

// Codes of Parameter Problem (RFC 792; 1 from RFC 1122 §3.2.2.5, 2 from
// RFC 1812 §5.2.7.4).
const (
	ICMPPointerIndicatesError ICMPCode = 0 // the pointer names the octet at fault
	ICMPMissingOption         ICMPCode = 1 // a required option is missing
	ICMPBadLength             ICMPCode = 2
)

// ICMPCodeName names code c of type t for narration, e.g. "port
// unreachable"; it returns "" for types whose codes have no names.
func ICMPCodeName(t ICMPType, c ICMPCode) string {
	switch t {
	case ICMPDestUnreachable:
		switch c {
		case ICMPNetUnreachable:
			return "network unreachable"
		case ICMPHostUnreachable:
			return "host unreachable"
		case ICMPProtocolUnreachable:
			return "protocol unreachable"
		case ICMPPortUnreachable:
			return "port unreachable"
		case ICMPFragmentationNeeded:
			return "fragmentation needed"
		case ICMPSourceRouteFailed:
			return "source route failed"
		case ICMPAdminProhibited:
			return "administratively prohibited"
		}
	case ICMPTimeExceeded:
		switch c {
		case ICMPTTLExceeded:
			return "TTL exceeded in transit"
		case ICMPReassemblyTimeExceeded:
			return "fragment reassembly time exceeded"
		}
	case ICMPParameterProblem:
		switch c {
		case ICMPPointerIndicatesError:
			return "pointer indicates the error"
		case ICMPMissingOption:
			return "required option missing"
		case ICMPBadLength:
			return "bad length"
		}
	case ICMPEchoReply, ICMPEchoRequest, ICMPTimestamp, ICMPTimestampReply, ICMPSourceQuench:
		if c == 0 {
			return ""
		}
	}
	return fmt.Sprintf("code %d", uint8(c))
}

// ICMP is a view of an ICMP message's bytes: exactly the IP payload.
// Accessors do not check lengths: call Check first on bytes from outside.
type ICMP []byte

// Type returns the message type.
func (m ICMP) Type() ICMPType { return ICMPType(m[0]) }

// Code returns the message code.
func (m ICMP) Code() ICMPCode { return ICMPCode(m[1]) }

// Checksum returns the checksum carried in the message.
func (m ICMP) Checksum() uint16 { return binary.BigEndian.Uint16(m[2:]) }

// ID returns an echo's identifier, which ping sets to tell its runs apart.
func (m ICMP) ID() uint16 { return binary.BigEndian.Uint16(m[4:]) }

// Seq returns an echo's sequence number.
func (m ICMP) Seq() uint16 { return binary.BigEndian.Uint16(m[6:]) }

// NextHopMTU returns the MTU a Fragmentation Needed message reports: the
// low 16 bits of the word RFC 792 left unused (RFC 1191 §4). Path MTU
// discovery lowers its estimate to it; 0 comes from a router older than
// RFC 1191.
func (m ICMP) NextHopMTU() uint16 { return binary.BigEndian.Uint16(m[6:]) }

// Pointer returns the octet of the quoted header that a Parameter Problem
// (code 0) is about, counted from the header's first byte (RFC 792).
func (m ICMP) Pointer() uint8 { return m[4] }

// Data returns what follows the 8-byte header: an echo's data or an
// error's quote.
func (m ICMP) Data() []byte { return m[ICMPHeaderLen:] }

// Quoted returns the start of the datagram an error message is about: its
// header and first data bytes, cut short, so that only the header's
// accessors and the first 8 bytes after it are meaningful (Check makes sure
// they are there).
func (m ICMP) Quoted() IPv4 { return IPv4(m[ICMPHeaderLen:]) }

// ComputeChecksum returns the checksum the message should carry, summing it
// with the checksum field taken as zero.
func (m ICMP) ComputeChecksum() uint16 { return Checksum(m[4:], uint32(Sum(m[:2], 0))) }

// Check validates bytes that arrived as an ICMP message and returns a
// *CheckError naming the first check that failed: the 8-byte header is
// there (icmp_malformed), the checksum (icmp_checksum), and an error
// message quotes at least an IPv4 header and 8 bytes of its data
// (icmp_malformed), which is what RFC 792 requires and what the receiver
// needs to find the socket the error is for (Linux drops shorter quotes
// too, in icmp_socket_deliver).
func (m ICMP) Check() error {
	if len(m) < ICMPHeaderLen {
		return checkErr(viz.ReasonICMPMalformed, "only %d bytes, shorter than the 8-byte ICMP header", len(m))
	}
	if Checksum(m, 0) != 0 {
		return checkErr(viz.ReasonICMPChecksum, "checksum 0x%04x, computed 0x%04x", m.Checksum(), m.ComputeChecksum())
	}
	if !m.Type().IsError() {
		return nil
	}
	q := m.Quoted()
	switch {
	case len(q) < IPv4MinHeaderLen:
		return checkErr(viz.ReasonICMPMalformed, "%s quotes %d bytes, less than an IPv4 header", m.Type(), len(q))
	case q.Version() != 4 || q.IHL() < 5:
		return checkErr(viz.ReasonICMPMalformed, "%s quotes a datagram with version %d and IHL %d, not an IPv4 header", m.Type(), q.Version(), q.IHL())
	case len(q) < q.HeaderLen()+8:
		return checkErr(viz.ReasonICMPMalformed, "%s quotes %d bytes, less than the %d-byte IPv4 header and 8 bytes of its data", m.Type(), len(q), q.HeaderLen())
	}
	return nil
}

// Name names the message for narration: "echo request", "destination
// unreachable (port unreachable)".
func (m ICMP) Name() string {
	if c := ICMPCodeName(m.Type(), m.Code()); c != "" {
		return m.Type().String() + " (" + c + ")"
	}
	return m.Type().String()
}

// NameFormats are Name's formats, by the kind NameArgs returns: the type,
// and the type with its code.
var NameFormats = [2]string{"%s", "%s (%s)"}

// NameArgs is Name as NameFormats[kind] and its n typed arguments, for a
// step to make into text when a sink reads it.
func (m ICMP) NameArgs() (kind int, args [2]viz.Arg, n int) {
	if c := ICMPCodeName(m.Type(), m.Code()); c != "" {
		return 1, [2]viz.Arg{viz.Str(m.Type().String()), viz.Str(c)}, 2
	}
	return 0, [2]viz.Arg{viz.Str(m.Type().String())}, 1
}

// Summary describes the message in one tcpdump-like line, e.g.
//
//	ICMP echo request, id 1, seq 1, length 64
//	ICMP destination unreachable (port unreachable) for UDP 10.0.0.1.5353 > 10.0.0.2.53, length 36
//	ICMP destination unreachable (fragmentation needed, mtu 1400) for ICMP 10.0.0.1 > 10.0.0.2, length 36
//
// The length is the whole ICMP message's. Summary accepts any bytes, so a
// narration can describe what it drops.
func (m ICMP) Summary() string {
	if len(m) < ICMPHeaderLen {
		return fmt.Sprintf("ICMP truncated, %d bytes", len(m))
	}
	var s strings.Builder
	s.WriteString("ICMP ")
	switch t := m.Type(); {
	case t == ICMPEchoRequest || t == ICMPEchoReply:
		fmt.Fprintf(&s, "%s, id %d, seq %d", m.Name(), m.ID(), m.Seq())
	case t == ICMPDestUnreachable && m.Code() == ICMPFragmentationNeeded:
		fmt.Fprintf(&s, "%s (%s, mtu %d)", t, ICMPCodeName(t, m.Code()), m.NextHopMTU())
	case t == ICMPParameterProblem && m.Code() == ICMPPointerIndicatesError:
		fmt.Fprintf(&s, "%s (pointer %d)", t, m.Pointer())
	default:
		s.WriteString(m.Name())
	}
	if m.Type().IsError() {
		if q := DescribeQuote(m.Quoted()); q != "" {
			s.WriteString(" for ")
			s.WriteString(q)
		}
	}
	fmt.Fprintf(&s, ", length %d", len(m))
	return s.String()
}

// DescribeQuote names the conversation a quoted datagram belongs to, e.g.
// "UDP 10.0.0.1.5353 > 10.0.0.2.53", or returns "" if the quote is too
// short to tell.
func DescribeQuote(q IPv4) string {
	kind, args, n := QuoteArgs(q)
	if kind == 0 {
		return ""
	}
	return string(viz.AppendFormat(nil, QuoteFormats[kind], args[:n]))
}

// QuoteFormats are DescribeQuote's formats, by the kind QuoteArgs returns:
// nothing (a quote too short to tell), a conversation with ports (UDP,
// TCP), one without.
var QuoteFormats = [3]string{"", "%s %s.%d > %s.%d", "%s %s > %s"}

// QuoteArgs is DescribeQuote as QuoteFormats[kind] and its n typed
// arguments, for a step to make into text when a sink reads it.
func QuoteArgs(q IPv4) (kind int, args [5]viz.Arg, n int) {
	if len(q) < IPv4MinHeaderLen || q.Version() != 4 || q.IHL() < 5 || len(q) < q.HeaderLen() {
		return 0, args, 0
	}
	p, data := q.Protocol(), q[q.HeaderLen():]
	if (p == ProtocolUDP || p == ProtocolTCP) && q.FragmentOffset() == 0 && len(data) >= 4 {
		// UDP and TCP both start with the source and destination ports.
		return 1, [5]viz.Arg{viz.Str(p.String()), viz.Addr(q.Src()), viz.Int(int(binary.BigEndian.Uint16(data[0:]))),
			viz.Addr(q.Dst()), viz.Int(int(binary.BigEndian.Uint16(data[2:])))}, 5
	}
	return 2, [5]viz.Arg{viz.Str(p.String()), viz.Addr(q.Src()), viz.Addr(q.Dst())}, 3
}

// AppendEchoRequest appends an Echo Request (what ping sends) to b.
func AppendEchoRequest(b []byte, id, seq uint16, data []byte) []byte {
	return appendICMP(b, ICMPEchoRequest, 0, uint32(id)<<16|uint32(seq), data)
}

// AppendEchoReply appends an Echo Reply to b. RFC 792: the reply returns the
// request's identifier, sequence number and data unchanged.
func AppendEchoReply(b []byte, id, seq uint16, data []byte) []byte {
	return appendICMP(b, ICMPEchoReply, 0, uint32(id)<<16|uint32(seq), data)
}

// AppendDestUnreachable appends a Destination Unreachable about datagram
// orig to b. nextHopMTU is sent only with ICMPFragmentationNeeded (RFC 1191
// §4); with other codes the field is unused and zero.
func AppendDestUnreachable(b []byte, code ICMPCode, nextHopMTU uint16, orig IPv4) []byte {
	var rest uint32
	if code == ICMPFragmentationNeeded {
		rest = uint32(nextHopMTU)
	}
	return appendICMP(b, ICMPDestUnreachable, code, rest, quote(orig))
}

// AppendTimeExceeded appends a Time Exceeded about datagram orig to b: code
// ICMPTTLExceeded from a router that decremented the TTL to zero,
// ICMPReassemblyTimeExceeded from a host whose reassembly timer ran out
// (RFC 792; RFC 1122 §3.3.2 says to send it only if fragment zero arrived,
// and orig is then that fragment).
func AppendTimeExceeded(b []byte, code ICMPCode, orig IPv4) []byte {
	return appendICMP(b, ICMPTimeExceeded, code, 0, quote(orig))
}

// AppendParameterProblem appends a Parameter Problem, code 0, about
// datagram orig to b, its pointer at the octet of orig's header where the
// problem was found (RFC 792; RFC 1122 §3.2.2.5: a host SHOULD send it).
func AppendParameterProblem(b []byte, pointer uint8, orig IPv4) []byte {
	return appendICMP(b, ICMPParameterProblem, ICMPPointerIndicatesError, uint32(pointer)<<24, quote(orig))
}

// appendICMP appends a message with the given header fields and data,
// checksummed.
func appendICMP(b []byte, t ICMPType, c ICMPCode, rest uint32, data []byte) []byte {
	start := len(b)
	b = append(b, byte(t), byte(c), 0, 0)
	b = binary.BigEndian.AppendUint32(b, rest)
	b = append(b, data...)
	binary.BigEndian.PutUint16(b[start+2:], Checksum(b[start:], 0))
	return b
}

// quote returns what an error carries of datagram orig: its IP header and
// the first 8 bytes of its data (RFC 792), without any link-layer padding.
// RFC 1812 §4.3.2.3 lets routers quote more; 8 bytes keep the narration
// short and are all a receiver needs.
func quote(orig IPv4) []byte {
	n := len(orig)
	if n >= IPv4MinHeaderLen {
		n = min(n, int(orig.TotalLength()), orig.HeaderLen()+8)
	}
	return orig[:n]
}
