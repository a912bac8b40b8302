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
		reply := AppendEchoReply(nil, m.ID(), m.Seq(), m.Data())
		l.stats.ICMPOutMsgs++
		_ = l.Send(Outbound{Src: src, Dst: d.Src, Protocol: ProtocolICMP, Payload: reply})
	case ICMPEchoReply:
		if l.rec.On() {
			l.rec.Emit(viz.Event{Layer: viz.LayerICMP, Step: "echo_reply", Verdict: viz.Deliver, Frame: d.Frame,
				Msg:    fmt.Sprintf("echo reply from %s id %d seq %d ttl %d", d.Src, m.ID(), m.Seq(), d.TTL),
				Fields: []viz.Field{viz.F("id", fmt.Sprint(m.ID())), viz.F("seq", fmt.Sprint(m.Seq()))}})
		}
		if l.OnEchoReply != nil {
			l.OnEchoReply(EchoReply{Frame: d.Frame, From: d.Src, ID: m.ID(), Seq: m.Seq(), TTL: d.TTL, Data: append([]byte(nil), m.Data()...)})
		}
	case ICMPDestUnreachable, ICMPTimeExceeded:
		l.receiveICMPError(d, m)
	default:
		if l.rec.On() {
			l.rec.Emit(viz.Event{Layer: viz.LayerICMP, Step: "other", Verdict: viz.Deliver, Frame: d.Frame,
				Msg: fmt.Sprintf("%s from %s: nothing to do", m.Name(), d.Src)})
		}
	}
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

// sendICMPError reports a problem with datagram h to its sender, within
// the rules of RFC 1122 §3.2.2 and the rate limit of RFC 1812 §4.3.2.8.
// cause is the frame that caused it.
func (l *Layer) sendICMPError(h IPv4, payload []byte, t ICMPType, code ICMPCode, mtu int, cause uint64) {
	// RFC 1122 §3.2.2: never about an ICMP error (no storms of errors
	// about errors), a non-first fragment, or a datagram whose source is
	// not one host (broadcast, multicast, unspecified).
	if h.Protocol() == ProtocolICMP && len(payload) > 0 && ICMPType(payload[0]).IsError() {
		return
	}
	if h.FragmentOffset() != 0 {
		return
	}
	src := h.Src()
	if !src.IsValid() || src.IsUnspecified() || src.IsMulticast() || src == limitedBroadcast {
		return
	}
	if mine, bcast := l.isMine(src); mine && bcast {
		return
	}
	// Nor about a datagram sent to a broadcast or multicast address: the
	// callers that know check already, but a reassembly timeout does not.
	if dst := h.Dst(); dst.IsMulticast() {
		return
	} else if mine, bcast := l.isMine(dst); mine && bcast {
		return
	}
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
	switch t {
	case ICMPTimeExceeded:
		msg = AppendTimeExceeded(nil, code, IPv4(orig))
	default:
		msg = AppendDestUnreachable(nil, code, uint16(mtu), IPv4(orig))
	}
	if l.rec.On() {
		l.rec.Emit(viz.Event{Layer: viz.LayerICMP, Step: "error", Verdict: viz.Send, Frame: frame,
			Msg:    fmt.Sprintf("%s to %s about frame %d", ICMPCodeName(t, code), src, cause),
			Fields: []viz.Field{viz.F("type", fmt.Sprint(uint8(t))), viz.F("code", fmt.Sprint(uint8(code))), viz.F("cause_frame", fmt.Sprint(cause))}})
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
