package tcp

import (
	"testing"

	"github.com/packetwalk/packetwalk/ip"
)

// tsOpen completes a passive open whose SYN offers timestamps.
func (r *rig) tsOpen() conn {
	r.t.Helper()
	if _, err := r.l.Listen(srvAddr, 4, Options{}, nil); err != nil {
		r.t.Fatal(err)
	}
	syn := peerSYN(peerISS)
	syn.Options.HasTS, syn.Options.TSVal = true, 100
	r.inject(peerAddr, srvAddr, syn, nil)
	synack := r.takeOne("SYN with timestamps")
	if o := synack.hdr.Options; !o.HasTS || o.TSEcr != 100 {
		r.t.Fatalf("SYN+ACK %v does not echo TSval 100", synack)
	}
	ack := Header{Seq: peerISS.Add(1), Ack: synack.hdr.Seq.Add(1), Flags: FlagACK, Window: 65535,
		Options: HeaderOptions{HasTS: true, TSVal: 101, TSEcr: synack.hdr.Options.TSVal}}
	r.expectNoDrop(r.inject(peerAddr, srvAddr, ack, nil))
	lst := r.l.table.LookupListener(srvAddr)
	c, err := lst.Accept()
	if err != nil {
		r.t.Fatal(err)
	}
	return conn{e: c, lst: lst, peerNxt: peerISS.Add(1), localNxt: synack.hdr.Seq.Add(1)}
}

// TestTimestampsFitTheMTU: with timestamps on every segment, a full
// segment with three SACK blocks (all that fit beside them, RFC 2018 §3)
// still fits a 1500-byte MTU, and so does one after the path MTU drops
// (RFC 1191): the MSS for a new MTU leaves room for the option too.
func TestTimestampsFitTheMTU(t *testing.T) {
	r := newRig(t, Config{})
	c := r.tsOpen()
	if c.e.mss != 1448 {
		t.Fatalf("MSS %d with timestamps, want 1460-12", c.e.mss)
	}
	for i := range 4 { // four ranges beyond a hole
		h := Header{Seq: c.peerNxt.Add(uint32(100 + 200*i)), Ack: c.localNxt, Flags: FlagACK, Window: 65535,
			Options: HeaderOptions{HasTS: true, TSVal: 102, TSEcr: 1}}
		r.fromPeer(c, h, make([]byte, 100))
		ack := r.takeOne("out-of-order data")
		if want := min(i+1, 3); len(ack.hdr.Options.SACKBlocks) != want || !ack.hdr.Options.HasTS || ack.hdr.Options.TSEcr != 101 {
			t.Fatalf("ACK %v: want %d SACK blocks and TSecr 101 (the last segment in order)", ack, want)
		}
	}
	check := func(what string, mtu int, out []sent) {
		t.Helper()
		if len(out) == 0 {
			t.Fatalf("%s: nothing sent", what)
		}
		for _, s := range out {
			if n := 20 + s.hdr.HeaderLen() + len(s.payload); n > mtu || !s.hdr.Options.HasTS {
				t.Errorf("%s: %v: a %d-byte datagram on a %d-byte MTU, TS %v", what, s, n, mtu, s.hdr.Options.HasTS)
			}
		}
		if s := out[0]; 20+s.hdr.HeaderLen()+len(s.payload) != mtu {
			t.Errorf("%s: the first segment %v does not fill the %d-byte MTU", what, s, mtu)
		}
	}
	if _, err := c.e.Write(make([]byte, 5000)); err != nil {
		t.Fatal(err)
	}
	check("SACK and timestamps", 1500, r.take())
	c.e.icmpError(ip.ICMPError{Type: uint8(ip.ICMPDestUnreachable), Code: uint8(ip.ICMPFragmentationNeeded), MTU: 1400})
	if c.e.mss != 1400-52 {
		t.Fatalf("MSS %d after a path MTU of 1400, want 1400-40-12", c.e.mss)
	}
	check("after the path MTU dropped", 1400, r.take())
}

// TestTSOlder: timestamps compare in modular arithmetic (RFC 7323 §5.2),
// so a clock that wrapped is still newer.
func TestTSOlder(t *testing.T) {
	for _, c := range []struct {
		a, b  uint32
		older bool
	}{
		{1, 2, true}, {2, 1, false}, {5, 5, false},
		{0xfffffff0, 0x10, true}, // b wrapped past 0: a is older
		{0x10, 0xfffffff0, false},
	} {
		if got := tsOlder(c.a, c.b); got != c.older {
			t.Errorf("tsOlder(%#x, %#x) = %v, want %v", c.a, c.b, got, c.older)
		}
	}
}
