package grading

import (
	"fmt"

	"testing"

	"github.com/packetwalk/packetwalk/stack"
	"github.com/packetwalk/packetwalk/viz"
)

// NewPair builds the simulated network of a graded test that runs the
// student's code inside the stack: a client and a server on one wire
// (stack.NewPair), cfg carrying the student's constructor or nil for the
// stack's own code. The whole step log is kept in memory, so that a test
// can compare the two runs and quote the steps in its failure message.
func NewPair(t testing.TB, cfg stack.TopologyConfig) (*stack.Pair, *viz.MemorySink) {
	t.Helper()
	p, err := stack.NewPair(cfg)
	if err != nil {
		t.Fatalf("building the network: %v", err)
	}
	mem := &viz.MemorySink{}
	p.Net.Log.AddSink(mem)
	return p, mem
}

// NewRouted builds the three-host network of a graded test (client,
// router, server: stack.NewRouted), with the whole step log kept in memory.
func NewRouted(t testing.TB, cfg stack.TopologyConfig) (*stack.Routed, *viz.MemorySink) {
	t.Helper()
	r, err := stack.NewRouted(cfg)
	if err != nil {
		t.Fatalf("building the network: %v", err)
	}
	mem := &viz.MemorySink{}
	r.Net.Log.AddSink(mem)
	return r, mem
}

// Frames lists the frames the NICs sent, one a line: "0.001000 client ->
// ff:ff:ff:ff:ff:ff ARP, 42 bytes", in the order sent. Two runs that send
// the same frames at the same times give the same lines, whatever frame
// IDs their code took.
func Frames(events []viz.Event) []string {
	var out []string
	for i := range events {
		e := &events[i]
		if e.Layer == viz.LayerNIC && e.Step == "tx" && e.Verdict == viz.Send {
			dst, _ := e.Field("dst")
			et, _ := e.Field("ethertype")
			n, _ := e.Field("len")
			out = append(out, fmt.Sprintf("%s %s -> %s %s, %s bytes", viz.FormatSeconds(e.T), e.Host, dst, et, n))
		}
	}
	return out
}
