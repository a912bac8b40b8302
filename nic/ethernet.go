package nic

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"

	"github.com/packetwalk/packetwalk/viz"
)

// An Ethernet II frame as it crosses the wire (IEEE 802.3 clause 3), without
// the preamble and start-of-frame delimiter, which the PHY consumes:
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                 Destination MAC address (6 bytes)             |
//	+                               +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                               |                               |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+                               +
//	|                   Source MAC address (6 bytes)                |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|           EtherType           |  Payload (46..MTU bytes,      |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+  padded to 46)  ...           |
//	|                              ...                              |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|              Frame Check Sequence (CRC-32, 4 bytes)           |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
const (
	HeaderLen     = 14   // destination, source, EtherType
	FCSLen        = 4    // the CRC-32 trailer
	MinFrameLen   = 64   // with FCS: shorter frames are runts (collision debris)
	MinPayloadLen = 46   // MinFrameLen - HeaderLen - FCSLen: shorter payloads are padded
	DefaultMTU    = 1500 // the largest payload of a standard Ethernet frame
)

// MaxFrameLen is the longest frame, FCS included, that a NIC with this MTU
// accepts.
func MaxFrameLen(mtu int) int { return HeaderLen + mtu + FCSLen }

// EtherType says which protocol a frame's payload belongs to. The driver
// dispatches on it.
type EtherType uint16

const (
	EtherTypeIPv4 EtherType = 0x0800
	EtherTypeARP  EtherType = 0x0806
	EtherTypeIPv6 EtherType = 0x86dd
	EtherTypeVLAN EtherType = 0x8100
)

func (t EtherType) String() string {
	switch t {
	case EtherTypeIPv4:
		return "IPv4"
	case EtherTypeARP:
		return "ARP"
	case EtherTypeIPv6:
		return "IPv6"
	case EtherTypeVLAN:
		return "802.1Q"
	}
	return fmt.Sprintf("0x%04x", uint16(t))
}

// MAC is an Ethernet (EUI-48) address.
type MAC [6]byte

// Broadcast is ff:ff:ff:ff:ff:ff, which every NIC accepts.
var Broadcast = MAC{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}

// IsBroadcast reports whether m is ff:ff:ff:ff:ff:ff.
func (m MAC) IsBroadcast() bool { return m == Broadcast }

// IsMulticast reports whether m is a group address: the least significant
// bit of the first octet (the first bit on the wire) is 1. Broadcast is a
// group address too.
func (m MAC) IsMulticast() bool { return m[0]&1 == 1 }

// String gives "aa:bb:cc:dd:ee:ff". It is built by hand, not with
// fmt.Sprintf: with the step log on, MAC addresses are formatted several
// times per frame, and fmt's boxing and format parsing would be paid each
// time.
func (m MAC) String() string {
	const hex = "0123456789abcdef"
	var b [17]byte
	for i, x := range m {
		if i > 0 {
			b[3*i-1] = ':'
		}
		b[3*i], b[3*i+1] = hex[x>>4], hex[x&0xf]
	}
	return string(b[:])
}

// ParseMAC reads "aa:bb:cc:dd:ee:ff" (or with dashes).
func ParseMAC(s string) (MAC, error) {
	var m MAC
	if len(s) != 17 {
		return m, fmt.Errorf("MAC address %q: want six hex octets like 02:00:00:00:00:01", s)
	}
	for i := 0; i < 6; i++ {
		if i > 0 && s[3*i-1] != ':' && s[3*i-1] != '-' {
			return m, fmt.Errorf("MAC address %q: octets must be separated by ':'", s)
		}
		hi, ok1 := unhex(s[3*i])
		lo, ok2 := unhex(s[3*i+1])
		if !ok1 || !ok2 {
			return m, fmt.Errorf("MAC address %q: %q is not a hex octet", s, s[3*i:3*i+2])
		}
		m[i] = hi<<4 | lo
	}
	return m, nil
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// Frame is a view of an Ethernet frame's bytes, FCS included. Accessors do
// not check the length: call Check first on bytes from outside.
type Frame []byte

// Dst returns the destination MAC address.
func (f Frame) Dst() (m MAC) { copy(m[:], f[0:6]); return }

// Src returns the source MAC address.
func (f Frame) Src() (m MAC) { copy(m[:], f[6:12]); return }

// EtherType returns the type field.
func (f Frame) EtherType() EtherType { return EtherType(binary.BigEndian.Uint16(f[12:14])) }

// Payload returns the bytes between the header and the FCS, padding included.
func (f Frame) Payload() []byte { return f[HeaderLen : len(f)-FCSLen] }

// FCS returns the frame check sequence carried in the frame's last 4 bytes.
func (f Frame) FCS() uint32 { return binary.LittleEndian.Uint32(f[len(f)-FCSLen:]) }

// ComputeFCS computes the CRC-32 (IEEE 802.3 polynomial 0x04C11DB7,
// reflected, initial value and final XOR 0xFFFFFFFF) over everything before
// the FCS: header, payload and padding.
func (f Frame) ComputeFCS() uint32 { return crc32.ChecksumIEEE(f[:len(f)-FCSLen]) }

// AppendFrame appends a frame to b: header, payload, zero padding up to the
// 60-byte minimum, and the FCS. Ethernet sends the CRC's least significant
// byte first (IEEE 802.3 clause 3.2.9), so the FCS is stored little-endian:
// that is the byte order a capture shows and Wireshark checks.
func AppendFrame(b []byte, dst, src MAC, t EtherType, payload []byte) []byte {
	start := len(b)
	b = append(b, dst[:]...)
	b = append(b, src[:]...)
	b = binary.BigEndian.AppendUint16(b, uint16(t))
	b = append(b, payload...)
	for len(b)-start < MinFrameLen-FCSLen {
		b = append(b, 0)
	}
	return binary.LittleEndian.AppendUint32(b, crc32.ChecksumIEEE(b[start:]))
}

// LogArg is t as a step's argument: String's text (a name, or "0x...."
// when it has none), made by the sink that prints it.
func (t EtherType) LogArg() viz.Arg {
	switch t {
	case EtherTypeIPv4, EtherTypeARP, EtherTypeIPv6, EtherTypeVLAN:
		return viz.Str(t.String())
	}
	return viz.Hex16(uint16(t))
}
