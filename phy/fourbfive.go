package phy

// 4B/5B, IEEE 802.3 clause 24.2.2.1, Table 24-1: each 4-bit nibble of the
// MII is sent as a 5-bit code group chosen to have enough 1s (transitions,
// once sent with NRZI or MLT-3) for the receiver's clock. Of the 32
// possible groups, 16 carry data, a few are control groups, and the rest are
// invalid: receiving one is a symbol error.
//
// Code groups are written as in the table, bit 4 first, and that is the
// order they go onto the wire. An octet is sent as two nibbles, the least
// significant one first (the MII's order, clause 22.2.3).

// dataGroups maps a nibble to its code group.
var dataGroups = [16]uint8{
	0b11110, // 0
	0b01001, // 1
	0b10100, // 2
	0b10101, // 3
	0b01010, // 4
	0b01011, // 5
	0b01110, // 6
	0b01111, // 7
	0b10010, // 8
	0b10011, // 9
	0b10110, // A
	0b10111, // B
	0b11010, // C
	0b11011, // D
	0b11100, // E
	0b11101, // F
}

// Control code groups (Table 24-1).
const (
	groupI uint8 = 0b11111 // IDLE: sent between frames, keeps the receiver locked
	groupJ uint8 = 0b11000 // first half of the Start-of-Stream Delimiter
	groupK uint8 = 0b10001 // second half of the SSD
	groupT uint8 = 0b01101 // first half of the End-of-Stream Delimiter
	groupR uint8 = 0b00111 // second half of the ESD
	groupH uint8 = 0b00100 // HALT: a transmit error
)

// groupKind is what a received code group is.
type groupKind uint8

const (
	groupData groupKind = iota
	groupIdle
	groupStartJ
	groupStartK
	groupEndT
	groupEndR
	groupInvalid // including HALT and the 0 group (Quiet): the receiver signals an error
)

// decodeGroup reads one 5-bit code group: its nibble when it is data, or
// its kind.
func decodeGroup(g uint8) (nibble byte, kind groupKind) {
	switch g {
	case groupI:
		return 0, groupIdle
	case groupJ:
		return 0, groupStartJ
	case groupK:
		return 0, groupStartK
	case groupT:
		return 0, groupEndT
	case groupR:
		return 0, groupEndR
	}
	if n := groupToNibble[g&0x1f]; n >= 0 {
		return byte(n), groupData
	}
	return 0, groupInvalid
}

// groupToNibble is dataGroups inverted; -1 for a group that carries no data.
var groupToNibble = func() [32]int8 {
	var t [32]int8
	for i := range t {
		t[i] = -1
	}
	for n, g := range dataGroups {
		t[g] = int8(n)
	}
	return t
}()

// appendGroup appends code group g's five bits, bit 4 first.
func appendGroup(bits []byte, g uint8) []byte {
	for i := 4; i >= 0; i-- {
		bits = append(bits, (g>>i)&1)
	}
	return bits
}

// appendOctetGroups appends octet b as two code groups, low nibble first.
func appendOctetGroups(bits []byte, b byte) []byte {
	bits = appendGroup(bits, dataGroups[b&0x0f])
	return appendGroup(bits, dataGroups[b>>4])
}
