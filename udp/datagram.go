package udp

import (
	"encoding/binary"
	"fmt"
	"net/netip"

	"github.com/packetwalk/packetwalk/ip"
	"github.com/packetwalk/packetwalk/viz"
)

// A UDP datagram (RFC 768), the payload of an IPv4 datagram with protocol 17:
//
//	 0      7 8     15 16    23 24    31
//	+--------+--------+--------+--------+
//	|     Source      |   Destination   |
//	|      Port       |      Port       |
//	+--------+--------+--------+--------+
//	|                 |                 |
//	|     Length      |    Checksum     |
//	+--------+--------+--------+--------+
//	|
//	|          data octets ...
//	+---------------- ...
//
// Length counts header and data. The checksum covers the pseudo-header (see
// ip.PseudoHeaderSum), the header and the data. Over IPv4 it is optional: a
// sender that computed none sends 0, so a sender whose sum comes out as 0
// sends 0xffff instead, which is the same number in one's-complement
// arithmetic.

// HeaderLen is the length of the UDP header.
const HeaderLen = 8

// Datagram is a view of a UDP datagram's bytes: the IP payload. The bytes may run
// past Length; Payload cuts them off. Accessors do not check lengths: call
// Check first on bytes from outside.
type Datagram []byte

// SrcPort returns the source port.
func (u Datagram) SrcPort() uint16 { return binary.BigEndian.Uint16(u[0:]) }

// DstPort returns the destination port, which demultiplexes the datagram to
// a socket.
func (u Datagram) DstPort() uint16 { return binary.BigEndian.Uint16(u[2:]) }

// Length returns the Length field: header and data, in bytes.
func (u Datagram) Length() uint16 { return binary.BigEndian.Uint16(u[4:]) }

// Checksum returns the checksum carried in the header; 0 means none.
func (u Datagram) Checksum() uint16 { return binary.BigEndian.Uint16(u[6:]) }

// Payload returns the data, up to Length.
func (u Datagram) Payload() []byte { return u[HeaderLen:u.Length()] }

// ComputeChecksum returns the checksum the datagram should carry between
// addresses src and dst, summing it with the checksum field taken as zero,
// and 0xffff where the sum gives 0 (RFC 768). Length must be valid.
func (u Datagram) ComputeChecksum(src, dst netip.Addr) uint16 {
	n := u.Length()
	sum := ip.Sum(u[:6], ip.PseudoHeaderSum(src, dst, ip.ProtocolUDP, n))
	if c := ip.Checksum(u[HeaderLen:n], uint32(sum)); c != 0 {
		return c
	}
	return 0xffff
}

// Check validates bytes that arrived as a UDP datagram from src to dst and
// returns an *ip.CheckError naming the first check that failed: the header is
// there and 8 <= Length <= the bytes present (udp_malformed), then the
// checksum unless it is 0 (udp_checksum). Bytes beyond Length are ignored,
// as Linux's __udp4_lib_rcv trims them.
func (u Datagram) Check(src, dst netip.Addr) error {
	if len(u) < HeaderLen {
		return checkErr(viz.ReasonUDPMalformed, "only %d bytes, shorter than the 8-byte UDP header", len(u))
	}
	switch n := int(u.Length()); {
	case n < HeaderLen:
		return checkErr(viz.ReasonUDPMalformed, "length field %d is shorter than the 8-byte header", n)
	case n > len(u):
		return checkErr(viz.ReasonUDPMalformed, "length field %d, but only %d bytes arrived", n, len(u))
	}
	if u.Checksum() == 0 {
		return nil // the sender computed none (RFC 768)
	}
	if ip.Checksum(u[:u.Length()], ip.PseudoHeaderSum(src, dst, ip.ProtocolUDP, u.Length())) != 0 {
		return checkErr(viz.ReasonUDPChecksum, "checksum 0x%04x, computed 0x%04x", u.Checksum(), u.ComputeChecksum(src, dst))
	}
	return nil
}

// Append appends a UDP datagram from src:srcPort to dst:dstPort carrying
// payload to b, with Length and the checksum filled in (packetwalk always
// sends a checksum, as RFC 1122 §4.1.3.4 asks). It panics if the datagram
// would exceed Length's 65,535 bytes, which only a caller's bug produces.
func Append(b []byte, src, dst netip.Addr, srcPort, dstPort uint16, payload []byte) []byte {
	n := HeaderLen + len(payload)
	if n > 0xffff {
		panic(fmt.Sprintf("udp: a UDP datagram of %d bytes exceeds the 65,535 its length field can say", n))
	}
	start := len(b)
	b = binary.BigEndian.AppendUint16(b, srcPort)
	b = binary.BigEndian.AppendUint16(b, dstPort)
	b = binary.BigEndian.AppendUint16(b, uint16(n))
	b = append(b, 0, 0) // checksum zero while summing
	b = append(b, payload...)
	c := ip.Checksum(b[start:], ip.PseudoHeaderSum(src, dst, ip.ProtocolUDP, uint16(n)))
	if c == 0 {
		c = 0xffff
	}
	binary.BigEndian.PutUint16(b[start+6:], c)
	return b
}

// checkErr is the *ip.CheckError of a failed check.
func checkErr(r viz.Reason, format string, args ...any) *ip.CheckError {
	return &ip.CheckError{Reason: r, Msg: fmt.Sprintf(format, args...)}
}

// Describe implements ip.Describer: the line the IP layer's steps give a
// whole UDP datagram h (its header checked, not a fragment), as tcpdump
// prints it, e.g.
//
//	IP 10.0.0.1.5353 > 10.0.0.2.53: UDP, length 12
//
// with the check it fails named at the end, e.g. " [udp_checksum]". It
// returns false for a datagram too short for the UDP header, which IP
// describes by its own header.
func (l *Layer) Describe(h ip.IPv4) (string, bool) { return describe(h) }

func describe(h ip.IPv4) (string, bool) {
	u := Datagram(h.Payload())
	if len(u) < HeaderLen {
		return "", false
	}
	n := len(u) - HeaderLen
	err := u.Check(h.Src(), h.Dst())
	suffix := ""
	if err == nil {
		n = len(u.Payload())
	} else if ce, ok := err.(*ip.CheckError); ok {
		suffix = " [" + string(ce.Reason) + "]"
	}
	return fmt.Sprintf("IP %s.%d > %s.%d: UDP, length %d", h.Src(), u.SrcPort(), h.Dst(), u.DstPort(), n) + suffix, true
}
