package scenario

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash/crc32"
	"net/netip"
	"strconv"
	"strings"

	"github.com/packetwalk/packetwalk/ip"
	"github.com/packetwalk/packetwalk/nic"
	"github.com/packetwalk/packetwalk/stack"
	"github.com/packetwalk/packetwalk/tcp"
	"github.com/packetwalk/packetwalk/udp"
)

// injectorName is the "host" of crafted frames in the step log.
const injectorName = "injector"

// injectorNIC is the injector's one NIC, in captures and the topology.
const injectorNIC = "inj0"

// macOfHost returns the MAC address build gives a host's first NIC.
func (sc *Scenario) macOfHost(name string) (nic.MAC, bool) {
	index := 0
	for _, h := range sc.Hosts {
		for j, in := range h.Interfaces {
			index++
			if h.Name == name && j == 0 {
				if in.MAC != "" {
					m, err := nic.ParseMAC(in.MAC)
					return m, err == nil
				}
				return stack.MAC(index), true
			}
		}
	}
	return nic.MAC{}, false
}

// resolveMAC reads a MAC address, "broadcast", or a host's name.
func (sc *Scenario) resolveMAC(s string) (nic.MAC, error) {
	if strings.EqualFold(s, "broadcast") {
		return nic.Broadcast, nil
	}
	if m, ok := sc.macOfHost(s); ok {
		return m, nil
	}
	m, err := nic.ParseMAC(s)
	if err != nil {
		return nic.MAC{}, fmt.Errorf("%q is neither a MAC address nor a host", s)
	}
	return m, nil
}

// buildFrame makes a crafted frame's bytes, FCS included (spoiled if
// bad_fcs): from hex, or from its described headers.
func (sc *Scenario) buildFrame(f *FrameTraffic, hosts map[string]*Host) ([]byte, error) {
	var frame []byte
	if f.Hex != "" {
		if f.IP != nil || f.TCP != nil || f.UDP != nil || f.Dst != "" {
			return nil, fmt.Errorf("give hex: or the headers (dst:, ip:, tcp: ...), not both")
		}
		clean := strings.Map(func(r rune) rune {
			if r == ' ' || r == '\n' || r == '\t' || r == ':' {
				return -1
			}
			return r
		}, f.Hex)
		b, err := hex.DecodeString(clean)
		if err != nil {
			return nil, fmt.Errorf("hex: %v", err)
		}
		if len(b) < nic.HeaderLen || len(b) > nic.HeaderLen+maxFramePayload {
			return nil, fmt.Errorf("hex: %d bytes; a frame here has 14 (its header) to %d", len(b), nic.HeaderLen+maxFramePayload)
		}
		frame = b
	} else {
		dst, err := sc.resolveMAC(orDefault(f.Dst, "broadcast"))
		if err != nil {
			return nil, fmt.Errorf("dst: %v", err)
		}
		src := nic.MAC{0x02, 0xee, 0, 0, 0, 1}
		if f.Src != "" {
			if src, err = sc.resolveMAC(f.Src); err != nil {
				return nil, fmt.Errorf("src: %v", err)
			}
		}
		et := nic.EtherTypeIPv4
		switch strings.ToLower(f.EtherType) {
		case "", "ipv4":
		case "arp":
			et = nic.EtherTypeARP
		default:
			v, err := strconv.ParseUint(f.EtherType, 0, 16)
			if err != nil {
				return nil, fmt.Errorf("ethertype %q is not ipv4, arp or a number like 0x88b5", f.EtherType)
			}
			et = nic.EtherType(v)
		}
		payload, err := sc.buildPayload(f, hosts)
		if err != nil {
			return nil, err
		}
		frame = binary.BigEndian.AppendUint16(append(append([]byte{}, dst[:]...), src[:]...), uint16(et))
		frame = append(frame, payload...)
	}
	for len(frame) < nic.MinFrameLen-nic.FCSLen {
		frame = append(frame, 0) // Ethernet's padding to 60 bytes
	}
	fcs := crc32.ChecksumIEEE(frame)
	if f.BadFCS {
		fcs ^= 0x1 // one bit: the FCS check catches every one-bit error
	}
	return binary.LittleEndian.AppendUint32(frame, fcs), nil
}

// buildPayload builds the IPv4 datagram (with a TCP or UDP header) of a
// described frame, or its bare payload without ip:.
func (sc *Scenario) buildPayload(f *FrameTraffic, hosts map[string]*Host) ([]byte, error) {
	data := f.Payload.Bytes()
	if len(data) > maxFramePayload {
		return nil, fmt.Errorf("the payload of %d bytes is more than a frame can carry (%d at most here)", len(data), maxFramePayload)
	}
	for _, p := range []struct {
		name string
		v    int
	}{{"tcp.src_port", portOf(f.TCP, true)}, {"tcp.dst_port", portOf(f.TCP, false)}, {"udp.src_port", udpPortOf(f.UDP, true)}, {"udp.dst_port", udpPortOf(f.UDP, false)}} {
		if p.v < 0 || p.v > 65535 {
			return nil, fmt.Errorf("%s %d is outside 0..65535", p.name, p.v)
		}
	}
	if f.TCP != nil && (f.TCP.Window < 0 || f.TCP.Window > 65535 || f.TCP.Seq > 1<<32-1 || f.TCP.Ack > 1<<32-1) {
		return nil, fmt.Errorf("tcp: window is 0..65535, seq and ack 0..4294967295")
	}
	if f.IP == nil {
		if f.TCP != nil || f.UDP != nil {
			return nil, fmt.Errorf("tcp: and udp: need ip: (their checksums cover the addresses)")
		}
		return data, nil
	}
	h := ip.IPv4Header{TTL: 64, ID: uint16(f.IP.ID), DF: f.IP.DF, MF: f.IP.MF, FragmentOffset: f.IP.FragOffset}
	if f.IP.TTL != 0 {
		h.TTL = uint8(f.IP.TTL)
	}
	var err error
	addr := func(s, what string) (netip.Addr, error) {
		ap, err := sc.resolveTo(s, -1, hosts)
		if err != nil {
			return netip.Addr{}, fmt.Errorf("ip.%s: %v", what, err)
		}
		return ap.Addr(), nil
	}
	if h.Src, err = addr(f.IP.Src, "src"); err != nil {
		return nil, err
	}
	if h.Dst, err = addr(f.IP.Dst, "dst"); err != nil {
		return nil, err
	}
	if f.IP.TTL < 0 || f.IP.TTL > 255 || f.IP.ID < 0 || f.IP.ID > 65535 || f.IP.FragOffset < 0 || f.IP.FragOffset%8 != 0 || f.IP.FragOffset > 65528 {
		return nil, fmt.Errorf("ip: ttl is 0..255, id 0..65535 and frag_offset a multiple of 8 up to 65528")
	}
	var l4 []byte
	switch {
	case f.TCP != nil && f.UDP != nil:
		return nil, fmt.Errorf("give tcp: or udp:, not both")
	case f.TCP != nil:
		flags, err := parseFlags(f.TCP.Flags)
		if err != nil {
			return nil, err
		}
		th := tcp.Header{SrcPort: uint16(f.TCP.SrcPort), DstPort: uint16(f.TCP.DstPort), Seq: tcp.Seq(f.TCP.Seq), Ack: tcp.Seq(f.TCP.Ack),
			Flags: flags, Window: uint16(f.TCP.Window)}
		if th.Window == 0 {
			th.Window = 65535
		}
		l4 = th.Append(nil, h.Src, h.Dst, data)
		h.Protocol = ip.ProtocolTCP
	case f.UDP != nil:
		l4 = udp.Append(nil, h.Src, h.Dst, uint16(f.UDP.SrcPort), uint16(f.UDP.DstPort), data)
		h.Protocol = ip.ProtocolUDP
	default:
		l4 = data
	}
	if f.IP.Protocol != 0 {
		h.Protocol = ip.Protocol(f.IP.Protocol)
	}
	if len(l4)+20 > 65535 {
		return nil, fmt.Errorf("the datagram is longer than 65535 bytes")
	}
	b := h.Append(nil, len(l4))
	if f.IP.BadChecksum {
		b[10] ^= 0xff
	}
	return append(b, l4...), nil
}

// maxFramePayload bounds a crafted frame's payload: a jumbo frame's worth,
// well under IPv4's 65,535-byte datagrams.
const maxFramePayload = 9000

func portOf(t *FrameTCP, src bool) int {
	switch {
	case t == nil:
		return 0
	case src:
		return t.SrcPort
	}
	return t.DstPort
}

func udpPortOf(u *FrameUDP, src bool) int {
	switch {
	case u == nil:
		return 0
	case src:
		return u.SrcPort
	}
	return u.DstPort
}

// parseFlags reads tcpdump's flag letters: S, S., P., F., R, R.
// ('.' is ACK).
func parseFlags(s string) (tcp.Flags, error) {
	f, err := tcp.ParseFlags(strings.Trim(s, "[]"))
	if err != nil {
		return 0, fmt.Errorf("tcp flags %q: use tcpdump's letters S F R P U and . for ACK", s)
	}
	return f, nil
}
