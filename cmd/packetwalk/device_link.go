package main

import (
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/packetwalk/packetwalk/wire"
)

// deviceLatency is the one-way delay of the simulated wire that impairment
// flags put between a TUN or TAP device and packetwalk's NIC: next to
// nothing, since the kernel is right there; the impairments are the point.
const deviceLatency = time.Microsecond

// deviceReorderDelay is how long --reorder holds a frame back on a device.
// The simulated wire's default (three latencies) is a few microseconds
// here, less than the gap between the kernel's frames, so nothing would
// overtake; 5 ms lets the rest of a TCP flight arrive first.
const deviceReorderDelay = 5 * time.Millisecond

// registerImpairments registers the flags that impair the frames between a
// device and the NIC: the wire's flags without --mtu and --wire (a device
// link has two ends and the kernel's MTU).
func (l *linkFlags) registerImpairments(fs *flag.FlagSet) {
	fs.Int64Var(&l.seed, "seed", 1, "seed of the impairments; the same seed makes the same decisions for the same traffic")
	fs.Var(&l.loss, "loss", "probability that a frame between the device and the NIC is lost (0..1)")
	fs.Var(&l.dup, "dup", "probability that a frame between the device and the NIC is duplicated (0..1)")
	fs.Var(&l.reorder, "reorder", "probability that a frame between the device and the NIC is held back behind later ones (0..1)")
	fs.Var(&l.corrupt, "corrupt", "probability that a bit of a frame between the device and the NIC is flipped (0..1)")
	fs.Var(&l.faults, "fault", "a targeted fault: drop:N or corrupt:N (frame N of the step log); repeatable")
}

// deviceLink returns the wire that carries the impairments between the
// device and the NIC, or nil when no flag asked for one: without
// impairments, frames go straight from the device to the NIC, and the log
// has no wire steps.
func (l *linkFlags) deviceLink() *wire.Config {
	im := wire.Impairments{
		Loss: float64(l.loss), Duplicate: float64(l.dup), Reorder: float64(l.reorder), Corrupt: float64(l.corrupt),
		Seed: l.seed, ReorderDelay: deviceReorderDelay,
	}
	if im.Loss == 0 && im.Duplicate == 0 && im.Reorder == 0 && im.Corrupt == 0 && len(l.faults) == 0 {
		return nil
	}
	return &wire.Config{Latency: deviceLatency, Impairments: im, Faults: l.faults}
}

// describeLink says what the impairment flags do on device dev, for the
// line that announces the server: "" without impairments.
func (l *linkFlags) describeLink(dev string) string {
	wc := l.deviceLink()
	if wc == nil {
		return ""
	}
	var what []string
	for _, p := range []struct {
		name string
		v    probability
	}{{"loss", l.loss}, {"dup", l.dup}, {"reorder", l.reorder}, {"corrupt", l.corrupt}} {
		if p.v > 0 {
			what = append(what, fmt.Sprintf("%s %v", p.name, float64(p.v)))
		}
	}
	if len(l.faults) > 0 {
		what = append(what, "faults "+l.faults.String())
	}
	return fmt.Sprintf("; the frames between %s and the NIC cross the simulated wire %s-wire (%s, seed %d)", dev, dev, strings.Join(what, ", "), l.seed)
}
