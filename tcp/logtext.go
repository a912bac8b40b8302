package tcp

import (
	"net/netip"
	"strconv"
)

// logtext.go: TCP's step texts built by appending into stack buffers
// instead of with fmt, and flag texts made once, so that a step costs no
// allocation on the stack's goroutine (BENCHMARKS.md says what fmt cost).
// The texts are the bytes fmt gave (the golden traces of viz/text and
// cmd/packetwalk check them).

// flagTexts holds Flags.String for every value of the flags octet, so that
// the text of a segment's flags costs nothing per segment.
var flagTexts = func() (t [256]string) {
	for f := range t {
		t[f] = Flags(f).format()
	}
	return t
}()

// appendEndpoint appends an address and port as tcpdump does (fmtEndpoint).
func appendEndpoint(b []byte, a netip.Addr, port uint16) []byte {
	if a.IsValid() {
		b = append(a.AppendTo(b), '.')
	}
	return strconv.AppendUint(b, uint64(port), 10)
}

// appendAddrPort appends ap as %s prints it.
func appendAddrPort(b []byte, ap netip.AddrPort) []byte {
	if !ap.IsValid() {
		return append(b, ap.String()...)
	}
	return ap.AppendTo(b)
}

// appendSegmentLine is formatSegmentLine appending to b.
func appendSegmentLine(b []byte, flags Flags, seq, ack Seq, win, urg uint16, opts string, length int) []byte {
	b = append(append(b, "Flags "...), flags.String()...)
	if length != 0 || flags&(FlagSYN|FlagFIN|FlagRST) != 0 {
		b = strconv.AppendUint(append(b, ", seq "...), uint64(seq), 10)
		if length > 0 {
			b = strconv.AppendUint(append(b, ':'), uint64(seq.Add(uint32(length))), 10)
		}
	}
	if flags&FlagACK != 0 {
		b = strconv.AppendUint(append(b, ", ack "...), uint64(ack), 10)
	}
	b = strconv.AppendUint(append(b, ", win "...), uint64(win), 10)
	if flags&FlagURG != 0 {
		b = strconv.AppendUint(append(b, ", urg "...), uint64(urg), 10)
	}
	if opts != "" {
		b = append(append(append(b, ", options ["...), opts...), ']')
	}
	if length >= 0 {
		b = strconv.AppendInt(append(b, ", length "...), int64(length), 10)
	}
	return b
}
