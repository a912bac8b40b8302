package wire

import (
	"github.com/packetwalk/packetwalk/nic"
)

// A device link puts a simulated wire between a TUN or TAP device and the
// NIC, so that the wire's seeded impairments and targeted faults (loss,
// duplication, reordering, corruption: see Impairments and Fault) strike
// the frames the kernel exchanges with packetwalk, as they strike frames
// between simulated hosts. Impairments wrap the device the way smoltcp's
// phy/fault_injector.rs wraps any device: neither the device nor the NIC
// knows the wire is there.
//
//	kernel <-> TUN/TAP <-> Device <-> deviceEnd | Wire (hub) | NIC
//	                                  wireEnd --'
//
// The Device sees one port (deviceEnd); the wire sees two (the device's
// wireEnd and the NIC). A frame the kernel sends is framed by the Device,
// put on the wire by the device's end, impaired there, and arrives at the
// NIC; a frame the NIC sends crosses the wire the other way and leaves
// through the Device. Frame IDs stay the same across the wire, so a
// wire_loss step names the frame that the device's phy step introduced.

// DeviceLink is a nic.Medium for a NIC: a wire whose other port is a device.
type DeviceLink struct {
	wire      *Wire
	dev       *Device
	nic       nic.Port
	deviceEnd *linkDeviceEnd
	wireEnd   *linkWireEnd
}

// NewDeviceLink builds a wire from cfg (Clock and Log default to the
// device's) and plugs dev into it. Attach the NIC to the link (the NIC's
// medium is the link, not the device). cfg.Name defaults to the device's
// name with "-wire" appended.
func NewDeviceLink(dev *Device, cfg Config) (*DeviceLink, error) {
	if cfg.Clock == nil {
		cfg.Clock = dev.clock
	}
	if cfg.Name == "" {
		cfg.Name = dev.name + "-wire"
	}
	w, err := New(cfg)
	if err != nil {
		return nil, err
	}
	l := &DeviceLink{wire: w, dev: dev}
	l.deviceEnd = &linkDeviceEnd{l: l}
	l.wireEnd = &linkWireEnd{l: l}
	w.Attach(l.wireEnd)
	dev.Attach(l.deviceEnd)
	return l, nil
}

// Wire returns the wire between the device and the NIC (for its Stats).
func (l *DeviceLink) Wire() *Wire { return l.wire }

// Name returns the wire's name (the device's with "-wire" appended unless
// the Config named it), as the NIC's medium in the run's topology.
func (l *DeviceLink) Name() string { return l.wire.name }

// Attach plugs the NIC into the wire.
func (l *DeviceLink) Attach(p nic.Port) {
	l.nic = p
	l.wire.Attach(p)
}

// Transmit implements nic.Medium: the NIC puts a frame on the wire.
func (l *DeviceLink) Transmit(from nic.Port, bits []byte, id uint64) {
	l.wire.Transmit(from, bits, id)
}

// linkDeviceEnd is the port the Device delivers to: what the kernel sent
// (and the TUN's own ARP answers) goes onto the wire from the device's end.
type linkDeviceEnd struct{ l *DeviceLink }

func (e *linkDeviceEnd) Arrive(bits []byte, id uint64) {
	e.l.wire.Transmit(e.l.wireEnd, bits, id)
}

func (e *linkDeviceEnd) PortName() string {
	if e.l.nic != nil {
		return e.l.nic.PortName()
	}
	return e.l.wire.name
}

// MAC is the NIC's address: a TUN device frames the kernel's packets to it.
func (e *linkDeviceEnd) MAC() nic.MAC {
	if m, ok := e.l.nic.(interface{ MAC() nic.MAC }); ok {
		return m.MAC()
	}
	return nic.MAC{}
}

// linkWireEnd is the device's port on the wire: what crosses the wire to
// it leaves through the device, for the kernel.
type linkWireEnd struct{ l *DeviceLink }

func (e *linkWireEnd) Arrive(bits []byte, id uint64) {
	e.l.dev.Transmit(e.l.deviceEnd, bits, id)
}

func (e *linkWireEnd) PortName() string { return e.l.dev.name }
