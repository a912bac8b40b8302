// Package stack puts the layers together. A Host wires its NICs (with ARP)
// to its IP layer and, above it, the transports and the socket API; a
// Network is a simulation: hosts and wires on one virtual clock and one
// step log, so that a seeded run is reproducible.
//
// The wiring is where the layers' contracts meet: an Interface is both the
// IPv4 protocol the NIC's driver dispatches to (nic.Protocol) and the link
// the IP layer sends through (ip.Link). Packages nic and ip never import
// each other; this package adapts one to the other.
package stack
