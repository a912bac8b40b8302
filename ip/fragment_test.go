package ip

import (
	"bytes"
	"errors"
	"fmt"
	"testing"

	"github.com/gopacket/gopacket/ip4defrag"
	"github.com/gopacket/gopacket/layers"

	"github.com/packetwalk/packetwalk/viz"
)

// checkFragments checks what RFC 791 §3.2 asks of fragments of datagram
// h+payload cut for mtu, and returns the payload put back together by
// concatenation.
func checkFragments(t *testing.T, h IPv4Header, payload []byte, mtu int, frags [][]byte) []byte {
	t.Helper()
	var whole []byte
	for i, f := range frags {
		v := IPv4(f)
		last := i == len(frags)-1
		if err := v.Check(); err != nil {
			t.Fatalf("fragment %d: %v", i, err)
		}
		if len(f) > mtu {
			t.Errorf("fragment %d is %d bytes, over the MTU of %d", i, len(f), mtu)
		}
		if v.ID() != h.ID || v.Protocol() != h.Protocol || v.Src() != h.Src || v.Dst() != h.Dst || v.TTL() != h.TTL || v.DF() != h.DF {
			t.Errorf("fragment %d: header %v does not match the datagram's %v", i, v.Header(), h)
		}
		if got := v.FragmentOffset(); got != h.FragmentOffset+len(whole) {
			t.Errorf("fragment %d at offset %d, want %d", i, got, h.FragmentOffset+len(whole))
		}
		if want := !last || h.MF; v.MF() != want {
			t.Errorf("fragment %d: MF %v, want %v", i, v.MF(), want)
		}
		if n := len(v.Payload()); !last && n%8 != 0 {
			t.Errorf("fragment %d carries %d bytes, not a multiple of 8", i, n)
		}
		whole = append(whole, v.Payload()...)
	}
	if !bytes.Equal(whole, payload) {
		t.Errorf("fragments put together give %d bytes that differ from the %d sent", len(whole), len(payload))
	}
	return whole
}

func TestFragmentEcho(t *testing.T) {
	data := make([]byte, 3992)
	for i := range data {
		data[i] = byte(i)
	}
	echo := AppendEchoRequest(nil, 0x77, 1, data) // a 4000-byte ICMP message
	h := IPv4Header{ID: 7238, TTL: 64, Protocol: ProtocolICMP, Src: hostA, Dst: hostB}
	tests := []struct {
		mtu   int
		sizes []int
		first string
	}{
		{1500, []int{1480, 1480, 1040}, "IP 10.0.0.1 > 10.0.0.2: proto ICMP (1) len 1500 ttl 64 frag 7238:1480@0+"},
		{576, []int{552, 552, 552, 552, 552, 552, 552, 136}, "IP 10.0.0.1 > 10.0.0.2: proto ICMP (1) len 572 ttl 64 frag 7238:552@0+"},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint("mtu ", tt.mtu), func(t *testing.T) {
			frags, err := FragmentDatagram(h, echo, tt.mtu)
			if err != nil {
				t.Fatal(err)
			}
			if len(frags) != len(tt.sizes) {
				t.Fatalf("%d fragments, want %d", len(frags), len(tt.sizes))
			}
			whole := checkFragments(t, h, echo, tt.mtu, frags)
			if err := ICMP(whole).Check(); err != nil {
				t.Errorf("reassembled echo: %v", err)
			}
			if got := IPv4(frags[0]).Summary(); got != tt.first {
				t.Errorf("Summary:\n got %s\nwant %s", got, tt.first)
			}

			// gopacket reads every fragment, and its own defragmenter,
			// fed them last first, rebuilds the echo.
			offset := 0
			for i, f := range frags {
				g := wireDecode(t, f).Layer(layers.LayerTypeIPv4).(*layers.IPv4)
				more := g.Flags&layers.IPv4MoreFragments != 0
				if int(g.FragOffset)*8 != offset || more != (i < len(frags)-1) || int(g.Length) != IPv4MinHeaderLen+tt.sizes[i] ||
					g.Id != h.ID || g.Flags&layers.IPv4DontFragment != 0 {
					t.Errorf("gopacket reads fragment %d as offset %d, flags %v, length %d, id %d; want offset %d, length %d",
						i, int(g.FragOffset)*8, g.Flags, g.Length, g.Id, offset, IPv4MinHeaderLen+tt.sizes[i])
				}
				offset += tt.sizes[i]
			}
			d := ip4defrag.NewIPv4Defragmenter()
			var out *layers.IPv4
			for i := len(frags) - 1; i >= 0; i-- {
				g := wireDecode(t, frags[i]).Layer(layers.LayerTypeIPv4).(*layers.IPv4)
				if out, err = d.DefragIPv4(g); err != nil {
					t.Fatalf("gopacket's defragmenter refuses fragment %d: %v", i, err)
				}
			}
			if out == nil || !bytes.Equal(out.Payload, echo) {
				t.Errorf("gopacket's defragmenter did not rebuild the echo: %v", out)
			}
		})
	}
}

func TestFragmentOptions(t *testing.T) {
	rr := []byte{byte(OptionRecordRoute), 7, 4, 0, 0, 0, 0}                        // not copied
	lsrr := []byte{byte(OptionLSRR), 7, 4, 10, 0, 0, 2}                            // copied
	ra := []byte{byte(OptionRouterAlert), 4, 0, 0}                                 // copied
	opts := append(append(append([]byte{byte(OptionNOP)}, rr...), lsrr...), ra...) // 19 bytes, header 40
	h := IPv4Header{ID: 1, TTL: 64, Protocol: ProtocolUDP, Src: hostA, Dst: hostB, Options: opts}
	payload := make([]byte, 1000)
	for i := range payload {
		payload[i] = byte(i * 5)
	}
	frags, err := FragmentDatagram(h, payload, 200)
	if err != nil {
		t.Fatal(err)
	}
	checkFragments(t, h, payload, 200, frags)
	later := append(append([]byte(nil), lsrr...), ra...) // 11 bytes, header 32
	for i, f := range frags {
		v := IPv4(f)
		want, wantData := later, (200-32)&^7
		if i == 0 {
			want, wantData = opts, (200-40)&^7
		}
		if got := v.Header().Options; !bytes.Equal(got, want) {
			t.Errorf("fragment %d options %x, want %x", i, got, want)
		}
		if n := len(v.Payload()); i < len(frags)-1 && n != wantData {
			t.Errorf("fragment %d carries %d bytes, want %d", i, n, wantData)
		}
		wireDecode(t, f)
	}
}

func TestFragmentDontFragment(t *testing.T) {
	h := IPv4Header{ID: 2, DF: true, TTL: 64, Protocol: ProtocolICMP, Src: hostA, Dst: hostB}
	_, err := FragmentDatagram(h, make([]byte, 4000), 1500)
	var fe *FragNeededError
	if !errors.As(err, &fe) {
		t.Fatalf("FragmentDatagram with DF = %v, want a *FragNeededError", err)
	}
	if fe.MTU != 1500 || fe.Len != 4020 || fe.Reason() != viz.ReasonFragNeeded || !fe.Reason().Known() {
		t.Errorf("FragNeededError %+v, reason %s", fe, fe.Reason())
	}
	// The caller turns it into ICMP Fragmentation Needed with the MTU.
	big := datagram(h, make([]byte, 4000))
	m := ICMP(AppendDestUnreachable(nil, ICMPFragmentationNeeded, uint16(fe.MTU), big))
	if m.Check() != nil || m.NextHopMTU() != 1500 {
		t.Errorf("ICMP fragmentation needed: %v, mtu %d", m.Check(), m.NextHopMTU())
	}

	// With DF, a datagram that fits goes out whole, DF still set.
	frags, err := FragmentDatagram(h, make([]byte, 1480), 1500)
	if err != nil || len(frags) != 1 || !IPv4(frags[0]).DF() || len(frags[0]) != 1500 {
		t.Fatalf("FragmentDatagram of a fitting DF datagram: %d datagrams, %v", len(frags), err)
	}
}

func TestFragmentFits(t *testing.T) {
	h := IPv4Header{ID: 3, TTL: 64, Protocol: ProtocolUDP, Src: hostA, Dst: hostB}
	payload := appendUDP(nil, hostA, hostB, 49152, 50000, make([]byte, 1472))
	frags, err := FragmentDatagram(h, payload, 1500)
	if err != nil || len(frags) != 1 {
		t.Fatalf("FragmentDatagram = %d datagrams, %v; want 1", len(frags), err)
	}
	if !bytes.Equal(frags[0], datagram(h, payload)) {
		t.Errorf("an unfragmented datagram differs from Append's")
	}
	if IPv4(frags[0]).IsFragment() {
		t.Errorf("a datagram that fits came out as a fragment")
	}
}

func TestFragmentMinimumMTU(t *testing.T) {
	h := IPv4Header{ID: 4, TTL: 64, Protocol: ProtocolICMP, Src: hostA, Dst: hostB,
		Options: append([]byte{byte(OptionSecurity), 40}, make([]byte, 38)...)} // 60-byte header, copied
	payload := make([]byte, 100)
	frags, err := FragmentDatagram(h, payload, MinMTU)
	if err != nil {
		t.Fatal(err)
	}
	checkFragments(t, h, payload, MinMTU, frags)
	if len(frags) != 13 { // 60-byte headers leave 8 bytes each: 12 x 8 + 4
		t.Errorf("%d fragments, want 13", len(frags))
	}
}

func TestFragmentErrors(t *testing.T) {
	h := IPv4Header{ID: 5, TTL: 64, Protocol: ProtocolICMP, Src: hostA, Dst: hostB}
	withOpts := func(o ...byte) IPv4Header { c := h; c.Options = o; return c }
	withOff := func(off int) IPv4Header { c := h; c.FragmentOffset = off; c.MF = true; return c }
	tests := []struct {
		name    string
		h       IPv4Header
		payload int
		mtu     int
	}{
		{"MTU 67", h, 100, 67},
		{"MTU 0", h, 100, 0},
		{"41 bytes of options", withOpts(make([]byte, 41)...), 100, 1500},
		{"option length 1", withOpts(byte(OptionRecordRoute), 1, 0, 0), 100, 1500},
		{"option past the end", withOpts(byte(OptionRecordRoute), 9, 0, 0), 100, 1500},
		{"over 65,535 bytes", h, 65516, 1500},
		{"offset not a multiple of 8", withOff(1481), 100, 1500},
		{"negative offset", withOff(-8), 100, 1500},
		{"runs past any datagram", withOff(65000), 600, 1500},
	}
	for _, tt := range tests {
		if frags, err := FragmentDatagram(tt.h, make([]byte, tt.payload), tt.mtu); err == nil {
			t.Errorf("%s: FragmentDatagram gave %d fragments, want an error", tt.name, len(frags))
		}
	}
	var ce *CheckError
	if _, err := FragmentDatagram(withOpts(byte(OptionRecordRoute), 1, 0, 0), nil, 1500); !errors.As(err, &ce) || ce.Reason != viz.ReasonIPOptionsMalformed {
		t.Errorf("malformed options: %v, want a *CheckError ip_options_malformed", err)
	}
}

func TestRefragment(t *testing.T) {
	// A router forwards fragments onto a link with a smaller MTU: the
	// pieces continue the fragment's offset, and only the last piece of
	// the datagram's last fragment has MF clear.
	for _, mf := range []bool{true, false} {
		h := IPv4Header{ID: 6, MF: mf, FragmentOffset: 1480, TTL: 63, Protocol: ProtocolICMP, Src: hostA, Dst: hostB}
		payload := make([]byte, 1480)
		for i := range payload {
			payload[i] = byte(i)
		}
		frags, err := FragmentDatagram(h, payload, 576)
		if err != nil {
			t.Fatal(err)
		}
		checkFragments(t, h, payload, 576, frags)
		if len(frags) != 3 || IPv4(frags[1]).FragmentOffset() != 1480+552 {
			t.Errorf("MF %v: %d pieces, the second at %d", mf, len(frags), IPv4(frags[1]).FragmentOffset())
		}
	}
}

func TestFragmentProperties(t *testing.T) {
	optionSets := [][]byte{
		nil,
		{byte(OptionRecordRoute), 11, 4, 0, 0, 0, 0, 0, 0, 0, 0},
		{byte(OptionRouterAlert), 4, 0, 0, byte(OptionNOP), byte(OptionTimestamp), 12, 5, 0, 0, 0, 0, 0, 0, 0, 0, 0},
	}
	for _, opts := range optionSets {
		for _, n := range []int{1, 7, 8, 9, 47, 48, 49, 575, 1472, 1473, 8000, 65515 - 40} {
			for _, mtu := range []int{68, 69, 75, 76, 296, 576, 1280, 1500, 9000, 65535} {
				h := IPv4Header{ID: uint16(n), TTL: 64, Protocol: ProtocolUDP, Src: hostA, Dst: hostB, Options: opts}
				payload := make([]byte, n)
				for i := range payload {
					payload[i] = byte(i ^ n)
				}
				frags, err := FragmentDatagram(h, payload, mtu)
				if err != nil {
					t.Fatalf("%d bytes at MTU %d: %v", n, mtu, err)
				}
				t.Run(fmt.Sprintf("%d options %d bytes mtu %d", len(opts), n, mtu), func(t *testing.T) {
					checkFragments(t, h, payload, mtu, frags)
				})
				// Fragments share a buffer but never each other's bytes.
				if len(frags) > 1 {
					second := append([]byte(nil), frags[1]...)
					_ = append(frags[0], 0xee)
					if !bytes.Equal(frags[1], second) {
						t.Fatalf("appending to fragment 0 changed fragment 1")
					}
				}
			}
		}
	}
}

func BenchmarkFragment64K(b *testing.B) {
	h := IPv4Header{ID: 1, TTL: 64, Protocol: ProtocolUDP, Src: hostA, Dst: hostB}
	payload := make([]byte, 65515)
	b.SetBytes(int64(len(payload)))
	for b.Loop() {
		if _, err := FragmentDatagram(h, payload, 1500); err != nil {
			b.Fatal(err)
		}
	}
}
