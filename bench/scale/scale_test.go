package scale

import (
	"testing"
)

// A small crowd: 200 clients at once, every one of them served in full
// (bench/sim runs the same scenario with 10,000).
func TestCrowdOf200(t *testing.T) {
	r := Run(Config{Seed: 3, Conns: 200})
	if r.Err != nil {
		t.Fatalf("%d of 200 served, %d failed: %v\n%s", r.Conns, r.ServeErrs, r.Err, r.Log)
	}
	if r.Conns != 200 {
		t.Fatalf("%d of 200 clients got the file", r.Conns)
	}
	// Each connection brings the server at least a SYN, the request
	// (which acknowledges the SYN+ACK), and the FIN with the ACK of the
	// response; more when ACKs are not piggy-backed.
	if r.Frames < 4*200 || r.Events == 0 {
		t.Errorf("server received %d frames in %d events; want at least 800 frames", r.Frames, r.Events)
	}
	t.Logf("200 clients: %d events in %v wall (%.0f events/s), %v simulated, peak heap %.1f MB",
		r.Events, r.Wall, r.EventsPerSecond(), r.Virtual, float64(r.PeakHeap)/1e6)
}

// The same seed gives the same run: the event count and the simulated
// time are equal (httpd's goroutines are started with the loop's Go, so
// virtual time stays deterministic).
func TestCrowdIsDeterministic(t *testing.T) {
	a := Run(Config{Seed: 5, Conns: 50})
	b := Run(Config{Seed: 5, Conns: 50})
	if a.Err != nil || b.Err != nil {
		t.Fatalf("runs failed: %v; %v", a.Err, b.Err)
	}
	if a.Events != b.Events || a.Virtual != b.Virtual || a.Frames != b.Frames {
		t.Errorf("same seed, different runs: %d/%d events, %v/%v simulated, %d/%d frames",
			a.Events, b.Events, a.Virtual, b.Virtual, a.Frames, b.Frames)
	}
}

// Idle connections cost memory on both stacks, and the measurement sees
// it (a few hundred bytes at least: a socket, a TCB, a demux entry).
func TestIdleMemoryMeasured(t *testing.T) {
	if testing.Short() {
		t.Skip("opens 2 x 100 connections on two stacks")
	}
	m, err := MeasureIdle(100)
	if err != nil {
		t.Fatal(err)
	}
	if m.Packetwalk < 200 || m.GVisor < 200 {
		t.Errorf("per idle connection: packetwalk %.0f B, gVisor %.0f B; want at least 200 B each", m.Packetwalk, m.GVisor)
	}
	t.Logf("per idle established connection end: packetwalk %.0f B, gVisor %.0f B", m.Packetwalk, m.GVisor)
}
