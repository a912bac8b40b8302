package viz

import "strconv"

// msg.go: append-style pieces for building step messages and field values
// without fmt. A logged frame takes a dozen steps or more, and
// fmt.Sprintf and fmt.Sprint box their arguments in interfaces and walk a
// format string for each: with the step log on that would be most of the
// allocations of a frame's walk. A caller appends into a small stack
// buffer and makes one string:
//
//	var a [96]byte
//	b := append(a[:0], "FCS ok ("...)
//	b = viz.AppendHex(b, uint64(fcs), 8)
//	msg := string(append(b, ')'))
//
// The output is byte for byte what the fmt verbs gave, so logs (and the
// golden tests) do not change.

const hexLower = "0123456789abcdef"

// AppendHex appends v as fmt's "%#0*x" with digits as the width: "0x",
// then v in lower hexadecimal with at least digits digits (Go's fmt pads
// the digits, not counting the prefix: "%#08x" of 0x1f is "0x0000001f",
// and so is "0x%08x").
func AppendHex(b []byte, v uint64, digits int) []byte {
	var d [16]byte
	i := len(d)
	for {
		i--
		d[i] = hexLower[v&0xf]
		v >>= 4
		if v == 0 {
			break
		}
	}
	b = append(b, '0', 'x')
	for n := len(d) - i; n < digits; n++ {
		b = append(b, '0')
	}
	return append(b, d[i:]...)
}

// AppendInt appends n in decimal, as fmt's %d.
func AppendInt(b []byte, n int) []byte { return strconv.AppendInt(b, int64(n), 10) }

// AppendUint appends n in decimal, as fmt's %d.
func AppendUint(b []byte, n uint64) []byte { return strconv.AppendUint(b, n, 10) }

// Itoa is strconv.Itoa: a field value from a number, without fmt.Sprint
// (numbers below 100 come from a table, without allocating).
func Itoa(n int) string { return strconv.Itoa(n) }

// HexText is AppendHex as a string.
func HexText(v uint64, digits int) string {
	var a [18]byte
	return string(AppendHex(a[:0], v, digits))
}
