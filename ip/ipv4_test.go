package ip

import (
	"bytes"
	"encoding/binary"
	"errors"
	"net/netip"
	"reflect"
	"strings"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/packetwalk/packetwalk/viz"
)

var (
	hostA = netip.MustParseAddr("10.0.0.1")
	hostB = netip.MustParseAddr("10.0.0.2")
)

// wireDecode decodes an IPv4 datagram with gopacket, code we did not write,
// and fails the test if gopacket reports a decoding error or a checksum it
// disagrees with, or if re-serializing what it decoded, with its own
// checksums, does not give back the same bytes.
func wireDecode(t testing.TB, b []byte) gopacket.Packet {
	t.Helper()
	p := gopacket.NewPacket(b, layers.LayerTypeIPv4, gopacket.Default)
	if el := p.ErrorLayer(); el != nil {
		t.Fatalf("gopacket cannot decode %x: %v", b, el.Error())
	}
	for _, l := range p.Layers() {
		if c, ok := l.(interface {
			SetNetworkLayerForChecksum(gopacket.NetworkLayer) error
		}); ok {
			c.SetNetworkLayerForChecksum(p.NetworkLayer())
		}
	}
	err, mismatches := p.VerifyChecksums()
	if err != nil {
		t.Fatalf("gopacket cannot verify checksums: %v", err)
	}
	for _, m := range mismatches {
		t.Errorf("gopacket: layer %d (%s) checksum 0x%04x, it computes 0x%04x", m.LayerIndex, m.Layer.LayerType(), m.Actual, m.Correct)
	}
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializePacket(buf, gopacket.SerializeOptions{ComputeChecksums: true}, p); err != nil {
		t.Fatalf("gopacket cannot serialize %x: %v", b, err)
	}
	if want := b[:binary.BigEndian.Uint16(b[2:])]; !bytes.Equal(buf.Bytes(), want) {
		t.Errorf("gopacket re-serialized with its checksums:\n got %x\nwant %x", buf.Bytes(), want)
	}
	return p
}

// withIPChecksum recomputes the header checksum after a test edited h.
func withIPChecksum(h []byte) []byte {
	binary.BigEndian.PutUint16(h[ipChecksum:], IPv4(h).ComputeChecksum())
	return h
}

// transportPayload returns a small valid payload for h's protocol, so that
// gopacket can decode and check every layer: an echo request, a UDP
// datagram, or a bare TCP header with its checksum; anything for fragments
// and other protocols.
func transportPayload(h IPv4Header) []byte {
	if h.MF || h.FragmentOffset != 0 {
		return []byte("0123456789")
	}
	switch h.Protocol {
	case ProtocolICMP:
		return AppendEchoRequest(nil, 1, 1, []byte("0123456789"))
	case ProtocolUDP:
		// Ports gopacket does not decode further (53 would be DNS).
		return appendUDP(nil, h.Src, h.Dst, 49152, 50000, []byte("0123456789"))
	case ProtocolTCP:
		tcp := make([]byte, 20)
		binary.BigEndian.PutUint16(tcp[0:], 49152)
		binary.BigEndian.PutUint16(tcp[2:], 80)
		binary.BigEndian.PutUint32(tcp[4:], 0x12345678)
		tcp[12] = 5 << 4 // data offset: 5 words
		tcp[13] = 0x02   // SYN
		binary.BigEndian.PutUint16(tcp[14:], 65535)
		binary.BigEndian.PutUint16(tcp[16:], Checksum(tcp, PseudoHeaderSum(h.Src, h.Dst, ProtocolTCP, 20)))
		return tcp
	}
	return []byte("0123456789")
}

// datagram builds header h with payload after it.
func datagram(h IPv4Header, payload []byte) []byte {
	return append(h.Append(nil, len(payload)), payload...)
}

func TestIPv4Check(t *testing.T) {
	base := IPv4Header{ID: 0x1c46, DF: true, TTL: 64, Protocol: ProtocolICMP, Src: hostA, Dst: hostB}
	payload := transportPayload(base)
	withOptions := func(opts ...byte) []byte {
		h := base
		h.Options = opts
		return datagram(h, payload)
	}
	tests := []struct {
		name   string
		b      []byte
		reason viz.Reason // "" for a good datagram
		msg    string     // a piece of the message
	}{
		{name: "good", b: datagram(base, payload)},
		{name: "good, no payload", b: datagram(base, nil)},
		{name: "good, Ethernet padding after total length", b: append(datagram(base, payload), make([]byte, 18)...)},
		{name: "good, record route", b: withOptions(byte(OptionRecordRoute), 7, 4, 0, 0, 0, 0)},
		{name: "good, NOPs", b: withOptions(1, 1, 1, 1)},
		{name: "good, bytes after End of Option List are padding", b: withOptions(0, 0xff, 0x00, 0xff)},
		{name: "good, 40 bytes of options", b: withOptions(append([]byte{byte(OptionTimestamp), 40, 5, 0}, make([]byte, 36)...)...)},

		{name: "empty", b: nil, reason: viz.ReasonIPMalformed, msg: "only 0 bytes"},
		{name: "19 bytes", b: datagram(base, nil)[:19], reason: viz.ReasonIPMalformed, msg: "only 19 bytes"},
		{name: "version 6", b: withIPChecksum(func() []byte { b := datagram(base, payload); b[0] = 0x65; return b }()),
			reason: viz.ReasonIPMalformed, msg: "version 6, want 4"},
		{name: "IHL 4", b: func() []byte { b := datagram(base, payload); b[0] = 0x44; return b }(),
			reason: viz.ReasonIPMalformed, msg: "IHL 4 (16 bytes)"},
		{name: "IHL 0", b: func() []byte { b := datagram(base, payload); b[0] = 0x40; return b }(),
			reason: viz.ReasonIPMalformed, msg: "IHL 0"},
		{name: "IHL 15, 28 bytes", b: func() []byte { b := datagram(base, payload); b[0] = 0x4f; return b }(),
			reason: viz.ReasonIPMalformed, msg: "IHL 15 says the header has 60 bytes, but only 38 arrived"},
		{name: "checksum field damaged", b: func() []byte { b := datagram(base, payload); b[ipChecksum] ^= 0x80; return b }(),
			reason: viz.ReasonIPChecksum, msg: "computed 0x"},
		{name: "one bit of the source flipped", b: func() []byte { b := datagram(base, payload); b[ipSrc+3] ^= 1; return b }(),
			reason: viz.ReasonIPChecksum, msg: "header checksum 0x"},
		{name: "total length below the header", b: withIPChecksum(func() []byte {
			b := datagram(base, payload)
			binary.BigEndian.PutUint16(b[ipTotalLen:], 19)
			return b
		}()), reason: viz.ReasonIPMalformed, msg: "total length 19 is shorter than the 20-byte header"},
		{name: "total length past the bytes", b: withIPChecksum(func() []byte {
			b := datagram(base, payload)
			binary.BigEndian.PutUint16(b[ipTotalLen:], 1500)
			return b
		}()), reason: viz.ReasonIPMalformed, msg: "total length 1500, but only 38 bytes arrived"},
		{name: "option length 0", b: withOptions(byte(OptionRecordRoute), 0, 0, 0),
			reason: viz.ReasonIPOptionsMalformed, msg: "record route option at options byte 0 has length 0, below the minimum of 2"},
		{name: "option length 1", b: withOptions(1, byte(OptionTimestamp), 1, 0),
			reason: viz.ReasonIPOptionsMalformed, msg: "timestamp option at options byte 1 has length 1"},
		{name: "option runs past the header", b: withOptions(byte(OptionRecordRoute), 11, 4, 0, 0, 0, 0, 0),
			reason: viz.ReasonIPOptionsMalformed, msg: "has length 11, but only 8 bytes of options remain"},
		{name: "option without its length byte", b: withOptions(1, 1, 1, byte(OptionLSRR)),
			reason: viz.ReasonIPOptionsMalformed, msg: "loose source route option at options byte 3 has no room for its length byte"},
		{name: "second option runs past the header", b: withOptions(byte(OptionRouterAlert), 4, 0, 0, 0x44, 8, 0, 0),
			reason: viz.ReasonIPOptionsMalformed, msg: "timestamp option at options byte 4 has length 8, but only 4"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := IPv4(tt.b).Check()
			if tt.reason == "" {
				if err != nil {
					t.Fatalf("Check(%x) = %v, want nil", tt.b, err)
				}
				h := IPv4(tt.b)
				if got, want := len(h.Payload()), int(h.TotalLength())-h.HeaderLen(); got != want {
					t.Errorf("payload %d bytes, want %d", got, want)
				}
				if len(h.Payload()) > 0 {
					wireDecode(t, tt.b)
				}
				return
			}
			var ce *CheckError
			if !errors.As(err, &ce) {
				t.Fatalf("Check(%x) = %v, want a *CheckError with reason %s", tt.b, err, tt.reason)
			}
			if ce.Reason != tt.reason || !strings.Contains(ce.Msg, tt.msg) {
				t.Errorf("Check = %s: %q, want %s: ...%q...", ce.Reason, ce.Msg, tt.reason, tt.msg)
			}
			if !ce.Reason.Known() {
				t.Errorf("reason %q is not in viz's list", ce.Reason)
			}
		})
	}
}

func TestIPv4RoundTrip(t *testing.T) {
	headers := []IPv4Header{
		{TTL: 64, Protocol: ProtocolICMP, Src: hostA, Dst: hostB},
		{TOS: 0xb8, ID: 0x1c46, DF: true, TTL: 1, Protocol: ProtocolTCP, Src: hostB, Dst: hostA},
		{ID: 0xffff, MF: true, FragmentOffset: 1480, TTL: 255, Protocol: ProtocolUDP, Src: hostA, Dst: netip.MustParseAddr("255.255.255.255")},
		// A last fragment, at the largest offset: gopacket leaves its bytes alone.
		{ID: 7, FragmentOffset: maxFragOffset, TTL: 64, Protocol: 253, Src: netip.MustParseAddr("192.0.2.1"), Dst: netip.MustParseAddr("198.51.100.2")},
		{ID: 9, TTL: 64, Protocol: ProtocolUDP, Src: hostA, Dst: hostB,
			Options: []byte{byte(OptionRecordRoute), 11, 4, 0, 0, 0, 0, 0, 0, 0, 0}}, // padded by one byte
		{ID: 10, TTL: 64, Protocol: ProtocolICMP, Src: hostA, Dst: hostB,
			Options: []byte{byte(OptionNOP), byte(OptionRouterAlert), 4, 0, 0}},
	}
	for _, h := range headers {
		payload := transportPayload(h)
		b := datagram(h, payload)
		v := IPv4(b)
		if err := v.Check(); err != nil {
			t.Fatalf("%v: Check: %v", h, err)
		}
		if got := v.Header(); !reflect.DeepEqual(got, h) {
			t.Errorf("Header() = %#v\nwant %#v", got, h)
		}
		if v.HeaderLen() != h.HeaderLen() || v.HeaderLen()%4 != 0 || !bytes.Equal(v.Payload(), payload) {
			t.Errorf("%v: header %d bytes (want %d), payload %q", h, v.HeaderLen(), h.HeaderLen(), v.Payload())
		}
		if got, want := v.IsFragment(), h.MF || h.FragmentOffset != 0; got != want {
			t.Errorf("%v: IsFragment = %v", h, got)
		}

		// The same fields, read by gopacket.
		p := wireDecode(t, b)
		g := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
		var flags layers.IPv4Flag
		if h.DF {
			flags |= layers.IPv4DontFragment
		}
		if h.MF {
			flags |= layers.IPv4MoreFragments
		}
		if g.Version != 4 || int(g.IHL)*4 != h.HeaderLen() || g.TOS != h.TOS || g.Length != uint16(len(b)) ||
			g.Id != h.ID || g.Flags != flags || int(g.FragOffset)*8 != h.FragmentOffset || g.TTL != h.TTL ||
			uint8(g.Protocol) != uint8(h.Protocol) || g.Checksum != v.HeaderChecksum() ||
			!g.SrcIP.Equal(h.Src.AsSlice()) || !g.DstIP.Equal(h.Dst.AsSlice()) {
			t.Errorf("gopacket reads %+v\nfrom %x, built from %v", g, b, h)
		}
		var gopts []byte
		for _, o := range g.Options {
			switch o.OptionType {
			case 0:
			case 1:
				gopts = append(gopts, 1)
			default:
				gopts = append(gopts, o.OptionType, o.OptionLength)
				gopts = append(gopts, o.OptionData...)
			}
		}
		if !bytes.Equal(gopts, h.Options) {
			t.Errorf("gopacket reads options %x, want %x", gopts, h.Options)
		}
	}
}

func TestIPv4AppendPanics(t *testing.T) {
	bad := map[string]func(){
		"41 bytes of options": func() {
			IPv4Header{Src: hostA, Dst: hostB, Options: make([]byte, 41)}.Append(nil, 0)
		},
		"too long": func() { IPv4Header{Src: hostA, Dst: hostB}.Append(nil, 65516) },
		"odd offset": func() {
			IPv4Header{Src: hostA, Dst: hostB, FragmentOffset: 12}.Append(nil, 0)
		},
		"IPv6 source": func() {
			IPv4Header{Src: netip.MustParseAddr("::1"), Dst: hostB}.Append(nil, 0)
		},
	}
	for name, f := range bad {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: Append did not panic", name)
				}
			}()
			f()
		}()
	}
	// The largest datagram is fine.
	if b := (IPv4Header{Src: hostA, Dst: hostB}).Append(nil, 65515); IPv4(b).TotalLength() != 65535 {
		t.Errorf("total length %d, want 65535", IPv4(b).TotalLength())
	}
}

func TestParseOptions(t *testing.T) {
	opts := []byte{
		byte(OptionNOP),
		byte(OptionLSRR), 7, 4, 10, 0, 0, 9,
		byte(OptionRecordRoute), 3, 4,
		byte(OptionEOL), 0xff, 0xff, // padding, not parsed
	}
	got, err := ParseOptions(opts)
	if err != nil {
		t.Fatal(err)
	}
	want := []Option{{1}, {131, 7, 4, 10, 0, 0, 9}, {7, 3, 4}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("ParseOptions = %x, want %x", got, want)
	}
	if !got[1].Type().Copied() || got[2].Type().Copied() || got[0].Type().Copied() {
		t.Errorf("copied flags: NOP %v, LSRR %v, RR %v; want false, true, false",
			got[0].Type().Copied(), got[1].Type().Copied(), got[2].Type().Copied())
	}
	if !bytes.Equal(got[1].Data(), []byte{4, 10, 0, 0, 9}) || got[0].Data() != nil {
		t.Errorf("Data: %x, %x", got[1].Data(), got[0].Data())
	}
	if _, err := ParseOptions([]byte{byte(OptionSecurity), 12, 0}); err == nil {
		t.Error("ParseOptions accepted an option longer than the field")
	}
}

func TestDecrementTTL(t *testing.T) {
	hdr := IPv4Header{ID: 1, TTL: 2, Protocol: ProtocolICMP, Src: hostA, Dst: hostB}
	b := datagram(hdr, transportPayload(hdr))
	h := IPv4(b)
	for _, want := range []uint8{1, 0, 0} {
		if got := h.DecrementTTL(); got != want || h.TTL() != want {
			t.Fatalf("DecrementTTL = %d (TTL %d), want %d", got, h.TTL(), want)
		}
		if err := h.Check(); err != nil {
			t.Fatalf("after DecrementTTL: %v", err)
		}
	}
	wireDecode(t, b)
}

func TestIPv4Summary(t *testing.T) {
	tcp := IPv4Header{ID: 0x1c46, DF: true, TTL: 64, Protocol: ProtocolTCP, Src: hostA, Dst: hostB}
	frag := IPv4Header{ID: 7238, MF: true, TTL: 64, Protocol: ProtocolICMP, Src: hostA, Dst: hostB}
	lastFrag := IPv4Header{ID: 7238, FragmentOffset: 2960, TTL: 64, Protocol: ProtocolICMP, Src: hostA, Dst: hostB}
	icmp := IPv4Header{ID: 1, TTL: 64, Protocol: ProtocolICMP, Src: hostA, Dst: hostB}
	udp := IPv4Header{ID: 2, TTL: 64, Protocol: ProtocolUDP, Src: hostA, Dst: hostB}
	bad := datagram(tcp, make([]byte, 40))
	bad[ipTTL]--
	tests := []struct {
		b    []byte
		want string
	}{
		{datagram(tcp, make([]byte, 40)), "IP 10.0.0.1 > 10.0.0.2: proto TCP (6) len 60 ttl 64 id 0x1c46 [DF]"},
		{datagram(frag, make([]byte, 1480)), "IP 10.0.0.1 > 10.0.0.2: proto ICMP (1) len 1500 ttl 64 frag 7238:1480@0+"},
		{datagram(lastFrag, make([]byte, 1040)), "IP 10.0.0.1 > 10.0.0.2: proto ICMP (1) len 1060 ttl 64 frag 7238:1040@2960"},
		{datagram(icmp, AppendEchoRequest(nil, 1, 1, make([]byte, 56))), "IP 10.0.0.1 > 10.0.0.2: ICMP echo request, id 1, seq 1, length 64"},
		// UDP's own line ("IP 10.0.0.1.5353 > 10.0.0.2.53: UDP, length
		// 12") is package udp's, which the layer's steps ask for
		// (Describer; udp's TestDescribe): alone, IP describes its header.
		{datagram(udp, appendUDP(nil, hostA, hostB, 5353, 53, make([]byte, 12))), "IP 10.0.0.1 > 10.0.0.2: proto UDP (17) len 40 ttl 64 id 0x0002"},
		{bad, "IP 10.0.0.1 > 10.0.0.2: proto TCP (6) len 60 ttl 63 id 0x1c46 [DF] [ip_checksum]"},
		{[]byte{0x45, 0}, "IP truncated, 2 bytes"},
	}
	for _, tt := range tests {
		if got := IPv4(tt.b).Summary(); got != tt.want {
			t.Errorf("Summary:\n got %s\nwant %s", got, tt.want)
		}
	}
	if got, want := tcp.String(), "IP 10.0.0.1 > 10.0.0.2: proto TCP (6) ttl 64 id 0x1c46 [DF]"; got != want {
		t.Errorf("String:\n got %s\nwant %s", got, want)
	}
	if got, want := lastFrag.String(), "IP 10.0.0.1 > 10.0.0.2: proto ICMP (1) ttl 64 frag 7238@2960"; got != want {
		t.Errorf("String:\n got %s\nwant %s", got, want)
	}
}

// FuzzIPv4Check feeds Check arbitrary bytes: it must not panic, and whatever
// it accepts must have accessors that agree with each other and with a
// parse and re-emit of the header.
func FuzzIPv4Check(f *testing.F) {
	f.Add(datagram(IPv4Header{ID: 1, TTL: 64, Protocol: ProtocolICMP, Src: hostA, Dst: hostB}, AppendEchoRequest(nil, 1, 1, []byte("hi"))))
	f.Add(datagram(IPv4Header{TTL: 64, Protocol: ProtocolUDP, Src: hostA, Dst: hostB,
		Options: []byte{byte(OptionRecordRoute), 7, 4, 0, 0, 0, 0}}, appendUDP(nil, hostA, hostB, 1, 2, nil)))
	f.Add(datagram(IPv4Header{ID: 2, MF: true, TTL: 64, Protocol: ProtocolTCP, Src: hostA, Dst: hostB}, make([]byte, 16)))
	f.Add([]byte{0x46, 0, 0, 24, 0, 0, 0, 0, 64, 1, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2, 0x44, 1, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		h := IPv4(b)
		_ = h.Summary()
		if h.Check() != nil {
			return
		}
		hl, tl := h.HeaderLen(), int(h.TotalLength())
		if h.Version() != 4 || hl < IPv4MinHeaderLen || hl > tl || tl > len(b) {
			t.Fatalf("accepted version %d, header %d, total %d, %d bytes", h.Version(), hl, tl, len(b))
		}
		if len(h.Options()) != hl-IPv4MinHeaderLen || len(h.Payload()) != tl-hl {
			t.Fatalf("options %d bytes, payload %d bytes for header %d, total %d", len(h.Options()), len(h.Payload()), hl, tl)
		}
		// 0x0000 and 0xffff are both zero in ones' complement: a
		// header whose checksum field holds 0xffff where 0x0000 is
		// computed sums to all ones and is valid (RFC 1624 §3; found
		// by this target, testdata/fuzz/FuzzIPv4Check/fb73d670c7a44a21).
		if c, hc := h.ComputeChecksum(), h.HeaderChecksum(); c != hc && !(c == 0 && hc == 0xffff) {
			t.Fatalf("accepted checksum 0x%04x, computed 0x%04x", hc, c)
		}
		if _, err := ParseOptions(h.Options()); err != nil {
			t.Fatalf("accepted options that ParseOptions rejects: %v", err)
		}
		// Parse and re-emit: the same header, up to option padding.
		re := IPv4(datagram(h.Header(), h.Payload()))
		if err := re.Check(); err != nil {
			t.Fatalf("re-emitted header fails Check: %v", err)
		}
		if !reflect.DeepEqual(re.Header(), h.Header()) || !bytes.Equal(re.Payload(), h.Payload()) {
			t.Fatalf("re-emitted %v, parsed %v", re.Header(), h.Header())
		}
		// Byte for byte too, but for the reserved flag, which Header drops.
		fixed := append([]byte(nil), b[:ipChecksum]...)
		fixed[ipFlagsOff] &^= 0x80
		if h.Header().HeaderLen() == hl && !bytes.Equal(re[:ipChecksum], fixed) {
			t.Fatalf("re-emitted %x, had %x", re[:hl], b[:hl])
		}
	})
}

// appendUDP appends a UDP datagram with its checksum (RFC 768), as package
// udp's Append does: test data for IP, whose tests cannot import udp.
func appendUDP(b []byte, src, dst netip.Addr, srcPort, dstPort uint16, payload []byte) []byte {
	n := 8 + len(payload)
	start := len(b)
	b = binary.BigEndian.AppendUint16(b, srcPort)
	b = binary.BigEndian.AppendUint16(b, dstPort)
	b = binary.BigEndian.AppendUint16(b, uint16(n))
	b = append(append(b, 0, 0), payload...)
	c := Checksum(b[start:], PseudoHeaderSum(src, dst, ProtocolUDP, uint16(n)))
	if c == 0 {
		c = 0xffff
	}
	binary.BigEndian.PutUint16(b[start+6:], c)
	return b
}
