package gvisorhost

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/packetwalk/packetwalk/viz"
)

// Stats are the counters of the Host's adapter: what crossed its port and
// what it dropped before gVisor saw it (or after gVisor built it). gVisor's
// own counters are in Stack().Stats() and Stack().NICInfo().
type Stats struct {
	RxFrames, RxBytes uint64 // frames that reached the port, good or bad
	RxDelivered       uint64 // frames handed to gVisor
	TxFrames, TxBytes uint64 // frames put on the medium, padding and FCS included
	TxDropped         uint64 // packets gVisor wrote that never reached the medium
	// Drops counts every drop, receive and transmit, by reason.
	Drops map[viz.Reason]uint64
}

// Stats returns a copy of the host's counters.
func (h *Host) Stats() Stats {
	h.mu.Lock()
	defer h.mu.Unlock()
	s := h.stats
	s.Drops = maps.Clone(h.stats.Drops)
	return s
}

// String prints the counters on one line, drops sorted by reason.
func (s Stats) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "rx %d frames (%d bytes), %d to gVisor; tx %d frames (%d bytes), %d dropped",
		s.RxFrames, s.RxBytes, s.RxDelivered, s.TxFrames, s.TxBytes, s.TxDropped)
	for _, r := range slices.Sorted(maps.Keys(s.Drops)) {
		fmt.Fprintf(&b, "; %s %d", r, s.Drops[r])
	}
	return b.String()
}
