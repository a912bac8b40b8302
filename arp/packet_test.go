package arp

import (
	"bytes"
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"strings"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/packetwalk/packetwalk/nic"
)

var (
	arpMAC1 = nic.MAC{0x02, 0, 0, 0, 0, 0x01}
	arpMAC2 = nic.MAC{0x02, 0, 0, 0, 0, 0x02}
	arpIP1  = netip.MustParseAddr("10.0.0.1")
	arpIP2  = netip.MustParseAddr("10.0.0.2")
)

// arpRequestBytes is who-has 10.0.0.2? tell 10.0.0.1, from 02:00:00:00:00:01.
func arpRequestBytes() []byte {
	return Append(nil, Request, arpMAC1, arpIP1, nic.MAC{}, arpIP2)
}

func TestAppendARPLayout(t *testing.T) {
	got := Append(nil, Reply, arpMAC2, arpIP2, arpMAC1, arpIP1)
	// RFC 826 field by field, as a capture shows them.
	want := []byte{
		0x00, 0x01, // ar$hrd: Ethernet
		0x08, 0x00, // ar$pro: IPv4
		6, 4, // ar$hln, ar$pln
		0x00, 0x02, // ar$op: reply
		0x02, 0, 0, 0, 0, 0x02, 10, 0, 0, 2, // sha, spa
		0x02, 0, 0, 0, 0, 0x01, 10, 0, 0, 1, // tha, tpa
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("Append:\n got % x\nwant % x", got, want)
	}
	p := Packet(got)
	if err := p.Check(); err != nil {
		t.Fatal(err)
	}
	if p.HType() != 1 || p.PType() != 0x0800 || p.HLen() != 6 || p.PLen() != 4 || p.Op() != Reply ||
		p.SenderMAC() != arpMAC2 || p.SenderIP() != arpIP2 || p.TargetMAC() != arpMAC1 || p.TargetIP() != arpIP1 {
		t.Fatalf("accessors disagree with the bytes: %v", p)
	}
	// Appending keeps what b held.
	if b := Append([]byte{0xaa}, Request, arpMAC1, arpIP1, nic.MAC{}, arpIP2); b[0] != 0xaa || len(b) != 1+PacketLen {
		t.Fatalf("Append onto a prefix: % x", b)
	}
}

func TestARPCheck(t *testing.T) {
	mod := func(f func(b []byte) []byte) []byte { return f(arpRequestBytes()) }
	tests := []struct {
		name string
		pkt  []byte
		want string // in the error; "" for a valid packet
	}{
		{"request", arpRequestBytes(), ""},
		{"padded to the Ethernet minimum", append(arpRequestBytes(), make([]byte, 18)...), ""},
		{"reply", Append(nil, Reply, arpMAC2, arpIP2, arpMAC1, arpIP1), ""},
		{"empty", nil, "shorter than the 8-byte ARP header"},
		{"header cut", arpRequestBytes()[:7], "shorter than the 8-byte ARP header"},
		{"addresses cut", arpRequestBytes()[:27], "27 bytes, shorter than the 28"},
		{"hardware type", mod(func(b []byte) []byte { b[1] = 6; return b }), "hardware type 6 is not Ethernet"},
		{"protocol type", mod(func(b []byte) []byte { binary.BigEndian.PutUint16(b[2:], 0x86dd); return b }), "protocol type 0x86dd is not IPv4"},
		{"hardware length", mod(func(b []byte) []byte { b[4] = 8; return b }), "hardware address length 8"},
		{"protocol length", mod(func(b []byte) []byte { b[5] = 16; return b }), "protocol address length 16"},
		{"op 0", mod(func(b []byte) []byte { b[7] = 0; return b }), "operation 0 is neither"},
		{"op 3 (RARP)", mod(func(b []byte) []byte { b[7] = 3; return b }), "operation 3 is neither"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := Packet(tc.pkt).Check()
			if tc.want == "" {
				if err != nil {
					t.Fatalf("Check: %v", err)
				}
				return
			}
			if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Check = %v, want ErrMalformed mentioning %q", err, tc.want)
			}
			if s := Packet(tc.pkt).String(); !strings.HasPrefix(s, "ARP, malformed: ") {
				t.Fatalf("String of a malformed packet = %q", s)
			}
		})
	}
}

func TestARPString(t *testing.T) {
	tests := []struct {
		pkt  []byte
		want string
	}{
		{arpRequestBytes(), "ARP, Request who-has 10.0.0.2 tell 10.0.0.1"},
		{Append(nil, Reply, arpMAC2, arpIP2, arpMAC1, arpIP1), "ARP, Reply 10.0.0.2 is-at 02:00:00:00:00:02"},
		{Append(nil, Request, arpMAC1, arpIP1, arpMAC2, arpIP2), "ARP, Request who-has 10.0.0.2 (02:00:00:00:00:02) tell 10.0.0.1"},
	}
	for _, tc := range tests {
		if got := Packet(tc.pkt).String(); got != tc.want {
			t.Errorf("String = %q, want %q", got, tc.want)
		}
	}
	if !Packet(Append(nil, Request, arpMAC1, arpIP1, nic.MAC{}, arpIP1)).IsGratuitous() {
		t.Error("an announcement (sender IP = target IP) is gratuitous")
	}
	if Packet(Append(nil, Request, arpMAC1, netip.IPv4Unspecified(), nic.MAC{}, netip.IPv4Unspecified())).IsGratuitous() {
		t.Error("a probe from 0.0.0.0 is not gratuitous")
	}
}

// decodeARPFrame decodes an Ethernet frame (with its FCS) with gopacket,
// code we did not write.
func decodeARPFrame(t *testing.T, frame []byte) (*layers.Ethernet, *layers.ARP) {
	t.Helper()
	if nic.Frame(frame).FCS() != nic.Frame(frame).ComputeFCS() {
		t.Fatalf("frame's FCS is wrong: % x", frame)
	}
	// gopacket's Ethernet decoder does not expect the FCS: strip it, as a
	// capture without FCS would.
	p := gopacket.NewPacket(frame[:len(frame)-nic.FCSLen], layers.LayerTypeEthernet, gopacket.Default)
	if el := p.ErrorLayer(); el != nil {
		t.Fatalf("gopacket could not decode: %v", el.Error())
	}
	eth, _ := p.Layer(layers.LayerTypeEthernet).(*layers.Ethernet)
	arp, _ := p.Layer(layers.LayerTypeARP).(*layers.ARP)
	if eth == nil || arp == nil {
		t.Fatalf("gopacket found no Ethernet/ARP layers in % x", frame)
	}
	return eth, arp
}

func TestAppendARPDecodesWithGopacket(t *testing.T) {
	frame := nic.AppendFrame(nil, nic.Broadcast, arpMAC1, nic.EtherTypeARP, arpRequestBytes())
	eth, arp := decodeARPFrame(t, frame)
	if eth.EthernetType != layers.EthernetTypeARP {
		t.Errorf("EtherType %v", eth.EthernetType)
	}
	if arp.AddrType != layers.LinkTypeEthernet || arp.Protocol != layers.EthernetTypeIPv4 ||
		arp.HwAddressSize != 6 || arp.ProtAddressSize != 4 || arp.Operation != layers.ARPRequest {
		t.Errorf("gopacket decoded %+v", arp)
	}
	if !bytes.Equal(arp.SourceHwAddress, arpMAC1[:]) || !net.IP(arp.SourceProtAddress).Equal(net.IP{10, 0, 0, 1}) ||
		!bytes.Equal(arp.DstHwAddress, make([]byte, 6)) || !net.IP(arp.DstProtAddress).Equal(net.IP{10, 0, 0, 2}) {
		t.Errorf("gopacket decoded addresses %+v", arp)
	}
}
