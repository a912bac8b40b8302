package viz

import (
	"bytes"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/packetwalk/packetwalk/clock"
)

// recordingCapturer writes down every call it gets, copying what the
// Sink contract says it may not keep.
type recordingCapturer struct {
	mu    sync.Mutex
	calls []string
	delay time.Duration // per call, to make the consumer slow
}

func (r *recordingCapturer) add(s string) {
	if r.delay > 0 {
		time.Sleep(r.delay)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, s)
}

func (r *recordingCapturer) Event(e *Event) {
	r.add(fmt.Sprintf("event %s %s %d %s %v", e.Host, e.Step, e.Frame, e.Message(), e.Fields))
}

func (r *recordingCapturer) Capture(f *CapturedFrame) {
	r.add(fmt.Sprintf("capture %s %d %x", f.Host, f.Frame, f.Data))
}

func (r *recordingCapturer) EndWalk(host string, frame uint64) {
	r.add(fmt.Sprintf("end %s %d", host, frame))
}

func (r *recordingCapturer) got() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.calls...)
}

// drive logs n frames' walks, reusing one frame buffer and one fields
// array, as the stack does, so a sink that kept them would see them change.
func drive(log *Log, n int) {
	rec := log.Recorder("server")
	data := make([]byte, 8)
	fields := make([]Field, 2)
	for i := range n {
		id := rec.NewFrameID()
		for j := range data {
			data[j] = byte(i + j)
		}
		rec.Capture(CapturedFrame{NIC: "eth0", Dir: Inbound, Frame: id, Data: data})
		fields[0] = F("i", Itoa(i))
		fields[1] = F("half", Itoa(i/2))
		rec.Emit(Event{Layer: LayerTCP, Step: "data", Frame: id, Msg: "segment " + Itoa(i), Fields: fields})
		rec.EndWalk(id)
	}
}

// An AsyncSink gives its sink the same calls, in the same order and with
// the same contents, as the sink gets when added directly, even with a
// queue small enough that the producer waits for the consumer.
func TestAsyncSinkSameCallsInOrder(t *testing.T) {
	for _, opts := range []AsyncOptions{{}, {MaxBatch: 3, MaxBatchBytes: 20}, {MaxBatch: 1}} {
		t.Run(fmt.Sprintf("batch%d", opts.MaxBatch), func(t *testing.T) {
			direct := &recordingCapturer{}
			log1 := NewLog(clock.NewVirtual())
			log1.AddSink(direct)
			drive(log1, 300)

			slow := &recordingCapturer{delay: 10 * time.Microsecond}
			log2 := NewLog(clock.NewVirtual())
			a := NewAsync(slow, opts)
			log2.AddSink(a)
			drive(log2, 300)
			if err := a.Close(); err != nil {
				t.Fatal(err)
			}
			want, got := direct.got(), slow.got()
			if len(got) != len(want) || len(want) != 900 {
				t.Fatalf("async sink saw %d calls, direct %d (want 900)", len(got), len(want))
			}
			for i := range want {
				if got[i] != want[i] {
					t.Fatalf("call %d: async %q, direct %q", i, got[i], want[i])
				}
			}
		})
	}
}

// The JSON Lines written through an AsyncSink are byte for byte those of a
// synchronous JSONLSink; Flush makes them reach the writer, and events
// after Close are ignored.
func TestAsyncJSONLSameBytes(t *testing.T) {
	var want bytes.Buffer
	s1 := NewJSONLSink(&want)
	log1 := NewLog(clock.NewVirtual())
	log1.AddSink(s1)
	drive(log1, 500)
	if err := s1.Flush(); err != nil {
		t.Fatal(err)
	}

	var got lockedBuffer
	s2 := NewJSONLSink(&got)
	log2 := NewLog(clock.NewVirtual())
	a := NewAsync(s2, AsyncOptions{MaxBatch: 7})
	log2.AddSink(a)
	if log2.Recorder("server").Capturing() {
		t.Fatal("an AsyncSink around a JSONLSink (not a Capturer) asks for frames")
	}
	drive(log2, 500)
	if err := a.Flush(); err != nil {
		t.Fatal(err)
	}
	if got.String() != want.String() {
		t.Fatalf("async JSON Lines differ from synchronous ones:\n%.300s\nwant\n%.300s", got.String(), want.String())
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	log2.Recorder("server").Emit(Event{Layer: LayerTCP, Step: "late"})
	if err := a.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if got.String() != want.String() {
		t.Fatal("an event after Close reached the writer")
	}
}

// Without Flush, a lone event still reaches the sink (MaxDelay's timer),
// and with the sink's FlushWithin, the writer.
func TestAsyncSinkDeliversWithoutMoreEvents(t *testing.T) {
	var out lockedBuffer
	s := NewJSONLSink(&out)
	s.FlushWithin = 5 * time.Millisecond
	a := NewAsync(s, AsyncOptions{})
	defer a.Close()
	a.Event(&Event{Host: "server", Layer: LayerTCP, Step: "data"})
	deadline := time.Now().Add(10 * time.Second)
	for !bytes.Contains([]byte(out.String()), []byte(`"step":"data"`)) {
		if time.Now().After(deadline) {
			t.Fatal("the event never reached the writer")
		}
		time.Sleep(time.Millisecond)
	}
}

// Many goroutines logging at once (the web server's workers and the
// loop): every event arrives once; run with -race.
func TestAsyncSinkConcurrentProducers(t *testing.T) {
	mem := &MemorySink{}
	log := NewLog(clock.NewVirtual())
	a := NewAsync(mem, AsyncOptions{MaxBatch: 16})
	log.AddSink(a)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rec := log.Recorder("host" + Itoa(g))
			for i := range 1000 {
				rec.Emit(Event{Layer: LayerApp, Step: "n", Msg: Itoa(i)})
			}
		}()
	}
	wg.Wait()
	a.Drain()
	if n := len(mem.Events()); n != 4000 {
		t.Fatalf("after Drain the sink has %d events, want 4000", n)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
}

// A Tee behind one AsyncSink: each sink gets what it would get added to
// the log on its own, and Close closes both.
func TestAsyncTee(t *testing.T) {
	direct := &recordingCapturer{}
	var want bytes.Buffer
	j1 := NewJSONLSink(&want)
	log1 := NewLog(clock.NewVirtual())
	log1.AddSink(direct)
	log1.AddSink(j1)
	drive(log1, 200)
	if err := j1.Flush(); err != nil {
		t.Fatal(err)
	}

	rec := &recordingCapturer{}
	var got lockedBuffer
	j2 := NewJSONLSink(&got)
	log2 := NewLog(clock.NewVirtual())
	a := NewAsync(Tee{rec, j2}, AsyncOptions{MaxBatch: 5})
	log2.AddSink(a)
	if !log2.Recorder("server").Capturing() {
		t.Fatal("a Tee holding a Capturer does not ask for frames")
	}
	drive(log2, 200)
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if got.String() != want.String() {
		t.Fatal("JSON Lines through a Tee differ from a JSONLSink's own")
	}
	w, g := direct.got(), rec.got()
	if fmt.Sprint(w) != fmt.Sprint(g) || len(g) != 600 {
		t.Fatalf("the Capturer in the Tee saw %d calls, want the %d it sees alone", len(g), len(w))
	}
}

// batchEnder records events and the ends of batches.
type batchEnder struct{ recordingCapturer }

func (b *batchEnder) EndBatch() { b.add("endbatch") }

// A sink with EndBatch hears it after every batch, with every event of
// the batch before it: a live narration flushes there, once per batch.
func TestAsyncSinkEndBatch(t *testing.T) {
	var s batchEnder
	a := NewAsync(&s, AsyncOptions{MaxBatch: 16})
	for i := range 100 {
		a.Event(&Event{Host: "server", Layer: LayerTCP, Step: "data", Msg: Itoa(i)})
	}
	if err := a.Flush(); err != nil {
		t.Fatal(err)
	}
	a.Close()
	calls := s.got()
	events, ends := 0, 0
	for _, c := range calls {
		if c == "endbatch" {
			ends++
		} else {
			events++
		}
	}
	if events != 100 || ends == 0 || ends > events || calls[len(calls)-1] != "endbatch" {
		t.Errorf("%d events and %d ends of batches, the last call %q: want 100 events, each batch ended", events, ends, calls[len(calls)-1])
	}
}
