// Package fcsmac is your LAN adapter's two receive checks ("How Network
// Works" ch. 6): the FCS, which tells a damaged frame from a good one, and
// the destination-MAC filter, which tells a frame for this NIC from one for
// somebody else on the same wire. The NIC calls them for every frame that
// reaches it and logs, counts and drops according to your answers.
//
// Keep the package's name and New's signature: `packetwalk lab test
// impl-fcs-mac --impl DIR` builds the stack with New.
package fcsmac

import "github.com/packetwalk/packetwalk/nic"

// Filter is your nic.FrameFilter.
type Filter struct {
	// TODO: anything your filter keeps (a CRC table, for instance).
}

// New returns your filter. Every NIC of the graded tests gets its own.
func New() nic.FrameFilter { return &Filter{} }

// CheckFCS reads the FCS carried in the frame's last 4 bytes (Ethernet sends
// the CRC least significant byte first, so they are little-endian), computes
// the CRC-32 over every byte before them (header, payload and padding), and
// reports both and whether they agree. The frame is at least 18 bytes long.
func (f *Filter) CheckFCS(frame []byte) (carried, computed uint32, ok bool) {
	// TODO
	return 0, 0, false
}

// Classify decides whether a frame sent to dst is for this NIC, and why:
//
//	nic.ClassHost       dst is the NIC's own address (s.Own)
//	nic.ClassBroadcast  dst is ff:ff:ff:ff:ff:ff
//	nic.ClassMulticast  dst is a group address the NIC joined (s.Groups)
//	nic.ClassOtherHost  anything else, but only in promiscuous mode
//
// and false for a frame the NIC must drop (mac_not_mine). A group address
// has the least significant bit of its first octet set (the first bit on
// the wire).
func (f *Filter) Classify(dst nic.MAC, s nic.FilterState) (nic.Class, bool) {
	// TODO
	return 0, false
}
