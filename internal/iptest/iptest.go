// Package iptest is a test bench for the transports above IP (packages
// icmp and udp): one host's ip.Layer on fake links that record what IP
// sends, a fake TCP that keeps what IP hands it, and the step log in
// memory, with helpers that check sent datagrams with gopacket, code we
// did not write. Package ip's own tests have the same bench inside the
// package (ip/layer_test.go), since they cannot import this one.
package iptest

import (
	"bytes"
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/packetwalk/packetwalk/clock"
	"github.com/packetwalk/packetwalk/ip"
	"github.com/packetwalk/packetwalk/viz"
)

// The bench's addresses.
var (
	Peer    = netip.MustParseAddr("10.0.0.1")   // a neighbour on eth0
	Self    = netip.MustParseAddr("10.0.0.2")   // the host's address
	Self2   = netip.MustParseAddr("10.0.0.3")   // the host's second address, on eth0 too
	Bcast   = netip.MustParseAddr("10.0.0.255") // eth0's directed broadcast
	Far     = netip.MustParseAddr("10.0.1.2")   // a host behind a router
	AllOnes = netip.MustParseAddr("255.255.255.255")
)

// Output is one call of Output or OutputBroadcast on a fake link.
type Output struct {
	Link      string
	NextHop   netip.Addr // invalid for a broadcast
	Data      []byte     // a copy
	ID        uint64
	Broadcast bool
}

// Link is a fake ip.Link that records what IP sends through it.
type Link struct {
	name string
	mtu  int
	out  *[]Output // shared by a bench's links, so the order is global
}

func (k *Link) Name() string { return k.name }
func (k *Link) MTU() int     { return k.mtu }

func (k *Link) Output(nextHop netip.Addr, datagram []byte, id uint64) error {
	*k.out = append(*k.out, Output{Link: k.name, NextHop: nextHop, Data: bytes.Clone(datagram), ID: id})
	return nil
}

func (k *Link) OutputBroadcast(datagram []byte, id uint64) error {
	*k.out = append(*k.out, Output{Link: k.name, Data: bytes.Clone(datagram), ID: id, Broadcast: true})
	return nil
}

// Transport is a fake ip.Transport (registered as TCP) that keeps copies.
type Transport struct {
	Got  []ip.Datagram
	Errs []ip.ICMPError
}

func (tr *Transport) Receive(d ip.Datagram) {
	d.Payload = bytes.Clone(d.Payload)
	d.Header = bytes.Clone(d.Header)
	tr.Got = append(tr.Got, d)
}

func (tr *Transport) ReceiveError(e ip.ICMPError) {
	e.Quoted = bytes.Clone(e.Quoted)
	e.Payload = bytes.Clone(e.Payload)
	tr.Errs = append(tr.Errs, e)
}

// Host is the bench: a host 10.0.0.2/24 on eth0 (MTU 1500), with a fake
// TCP registered.
type Host struct {
	T     *testing.T
	Clock *clock.Virtual
	Log   *viz.Log
	Sink  *viz.MemorySink
	IP    *ip.Layer
	Eth0  *Link
	TCP   *Transport
	// Recorder is the host's recorder, for the transport under test.
	Recorder *viz.Recorder

	out                 []Output
	seenEvents, seenOut int
}

// NewHost returns the bench with an IP layer made from cfg (its Clock and
// Recorder filled in).
func NewHost(t *testing.T, cfg ip.Config) *Host {
	t.Helper()
	h := &Host{T: t, Clock: clock.NewVirtual(), Sink: &viz.MemorySink{}, TCP: &Transport{}}
	h.Log = viz.NewLog(h.Clock)
	h.Log.AddSink(h.Sink)
	h.Recorder = h.Log.Recorder("host")
	cfg.Clock, cfg.Recorder = h.Clock, h.Recorder
	h.IP = ip.NewLayer(cfg)
	h.IP.Register(ip.ProtocolTCP, h.TCP)
	h.Eth0 = &Link{name: "eth0", mtu: 1500, out: &h.out}
	h.Must(h.IP.AddAddress(h.Eth0, netip.MustParsePrefix("10.0.0.2/24")))
	return h
}

// Must fails the test on err.
func (h *Host) Must(err error) {
	h.T.Helper()
	if err != nil {
		h.T.Fatal(err)
	}
}

// Receive hands data to IP as a frame that arrived on link, after mod (if
// any) adjusted the Inbound, and returns the frame ID.
func (h *Host) Receive(link *Link, data []byte, mod func(*ip.Inbound)) uint64 {
	in := ip.Inbound{Link: link, Frame: h.Log.NewFrameID(), Data: bytes.Clone(data)}
	if mod != nil {
		mod(&in)
	}
	h.IP.Receive(in)
	return in.Frame
}

// Events returns the events logged since the last call.
func (h *Host) Events() []viz.Event {
	evs := h.Sink.Events()
	out := evs[h.seenEvents:]
	h.seenEvents = len(evs)
	return out
}

// Outputs returns the link outputs since the last call.
func (h *Host) Outputs() []Output {
	out := h.out[h.seenOut:]
	h.seenOut = len(h.out)
	return out
}

// LinkBroadcast marks an Inbound as a link-layer broadcast frame.
func LinkBroadcast(in *ip.Inbound) { in.LinkBroadcast = true }

// Drops returns the drops with reason at layer among evs.
func Drops(evs []viz.Event, layer viz.Layer, reason viz.Reason) []viz.Event {
	var out []viz.Event
	for _, e := range evs {
		if e.Verdict == viz.Drop && e.Layer == layer && e.Reason == reason {
			out = append(out, e)
		}
	}
	return out
}

// AllDrops returns every drop among evs.
func AllDrops(evs []viz.Event) []viz.Event {
	var out []viz.Event
	for _, e := range evs {
		if e.Verdict == viz.Drop {
			out = append(out, e)
		}
	}
	return out
}

// Steps returns the events of layer and step among evs.
func Steps(evs []viz.Event, layer viz.Layer, step string) []viz.Event {
	var out []viz.Event
	for _, e := range evs {
		if e.Layer == layer && e.Step == step {
			out = append(out, e)
		}
	}
	return out
}

// Describe lists events, one a line, for a failure message.
func Describe(evs []viz.Event) string {
	var b strings.Builder
	for _, e := range evs {
		fmt.Fprintf(&b, "\n  %s %s/%s %s %s frame %d: %s", e.Host, e.Layer, e.Step, e.Verdict, e.Reason, e.Frame, e.Message())
	}
	return b.String()
}

// WantDrop checks that evs hold exactly one drop, with reason at layer, of
// frame (0: any frame).
func WantDrop(t *testing.T, evs []viz.Event, layer viz.Layer, reason viz.Reason, frame uint64) {
	t.Helper()
	if !reason.Known() {
		t.Fatalf("reason %q is not one of viz's enumerated reasons", reason)
	}
	drops := AllDrops(evs)
	if len(drops) != 1 || drops[0].Layer != layer || drops[0].Reason != reason {
		t.Fatalf("want one %s drop %s, got:%s", layer, reason, Describe(evs))
	}
	if frame != 0 && drops[0].Frame != frame {
		t.Errorf("the %s drop names frame %d, want %d", reason, drops[0].Frame, frame)
	}
	if !drops[0].HasMessage() {
		t.Errorf("the %s drop has no message", reason)
	}
}

// Header is the header of a test datagram from src to dst.
func Header(src, dst netip.Addr, p ip.Protocol) ip.IPv4Header {
	return ip.IPv4Header{ID: 0x1c46, TTL: 64, Protocol: p, Src: src, Dst: dst}
}

// Datagram is hdr and payload as bytes.
func Datagram(hdr ip.IPv4Header, payload []byte) []byte {
	return append(hdr.Append(nil, len(payload)), payload...)
}

// EchoRequest is an echo request datagram from src to dst.
func EchoRequest(src, dst netip.Addr, id, seq uint16, data []byte) []byte {
	return Datagram(Header(src, dst, ip.ProtocolICMP), ip.AppendEchoRequest(nil, id, seq, data))
}

// Decode decodes a datagram the layer sent with gopacket, and fails on a
// decoding error or a checksum gopacket disagrees with.
func Decode(t *testing.T, b []byte) (gopacket.Packet, *layers.IPv4) {
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

// WantICMPError checks that o is an ICMP error of type/code from src to
// dst, sent straight to dst on link, quoting orig's header and the first 8
// bytes of its data (RFC 792), and returns the message.
func WantICMPError(t *testing.T, o Output, link string, src, dst netip.Addr, typ ip.ICMPType, code ip.ICMPCode, orig []byte) ip.ICMP {
	t.Helper()
	p, ip4 := Decode(t, o.Data)
	if o.Link != link || o.Broadcast || o.NextHop != dst {
		t.Errorf("ICMP error went out on %s to next hop %v (broadcast %v), want %s to %s", o.Link, o.NextHop, o.Broadcast, link, dst)
	}
	if ip4.Protocol != layers.IPProtocolICMPv4 || ip4.SrcIP.String() != src.String() || ip4.DstIP.String() != dst.String() {
		t.Errorf("ICMP error datagram %s > %s proto %v, want %s > %s ICMP", ip4.SrcIP, ip4.DstIP, ip4.Protocol, src, dst)
	}
	ic, _ := p.Layer(layers.LayerTypeICMPv4).(*layers.ICMPv4)
	if ic == nil {
		t.Fatalf("gopacket found no ICMPv4 layer in %x", o.Data)
	}
	if want := layers.CreateICMPv4TypeCode(uint8(typ), uint8(code)); ic.TypeCode != want {
		t.Errorf("gopacket: ICMP %v, want %v", ic.TypeCode, want)
	}
	m := ip.ICMP(ip.IPv4(o.Data).Payload())
	if err := m.Check(); err != nil {
		t.Errorf("our own check of the ICMP error: %v", err)
	}
	if orig != nil {
		hl := ip.IPv4(orig).HeaderLen()
		if want := orig[:hl+8]; !bytes.Equal(m.Quoted(), want) {
			t.Errorf("the error quotes\n %x\nwant the header and 8 bytes of data\n %x", []byte(m.Quoted()), want)
		}
	}
	return m
}

// Pattern is n bytes of a pattern that shows misplaced bytes.
func Pattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + i/251)
	}
	return b
}
