package stack

import (
	"io"
	"syscall"
	"testing"
	"time"

	"github.com/packetwalk/packetwalk/viz"
	"github.com/packetwalk/packetwalk/viz/pcapng"
)

// BenchmarkReceivePathLoggedSync and BenchmarkReceivePathLoggedAsync are
// BenchmarkReceivePathLogged with the JSON Lines and pcapng sinks called
// on the stack's goroutine (as tests and labs have them) and behind
// one viz.AsyncSink over a viz.Tee of both (as the command line's file
// outputs have them). ns/op is
// the time the stack's goroutine spends per frame; wall-ns/op adds the
// wait for the sinks to finish at the end (what a run of b.N frames takes
// with the machine's cores), cpu-ns/op is the process's CPU time (all
// goroutines, the garbage collector included) per frame.
func BenchmarkReceivePathLoggedSync(b *testing.B)  { benchReceiveLogged(b, false) }
func BenchmarkReceivePathLoggedAsync(b *testing.B) { benchReceiveLogged(b, true) }

func benchReceiveLogged(b *testing.B, async bool) {
	r := newDataRig(b, fullSegment)
	log := r.p.Net.Log
	jsonl := viz.NewJSONLSink(io.Discard)
	capture, err := pcapng.New(io.Discard, pcapng.Options{})
	if err != nil {
		b.Fatal(err)
	}
	var flush func() error
	if async {
		// One queue for both, as cmd/packetwalk's outputs have it.
		q := viz.NewAsync(viz.Tee{jsonl, capture}, viz.AsyncOptions{})
		log.AddSink(q)
		flush = q.Close
	} else {
		log.AddSink(jsonl)
		log.AddSink(capture)
		flush = func() error {
			if err := jsonl.Flush(); err != nil {
				return err
			}
			return capture.Close()
		}
	}
	cpu0 := processCPU()
	start := time.Now()
	r.receive(b)
	if err := flush(); err != nil {
		b.Fatal(err)
	}
	wall := time.Since(start)
	cpu := processCPU() - cpu0
	b.ReportMetric(float64(wall.Nanoseconds())/float64(b.N), "wall-ns/op")
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
}

// processCPU is the user and system CPU time of the whole process.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
