package tcp

import (
	"net/netip"
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
