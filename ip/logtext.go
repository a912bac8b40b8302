package ip

import (
	"net/netip"

	"github.com/packetwalk/packetwalk/viz"
)

// logtext.go: the IP layer's step texts built by appending instead of
// with fmt, and addresses made into text once per peer instead of once
// per datagram, so that a step costs no allocation on the stack's
// goroutine (BENCHMARKS.md says what fmt cost). The texts are the bytes
// fmt gave (the golden traces check them).

// addrText remembers the text of the last address it was asked for.
type addrText struct {
	addr netip.Addr
	text string
}

func (c *addrText) get(a netip.Addr) string {
	if c.text == "" || c.addr != a {
		c.addr, c.text = a, a.String()
	}
	return c.text
}

// logTexts are a Layer's remembered address texts: a host's datagrams
// mostly go between one local address and one peer.
type logTexts struct {
	src, dst, next addrText
}

// headerFields are the fields of an IPv4 header's step.
func (l *Layer) headerFields(h IPv4) []viz.Field {
	return []viz.Field{
		viz.F("src", l.texts.src.get(h.Src())), viz.F("dst", l.texts.dst.get(h.Dst())),
		viz.F("protocol", viz.Itoa(int(h.Protocol()))), viz.F("ttl", viz.Itoa(int(h.TTL()))),
		viz.F("id", viz.HexText(uint64(h.ID()), 4)), viz.F("len", viz.Itoa(int(h.TotalLength()))),
		viz.F("checksum", viz.HexText(uint64(h.HeaderChecksum()), 4)),
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
