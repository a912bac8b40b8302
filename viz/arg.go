package viz

import (
	"fmt"
	"math"
	"net/netip"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// arg.go: a step's message and field values as typed arguments, formatted
// when a sink reads them, not when the layer logs them.
//
// A layer says what happened as a format and its arguments:
//
//	rec.Emit(viz.Event{Layer: viz.LayerNIC, Step: "fcs", Verdict: viz.Pass, Frame: id,
//		Fmt: "FCS ok (%s)", Args: viz.Args(viz.Hex32(fcs))})
//
// An Arg is a small value (a number, a string, an IPv4 address, a MAC) with
// no pointer to the caller's memory but an immutable string, so the log can
// copy it as it is: no interface boxing, no allocation and no formatting on
// the stack's goroutine. The text is made by whoever reads it (Message,
// Field.Value, the JSON Lines encoder, the pcapng trail), on the sink's
// goroutine when the sink sits behind an AsyncSink. The text is byte for
// byte what fmt.Sprintf gives for the same format and the Go values
// (TestMessageMatchesFmt, FuzzMessageMatchesFmt): the verbs the stack uses
// (%s %v %d %x %X %q %t %.Nf, with the # 0 - flags and widths) are done
// here, and anything else falls back to fmt itself.

// argKind says how an Arg's bits are read.
type argKind uint8

const (
	kindNone      argKind = iota
	kindStr               // s
	kindInt               // int64(n)
	kindUint              // n
	kindHex               // n, printed as "0x" and at least w digits
	kindBool              // n != 0
	kindDur               // time.Duration(n)
	kindFloat             // math.Float64frombits(n)
	kindAddr4             // an IPv4 address, n's low 32 bits
	kindAddrPort4         // an IPv4 address and a port: n = addr<<16 | port
	kindMAC               // a 48-bit MAC address, n's low 48 bits
	kindSeconds           // time.Duration(n) as decimal seconds (AppendSeconds)
	kindRatio             // "a/b": a = n>>32, b = n's low 32 bits
)

// Arg is one typed argument of a step's message or one field's value.
// Build it with the constructors (Int, U32, Str, Addr, ...); the zero Arg
// prints as the empty string.
type Arg struct {
	s string
	n uint64
	k argKind
	w uint8 // kindHex: the minimum number of hex digits
}

// Str is a string argument. The string is kept, not copied: Go strings are
// immutable.
func Str(s string) Arg { return Arg{s: s, k: kindStr} }

// Int is a signed integer argument (%d).
func Int(n int) Arg { return Arg{n: uint64(int64(n)), k: kindInt} }

// I64 is a signed integer argument (%d).
func I64(n int64) Arg { return Arg{n: uint64(n), k: kindInt} }

// U32 is an unsigned integer argument: a sequence number, a window.
func U32(n uint32) Arg { return Arg{n: uint64(n), k: kindUint} }

// U64 is an unsigned integer argument.
func U64(n uint64) Arg { return Arg{n: n, k: kindUint} }

// Hex is v printed as fmt's "%#0*x" with digits as the width: "0x" and at
// least digits lower-case hex digits ("0x0800", "0x1c2d3e4f"). With %d or
// %x it is the number.
func Hex(v uint64, digits int) Arg {
	return Arg{n: v, k: kindHex, w: uint8(min(max(digits, 0), 16))}
}

// Hex16 is Hex(v, 4): an EtherType, an IP ID, a checksum.
func Hex16(v uint16) Arg { return Hex(uint64(v), 4) }

// Hex32 is Hex(v, 8): an FCS.
func Hex32(v uint32) Arg { return Hex(uint64(v), 8) }

// Bool is a boolean argument (%t, %v).
func Bool(v bool) Arg {
	a := Arg{k: kindBool}
	if v {
		a.n = 1
	}
	return a
}

// Dur is a duration argument: %v and %s print time.Duration's String.
func Dur(d time.Duration) Arg { return Arg{n: uint64(d), k: kindDur} }

// Seconds is a time printed as the step log's "t" is: decimal seconds,
// exact, without trailing zeros ("1.50005").
func Seconds(d time.Duration) Arg { return Arg{n: uint64(d), k: kindSeconds} }

// Float is a floating-point argument (%.1f).
func Float(f float64) Arg { return Arg{n: math.Float64bits(f), k: kindFloat} }

// Addr is an IP address argument, printed as netip.Addr's String. An IPv4
// address is kept in the Arg's bits; any other is made into text at once
// (the stack speaks IPv4, so that is rare).
func Addr(a netip.Addr) Arg {
	if a.Is4() {
		b := a.As4()
		return Arg{n: uint64(b[0])<<24 | uint64(b[1])<<16 | uint64(b[2])<<8 | uint64(b[3]), k: kindAddr4}
	}
	return Str(a.String())
}

// AddrPort is an address and port argument, printed as netip.AddrPort's
// String ("10.0.0.1:80").
func AddrPort(ap netip.AddrPort) Arg {
	if ap.Addr().Is4() {
		b := ap.Addr().As4()
		v := uint64(b[0])<<24 | uint64(b[1])<<16 | uint64(b[2])<<8 | uint64(b[3])
		return Arg{n: v<<16 | uint64(ap.Port()), k: kindAddrPort4}
	}
	return Str(ap.String())
}

// MAC is a 48-bit link-layer address argument, printed "aa:bb:cc:dd:ee:ff".
func MAC(m [6]byte) Arg {
	var v uint64
	for _, x := range m {
		v = v<<8 | uint64(x)
	}
	return Arg{n: v, k: kindMAC}
}

// Ratio is "i of n" as a fragment's field says it: "2/3" (fmt's
// "%d/%d" of i and n).
func Ratio(i, n uint32) Arg { return Arg{n: uint64(i)<<32 | uint64(n), k: kindRatio} }

// IsZero reports whether a is the zero Arg (no value).
func (a Arg) IsZero() bool { return a.k == kindNone }

// String returns a as %v prints it.
func (a Arg) String() string {
	if a.k == kindStr || a.k == kindNone {
		return a.s
	}
	var buf [48]byte
	return string(a.AppendTo(buf[:0]))
}

// AppendTo appends a as %v prints it.
func (a Arg) AppendTo(b []byte) []byte {
	switch a.k {
	case kindStr:
		return append(b, a.s...)
	case kindInt:
		return strconv.AppendInt(b, int64(a.n), 10)
	case kindUint:
		return strconv.AppendUint(b, a.n, 10)
	case kindHex:
		return appendHexArg(b, a.n, int(a.w))
	case kindBool:
		return strconv.AppendBool(b, a.n != 0)
	case kindDur:
		return append(b, time.Duration(a.n).String()...)
	case kindSeconds:
		return AppendSeconds(b, time.Duration(a.n))
	case kindFloat:
		return fmt.Append(b, math.Float64frombits(a.n))
	case kindAddr4:
		return appendIPv4(b, uint32(a.n))
	case kindAddrPort4:
		b = appendIPv4(b, uint32(a.n>>16))
		return strconv.AppendUint(append(b, ':'), a.n&0xffff, 10)
	case kindMAC:
		for i := 5; i >= 0; i-- {
			x := byte(a.n >> (8 * i))
			b = append(b, hexLower[x>>4], hexLower[x&0xf])
			if i > 0 {
				b = append(b, ':')
			}
		}
		return b
	case kindRatio:
		b = strconv.AppendUint(b, a.n>>32, 10)
		return strconv.AppendUint(append(b, '/'), a.n&0xffffffff, 10)
	}
	return b
}

// plain reports whether a's %v text is printable ASCII without '"' or
// '\\' whatever its value (numbers, addresses): the JSON encoder copies it
// without escaping.
func (a Arg) plain() bool { return a.k != kindStr && a.k != kindNone && a.k != kindFloat }

func appendIPv4(b []byte, v uint32) []byte {
	for i := 3; i >= 0; i-- {
		b = strconv.AppendUint(b, uint64(v>>(8*i)&0xff), 10)
		if i > 0 {
			b = append(b, '.')
		}
	}
	return b
}

// appendHexArg is AppendHex: "0x" and at least digits digits.
func appendHexArg(b []byte, v uint64, digits int) []byte { return AppendHex(b, v, digits) }

// Args returns its arguments as a slice: Event{Fmt: ..., Args: viz.Args(...)}.
// The slice lives on the caller's stack; the log copies it.
func Args(a ...Arg) []Arg { return a }

// value returns a as the Go value fmt would be given: the fallback for
// verbs and flags this file does not do itself, and the reference the
// tests compare against.
func (a Arg) value() any {
	switch a.k {
	case kindStr:
		return a.s
	case kindInt:
		return int(int64(a.n))
	case kindUint:
		return a.n
	case kindHex:
		return hexValue{a.n, a.w}
	case kindBool:
		return a.n != 0
	case kindDur:
		return time.Duration(a.n)
	case kindSeconds:
		return secondsValue(a.n)
	case kindFloat:
		return math.Float64frombits(a.n)
	case kindAddr4:
		return netip.AddrFrom4([4]byte{byte(a.n >> 24), byte(a.n >> 16), byte(a.n >> 8), byte(a.n)})
	case kindAddrPort4:
		v := a.n >> 16
		return netip.AddrPortFrom(netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}), uint16(a.n))
	case kindMAC:
		var m macValue
		for i := range m {
			m[i] = byte(a.n >> (8 * (5 - i)))
		}
		return m
	case kindRatio:
		return ratioValue{uint32(a.n >> 32), uint32(a.n)}
	}
	return ""
}

// hexValue is a Hex argument for fmt: %v and %s print "0x..." with its
// digits, any other verb the number.
type hexValue struct {
	v uint64
	w uint8
}

func (h hexValue) Format(f fmt.State, verb rune) {
	if verb == 'v' || verb == 's' {
		var buf [18]byte
		s := AppendHex(buf[:0], h.v, int(h.w))
		if w, ok := f.Width(); ok && len(s) < w {
			pad := make([]byte, w-len(s))
			for i := range pad {
				pad[i] = ' '
			}
			if f.Flag('-') {
				s = append(s, pad...)
			} else {
				s = append(pad, s...)
			}
		}
		f.Write(s)
		return
	}
	fmt.Fprintf(f, fmt.FormatString(f, verb), h.v)
}

// secondsValue is a Seconds argument for fmt.
type secondsValue time.Duration

func (s secondsValue) String() string { return FormatSeconds(time.Duration(s)) }

// ratioValue is a Ratio argument for fmt.
type ratioValue struct{ i, n uint32 }

func (r ratioValue) String() string { return fmt.Sprintf("%d/%d", r.i, r.n) }

// macValue is a MAC argument for fmt.
type macValue [6]byte

func (m macValue) String() string {
	return MAC(m).String()
}

// AppendFormat appends format with args as fmt.Appendf would.
func AppendFormat(b []byte, format string, args []Arg) []byte {
	start := len(b)
	argi := 0
	for i := 0; i < len(format); {
		// Copy up to the next verb.
		// strings.IndexByte scans with the CPU's vector instructions: the
		// text between verbs is most of a step's message.
		k := strings.IndexByte(format[i:], '%')
		if k < 0 {
			b = append(b, format[i:]...)
			break
		}
		j := i + k
		b = append(b, format[i:j]...)
		i = j + 1
		// Flags.
		var sharp, zero, minus bool
	flags:
		for i < len(format) {
			switch format[i] {
			case '#':
				sharp = true
			case '0':
				zero = true
			case '-':
				minus = true
			case '+', ' ':
				return fallback(b[:start], format, args)
			default:
				break flags
			}
			i++
		}
		width, prec := -1, -1
		if i < len(format) && format[i] >= '1' && format[i] <= '9' {
			width = 0
			for i < len(format) && format[i] >= '0' && format[i] <= '9' {
				width = width*10 + int(format[i]-'0')
				if width > 64 {
					return fallback(b[:start], format, args)
				}
				i++
			}
		}
		if i < len(format) && format[i] == '.' {
			i++
			prec = 0
			for i < len(format) && format[i] >= '0' && format[i] <= '9' {
				prec = prec*10 + int(format[i]-'0')
				if prec > 64 {
					return fallback(b[:start], format, args)
				}
				i++
			}
		}
		if i >= len(format) {
			return fallback(b[:start], format, args)
		}
		verb := format[i]
		i++
		if verb == '%' && !sharp && !zero && !minus && width < 0 && prec < 0 {
			b = append(b, '%')
			continue
		}
		if argi >= len(args) || verb >= utf8.RuneSelf {
			return fallback(b[:start], format, args)
		}
		var ok bool
		b, ok = appendVerb(b, verb, sharp, zero, minus, width, prec, args[argi])
		if !ok {
			return fallback(b[:start], format, args)
		}
		argi++
	}
	if argi != len(args) {
		return fallback(b[:start], format, args)
	}
	return b
}

// fallback formats the whole message with fmt, for what appendVerb does not
// do (and fmt's own "%!d(MISSING)" and "%!(EXTRA ...)" texts).
func fallback(b []byte, format string, args []Arg) []byte {
	vals := make([]any, len(args))
	for i, a := range args {
		vals[i] = a.value()
	}
	return fmt.Appendf(b, format, vals...)
}

// appendVerb appends one verb's text, or says it is not one it does.
func appendVerb(b []byte, verb byte, sharp, zero, minus bool, width, prec int, a Arg) ([]byte, bool) {
	start := len(b)
	switch verb {
	case 'v', 's':
		if sharp || prec >= 0 || (zero && width > 0) || a.k == kindFloat || a.k == kindNone {
			return b, false
		}
		if verb == 's' && (a.k == kindInt || a.k == kindUint || a.k == kindBool) {
			// fmt prints "%!s(int64=5)": leave it to fmt. (A Dur is a
			// time.Duration, a Stringer: %s is its String.)
			return b, false
		}
		b = a.AppendTo(b)
		return padRunes(b, start, width, minus), true
	case 'd':
		if sharp || prec >= 0 {
			return b, false
		}
		switch a.k {
		case kindInt, kindDur:
			v := int64(a.n)
			return appendInteger(b, v < 0, absU(v), 10, false, false, zero && !minus, minus, width), true
		case kindUint, kindHex:
			return appendInteger(b, false, a.n, 10, false, false, zero && !minus, minus, width), true
		}
		return b, false
	case 'x', 'X':
		if prec >= 0 {
			return b, false
		}
		switch a.k {
		case kindInt:
			// (Not a Dur: fmt gives a Stringer's %x the hex of its text.)
			v := int64(a.n)
			return appendInteger(b, v < 0, absU(v), 16, verb == 'X', sharp, zero && !minus, minus, width), true
		case kindUint, kindHex:
			return appendInteger(b, false, a.n, 16, verb == 'X', sharp, zero && !minus, minus, width), true
		}
		return b, false
	case 'q':
		if a.k != kindStr || sharp || zero || minus || width >= 0 || prec >= 0 {
			return b, false
		}
		return strconv.AppendQuote(b, a.s), true
	case 't':
		if a.k != kindBool || sharp || zero || prec >= 0 {
			return b, false
		}
		b = strconv.AppendBool(b, a.n != 0)
		return padRunes(b, start, width, minus), true
	case 'f':
		if a.k != kindFloat || sharp || zero || minus || width >= 0 {
			return b, false
		}
		f := math.Float64frombits(a.n)
		if math.IsInf(f, 0) || math.IsNaN(f) {
			return b, false
		}
		if prec < 0 {
			prec = 6
		}
		return strconv.AppendFloat(b, f, 'f', prec, 64), true
	}
	return b, false
}

func absU(v int64) uint64 {
	if v < 0 {
		return uint64(-v)
	}
	return uint64(v)
}

// appendInteger is fmt's fmtInteger for the flags handled here: with the 0
// flag the width counts the digits and the sign but not the "0x" prefix;
// otherwise the whole is padded with spaces.
func appendInteger(b []byte, neg bool, u uint64, base int, upper, sharp, zero, minus bool, width int) []byte {
	start := len(b)
	var digits [64]byte
	d := strconv.AppendUint(digits[:0], u, base)
	if upper {
		for i, c := range d {
			if c >= 'a' && c <= 'f' {
				d[i] = c - 'a' + 'A'
			}
		}
	}
	prec := 0
	if zero && width > 0 {
		prec = width
		if neg {
			prec--
		}
	}
	if neg {
		b = append(b, '-')
	}
	if sharp && base == 16 {
		if upper {
			b = append(b, '0', 'X')
		} else {
			b = append(b, '0', 'x')
		}
	}
	for n := len(d); n < prec; n++ {
		b = append(b, '0')
	}
	b = append(b, d...)
	if zero {
		return b
	}
	return padRunes(b, start, width, minus)
}

// padRunes pads b[start:] with spaces to width runes, on the left or (minus)
// the right.
func padRunes(b []byte, start, width int, minus bool) []byte {
	if width <= 0 {
		return b
	}
	n := utf8.RuneCount(b[start:])
	if n >= width {
		return b
	}
	pad := width - n
	if minus {
		for range pad {
			b = append(b, ' ')
		}
		return b
	}
	for range pad {
		b = append(b, ' ')
	}
	copy(b[start+pad:], b[start:len(b)-pad])
	for i := start; i < start+pad; i++ {
		b[i] = ' '
	}
	return b
}
