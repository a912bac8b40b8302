package stack

import (
	"net/netip"
	"testing"
	"time"

	"github.com/packetwalk/packetwalk/ip"
	"github.com/packetwalk/packetwalk/nic"
	"github.com/packetwalk/packetwalk/tcp"
	"github.com/packetwalk/packetwalk/viz"
)

// txSink records the frames a host transmits and the drops logged.
type txSink struct {
	host  string
	sent  [][]byte
	drops map[viz.Reason]int
}

func (s *txSink) Event(e *viz.Event) {
	if e.Verdict == viz.Drop {
		s.drops[e.Reason]++
	}
}
func (s *txSink) EndWalk(string, uint64) {}
func (s *txSink) Capture(f *viz.CapturedFrame) {
	if f.Dir == viz.Outbound && f.Host == s.host {
		s.sent = append(s.sent, append([]byte(nil), f.Data...))
	}
}

// TestBroadcastAndMartianSegments: a SYN sent to a broadcast address, or
// from an address no remote host can have, is dropped with a named reason
// before anything answers it. Before, a SYN to the subnet broadcast or to
// 255.255.255.255 was answered with a RST (closed port) or a SYN+ACK (a
// wildcard listener) whose source was that broadcast address, which RFC
// 1122 §4.2.3.10 and §3.2.1.3 forbid; Linux is silent. Martian sources
// (RFC 1122 §3.2.1.3) were processed until the answer could not be routed.
func TestBroadcastAndMartianSegments(t *testing.T) {
	syn := func(src, dst netip.Addr, port uint16) []byte {
		h := tcp.Header{SrcPort: 40000, DstPort: port, Seq: 1000, Flags: tcp.FlagSYN, Window: 65535,
			Options: tcp.HeaderOptions{MSS: 1460}}
		return h.Append(nil, src, dst, nil)
	}
	bcast := netip.MustParseAddr("255.255.255.255")
	cases := []struct {
		name      string
		src, dst  func(r *fuzzRig) netip.Addr
		port      uint16
		linkBcast bool
		reason    viz.Reason // "": answered (the control cases)
	}{
		{name: "closed port, unicast (control: RST)", port: 9},
		{name: "listener, unicast (control: SYN+ACK)", port: 8080},
		{name: "closed port, subnet broadcast", dst: subnetBroadcast, port: 9, linkBcast: true, reason: viz.ReasonTCPNotUnicast},
		{name: "closed port, limited broadcast", dst: fixed(bcast), port: 9, linkBcast: true, reason: viz.ReasonTCPNotUnicast},
		{name: "wildcard listener, subnet broadcast", dst: subnetBroadcast, port: 8080, linkBcast: true, reason: viz.ReasonTCPNotUnicast},
		{name: "wildcard listener, limited broadcast", dst: fixed(bcast), port: 8080, linkBcast: true, reason: viz.ReasonTCPNotUnicast},
		{name: "wildcard listener, subnet broadcast in a unicast frame", dst: subnetBroadcast, port: 8080, reason: viz.ReasonTCPNotUnicast},
		{name: "unicast in a link-layer broadcast frame", port: 9, linkBcast: true, reason: viz.ReasonTCPNotUnicast},
		{name: "from loopback", src: fixed(netip.MustParseAddr("127.0.0.1")), port: 9, reason: viz.ReasonIPMartianSource},
		{name: "from 0.0.0.0", src: fixed(netip.IPv4Unspecified()), port: 9, reason: viz.ReasonIPMartianSource},
		{name: "from multicast", src: fixed(netip.MustParseAddr("224.0.0.1")), port: 8080, reason: viz.ReasonIPMartianSource},
		{name: "from the limited broadcast", src: fixed(bcast), port: 9, reason: viz.ReasonIPMartianSource},
		{name: "from the subnet broadcast", src: subnetBroadcast, port: 8080, reason: viz.ReasonIPMartianSource},
		{name: "from the server's own address", src: func(r *fuzzRig) netip.Addr { return r.p.Server.Addr() }, port: 9, reason: viz.ReasonIPMartianSource},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := newFuzzRig(t)
			if _, err := r.p.Server.TCP.Listen(netip.AddrPortFrom(netip.IPv4Unspecified(), 8080), 4, tcp.Options{}, nil); err != nil {
				t.Fatal(err)
			}
			sink := &txSink{host: "server", drops: map[viz.Reason]int{}}
			r.p.Net.Log.AddSink(sink)
			src, dst := r.p.Client.Addr(), r.p.Server.Addr()
			if c.src != nil {
				src = c.src(r)
			}
			if c.dst != nil {
				dst = c.dst(r)
			}
			dstMAC := r.serverMAC
			if c.linkBcast {
				dstMAC = nic.Broadcast
			}
			frame := nic.AppendFrame(nil, dstMAC, r.clientMAC, nic.EtherTypeIPv4, ipv4Packet(src, dst, ip.ProtocolTCP, 7, 0, syn(src, dst, c.port)))
			r.inject(frame)
			r.p.Net.RunFor(100 * time.Millisecond)
			r.check(t)
			if c.reason == "" {
				if len(sink.sent) == 0 {
					t.Fatalf("the server did not answer the control SYN; drops %v", sink.drops)
				}
				return
			}
			if sink.drops[c.reason] != 1 {
				t.Errorf("drops %v, want one %s", sink.drops, c.reason)
			}
			for _, f := range sink.sent {
				t.Errorf("the server sent %x", f)
			}
		})
	}
}

func fixed(a netip.Addr) func(*fuzzRig) netip.Addr { return func(*fuzzRig) netip.Addr { return a } }

// subnetBroadcast is the directed broadcast of the server's subnet.
func subnetBroadcast(r *fuzzRig) netip.Addr {
	p := r.p.Server.Interfaces()[0].Prefix.Masked()
	a := p.Addr().As4()
	for i := p.Bits(); i < 32; i++ {
		a[i/8] |= 0x80 >> (i % 8)
	}
	return netip.AddrFrom4(a)
}
