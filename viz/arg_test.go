package viz

import (
	"fmt"
	"math"
	"net/netip"
	"strings"
	"testing"
	"time"
)

// TestMessageMatchesFmt checks that a message made from typed arguments is
// byte for byte what fmt.Sprintf gives for the same format and Go values:
// the step log's text must not change when a layer moves from fmt to
// typed arguments.
func TestMessageMatchesFmt(t *testing.T) {
	a4 := netip.MustParseAddr("10.0.0.2")
	ap := netip.MustParseAddrPort("192.168.1.254:8080")
	mac := [6]byte{0x02, 0, 0x5e, 0x10, 0xab, 0xff}
	cases := []struct {
		format string
		args   []Arg
		vals   []any
	}{
		{"plain text", nil, nil},
		{"100%% sure", nil, nil},
		{"%d bytes", Args(Int(1514)), []any{1514}},
		{"%d", Args(Int(-42)), []any{-42}},
		{"%5d|%-5d|%05d", Args(Int(42), Int(-42), Int(-42)), []any{42, -42, -42}},
		{"seq %d:%d, ack %d", Args(U32(4294967295), U32(0), U64(1<<40)), []any{uint32(4294967295), uint32(0), uint64(1 << 40)}},
		{"FCS %#08x != computed %#08x", Args(U32(0x1c2d3e4f), U32(0x1f)), []any{uint32(0x1c2d3e4f), uint32(0x1f)}},
		{"%#02x %#04x %04x %x %X %#X %8x %#8x %-8x|", Args(U32(0x6), U32(0x800), U32(0x1c), U32(0xbeef), U32(0xbeef), U32(0xbeef), U32(0xab), U32(0xab), U32(0xab)),
			[]any{uint32(0x6), uint32(0x800), uint32(0x1c), uint32(0xbeef), uint32(0xbeef), uint32(0xbeef), uint32(0xab), uint32(0xab), uint32(0xab)}},
		{"%x %#x %#06x", Args(Int(-31), Int(-31), Int(-31)), []any{-31, -31, -31}},
		{"%s -> %v", Args(Str("CLOSED"), Str("SYN_SENT")), []any{"CLOSED", "SYN_SENT"}},
		{"%q is not a method", Args(Str("GE\"T\n")), []any{"GE\"T\n"}},
		{"%-10s|%10s|%3s", Args(Str("ab"), Str("héllo"), Str("abcdef")), []any{"ab", "héllo", "abcdef"}},
		{"from %s to %v", Args(Addr(a4), Addr(netip.Addr{})), []any{a4, netip.Addr{}}},
		{"%s (v6)", Args(Addr(netip.MustParseAddr("fe80::1"))), []any{netip.MustParseAddr("fe80::1")}},
		{"peer %s, %v", Args(AddrPort(ap), AddrPort(netip.AddrPort{})), []any{ap, netip.AddrPort{}}},
		{"RTO %v, srtt %s, %d ns", Args(Dur(1500*time.Millisecond), Dur(0), Dur(time.Microsecond)), []any{1500 * time.Millisecond, time.Duration(0), time.Microsecond}},
		{"arrives at %ss, %v", Args(Seconds(1500050*time.Microsecond), Seconds(0)), []any{"1.50005", "0"}},
		{"sack %t %v", Args(Bool(true), Bool(false)), []any{true, false}},
		{"ratio %.1f, %.3f, %f", Args(Float(0.75), Float(-1.0/3), Float(2)), []any{0.75, -1.0 / 3, 2.0}},
		{"ratio %v %.1f", Args(Float(1e21), Float(math.Inf(1))), []any{1e21, math.Inf(1)}},
		{"fragment %s, %v, %6s|%-6v|", Args(Ratio(2, 3), Ratio(0, 0), Ratio(1, 45), Ratio(4294967295, 4294967295)),
			[]any{fmt.Sprintf("%d/%d", 2, 3), fmt.Sprintf("%d/%d", 0, 0), fmt.Sprintf("%d/%d", 1, 45), fmt.Sprintf("%d/%d", uint32(4294967295), uint32(4294967295))}},
		// What the formatter leaves to fmt: it must still agree.
		{"%s %d", Args(Int(5), Str("x")), []any{5, "x"}},
		{"%+d % d %[1]d %*d", Args(Int(5), Int(6), Int(3), Int(7)), []any{5, 6, 3, 7}},
		{"missing %d %d", Args(Int(1)), []any{1}},
		{"extra %d", Args(Int(1), Int(2)), []any{1, 2}},
		{"%#v %05s %.2s %c", Args(Str("a"), Str("b"), Str("cde"), Int(65)), []any{"a", "b", "cde", 65}},
		{"trailing %", Args(Int(1)), []any{1}},
	}
	for _, c := range cases {
		e := Event{Fmt: c.format, Args: c.args}
		want := fmt.Sprintf(c.format, c.vals...)
		if got := e.Message(); got != want {
			t.Errorf("%q: got %q, want %q", c.format, got, want)
		}
		if got := string(e.AppendMessage([]byte("x"))); got != "x"+want {
			t.Errorf("%q: AppendMessage got %q, want %q", c.format, got, "x"+want)
		}
	}
	// Hex and MAC print as the texts the layers made before.
	for _, v := range []uint64{0, 0x1f, 0x800, 0xffff, 0x1c2d3e4f} {
		if got, want := Hex(v, 4).String(), fmt.Sprintf("%#04x", v); got != want {
			t.Errorf("Hex(%#x, 4) = %q, want %q", v, got, want)
		}
		if got, want := Hex32(uint32(v)).String(), fmt.Sprintf("%#08x", v); got != want {
			t.Errorf("Hex32(%#x) = %q, want %q", v, got, want)
		}
		if got, want := (&Event{Fmt: "%d %x", Args: Args(Hex16(uint16(v)), Hex16(uint16(v)))}).Message(), fmt.Sprintf("%d %x", uint16(v), uint16(v)); got != want {
			t.Errorf("Hex16 with %%d %%x: %q, want %q", got, want)
		}
	}
	if got, want := MAC(mac).String(), "02:00:5e:10:ab:ff"; got != want {
		t.Errorf("MAC = %q, want %q", got, want)
	}
}

// TestFieldValues checks typed field values against the strings the layers
// gave before, and the JSON encoding of both kinds.
func TestFieldValues(t *testing.T) {
	e := Event{Layer: LayerIP, Step: "header", Fmt: "say %q", Args: Args(Str(`a"b`)), Fields: []Field{
		Fv("src", Addr(netip.MustParseAddr("10.0.0.1"))), Fv("len", Int(60)), Fv("id", Hex16(0x1c46)),
		F("note", "x\ty"), Fv("ok", Bool(true)), Fv("peer", AddrPort(netip.MustParseAddrPort("10.0.0.2:80"))),
	}}
	want := `{"t":0,"host":"","layer":"ip","step":"header","msg":"say \"a\\\"b\"","fields":{"src":"10.0.0.1","len":"60","id":"0x1c46","note":"x\ty","ok":"true","peer":"10.0.0.2:80"}}`
	if got := string(AppendJSON(nil, &e)); got != want {
		t.Errorf("JSON:\n got %s\nwant %s", got, want)
	}
	if v, _ := e.Field("id"); v != "0x1c46" {
		t.Errorf("Field(id) = %q", v)
	}
	r := e.Resolved()
	if r.Msg != `say "a\"b"` || r.Fmt != "" || r.Args != nil {
		t.Errorf("Resolved: %+v", r)
	}
	if got := string(AppendJSON(nil, &r)); got != want {
		t.Errorf("JSON of the resolved event:\n got %s\nwant %s", got, want)
	}
	// Round trip through the JSON decoder.
	var back Event
	if err := back.UnmarshalJSON([]byte(want)); err != nil {
		t.Fatal(err)
	}
	if got := string(AppendJSON(nil, &back)); got != want {
		t.Errorf("JSON round trip:\n got %s\nwant %s", got, want)
	}
}

// FuzzMessageMatchesFmt builds a format from the fuzzer's bytes (verbs,
// flags, widths, precisions and text) and arguments of every kind, and
// checks the typed formatter against fmt.Sprintf.
func FuzzMessageMatchesFmt(f *testing.F) {
	f.Add("%d %s %x", uint64(7), int64(-3), "ab", uint8(1))
	f.Add("%#08x|%-5v|%05d|%q", uint64(0xbeef), int64(12), "x\"y", uint8(2))
	f.Add("%.1f %t %v %%", uint64(1), int64(0), "", uint8(3))
	f.Fuzz(func(t *testing.T, format string, n uint64, i int64, s string, pick uint8) {
		if len(format) > 64 {
			return
		}
		all := []Arg{U64(n), I64(i), Str(s), Hex(n, int(pick%17)), Bool(n&1 == 1), Dur(time.Duration(i)),
			Float(float64(i) / 7), Addr(netip.AddrFrom4([4]byte{byte(n), byte(n >> 8), byte(n >> 16), byte(n >> 24)})),
			AddrPort(netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, byte(n), 0, 1}), uint16(i))), MAC([6]byte{byte(n), 1, 2, 3, 4, byte(i)}), Seconds(time.Duration(i)),
			Ratio(uint32(n), uint32(i))}
		// The verbs in the format take arguments in turn, starting at pick.
		nverbs := strings.Count(format, "%")
		args := make([]Arg, 0, nverbs)
		for k := range nverbs {
			args = append(args, all[(int(pick)+k)%len(all)])
		}
		vals := make([]any, len(args))
		for k, a := range args {
			vals[k] = a.value()
		}
		want := fmt.Sprintf(format, vals...)
		if got := (&Event{Fmt: format, Args: args}).Message(); got != want {
			t.Errorf("%q %v: got %q, want %q", format, vals, got, want)
		}
	})
}
