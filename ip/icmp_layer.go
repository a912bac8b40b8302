package ip

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/packetwalk/packetwalk/clock"
	"github.com/packetwalk/packetwalk/viz"
)

// EchoReply is an ICMP echo reply handed to the ping application.
type EchoReply struct {
	Frame   uint64
	From    netip.Addr
	ID, Seq uint16
	TTL     uint8
	Data    []byte // a copy; the caller may keep it
}

// receiveICMP handles an ICMP message for this host (RFC 792): answer echo
// requests, hand echo replies to ping and errors to the transport that sent
// the datagram they quote.
func (l *Layer) receiveICMP(d Datagram, broadcast bool) {
	l.stats.ICMPInMsgs++
	m := ICMP(d.Payload)
	if err := m.Check(); err != nil {
		l.stats.ICMPInErrors++
		reason := viz.ReasonICMPMalformed
		if ce, ok := err.(*CheckError); ok {
			reason = ce.Reason
		}
		l.dropAt(viz.LayerICMP, d.Frame, "check", reason, err.Error())
		return
	}
	switch m.Type() {
	case ICMPEchoRequest:
		if broadcast && l.ignoreBcastEcho {
			l.dropAt(viz.LayerICMP, d.Frame, "echo", viz.ReasonICMPEchoBroadcast, "echo request to a broadcast address ignored (icmp_echo_ignore_broadcasts)")
			return
		}
		if l.rec.On() {
			l.rec.Emit(viz.Event{Layer: viz.LayerICMP, Step: "echo", Verdict: viz.Deliver, Frame: d.Frame,
				Msg:    fmt.Sprintf("echo request from %s id %d seq %d, %d data bytes: answering", d.Src, m.ID(), m.Seq(), len(m.Data())),
				Fields: []viz.Field{viz.F("id", fmt.Sprint(m.ID())), viz.F("seq", fmt.Sprint(m.Seq()))}})
		}
		// The reply goes back from the address that was asked (or, for
		// a broadcast, from our address on the way back: RFC 1122
		// §3.2.2.6).
		src := d.Dst
		if broadcast {
			src = netip.Addr{}
		}
		var opts []byte
		if d.Header.HeaderLen() > IPv4MinHeaderLen {
			var ok bool
			if opts, ok = l.echoReplyOptions(d, src); !ok {
				return
			}
		}
		reply := AppendEchoReply(nil, m.ID(), m.Seq(), m.Data())
		l.stats.ICMPOutMsgs++
		_ = l.Send(Outbound{Src: src, Dst: d.Src, Protocol: ProtocolICMP, Payload: reply, Options: opts})
	case ICMPEchoReply:
		if l.rec.On() {
			l.rec.Emit(viz.Event{Layer: viz.LayerICMP, Step: "echo_reply", Verdict: viz.Deliver, Frame: d.Frame,
				Msg:    fmt.Sprintf("echo reply from %s id %d seq %d ttl %d", d.Src, m.ID(), m.Seq(), d.TTL),
				Fields: []viz.Field{viz.F("id", fmt.Sprint(m.ID())), viz.F("seq", fmt.Sprint(m.Seq()))}})
		}
		if l.OnEchoReply != nil {
			l.OnEchoReply(EchoReply{Frame: d.Frame, From: d.Src, ID: m.ID(), Seq: m.Seq(), TTL: d.TTL, Data: append([]byte(nil), m.Data()...)})
		}
	case ICMPDestUnreachable, ICMPTimeExceeded, ICMPParameterProblem:
		// RFC 1122 §3.2.2.5: a Parameter Problem MUST be passed to the
		// transport, like the other errors.
		l.receiveICMPError(d, m)
	default:
		if l.rec.On() {
			l.rec.Emit(viz.Event{Layer: viz.LayerICMP, Step: "other", Verdict: viz.Deliver, Frame: d.Frame,
				Msg: fmt.Sprintf("%s from %s: nothing to do", m.Name(), d.Src)})
		}
	}
}

// echoReplyOptions returns the options of the reply to echo request d
// (echoOptions) and logs the rr_echo step; ok false means the request is
// not answered, as Linux does not answer one whose options have no room
// for the reply's entry.
func (l *Layer) echoReplyOptions(d Datagram, src netip.Addr) (opts []byte, ok bool) {
	if !src.IsValid() {
		// A broadcast request: the reply leaves from the address
		// that routes back to the sender.
		var err error
		if src, err = l.SourceFor(d.Src); err != nil {
			return nil, true // Send logs no_route
		}
	}
	opts, err := l.echoOptions(d.Header, src)
	if err != nil {
		l.dropAt(viz.LayerICMP, d.Frame, "rr_echo", viz.ReasonICMPEchoOptions,
			err.(*CheckError).Msg+" once this host is recorded on the way back: no reply, as Linux's ip_options_echo gives none")
		return nil, false
	}
	if len(opts) > 0 && l.rec.On() {
		msg := "the reply carries the request's options with " + src.String() + " recorded again as it leaves, so that the round trip is recorded (RFC 1122 §3.2.2.6)"
		route := recordedRoute(opts)
		if route != "" {
			msg = "the reply carries the request's record route, now " + route + ", so that the round trip is recorded (RFC 1122 §3.2.2.6)"
		}
		fields := []viz.Field{viz.F("options", optionNames(opts))}
		if route != "" {
			fields = append(fields, viz.F("route", route))
		}
		l.rec.Emit(viz.Event{Layer: viz.LayerICMP, Step: "rr_echo", Verdict: viz.Pass, Frame: d.Frame, Msg: msg, Fields: fields})
	}
	return opts, true
}

// receiveICMPError hands an error to whoever sent the datagram it quotes.
func (l *Layer) receiveICMPError(d Datagram, m ICMP) {
	q := m.Quoted()
	hl := q.HeaderLen()
	e := ICMPError{Frame: d.Frame, From: d.Src, Type: uint8(m.Type()), Code: uint8(m.Code()), Quoted: q, Payload: q[hl:]}
	if m.Type() == ICMPDestUnreachable && m.Code() == ICMPFragmentationNeeded {
		e.MTU = int(m.NextHopMTU())
	}
	if l.rec.On() {
		l.rec.Emit(viz.Event{Layer: viz.LayerICMP, Step: "error", Verdict: viz.Deliver, Frame: d.Frame,
			Msg: fmt.Sprintf("%s from %s about %s", m.Name(), d.Src, describeQuote(q))})
	}
	switch q.Protocol() {
	case ProtocolICMP:
		if l.OnICMPError != nil {
			l.OnICMPError(e)
		}
	case ProtocolUDP:
		l.udp.receiveError(e)
	default:
		if t := l.transports[q.Protocol()]; t != nil {
			t.ReceiveError(e)
		}
	}
}

// Echo sends an ICMP echo request (what ping does), with frame as its
// frame ID (0: a new one).
func (l *Layer) Echo(dst netip.Addr, id, seq uint16, data []byte, frame uint64) error {
	if frame == 0 {
		frame = l.rec.NewFrameID()
	}
	if l.rec.On() {
		l.rec.Emit(viz.Event{Layer: viz.LayerICMP, Step: "echo_request", Verdict: viz.Send, Frame: frame,
			Msg:    fmt.Sprintf("echo request to %s id %d seq %d, %d data bytes", dst, id, seq, len(data)),
			Fields: []viz.Field{viz.F("id", fmt.Sprint(id)), viz.F("seq", fmt.Sprint(seq))}})
	}
	l.stats.ICMPOutMsgs++
	return l.Send(Outbound{Frame: frame, Dst: dst, Protocol: ProtocolICMP, Payload: AppendEchoRequest(nil, id, seq, data)})
}

// icmpErrorForbidden says why RFC 1122 §3.2.2 forbids an ICMP error about
// datagram h, or returns "" if it does not.
func (l *Layer) icmpErrorForbidden(h IPv4, payload []byte) string {
	// Never about an ICMP error (no storms of errors about errors), a
	// non-first fragment, or a datagram whose source is not one host
	// (broadcast, multicast, unspecified).
	if h.Protocol() == ProtocolICMP && len(payload) > 0 && ICMPType(payload[0]).IsError() {
		return "it is an ICMP error itself"
	}
	if h.FragmentOffset() != 0 {
		return "it is not the first fragment"
	}
	src := h.Src()
	if !src.IsValid() || src.IsUnspecified() || src.IsMulticast() || src == limitedBroadcast {
		return "its source names no single host"
	}
	if mine, bcast := l.isMine(src); mine && bcast {
		return "its source is a broadcast address"
	}
	// Nor about a datagram sent to a broadcast or multicast address: the
	// callers that know check already, but a reassembly timeout does not.
	if dst := h.Dst(); dst.IsMulticast() {
		return "it was sent to a multicast address"
	} else if mine, bcast := l.isMine(dst); mine && bcast {
		return "it came to a broadcast address"
	}
	return ""
}

// sendICMPError reports a problem with datagram h to its sender, within
// the rules of RFC 1122 §3.2.2 and the rate limit of RFC 1812 §4.3.2.8.
// info is the next-hop MTU of Fragmentation Needed or the pointer of
// Parameter Problem; cause is the frame that caused it.
func (l *Layer) sendICMPError(h IPv4, payload []byte, t ICMPType, code ICMPCode, info int, cause uint64) {
	if l.icmpErrorForbidden(h, payload) != "" {
		return
	}
	src := h.Src()
	frame := l.rec.NewFrameID()
	if !l.icmpLimit.allow() {
		l.stats.ICMPOutRateLimited++
		l.dropAt(viz.LayerICMP, frame, "error", viz.ReasonICMPRateLimited,
			fmt.Sprintf("%s to %s not sent: over %d errors per second", ICMPCodeName(t, code), src, l.icmpLimit.rate))
		return
	}
	// The quote is the offending header and the first 8 bytes of its
	// data: enough for the sender to find the ports (RFC 792).
	orig := make([]byte, 0, h.HeaderLen()+8)
	orig = append(orig, h[:h.HeaderLen()]...)
	n := len(payload)
	if n > 8 {
		n = 8
	}
	orig = append(orig, payload[:n]...)
	var msg []byte
	step, what := "error", ICMPCodeName(t, code)
	switch t {
	case ICMPTimeExceeded:
		msg = AppendTimeExceeded(nil, code, IPv4(orig))
	case ICMPParameterProblem:
		msg = AppendParameterProblem(nil, uint8(info), IPv4(orig))
		step, what = "param_problem", fmt.Sprintf("parameter problem, pointer %d,", info)
	default:
		msg = AppendDestUnreachable(nil, code, uint16(info), IPv4(orig))
	}
	if l.rec.On() {
		fields := []viz.Field{viz.F("type", fmt.Sprint(uint8(t))), viz.F("code", fmt.Sprint(uint8(code))), viz.F("cause_frame", fmt.Sprint(cause))}
		if t == ICMPParameterProblem {
			fields = append(fields, viz.F("pointer", fmt.Sprint(info)))
		}
		l.rec.Emit(viz.Event{Layer: viz.LayerICMP, Step: step, Verdict: viz.Send, Frame: frame,
			Msg: fmt.Sprintf("%s to %s about frame %d", what, src, cause), Fields: fields})
	}
	l.stats.ICMPOutMsgs++
	_ = l.Send(Outbound{Frame: frame, Dst: src, Protocol: ProtocolICMP, Payload: msg})
}

// reassemblyTimedOut sends Time Exceeded, code 1, when a datagram whose
// first fragment had arrived did not complete (RFC 792).
func (l *Layer) reassemblyTimedOut(key FragmentKey, firstHeader, firstPayload []byte) {
	l.sendICMPError(IPv4(firstHeader), firstPayload, ICMPTimeExceeded, ICMPReassemblyTimeExceeded, 0, 0)
}

func (l *Layer) dropAt(layer viz.Layer, frame uint64, step string, reason viz.Reason, msg string) {
	if l.rec.On() {
		l.rec.Emit(viz.Event{Layer: layer, Step: step, Verdict: viz.Drop, Reason: reason, Frame: frame, Msg: msg})
	}
}

// tokenBucket limits ICMP errors: rate tokens a second, at most burst saved.
type tokenBucket struct {
	clock  clock.Clock
	rate   int
	burst  int
	tokens float64
	last   time.Duration
}

func newTokenBucket(c clock.Clock, rate, burst int) tokenBucket {
	if rate == 0 {
		rate = DefaultICMPErrorsPerSecond
	}
	if burst <= 0 {
		burst = DefaultICMPErrorBurst
	}
	return tokenBucket{clock: c, rate: rate, burst: burst, tokens: float64(burst)}
}

func (b *tokenBucket) allow() bool {
	if b.rate < 0 {
		return true
	}
	now := b.clock.Now()
	b.tokens += (now - b.last).Seconds() * float64(b.rate)
	b.last = now
	if b.tokens > float64(b.burst) {
		b.tokens = float64(b.burst)
	}
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}
