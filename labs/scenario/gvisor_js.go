//go:build js

package scenario

import (
	"errors"
	"net/netip"

	"github.com/packetwalk/packetwalk/nic"
	"github.com/packetwalk/packetwalk/stack"
	"github.com/packetwalk/packetwalk/wire"
)

// newGVisorPeer refuses a host of kind gvisor in the playground (js/wasm):
// gVisor's netstack is not built into the page, to keep it small and its
// runs reproducible.
func newGVisorPeer(name string, mac nic.MAC, mtu int, addr netip.Prefix, gw netip.Addr, n *stack.Network, w *wire.Wire) (gvisorPeer, error) {
	return nil, errors.New("kind gvisor: gVisor's netstack is not part of the playground; run this scenario with packetwalk in a terminal, or make the host kind packetwalk")
}

// GVisor says whether hosts of kind gvisor can run in this build: not in
// the playground.
const GVisor = false
