package stack

import (
	"encoding/binary"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"testing"

	"github.com/packetwalk/packetwalk/arp"
	"github.com/packetwalk/packetwalk/ip"
	"github.com/packetwalk/packetwalk/nic"
	"github.com/packetwalk/packetwalk/tcp"
	"github.com/packetwalk/packetwalk/udp"
)

// Crafted hostile frames for the fuzz rig (and for the hostile-traffic
// tests): each is built from the rig's live state, so a blind RST is in
// the window, a fragment pair really overlaps, and so on.

// craftCase is one seed of FuzzHostReceive: two frames and the fix-ups.
type craftCase struct {
	name string
	a, b []byte
	fix  uint8
}

// seqState returns the server connection's RCV.NXT and SND.NXT as the
// client's segments show them: the highest SEQ+LEN and ACK the client sent.
func (r *fuzzRig) seqState() (rcvNxt, sndNxt tcp.Seq) {
	for _, f := range r.frames {
		p := f[nic.HeaderLen : len(f)-nic.FCSLen]
		if len(p) < 40 || ip.Protocol(p[9]) != ip.ProtocolTCP {
			continue
		}
		ihl := int(p[0]&0x0f) * 4
		total := int(binary.BigEndian.Uint16(p[2:4]))
		seg := tcp.Segment(p[ihl:total])
		if seg.DstPort() != 80 {
			continue
		}
		end := seg.Seq().Add(uint32(len(seg) - seg.HeaderLen()))
		if seg.Flags()&(tcp.FlagSYN|tcp.FlagFIN) != 0 {
			end = end.Add(1)
		}
		if rcvNxt == 0 || end.GreaterThan(rcvNxt) {
			rcvNxt = end
		}
		if seg.Flags()&tcp.FlagACK != 0 && (sndNxt == 0 || seg.Ack().GreaterThan(sndNxt)) {
			sndNxt = seg.Ack()
		}
	}
	return rcvNxt, sndNxt
}

// tcpFrame is a frame from src to the server's port 80 with h's fields.
func (r *fuzzRig) tcpFrame(src netip.AddrPort, h tcp.Header, payload []byte) []byte {
	h.SrcPort, h.DstPort = src.Port(), r.serverAddr.Port()
	if h.Window == 0 && h.Flags&tcp.FlagRST == 0 {
		h.Window = 65535
	}
	seg := h.Append(nil, src.Addr(), r.serverAddr.Addr(), payload)
	return r.ipFrame(src.Addr(), ip.ProtocolTCP, 1, 0, seg)
}

// ipFrame is an Ethernet frame from the client's MAC to the server's
// holding an IPv4 datagram (or fragment: offset in bytes, more fragments
// as offset's bit 0x10000) from src to the server.
func (r *fuzzRig) ipFrame(src netip.Addr, proto ip.Protocol, id uint16, offset int, payload []byte) []byte {
	return nic.AppendFrame(nil, r.serverMAC, r.clientMAC, nic.EtherTypeIPv4,
		ipv4Packet(src, r.serverAddr.Addr(), proto, id, offset, payload))
}

// fragMF marks a fragment offset as "more fragments follow".
const fragMF = 0x10000

// ipv4Packet builds a 20-byte IPv4 header and payload; offset is the
// fragment offset in bytes (a multiple of 8), or'ed with fragMF.
func ipv4Packet(src, dst netip.Addr, proto ip.Protocol, id uint16, offset int, payload []byte) []byte {
	p := make([]byte, 20, 20+len(payload))
	p[0], p[8], p[9] = 0x45, 64, byte(proto)
	binary.BigEndian.PutUint16(p[2:], uint16(20+len(payload)))
	binary.BigEndian.PutUint16(p[4:], id)
	fo := uint16(offset&0xffff) / 8
	if offset&fragMF != 0 {
		fo |= 0x2000
	}
	binary.BigEndian.PutUint16(p[6:], fo)
	s4, d4 := src.As4(), dst.As4()
	copy(p[12:16], s4[:])
	copy(p[16:20], d4[:])
	binary.BigEndian.PutUint16(p[10:], ip.Checksum(p, 0))
	return append(p, payload...)
}

// crafted returns the hostile seeds: the attacks of RFC 5961, fragment
// attacks, malformed headers and options.
func (r *fuzzRig) crafted() []craftCase {
	rcv, snd := r.seqState()
	cl := r.clientAddr
	spoof := netip.AddrPortFrom(netip.MustParseAddr("10.0.0.77"), 40000)
	ack := tcp.FlagACK
	data := []byte("INJECTED")
	tcpSeg := func(h tcp.Header, payload []byte) []byte {
		h.SrcPort, h.DstPort = cl.Port(), 80
		h.Window = 65535
		return h.Append(nil, cl.Addr(), r.serverAddr.Addr(), payload)
	}
	// A datagram of 48 bytes of UDP in two overlapping fragments.
	udp := udp.Append(nil, cl.Addr(), r.serverAddr.Addr(), 5000, 7, make([]byte, 40))
	var cases []craftCase
	add := func(name string, a, b []byte) { cases = append(cases, craftCase{name: name, a: a, b: b}) }

	add("syn-spoofed", r.tcpFrame(spoof, tcp.Header{Seq: 1000, Flags: tcp.FlagSYN}, nil),
		r.tcpFrame(spoof, tcp.Header{Seq: 1001, Ack: 1, Flags: ack}, nil))
	add("rst-in-window", r.tcpFrame(cl, tcp.Header{Seq: rcv.Add(100), Flags: tcp.FlagRST}, nil), nil)
	add("rst-exact", r.tcpFrame(cl, tcp.Header{Seq: rcv, Flags: tcp.FlagRST}, nil), nil)
	add("syn-established", r.tcpFrame(cl, tcp.Header{Seq: rcv.Add(5), Flags: tcp.FlagSYN}, nil), nil)
	add("ack-unsent", r.tcpFrame(cl, tcp.Header{Seq: rcv, Ack: snd.Add(100000), Flags: ack}, data), nil)
	add("ack-ancient", r.tcpFrame(cl, tcp.Header{Seq: rcv, Ack: snd - 1<<30, Flags: ack}, data), nil)
	add("data-in-order", r.tcpFrame(cl, tcp.Header{Seq: rcv, Ack: snd, Flags: ack | tcp.FlagPSH}, data),
		r.tcpFrame(cl, tcp.Header{Seq: rcv.Add(uint32(len(data))), Ack: snd, Flags: ack | tcp.FlagFIN}, nil))
	add("window-zero", r.tcpFrame(cl, tcp.Header{Seq: rcv, Ack: snd, Flags: ack, Window: 0}, nil), nil)

	// Malformed TCP: data offset below 5, past the end, an option that
	// runs past the header, a zero-length option.
	bad := tcpSeg(tcp.Header{Seq: rcv, Ack: snd, Flags: ack}, nil)
	off4 := append([]byte(nil), bad...)
	off4[12] = 4 << 4
	off15 := append([]byte(nil), bad...)
	off15[12] = 15 << 4
	// fix 4: the TCP checksum is recomputed after the header was edited,
	// so the format check, not the checksum, is what rejects them.
	addFixed := func(name string, a []byte) { cases = append(cases, craftCase{name: name, a: a, fix: 4}) }
	addFixed("tcp-offset-4", r.ipFrame(cl.Addr(), ip.ProtocolTCP, 2, 0, off4))
	addFixed("tcp-offset-15", r.ipFrame(cl.Addr(), ip.ProtocolTCP, 3, 0, off15))
	opt := tcpSeg(tcp.Header{Seq: rcv, Ack: snd, Flags: ack}, []byte{2, 40, 5, 0})
	opt[12] = 6 << 4 // the four bytes become options: MSS with length 40
	addFixed("tcp-option-past-header", r.ipFrame(cl.Addr(), ip.ProtocolTCP, 4, 0, opt))
	zero := tcpSeg(tcp.Header{Seq: rcv, Ack: snd, Flags: ack}, []byte{8, 0, 1, 1})
	zero[12] = 6 << 4 // a timestamp option of length 0
	addFixed("tcp-option-zero-length", r.ipFrame(cl.Addr(), ip.ProtocolTCP, 5, 0, zero))

	// Fragments: overlapping, teardrop (the second inside the first),
	// tiny, and the ping of death (an offset that ends past 65,535).
	add("frag-overlap", r.ipFrame(cl.Addr(), ip.ProtocolUDP, 10, 0|fragMF, udp[:24]),
		r.ipFrame(cl.Addr(), ip.ProtocolUDP, 10, 16, udp[16:]))
	add("frag-teardrop", r.ipFrame(cl.Addr(), ip.ProtocolUDP, 11, 0|fragMF, udp[:32]),
		r.ipFrame(cl.Addr(), ip.ProtocolUDP, 11, 8, udp[8:16]))
	add("frag-tiny", r.ipFrame(cl.Addr(), ip.ProtocolTCP, 12, 0|fragMF, tcpSeg(tcp.Header{Seq: rcv, Ack: snd, Flags: ack}, nil)[:8]),
		r.ipFrame(cl.Addr(), ip.ProtocolTCP, 12, 8, tcpSeg(tcp.Header{Seq: rcv, Ack: snd, Flags: ack}, nil)[8:]))
	echo := ip.AppendEchoRequest(nil, 1, 1, make([]byte, 1000))
	add("frag-ping-of-death", r.ipFrame(cl.Addr(), ip.ProtocolICMP, 13, 0|fragMF, echo[:1000]),
		r.ipFrame(cl.Addr(), ip.ProtocolICMP, 13, 65528, echo[:1000]))
	add("icmp-echo", r.ipFrame(cl.Addr(), ip.ProtocolICMP, 14, 0, ip.AppendEchoRequest(nil, 7, 1, []byte("ping"))), nil)
	add("udp-closed-port", r.ipFrame(cl.Addr(), ip.ProtocolUDP, 15, 0, udp), nil)
	add("arp-request", nic.AppendFrame(nil, nic.Broadcast, r.clientMAC, nic.EtherTypeARP,
		arp.Append(nil, arp.Request, r.clientMAC, cl.Addr(), nic.MAC{}, r.serverAddr.Addr())), nil)
	add("vlan-tagged", nic.AppendFrame(nil, r.serverMAC, r.clientMAC, 0x8100, make([]byte, 46)), nil)
	for i, f := range r.frames {
		if i < 8 {
			add(fmt.Sprintf("setup-%d", i), f, nil)
		}
	}
	return cases
}

var updateCorpus = flag.Bool("update-corpus", false, "rewrite the committed seed corpora of the fuzz targets under testdata/fuzz/")

// TestFuzzHostCorpus replays the crafted seeds and the frames of the rig's
// own exchange through the rig, checking its invariants on each, and with
// -update-corpus writes them to testdata/fuzz/FuzzHostReceive so that the
// corpus is committed (and replayed by plain `go test`).
func TestFuzzHostCorpus(t *testing.T) {
	base := newFuzzRig(t)
	cases := base.crafted()
	if len(base.frames) < 6 {
		t.Fatalf("the rig's exchange delivered %d frames to the server; want the handshake and data (at least 6)", len(base.frames))
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := newFuzzRig(t)
			r.inject(r.fixup(c.a, c.fix))
			r.inject(r.fixup(c.b, c.fix))
			r.p.Net.RunFor(3e9)
			r.check(t)
		})
	}
	if !*updateCorpus {
		return
	}
	dir := filepath.Join("testdata", "fuzz", "FuzzHostReceive")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		body := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n[]byte(%q)\nbyte(%q)\n", c.a, c.b, c.fix)
		if err := os.WriteFile(filepath.Join(dir, c.name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// The same frames seed nic's FuzzEthernet: real frames of a real
	// exchange, and the crafted ones.
	edir := filepath.Join("..", "nic", "testdata", "fuzz", "FuzzEthernet")
	if err := os.MkdirAll(edir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		body := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\nbool(false)\n", c.a)
		if err := os.WriteFile(filepath.Join(edir, c.name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
