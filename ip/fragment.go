package ip

import (
	"fmt"

	"github.com/packetwalk/packetwalk/viz"
)

// Fragmentation on send (RFC 791 §2.3, §3.2). A datagram longer than the
// link's MTU is cut into fragments that each carry a copy of the header and
// a piece of the data:
//
//	datagram  [hdr|.................... data (4000) ....................]
//	at MTU 1500:
//	fragment  [hdr|... 1480 ...]                          offset    0, MF
//	fragment                   [hdr|... 1480 ...]         offset 1480, MF
//	fragment                                  [hdr|1040]  offset 2960
//
// The Fragment Offset field counts 8-byte units, so every piece but the last
// holds a multiple of 8 bytes. All fragments share the datagram's
// Identification, which with source, destination and protocol tells the
// receiver which pieces belong together; MF says "more follow". Options
// whose copied flag is set go into every fragment, the others only into the
// first, so later fragments may have shorter headers and carry more data.

// FragNeededError is FragmentDatagram's answer to a datagram that is larger than the
// MTU and has Don't Fragment set. The caller drops the datagram with reason
// frag_needed and, when it was forwarding, tells the sender with ICMP
// Destination Unreachable, code Fragmentation Needed, carrying MTU as the
// next-hop MTU (RFC 1191 §4): that is how path MTU discovery learns.
type FragNeededError struct {
	MTU int // the MTU the datagram did not fit
	Len int // the datagram's total length
}

func (e *FragNeededError) Error() string {
	return fmt.Sprintf("a datagram of %d bytes does not fit the MTU of %d and has Don't Fragment set", e.Len, e.MTU)
}

// Reason returns the drop reason to log: frag_needed.
func (e *FragNeededError) Reason() viz.Reason { return viz.ReasonFragNeeded }

// FragmentDatagram returns datagram h+payload ready to send over a link with the
// given MTU: one datagram if it fits, otherwise its fragments, in order,
// each with its own header and checksum. The fragments share one newly
// allocated buffer. A datagram that is itself a fragment (a router
// forwarding onto a smaller MTU) is cut further: offsets continue from h's
// and only the last piece keeps h's MF.
//
// FragmentDatagram returns a *FragNeededError if the datagram does not fit and has
// DF set, and an error for an MTU below 68 (RFC 791's minimum), for
// malformed options, or for a datagram that cannot exist (over 65,535
// bytes, or a fragment offset that is not a multiple of 8).
func FragmentDatagram(h IPv4Header, payload []byte, mtu int) ([][]byte, error) {
	if mtu < MinMTU {
		return nil, fmt.Errorf("ip: MTU %d is below IPv4's minimum of %d (RFC 791 §3.2)", mtu, MinMTU)
	}
	if len(h.Options) > IPv4MaxHeaderLen-IPv4MinHeaderLen {
		return nil, fmt.Errorf("ip: %d bytes of options, more than the 40 an IPv4 header holds", len(h.Options))
	}
	opts, err := ParseOptions(h.Options)
	if err != nil {
		return nil, err
	}
	totalLen := h.HeaderLen() + len(payload)
	switch {
	case totalLen > IPv4MaxLen:
		return nil, fmt.Errorf("ip: a datagram of %d bytes exceeds the IPv4 maximum of 65,535", totalLen)
	case h.FragmentOffset < 0 || h.FragmentOffset%8 != 0:
		return nil, fmt.Errorf("ip: fragment offset %d is not a multiple of 8", h.FragmentOffset)
	case h.FragmentOffset+len(payload) > IPv4MaxLen-IPv4MinHeaderLen:
		return nil, fmt.Errorf("ip: a fragment at offset %d with %d bytes of data runs past the end of any datagram", h.FragmentOffset, len(payload))
	}
	if totalLen <= mtu {
		b := make([]byte, 0, totalLen)
		return [][]byte{append(h.Append(b, len(payload)), payload...)}, nil
	}
	if h.DF {
		return nil, &FragNeededError{MTU: mtu, Len: totalLen}
	}

	// Later fragments carry only the options marked for copying.
	var copied []byte
	for _, o := range opts {
		if o.Type().Copied() {
			copied = append(copied, o...)
		}
	}
	later := h
	later.Options = copied

	// Walk the data twice: once to size the shared buffer, once to fill it.
	pieces := func(yield func(hdr IPv4Header, data []byte)) {
		hdr := h
		for off := 0; off < len(payload); {
			// Each piece but the last takes as many 8-byte blocks as fit
			// after its header; MinMTU guarantees at least one.
			n := len(payload) - off
			if hdr.HeaderLen()+n > mtu {
				n = (mtu - hdr.HeaderLen()) &^ 7
			}
			last := off+n == len(payload)
			hdr.FragmentOffset = h.FragmentOffset + off
			hdr.MF = !last || h.MF
			yield(hdr, payload[off:off+n])
			off += n
			hdr = later
		}
	}
	size, count := 0, 0
	pieces(func(hdr IPv4Header, data []byte) { size += hdr.HeaderLen() + len(data); count++ })
	buf := make([]byte, 0, size)
	frags := make([][]byte, 0, count)
	pieces(func(hdr IPv4Header, data []byte) {
		start := len(buf)
		buf = hdr.Append(buf, len(data))
		buf = append(buf, data...)
		// Cap each fragment so that appending to one cannot overwrite the
		// next.
		frags = append(frags, buf[start:len(buf):len(buf)])
	})
	return frags, nil
}
