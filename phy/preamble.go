package phy

// The preamble and the start-of-frame delimiter, IEEE 802.3 clause 3.2.1
// and 3.2.2: seven octets of 10101010 and one of 10101011, written in the
// order the bits are sent. As octets sent least significant bit first
// (clause 3.3) they are 0x55 and 0xD5. The preamble gives the receiver's
// clock transitions to lock on before the frame starts; the SFD's final
// "11" breaks the pattern and says "the destination address comes next".
const (
	PreambleOctet = 0x55
	PreambleLen   = 7
	SFD           = 0xD5
)

// sfdBits is the SFD as the last eight bits received, oldest first in the
// most significant position of a shift register: 1,0,1,0,1,0,1,1.
const sfdBits = 0b10101011

// appendOctetBits appends octet b's bits in the order Ethernet sends them,
// least significant first (IEEE 802.3 clause 3.3).
func appendOctetBits(bits []byte, b byte) []byte {
	for i := 0; i < 8; i++ {
		bits = append(bits, (b>>i)&1)
	}
	return bits
}

// idleLeadGroups is how many IDLE code groups a 4B/5B transmitter has sent
// before the frame, as far as this receiver saw them: 100BASE-X sends IDLE
// continuously between frames, and the receiver locks on it. Eight groups
// give 40 transitions, more than any lock needs by default.
const idleLeadGroups = 8

// idleTrailGroups is how many IDLE groups follow the End-of-Stream
// Delimiter before the signal is cut off (the next frame's business).
const idleTrailGroups = 2
