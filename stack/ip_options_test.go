package stack

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/packetwalk/packetwalk/ip"
	"github.com/packetwalk/packetwalk/nic"
	"github.com/packetwalk/packetwalk/viz"
)

// IP options across the simulated wire: an echo request with Record Route
// put on the server's NIC comes back with the server recorded on arrival
// and on departure, and the client records itself as the reply arrives
// (the four addresses `ping -R` shows); a malformed option comes back as
// ICMP Parameter Problem, which the client hands on. gopacket decodes the
// frames the server sent.

// optionsEchoFrame is a frame from the client to the server holding an
// echo request with IP options opts.
func optionsEchoFrame(p *Pair, opts []byte) []byte {
	hdr := ip.IPv4Header{ID: 9, TTL: 64, Protocol: ip.ProtocolICMP, Src: p.Client.Addr(), Dst: p.Server.Addr(), Options: opts}
	msg := ip.AppendEchoRequest(nil, 0x99, 1, []byte("route?"))
	datagram := append(hdr.Append(nil, len(msg)), msg...)
	return nic.AppendFrame(nil, p.Server.Interfaces()[0].NIC.MAC(), p.Client.Interfaces()[0].NIC.MAC(), nic.EtherTypeIPv4, datagram)
}

// serverSent runs the pair for a while after injecting frame at the
// server's NIC and returns what the server transmitted, decoded by
// gopacket, and the steps logged.
func serverSent(t *testing.T, p *Pair, frame []byte) ([]gopacket.Packet, []viz.Event) {
	t.Helper()
	sink := &txSink{host: "server", drops: map[viz.Reason]int{}}
	p.Net.Log.AddSink(sink)
	mem := iptMemory(p.Net)
	n := p.Server.Interfaces()[0].NIC
	id := p.Net.Log.NewFrameID()
	p.Net.Clock.Post(func() { n.Arrive(frame, id) })
	p.Net.RunFor(100 * time.Millisecond)
	var out []gopacket.Packet
	for _, f := range sink.sent {
		pk := gopacket.NewPacket(f, layers.LayerTypeEthernet, gopacket.Default)
		if pk.Layer(layers.LayerTypeICMPv4) != nil {
			out = append(out, pk)
		}
	}
	return out, mem.Events()
}

func TestIPOptionsRecordRouteEcho(t *testing.T) {
	p, err := NewPair(TopologyConfig{Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	client, server := p.Client.Addr().As4(), p.Server.Addr().As4()
	// What ping -R sends: a NOP and a 39-byte Record Route (9 slots), the
	// sender already recorded.
	rr := append([]byte{byte(ip.OptionNOP), byte(ip.OptionRecordRoute), 39, 8}, client[:]...)
	rr = append(rr, make([]byte, 32)...)
	sent, evs := serverSent(t, p, optionsEchoFrame(p, rr))
	if len(sent) != 1 {
		t.Fatalf("the server sent %d ICMP frames, want one echo reply", len(sent))
	}
	ip4 := sent[0].Layer(layers.LayerTypeIPv4).(*layers.IPv4)
	ic := sent[0].Layer(layers.LayerTypeICMPv4).(*layers.ICMPv4)
	if ic.TypeCode.Type() != layers.ICMPv4TypeEchoReply || ic.Id != 0x99 {
		t.Fatalf("gopacket: %v id %#x, want the echo reply", ic.TypeCode, ic.Id)
	}
	var got []byte
	for _, o := range ip4.Options {
		if o.OptionType == byte(ip.OptionRecordRoute) {
			got = o.OptionData
		}
	}
	want := append(append(append([]byte{16}, client[:]...), server[:]...), server[:]...)
	want = append(want, make([]byte, 24)...)
	if !bytes.Equal(got, want) {
		t.Errorf("gopacket reads the reply's record route (pointer, route) as %x, want %x", got, want)
	}
	// The client, receiving the reply, records itself in the fourth slot.
	var clientOpts []viz.Event
	for _, e := range iptSteps(evs, "client", viz.LayerIP, "ip_options") {
		if e.Verdict == viz.Pass {
			clientOpts = append(clientOpts, e)
		}
	}
	if len(clientOpts) != 1 || !strings.Contains(clientOpts[0].Msg, p.Client.Addr().String()+" recorded in slot 4 of 9") {
		t.Errorf("the client's ip_options steps %v, want one recording it in slot 4 of 9", clientOpts)
	}
	if len(iptSteps(evs, "server", viz.LayerICMP, "rr_echo")) != 1 {
		t.Errorf("no rr_echo step on the server")
	}
}

func TestIPOptionsParameterProblem(t *testing.T) {
	p, err := NewPair(TopologyConfig{Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	// A Timestamp whose pointer, 4, is below the minimum of 5: octet 22.
	sent, evs := serverSent(t, p, optionsEchoFrame(p, []byte{byte(ip.OptionTimestamp), 8, 4, 0, 0, 0, 0, 0}))
	if len(sent) != 1 {
		t.Fatalf("the server sent %d ICMP frames, want one Parameter Problem", len(sent))
	}
	ic := sent[0].Layer(layers.LayerTypeICMPv4).(*layers.ICMPv4)
	if ic.TypeCode != layers.CreateICMPv4TypeCode(layers.ICMPv4TypeParameterProblem, 0) {
		t.Fatalf("gopacket: %v, want parameter problem code 0", ic.TypeCode)
	}
	// The pointer is the first octet after the checksum (RFC 792), which
	// gopacket reads as the high byte of Id.
	if ptr := ic.Id >> 8; ptr != 22 {
		t.Errorf("pointer %d, want 22", ptr)
	}
	if d := iptDrops(evs, viz.ReasonIPOptionsMalformed); len(d) != 1 || d[0].Host != "server" || d[0].Step != "ip_options" {
		t.Errorf("drops %v, want one ip_options_malformed on the server", d)
	}
	// The client hands the error on: it quotes an ICMP echo.
	var delivered bool
	for _, e := range iptSteps(evs, "client", viz.LayerICMP, "error") {
		delivered = delivered || (e.Verdict == viz.Deliver && strings.Contains(e.Msg, "parameter problem"))
	}
	if !delivered {
		t.Errorf("the client did not take the Parameter Problem")
	}
}
