package tcp

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/packetwalk/packetwalk/viz"
)

// TestCwndStepLine holds that the cwnd step's format and typed arguments
// make, in the sinks, the text CwndChange.String makes, for every
// combination of the parts the line may have.
func TestCwndStepLine(t *testing.T) {
	for parts := range cwndParts {
		ch := CwndChange{From: 14600, To: 14600, SsthreshFrom: cwndMax, SsthreshTo: cwndMax}
		if parts&cwndMoved != 0 {
			ch.To = 7300
		}
		if parts&cwndSsMoved != 0 {
			ch.SsthreshTo = 7300
		}
		if parts&cwndWhy != 0 {
			ch.Why = "fast retransmit; 100% of it"
		}
		ch.Retransmit = parts&cwndRetransmit != 0
		var args [6]viz.Arg
		format, n := ch.stepLine(&args)
		if got, want := string(viz.AppendFormat(nil, format, args[:n])), ch.String(); got != want {
			t.Errorf("parts %04b: %q, want %q", parts, got, want)
		}
	}
}

// TestResetStepLine holds that the RST a segment with nowhere to go gets
// is logged as it was before it was a typed step: "RST to" the address,
// then the segment's line.
func TestResetStepLine(t *testing.T) {
	src, dst := netip.MustParseAddr("10.0.0.2"), netip.MustParseAddr("10.0.0.1")
	to := netip.AddrPortFrom(dst, 49152)
	for _, h := range []Header{
		{SrcPort: 81, DstPort: 49152, Ack: 1001, Flags: FlagRST | FlagACK},
		{SrcPort: 81, DstPort: 49152, Seq: 5000, Flags: FlagRST},
	} {
		seg := Segment(h.Append(nil, src, dst, nil))
		var args segArgs
		format := sendLineWith(&rstToFormats, viz.AddrPort(to), seg, src, dst, &args)
		got := string(viz.AppendFormat(nil, format, args.a[:args.n]))
		var plain segArgs
		want := string(viz.AppendFormat(nil, sendLine("RST to "+to.String()+": nothing here for this segment", seg, src, dst, &plain), plain.a[:plain.n]))
		if got != want {
			t.Errorf("%q, want %q", got, want)
		}
	}
}

// TestSendLineOptions holds that a send step's line, whose options are
// typed arguments when they are laid out as Linux lays them out once a
// connection is open (timestamps, SACK blocks, both), is SummaryWith's
// text after why, for those layouts and for the ones made into text.
func TestSendLineOptions(t *testing.T) {
	src, dst := netip.MustParseAddr("10.0.0.2"), netip.MustParseAddr("10.0.0.1")
	blocks := []SACKBlock{{Start: 5001, End: 6449}, {Start: 8000, End: 9448}, {Start: 12000, End: 13448}, {Start: 20000, End: 21448}}
	var cases []HeaderOptions
	for n := range 5 {
		cases = append(cases, HeaderOptions{SACKBlocks: blocks[:n]})
		if n < 4 {
			cases = append(cases, HeaderOptions{HasTS: true, TSVal: 4000000000, TSEcr: 7, SACKBlocks: blocks[:n]})
		}
	}
	cases = append(cases,
		HeaderOptions{MSS: 1460, SACKPermitted: true, HasTS: true, TSVal: 1, HasWS: true, WS: 7},
		HeaderOptions{MSS: 1460},
		HeaderOptions{HasWS: true, WS: 2, SACKBlocks: blocks[:1]},
	)
	for _, o := range cases {
		for _, payload := range [][]byte{nil, []byte("data")} {
			h := Header{SrcPort: 80, DstPort: 49152, Seq: 1001, Ack: 5001, Flags: FlagACK, Window: 502, Options: o}
			seg := Segment(h.Append(nil, src, dst, payload))
			var args segArgs
			format := sendLine("why", seg, src, dst, &args)
			got := string(viz.AppendFormat(nil, format, args.a[:args.n]))
			if want := "why: " + seg.SummaryWith(src, dst); got != want {
				t.Errorf("options %v:\n got %q\nwant %q", o, got, want)
			}
		}
	}
	// Options a host of another kind may send: SACK blocks before the
	// timestamps, a SACK option of a bad length.
	for _, opts := range [][]byte{
		{optNOP, optNOP, optSACK, 10, 0, 0, 0, 1, 0, 0, 0, 2, optNOP, optNOP, optTimestamps, 10, 0, 0, 0, 1, 0, 0, 0, 2},
		{optNOP, optNOP, optSACK, 9, 0, 0, 0, 1, 0, 0, 0, 2},
		{optNOP, optNOP, optTimestamps, 10, 0, 0, 0, 1, 0, 0, 0, 2, optNOP, optNOP, optSACK, 2},
	} {
		h := Header{SrcPort: 80, DstPort: 49152, Seq: 1001, Ack: 5001, Flags: FlagACK, Window: 502}
		seg := Segment(h.Append(nil, src, dst, nil))
		raw := append(append([]byte(nil), seg[:MinHeaderLen]...), opts...)
		for len(raw)%4 != 0 {
			raw = append(raw, optEOL)
		}
		raw[12] = byte(len(raw)/4) << 4
		seg = Segment(raw)
		var args segArgs
		format := sendLine("why", seg, src, dst, &args)
		got := string(viz.AppendFormat(nil, format, args.a[:args.n]))
		want := "why: " + seg.SummaryWith(src, dst)
		// SummaryWith adds what a receiver's check says; the send line
		// is for segments this host built, which pass.
		if !strings.HasPrefix(want, got) {
			t.Errorf("options % x:\n got %q\nwant %q", opts, got, want)
		}
	}
}
