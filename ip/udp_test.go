package ip

import (
	"bytes"
	"encoding/binary"
	"errors"
	"strings"
	"testing"

	"github.com/gopacket/gopacket/layers"

	"github.com/packetwalk/packetwalk/viz"
)

func udpDatagram(u []byte) []byte {
	return datagram(IPv4Header{ID: 5, TTL: 64, Protocol: ProtocolUDP, Src: hostA, Dst: hostB}, u)
}

func TestUDPAppend(t *testing.T) {
	for _, n := range []int{0, 1, 12, 13, 1472} {
		payload := make([]byte, n)
		for i := range payload {
			payload[i] = byte(i * 3)
		}
		u := UDP(AppendUDP(nil, hostA, hostB, 49152, 50000, payload))
		if err := u.Check(hostA, hostB); err != nil {
			t.Fatalf("%d bytes: Check: %v", n, err)
		}
		if u.SrcPort() != 49152 || u.DstPort() != 50000 || int(u.Length()) != UDPHeaderLen+n ||
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

func TestUDPComputedZeroIsSentAsOnes(t *testing.T) {
	// Choose the last payload word so that the checksum sums to zero: the
	// word w plus the checksum c it had gives a sum of all ones.
	payload := []byte{1, 2, 3, 4, 0, 0}
	c := UDP(AppendUDP(nil, hostA, hostB, 7, 9, payload)).Checksum()
	binary.BigEndian.PutUint16(payload[4:], c)
	u := UDP(AppendUDP(nil, hostA, hostB, 7, 9, payload))
	if u.Checksum() != 0xffff {
		t.Fatalf("checksum 0x%04x, want 0xffff (RFC 768: a computed zero is sent as all ones)", u.Checksum())
	}
	if err := u.Check(hostA, hostB); err != nil {
		t.Fatalf("Check: %v", err)
	}
	wireDecode(t, udpDatagram(u))
}

func TestUDPCheck(t *testing.T) {
	good := AppendUDP(nil, hostA, hostB, 1, 2, []byte("hello"))
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
			err := UDP(tt.u).Check(hostA, hostB)
			if tt.reason == "" {
				if err != nil {
					t.Fatalf("Check(%x) = %v", tt.u, err)
				}
				if got := UDP(tt.u).Payload(); !bytes.Equal(got, tt.u[8:13]) {
					t.Errorf("payload %q", got)
				}
				return
			}
			var ce *CheckError
			if !errors.As(err, &ce) || ce.Reason != tt.reason || !strings.Contains(ce.Msg, tt.msg) {
				t.Fatalf("Check(%x) = %v, want %s: ...%q...", tt.u, err, tt.reason, tt.msg)
			}
			if !ce.Reason.Known() {
				t.Errorf("reason %q is not in viz's list", ce.Reason)
			}
		})
	}
}

func TestUDPAppendPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("AppendUDP accepted 65,528 bytes of payload")
		}
	}()
	AppendUDP(nil, hostA, hostB, 1, 2, make([]byte, 65528))
}

// FuzzUDP feeds the UDP parser arbitrary bytes: no panics, and a datagram
// Check accepts has a consistent length and payload, and either no checksum
// or one that ComputeChecksum agrees with.
func FuzzUDP(f *testing.F) {
	f.Add(AppendUDP(nil, hostA, hostB, 1, 2, []byte("hello")))
	f.Add(AppendUDP(nil, hostA, hostB, 68, 67, make([]byte, 300)))
	f.Add([]byte{0, 1, 0, 2, 0, 8, 0, 0})
	f.Add([]byte{0, 1, 0, 2, 0xff, 0xff, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		u := UDP(b)
		_ = IPv4(udpDatagram(b)).Summary()
		if u.Check(hostA, hostB) != nil {
			return
		}
		if n := int(u.Length()); n < UDPHeaderLen || n > len(b) || len(u.Payload()) != n-UDPHeaderLen {
			t.Fatalf("accepted length %d with %d bytes, payload %d", n, len(b), len(u.Payload()))
		}
		if c := u.Checksum(); c != 0 && c != u.ComputeChecksum(hostA, hostB) {
			t.Fatalf("accepted checksum 0x%04x, computed 0x%04x", c, u.ComputeChecksum(hostA, hostB))
		}
		// What we accept, we can send again, and it passes.
		again := UDP(AppendUDP(nil, hostA, hostB, u.SrcPort(), u.DstPort(), u.Payload()))
		if err := again.Check(hostA, hostB); err != nil {
			t.Fatalf("re-emitted datagram fails Check: %v", err)
		}
	})
}
