package grade_test

import (
	"testing"

	"github.com/packetwalk/packetwalk/ip"
	"github.com/packetwalk/packetwalk/labs/impl/demux/grade"
	"github.com/packetwalk/packetwalk/labs/impl/demux/reference"
	"github.com/packetwalk/packetwalk/tcp"
)

// TestReference: the reference solution passes every graded test.
func TestReference(t *testing.T) { grade.Run(t, reference.New) }

// TestTCPsOwnTable: so does the stack's own table, so the tests ask for
// what TCP itself does.
func TestTCPsOwnTable(t *testing.T) {
	grade.Run(t, func(r ip.PortRange) tcp.Demuxer { return tcp.NewDemuxTable(r) })
}
