// Package gvisorhost is a host whose TCP/IP stack is gVisor's netstack (a
// production stack we did not write, in the same process), plugged into
// packetwalk's simulated wire like any NIC. It is a "real peer"
// (docs/design.md, "Principles: Real peers"): packetwalk's own stack is
// tested by talking to it.
//
// # What is traced
//
// gVisor does no FCS or destination-MAC check of its own: on a real machine
// the adapter does those in hardware before the driver sees a frame. So the
// Host plays that adapter and logs its steps exactly as packetwalk's NIC
// does (phy "rx", nic "size", "fcs", "mac"), then a final nic "driver" step
// (verdict deliver) when it hands the frame to gVisor. What gVisor does with
// the frame after that is not traced: its decisions are its own. Frames the
// Host receives and sends are captured (Recorder.Capture) so that the
// pcapng export shows the gVisor host's interface too, and every frame
// gVisor sends is logged as a nic "tx" step with a tcpdump-like summary.
//
// # Threading
//
// A packetwalk simulation runs every host and wire on one event loop, the
// goroutine that runs the virtual clock: Medium.Transmit and Port.Arrive
// happen there and nowhere else. gVisor, though, has goroutines of its
// own: TCP segments are processed by its processor goroutines, its timers
// fire on their own goroutines, and applications write through gonet from
// theirs. It also sends synchronously from inside InjectInbound (ARP
// replies, ICMP echo replies), that is, on the loop itself, in the middle
// of Arrive.
//
// So the two directions are handled differently:
//
//   - Inbound, Arrive runs on the loop, makes the adapter's checks and calls
//     gVisor's InjectInbound directly. gVisor never waits for the loop, so
//     this cannot deadlock; TCP work is handed on to gVisor's processors.
//   - Outbound, gVisor writes packets into a channel.Endpoint whose write
//     notification (WriteNotify) may run on any goroutine, the loop
//     included. It never calls the medium: it copies the packet's bytes into
//     the Host's transmit queue and, if no flush is pending, posts one with
//     Clock.AfterFunc(0, ...), which is safe from any goroutine and never
//     runs its function before returning (so posting from inside Arrive on
//     the loop is fine). The flush runs on the loop, in queue order: it
//     builds each frame (padding, FCS), logs and captures it and calls
//     Medium.Transmit.
//
// A frame that finds the transmit queue full (TxQueueLen) is dropped with
// tx_queue_full; that step is logged from the goroutine gVisor wrote on,
// since the Log is safe for concurrent use.
//
// # Time and determinism
//
// gVisor is given its own real-time clock (tcpip.NewStdClock): its
// retransmission, delayed-ACK, ARP and TIME_WAIT timers run in wall-clock
// time, while the step log and the wire run on the simulation's Clock. A
// simulation with a gVisor host therefore works but is not bit-reproducible:
// docs/design.md ("Principles: Deterministic simulation with a seed")
// promises identical logs and pcapng files only with packetwalk hosts on
// both ends. Feeding gVisor a tcpip.Clock adapted from the clock.Virtual
// would not fix this: gVisor processes TCP segments on its own
// processor goroutines (there is no option to process them inline in
// InjectInbound), so the virtual clock cannot tell when gVisor is idle and
// would jump ahead to the next timer while a segment is still being
// processed, firing retransmissions that real time would never fire.
package gvisorhost

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"time"

	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/adapters/gonet"
	"gvisor.dev/gvisor/pkg/tcpip/header"
	"gvisor.dev/gvisor/pkg/tcpip/link/channel"
	"gvisor.dev/gvisor/pkg/tcpip/link/ethernet"
	"gvisor.dev/gvisor/pkg/tcpip/network/arp"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
	"gvisor.dev/gvisor/pkg/tcpip/transport/icmp"
	"gvisor.dev/gvisor/pkg/tcpip/transport/tcp"
	"gvisor.dev/gvisor/pkg/tcpip/transport/udp"

	"github.com/packetwalk/packetwalk/clock"
	"github.com/packetwalk/packetwalk/nic"
	"github.com/packetwalk/packetwalk/viz"
)

// Defaults of a Host's limits.
const (
	// DefaultName is the host's name in the step log when Config.Name is
	// empty.
	DefaultName = "gvisor"
	// DefaultTxQueueLen is how many frames gVisor may have written that
	// the event loop has not yet put on the medium: Linux's default
	// txqueuelen for Ethernet devices, as on the simulated wire.
	DefaultTxQueueLen = 1000
	// nicName is the interface's name on the host, as in captures.
	nicName = "eth0"
	// nicID is the one NIC's ID inside gVisor's stack.
	nicID tcpip.NICID = 1
	// channelQueueLen is the size of the channel endpoint's own queue.
	// WriteNotify empties it after every write, so it only ever holds the
	// packets of writers racing each other; gVisor drops a packet (and
	// counts it in TxPacketsDroppedNoBufferSpace) only if it is full.
	channelQueueLen = 256
	// minMTU is IPv4's minimum MTU (RFC 791: every host must accept 68
	// bytes without fragmenting further).
	minMTU = 68
	// maxMTU is the largest MTU a 16-bit IPv4 total length can use.
	maxMTU = 65535
)

// Config describes a gVisor host.
type Config struct {
	// Name is the host's name in the step log, e.g. "client". "" means
	// DefaultName.
	Name string
	// MAC is the NIC's address. It must be a unicast address.
	MAC nic.MAC
	// Addr is the host's IPv4 address and subnet, e.g. 10.0.0.1/24; the
	// subnet becomes an on-link route.
	Addr netip.Prefix
	// Gateway, if valid, is the next hop of a default route. It must be in
	// Addr's subnet.
	Gateway netip.Addr
	// MTU is the largest IP packet the NIC sends or accepts. 0 means
	// nic.DefaultMTU (1500).
	MTU int
	// TxQueueLen bounds the frames waiting for the event loop (see the
	// package comment). 0 means DefaultTxQueueLen.
	TxQueueLen int
	// Clock is the simulation's clock: frames go on the medium through its
	// AfterFunc, and Ping measures round trips with it. nil means Log's
	// clock.
	Clock clock.Clock
	// Log receives the host's NIC steps and captures; nil logs nothing.
	Log *viz.Log
}

// Host is a gVisor netstack with one Ethernet NIC that implements nic.Port.
// Its methods are safe for concurrent use; Arrive must be called on the
// simulation's event loop (as every medium does).
type Host struct {
	name       string
	mac        nic.MAC
	addr       netip.Prefix
	gateway    netip.Addr
	mtu        int
	txQueueLen int
	clock      clock.Clock
	rec        *viz.Recorder // nil without a Log: records nothing
	log        *viz.Log      // for the run's topology; nil without a Log

	stack  *stack.Stack
	link   *channel.Endpoint // gVisor's side of the cable; ethernet.New wraps it
	notify *channel.NotificationHandle

	// outMu guards the transmit queue that WriteNotify fills from
	// gVisor's goroutines and flush empties on the loop.
	outMu        sync.Mutex
	outQ         [][]byte // Ethernet header + payload, as gVisor built them
	flushPending bool     // a flush is posted on the clock and has not run
	flushFunc    func()   // h.flush, bound once

	// mu guards the rest, which the loop and applications both touch.
	mu         sync.Mutex
	medium     nic.Medium
	closed     bool
	stats      Stats
	transports []*http.Transport // handed out by HTTPClient, closed by Close

	txBuf []byte // the frame being sent; only flush (on the loop) uses it
}

// New builds the gVisor stack (IPv4, ARP, ICMPv4, TCP and UDP; no
// forwarding), its NIC, address and routes. The host is not attached to a
// medium yet: see Attach.
func New(cfg Config) (*Host, error) {
	if cfg.Name == "" {
		cfg.Name = DefaultName
	}
	bad := func(format string, args ...any) (*Host, error) {
		return nil, fmt.Errorf("gVisor host %q: "+format, append([]any{cfg.Name}, args...)...)
	}
	if cfg.MTU == 0 {
		cfg.MTU = nic.DefaultMTU
	}
	if cfg.TxQueueLen == 0 {
		cfg.TxQueueLen = DefaultTxQueueLen
	}
	if cfg.Clock == nil && cfg.Log != nil {
		cfg.Clock = cfg.Log.Clock()
	}
	switch {
	case cfg.Clock == nil:
		return bad("needs a clock (Config.Clock, or a Log to take it from)")
	case cfg.MAC.IsMulticast() || cfg.MAC == (nic.MAC{}):
		return bad("MAC %s: want a unicast address such as 02:00:00:00:00:01", cfg.MAC)
	case !cfg.Addr.IsValid() || !cfg.Addr.Addr().Is4():
		return bad("address %v: want an IPv4 address with its prefix, such as 10.0.0.1/24", cfg.Addr)
	case cfg.Gateway.IsValid() && (!cfg.Gateway.Is4() || !cfg.Addr.Masked().Contains(cfg.Gateway)):
		return bad("gateway %v is not in the host's subnet %v", cfg.Gateway, cfg.Addr.Masked())
	case cfg.MTU < minMTU || cfg.MTU > maxMTU:
		return bad("MTU %d: want %d to %d", cfg.MTU, minMTU, maxMTU)
	case cfg.TxQueueLen < 0:
		return bad("transmit queue length %d is negative", cfg.TxQueueLen)
	}

	h := &Host{
		name:       cfg.Name,
		mac:        cfg.MAC,
		addr:       cfg.Addr,
		gateway:    cfg.Gateway,
		mtu:        cfg.MTU,
		txQueueLen: cfg.TxQueueLen,
		clock:      cfg.Clock,
		stats:      Stats{Drops: make(map[viz.Reason]uint64)},
	}
	if cfg.Log != nil {
		h.rec = cfg.Log.Recorder(cfg.Name)
		h.log = cfg.Log
	}
	h.flushFunc = h.flush

	h.stack = stack.New(stack.Options{
		NetworkProtocols:   []stack.NetworkProtocolFactory{ipv4.NewProtocol, arp.NewProtocol},
		TransportProtocols: []stack.TransportProtocolFactory{tcp.NewProtocol, udp.NewProtocol, icmp.NewProtocol4},
		// Real time: see "Time and determinism" in the package comment.
		Clock: tcpip.NewStdClock(),
		// Packets to its own address stay inside, as on any host.
		HandleLocal: true,
	})

	// The channel endpoint carries whole Ethernet frames (without FCS):
	// the ethernet wrapper adds the header on the way out and parses it
	// on the way in, so gVisor speaks Ethernet and ARP itself. The
	// wrapper's MTU is the channel's minus the 14-byte header.
	h.link = channel.New(channelQueueLen, uint32(cfg.MTU+header.EthernetMinimumSize), tcpip.LinkAddress(cfg.MAC[:]))
	h.notify = h.link.AddNotify(notifier{h})
	if err := h.stack.CreateNICWithOptions(nicID, ethernet.New(h.link), stack.NICOptions{Name: nicName}); err != nil {
		h.stack.Destroy()
		return bad("creating the NIC: %v", err)
	}
	local := tcpip.AddrFrom4(cfg.Addr.Addr().As4())
	if err := h.stack.AddProtocolAddress(nicID, tcpip.ProtocolAddress{
		Protocol:          ipv4.ProtocolNumber,
		AddressWithPrefix: tcpip.AddressWithPrefix{Address: local, PrefixLen: cfg.Addr.Bits()},
	}, stack.AddressProperties{}); err != nil {
		h.stack.Destroy()
		return bad("adding address %v: %v", cfg.Addr, err)
	}
	subnet := cfg.Addr.Masked()
	mask := tcpip.MaskFromBytes(net.CIDRMask(subnet.Bits(), 32))
	onLink, err := tcpip.NewSubnet(tcpip.AddrFrom4(subnet.Addr().As4()), mask)
	if err != nil {
		h.stack.Destroy()
		return bad("subnet %v: %v", subnet, err)
	}
	routes := []tcpip.Route{{Destination: onLink, NIC: nicID}}
	if cfg.Gateway.IsValid() {
		routes = append(routes, tcpip.Route{Destination: header.IPv4EmptySubnet, Gateway: tcpip.AddrFrom4(cfg.Gateway.As4()), NIC: nicID})
	}
	h.stack.SetRouteTable(routes)
	if h.log != nil {
		// The run's topology names the host for the outputs; Attach
		// registers the NIC again with its wire.
		h.log.AddTopoHost(h.name, "gvisor")
		h.registerNIC(nil)
	}
	return h, nil
}

// registerNIC adds the host's NIC, plugged into m (nil: unplugged), to the
// log's topology.
func (h *Host) registerNIC(m nic.Medium) {
	n := viz.TopoNIC{Name: nicName, MAC: h.mac.String(), Addrs: []string{h.addr.String()}}
	if named, ok := m.(interface{ Name() string }); ok {
		n.Wire = named.Name()
	}
	h.log.AddTopoNIC(h.name, n)
}

// notifier receives channel.Endpoint's write notifications; it keeps
// WriteNotify off Host's exported method set.
type notifier struct{ h *Host }

func (n notifier) WriteNotify() { n.h.drainLink() }

// Stack returns gVisor's stack, for what the conveniences do not cover
// (UDP, stats, options).
func (h *Host) Stack() *stack.Stack { return h.stack }

// Name returns the host's name in the step log.
func (h *Host) Name() string { return h.name }

// Addr returns the host's IPv4 address.
func (h *Host) Addr() netip.Addr { return h.addr.Addr() }

// Prefix returns the host's address with its subnet's prefix length.
func (h *Host) Prefix() netip.Prefix { return h.addr }

// MAC returns the NIC's address.
func (h *Host) MAC() nic.MAC { return h.mac }

// MTU returns the NIC's MTU.
func (h *Host) MTU() int { return h.mtu }

// PortName implements nic.Port: "host/eth0".
func (h *Host) PortName() string { return h.name + "/" + nicName }

// Attach plugs the host's NIC into a medium. The caller also attaches the
// host to the medium (for a wire.Wire, Wire.Attach(host)), as with a NIC.
// The NIC's entry in the log's topology names the medium, if it has a
// name.
func (h *Host) Attach(m nic.Medium) {
	h.mu.Lock()
	h.medium = m
	h.mu.Unlock()
	if h.log != nil {
		h.registerNIC(m)
	}
}

// Close destroys gVisor's stack: every endpoint is aborted and every gVisor
// goroutine stopped before Close returns. Frames gVisor was still sending
// are dropped. Close may be called more than once.
func (h *Host) Close() error {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return nil
	}
	h.closed = true
	transports := h.transports
	h.transports = nil
	h.mu.Unlock()

	for _, t := range transports {
		t.CloseIdleConnections()
	}
	// Aborting endpoints may still write (RSTs); with the notification
	// removed they stay in the channel, which Destroy closes and drains.
	h.link.RemoveNotify(h.notify)
	h.stack.Destroy()
	return nil
}

// fullAddr converts a netip address and port to gVisor's form, on this
// host's NIC.
func fullAddr(a netip.AddrPort) tcpip.FullAddress {
	return tcpip.FullAddress{NIC: nicID, Addr: tcpip.AddrFrom4(a.Addr().As4()), Port: a.Port()}
}

// DialTCP opens a TCP connection through gVisor to addr (an IPv4 address).
func (h *Host) DialTCP(ctx context.Context, addr netip.AddrPort) (*gonet.TCPConn, error) {
	if h.isClosed() {
		return nil, ErrClosed
	}
	if !addr.Addr().Unmap().Is4() {
		return nil, fmt.Errorf("gVisor host %q: dial %v: only IPv4 is configured", h.name, addr)
	}
	addr = netip.AddrPortFrom(addr.Addr().Unmap(), addr.Port())
	return gonet.DialContextTCP(ctx, h.stack, fullAddr(addr), ipv4.ProtocolNumber)
}

// ListenTCP listens on port on every address of the host.
func (h *Host) ListenTCP(port uint16) (*gonet.TCPListener, error) {
	if h.isClosed() {
		return nil, ErrClosed
	}
	return gonet.ListenTCP(h.stack, tcpip.FullAddress{NIC: nicID, Port: port}, ipv4.ProtocolNumber)
}

// HTTPClient returns a client whose connections go through this host's
// gVisor stack: Go's own net/http over gonet. There is no DNS: URLs must
// name an IPv4 address, e.g. http://10.0.0.2/. Close closes its idle
// connections.
func (h *Host) HTTPClient() *http.Client {
	t := &http.Transport{
		DialContext: func(ctx context.Context, network, address string) (net.Conn, error) {
			if network != "tcp" && network != "tcp4" {
				return nil, fmt.Errorf("gVisor host %q: network %q: only tcp is supported", h.name, network)
			}
			ap, err := netip.ParseAddrPort(address)
			if err != nil {
				return nil, fmt.Errorf("gVisor host %q: dial %q: want an IPv4 address and port (there is no DNS): %w", h.name, address, err)
			}
			return h.DialTCP(ctx, ap)
		},
		// No TLS here, so no HTTP/2: plain HTTP/1.1, as a trace should show.
		IdleConnTimeout:     30 * time.Second,
		TLSHandshakeTimeout: 10 * time.Second,
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.closed {
		h.transports = append(h.transports, t)
	}
	return &http.Client{Transport: t}
}

func (h *Host) isClosed() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.closed
}

// ErrClosed is returned by operations on a closed host.
var ErrClosed = errors.New("gVisor host is closed")
