package stack

import (
	"fmt"
	"time"

	"github.com/packetwalk/packetwalk/nic"
	"github.com/packetwalk/packetwalk/viz"
)

// Network is a simulation: hosts and wires that share one virtual clock
// (so one goroutine owns every protocol state) and one step log (so frame
// IDs are unique across hosts). With the same seed and the same scenario,
// two runs give the same log and the same capture, byte for byte.
type Network struct {
	Clock *viz.VirtualClock
	Log   *viz.Log
	Seed  int64

	hosts []*Host
	wires []*nic.Wire
}

// NewNetwork returns an empty simulation at virtual time zero.
func NewNetwork(seed int64) *Network {
	c := viz.NewVirtualClock()
	return &Network{Clock: c, Log: viz.NewLog(c), Seed: seed}
}

// AddWire adds a simulated wire. Its clock and log are the network's; a
// zero impairment seed takes the network's seed, offset by the wire's
// index so that two wires do not fail in lockstep.
func (n *Network) AddWire(cfg nic.WireConfig) (*nic.Wire, error) {
	cfg.Clock, cfg.Log = n.Clock, n.Log
	if cfg.Name == "" {
		cfg.Name = fmt.Sprintf("wire%d", len(n.wires))
	}
	if cfg.Impairments.Seed == 0 {
		cfg.Impairments.Seed = n.Seed + int64(len(n.wires))
	}
	w, err := nic.NewWire(cfg)
	if err != nil {
		return nil, err
	}
	n.wires = append(n.wires, w)
	return w, nil
}

// AddHost adds a host.
func (n *Network) AddHost(cfg HostConfig) *Host {
	h := NewHost(cfg, n.Clock, n.Log.Recorder(cfg.Name))
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
func (n *Network) Wires() []*nic.Wire { return append([]*nic.Wire(nil), n.wires...) }

// Run runs the simulation until nothing is left to do.
func (n *Network) Run() { n.Clock.Run() }

// RunFor runs the simulation for d of virtual time.
func (n *Network) RunFor(d time.Duration) { n.Clock.RunFor(d) }
