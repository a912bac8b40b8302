package stack

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"net/netip"
	"time"

	"github.com/packetwalk/packetwalk/arp"
	"github.com/packetwalk/packetwalk/clock"
	"github.com/packetwalk/packetwalk/nic"
	"github.com/packetwalk/packetwalk/viz"
	"github.com/packetwalk/packetwalk/wire"
)

// A host on a real device: one packetwalk host whose only interface is
// plugged into a TUN or TAP device, so that the kernel (curl, ping, a
// browser) is its peer. Its loop is paced: virtual time follows the wall
// clock, because the kernel does not wait for us.

// DeviceHostConfig describes a host on a TUN or TAP device.
type DeviceHostConfig struct {
	Host HostConfig // Name defaults to "server"
	// Prefix is the host's address and subnet, e.g. 10.9.0.2/24.
	Prefix netip.Prefix
	// MAC is the NIC's address; zero means MAC(2), the simulated server's.
	MAC nic.MAC
	// NIC holds the rest of the NIC's settings (MTU, ring size); its
	// Name defaults to "eth0", its MAC is MAC.
	NIC nic.Config
	ARP arp.Config
	// Device describes the medium (Kind, Name, KernelMAC); its Clock and
	// Log are the host's.
	Device wire.DeviceConfig
	// Link, if not nil, puts a simulated wire with these impairments and
	// faults between the device and the NIC (see wire.DeviceLink); its
	// Clock and Log are the host's.
	Link *wire.Config
	// Log is the step log; nil makes one stamped by the host's clock.
	Log *viz.Log
	// KernelPrefix and KernelMAC describe the kernel's side of the
	// device for the run's topology (viz.Topology), which names it
	// "kernel" in the outputs: its address on the device's subnet, and
	// on a TAP device its MAC (a TUN's is Device.KernelMAC). Zero values
	// leave them out.
	KernelPrefix netip.Prefix
	KernelMAC    nic.MAC
}

// KernelHost is the name of the kernel's side of a device in the run's
// topology.
const KernelHost = "kernel"

// DeviceHost is a host attached to a device, with the loop that runs it.
type DeviceHost struct {
	*Host
	Loop   *Loop
	Log    *viz.Log
	Medium *wire.Device
	// Link is the wire between the device and the NIC, nil without
	// DeviceHostConfig.Link.
	Link  *wire.DeviceLink
	Iface *Interface
}

// NewDeviceHost builds a host on dev (an open TUN or TAP file, see
// wire.OpenDevice). Nothing is read until Run.
func NewDeviceHost(dev io.ReadWriteCloser, cfg DeviceHostConfig) (*DeviceHost, error) {
	if !cfg.Prefix.Addr().Is4() {
		return nil, fmt.Errorf("address %v is not an IPv4 prefix like 10.9.0.2/24", cfg.Prefix)
	}
	clock := clock.NewVirtual()
	// Run time zero is now, in real time: every step from the first
	// (the listening socket opened before Run) is stamped with the wall
	// clock, and a capture dates its packets from Epoch.
	clock.FollowWall(time.Now())
	loop := NewLoop(clock)
	loop.SetPaced(true)
	log := cfg.Log
	if log == nil {
		log = viz.NewLog(clock)
	}
	hc := cfg.Host
	if hc.Name == "" {
		hc.Name = "server"
	}
	// The ISN secret of a host that real peers reach must be secret
	// (RFC 6528): random, not derived from a seed.
	secret := make([]byte, 32)
	rand.Read(secret)
	h := NewHost(hc, loop, log.Recorder(hc.Name), secret)

	dc := cfg.Device
	dc.Clock, dc.Log = clock, log
	medium, err := wire.NewDevice(dev, dc)
	if err != nil {
		return nil, err
	}
	registerDevice(log, medium, cfg)
	nc := cfg.NIC
	nc.MAC = cfg.MAC
	if nc.MAC == (nic.MAC{}) {
		nc.MAC = MAC(2)
	}
	var attach nic.Medium = medium
	var link *wire.DeviceLink
	if cfg.Link != nil {
		wc := *cfg.Link
		wc.Clock, wc.Log = clock, log
		if link, err = wire.NewDeviceLink(medium, wc); err != nil {
			return nil, err
		}
		log.AddTopoWire(link.Name(), "wire")
		attach = link
	}
	iface, err := h.AddInterface(InterfaceConfig{NIC: nc, ARP: cfg.ARP, Prefix: cfg.Prefix}, attach)
	if err != nil {
		return nil, err
	}
	return &DeviceHost{Host: h, Loop: loop, Log: log, Medium: medium, Link: link, Iface: iface}, nil
}

// registerDevice adds the device and the kernel behind it to the log's
// topology: the device as a medium of its kind ("tun", "tap"), and the
// kernel as a host whose NIC is the device itself.
func registerDevice(log *viz.Log, d *wire.Device, cfg DeviceHostConfig) {
	kind := "tun"
	mac := d.KernelMAC() // what the simulated PHY frames the kernel's packets with
	if d.Kind() == wire.TAP {
		kind, mac = "tap", cfg.KernelMAC
	}
	log.AddTopoWire(d.Name(), kind)
	n := viz.TopoNIC{Name: d.Name(), Wire: d.Name()}
	if mac != (nic.MAC{}) {
		n.MAC = mac.String()
	}
	if cfg.KernelPrefix.IsValid() {
		n.Addrs = []string{cfg.KernelPrefix.String()}
	}
	log.AddTopoHost(KernelHost, "kernel")
	log.AddTopoNIC(KernelHost, n)
}

// Epoch returns the wall-clock time of the host's run time zero: a step
// stamped T happened at Epoch().Add(T).
func (d *DeviceHost) Epoch() time.Time {
	t, _ := d.Loop.Clock.WallStart()
	return t
}

// Run reads the device and runs the host until ctx ends or the device
// fails; it closes the device before it returns. It returns nil when ctx
// ended, or the device's read error.
func (d *DeviceHost) Run(ctx context.Context) error {
	d.Medium.Start()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-d.Medium.Done():
			cancel()
			d.Loop.Wake()
		case <-ctx.Done():
		}
	}()
	err := d.Loop.Run(ctx, nil)
	d.Medium.Close()
	<-d.Medium.Done()
	if rerr := d.Medium.Err(); rerr != nil {
		return fmt.Errorf("reading %s: %v", d.Medium.Name(), rerr)
	}
	if err != nil && ctx.Err() != nil {
		return nil
	}
	return err
}
