package tcp

import (
	"bytes"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"
)

// spySender is a Sender whose decisions a test sets, recording what the
// connection asks it.
type spySender struct {
	Sender                // the stack's own, for what the test leaves alone
	size    int           // SegmentSize's answer if > 0
	rto     time.Duration // RTO's answer if > 0
	thirdAt int           // OnACK says ACKThirdDuplicate at this duplicate (RFC 5681 §2) if > 0
	dups    int
	samples []string
	windows []SendWindow
}

func (s *spySender) SegmentSize(w SendWindow) int {
	s.windows = append(s.windows, w)
	if s.size > 0 {
		return min(s.size, w.Queued)
	}
	return s.Sender.SegmentSize(w)
}

func (s *spySender) Sample(r time.Duration, retx bool) {
	s.samples = append(s.samples, fmt.Sprintf("%v %v", r, retx))
	s.Sender.Sample(r, retx)
}

func (s *spySender) RTO() time.Duration {
	if s.rto > 0 {
		return s.rto
	}
	return s.Sender.RTO()
}

func (s *spySender) OnACK(a ACKInfo) ACKKind {
	k := s.Sender.OnACK(a)
	if s.thirdAt > 0 && k != ACKNew && k != ACKOther {
		s.dups++
		if s.dups == s.thirdAt {
			return ACKThirdDuplicate
		}
		return ACKDuplicate
	}
	return k
}

// senderRig opens a connection on a layer whose connections get spy.
func senderRig(t *testing.T, spy *spySender) (*rig, conn) {
	r := newRig(t, Config{DelayedACK: -1, Sender: func(cfg SenderConfig) Sender {
		if cfg.RTOMin != DefaultConnRTOMin || cfg.RTOMax != DefaultRTOMax || cfg.RTOInitial != DefaultRTOInitial || cfg.G != DefaultClockGranularity {
			t.Errorf("SenderConfig %+v: want the layer's bounds with their defaults", cfg)
		}
		spy.Sender = NewSender(cfg)
		return spy
	}})
	return r, r.passiveOpen(4, peerAddr, peerISS)
}

// TestConfigSenderDecides: with Config.Sender the connection sends the
// segment sizes the Sender gives, retransmits when its RTO says, fast
// retransmits on the duplicate it calls the third, hands it every RTT
// sample (Karn's ambiguous one marked), and negotiates no SACK.
func TestConfigSenderDecides(t *testing.T) {
	spy := &spySender{size: 700, rto: 5 * time.Second, thirdAt: 1}
	r, c := senderRig(t, spy)
	if c.e.sackOK {
		t.Fatal("a connection with a Sender accepted SACK")
	}
	if _, err := c.e.Write(bytes.Repeat([]byte{'d'}, 2000)); err != nil {
		t.Fatal(err)
	}
	var lens []int
	for _, s := range r.take() {
		lens = append(lens, len(s.payload))
	}
	// One: with 700 bytes in flight, the stack's sender-side silly
	// window avoidance holds a second 700-byte piece of the 2000 (RFC
	// 9293 §3.8.6.2.1).
	if fmt.Sprint(lens) != "[700]" {
		t.Fatalf("segments of %v bytes, want the Sender's 700", lens)
	}
	if w := spy.windows[0]; w.UNA != c.localNxt || w.NXT != c.localNxt || w.WND != 65535 || w.MSS != 1460 || w.Queued != 2000 || w.InFlight != 0 || w.Cwnd != 14600 {
		t.Fatalf("the first SendWindow: %+v", w)
	}
	// One duplicate ACK: the Sender calls it the third.
	una := c.localNxt
	r.fromPeer(c, Header{Seq: c.peerNxt, Ack: una, Flags: FlagACK, Window: 65535}, nil)
	out := r.take()
	if len(out) != 1 || out[0].hdr.Seq != una || len(out[0].payload) == 0 {
		t.Fatalf("after the duplicate the Sender called the third: sent %v, want the segment at SND.UNA again", out)
	}
	// Nothing more: the retransmission timer fires at the Sender's 5 s,
	// not at the stack's 1 s.
	r.clock.RunFor(4900 * time.Millisecond)
	r.expectNone("before the Sender's RTO")
	r.clock.RunFor(200 * time.Millisecond)
	if out := r.take(); len(out) == 0 || out[0].hdr.Seq != una {
		t.Fatalf("at the Sender's RTO: sent %v, want a retransmission at SND.UNA", out)
	}
	// The ACK of everything: the timed segment was retransmitted, so its
	// sample reaches the Sender marked ambiguous (Karn).
	r.fromPeer(c, Header{Seq: c.peerNxt, Ack: una.Add(700), Flags: FlagACK, Window: 65535}, nil)
	if len(spy.samples) != 2 || spy.samples[1] != "5.1s true" {
		t.Fatalf("samples %q: want the handshake's, then 5.1s marked retransmitted", spy.samples)
	}
}

// TestNewSenderNoSACK: a layer with the stack's own Sender still
// completes a handshake, and its SYN offers no SACK.
func TestNewSenderNoSACK(t *testing.T) {
	r := newRig(t, Config{Sender: NewSender})
	if _, err := r.l.Connect(netip.AddrPort{}, peerAddr, Options{}, nil); err != nil {
		t.Fatal(err)
	}
	if syn := r.takeOne("connect"); syn.hdr.Options.SACKPermitted {
		t.Fatalf("SYN %v offers SACK", syn.hdr)
	}
}

// TestOwnSenderDuplicates: NewSender's OnACK is RFC 5681 §2 and §3.2.
func TestOwnSenderDuplicates(t *testing.T) {
	s := NewSender(SenderConfig{})
	dup := ACKInfo{Ack: 100, Window: 1000, UNA: 100, WND: 1000, Outstanding: 500}
	upd := dup
	upd.Window = 2000
	data := dup
	data.Len = 10
	var got []string
	for _, a := range []ACKInfo{dup, upd, data, dup, dup, dup, {Ack: 200, UNA: 100, Outstanding: 500}, dup} {
		got = append(got, s.OnACK(a).String())
	}
	want := "[duplicate other other duplicate third duplicate duplicate new duplicate]"
	if fmt.Sprint(got) != want {
		t.Fatalf("%v, want %s", got, want)
	}
}

// zeroRTOSender is a student's Sender whose RTO is still the zero value.
type zeroRTOSender struct{ Sender }

func (zeroRTOSender) RTO() time.Duration { return 0 }

// TestSenderZeroRTONamed: a Sender whose RTO is 0 makes the timer fire at
// once; the step log says why, once per connection, citing RFC 6298.
func TestSenderZeroRTONamed(t *testing.T) {
	r := newRig(t, Config{Sender: func(cfg SenderConfig) Sender { return zeroRTOSender{NewSender(cfg)} }})
	if _, err := r.l.Connect(netip.AddrPort{}, peerAddr, Options{}, nil); err != nil {
		t.Fatal(err)
	}
	r.clock.RunFor(time.Second)
	n := 0
	for _, e := range r.mem.Events() {
		if e.Step == "rtt" && strings.Contains(e.Message(), "the Sender's RTO is 0s") && strings.Contains(e.Message(), "RFC 6298 (2.1)") {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("%d steps naming the Sender's RTO of 0, want 1", n)
	}
}
