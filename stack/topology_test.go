package stack_test

import (
	"encoding/json"
	"net/netip"
	"testing"
	"time"

	"github.com/packetwalk/packetwalk/stack"
	"github.com/packetwalk/packetwalk/stack/gvisorhost"
	"github.com/packetwalk/packetwalk/viz"
	"github.com/packetwalk/packetwalk/wire"
)

// topoJSON is a topology as JSON, for a readable comparison.
func topoJSON(t *testing.T, topo viz.Topology) string {
	t.Helper()
	b, err := json.Marshal(topo)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// The composition roots register what they build on the log, in the order
// they build it, so the outputs can name and draw the network: the routed
// topology's wires, its three packetwalk hosts with each NIC's MAC,
// address and wire (the router with two), and a gVisor host attached
// afterwards, whose NIC learns its wire when it is plugged in.
func TestTopologyRegistered(t *testing.T) {
	r, err := stack.NewRouted(stack.TopologyConfig{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	gv, err := gvisorhost.New(gvisorhost.Config{Name: "peer", MAC: stack.MAC(9), Addr: netip.MustParsePrefix("10.0.1.9/24"), Log: r.Net.Log})
	if err != nil {
		t.Fatal(err)
	}
	defer gv.Close()
	before := r.Net.Log.Topology()
	r.Wire1.Attach(gv)
	gv.Attach(r.Wire1)

	got := topoJSON(t, r.Net.Log.Topology())
	want := `{"hosts":[` +
		`{"name":"client","kind":"packetwalk","nics":[{"name":"eth0","mac":"02:00:00:00:00:01","addrs":["10.0.0.1/24"],"wire":"wire0"}]},` +
		`{"name":"router","kind":"packetwalk","nics":[{"name":"eth0","mac":"02:00:00:00:00:03","addrs":["10.0.0.254/24"],"wire":"wire0"},` +
		`{"name":"eth1","mac":"02:00:00:00:00:04","addrs":["10.0.1.254/24"],"wire":"wire1"}]},` +
		`{"name":"server","kind":"packetwalk","nics":[{"name":"eth0","mac":"02:00:00:00:00:02","addrs":["10.0.1.2/24"],"wire":"wire1"}]},` +
		`{"name":"peer","kind":"gvisor","nics":[{"name":"eth0","mac":"02:00:00:00:00:09","addrs":["10.0.1.9/24"],"wire":"wire1"}]}],` +
		`"wires":[{"name":"wire0","kind":"wire"},{"name":"wire1","kind":"wire"}]}`
	if got != want {
		t.Errorf("topology:\n got %s\nwant %s", got, want)
	}
	// Before Attach the gVisor host's NIC was registered unplugged.
	if h := before.Hosts[len(before.Hosts)-1]; h.Name != "peer" || len(h.NICs) != 1 || h.NICs[0].Wire != "" {
		t.Errorf("gVisor host before Attach: %+v, want peer with one unplugged NIC", h)
	}
}

// A host on a TUN device registers the device as a medium of kind "tun",
// the wire between it and the NIC when impairments ask for one, and the
// kernel behind the device as a host of kind "kernel" with the address it
// was given and the MAC the simulated PHY frames its packets with.
func TestTopologyRegisteredOnDevice(t *testing.T) {
	dev := &memTUN{in: make(chan []byte), closed: make(chan struct{}), enough: make(chan struct{})}
	dh, err := stack.NewDeviceHost(dev, stack.DeviceHostConfig{
		Prefix:       netip.MustParsePrefix("10.9.0.2/24"),
		Device:       wire.DeviceConfig{Kind: wire.TUN, Name: "pw0"},
		Link:         &wire.Config{Latency: time.Microsecond},
		KernelPrefix: netip.MustParsePrefix("10.9.0.1/24"),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer dh.Medium.Close()
	got := topoJSON(t, dh.Log.Topology())
	want := `{"hosts":[` +
		`{"name":"server","kind":"packetwalk","nics":[{"name":"eth0","mac":"02:00:00:00:00:02","addrs":["10.9.0.2/24"],"wire":"pw0-wire"}]},` +
		`{"name":"kernel","kind":"kernel","nics":[{"name":"pw0","mac":"02:00:00:00:00:01","addrs":["10.9.0.1/24"],"wire":"pw0"}]}],` +
		`"wires":[{"name":"pw0","kind":"tun"},{"name":"pw0-wire","kind":"wire"}]}`
	if got != want {
		t.Errorf("topology:\n got %s\nwant %s", got, want)
	}
}
