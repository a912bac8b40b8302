package pcapng

import "encoding/binary"

// epb.go encodes Enhanced Packet Blocks (draft-ietf-opsawg-pcapng, 4.3)
// itself instead of through pcapgo's NgWriter.WritePacketWithOptions.
// pcapgo builds a slice of options boxed in interfaces for every packet,
// converts the comment to bytes and writes each piece through its bufio
// separately, which allocates several times for every packet captured.
// Here a block is appended into one reused buffer, with no allocation
// (BenchmarkWriteFrame measures it). The bytes are those pcapgo wrote
// (same option order, padding and timestamp units: the IDBs pcapgo writes
// say nanoseconds), so files keep their form; pcapgo still writes the
// Section Header and Interface Description Blocks, and the tests read the
// files back with pcapgo and tshark.

// Option codes of an EPB (draft 3.5 and 4.3.1).
const (
	optEndOfOpt    = 0 // opt_endofopt
	optComment     = 1 // opt_comment: UTF-8 text
	optEpbFlags    = 2 // epb_flags: 32 bits
	optEpbPacketID = 5 // epb_packetid: 64 bits

	blockTypeEPB = 0x00000006 // draft 4.3 "Enhanced Packet Block"
)

// epb is one packet's block: what writePacket knows of it.
type epb struct {
	iface    int
	ts       int64 // nanoseconds since 1970 (the IDBs' if_tsresol is 9)
	data     []byte
	origLen  int
	comments [][]byte // each at most maxOptionLen bytes (Options.withDefaults)
	flags    uint32
	packetID uint64 // 0: no epb_packetid option
}

// appendEPB appends p's Enhanced Packet Block to b: block type, total
// length, interface, timestamp (high and low 32 bits), captured and
// original length, the data padded to 32 bits, the options (comment,
// flags, packet ID, end of options), and the total length again (draft
// 4.3, figure 11). Little-endian, as the Section Header Block pcapgo wrote.
func appendEPB(b []byte, p epb) []byte {
	le := binary.LittleEndian
	start := len(b)
	b = le.AppendUint32(b, blockTypeEPB)
	b = le.AppendUint32(b, 0) // total length, filled in below
	b = le.AppendUint32(b, uint32(p.iface))
	b = le.AppendUint32(b, uint32(p.ts>>32))
	b = le.AppendUint32(b, uint32(p.ts))
	b = le.AppendUint32(b, uint32(len(p.data)))
	b = le.AppendUint32(b, uint32(p.origLen))
	b = append(b, p.data...)
	b = pad32(b, len(p.data))
	// One opt_comment per walk: the draft allows an option to repeat
	// (3.5), and Wireshark shows each as a comment of its own.
	for _, c := range p.comments {
		b = appendOptionBytes(b, optComment, c)
	}
	b = le.AppendUint16(b, optEpbFlags)
	b = le.AppendUint16(b, 4)
	b = le.AppendUint32(b, p.flags)
	if p.packetID != 0 {
		b = le.AppendUint16(b, optEpbPacketID)
		b = le.AppendUint16(b, 8)
		b = le.AppendUint64(b, p.packetID)
	}
	b = le.AppendUint32(b, optEndOfOpt) // code 0, length 0
	total := uint32(len(b) - start + 4)
	le.PutUint32(b[start+4:], total)
	return le.AppendUint32(b, total)
}

// appendOptionBytes appends one option whose value is v (draft 3.5).
func appendOptionBytes(b []byte, code uint16, v []byte) []byte {
	b = binary.LittleEndian.AppendUint16(b, code)
	b = binary.LittleEndian.AppendUint16(b, uint16(len(v)))
	b = append(b, v...)
	return pad32(b, len(v))
}

// pad32 appends the zero octets that bring a field of n octets to a
// multiple of 32 bits.
func pad32(b []byte, n int) []byte {
	for range (4 - n%4) % 4 {
		b = append(b, 0)
	}
	return b
}
