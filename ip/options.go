package ip

import (
	"encoding/binary"
	"net/netip"
	"strings"

	"github.com/packetwalk/packetwalk/viz"
)

// What a host does with the options of a datagram it receives (RFC 791
// §3.1, RFC 1122 §3.2.1.8), in the order Linux's ip_options_compile does
// it, after the route decision:
//
//	every option: a length byte, 2 <= length <= bytes left    -> pointer at the option
//	record route (7), at most once; length >= 3, pointer >= 4,
//	  and if the pointer is inside the option, room for 4 bytes:
//	  write this host's address at the pointer, pointer += 4   -> pointer at the bad byte
//	timestamp (68), at most once; length >= 4, pointer >= 5:
//	  flag 0: write the time; flag 1: address and time;
//	  flag 3: the time, if the prespecified address is ours;
//	  full: count the hop in the overflow nibble (< 15)        -> pointer at the bad byte
//	source routes (131, 137), at most one; length >= 3,
//	  pointer >= 4 (checked, not acted on)
//	router alert (148): length >= 4
//	any other option: ignored (RFC 1122 §3.2.1.8: "MUST ignore
//	  unrecognized options")
//
// A malformed option discards the datagram (ip_options_malformed) and its
// sender gets ICMP Parameter Problem with the pointer at the offending
// octet (RFC 1122 §3.2.2.5, RFC 792). An echo reply carries the request's
// Record Route and Timestamp options, with this host recorded once more
// as the reply leaves (RFC 1122 §3.2.2.6; Linux's ip_options_echo), so
// that `ping -R` shows the whole round trip.

// Timestamp option flags (RFC 791 §3.1, the low nibble of its fourth
// byte).
const (
	tsOnly     = 0 // time stamps only
	tsAndAddr  = 1 // each stamp preceded by the stamping host's address
	tsPrespec  = 3 // the sender named the hosts that stamp
	tsMaxOflw  = 15
	tsOflwMask = 0xf0
)

// optionsInfo says where the options a datagram carries are: offsets from
// the start of the header, 0 when absent.
type optionsInfo struct {
	rr, ts, srr int
}

// optionStamp is what compileOptions writes as this host's entry: the
// address for Record Route and Timestamp flag 1, the time for Timestamp.
// With write false it only checks.
type optionStamp struct {
	write bool
	addr  [4]byte
	time  uint32
	// local reports whether a prespecified timestamp address names this
	// host (Linux: inet_addr_type is not RTN_UNICAST); nil: never.
	local func(netip.Addr) bool
	// departure marks the stamp an echo reply gets as it leaves: a full
	// Timestamp is copied as it is, its overflow was counted on arrival.
	departure bool
}

// compileOptions walks the options of header h (h[:HeaderLen]) and checks
// them as the table at the top of this file says, writing st's entries
// into Record Route and Timestamp when st.write is set (h must then be a
// copy). The *CheckError names the octet of the header at fault in
// Pointer.
func compileOptions(h []byte, st *optionStamp) (info optionsInfo, err *CheckError) {
	hl := IPv4(h).HeaderLen()
	opts := h[IPv4MinHeaderLen:hl]
	bad := func(at, pointer int, format string, args ...any) *CheckError {
		ce := checkErr(viz.ReasonIPOptionsMalformed, "%s option at options byte %d "+format,
			append([]any{OptionType(opts[at]), at}, args...)...)
		ce.Pointer = IPv4MinHeaderLen + pointer
		return ce
	}
	for at := 0; at < len(opts); {
		o, e := nextOption(opts, at)
		if e != nil {
			ce := e.(*CheckError)
			ce.Pointer = IPv4MinHeaderLen + at
			return info, ce
		}
		off := IPv4MinHeaderLen + at
		n := len(o)
		switch o.Type() {
		case OptionEOL:
			return info, nil
		case OptionRecordRoute:
			if info.rr != 0 {
				return info, bad(at, at, "repeats it: RFC 791 allows it once")
			}
			if n < 3 {
				return info, bad(at, at+1, "has length %d, no room for its pointer", n)
			}
			p := int(o[2])
			if p < 4 {
				return info, bad(at, at+2, "has pointer %d, below the minimum of 4", p)
			}
			if p <= n {
				if p+3 > n {
					return info, bad(at, at+2, "has pointer %d: %d bytes left for a 4-byte address", p, n-p+1)
				}
				if st != nil && st.write {
					copy(o[p-1:p+3], st.addr[:])
					o[2] += 4
				}
			}
			info.rr = off
		case OptionTimestamp:
			if info.ts != 0 {
				return info, bad(at, at, "repeats it: RFC 791 allows it once")
			}
			if n < 4 {
				return info, bad(at, at+1, "has length %d, no room for its pointer and flags", n)
			}
			p := int(o[2])
			if p < 5 {
				return info, bad(at, at+2, "has pointer %d, below the minimum of 5", p)
			}
			flag, oflw := o[3]&0x0f, o[3]>>4
			if p <= n {
				if p+3 > n {
					return info, bad(at, at+2, "has pointer %d: %d bytes left for a 4-byte timestamp", p, n-p+1)
				}
				write := st != nil && st.write
				switch flag {
				case tsOnly:
					if write {
						binary.BigEndian.PutUint32(o[p-1:], st.time)
						o[2] += 4
					}
				case tsAndAddr, tsPrespec:
					if p+7 > n {
						return info, bad(at, at+2, "has pointer %d: %d bytes left for an 8-byte address and timestamp", p, n-p+1)
					}
					if flag == tsPrespec {
						// Only the host the sender named stamps.
						a := netip.AddrFrom4([4]byte(o[p-1 : p+3]))
						if st == nil || st.local == nil || !st.local(a) {
							break
						}
					}
					if write {
						if flag == tsAndAddr {
							copy(o[p-1:p+3], st.addr[:])
						}
						binary.BigEndian.PutUint32(o[p+3:], st.time)
						o[2] += 8
					}
				}
				// Other flags: not defined by RFC 791; Linux leaves
				// such an option alone on a received datagram.
			} else if flag != tsPrespec && !(st != nil && st.departure) {
				// Full: the hop is counted in the overflow nibble.
				if oflw == tsMaxOflw {
					return info, bad(at, at+3, "is full and its overflow count is already %d", tsMaxOflw)
				}
				if st != nil && st.write {
					o[3] = (oflw+1)<<4 | flag
				}
			}
			info.ts = off
		case OptionLSRR, OptionSSRR:
			if n < 3 {
				return info, bad(at, at+1, "has length %d, no room for its pointer", n)
			}
			if p := int(o[2]); p < 4 {
				return info, bad(at, at+2, "has pointer %d, below the minimum of 4", p)
			}
			if info.srr != 0 {
				return info, bad(at, at, "follows another source route option: RFC 791 allows one")
			}
			info.srr = off
		case OptionRouterAlert:
			if n < 4 {
				return info, bad(at, at+1, "has length %d, RFC 2113 says 4", n)
			}
		}
		at += n
	}
	return info, nil
}

// tsLocal reports whether a prespecified timestamp address asks this host
// for a stamp: one of its addresses or broadcasts, or an address no single
// remote host has (Linux stamps unless inet_addr_type says RTN_UNICAST).
func (l *Layer) tsLocal(a netip.Addr) bool {
	if mine, _ := l.IsMine(a); mine {
		return true
	}
	return a.As4()[0] == 0 || a.IsMulticast()
}

// timestamp is this host's Timestamp option value: milliseconds since the
// run started, which is not "milliseconds since midnight UT", so the high
// bit is set as RFC 791 §3.1 asks of a non-standard time.
func (l *Layer) timestamp() uint32 {
	return uint32(l.clock.Now().Milliseconds())&0x7fffffff | 0x80000000
}

// specDst is the address this host records in a datagram's options: the
// one it was sent to, or for a broadcast this host's address on the link
// it came in by (Linux: fib_compute_spec_dst).
func (l *Layer) specDst(link Link, src, dst netip.Addr, broadcast bool) netip.Addr {
	if !broadcast {
		return dst
	}
	var first netip.Addr
	for _, a := range l.addrs {
		if a.link != link {
			continue
		}
		if a.prefix.Contains(src) {
			return a.prefix.Addr()
		}
		if !first.IsValid() {
			first = a.prefix.Addr()
		}
	}
	if !first.IsValid() {
		first, _ = l.SourceFor(src)
	}
	return first
}

// receiveOptions is the ip_options step of a datagram for this host: it
// checks the options and returns a copy of the header with this host
// recorded in Record Route and Timestamp, its checksum recomputed; or
// drops the datagram, answering ICMP Parameter Problem, and returns nil.
func (l *Layer) receiveOptions(in Inbound, h IPv4, broadcast bool) IPv4 {
	hl := h.HeaderLen()
	hdr := IPv4(append(make([]byte, 0, hl), h[:hl]...))
	me := l.specDst(in.Link, h.Src(), h.Dst(), broadcast)
	st := &optionStamp{write: me.Is4(), time: l.timestamp(), local: l.tsLocal}
	if me.Is4() {
		st.addr = me.As4()
	}
	if _, ce := compileOptions(hdr, st); ce != nil {
		l.optionsProblem(in, h, ce, broadcast)
		return nil
	}
	binary.BigEndian.PutUint16(hdr[ipChecksum:], 0)
	binary.BigEndian.PutUint16(hdr[ipChecksum:], hdr.ComputeChecksum())
	if l.rec.On() {
		var args optionArgs
		format := describeOptions(h.Options(), hdr.Options(), me, &args) + " (RFC 791 §3.1, RFC 1122 §3.2.1.8)"
		l.rec.Stepf(viz.Event{Layer: viz.LayerIP, Step: "ip_options", Verdict: viz.Pass, Frame: in.Frame},
			[]viz.Field{viz.F("options", OptionNames(h.Options()))}, format, args.list()...)
	}
	return hdr
}

// optionsProblem drops datagram h for its malformed option ce and answers
// with Parameter Problem, its pointer at the octet at fault (RFC 1122
// §3.2.2.5, RFC 792), where the rules for ICMP errors allow one.
func (l *Layer) optionsProblem(in Inbound, h IPv4, ce *CheckError, broadcast bool) {
	l.stats.InHdrErrors++
	why := l.icmpErrorForbidden(h, h.Payload())
	switch {
	case in.LinkBroadcast || broadcast:
		why = "it came to a broadcast address"
	}
	if l.rec.On() {
		// ce.Msg was made with the error, which the check returns
		// whether or not anybody listens.
		ev := viz.Event{Layer: viz.LayerIP, Step: "ip_options", Verdict: viz.Drop, Reason: ce.Reason, Frame: in.Frame}
		fields := []viz.Field{viz.Fv("pointer", viz.Int(ce.Pointer))}
		if why != "" {
			l.rec.Stepf(ev, fields, "%s: discarded, and no Parameter Problem goes back: %s (RFC 1122 §3.2.2)",
				viz.Str(ce.Msg), viz.Str(why))
		} else {
			l.rec.Stepf(ev, fields, "%s: discarded; the sender gets ICMP Parameter Problem, pointer %d (RFC 1122 §3.2.2.5, RFC 792)",
				viz.Str(ce.Msg), viz.Int(ce.Pointer))
		}
	}
	if why == "" {
		l.SendICMPError(h, h.Payload(), ICMPParameterProblem, ICMPPointerIndicatesError, ce.Pointer, in.Frame)
	}
}

// optionArgs are the typed arguments of an ip_options step's sentence,
// on the caller's stack for the usual few options.
type optionArgs struct {
	a    [8]viz.Arg
	more []viz.Arg
	n    int
}

func (o *optionArgs) add(a ...viz.Arg) {
	for _, x := range a {
		if o.n < len(o.a) {
			o.a[o.n] = x
		} else {
			o.more = append(o.more, x)
		}
		o.n++
	}
}

func (o *optionArgs) list() []viz.Arg {
	if o.n <= len(o.a) {
		return o.a[:o.n]
	}
	return append(o.a[:], o.more...)
}

// describeOptions says what the ip_options step did with each option:
// before is the options as they arrived, after with this host's entries.
// It returns the sentence as a format, joined from constant pieces, and
// adds its arguments to args; the sinks make the text.
func describeOptions(before, after []byte, me netip.Addr, args *optionArgs) string {
	var parts []string
	for at := 0; at < len(before); {
		o, err := nextOption(before, at)
		if err != nil || o.Type() == OptionEOL {
			break
		}
		a := Option(after[at : at+len(o)])
		switch t := o.Type(); t {
		case OptionNOP:
		case OptionRecordRoute:
			slots := (len(o) - 3) / 4
			if a[2] != o[2] {
				parts = append(parts, "record route: %s recorded in slot %d of %d")
				args.add(viz.Addr(me), viz.Int((int(o[2])-4)/4+1), viz.Int(slots))
			} else {
				parts = append(parts, "record route: all %d slots used, nothing recorded")
				args.add(viz.Int(slots))
			}
		case OptionTimestamp:
			switch {
			case a[2] != o[2]:
				ms := binary.BigEndian.Uint32(a[int(a[2])-5:]) &^ 0x80000000
				if o[3]&0x0f == tsAndAddr {
					parts = append(parts, "timestamp (flag %d): %s stamped at %d ms into the run (high bit set: not time since midnight UT)")
					args.add(viz.Int(int(o[3]&0x0f)), viz.Addr(me), viz.U32(ms))
				} else {
					parts = append(parts, "timestamp (flag %d): stamped at %d ms into the run (high bit set: not time since midnight UT)")
					args.add(viz.Int(int(o[3]&0x0f)), viz.U32(ms))
				}
			case a[3] != o[3]:
				parts = append(parts, "timestamp full: overflow count %d -> %d")
				args.add(viz.Int(int(o[3]>>4)), viz.Int(int(a[3]>>4)))
			default:
				parts = append(parts, "timestamp: not for this host to stamp")
			}
		case OptionLSRR, OptionSSRR:
			parts = append(parts, "%s: not acted on (this host does not source-route)")
			args.add(viz.Str(t.String()))
		case OptionRouterAlert:
			parts = append(parts, "router alert: nothing for a host to do")
		default:
			parts = append(parts, "%s (%d bytes): not known here, ignored")
			args.add(viz.Str(t.String()), viz.Int(len(o)))
		}
		at += len(o)
	}
	if len(parts) == 0 {
		return "options: padding only"
	}
	return "options: " + strings.Join(parts, "; ")
}

// OptionNames lists the options' names for a step's fields, "record
// route,no-op".
func OptionNames(opts []byte) string {
	var names []string
	for at := 0; at < len(opts); {
		o, err := nextOption(opts, at)
		if err != nil || o.Type() == OptionEOL {
			break
		}
		names = append(names, o.Type().String())
		at += len(o)
	}
	return strings.Join(names, ",")
}

// EchoOptions returns the options of an echo reply to a request whose
// header, as received and recorded (receiveOptions), is h: its Record
// Route and Timestamp, in that order, with the reply's source src
// recorded once more as the reply leaves, padded to a multiple of 4
// (RFC 1122 §3.2.2.6: "SHOULD be updated to include the current host and
// included in the IP header of the Echo Reply message, without
// truncation"; Linux's ip_options_echo and ip_options_build). Other
// options are not echoed. A *CheckError means an option had room for this
// host on arrival but not on departure; Linux then sends no reply.
func (l *Layer) EchoOptions(h IPv4, src netip.Addr) ([]byte, error) {
	// The arrival's check let at most one of each through.
	var rr, ts Option
	opts := h.Options()
	for at := 0; at < len(opts); {
		o, err := nextOption(opts, at)
		if err != nil || o.Type() == OptionEOL {
			break
		}
		switch o.Type() {
		case OptionRecordRoute:
			rr = o
		case OptionTimestamp:
			ts = o
		}
		at += len(o)
	}
	if rr == nil && ts == nil {
		return nil, nil
	}
	out := append(append([]byte(nil), rr...), ts...)
	for len(out)%4 != 0 {
		out = append(out, byte(OptionEOL))
	}
	// Stamp the copy as compileOptions stamps a hop, inside a header
	// made for the purpose.
	hdr := IPv4Header{Src: src, Dst: h.Src(), TTL: 1, Options: out}.Append(nil, 0)
	st := &optionStamp{write: true, addr: src.As4(), time: l.timestamp(), local: l.tsLocal, departure: true}
	if _, ce := compileOptions(hdr, st); ce != nil {
		return nil, ce
	}
	return hdr[IPv4MinHeaderLen:], nil
}

// RecordedRoute lists the addresses a Record Route option in opts holds,
// for narration; "" without one.
func RecordedRoute(opts []byte) string {
	for at := 0; at < len(opts); {
		o, err := nextOption(opts, at)
		if err != nil || o.Type() == OptionEOL {
			break
		}
		if o.Type() == OptionRecordRoute && len(o) >= 3 {
			var addrs []string
			for i := 3; i+4 <= min(int(o[2])-1, len(o)); i += 4 {
				addrs = append(addrs, netip.AddrFrom4([4]byte(o[i:i+4])).String())
			}
			return strings.Join(addrs, " ")
		}
		at += len(o)
	}
	return ""
}
