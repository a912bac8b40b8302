package udp

import (
	"bytes"
	"errors"
	"net/netip"
	"testing"

	"github.com/gopacket/gopacket/layers"

	"github.com/packetwalk/packetwalk/icmp"
	"github.com/packetwalk/packetwalk/internal/iptest"
	"github.com/packetwalk/packetwalk/ip"
	"github.com/packetwalk/packetwalk/viz"
)

// Tests of UDP's layer, driven through a host's IP layer on fake links
// (internal/iptest) and checked by the steps logged, by what the sockets
// get, and by gopacket decoding what is sent.

// host is the bench with this package's Layer registered for protocol 17,
// as package stack registers it.
type host struct {
	*iptest.Host
	udp *Layer
}

func newHost(t *testing.T, c Config) *host {
	t.Helper()
	h := &host{Host: iptest.NewHost(t, ip.Config{})}
	c.Recorder, c.Network = h.Recorder, h.IP
	h.udp = NewLayer(c)
	h.IP.Register(ip.ProtocolUDP, h.udp)
	return h
}

func udpIn(src, dst netip.AddrPort, payload []byte) []byte {
	return iptest.Datagram(iptest.Header(src.Addr(), dst.Addr(), ip.ProtocolUDP),
		Append(nil, src.Addr(), dst.Addr(), src.Port(), dst.Port(), payload))
}

func TestReceive(t *testing.T) {
	peer := netip.AddrPortFrom(iptest.Peer, 40000)
	t.Run("queued for the socket", func(t *testing.T) {
		h := newHost(t, Config{})
		ep, err := h.udp.Bind(netip.MustParseAddrPort("0.0.0.0:7"))
		h.Must(err)
		woken := 0
		ep.Notify = func() { woken++ }
		to := netip.AddrPortFrom(iptest.Self, 7)
		frame := h.Receive(h.Eth0, append(udpIn(peer, to, []byte("hi")), make([]byte, 16)...), nil)
		if drops := iptest.AllDrops(h.Events()); len(drops) != 0 {
			t.Fatalf("unexpected drops:%s", iptest.Describe(drops))
		}
		d, ok := ep.Recv()
		if !ok {
			t.Fatal("Recv: nothing queued")
		}
		if d.Frame != frame || d.From != peer || d.To != to || string(d.Data) != "hi" {
			t.Errorf("Recv = %+v, want frame %d from %s to %s %q", d, frame, peer, to, "hi")
		}
		if _, ok := ep.Recv(); ok {
			t.Error("a second datagram came out of the queue")
		}
		if woken != 1 {
			t.Errorf("Notify called %d times, want 1", woken)
		}
		if s := h.udp.Stats(); s.InDatagrams != 1 {
			t.Errorf("InDatagrams = %d, want 1", s.InDatagrams)
		}
	})

	t.Run("exact address before wildcard", func(t *testing.T) {
		// Bind refuses a wildcard and an exact binding on one port
		// (EADDRINUSE, as Linux without SO_REUSEADDR), so the table is
		// filled directly to check the lookup's preference, in both
		// orders.
		for _, exactFirst := range []bool{true, false} {
			h := newHost(t, Config{})
			h.Must(h.IP.AddAddress(h.Eth0, netip.MustParsePrefix("10.0.0.3/24")))
			exact := &Endpoint{layer: h.udp, local: netip.AddrPortFrom(iptest.Self, 7), ReceiveBuffer: DefaultReceiveBuffer}
			wild := &Endpoint{layer: h.udp, local: netip.MustParseAddrPort("0.0.0.0:7"), ReceiveBuffer: DefaultReceiveBuffer}
			if exactFirst {
				h.udp.table.byPort[7] = []*Endpoint{exact, wild}
			} else {
				h.udp.table.byPort[7] = []*Endpoint{wild, exact}
			}
			h.Receive(h.Eth0, udpIn(peer, netip.AddrPortFrom(iptest.Self, 7), []byte("exact")), nil)
			h.Receive(h.Eth0, udpIn(peer, netip.AddrPortFrom(iptest.Self2, 7), []byte("wild")), nil)
			if d, ok := exact.Recv(); !ok || string(d.Data) != "exact" {
				t.Errorf("exact-first %v: exact socket got %q, %v", exactFirst, d.Data, ok)
			}
			if d, ok := wild.Recv(); !ok || string(d.Data) != "wild" {
				t.Errorf("exact-first %v: wildcard socket got %q, %v", exactFirst, d.Data, ok)
			}
			if _, ok := exact.Recv(); ok {
				t.Errorf("exact-first %v: the exact socket got the wildcard's datagram", exactFirst)
			}
		}
	})

	t.Run("no socket", func(t *testing.T) {
		h := newHost(t, Config{})
		data := udpIn(peer, netip.AddrPortFrom(iptest.Self, 9), []byte("anyone?"))
		frame := h.Receive(h.Eth0, data, nil)
		iptest.WantDrop(t, h.Events(), viz.LayerUDP, viz.ReasonNoSocket, frame)
		outs := h.Outputs()
		if len(outs) != 1 {
			t.Fatalf("%d datagrams sent, want one ip.ICMP port unreachable", len(outs))
		}
		iptest.WantICMPError(t, outs[0], "eth0", iptest.Self, iptest.Peer, ip.ICMPDestUnreachable, ip.ICMPPortUnreachable, data)
		if s := h.udp.Stats(); s.NoPorts != 1 {
			t.Errorf("NoPorts = %d, want 1", s.NoPorts)
		}
	})

	t.Run("no socket, broadcast", func(t *testing.T) {
		h := newHost(t, Config{})
		for _, dst := range []netip.Addr{iptest.Bcast, iptest.AllOnes} {
			frame := h.Receive(h.Eth0, udpIn(peer, netip.AddrPortFrom(dst, 9), []byte("anyone?")), func(in *ip.Inbound) { in.LinkBroadcast = true })
			iptest.WantDrop(t, h.Events(), viz.LayerUDP, viz.ReasonNoSocket, frame)
		}
		// A unicast datagram in a link-layer broadcast frame: no error
		// either (RFC 1122 §3.2.2).
		h.Receive(h.Eth0, udpIn(peer, netip.AddrPortFrom(iptest.Self, 9), []byte("anyone?")), func(in *ip.Inbound) { in.LinkBroadcast = true })
		if outs := h.Outputs(); len(outs) != 0 {
			t.Errorf("%d datagrams sent, want no ip.ICMP error about a broadcast", len(outs))
		}
	})

	t.Run("broadcast to a wildcard socket", func(t *testing.T) {
		h := newHost(t, Config{})
		ep, err := h.udp.Bind(netip.MustParseAddrPort("0.0.0.0:67"))
		h.Must(err)
		h.Receive(h.Eth0, udpIn(peer, netip.AddrPortFrom(iptest.AllOnes, 67), []byte("dhcp?")), func(in *ip.Inbound) { in.LinkBroadcast = true })
		if d, ok := ep.Recv(); !ok || d.To.Addr() != iptest.AllOnes {
			t.Errorf("Recv = %+v, %v; want the broadcast datagram", d, ok)
		}
	})

	t.Run("bad checksum", func(t *testing.T) {
		h := newHost(t, Config{})
		ep, err := h.udp.Bind(netip.MustParseAddrPort("0.0.0.0:7"))
		h.Must(err)
		data := udpIn(peer, netip.AddrPortFrom(iptest.Self, 7), []byte("damaged"))
		data[len(data)-1] ^= 0x20
		frame := h.Receive(h.Eth0, data, nil)
		iptest.WantDrop(t, h.Events(), viz.LayerUDP, viz.ReasonUDPChecksum, frame)
		if _, ok := ep.Recv(); ok {
			t.Error("a damaged datagram was queued")
		}
		if outs := h.Outputs(); len(outs) != 0 {
			t.Errorf("%d datagrams sent, want none", len(outs))
		}
	})

	t.Run("receive buffer full", func(t *testing.T) {
		h := newHost(t, Config{})
		ep, err := h.udp.Bind(netip.MustParseAddrPort("0.0.0.0:7"))
		h.Must(err)
		ep.ReceiveBuffer = 10
		to := netip.AddrPortFrom(iptest.Self, 7)
		h.Receive(h.Eth0, udpIn(peer, to, []byte("first!")), nil)
		h.Events()
		frame := h.Receive(h.Eth0, udpIn(peer, to, []byte("second")), nil)
		iptest.WantDrop(t, h.Events(), viz.LayerUDP, viz.ReasonRcvbufFull, frame)
		if d, ok := ep.Recv(); !ok || string(d.Data) != "first!" {
			t.Errorf("Recv = %q, %v; want the first datagram", d.Data, ok)
		}
		// Reading made room.
		h.Receive(h.Eth0, udpIn(peer, to, []byte("third!")), nil)
		if d, ok := ep.Recv(); !ok || string(d.Data) != "third!" {
			t.Errorf("after a read, Recv = %q, %v; want the third datagram", d.Data, ok)
		}
		if s := h.udp.Stats(); s.RcvbufErrors != 1 {
			t.Errorf("RcvbufErrors = %d, want 1", s.RcvbufErrors)
		}
	})
}

func TestBind(t *testing.T) {
	ap := netip.MustParseAddrPort
	t.Run("conflicts", func(t *testing.T) {
		h := newHost(t, Config{})
		h.Must(h.IP.AddAddress(h.Eth0, netip.MustParsePrefix("10.0.0.3/24")))
		_, err := h.udp.Bind(ap("10.0.0.2:53"))
		h.Must(err)
		_, err = h.udp.Bind(ap("10.0.0.3:53")) // another address: fine
		h.Must(err)
		_, err = h.udp.Bind(ap("0.0.0.0:67"))
		h.Must(err)
		for _, a := range []string{"10.0.0.2:53", "0.0.0.0:53", "0.0.0.0:67", "10.0.0.2:67"} {
			if _, err := h.udp.Bind(ap(a)); !errors.Is(err, ErrAddrInUse) {
				t.Errorf("Bind(%s) = %v, want ErrAddrInUse", a, err)
			}
		}
		if _, err := h.udp.Bind(ap("10.9.9.9:53")); !errors.Is(err, ErrNotMyAddress) {
			t.Errorf("Bind(10.9.9.9:53) = %v, want ErrNotMyAddress", err)
		}
		// Closing frees the port.
		ep, err := h.udp.Bind(ap("0.0.0.0:99"))
		h.Must(err)
		ep.Close()
		_, err = h.udp.Bind(ap("0.0.0.0:99"))
		h.Must(err)
	})

	t.Run("ephemeral ports", func(t *testing.T) {
		r := ip.PortRange{First: 50000, Last: 50003}
		h := newHost(t, Config{Ephemeral: r})
		_, err := h.udp.Bind(ap("0.0.0.0:50001")) // taken by hand
		h.Must(err)
		seen := map[uint16]*Endpoint{}
		for i := 0; i < 3; i++ {
			ep, err := h.udp.Bind(ap("0.0.0.0:0"))
			if err != nil {
				t.Fatalf("ephemeral bind %d: %v", i, err)
			}
			p := ep.LocalAddr().Port()
			if p < r.First || p > r.Last || p == 50001 || seen[p] != nil {
				t.Errorf("ephemeral port %d: outside %d-%d, taken, or repeated", p, r.First, r.Last)
			}
			seen[p] = ep
		}
		if _, err := h.udp.Bind(ap("0.0.0.0:0")); !errors.Is(err, ErrNoFreePort) {
			t.Errorf("bind with the range exhausted = %v, want ErrNoFreePort", err)
		}
		seen[50002].Close()
		ep, err := h.udp.Bind(ap("0.0.0.0:0"))
		if err != nil || ep.LocalAddr().Port() != 50002 {
			t.Errorf("after a close, ephemeral bind = %v, %v; want port 50002", ep, err)
		}
	})

	t.Run("default range", func(t *testing.T) {
		h := newHost(t, Config{})
		ep, err := h.udp.Bind(ap("0.0.0.0:0"))
		h.Must(err)
		if p := ep.LocalAddr().Port(); p < ip.EphemeralPorts.First || p > ip.EphemeralPorts.Last {
			t.Errorf("ephemeral port %d outside %v", p, ip.EphemeralPorts)
		}
	})
}

func TestSendTo(t *testing.T) {
	h := newHost(t, Config{})
	ep, err := h.udp.Bind(netip.MustParseAddrPort("0.0.0.0:5353"))
	h.Must(err)
	payload := iptest.Pattern(333)
	dst := netip.AddrPortFrom(iptest.Peer, 9999)
	h.Must(ep.SendTo(dst, payload))
	outs := h.Outputs()
	if len(outs) != 1 || outs[0].NextHop != iptest.Peer {
		t.Fatalf("outputs %+v, want one to %s", outs, iptest.Peer)
	}
	p, ip4 := iptest.Decode(t, outs[0].Data)
	if ip4.Protocol != layers.IPProtocolUDP || ip4.SrcIP.String() != iptest.Self.String() || ip4.DstIP.String() != iptest.Peer.String() {
		t.Errorf("datagram %s > %s proto %v, want %s > %s UDP", ip4.SrcIP, ip4.DstIP, ip4.Protocol, iptest.Self, iptest.Peer)
	}
	u, _ := p.Layer(layers.LayerTypeUDP).(*layers.UDP)
	if u == nil {
		t.Fatal("gopacket found no UDP layer")
	}
	if u.SrcPort != 5353 || u.DstPort != 9999 || int(u.Length) != 8+len(payload) || !bytes.Equal(u.Payload, payload) {
		t.Errorf("gopacket: UDP %d > %d length %d, want 5353 > 9999 length %d with the payload", u.SrcPort, u.DstPort, u.Length, 8+len(payload))
	}
	if u.Checksum == 0 {
		t.Error("no UDP checksum sent (RFC 1122 §4.1.3.4 asks for one)")
	}
	if s := h.udp.Stats(); s.OutDatagrams != 1 {
		t.Errorf("OutDatagrams = %d, want 1", s.OutDatagrams)
	}
	if err := ep.SendTo(dst, make([]byte, 65508)); !errors.Is(err, ErrMessageTooBig) {
		t.Errorf("SendTo 65508 bytes = %v, want ErrMessageTooBig", err)
	}
	if err := ep.SendTo(netip.MustParseAddrPort("192.0.2.1:9"), payload); !errors.Is(err, ip.ErrNoRoute) {
		t.Errorf("SendTo off-link without a route = %v, want ip.ErrNoRoute", err)
	}
}

// TestPortUnreachableReachesTheSocket: an ICMP port unreachable about a
// datagram a socket sent travels ICMP -> IP's transport table -> UDP, and
// the socket's next call fails with ECONNREFUSED.
func TestPortUnreachableReachesTheSocket(t *testing.T) {
	errFrom := func(code ip.ICMPCode, orig []byte) []byte {
		m := ip.AppendDestUnreachable(nil, code, 0, ip.IPv4(orig))
		return iptest.Datagram(iptest.Header(iptest.Peer, iptest.Self, ip.ProtocolICMP), m)
	}

	t.Run("UDP port unreachable", func(t *testing.T) {
		h := newHost(t, Config{})
		h.IP.Register(ip.ProtocolICMP, icmp.NewLayer(icmp.Config{Recorder: h.Recorder, Network: h.IP}))
		ep, err := h.udp.Bind(netip.MustParseAddrPort("0.0.0.0:5000"))
		h.Must(err)
		other, err := h.udp.Bind(netip.MustParseAddrPort("0.0.0.0:5001"))
		h.Must(err)
		notified := 0
		ep.Notify = func() { notified++ }
		orig := iptest.Datagram(iptest.Header(iptest.Self, iptest.Peer, ip.ProtocolUDP), Append(nil, iptest.Self, iptest.Peer, 5000, 7, []byte("are you there?")))
		h.Receive(h.Eth0, errFrom(ip.ICMPPortUnreachable, orig), nil)
		if drops := iptest.AllDrops(h.Events()); len(drops) != 0 {
			t.Fatalf("unexpected drops:%s", iptest.Describe(drops))
		}
		if err := ep.TakeErr(); !errors.Is(err, ErrConnRefused) {
			t.Errorf("TakeErr = %v, want ErrConnRefused", err)
		}
		if err := ep.TakeErr(); err != nil {
			t.Errorf("second TakeErr = %v, want nil (taken)", err)
		}
		if notified != 1 {
			t.Errorf("Notify called %d times, want 1", notified)
		}
		if err := other.TakeErr(); err != nil {
			t.Errorf("the socket on another port got %v", err)
		}
		if outs := h.Outputs(); len(outs) != 0 {
			t.Errorf("%d datagrams sent in answer to an ip.ICMP error, want none", len(outs))
		}
	})

}
