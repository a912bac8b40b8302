package pcapng

import (
	"encoding/binary"
	"net"
	"net/netip"
	"strings"
)

// names.go writes Name Resolution Blocks (draft-ietf-opsawg-pcapng, 4.5)
// from the run's topology (Options.Topology), so that Wireshark shows
// "client" and "server" where the packets carry 10.0.0.1 and 10.0.0.2,
// with View > Name Resolution > Resolve Network Addresses (tshark -N n).
//
// Every address of a host is given the host's name, a router's too: a
// router's two interfaces are one machine, and a conversation that
// crosses it reads "client -> router -> server" in the packet list, where
// names like "router/eth1" would be longer than the address they replace
// and would look like a path. The interface a frame crossed is the
// packet's own interface (Statistics > Capture File Properties).
//
// MAC addresses get names too (EUI-48 records, draft 4.5): Wireshark
// 4.0, the version the tests run against, reads only the IPv4 and IPv6
// records and skips the others, while later versions also apply EUI-48
// names to eth.src and eth.dst (with Resolve Physical Addresses). Each
// address is named once, by the first host registered with it: a forged
// address (a crafted frame, a spoofing lab) does not rename its owner.

// Name Resolution Block constants (draft 4.5).
const (
	blockTypeNRB = 0x00000004 // "Name Resolution Block"

	nrbRecordEnd   = 0 // nrb_record_end
	nrbRecordIPv4  = 1 // nrb_record_ipv4: 4 octets, then zero-terminated names
	nrbRecordEUI48 = 3 // nrb_record_eui48: 6 octets, then zero-terminated names

	// maxNRBName bounds one name: a record's length field has 16 bits,
	// and a host name longer than this is no help in a packet list.
	maxNRBName = 255
)

// writeNames appends a Name Resolution Block with the addresses of the
// topology that no earlier block named. It is called before the first
// interface's block (so before the first packet), whenever a new
// interface appears (a NIC registered since), and at Close.
func (w *Writer) writeNames() {
	if w.cfg.Topology == nil || w.err != nil {
		return
	}
	topo := w.cfg.Topology()
	const start = 0
	b := w.block[:0] // the EPB scratch buffer: no packet is being built now
	b = binary.LittleEndian.AppendUint32(b, blockTypeNRB)
	b = binary.LittleEndian.AppendUint32(b, 0) // total length, below
	records := 0
	for _, h := range topo.Hosts {
		text := string(appendText(nil, h.Name)) // no NUL: it ends a name
		if len(text) > maxNRBName {
			text = strings.ToValidUTF8(text[:maxNRBName], "")
		}
		if text == "" {
			continue
		}
		name := []byte(text)
		for _, n := range h.NICs {
			for _, a := range n.Addrs {
				p, err := netip.ParsePrefix(a)
				if err != nil || !p.Addr().Is4() {
					continue
				}
				ip := p.Addr().As4()
				if w.named(string(ip[:])) {
					b = appendNRBRecord(b, nrbRecordIPv4, ip[:], name)
					records++
				}
			}
			if mac, err := net.ParseMAC(n.MAC); err == nil && len(mac) == 6 && w.named(string(mac)) {
				b = appendNRBRecord(b, nrbRecordEUI48, mac, name)
				records++
			}
		}
	}
	if records == 0 {
		return
	}
	b = binary.LittleEndian.AppendUint16(b, nrbRecordEnd)
	b = binary.LittleEndian.AppendUint16(b, 0)
	total := uint32(len(b) - start + 4)
	binary.LittleEndian.PutUint32(b[start+4:], total)
	b = binary.LittleEndian.AppendUint32(b, total)
	w.block = b[:0]
	if _, err := w.bw.Write(b); err != nil {
		w.fail(err)
	}
}

// named records that addr (4 octets of IPv4, or 6 of a MAC) has a name
// in the file, and reports whether it had none yet.
func (w *Writer) named(addr string) bool {
	if w.names == nil {
		w.names = make(map[string]bool)
	}
	if w.names[addr] {
		return false
	}
	w.names[addr] = true
	return true
}

// appendNRBRecord appends one record: type, length, the address and the
// zero-terminated name, padded to 32 bits (draft 4.5).
func appendNRBRecord(b []byte, typ uint16, addr, name []byte) []byte {
	n := len(addr) + len(name) + 1
	b = binary.LittleEndian.AppendUint16(b, typ)
	b = binary.LittleEndian.AppendUint16(b, uint16(n))
	b = append(b, addr...)
	b = append(b, name...)
	b = append(b, 0)
	return pad32(b, n)
}
