package ip

import (
	"bytes"
	"encoding/binary"
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/packetwalk/packetwalk/viz"
)

// icmpDatagram wraps an ICMP message in a datagram from src to dst.
func icmpDatagram(src, dst netip.Addr, m []byte) []byte {
	return datagram(IPv4Header{ID: 99, TTL: 64, Protocol: ProtocolICMP, Src: src, Dst: dst}, m)
}

func TestICMPEcho(t *testing.T) {
	for _, n := range []int{0, 1, 56, 57, 1472} {
		data := make([]byte, n)
		for i := range data {
			data[i] = byte(i)
		}
		req := ICMP(AppendEchoRequest(nil, 0x1234, 7, data))
		if err := req.Check(); err != nil {
			t.Fatalf("%d bytes: request fails Check: %v", n, err)
		}
		if req.Type() != ICMPEchoRequest || req.Code() != 0 || req.ID() != 0x1234 || req.Seq() != 7 ||
			!bytes.Equal(req.Data(), data) || len(req) != ICMPHeaderLen+n {
			t.Fatalf("request reads back type %d code %d id %d seq %d, %d data bytes", req.Type(), req.Code(), req.ID(), req.Seq(), len(req.Data()))
		}
		// RFC 792: the reply carries the request's id, seq and data.
		rep := ICMP(AppendEchoReply(nil, req.ID(), req.Seq(), req.Data()))
		if err := rep.Check(); err != nil {
			t.Fatalf("%d bytes: reply fails Check: %v", n, err)
		}
		for _, c := range []struct {
			m    ICMP
			from netip.Addr
			to   netip.Addr
			tc   layers.ICMPv4TypeCode
		}{
			{req, hostA, hostB, layers.CreateICMPv4TypeCode(layers.ICMPv4TypeEchoRequest, 0)},
			{rep, hostB, hostA, layers.CreateICMPv4TypeCode(layers.ICMPv4TypeEchoReply, 0)},
		} {
			p := wireDecode(t, icmpDatagram(c.from, c.to, c.m))
			g := p.Layer(layers.LayerTypeICMPv4).(*layers.ICMPv4)
			if g.TypeCode != c.tc || g.Id != 0x1234 || g.Seq != 7 || g.Checksum != c.m.Checksum() || !bytes.Equal(g.Payload, data) {
				t.Errorf("gopacket reads %v id %d seq %d checksum 0x%04x, %d bytes; want %v id 4660 seq 7 checksum 0x%04x, %d bytes",
					g.TypeCode, g.Id, g.Seq, g.Checksum, len(g.Payload), c.tc, c.m.Checksum(), n)
			}
		}
	}
}

func TestICMPErrors(t *testing.T) {
	udpHdr := IPv4Header{ID: 0x1c46, DF: true, TTL: 64, Protocol: ProtocolUDP, Src: hostA, Dst: hostB}
	udp := datagram(udpHdr, appendUDP(nil, hostA, hostB, 49152, 50000, make([]byte, 100)))
	// A datagram as it sits in a receive buffer: Ethernet padding after it.
	short := append(datagram(udpHdr, appendUDP(nil, hostA, hostB, 49152, 50000, nil)), make([]byte, 18)...)
	withOpts := datagram(IPv4Header{ID: 3, TTL: 64, Protocol: 253, Src: hostA, Dst: hostB,
		Options: []byte{byte(OptionRouterAlert), 4, 0, 0}}, make([]byte, 40))
	ping := datagram(IPv4Header{ID: 4, DF: true, TTL: 64, Protocol: ProtocolICMP, Src: hostA, Dst: hostB},
		AppendEchoRequest(nil, 1, 1, make([]byte, 1972)))
	frag0 := datagram(IPv4Header{ID: 5, MF: true, TTL: 64, Protocol: ProtocolUDP, Src: hostA, Dst: hostB},
		appendUDP(nil, hostA, hostB, 49152, 50000, make([]byte, 1472))[:1480])

	tests := []struct {
		name      string
		m         ICMP
		orig      IPv4
		quoteLen  int
		typ       ICMPType
		code      ICMPCode
		mtu       uint16
		gopacketT layers.ICMPv4TypeCode
		summary   string
	}{
		{"port unreachable", ICMP(AppendDestUnreachable(nil, ICMPPortUnreachable, 1400, udp)), udp, 28,
			ICMPDestUnreachable, ICMPPortUnreachable, 0,
			layers.CreateICMPv4TypeCode(layers.ICMPv4TypeDestinationUnreachable, layers.ICMPv4CodePort),
			"ICMP destination unreachable (port unreachable) for UDP 10.0.0.1.49152 > 10.0.0.2.50000, length 36"},
		{"port unreachable, padded original", ICMP(AppendDestUnreachable(nil, ICMPPortUnreachable, 0, short)), short, 28,
			ICMPDestUnreachable, ICMPPortUnreachable, 0,
			layers.CreateICMPv4TypeCode(layers.ICMPv4TypeDestinationUnreachable, layers.ICMPv4CodePort),
			"ICMP destination unreachable (port unreachable) for UDP 10.0.0.1.49152 > 10.0.0.2.50000, length 36"},
		{"protocol unreachable, options", ICMP(AppendDestUnreachable(nil, ICMPProtocolUnreachable, 0, withOpts)), withOpts, 32,
			ICMPDestUnreachable, ICMPProtocolUnreachable, 0,
			layers.CreateICMPv4TypeCode(layers.ICMPv4TypeDestinationUnreachable, layers.ICMPv4CodeProtocol),
			"ICMP destination unreachable (protocol unreachable) for ip-proto-253 10.0.0.1 > 10.0.0.2, length 40"},
		{"fragmentation needed", ICMP(AppendDestUnreachable(nil, ICMPFragmentationNeeded, 1400, ping)), ping, 28,
			ICMPDestUnreachable, ICMPFragmentationNeeded, 1400,
			layers.CreateICMPv4TypeCode(layers.ICMPv4TypeDestinationUnreachable, layers.ICMPv4CodeFragmentationNeeded),
			"ICMP destination unreachable (fragmentation needed, mtu 1400) for ICMP 10.0.0.1 > 10.0.0.2, length 36"},
		{"TTL exceeded", ICMP(AppendTimeExceeded(nil, ICMPTTLExceeded, udp)), udp, 28,
			ICMPTimeExceeded, ICMPTTLExceeded, 0,
			layers.CreateICMPv4TypeCode(layers.ICMPv4TypeTimeExceeded, layers.ICMPv4CodeTTLExceeded),
			"ICMP time exceeded (TTL exceeded in transit) for UDP 10.0.0.1.49152 > 10.0.0.2.50000, length 36"},
		{"reassembly time exceeded", ICMP(AppendTimeExceeded(nil, ICMPReassemblyTimeExceeded, frag0)), frag0, 28,
			ICMPTimeExceeded, ICMPReassemblyTimeExceeded, 0,
			layers.CreateICMPv4TypeCode(layers.ICMPv4TypeTimeExceeded, layers.ICMPv4CodeFragmentReassemblyTimeExceeded),
			"ICMP time exceeded (fragment reassembly time exceeded) for UDP 10.0.0.1.49152 > 10.0.0.2.50000, length 36"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := tt.m
			if err := m.Check(); err != nil {
				t.Fatalf("Check: %v", err)
			}
			if m.Type() != tt.typ || m.Code() != tt.code || m.NextHopMTU() != tt.mtu || !m.Type().IsError() {
				t.Errorf("reads type %v code %d mtu %d", m.Type(), m.Code(), m.NextHopMTU())
			}
			if binary.BigEndian.Uint16(m[4:]) != 0 {
				t.Errorf("unused bytes 4-5 are %x, want zero", m[4:6])
			}
			// RFC 792: the IP header and the first 8 bytes of its data.
			if !bytes.Equal(m.Data(), tt.orig[:tt.quoteLen]) {
				t.Errorf("quotes %x\nwant %x", m.Data(), tt.orig[:tt.quoteLen])
			}
			if q := m.Quoted(); q.Src() != hostA || q.Dst() != hostB || q.ID() != IPv4(tt.orig).ID() {
				t.Errorf("quoted header %s > %s id %d", q.Src(), q.Dst(), q.ID())
			}
			if got := m.Summary(); got != tt.summary {
				t.Errorf("Summary:\n got %s\nwant %s", got, tt.summary)
			}

			// gopacket, from the router (hostB) back to the sender.
			p := wireDecode(t, icmpDatagram(hostB, hostA, m))
			g := p.Layer(layers.LayerTypeICMPv4).(*layers.ICMPv4)
			if g.TypeCode != tt.gopacketT || g.Seq != tt.mtu || !bytes.Equal(g.Payload, m.Data()) {
				t.Errorf("gopacket reads %v, seq/mtu %d, payload %x", g.TypeCode, g.Seq, g.Payload)
			}
			var q layers.IPv4
			if err := q.DecodeFromBytes(g.Payload, gopacket.NilDecodeFeedback); err != nil {
				t.Fatalf("gopacket cannot decode the quoted header: %v", err)
			}
			if !q.SrcIP.Equal(hostA.AsSlice()) || !q.DstIP.Equal(hostB.AsSlice()) || q.Id != IPv4(tt.orig).ID() {
				t.Errorf("gopacket reads the quoted header as %v > %v id %d", q.SrcIP, q.DstIP, q.Id)
			}
		})
	}
}

func TestICMPCheck(t *testing.T) {
	orig := datagram(IPv4Header{ID: 1, TTL: 64, Protocol: ProtocolUDP, Src: hostA, Dst: hostB},
		appendUDP(nil, hostA, hostB, 1, 2, nil))
	// reChecksum recomputes m's checksum after a test edited it.
	reChecksum := func(m []byte) []byte {
		binary.BigEndian.PutUint16(m[2:], ICMP(m).ComputeChecksum())
		return m
	}
	tests := []struct {
		name   string
		m      []byte
		reason viz.Reason
		msg    string
	}{
		{"echo request, no data", AppendEchoRequest(nil, 1, 2, nil), "", ""},
		{"echo reply, odd length", AppendEchoReply(nil, 1, 2, []byte("abc")), "", ""},
		{"unknown type", reChecksum([]byte{42, 0, 0, 0, 0, 0, 0, 0}), "", ""},
		{"empty", nil, viz.ReasonICMPMalformed, "only 0 bytes"},
		{"7 bytes", AppendEchoRequest(nil, 1, 2, nil)[:7], viz.ReasonICMPMalformed, "only 7 bytes, shorter than the 8-byte ICMP header"},
		{"bad checksum", func() []byte { m := AppendEchoRequest(nil, 1, 2, []byte("x")); m[8] = 'y'; return m }(),
			viz.ReasonICMPChecksum, "computed 0x"},
		{"error quoting 19 bytes", reChecksum(AppendDestUnreachable(nil, ICMPPortUnreachable, 0, orig)[:8+19]),
			viz.ReasonICMPMalformed, "destination unreachable quotes 19 bytes, less than an IPv4 header"},
		{"error quoting the header only", reChecksum(AppendTimeExceeded(nil, ICMPTTLExceeded, orig)[:8+20]),
			viz.ReasonICMPMalformed, "time exceeded quotes 20 bytes, less than the 20-byte IPv4 header and 8 bytes"},
		{"error quoting an IPv6 header", reChecksum(func() []byte {
			m := AppendDestUnreachable(nil, ICMPPortUnreachable, 0, orig)
			m[8] = 0x60
			return m
		}()), viz.ReasonICMPMalformed, "version 6 and IHL 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ICMP(tt.m).Check()
			if tt.reason == "" {
				if err != nil {
					t.Fatalf("Check(%x) = %v", tt.m, err)
				}
				return
			}
			var ce *CheckError
			if !errors.As(err, &ce) || ce.Reason != tt.reason || !strings.Contains(ce.Msg, tt.msg) {
				t.Fatalf("Check(%x) = %v, want %s: ...%q...", tt.m, err, tt.reason, tt.msg)
			}
			if !ce.Reason.Known() {
				t.Errorf("reason %q is not in viz's list", ce.Reason)
			}
		})
	}
}

func TestICMPNames(t *testing.T) {
	tests := []struct {
		m    []byte
		name string
	}{
		{AppendEchoRequest(nil, 0, 0, nil), "echo request"},
		{AppendEchoReply(nil, 0, 0, nil), "echo reply"},
		{[]byte{3, 1, 0, 0, 0, 0, 0, 0}, "destination unreachable (host unreachable)"},
		{[]byte{3, 13, 0, 0, 0, 0, 0, 0}, "destination unreachable (administratively prohibited)"},
		{[]byte{3, 99, 0, 0, 0, 0, 0, 0}, "destination unreachable (code 99)"},
		{[]byte{11, 1, 0, 0, 0, 0, 0, 0}, "time exceeded (fragment reassembly time exceeded)"},
		{[]byte{8, 5, 0, 0, 0, 0, 0, 0}, "echo request (code 5)"},
		{[]byte{12, 0, 0, 0, 0, 0, 0, 0}, "parameter problem (pointer indicates the error)"},
		{[]byte{12, 1, 0, 0, 0, 0, 0, 0}, "parameter problem (required option missing)"},
		{[]byte{12, 9, 0, 0, 0, 0, 0, 0}, "parameter problem (code 9)"},
		{[]byte{200, 0, 0, 0, 0, 0, 0, 0}, "type 200 (code 0)"},
	}
	for _, tt := range tests {
		if got := ICMP(tt.m).Name(); got != tt.name {
			t.Errorf("Name(%x) = %q, want %q", tt.m, got, tt.name)
		}
	}
	if got := ICMP([]byte{3, 3}).Summary(); got != "ICMP truncated, 2 bytes" {
		t.Errorf("Summary of 2 bytes = %q", got)
	}
	// An error whose quote is too short to name the conversation.
	if got, want := ICMP([]byte{3, 3, 0, 0, 0, 0, 0, 0, 0x45}).Summary(),
		"ICMP destination unreachable (port unreachable), length 9"; got != want {
		t.Errorf("Summary = %q, want %q", got, want)
	}
}

// FuzzICMP feeds the ICMP parser arbitrary bytes: no panics, and a message
// Check accepts has a checksum that agrees and, for an error, a quote whose
// header accessors are safe.
func FuzzICMP(f *testing.F) {
	orig := datagram(IPv4Header{ID: 1, TTL: 64, Protocol: ProtocolUDP, Src: hostA, Dst: hostB},
		appendUDP(nil, hostA, hostB, 1, 2, []byte("hello")))
	f.Add(AppendEchoRequest(nil, 1, 1, []byte("ping")))
	f.Add(AppendDestUnreachable(nil, ICMPFragmentationNeeded, 576, orig))
	f.Add(AppendTimeExceeded(nil, ICMPTTLExceeded, orig))
	f.Add([]byte{3, 3, 0xfc, 0xfc, 0, 0, 0, 0, 0x4f})
	f.Fuzz(func(t *testing.T, b []byte) {
		m := ICMP(b)
		_ = m.Summary()
		_ = IPv4(icmpDatagram(hostA, hostB, b)).Summary()
		if m.Check() != nil {
			return
		}
		_, _, _ = m.Name(), m.ID(), m.Seq()
		if m.ComputeChecksum() != m.Checksum() && !(m.Checksum() == 0xffff && m.ComputeChecksum() == 0) && !(m.Checksum() == 0 && m.ComputeChecksum() == 0xffff) {
			t.Fatalf("accepted checksum 0x%04x, computed 0x%04x", m.Checksum(), m.ComputeChecksum())
		}
		if m.Type().IsError() {
			q := m.Quoted()
			if len(q) < q.HeaderLen()+8 || q.HeaderLen() < IPv4MinHeaderLen {
				t.Fatalf("accepted a quote of %d bytes with a %d-byte header", len(q), q.HeaderLen())
			}
			_, _, _, _ = q.Src(), q.Dst(), q.Protocol(), q.Options()
			// Answering an error with an error is forbidden, but building
			// one about any accepted quote must not panic.
			_ = AppendTimeExceeded(nil, ICMPTTLExceeded, q)
		}
	})
}
