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

	plainSummary   = "IP %s > %s: proto %s (%d) len %d ttl %d id %s"
	plainSummaryDF = plainSummary + " [DF]"
)

var (
	// plainFormats[df][ending] is a plain summary and an ending, whole
	// constants, so that a step makes no string.
	plainFormats = [2][4]string{
		{plainSummary + headerCheckedFmt, plainSummary + sendToFmt, plainSummary + sendViaFmt, plainSummary + sendBroadcastFmt},
		{plainSummaryDF + headerCheckedFmt, plainSummaryDF + sendToFmt, plainSummaryDF + sendViaFmt, plainSummaryDF + sendBroadcastFmt},
	}
	// otherFormats[ending] is an ending after a summary made as text.
	otherFormats = [...]string{"%s" + headerCheckedFmt, "%s" + sendToFmt, "%s" + sendViaFmt, "%s" + sendBroadcastFmt}
)

// stepArgs is a step's arguments in an array the caller keeps on its
// stack.
type stepArgs struct {
	a [12]viz.Arg
	n int
}

func (s *stepArgs) add(a ...viz.Arg) { s.n += copy(s.a[s.n:], a) }
func (s *stepArgs) list() []viz.Arg  { return s.a[:s.n] }

// summary adds h's summary to args and returns the format of the summary
// followed by e; the caller adds e's arguments.
func (l *Layer) summaryArgs(h IPv4, e ending, args *stepArgs) string {
	if l.plain(h) {
		df := 0
		if h.DF() {
			df = 1
		}
		args.add(viz.Addr(h.Src()), viz.Addr(h.Dst()),
			viz.Str(h.Protocol().String()), viz.Int(int(h.Protocol())), viz.Int(int(h.TotalLength())),
			viz.Int(int(h.TTL())), viz.Hex16(h.ID()))
		return plainFormats[df][e]
	}
	args.add(viz.Str(l.summary(h)))
	return otherFormats[e]
}

// plain reports whether h's summary is plainSummary's: a whole datagram
// without options that passes its checks, of a named protocol other than
// ICMP whose transport does not describe its datagrams itself.
func (l *Layer) plain(h IPv4) bool {
	if len(h) < IPv4MinHeaderLen || h.IsFragment() || h.HeaderLen() != IPv4MinHeaderLen {
		return false
	}
	switch h.Protocol() {
	case ProtocolTCP, ProtocolUDP:
	default:
		return false
	}
	if _, ok := l.transports[h.Protocol()].(Describer); ok {
		return false
	}
	return h.Check() == nil
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
