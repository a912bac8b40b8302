// Package wire is what frames travel on between NICs, the first stop of
// the walk (wire -> NIC -> ARP/IP -> ICMP/UDP/TCP -> sockets -> httpd): the
// simulated Ethernet segment, the TUN and TAP devices that link packetwalk
// to the kernel, and the device link that puts a simulated wire between a
// device and the NIC. Its steps are the phy layer's, logged under the
// medium's own name (wire0, tun0):
//
//	Wire        a hub or a learning switch with a latency, a bandwidth, a
//	            transmit queue and an MTU (wire.go); seeded loss,
//	            duplication, reordering and bit corruption, and targeted
//	            faults (impair.go)
//	              carry, loss, corrupt, duplicate, reorder, fault, learn, forward
//	              -> no_carrier, wire_mtu, tx_queue_full, wire_loss,
//	                 wire_fault, switch_filter
//	Device      a TUN or TAP device: the PHY frames what the kernel sends
//	            and unframes what the NIC sends (tun.go; open.go opens one)
//	              frame, unframe, arp, write
//	              -> runt, no_link_layer, device_error
//	DeviceLink  a Wire between a Device and the NIC, so that impairments
//	            strike the kernel's frames too (device_link.go)
//
// Imports point one way: wire imports nic, never the reverse. The NIC states
// what it needs of a medium (nic.Medium) and what a medium delivers to
// (nic.Port) in nic/contract.go, and the Ethernet frame format in
// nic/ethernet.go; the composition root (stack) hands a medium from this
// package to the NIC as a nic.Medium, so the NIC never knows which medium it
// is plugged into. A TUN device has no link layer and answers the NIC's ARP
// requests itself, so wire also reads and writes ARP packets (package arp's
// format). Below wire there is only the clock, the step log and, for a
// device, the kernel.
//
// This file is the package's contract: what a medium offers the NIC above
// it, and what it needs below.
package wire

import "github.com/packetwalk/packetwalk/nic"

// ---- Upwards: what every medium offers the NIC ----

// Medium is a medium a NIC can be plugged into: it carries the frames the
// NIC transmits (nic.Medium) and delivers the frames for it to the NIC's PHY
// (nic.Port.Arrive), on the event loop of the clock it was given. Wire,
// Device and DeviceLink are Media; stack.Host.AddInterface attaches the NIC
// to one and the NIC's port to it.
type Medium interface {
	nic.Medium
	// Attach plugs a port (a NIC's PHY) into the medium. A Wire takes any
	// number of ports, a Device or a DeviceLink one.
	Attach(p nic.Port)
}

var (
	_ Medium = (*Wire)(nil)
	_ Medium = (*Device)(nil)
	_ Medium = (*DeviceLink)(nil)
)

// ---- Downwards: what a medium needs ----
//
// A clock (Config.Clock, DeviceConfig.Clock) whose AfterFunc times the
// deliveries and runs them on the event loop that owns the NICs; a step log
// (viz.Log) for the phy steps, nil for none; and for a Device, a file that
// reads and writes one packet or frame per call (OpenDevice gives one for a
// TUN or TAP device of the kernel's).
