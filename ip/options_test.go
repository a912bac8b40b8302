package ip

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"strings"
	"testing"

	"github.com/gopacket/gopacket/layers"

	"github.com/packetwalk/packetwalk/viz"
)

// IP options on the receive path (options.go): malformed ones answered
// with Parameter Problem (RFC 1122 §3.2.2.5), Record Route and Timestamp
// echoed in the echo reply (RFC 1122 §3.2.2.6), as Linux does.

// optEcho is an echo request from ltPeer to dst with options opts.
func optEcho(dst netip.Addr, seq uint16, opts ...byte) []byte {
	hdr := ltHeader(ltPeer, dst, ProtocolICMP)
	hdr.Options = opts
	return ltDatagram(hdr, AppendEchoRequest(nil, 0x77, seq, []byte("options")))
}

// rrOption is a Record Route option of slots addresses, the first filled
// ones given.
func rrOption(slots int, filled ...netip.Addr) []byte {
	o := []byte{byte(OptionRecordRoute), byte(3 + 4*slots), byte(4 + 4*len(filled))}
	for _, a := range filled {
		b := a.As4()
		o = append(o, b[:]...)
	}
	return append(o, make([]byte, 4*(slots-len(filled)))...)
}

// TestOptionsParameterProblem: each malformed option is dropped at the
// ip_options step and answered with Parameter Problem whose pointer is
// the octet Linux's ip_options_compile names (the TUN test
// TestTUNIPOptions holds the kernel to the same table).
func TestOptionsParameterProblem(t *testing.T) {
	for i, c := range optionProblemCases {
		t.Run(c.name, func(t *testing.T) {
			h := newLTHost(t, Config{})
			data := optEcho(ltSelf, uint16(i), c.opts...)
			frame := h.receive(h.eth0, data, nil)
			evs, outs := h.events(), h.outputs()
			ltWantDrop(t, evs, viz.LayerIP, viz.ReasonIPOptionsMalformed, frame)
			if d := ltAllDrops(evs)[0]; d.Step != "ip_options" || !strings.Contains(d.Msg, "pointer") {
				t.Errorf("drop at step %q (%s), want ip_options naming the pointer", d.Step, d.Msg)
			}
			if len(outs) != 1 {
				t.Fatalf("%d datagrams sent, want one Parameter Problem", len(outs))
			}
			m := ltWantICMPError(t, outs[0], "eth0", ltSelf, ltPeer, ICMPParameterProblem, ICMPPointerIndicatesError, data)
			if int(m.Pointer()) != c.pointer {
				t.Errorf("pointer %d, want %d", m.Pointer(), c.pointer)
			}
			if s := h.l.Stats(); s.InHdrErrors != 1 || s.InDelivers != 0 {
				t.Errorf("InHdrErrors %d InDelivers %d, want 1 and 0", s.InHdrErrors, s.InDelivers)
			}
			ps := ltSteps(evs, viz.LayerICMP, "param_problem")
			if len(ps) != 1 || !strings.Contains(ps[0].Msg, "pointer") {
				t.Errorf("no param_problem step naming the pointer:%s", ltDescribe(evs))
			}
			// IPv4.Check agrees with the receive path.
			var ce *CheckError
			if err := IPv4(data).Check(); err == nil {
				t.Errorf("Check accepts the datagram")
			} else if ce = err.(*CheckError); ce.Pointer != c.pointer || ce.Reason != viz.ReasonIPOptionsMalformed {
				t.Errorf("Check: %v pointer %d, want ip_options_malformed pointer %d", err, ce.Pointer, c.pointer)
			}
		})
	}
}

// optionProblemCases are malformed options and the pointer of Linux's
// Parameter Problem for each (net/ipv4/ip_options.c: the option's first
// octet for a bad length or a repeat, its length octet when the option is
// too short for its fields, its pointer octet for a pointer out of range
// or without room, its flags octet for a timestamp overflow at 15).
var optionProblemCases = []struct {
	name    string
	opts    []byte
	pointer int
}{
	{"rr length 1", []byte{7, 1, 0, 0}, 20},
	{"rr length past the header", []byte{7, 11, 4, 0, 0, 0, 0, 0}, 20},
	{"no room for a length byte", []byte{1, 1, 1, 7}, 23},
	{"rr length 2", []byte{7, 2, 0, 0}, 21},
	{"rr pointer 3", []byte{7, 7, 3, 0, 0, 0, 0, 0}, 22},
	{"rr pointer without room", []byte{7, 9, 8, 0, 0, 0, 0, 0, 0, 0, 0, 0}, 22},
	{"rr twice", []byte{7, 7, 4, 0, 0, 0, 0, 7, 7, 4, 0, 0, 0, 0, 0, 0}, 27},
	{"ts length 3", []byte{68, 3, 5, 0}, 21},
	{"ts pointer 4", []byte{68, 8, 4, 0, 0, 0, 0, 0}, 22},
	{"ts flag 1 without room for the address", []byte{68, 8, 5, 1, 0, 0, 0, 0}, 22},
	{"ts full, overflow 15", []byte{68, 8, 9, 0xf0, 0, 0, 0, 1}, 23},
	{"lsrr pointer 2", []byte{131, 7, 2, 10, 0, 0, 1, 0}, 22},
	{"router alert length 2", []byte{148, 2, 1, 1}, 21},
}

// TestOptionsParameterProblemRules: the rules of RFC 1122 §3.2.2 hold for
// Parameter Problem too, and the rate limit (RFC 1812 §4.3.2.8).
func TestOptionsParameterProblemRules(t *testing.T) {
	bad := []byte{byte(OptionRecordRoute), 1, 0, 0}
	with := func(hdr IPv4Header, payload []byte) []byte {
		hdr.Options = bad
		return ltDatagram(hdr, payload)
	}
	cases := []struct {
		name string
		data []byte
		in   func(*Inbound)
	}{
		{"about an ICMP error", with(ltHeader(ltPeer, ltSelf, ProtocolICMP),
			AppendDestUnreachable(nil, ICMPPortUnreachable, 0, IPv4(ltDatagram(ltHeader(ltSelf, ltPeer, ProtocolUDP), make([]byte, 8))))), nil},
		{"a non-first fragment", func() []byte {
			hdr := ltHeader(ltPeer, ltSelf, ProtocolTCP)
			hdr.FragmentOffset = 8
			return with(hdr, make([]byte, 16))
		}(), nil},
		{"to the subnet broadcast", with(ltHeader(ltPeer, ltBcast, ProtocolTCP), make([]byte, 16)), func(in *Inbound) { in.LinkBroadcast = true }},
		{"in a link-layer broadcast", with(ltHeader(ltPeer, ltSelf, ProtocolTCP), make([]byte, 16)), func(in *Inbound) { in.LinkBroadcast = true }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newLTHost(t, Config{})
			frame := h.receive(h.eth0, c.data, c.in)
			evs := h.events()
			ltWantDrop(t, evs, viz.LayerIP, viz.ReasonIPOptionsMalformed, frame)
			if d := ltAllDrops(evs)[0]; !strings.Contains(d.Msg, "no Parameter Problem") {
				t.Errorf("the drop does not say why no Parameter Problem goes back: %s", d.Msg)
			}
			if outs := h.outputs(); len(outs) != 0 {
				t.Errorf("%d datagrams sent, want none (first %x)", len(outs), outs[0].data)
			}
		})
	}
	t.Run("rate limited", func(t *testing.T) {
		h := newLTHost(t, Config{ICMPErrorsPerSecond: 1, ICMPErrorBurst: 2})
		for i := 0; i < 4; i++ {
			h.receive(h.eth0, optEcho(ltSelf, uint16(i), bad...), nil)
		}
		evs := h.events()
		if n := len(h.outputs()); n != 2 {
			t.Errorf("%d Parameter Problems sent in a burst of 4 with a burst limit of 2, want 2", n)
		}
		if n := len(ltDrops(evs, viz.LayerICMP, viz.ReasonICMPRateLimited)); n != 2 {
			t.Errorf("%d icmp_rate_limited drops, want 2:%s", n, ltDescribe(evs))
		}
	})
}

// TestOptionsEchoReply: an echo reply carries the request's Record Route
// and Timestamp, with this host recorded on arrival and again on
// departure (RFC 1122 §3.2.2.6), which is what Linux does and what `ping
// -R` shows; gopacket decodes the reply.
func TestOptionsEchoReply(t *testing.T) {
	self := ltSelf.As4()
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
		{name: "record route, ping -R", opts: append([]byte{byte(OptionNOP)}, rrOption(9, ltPeer)...),
			want: append(rrOption(9, ltPeer, ltSelf, ltSelf), 0)},
		{name: "record route, one slot left", opts: rrOption(2, ltPeer),
			want: append(rrOption(2, ltPeer, ltSelf), 0)},
		{name: "record route, full", opts: rrOption(1, ltPeer),
			want: append(rrOption(1, ltPeer), 0)},
		{name: "record route to a broadcast: our address", opts: rrOption(3), dst: ltBcast,
			want: append(rrOption(3, ltSelf, ltSelf), 0)},
		{name: "timestamp only", opts: []byte{byte(OptionTimestamp), 12, 5, tsOnly, 0, 0, 0, 0, 0, 0, 0, 0},
			want: cat([]byte{byte(OptionTimestamp), 12, 13, tsOnly}, stamp(0), stamp(0))},
		{name: "timestamp with addresses", opts: []byte{byte(OptionTimestamp), 20, 5, tsAndAddr, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
			want: cat([]byte{byte(OptionTimestamp), 20, 21, tsAndAddr}, self[:], stamp(0), self[:], stamp(0))},
		{name: "timestamp full: overflow counted once", opts: []byte{byte(OptionTimestamp), 8, 9, 2<<4 | tsOnly, 0, 0, 0, 1},
			want: []byte{byte(OptionTimestamp), 8, 9, 3<<4 | tsOnly, 0, 0, 0, 1}},
		{name: "timestamp prespecified, ours then another's", opts: cat([]byte{byte(OptionTimestamp), 20, 5, tsPrespec}, self[:], make([]byte, 4), []byte{192, 0, 2, 1}, make([]byte, 4)),
			want: cat([]byte{byte(OptionTimestamp), 20, 13, tsPrespec}, self[:], stamp(0), []byte{192, 0, 2, 1}, make([]byte, 4))},
		{name: "record route and timestamp, others dropped", opts: cat([]byte{byte(OptionRouterAlert), 4, 0, 0, 99, 2}, []byte{byte(OptionTimestamp), 8, 5, tsOnly, 0, 0, 0, 0}, rrOption(2)),
			want: cat(rrOption(2, ltSelf, ltSelf), []byte{byte(OptionTimestamp), 8, 9, tsOnly}, stamp(0), []byte{0})},
		{name: "unknown options: not echoed", opts: []byte{99, 4, 1, 2}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newLTHost(t, Config{})
			dst := ltSelf
			var in func(*Inbound)
			if c.dst.IsValid() {
				dst, in = c.dst, func(in *Inbound) { in.LinkBroadcast = true }
			}
			h.receive(h.eth0, optEcho(dst, 1, c.opts...), in)
			evs, outs := h.events(), h.outputs()
			if drops := ltAllDrops(evs); len(drops) != 0 {
				t.Fatalf("unexpected drops:%s", ltDescribe(drops))
			}
			if len(outs) != 1 {
				t.Fatalf("%d datagrams sent, want one echo reply", len(outs))
			}
			p, ip4 := ltDecode(t, outs[0].data)
			ic, _ := p.Layer(layers.LayerTypeICMPv4).(*layers.ICMPv4)
			if ic == nil || ic.TypeCode.Type() != layers.ICMPv4TypeEchoReply || ic.Seq != 1 || string(ic.Payload) != "options" {
				t.Fatalf("gopacket: %v, want the echo reply", ic)
			}
			if ip4.SrcIP.String() != ltSelf.String() {
				t.Errorf("reply from %s, want %s", ip4.SrcIP, ltSelf)
			}
			if got := IPv4(outs[0].data).Options(); !bytes.Equal(got, c.want) {
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
			if c.want != nil && len(ltSteps(evs, viz.LayerICMP, "rr_echo")) != 1 {
				t.Errorf("no rr_echo step:%s", ltDescribe(evs))
			}
			if len(ltSteps(evs, viz.LayerIP, "ip_options")) != 1 {
				t.Errorf("no ip_options step:%s", ltDescribe(evs))
			}
		})
	}
	t.Run("room on arrival, none on departure: no reply", func(t *testing.T) {
		h := newLTHost(t, Config{})
		// 13 bytes: slots at pointers 4 and 8, 2 bytes left at 12.
		opts := []byte{byte(OptionRecordRoute), 13, 8, 10, 0, 0, 1, 0, 0, 0, 0, 0, 0}
		frame := h.receive(h.eth0, optEcho(ltSelf, 1, opts...), nil)
		ltWantDrop(t, h.events(), viz.LayerICMP, viz.ReasonICMPEchoOptions, frame)
		if outs := h.outputs(); len(outs) != 0 {
			t.Errorf("%d datagrams sent, want none", len(outs))
		}
	})
}

// TestOptionsForward: a router records the address it forwards from and
// answers a malformed option with Parameter Problem.
func TestOptionsForward(t *testing.T) {
	h := newLTRouter(t, Config{}, 1500)
	hdr := ltHeader(ltPeer, ltFar, ProtocolUDP)
	hdr.Options = rrOption(3, ltPeer)
	h.receive(h.eth0, ltDatagram(hdr, make([]byte, 16)), nil)
	outs := h.outputs()
	if len(outs) != 1 || outs[0].link != "eth1" {
		t.Fatalf("forwarded %d datagrams, want 1 on eth1", len(outs))
	}
	_, ip4 := ltDecode(t, outs[0].data)
	if got, want := IPv4(outs[0].data).Options(), append(rrOption(3, ltPeer, netip.MustParseAddr("10.0.1.254")), 0); !bytes.Equal(got, want) {
		t.Errorf("forwarded options %x, want %x", got, want)
	}
	if ip4.TTL != 63 {
		t.Errorf("TTL %d, want 63", ip4.TTL)
	}

	hdr.Options = []byte{byte(OptionTimestamp), 8, 4, 0, 0, 0, 0, 0}
	data := ltDatagram(hdr, make([]byte, 16))
	frame := h.receive(h.eth0, data, nil)
	ltWantDrop(t, h.events(), viz.LayerIP, viz.ReasonIPOptionsMalformed, frame)
	outs = h.outputs()
	if len(outs) != 1 {
		t.Fatalf("%d datagrams sent, want one Parameter Problem", len(outs))
	}
	if m := ltWantICMPError(t, outs[0], "eth0", netip.MustParseAddr("10.0.0.254"), ltPeer, ICMPParameterProblem, 0, data); m.Pointer() != 22 {
		t.Errorf("pointer %d, want 22", m.Pointer())
	}
}

// TestOptionsParameterProblemReachesTransport: a Parameter Problem that
// arrives is handed to the transport that sent the datagram it quotes
// (RFC 1122 §3.2.2.5: MUST be passed to the transport layer).
func TestOptionsParameterProblemReachesTransport(t *testing.T) {
	h := newLTHost(t, Config{})
	orig := ltDatagram(ltHeader(ltSelf, ltPeer, ProtocolTCP), make([]byte, 20))
	h.receive(h.eth0, ltDatagram(ltHeader(ltPeer, ltSelf, ProtocolICMP), AppendParameterProblem(nil, 9, IPv4(orig))), nil)
	if len(h.tcp.errs) != 1 || h.tcp.errs[0].Type != uint8(ICMPParameterProblem) {
		t.Fatalf("the transport got %+v, want the parameter problem", h.tcp.errs)
	}
}

// FuzzOptions puts arbitrary options on an echo request: no panic; a
// datagram Check refuses is dropped at ip_options with a Parameter
// Problem pointing inside its header, and one Check accepts is answered
// with an echo reply whose options parse (or, when they have no room for
// the reply's entry, dropped with icmp_echo_options).
func FuzzOptions(f *testing.F) {
	for _, c := range optionProblemCases {
		f.Add(c.opts)
	}
	f.Add(rrOption(9, ltPeer))
	f.Add([]byte{byte(OptionTimestamp), 20, 5, tsPrespec, 10, 0, 0, 2, 0, 0, 0, 0, 10, 0, 0, 2, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, opts []byte) {
		if len(opts) > 40 {
			opts = opts[:40]
		}
		h := newLTHost(t, Config{ICMPErrorsPerSecond: -1})
		data := optEcho(ltSelf, 1, opts...)
		checkErr := IPv4(data).Check()
		h.receive(h.eth0, data, nil)
		evs, outs := h.events(), h.outputs()
		if len(outs) > 1 {
			t.Fatalf("%d datagrams sent", len(outs))
		}
		if checkErr != nil {
			ce := checkErr.(*CheckError)
			if len(outs) != 1 || ICMP(IPv4(outs[0].data).Payload()).Type() != ICMPParameterProblem {
				t.Fatalf("Check says %v, but no Parameter Problem was sent:%s", checkErr, ltDescribe(evs))
			}
			if p := int(ICMP(IPv4(outs[0].data).Payload()).Pointer()); p != ce.Pointer || p < IPv4MinHeaderLen || p >= IPv4(data).HeaderLen() {
				t.Fatalf("pointer %d, Check's %d, header %d bytes", p, ce.Pointer, IPv4(data).HeaderLen())
			}
			return
		}
		if len(outs) == 0 {
			if len(ltDrops(evs, viz.LayerICMP, viz.ReasonICMPEchoOptions)) != 1 {
				t.Fatalf("no reply and no icmp_echo_options drop:%s", ltDescribe(evs))
			}
			return
		}
		// The reply's options are well formed as a sequence; a pointer
		// the sender misaligned may leave them no room at the next hop,
		// as Linux's reply would.
		r := IPv4(outs[0].data)
		if err := r.checkFixed(); err != nil {
			t.Fatalf("the reply %x fails Check: %v", []byte(r), err)
		}
		if _, err := ParseOptions(r.Options()); err != nil {
			t.Fatalf("the reply's options %x: %v", r.Options(), err)
		}
		if ICMP(r.Payload()).Type() != ICMPEchoReply {
			t.Fatalf("sent %s, want an echo reply", ICMP(r.Payload()).Name())
		}
	})
}
