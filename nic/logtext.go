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

// appendEtherType appends t as EtherType.String does.
func appendEtherType(b []byte, t EtherType) []byte {
	switch t {
	case EtherTypeIPv4, EtherTypeARP, EtherTypeIPv6, EtherTypeVLAN:
		return append(b, t.String()...)
	}
	return viz.AppendHex(b, uint64(t), 4)
}

// fcsText is "%#08x" of an FCS.
func fcsText(fcs uint32) string { return viz.Hex(uint64(fcs), 8) }

// tunFrameMsg is the TUN PHY's frame step, "the kernel sent a %d-byte %s
// on %s; the PHY frames it %s -> %s %s with FCS %#08x", without fmt.
func (d *Device) tunFrameMsg(n int, what string, dst MAC, t EtherType, fcs uint32) string {
	var a [192]byte
	b := viz.AppendInt(append(a[:0], "the kernel sent a "...), n)
	b = append(append(append(b, "-byte "...), what...), " on "...)
	b = append(append(b, d.name...), "; the PHY frames it "...)
	b = append(append(b, d.srcText.get(d.kernelMAC)...), " -> "...)
	b = append(append(b, d.dstText.get(dst)...), ' ')
	b = append(appendEtherType(b, t), " with FCS "...)
	return string(viz.AppendHex(b, uint64(fcs), 8))
}

// tunUnframeMsg is the TUN PHY's unframe step, "header, padding and FCS
// stripped: %d-byte IPv4 packet written to %s for the kernel".
func (d *Device) tunUnframeMsg(n int) string {
	var a [128]byte
	b := viz.AppendInt(append(a[:0], "header, padding and FCS stripped: "...), n)
	b = append(append(b, "-byte IPv4 packet written to "...), d.name...)
	return string(append(b, " for the kernel"...))
}
