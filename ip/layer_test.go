package ip

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/packetwalk/packetwalk/clock"
	"github.com/packetwalk/packetwalk/viz"
)

// Tests of the IP layer as a whole (Layer): the receive walk, the ICMP errors,
// the send path, forwarding and reassembly, driven through fake links and
// checked by the steps the layer logs, by what it hands to the links, and by
// gopacket decoding what it sends.

// ---- harness ----

var (
	ltPeer   = netip.MustParseAddr("10.0.0.1")   // a neighbour on eth0
	ltSelf   = netip.MustParseAddr("10.0.0.2")   // the host's address
	ltSelf2  = netip.MustParseAddr("10.0.0.3")   // the host's second address, on eth0 too
	ltBcast  = netip.MustParseAddr("10.0.0.255") // eth0's directed broadcast
	ltGW     = netip.MustParseAddr("10.0.0.254") // the router, on eth0
	ltFar    = netip.MustParseAddr("10.0.1.2")   // a host behind the router, on eth1
	ltAllOne = netip.MustParseAddr("255.255.255.255")
)

// ltOutput is one call of Output or OutputBroadcast on a fake link.
type ltOutput struct {
	link      string
	nextHop   netip.Addr // invalid for a broadcast
	data      []byte     // a copy
	id        uint64
	broadcast bool
}

// ltLink is a fake Link that records what IP sends through it.
type ltLink struct {
	name string
	mtu  int
	out  *[]ltOutput // shared by a harness's links, so the order is global
}

func (k *ltLink) Name() string { return k.name }
func (k *ltLink) MTU() int     { return k.mtu }

func (k *ltLink) Output(nextHop netip.Addr, datagram []byte, id uint64) error {
	*k.out = append(*k.out, ltOutput{link: k.name, nextHop: nextHop, data: bytes.Clone(datagram), id: id})
	return nil
}

func (k *ltLink) OutputBroadcast(datagram []byte, id uint64) error {
	*k.out = append(*k.out, ltOutput{link: k.name, data: bytes.Clone(datagram), id: id, broadcast: true})
	return nil
}

// ltTransport is a fake Transport (registered as TCP) that keeps copies.
type ltTransport struct {
	got  []Datagram
	errs []ICMPError
}

func (tr *ltTransport) Receive(d Datagram) {
	d.Payload = bytes.Clone(d.Payload)
	d.Header = bytes.Clone(d.Header)
	tr.got = append(tr.got, d)
}

func (tr *ltTransport) ReceiveError(e ICMPError) {
	e.Quoted = bytes.Clone(e.Quoted)
	e.Payload = bytes.Clone(e.Payload)
	tr.errs = append(tr.errs, e)
}

type ltHarness struct {
	t     *testing.T
	clock *clock.Virtual
	log   *viz.Log
	sink  *viz.MemorySink
	l     *Layer
	eth0  *ltLink
	eth1  *ltLink // routers only
	tcp   *ltTransport
	out   []ltOutput

	seenEvents, seenOut int
}

func newLTBase(t *testing.T, cfg Config, name string) *ltHarness {
	t.Helper()
	h := &ltHarness{t: t, clock: clock.NewVirtual(), sink: &viz.MemorySink{}, tcp: &ltTransport{}}
	h.log = viz.NewLog(h.clock)
	h.log.AddSink(h.sink)
	cfg.Clock, cfg.Recorder = h.clock, h.log.Recorder(name)
	h.l = NewLayer(cfg)
	h.l.Register(ProtocolTCP, h.tcp)
	h.eth0 = &ltLink{name: "eth0", mtu: 1500, out: &h.out}
	return h
}

// newLTHost is a host 10.0.0.2/24 on eth0 (MTU 1500) with a fake TCP.
func newLTHost(t *testing.T, cfg Config) *ltHarness {
	t.Helper()
	h := newLTBase(t, cfg, "host")
	h.must(h.l.AddAddress(h.eth0, netip.MustParsePrefix("10.0.0.2/24")))
	return h
}

// newLTRouter is a router with 10.0.0.254/24 on eth0 (MTU 1500) and
// 10.0.1.254/24 on eth1 (MTU eth1MTU).
func newLTRouter(t *testing.T, cfg Config, eth1MTU int) *ltHarness {
	t.Helper()
	cfg.Forwarding = true
	h := newLTBase(t, cfg, "router")
	h.eth1 = &ltLink{name: "eth1", mtu: eth1MTU, out: &h.out}
	h.must(h.l.AddAddress(h.eth0, netip.MustParsePrefix("10.0.0.254/24")))
	h.must(h.l.AddAddress(h.eth1, netip.MustParsePrefix("10.0.1.254/24")))
	return h
}

func (h *ltHarness) must(err error) {
	h.t.Helper()
	if err != nil {
		h.t.Fatal(err)
	}
}

// receive hands data to the layer as a frame that arrived on link, after
// mod (if any) adjusted the Inbound, and returns the frame ID.
func (h *ltHarness) receive(link *ltLink, data []byte, mod func(*Inbound)) uint64 {
	in := Inbound{Link: link, Frame: h.log.NewFrameID(), Data: bytes.Clone(data)}
	if mod != nil {
		mod(&in)
	}
	h.l.Receive(in)
	return in.Frame
}

// events returns the events logged since the last call.
func (h *ltHarness) events() []viz.Event {
	evs := h.sink.Events()
	out := evs[h.seenEvents:]
	h.seenEvents = len(evs)
	return out
}

// outputs returns the link outputs since the last call.
func (h *ltHarness) outputs() []ltOutput {
	out := h.out[h.seenOut:]
	h.seenOut = len(h.out)
	return out
}

// ltDrops returns the drops with reason at layer among evs.
func ltDrops(evs []viz.Event, layer viz.Layer, reason viz.Reason) []viz.Event {
	var out []viz.Event
	for _, e := range evs {
		if e.Verdict == viz.Drop && e.Layer == layer && e.Reason == reason {
			out = append(out, e)
		}
	}
	return out
}

// ltAllDrops returns every drop among evs.
func ltAllDrops(evs []viz.Event) []viz.Event {
	var out []viz.Event
	for _, e := range evs {
		if e.Verdict == viz.Drop {
			out = append(out, e)
		}
	}
	return out
}

// ltSteps returns the events of layer and step among evs.
func ltSteps(evs []viz.Event, layer viz.Layer, step string) []viz.Event {
	var out []viz.Event
	for _, e := range evs {
		if e.Layer == layer && e.Step == step {
			out = append(out, e)
		}
	}
	return out
}

func ltDescribe(evs []viz.Event) string {
	var b strings.Builder
	for _, e := range evs {
		fmt.Fprintf(&b, "\n  %s %s/%s %s %s frame %d: %s", e.Host, e.Layer, e.Step, e.Verdict, e.Reason, e.Frame, e.Msg)
	}
	return b.String()
}

// ltWantDrop checks that evs hold exactly one drop, with reason at layer,
// of frame (0: any frame).
func ltWantDrop(t *testing.T, evs []viz.Event, layer viz.Layer, reason viz.Reason, frame uint64) {
	t.Helper()
	if !reason.Known() {
		t.Fatalf("reason %q is not one of viz's enumerated reasons", reason)
	}
	drops := ltAllDrops(evs)
	if len(drops) != 1 || drops[0].Layer != layer || drops[0].Reason != reason {
		t.Fatalf("want one %s drop %s, got:%s", layer, reason, ltDescribe(evs))
	}
	if frame != 0 && drops[0].Frame != frame {
		t.Errorf("the %s drop names frame %d, want %d", reason, drops[0].Frame, frame)
	}
	if drops[0].Msg == "" {
		t.Errorf("the %s drop has no message", reason)
	}
}

func ltHeader(src, dst netip.Addr, p Protocol) IPv4Header {
	return IPv4Header{ID: 0x1c46, TTL: 64, Protocol: p, Src: src, Dst: dst}
}

func ltDatagram(hdr IPv4Header, payload []byte) []byte {
	return append(hdr.Append(nil, len(payload)), payload...)
}

// ltFixChecksum recomputes the header checksum of b after a test edited it.
func ltFixChecksum(b []byte) []byte {
	binary.BigEndian.PutUint16(b[ipChecksum:], 0)
	binary.BigEndian.PutUint16(b[ipChecksum:], Checksum(b[:IPv4(b).HeaderLen()], 0))
	return b
}

// ltDecode decodes a datagram the layer sent with gopacket, code we did not
// write, and fails on a decoding error or a checksum gopacket disagrees with.
func ltDecode(t *testing.T, b []byte) (gopacket.Packet, *layers.IPv4) {
	t.Helper()
	p := gopacket.NewPacket(b, layers.LayerTypeIPv4, gopacket.Default)
	if el := p.ErrorLayer(); el != nil {
		t.Fatalf("gopacket cannot decode %x: %v", b, el.Error())
	}
	for _, l := range p.Layers() {
		if c, ok := l.(interface {
			SetNetworkLayerForChecksum(gopacket.NetworkLayer) error
		}); ok {
			if err := c.SetNetworkLayerForChecksum(p.NetworkLayer()); err != nil {
				t.Fatal(err)
			}
		}
	}
	err, mismatches := p.VerifyChecksums()
	if err != nil {
		t.Fatalf("gopacket cannot verify checksums: %v", err)
	}
	for _, m := range mismatches {
		t.Errorf("gopacket: layer %s checksum %#04x, it computes %#04x", m.Layer.LayerType(), m.Actual, m.Correct)
	}
	ip4, _ := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
	if ip4 == nil {
		t.Fatalf("gopacket found no IPv4 layer in %x", b)
	}
	if int(ip4.Length) != len(b) {
		t.Errorf("gopacket: total length %d, the link got %d bytes", ip4.Length, len(b))
	}
	return p, ip4
}

// ltWantICMPError checks that o is an ICMP error of type/code from src to
// dst, sent straight to dst on link, quoting orig's header and the first 8
// bytes of its data (RFC 792), and returns the message.
func ltWantICMPError(t *testing.T, o ltOutput, link string, src, dst netip.Addr, typ ICMPType, code ICMPCode, orig []byte) ICMP {
	t.Helper()
	p, ip4 := ltDecode(t, o.data)
	if o.link != link || o.broadcast || o.nextHop != dst {
		t.Errorf("ICMP error went out on %s to next hop %v (broadcast %v), want %s to %s", o.link, o.nextHop, o.broadcast, link, dst)
	}
	if ip4.Protocol != layers.IPProtocolICMPv4 || ip4.SrcIP.String() != src.String() || ip4.DstIP.String() != dst.String() {
		t.Errorf("ICMP error datagram %s > %s proto %v, want %s > %s ICMP", ip4.SrcIP, ip4.DstIP, ip4.Protocol, src, dst)
	}
	ic, _ := p.Layer(layers.LayerTypeICMPv4).(*layers.ICMPv4)
	if ic == nil {
		t.Fatalf("gopacket found no ICMPv4 layer in %x", o.data)
	}
	if want := layers.CreateICMPv4TypeCode(uint8(typ), uint8(code)); ic.TypeCode != want {
		t.Errorf("gopacket: ICMP %v, want %v", ic.TypeCode, want)
	}
	m := ICMP(IPv4(o.data).Payload())
	if err := m.Check(); err != nil {
		t.Errorf("our own check of the ICMP error: %v", err)
	}
	if orig != nil {
		hl := IPv4(orig).HeaderLen()
		if want := orig[:hl+8]; !bytes.Equal(m.Quoted(), want) {
			t.Errorf("the error quotes\n %x\nwant the header and 8 bytes of data\n %x", []byte(m.Quoted()), want)
		}
	}
	return m
}

func ltPattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + i/251)
	}
	return b
}

// ---- 1. the receive walk ----

func TestLayerReceiveWalk(t *testing.T) {
	payload := []byte("hello, transport")
	good := func() []byte { return ltDatagram(ltHeader(ltPeer, ltSelf, ProtocolTCP), payload) }
	// Ethernet pads a frame's payload to 46 bytes; the datagram is 36.
	padded := func(b []byte) []byte { return append(b, make([]byte, max(0, 46-len(b)))...) }
	edit := func(f func(b []byte)) func() []byte {
		return func() []byte { b := good(); f(b); return b }
	}
	withOpts := func(opts ...byte) func() []byte {
		return func() []byte {
			hdr := ltHeader(ltPeer, ltSelf, ProtocolTCP)
			hdr.Options = opts
			return ltDatagram(hdr, payload)
		}
	}
	to := func(dst netip.Addr, p Protocol) func() []byte {
		return func() []byte { return ltDatagram(ltHeader(ltPeer, dst, p), payload) }
	}
	linkBcast := func(in *Inbound) { in.LinkBroadcast = true }
	// from sends a TCP datagram from src, to this host unless dst says
	// otherwise: the martian sources of RFC 1122 §3.2.1.3.
	from := func(src netip.Addr, dst ...netip.Addr) func() []byte {
		return func() []byte {
			to := ltSelf
			if len(dst) > 0 {
				to = dst[0]
			}
			return ltDatagram(ltHeader(src, to, ProtocolTCP), payload)
		}
	}
	martian := viz.ReasonIPMartianSource

	cases := []struct {
		name   string
		data   func() []byte
		in     func(*Inbound)
		dst    netip.Addr // for a delivery
		reason viz.Reason // "": delivered to the transport
		step   string     // the drop's step
		icmp   bool       // an ICMP protocol unreachable goes back
		src    netip.Addr // for a delivery; zero: ltPeer
		// pointer, when not 0, says a Parameter Problem goes back with
		// this pointer (RFC 1122 §3.2.2.5) instead.
		pointer int
		// header, when set, is the header the transport gets, if not
		// the one that arrived (this host recorded in its options).
		header []byte
	}{
		{name: "good, padded", data: func() []byte { return padded(good()) }, dst: ltSelf},
		{name: "good, exact", data: good, dst: ltSelf},
		{name: "short", data: func() []byte { return good()[:19] }, reason: viz.ReasonIPMalformed, step: "header"},
		{name: "version 6", data: edit(func(b []byte) { b[0] = 6<<4 | 5; ltFixChecksum(b) }), reason: viz.ReasonIPMalformed, step: "header"},
		{name: "IHL 4", data: edit(func(b []byte) { b[0] = 4<<4 | 4 }), reason: viz.ReasonIPMalformed, step: "header"},
		{name: "total length beyond the bytes", data: edit(func(b []byte) {
			binary.BigEndian.PutUint16(b[ipTotalLen:], uint16(len(b)+1))
			ltFixChecksum(b)
		}), reason: viz.ReasonIPMalformed, step: "header"},
		{name: "total length below the header", data: edit(func(b []byte) {
			binary.BigEndian.PutUint16(b[ipTotalLen:], 19)
			ltFixChecksum(b)
		}), reason: viz.ReasonIPMalformed, step: "header"},
		{name: "IHL beyond the bytes", data: func() []byte {
			b := good()[:24]
			b[0] = 4<<4 | 15
			return b
		}, reason: viz.ReasonIPMalformed, step: "header"},
		{name: "bad checksum", data: edit(func(b []byte) { b[ipChecksum] ^= 0x5a }), reason: viz.ReasonIPChecksum, step: "header"},
		// Options are checked after the route decision, as Linux does
		// (ip_rcv_options), and a malformed one is answered.
		{name: "option length 1", data: withOpts(byte(OptionRecordRoute), 1, 0, 0), reason: viz.ReasonIPOptionsMalformed, step: "ip_options", pointer: 20},
		{name: "option past the header", data: withOpts(byte(OptionRecordRoute), 12, 4, 0), reason: viz.ReasonIPOptionsMalformed, step: "ip_options", pointer: 20},
		{name: "malformed option, not mine", data: func() []byte {
			hdr := ltHeader(ltPeer, netip.MustParseAddr("10.0.0.99"), ProtocolTCP)
			hdr.Options = []byte{byte(OptionRecordRoute), 1, 0, 0}
			return ltDatagram(hdr, payload)
		}, reason: viz.ReasonIPNotMine, step: "route"},
		{name: "malformed option, martian source", data: func() []byte {
			hdr := ltHeader(netip.MustParseAddr("127.0.0.1"), ltSelf, ProtocolTCP)
			hdr.Options = []byte{byte(OptionRecordRoute), 1, 0, 0}
			return ltDatagram(hdr, payload)
		}, reason: martian, step: "route"},
		{name: "malformed option, broadcast", data: func() []byte {
			hdr := ltHeader(ltPeer, ltBcast, ProtocolTCP)
			hdr.Options = []byte{byte(OptionRecordRoute), 1, 0, 0}
			return ltDatagram(hdr, payload)
		}, in: linkBcast, reason: viz.ReasonIPOptionsMalformed, step: "ip_options"},
		// This host's address goes into Record Route (RFC 791 §3.1).
		{name: "good options", data: withOpts(byte(OptionNOP), byte(OptionRecordRoute), 7, 4, 0, 0, 0, 0), dst: ltSelf,
			header: func() []byte {
				hdr := ltHeader(ltPeer, ltSelf, ProtocolTCP)
				hdr.Options = []byte{byte(OptionNOP), byte(OptionRecordRoute), 7, 8, 10, 0, 0, 2}
				return hdr.Append(nil, len(payload))
			}()},
		{name: "unknown option, ignored", data: withOpts(99, 4, 0xab, 0xcd), dst: ltSelf},
		{name: "not mine", data: to(netip.MustParseAddr("10.0.0.99"), ProtocolTCP), reason: viz.ReasonIPNotMine, step: "route"},
		{name: "not mine, elsewhere", data: to(netip.MustParseAddr("192.0.2.1"), ProtocolTCP), reason: viz.ReasonIPNotMine, step: "route"},
		{name: "promiscuous (other host)", data: good, in: func(in *Inbound) { in.OtherHost = true }, reason: viz.ReasonIPNotMine, step: "route"},
		{name: "limited broadcast", data: to(ltAllOne, ProtocolTCP), in: linkBcast, dst: ltAllOne},
		{name: "directed broadcast", data: to(ltBcast, ProtocolTCP), in: linkBcast, dst: ltBcast},
		{name: "other subnet's broadcast", data: to(netip.MustParseAddr("10.0.1.255"), ProtocolTCP), reason: viz.ReasonIPNotMine, step: "route"},
		{name: "unknown protocol", data: to(ltSelf, 253), reason: viz.ReasonUnknownProtocol, step: "protocol", icmp: true},
		{name: "unknown protocol, broadcast", data: to(ltBcast, 253), in: linkBcast, reason: viz.ReasonUnknownProtocol, step: "protocol"},
		{name: "unknown protocol, limited broadcast", data: to(ltAllOne, 253), in: linkBcast, reason: viz.ReasonUnknownProtocol, step: "protocol"},
		{name: "unknown protocol, link-layer broadcast", data: to(ltSelf, 253), in: linkBcast, reason: viz.ReasonUnknownProtocol, step: "protocol"},

		// Martian sources (RFC 1122 §3.2.1.3): dropped at IP, before a
		// transport could answer them; an unknown protocol gets no ICMP.
		{name: "source loopback", data: from(netip.MustParseAddr("127.0.0.1")), reason: martian, step: "route"},
		{name: "source loopback 127.1.2.3", data: from(netip.MustParseAddr("127.1.2.3")), reason: martian, step: "route"},
		{name: "source this network 0.0.0.0", data: from(netip.MustParseAddr("0.0.0.0")), reason: martian, step: "route"},
		{name: "source this network 0.1.2.3", data: from(netip.MustParseAddr("0.1.2.3")), reason: martian, step: "route"},
		{name: "source multicast", data: from(netip.MustParseAddr("224.0.0.1")), reason: martian, step: "route"},
		{name: "source multicast 239.255.255.250", data: from(netip.MustParseAddr("239.255.255.250")), reason: martian, step: "route"},
		{name: "source limited broadcast", data: from(ltAllOne), reason: martian, step: "route"},
		{name: "source our subnet's broadcast", data: from(ltBcast), reason: martian, step: "route"},
		{name: "source our own address", data: from(ltSelf), reason: martian, step: "route"},
		{name: "source our own address, to a broadcast", data: from(ltSelf, ltBcast), in: linkBcast, reason: martian, step: "route"},
		{name: "source loopback, unknown protocol", data: func() []byte {
			return ltDatagram(ltHeader(netip.MustParseAddr("127.0.0.1"), ltSelf, 253), payload)
		}, reason: martian, step: "route"},
		// 0.0.0.0 to the limited broadcast is a host that does not know
		// its address yet (DHCP, RFC 1122 §3.2.1.3 (a)): delivered, as
		// Linux does.
		{name: "source 0.0.0.0 to limited broadcast", data: from(netip.IPv4Unspecified(), ltAllOne), in: linkBcast, dst: ltAllOne, src: netip.IPv4Unspecified()},
		// Class E is reserved, not a martian source for a host (Linux
		// agrees); a router does not forward it (TestLayerForward).
		{name: "source 240.0.0.1", data: from(netip.MustParseAddr("240.0.0.1")), dst: ltSelf, src: netip.MustParseAddr("240.0.0.1")},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newLTHost(t, Config{})
			data := c.data()
			frame := h.receive(h.eth0, data, c.in)
			evs := h.events()
			outs := h.outputs()
			if got := h.l.Stats().InReceives; got != 1 {
				t.Errorf("InReceives = %d, want 1", got)
			}
			if c.reason == "" {
				if drops := ltAllDrops(evs); len(drops) != 0 {
					t.Fatalf("unexpected drops:%s", ltDescribe(drops))
				}
				if len(h.tcp.got) != 1 {
					t.Fatalf("the transport got %d datagrams, want 1; steps:%s", len(h.tcp.got), ltDescribe(evs))
				}
				d := h.tcp.got[0]
				hdr := IPv4(data)
				src := ltPeer
				if c.src.IsValid() {
					src = c.src
				}
				if d.Frame != frame || d.Link != Link(h.eth0) || d.Src != src || d.Dst != c.dst ||
					d.Protocol != ProtocolTCP || d.TTL != hdr.TTL() {
					t.Errorf("datagram frame %d link %v %s > %s proto %v ttl %d, want frame %d eth0 %s > %s TCP ttl %d",
						d.Frame, d.Link, d.Src, d.Dst, d.Protocol, d.TTL, frame, src, c.dst, hdr.TTL())
				}
				// The transport learns whether the datagram was for
				// this host alone (TCP drops the others).
				if want := c.dst != ltSelf || c.in != nil; d.Broadcast != want {
					t.Errorf("datagram Broadcast = %v, want %v", d.Broadcast, want)
				}
				if !bytes.Equal(d.Payload, payload) {
					t.Errorf("payload %q, want %q (without the link's padding)", d.Payload, payload)
				}
				wantHdr := data[:hdr.HeaderLen()]
				if c.header != nil {
					wantHdr = c.header
				}
				if !bytes.Equal(d.Header, wantHdr) {
					t.Errorf("header %x, want %x", []byte(d.Header), wantHdr)
				}
				if got := h.l.Stats().InDelivers; got != 1 {
					t.Errorf("InDelivers = %d, want 1", got)
				}
				if len(ltSteps(evs, viz.LayerIP, "protocol")) != 1 {
					t.Errorf("no protocol step:%s", ltDescribe(evs))
				}
				if len(outs) != 0 {
					t.Errorf("the layer sent %d datagrams, want none", len(outs))
				}
				return
			}
			ltWantDrop(t, evs, viz.LayerIP, c.reason, frame)
			if d := ltAllDrops(evs)[0]; d.Step != c.step {
				t.Errorf("drop at step %q, want %q", d.Step, c.step)
			}
			if len(h.tcp.got) != 0 {
				t.Errorf("the transport got %d datagrams after a drop", len(h.tcp.got))
			}
			if c.pointer != 0 {
				if len(outs) != 1 {
					t.Fatalf("the layer sent %d datagrams, want one ICMP parameter problem", len(outs))
				}
				m := ltWantICMPError(t, outs[0], "eth0", ltSelf, ltPeer, ICMPParameterProblem, 0, data)
				if int(m.Pointer()) != c.pointer {
					t.Errorf("parameter problem pointer %d, want %d", m.Pointer(), c.pointer)
				}
				if len(ltSteps(evs, viz.LayerICMP, "param_problem")) != 1 {
					t.Errorf("the parameter problem was not logged:%s", ltDescribe(evs))
				}
				return
			}
			if !c.icmp {
				if len(outs) != 0 {
					t.Errorf("the layer sent %d datagrams, want none (first %x)", len(outs), outs[0].data)
				}
				return
			}
			if len(outs) != 1 {
				t.Fatalf("the layer sent %d datagrams, want one ICMP protocol unreachable", len(outs))
			}
			ltWantICMPError(t, outs[0], "eth0", ltSelf, ltPeer, ICMPDestUnreachable, ICMPProtocolUnreachable, data)
			if len(ltSteps(evs, viz.LayerICMP, "error")) != 1 {
				t.Errorf("the ICMP error was not logged:%s", ltDescribe(evs))
			}
		})
	}
}

// ---- 2. ICMP errors (the ICMP messages for this host are package icmp's) ----

func ltEchoRequest(src, dst netip.Addr, id, seq uint16, data []byte) []byte {
	return ltDatagram(ltHeader(src, dst, ProtocolICMP), AppendEchoRequest(nil, id, seq, data))
}

// TestLayerICMPErrorRules checks RFC 1122 §3.2.2: no ICMP error about an
// ICMP error, a fragment other than the first, or a datagram whose source
// is not one host; nor about a datagram that came as a link-layer
// broadcast. A router with TTL 1 datagrams makes the errors.
func TestLayerICMPErrorRules(t *testing.T) {
	quoted := ltEchoRequest(ltFar, ltPeer, 1, 1, []byte("12345678"))
	withTTL1 := func(hdr IPv4Header, payload []byte) []byte {
		hdr.TTL = 1
		return ltDatagram(hdr, payload)
	}
	echo := AppendEchoRequest(nil, 1, 1, []byte("0123456789abcdef"))
	fromPeer := ltHeader(ltPeer, ltFar, ProtocolICMP)
	from := func(src netip.Addr) IPv4Header { h := fromPeer; h.Src = src; return h }
	firstFrag := fromPeer
	firstFrag.MF = true
	laterFrag := fromPeer
	laterFrag.FragmentOffset = 16

	cases := []struct {
		name string
		data []byte
		in   func(*Inbound)
		icmp bool
	}{
		{"echo request (control)", withTTL1(fromPeer, echo), nil, true},
		{"first fragment (control)", withTTL1(firstFrag, echo[:16]), nil, true},
		{"UDP (control)", withTTL1(IPv4Header{Protocol: ProtocolUDP, Src: ltPeer, Dst: ltFar}, appendUDP(nil, ltPeer, ltFar, 1, 2, nil)), nil, true},
		{"an ICMP error", withTTL1(fromPeer, AppendDestUnreachable(nil, ICMPPortUnreachable, 0, IPv4(quoted))), nil, false},
		{"an ICMP time exceeded", withTTL1(fromPeer, AppendTimeExceeded(nil, ICMPTTLExceeded, IPv4(quoted))), nil, false},
		{"a later fragment", withTTL1(laterFrag, echo[:8]), nil, false},
		{"source: directed broadcast", withTTL1(from(ltBcast), echo), nil, false},
		{"source: limited broadcast", withTTL1(from(ltAllOne), echo), nil, false},
		{"source: unspecified", withTTL1(from(netip.IPv4Unspecified()), echo), nil, false},
		{"source: multicast", withTTL1(from(netip.MustParseAddr("224.0.0.5")), echo), nil, false},
		{"link-layer broadcast", withTTL1(fromPeer, echo), func(in *Inbound) { in.LinkBroadcast = true }, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newLTRouter(t, Config{}, 1500)
			frame := h.receive(h.eth0, c.data, c.in)
			// A source that names no single host, or a link-layer
			// broadcast, is not even forwarded (RFC 1812 §5.3.4,
			// §5.3.7): it never reaches the TTL check.
			reason := viz.ReasonTTLExpired
			if strings.HasPrefix(c.name, "source: limited") || strings.HasPrefix(c.name, "source: unspecified") ||
				strings.HasPrefix(c.name, "source: multicast") || c.name == "link-layer broadcast" {
				reason = viz.ReasonIPMartian
			}
			ltWantDrop(t, h.events(), viz.LayerIP, reason, frame)
			outs := h.outputs()
			if !c.icmp {
				if len(outs) != 0 {
					t.Errorf("%d datagrams sent, want no ICMP error", len(outs))
				}
				return
			}
			if len(outs) != 1 {
				t.Fatalf("%d datagrams sent, want one ICMP time exceeded", len(outs))
			}
			ltWantICMPError(t, outs[0], "eth0", ltGW, ltPeer, ICMPTimeExceeded, ICMPTTLExceeded, c.data)
		})
	}

	t.Run("host: unknown protocol from a broadcast source", func(t *testing.T) {
		// A host discards it before the protocol is even looked at
		// (RFC 1122 §3.2.1.3), so no error could go back.
		h := newLTHost(t, Config{})
		h.receive(h.eth0, ltDatagram(ltHeader(ltBcast, ltSelf, 253), []byte("0123456789")), nil)
		ltWantDrop(t, h.events(), viz.LayerIP, viz.ReasonIPMartianSource, 0)
		if outs := h.outputs(); len(outs) != 0 {
			t.Errorf("%d datagrams sent, want no ICMP error", len(outs))
		}
	})
}

func TestLayerICMPRateLimit(t *testing.T) {
	const rate, burst, flood = 10, 5, 20
	h := newLTHost(t, Config{ICMPErrorsPerSecond: rate, ICMPErrorBurst: burst})
	unknown := ltDatagram(ltHeader(ltPeer, ltSelf, 253), []byte("0123456789"))
	floodOnce := func() (sent, limited int) {
		for i := 0; i < flood; i++ {
			h.receive(h.eth0, unknown, nil)
		}
		evs := h.events()
		if n := len(ltDrops(evs, viz.LayerIP, viz.ReasonUnknownProtocol)); n != flood {
			t.Errorf("%d unknown_protocol drops, want %d", n, flood)
		}
		for _, o := range h.outputs() {
			ltWantICMPError(t, o, "eth0", ltSelf, ltPeer, ICMPDestUnreachable, ICMPProtocolUnreachable, unknown)
			sent++
		}
		limited = len(ltDrops(evs, viz.LayerICMP, viz.ReasonICMPRateLimited))
		if n := len(ltSteps(evs, viz.LayerICMP, "error")); n != sent+limited {
			t.Errorf("%d ICMP error steps, want one per error sent or refused (%d)", n, sent+limited)
		}
		return sent, limited
	}
	sent, limited := floodOnce()
	if sent != burst || limited != flood-burst {
		t.Errorf("at one instant: %d errors sent and %d rate limited, want %d and %d", sent, limited, burst, flood-burst)
	}
	if got := h.l.Stats().ICMPOutRateLimited; got != uint64(flood-burst) {
		t.Errorf("ICMPOutRateLimited = %d, want %d", got, flood-burst)
	}

	// A tenth of a second earns one token at 10 a second.
	h.clock.RunFor(time.Second / rate)
	if sent, _ := floodOnce(); sent != 1 {
		t.Errorf("after %v: %d errors sent, want 1", time.Second/rate, sent)
	}
	// A second earns rate tokens, but the bucket holds only burst.
	h.clock.RunFor(time.Second)
	if sent, limited := floodOnce(); sent != burst || limited != flood-burst {
		t.Errorf("after 1 s: %d errors sent and %d rate limited, want %d and %d", sent, limited, burst, flood-burst)
	}

	t.Run("no limit", func(t *testing.T) {
		h := newLTHost(t, Config{ICMPErrorsPerSecond: -1})
		for i := 0; i < flood; i++ {
			h.receive(h.eth0, unknown, nil)
		}
		if outs := h.outputs(); len(outs) != flood {
			t.Errorf("%d errors sent, want all %d", len(outs), flood)
		}
	})
}

// ---- 3. send ----

func TestLayerSendRoutes(t *testing.T) {
	h := newLTHost(t, Config{})
	other := netip.MustParseAddr("10.0.0.253")
	// Added least specific first: the table sorts them.
	h.must(h.l.AddRoute(Route{Prefix: netip.MustParsePrefix("0.0.0.0/0"), Gateway: ltGW, Link: h.eth0}))
	h.must(h.l.AddRoute(Route{Prefix: netip.MustParsePrefix("10.0.0.0/8"), Gateway: other, Link: h.eth0}))
	for _, c := range []struct {
		dst, next netip.Addr
	}{
		{ltPeer, ltPeer}, // on-link: the /24
		{netip.MustParseAddr("10.0.0.77"), netip.MustParseAddr("10.0.0.77")},
		{netip.MustParseAddr("10.5.0.1"), other}, // the /8
		{netip.MustParseAddr("8.8.8.8"), ltGW},   // default
	} {
		h.must(h.l.Send(Outbound{Dst: c.dst, Protocol: ProtocolUDP, Payload: appendUDP(nil, ltSelf, c.dst, 5000, 5001, []byte("x"))}))
		outs := h.outputs()
		if len(outs) != 1 || outs[0].nextHop != c.next || outs[0].broadcast {
			t.Errorf("send to %s: outputs %+v, want one to next hop %s", c.dst, outs, c.next)
			continue
		}
		_, ip4 := ltDecode(t, outs[0].data)
		if ip4.SrcIP.String() != ltSelf.String() || ip4.DstIP.String() != c.dst.String() || ip4.TTL != DefaultTTL {
			t.Errorf("send to %s: datagram %s > %s ttl %d", c.dst, ip4.SrcIP, ip4.DstIP, ip4.TTL)
		}
		if outs[0].id == 0 {
			t.Errorf("send to %s: frame ID 0, want a new one", c.dst)
		}
	}
	if r, ok := h.l.RouteTo(netip.MustParseAddr("8.8.8.8")); !ok || r.Gateway != ltGW || r.Src != ltSelf {
		t.Errorf("RouteTo(8.8.8.8) = %v, %v", r, ok)
	}
	// Identification differs from one datagram to the next.
	if a, b := IPv4(h.out[0].data).ID(), IPv4(h.out[1].data).ID(); a == b {
		t.Errorf("two datagrams share the Identification %#04x", a)
	}
}

func TestLayerSendErrors(t *testing.T) {
	t.Run("no route", func(t *testing.T) {
		h := newLTHost(t, Config{})
		frame := h.log.NewFrameID()
		err := h.l.Send(Outbound{Frame: frame, Dst: netip.MustParseAddr("192.0.2.1"), Protocol: ProtocolTCP, Payload: []byte("x")})
		if !errors.Is(err, ErrNoRoute) {
			t.Errorf("Send = %v, want ErrNoRoute", err)
		}
		ltWantDrop(t, h.events(), viz.LayerIP, viz.ReasonNoRoute, frame)
		if outs := h.outputs(); len(outs) != 0 {
			t.Errorf("%d datagrams sent", len(outs))
		}
		if s := h.l.Stats(); s.OutNoRoutes != 1 {
			t.Errorf("OutNoRoutes = %d, want 1", s.OutNoRoutes)
		}
	})

	t.Run("DF and too big", func(t *testing.T) {
		h := newLTHost(t, Config{})
		frame := h.log.NewFrameID()
		err := h.l.Send(Outbound{Frame: frame, Dst: ltPeer, Protocol: ProtocolTCP, DF: true, Payload: make([]byte, 1481)})
		if !errors.Is(err, ErrMessageTooLong) {
			t.Errorf("Send = %v, want ErrMessageTooLong", err)
		}
		ltWantDrop(t, h.events(), viz.LayerIP, viz.ReasonFragNeeded, frame)
		if outs := h.outputs(); len(outs) != 0 {
			t.Errorf("%d datagrams sent", len(outs))
		}
		// 1480 bytes fit exactly.
		h.must(h.l.Send(Outbound{Dst: ltPeer, Protocol: ProtocolTCP, DF: true, Payload: make([]byte, 1480)}))
		if outs := h.outputs(); len(outs) != 1 || len(outs[0].data) != 1500 || !IPv4(outs[0].data).DF() {
			t.Errorf("a 1500-byte DF datagram: outputs %d", len(outs))
		}
	})
}

func TestLayerSendFragments(t *testing.T) {
	h := newLTHost(t, Config{})
	payload := ltPattern(4000)
	frame := h.log.NewFrameID()
	h.must(h.l.Send(Outbound{Frame: frame, Dst: ltPeer, Protocol: 253, Payload: payload}))
	outs := h.outputs()
	if len(outs) != 3 {
		t.Fatalf("%d pieces sent, want 3 fragments", len(outs))
	}
	if outs[0].id != frame {
		t.Errorf("first fragment has frame %d, want the caller's %d", outs[0].id, frame)
	}
	ids := map[uint64]bool{}
	got := make([]byte, len(payload))
	covered := 0
	for i, o := range outs {
		if ids[o.id] || o.id == 0 {
			t.Errorf("fragment %d: frame ID %d is zero or repeated", i, o.id)
		}
		ids[o.id] = true
		if len(o.data) > 1500 || o.nextHop != ltPeer {
			t.Errorf("fragment %d: %d bytes to %s", i, len(o.data), o.nextHop)
		}
		_, ip4 := ltDecode(t, o.data)
		more := ip4.Flags&layers.IPv4MoreFragments != 0
		if more != (i < len(outs)-1) {
			t.Errorf("fragment %d: MF %v", i, more)
		}
		if ip4.Id != IPv4(outs[0].data).ID() {
			t.Errorf("fragment %d: Identification %#04x differs from the first's", i, ip4.Id)
		}
		off := int(ip4.FragOffset) * 8
		covered += copy(got[off:], ip4.Payload)
	}
	if covered != len(payload) || !bytes.Equal(got, payload) {
		t.Errorf("the fragments carry %d bytes that do not put back the payload", covered)
	}
	sends := ltSteps(h.events(), viz.LayerIP, "send")
	if len(sends) != 3 {
		t.Errorf("%d send steps, want one per fragment", len(sends))
	}
	if s := h.l.Stats(); s.FragOKs != 1 || s.FragCreates != 3 {
		t.Errorf("FragOKs %d FragCreates %d, want 1 and 3", s.FragOKs, s.FragCreates)
	}
}

// TestLayerSendIdentification: the Identification is counted per
// destination from a keyed start (RFC 6864 §4, ident.go), not by one
// counter for the host that anyone could read the host's traffic from.
func TestLayerSendIdentification(t *testing.T) {
	a, b := ltPeer, netip.MustParseAddr("10.0.0.7")
	send := func(h *ltHarness, dst netip.Addr, df bool) uint16 {
		t.Helper()
		h.must(h.l.Send(Outbound{Dst: dst, Protocol: ProtocolTCP, DF: df, Payload: []byte("segment")}))
		outs := h.outputs()
		if len(outs) != 1 {
			t.Fatalf("%d outputs, want 1", len(outs))
		}
		return IPv4(outs[0].data).ID()
	}
	h := newLTHost(t, Config{IDSecret: []byte("seed 1")})
	a1 := send(h, a, true)
	// Traffic to another destination in between...
	b1, b2, b3 := send(h, b, true), send(h, b, true), send(h, b, false)
	// ...does not show in the next ID to a: it counts on from a1.
	a2 := send(h, a, false)
	if a2 != a1+1 {
		t.Errorf("IDs to %s: %#04x then %#04x after three datagrams to %s; want the next one, %#04x", a, a1, a2, b, a1+1)
	}
	if b2 != b1+1 || b3 != b2+1 {
		t.Errorf("IDs to %s: %#04x %#04x %#04x, want consecutive", b, b1, b2, b3)
	}
	if b1 == a1+1 || b1 == a1 {
		t.Errorf("the first ID to %s (%#04x) follows from the one to %s (%#04x): one counter for the host", b, b1, a, a1)
	}
	// The start comes from the secret: the same seed gives the same
	// IDs (a simulation replays exactly), another seed others.
	same := newLTHost(t, Config{IDSecret: []byte("seed 1")})
	if got := send(same, a, true); got != a1 {
		t.Errorf("same secret: first ID %#04x, want %#04x", got, a1)
	}
	other := newLTHost(t, Config{IDSecret: []byte("seed 2")})
	if got := send(other, a, true); got == a1 {
		t.Errorf("another secret gave the same first ID %#04x", got)
	}
}

func TestLayerSendBroadcast(t *testing.T) {
	h := newLTHost(t, Config{})
	frame := h.log.NewFrameID()
	h.must(h.l.Send(Outbound{Frame: frame, Dst: ltBcast, Protocol: ProtocolUDP, Payload: appendUDP(nil, ltSelf, ltBcast, 5000, 5001, []byte("hello all"))}))
	outs := h.outputs()
	if len(outs) != 1 || !outs[0].broadcast || outs[0].id != frame {
		t.Fatalf("outputs %+v, want one OutputBroadcast with frame %d", outs, frame)
	}
	if _, ip4 := ltDecode(t, outs[0].data); ip4.DstIP.String() != ltBcast.String() || ip4.SrcIP.String() != ltSelf.String() {
		t.Errorf("broadcast %s > %s", ip4.SrcIP, ip4.DstIP)
	}
}

// ---- 4. forwarding ----

func TestLayerForward(t *testing.T) {
	echo := AppendEchoRequest(nil, 1, 1, ltPattern(100))
	t.Run("TTL 1", func(t *testing.T) {
		h := newLTRouter(t, Config{}, 1500)
		hdr := ltHeader(ltPeer, ltFar, ProtocolICMP)
		hdr.TTL = 1
		data := ltDatagram(hdr, echo)
		frame := h.receive(h.eth0, data, nil)
		ltWantDrop(t, h.events(), viz.LayerIP, viz.ReasonTTLExpired, frame)
		outs := h.outputs()
		if len(outs) != 1 {
			t.Fatalf("%d datagrams sent, want one ICMP time exceeded", len(outs))
		}
		ltWantICMPError(t, outs[0], "eth0", ltGW, ltPeer, ICMPTimeExceeded, ICMPTTLExceeded, data)
	})

	t.Run("TTL decremented", func(t *testing.T) {
		h := newLTRouter(t, Config{}, 1500)
		hdr := ltHeader(ltPeer, ltFar, ProtocolICMP)
		hdr.TTL = 2
		hdr.DF = true
		data := ltDatagram(hdr, echo)
		frame := h.receive(h.eth0, data, nil)
		evs := h.events()
		if drops := ltAllDrops(evs); len(drops) != 0 {
			t.Fatalf("unexpected drops:%s", ltDescribe(drops))
		}
		outs := h.outputs()
		if len(outs) != 1 || outs[0].link != "eth1" || outs[0].nextHop != ltFar {
			t.Fatalf("outputs %+v, want one on eth1 to %s", outs, ltFar)
		}
		o := outs[0]
		if o.id == frame || o.id == 0 {
			t.Errorf("the forwarded copy has frame %d, want a new ID (received %d)", o.id, frame)
		}
		_, ip4 := ltDecode(t, o.data) // checks the header checksum
		if ip4.TTL != 1 || ip4.SrcIP.String() != ltPeer.String() || ip4.DstIP.String() != ltFar.String() ||
			ip4.Id != hdr.ID || ip4.Flags&layers.IPv4DontFragment == 0 {
			t.Errorf("forwarded %s > %s ttl %d id %#04x flags %v", ip4.SrcIP, ip4.DstIP, ip4.TTL, ip4.Id, ip4.Flags)
		}
		if !bytes.Equal(IPv4(o.data).Payload(), echo) {
			t.Error("the payload changed on the way through")
		}
		// Only the TTL and the checksum changed.
		want := bytes.Clone(data)
		IPv4(want).DecrementTTL()
		if !bytes.Equal(o.data, want) {
			t.Errorf("forwarded\n %x\nwant\n %x", o.data, want)
		}
		fwd := ltSteps(evs, viz.LayerIP, "forward")
		if len(fwd) == 0 {
			t.Errorf("no forward step:%s", ltDescribe(evs))
		} else if v, _ := fwd[0].Field("from_frame"); v != fmt.Sprint(frame) {
			t.Errorf("forward step names from_frame %q, want %d", v, frame)
		}
		if s := h.l.Stats(); s.ForwDatagrams != 1 {
			t.Errorf("ForwDatagrams = %d, want 1", s.ForwDatagrams)
		}
	})

	t.Run("no route", func(t *testing.T) {
		h := newLTRouter(t, Config{}, 1500)
		data := ltDatagram(ltHeader(ltPeer, netip.MustParseAddr("192.0.2.1"), ProtocolICMP), echo)
		frame := h.receive(h.eth0, data, nil)
		ltWantDrop(t, h.events(), viz.LayerIP, viz.ReasonNoRoute, frame)
		outs := h.outputs()
		if len(outs) != 1 {
			t.Fatalf("%d datagrams sent, want one ICMP net unreachable", len(outs))
		}
		ltWantICMPError(t, outs[0], "eth0", ltGW, ltPeer, ICMPDestUnreachable, ICMPNetUnreachable, data)
	})

	t.Run("DF onto a smaller link", func(t *testing.T) {
		h := newLTRouter(t, Config{}, 576)
		hdr := ltHeader(ltPeer, ltFar, ProtocolICMP)
		hdr.DF = true
		data := ltDatagram(hdr, AppendEchoRequest(nil, 1, 1, ltPattern(1000)))
		h.receive(h.eth0, data, nil)
		ltWantDrop(t, h.events(), viz.LayerIP, viz.ReasonFragNeeded, 0)
		outs := h.outputs()
		if len(outs) != 1 {
			t.Fatalf("%d datagrams sent, want one ICMP fragmentation needed", len(outs))
		}
		m := ltWantICMPError(t, outs[0], "eth0", ltGW, ltPeer, ICMPDestUnreachable, ICMPFragmentationNeeded, data)
		if m.NextHopMTU() != 576 {
			t.Errorf("next-hop MTU %d, want eth1's 576 (RFC 1191)", m.NextHopMTU())
		}
		p, _ := ltDecode(t, outs[0].data)
		if ic := p.Layer(layers.LayerTypeICMPv4).(*layers.ICMPv4); ic.Seq != 576 {
			t.Errorf("gopacket reads next-hop MTU %d (the low half of the rest of the header), want 576", ic.Seq)
		}
	})

	t.Run("fragmented onto a smaller link", func(t *testing.T) {
		h := newLTRouter(t, Config{}, 576)
		hdr := ltHeader(ltPeer, ltFar, ProtocolICMP)
		payload := AppendEchoRequest(nil, 1, 1, ltPattern(1000))
		h.receive(h.eth0, ltDatagram(hdr, payload), nil)
		if drops := ltAllDrops(h.events()); len(drops) != 0 {
			t.Fatalf("unexpected drops:%s", ltDescribe(drops))
		}
		outs := h.outputs()
		if len(outs) < 2 {
			t.Fatalf("%d pieces sent on eth1, want fragments", len(outs))
		}
		got := make([]byte, len(payload))
		n := 0
		for i, o := range outs {
			if o.link != "eth1" || o.nextHop != ltFar || len(o.data) > 576 {
				t.Errorf("fragment %d: %d bytes on %s to %s", i, len(o.data), o.link, o.nextHop)
			}
			_, ip4 := ltDecode(t, o.data)
			if ip4.TTL != hdr.TTL-1 || ip4.Id != hdr.ID {
				t.Errorf("fragment %d: ttl %d id %#04x", i, ip4.TTL, ip4.Id)
			}
			n += copy(got[int(ip4.FragOffset)*8:], ip4.Payload)
		}
		if n != len(payload) || !bytes.Equal(got, payload) {
			t.Error("the fragments do not put the datagram back together")
		}
	})
}

// ---- 5. reassembly through the layer ----

func TestLayerReassembly(t *testing.T) {
	t.Run("out of order", func(t *testing.T) {
		h := newLTHost(t, Config{})
		payload := ltPattern(3000)
		frags, err := FragmentDatagram(ltHeader(ltPeer, ltSelf, ProtocolTCP), payload, 1000)
		h.must(err)
		if len(frags) < 3 {
			t.Fatalf("%d fragments, want at least 3", len(frags))
		}
		var last uint64
		for i := len(frags) - 1; i >= 0; i-- {
			last = h.receive(h.eth0, frags[i], nil)
			if i > 0 && len(h.tcp.got) != 0 {
				t.Fatalf("delivered before fragment 0 arrived")
			}
		}
		evs := h.events()
		if drops := ltAllDrops(evs); len(drops) != 0 {
			t.Fatalf("unexpected drops:%s", ltDescribe(drops))
		}
		if len(h.tcp.got) != 1 {
			t.Fatalf("the transport got %d datagrams, want 1", len(h.tcp.got))
		}
		d := h.tcp.got[0]
		if !bytes.Equal(d.Payload, payload) || d.Src != ltPeer || d.Dst != ltSelf || d.Frame != last {
			t.Errorf("delivered %d bytes %s > %s frame %d, want the %d-byte payload in frame %d", len(d.Payload), d.Src, d.Dst, d.Frame, len(payload), last)
		}
		// The header describes the whole datagram, not its first piece.
		if hd := d.Header; int(hd.TotalLength()) != hd.HeaderLen()+len(payload) || hd.IsFragment() || Checksum(hd, 0) != 0 {
			t.Errorf("header: total length %d MF %v offset %d checksum ok %v; want %d, a whole datagram",
				hd.TotalLength(), hd.MF(), hd.FragmentOffset(), Checksum(hd, 0) == 0, hd.HeaderLen()+len(payload))
		}
		if n := len(ltSteps(evs, viz.LayerIP, "reassembled")); n != 1 {
			t.Errorf("%d reassembled steps, want 1", n)
		}
		// A repeat of the whole set reassembles again, once.
		for _, f := range frags {
			h.receive(h.eth0, f, nil)
		}
		if len(h.tcp.got) != 2 {
			t.Errorf("after a second copy the transport has %d datagrams, want 2", len(h.tcp.got))
		}
	})

	t.Run("unknown protocol after reassembly", func(t *testing.T) {
		// The protocol unreachable quotes the whole datagram's header.
		h := newLTHost(t, Config{})
		frags, err := FragmentDatagram(ltHeader(ltPeer, ltSelf, 253), ltPattern(2000), 1000)
		h.must(err)
		for _, f := range frags {
			h.receive(h.eth0, f, nil)
		}
		outs := h.outputs()
		if len(outs) != 1 {
			t.Fatalf("%d datagrams sent, want one ICMP protocol unreachable", len(outs))
		}
		m := ltWantICMPError(t, outs[0], "eth0", ltSelf, ltPeer, ICMPDestUnreachable, ICMPProtocolUnreachable, nil)
		if q := m.Quoted(); q.IsFragment() || int(q.TotalLength()) != 20+2000 {
			t.Errorf("the quote says total length %d MF %v, want the reassembled datagram's", q.TotalLength(), q.MF())
		}
	})

	timeout := 5 * time.Second
	t.Run("timeout with the first fragment", func(t *testing.T) {
		h := newLTHost(t, Config{Reassembly: ReassemblerConfig{Timeout: timeout}})
		frags, err := FragmentDatagram(ltHeader(ltPeer, ltSelf, ProtocolUDP), ltPattern(3000), 1000)
		h.must(err)
		h.receive(h.eth0, frags[0], nil)
		h.receive(h.eth0, frags[2], nil)
		h.clock.RunFor(timeout - time.Millisecond)
		if outs := h.outputs(); len(outs) != 0 {
			t.Fatalf("%d datagrams sent before the timeout", len(outs))
		}
		h.clock.RunFor(time.Millisecond)
		ltWantDrop(t, h.events(), viz.LayerIP, viz.ReasonFragTimeout, 0)
		outs := h.outputs()
		if len(outs) != 1 {
			t.Fatalf("%d datagrams sent, want one ICMP time exceeded", len(outs))
		}
		ltWantICMPError(t, outs[0], "eth0", ltSelf, ltPeer, ICMPTimeExceeded, ICMPReassemblyTimeExceeded, frags[0])
		if len(h.tcp.got) != 0 {
			t.Error("something was delivered")
		}
	})

	for _, c := range []struct {
		name string
		dst  netip.Addr
		skip int // fragments to leave out from the start
	}{
		{"timeout without the first fragment", ltSelf, 1},
		{"timeout of a broadcast datagram", ltBcast, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := newLTHost(t, Config{Reassembly: ReassemblerConfig{Timeout: timeout}})
			frags, err := FragmentDatagram(ltHeader(ltPeer, c.dst, ProtocolUDP), ltPattern(3000), 1000)
			h.must(err)
			h.receive(h.eth0, frags[c.skip], nil)
			h.clock.RunFor(timeout)
			ltWantDrop(t, h.events(), viz.LayerIP, viz.ReasonFragTimeout, 0)
			if outs := h.outputs(); len(outs) != 0 {
				t.Errorf("%d datagrams sent, want no ICMP error", len(outs))
			}
		})
	}
}
