package nic

import "github.com/packetwalk/packetwalk/viz"

// logtext.go: the NIC's step messages built by appending into a stack
// buffer instead of with fmt, and the texts that repeat frame after frame
// (the NIC's own MAC, its peer's, the interrupt delay) made once. The NIC
// logs several steps for every frame, and fmt boxes each argument in an
// interface and walks its format string, which allocates on every step
// while the log is on; appending allocates only the final string. The
// messages are the bytes fmt gave.

// AppendTo appends m as "aa:bb:cc:dd:ee:ff".
func (m MAC) AppendTo(b []byte) []byte {
	const hex = "0123456789abcdef"
	for i, x := range m {
		if i > 0 {
			b = append(b, ':')
		}
		b = append(b, hex[x>>4], hex[x&0xf])
	}
	return b
}

// macText remembers the text of the last MAC it was asked for: a NIC's
// frames carry its own address and mostly one peer's.
type macText struct {
	mac  MAC
	text string
}

func (c *macText) get(m MAC) string {
	if c.text == "" || c.mac != m {
		c.mac, c.text = m, m.String()
	}
	return c.text
}

// AppendTo appends t as String gives it.
func (t EtherType) AppendTo(b []byte) []byte {
	switch t {
	case EtherTypeIPv4, EtherTypeARP, EtherTypeIPv6, EtherTypeVLAN:
		return append(b, t.String()...)
	}
	return viz.AppendHex(b, uint64(t), 4)
}

// fcsText is "%#08x" of an FCS.
func fcsText(fcs uint32) string { return viz.HexText(uint64(fcs), 8) }
