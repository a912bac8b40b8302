package tcp

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"strconv"

	"github.com/packetwalk/packetwalk/ip"
	"github.com/packetwalk/packetwalk/viz"
)

// A TCP segment (RFC 9293 §3.1, Figure 1), the payload of an IPv4 datagram
// with protocol 6:
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|          Source Port          |       Destination Port        |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                        Sequence Number                        |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                    Acknowledgment Number                      |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|  Data |       |C|E|U|A|P|R|S|F|                               |
//	| Offset| Rsrvd |W|C|R|C|S|S|Y|I|            Window             |
//	|       |       |R|E|G|K|H|T|N|N|                               |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|           Checksum            |         Urgent Pointer        |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                           [Options]                           |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                                                               :
//	:                             Data                              :
//	:                                                               |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// Data Offset is the header length in 32-bit words (5 to 15), so options
// take at most 40 bytes. The Sequence Number is that of the first data byte,
// or of the SYN; the Acknowledgment Number, valid when ACK is set, is the
// next sequence number the sender expects. Window is how many bytes, from
// the acknowledged one, the sender will accept (shifted left by the window
// scale once negotiated, RFC 7323 §2). The checksum covers the IPv4
// pseudo-header (see ip.PseudoHeaderSum), the header and the data. A
// segment has no length field: IP's Total Length says where it ends.
const (
	MinHeaderLen = 20 // Data Offset 5: no options
	MaxHeaderLen = 60 // Data Offset 15: the 4-bit field's largest value
)

// Byte offsets of the fixed header's fields.
const (
	tcpSrcPort    = 0
	tcpDstPort    = 2
	tcpSeq        = 4
	tcpAck        = 8
	tcpDataOffset = 12 // high nibble; the low nibble is reserved
	tcpFlags      = 13
	tcpWindow     = 14
	tcpChecksum   = 16
	tcpUrgent     = 18
)

// Flags are the eight control bits (RFC 9293 §3.1; ECE and CWR are ECN's,
// RFC 3168 §6.1).
type Flags uint8

const (
	FlagFIN Flags = 1 << iota // no more data from the sender; takes a sequence number
	FlagSYN                   // synchronize sequence numbers; takes a sequence number
	FlagRST                   // reset the connection
	FlagPSH                   // push: deliver to the application without waiting
	FlagACK                   // the Acknowledgment Number is valid
	FlagURG                   // the Urgent Pointer is valid
	FlagECE                   // ECN-Echo (RFC 3168)
	FlagCWR                   // Congestion Window Reduced (RFC 3168)
)

// ParseFlags reads control bits written as tcpdump and packetdrill write
// them: S (SYN), F (FIN), R (RST), P (PSH), U (URG), E (ECE), W (CWR) and
// '.' for ACK, e.g. "S.", "P.", "R".
func ParseFlags(letters string) (Flags, error) {
	var f Flags
	for _, c := range letters {
		switch c {
		case 'S':
			f |= FlagSYN
		case 'F':
			f |= FlagFIN
		case 'R':
			f |= FlagRST
		case 'P':
			f |= FlagPSH
		case '.':
			f |= FlagACK
		case 'U':
			f |= FlagURG
		case 'E':
			f |= FlagECE
		case 'W':
			f |= FlagCWR
		default:
			return 0, fmt.Errorf("unknown TCP flag %q: the letters are S F R P U E W, and . for ACK", c)
		}
	}
	return f, nil
}

// Has reports whether every flag in g is set in f.
func (f Flags) Has(g Flags) bool { return f&g == g }

// flagLetters are tcpdump's letters for the flags, in its order: FIN SYN
// RST PSH, ACK as ".", URG, ECE, CWR.
var flagLetters = [8]byte{'F', 'S', 'R', 'P', '.', 'U', 'E', 'W'}

// String writes the flags as tcpdump does: "[S]", "[S.]", "[P.]", "[F.]",
// "[R]", and "[none]" for no flags.
func (f Flags) String() string { return flagTexts[uint8(f)] }

// format makes the text String returns (flagTexts, logtext.go).
func (f Flags) format() string {
	if f == 0 {
		return "[none]"
	}
	b := make([]byte, 0, 10)
	b = append(b, '[')
	for i, c := range flagLetters {
		if f&(1<<i) != 0 {
			b = append(b, c)
		}
	}
	return string(append(b, ']'))
}

// Segment is a view of a TCP segment's bytes: the IP payload, header first.
// Accessors do not check lengths: call Check (or Parse) first on bytes from
// outside.
type Segment []byte

// SrcPort returns the source port.
func (s Segment) SrcPort() uint16 { return binary.BigEndian.Uint16(s[tcpSrcPort:]) }

// DstPort returns the destination port.
func (s Segment) DstPort() uint16 { return binary.BigEndian.Uint16(s[tcpDstPort:]) }

// Seq returns the sequence number of the segment's first byte (the SYN's,
// if set).
func (s Segment) Seq() Seq { return Seq(binary.BigEndian.Uint32(s[tcpSeq:])) }

// Ack returns the acknowledgement number, meaningful when ACK is set.
func (s Segment) Ack() Seq { return Seq(binary.BigEndian.Uint32(s[tcpAck:])) }

// DataOffset returns the header length in 32-bit words.
func (s Segment) DataOffset() uint8 { return s[tcpDataOffset] >> 4 }

// HeaderLen returns the header length in bytes, options included.
func (s Segment) HeaderLen() int { return int(s.DataOffset()) * 4 }

// Flags returns the control bits.
func (s Segment) Flags() Flags { return Flags(s[tcpFlags]) }

// Window returns the advertised window, not yet scaled.
func (s Segment) Window() uint16 { return binary.BigEndian.Uint16(s[tcpWindow:]) }

// Checksum returns the checksum carried in the header.
func (s Segment) Checksum() uint16 { return binary.BigEndian.Uint16(s[tcpChecksum:]) }

// Urgent returns the urgent pointer, meaningful when URG is set.
func (s Segment) Urgent() uint16 { return binary.BigEndian.Uint16(s[tcpUrgent:]) }

// Options returns the raw option area, padding included.
func (s Segment) Options() []byte { return s[MinHeaderLen:s.HeaderLen()] }

// Payload returns the data after the header.
func (s Segment) Payload() []byte { return s[s.HeaderLen():] }

// SegLen returns SEG.LEN (RFC 9293 §3.4): the sequence numbers the segment
// occupies, its data plus one each for SYN and FIN.
func (s Segment) SegLen() uint32 {
	n := uint32(len(s.Payload()))
	if s.Flags()&FlagSYN != 0 {
		n++
	}
	if s.Flags()&FlagFIN != 0 {
		n++
	}
	return n
}

// ComputeChecksum returns the checksum the segment should carry between
// IPv4 addresses src and dst, summing it with the checksum field taken as
// zero.
func (s Segment) ComputeChecksum(src, dst netip.Addr) uint16 {
	sum := ip.Sum(s[:tcpChecksum], ip.PseudoHeaderSum(src, dst, ip.ProtocolTCP, uint16(len(s))))
	return ip.Checksum(s[tcpChecksum+2:], uint32(sum))
}

func segErr(r viz.Reason, format string, args ...any) *ip.CheckError {
	return &ip.CheckError{Reason: r, Msg: fmt.Sprintf(format, args...)}
}

// checkLayout checks that the bytes hold a fixed header and that the data
// offset is at least 5 and within them: what must hold before any accessor
// may be used. It also refuses more bytes than the pseudo-header's 16-bit
// length can count.
func (s Segment) checkLayout() error {
	if len(s) < MinHeaderLen {
		return segErr(viz.ReasonTCPMalformed, "only %d bytes, shorter than the 20-byte minimum header", len(s))
	}
	if off := s.DataOffset(); off < 5 {
		return segErr(viz.ReasonTCPMalformed, "data offset %d (%d bytes) is below the minimum of 5 (20 bytes)", off, 4*int(off))
	}
	if hl := s.HeaderLen(); hl > len(s) {
		return segErr(viz.ReasonTCPMalformed, "data offset %d says the header has %d bytes, but the segment has only %d", s.DataOffset(), hl, len(s))
	}
	if len(s) > 0xffff {
		// The pseudo-header's length is 16 bits, and IPv4 cannot carry
		// more; only a caller handing over the wrong bytes gets here.
		return segErr(viz.ReasonTCPMalformed, "%d bytes, more than an IPv4 datagram can carry", len(s))
	}
	return nil
}

// Check validates bytes that arrived as a TCP segment from src to dst, in
// the order Linux's tcp_v4_rcv does, and returns a *ip.CheckError naming
// the first check that failed:
//
//	at least 20 bytes, 5 <= data offset,
//	the header fits in the segment,
//	at most 65,535 bytes                    -> tcp_malformed
//	checksum with the pseudo-header         -> tcp_checksum
//
// Unlike IP's, the checksum comes after the length checks: it covers the
// whole segment, whatever the data offset says, but a receiver that cannot
// find the header has nothing to check. Options are checked by Parse. The
// addresses must be IPv4 (ip.PseudoHeaderSum panics on others).
func (s Segment) Check(src, dst netip.Addr) error {
	if err := s.checkLayout(); err != nil {
		return err
	}
	if ip.Checksum(s, ip.PseudoHeaderSum(src, dst, ip.ProtocolTCP, uint16(len(s)))) != 0 {
		return segErr(viz.ReasonTCPChecksum, "checksum 0x%04x, computed 0x%04x", s.Checksum(), s.ComputeChecksum(src, dst))
	}
	return nil
}

// Parse returns the header's meaning, options parsed. It checks what it
// must to read the bytes safely: the layout (tcp_malformed, as Check) and
// the options (tcp_options_malformed, see ParseOptions). It does not verify
// the checksum, which needs the addresses: call Check first. The reserved
// bits are dropped, as RFC 9293 §3.1 tells receivers to ignore them.
func (s Segment) Parse() (Header, error) {
	if err := s.checkLayout(); err != nil {
		return Header{}, err
	}
	opts, err := ParseOptions(s.Options())
	if err != nil {
		return Header{}, err
	}
	return Header{
		SrcPort: s.SrcPort(),
		DstPort: s.DstPort(),
		Seq:     s.Seq(),
		Ack:     s.Ack(),
		Flags:   s.Flags(),
		Window:  s.Window(),
		Urgent:  s.Urgent(),
		Options: opts,
	}, nil
}

// Summary describes the segment as SummaryWith does, without addresses
// (the checksum cannot be verified without them): "49152 > 80: Flags [S],
// seq 3705114823, win 65535, length 0".
func (s Segment) Summary() string { return s.SummaryWith(netip.Addr{}, netip.Addr{}) }

// SummaryWith describes the segment from src to dst in one tcpdump-like line
// (as `tcpdump -n -S` prints it, absolute sequence numbers), e.g.
//
//	10.0.0.1.49152 > 10.0.0.2.80: Flags [S], seq 3705114823, win 65535, options [mss 1460,sackOK,TS val 1 ecr 0,nop,wscale 7], length 0
//	10.0.0.2.80 > 10.0.0.1.49152: Flags [P.], seq 1001:1101, ack 2002, win 502, length 100
//	10.0.0.1.49152 > 10.0.0.2.80: Flags [.], ack 1101, win 501, length 0
//
// Like tcpdump, it shows seq only when the segment has data or SYN, FIN or
// RST, and the options in wire order as sent. A failed check is named at the
// end, e.g. " [tcp_checksum]". SummaryWith accepts any bytes, so a narration
// can describe what it drops. Invalid addresses are left out (ports only), and
// the checksum is verified only between IPv4 addresses. (It is not called
// String so that printing a view with %x still shows its bytes.)
func (s Segment) SummaryWith(src, dst netip.Addr) string {
	if len(s) < MinHeaderLen {
		line := fmt.Sprintf("TCP truncated, %d bytes", len(s)) + segReasonSuffix(s.checkLayout())
		if src.IsValid() && dst.IsValid() {
			line = src.String() + " > " + dst.String() + ": " + line
		}
		return line
	}
	if err := s.checkLayout(); err != nil {
		ends := fmtEndpoint(src, s.SrcPort()) + " > " + fmtEndpoint(dst, s.DstPort()) + ": "
		// Say what is wrong: the rest of the header cannot be trusted.
		return ends + fmt.Sprintf("Flags %s, %s", s.Flags(), err.(*ip.CheckError).Msg) + segReasonSuffix(err)
	}
	var err error
	if src.Is4() && dst.Is4() {
		err = s.Check(src, dst)
	}
	if err == nil {
		_, err = ParseOptions(s.Options())
	}
	// Appended into one buffer, not joined from fmt pieces (logtext.go).
	var a [192]byte
	b := appendEndpoint(a[:0], src, s.SrcPort())
	b = appendEndpoint(append(b, " > "...), dst, s.DstPort())
	b = appendSegmentLine(append(b, ": "...), s.Flags(), s.Seq(), s.Ack(), s.Window(), s.Urgent(), formatOptions(s.Options()), len(s.Payload()))
	return string(append(b, segReasonSuffix(err)...))
}

// fmtEndpoint writes an address and port as tcpdump does: "10.0.0.1.80", or
// just "80" without an address.
func fmtEndpoint(a netip.Addr, port uint16) string {
	if !a.IsValid() {
		return strconv.Itoa(int(port))
	}
	return a.String() + "." + strconv.Itoa(int(port))
}

// segReasonSuffix marks a summary line with the check a segment failed, e.g.
// " [tcp_checksum]", or returns "" for nil.
func segReasonSuffix(err error) string {
	if ce, ok := err.(*ip.CheckError); ok {
		return " [" + string(ce.Reason) + "]"
	}
	return ""
}

// formatSegmentLine writes tcp_print's line after the addresses. length < 0 means
// unknown (a Header without its payload): seq is always shown and length
// left out.
func formatSegmentLine(flags Flags, seq, ack Seq, win, urg uint16, opts string, length int) string {
	var a [128]byte
	return string(appendSegmentLine(a[:0], flags, seq, ack, win, urg, opts, length))
}

// Header is a TCP header's meaning, parsed from a view by Segment.Parse or
// filled in by a sender and emitted by Append. The data offset and the
// checksum are not kept: Append computes them.
type Header struct {
	SrcPort, DstPort uint16
	Seq, Ack         Seq
	Flags            Flags
	Window           uint16 // as sent: not scaled
	Urgent           uint16
	Options          HeaderOptions
}

// HeaderLen returns the length of the header Append emits: 20 bytes and the
// options, whose encoding is always a multiple of 4.
func (h Header) HeaderLen() int { return MinHeaderLen + h.Options.Len() }

// Append appends a segment from src to dst (IPv4 addresses) carrying
// payload to b, options encoded and checksum filled in, and returns the
// extended slice. It panics on what only a caller's bug produces: options
// over 40 bytes (see HeaderOptions.Append) or a segment over 65,535 bytes.
func (h Header) Append(b []byte, src, dst netip.Addr, payload []byte) []byte {
	hl := h.HeaderLen()
	if hl > MaxHeaderLen {
		panic(fmt.Sprintf("tcp: options need %d bytes (%s), more than the %d a header holds", hl-MinHeaderLen, h.Options, MaxOptionsLen))
	}
	n := hl + len(payload)
	if n > 0xffff {
		panic(fmt.Sprintf("tcp: a segment of %d+%d bytes exceeds what the pseudo-header's 16-bit length can say", hl, len(payload)))
	}
	start := len(b)
	b = binary.BigEndian.AppendUint16(b, h.SrcPort)
	b = binary.BigEndian.AppendUint16(b, h.DstPort)
	b = binary.BigEndian.AppendUint32(b, uint32(h.Seq))
	b = binary.BigEndian.AppendUint32(b, uint32(h.Ack))
	b = append(b, byte(hl/4)<<4, byte(h.Flags))
	b = binary.BigEndian.AppendUint16(b, h.Window)
	b = append(b, 0, 0) // checksum zero while summing
	b = binary.BigEndian.AppendUint16(b, h.Urgent)
	b = h.Options.Append(b)
	b = append(b, payload...)
	// Unlike UDP's, a TCP checksum of 0 is sent as 0: TCP has no "no
	// checksum" value, and 0x0000 and 0xffff verify alike.
	binary.BigEndian.PutUint16(b[start+tcpChecksum:], ip.Checksum(b[start:], ip.PseudoHeaderSum(src, dst, ip.ProtocolTCP, uint16(n))))
	return b
}

// String describes the header in a tcpdump-like line, without addresses or
// length: "Flags [S], seq 3705114823, win 65535, options [mss 1460]". The
// options are shown as Append would encode them.
func (h Header) String() string {
	return formatSegmentLine(h.Flags, h.Seq, h.Ack, h.Window, h.Urgent, h.Options.String(), -1)
}
