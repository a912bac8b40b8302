package tcp

import (
	"testing"
	"time"
)

// segs lists the log's records as [seq, end) pairs for comparisons.
func segs(l *sentLog) [][2]uint32 {
	var out [][2]uint32
	for _, s := range l.live() {
		out = append(out, [2]uint32{uint32(s.seq), uint32(s.end)})
	}
	return out
}

func sameSegs(t *testing.T, l *sentLog, want ...[2]uint32) {
	t.Helper()
	got := segs(l)
	if len(got) != len(want) {
		t.Fatalf("records %v, want %v", got, want)
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("records %v, want %v", got, want)
		}
	}
}

// TestSentLog: transmissions, a retransmission that splits records, SACK
// blocks that mark only whole records, losses, pipe, and the cumulative
// ACK, across the wrap of the sequence space.
func TestSentLog(t *testing.T) {
	var l sentLog
	base := Seq(0xffffff00) // the records cross 2^32
	at := func(n uint32) Seq { return base.Add(n) }
	for i := range uint32(4) {
		l.record(at(i*100), at(i*100+100), time.Duration(i)*time.Millisecond, false)
	}
	sameSegs(t, &l, [2]uint32{uint32(at(0)), uint32(at(100))}, [2]uint32{uint32(at(100)), uint32(at(200))},
		[2]uint32{uint32(at(200)), uint32(at(300))}, [2]uint32{uint32(at(300)), uint32(at(400))})
	if p := l.pipe(); p != 400 {
		t.Fatalf("pipe %d, want 400", p)
	}

	// A SACK block that covers the third record and half the fourth:
	// only the third is delivered.
	l.sack(SACKBlock{at(200), at(350)})
	if p := l.pipe(); p != 300 {
		t.Fatalf("pipe after SACK %d, want 300", p)
	}
	live := l.live()
	if !live[2].sacked || !live[2].fresh || live[3].sacked {
		t.Fatalf("SACK marks %+v", live)
	}

	// A timeout takes every record not SACKed for lost; the first run of
	// lost records is the first two (the SACKed third ends it).
	l.markLost(at(0))
	if p := l.pipe(); p != 0 {
		t.Fatalf("pipe with everything lost %d, want 0", p)
	}
	if !l.live()[3].lost || l.live()[2].lost {
		t.Fatalf("loss marks %+v", l.live())
	}
	if seq, end, ok := l.firstLost(at(400), 1000); !ok || seq != at(0) || end != at(200) {
		t.Fatalf("firstLost = %d..%d %v, want the first two records", uint32(seq), uint32(end), ok)
	}
	if _, end, _ := l.firstLost(at(400), 150); end != at(100) {
		t.Fatalf("firstLost with room for 150 bytes ends at %d, want %d", uint32(end), uint32(at(100)))
	}

	// Resending 50..150 splits the first two records; the resent pieces
	// have their own time and are no longer lost.
	l.record(at(50), at(150), 10*time.Millisecond, true)
	sameSegs(t, &l, [2]uint32{uint32(at(0)), uint32(at(50))}, [2]uint32{uint32(at(50)), uint32(at(100))},
		[2]uint32{uint32(at(100)), uint32(at(150))}, [2]uint32{uint32(at(150)), uint32(at(200))},
		[2]uint32{uint32(at(200)), uint32(at(300))}, [2]uint32{uint32(at(300)), uint32(at(400))})
	live = l.live()
	if !live[1].retransmitted || live[1].lost || live[1].xmitTS != 10*time.Millisecond || live[1].order <= live[5].order {
		t.Fatalf("resent piece %+v", live[1])
	}
	if !live[0].lost || !live[3].lost {
		t.Fatalf("pieces not resent should stay lost: %+v", live)
	}
	if p := l.pipe(); p != 100 {
		t.Fatalf("pipe %d, want 100 (the resent piece)", p)
	}

	// A cumulative ACK inside a record trims it; new data appends.
	l.ack(at(120))
	sameSegs(t, &l, [2]uint32{uint32(at(120)), uint32(at(150))}, [2]uint32{uint32(at(150)), uint32(at(200))},
		[2]uint32{uint32(at(200)), uint32(at(300))}, [2]uint32{uint32(at(300)), uint32(at(400))})
	l.record(at(400), at(500), 20*time.Millisecond, false)
	if n := len(l.live()); n != 5 {
		t.Fatalf("%d records after new data, want 5", n)
	}
	l.ack(at(500))
	if n := len(l.live()); n != 0 {
		t.Fatalf("%d records after everything was acknowledged", n)
	}
}

// TestSentLogNoGrowth: once the log has grown to the window, a steady
// flow of transmissions and ACKs allocates nothing (the send and receive
// paths allocate nothing per segment, BenchmarkSendPath).
func TestSentLogNoGrowth(t *testing.T) {
	var l sentLog
	seq := Seq(1)
	for range 64 {
		l.record(seq, seq.Add(1000), 0, false)
		seq = seq.Add(1000)
	}
	una := Seq(1)
	allocs := testing.AllocsPerRun(100, func() {
		for range 8 {
			l.record(seq, seq.Add(1000), 0, false)
			seq = seq.Add(1000)
			una = una.Add(1000)
			l.ack(una)
		}
	})
	if allocs != 0 {
		t.Errorf("%v allocations per 8 segments", allocs)
	}
}

// TestRACKSentAfter: segments sent at the same instant are ordered by
// when they were sent, not by sequence number (a retransmission sent
// just after new data has lower sequence numbers).
func TestRACKSentAfter(t *testing.T) {
	newData := &sentSeg{seq: 5000, end: 6000, xmitTS: time.Second, order: 7}
	rtx := &sentSeg{seq: 1000, end: 2000, xmitTS: time.Second, order: 8}
	if !rackSentAfter(rtx, newData) || rackSentAfter(newData, rtx) {
		t.Error("the retransmission went after the new data sent at the same instant")
	}
	older := &sentSeg{seq: 9000, end: 10000, xmitTS: time.Millisecond, order: 9}
	if !rackSentAfter(rtx, older) {
		t.Error("time comes first")
	}
}
