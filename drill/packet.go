package drill

import (
	"encoding/binary"
	"fmt"
	"strings"
	"time"

	"github.com/packetwalk/packetwalk/ip"
	"github.com/packetwalk/packetwalk/tcp"
)

// The two kinds of packet line. An inbound line ("<") is built into a
// frame exactly as written (flags, numbers, options in the order given)
// and injected from the remote peer. An outbound line (">") is matched
// field by field against the next segment packetwalk sent.
//
// Sequence numbers follow packetdrill: the script's numbers for the
// remote side are used as they are, while packetwalk's side is written
// relative to its initial sequence number (its SYN is "0:0(0)"), so the
// runner maps them: an inbound ack, an inbound SACK block and an inbound
// TS echo are shifted by what packetwalk chose; an outbound seq is
// compared after the same shift.

// scriptFlags writes flags the way scripts do: "S.", "P.", "R", ".".
func scriptFlags(f tcp.Flags) string {
	var b strings.Builder
	for _, x := range []struct {
		f tcp.Flags
		c byte
	}{{tcp.FlagSYN, 'S'}, {tcp.FlagFIN, 'F'}, {tcp.FlagPSH, 'P'}, {tcp.FlagRST, 'R'}, {tcp.FlagURG, 'U'}, {tcp.FlagECE, 'E'}, {tcp.FlagCWR, 'W'}, {tcp.FlagACK, '.'}} {
		if f&x.f != 0 {
			b.WriteByte(x.c)
		}
	}
	return b.String()
}

// ecnBits is the IP header's ECN field for a script's bracketed tag
// (RFC 3168 §5).
func ecnBits(tag string) (uint8, error) {
	switch tag {
	case "", "noecn":
		return 0, nil
	case "ect1":
		return 1, nil
	case "ect0", "ect01":
		return 2, nil
	case "ce":
		return 3, nil
	}
	return 0, fmt.Errorf("unknown ECN codepoint [%s]", tag)
}

// inject sends an inbound line's segment from the remote peer.
func (r *runner) inject(ev *Event, p *Packet) error {
	if p.Proto != "tcp" {
		return skipf("line %d: %s packets are not supported by packetwalk drill (TCP only)", ev.Line, strings.ToUpper(p.Proto))
	}
	flags, err := tcp.ParseFlags(p.Flags)
	if err != nil {
		return r.failf(ev.Line, "%v", err)
	}
	c := r.sut
	// A segment at a listener (or with no connection yet) opens a new
	// connection from a new remote port, as packetdrill's child sockets
	// do; everything else belongs to the connection under test.
	if c == nil || c.listening {
		local := r.bindPort
		if c != nil {
			local = c.localPort
		}
		c = &connUnderTest{localPort: local, remotePort: r.nextRemote}
		r.nextRemote++
		r.sut = c
	}
	opts, err := r.encodeOptions(ev.Line, p, c)
	if err != nil {
		return err
	}
	ack := uint32(0)
	if p.HasAck {
		ack = p.Ack + c.localOffset
	}
	win := uint32(65535) // packetdrill's default for an inbound line without win
	if p.HasWin {
		win = p.Win
	}
	if win > 0xffff {
		return r.failf(ev.Line, "win %d does not fit the 16-bit window field", win)
	}
	tos, err := ecnBits(p.ECN)
	if err != nil {
		return r.failf(ev.Line, "%v", err)
	}
	hl := tcp.MinHeaderLen + len(opts)
	segLen := hl + p.Len
	if segLen+ip.IPv4MinHeaderLen > 0xffff {
		return r.failf(ev.Line, "a segment of %d bytes does not fit in an IPv4 datagram", p.Len)
	}
	if ip.IPv4MinHeaderLen+segLen > r.mtu {
		// Linux's TUN device takes a packet larger than its MTU from
		// packetdrill; packetwalk's NIC drops the frame as too long.
		r.notef("line %d: a %d-byte datagram is larger than the MTU (%d): packetwalk's NIC drops it (frame_too_long); set --mtu to send it", ev.Line, ip.IPv4MinHeaderLen+segLen, r.mtu)
	}
	b := appendIPv4(make([]byte, 0, ip.IPv4MinHeaderLen+segLen), RemoteIP, LocalPrefix.Addr(), r.ipID, tos, 64, ip.ProtocolTCP, segLen)
	r.ipID++
	s := len(b)
	b = binary.BigEndian.AppendUint16(b, c.remotePort)
	b = binary.BigEndian.AppendUint16(b, c.localPort)
	b = binary.BigEndian.AppendUint32(b, p.Seq)
	b = binary.BigEndian.AppendUint32(b, ack)
	b = append(b, byte(hl/4)<<4, byte(flags))
	b = binary.BigEndian.AppendUint16(b, uint16(win))
	b = append(b, 0, 0)
	b = binary.BigEndian.AppendUint16(b, uint16(p.Urg))
	b = append(b, opts...)
	b = append(b, make([]byte, p.Len)...)
	binary.BigEndian.PutUint16(b[s+16:], ip.Checksum(b[s:], ip.PseudoHeaderSum(RemoteIP, LocalPrefix.Addr(), ip.ProtocolTCP, uint16(segLen))))
	r.peer.sendDatagram(r.host.Interfaces()[0].NIC.MAC(), b, ev.Line, "inbound")
	return nil
}

// encodeOptions builds an inbound line's option bytes in the order
// written, padded with End of Option List to a multiple of 4 (RFC 9293
// §3.1: the header ends on a 32-bit boundary).
func (r *runner) encodeOptions(line int, p *Packet, c *connUnderTest) ([]byte, error) {
	if p.OptionsAny {
		return nil, r.failf(line, "an inbound segment cannot have <...> options: the script must say what to send")
	}
	var b []byte
	for _, o := range p.Options {
		switch o.Kind {
		case "nop":
			b = append(b, 1)
		case "eol":
			b = append(b, 0)
		case "mss":
			b = append(b, 2, 4, byte(o.Value>>8), byte(o.Value))
		case "wscale":
			b = append(b, 3, 3, byte(o.Value))
		case "sackOK":
			b = append(b, 4, 2)
		case "sack":
			b = append(b, 5, byte(2+8*len(o.SACK)))
			for _, blk := range o.SACK {
				b = binary.BigEndian.AppendUint32(b, blk[0]+c.localOffset)
				b = binary.BigEndian.AppendUint32(b, blk[1]+c.localOffset)
			}
		case "TS":
			b = append(b, 8, 10)
			b = binary.BigEndian.AppendUint32(b, o.TSVal)
			b = binary.BigEndian.AppendUint32(b, o.TSEcr+c.tsOffset)
		default:
			return nil, skipf("line %d: the TCP option %q is not supported by packetwalk drill", line, o.Raw)
		}
	}
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	if len(b) > tcp.MaxOptionsLen {
		return nil, r.failf(line, "the options take %d bytes, more than the 40 a TCP header holds", len(b))
	}
	return b, nil
}

// expect takes the next segment packetwalk sent and matches it against an
// outbound line: flags, sequence number, length, acknowledgment, window,
// options, then the time.
func (r *runner) expect(ev *Event, p *Packet, start, end time.Duration) error {
	if p.Proto != "tcp" {
		return skipf("line %d: %s packets are not supported by packetwalk drill (TCP only)", ev.Line, strings.ToUpper(p.Proto))
	}
	want, err := tcp.ParseFlags(p.Flags)
	if err != nil {
		return r.failf(ev.Line, "%v", err)
	}
	// Like packetdrill, start looking at once: a segment sent too early
	// is reported with its time, not missed.
	deadline := max(start, end) + r.toleranceFor(max(start, end)) + outboundGrace
	if ev.Kind == TimeAny {
		deadline = r.now() + blockedLimit
	}
	got, ok, err := r.nextSent(deadline)
	if err != nil {
		return err
	}
	if !ok {
		return r.failf(ev.Line, "outbound segment: expected %s at %s, packetwalk sent nothing by %s", describe(p), secs(start), secs(deadline))
	}
	c := r.sut
	if c == nil {
		c = &connUnderTest{localPort: r.bindPort, remotePort: DefaultPort}
		r.sut = c
	}
	seg := got.seg
	flags := seg.Flags()
	// packetwalk's SYN or SYN+ACK fixes its initial sequence number.
	if flags&tcp.FlagSYN != 0 && !c.localKnown {
		c.localOffset = uint32(seg.Seq()) - p.Seq
		c.localKnown = true
	}
	if c.connecting && flags&tcp.FlagSYN != 0 {
		c.localPort, c.connecting = seg.SrcPort(), false
	}
	tol := r.toleranceFor(max(start, end))
	when := fmt.Sprintf("expected at %s, sent at %s", secs(start), secs(got.at))
	if ev.HasEnd {
		when = fmt.Sprintf("expected between %s and %s, sent at %s", secs(start), secs(end), secs(got.at))
	}
	mismatch := func(format string, args ...any) error {
		return r.failf(ev.Line, "outbound segment: %s; %s", fmt.Sprintf(format, args...), when)
	}
	// PSH is the sender's to set (RFC 9293 §3.9.1: a TCP may set it on
	// whichever segments end a write, or on none); relaxed mode leaves
	// it out of the comparison.
	if r.cfg.Relaxed {
		flags &^= tcp.FlagPSH
		want &^= tcp.FlagPSH
	}
	// A line that stands for a TSO/GSO jumbogram (below) has its FIN and
	// PSH on the last of packetwalk's segments only, as Linux's GSO
	// splits one (tcp_gso_segment keeps them for the last).
	firstWant := want
	if n := len(seg.Payload()); n > 0 && n < p.Len {
		firstWant &^= tcp.FlagFIN | tcp.FlagPSH
	}
	if flags != firstWant {
		return mismatch("expected flags %s, got %s (%s)", scriptFlags(firstWant), scriptFlags(flags), seg.SummaryWith(got.ip.Src(), got.ip.Dst()))
	}
	if got.ip.Dst() != RemoteIP || seg.DstPort() != c.remotePort && c.remotePort != 0 {
		return mismatch("expected a segment to %s.%d, got one to %s.%d", RemoteIP, c.remotePort, got.ip.Dst(), seg.DstPort())
	}
	if s := uint32(seg.Seq()) - c.localOffset; s != p.Seq {
		return mismatch("expected seq %d, got seq %d", p.Seq, s)
	}
	if n := len(seg.Payload()); n != p.Len {
		// Like packetdrill, a line may stand for a TSO/GSO jumbogram:
		// Linux hands it to the TUN device whole, packetwalk sends it
		// as segments of one MSS. Consecutive segments that together
		// carry the line's bytes match it.
		if n == 0 || n > p.Len {
			return mismatch("expected %d bytes of data, got %d", p.Len, n)
		}
		if err := r.gatherJumbogram(ev, p, got, want, deadline, mismatch); err != nil {
			return err
		}
	}
	if p.HasAck && flags&tcp.FlagACK != 0 && uint32(seg.Ack()) != p.Ack {
		return mismatch("expected ack %d, got ack %d", p.Ack, uint32(seg.Ack()))
	}
	if p.HasWin && !r.cfg.Relaxed && uint32(seg.Window()) != p.Win {
		return mismatch("expected win %d, got win %d", p.Win, seg.Window())
	}
	if p.HasUrg && uint32(seg.Urgent()) != p.Urg {
		return mismatch("expected urg %d, got urg %d", p.Urg, seg.Urgent())
	}
	if msg := r.matchOptions(p, seg, c); msg != "" {
		return mismatch("%s", msg)
	}
	if p.ECN != "" && !r.cfg.Relaxed {
		bits, err := ecnBits(p.ECN)
		if err != nil {
			return r.failf(ev.Line, "%v", err)
		}
		if got.ip.TOS()&3 != bits && !(p.ECN == "ect01" && got.ip.TOS()&3 != 0 && got.ip.TOS()&3 != 3) {
			return mismatch("expected ECN [%s], got ECN field %d", p.ECN, got.ip.TOS()&3)
		}
	}
	if ev.Kind != TimeAny && (got.at < start-tol || got.at > end+tol) {
		return r.failf(ev.Line, "outbound segment: the segment is right but its time is not: %s (tolerance %s)", when, secs(tol))
	}
	r.logLine(ev, "packetwalk sent %s as expected (frame #%d)", describe(p), got.frame)
	return nil
}

// gatherJumbogram takes the segments that continue first until they
// carry the line's p.Len bytes, each right after the one before, with the
// line's flags on the last and those less FIN and PSH on the others.
func (r *runner) gatherJumbogram(ev *Event, p *Packet, first sniffed, want tcp.Flags, deadline time.Duration, mismatch func(string, ...any) error) error {
	total := len(first.seg.Payload())
	next := uint32(first.seg.Seq()) + uint32(total)
	for total < p.Len {
		s, ok, err := r.nextSent(deadline)
		if err != nil {
			return err
		}
		if !ok {
			return mismatch("expected %d bytes of data, packetwalk sent %d and then nothing", p.Len, total)
		}
		n := len(s.seg.Payload())
		switch {
		case uint32(s.seg.Seq()) != next:
			return mismatch("expected %d bytes of data in consecutive segments; after %d bytes the next one starts at seq %d", p.Len, total, uint32(s.seg.Seq())-r.sut.localOffset)
		case n == 0 || total+n > p.Len:
			return mismatch("expected %d bytes of data, got %d in consecutive segments", p.Len, total+n)
		case s.seg.Ack() != first.seg.Ack():
			return mismatch("expected ack %d on every segment of the %d bytes, got %d", p.Ack, p.Len, uint32(s.seg.Ack()))
		}
		w, f := want, s.seg.Flags()
		if r.cfg.Relaxed {
			f &^= tcp.FlagPSH
		}
		if total+n < p.Len {
			w &^= tcp.FlagFIN | tcp.FlagPSH
		}
		if f != w {
			return mismatch("expected flags %s on the segment at %d of the %d bytes, got %s", scriptFlags(w), total, p.Len, scriptFlags(f))
		}
		total += n
		next += uint32(n)
	}
	return nil
}

// nextSent waits until packetwalk has sent a segment to the remote's
// connection, or until deadline.
func (r *runner) nextSent(deadline time.Duration) (sniffed, bool, error) {
	err := r.runUntil(deadline, func() bool { return len(r.peer.sent) > 0 })
	if err != nil || len(r.peer.sent) == 0 {
		return sniffed{}, false, err
	}
	s := r.peer.sent[0]
	r.peer.sent = r.peer.sent[1:]
	return s, true, nil
}

// describe writes a packet line back in the script's notation.
func describe(p *Packet) string {
	s := fmt.Sprintf("%s %d:%d(%d)", p.Flags, p.Seq, p.SeqEnd, p.Len)
	if p.HasAck {
		s += fmt.Sprintf(" ack %d", p.Ack)
	}
	if p.HasWin {
		s += fmt.Sprintf(" win %d", p.Win)
	}
	return s
}

// matchOptions compares an outbound segment's options with the line's.
// "<...>" accepts any; relaxed mode compares only SACK blocks, whose
// content is protocol (which data the receiver holds); strict mode
// compares every option in order, the echo of a TS included, and its value
// on packetwalk's clock (tsValMatch).
func (r *runner) matchOptions(p *Packet, seg tcp.Segment, c *connUnderTest) string {
	if p.OptionsAny {
		return ""
	}
	got, err := parseOptionList(seg.Options())
	if err != nil {
		return err.Error()
	}
	// Learn packetwalk's timestamp clock from the first TS it sends.
	for _, o := range got {
		if o.Kind == "TS" && !c.tsKnown {
			for _, w := range p.Options {
				if w.Kind == "TS" {
					c.tsOffset, c.tsKnown = o.TSVal-w.TSVal, true
				}
			}
		}
	}
	if r.cfg.Relaxed {
		ws, gs := sackOf(p.Options), sackOf(got)
		if ws != gs {
			return fmt.Sprintf("expected SACK blocks [%s], got [%s]", ws, gs)
		}
		return ""
	}
	want := p.Options
	if optionsText(want, true) != optionsText(got, true) {
		return fmt.Sprintf("expected options <%s>, got <%s>", optionsText(want, false), optionsText(got, false))
	}
	return r.tsValMatch(want, got, c)
}

// tsValMatch checks the TS value of an outbound segment in strict mode.
// packetwalk's clock starts where its first TS says (the script's value
// there is mapped to it, like its sequence numbers) and ticks every
// millisecond, as Linux's does (RFC 7323 §5.4); a script writes the value
// the clock shows at the segment's time, so a later value must have
// advanced by the script's difference, within the time tolerance.
func (r *runner) tsValMatch(want, got []TCPOption, c *connUnderTest) string {
	for i, w := range want {
		if w.Kind != "TS" || i >= len(got) || got[i].Kind != "TS" {
			continue
		}
		live := got[i].TSVal - c.tsOffset
		slack := int64(r.tolerance/time.Millisecond) + 1
		if d := int64(int32(live - w.TSVal)); d < -slack || d > slack {
			return fmt.Sprintf("expected TS val %d, got %d on the script's clock (packetwalk's clock ticks every 1 ms from its first TS; tolerance %d)", w.TSVal, live, slack)
		}
	}
	return ""
}

// parseOptionList reads an option area into the script's notation.
func parseOptionList(b []byte) ([]TCPOption, error) {
	var out []TCPOption
	for i := 0; i < len(b); {
		switch b[i] {
		case 0:
			out = append(out, TCPOption{Kind: "eol"})
			i++
			continue
		case 1:
			out = append(out, TCPOption{Kind: "nop"})
			i++
			continue
		}
		if i+1 >= len(b) || b[i+1] < 2 || i+int(b[i+1]) > len(b) {
			return nil, fmt.Errorf("packetwalk sent a malformed option area % x", b)
		}
		kind, n, d := b[i], int(b[i+1]), b[i+2:i+int(b[i+1])]
		switch {
		case kind == 2 && n == 4:
			out = append(out, TCPOption{Kind: "mss", Value: uint32(binary.BigEndian.Uint16(d))})
		case kind == 3 && n == 3:
			out = append(out, TCPOption{Kind: "wscale", Value: uint32(d[0])})
		case kind == 4 && n == 2:
			out = append(out, TCPOption{Kind: "sackOK"})
		case kind == 5 && (n-2)%8 == 0:
			o := TCPOption{Kind: "sack"}
			for j := 0; j+8 <= len(d); j += 8 {
				o.SACK = append(o.SACK, [2]uint32{binary.BigEndian.Uint32(d[j:]), binary.BigEndian.Uint32(d[j+4:])})
			}
			out = append(out, o)
		case kind == 8 && n == 10:
			out = append(out, TCPOption{Kind: "TS", TSVal: binary.BigEndian.Uint32(d), TSEcr: binary.BigEndian.Uint32(d[4:])})
		default:
			out = append(out, TCPOption{Kind: fmt.Sprintf("kind%d", kind), Raw: fmt.Sprintf("% x", b[i:i+n])})
		}
		i += n
	}
	return out, nil
}

func sackOf(opts []TCPOption) string {
	var s []string
	for _, o := range opts {
		if o.Kind == "sack" {
			for _, b := range o.SACK {
				s = append(s, fmt.Sprintf("%d:%d", b[0], b[1]))
			}
		}
	}
	return strings.Join(s, " ")
}

// optionsText writes options as a script does; forCompare leaves out the
// TS value, which only packetwalk's clock decides.
func optionsText(opts []TCPOption, forCompare bool) string {
	var s []string
	for _, o := range opts {
		switch o.Kind {
		case "mss", "wscale":
			s = append(s, fmt.Sprintf("%s %d", o.Kind, o.Value))
		case "sack":
			s = append(s, "sack "+sackOf([]TCPOption{o}))
		case "TS":
			if forCompare {
				s = append(s, fmt.Sprintf("TS val * ecr %d", o.TSEcr))
			} else {
				s = append(s, fmt.Sprintf("TS val %d ecr %d", o.TSVal, o.TSEcr))
			}
		case "nop", "eol", "sackOK":
			s = append(s, o.Kind)
		default:
			s = append(s, o.Kind+" "+o.Raw)
		}
	}
	return strings.Join(s, ",")
}
