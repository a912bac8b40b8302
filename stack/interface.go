package stack

import (
	"net/netip"

	"github.com/packetwalk/packetwalk/arp"
	"github.com/packetwalk/packetwalk/ip"
	"github.com/packetwalk/packetwalk/nic"
)

// Interface is one NIC of a host, with its ARP and its IPv4 address. It is
// the seam between the link layer and IP: the driver hands it IPv4 frames,
// and IP sends through it.
type Interface struct {
	host   *Host
	NIC    *nic.NIC
	ARP    arp.Resolver // *arp.ARP unless arp.Config.Resolver chose another
	Prefix netip.Prefix
}

// Name implements ip.Link.
func (i *Interface) Name() string { return i.NIC.Name() }

// MTU implements ip.Link.
func (i *Interface) MTU() int { return i.NIC.MTU() }

// Output implements ip.Link: ARP finds nextHop's MAC address (queueing the
// datagram meanwhile), then the NIC sends the frame.
func (i *Interface) Output(nextHop netip.Addr, datagram []byte, id uint64) error {
	return i.ARP.Output(nextHop, nic.EtherTypeIPv4, datagram, id)
}

// OutputBroadcast implements ip.Link.
func (i *Interface) OutputBroadcast(datagram []byte, id uint64) error {
	return i.NIC.Transmit(nic.Broadcast, nic.EtherTypeIPv4, datagram, id)
}

// Receive implements nic.Protocol for EtherType IPv4: the driver's hand-off
// to IP.
func (i *Interface) Receive(f nic.RxFrame) {
	i.host.IP.Receive(ip.Inbound{
		Link:          i,
		Frame:         f.ID,
		OtherHost:     f.Class == nic.ClassOtherHost,
		LinkBroadcast: f.Class == nic.ClassBroadcast,
		Data:          f.Payload,
	})
}
