package udp

import (
	"bytes"
	"encoding/binary"
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/packetwalk/packetwalk/ip"
	"github.com/packetwalk/packetwalk/viz"
)

var (
	hostA = netip.MustParseAddr("10.0.0.1")
	hostB = netip.MustParseAddr("10.0.0.2")
)

// udpDatagram wraps UDP datagram u in an IPv4 datagram from hostA to hostB.
func udpDatagram(u []byte) []byte {
	h := ip.IPv4Header{ID: 5, TTL: 64, Protocol: ip.ProtocolUDP, Src: hostA, Dst: hostB}
	return append(h.Append(nil, len(u)), u...)
}

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

func TestAppend(t *testing.T) {
	for _, n := range []int{0, 1, 12, 13, 1472} {
		payload := make([]byte, n)
		for i := range payload {
			payload[i] = byte(i * 3)
		}
		u := Datagram(Append(nil, hostA, hostB, 49152, 50000, payload))
		if err := u.Check(hostA, hostB); err != nil {
			t.Fatalf("%d bytes: Check: %v", n, err)
		}
		if u.SrcPort() != 49152 || u.DstPort() != 50000 || int(u.Length()) != HeaderLen+n ||
			!bytes.Equal(u.Payload(), payload) || u.Checksum() == 0 || u.Checksum() != u.ComputeChecksum(hostA, hostB) {
			t.Fatalf("%d bytes: reads %d > %d length %d checksum 0x%04x", n, u.SrcPort(), u.DstPort(), u.Length(), u.Checksum())
		}
		// The pseudo-header binds the checksum to the addresses.
		if err := u.Check(hostA, hostA); err == nil {
			t.Errorf("%d bytes: checksum passes with the wrong destination", n)
		}

		p := wireDecode(t, udpDatagram(u))
		g := p.Layer(layers.LayerTypeUDP).(*layers.UDP)
		if g.SrcPort != 49152 || g.DstPort != 50000 || g.Length != u.Length() || g.Checksum != u.Checksum() || !bytes.Equal(g.Payload, payload) {
			t.Errorf("gopacket reads %d > %d length %d checksum 0x%04x, %d bytes", g.SrcPort, g.DstPort, g.Length, g.Checksum, len(g.Payload))
		}
	}
}

func TestComputedZeroIsSentAsOnes(t *testing.T) {
	// Choose the last payload word so that the checksum sums to zero: the
	// word w plus the checksum c it had gives a sum of all ones.
	payload := []byte{1, 2, 3, 4, 0, 0}
	c := Datagram(Append(nil, hostA, hostB, 7, 9, payload)).Checksum()
	binary.BigEndian.PutUint16(payload[4:], c)
	u := Datagram(Append(nil, hostA, hostB, 7, 9, payload))
	if u.Checksum() != 0xffff {
		t.Fatalf("checksum 0x%04x, want 0xffff (RFC 768: a computed zero is sent as all ones)", u.Checksum())
	}
	if err := u.Check(hostA, hostB); err != nil {
		t.Fatalf("Check: %v", err)
	}
	wireDecode(t, udpDatagram(u))
}

func TestCheck(t *testing.T) {
	good := Append(nil, hostA, hostB, 1, 2, []byte("hello"))
	edit := func(f func(u []byte)) []byte {
		u := append([]byte(nil), good...)
		f(u)
		return u
	}
	tests := []struct {
		name   string
		u      []byte
		reason viz.Reason
		msg    string
	}{
		{"good", good, "", ""},
		{"no checksum", edit(func(u []byte) { u[6], u[7] = 0, 0; u[8] = 'j' }), "", ""},
		{"bytes after Length are ignored", append(append([]byte(nil), good...), 0xde, 0xad), "", ""},
		{"empty", nil, viz.ReasonUDPMalformed, "only 0 bytes"},
		{"7 bytes", good[:7], viz.ReasonUDPMalformed, "only 7 bytes, shorter than the 8-byte UDP header"},
		{"length 7", edit(func(u []byte) { u[5] = 7 }), viz.ReasonUDPMalformed, "length field 7 is shorter than the 8-byte header"},
		{"length past the bytes", edit(func(u []byte) { u[5] = 14 }), viz.ReasonUDPMalformed, "length field 14, but only 13 bytes arrived"},
		{"payload damaged", edit(func(u []byte) { u[8] = 'j' }), viz.ReasonUDPChecksum, "computed 0x"},
		{"port damaged", edit(func(u []byte) { u[3] = 3 }), viz.ReasonUDPChecksum, "checksum 0x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Datagram(tt.u).Check(hostA, hostB)
			if tt.reason == "" {
				if err != nil {
					t.Fatalf("Check(%x) = %v", tt.u, err)
				}
				if got := Datagram(tt.u).Payload(); !bytes.Equal(got, tt.u[8:13]) {
					t.Errorf("payload %q", got)
				}
				return
			}
			var ce *ip.CheckError
			if !errors.As(err, &ce) || ce.Reason != tt.reason || !strings.Contains(ce.Msg, tt.msg) {
				t.Fatalf("Check(%x) = %v, want %s: ...%q...", tt.u, err, tt.reason, tt.msg)
			}
			if !ce.Reason.Known() {
				t.Errorf("reason %q is not in viz's list", ce.Reason)
			}
		})
	}
}

func TestAppendPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("Append accepted 65,528 bytes of payload")
		}
	}()
	Append(nil, hostA, hostB, 1, 2, make([]byte, 65528))
}

// FuzzUDP feeds the UDP parser arbitrary bytes: no panics, and a datagram
// Check accepts has a consistent length and payload, and either no checksum
// or one that ComputeChecksum agrees with.
func FuzzUDP(f *testing.F) {
	f.Add(Append(nil, hostA, hostB, 1, 2, []byte("hello")))
	f.Add(Append(nil, hostA, hostB, 68, 67, make([]byte, 300)))
	f.Add([]byte{0, 1, 0, 2, 0, 8, 0, 0})
	f.Add([]byte{0, 1, 0, 2, 0xff, 0xff, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		u := Datagram(b)
		_, _ = describe(ip.IPv4(udpDatagram(b)))
		if u.Check(hostA, hostB) != nil {
			return
		}
		if n := int(u.Length()); n < HeaderLen || n > len(b) || len(u.Payload()) != n-HeaderLen {
			t.Fatalf("accepted length %d with %d bytes, payload %d", n, len(b), len(u.Payload()))
		}
		if c := u.Checksum(); c != 0 && c != u.ComputeChecksum(hostA, hostB) {
			t.Fatalf("accepted checksum 0x%04x, computed 0x%04x", c, u.ComputeChecksum(hostA, hostB))
		}
		// What we accept, we can send again, and it passes.
		again := Datagram(Append(nil, hostA, hostB, u.SrcPort(), u.DstPort(), u.Payload()))
		if err := again.Check(hostA, hostB); err != nil {
			t.Fatalf("re-emitted datagram fails Check: %v", err)
		}
	})
}

// TestDescribe: IP's steps describe a UDP datagram by its ports, in the
// words tcpdump uses, through the Describer UDP registers with IP; a
// datagram too short for the UDP header is left to IP's own line.
func TestDescribe(t *testing.T) {
	ok := udpDatagram(Append(nil, hostA, hostB, 5353, 53, make([]byte, 12)))
	bad := udpDatagram(Append(nil, hostA, hostB, 5353, 53, []byte("hello")))
	bad[len(bad)-1] ^= 1
	for _, c := range []struct {
		b    []byte
		want string
	}{
		{ok, "IP 10.0.0.1.5353 > 10.0.0.2.53: UDP, length 12"},
		{bad, "IP 10.0.0.1.5353 > 10.0.0.2.53: UDP, length 5 [udp_checksum]"},
	} {
		if got, described := describe(ip.IPv4(c.b)); !described || got != c.want {
			t.Errorf("describe = %q, %v; want %q", got, described, c.want)
		}
	}
	if _, described := describe(ip.IPv4(udpDatagram([]byte{0, 1, 0, 2}))); described {
		t.Error("a 4-byte UDP datagram was described")
	}

	// Through a host: IP's header step gives the UDP line.
	h := newHost(t, Config{})
	h.Receive(h.Eth0, ok, nil)
	var header string
	for _, e := range h.Events() {
		if e.Layer == viz.LayerIP && e.Step == "header" {
			header = e.Msg
		}
	}
	if want := "IP 10.0.0.1.5353 > 10.0.0.2.53: UDP, length 12: version 4"; !strings.HasPrefix(header, want) {
		t.Errorf("IP's header step says %q, want it to start %q", header, want)
	}
}
