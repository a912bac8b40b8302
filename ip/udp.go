package ip

import (
	"encoding/binary"
	"fmt"
	"net/netip"

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
// PseudoHeaderSum), the header and the data. Over IPv4 it is optional: a
// sender that computed none sends 0, so a sender whose sum comes out as 0
// sends 0xffff instead, which is the same number in one's-complement
// arithmetic.

// UDPHeaderLen is the length of the UDP header.
const UDPHeaderLen = 8

// UDP is a view of a UDP datagram's bytes: the IP payload. The bytes may run
// past Length; Payload cuts them off. Accessors do not check lengths: call
// Check first on bytes from outside.
type UDP []byte

// SrcPort returns the source port.
func (u UDP) SrcPort() uint16 { return binary.BigEndian.Uint16(u[0:]) }

// DstPort returns the destination port, which demultiplexes the datagram to
// a socket.
func (u UDP) DstPort() uint16 { return binary.BigEndian.Uint16(u[2:]) }

// Length returns the Length field: header and data, in bytes.
func (u UDP) Length() uint16 { return binary.BigEndian.Uint16(u[4:]) }

// Checksum returns the checksum carried in the header; 0 means none.
func (u UDP) Checksum() uint16 { return binary.BigEndian.Uint16(u[6:]) }

// Payload returns the data, up to Length.
func (u UDP) Payload() []byte { return u[UDPHeaderLen:u.Length()] }

// ComputeChecksum returns the checksum the datagram should carry between
// addresses src and dst, summing it with the checksum field taken as zero,
// and 0xffff where the sum gives 0 (RFC 768). Length must be valid.
func (u UDP) ComputeChecksum(src, dst netip.Addr) uint16 {
	n := u.Length()
	sum := Sum(u[:6], PseudoHeaderSum(src, dst, ProtocolUDP, n))
	if c := Checksum(u[UDPHeaderLen:n], uint32(sum)); c != 0 {
		return c
	}
	return 0xffff
}

// Check validates bytes that arrived as a UDP datagram from src to dst and
// returns a *CheckError naming the first check that failed: the header is
// there and 8 <= Length <= the bytes present (udp_malformed), then the
// checksum unless it is 0 (udp_checksum). Bytes beyond Length are ignored,
// as Linux's __udp4_lib_rcv trims them.
func (u UDP) Check(src, dst netip.Addr) error {
	if len(u) < UDPHeaderLen {
		return checkErr(viz.ReasonUDPMalformed, "only %d bytes, shorter than the 8-byte UDP header", len(u))
	}
	switch n := int(u.Length()); {
	case n < UDPHeaderLen:
		return checkErr(viz.ReasonUDPMalformed, "length field %d is shorter than the 8-byte header", n)
	case n > len(u):
		return checkErr(viz.ReasonUDPMalformed, "length field %d, but only %d bytes arrived", n, len(u))
	}
	if u.Checksum() == 0 {
		return nil // the sender computed none (RFC 768)
	}
	if Checksum(u[:u.Length()], PseudoHeaderSum(src, dst, ProtocolUDP, u.Length())) != 0 {
		return checkErr(viz.ReasonUDPChecksum, "checksum 0x%04x, computed 0x%04x", u.Checksum(), u.ComputeChecksum(src, dst))
	}
	return nil
}

// AppendUDP appends a UDP datagram from src:srcPort to dst:dstPort carrying
// payload to b, with Length and the checksum filled in (packetwalk always
// sends a checksum, as RFC 1122 §4.1.3.4 asks). It panics if the datagram
// would exceed Length's 65,535 bytes, which only a caller's bug produces.
func AppendUDP(b []byte, src, dst netip.Addr, srcPort, dstPort uint16, payload []byte) []byte {
	n := UDPHeaderLen + len(payload)
	if n > 0xffff {
		panic(fmt.Sprintf("ip: a UDP datagram of %d bytes exceeds the 65,535 its length field can say", n))
	}
	start := len(b)
	b = binary.BigEndian.AppendUint16(b, srcPort)
	b = binary.BigEndian.AppendUint16(b, dstPort)
	b = binary.BigEndian.AppendUint16(b, uint16(n))
	b = append(b, 0, 0) // checksum zero while summing
	b = append(b, payload...)
	c := Checksum(b[start:], PseudoHeaderSum(src, dst, ProtocolUDP, uint16(n)))
	if c == 0 {
		c = 0xffff
	}
	binary.BigEndian.PutUint16(b[start+6:], c)
	return b
}
