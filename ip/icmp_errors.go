package ip

import (
	"time"

	"github.com/packetwalk/packetwalk/clock"
	"github.com/packetwalk/packetwalk/viz"
)

// IP's own ICMP errors. The walk's decisions that answer the sender
// (an unknown protocol, a TTL run out while forwarding, a datagram too big
// for the next hop with DF, a malformed option, a reassembly that timed
// out) are IP's, so IP builds and sends the error itself, as RFC 792 has
// it ("ICMP ... is actually an integral part of IP"); a transport answers
// through the same door (UDP's Port Unreachable), so that the rules of RFC
// 1122 §3.2.2 and the rate limit of RFC 1812 §4.3.2.8 hold for every
// error the host sends. The ICMP messages for this host (echo, errors
// about what it sent) are package icmp's.

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
	if mine, bcast := l.IsMine(src); mine && bcast {
		return "its source is a broadcast address"
	}
	// Nor about a datagram sent to a broadcast or multicast address: the
	// callers that know check already, but a reassembly timeout does not.
	if dst := h.Dst(); dst.IsMulticast() {
		return "it was sent to a multicast address"
	} else if mine, bcast := l.IsMine(dst); mine && bcast {
		return "it came to a broadcast address"
	}
	return ""
}

// SendICMPError reports a problem with datagram h to its sender, within
// the rules of RFC 1122 §3.2.2 and the rate limit of RFC 1812 §4.3.2.8.
// info is the next-hop MTU of Fragmentation Needed or the pointer of
// Parameter Problem; cause is the frame that caused it.
func (l *Layer) SendICMPError(h IPv4, payload []byte, t ICMPType, code ICMPCode, info int, cause uint64) {
	if l.icmpErrorForbidden(h, payload) != "" {
		return
	}
	src := h.Src()
	frame := l.rec.NewFrameID()
	if !l.icmpLimit.allow() {
		l.stats.ICMPOutRateLimited++
		if l.rec.On() {
			l.rec.Stepf(viz.Event{Layer: viz.LayerICMP, Step: "error", Verdict: viz.Drop, Reason: viz.ReasonICMPRateLimited, Frame: frame}, nil,
				"%s to %s not sent: over %d errors per second", viz.Str(ICMPCodeName(t, code)), viz.Addr(src), viz.Int(l.icmpLimit.rate))
		}
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
	case ICMPParameterProblem:
		msg = AppendParameterProblem(nil, uint8(info), IPv4(orig))
	default:
		msg = AppendDestUnreachable(nil, code, uint16(info), IPv4(orig))
	}
	if l.rec.On() {
		fields := [4]viz.Field{viz.Fv("type", viz.Int(int(t))), viz.Fv("code", viz.Int(int(code))), viz.Fv("cause_frame", viz.U64(cause))}
		if t == ICMPParameterProblem {
			fields[3] = viz.Fv("pointer", viz.Int(info))
			l.rec.Stepf(viz.Event{Layer: viz.LayerICMP, Step: "param_problem", Verdict: viz.Send, Frame: frame}, fields[:],
				"parameter problem, pointer %d, to %s about frame %d", viz.Int(info), viz.Addr(src), viz.U64(cause))
		} else {
			l.rec.Stepf(viz.Event{Layer: viz.LayerICMP, Step: "error", Verdict: viz.Send, Frame: frame}, fields[:3],
				"%s to %s about frame %d", viz.Str(ICMPCodeName(t, code)), viz.Addr(src), viz.U64(cause))
		}
	}
	l.stats.ICMPOutMsgs++
	_ = l.Send(Outbound{Frame: frame, Dst: src, Protocol: ProtocolICMP, Payload: msg})
}

// reassemblyTimedOut sends Time Exceeded, code 1, when a datagram whose
// first fragment had arrived did not complete (RFC 792).
func (l *Layer) reassemblyTimedOut(key FragmentKey, firstHeader, firstPayload []byte) {
	l.SendICMPError(IPv4(firstHeader), firstPayload, ICMPTimeExceeded, ICMPReassemblyTimeExceeded, 0, 0)
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

// DeliverICMPError hands an ICMP error that came for this host to the
// transport that sent the datagram it quotes, found by the quote's
// protocol in the transport table (RFC 1122 §3.2.2: a host MUST pass
// errors to the transport; §3.2.2.5 for Parameter Problem). Package icmp
// calls it once it has checked the message; an error about a protocol
// nobody registered is dropped silently, as Linux's icmp_unreach does.
func (l *Layer) DeliverICMPError(e ICMPError) {
	if t := l.transports[e.Quoted.Protocol()]; t != nil {
		t.ReceiveError(e)
	}
}
