package drill

import (
	"bytes"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// This file is a recursive-descent parser for the packetdrill language
// as google/packetdrill accepts it (its grammar is printed in the
// project's syntax.md) plus the extensions of NPLab's fork that the
// FreeBSD tcp-testsuite uses. A script is
//
//	--options, one a line
//	an optional `command` without a time, run first
//	events: a time, then a packet, a system call, a `command` or %{ code }%
//	an optional `command` without a time, run last
//
// Line breaks carry no meaning: an event ends where its grammar ends,
// and the next one starts with a time ("0.100", "+.1", "*").

// Limits that keep a hostile or broken script from using unbounded
// memory or stack.
const (
	maxScriptBytes = 4 << 20 // 4 MiB; the largest public script is 12 KB
	maxDepth       = 32      // nesting of [ ], { } and calls in expressions
	maxItems       = 1024    // items of one list, struct or A|B|C expression
	maxTCPOptions  = 40      // a TCP header has 40 bytes for options
	maxSACKBlocks  = 4       // 2 + 4*8 bytes; a fifth block does not fit
)

// SyntaxError is a problem with a script, reported at the line where it
// was found.
type SyntaxError struct {
	File string
	Line int
	Msg  string
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
}

// Parse reads a packetdrill script. Errors are *SyntaxError, printed
// "file:line: sentence".
func Parse(name string, src []byte) (script *Script, err error) {
	if len(src) > maxScriptBytes {
		return nil, &SyntaxError{File: name, Line: 1, Msg: fmt.Sprintf(
			"the script is %d bytes long; scripts are limited to %d MiB", len(src), maxScriptBytes>>20)}
	}
	p := &parser{lx: newLexer(name, src), src: src, script: &Script{Name: name}}
	// The parser reports an error by panicking with a *SyntaxError
	// (see errorf), which keeps the many "expect this token" steps
	// short. Only that type is recovered: any other panic is a bug
	// and must stay visible.
	defer func() {
		if r := recover(); r != nil {
			se, ok := r.(*SyntaxError)
			if !ok {
				panic(r)
			}
			script, err = nil, se
		}
	}()
	p.advance()
	p.parseScript()
	return p.script, nil
}

// parser holds the state of one Parse call.
type parser struct {
	lx     *lexer
	src    []byte
	tok    token // the current token, not yet consumed
	prev   token // the token consumed last
	depth  int   // current nesting of expressions
	script *Script

	// ifdef is the NAME of the open "#ifdef NAME" block, or "";
	// ifdefLine is its line.
	ifdef     string
	ifdefLine int
}

// advance consumes the current token and returns it.
func (p *parser) advance() token {
	p.prev = p.tok
	p.tok = p.lx.next()
	return p.prev
}

// errorf reports a syntax error at line.
func (p *parser) errorf(line int, format string, args ...any) {
	panic(&SyntaxError{File: p.lx.file, Line: line, Msg: fmt.Sprintf(format, args...)})
}

// expect consumes the punctuation c, or reports what was found
// instead; context completes the sentence "expected c ...".
func (p *parser) expect(c byte, context string) token {
	if !p.tok.is(c) {
		p.errorf(p.tok.line, "expected %q %s, found %s", string(c), context, p.tok.describe())
	}
	return p.advance()
}

// expectWord consumes the word w.
func (p *parser) expectWord(w, context string) {
	if !p.tok.isWord(w) {
		p.errorf(p.tok.line, "expected %q %s, found %s", w, context, p.tok.describe())
	}
	p.advance()
}

// textFrom returns the source text from byte offset start to the end of
// the token consumed last.
func (p *parser) textFrom(start int) string {
	if p.prev.end < start {
		return ""
	}
	return string(p.src[start:p.prev.end])
}

// ---- The script ----

func (p *parser) parseScript() {
	p.parseOptions()
	p.parseConditionals()
	if p.tok.kind == tCommand {
		p.script.InitCommand = p.parseUntimedCommand()
	}
	for {
		p.parseConditionals()
		switch p.tok.kind {
		case tEOF:
			p.finish()
			return
		case tOption:
			p.errorf(p.tok.line, "option --%s must come first, before any event or `command`", p.tok.text)
		case tCommand:
			// A command without a time after the events is the
			// cleanup command, and nothing may follow it.
			p.script.CleanupCommand = p.parseUntimedCommand()
			p.parseConditionals()
			if p.tok.kind != tEOF {
				p.errorf(p.script.CleanupCommand.Line,
					"this `command` has no time: only a `command` before the first event or after the last one may go without")
			}
			continue
		}
		p.script.Events = append(p.script.Events, p.parseEvent())
	}
}

// finish checks the script as a whole once all of it is read.
func (p *parser) finish() {
	if p.ifdef != "" {
		p.errorf(p.ifdefLine, "#ifdef %s is never closed with #endif", p.ifdef)
	}
	if len(p.script.Events) == 0 {
		p.errorf(p.tok.line, "the script has no events: it needs at least one line that starts with a time, such as \"0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\"")
	}
}

// parseConditionals reads the "#ifdef NAME" and "#endif" lines of
// NPLab's packetdrill that come before the next event. The events in
// between record NAME in their Ifdef; like NPLab, blocks do not nest.
func (p *parser) parseConditionals() {
	for {
		t := p.tok
		switch t.kind {
		case tIfdef:
			if p.ifdef != "" {
				p.errorf(t.line, "#ifdef %s is inside the #ifdef %s of line %d; close that one with #endif first", t.text, p.ifdef, p.ifdefLine)
			}
			p.ifdef, p.ifdefLine = t.text, t.line
		case tEndif:
			if p.ifdef == "" {
				p.errorf(t.line, "#endif without an #ifdef before it")
			}
			p.ifdef = ""
		default:
			return
		}
		p.advance()
	}
}

// parseOptions reads the --name=value lines at the top.
func (p *parser) parseOptions() {
	for p.tok.kind == tOption {
		t := p.advance()
		if t.hasValue && t.value == "" {
			p.errorf(t.line, "option --%s has an \"=\" but no value", t.text)
		}
		p.script.Options = append(p.script.Options, Option{Line: t.line, Name: t.text, Value: t.value})
	}
}

func (p *parser) parseUntimedCommand() *Event {
	t := p.advance()
	return &Event{Line: t.line, Ifdef: p.ifdef, Command: &Command{Text: t.text}}
}

// ---- Events and times ----

func (p *parser) parseEvent() *Event {
	first := p.tok
	ev := &Event{Line: first.line, Ifdef: p.ifdef}
	p.parseEventTime(ev)
	var what string
	switch {
	case p.tok.is('<') || p.tok.is('>'):
		ev.Packet = p.parsePacket()
		what = "the packet"
	case p.tok.kind == tCommand:
		ev.Command = &Command{Text: p.advance().text}
		what = "the `command`"
	case p.tok.kind == tCode:
		ev.Code = &Code{Text: p.advance().text}
		what = "the %{ code }% block"
	case p.tok.kind == tEllipsis:
		p.parseBlockingEnd(ev)
		ev.Syscall = p.parseSyscall()
		what = "the system call"
	case p.tok.kind == tWord:
		ev.Syscall = p.parseSyscall()
		what = "the system call"
	default:
		if !first.newline {
			// Most likely a stray number at the end of the line
			// before, not a time.
			p.errorf(first.line, "found %s after the end of the event before it", first.describe())
		}
		p.errorf(p.tok.line, "expected a packet (< or >), a system call, a `command` or a %%{ code }%% block after the time, found %s", p.tok.describe())
	}
	p.checkEventTime(ev)
	p.expectEventEnd(what)
	return ev
}

// expectEventEnd checks that what follows an event can start the next
// line: a time, a `command`, an option (reported by the caller) or the
// end of the file. Anything else is left over from the event.
func (p *parser) expectEventEnd(what string) {
	t := p.tok
	switch {
	case t.kind == tEOF, t.kind == tInt, t.kind == tFloat, t.kind == tCommand, t.kind == tOption,
		t.kind == tIfdef, t.kind == tEndif, t.is('+'), t.is('*'):
		return
	}
	if t.newline {
		p.errorf(t.line, "expected a time at the start of the line (such as 0.100, +0 or *), found %s", t.describe())
	}
	p.errorf(t.line, "expected a new event (starting with a time) after %s, found %s", what, t.describe())
}

// parseEventTime reads the time that starts an event:
//
//	0.100        TimeAbsolute
//	+0.100       TimeRelative
//	*            TimeAny
//	0.1~0.2      TimeAbsolute with a range
//	+0.1~+0.2    TimeRelative with a range
func (p *parser) parseEventTime(ev *Event) {
	switch {
	case p.tok.is('*'):
		p.advance()
		ev.Kind = TimeAny
		return
	case p.tok.is('+'):
		p.advance()
		ev.Kind = TimeRelative
		ev.Time = p.parseTimeValue("after \"+\"")
	case p.tok.kind == tInt || p.tok.kind == tFloat:
		ev.Kind = TimeAbsolute
		ev.Time = p.parseTimeValue("")
	case p.tok.is('-'):
		p.errorf(p.tok.line, "times cannot be negative")
	default:
		p.errorf(p.tok.line, "expected a time at the start of the line (such as 0.100, +0 or *), found %s", p.tok.describe())
	}
	if !p.tok.is('~') {
		return
	}
	tilde := p.advance()
	plus := p.tok.is('+')
	switch {
	case ev.Kind == TimeRelative && !plus:
		p.errorf(tilde.line, "a range that starts with a relative time must end with one too, as in +0.1~+0.2")
	case ev.Kind == TimeAbsolute && plus:
		p.errorf(tilde.line, "a range that starts with an absolute time must end with one too, as in 0.1~0.2")
	}
	if plus {
		p.advance()
	}
	ev.End = p.parseTimeValue("after \"~\"")
	ev.HasEnd = true
	ev.RangeKind = '~'
}

// parseBlockingEnd reads the "...0.100" in "+0...0.100 read(...)": the
// time a blocking system call returns. packetdrill runs such calls on a
// second thread so that the packets of the script go on meanwhile.
func (p *parser) parseBlockingEnd(ev *Event) {
	dots := p.advance()
	if ev.HasEnd {
		p.errorf(dots.line, "an event cannot have both a range (~) and a blocking end time (...)")
	}
	if p.tok.is('+') {
		p.errorf(p.tok.line, "the end time after \"...\" has no \"+\": it is measured from the same point as the start (write +0...0.100)")
	}
	ev.End = p.parseTimeValue("after \"...\"")
	ev.HasEnd = true
	ev.RangeKind = '.'
	if p.tok.kind != tWord {
		p.errorf(p.tok.line, "expected a system call after the blocking time \"...%s\", found %s", p.prev.text, p.tok.describe())
	}
}

// parseTimeValue converts a time in seconds, such as "0.100" or ".1",
// to a Duration. It works on the decimal digits, not a float, so that
// 0.1 is exactly 100ms; packetdrill counts time in microseconds, so
// finer digits must be zero.
func (p *parser) parseTimeValue(context string) time.Duration {
	t := p.tok
	if t.kind != tInt && t.kind != tFloat {
		if context == "" {
			context = "here"
		}
		p.errorf(t.line, "expected a time in seconds %s (such as 0.100), found %s", context, t.describe())
	}
	p.advance()
	whole, frac, _ := strings.Cut(t.text, ".")
	whole = strings.TrimLeft(whole, "0")
	if len(whole) > 9 {
		p.errorf(t.line, "the time %s is too large (more than a billion seconds)", t.text)
	}
	if len(frac) > 6 {
		frac = strings.TrimRight(frac, "0")
		if len(frac) > 6 {
			p.errorf(t.line, "the time %s is more precise than a microsecond, which is packetdrill's unit", t.text)
		}
	}
	frac += strings.Repeat("0", 6-len(frac))
	secs, _ := strconv.ParseInt("0"+whole, 10, 64)
	usecs, _ := strconv.ParseInt(frac, 10, 64)
	return time.Duration(secs*1e6+usecs) * time.Microsecond
}

// checkEventTime applies packetdrill's rules about which events may use
// which kinds of time.
func (p *parser) checkEventTime(ev *Event) {
	outbound := ev.Packet != nil && ev.Packet.Dir == Outbound
	switch {
	case ev.Kind == TimeAny && !outbound:
		p.errorf(ev.Line, "the time * (any time) can only be used with outbound packets (>)")
	case ev.HasEnd && ev.RangeKind == '~' && !outbound:
		p.errorf(ev.Line, "a time range (~) can only be used with outbound packets (>)")
	case ev.HasEnd && ev.End < ev.Time && ev.RangeKind == '~':
		p.errorf(ev.Line, "the time range is backwards: it ends before it starts")
	case ev.HasEnd && ev.End < ev.Time:
		p.errorf(ev.Line, "the blocking call ends (after \"...\") before it starts")
	}
}

// ---- Packets ----

// parsePacket reads a packet line after its time:
//
//	< [ect0] S. 0:0(0) ack 1 win 65535 <mss 1460,sackOK>
//	> udp (100)
//	< icmp unreachable frag_needed mtu 1234 [0:0(0)]
func (p *parser) parsePacket() *Packet {
	dir := p.advance()
	pkt := &Packet{Dir: Direction(dir.text[0]), Proto: "tcp"}
	if p.tok.is('[') || p.tok.is('(') {
		p.parseIPInfo(pkt)
	}
	switch {
	case p.tok.isWord("udp"):
		p.parseUDP(pkt)
	case p.tok.isWord("icmp"):
		p.parseICMP(pkt)
	default:
		p.parseTCP(pkt)
	}
	return pkt
}

// parseIPInfo reads the IP header fields written in brackets or
// parentheses before the flags: "[ect0]", "(tos 0x20)", "[ttl 4]",
// "(noecn, flowlabel 0x1)".
func (p *parser) parseIPInfo(pkt *Packet) {
	open := p.advance()
	closer := byte(']')
	if open.is('(') {
		closer = ')'
	}
	for {
		t := p.tok
		if t.kind != tWord {
			p.errorf(t.line, "expected an IP header field such as ect0, noecn, tos or ttl after %q, found %s", open.text, t.describe())
		}
		p.advance()
		switch t.text {
		case "noecn", "ect0", "ect1", "ect01", "ce":
			p.setECN(pkt, t)
		case "ecn": // NPLab spells it "ecn ect0"
			p.setECN(pkt, p.advance())
		case "tos", "class":
			pkt.TOS = uint8(p.parseUint(8, "the tos value"))
			pkt.HasTOS = true
		case "ttl", "hlim":
			pkt.TTL = uint8(p.parseUint(8, "the ttl value"))
			pkt.HasTTL = true
		case "flowlabel":
			pkt.FlowLabel = uint32(p.parseUint(20, "the flow label"))
			pkt.HasFlowLabel = true
		default:
			p.errorf(t.line, "unknown IP header field %q (expected noecn, ect0, ect1, ect01, ce, tos, ttl, flowlabel, class or hlim)", t.text)
		}
		if pkt.HasTOS && pkt.ECN != "" {
			p.errorf(t.line, "give either an ECN codepoint or a tos byte, not both (the tos byte holds the ECN bits)")
		}
		if p.tok.is(closer) {
			p.advance()
			return
		}
		p.expect(',', fmt.Sprintf("or %q between IP header fields", string(closer)))
	}
}

func (p *parser) setECN(pkt *Packet, t token) {
	switch t.text {
	case "noecn", "ect0", "ect1", "ect01", "ce":
	default:
		p.errorf(t.line, "unknown ECN codepoint %s (expected noecn, ect0, ect1, ect01 or ce)", t.describe())
	}
	if pkt.ECN != "" {
		p.errorf(t.line, "the packet has two ECN codepoints, %s and %s", pkt.ECN, t.text)
	}
	if t.text == "ect01" && pkt.Dir != Outbound {
		p.errorf(t.line, "[ect01] (either ECT codepoint) can only be used with outbound packets (>)")
	}
	pkt.ECN = t.text
}

// parseTCP reads a TCP segment from its flags on:
// "S. 0:0(0) ack 1 win 65535 urg 0 <mss 1460>".
func (p *parser) parseTCP(pkt *Packet) {
	pkt.Flags = p.parseFlags()
	p.parseSeq(pkt)
	p.parseAckWinUrg(pkt)
	if p.tok.is('<') {
		p.parseTCPOptions(pkt)
	}
	if p.tok.is('/') {
		p.parseUDPEncap(pkt)
	}
}

// tcpFlags are the flag letters packetdrill accepts, as tcpdump prints
// them: FIN, SYN, RST, PSH, ACK ("."), URG, ECE ("E") and CWR ("W").
const tcpFlags = "SFRP.UEW"

// parseFlags reads the flags, such as "S.", "P.", "." or "-" (no flags).
// The lexer splits "S." into a word and a dot; tokens with no space
// between them are one flags string. As in packetdrill's grammar, a
// lone "." after the letters also counts: "F ." is "F.".
func (p *parser) parseFlags() string {
	t := p.tok
	switch {
	case t.kind == tWord && (t.text == "sctp" || t.text == "udplite"):
		p.errorf(t.line, "%s packets are not supported; only tcp, udp and icmp", t.text)
	case t.kind == tFloat && strings.HasPrefix(t.text, "."):
		p.errorf(t.line, "expected TCP flags, found %s: put a space between \".\" and the sequence numbers", t.describe())
	case t.kind != tWord && !t.is('.') && !t.is('-'):
		p.errorf(t.line, "expected TCP flags (such as S, S., P., F., R or .), found %s", t.describe())
	}
	var b strings.Builder
	b.WriteString(p.advance().text)
	for !p.tok.spaced && (p.tok.kind == tWord || p.tok.is('.')) {
		b.WriteString(p.advance().text)
	}
	if p.tok.is('.') && !strings.Contains(b.String(), ".") {
		b.WriteString(p.advance().text)
	}
	flags := b.String()
	if flags == "-" {
		return ""
	}
	for _, c := range flags {
		if !strings.ContainsRune(tcpFlags, c) {
			p.errorf(t.line, "%q is not a TCP flag in %q (flags are S F R P . U E W, or - for none)", string(c), flags)
		}
	}
	return flags
}

// parseSeq reads "start:end(len)", NPLab's "start:end(len)!" with
// absolute sequence numbers, or NPLab's "...(len)" with any.
func (p *parser) parseSeq(pkt *Packet) {
	if p.tok.kind == tEllipsis {
		p.advance()
		pkt.SeqAny = true
		p.expect('(', "and the payload length after \"...\"")
		pkt.Len = int(p.parseUint(16, "the payload length"))
		p.expect(')', "after the payload length")
		return
	}
	if p.tok.kind != tInt {
		p.errorf(p.tok.line, "expected the sequence numbers start:end(length) after the flags, found %s", p.tok.describe())
	}
	line := p.tok.line
	pkt.Seq = uint32(p.parseUint(32, "the start sequence number"))
	p.expect(':', "between the start and end sequence numbers")
	pkt.SeqEnd = uint32(p.parseUint(32, "the end sequence number"))
	p.expect('(', "and the payload length after the end sequence number")
	pkt.Len = int(p.parseUint(16, "the payload length"))
	p.expect(')', "after the payload length")
	if pkt.SeqEnd-pkt.Seq != uint32(pkt.Len) {
		p.errorf(line, "inconsistent sequence numbers and payload length: %d:%d is %d bytes, not %d",
			pkt.Seq, pkt.SeqEnd, pkt.SeqEnd-pkt.Seq, pkt.Len)
	}
	if p.tok.is('!') && !p.tok.spaced {
		p.advance()
		pkt.SeqAbsolute = true
	}
}

// parseAckWinUrg reads "ack N", "win N" and "urg N", in any order.
func (p *parser) parseAckWinUrg(pkt *Packet) {
	for p.tok.kind == tWord {
		t := p.tok
		var has *bool
		switch t.text {
		case "ack":
			p.advance()
			pkt.Ack = uint32(p.parseUint(32, "the acknowledgment number"))
			has = &pkt.HasAck
		case "win":
			p.advance()
			pkt.Win = uint32(p.parseUint(16, "the window"))
			has = &pkt.HasWin
		case "urg":
			p.advance()
			pkt.Urg = uint32(p.parseUint(16, "the urgent pointer"))
			has = &pkt.HasUrg
		default:
			p.errorf(t.line, "expected ack, win, urg or <options> in the packet, found %s", t.describe())
		}
		if *has {
			p.errorf(t.line, "%q is given twice", t.text)
		}
		*has = true
	}
}

// parseUDPEncap reads NPLab's "/udp(SRC > DST)" suffix.
func (p *parser) parseUDPEncap(pkt *Packet) {
	p.advance()
	p.expectWord("udp", "after \"/\" (TCP over UDP is written /udp(1234 > 5678))")
	p.expect('(', "after /udp")
	pkt.UDPSrcPort = uint16(p.parseUint(16, "the UDP source port"))
	p.expect('>', "between the UDP ports")
	pkt.UDPDstPort = uint16(p.parseUint(16, "the UDP destination port"))
	p.expect(')', "after the UDP ports")
	pkt.UDPEncap = true
}

// parseUint reads a decimal or hex number that must fit in bits bits;
// what names it in errors.
func (p *parser) parseUint(bits int, what string) uint64 {
	t := p.tok
	if t.kind != tInt && t.kind != tHex {
		p.errorf(t.line, "expected a whole number for %s, found %s", what, t.describe())
	}
	p.advance()
	v, err := tokenUint(t)
	if err != nil || v > 1<<bits-1 {
		p.errorf(t.line, "%s %s does not fit in %d bits", what, t.text, bits)
	}
	return v
}

// ---- TCP options ----

// parseTCPOptions reads "<mss 1460,sackOK,TS val 1 ecr 0,nop,wscale 7>",
// "<...>" (any options) or "<>" (none).
func (p *parser) parseTCPOptions(pkt *Packet) {
	open := p.advance()
	pkt.HasOptions = true
	switch {
	case p.tok.kind == tEllipsis:
		p.advance()
		p.expect('>', "after \"<...\"")
		if pkt.Dir != Outbound {
			p.errorf(open.line, "<...> (any TCP options) can only be used with outbound packets (>)")
		}
		pkt.OptionsAny = true
		return
	case p.tok.is('>'):
		p.advance()
		return
	case open.newline && looksLikeFlags(p.tok):
		// "<" on a new line followed by flags is an inbound packet
		// whose time was forgotten, not options.
		p.errorf(open.line, "this line looks like a packet but has no time; each event starts with a time (such as 0.100, +0 or *)")
	case p.tok.kind != tWord:
		p.errorf(p.tok.line, "expected a TCP option name after \"<\", found %s", p.tok.describe())
	}
	for {
		if len(pkt.Options) == maxTCPOptions {
			p.errorf(p.tok.line, "more than %d TCP options cannot fit in the %d bytes a TCP header has for them", maxTCPOptions, maxTCPOptions)
		}
		pkt.Options = append(pkt.Options, p.parseTCPOption())
		if p.tok.is('>') {
			p.advance()
			return
		}
		p.expect(',', "or \">\" after the TCP option")
	}
}

// looksLikeFlags reports whether t could be the flags of a TCP packet.
func looksLikeFlags(t token) bool {
	if t.is('.') || t.is('-') {
		return true
	}
	return t.kind == tWord && strings.Trim(t.text, tcpFlags) == ""
}

// parseTCPOption reads one entry of an option list.
func (p *parser) parseTCPOption() TCPOption {
	name := p.tok
	if name.kind != tWord {
		p.errorf(name.line, "expected a TCP option name, found %s", name.describe())
	}
	p.advance()
	opt := TCPOption{Kind: name.text}
	switch name.text {
	case "nop", "eol", "sackOK":
	case "mss":
		opt.Value = uint32(p.parseUint(16, "the mss value"))
	case "wscale":
		opt.Value = uint32(p.parseUint(8, "the wscale shift count"))
	case "sack":
		if p.tok.kind != tInt {
			p.errorf(p.tok.line, "expected SACK blocks such as 1001:2001 after \"sack\", found %s", p.tok.describe())
		}
		for p.tok.kind == tInt {
			if len(opt.SACK) == maxSACKBlocks {
				p.errorf(p.tok.line, "a SACK option holds at most %d blocks in the 40 bytes of TCP options", maxSACKBlocks)
			}
			left := uint32(p.parseUint(32, "the SACK block's left edge"))
			p.expect(':', "between the edges of a SACK block")
			right := uint32(p.parseUint(32, "the SACK block's right edge"))
			opt.SACK = append(opt.SACK, [2]uint32{left, right})
		}
	case "TS":
		p.expectWord("val", "after TS (written TS val N ecr N)")
		opt.TSVal = uint32(p.parseUint(32, "the timestamp value"))
		p.expectWord("ecr", "after the timestamp value (written TS val N ecr N)")
		opt.TSEcr = uint32(p.parseUint(32, "the timestamp echo reply"))
	case "FO", "FOEXP":
		// The cookie is optional: a bare "FO" is a cookie request.
		if p.tok.kind == tWord || p.tok.kind == tInt {
			p.parseHexBlob("the Fast Open cookie")
		}
	case "md5":
		// NPLab writes "md5 valid" for a signature made with the
		// key of --tcp_md5_secret.
		if p.tok.isWord("valid") {
			p.advance()
		} else {
			p.parseHexBlob("the MD5 signature")
		}
	default:
		// An option this parser does not know: keep it as text for
		// the runner to report. It runs to the next "," or ">" on
		// the same line.
		for !p.tok.is(',') && !p.tok.is('>') {
			if p.tok.kind == tEOF || p.tok.newline {
				p.errorf(name.line, "the TCP option list is never closed with \">\"")
			}
			p.advance()
		}
	}
	opt.Raw = p.textFrom(name.pos)
	return opt
}

// parseHexBlob reads an even number of hex digits such as "00ab12", or
// a NAME that packetdrill replaces with its value from a -D NAME=VALUE
// definition on its command line (the Linux Fast Open scripts write
// "FO TFO_COOKIE"). Either way the text is kept in the option's Raw.
func (p *parser) parseHexBlob(what string) {
	t := p.tok
	if t.kind != tWord && t.kind != tInt {
		p.errorf(t.line, "expected hex digits for %s, found %s", what, t.describe())
	}
	p.advance()
	isHex := strings.TrimLeft(t.text, "0123456789abcdefABCDEF") == ""
	isName := !isDigit(t.text[0])
	switch {
	case isHex && len(t.text)%2 != 0:
		p.errorf(t.line, "%s %q has an odd number of hex digits", what, t.text)
	case !isHex && !isName:
		p.errorf(t.line, "%s %q is not hex digits", what, t.text)
	}
}

// ---- UDP and ICMP ----

// parseUDP reads "udp (LEN)" or "udp SRC>DST (LEN)".
func (p *parser) parseUDP(pkt *Packet) {
	start := p.advance().pos
	pkt.Proto = "udp"
	if p.tok.kind == tInt {
		// Either ports "udp 5000>6000 (LEN)" or a forgotten "(".
		port := p.tok
		p.parseUint(16, "the UDP source port")
		if !p.tok.is('>') {
			p.errorf(port.line, "expected \"(\" and the payload length after \"udp\", found %s", port.describe())
		}
		p.advance()
		p.parseUint(16, "the UDP destination port")
	}
	p.expect('(', "and the payload length after \"udp\"")
	pkt.Len = int(p.parseUint(16, "the UDP payload length"))
	p.expect(')', "after the UDP payload length")
	pkt.Text = p.textFrom(start)
}

// parseICMP reads "icmp TYPE [CODE] [mtu N] [id N] [[echoed packet]]",
// such as "icmp unreachable frag_needed mtu 1234 [0:0(0)]", and keeps
// it as text.
func (p *parser) parseICMP(pkt *Packet) {
	start := p.advance().pos
	pkt.Proto = "icmp"
	if p.tok.kind != tWord {
		p.errorf(p.tok.line, "expected the ICMP type after \"icmp\", found %s", p.tok.describe())
	}
	p.advance()
	if p.tok.kind == tWord && p.tok.text != "mtu" && p.tok.text != "id" {
		p.advance() // the code
	}
	if p.tok.isWord("mtu") {
		p.advance()
		p.parseUint(16, "the ICMP mtu")
	}
	if p.tok.isWord("id") {
		p.advance()
		p.parseUint(16, "the ICMP echo id")
	}
	if p.tok.is('[') {
		// The packet the ICMP message quotes: "[0:0(0)]" or
		// "[udp (100)]". Kept as text.
		open := p.advance()
		for !p.tok.is(']') {
			if p.tok.kind == tEOF || p.tok.is('[') {
				p.errorf(open.line, "the quoted packet after \"[\" is never closed with \"]\"")
			}
			p.advance()
		}
		p.advance()
	}
	pkt.Text = p.textFrom(start)
}

// ---- System calls ----

// parseSyscall reads "name(args) = result [ERRNO] [(note)]".
func (p *parser) parseSyscall() *Syscall {
	name := p.advance()
	sc := &Syscall{Name: name.text}
	p.expect('(', fmt.Sprintf("after the system call name %q", name.text))
	sc.Args = p.parseExprList(')', "the system call's arguments")
	if !p.tok.is('=') {
		p.errorf(p.tok.line, "expected \"=\" and the expected result after the call to %s, found %s", name.text, p.tok.describe())
	}
	p.advance()
	if !p.startsExpr() {
		p.errorf(p.tok.line, "expected the result of %s after \"=\", found %s", name.text, p.tok.describe())
	}
	// The result is not a call, so that "= 0x02 (flags O_RDWR)" reads
	// as a result and a note.
	sc.Result = p.parseExpr(false)
	if p.tok.kind == tWord {
		sc.Errno = p.advance().text
		if p.tok.is('(') {
			sc.ErrnoText = p.parseNote()
		}
	} else if p.tok.is('(') {
		sc.Note = p.parseNote()
	}
	return sc
}

// parseNote reads a parenthesised remark such as "(Operation now in
// progress)" and returns its words separated by single spaces.
func (p *parser) parseNote() string {
	open := p.advance()
	var words []string
	for !p.tok.is(')') {
		if p.tok.kind == tEOF || p.tok.is('(') {
			p.errorf(open.line, "the note in parentheses after the result is never closed with \")\"")
		}
		words = append(words, strings.Fields(string(p.src[p.tok.pos:p.tok.end]))...)
		p.advance()
	}
	p.advance()
	return strings.Join(words, " ")
}

// ---- Expressions ----

// startsExpr reports whether the current token can start an expression.
func (p *parser) startsExpr() bool {
	t := p.tok
	switch t.kind {
	case tEllipsis, tInt, tHex, tWord, tString:
		return true
	}
	return t.is('[') || t.is('{') || t.is('-')
}

// parseExprList reads expressions separated by commas up to closer,
// and consumes closer. An empty list is allowed.
func (p *parser) parseExprList(closer byte, what string) []Expr {
	var list []Expr
	if p.tok.is(closer) {
		p.advance()
		return list
	}
	for {
		p.countItem(len(list), what)
		list = append(list, p.parseExpr(true))
		if p.tok.is(closer) {
			p.advance()
			return list
		}
		p.expect(',', fmt.Sprintf("or %q in %s", string(closer), what))
	}
}

// parseExpr reads one expression: a primary such as 42, NAME, "text",
// [array] or {struct}, then "|" alternatives (A|B|C, an ExprOr) or
// "= value" (NAME=value, an ExprBinary with Name "="). allowCall says
// whether NAME(args) is a call.
func (p *parser) parseExpr(allowCall bool) Expr {
	left := p.parsePrimary(allowCall)
	return p.parseExprRest(left)
}

// parseExprRest continues an expression after its first primary.
func (p *parser) parseExprRest(left Expr) Expr {
	switch {
	case p.tok.is('|'):
		or := Expr{Kind: ExprOr, Items: []Expr{left}}
		for p.tok.is('|') {
			p.countItem(len(or.Items), "an A|B|C expression")
			p.advance()
			or.Items = append(or.Items, p.parsePrimary(true))
		}
		return or
	case p.tok.is('=') && left.Kind == ExprName:
		p.enter(p.advance()) // a=b=c=... nests too
		right := p.parseExpr(true)
		p.depth--
		return Expr{Kind: ExprBinary, Name: "=", Items: []Expr{left, right}}
	}
	return left
}

// parsePrimary reads an expression without operators.
func (p *parser) parsePrimary(allowCall bool) Expr {
	t := p.tok
	switch {
	case t.kind == tEllipsis:
		p.advance()
		return Expr{Kind: ExprEllipsis}
	case t.kind == tInt || t.kind == tHex:
		return Expr{Kind: ExprInt, Int: p.parseInt(false)}
	case t.is('-'):
		p.advance()
		if (p.tok.kind != tInt && p.tok.kind != tHex) || p.tok.spaced {
			p.errorf(t.line, "expected a number right after \"-\", found %s", p.tok.describe())
		}
		return Expr{Kind: ExprInt, Int: p.parseInt(true)}
	case t.kind == tString:
		return p.parseString()
	case t.kind == tWord:
		p.advance()
		if allowCall && p.tok.is('(') {
			p.enter(p.advance())
			args := p.parseExprList(')', "the arguments of "+t.text)
			p.depth--
			return Expr{Kind: ExprCall, Name: t.text, Items: args}
		}
		return Expr{Kind: ExprName, Name: t.text}
	case t.is('['):
		p.enter(p.advance())
		items := p.parseExprList(']', "the array")
		p.depth--
		return Expr{Kind: ExprArray, Items: items}
	case t.is('{'):
		return p.parseStruct()
	}
	p.errorf(t.line, "expected a value (a number, a NAME, \"...\", a \"string\", [array] or {struct}), found %s", t.describe())
	return Expr{}
}

// countItem refuses to add one more item to a list of n items in what,
// so that memory stays in proportion to what real scripts need.
func (p *parser) countItem(n int, what string) {
	if n >= maxItems {
		p.errorf(p.tok.line, "more than %d items in %s", maxItems, what)
	}
}

// enter goes one level deeper into nested expressions after the
// opening token open, refusing to nest without bound. The caller
// decrements p.depth when it reaches the closing token.
func (p *parser) enter(open token) {
	p.depth++
	if p.depth > maxDepth {
		p.errorf(open.line, "expressions are nested more than %d deep", maxDepth)
	}
}

// tokenUint is the value of a decimal or 0x-hex integer token.
func tokenUint(t token) (uint64, error) {
	if t.kind == tHex {
		return strconv.ParseUint(t.text[2:], 16, 64)
	}
	return strconv.ParseUint(t.text, 10, 64)
}

// parseInt reads a decimal or hex integer, negated when neg.
func (p *parser) parseInt(neg bool) int64 {
	t := p.advance()
	v, err := tokenUint(t)
	limit := uint64(math.MaxInt64)
	if neg {
		limit++
	}
	if err != nil || v > limit {
		p.errorf(t.line, "the number %s is too large for 64 bits", t.text)
	}
	if neg {
		if v == 1<<63 {
			return math.MinInt64 // -v would overflow
		}
		return -int64(v)
	}
	return int64(v)
}

// parseString reads a string; adjacent strings "ab" "cd" are joined,
// as in C and in packetdrill.
func (p *parser) parseString() Expr {
	var b strings.Builder
	for p.tok.kind == tString {
		b.WriteString(p.advance().text)
	}
	return Expr{Kind: ExprString, Str: b.String()}
}

// parseStruct reads "{name=value, ...}". Fields without a name, as in
// the iovec "{..., 4}", have Name "". A name may carry an argument, as
// in the msghdr "{msg_iov(1)=[...]}", and then Name is that text.
func (p *parser) parseStruct() Expr {
	p.enter(p.advance())
	defer func() { p.depth-- }()
	s := Expr{Kind: ExprStruct}
	if p.tok.is('}') {
		p.advance()
		return s
	}
	for {
		p.countItem(len(s.Fields), "the struct")
		s.Fields = append(s.Fields, p.parseField())
		if p.tok.is('}') {
			p.advance()
			return s
		}
		p.expect(',', "or \"}\" between the fields of the struct")
	}
}

// parseField reads one field of a struct: "name=value" or a value.
func (p *parser) parseField() Field {
	start := p.tok.pos
	first := p.parsePrimary(true)
	if p.tok.is('=') && (first.Kind == ExprName || first.Kind == ExprCall) {
		name := squeezeSpace(p.src[start:p.prev.end])
		p.advance()
		return Field{Name: name, Value: p.parseExpr(true)}
	}
	return Field{Value: p.parseExprRest(first)}
}

// squeezeSpace returns b as a string with its whitespace removed, so
// that "msg_iov( 1 )" and "msg_iov(1)" name the same field.
func squeezeSpace(b []byte) string {
	return string(bytes.Join(bytes.Fields(b), nil))
}
