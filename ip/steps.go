package ip

import (
	"net/netip"

	"github.com/packetwalk/packetwalk/viz"
)

// steps.go: how IP's header and send steps say which datagram they are
// about. The line is IPv4.Summary's ("IP 10.0.0.1 > 10.0.0.2: proto TCP
// (6) len 1500 ttl 64 id 0x1c46 [DF]"); for the datagrams of a bulk
// transfer (whole, no options, a transport that does not describe its
// own) it is given to the step log as a format and its typed arguments,
// and made into text by the sinks. Any other datagram's line is made here.

// The endings of the header and send steps' messages, after the summary.
type ending int

const (
	headerChecked ending = iota // ": version 4, header %d bytes, length %d, checksum %#04x ok"
	sendTo                      // ", to %s on %s"
	sendVia                     // ", via gateway %s on %s"
	sendBroadcast               // ", to everyone on %s (broadcast)"
)

const (
	headerCheckedFmt = ": version 4, header %d bytes, length %d, checksum %s ok"
	sendToFmt        = ", to %s on %s"
	sendViaFmt       = ", via gateway %s on %s"
	sendBroadcastFmt = ", to everyone on %s (broadcast)"

	plainSummary = "IP %s > %s: proto %s (%d) len %d ttl %d id %s"
	// plainFragment is a fragment's summary: tcpdump's "frag
	// ID:LENGTH@OFFSET", of the ID, the data length and the offset.
	plainFragment = "IP %s > %s: proto %s (%d) len %d ttl %d frag %d:%d@%d"

	// fragmentFmt begins the send step of one fragment of several.
	fragmentFmt = "fragment %d of %d: "
)

// The shapes of a plain summary: a whole datagram, a fragment, a fragment
// with More Fragments set.
const (
	shapeWhole = iota
	shapeFragment
	shapeFragmentMF
	nShapes
)

var (
	// plainFormats[fragment][shape][df][ending] is a plain summary and an
	// ending, whole constants made once, so that a step makes no string;
	// with fragment 1 it begins with fragmentFmt.
	plainFormats = func() (t [2][nShapes][2][4]string) {
		endings := [4]string{headerCheckedFmt, sendToFmt, sendViaFmt, sendBroadcastFmt}
		shapes := [nShapes]string{plainSummary, plainFragment, plainFragment + "+"}
		for fr, prefix := range [2]string{"", fragmentFmt} {
			for sh, summary := range shapes {
				for df, flag := range [2]string{"", " [DF]"} {
					for e, ending := range endings {
						t[fr][sh][df][e] = prefix + summary + flag + ending
					}
				}
			}
		}
		return t
	}()
	// otherFormats[fragment][ending] is an ending after a summary made as
	// text.
	otherFormats = [2][4]string{
		{"%s" + headerCheckedFmt, "%s" + sendToFmt, "%s" + sendViaFmt, "%s" + sendBroadcastFmt},
		{fragmentFmt + "%s" + headerCheckedFmt, fragmentFmt + "%s" + sendToFmt, fragmentFmt + "%s" + sendViaFmt, fragmentFmt + "%s" + sendBroadcastFmt},
	}
)

// stepArgs is a step's arguments in an array the caller keeps on its
// stack.
type stepArgs struct {
	a [16]viz.Arg
	n int
}

func (s *stepArgs) add(a ...viz.Arg) { s.n += copy(s.a[s.n:], a) }
func (s *stepArgs) list() []viz.Arg  { return s.a[:s.n] }

// summaryArgs adds h's summary to args and returns the format of the
// summary followed by e; the caller adds e's arguments.
func (l *Layer) summaryArgs(h IPv4, e ending, args *stepArgs) string {
	return l.summaryFormat(h, e, args, false)
}

// summaryFormat is summaryArgs; with fragment set, the format begins with
// fragmentFmt, whose arguments the caller has added.
func (l *Layer) summaryFormat(h IPv4, e ending, args *stepArgs, fragment bool) string {
	fr := 0
	if fragment {
		fr = 1
	}
	if shape, ok := l.plain(h); ok {
		df := 0
		if h.DF() {
			df = 1
		}
		args.add(viz.Addr(h.Src()), viz.Addr(h.Dst()),
			viz.Str(h.Protocol().String()), viz.Int(int(h.Protocol())), viz.Int(int(h.TotalLength())),
			viz.Int(int(h.TTL())))
		if shape == shapeWhole {
			args.add(viz.Hex16(h.ID()))
		} else {
			args.add(viz.Int(int(h.ID())), viz.Int(int(h.TotalLength())-h.HeaderLen()), viz.Int(h.FragmentOffset()))
		}
		return plainFormats[fr][shape][df][e]
	}
	args.add(viz.Str(l.summary(h)))
	return otherFormats[fr][e]
}

// plain reports whether h's summary is plainSummary's or plainFragment's,
// and which shape: a datagram without options that passes its checks,
// and either a fragment of a named protocol or a whole datagram of TCP or
// UDP whose transport does not describe its datagrams itself (ICMP
// describes its messages in the summary).
func (l *Layer) plain(h IPv4) (shape int, ok bool) {
	if len(h) < IPv4MinHeaderLen || h.HeaderLen() != IPv4MinHeaderLen {
		return 0, false
	}
	switch h.Protocol() {
	case ProtocolTCP, ProtocolUDP:
	case ProtocolICMP:
		if !h.IsFragment() {
			return 0, false
		}
	default:
		return 0, false
	}
	if h.IsFragment() {
		shape = shapeFragment
		if h.MF() {
			shape = shapeFragmentMF
		}
	} else if _, ok := l.transports[h.Protocol()].(Describer); ok {
		return 0, false
	}
	return shape, h.Check() == nil
}

// headerFields are the fields of an IPv4 header's step, in an array the
// caller keeps on its stack.
func headerFields(h IPv4) [7]viz.Field {
	return [7]viz.Field{
		viz.Fv("src", viz.Addr(h.Src())), viz.Fv("dst", viz.Addr(h.Dst())),
		viz.Fv("protocol", viz.Int(int(h.Protocol()))), viz.Fv("ttl", viz.Int(int(h.TTL()))),
		viz.Fv("id", viz.Hex16(h.ID())), viz.Fv("len", viz.Int(int(h.TotalLength()))),
		viz.Fv("checksum", viz.Hex16(h.HeaderChecksum())),
	}
}

// appendAddr appends a as %s prints it (AppendTo writes nothing for the
// zero Addr, whose String is "invalid IP").
func appendAddr(b []byte, a netip.Addr) []byte {
	if !a.IsValid() {
		return append(b, a.String()...)
	}
	return a.AppendTo(b)
}
