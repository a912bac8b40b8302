package stack_test

import (
	"testing"
	"time"

	"github.com/packetwalk/packetwalk/wire"
)

// Issue 10's impaired link: 2% loss, 2% duplication, 2% reordering and
// 0.5% bit corruption, seeded; 50 MB each way between packetwalk and
// gVisor's netstack must arrive byte-identical (sha256). The wall time of
// each direction is logged (the simulation is paced by the wall clock,
// because gVisor runs on goroutines of its own); docs/robustness.md has the
// figures.

var impairedLink = wire.Impairments{Loss: 0.02, Duplicate: 0.02, Reorder: 0.02, Corrupt: 0.005}

const impairedBytes = 50 << 20

func TestImpairedLink50MB(t *testing.T) {
	if testing.Short() {
		t.Skip("50 MB each way over an impaired link takes a while; not with -short")
	}
	t.Run("gvisor_to_packetwalk", func(t *testing.T) {
		x := newInterop(t, 31, impairedLink)
		data := randomBytes(31, impairedBytes)
		start := time.Now()
		x.gvisorSends(t, data, 900*time.Second)
		x.logWire(t, "gVisor -> packetwalk", start)
	})
	t.Run("packetwalk_to_gvisor", func(t *testing.T) {
		x := newInterop(t, 32, impairedLink)
		data := randomBytes(32, impairedBytes)
		start := time.Now()
		x.packetwalkSends(t, data, 900*time.Second)
		x.logWire(t, "packetwalk -> gVisor", start)
	})
}

// logWire reports the transfer's wall time and what the impairments did.
func (x *interop) logWire(t *testing.T, what string, start time.Time) {
	t.Helper()
	st := x.pw.TCP.Stats()
	t.Logf("%s: %d MB, sha256 equal, in %v wall; packetwalk sent %d segments, %d retransmitted",
		what, impairedBytes>>20, time.Since(start).Round(time.Millisecond), st.OutSegs, st.RetransSegs)
}
