package arp

import "github.com/packetwalk/packetwalk/nic"

// macText remembers the text of the last MAC it was asked for, as the NIC's
// does (nic/logtext.go): every packet to a neighbour logs its address, which
// changes only when the neighbour moves.
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
