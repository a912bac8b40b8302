package wire

import (
	"github.com/packetwalk/packetwalk/viz"

	"github.com/packetwalk/packetwalk/nic"
)

// logtext.go: the TUN PHY's step messages built by appending into a stack
// buffer instead of with fmt, and the MAC texts that repeat frame after
// frame made once, as in nic/logtext.go. The messages are the bytes fmt
// gave.

// macText remembers the text of the last MAC it was asked for: a device's
// frames carry the kernel side's address and mostly the NIC's.
type macText struct {
	mac  nic.MAC
	text string
}

func (c *macText) get(m nic.MAC) string {
	if c.text == "" || c.mac != m {
		c.mac, c.text = m, m.String()
	}
	return c.text
}

// tunFrameMsg is the TUN PHY's frame step, "the kernel sent a %d-byte %s
// on %s; the PHY frames it %s -> %s %s with FCS %#08x", without fmt.
func (d *Device) tunFrameMsg(n int, what string, dst nic.MAC, t nic.EtherType, fcs uint32) string {
	var a [192]byte
	b := viz.AppendInt(append(a[:0], "the kernel sent a "...), n)
	b = append(append(append(b, "-byte "...), what...), " on "...)
	b = append(append(b, d.name...), "; the PHY frames it "...)
	b = append(append(b, d.srcText.get(d.kernelMAC)...), " -> "...)
	b = append(append(b, d.dstText.get(dst)...), ' ')
	b = append(t.AppendTo(b), " with FCS "...)
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
