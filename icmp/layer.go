package icmp

import (
	"net/netip"

	"github.com/packetwalk/packetwalk/ip"
	"github.com/packetwalk/packetwalk/viz"
)

// Config describes one host's ICMP.
type Config struct {
	Recorder *viz.Recorder
	Network  Network
	// EchoIgnoreBroadcasts drops echo requests sent to a broadcast
	// address instead of answering (Linux's icmp_echo_ignore_broadcasts,
	// on by default there against smurf attacks; off here by default, so
	// a lab can ping the subnet).
	EchoIgnoreBroadcasts bool
}

// Layer is one host's ICMP for the messages addressed to it: it answers
// echo requests, hands echo replies to ping and errors to the transport
// that sent the datagram they quote, and sends ping's echo requests. It
// implements ip.Transport for protocol 1; package stack registers it with
// IP. Like all protocol state it is owned by the host's event loop.
type Layer struct {
	rec             *viz.Recorder
	net             Network
	ignoreBcastEcho bool
	stats           Stats

	// OnEchoReply, if set, receives echo replies (the ping application).
	OnEchoReply func(EchoReply)
	// OnICMPError, if set, receives ICMP errors that quote an ICMP echo
	// this host sent (ping learns of TTL exceeded, unreachable hosts).
	OnICMPError func(ip.ICMPError)
}

// Stats are ICMP's counters for the messages it handles, named after the
// Icmp: line of Linux's /proc/net/snmp. The errors IP sends are counted
// in ip.Stats.
type Stats struct {
	InMsgs, InErrors, OutMsgs uint64
}

// NewLayer returns a host's ICMP.
func NewLayer(cfg Config) *Layer {
	return &Layer{rec: cfg.Recorder, net: cfg.Network, ignoreBcastEcho: cfg.EchoIgnoreBroadcasts}
}

// Stats returns the layer's counters.
func (l *Layer) Stats() Stats { return l.stats }

// EchoReply is an ICMP echo reply handed to the ping application.
type EchoReply struct {
	Frame   uint64
	From    netip.Addr
	ID, Seq uint16
	TTL     uint8
	Data    []byte // a copy; the caller may keep it
}

// Receive implements ip.Transport: ICMP's walk for a message for this host
// (RFC 792). Answer echo requests, hand echo replies to ping and errors to
// the transport that sent the datagram they quote.
func (l *Layer) Receive(d ip.Datagram) {
	l.stats.InMsgs++
	m := ip.ICMP(d.Payload)
	if err := m.Check(); err != nil {
		l.stats.InErrors++
		reason := viz.ReasonICMPMalformed
		if ce, ok := err.(*ip.CheckError); ok {
			reason = ce.Reason
		}
		l.drop(d.Frame, "check", reason, err.Error())
		return
	}
	// Sent to a broadcast address? (d.Broadcast also marks a unicast
	// datagram in a link-layer broadcast frame, which is answered like
	// any unicast one.)
	_, broadcast := l.net.IsMine(d.Dst)
	switch m.Type() {
	case ip.ICMPEchoRequest:
		if broadcast && l.ignoreBcastEcho {
			l.drop(d.Frame, "echo", viz.ReasonICMPEchoBroadcast, "echo request to a broadcast address ignored (icmp_echo_ignore_broadcasts)")
			return
		}
		if l.rec.On() {
			l.rec.Stepf(viz.Event{Layer: viz.LayerICMP, Step: "echo", Verdict: viz.Deliver, Frame: d.Frame},
				[]viz.Field{viz.Fv("id", viz.Int(int(m.ID()))), viz.Fv("seq", viz.Int(int(m.Seq())))},
				"echo request from %s id %d seq %d, %d data bytes: answering", viz.Addr(d.Src), viz.Int(int(m.ID())), viz.Int(int(m.Seq())), viz.Int(len(m.Data())))
		}
		// The reply goes back from the address that was asked (or, for
		// a broadcast, from our address on the way back: RFC 1122
		// §3.2.2.6).
		src := d.Dst
		if broadcast {
			src = netip.Addr{}
		}
		var opts []byte
		if d.Header.HeaderLen() > ip.IPv4MinHeaderLen {
			var ok bool
			if opts, ok = l.echoReplyOptions(d, src); !ok {
				return
			}
		}
		reply := ip.AppendEchoReply(nil, m.ID(), m.Seq(), m.Data())
		l.stats.OutMsgs++
		_ = l.net.Send(ip.Outbound{Src: src, Dst: d.Src, Protocol: ip.ProtocolICMP, Payload: reply, Options: opts})
	case ip.ICMPEchoReply:
		if l.rec.On() {
			l.rec.Stepf(viz.Event{Layer: viz.LayerICMP, Step: "echo_reply", Verdict: viz.Deliver, Frame: d.Frame},
				[]viz.Field{viz.Fv("id", viz.Int(int(m.ID()))), viz.Fv("seq", viz.Int(int(m.Seq())))},
				"echo reply from %s id %d seq %d ttl %d", viz.Addr(d.Src), viz.Int(int(m.ID())), viz.Int(int(m.Seq())), viz.Int(int(d.TTL)))
		}
		if l.OnEchoReply != nil {
			l.OnEchoReply(EchoReply{Frame: d.Frame, From: d.Src, ID: m.ID(), Seq: m.Seq(), TTL: d.TTL, Data: append([]byte(nil), m.Data()...)})
		}
	case ip.ICMPDestUnreachable, ip.ICMPTimeExceeded, ip.ICMPParameterProblem:
		// RFC 1122 §3.2.2.5: a Parameter Problem MUST be passed to the
		// transport, like the other errors.
		l.receiveError(d, m)
	default:
		if l.rec.On() {
			kind, args, n := m.NameArgs()
			args3 := [3]viz.Arg{args[0], args[1]}
			args3[n] = viz.Addr(d.Src)
			l.rec.Stepf(viz.Event{Layer: viz.LayerICMP, Step: "other", Verdict: viz.Deliver, Frame: d.Frame}, nil,
				otherFormats[kind], args3[:n+1]...)
		}
	}
}

// echoReplyOptions returns the options of the reply to echo request d
// (ip.Layer.EchoOptions) and logs the rr_echo step; ok false means the
// request is not answered, as Linux does not answer one whose options have
// no room for the reply's entry.
func (l *Layer) echoReplyOptions(d ip.Datagram, src netip.Addr) (opts []byte, ok bool) {
	if !src.IsValid() {
		// A broadcast request: the reply leaves from the address
		// that routes back to the sender.
		var err error
		if src, err = l.net.SourceFor(d.Src); err != nil {
			return nil, true // Send logs no_route
		}
	}
	opts, err := l.net.EchoOptions(d.Header, src)
	if err != nil {
		if l.rec.On() {
			// The error's text was made with the error.
			l.rec.Stepf(viz.Event{Layer: viz.LayerICMP, Step: "rr_echo", Verdict: viz.Drop, Reason: viz.ReasonICMPEchoOptions, Frame: d.Frame}, nil,
				"%s once this host is recorded on the way back: no reply, as Linux's ip_options_echo gives none", viz.Str(err.(*ip.CheckError).Msg))
		}
		return nil, false
	}
	if len(opts) > 0 && l.rec.On() {
		// The recorded route is a list of addresses of any length, made
		// here: an echo request with Record Route is rare.
		route := ip.RecordedRoute(opts)
		ev := viz.Event{Layer: viz.LayerICMP, Step: "rr_echo", Verdict: viz.Pass, Frame: d.Frame}
		if route != "" {
			l.rec.Stepf(ev, []viz.Field{viz.F("options", ip.OptionNames(opts)), viz.F("route", route)},
				"the reply carries the request's record route, now %s, so that the round trip is recorded (RFC 1122 §3.2.2.6)", viz.Str(route))
		} else {
			l.rec.Stepf(ev, []viz.Field{viz.F("options", ip.OptionNames(opts))},
				"the reply carries the request's options with %s recorded again as it leaves, so that the round trip is recorded (RFC 1122 §3.2.2.6)", viz.Addr(src))
		}
	}
	return opts, true
}

// receiveError hands an error to whoever sent the datagram it quotes,
// through IP's transport table (ip.Layer.DeliverICMPError).
func (l *Layer) receiveError(d ip.Datagram, m ip.ICMP) {
	q := m.Quoted()
	hl := q.HeaderLen()
	e := ip.ICMPError{Frame: d.Frame, From: d.Src, Type: uint8(m.Type()), Code: uint8(m.Code()), Quoted: q, Payload: q[hl:]}
	if m.Type() == ip.ICMPDestUnreachable && m.Code() == ip.ICMPFragmentationNeeded {
		e.MTU = int(m.NextHopMTU())
	}
	if l.rec.On() {
		nk, na, nn := m.NameArgs()
		qk, qa, qn := ip.QuoteArgs(q)
		var args [8]viz.Arg
		n := copy(args[:], na[:nn])
		args[n] = viz.Addr(d.Src)
		n++
		n += copy(args[n:], qa[:qn])
		l.rec.Stepf(viz.Event{Layer: viz.LayerICMP, Step: "error", Verdict: viz.Deliver, Frame: d.Frame}, nil,
			errorFormats[nk][qk], args[:n]...)
	}
	l.net.DeliverICMPError(e)
}

// ReceiveError implements ip.Transport: an error about an ICMP message
// this host sent, an echo request, goes to ping.
func (l *Layer) ReceiveError(e ip.ICMPError) {
	if l.OnICMPError != nil {
		l.OnICMPError(e)
	}
}

// Echo sends an ICMP echo request (what ping does), with frame as its
// frame ID (0: a new one).
func (l *Layer) Echo(dst netip.Addr, id, seq uint16, data []byte, frame uint64) error {
	if frame == 0 {
		frame = l.rec.NewFrameID()
	}
	if l.rec.On() {
		l.rec.Stepf(viz.Event{Layer: viz.LayerICMP, Step: "echo_request", Verdict: viz.Send, Frame: frame},
			[]viz.Field{viz.Fv("id", viz.Int(int(id))), viz.Fv("seq", viz.Int(int(seq)))},
			"echo request to %s id %d seq %d, %d data bytes", viz.Addr(dst), viz.Int(int(id)), viz.Int(int(seq)), viz.Int(len(data)))
	}
	l.stats.OutMsgs++
	return l.net.Send(ip.Outbound{Frame: frame, Dst: dst, Protocol: ip.ProtocolICMP, Payload: ip.AppendEchoRequest(nil, id, seq, data)})
}

// drop logs a drop whose sentence is text already made: a constant, or an
// error's text, made with the error whether or not anybody listens.
func (l *Layer) drop(frame uint64, step string, reason viz.Reason, msg string) {
	if l.rec.On() {
		l.rec.Stepf(viz.Event{Layer: viz.LayerICMP, Step: step, Verdict: viz.Drop, Reason: reason, Frame: frame}, nil, "%s", viz.Str(msg))
	}
}

var (
	// otherFormats[kind] is the "other" step's format after the
	// message's name of ip.NameFormats[kind].
	otherFormats = [2]string{ip.NameFormats[0] + " from %s: nothing to do", ip.NameFormats[1] + " from %s: nothing to do"}
	// errorFormats[name][quote] is the error step's format: the name
	// (ip.NameFormats), the sender, the quoted datagram (ip.QuoteFormats).
	errorFormats = func() (t [2][3]string) {
		for nk, name := range ip.NameFormats {
			for qk, quote := range ip.QuoteFormats {
				t[nk][qk] = name + " from %s about " + quote
			}
		}
		return t
	}()
)
