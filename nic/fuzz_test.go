package nic

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"testing"

	"github.com/packetwalk/packetwalk/viz"
)

// FuzzEthernet hands arbitrary bits to a NIC's PHY (Arrive) and checks the
// adapter's verdict against the frame's own fields: a frame reaches the
// IPv4 handler if and only if its size is within bounds, its FCS is right,
// its destination is this NIC or broadcast, and its EtherType is IPv4;
// then the handler gets exactly Frame.Payload() with the header's
// addresses, and AppendFrame rebuilds the frame bit for bit. Anything else
// ends in one drop whose reason is one of viz.Reasons(). fixFCS writes a
// correct FCS first, so the fuzzer also explores frames past the CRC check.
func FuzzEthernet(f *testing.F) {
	f.Add(AppendFrame(nil, macB, macA, EtherTypeIPv4, bytes.Repeat([]byte{0x45}, 46)), false)
	f.Add(AppendFrame(nil, Broadcast, macA, EtherTypeARP, make([]byte, 28)), false)
	f.Add(AppendFrame(nil, macC, macA, EtherTypeIPv4, make([]byte, 100)), false)
	f.Add(AppendFrame(nil, mcast, macA, EtherTypeIPv4, make([]byte, 100)), false)
	f.Add(AppendFrame(nil, macB, macA, 0x86dd, make([]byte, 100)), false)
	f.Add(AppendFrame(nil, macB, macA, EtherTypeIPv4, make([]byte, 1500)), false)
	f.Add(AppendFrame(nil, macB, macA, EtherTypeIPv4, make([]byte, 1501)), true)
	f.Add(make([]byte, 63), true)
	f.Add([]byte{}, false)
	known := map[viz.Reason]bool{}
	for _, r := range viz.Reasons() {
		known[r] = true
	}
	f.Fuzz(func(t *testing.T, bits []byte, fixFCS bool) {
		r := newRig(t, nil)
		if fixFCS && len(bits) >= HeaderLen+FCSLen {
			binary.LittleEndian.PutUint32(bits[len(bits)-FCSLen:], crc32.ChecksumIEEE(bits[:len(bits)-FCSLen]))
		}
		orig := append([]byte(nil), bits...)
		r.nic.Arrive(bits, 1)
		r.clock.Run()

		fr := Frame(orig)
		sizeOK := len(fr) >= MinFrameLen && len(fr) <= MaxFrameLen(r.nic.MTU())
		want := sizeOK && fr.FCS() == fr.ComputeFCS() &&
			(fr.Dst() == macB || fr.Dst() == Broadcast) && fr.EtherType() == EtherTypeIPv4

		var drops []viz.Event
		for _, e := range r.mem.Events() {
			if e.Verdict == viz.Drop {
				drops = append(drops, e)
				if !known[e.Reason] {
					t.Fatalf("drop with reason %q, not one of viz.Reasons(): %s", e.Reason, e.Msg)
				}
			}
		}
		switch {
		case want && len(r.ipv4.got) != 1:
			t.Fatalf("a good IPv4 frame to us was not delivered (drops %v)", drops)
		case !want && len(r.ipv4.got) != 0:
			t.Fatalf("a frame that should be dropped was delivered: % x", orig)
		case !want && len(drops) != 1:
			t.Fatalf("a rejected frame has %d drop steps, want 1: %v", len(drops), drops)
		case want && len(drops) != 0:
			t.Fatalf("a delivered frame has drop steps: %v", drops)
		}
		if !want {
			return
		}
		got := r.ipv4.got[0]
		if got.Dst != fr.Dst() || got.Src != fr.Src() || got.EtherType != EtherTypeIPv4 || !bytes.Equal(got.Payload, fr.Payload()) {
			t.Fatalf("delivered %s > %s %s % x; the frame says %s > %s % x", got.Src, got.Dst, got.EtherType, got.Payload, fr.Src(), fr.Dst(), fr.Payload())
		}
		if again := AppendFrame(nil, fr.Dst(), fr.Src(), fr.EtherType(), fr.Payload()); !bytes.Equal(again, orig) {
			t.Fatalf("AppendFrame does not rebuild the frame:\n% x\n% x", again, orig)
		}
		_ = fr.Dst().String() + fr.EtherType().String()
	})
}
