package icmp

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"testing"

	"github.com/gopacket/gopacket/layers"

	"github.com/packetwalk/packetwalk/internal/iptest"
	"github.com/packetwalk/packetwalk/ip"
	"github.com/packetwalk/packetwalk/viz"
)

// Tests of ICMP for this host, driven through a host's IP layer on fake
// links (internal/iptest) and checked by the steps logged, by what is
// handed to ping and the transports, and by gopacket decoding what is sent.

// host is the bench with this package's Layer registered for protocol 1,
// as package stack registers it.
type host struct {
	*iptest.Host
	icmp *Layer
}

func newHost(t *testing.T, ipc ip.Config, c Config) *host {
	t.Helper()
	h := &host{Host: iptest.NewHost(t, ipc)}
	c.Recorder, c.Network = h.Recorder, h.IP
	h.icmp = NewLayer(c)
	h.IP.Register(ip.ProtocolICMP, h.icmp)
	return h
}

// The Timestamp option's flags (RFC 791 §3.1).
const (
	tsOnly    = 0 // timestamps only
	tsAndAddr = 1 // each stamp after the stamping host's address
	tsPrespec = 3 // the sender named the hosts that stamp
)

// optEcho is an echo request from iptest.Peer to dst with options opts.
func optEcho(dst netip.Addr, seq uint16, opts ...byte) []byte {
	hdr := iptest.Header(iptest.Peer, dst, ip.ProtocolICMP)
	hdr.Options = opts
	return iptest.Datagram(hdr, ip.AppendEchoRequest(nil, 0x77, seq, []byte("options")))
}

// rrOption is a Record Route option of slots addresses, the first filled
// ones given.
func rrOption(slots int, filled ...netip.Addr) []byte {
	o := []byte{byte(ip.OptionRecordRoute), byte(3 + 4*slots), byte(4 + 4*len(filled))}
	for _, a := range filled {
		b := a.As4()
		o = append(o, b[:]...)
	}
	return append(o, make([]byte, 4*(slots-len(filled)))...)
}

// optionsBeforeEOL returns opts up to End of Option List (or up to the
// first option that does not parse).
func optionsBeforeEOL(opts []byte) []byte {
	at := 0
	for at < len(opts) && opts[at] != byte(ip.OptionEOL) {
		if opts[at] == byte(ip.OptionNOP) {
			at++
			continue
		}
		if at+1 >= len(opts) || opts[at+1] < 2 || at+int(opts[at+1]) > len(opts) {
			break
		}
		at += int(opts[at+1])
	}
	return opts[:at]
}

// checkFixed is IPv4.Check without the options: the reply's header is
// whole, its options are checked as a sequence apart.
func checkFixed(h ip.IPv4) error {
	err := h.Check()
	if ce, ok := err.(*ip.CheckError); ok && ce.Reason == viz.ReasonIPOptionsMalformed {
		return nil
	}
	return err
}

// optionProblemSeeds are malformed options, the fuzz target's seeds: the
// cases of package ip's TestOptionsParameterProblem.
var optionProblemSeeds = [][]byte{
	{7, 1, 0, 0}, {7, 11, 4, 0, 0, 0, 0, 0}, {1, 1, 1, 7}, {7, 2, 0, 0}, {7, 7, 3, 0, 0, 0, 0, 0},
	{7, 9, 8, 0, 0, 0, 0, 0, 0, 0, 0, 0}, {7, 7, 4, 0, 0, 0, 0, 7, 7, 4, 0, 0, 0, 0, 0, 0},
	{68, 3, 5, 0}, {68, 8, 4, 0, 0, 0, 0, 0}, {68, 8, 5, 1, 0, 0, 0, 0}, {68, 8, 9, 0xf0, 0, 0, 0, 1},
	{131, 7, 2, 10, 0, 0, 1, 0}, {148, 2, 1, 1},
}

func TestEcho(t *testing.T) {
	data := iptest.Pattern(40)
	t.Run("reply from the asked address", func(t *testing.T) {
		h := newHost(t, ip.Config{}, Config{})
		h.Must(h.IP.AddAddress(h.Eth0, netip.MustParsePrefix("10.0.0.3/24")))
		for _, asked := range []netip.Addr{iptest.Self, iptest.Self2} {
			h.Receive(h.Eth0, iptest.EchoRequest(iptest.Peer, asked, 0x4242, 7, data), nil)
			evs, outs := h.Events(), h.Outputs()
			if drops := iptest.AllDrops(evs); len(drops) != 0 {
				t.Fatalf("unexpected drops:%s", iptest.Describe(drops))
			}
			if len(outs) != 1 {
				t.Fatalf("echo request to %s: %d datagrams sent, want 1 reply", asked, len(outs))
			}
			o := outs[0]
			p, ip4 := iptest.Decode(t, o.Data)
			if o.NextHop != iptest.Peer || o.Broadcast {
				t.Errorf("reply sent to next hop %v, want %s", o.NextHop, iptest.Peer)
			}
			if ip4.SrcIP.String() != asked.String() || ip4.DstIP.String() != iptest.Peer.String() {
				t.Errorf("reply %s > %s, want %s > %s", ip4.SrcIP, ip4.DstIP, asked, iptest.Peer)
			}
			ic, _ := p.Layer(layers.LayerTypeICMPv4).(*layers.ICMPv4)
			if ic == nil {
				t.Fatal("gopacket found no ICMPv4 layer")
			}
			if ic.TypeCode != layers.CreateICMPv4TypeCode(layers.ICMPv4TypeEchoReply, 0) || ic.Id != 0x4242 || ic.Seq != 7 {
				t.Errorf("gopacket: %v id %d seq %d, want echo reply id 0x4242 seq 7", ic.TypeCode, ic.Id, ic.Seq)
			}
			if !bytes.Equal(ic.Payload, data) {
				t.Errorf("reply data %x, want the request's %x", ic.Payload, data)
			}
		}
	})

	t.Run("broadcast, answered", func(t *testing.T) {
		h := newHost(t, ip.Config{}, Config{})
		h.Receive(h.Eth0, iptest.EchoRequest(iptest.Peer, iptest.Bcast, 1, 1, data), func(in *ip.Inbound) { in.LinkBroadcast = true })
		outs := h.Outputs()
		if len(outs) != 1 {
			t.Fatalf("%d datagrams sent, want 1 reply", len(outs))
		}
		// The reply comes from the host's own address, never from the
		// broadcast address (RFC 1122 §3.2.2.6).
		if _, ip4 := iptest.Decode(t, outs[0].Data); ip4.SrcIP.String() != iptest.Self.String() || ip4.DstIP.String() != iptest.Peer.String() {
			t.Errorf("reply %s > %s, want %s > %s", ip4.SrcIP, ip4.DstIP, iptest.Self, iptest.Peer)
		}
	})

	t.Run("broadcast, ignored", func(t *testing.T) {
		h := newHost(t, ip.Config{}, Config{EchoIgnoreBroadcasts: true})
		for _, dst := range []netip.Addr{iptest.Bcast, iptest.AllOnes} {
			frame := h.Receive(h.Eth0, iptest.EchoRequest(iptest.Peer, dst, 1, 1, data), func(in *ip.Inbound) { in.LinkBroadcast = true })
			iptest.WantDrop(t, h.Events(), viz.LayerICMP, viz.ReasonICMPEchoBroadcast, frame)
			if outs := h.Outputs(); len(outs) != 0 {
				t.Errorf("echo to %s: %d datagrams sent, want none", dst, len(outs))
			}
		}
		// A unicast request is still answered.
		h.Receive(h.Eth0, iptest.EchoRequest(iptest.Peer, iptest.Self, 1, 1, data), nil)
		if outs := h.Outputs(); len(outs) != 1 {
			t.Errorf("unicast echo: %d datagrams sent, want 1 reply", len(outs))
		}
	})

	t.Run("bad checksum", func(t *testing.T) {
		h := newHost(t, ip.Config{}, Config{})
		b := iptest.EchoRequest(iptest.Peer, iptest.Self, 1, 1, data)
		b[len(b)-1] ^= 0x01 // the data, under the ip.ICMP checksum
		frame := h.Receive(h.Eth0, b, nil)
		iptest.WantDrop(t, h.Events(), viz.LayerICMP, viz.ReasonICMPChecksum, frame)
		if outs := h.Outputs(); len(outs) != 0 {
			t.Errorf("%d datagrams sent, want none", len(outs))
		}
		if s := h.icmp.Stats(); s.InErrors != 1 {
			t.Errorf("InErrors = %d, want 1", s.InErrors)
		}
	})

	t.Run("echo reply to ping", func(t *testing.T) {
		h := newHost(t, ip.Config{}, Config{})
		var got []EchoReply
		h.icmp.OnEchoReply = func(r EchoReply) { got = append(got, r) }
		b := iptest.Datagram(ip.IPv4Header{TTL: 61, Protocol: ip.ProtocolICMP, Src: iptest.Peer, Dst: iptest.Self}, ip.AppendEchoReply(nil, 9, 3, data))
		frame := h.Receive(h.Eth0, b, nil)
		if len(got) != 1 {
			t.Fatalf("OnEchoReply called %d times, want 1", len(got))
		}
		r := got[0]
		if r.Frame != frame || r.From != iptest.Peer || r.ID != 9 || r.Seq != 3 || r.TTL != 61 || !bytes.Equal(r.Data, data) {
			t.Errorf("reply %+v, want frame %d from %s id 9 seq 3 ttl 61 and the data", r, frame, iptest.Peer)
		}
		if outs := h.Outputs(); len(outs) != 0 {
			t.Errorf("%d datagrams sent in answer to a reply, want none", len(outs))
		}
	})

	t.Run("Echo sends a request", func(t *testing.T) {
		h := newHost(t, ip.Config{}, Config{})
		frame := h.Log.NewFrameID()
		h.Must(h.icmp.Echo(iptest.Peer, 5, 6, data, frame))
		outs := h.Outputs()
		if len(outs) != 1 || outs[0].ID != frame {
			t.Fatalf("outputs %+v, want one with frame %d", outs, frame)
		}
		p, ip4 := iptest.Decode(t, outs[0].Data)
		ic, _ := p.Layer(layers.LayerTypeICMPv4).(*layers.ICMPv4)
		if ic == nil || ic.TypeCode.Type() != layers.ICMPv4TypeEchoRequest || ic.Id != 5 || ic.Seq != 6 || !bytes.Equal(ic.Payload, data) {
			t.Errorf("gopacket: %+v, want an echo request id 5 seq 6", ic)
		}
		if ip4.TTL != ip.DefaultTTL || ip4.SrcIP.String() != iptest.Self.String() {
			t.Errorf("request ttl %d from %s, want %d from %s", ip4.TTL, ip4.SrcIP, ip.DefaultTTL, iptest.Self)
		}
	})
}

func TestErrorsReachTheSender(t *testing.T) {
	errFrom := func(typ ip.ICMPType, code ip.ICMPCode, mtu uint16, orig []byte) []byte {
		var m []byte
		if typ == ip.ICMPTimeExceeded {
			m = ip.AppendTimeExceeded(nil, code, ip.IPv4(orig))
		} else {
			m = ip.AppendDestUnreachable(nil, code, mtu, ip.IPv4(orig))
		}
		return iptest.Datagram(iptest.Header(iptest.Peer, iptest.Self, ip.ProtocolICMP), m)
	}

	t.Run("TCP fragmentation needed", func(t *testing.T) {
		h := newHost(t, ip.Config{}, Config{})
		seg := make([]byte, 20)
		binary.BigEndian.PutUint16(seg[0:], 49152)
		binary.BigEndian.PutUint16(seg[2:], 80)
		hdr := iptest.Header(iptest.Self, iptest.Peer, ip.ProtocolTCP)
		hdr.DF = true
		orig := iptest.Datagram(hdr, seg)
		frame := h.Receive(h.Eth0, errFrom(ip.ICMPDestUnreachable, ip.ICMPFragmentationNeeded, 1400, orig), nil)
		if len(h.TCP.Errs) != 1 {
			t.Fatalf("the transport got %d errors, want 1", len(h.TCP.Errs))
		}
		e := h.TCP.Errs[0]
		if e.Frame != frame || e.From != iptest.Peer || e.Type != uint8(ip.ICMPDestUnreachable) || e.Code != uint8(ip.ICMPFragmentationNeeded) || e.MTU != 1400 {
			t.Errorf("error %+v, want frame %d from %s type 3 code 4 MTU 1400", e, frame, iptest.Peer)
		}
		if !bytes.Equal(e.Payload, seg[:8]) || e.Quoted.Src() != iptest.Self || e.Quoted.Dst() != iptest.Peer {
			t.Errorf("quoted %x payload %x, want our datagram to %s and its ports", []byte(e.Quoted), e.Payload, iptest.Peer)
		}
	})

	t.Run("time exceeded about an echo", func(t *testing.T) {
		h := newHost(t, ip.Config{}, Config{})
		var got []ip.ICMPError
		h.icmp.OnICMPError = func(e ip.ICMPError) { got = append(got, e) }
		orig := iptest.EchoRequest(iptest.Self, iptest.Far, 1, 2, []byte("12345678"))
		h.Receive(h.Eth0, errFrom(ip.ICMPTimeExceeded, ip.ICMPTTLExceeded, 0, orig), nil)
		if len(got) != 1 || got[0].Type != uint8(ip.ICMPTimeExceeded) || ip.ICMP(got[0].Payload).Seq() != 2 {
			t.Errorf("OnICMPError got %+v, want one time exceeded quoting seq 2", got)
		}
	})
}

// TestEchoReplyOptions: an echo reply carries the request's Record Route
// and Timestamp, with this host recorded on arrival and again on
// departure (RFC 1122 §3.2.2.6), which is what Linux does and what `ping
// -R` shows; gopacket decodes the reply.
func TestEchoReplyOptions(t *testing.T) {
	self := iptest.Self.As4()
	stamp := func(ms uint32) []byte { return binary.BigEndian.AppendUint32(nil, ms|0x80000000) }
	cat := func(bs ...[]byte) []byte {
		var out []byte
		for _, b := range bs {
			out = append(out, b...)
		}
		return out
	}
	cases := []struct {
		name string
		opts []byte
		dst  netip.Addr
		want []byte // the reply's options, padded; nil: none
	}{
		{name: "record route, ping -R", opts: append([]byte{byte(ip.OptionNOP)}, rrOption(9, iptest.Peer)...),
			want: append(rrOption(9, iptest.Peer, iptest.Self, iptest.Self), 0)},
		{name: "record route, one slot left", opts: rrOption(2, iptest.Peer),
			want: append(rrOption(2, iptest.Peer, iptest.Self), 0)},
		{name: "record route, full", opts: rrOption(1, iptest.Peer),
			want: append(rrOption(1, iptest.Peer), 0)},
		{name: "record route to a broadcast: our address", opts: rrOption(3), dst: iptest.Bcast,
			want: append(rrOption(3, iptest.Self, iptest.Self), 0)},
		{name: "timestamp only", opts: []byte{byte(ip.OptionTimestamp), 12, 5, tsOnly, 0, 0, 0, 0, 0, 0, 0, 0},
			want: cat([]byte{byte(ip.OptionTimestamp), 12, 13, tsOnly}, stamp(0), stamp(0))},
		{name: "timestamp with addresses", opts: []byte{byte(ip.OptionTimestamp), 20, 5, tsAndAddr, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
			want: cat([]byte{byte(ip.OptionTimestamp), 20, 21, tsAndAddr}, self[:], stamp(0), self[:], stamp(0))},
		{name: "timestamp full: overflow counted once", opts: []byte{byte(ip.OptionTimestamp), 8, 9, 2<<4 | tsOnly, 0, 0, 0, 1},
			want: []byte{byte(ip.OptionTimestamp), 8, 9, 3<<4 | tsOnly, 0, 0, 0, 1}},
		{name: "timestamp prespecified, ours then another's", opts: cat([]byte{byte(ip.OptionTimestamp), 20, 5, tsPrespec}, self[:], make([]byte, 4), []byte{192, 0, 2, 1}, make([]byte, 4)),
			want: cat([]byte{byte(ip.OptionTimestamp), 20, 13, tsPrespec}, self[:], stamp(0), []byte{192, 0, 2, 1}, make([]byte, 4))},
		{name: "record route and timestamp, others dropped", opts: cat([]byte{byte(ip.OptionRouterAlert), 4, 0, 0, 99, 2}, []byte{byte(ip.OptionTimestamp), 8, 5, tsOnly, 0, 0, 0, 0}, rrOption(2)),
			want: cat(rrOption(2, iptest.Self, iptest.Self), []byte{byte(ip.OptionTimestamp), 8, 9, tsOnly}, stamp(0), []byte{0})},
		{name: "unknown options: not echoed", opts: []byte{99, 4, 1, 2}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newHost(t, ip.Config{}, Config{})
			dst := iptest.Self
			var in func(*ip.Inbound)
			if c.dst.IsValid() {
				dst, in = c.dst, func(in *ip.Inbound) { in.LinkBroadcast = true }
			}
			h.Receive(h.Eth0, optEcho(dst, 1, c.opts...), in)
			evs, outs := h.Events(), h.Outputs()
			if drops := iptest.AllDrops(evs); len(drops) != 0 {
				t.Fatalf("unexpected drops:%s", iptest.Describe(drops))
			}
			if len(outs) != 1 {
				t.Fatalf("%d datagrams sent, want one echo reply", len(outs))
			}
			p, ip4 := iptest.Decode(t, outs[0].Data)
			ic, _ := p.Layer(layers.LayerTypeICMPv4).(*layers.ICMPv4)
			if ic == nil || ic.TypeCode.Type() != layers.ICMPv4TypeEchoReply || ic.Seq != 1 || string(ic.Payload) != "options" {
				t.Fatalf("gopacket: %v, want the echo reply", ic)
			}
			if ip4.SrcIP.String() != iptest.Self.String() {
				t.Errorf("reply from %s, want %s", ip4.SrcIP, iptest.Self)
			}
			if got := ip.IPv4(outs[0].Data).Options(); !bytes.Equal(got, c.want) {
				t.Errorf("reply options\n %x\nwant\n %x", got, c.want)
			}
			// gopacket, code we did not write, reads the same options.
			var g []byte
			for _, o := range ip4.Options {
				if o.OptionType > 1 {
					g = append(append(g, o.OptionType, o.OptionLength), o.OptionData...)
				}
			}
			if w := optionsBeforeEOL(c.want); !bytes.Equal(g, w) {
				t.Errorf("gopacket reads the reply's options as %x, want %x", g, w)
			}
			if c.want != nil && len(iptest.Steps(evs, viz.LayerICMP, "rr_echo")) != 1 {
				t.Errorf("no rr_echo step:%s", iptest.Describe(evs))
			}
			if len(iptest.Steps(evs, viz.LayerIP, "ip_options")) != 1 {
				t.Errorf("no ip_options step:%s", iptest.Describe(evs))
			}
		})
	}
	t.Run("room on arrival, none on departure: no reply", func(t *testing.T) {
		h := newHost(t, ip.Config{}, Config{})
		// 13 bytes: slots at pointers 4 and 8, 2 bytes left at 12.
		opts := []byte{byte(ip.OptionRecordRoute), 13, 8, 10, 0, 0, 1, 0, 0, 0, 0, 0, 0}
		frame := h.Receive(h.Eth0, optEcho(iptest.Self, 1, opts...), nil)
		iptest.WantDrop(t, h.Events(), viz.LayerICMP, viz.ReasonICMPEchoOptions, frame)
		if outs := h.Outputs(); len(outs) != 0 {
			t.Errorf("%d datagrams sent, want none", len(outs))
		}
	})
}

// TestParameterProblemReachesTransport: a Parameter Problem that
// arrives is handed to the transport that sent the datagram it quotes
// (RFC 1122 §3.2.2.5: MUST be passed to the transport layer).
func TestParameterProblemReachesTransport(t *testing.T) {
	h := newHost(t, ip.Config{}, Config{})
	orig := iptest.Datagram(iptest.Header(iptest.Self, iptest.Peer, ip.ProtocolTCP), make([]byte, 20))
	h.Receive(h.Eth0, iptest.Datagram(iptest.Header(iptest.Peer, iptest.Self, ip.ProtocolICMP), ip.AppendParameterProblem(nil, 9, ip.IPv4(orig))), nil)
	if len(h.TCP.Errs) != 1 || h.TCP.Errs[0].Type != uint8(ip.ICMPParameterProblem) {
		t.Fatalf("the transport got %+v, want the parameter problem", h.TCP.Errs)
	}
}

// FuzzOptions puts arbitrary options on an echo request: no panic; a
// datagram Check refuses is dropped at ip_options with a Parameter
// Problem pointing inside its header, and one Check accepts is answered
// with an echo reply whose options parse (or, when they have no room for
// the reply's entry, dropped with icmp_echo_options).
func FuzzOptions(f *testing.F) {
	for _, opts := range optionProblemSeeds {
		f.Add(opts)
	}
	f.Add(rrOption(9, iptest.Peer))
	f.Add([]byte{byte(ip.OptionTimestamp), 20, 5, tsPrespec, 10, 0, 0, 2, 0, 0, 0, 0, 10, 0, 0, 2, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, opts []byte) {
		if len(opts) > 40 {
			opts = opts[:40]
		}
		h := newHost(t, ip.Config{ICMPErrorsPerSecond: -1}, Config{})
		data := optEcho(iptest.Self, 1, opts...)
		checkErr := ip.IPv4(data).Check()
		h.Receive(h.Eth0, data, nil)
		evs, outs := h.Events(), h.Outputs()
		if len(outs) > 1 {
			t.Fatalf("%d datagrams sent", len(outs))
		}
		if checkErr != nil {
			ce := checkErr.(*ip.CheckError)
			if len(outs) != 1 || ip.ICMP(ip.IPv4(outs[0].Data).Payload()).Type() != ip.ICMPParameterProblem {
				t.Fatalf("Check says %v, but no Parameter Problem was sent:%s", checkErr, iptest.Describe(evs))
			}
			if p := int(ip.ICMP(ip.IPv4(outs[0].Data).Payload()).Pointer()); p != ce.Pointer || p < ip.IPv4MinHeaderLen || p >= ip.IPv4(data).HeaderLen() {
				t.Fatalf("pointer %d, Check's %d, header %d bytes", p, ce.Pointer, ip.IPv4(data).HeaderLen())
			}
			return
		}
		if len(outs) == 0 {
			if len(iptest.Drops(evs, viz.LayerICMP, viz.ReasonICMPEchoOptions)) != 1 {
				t.Fatalf("no reply and no icmp_echo_options drop:%s", iptest.Describe(evs))
			}
			return
		}
		// The reply's options are well formed as a sequence; a pointer
		// the sender misaligned may leave them no room at the next hop,
		// as Linux's reply would.
		r := ip.IPv4(outs[0].Data)
		if err := checkFixed(r); err != nil {
			t.Fatalf("the reply %x fails Check: %v", []byte(r), err)
		}
		if _, err := ip.ParseOptions(r.Options()); err != nil {
			t.Fatalf("the reply's options %x: %v", r.Options(), err)
		}
		if ip.ICMP(r.Payload()).Type() != ip.ICMPEchoReply {
			t.Fatalf("sent %s, want an echo reply", ip.ICMP(r.Payload()).Name())
		}
	})
}
