package tcp

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// bufReceiver is the stack's own ReceiveBuffer seen through the smaller
// Receiver interface, as a student's receiver would be.
type bufReceiver struct{ *ReceiveBuffer }

func (b bufReceiver) Insert(seq Seq, data []byte) int {
	n, _ := b.ReceiveBuffer.Insert(seq, data)
	return n
}

func (b bufReceiver) Held() []SACKBlock {
	held := b.OutOfOrder()
	slices.SortFunc(held, func(x, y SACKBlock) int { return int(x.Start.Sub(y.Start)) })
	return held
}

// TestReceiverAdapterMatchesReceiveBuffer: a Receiver behind the adapter
// gives the connection what ReceiveBuffer gives it (bytes accepted, RCV.NXT
// moved, the D-SACK block, the SACK blocks in RFC 2018 §4's order), for
// random segments around RCV.NXT across the 2^32 wrap: the SACK options of
// a student's receiver are then the stack's own.
func TestReceiverAdapterMatchesReceiveBuffer(t *testing.T) {
	for seed := uint64(1); seed <= 20; seed++ {
		rng := rand.New(rand.NewPCG(seed, 7))
		start := Seq(1<<32 - 3000)
		own := NewReceiveBuffer(4000, start)
		a := newRecvBuffer(func(c int) Receiver { return bufReceiver{NewReceiveBuffer(c, 0)} }, 4000)
		a.SetNextSeq(start)
		stream := make([]byte, 1<<16)
		for i := range stream {
			stream[i] = byte(rng.IntN(256))
		}
		for step := 0; step < 400; step++ {
			if rng.IntN(5) == 0 {
				p, q := make([]byte, rng.IntN(3000)), make([]byte, 3000)
				n := own.Read(p)
				q = q[:len(p)]
				if m := a.Read(q); m != n || !bytes.Equal(p[:n], q[:m]) {
					t.Fatalf("seed %d step %d: Read %d bytes, the adapter %d", seed, step, n, m)
				}
				continue
			}
			off := rng.IntN(6000) - 1000 // some old, some beyond the window
			seq := own.NextSeq().Add(uint32(off))
			pos := int(seq.Sub(start))
			if pos < 0 || pos+1500 > len(stream) {
				continue
			}
			data := stream[pos : pos+1+rng.IntN(1400)]
			want, got := own.InsertDetail(seq, data), a.InsertDetail(seq, data)
			w := fmt.Sprint(want.Accepted, want.Advanced, want.HasDSACK, want.DSACK, own.NextSeq(), own.Window(), own.Readable(), own.AppendOutOfOrder(nil))
			g := fmt.Sprint(got.Accepted, got.Advanced, got.HasDSACK, got.DSACK, a.NextSeq(), a.Window(), a.Readable(), a.AppendOutOfOrder(nil))
			if w != g || own.OutOfOrderRanges() != a.OutOfOrderRanges() {
				t.Fatalf("seed %d step %d: insert %d bytes at %d:\nReceiveBuffer %s\nadapter       %s", seed, step, len(data), uint32(seq), w, g)
			}
		}
	}
}

// TestConfigReceiver: Config.Receiver builds every connection's receive
// side, and with the stack's own buffer behind it the connection sends
// exactly the segments (ACK numbers, windows, SACK blocks) it sends with
// Config.Receiver nil.
func TestConfigReceiver(t *testing.T) {
	run := func(cfg Config) []string {
		r := newRig(t, cfg)
		if _, err := r.l.Listen(srvAddr, 4, Options{}, nil); err != nil {
			t.Fatal(err)
		}
		r.inject(peerAddr, srvAddr, peerSYN(peerISS), nil)
		synack := r.takeOne("SYN")
		iss := synack.hdr.Seq
		var out []string
		send := func(off uint32, n int) {
			h := Header{Seq: peerISS.Add(1 + off), Ack: iss.Add(1), Flags: FlagACK, Window: 65535}
			r.inject(peerAddr, srvAddr, h, bytes.Repeat([]byte{'x'}, n))
			for _, s := range r.take() {
				out = append(out, s.hdr.String())
			}
		}
		send(0, 0)
		send(1000, 500) // a hole before it
		send(3000, 500)
		send(1000, 500) // again: a D-SACK
		send(0, 1000)   // fills the first hole
		send(0, 100)    // old
		return out
	}
	made := 0
	want := run(Config{DelayedACK: -1})
	got := run(Config{DelayedACK: -1, Receiver: func(c int) Receiver { made++; return bufReceiver{NewReceiveBuffer(c, 0)} }})
	if made != 1 {
		t.Fatalf("Config.Receiver was called %d times, want once (the connection)", made)
	}
	if fmt.Sprint(want) != fmt.Sprint(got) {
		t.Fatalf("with Config.Receiver the connection sent\n%q\nwithout it\n%q", got, want)
	}
	if len(want) < 5 {
		t.Fatalf("only %d segments sent: %q", len(want), want)
	}
}
