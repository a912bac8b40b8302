package viz

import (
	"fmt"
	"testing"
)

// TestMsgPiecesMatchFmt checks the append helpers against the fmt verbs
// they replace, so step messages keep their bytes.
func TestMsgPiecesMatchFmt(t *testing.T) {
	for _, v := range []uint64{0, 1, 0xf, 0x1f, 0x800, 0x1c46, 0xffff, 0x1c2d3e4f, 0xffffffff, 1 << 40} {
		cases := []struct{ got, want string }{
			{HexText(v, 8), fmt.Sprintf("%#08x", v)},
			{HexText(v, 4), fmt.Sprintf("%#04x", v)},
			{HexText(v, 6), fmt.Sprintf("%#06x", v)},
			{string(AppendHex(nil, v, 4)), fmt.Sprintf("0x%04x", v)},
			{string(AppendInt(nil, int(v))), fmt.Sprintf("%d", v)},
			{string(AppendUint(nil, v)), fmt.Sprint(v)},
			{Itoa(int(v)), fmt.Sprint(v)},
		}
		for _, c := range cases {
			if c.got != c.want {
				t.Errorf("%#x: got %q, want %q", v, c.got, c.want)
			}
		}
	}
}
