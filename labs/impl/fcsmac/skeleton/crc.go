package fcsmac

// crc32 computes Ethernet's CRC-32 over data (IEEE 802.3 clause 3.2.9):
//
//   - generator polynomial 0x04C11DB7; Ethernet sends each byte least
//     significant bit first, so software works on the bit-reversed
//     ("reflected") polynomial 0xEDB88320 and shifts right;
//   - the register starts at 0xFFFFFFFF (so leading zero bytes count);
//   - the result is complemented (XOR 0xFFFFFFFF) at the end.
//
// The check value of this CRC ("CRC-32/ISO-HDLC" in the catalogues) is
// crc32([]byte("123456789")) == 0xCBF43926.
//
// Write it yourself, bit by bit first; a 256-entry table is the usual
// speed-up once it works. Do not import hash/crc32: the graded tests check.
func crc32(data []byte) uint32 {
	// TODO: for each byte, XOR it into the low byte of the register, then
	// 8 times: if the low bit is 1, shift right and XOR the polynomial,
	// else just shift right.
	return 0
}
