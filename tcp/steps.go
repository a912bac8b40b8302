package tcp

import (
	"encoding/binary"
	"net/netip"
	"strings"

	"github.com/packetwalk/packetwalk/viz"
)

// steps.go: how TCP's send steps say which segment they sent, as the
// step log's format and typed arguments (viz/arg.go), so that the line is
// made by the sinks, not on the stack's goroutine. The line is
// SummaryWith's, tcpdump's ("10.0.0.2.80 > 10.0.0.1.49152: Flags [P.],
// seq 1001:1101, ack 2002, win 502, options [nop,nop,TS val 5 ecr 9],
// length 100"); which parts it has depends on the segment, so the format
// is picked from a table made once (segFormats) and the arguments follow.

// The parts of a segment line that are there or not.
const (
	lineSeq   = 1 << iota // ", seq %d" (data, SYN, FIN or RST)
	lineRange             // ":%d" after seq (data)
	lineAck               // ", ack %d"
	lineUrg               // ", urg %d"
	lineTS                // ", options [nop,nop,TS val %d ecr %d]"
	lineOpts              // ", options [%s]": any other options, as text
	lineSACK              // ",nop,nop,sack %d {%d:%d}..." (after TS) or "nop,nop,sack ..." alone
	lineSACKn             // and lineSACKn<<1: the number of SACK blocks less one
	lineSACKn2
	lineParts = 1 << iota
)

// segFormats[parts] is "%s: %s.%d > %s.%d: " (why, then the endpoints)
// and the segment line with those parts.
var segFormats = func() (t [lineParts]string) {
	for parts := range t {
		f := "%s: %s.%d > %s.%d: Flags %s"
		if parts&lineSeq != 0 {
			f += ", seq %d"
			if parts&lineRange != 0 {
				f += ":%d"
			}
		}
		if parts&lineAck != 0 {
			f += ", ack %d"
		}
		f += ", win %d"
		if parts&lineUrg != 0 {
			f += ", urg %d"
		}
		switch {
		case parts&lineSACK != 0:
			// Linux's layout of an ACK's options with SACK blocks
			// (HeaderOptions.appendAligned): formatOptions's text.
			f += ", options ["
			if parts&lineTS != 0 {
				f += "nop,nop,TS val %d ecr %d,"
			}
			f += "nop,nop,sack %d "
			for range 1 + (parts&(lineSACKn|lineSACKn2))/lineSACKn {
				f += "{%d:%d}"
			}
			f += "]"
		case parts&lineTS != 0:
			f += ", options [nop,nop,TS val %d ecr %d]"
		case parts&lineOpts != 0:
			f += ", options [%s]"
		}
		t[parts] = f + ", length %d"
	}
	return t
}()

// The parts of a cwnd step's line (CwndChange.String) that are there or
// not.
const (
	cwndMoved      = 1 << iota // " -> %d" after cwnd
	cwndSsMoved                // " -> %v" after ssthresh
	cwndWhy                    // " (%s)"
	cwndRetransmit             // ", retransmit"
	cwndParts      = 1 << iota
)

// cwndFormats[parts] is CwndChange.String's line with those parts.
var cwndFormats = func() (t [cwndParts]string) {
	for parts := range t {
		f := "cwnd %d"
		if parts&cwndMoved != 0 {
			f += " -> %d"
		}
		f += ", ssthresh %v"
		if parts&cwndSsMoved != 0 {
			f += " -> %v"
		}
		if parts&cwndWhy != 0 {
			f += " (%s)"
		}
		if parts&cwndRetransmit != 0 {
			f += ", retransmit"
		}
		t[parts] = f
	}
	return t
}()

// stepLine returns the format and the number of arguments (in args) of
// the cwnd step's message: String's text, made by the sinks.
func (ch CwndChange) stepLine(args *[6]viz.Arg) (string, int) {
	n, parts := 0, 0
	add := func(a viz.Arg) { args[n] = a; n++ }
	add(viz.Int(ch.From))
	if ch.To != ch.From {
		parts |= cwndMoved
		add(viz.Int(ch.To))
	}
	add(ssthreshArg(ch.SsthreshFrom))
	if ch.SsthreshTo != ch.SsthreshFrom {
		parts |= cwndSsMoved
		add(ssthreshArg(ch.SsthreshTo))
	}
	if ch.Why != "" {
		parts |= cwndWhy
		add(viz.Str(ch.Why))
	}
	if ch.Retransmit {
		parts |= cwndRetransmit
	}
	return cwndFormats[parts], n
}

// ssthreshArg is ssthresh as the step log says it: "inf" while it is still
// the initial "arbitrarily high" value (appendSsthresh).
func ssthreshArg(ss int) viz.Arg {
	if ss >= cwndMax {
		return viz.Str("inf")
	}
	return viz.Int(ss)
}

// rstToFormats[parts] is segFormats[parts] for the RST that answers a
// segment with nowhere to go (Layer.resetFor): why is the address it
// goes to.
var rstToFormats = func() (t [lineParts]string) {
	for parts := range t {
		t[parts] = "RST to %s: nothing here for this segment" + strings.TrimPrefix(segFormats[parts], "%s")
	}
	return t
}()

// segArgs is a send step's arguments, kept on the caller's stack.
type segArgs struct {
	a [24]viz.Arg
	n int
}

func (s *segArgs) add(a ...viz.Arg) { s.n += copy(s.a[s.n:], a) }

// sendLine returns the format and arguments of a send step's message for
// seg, a segment this host built (so its checks pass), from src to dst:
// why, then SummaryWith's line.
func sendLine(why string, seg Segment, src, dst netip.Addr, args *segArgs) string {
	return sendLineWith(&segFormats, viz.Str(why), seg, src, dst, args)
}

// sendLineWith is sendLine with formats' line instead of segFormats', and
// why as an argument.
func sendLineWith(formats *[lineParts]string, why viz.Arg, seg Segment, src, dst netip.Addr, args *segArgs) string {
	flags, seq, length := seg.Flags(), seg.Seq(), len(seg.Payload())
	args.add(why, viz.Addr(src), viz.Int(int(seg.SrcPort())), viz.Addr(dst), viz.Int(int(seg.DstPort())),
		viz.Str(flags.String()))
	parts := 0
	if length != 0 || flags&(FlagSYN|FlagFIN|FlagRST) != 0 {
		parts |= lineSeq
		args.add(viz.U32(uint32(seq)))
		if length > 0 {
			parts |= lineRange
			args.add(viz.U32(uint32(seq.Add(uint32(length)))))
		}
	}
	if flags&FlagACK != 0 {
		parts |= lineAck
		args.add(viz.U32(uint32(seg.Ack())))
	}
	args.add(viz.Int(int(seg.Window())))
	if flags&FlagURG != 0 {
		parts |= lineUrg
		args.add(viz.Int(int(seg.Urgent())))
	}
	if opts := seg.Options(); len(opts) > 0 {
		// Linux's layout of a segment's options once the connection is
		// open: timestamps after two NOPs, then an ACK's SACK blocks
		// after two more; either may be missing. Anything else is made
		// into text here (formatOptions): SYNs, and hosts of other ways.
		var ts, sack []byte
		rest := opts
		if len(rest) >= 12 && rest[0] == optNOP && rest[1] == optNOP && rest[2] == optTimestamps && rest[3] == optLenTimestamps {
			ts, rest = rest[4:12], rest[12:]
		}
		if n := len(rest); n >= 4+optLenSACKBlock && n <= 4+4*optLenSACKBlock && (n-4)%optLenSACKBlock == 0 &&
			rest[0] == optNOP && rest[1] == optNOP && rest[2] == optSACK && int(rest[3]) == n-2 {
			sack, rest = rest[4:], nil
		}
		if len(rest) > 0 {
			parts |= lineOpts
			args.add(viz.Str(formatOptions(opts)))
		} else {
			if ts != nil {
				parts |= lineTS
				args.add(viz.U32(binary.BigEndian.Uint32(ts)), viz.U32(binary.BigEndian.Uint32(ts[4:])))
			}
			if sack != nil {
				parts |= lineSACK | (len(sack)/optLenSACKBlock-1)*lineSACKn
				args.add(viz.Int(len(sack) / optLenSACKBlock))
				for ; len(sack) > 0; sack = sack[optLenSACKBlock:] {
					args.add(viz.U32(binary.BigEndian.Uint32(sack)), viz.U32(binary.BigEndian.Uint32(sack[4:])))
				}
			}
		}
	}
	args.add(viz.Int(length))
	return formats[parts]
}
