package tcp

import (
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"

	"github.com/packetwalk/packetwalk/ip"
	"github.com/packetwalk/packetwalk/viz"
)

// TCP options (RFC 9293 §3.2) follow the 20-byte fixed header, up to the
// data offset. Two kinds are a single byte: End of Option List (0), after
// which the rest of the area is padding, and No-Operation (1), which senders
// put before an option to align its fields on 32-bit boundaries. Every other
// option is kind, length and data, the length counting the kind and length
// bytes:
//
//	+--------+--------+---------...
//	|  kind  | length |  data ...
//	+--------+--------+---------...
//
// A receiver must skip the options it does not know by their length
// (RFC 9293 §3.2, MUST-6) and must not be fooled by an illegal one
// (MUST-7): a length below 2 would loop for ever, and a length running past
// the option area would read the payload as options.
//
// The options packetwalk understands:
//
//	kind len  name            where                  RFC
//	0    -    End of List     any                    9293 §3.2
//	1    -    No-Operation    any                    9293 §3.2
//	2    4    MSS             SYN only               9293 §3.7.1
//	3    3    Window Scale    SYN only               7323 §2
//	4    2    SACK-Permitted  SYN only               2018 §2
//	5    2+8n SACK            after the handshake    2018 §3
//	8    10   Timestamps      any, once negotiated   7323 §3
//
// Where an option belongs is the state machine's business: parsing records
// an MSS on any segment and leaves it to the connection to ignore it.
const (
	optEOL           = 0
	optNOP           = 1
	optMSS           = 2
	optWindowScale   = 3
	optSACKPermitted = 4
	optSACK          = 5
	optTimestamps    = 8

	optLenMSS           = 4
	optLenWindowScale   = 3
	optLenSACKPermitted = 2
	optLenSACKBase      = 2 // kind and length; 8 bytes follow per block
	optLenSACKBlock     = 8
	optLenTimestamps    = 10
)

const (
	// MaxOptionsLen is the most option bytes a segment carries: the 4-bit
	// data offset allows a 60-byte header, 20 of which are fixed.
	MaxOptionsLen = 40

	// MaxSACKBlocks is the most SACK blocks one option holds: 2+8*4 = 34
	// bytes, and a fifth would not fit in 40 (RFC 2018 §3). With
	// timestamps, which take 12 bytes with their padding, only 3 fit.
	MaxSACKBlocks = 4

	// MaxWindowScale is the largest shift a window scale may have, so that
	// a window (at most 2^16 << 14 = 2^30 bytes) stays below half the
	// sequence space and old and new data cannot be confused (RFC 7323
	// §2.3).
	MaxWindowScale = 14
)

// SACKBlock is one block of a SACK option (RFC 2018 §3): the receiver holds
// the bytes from Start up to, not including, End, beyond a hole at its
// cumulative acknowledgement.
type SACKBlock struct {
	Start, End Seq
}

// HeaderOptions is the meaning of a segment's options. The zero value
// means none. (Options, without the prefix, are a socket's options.)
// Parsing keeps the last of repeated options, as Linux's tcp_parse_options
// does.
type HeaderOptions struct {
	// MSS is the Maximum Segment Size the sender can receive, in bytes
	// (RFC 9293 §3.7.1); 0 means the option is absent. An MSS option that
	// says 0 is treated as absent, as Linux does.
	MSS uint16
	// WS is the sender's window scale shift (RFC 7323 §2): the windows it
	// advertises after the handshake are to be shifted left by WS. HasWS
	// says whether the option is present; a scale of 0 is meaningful (it
	// agrees to scaling without scaling its own window).
	WS    uint8
	HasWS bool
	// SACKPermitted says the sender understands SACK options (RFC 2018 §2).
	SACKPermitted bool
	// SACKBlocks are the blocks of a SACK option, at most MaxSACKBlocks;
	// nil when there is none. The first block should be the one holding
	// the segment that triggered the ACK (RFC 2018 §4).
	SACKBlocks []SACKBlock
	// TSVal and TSEcr are the Timestamps option (RFC 7323 §3): the
	// sender's clock and the latest TSVal it received, echoed. HasTS says
	// whether the option is present.
	TSVal, TSEcr uint32
	HasTS        bool
}

// ParseOptions parses a segment's option area. Unknown options are skipped
// by their length, and so are known ones with the wrong length (an MSS of
// length 3, a SACK whose length is not 2+8n), as Linux's tcp_parse_options
// skips them: such an option is a peer's bug, not a reason to lose the
// segment. A window scale above 14 is taken as 14 (RFC 7323 §2.3). It
// returns a *ip.CheckError with reason tcp_options_malformed if an option's
// length byte is missing, below 2 or runs past the end of the area (RFC
// 9293 §3.2, MUST-7). On error the returned HeaderOptions is the zero value.
func ParseOptions(b []byte) (HeaderOptions, error) {
	var o HeaderOptions
	for at := 0; at < len(b); {
		kind := b[at]
		switch kind {
		case optEOL:
			return o, nil // the rest is padding
		case optNOP:
			at++
			continue
		}
		n, err := optionLen(b, at)
		if err != nil {
			return HeaderOptions{}, err
		}
		data := b[at+2 : at+n]
		switch {
		case kind == optMSS && n == optLenMSS:
			o.MSS = binary.BigEndian.Uint16(data)
		case kind == optWindowScale && n == optLenWindowScale:
			o.WS, o.HasWS = min(data[0], MaxWindowScale), true
		case kind == optSACKPermitted && n == optLenSACKPermitted:
			o.SACKPermitted = true
		case kind == optSACK && n > optLenSACKBase && (n-optLenSACKBase)%optLenSACKBlock == 0:
			// At most 4 blocks fit in 40 bytes, so the length needs no
			// further limit.
			o.SACKBlocks = make([]SACKBlock, 0, (n-optLenSACKBase)/optLenSACKBlock)
			for d := data; len(d) > 0; d = d[optLenSACKBlock:] {
				o.SACKBlocks = append(o.SACKBlocks, SACKBlock{
					Start: Seq(binary.BigEndian.Uint32(d)),
					End:   Seq(binary.BigEndian.Uint32(d[4:])),
				})
			}
		case kind == optTimestamps && n == optLenTimestamps:
			o.TSVal, o.TSEcr, o.HasTS = binary.BigEndian.Uint32(data), binary.BigEndian.Uint32(data[4:]), true
		}
		at += n
	}
	return o, nil
}

// optionLen returns the length of the kind-length-data option at b[at],
// or a *ip.CheckError if the length is missing, below 2 or too long.
func optionLen(b []byte, at int) (int, error) {
	kind := b[at]
	if at+1 >= len(b) {
		return 0, optErr("%s option at options byte %d has no room for its length byte", optionName(kind), at)
	}
	n := int(b[at+1])
	if n < 2 {
		return 0, optErr("%s option at options byte %d has length %d, below the minimum of 2", optionName(kind), at, n)
	}
	if at+n > len(b) {
		return 0, optErr("%s option at options byte %d has length %d, but only %d bytes of options remain", optionName(kind), at, n, len(b)-at)
	}
	return n, nil
}

func optErr(format string, args ...any) *ip.CheckError {
	return &ip.CheckError{Reason: viz.ReasonTCPOptionsMalformed, Msg: fmt.Sprintf(format, args...)}
}

// The encoding lays the options out as Linux's tcp_options_write does, each
// group a multiple of 4 bytes so that the 32-bit fields stay aligned:
//
//	MSS                     kind 2, len 4, mss                    4 bytes
//	Timestamps              NOP, NOP, kind 8, len 10, val, ecr   12 bytes
//	  with SACK-Permitted   kind 4, len 2, kind 8, len 10, ...   12 bytes
//	SACK-Permitted alone    NOP, NOP, kind 4, len 2               4 bytes
//	Window Scale            NOP, kind 3, len 3, shift             4 bytes
//	SACK                    NOP, NOP, kind 5, len, blocks      4+8n bytes
//
// A SYN from Linux reads "mss 1460,sackOK,TS val 1 ecr 0,nop,wscale 7" in
// tcpdump, and so does ours. The NOPs cost space, though: timestamps, a
// window scale and 3 SACK blocks take 39 bytes packed but 44 aligned. When
// the aligned layout would not fit in 40 bytes, the options are packed
// without NOPs (MSS, SACK-Permitted, Timestamps, Window Scale, SACK) and
// padded to a multiple of 4 with End of Option List (RFC 9293 §3.1: "The
// TCP header padding is composed of zeros"). So whatever ParseOptions read
// from a valid segment encodes again within MaxOptionsLen, and Append
// panics only for options no segment can carry (RFC 2018 §3 has a sender
// include only as many SACK blocks as fit: 3 with timestamps, 4 without).

// Len returns the number of bytes Append writes: a multiple of 4.
func (o HeaderOptions) Len() int {
	if n := o.alignedLen(); n <= MaxOptionsLen {
		return n
	}
	return (o.packedLen() + 3) &^ 3
}

// alignedLen is the length of Linux's layout.
func (o HeaderOptions) alignedLen() int {
	n := 0
	if o.MSS != 0 {
		n += 4
	}
	if o.HasTS {
		n += 12 // with SACK-Permitted in place of the NOPs, if set
	} else if o.SACKPermitted {
		n += 4
	}
	if o.HasWS {
		n += 4
	}
	if len(o.SACKBlocks) > 0 {
		n += 4 + optLenSACKBlock*len(o.SACKBlocks)
	}
	return n
}

// packedLen is the options' own length, with no NOP and no padding.
func (o HeaderOptions) packedLen() int {
	n := 0
	if o.MSS != 0 {
		n += optLenMSS
	}
	if o.SACKPermitted {
		n += optLenSACKPermitted
	}
	if o.HasTS {
		n += optLenTimestamps
	}
	if o.HasWS {
		n += optLenWindowScale
	}
	if len(o.SACKBlocks) > 0 {
		n += optLenSACKBase + optLenSACKBlock*len(o.SACKBlocks)
	}
	return n
}

// SACKRoom returns how many SACK blocks fit in the header next to o's other
// options: a receiver includes as many as fit, the most recent first (RFC
// 2018 §4). That is 4 alone and 3 with timestamps.
func (o HeaderOptions) SACKRoom() int {
	o.SACKBlocks = nil
	for n := MaxSACKBlocks; n > 0; n-- {
		if o.packedLen()+optLenSACKBase+optLenSACKBlock*n <= MaxOptionsLen {
			return n
		}
	}
	return 0
}

// Append appends the encoded options to b and returns the extended slice.
// It panics if they cannot fit in MaxOptionsLen bytes, for example four
// SACK blocks with timestamps, which only a caller's bug produces.
func (o HeaderOptions) Append(b []byte) []byte {
	if n := o.Len(); n > MaxOptionsLen {
		panic(fmt.Sprintf("tcp: options need %d bytes (%s), more than the %d a header holds", n, o, MaxOptionsLen))
	}
	return o.appendUnchecked(b)
}

// appendUnchecked encodes without the length limit, so that String can
// describe options that do not fit.
func (o HeaderOptions) appendUnchecked(b []byte) []byte {
	if o.alignedLen() <= MaxOptionsLen {
		return o.appendAligned(b)
	}
	return o.appendPacked(b)
}

func (o HeaderOptions) appendAligned(b []byte) []byte {
	if o.MSS != 0 {
		b = o.appendMSS(b)
	}
	switch {
	case o.HasTS && o.SACKPermitted:
		b = append(b, optSACKPermitted, optLenSACKPermitted)
		b = o.appendTimestamps(b)
	case o.HasTS:
		b = append(b, optNOP, optNOP)
		b = o.appendTimestamps(b)
	case o.SACKPermitted:
		b = append(b, optNOP, optNOP, optSACKPermitted, optLenSACKPermitted)
	}
	if o.HasWS {
		b = append(b, optNOP, optWindowScale, optLenWindowScale, o.WS)
	}
	if len(o.SACKBlocks) > 0 {
		b = append(b, optNOP, optNOP)
		b = o.appendSACK(b)
	}
	return b
}

func (o HeaderOptions) appendPacked(b []byte) []byte {
	start := len(b)
	if o.MSS != 0 {
		b = o.appendMSS(b)
	}
	if o.SACKPermitted {
		b = append(b, optSACKPermitted, optLenSACKPermitted)
	}
	if o.HasTS {
		b = o.appendTimestamps(b)
	}
	if o.HasWS {
		b = append(b, optWindowScale, optLenWindowScale, o.WS)
	}
	if len(o.SACKBlocks) > 0 {
		b = o.appendSACK(b)
	}
	for (len(b)-start)%4 != 0 {
		b = append(b, optEOL)
	}
	return b
}

func (o HeaderOptions) appendMSS(b []byte) []byte {
	b = append(b, optMSS, optLenMSS)
	return binary.BigEndian.AppendUint16(b, o.MSS)
}

func (o HeaderOptions) appendTimestamps(b []byte) []byte {
	b = append(b, optTimestamps, optLenTimestamps)
	b = binary.BigEndian.AppendUint32(b, o.TSVal)
	return binary.BigEndian.AppendUint32(b, o.TSEcr)
}

func (o HeaderOptions) appendSACK(b []byte) []byte {
	b = append(b, optSACK, byte(optLenSACKBase+optLenSACKBlock*len(o.SACKBlocks)))
	for _, blk := range o.SACKBlocks {
		b = binary.BigEndian.AppendUint32(b, uint32(blk.Start))
		b = binary.BigEndian.AppendUint32(b, uint32(blk.End))
	}
	return b
}

// String describes the options as tcpdump shows what Append emits, NOPs
// included, e.g. "mss 1460,sackOK,TS val 1 ecr 0,nop,wscale 7"; "" when
// there are none.
func (o HeaderOptions) String() string { return formatOptions(o.appendUnchecked(nil)) }

// Equal reports whether o and p mean the same options (a nil and an empty
// SACKBlocks are the same).
func (o HeaderOptions) Equal(p HeaderOptions) bool {
	if o.MSS != p.MSS || o.WS != p.WS || o.HasWS != p.HasWS || o.SACKPermitted != p.SACKPermitted ||
		o.TSVal != p.TSVal || o.TSEcr != p.TSEcr || o.HasTS != p.HasTS || len(o.SACKBlocks) != len(p.SACKBlocks) {
		return false
	}
	for i := range o.SACKBlocks {
		if o.SACKBlocks[i] != p.SACKBlocks[i] {
			return false
		}
	}
	return true
}

// optionName names an option kind as tcpdump does.
func optionName(kind byte) string {
	switch kind {
	case optEOL:
		return "eol"
	case optNOP:
		return "nop"
	case optMSS:
		return "mss"
	case optWindowScale:
		return "wscale"
	case optSACKPermitted:
		return "sackOK"
	case optSACK:
		return "sack"
	case optTimestamps:
		return "TS"
	case 19:
		return "md5" // RFC 2385
	case 28:
		return "uto" // RFC 5482
	case 29:
		return "tcp-ao" // RFC 5925
	case 30:
		return "mptcp" // RFC 8684
	case 34:
		return "tfo" // RFC 7413
	}
	return "unknown-" + strconv.Itoa(int(kind))
}

// formatOptions describes a raw option area the way tcpdump's tcp_print
// does, option by option in wire order, so that the narration shows the
// NOPs and unknown options a peer really sent. It accepts any bytes: an
// option whose length is illegal ends the list with "[bad opt]", as in
// tcpdump, and a known option with the wrong length is marked but skipped
// (ParseOptions ignores it).
func formatOptions(b []byte) string {
	var s strings.Builder
	for at := 0; at < len(b); {
		if at > 0 {
			s.WriteByte(',')
		}
		kind := b[at]
		if kind == optEOL {
			s.WriteString("eol") // the rest is padding
			break
		}
		if kind == optNOP {
			s.WriteString("nop")
			at++
			continue
		}
		n, err := optionLen(b, at)
		if err != nil {
			s.WriteString(optionName(kind) + " [bad opt]")
			break
		}
		data := b[at+2 : at+n]
		at += n
		s.WriteString(optionName(kind))
		switch {
		case kind == optMSS && n == optLenMSS:
			fmt.Fprintf(&s, " %d", binary.BigEndian.Uint16(data))
		case kind == optWindowScale && n == optLenWindowScale:
			fmt.Fprintf(&s, " %d", data[0])
			if data[0] > MaxWindowScale {
				fmt.Fprintf(&s, " (used as %d)", MaxWindowScale)
			}
		case kind == optSACKPermitted && n == optLenSACKPermitted:
		case kind == optSACK && n > optLenSACKBase && (n-optLenSACKBase)%optLenSACKBlock == 0:
			fmt.Fprintf(&s, " %d ", len(data)/optLenSACKBlock)
			for d := data; len(d) > 0; d = d[optLenSACKBlock:] {
				fmt.Fprintf(&s, "{%d:%d}", binary.BigEndian.Uint32(d), binary.BigEndian.Uint32(d[4:]))
			}
		case kind == optTimestamps && n == optLenTimestamps:
			fmt.Fprintf(&s, " val %d ecr %d", binary.BigEndian.Uint32(data), binary.BigEndian.Uint32(data[4:]))
		case kind == optMSS || kind == optWindowScale || kind == optSACKPermitted ||
			kind == optSACK || kind == optTimestamps:
			// A kind we parse, with a length it must not have.
			fmt.Fprintf(&s, " [bad length %d]", n)
		default:
			if len(data) > 0 {
				fmt.Fprintf(&s, " 0x%x", data)
			}
		}
	}
	return s.String()
}
