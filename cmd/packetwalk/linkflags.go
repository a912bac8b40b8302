package main

import (
	"flag"
	"fmt"
	"strconv"
	"strings"

	"github.com/packetwalk/packetwalk/nic"
	"github.com/packetwalk/packetwalk/stack"
	"github.com/packetwalk/packetwalk/tcp"
	"github.com/packetwalk/packetwalk/wire"
)

// linkFlags are the flags that shape the simulated wire, shared by every
// simulating command.
type linkFlags struct {
	seed                        int64
	mtu                         int
	loss, dup, reorder, corrupt probability
	faults                      faultList
	wireMode                    string
	timestampsOff               bool     // --timestamps=false: packetwalk's TCP sends no RFC 7323 timestamps
	cc                          ccFlag   // --cc: packetwalk's TCP's congestion control
	phy                         phyFlags // --phy and its knobs: the wire's signal model (phyflags.go)
}

func (l *linkFlags) register(fs *flag.FlagSet) {
	fs.Int64Var(&l.seed, "seed", 1, "seed of the wire's impairments; the same seed gives the same run")
	fs.IntVar(&l.mtu, "mtu", nic.DefaultMTU, "MTU of every NIC, in bytes (68..9000)")
	fs.Var(&l.loss, "loss", "probability that the wire loses a frame (0..1)")
	fs.Var(&l.dup, "dup", "probability that the wire duplicates a frame (0..1)")
	fs.Var(&l.reorder, "reorder", "probability that the wire delays a frame behind later ones (0..1)")
	fs.Var(&l.corrupt, "corrupt", "probability that the wire flips a bit of a frame (0..1)")
	fs.Var(&l.faults, "fault", "a targeted fault: drop:N or corrupt:N (frame N); repeatable")
	fs.Var(newChoice(&l.wireMode, "hub", "hub", "switch"), "wire", "the wire: hub (every frame to every port) or switch (learns MAC addresses)")
	l.phy.register(fs)
}

// registerTCP adds the flags that set packetwalk's TCP, for the commands
// that run it.
func (l *linkFlags) registerTCP(fs *flag.FlagSet) {
	fs.Var(offSwitch{&l.timestampsOff}, "timestamps", "packetwalk's TCP offers RFC 7323 timestamps, as Linux does; --timestamps=false sends none, like sysctl net.ipv4.tcp_timestamps=0")
	fs.Var(&l.cc, "cc", "packetwalk's TCP congestion control: newreno (RFC 5681, RFC 6582) or cubic (RFC 9438, Linux's default)")
}

// ccFlag is --cc: a congestion control's name, checked when it is parsed.
type ccFlag struct{ cc tcp.CongestionControl }

func (f *ccFlag) String() string {
	if f == nil || f.cc == tcp.CongestionNewReno {
		return "newreno"
	}
	return "cubic"
}

func (f *ccFlag) Set(s string) error {
	cc, err := tcp.ParseCongestionControl(s)
	if err != nil {
		return err
	}
	f.cc = cc
	return nil
}

func (f *ccFlag) placeholder() string { return "newreno|cubic" }

// tcpConfig is packetwalk's TCP as the flags set it.
func (l *linkFlags) tcpConfig() tcp.Config {
	var c tcp.Config
	if l.timestampsOff {
		c.Timestamps = tcp.TimestampsOff
	}
	c.Congestion = l.cc.cc
	return c
}

// topology returns the topology settings the flags describe.
func (l *linkFlags) topology() (stack.TopologyConfig, error) {
	if l.mtu < 68 || l.mtu > 9000 {
		return stack.TopologyConfig{}, fmt.Errorf("--mtu %d is outside 68..9000 (IPv4's minimum to a jumbo frame)", l.mtu)
	}
	mode, err := wire.ParseMode(l.wireMode)
	if err != nil {
		return stack.TopologyConfig{}, err
	}
	pc, err := l.phy.config()
	if err != nil {
		return stack.TopologyConfig{}, err
	}
	return stack.TopologyConfig{
		Seed: l.seed,
		MTU:  l.mtu,
		Wire: wire.Config{
			Mode: mode,
			Impairments: wire.Impairments{
				Loss: float64(l.loss), Duplicate: float64(l.dup), Reorder: float64(l.reorder), Corrupt: float64(l.corrupt),
				Seed: l.seed,
			},
			Faults: l.faults,
			PHY:    pc,
		},
	}, nil
}

// offSwitch is a boolean flag that is on by default, stored as its
// negation so that the zero value of the field is the default.
type offSwitch struct{ off *bool }

func (s offSwitch) IsBoolFlag() bool { return true }
func (s offSwitch) String() string   { return strconv.FormatBool(s.off == nil || !*s.off) }
func (s offSwitch) Set(v string) error {
	on, err := strconv.ParseBool(v)
	if err != nil {
		return err
	}
	*s.off = !on
	return nil
}

// faultList is a repeatable --fault flag.
type faultList []wire.Fault

func (f *faultList) String() string {
	var s []string
	for _, x := range *f {
		s = append(s, x.String())
	}
	return strings.Join(s, ",")
}

func (f *faultList) repeatable()         {}
func (f *faultList) placeholder() string { return "drop:N|corrupt:N" }

func (f *faultList) Set(v string) error {
	x, err := wire.ParseFault(v)
	if err != nil {
		return err
	}
	*f = append(*f, x)
	return nil
}
