package ip

import (
	"encoding/binary"
	"errors"
	"net/netip"

	"github.com/packetwalk/packetwalk/viz"
)

// Receive is the IP layer's receive walk for one datagram the driver handed
// up ("How Network Works" ch. 6: IP checks the header, asks "is it mine?",
// forwards it if not and the host is a router, reassembles fragments, and
// hands the data to the protocol its number names).
func (l *Layer) Receive(in Inbound) {
	l.stats.InReceives++
	h := IPv4(in.Data)

	// Header checks (RFC 791 §3.1, RFC 1122 §3.2.1): version, IHL, the
	// lengths against the bytes that arrived, the checksum. The options
	// wait for the route decision (ip_options below).
	if err := h.checkFixed(); err != nil {
		l.stats.InHdrErrors++
		var ce *CheckError
		reason := viz.ReasonIPMalformed
		if errors.As(err, &ce) {
			reason = ce.Reason
		}
		l.drop(in.Frame, "header", reason, err.Error())
		return
	}
	// Ethernet pads short frames to 60 bytes: the datagram ends at Total
	// Length, not at the end of the frame.
	h = h[:h.TotalLength()]
	if l.rec.On() {
		// "<summary>: version 4, header %d bytes, length %d, checksum %#04x ok"
		var args stepArgs
		format := l.summaryArgs(h, headerChecked, &args)
		args.add(viz.Int(h.HeaderLen()), viz.Int(int(h.TotalLength())), viz.Hex16(h.HeaderChecksum()))
		fields := headerFields(h)
		l.rec.Stepf(viz.Event{Layer: viz.LayerIP, Step: "header", Verdict: viz.Pass, Frame: in.Frame},
			fields[:],
			format, args.list()...)
	}

	// Is it mine? A frame the NIC accepted only in promiscuous mode was for
	// another station; a datagram for another address is forwarded by a
	// router and dropped by a host (RFC 1122 §3.2.1.3).
	if in.OtherHost {
		l.stats.InAddrErrors++
		l.drop(in.Frame, "route", viz.ReasonIPNotMine, "the frame was for another station (seen only in promiscuous mode)")
		return
	}
	dst := h.Dst()
	mine, broadcast := l.IsMine(dst)
	if !mine {
		if l.forwarding {
			l.forward(in, h)
			return
		}
		l.stats.InAddrErrors++
		l.dropf(in.Frame, "route", viz.ReasonIPNotMine, "%s is not one of this host's addresses, and it does not forward", viz.Addr(dst))
		return
	}
	// Is the source one a remote host can have? Checked before anything
	// could answer the datagram, since an answer would go to an address
	// that is nobody's (RFC 1122 §3.2.1.3).
	if why := l.martianSource(h.Src(), dst); why != "" {
		l.stats.InAddrErrors++
		if l.rec.On() {
			l.dropf(in.Frame, "route", viz.ReasonIPMartianSource,
				"source %s is %s: a host MUST silently discard it (RFC 1122 §3.2.1.3)", viz.Addr(h.Src()), viz.Str(why))
		}
		return
	}
	if l.rec.On() {
		what := "mine"
		if broadcast {
			what = "a broadcast, so mine too"
		}
		l.rec.Stepf(viz.Event{Layer: viz.LayerIP, Step: "route", Verdict: viz.Pass, Frame: in.Frame},
			[]viz.Field{viz.Fv("dst", viz.Addr(dst)), viz.F("decision", "local")},
			"destination %s is %s", viz.Addr(dst), viz.Str(what))
	}

	// Options (options.go): a malformed one is answered with Parameter
	// Problem (RFC 1122 §3.2.2.5); this host is recorded in Record Route
	// and Timestamp (RFC 791 §3.1), in a copy of the header.
	header, payload := []byte(h[:h.HeaderLen()]), h.Payload()
	if h.HeaderLen() > IPv4MinHeaderLen {
		if header = l.receiveOptions(in, h, broadcast); header == nil {
			return
		}
	}

	// Fragments wait in the reassembler until every hole is filled (RFC
	// 791 §3.2, RFC 815); the reassembler logs each arrival.
	if h.IsFragment() {
		data, first, done := l.reasm.Add(Fragment{
			Key:    FragmentKey{Src: h.Src(), Dst: dst, Protocol: uint8(h.Protocol()), ID: h.ID()},
			Offset: h.FragmentOffset(), More: h.MF(), Payload: payload, Header: header, Frame: in.Frame,
		})
		if !done {
			return
		}
		header, payload = reassembledHeader(first, len(data)), data
	}
	l.deliver(in, IPv4(header), payload, broadcast)
}

// reassembledHeader turns the first fragment's header (a copy the
// reassembler handed over) into the header of the whole datagram: Total
// Length covers every byte, MF and the offset are cleared, and the checksum
// is computed again, as Linux's ip_frag_reasm does. A transport, or an ICMP
// error quoting the datagram, then sees one datagram, not its first piece.
func reassembledHeader(h []byte, payloadLen int) []byte {
	binary.BigEndian.PutUint16(h[ipTotalLen:], uint16(len(h)+payloadLen))
	binary.BigEndian.PutUint16(h[ipFlagsOff:], binary.BigEndian.Uint16(h[ipFlagsOff:])&^(flagMF|fragOffsetMask))
	binary.BigEndian.PutUint16(h[ipChecksum:], IPv4(h).ComputeChecksum())
	return h
}

// deliver hands a whole datagram to the transport its protocol number
// names in the transport table: ICMP (1), TCP (6) and UDP (17), which
// package stack registers.
func (l *Layer) deliver(in Inbound, h IPv4, payload []byte, broadcast bool) {
	// Broadcast also marks a unicast datagram in a link-layer broadcast
	// frame: no transport may answer it with an ICMP error either (RFC
	// 1122 §3.2.2).
	d := Datagram{Frame: in.Frame, Link: in.Link, Src: h.Src(), Dst: h.Dst(), Protocol: h.Protocol(), TTL: h.TTL(), Header: h, Payload: payload,
		Broadcast: broadcast || in.LinkBroadcast}
	t := l.transports[d.Protocol]
	if t == nil {
		// RFC 1122 §3.2.2.1: a host SHOULD answer an unknown protocol
		// with Protocol Unreachable.
		l.stats.InUnknownProtos++
		l.dropf(in.Frame, "protocol", viz.ReasonUnknownProtocol, "no handler for protocol %d", viz.Int(int(d.Protocol)))
		if !d.Broadcast {
			l.SendICMPError(h, payload, ICMPDestUnreachable, ICMPProtocolUnreachable, 0, in.Frame)
		}
		return
	}
	l.stats.InDelivers++
	l.protoStep(d)
	t.Receive(d)
}

func (l *Layer) protoStep(d Datagram) {
	if l.rec.On() {
		l.rec.Stepf(viz.Event{Layer: viz.LayerIP, Step: "protocol", Verdict: viz.Pass, Frame: d.Frame},
			[]viz.Field{viz.Fv("protocol", viz.Int(int(d.Protocol)))},
			"protocol %d -> %s (%d bytes)", viz.Int(int(d.Protocol)), viz.Str(d.Protocol.String()), viz.Int(len(d.Payload)))
	}
}

// drop logs a drop whose sentence is text already made: a constant, or an
// error's text, made with the error whether or not anybody listens.
func (l *Layer) drop(frame uint64, step string, reason viz.Reason, msg string) {
	l.dropf(frame, step, reason, "%s", viz.Str(msg))
}

// dropf is drop with the message as a format and typed arguments, made
// into text by the sinks (and nothing made when nobody listens).
func (l *Layer) dropf(frame uint64, step string, reason viz.Reason, format string, args ...viz.Arg) {
	if l.rec.On() {
		l.rec.Stepf(viz.Event{Layer: viz.LayerIP, Step: step, Verdict: viz.Drop, Reason: reason, Frame: frame}, nil, format, args...)
	}
}

// martianSource says why src cannot be the source of a datagram this host
// accepts, or "" if it can. RFC 1122 §3.2.1.3 lists the addresses that
// MUST NOT be sources and says a host MUST silently discard a datagram
// from one: they name no single remote host, so nothing may be sent back
// (a TCP RST, an ICMP error, an echo reply). Linux's ip_route_input_slow
// drops the same ones as "martian source", and this host's own address
// too (fib_validate_source: a datagram from ourselves arriving on a wire
// is spoofed, or our own come back).
func (l *Layer) martianSource(src, dst netip.Addr) string {
	b := src.As4()
	switch {
	case src == limitedBroadcast:
		return "the limited broadcast address"
	case src.IsMulticast():
		return "a multicast address"
	case src.IsLoopback():
		return "a loopback address (127.0.0.0/8), which never leaves a host"
	case b[0] == 0 && (src != netip.IPv4Unspecified() || dst != limitedBroadcast):
		// 0.0.0.0 is the one exception, a host that does not know its
		// address yet broadcasting (BOOTP, DHCP: RFC 1122 §3.2.1.3 (a)).
		return "in 0.0.0.0/8 (\"this network\")"
	}
	for _, a := range l.addrs {
		switch {
		case a.prefix.Addr() == src:
			return "this host's own address"
		case a.prefix.Bits() < 31 && directedBroadcast(a.prefix) == src:
			return "the broadcast address of " + a.prefix.Masked().String()
		}
	}
	return ""
}

// summary is the datagram's line in the layer's steps: IPv4.Summary, with
// the registered transport's own words for its datagrams where it is a
// Describer (UDP).
func (l *Layer) summary(h IPv4) string {
	if len(h) >= IPv4MinHeaderLen {
		if d, ok := l.transports[h.Protocol()].(Describer); ok {
			return h.summary(d.Describe)
		}
	}
	return h.Summary()
}
