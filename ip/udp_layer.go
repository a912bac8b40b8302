package ip

import (
	"errors"
	"fmt"
	"net/netip"

	"github.com/packetwalk/packetwalk/viz"
)

// PortRange is a range of local ports, both ends included.
type PortRange struct{ First, Last uint16 }

// EphemeralPorts is the default range handed out for port 0: IANA's dynamic
// ports (RFC 6335 §6). Linux uses 32768-60999 (ip_local_port_range).
var EphemeralPorts = PortRange{49152, 65535}

// DefaultUDPReceiveBuffer is a UDP socket's receive queue limit in bytes,
// like Linux's SO_RCVBUF default (net.core.rmem_default, 212992).
const DefaultUDPReceiveBuffer = 212992

// Errors of the UDP socket table, named like their POSIX counterparts.
var (
	ErrAddrInUse     = errors.New("address already in use (EADDRINUSE)")
	ErrNoFreePort    = errors.New("no free ephemeral port (EADDRNOTAVAIL): every port of the range is bound")
	ErrNotMyAddress  = errors.New("cannot assign requested address (EADDRNOTAVAIL): not one of this host's addresses")
	ErrMessageTooBig = errors.New("message too long (EMSGSIZE): a UDP datagram carries at most 65,507 bytes over IPv4")
)

// UDPDatagram is one received datagram, queued on a UDPEndpoint.
type UDPDatagram struct {
	Frame uint64
	From  netip.AddrPort
	To    netip.AddrPort
	Data  []byte
}

// UDPEndpoint is a bound UDP socket as the IP layer keeps it: its local
// address and a bounded queue of received datagrams. It is owned by the
// event loop; package stack wraps it into a blocking datagram socket.
type UDPEndpoint struct {
	layer      *Layer
	local      netip.AddrPort
	queue      []UDPDatagram
	queueBytes int
	// ReceiveBuffer is the queue limit in bytes (SO_RCVBUF).
	ReceiveBuffer int
	// Notify, if set, is called when a datagram is queued or an ICMP
	// error arrives, to wake a blocked reader.
	Notify func()
	// Err is the last ICMP error reported for this socket (for example
	// port unreachable: ECONNREFUSED on the next call), cleared by TakeErr.
	err error
}

// LocalAddr returns the bound address.
func (e *UDPEndpoint) LocalAddr() netip.AddrPort { return e.local }

// Recv takes the oldest queued datagram.
func (e *UDPEndpoint) Recv() (UDPDatagram, bool) {
	if len(e.queue) == 0 {
		return UDPDatagram{}, false
	}
	d := e.queue[0]
	e.queue[0] = UDPDatagram{}
	e.queue = e.queue[1:]
	e.queueBytes -= len(d.Data)
	return d, true
}

// Queued returns how many datagrams wait to be received.
func (e *UDPEndpoint) Queued() int { return len(e.queue) }

// TakeErr returns and clears the pending ICMP error.
func (e *UDPEndpoint) TakeErr() error { err := e.err; e.err = nil; return err }

// ErrConnRefused is ECONNREFUSED: the peer answered with ICMP port
// unreachable.
var ErrConnRefused = errors.New("connection refused (ECONNREFUSED): ICMP port unreachable")

// SendTo sends payload to dst from this socket's port.
func (e *UDPEndpoint) SendTo(dst netip.AddrPort, payload []byte) error {
	if len(payload) > IPv4MaxLen-IPv4MinHeaderLen-UDPHeaderLen {
		return ErrMessageTooBig
	}
	l := e.layer
	src := e.local.Addr()
	if src.IsUnspecified() {
		var err error
		if src, err = l.SourceFor(dst.Addr()); err != nil {
			return err
		}
	}
	frame := l.rec.NewFrameID()
	seg := AppendUDP(nil, src, dst.Addr(), e.local.Port(), dst.Port(), payload)
	if l.rec.On() {
		l.rec.Emit(viz.Event{Layer: viz.LayerUDP, Step: "send", Verdict: viz.Send, Frame: frame,
			Msg:    fmt.Sprintf("UDP %s:%d > %s, %d bytes", src, e.local.Port(), dst, len(payload)),
			Fields: []viz.Field{viz.F("sport", fmt.Sprint(e.local.Port())), viz.F("dport", fmt.Sprint(dst.Port()))}})
	}
	l.stats.UDPOutDatagrams++
	return l.Send(Outbound{Frame: frame, Src: src, Dst: dst.Addr(), Protocol: ProtocolUDP, Payload: seg})
}

// Close unbinds the socket.
func (e *UDPEndpoint) Close() { e.layer.udp.unbind(e) }

// BindUDP binds a UDP socket to local (address unspecified: every address;
// port 0: an ephemeral port).
func (l *Layer) BindUDP(local netip.AddrPort) (*UDPEndpoint, error) {
	addr := local.Addr()
	if !addr.IsValid() {
		addr = netip.IPv4Unspecified()
	}
	if !addr.IsUnspecified() {
		if mine, _ := l.isMine(addr); !mine {
			return nil, ErrNotMyAddress
		}
	}
	return l.udp.bind(l, netip.AddrPortFrom(addr, local.Port()))
}

// udpTable demultiplexes datagrams to sockets by local address and port,
// a socket bound to the exact address before one bound to every address.
type udpTable struct {
	ephemeral PortRange
	next      uint16
	byPort    map[uint16][]*UDPEndpoint
}

func newUDPTable(r PortRange) udpTable {
	if r.First == 0 || r.Last < r.First {
		r = EphemeralPorts
	}
	return udpTable{ephemeral: r, next: r.First, byPort: make(map[uint16][]*UDPEndpoint)}
}

func (t *udpTable) bind(l *Layer, local netip.AddrPort) (*UDPEndpoint, error) {
	port := local.Port()
	if port == 0 {
		n := int(t.ephemeral.Last-t.ephemeral.First) + 1
		for i := 0; i < n; i++ {
			p := t.next
			if t.next == t.ephemeral.Last {
				t.next = t.ephemeral.First
			} else {
				t.next++
			}
			if len(t.byPort[p]) == 0 {
				port = p
				break
			}
		}
		if port == 0 {
			return nil, ErrNoFreePort
		}
	}
	for _, e := range t.byPort[port] {
		if e.local.Addr() == local.Addr() || e.local.Addr().IsUnspecified() || local.Addr().IsUnspecified() {
			return nil, ErrAddrInUse
		}
	}
	e := &UDPEndpoint{layer: l, local: netip.AddrPortFrom(local.Addr(), port), ReceiveBuffer: DefaultUDPReceiveBuffer}
	t.byPort[port] = append(t.byPort[port], e)
	return e, nil
}

func (t *udpTable) unbind(e *UDPEndpoint) {
	list := t.byPort[e.local.Port()]
	for i, x := range list {
		if x == e {
			t.byPort[e.local.Port()] = append(list[:i:i], list[i+1:]...)
			return
		}
	}
}

func (t *udpTable) lookup(dst netip.AddrPort) *UDPEndpoint {
	var wildcard *UDPEndpoint
	for _, e := range t.byPort[dst.Port()] {
		if e.local.Addr() == dst.Addr() {
			return e
		}
		if e.local.Addr().IsUnspecified() {
			wildcard = e
		}
	}
	return wildcard
}

// receiveError records an ICMP error on the socket that sent the quoted
// datagram (its source port is in the quote's first 8 bytes).
func (t *udpTable) receiveError(e ICMPError) {
	if len(e.Payload) < UDPHeaderLen {
		return
	}
	u := UDP(e.Payload)
	s := t.lookup(netip.AddrPortFrom(e.Quoted.Src(), u.SrcPort()))
	if s == nil {
		return
	}
	if e.Type == uint8(ICMPDestUnreachable) && e.Code == uint8(ICMPPortUnreachable) {
		s.err = ErrConnRefused
	} else {
		s.err = fmt.Errorf("ICMP type %d code %d from %s", e.Type, e.Code, e.From)
	}
	if s.Notify != nil {
		s.Notify()
	}
}

// receiveUDP is UDP's receive walk (RFC 768): check length and checksum,
// find the socket by destination address and port, queue the datagram, or
// answer Port Unreachable.
func (l *Layer) receiveUDP(d Datagram, broadcast bool) {
	u := UDP(d.Payload)
	if err := u.Check(d.Src, d.Dst); err != nil {
		l.stats.UDPInErrors++
		reason := viz.ReasonUDPMalformed
		if ce, ok := err.(*CheckError); ok {
			reason = ce.Reason
		}
		l.dropAt(viz.LayerUDP, d.Frame, "check", reason, err.Error())
		return
	}
	dst := netip.AddrPortFrom(d.Dst, u.DstPort())
	from := netip.AddrPortFrom(d.Src, u.SrcPort())
	s := l.udp.lookup(dst)
	if s == nil {
		l.stats.UDPNoPorts++
		l.dropAt(viz.LayerUDP, d.Frame, "demux", viz.ReasonNoSocket, fmt.Sprintf("no UDP socket on port %d", u.DstPort()))
		if !broadcast {
			// RFC 1122 §4.1.3.1: answer with Port Unreachable.
			l.sendICMPError(d.Header, d.Payload, ICMPDestUnreachable, ICMPPortUnreachable, 0, d.Frame)
		}
		return
	}
	data := u.Payload()
	if s.queueBytes+len(data) > s.ReceiveBuffer {
		l.stats.UDPRcvbufErrors++
		l.dropAt(viz.LayerUDP, d.Frame, "queue", viz.ReasonRcvbufFull,
			fmt.Sprintf("socket %s receive buffer full (%d of %d bytes)", s.local, s.queueBytes, s.ReceiveBuffer))
		return
	}
	s.queue = append(s.queue, UDPDatagram{Frame: d.Frame, From: from, To: dst, Data: append([]byte(nil), data...)})
	s.queueBytes += len(data)
	l.stats.UDPInDatagrams++
	if l.rec.On() {
		l.rec.Emit(viz.Event{Layer: viz.LayerUDP, Step: "demux", Verdict: viz.Deliver, Frame: d.Frame,
			Msg:    fmt.Sprintf("UDP %s > %s, %d bytes -> socket %s", from, dst, len(data), s.local),
			Fields: []viz.Field{viz.F("sport", fmt.Sprint(from.Port())), viz.F("dport", fmt.Sprint(dst.Port()))}})
	}
	if s.Notify != nil {
		s.Notify()
	}
}
