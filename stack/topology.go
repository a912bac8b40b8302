package stack

import (
	"net/netip"

	"github.com/packetwalk/packetwalk/arp"
	"github.com/packetwalk/packetwalk/nic"
	"github.com/packetwalk/packetwalk/wire"
)

// The ready-made topologies used by `packetwalk trace`, `packetwalk ping`,
// the labs and the tests. Addresses are fixed so that traces read the same
// every time: the client is 10.0.0.1, the server 10.0.0.2 (or, behind the
// router, 10.0.1.2).

// TopologyConfig describes a ready-made topology.
type TopologyConfig struct {
	Seed int64
	MTU  int               // every NIC's MTU; 0 means 1500
	Wire wire.Config       // applied to every wire (impairments, latency, mode)
	IP   HostConfig        // IP settings shared by the hosts (Name and Forwarding are set per host)
	ARP  arp.Config        // ARP settings of every interface
	NIC  func(*nic.Config) // optional per-NIC adjustments (ring size, promiscuous)
}

// Pair is two hosts on one wire.
type Pair struct {
	Net            *Network
	Wire           *wire.Wire
	Client, Server *Host
}

// NewPair builds client 10.0.0.1/24 and server 10.0.0.2/24 on one wire.
func NewPair(cfg TopologyConfig) (*Pair, error) {
	n := NewNetwork(cfg.Seed)
	w, err := n.AddWire(cfg.Wire)
	if err != nil {
		return nil, err
	}
	p := &Pair{Net: n, Wire: w}
	if p.Client, err = addHost(n, cfg, "client", false, w, 1, "10.0.0.1/24"); err != nil {
		return nil, err
	}
	if p.Server, err = addHost(n, cfg, "server", false, w, 2, "10.0.0.2/24"); err != nil {
		return nil, err
	}
	return p, nil
}

// Routed is two hosts on two wires joined by a router.
type Routed struct {
	Net                    *Network
	Wire0, Wire1           *wire.Wire
	Client, Router, Server *Host
}

// NewRouted builds client 10.0.0.1/24 on wire0, server 10.0.1.2/24 on
// wire1, and a router with 10.0.0.254 and 10.0.1.254 between them; the
// hosts' default gateway is the router.
func NewRouted(cfg TopologyConfig) (*Routed, error) {
	n := NewNetwork(cfg.Seed)
	w0cfg, w1cfg := cfg.Wire, cfg.Wire
	w0cfg.Name, w1cfg.Name = "wire0", "wire1"
	w0, err := n.AddWire(w0cfg)
	if err != nil {
		return nil, err
	}
	w1, err := n.AddWire(w1cfg)
	if err != nil {
		return nil, err
	}
	r := &Routed{Net: n, Wire0: w0, Wire1: w1}
	if r.Client, err = addHost(n, cfg, "client", false, w0, 1, "10.0.0.1/24"); err != nil {
		return nil, err
	}
	if r.Router, err = addHost(n, cfg, "router", true, w0, 3, "10.0.0.254/24"); err != nil {
		return nil, err
	}
	if _, err = r.Router.AddInterface(interfaceConfig(cfg, 4, "10.0.1.254/24"), w1); err != nil {
		return nil, err
	}
	if r.Server, err = addHost(n, cfg, "server", false, w1, 2, "10.0.1.2/24"); err != nil {
		return nil, err
	}
	if err := r.Client.SetDefaultGateway(netip.MustParseAddr("10.0.0.254")); err != nil {
		return nil, err
	}
	if err := r.Server.SetDefaultGateway(netip.MustParseAddr("10.0.1.254")); err != nil {
		return nil, err
	}
	return r, nil
}

func addHost(n *Network, cfg TopologyConfig, name string, router bool, w *wire.Wire, macIndex int, prefix string) (*Host, error) {
	hc := cfg.IP
	hc.Name, hc.Forwarding = name, router
	h := n.AddHost(hc)
	_, err := h.AddInterface(interfaceConfig(cfg, macIndex, prefix), w)
	return h, err
}

func interfaceConfig(cfg TopologyConfig, macIndex int, prefix string) InterfaceConfig {
	nc := nic.Config{MAC: MAC(macIndex), MTU: cfg.MTU}
	if cfg.NIC != nil {
		cfg.NIC(&nc)
	}
	return InterfaceConfig{NIC: nc, ARP: cfg.ARP, Prefix: netip.MustParsePrefix(prefix)}
}
