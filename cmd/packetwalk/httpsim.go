//go:build !js

package main

import (
	"net/netip"

	"github.com/packetwalk/packetwalk/nic"
	"github.com/packetwalk/packetwalk/stack"
	"github.com/packetwalk/packetwalk/stack/gvisorhost"
)

// httpSim is the two-host network of `trace` and `type-o-serve --sim`: a
// packetwalk server 10.0.0.2 and a client 10.0.0.1 running gVisor's
// netstack, on one simulated wire shaped by the link flags. gVisor runs
// goroutines of its own, so virtual time follows the wall clock.
type httpSim struct {
	net    *stack.Network
	server *stack.Host
	client *gvisorhost.Host
}

func newHTTPSim(lf *linkFlags) (*httpSim, error) {
	topo, err := lf.topology()
	if err != nil {
		return nil, err
	}
	n := stack.NewNetwork(lf.seed)
	n.Loop.SetPaced(true)
	wire, err := n.AddWire(topo.Wire)
	if err != nil {
		return nil, err
	}
	server := n.AddHost(stack.HostConfig{Name: "server", TCP: lf.tcpConfig()})
	if _, err := server.AddInterface(stack.InterfaceConfig{
		NIC: nic.Config{MAC: stack.MAC(2), MTU: lf.mtu}, Prefix: netip.MustParsePrefix("10.0.0.2/24"),
	}, wire); err != nil {
		return nil, err
	}
	client, err := gvisorhost.New(gvisorhost.Config{Name: "client", MAC: stack.MAC(1), MTU: lf.mtu,
		Addr: netip.MustParsePrefix("10.0.0.1/24"), Clock: n.Clock, Log: n.Log})
	if err != nil {
		return nil, err
	}
	wire.Attach(client)
	client.Attach(wire)
	return &httpSim{net: n, server: server, client: client}, nil
}
