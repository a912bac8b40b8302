package grade_test

import (
	"testing"

	"github.com/packetwalk/packetwalk/ip"
	"github.com/packetwalk/packetwalk/labs/impl/reassembly/grade"
	"github.com/packetwalk/packetwalk/labs/impl/reassembly/reference"
)

// TestReference: the reference solution passes every graded test.
func TestReference(t *testing.T) { grade.Run(t, reference.New) }

// TestIPsOwnReassembler: so does the stack's own reassembler, which the
// wire tests use as the oracle; the unit tests agree with it.
func TestIPsOwnReassembler(t *testing.T) {
	grade.Run(t, func(cfg ip.ReassemblerConfig) ip.FragmentReassembler { return ip.NewReassembler(cfg) })
}
