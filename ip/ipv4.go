package ip

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"strconv"

	"github.com/packetwalk/packetwalk/viz"
)

// An IPv4 header (RFC 791 §3.1):
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|Version|  IHL  |Type of Service|          Total Length         |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|         Identification        |Flags|      Fragment Offset    |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|  Time to Live |    Protocol   |         Header Checksum       |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                       Source Address                          |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                    Destination Address                        |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                    Options                    |    Padding    |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// IHL is the header length in 32-bit words (5 to 15); Total Length counts
// header and data in bytes. Flags are, from the left: reserved (zero), DF
// (Don't Fragment) and MF (More Fragments). Fragment Offset counts 8-byte
// units, so every fragment but the last carries a multiple of 8 bytes.
const (
	IPv4MinHeaderLen = 20    // IHL 5: no options
	IPv4MaxHeaderLen = 60    // IHL 15: the 4-bit field's largest value
	IPv4MaxLen       = 65535 // Total Length is a 16-bit field
	// MinMTU is the smallest MTU IPv4 allows: "Every internet module must
	// be able to forward a datagram of 68 octets without further
	// fragmentation" (RFC 791 §3.2), which is a 60-byte header and one
	// 8-byte block of data.
	MinMTU = 68
)

// Byte offsets of the fixed header's fields.
const (
	ipVerIHL   = 0
	ipTOS      = 1
	ipTotalLen = 2
	ipID       = 4
	ipFlagsOff = 6
	ipTTL      = 8
	ipProtocol = 9
	ipChecksum = 10
	ipSrc      = 12
	ipDst      = 16

	// The flag bit left of DF is reserved (RFC 3514 jokingly calls it the
	// evil bit); like Linux, we neither set it nor reject it.
	flagDF         = 0x4000
	flagMF         = 0x2000
	fragOffsetMask = 0x1fff
	maxFragOffset  = fragOffsetMask * 8 // in bytes
)

// Protocol is the IPv4 Protocol field: which protocol the payload belongs
// to (RFC 790, now the IANA "Assigned Internet Protocol Numbers").
type Protocol uint8

const (
	ProtocolICMP Protocol = 1
	ProtocolTCP  Protocol = 6
	ProtocolUDP  Protocol = 17
)

func (p Protocol) String() string {
	switch p {
	case ProtocolICMP:
		return "ICMP"
	case ProtocolTCP:
		return "TCP"
	case ProtocolUDP:
		return "UDP"
	}
	return "ip-proto-" + strconv.Itoa(int(p))
}

// CheckError says which check a packet failed. The receive path logs a drop
// with its Reason and uses Msg, which names the offending values, as the
// step's message.
type CheckError struct {
	Reason viz.Reason
	Msg    string
	// Pointer is, for ip_options_malformed from Check, the octet of the
	// header at fault: what ICMP Parameter Problem reports (RFC 792).
	Pointer int
}

func (e *CheckError) Error() string { return string(e.Reason) + ": " + e.Msg }

func checkErr(r viz.Reason, format string, args ...any) *CheckError {
	return &CheckError{Reason: r, Msg: fmt.Sprintf(format, args...)}
}

// IPv4 is a view of an IPv4 datagram's bytes, header first. The bytes may
// run past Total Length (Ethernet pads short frames to 46 bytes of payload);
// Payload cuts them off. Accessors do not check lengths: call Check first on
// bytes from outside.
type IPv4 []byte

// Version returns the version field, 4 for IPv4.
func (h IPv4) Version() uint8 { return h[ipVerIHL] >> 4 }

// IHL returns the header length in 32-bit words.
func (h IPv4) IHL() uint8 { return h[ipVerIHL] & 0x0f }

// HeaderLen returns the header length in bytes, options included.
func (h IPv4) HeaderLen() int { return int(h.IHL()) * 4 }

// TOS returns the Type of Service byte (today's DSCP and ECN bits).
func (h IPv4) TOS() uint8 { return h[ipTOS] }

// TotalLength returns the datagram's length, header and data, in bytes.
func (h IPv4) TotalLength() uint16 { return binary.BigEndian.Uint16(h[ipTotalLen:]) }

// ID returns the Identification field, which the fragments of one datagram
// share.
func (h IPv4) ID() uint16 { return binary.BigEndian.Uint16(h[ipID:]) }

// Flags returns the three flag bits: reserved, DF, MF.
func (h IPv4) Flags() uint8 { return h[ipFlagsOff] >> 5 }

// DF reports whether the Don't Fragment bit is set.
func (h IPv4) DF() bool { return binary.BigEndian.Uint16(h[ipFlagsOff:])&flagDF != 0 }

// MF reports whether the More Fragments bit is set: more of the datagram
// follows this fragment.
func (h IPv4) MF() bool { return binary.BigEndian.Uint16(h[ipFlagsOff:])&flagMF != 0 }

// FragmentOffset returns where this fragment's data starts in the original
// datagram's data, in bytes (the field counts 8-byte units).
func (h IPv4) FragmentOffset() int {
	return int(binary.BigEndian.Uint16(h[ipFlagsOff:])&fragOffsetMask) * 8
}

// IsFragment reports whether the datagram is a piece of a larger one: MF set
// or a non-zero offset. The receive path sends those to reassembly.
func (h IPv4) IsFragment() bool {
	return binary.BigEndian.Uint16(h[ipFlagsOff:])&(flagMF|fragOffsetMask) != 0
}

// TTL returns the Time to Live, which every router decrements.
func (h IPv4) TTL() uint8 { return h[ipTTL] }

// Protocol returns the protocol of the payload.
func (h IPv4) Protocol() Protocol { return Protocol(h[ipProtocol]) }

// HeaderChecksum returns the checksum carried in the header.
func (h IPv4) HeaderChecksum() uint16 { return binary.BigEndian.Uint16(h[ipChecksum:]) }

// Src returns the source address.
func (h IPv4) Src() netip.Addr { return netip.AddrFrom4([4]byte(h[ipSrc : ipSrc+4])) }

// Dst returns the destination address.
func (h IPv4) Dst() netip.Addr { return netip.AddrFrom4([4]byte(h[ipDst : ipDst+4])) }

// Options returns the options field, padding included.
func (h IPv4) Options() []byte { return h[IPv4MinHeaderLen:h.HeaderLen()] }

// Payload returns the data after the header, up to Total Length: link-layer
// padding beyond it is not part of the datagram.
func (h IPv4) Payload() []byte { return h[h.HeaderLen():h.TotalLength()] }

// ComputeChecksum returns the checksum the header should carry, summing it
// with the checksum field taken as zero.
func (h IPv4) ComputeChecksum() uint16 {
	hl := h.HeaderLen()
	return Checksum(h[ipChecksum+2:hl], uint32(Sum(h[:ipChecksum], 0)))
}

// DecrementTTL lowers the TTL by one, as a router does before forwarding
// (RFC 791 §3.2, RFC 1812 §5.3.1), patching the checksum incrementally
// (RFC 1624) instead of summing the header again. It returns the new TTL; a
// router that gets 0 drops the datagram with ttl_expired and sends ICMP Time
// Exceeded. A TTL that is already 0 is left alone.
func (h IPv4) DecrementTTL() uint8 {
	ttl := h[ipTTL]
	if ttl == 0 {
		return 0
	}
	// The checksum covers 16-bit words: the TTL is the high byte of the
	// TTL/Protocol word.
	old := binary.BigEndian.Uint16(h[ipTTL:])
	h[ipTTL] = ttl - 1
	binary.BigEndian.PutUint16(h[ipChecksum:],
		UpdateChecksum(h.HeaderChecksum(), old, binary.BigEndian.Uint16(h[ipTTL:])))
	return ttl - 1
}

// Check validates bytes that arrived as an IPv4 datagram, in the order
// Linux's ip_rcv_core does, and returns a *CheckError naming the first check
// that failed:
//
//	at least 20 bytes, version 4, IHL >= 5,
//	the header fits in the bytes               -> ip_malformed
//	header checksum                            -> ip_checksum
//	header <= total length <= bytes present    -> ip_malformed
//	options well formed (options.go)           -> ip_options_malformed
//
// The checksum comes before the length checks because a header that fails
// it cannot be trusted to say how long the datagram is. Bytes beyond Total
// Length are fine: they are the link layer's padding.
func (h IPv4) Check() error {
	if len(h) < IPv4MinHeaderLen {
		return checkErr(viz.ReasonIPMalformed, "only %d bytes, shorter than the 20-byte minimum header", len(h))
	}
	if v := h.Version(); v != 4 {
		return checkErr(viz.ReasonIPMalformed, "version %d, want 4", v)
	}
	if ihl := h.IHL(); ihl < 5 {
		return checkErr(viz.ReasonIPMalformed, "IHL %d (%d bytes) is below the minimum of 5 (20 bytes)", ihl, 4*int(ihl))
	}
	hl := h.HeaderLen()
	if hl > len(h) {
		return checkErr(viz.ReasonIPMalformed, "IHL %d says the header has %d bytes, but only %d arrived", h.IHL(), hl, len(h))
	}
	if Checksum(h[:hl], 0) != 0 {
		return checkErr(viz.ReasonIPChecksum, "header checksum 0x%04x, computed 0x%04x", h.HeaderChecksum(), h.ComputeChecksum())
	}
	switch tl := int(h.TotalLength()); {
	case tl < hl:
		return checkErr(viz.ReasonIPMalformed, "total length %d is shorter than the %d-byte header", tl, hl)
	case tl > len(h):
		return checkErr(viz.ReasonIPMalformed, "total length %d, but only %d bytes arrived", tl, len(h))
	}
	return h.checkOptions()
}

// checkFixed is Check without the options, which the receive path checks
// in a step of their own after the route decision, as Linux does
// (ip_rcv_finish_core, then ip_rcv_options).
func (h IPv4) checkFixed() error {
	err := h.Check()
	// The options come last in Check: failing them means the rest passed.
	if ce, ok := err.(*CheckError); ok && ce.Reason == viz.ReasonIPOptionsMalformed {
		return nil
	}
	return err
}

// checkOptions checks the options as a receiving host does
// (compileOptions), without writing to them.
func (h IPv4) checkOptions() error {
	if h.HeaderLen() == IPv4MinHeaderLen {
		return nil
	}
	if _, ce := compileOptions(h[:h.HeaderLen()], nil); ce != nil {
		return ce
	}
	return nil
}

// Header parses the header into an IPv4Header. Call it only on bytes that
// passed Check. Its Options are a copy, without the End of Option List and
// padding.
func (h IPv4) Header() IPv4Header {
	hdr := IPv4Header{
		TOS:            h.TOS(),
		ID:             h.ID(),
		DF:             h.DF(),
		MF:             h.MF(),
		FragmentOffset: h.FragmentOffset(),
		TTL:            h.TTL(),
		Protocol:       h.Protocol(),
		Src:            h.Src(),
		Dst:            h.Dst(),
	}
	if opts := optionsBeforeEOL(h.Options()); len(opts) > 0 {
		hdr.Options = append([]byte(nil), opts...)
	}
	return hdr
}

// Summary describes the datagram in one tcpdump-like line, e.g.
//
//	IP 10.0.0.1 > 10.0.0.2: ICMP echo request, id 1, seq 1, length 64
//	IP 10.0.0.1 > 10.0.0.2: proto TCP (6) len 60 ttl 64 id 0x1c46 [DF]
//	IP 10.0.0.1 > 10.0.0.2: proto ICMP (1) len 1500 ttl 64 frag 7238:1480@0+
//
// ICMP inside an unfragmented datagram gets its own line; anything else
// gets the IP header's. A failed check is named at the end, e.g.
// "[ip_checksum]". Summary accepts any bytes, so a narration can describe
// what it drops. (It is not called String so that printing a view with %x
// still shows its bytes.) The IP layer's steps describe a transport's
// datagrams in the transport's own words where it is a Describer (UDP:
// "IP 10.0.0.1.5353 > 10.0.0.2.53: UDP, length 12"), see Layer.summary.
func (h IPv4) Summary() string { return h.summary(nil) }

// summary is Summary with describe, if not nil, asked first for a whole
// datagram whose header passed its checks.
func (h IPv4) summary(describe func(IPv4) (string, bool)) string {
	if len(h) < IPv4MinHeaderLen {
		return fmt.Sprintf("IP truncated, %d bytes", len(h))
	}
	err := h.Check()
	if err == nil && !h.IsFragment() {
		if h.Protocol() == ProtocolICMP {
			m := ICMP(h.Payload())
			return fmt.Sprintf("IP %s > %s: %s", h.Src(), h.Dst(), m.Summary()) + reasonSuffix(m.Check())
		}
		if describe != nil {
			if s, ok := describe(h); ok {
				return s
			}
		}
	}
	hdr := IPv4Header{
		ID: h.ID(), DF: h.DF(), MF: h.MF(), FragmentOffset: h.FragmentOffset(),
		TTL: h.TTL(), Protocol: h.Protocol(), Src: h.Src(), Dst: h.Dst(),
	}
	return hdr.format(int(h.TotalLength()), int(h.TotalLength())-h.HeaderLen()) + reasonSuffix(err)
}

// reasonSuffix marks a summary line with the check a packet failed, e.g.
// " [ip_checksum]", or returns "" for nil.
func reasonSuffix(err error) string {
	if ce, ok := err.(*CheckError); ok {
		return " [" + string(ce.Reason) + "]"
	}
	return ""
}

// IPv4Header is an IPv4 header's meaning, parsed from a view by
// IPv4.Header or filled in by a sender and emitted by Append. Lengths and
// the checksum are not kept: Append computes them.
type IPv4Header struct {
	TOS            uint8
	ID             uint16
	DF, MF         bool
	FragmentOffset int // in bytes; a multiple of 8
	TTL            uint8
	Protocol       Protocol
	Src, Dst       netip.Addr // IPv4 addresses
	// Options holds the options without End of Option List or padding,
	// at most 40 bytes; Append pads them to a multiple of 4.
	Options []byte
}

// HeaderLen returns the length of the header Append emits: 20 bytes and
// the options padded to a multiple of 4.
func (h IPv4Header) HeaderLen() int { return IPv4MinHeaderLen + (len(h.Options)+3)&^3 }

// Append appends the header of a datagram carrying payloadLen bytes of data
// to b, with Total Length and the header checksum filled in, and returns the
// extended slice; the caller appends the payload. It panics on what only a
// caller's bug produces: addresses that are not IPv4, more than 40 bytes of
// options, a datagram over 65,535 bytes, or a fragment offset that is not a
// multiple of 8 or does not fit the field.
func (h IPv4Header) Append(b []byte, payloadLen int) []byte {
	hl := h.HeaderLen()
	switch {
	case hl > IPv4MaxHeaderLen:
		panic(fmt.Sprintf("ip: %d bytes of options, more than the 40 an IPv4 header holds", len(h.Options)))
	case payloadLen < 0 || hl+payloadLen > IPv4MaxLen:
		panic(fmt.Sprintf("ip: a datagram of %d+%d bytes exceeds the IPv4 maximum of 65,535", hl, payloadLen))
	case h.FragmentOffset < 0 || h.FragmentOffset%8 != 0 || h.FragmentOffset > maxFragOffset:
		panic(fmt.Sprintf("ip: fragment offset %d is not a multiple of 8 between 0 and %d", h.FragmentOffset, maxFragOffset))
	}
	start := len(b)
	b = append(b, 4<<4|byte(hl/4), h.TOS)
	b = binary.BigEndian.AppendUint16(b, uint16(hl+payloadLen))
	b = binary.BigEndian.AppendUint16(b, h.ID)
	flagsOff := uint16(h.FragmentOffset / 8)
	if h.DF {
		flagsOff |= flagDF
	}
	if h.MF {
		flagsOff |= flagMF
	}
	b = binary.BigEndian.AppendUint16(b, flagsOff)
	b = append(b, h.TTL, byte(h.Protocol), 0, 0) // checksum zero while summing
	src, dst := h.Src.As4(), h.Dst.As4()
	b = append(b, src[:]...)
	b = append(b, dst[:]...)
	b = append(b, h.Options...)
	for len(b)-start < hl {
		b = append(b, byte(OptionEOL)) // padding: End of Option List is 0
	}
	binary.BigEndian.PutUint16(b[start+ipChecksum:], Checksum(b[start:], 0))
	return b
}

// String describes the header in a tcpdump-like line, without lengths:
// "IP 10.0.0.1 > 10.0.0.2: proto TCP (6) ttl 64 id 0x1c46 [DF]".
func (h IPv4Header) String() string { return h.format(-1, -1) }

// format writes the IP line; totalLen and dataLen are left out when
// negative. A fragment shows tcpdump's "frag ID:LENGTH@OFFSET" with a "+"
// when more fragments follow.
func (h IPv4Header) format(totalLen, dataLen int) string {
	var a [128]byte
	return string(h.appendFormat(a[:0], totalLen, dataLen))
}

// appendFormat is format appending to b, without fmt: the line is made
// for every datagram the step log records (ip/logtext.go).
func (h IPv4Header) appendFormat(b []byte, totalLen, dataLen int) []byte {
	b = appendAddr(append(b, "IP "...), h.Src)
	b = appendAddr(append(b, " > "...), h.Dst)
	b = append(append(b, ": proto "...), h.Protocol.String()...)
	b = append(strconv.AppendUint(append(b, " ("...), uint64(h.Protocol), 10), ')')
	if totalLen >= 0 {
		b = strconv.AppendInt(append(b, " len "...), int64(totalLen), 10)
	}
	b = strconv.AppendUint(append(b, " ttl "...), uint64(h.TTL), 10)
	if h.MF || h.FragmentOffset != 0 {
		b = strconv.AppendUint(append(b, " frag "...), uint64(h.ID), 10)
		if dataLen >= 0 {
			b = strconv.AppendInt(append(b, ':'), int64(dataLen), 10)
		}
		b = strconv.AppendUint(append(b, '@'), uint64(h.FragmentOffset), 10)
		if h.MF {
			b = append(b, '+')
		}
	} else {
		b = viz.AppendHex(append(b, " id "...), uint64(h.ID), 4)
	}
	if h.DF {
		b = append(b, " [DF]"...)
	}
	if len(h.Options) > 0 {
		b = append(b, " [options]"...)
	}
	return b
}

// IPv4 options (RFC 791 §3.1). Each option starts with a type byte:
//
//	  0   1   2   3   4   5   6   7
//	+---+---+---+---+---+---+---+---+
//	| C | class |      number       |
//	+---+---+---+---+---+---+---+---+
//
// C, the copied flag, says whether fragmentation copies the option into
// every fragment. End of Option List (0) and No Operation (1) are a single
// byte; every other option is type, length (counting the type and length
// bytes, so at least 2) and data. Options are rare today, but a header
// that claims them must still be walked safely: a length that runs past the
// header is how a parser gets tricked into reading what is not there.

// OptionType is an IPv4 option's type byte.
type OptionType uint8

const (
	OptionEOL         OptionType = 0   // End of Option List
	OptionNOP         OptionType = 1   // No Operation: aligns the next option
	OptionRecordRoute OptionType = 7   // RFC 791
	OptionTimestamp   OptionType = 68  // RFC 791
	OptionSecurity    OptionType = 130 // RFC 1108
	OptionLSRR        OptionType = 131 // Loose Source and Record Route, RFC 791
	OptionStreamID    OptionType = 136 // RFC 791, obsolete
	OptionSSRR        OptionType = 137 // Strict Source and Record Route, RFC 791
	OptionRouterAlert OptionType = 148 // RFC 2113
)

// Copied reports whether fragmentation copies the option into every
// fragment, not just the first (RFC 791 §3.1, the copied flag).
func (t OptionType) Copied() bool { return t&0x80 != 0 }

func (t OptionType) String() string {
	switch t {
	case OptionEOL:
		return "end of options"
	case OptionNOP:
		return "no-op"
	case OptionRecordRoute:
		return "record route"
	case OptionTimestamp:
		return "timestamp"
	case OptionSecurity:
		return "security"
	case OptionLSRR:
		return "loose source route"
	case OptionStreamID:
		return "stream ID"
	case OptionSSRR:
		return "strict source route"
	case OptionRouterAlert:
		return "router alert"
	}
	return fmt.Sprintf("option %d", uint8(t))
}

// Option is one option's bytes, type byte first.
type Option []byte

// Type returns the option's type.
func (o Option) Type() OptionType { return OptionType(o[0]) }

// Data returns the bytes after the type and length; none for the
// single-byte options.
func (o Option) Data() []byte {
	if len(o) < 2 {
		return nil
	}
	return o[2:]
}

// ParseOptions splits an options field into its options, stopping before
// End of Option List (what follows it is padding). It returns a *CheckError
// with reason ip_options_malformed if an option's length is below 2 or runs
// past the end of the field.
func ParseOptions(opts []byte) ([]Option, error) {
	var out []Option
	for at := 0; at < len(opts); {
		o, err := nextOption(opts, at)
		if err != nil {
			return nil, err
		}
		if o.Type() == OptionEOL {
			break
		}
		out = append(out, o)
		at += len(o)
	}
	return out, nil
}

// nextOption returns the option that starts at opts[at].
func nextOption(opts []byte, at int) (Option, error) {
	t := OptionType(opts[at])
	if t == OptionEOL || t == OptionNOP {
		return Option(opts[at : at+1]), nil
	}
	if at+1 >= len(opts) {
		return nil, checkErr(viz.ReasonIPOptionsMalformed,
			"%s option at options byte %d has no room for its length byte", t, at)
	}
	n := int(opts[at+1])
	if n < 2 {
		return nil, checkErr(viz.ReasonIPOptionsMalformed,
			"%s option at options byte %d has length %d, below the minimum of 2", t, at, n)
	}
	if at+n > len(opts) {
		return nil, checkErr(viz.ReasonIPOptionsMalformed,
			"%s option at options byte %d has length %d, but only %d bytes of options remain", t, at, n, len(opts)-at)
	}
	return Option(opts[at : at+n]), nil
}

// optionsBeforeEOL returns the options up to End of Option List: the field
// without its padding. The options must be well formed.
func optionsBeforeEOL(opts []byte) []byte {
	at := 0
	for at < len(opts) {
		o, err := nextOption(opts, at)
		if err != nil || o.Type() == OptionEOL {
			break
		}
		at += len(o)
	}
	return opts[:at]
}
