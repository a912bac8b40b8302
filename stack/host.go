package stack

import (
	"fmt"
	"net/netip"

	"github.com/packetwalk/packetwalk/arp"
	"github.com/packetwalk/packetwalk/clock"
	"github.com/packetwalk/packetwalk/icmp"
	"github.com/packetwalk/packetwalk/ip"
	"github.com/packetwalk/packetwalk/nic"
	"github.com/packetwalk/packetwalk/tcp"
	"github.com/packetwalk/packetwalk/udp"
	"github.com/packetwalk/packetwalk/viz"
)

// HostConfig describes a host.
type HostConfig struct {
	Name string
	// Forwarding makes the host a router.
	Forwarding bool
	// IP holds the IP layer's settings (TTL, reassembly limits, ICMP rate
	// limit); its Clock, Recorder and Forwarding are filled in.
	IP ip.Config
	// ICMP holds ICMP's settings (icmp_echo_ignore_broadcasts); its
	// Recorder and Network are filled in.
	ICMP icmp.Config
	// UDP holds UDP's settings (the ephemeral port range); its Recorder
	// and Network are filled in.
	UDP udp.Config
	// TCP holds TCP's settings (buffers, timers); its Clock, Recorder,
	// Network and ISN secret are filled in.
	TCP tcp.Config
	// MaxSockets bounds the descriptor table (like ulimit -n); 0 means
	// DefaultMaxSockets. Beyond it, Socket fails with EMFILE.
	MaxSockets int
}

// Host is one machine: its interfaces and its protocol layers, all owned by
// one event loop (the simulation's virtual clock, or a device's loop).
type Host struct {
	Name  string
	Clock clock.Clock
	Rec   *viz.Recorder
	IP    *ip.Layer
	ICMP  *icmp.Layer
	TCP   *tcp.Layer
	UDP   *udp.Layer

	loop       *Loop
	ifaces     []*Interface
	socks      sockets
	maxSockets int
}

// NewHost returns a host with no interfaces, run by loop and logging
// through rec. The TCP initial sequence numbers and the IP Identification
// values are keyed by secret (a simulation derives it from its seed and
// the host's name).
func NewHost(cfg HostConfig, loop *Loop, rec *viz.Recorder, secret []byte) *Host {
	clock := loop.Clock
	ipc := cfg.IP
	ipc.Clock, ipc.Recorder, ipc.Forwarding = clock, rec, cfg.Forwarding
	if ipc.IDSecret == nil {
		ipc.IDSecret = secret // the IP Identification too (ip/ident.go)
	}
	h := &Host{Name: cfg.Name, Clock: clock, Rec: rec, IP: ip.NewLayer(ipc), loop: loop, maxSockets: cfg.MaxSockets}
	tc := cfg.TCP
	tc.Clock, tc.Recorder, tc.Network = clock, rec, h.IP
	if tc.ISNSecret == nil {
		tc.ISNSecret = secret
	}
	h.TCP = tcp.NewLayer(tc)
	ic := cfg.ICMP
	ic.Recorder, ic.Network = rec, h.IP
	h.ICMP = icmp.NewLayer(ic)
	uc := cfg.UDP
	uc.Recorder, uc.Network = rec, h.IP
	h.UDP = udp.NewLayer(uc)
	// The transports above IP, by protocol number (ip/contract.go).
	h.IP.Register(ip.ProtocolICMP, h.ICMP)
	h.IP.Register(ip.ProtocolTCP, h.TCP)
	h.IP.Register(ip.ProtocolUDP, h.UDP)
	// The run's topology names the host for the outputs (the capture's
	// name resolution block, the report's picture).
	if log := rec.Log(); log != nil {
		log.AddTopoHost(cfg.Name, "packetwalk")
	}
	return h
}

// Loop returns the event loop that owns the host's protocol state.
func (h *Host) Loop() *Loop { return h.loop }

// InterfaceConfig describes one interface of a host.
type InterfaceConfig struct {
	NIC    nic.Config // Clock and Recorder are filled in from the host
	ARP    arp.Config
	Prefix netip.Prefix // the interface's address and subnet, e.g. 10.0.0.1/24
}

// AddInterface gives the host a NIC with ARP and an IPv4 address, and
// plugs it into medium (nil: unplugged). The NIC is registered in the
// log's topology, with the medium's name if it has one.
func (h *Host) AddInterface(cfg InterfaceConfig, medium nic.Medium) (*Interface, error) {
	if !cfg.Prefix.Addr().Is4() {
		return nil, fmt.Errorf("host %s: interface address %v is not an IPv4 prefix like 10.0.0.1/24", h.Name, cfg.Prefix)
	}
	nc := cfg.NIC
	nc.Clock, nc.Recorder = h.Clock, h.Rec
	if nc.Name == "" {
		nc.Name = fmt.Sprintf("eth%d", len(h.ifaces))
	}
	n := nic.New(nc)
	i := &Interface{host: h, NIC: n, ARP: arp.NewResolver(n, cfg.ARP), Prefix: cfg.Prefix}
	i.ARP.AddAddress(cfg.Prefix.Addr())
	// The driver dispatches by EtherType (nic/contract.go): every protocol
	// above the NIC is registered here, by the composition root.
	n.Register(nic.EtherTypeARP, i.ARP)
	n.Register(nic.EtherTypeIPv4, i)
	if err := h.IP.AddAddress(i, cfg.Prefix); err != nil {
		return nil, err
	}
	if medium != nil {
		n.Attach(medium)
		if w, ok := medium.(interface{ Attach(nic.Port) }); ok {
			w.Attach(n)
		}
	}
	h.ifaces = append(h.ifaces, i)
	if log := h.Rec.Log(); log != nil {
		log.AddTopoNIC(h.Name, viz.TopoNIC{Name: n.Name(), MAC: n.MAC().String(),
			Addrs: []string{cfg.Prefix.String()}, Wire: mediumName(medium)})
	}
	return i, nil
}

// mediumName is the name of the wire or device a NIC is plugged into, for
// the run's topology; "" if it has none.
func mediumName(m nic.Medium) string {
	if n, ok := m.(interface{ Name() string }); ok {
		return n.Name()
	}
	return ""
}

// Interfaces returns the host's interfaces in the order they were added.
func (h *Host) Interfaces() []*Interface { return append([]*Interface(nil), h.ifaces...) }

// SetDefaultGateway adds the default route via gw, which must be on one of
// the host's subnets.
func (h *Host) SetDefaultGateway(gw netip.Addr) error {
	for _, i := range h.ifaces {
		if i.Prefix.Contains(gw) {
			return h.IP.AddRoute(ip.Route{Prefix: netip.PrefixFrom(netip.IPv4Unspecified(), 0), Gateway: gw, Link: i})
		}
	}
	return fmt.Errorf("host %s: gateway %s is not on any of its subnets", h.Name, gw)
}

// Addr returns the host's first address.
func (h *Host) Addr() netip.Addr {
	if len(h.ifaces) == 0 {
		return netip.Addr{}
	}
	return h.ifaces[0].Prefix.Addr()
}
