package gvisorhost

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"strings"

	"github.com/packetwalk/packetwalk/nic"
)

// summarize describes an Ethernet frame (header and payload, without FCS) in
// one tcpdump-like phrase, e.g. "ARP who-has 10.0.0.2 tell 10.0.0.1" or
// "IPv4 10.0.0.1.49152 > 10.0.0.2.80 TCP [S] seq 1234 win 65535 len 0".
// Since gVisor's own steps are not traced, this is all the log says about
// what gVisor decided to send. It reads the bytes defensively: a short or
// odd packet gets a plainer description, never a panic.
func summarize(b []byte) string {
	if len(b) < nic.HeaderLen {
		return fmt.Sprintf("%d bytes", len(b))
	}
	t := nic.EtherType(binary.BigEndian.Uint16(b[12:14]))
	p := b[nic.HeaderLen:]
	switch t {
	case nic.EtherTypeARP:
		return summarizeARP(p)
	case nic.EtherTypeIPv4:
		return summarizeIPv4(p)
	}
	return fmt.Sprintf("EtherType %s, %d bytes", t, len(p))
}

// summarizeARP describes an Ethernet/IPv4 ARP packet (RFC 826).
func summarizeARP(p []byte) string {
	const arpLen = 28
	if len(p) < arpLen || binary.BigEndian.Uint16(p[0:2]) != 1 || binary.BigEndian.Uint16(p[2:4]) != 0x0800 {
		return fmt.Sprintf("ARP, %d bytes (not Ethernet/IPv4)", len(p))
	}
	var sha nic.MAC
	copy(sha[:], p[8:14])
	spa := netip.AddrFrom4([4]byte(p[14:18]))
	tpa := netip.AddrFrom4([4]byte(p[24:28]))
	switch op := binary.BigEndian.Uint16(p[6:8]); op {
	case 1:
		return fmt.Sprintf("ARP who-has %s tell %s", tpa, spa)
	case 2:
		return fmt.Sprintf("ARP reply %s is-at %s", spa, sha)
	default:
		return fmt.Sprintf("ARP op %d", op)
	}
}

// summarizeIPv4 describes an IPv4 datagram and what it carries.
func summarizeIPv4(p []byte) string {
	if len(p) < 20 || p[0]>>4 != 4 {
		return fmt.Sprintf("IPv4, %d bytes (malformed)", len(p))
	}
	ihl := int(p[0]&0x0f) * 4
	total := int(binary.BigEndian.Uint16(p[2:4]))
	if ihl < 20 || total < ihl || total > len(p) {
		return fmt.Sprintf("IPv4, %d bytes (malformed)", len(p))
	}
	src := netip.AddrFrom4([4]byte(p[12:16]))
	dst := netip.AddrFrom4([4]byte(p[16:20]))
	proto := p[9]
	flagsOff := binary.BigEndian.Uint16(p[6:8])
	more, off := flagsOff&0x2000 != 0, int(flagsOff&0x1fff)*8
	body := p[ihl:total]
	if off != 0 || more {
		// Only the first fragment holds the transport header; say what
		// the fragment is rather than misread its bytes.
		mf := ""
		if more {
			mf = " MF"
		}
		return fmt.Sprintf("IPv4 %s > %s proto %d fragment id %d offset %d%s, %d bytes",
			src, dst, proto, binary.BigEndian.Uint16(p[4:6]), off, mf, len(body))
	}
	switch proto {
	case 1:
		return fmt.Sprintf("IPv4 %s > %s %s", src, dst, summarizeICMP(body))
	case 6:
		return summarizeTCP(src, dst, body)
	case 17:
		if len(body) < 8 {
			return fmt.Sprintf("IPv4 %s > %s UDP, %d bytes (malformed)", src, dst, len(body))
		}
		return fmt.Sprintf("IPv4 %s.%d > %s.%d UDP len %d", src, binary.BigEndian.Uint16(body[0:2]),
			dst, binary.BigEndian.Uint16(body[2:4]), len(body)-8)
	}
	return fmt.Sprintf("IPv4 %s > %s proto %d, %d bytes", src, dst, proto, len(body))
}

// summarizeICMP describes an ICMPv4 message.
func summarizeICMP(m []byte) string {
	if len(m) < 8 {
		return fmt.Sprintf("ICMP, %d bytes (malformed)", len(m))
	}
	id, seq := binary.BigEndian.Uint16(m[4:6]), binary.BigEndian.Uint16(m[6:8])
	switch typ, code := m[0], m[1]; typ {
	case 8:
		return fmt.Sprintf("ICMP echo request id %d seq %d, %d bytes", id, seq, len(m)-8)
	case 0:
		return fmt.Sprintf("ICMP echo reply id %d seq %d, %d bytes", id, seq, len(m)-8)
	case 3:
		return fmt.Sprintf("ICMP destination unreachable code %d", code)
	case 11:
		return fmt.Sprintf("ICMP time exceeded code %d", code)
	default:
		return fmt.Sprintf("ICMP type %d code %d", typ, code)
	}
}

// summarizeTCP describes a TCP segment the way tcpdump does: flags in
// brackets ("." for ACK), sequence and acknowledgment numbers, window and
// payload length.
func summarizeTCP(src, dst netip.Addr, s []byte) string {
	if len(s) < 20 {
		return fmt.Sprintf("IPv4 %s > %s TCP, %d bytes (malformed)", src, dst, len(s))
	}
	dataOff := int(s[12]>>4) * 4
	if dataOff < 20 || dataOff > len(s) {
		return fmt.Sprintf("IPv4 %s > %s TCP, %d bytes (malformed)", src, dst, len(s))
	}
	flags := s[13]
	var f strings.Builder
	for _, fl := range []struct {
		bit  byte
		name byte
	}{{0x02, 'S'}, {0x01, 'F'}, {0x04, 'R'}, {0x08, 'P'}, {0x20, 'U'}, {0x10, '.'}} {
		if flags&fl.bit != 0 {
			f.WriteByte(fl.name)
		}
	}
	out := fmt.Sprintf("IPv4 %s.%d > %s.%d TCP [%s] seq %d", src, binary.BigEndian.Uint16(s[0:2]),
		dst, binary.BigEndian.Uint16(s[2:4]), f.String(), binary.BigEndian.Uint32(s[4:8]))
	if flags&0x10 != 0 {
		out += fmt.Sprintf(" ack %d", binary.BigEndian.Uint32(s[8:12]))
	}
	return out + fmt.Sprintf(" win %d len %d", binary.BigEndian.Uint16(s[14:16]), len(s)-dataOff)
}
