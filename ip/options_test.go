package ip

import (
	"bytes"
	"net/netip"
	"strings"
	"testing"

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
