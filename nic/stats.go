package nic

import (
	"fmt"
	"strings"
)

// Stats are a NIC's counters, named and grouped as `ip -s -s link` shows
// them (Linux struct rtnl_link_stats64), plus RxFiltered, which Linux does
// not count because real adapters filter MACs in hardware.
type Stats struct {
	RxBytes, RxPackets uint64 // frames that reached the RX ring
	RxErrors           uint64 // RxLengthErrors + RxCRCErrors
	RxDropped          uint64 // ring full, no protocol for the EtherType
	RxMulticast        uint64 // broadcast and multicast frames accepted
	RxLengthErrors     uint64 // runts and giants
	RxCRCErrors        uint64 // FCS mismatches
	RxOverErrors       uint64 // RX ring overflows ("overrun")
	RxNoHandler        uint64 // unknown EtherType
	RxFiltered         uint64 // destination MAC not ours

	TxBytes, TxPackets uint64
	TxErrors           uint64
	TxDropped          uint64 // payload over the MTU
	TxCarrierErrors    uint64 // not attached to a medium
}

// String prints the counters in the layout of `ip -s -s link`.
func (s Stats) String() string {
	var b strings.Builder
	row := func(cols ...uint64) {
		for _, c := range cols {
			fmt.Fprintf(&b, " %9d", c)
		}
		b.WriteByte('\n')
	}
	fmt.Fprintf(&b, "    RX:     bytes   packets    errors   dropped     mcast  filtered\n   ")
	row(s.RxBytes, s.RxPackets, s.RxErrors, s.RxDropped, s.RxMulticast, s.RxFiltered)
	fmt.Fprintf(&b, "    RX errors: length       crc   overrun nohandler\n   ")
	fmt.Fprintf(&b, "       ")
	row(s.RxLengthErrors, s.RxCRCErrors, s.RxOverErrors, s.RxNoHandler)
	fmt.Fprintf(&b, "    TX:     bytes   packets    errors   dropped   carrier\n   ")
	row(s.TxBytes, s.TxPackets, s.TxErrors, s.TxDropped, s.TxCarrierErrors)
	return b.String()
}
