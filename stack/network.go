package stack

import (
	"context"
	"fmt"
	"time"

	"github.com/packetwalk/packetwalk/clock"
	"github.com/packetwalk/packetwalk/nic"
	"github.com/packetwalk/packetwalk/viz"
	"github.com/packetwalk/packetwalk/wire"
)

// Network is a simulation: hosts and wires that share one virtual clock
// (so one goroutine owns every protocol state) and one step log (so frame
// IDs are unique across hosts). With the same seed and the same scenario,
// two runs give the same log and the same capture, byte for byte.
type Network struct {
	Clock *clock.Virtual
	Loop  *Loop
	Log   *viz.Log
	Seed  int64

	hosts []*Host
	wires []*wire.Wire
}

// NewNetwork returns an empty simulation at virtual time zero.
func NewNetwork(seed int64) *Network {
	c := clock.NewVirtual()
	return &Network{Clock: c, Loop: NewLoop(c), Log: viz.NewLog(c), Seed: seed}
}

// AddWire adds a simulated wire, registered in the log's topology. Its
// clock and log are the network's; a zero impairment seed takes the
// network's seed, offset by the wire's index so that two wires do not
// fail in lockstep.
func (n *Network) AddWire(cfg wire.Config) (*wire.Wire, error) {
	cfg.Clock, cfg.Log = n.Clock, n.Log
	if cfg.Name == "" {
		cfg.Name = fmt.Sprintf("wire%d", len(n.wires))
	}
	if cfg.Impairments.Seed == 0 {
		cfg.Impairments.Seed = n.Seed + int64(len(n.wires))
	}
	w, err := wire.New(cfg)
	if err != nil {
		return nil, err
	}
	n.wires = append(n.wires, w)
	n.Log.AddTopoWire(w.Name(), "wire")
	return w, nil
}

// AddHost adds a packetwalk host, registered in the log's topology (by
// NewHost; its interfaces by AddInterface).
func (n *Network) AddHost(cfg HostConfig) *Host {
	secret := fmt.Appendf(nil, "packetwalk seed %d host %s", n.Seed, cfg.Name)
	h := NewHost(cfg, n.Loop, n.Log.Recorder(cfg.Name), secret)
	n.hosts = append(n.hosts, h)
	return h
}

// MAC returns a locally administered MAC address for the index-th NIC of
// the simulation: 02:00:00:00:00:01 and on, easy to read in a trace.
func MAC(index int) nic.MAC {
	return nic.MAC{0x02, 0, 0, byte(index >> 16), byte(index >> 8), byte(index)}
}

// Hosts returns the hosts in the order they were added.
func (n *Network) Hosts() []*Host { return append([]*Host(nil), n.hosts...) }

// Wires returns the wires in the order they were added.
func (n *Network) Wires() []*wire.Wire { return append([]*wire.Wire(nil), n.wires...) }

// Run runs the simulation until nothing is left to do. It is for
// scenarios driven by the clock alone (ping, crafted frames); scenarios with
// applications use RunUntil.
func (n *Network) Run() { n.Clock.Run() }

// Go starts an application goroutine (a server, a client) that the
// simulation keeps track of: virtual time stands still while it runs.
func (n *Network) Go(f func()) { n.Loop.Go(f) }

// RunUntil runs the simulation, applications included, until done reports
// true (checked on the loop), ctx ends, or nothing more can happen
// (ErrIdle).
func (n *Network) RunUntil(ctx context.Context, done func() bool) error { return n.Loop.Run(ctx, done) }

// RunFor runs the simulation for d of virtual time.
func (n *Network) RunFor(d time.Duration) { n.Clock.RunFor(d) }
