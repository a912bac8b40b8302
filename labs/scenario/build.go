package scenario

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"sort"

	"github.com/packetwalk/packetwalk/ip"
	"github.com/packetwalk/packetwalk/nic"
	"github.com/packetwalk/packetwalk/stack"
	"github.com/packetwalk/packetwalk/tcp"
	"github.com/packetwalk/packetwalk/viz"
	"github.com/packetwalk/packetwalk/wire"
)

// gvisorPeer is a host running gVisor's netstack, as a scenario uses it
// (gvisor.go). Built for js/wasm (the playground) there is none: gVisor is
// not part of the page (gvisor_js.go).
type gvisorPeer interface {
	MAC() nic.MAC
	Close() error
	DialTCP(ctx context.Context, addr netip.AddrPort) (net.Conn, error)
}

// sim is a scenario's network once built: the stack's Network with the
// scenario's wires and hosts, by name.
type sim struct {
	sc    *Scenario
	net   *stack.Network
	wires map[string]*wire.Wire
	pw    map[string]*stack.Host
	gv    map[string]gvisorPeer
	cfg   map[string]*Host
	paced bool
}

// build creates the network: wires first, then hosts in the order given,
// their NICs numbered 02:00:00:00:00:01 and on (unless a mac is given).
func build(sc *Scenario) (*sim, error) {
	s := &sim{sc: sc, net: stack.NewNetwork(sc.Seed), wires: map[string]*wire.Wire{},
		pw: map[string]*stack.Host{}, gv: map[string]gvisorPeer{}, cfg: map[string]*Host{}}
	for i := range sc.Wires {
		w := &sc.Wires[i]
		mode, _ := wire.ParseMode(orDefault(w.Mode, "hub"))
		wc := wire.Config{Name: w.Name, Mode: mode, Latency: w.Latency.D(), BandwidthBitsPerSecond: w.BandwidthBPS,
			TxQueueLen: w.TxQueue, MTU: w.MTU,
			Impairments: wire.Impairments{Loss: w.Loss, Duplicate: w.Dup, Reorder: w.Reorder, Corrupt: w.Corrupt}}
		wc.PHY, _ = w.PHY.config()
		for _, f := range w.Faults {
			fault, _ := wire.ParseFault(f)
			wc.Faults = append(wc.Faults, fault)
		}
		wire, err := s.net.AddWire(wc)
		if err != nil {
			return nil, sc.errf(w.Line, "wire %s: %v", w.Name, err)
		}
		s.wires[w.Name] = wire
	}
	macIndex := 0
	for i := range sc.Hosts {
		h := &sc.Hosts[i]
		s.cfg[h.Name] = h
		if h.Kind == "gvisor" {
			s.paced = true
			in := h.Interfaces[0]
			macIndex++
			mac := stack.MAC(macIndex)
			if in.MAC != "" {
				mac, _ = nic.ParseMAC(in.MAC)
			}
			var gw netip.Addr
			if h.Gateway != "" {
				gw = netip.MustParseAddr(h.Gateway)
			}
			g, err := newGVisorPeer(h.Name, mac, in.MTU, netip.MustParsePrefix(in.Addr), gw, s.net, s.wires[in.Wire])
			if err != nil {
				s.close()
				return nil, sc.errf(h.Line, "host %s: %v", h.Name, err)
			}
			s.gv[h.Name] = g
			continue
		}
		hc := stack.HostConfig{Name: h.Name, Forwarding: h.Forwarding, MaxSockets: h.MaxSockets,
			IP: ip.Config{DefaultTTL: uint8(h.TTL), Reassembly: ip.ReassemblerConfig{Timeout: h.ReassemblyTimeout.D()}},
			TCP: tcp.Config{DelayedACK: h.TCP.DelayedACK.D(), MSL: h.TCP.MSL.D(), RTOMin: h.TCP.RTOMin.D(),
				RTOInitial: h.TCP.RTOInitial.D(), SendBuffer: h.TCP.SendBuffer, ReceiveBuffer: h.TCP.RecvBuffer,
				SynRetries: h.TCP.SynRetries, Retries: h.TCP.Retries, MaxBacklog: h.TCP.MaxBacklog,
				SynCookies: synCookieModes[h.TCP.SynCookies], Timestamps: timestampModes[h.TCP.Timestamps],
				Recovery: recoveryModes[h.TCP.Recovery], Congestion: congestionModes[h.TCP.Congestion]}}
		if h.TCP.Ephemeral != "" {
			lo, hi, _ := parseRange(h.TCP.Ephemeral)
			hc.TCP.Ephemeral = ip.PortRange{First: uint16(lo), Last: uint16(hi)}
			hc.UDP.Ephemeral = hc.TCP.Ephemeral
		}
		host := s.net.AddHost(hc)
		s.pw[h.Name] = host
		for j := range h.Interfaces {
			in := &h.Interfaces[j]
			macIndex++
			mac := stack.MAC(macIndex)
			if in.MAC != "" {
				mac, _ = nic.ParseMAC(in.MAC)
			}
			nc := nic.Config{MAC: mac, MTU: in.MTU, RingSize: in.Ring, Promiscuous: in.Promiscuous,
				InterruptDelay: in.InterruptDelay.D(), DriverBudget: in.DriverBudget}
			if _, err := host.AddInterface(stack.InterfaceConfig{NIC: nc, Prefix: netip.MustParsePrefix(in.Addr)}, s.wires[in.Wire]); err != nil {
				s.close()
				return nil, sc.errf(in.Line, "host %s: %v", h.Name, err)
			}
		}
		if h.Gateway != "" {
			if err := host.SetDefaultGateway(netip.MustParseAddr(h.Gateway)); err != nil {
				s.close()
				return nil, sc.errf(h.Line, "%v", err)
			}
		}
	}
	s.registerInjector()
	s.net.Loop.SetPaced(s.paced)
	return s, nil
}

// registerInjector adds the port crafted frames come from to the log's
// topology, as a host of kind "injector" plugged into the first wire a
// frame is crafted on: its frames forge whatever addresses they carry,
// so it has none of its own.
func (s *sim) registerInjector() {
	for _, t := range s.sc.Traffic {
		if t.Frame != nil {
			s.net.Log.AddTopoHost(injectorName, "injector")
			s.net.Log.AddTopoNIC(injectorName, viz.TopoNIC{Name: injectorNIC, Wire: t.Frame.Wire})
			return
		}
	}
}

// macOf returns the MAC address of a host's first NIC.
func (s *sim) macOf(name string) (nic.MAC, bool) {
	if h, ok := s.pw[name]; ok {
		return h.Interfaces()[0].NIC.MAC(), true
	}
	if g, ok := s.gv[name]; ok {
		return g.MAC(), true
	}
	return nic.MAC{}, false
}

// close releases what runs outside the loop (gVisor's goroutines).
func (s *sim) close() {
	for _, name := range sortedKeys(s.gv) {
		s.gv[name].Close()
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// UsesGVisor reports whether a host of the scenario runs gVisor's netstack
// (kind gvisor), which the playground cannot run (GVisor).
func (sc *Scenario) UsesGVisor() bool {
	for i := range sc.Hosts {
		if sc.Hosts[i].Kind == "gvisor" {
			return true
		}
	}
	return false
}

// hostsByName indexes the scenario's hosts.
func (sc *Scenario) hostsByName() map[string]*Host {
	m := map[string]*Host{}
	for i := range sc.Hosts {
		m[sc.Hosts[i].Name] = &sc.Hosts[i]
	}
	return m
}

var _ = fmt.Sprint

// synCookieModes maps a scenario's syn_cookies word to tcp's mode; the
// empty word is tcp's default.
var synCookieModes = map[string]tcp.SynCookieMode{
	"":          tcp.SynCookiesWhenFull,
	"when_full": tcp.SynCookiesWhenFull,
	"off":       tcp.SynCookiesOff,
	"always":    tcp.SynCookiesAlways,
}

// recoveryModes maps a scenario's recovery word to tcp's loss detection;
// the empty word is the default, RACK-TLP.
var recoveryModes = map[string]tcp.Recovery{
	"":          tcp.RecoveryRACK,
	"rack":      tcp.RecoveryRACK,
	"dupthresh": tcp.RecoveryDupThresh,
}

// congestionModes maps a scenario's congestion word to tcp's congestion
// control; the empty word is the default, NewReno.
var congestionModes = map[string]tcp.CongestionControl{
	"":        tcp.CongestionNewReno,
	"newreno": tcp.CongestionNewReno,
	"cubic":   tcp.CongestionCUBIC,
}

// timestampModes maps a scenario's timestamps word to tcp's mode; the
// empty word is the default, on.
var timestampModes = map[string]tcp.TimestampMode{
	"":    tcp.TimestampsOn,
	"on":  tcp.TimestampsOn,
	"off": tcp.TimestampsOff,
}
