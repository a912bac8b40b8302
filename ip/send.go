package ip

import (
	"errors"
	"net/netip"

	"github.com/packetwalk/packetwalk/viz"
)

// Errors returned by Send.
var (
	ErrNoRoute = errors.New("no route to host")
	// ErrMessageTooLong is EMSGSIZE: the datagram has DF set and does not
	// fit the link's MTU.
	ErrMessageTooLong = errors.New("message too long for the path MTU with Don't Fragment set")
)

// Send is the IP layer's send walk for a datagram this host originates:
// choose the route (and the source address, if the transport left it to
// IP), build the header, fragment to the link's MTU, and hand each piece to
// the link, which resolves the next hop's MAC address.
func (l *Layer) Send(o Outbound) error {
	if o.Frame == 0 {
		o.Frame = l.rec.NewFrameID()
	}
	l.stats.OutRequests++
	r, ok := l.routes.Lookup(o.Dst)
	if !ok {
		l.stats.OutNoRoutes++
		l.dropf(o.Frame, "route", viz.ReasonNoRoute, "no route to %s", viz.Addr(o.Dst))
		return ErrNoRoute
	}
	if !o.Src.IsValid() {
		o.Src = r.Src
	}
	if !o.Src.Is4() {
		// A route through a link where this host has no address.
		l.stats.OutNoRoutes++
		l.dropf(o.Frame, "route", viz.ReasonNoRoute, "no source address on %s to reach %s", viz.Str(r.Link.Name()), viz.Addr(o.Dst))
		return ErrNoRoute
	}
	ttl := o.TTL
	if ttl == 0 {
		ttl = l.ttl
	}
	// The Identification: counted per destination from a keyed start,
	// not from one counter for the host (RFC 6864 §4, ident.go).
	id := l.ids.next(o.Src, o.Dst, o.Protocol)
	h := IPv4Header{TOS: o.TOS, ID: id, DF: o.DF, TTL: ttl, Protocol: o.Protocol, Src: o.Src, Dst: o.Dst, Options: o.Options}
	return l.output(r, r.nextHop(h.Dst), h, o.Payload, o.Frame, "send")
}

// output fragments a datagram to the route's link MTU and sends the pieces
// to next, a neighbour on that link; step is "send" for datagrams this host
// originates, "forward" for others.
func (l *Layer) output(r Route, next netip.Addr, h IPv4Header, payload []byte, frame uint64, step string) error {
	link := r.Link
	var pieces [][]byte
	var err error
	if len(h.Options) == 0 && IPv4MinHeaderLen+len(payload) <= link.MTU() && !l.txBusy {
		// The common case, one piece without options: built in the
		// layer's own buffer (see Layer.txBuf).
		l.txBuf = append(h.Append(l.txBuf[:0], len(payload)), payload...)
		l.txOne[0] = l.txBuf
		pieces = l.txOne[:]
		l.txBusy = true
		defer func() { l.txBusy = false }()
	} else {
		pieces, err = FragmentDatagram(h, payload, link.MTU())
	}
	if err != nil {
		var fn *FragNeededError
		if errors.As(err, &fn) {
			l.stats.FragFails++
			l.drop(frame, step, viz.ReasonFragNeeded, fn.Error())
			return ErrMessageTooLong
		}
		l.stats.OutDiscards++
		l.drop(frame, step, viz.ReasonIPMalformed, err.Error())
		return err
	}
	broadcast := l.isBroadcastOn(link, h.Dst)
	if len(pieces) > 1 {
		l.stats.FragOKs++
		l.stats.FragCreates += uint64(len(pieces))
	}
	for i, p := range pieces {
		id := frame
		if i > 0 {
			id = l.rec.NewFrameID()
		}
		if l.rec.On() {
			// "<summary>, to 10.0.0.2 on eth0"
			via := sendTo
			if r.Gateway.IsValid() {
				via = sendVia
			}
			if broadcast {
				via = sendBroadcast
			}
			var args stepArgs
			fragment := len(pieces) > 1
			if fragment {
				args.add(viz.Int(i+1), viz.Int(len(pieces)))
			}
			format := l.summaryFormat(IPv4(p), via, &args, fragment)
			if !broadcast {
				args.add(viz.Addr(next))
			}
			args.add(viz.Str(link.Name()))
			hf := headerFields(IPv4(p))
			var fields [9]viz.Field
			n := copy(fields[:], hf[:])
			if fragment {
				fields[n] = viz.Fv("fragment", viz.Ratio(uint32(i+1), uint32(len(pieces))))
				fields[n+1] = viz.Fv("datagram_frame", viz.U64(frame))
				n += 2
			}
			l.rec.Stepf(viz.Event{Layer: viz.LayerIP, Step: step, Verdict: viz.Send, Frame: id}, fields[:n], format, args.list()...)
		}
		if broadcast {
			err = link.OutputBroadcast(p, id)
		} else {
			err = link.Output(next, p, id)
		}
		if err != nil {
			l.stats.OutDiscards++
			return err // the link logged the drop with its reason
		}
	}
	return nil
}

// SourceFor returns the address this host sends from to reach dst.
func (l *Layer) SourceFor(dst netip.Addr) (netip.Addr, error) {
	r, ok := l.routes.Lookup(dst)
	if !ok {
		return netip.Addr{}, ErrNoRoute
	}
	return r.Src, nil
}

// RouteTo returns the route a datagram to dst takes.
func (l *Layer) RouteTo(dst netip.Addr) (Route, bool) { return l.routes.Lookup(dst) }

// MTUFor returns the MTU of the link a datagram to dst leaves by, or 0 if
// there is no route.
func (l *Layer) MTUFor(dst netip.Addr) int {
	r, ok := l.routes.Lookup(dst)
	if !ok {
		return 0
	}
	return r.Link.MTU()
}
