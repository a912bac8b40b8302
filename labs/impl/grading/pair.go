package grading

import (
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
