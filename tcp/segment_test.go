package tcp

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/packetwalk/packetwalk/ip"
	"github.com/packetwalk/packetwalk/viz"
)

var (
	segClient = netip.MustParseAddr("10.0.0.1")
	segServer = netip.MustParseAddr("10.0.0.2")
)

// segLinuxSYN is a client's SYN with Linux's options.
var segLinuxSYN = Header{
	SrcPort: 49152, DstPort: 80, Seq: 3705114823, Flags: FlagSYN, Window: 65535,
	Options: HeaderOptions{MSS: 1460, SACKPermitted: true, TSVal: 1, HasTS: true, WS: 7, HasWS: true},
}

// segDatagram wraps a segment in an IPv4 datagram from src to dst.
func segDatagram(src, dst netip.Addr, seg []byte) []byte {
	h := ip.IPv4Header{ID: 7, DF: true, TTL: 64, Protocol: ip.ProtocolTCP, Src: src, Dst: dst}
	return append(h.Append(nil, len(seg)), seg...)
}

// segGopacket decodes a segment from src to dst with gopacket, code we did
// not write, and fails the test if gopacket reports a decoding error or a
// checksum it disagrees with. It returns gopacket's TCP layer and its
// network layer.
func segGopacket(t testing.TB, src, dst netip.Addr, seg []byte) (*layers.TCP, *layers.IPv4) {
	t.Helper()
	p := gopacket.NewPacket(segDatagram(src, dst, seg), layers.LayerTypeIPv4, gopacket.Default)
	if el := p.ErrorLayer(); el != nil {
		t.Fatalf("gopacket cannot decode %x: %v", seg, el.Error())
	}
	g, ok := p.Layer(layers.LayerTypeTCP).(*layers.TCP)
	if !ok {
		t.Fatalf("gopacket finds no TCP layer in %x", seg)
	}
	n := p.NetworkLayer().(*layers.IPv4)
	if err := g.SetNetworkLayerForChecksum(n); err != nil {
		t.Fatal(err)
	}
	err, res := g.VerifyChecksum()
	if err != nil {
		t.Fatalf("gopacket cannot verify the checksum: %v", err)
	}
	if !res.Valid {
		t.Errorf("gopacket: checksum 0x%04x, it computes 0x%04x", res.Actual, res.Correct)
	}
	return g, n
}

// gopacketOptions converts gopacket's option list into HeaderOptions,
// independently of ParseOptions.
func gopacketOptions(t testing.TB, opts []layers.TCPOption) HeaderOptions {
	t.Helper()
	var o HeaderOptions
	for _, opt := range opts {
		d := opt.OptionData
		switch opt.OptionType {
		case layers.TCPOptionKindEndList, layers.TCPOptionKindNop:
		case layers.TCPOptionKindMSS:
			o.MSS = binary.BigEndian.Uint16(d)
		case layers.TCPOptionKindWindowScale:
			o.WS, o.HasWS = d[0], true
		case layers.TCPOptionKindSACKPermitted:
			o.SACKPermitted = true
		case layers.TCPOptionKindSACK:
			for ; len(d) >= 8; d = d[8:] {
				o.SACKBlocks = append(o.SACKBlocks, SACKBlock{Seq(binary.BigEndian.Uint32(d)), Seq(binary.BigEndian.Uint32(d[4:]))})
			}
		case layers.TCPOptionKindTimestamps:
			o.TSVal, o.TSEcr, o.HasTS = binary.BigEndian.Uint32(d), binary.BigEndian.Uint32(d[4:]), true
		default:
			t.Errorf("gopacket found option %v", opt)
		}
	}
	return o
}

func TestFlagsString(t *testing.T) {
	tests := []struct {
		f    Flags
		want string
	}{
		{0, "[none]"},
		{FlagSYN, "[S]"},
		{FlagSYN | FlagACK, "[S.]"},
		{FlagACK, "[.]"},
		{FlagPSH | FlagACK, "[P.]"},
		{FlagFIN | FlagACK, "[F.]"},
		{FlagFIN | FlagPSH | FlagACK, "[FP.]"},
		{FlagRST, "[R]"},
		{FlagRST | FlagACK, "[R.]"},
		{FlagSYN | FlagECE | FlagCWR, "[SEW]"},
		{FlagURG | FlagACK, "[.U]"},
		{0xff, "[FSRP.UEW]"},
	}
	for _, tt := range tests {
		if got := tt.f.String(); got != tt.want {
			t.Errorf("Flags(%#02x).String() = %q, want %q", uint8(tt.f), got, tt.want)
		}
	}
	if !(FlagSYN | FlagACK).Has(FlagSYN) || FlagSYN.Has(FlagSYN|FlagACK) || !FlagRST.Has(0) {
		t.Error("Has")
	}
}

// headerCombos returns headers with every option combination that fits,
// under a few flag sets and numbers at the edges of their fields.
func headerCombos() []Header {
	flagSets := []Flags{FlagSYN, FlagSYN | FlagACK, FlagACK, FlagPSH | FlagACK, FlagFIN | FlagACK, FlagRST, FlagURG | FlagACK | FlagECE | FlagCWR}
	var out []Header
	for i, o := range optionCombos() {
		if o.Len() > MaxOptionsLen {
			continue
		}
		out = append(out, Header{
			SrcPort: uint16(49152 + i), DstPort: 80,
			Seq: Seq(0xffffffff - uint32(i)), Ack: Seq(uint32(i) * 0x01010101),
			Flags: flagSets[i%len(flagSets)], Window: uint16(65535 - i), Urgent: uint16(i),
			Options: o,
		})
	}
	return out
}

func TestHeaderAppendParse(t *testing.T) {
	for i, h := range headerCombos() {
		payload := bytes.Repeat([]byte{byte(i)}, []int{0, 1, 100, 1460}[i%4])
		prefix := []byte("link header")
		b := h.Append(prefix, segClient, segServer, payload)
		if !bytes.HasPrefix(b, []byte("link header")) {
			t.Fatalf("Append overwrote the bytes before it")
		}
		s := Segment(b[len(prefix):])
		if err := s.Check(segClient, segServer); err != nil {
			t.Fatalf("%s: Check: %v", h, err)
		}
		// The pseudo-header binds the checksum to the addresses (though
		// not to their order: the one's-complement sum is commutative,
		// so a reply's checksum can be checked either way round).
		var ce *ip.CheckError
		if err := s.Check(segServer, segClient); err != nil {
			t.Errorf("%s: addresses swapped: %v", h, err)
		}
		if err := s.Check(segClient, segClient); !errors.As(err, &ce) || ce.Reason != viz.ReasonTCPChecksum {
			t.Errorf("%s: checksum passes with the wrong destination: %v", h, err)
		}
		if s.HeaderLen() != h.HeaderLen() || s.HeaderLen()%4 != 0 || !bytes.Equal(s.Payload(), payload) {
			t.Errorf("%s: header %d bytes (want %d), payload %d bytes", h, s.HeaderLen(), h.HeaderLen(), len(s.Payload()))
		}
		if s.Checksum() != s.ComputeChecksum(segClient, segServer) {
			t.Errorf("%s: checksum 0x%04x, ComputeChecksum 0x%04x", h, s.Checksum(), s.ComputeChecksum(segClient, segServer))
		}
		got, err := s.Parse()
		if err != nil {
			t.Fatalf("%s: Parse: %v", h, err)
		}
		if !headersEqual(got, h) {
			t.Errorf("round trip\n got %+v\nwant %+v", got, h)
		}
		wantLen := uint32(len(payload))
		if h.Flags&FlagSYN != 0 {
			wantLen++
		}
		if h.Flags&FlagFIN != 0 {
			wantLen++
		}
		if s.SegLen() != wantLen {
			t.Errorf("%s with %d bytes: SegLen %d, want %d", h, len(payload), s.SegLen(), wantLen)
		}
	}
}

// TestGopacketDecodes checks what Append emits against gopacket: every
// field, every option, and the checksum.
func TestGopacketDecodes(t *testing.T) {
	for i, h := range headerCombos() {
		payload := []byte(strings.Repeat("GET / HTTP/1.1\r\n", i%3))
		seg := h.Append(nil, segClient, segServer, payload)
		g, _ := segGopacket(t, segClient, segServer, seg)
		var flags Flags
		for bit, set := range []bool{g.FIN, g.SYN, g.RST, g.PSH, g.ACK, g.URG, g.ECE, g.CWR} {
			if set {
				flags |= 1 << bit
			}
		}
		if uint16(g.SrcPort) != h.SrcPort || uint16(g.DstPort) != h.DstPort || Seq(g.Seq) != h.Seq || Seq(g.Ack) != h.Ack ||
			flags != h.Flags || g.NS || g.Window != h.Window || g.Urgent != h.Urgent ||
			int(g.DataOffset)*4 != h.HeaderLen() || g.Checksum != Segment(seg).Checksum() || !bytes.Equal(g.Payload, payload) {
			t.Errorf("gopacket reads %d > %d seq %d ack %d flags %s window %d urgent %d offset %d checksum 0x%04x, %d bytes\nwe sent %s",
				g.SrcPort, g.DstPort, g.Seq, g.Ack, flags, g.Window, g.Urgent, g.DataOffset, g.Checksum, len(g.Payload), h)
		}
		if o := gopacketOptions(t, g.Options); !o.Equal(h.Options) {
			t.Errorf("gopacket reads options %+v\nwe sent %+v (%s)", o, h.Options, h.Options)
		}
	}
}

// TestGopacketChecksum has gopacket build the same segments and compute
// their checksums (SerializeOptions.ComputeChecksums with the IPv4 layer
// given for the pseudo-header), and compares the bytes with ours.
func TestGopacketChecksum(t *testing.T) {
	for i, h := range headerCombos() {
		payload := bytes.Repeat([]byte{0xa5, byte(i)}, i%7) // odd and even lengths
		if i%2 == 1 {
			payload = append(payload, 0x5a)
		}
		ours := h.Append(nil, segClient, segServer, payload)
		decoded, _ := segGopacket(t, segClient, segServer, ours)

		ipLayer := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolTCP,
			SrcIP: net.IP(segClient.AsSlice()), DstIP: net.IP(segServer.AsSlice())}
		tcpLayer := &layers.TCP{
			SrcPort: layers.TCPPort(h.SrcPort), DstPort: layers.TCPPort(h.DstPort),
			Seq: uint32(h.Seq), Ack: uint32(h.Ack), Window: h.Window, Urgent: h.Urgent,
			FIN: h.Flags.Has(FlagFIN), SYN: h.Flags.Has(FlagSYN), RST: h.Flags.Has(FlagRST), PSH: h.Flags.Has(FlagPSH),
			ACK: h.Flags.Has(FlagACK), URG: h.Flags.Has(FlagURG), ECE: h.Flags.Has(FlagECE), CWR: h.Flags.Has(FlagCWR),
			Options: decoded.Options, // our option bytes, as gopacket split them
		}
		if err := tcpLayer.SetNetworkLayerForChecksum(ipLayer); err != nil {
			t.Fatal(err)
		}
		buf := gopacket.NewSerializeBuffer()
		opts := gopacket.SerializeOptions{ComputeChecksums: true, FixLengths: true}
		if err := gopacket.SerializeLayers(buf, opts, tcpLayer, gopacket.Payload(payload)); err != nil {
			t.Fatalf("gopacket cannot serialize %s: %v", h, err)
		}
		if theirs := buf.Bytes(); !bytes.Equal(theirs, ours) {
			t.Errorf("%s, %d bytes of payload:\ngopacket %x (checksum 0x%04x)\n    ours %x (checksum 0x%04x)",
				h, len(payload), theirs, tcpLayer.Checksum, ours, Segment(ours).Checksum())
		}
	}
}

// TestParseGopacketLayouts has gopacket encode options in layouts our Append
// never uses (no NOPs, other orders, unknown options, EOL padding) and
// checks that Check and Parse read them.
func TestParseGopacketLayouts(t *testing.T) {
	opt := func(kind layers.TCPOptionKind, data ...byte) layers.TCPOption {
		return layers.TCPOption{OptionType: kind, OptionLength: uint8(2 + len(data)), OptionData: data}
	}
	eol := layers.TCPOption{OptionType: layers.TCPOptionKindEndList, OptionLength: 1}
	nop := layers.TCPOption{OptionType: layers.TCPOptionKindNop, OptionLength: 1}
	tests := []struct {
		name string
		opts []layers.TCPOption
		want HeaderOptions
	}{
		{"timestamps first, packed", []layers.TCPOption{
			opt(layers.TCPOptionKindTimestamps, 0, 0, 0, 9, 0, 0, 0, 8),
			opt(layers.TCPOptionKindWindowScale, 2),
			opt(layers.TCPOptionKindMSS, 0x23, 0x28),
			opt(layers.TCPOptionKindSACKPermitted),
		}, HeaderOptions{MSS: 9000, WS: 2, HasWS: true, SACKPermitted: true, TSVal: 9, TSEcr: 8, HasTS: true}},
		{"unknown options and EOL", []layers.TCPOption{
			nop, opt(layers.TCPOptionKindMSS, 0x05, 0x78), opt(253, 0xab, 0xcd, 1, 2, 3), opt(19), eol,
		}, HeaderOptions{MSS: 1400}},
		{"SACK with two blocks", []layers.TCPOption{
			opt(layers.TCPOptionKindSACK, 0, 0, 0, 1, 0, 0, 0, 2, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 5),
		}, HeaderOptions{SACKBlocks: []SACKBlock{{1, 2}, {0xffffffff, 5}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ipLayer := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolTCP,
				SrcIP: net.IP(segServer.AsSlice()), DstIP: net.IP(segClient.AsSlice())}
			tcpLayer := &layers.TCP{SrcPort: 80, DstPort: 49152, Seq: 1, Ack: 2, ACK: true, PSH: true, Window: 512, Options: tt.opts}
			tcpLayer.SetNetworkLayerForChecksum(ipLayer)
			buf := gopacket.NewSerializeBuffer()
			if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{ComputeChecksums: true, FixLengths: true},
				tcpLayer, gopacket.Payload("hello")); err != nil {
				t.Fatal(err)
			}
			s := Segment(buf.Bytes())
			if err := s.Check(segServer, segClient); err != nil {
				t.Fatalf("Check(%x): %v", s, err)
			}
			h, err := s.Parse()
			if err != nil {
				t.Fatalf("Parse(%x): %v", s, err)
			}
			if h.SrcPort != 80 || h.DstPort != 49152 || h.Seq != 1 || h.Ack != 2 || h.Flags != FlagPSH|FlagACK || h.Window != 512 ||
				string(s.Payload()) != "hello" || !h.Options.Equal(tt.want) {
				t.Errorf("Parse(%x) = %+v, payload %q\nwant options %+v", s, h, s.Payload(), tt.want)
			}
		})
	}
}

// TestChecksumZeroIsSent: unlike UDP, TCP has no "no checksum" value, so a
// checksum that computes to 0 is sent as 0 and verifies.
func TestChecksumZeroIsSent(t *testing.T) {
	h := Header{SrcPort: 1, DstPort: 2, Flags: FlagACK, Window: 100}
	payload := []byte{0, 0}
	c := Segment(h.Append(nil, segClient, segServer, payload)).Checksum()
	binary.BigEndian.PutUint16(payload, c) // the word's value now cancels the sum
	s := Segment(h.Append(nil, segClient, segServer, payload))
	if s.Checksum() != 0 {
		t.Fatalf("checksum 0x%04x, want 0", s.Checksum())
	}
	if err := s.Check(segClient, segServer); err != nil {
		t.Fatalf("Check: %v", err)
	}
	segGopacket(t, segClient, segServer, s)
}

func TestSegmentCheck(t *testing.T) {
	good := segLinuxSYN.Append(nil, segClient, segServer, nil)
	data := Header{SrcPort: 80, DstPort: 49152, Seq: 1, Ack: 2, Flags: FlagPSH | FlagACK, Window: 502}.
		Append(nil, segClient, segServer, []byte("HTTP/1.1 200 OK\r\n"))
	edit := func(b []byte, f func(s []byte)) []byte {
		s := append([]byte(nil), b...)
		f(s)
		return s
	}
	tests := []struct {
		name     string
		s        []byte
		src, dst netip.Addr
		reason   viz.Reason
		msg      string
	}{
		{"SYN with options", good, segClient, segServer, "", ""},
		{"data", data, segClient, segServer, "", ""},
		{"reserved bits are ignored, but checksummed", segFixSum(edit(data, func(s []byte) { s[12] |= 0x0f })), segClient, segServer, "", ""},
		{"reserved bits changed in transit", edit(data, func(s []byte) { s[12] |= 0x0f }), segClient, segServer, viz.ReasonTCPChecksum, ""},
		{"empty", nil, segClient, segServer, viz.ReasonTCPMalformed, "only 0 bytes, shorter than the 20-byte minimum header"},
		{"19 bytes", data[:19], segClient, segServer, viz.ReasonTCPMalformed, "only 19 bytes, shorter than the 20-byte minimum header"},
		{"data offset 0", edit(data, func(s []byte) { s[12] = 0 }), segClient, segServer, viz.ReasonTCPMalformed, "data offset 0 (0 bytes) is below the minimum of 5 (20 bytes)"},
		{"data offset 4", edit(data, func(s []byte) { s[12] = 4 << 4 }), segClient, segServer, viz.ReasonTCPMalformed, "data offset 4 (16 bytes) is below the minimum of 5 (20 bytes)"},
		{"data offset past the end", good[:30], segClient, segServer, viz.ReasonTCPMalformed, "data offset 10 says the header has 40 bytes, but the segment has only 30"},
		{"data offset 15 in a 20-byte segment", edit(data[:20], func(s []byte) { s[12] = 15 << 4 }), segClient, segServer, viz.ReasonTCPMalformed, "data offset 15 says the header has 60 bytes, but the segment has only 20"},
		{"a flipped payload bit", edit(data, func(s []byte) { s[len(s)-1] ^= 0x04 }), segClient, segServer, viz.ReasonTCPChecksum, ""},
		{"a flipped header bit", edit(good, func(s []byte) { s[13] |= byte(FlagACK) }), segClient, segServer, viz.ReasonTCPChecksum, ""},
		{"wrong destination address", good, segClient, netip.MustParseAddr("10.0.0.3"), viz.ReasonTCPChecksum, ""},
		{"cut short by one byte", data[:len(data)-1], segClient, segServer, viz.ReasonTCPChecksum, ""},
		{"one byte too many", append(append([]byte(nil), data...), 0x80), segClient, segServer, viz.ReasonTCPChecksum, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Segment(tt.s).Check(tt.src, tt.dst)
			if tt.reason == "" {
				if err != nil {
					t.Fatalf("Check: %v", err)
				}
				return
			}
			var ce *ip.CheckError
			if !errors.As(err, &ce) {
				t.Fatalf("Check = %v, want a *ip.CheckError with %s", err, tt.reason)
			}
			if ce.Reason != tt.reason || (tt.msg != "" && ce.Msg != tt.msg) {
				t.Errorf("Check = %v\nwant %s: %s", err, tt.reason, tt.msg)
			}
			if tt.reason == viz.ReasonTCPChecksum {
				want := fmt.Sprintf("checksum 0x%04x, computed 0x%04x", Segment(tt.s).Checksum(), Segment(tt.s).ComputeChecksum(tt.src, tt.dst))
				if ce.Msg != want {
					t.Errorf("message %q, want %q", ce.Msg, want)
				}
			}
			if !ce.Reason.Known() {
				t.Errorf("reason %s is not in viz's list", ce.Reason)
			}
		})
	}
}

func TestSegmentParse(t *testing.T) {
	withOptions := func(opts ...byte) []byte {
		// A header with raw options, padded by the caller to 4 bytes.
		s := Header{SrcPort: 1, DstPort: 2, Flags: FlagSYN}.Append(nil, segClient, segServer, nil)
		s = append(s, opts...)
		s[12] = byte(len(s)/4) << 4
		return segFixSum(s)
	}
	tests := []struct {
		name   string
		s      []byte
		want   HeaderOptions
		reason viz.Reason
		msg    string
	}{
		{"no options", withOptions(), HeaderOptions{}, "", ""},
		{"linux SYN", segLinuxSYN.Append(nil, segClient, segServer, nil), segLinuxSYN.Options, "", ""},
		{"EOL padding", withOptions(2, 4, 5, 0xb4, 1, 3, 3, 9, 0, 0, 0, 0), HeaderOptions{MSS: 1460, WS: 9, HasWS: true}, "", ""},
		{"window scale 15 clamped", withOptions(1, 3, 3, 15), HeaderOptions{WS: 14, HasWS: true}, "", ""},
		{"unknown option", withOptions(99, 4, 0, 0), HeaderOptions{}, "", ""},
		{"short", make([]byte, 12), HeaderOptions{}, viz.ReasonTCPMalformed, "only 12 bytes, shorter than the 20-byte minimum header"},
		{"data offset 3", func() []byte { s := withOptions(); s[12] = 3 << 4; return s }(), HeaderOptions{}, viz.ReasonTCPMalformed, "data offset 3 (12 bytes) is below the minimum of 5 (20 bytes)"},
		{"data offset past the end", func() []byte { s := withOptions(1, 1, 1, 1); return s[:22] }(), HeaderOptions{}, viz.ReasonTCPMalformed, "data offset 6 says the header has 24 bytes, but the segment has only 22"},
		{"option length 0", withOptions(1, 1, 2, 0), HeaderOptions{}, viz.ReasonTCPOptionsMalformed, "mss option at options byte 2 has length 0, below the minimum of 2"},
		{"option length 1", withOptions(8, 1, 0, 0), HeaderOptions{}, viz.ReasonTCPOptionsMalformed, "TS option at options byte 0 has length 1, below the minimum of 2"},
		{"option past the header", withOptions(1, 1, 2, 4), HeaderOptions{}, viz.ReasonTCPOptionsMalformed, "mss option at options byte 2 has length 4, but only 2 bytes of options remain"},
		{"no room for the length", withOptions(1, 1, 1, 3), HeaderOptions{}, viz.ReasonTCPOptionsMalformed, "wscale option at options byte 3 has no room for its length byte"},
		// The options end at the data offset, not at the segment's end:
		// an option may not run into the payload.
		{"option into the payload", func() []byte {
			s := append(withOptions(1, 1, 1, 2), 4, 5, 0xb4)
			return s
		}(), HeaderOptions{}, viz.ReasonTCPOptionsMalformed, "mss option at options byte 3 has no room for its length byte"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := Segment(tt.s).Parse()
			if tt.reason == "" {
				if err != nil {
					t.Fatalf("Parse(%x): %v", tt.s, err)
				}
				if !h.Options.Equal(tt.want) {
					t.Errorf("options %+v, want %+v", h.Options, tt.want)
				}
				return
			}
			var ce *ip.CheckError
			if !errors.As(err, &ce) || ce.Reason != tt.reason || ce.Msg != tt.msg {
				t.Fatalf("Parse(%x) = %+v, %v\nwant %s: %s", tt.s, h, err, tt.reason, tt.msg)
			}
			if !ce.Reason.Known() {
				t.Errorf("reason %s is not in viz's list", ce.Reason)
			}
		})
	}
}

func TestSegmentSummary(t *testing.T) {
	dataAck := Header{SrcPort: 80, DstPort: 49152, Seq: 1001, Ack: 2002, Flags: FlagPSH | FlagACK, Window: 502}
	sackAck := Header{SrcPort: 49152, DstPort: 80, Seq: 2002, Ack: 1101, Flags: FlagACK, Window: 501,
		Options: HeaderOptions{TSVal: 5, TSEcr: 4, HasTS: true, SACKBlocks: []SACKBlock{{1201, 1301}}}}
	corrupt := dataAck.Append(nil, segServer, segClient, make([]byte, 100))
	corrupt[30] ^= 1
	badOpts := Header{SrcPort: 1, DstPort: 2, Flags: FlagSYN}.Append(nil, segClient, segServer, nil)
	badOpts = append(badOpts, 1, 2, 9, 0xff)
	badOpts[12] = 6 << 4
	segFixSum(badOpts)
	badOffset := dataAck.Append(nil, segServer, segClient, nil)
	badOffset[12] = 2 << 4
	tests := []struct {
		name     string
		s        []byte
		src, dst netip.Addr
		want     string
	}{
		{"linux SYN", segLinuxSYN.Append(nil, segClient, segServer, nil), segClient, segServer,
			"10.0.0.1.49152 > 10.0.0.2.80: Flags [S], seq 3705114823, win 65535, options [mss 1460,sackOK,TS val 1 ecr 0,nop,wscale 7], length 0"},
		{"SYN+ACK", Header{SrcPort: 80, DstPort: 49152, Seq: 1000, Ack: 3705114824, Flags: FlagSYN | FlagACK, Window: 65160,
			Options: HeaderOptions{MSS: 1460}}.Append(nil, segServer, segClient, nil), segServer, segClient,
			"10.0.0.2.80 > 10.0.0.1.49152: Flags [S.], seq 1000, ack 3705114824, win 65160, options [mss 1460], length 0"},
		{"data", dataAck.Append(nil, segServer, segClient, make([]byte, 100)), segServer, segClient,
			"10.0.0.2.80 > 10.0.0.1.49152: Flags [P.], seq 1001:1101, ack 2002, win 502, length 100"},
		{"data across the wrap", Header{SrcPort: 80, DstPort: 49152, Seq: 0xfffffff0, Ack: 1, Flags: FlagACK, Window: 1}.
			Append(nil, segServer, segClient, make([]byte, 32)), segServer, segClient,
			"10.0.0.2.80 > 10.0.0.1.49152: Flags [.], seq 4294967280:16, ack 1, win 1, length 32"},
		{"pure ACK shows no seq", sackAck.Append(nil, segClient, segServer, nil), segClient, segServer,
			"10.0.0.1.49152 > 10.0.0.2.80: Flags [.], ack 1101, win 501, options [nop,nop,TS val 5 ecr 4,nop,nop,sack 1 {1201:1301}], length 0"},
		{"FIN", Header{SrcPort: 80, DstPort: 49152, Seq: 1101, Ack: 2002, Flags: FlagFIN | FlagACK, Window: 502}.
			Append(nil, segServer, segClient, nil), segServer, segClient,
			"10.0.0.2.80 > 10.0.0.1.49152: Flags [F.], seq 1101, ack 2002, win 502, length 0"},
		{"RST", Header{SrcPort: 80, DstPort: 49152, Seq: 7, Flags: FlagRST}.Append(nil, segServer, segClient, nil), segServer, segClient,
			"10.0.0.2.80 > 10.0.0.1.49152: Flags [R], seq 7, win 0, length 0"},
		{"urgent", Header{SrcPort: 1, DstPort: 2, Seq: 7, Ack: 8, Flags: FlagURG | FlagACK, Urgent: 3}.Append(nil, segServer, segClient, []byte("abc")), segServer, segClient,
			"10.0.0.2.1 > 10.0.0.1.2: Flags [.U], seq 7:10, ack 8, win 0, urg 3, length 3"},
		{"no flags", Header{SrcPort: 1, DstPort: 2}.Append(nil, segServer, segClient, nil), segServer, segClient,
			"10.0.0.2.1 > 10.0.0.1.2: Flags [none], win 0, length 0"},
		{"no addresses", segLinuxSYN.Append(nil, segClient, segServer, nil), netip.Addr{}, netip.Addr{},
			"49152 > 80: Flags [S], seq 3705114823, win 65535, options [mss 1460,sackOK,TS val 1 ecr 0,nop,wscale 7], length 0"},
		{"bad checksum", corrupt, segServer, segClient,
			"10.0.0.2.80 > 10.0.0.1.49152: Flags [P.], seq 1001:1101, ack 2002, win 502, length 100 [tcp_checksum]"},
		{"bad options", badOpts, segClient, segServer,
			"10.0.0.1.1 > 10.0.0.2.2: Flags [S], seq 0, win 0, options [nop,mss [bad opt]], length 0 [tcp_options_malformed]"},
		{"bad data offset", badOffset, segServer, segClient,
			"10.0.0.2.80 > 10.0.0.1.49152: Flags [P.], data offset 2 (8 bytes) is below the minimum of 5 (20 bytes) [tcp_malformed]"},
		{"truncated", make([]byte, 7), segServer, segClient, "10.0.0.2 > 10.0.0.1: TCP truncated, 7 bytes [tcp_malformed]"},
		{"truncated, no addresses", make([]byte, 7), netip.Addr{}, netip.Addr{}, "TCP truncated, 7 bytes [tcp_malformed]"},
		{"data offset past the end", segLinuxSYN.Append(nil, segClient, segServer, nil)[:30], segClient, segServer,
			"10.0.0.1.49152 > 10.0.0.2.80: Flags [S], data offset 10 says the header has 40 bytes, but the segment has only 30 [tcp_malformed]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Segment(tt.s).SummaryWith(tt.src, tt.dst); got != tt.want {
				t.Errorf("SummaryWith\n got %s\nwant %s", got, tt.want)
			}
		})
	}
	if got, want := Segment(segLinuxSYN.Append(nil, segClient, segServer, nil)).Summary(),
		"49152 > 80: Flags [S], seq 3705114823, win 65535, options [mss 1460,sackOK,TS val 1 ecr 0,nop,wscale 7], length 0"; got != want {
		t.Errorf("Summary\n got %s\nwant %s", got, want)
	}
	if got, want := segLinuxSYN.String(),
		"Flags [S], seq 3705114823, win 65535, options [mss 1460,sackOK,TS val 1 ecr 0,nop,wscale 7]"; got != want {
		t.Errorf("Header.String\n got %s\nwant %s", got, want)
	}
}

func TestHeaderAppendPanics(t *testing.T) {
	tests := []struct {
		name    string
		h       Header
		payload int
	}{
		{"five SACK blocks", Header{Options: HeaderOptions{SACKBlocks: make([]SACKBlock, 5)}}, 0},
		{"four SACK blocks with timestamps", Header{Options: HeaderOptions{HasTS: true, SACKBlocks: make([]SACKBlock, 4)}}, 0},
		{"over 65,535 bytes", Header{}, 0xffff - MinHeaderLen + 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Errorf("Append did not panic")
				}
			}()
			tt.h.Append(nil, segClient, segServer, make([]byte, tt.payload))
		})
	}
	// The largest segment is fine.
	s := Segment(Header{}.Append(nil, segClient, segServer, make([]byte, 0xffff-MinHeaderLen)))
	if err := s.Check(segClient, segServer); err != nil {
		t.Errorf("65,535-byte segment: %v", err)
	}
}

// segFixSum recomputes the checksum of a segment from segClient to
// segServer after a test edited it.
func segFixSum(s []byte) []byte {
	binary.BigEndian.PutUint16(s[tcpChecksum:], Segment(s).ComputeChecksum(segClient, segServer))
	return s
}

// headersEqual compares headers field by field (HeaderOptions holds a
// slice, so Header is not comparable).
func headersEqual(a, b Header) bool {
	return a.SrcPort == b.SrcPort && a.DstPort == b.DstPort && a.Seq == b.Seq && a.Ack == b.Ack &&
		a.Flags == b.Flags && a.Window == b.Window && a.Urgent == b.Urgent && a.Options.Equal(b.Options)
}

// FuzzSegmentParse feeds any bytes to the receive checks: Check, Parse and
// Summary must not panic, and a segment that parses must come back the same
// when its parsed header is emitted again.
func FuzzSegmentParse(f *testing.F) {
	f.Add(segLinuxSYN.Append(nil, segClient, segServer, nil))
	f.Add(Header{SrcPort: 80, DstPort: 49152, Seq: 1, Ack: 2, Flags: FlagPSH | FlagACK, Window: 502,
		Options: HeaderOptions{TSVal: 1, TSEcr: 2, HasTS: true, SACKBlocks: sackBlocks(3)}}.
		Append(nil, segClient, segServer, []byte("hello")))
	f.Add(Header{Flags: FlagRST}.Append(nil, segClient, segServer, nil))
	f.Add([]byte{0, 1, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0xf0, 2, 0, 0, 0, 0, 0, 0, 2, 0})
	f.Add([]byte{0, 1, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0x60, 2, 0, 0, 0, 0, 0, 0, 3, 3, 200, 0, 'x'})
	f.Add(make([]byte, 19))
	f.Fuzz(func(t *testing.T, b []byte) {
		s := Segment(b)
		checkErr := s.Check(segClient, segServer)
		_ = s.SummaryWith(segClient, segServer)
		_ = s.Summary()
		h, err := s.Parse()
		if err != nil {
			var ce *ip.CheckError
			if !errors.As(err, &ce) || (ce.Reason != viz.ReasonTCPMalformed && ce.Reason != viz.ReasonTCPOptionsMalformed) {
				t.Fatalf("Parse(%x): %v", b, err)
			}
			if ce.Reason == viz.ReasonTCPMalformed && checkErr == nil {
				t.Fatalf("Parse(%x) says %v, Check passes", b, err)
			}
			return
		}
		_ = h.String()
		// Parsed options always encode again within the header.
		again := Segment(h.Append(nil, segClient, segServer, s.Payload()))
		if err := again.Check(segClient, segServer); err != nil {
			t.Fatalf("%x parses to %+v; emitted again as %x, Check: %v", b, h, again, err)
		}
		h2, err := again.Parse()
		if err != nil {
			t.Fatalf("%x parses to %+v; emitted again as %x, Parse: %v", b, h, again, err)
		}
		if !headersEqual(h, h2) || !bytes.Equal(again.Payload(), s.Payload()) {
			t.Fatalf("%x parses to %+v;\nemitted again as %x, it parses to %+v", b, h, again, h2)
		}
		// Only the reserved bits, padding and ignored options can differ:
		// the fixed header and payload are the same bytes.
		if !bytes.Equal(again[:12], b[:12]) || !bytes.Equal(again[13:16], b[13:16]) || !bytes.Equal(again[18:20], b[18:20]) {
			t.Fatalf("fixed header %x emitted again as %x", b[:20], again[:20])
		}
	})
}

func TestParseFlags(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Flags
	}{
		{"S", FlagSYN}, {"S.", FlagSYN | FlagACK}, {"P.", FlagPSH | FlagACK}, {"F.", FlagFIN | FlagACK},
		{"R", FlagRST}, {".", FlagACK}, {"SEW", FlagSYN | FlagECE | FlagCWR}, {"", 0},
	} {
		got, err := ParseFlags(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ParseFlags(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
	if _, err := ParseFlags("SX"); err == nil || !strings.Contains(err.Error(), `'X'`) {
		t.Errorf("ParseFlags(\"SX\") error = %v; want one naming 'X'", err)
	}
}
