//go:build !js

package scenario

import (
	"context"
	"net"
	"net/netip"

	"github.com/packetwalk/packetwalk/nic"
	"github.com/packetwalk/packetwalk/stack"
	"github.com/packetwalk/packetwalk/stack/gvisorhost"
	"github.com/packetwalk/packetwalk/wire"
)

// newGVisorPeer creates a host of kind gvisor, gVisor's netstack, and
// plugs it into w. gw is its default gateway (the zero Addr: none).
func newGVisorPeer(name string, mac nic.MAC, mtu int, addr netip.Prefix, gw netip.Addr, n *stack.Network, w *wire.Wire) (gvisorPeer, error) {
	cfg := gvisorhost.Config{Name: name, MAC: mac, MTU: mtu, Addr: addr, Gateway: gw, Clock: n.Clock, Log: n.Log}
	g, err := gvisorhost.New(cfg)
	if err != nil {
		return nil, err
	}
	w.Attach(g)
	g.Attach(w)
	return gvisorAdapter{g}, nil
}

// gvisorAdapter gives gvisorhost.Host's DialTCP the net.Conn result the
// scenario's HTTP traffic dials with.
type gvisorAdapter struct{ *gvisorhost.Host }

func (a gvisorAdapter) DialTCP(ctx context.Context, addr netip.AddrPort) (net.Conn, error) {
	c, err := a.Host.DialTCP(ctx, addr)
	if err != nil {
		return nil, err
	}
	return c, nil
}

// GVisor says whether hosts of kind gvisor can run in this build: they
// can, except in the playground (js/wasm).
const GVisor = true
