// Command sim runs the simulation-at-scale benchmark (bench/scale): a crowd
// of clients on one packetwalk host fetch a 1 KiB file from httpd on
// another at the same instant, in virtual time; then the memory of an idle
// established connection on packetwalk and on gVisor's netstack. It prints
// one line per figure; BENCHMARKS.md keeps the latest.
//
//	go run ./bench/sim [--conns 10000] [--idle 2000] [--seed 1]
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime/pprof"
	"time"

	"github.com/packetwalk/packetwalk/bench/scale"
)

func main() {
	conns := flag.Int("conns", 10000, "concurrent clients, each fetching the file once")
	idle := flag.Int("idle", 2000, "idle connections opened on each stack to measure their memory (0: skip)")
	seed := flag.Int64("seed", 1, "the simulation's seed")
	timeout := flag.Duration("timeout", 10*time.Minute, "give up after this much wall time")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the crowd run to this file (go tool pprof -top)")
	flag.Parse()
	if *conns < 1 || *conns > 60000 || *idle < 0 || *idle > 20000 {
		fmt.Fprintln(os.Stderr, "sim: --conns takes 1..60000 (one client port each) and --idle 0..20000.")
		os.Exit(2)
	}

	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "sim: cannot write the CPU profile: %v\n", err)
			os.Exit(1)
		}
	}
	r := scale.Run(scale.Config{Seed: *seed, Conns: *conns, Timeout: *timeout})
	pprof.StopCPUProfile()
	fmt.Printf("crowd: %d of %d clients served, seed %d, %v simulated\n", r.Conns, *conns, *seed, r.Virtual.Round(time.Millisecond))
	fmt.Printf("  wall time %v, %d events, %.0f events/s, %d frames at the server\n", r.Wall.Round(time.Millisecond), r.Events, r.EventsPerSecond(), r.Frames)
	fmt.Printf("  peak heap in use %.1f MB, process peak RSS %.1f MB\n", float64(r.PeakHeap)/1e6, float64(r.MaxRSS)/1e6)
	if r.Err != nil {
		fmt.Fprintf(os.Stderr, "sim: %d clients failed, the first: %v\n%s\n", r.ServeErrs, r.Err, r.Log)
		os.Exit(1)
	}
	if *idle == 0 {
		return
	}
	m, err := scale.MeasureIdle(*idle)
	if err != nil {
		fmt.Fprintf(os.Stderr, "sim: measuring idle connections: %v\n", err)
		os.Exit(1)
	}
	fmt.Printf("idle established connection (%d, both ends): packetwalk %.0f B, gVisor %.0f B per end; packetwalk/gVisor %.2f\n",
		m.Conns, m.Packetwalk, m.GVisor, m.Packetwalk/m.GVisor)
}
