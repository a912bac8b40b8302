package drill

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"time"

	"github.com/packetwalk/packetwalk/arp"
	"github.com/packetwalk/packetwalk/clock"
	"github.com/packetwalk/packetwalk/ip"
	"github.com/packetwalk/packetwalk/nic"
	"github.com/packetwalk/packetwalk/tcp"
	"github.com/packetwalk/packetwalk/viz"
)

// peer is the remote host a script plays, plugged into the simulated wire
// like any NIC (nic.Port). It is not a TCP/IP stack: it sends exactly the
// segments the script's "<" lines describe, collects every segment the
// packetwalk host sends for the script's ">" lines to be matched against,
// and answers ARP for the gateway it stands behind, so that packetwalk
// resolves its next hop as it would on a real LAN. packetdrill does the
// same through a TUN device on Linux; here the frames walk packetwalk's
// whole receive path (FCS, MAC filter, ring, driver, IP, TCP) and every
// step is in the log.
type peer struct {
	name   string
	mac    nic.MAC
	hostIP netip.Addr // the gateway address the peer answers ARP for
	medium nic.Medium
	rec    *viz.Recorder
	clock  clock.Clock

	// sent holds the TCP segments packetwalk sent, in order, with the time
	// they reached the peer, until a ">" line takes them.
	sent []sniffed
	// ignored counts frames that were neither ARP nor TCP for the remote
	// address (packetdrill ignores them too).
	ignored int

	buf []byte
}

// sniffed is one segment packetwalk sent.
type sniffed struct {
	at    time.Duration
	frame uint64
	ip    ip.IPv4
	seg   tcp.Segment
}

func (p *peer) PortName() string { return p.name + "/eth0" }

// Attach records the medium the peer transmits on (the wire calls it).
func (p *peer) Attach(m nic.Medium) { p.medium = m }

// Arrive takes a frame from the wire. It runs on the event loop.
func (p *peer) Arrive(bits []byte, id uint64) {
	if len(bits) < nic.HeaderLen+nic.FCSLen {
		p.ignored++
		return
	}
	f := nic.Frame(bits)
	if f.Dst() != p.mac && !f.Dst().IsBroadcast() {
		return // another port's frame on the hub
	}
	switch f.EtherType() {
	case nic.EtherTypeARP:
		p.arrivedARP(arp.Packet(f.Payload()), id)
	case nic.EtherTypeIPv4:
		p.arrivedIPv4(f.Payload(), id)
	default:
		p.ignored++
	}
}

// arrivedARP answers a request for the gateway's address (RFC 826).
func (p *peer) arrivedARP(a arp.Packet, id uint64) {
	if a.Check() != nil || a.Op() != arp.Request || a.TargetIP() != p.hostIP {
		return
	}
	payload := arp.Append(nil, arp.Reply, p.mac, p.hostIP, a.SenderMAC(), a.SenderIP())
	out := p.rec.NewFrameID()
	if p.rec.On() {
		p.rec.Emit(viz.Event{Layer: viz.LayerARP, Step: "reply", Verdict: viz.Send, Frame: out,
			Msg:    fmt.Sprintf("the script's gateway answers frame #%d: %s is-at %s", id, p.hostIP, p.mac),
			Fields: []viz.Field{viz.F("op", "reply"), viz.F("sender_ip", p.hostIP.String()), viz.F("target_ip", a.SenderIP().String())}})
	}
	p.transmit(a.SenderMAC(), nic.EtherTypeARP, payload, out)
}

// arrivedIPv4 keeps a TCP segment for the script's ">" lines.
func (p *peer) arrivedIPv4(b []byte, id uint64) {
	h := ip.IPv4(b)
	if h.Check() != nil {
		p.ignored++
		return
	}
	b = b[:h.TotalLength()]
	h = ip.IPv4(b)
	if h.Protocol() != ip.ProtocolTCP || h.IsFragment() {
		p.ignored++
		return
	}
	seg := tcp.Segment(b[int(h.IHL())*4:])
	if len(seg) < tcp.MinHeaderLen || seg.HeaderLen() < tcp.MinHeaderLen || seg.HeaderLen() > len(seg) {
		p.ignored++
		return
	}
	c := make([]byte, len(b))
	copy(c, b)
	ih := ip.IPv4(c)
	p.sent = append(p.sent, sniffed{at: p.clock.Now(), frame: id, ip: ih, seg: tcp.Segment(c[int(ih.IHL())*4:])})
}

// sendSegment puts one IPv4 datagram carrying seg on the wire, to mac.
func (p *peer) sendDatagram(dst nic.MAC, datagram []byte, line int, what string) uint64 {
	id := p.rec.NewFrameID()
	if p.rec.On() {
		h := ip.IPv4(datagram)
		seg := tcp.Segment(datagram[int(h.IHL())*4:])
		p.rec.Emit(viz.Event{Layer: viz.LayerTCP, Step: "send", Verdict: viz.Send, Frame: id,
			Msg: fmt.Sprintf("script line %d: %s", line, seg.SummaryWith(h.Src(), h.Dst())),
			Fields: []viz.Field{viz.F("flags", seg.Flags().String()), viz.F("seq", fmt.Sprint(uint32(seg.Seq()))),
				viz.F("ack", fmt.Sprint(uint32(seg.Ack()))), viz.F("win", fmt.Sprint(seg.Window())),
				viz.F("len", fmt.Sprint(len(seg.Payload()))), viz.F("line", fmt.Sprint(line)), viz.F("script", what)}})
	}
	p.transmit(dst, nic.EtherTypeIPv4, datagram, id)
	return id
}

// transmit frames payload (header, padding, FCS), logs the nic "tx" step
// the narration and the ladder start a frame's row with, and hands it to
// the medium.
func (p *peer) transmit(dst nic.MAC, t nic.EtherType, payload []byte, id uint64) {
	p.buf = nic.AppendFrame(p.buf[:0], dst, p.mac, t, payload)
	frame := nic.Frame(p.buf)
	if p.rec.On() {
		p.rec.Emit(viz.Event{Layer: viz.LayerNIC, Step: "tx", Verdict: viz.Send, Frame: id,
			Msg: fmt.Sprintf("eth0 %s -> %s %s, %d bytes with FCS %#08x", p.mac, dst, t, len(frame), frame.FCS()),
			Fields: []viz.Field{viz.F("nic", "eth0"), viz.F("src", p.mac.String()), viz.F("dst", dst.String()),
				viz.F("ethertype", t.String()), viz.F("len", fmt.Sprint(len(frame))), viz.F("fcs", fmt.Sprintf("%#08x", frame.FCS()))}})
	}
	if p.medium != nil {
		p.medium.Transmit(p, frame, id)
	}
}

// appendIPv4 appends a 20-byte IPv4 header for a datagram of payloadLen
// bytes (RFC 791 §3.1), checksum filled in, Don't Fragment set as Linux
// sets it on TCP.
func appendIPv4(b []byte, src, dst netip.Addr, id uint16, tos uint8, ttl uint8, proto ip.Protocol, payloadLen int) []byte {
	start := len(b)
	b = append(b, 0x45, tos)
	b = binary.BigEndian.AppendUint16(b, uint16(ip.IPv4MinHeaderLen+payloadLen))
	b = binary.BigEndian.AppendUint16(b, id)
	b = binary.BigEndian.AppendUint16(b, 0x4000) // DF, offset 0
	b = append(b, ttl, byte(proto), 0, 0)
	s4, d4 := src.As4(), dst.As4()
	b = append(b, s4[:]...)
	b = append(b, d4[:]...)
	binary.BigEndian.PutUint16(b[start+10:], ip.Checksum(b[start:start+ip.IPv4MinHeaderLen], 0))
	return b
}
