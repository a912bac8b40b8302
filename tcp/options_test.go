package tcp

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"

	"github.com/packetwalk/packetwalk/ip"
	"github.com/packetwalk/packetwalk/viz"
)

// linuxSYNOptions are the options of a SYN from Linux 6.x, as tcpdump shows
// them: mss 1460,sackOK,TS val 1 ecr 0,nop,wscale 7.
var linuxSYNOptions = []byte{
	2, 4, 0x05, 0xb4, // MSS 1460
	4, 2, // SACK-Permitted
	8, 10, 0, 0, 0, 1, 0, 0, 0, 0, // TS val 1 ecr 0
	1,       // NOP
	3, 3, 7, // window scale 7
}

func TestParseOptions(t *testing.T) {
	tests := []struct {
		name string
		b    []byte
		want HeaderOptions
	}{
		{"none", nil, HeaderOptions{}},
		{"linux SYN", linuxSYNOptions, HeaderOptions{MSS: 1460, SACKPermitted: true, TSVal: 1, HasTS: true, WS: 7, HasWS: true}},
		{"NOPs and EOL padding", []byte{1, 1, 1, 2, 4, 0x02, 0x18, 0, 0, 0, 0}, HeaderOptions{MSS: 536}},
		{"what follows EOL is padding, not options", []byte{0, 2, 4, 5, 0xb4}, HeaderOptions{}},
		{"window scale 0 is present", []byte{1, 3, 3, 0}, HeaderOptions{HasWS: true}},
		{"window scale 14", []byte{1, 3, 3, 14}, HeaderOptions{WS: 14, HasWS: true}},
		{"window scale 15 is used as 14 (RFC 7323 §2.3)", []byte{1, 3, 3, 15}, HeaderOptions{WS: 14, HasWS: true}},
		{"window scale 255 is used as 14", []byte{1, 3, 3, 255}, HeaderOptions{WS: 14, HasWS: true}},
		{"timestamps after NOPs", []byte{1, 1, 8, 10, 0xde, 0xad, 0xbe, 0xef, 0, 0, 0x30, 0x39},
			HeaderOptions{TSVal: 0xdeadbeef, TSEcr: 12345, HasTS: true}},
		{"one SACK block", []byte{1, 1, 5, 10, 0, 0, 0x03, 0xe8, 0, 0, 0x07, 0xd0},
			HeaderOptions{SACKBlocks: []SACKBlock{{1000, 2000}}}},
		{"four SACK blocks", append([]byte{5, 34}, sackBytes(4)...),
			HeaderOptions{SACKBlocks: sackBlocks(4)}},
		{"SACK block across the wrap", []byte{1, 1, 5, 10, 0xff, 0xff, 0xff, 0xf0, 0, 0, 0, 0x10},
			HeaderOptions{SACKBlocks: []SACKBlock{{0xfffffff0, 0x10}}}},
		{"unknown option skipped by its length", []byte{254, 6, 0xf9, 0x89, 1, 2, 2, 4, 0x05, 0xb4}, HeaderOptions{MSS: 1460}},
		{"unknown option of length 2", []byte{77, 2, 1, 1}, HeaderOptions{}},
		{"the last of repeated options counts", []byte{2, 4, 0x05, 0xb4, 2, 4, 0x02, 0x18}, HeaderOptions{MSS: 536}},
		{"MSS 0 is taken as absent", []byte{2, 4, 0, 0}, HeaderOptions{}},
		// A known option with the wrong length is a peer's bug; like
		// Linux we skip it and keep the segment.
		{"MSS of length 3 skipped", []byte{2, 3, 5, 1, 3, 3, 2}, HeaderOptions{WS: 2, HasWS: true}},
		{"window scale of length 4 skipped", []byte{3, 4, 7, 0}, HeaderOptions{}},
		{"SACK-Permitted of length 3 skipped", []byte{4, 3, 0, 1}, HeaderOptions{}},
		{"SACK of length 2 skipped", []byte{1, 1, 5, 2}, HeaderOptions{}},
		{"SACK of length 9 skipped", []byte{5, 9, 0, 0, 0, 1, 0, 0, 0, 1, 1, 1}, HeaderOptions{}},
		{"timestamps of length 8 skipped", []byte{8, 8, 0, 0, 0, 1, 0, 0}, HeaderOptions{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseOptions(tt.b)
			if err != nil {
				t.Fatalf("ParseOptions(% x): %v", tt.b, err)
			}
			if !got.Equal(tt.want) {
				t.Errorf("ParseOptions(% x)\n got %+v\nwant %+v", tt.b, got, tt.want)
			}
		})
	}
}

func TestParseOptionsMalformed(t *testing.T) {
	tests := []struct {
		name string
		b    []byte
		msg  string
	}{
		{"no length byte", []byte{1, 1, 1, 2}, "mss option at options byte 3 has no room for its length byte"},
		{"length 0 would loop for ever", []byte{2, 0, 0, 0}, "mss option at options byte 0 has length 0, below the minimum of 2"},
		{"length 1", []byte{1, 99, 1, 0}, "unknown-99 option at options byte 1 has length 1, below the minimum of 2"},
		{"runs past the end", []byte{1, 1, 8, 10, 0, 0, 0, 1, 0, 0}, "TS option at options byte 2 has length 10, but only 8 bytes of options remain"},
		{"SACK claiming 4 blocks with room for 3", append([]byte{5, 34}, sackBytes(3)...), "sack option at options byte 0 has length 34, but only 26 bytes of options remain"},
		{"malformed after a good option", append(append([]byte{}, linuxSYNOptions...), 3), "wscale option at options byte 20 has no room for its length byte"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseOptions(tt.b)
			var ce *ip.CheckError
			if !errors.As(err, &ce) {
				t.Fatalf("ParseOptions(% x) = %+v, %v; want a *ip.CheckError", tt.b, got, err)
			}
			if ce.Reason != viz.ReasonTCPOptionsMalformed || ce.Msg != tt.msg {
				t.Errorf("ParseOptions(% x): %v\nwant %s: %s", tt.b, err, viz.ReasonTCPOptionsMalformed, tt.msg)
			}
			if !got.Equal(HeaderOptions{}) {
				t.Errorf("options %+v returned with the error", got)
			}
		})
	}
}

// TestOptionsLayout pins the encoding to Linux's layout, byte for byte, and
// String to what tcpdump prints for it.
func TestOptionsLayout(t *testing.T) {
	tests := []struct {
		name string
		o    HeaderOptions
		want []byte
		str  string
	}{
		{"none", HeaderOptions{}, nil, ""},
		{"linux SYN", HeaderOptions{MSS: 1460, SACKPermitted: true, TSVal: 1, HasTS: true, WS: 7, HasWS: true},
			linuxSYNOptions, "mss 1460,sackOK,TS val 1 ecr 0,nop,wscale 7"},
		{"SYN without timestamps", HeaderOptions{MSS: 1460, SACKPermitted: true, WS: 7, HasWS: true},
			[]byte{2, 4, 5, 0xb4, 1, 1, 4, 2, 1, 3, 3, 7}, "mss 1460,nop,nop,sackOK,nop,wscale 7"},
		{"MSS only", HeaderOptions{MSS: 536}, []byte{2, 4, 2, 0x18}, "mss 536"},
		{"timestamps on an ACK", HeaderOptions{TSVal: 100, TSEcr: 99, HasTS: true},
			[]byte{1, 1, 8, 10, 0, 0, 0, 100, 0, 0, 0, 99}, "nop,nop,TS val 100 ecr 99"},
		{"timestamps and SACK", HeaderOptions{TSVal: 7, TSEcr: 8, HasTS: true, SACKBlocks: []SACKBlock{{3000, 4000}}},
			[]byte{1, 1, 8, 10, 0, 0, 0, 7, 0, 0, 0, 8, 1, 1, 5, 10, 0, 0, 0x0b, 0xb8, 0, 0, 0x0f, 0xa0},
			"nop,nop,TS val 7 ecr 8,nop,nop,sack 1 {3000:4000}"},
		{"four SACK blocks", HeaderOptions{SACKBlocks: sackBlocks(4)},
			append([]byte{1, 1, 5, 34}, sackBytes(4)...),
			"nop,nop,sack 4 {1000:2000}{3000:4000}{5000:6000}{7000:8000}"},
		{"SACK-Permitted with SACK", HeaderOptions{SACKPermitted: true, SACKBlocks: sackBlocks(1)},
			append([]byte{1, 1, 4, 2, 1, 1, 5, 10}, sackBytes(1)...), "nop,nop,sackOK,nop,nop,sack 1 {1000:2000}"},
		{"three SACK blocks with timestamps", HeaderOptions{TSVal: 7, TSEcr: 8, HasTS: true, SACKBlocks: sackBlocks(3)},
			append([]byte{1, 1, 8, 10, 0, 0, 0, 7, 0, 0, 0, 8, 1, 1, 5, 26}, sackBytes(3)...),
			"nop,nop,TS val 7 ecr 8,nop,nop,sack 3 {1000:2000}{3000:4000}{5000:6000}"},
		// Aligned, these would need 44 bytes: packed they fit, padded
		// with End of Option List.
		{"packed when aligned would not fit", HeaderOptions{TSVal: 7, TSEcr: 8, HasTS: true, WS: 7, HasWS: true, SACKBlocks: sackBlocks(3)},
			append(append([]byte{8, 10, 0, 0, 0, 7, 0, 0, 0, 8, 3, 3, 7, 5, 26}, sackBytes(3)...), 0),
			"TS val 7 ecr 8,wscale 7,sack 3 {1000:2000}{3000:4000}{5000:6000},eol"},
		{"window scale 0", HeaderOptions{HasWS: true}, []byte{1, 3, 3, 0}, "nop,wscale 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			prefix := []byte{0xaa}
			got := tt.o.Append(prefix)
			if !bytes.Equal(got[1:], tt.want) || got[0] != 0xaa {
				t.Errorf("Append\n got % x\nwant aa % x", got, tt.want)
			}
			if tt.o.Len() != len(tt.want) {
				t.Errorf("Len = %d, Append wrote %d", tt.o.Len(), len(tt.want))
			}
			if s := tt.o.String(); s != tt.str {
				t.Errorf("String = %q, want %q", s, tt.str)
			}
			if s := formatOptions(tt.want); s != tt.str {
				t.Errorf("formatOptions = %q, want %q", s, tt.str)
			}
		})
	}
}

// optionCombos returns every combination of the options, with 0 to 4 SACK
// blocks and window scales and timestamps at their edges.
func optionCombos() []HeaderOptions {
	var out []HeaderOptions
	for _, mss := range []uint16{0, 1460} {
		for _, ws := range []int{-1, 0, 14} {
			for _, sackOK := range []bool{false, true} {
				for nSACK := 0; nSACK <= MaxSACKBlocks; nSACK++ {
					for _, ts := range []bool{false, true} {
						o := HeaderOptions{MSS: mss, SACKPermitted: sackOK, SACKBlocks: sackBlocks(nSACK)}
						if ws >= 0 {
							o.WS, o.HasWS = uint8(ws), true
						}
						if ts {
							o.TSVal, o.TSEcr, o.HasTS = 0xfffffffe, 0x80000001, true
						}
						out = append(out, o)
					}
				}
			}
		}
	}
	return out
}

// minimalLen is the options' length at their tightest, without NOPs: what
// a peer could fit in the option area.
func minimalLen(o HeaderOptions) int {
	n := 0
	if o.MSS != 0 {
		n += optLenMSS
	}
	if o.HasWS {
		n += optLenWindowScale
	}
	if o.SACKPermitted {
		n += optLenSACKPermitted
	}
	if len(o.SACKBlocks) > 0 {
		n += optLenSACKBase + optLenSACKBlock*len(o.SACKBlocks)
	}
	if o.HasTS {
		n += optLenTimestamps
	}
	return n
}

func TestOptionsRoundTrip(t *testing.T) {
	fits := 0
	for _, o := range optionCombos() {
		n := o.Len()
		if n%4 != 0 {
			t.Errorf("%s: Len %d is not a multiple of 4", o, n)
		}
		// What a peer could send, we can send back: the encoding falls
		// back to packing when the aligned layout does not fit.
		if packed := (minimalLen(o) + 3) &^ 3; packed <= MaxOptionsLen && n > MaxOptionsLen || n < packed {
			t.Errorf("%s: Len %d, packed %d", o, n, packed)
		}
		if n > MaxOptionsLen {
			func() {
				defer func() {
					if recover() == nil {
						t.Errorf("%s: Append of %d bytes did not panic", o, n)
					}
				}()
				o.Append(nil)
			}()
			continue
		}
		fits++
		b := o.Append(nil)
		if len(b) != n {
			t.Errorf("%s: Append wrote %d bytes, Len says %d", o, len(b), n)
		}
		got, err := ParseOptions(b)
		if err != nil {
			t.Fatalf("%s: ParseOptions(% x): %v", o, b, err)
		}
		if !got.Equal(o) {
			t.Errorf("round trip through % x\n got %+v\nwant %+v", b, got, o)
		}
		if s := formatOptions(b); s != o.String() {
			t.Errorf("String %q, formatOptions %q", o.String(), s)
		}
		// The 32-bit fields are 32-bit aligned, as Linux aligns them,
		// unless packing was needed.
		if o.HasTS && o.alignedLen() <= MaxOptionsLen {
			i := bytes.Index(b, []byte{8, 10})
			if (i+2)%4 != 0 {
				t.Errorf("%s: timestamps' values at offset %d in % x", o, i+2, b)
			}
		}
	}
	if fits < 80 {
		t.Errorf("only %d combinations fit in 40 bytes", fits)
	}
}

func TestSACKRoom(t *testing.T) {
	for _, o := range optionCombos() {
		n := o.SACKRoom()
		with := func(k int) HeaderOptions { p := o; p.SACKBlocks = sackBlocks(k); return p }
		if with(n).Len() > MaxOptionsLen || (n < MaxSACKBlocks && with(n+1).Len() <= MaxOptionsLen) {
			t.Errorf("%s: SACKRoom %d", o, n)
		}
	}
	if n := (HeaderOptions{}).SACKRoom(); n != 4 {
		t.Errorf("SACKRoom alone = %d, want 4", n)
	}
	if n := (HeaderOptions{HasTS: true}).SACKRoom(); n != 3 {
		t.Errorf("SACKRoom with timestamps = %d, want 3 (RFC 2018 §3)", n)
	}
}

func TestOptionsEqual(t *testing.T) {
	a := HeaderOptions{MSS: 1, SACKBlocks: []SACKBlock{}}
	if !a.Equal(HeaderOptions{MSS: 1}) {
		t.Error("empty and nil SACK blocks differ")
	}
	if a.Equal(HeaderOptions{MSS: 1, SACKBlocks: sackBlocks(1)}) {
		t.Error("a SACK block made no difference")
	}
	if (HeaderOptions{SACKBlocks: []SACKBlock{{1, 2}}}).Equal(HeaderOptions{SACKBlocks: []SACKBlock{{1, 3}}}) {
		t.Error("different SACK blocks are equal")
	}
}

func TestFormatOptions(t *testing.T) {
	tests := []struct {
		b    []byte
		want string
	}{
		{[]byte{1, 1, 1, 0, 0, 0}, "nop,nop,nop,eol"},
		{[]byte{1, 3, 3, 15}, "nop,wscale 15 (used as 14)"},
		{[]byte{34, 10, 1, 2, 3, 4, 5, 6, 7, 8, 1, 1}, "tfo 0x0102030405060708,nop,nop"},
		{[]byte{200, 2, 1, 1}, "unknown-200,nop,nop"},
		{[]byte{2, 3, 5, 1}, "mss [bad length 3],nop"},
		{[]byte{1, 2, 0, 1}, "nop,mss [bad opt]"},
		{[]byte{1, 8, 10, 0}, "nop,TS [bad opt]"},
		{[]byte{1, 1, 1, 5}, "nop,nop,nop,sack [bad opt]"},
	}
	for _, tt := range tests {
		if got := formatOptions(tt.b); got != tt.want {
			t.Errorf("formatOptions(% x) = %q, want %q", tt.b, got, tt.want)
		}
	}
}

// FuzzOptions feeds any bytes to ParseOptions: it must not panic, and what
// it parses must encode within the option area's 40 bytes and parse back
// the same.
func FuzzOptions(f *testing.F) {
	f.Add(linuxSYNOptions)
	f.Add([]byte{1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2})
	f.Add(append([]byte{5, 34}, sackBytes(4)...))
	f.Add([]byte{2, 4, 5, 0xb4, 4, 2, 5, 34, 0, 0, 0, 1, 0, 0, 0, 2})
	f.Add([]byte{1, 3, 3, 200, 0})
	f.Add([]byte{2, 0})
	f.Add([]byte{254, 40})
	f.Fuzz(func(t *testing.T, b []byte) {
		_ = formatOptions(b)
		o, err := ParseOptions(b)
		if err != nil {
			var ce *ip.CheckError
			if !errors.As(err, &ce) || ce.Reason != viz.ReasonTCPOptionsMalformed {
				t.Fatalf("ParseOptions(% x): %v, not a tcp_options_malformed CheckError", b, err)
			}
			return
		}
		if len(o.SACKBlocks) > MaxSACKBlocks && len(b) <= MaxOptionsLen {
			t.Fatalf("%d SACK blocks from %d bytes", len(o.SACKBlocks), len(b))
		}
		if o.HasWS && o.WS > MaxWindowScale {
			t.Fatalf("window scale %d", o.WS)
		}
		if len(b) <= MaxOptionsLen && o.Len() > MaxOptionsLen {
			t.Fatalf("% x parses to %s, which needs %d bytes", b, o, o.Len())
		}
		if o.Len() > MaxOptionsLen {
			return // from more bytes than a header holds
		}
		again, err := ParseOptions(o.Append(nil))
		if err != nil || !again.Equal(o) {
			t.Fatalf("% x parses to %+v; its encoding parses to %+v, %v", b, o, again, err)
		}
		_ = o.String()
	})
}

// sackBlocks returns n SACK blocks {1000:2000}{3000:4000}...
func sackBlocks(n int) []SACKBlock {
	if n == 0 {
		return nil
	}
	out := make([]SACKBlock, n)
	for i := range out {
		out[i] = SACKBlock{Seq(1000 + 2000*i), Seq(2000 + 2000*i)}
	}
	return out
}

// sackBytes returns the wire form of sackBlocks(n).
func sackBytes(n int) []byte {
	var b []byte
	for _, blk := range sackBlocks(n) {
		b = binary.BigEndian.AppendUint32(b, uint32(blk.Start))
		b = binary.BigEndian.AppendUint32(b, uint32(blk.End))
	}
	return b
}
