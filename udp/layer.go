package udp

import (
	"errors"
	"fmt"
	"net/netip"

	"github.com/packetwalk/packetwalk/ip"
	"github.com/packetwalk/packetwalk/viz"
)

// DefaultReceiveBuffer is a UDP socket's receive queue limit in bytes,
// like Linux's SO_RCVBUF default (net.core.rmem_default, 212992).
const DefaultReceiveBuffer = 212992

// Errors of the UDP socket table, named like their POSIX counterparts.
var (
	ErrAddrInUse     = errors.New("address already in use (EADDRINUSE)")
	ErrNoFreePort    = errors.New("no free ephemeral port (EADDRNOTAVAIL): every port of the range is bound")
	ErrNotMyAddress  = errors.New("cannot assign requested address (EADDRNOTAVAIL): not one of this host's addresses")
	ErrMessageTooBig = errors.New("message too long (EMSGSIZE): a UDP datagram carries at most 65,507 bytes over IPv4")
	// ErrConnRefused is ECONNREFUSED: the peer answered with ICMP port
	// unreachable.
	ErrConnRefused = errors.New("connection refused (ECONNREFUSED): ICMP port unreachable")
)

// Config describes one host's UDP.
type Config struct {
	Recorder *viz.Recorder
	Network  Network
	// Ephemeral is the range of local ports handed out to sockets bound
	// to port 0; the zero value means ip.EphemeralPorts.
	Ephemeral ip.PortRange
}

// Layer is one host's UDP: its socket table. It implements ip.Transport
// for protocol 17 and ip.Describer; package stack registers it with IP.
// Like all protocol state it is owned by the host's event loop.
type Layer struct {
	rec   *viz.Recorder
	net   Network
	table table
	stats Stats
}

// Stats are UDP's counters, named after the Udp: line of Linux's
// /proc/net/snmp.
type Stats struct {
	InDatagrams, NoPorts, InErrors, RcvbufErrors, OutDatagrams uint64
}

// NewLayer returns a UDP layer with no sockets.
func NewLayer(cfg Config) *Layer {
	return &Layer{rec: cfg.Recorder, net: cfg.Network, table: newTable(cfg.Ephemeral)}
}

// Stats returns the layer's counters.
func (l *Layer) Stats() Stats { return l.stats }

// Message is one received datagram, queued on an Endpoint.
type Message struct {
	Frame uint64
	From  netip.AddrPort
	To    netip.AddrPort
	Data  []byte
}

// Endpoint is a bound UDP socket as the layer keeps it: its local address
// and a bounded queue of received datagrams. It is owned by the event
// loop; package stack wraps it into a blocking datagram socket.
type Endpoint struct {
	layer      *Layer
	local      netip.AddrPort
	queue      []Message
	queueBytes int
	// ReceiveBuffer is the queue limit in bytes (SO_RCVBUF).
	ReceiveBuffer int
	// Notify, if set, is called when a datagram is queued or an ICMP
	// error arrives, to wake a blocked reader.
	Notify func()
	// err is the last ICMP error reported for this socket (for example
	// port unreachable: ECONNREFUSED on the next call), cleared by TakeErr.
	err error
}

// LocalAddr returns the bound address.
func (e *Endpoint) LocalAddr() netip.AddrPort { return e.local }

// Recv takes the oldest queued datagram.
func (e *Endpoint) Recv() (Message, bool) {
	if len(e.queue) == 0 {
		return Message{}, false
	}
	d := e.queue[0]
	e.queue[0] = Message{}
	e.queue = e.queue[1:]
	e.queueBytes -= len(d.Data)
	return d, true
}

// Queued returns how many datagrams wait to be received.
func (e *Endpoint) Queued() int { return len(e.queue) }

// TakeErr returns and clears the pending ICMP error.
func (e *Endpoint) TakeErr() error { err := e.err; e.err = nil; return err }

// SendTo sends payload to dst from this socket's port.
func (e *Endpoint) SendTo(dst netip.AddrPort, payload []byte) error {
	if len(payload) > ip.IPv4MaxLen-ip.IPv4MinHeaderLen-HeaderLen {
		return ErrMessageTooBig
	}
	l := e.layer
	src := e.local.Addr()
	if src.IsUnspecified() {
		var err error
		if src, err = l.net.SourceFor(dst.Addr()); err != nil {
			return err
		}
	}
	frame := l.rec.NewFrameID()
	seg := Append(nil, src, dst.Addr(), e.local.Port(), dst.Port(), payload)
	if l.rec.On() {
		l.rec.Stepf(viz.Event{Layer: viz.LayerUDP, Step: "send", Verdict: viz.Send, Frame: frame},
			[]viz.Field{viz.Fv("sport", viz.Int(int(e.local.Port()))), viz.Fv("dport", viz.Int(int(dst.Port())))},
			"UDP %s:%d > %s, %d bytes", viz.Addr(src), viz.Int(int(e.local.Port())), viz.AddrPort(dst), viz.Int(len(payload)))
	}
	l.stats.OutDatagrams++
	return l.net.Send(ip.Outbound{Frame: frame, Src: src, Dst: dst.Addr(), Protocol: ip.ProtocolUDP, Payload: seg})
}

// Close unbinds the socket.
func (e *Endpoint) Close() { e.layer.table.unbind(e) }

// Bind binds a UDP socket to local (address unspecified: every address;
// port 0: an ephemeral port).
func (l *Layer) Bind(local netip.AddrPort) (*Endpoint, error) {
	addr := local.Addr()
	if !addr.IsValid() {
		addr = netip.IPv4Unspecified()
	}
	if !addr.IsUnspecified() {
		if mine, _ := l.net.IsMine(addr); !mine {
			return nil, ErrNotMyAddress
		}
	}
	return l.table.bind(l, netip.AddrPortFrom(addr, local.Port()))
}

// table demultiplexes datagrams to sockets by local address and port,
// a socket bound to the exact address before one bound to every address.
type table struct {
	ephemeral ip.PortSearch
	byPort    map[uint16][]*Endpoint
}

func newTable(r ip.PortRange) table {
	if r.First == 0 || r.Last < r.First {
		r = ip.EphemeralPorts
	}
	return table{ephemeral: ip.NewPortSearch(r), byPort: make(map[uint16][]*Endpoint)}
}

func (t *table) bind(l *Layer, local netip.AddrPort) (*Endpoint, error) {
	port := local.Port()
	if port == 0 {
		// The same search as TCP's (ip.PortSearch, RFC 6056 §2.2):
		// any port nobody has bound.
		var ok bool
		if port, ok = t.ephemeral.Next(func(p uint16) bool { return len(t.byPort[p]) == 0 }); !ok {
			return nil, ErrNoFreePort
		}
	}
	for _, e := range t.byPort[port] {
		if e.local.Addr() == local.Addr() || e.local.Addr().IsUnspecified() || local.Addr().IsUnspecified() {
			return nil, ErrAddrInUse
		}
	}
	e := &Endpoint{layer: l, local: netip.AddrPortFrom(local.Addr(), port), ReceiveBuffer: DefaultReceiveBuffer}
	t.byPort[port] = append(t.byPort[port], e)
	return e, nil
}

func (t *table) unbind(e *Endpoint) {
	list := t.byPort[e.local.Port()]
	for i, x := range list {
		if x == e {
			t.byPort[e.local.Port()] = append(list[:i:i], list[i+1:]...)
			return
		}
	}
}

func (t *table) lookup(dst netip.AddrPort) *Endpoint {
	var wildcard *Endpoint
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

// ReceiveError implements ip.Transport: it records an ICMP error on the
// socket that sent the quoted datagram (its source port is in the quote's
// first 8 bytes).
func (l *Layer) ReceiveError(e ip.ICMPError) {
	if len(e.Payload) < HeaderLen {
		return
	}
	u := Datagram(e.Payload)
	s := l.table.lookup(netip.AddrPortFrom(e.Quoted.Src(), u.SrcPort()))
	if s == nil {
		return
	}
	if e.Type == uint8(ip.ICMPDestUnreachable) && e.Code == uint8(ip.ICMPPortUnreachable) {
		s.err = ErrConnRefused
	} else {
		s.err = fmt.Errorf("ICMP type %d code %d from %s", e.Type, e.Code, e.From)
	}
	if s.Notify != nil {
		s.Notify()
	}
}

// Receive implements ip.Transport: UDP's receive walk (RFC 768). Check
// length and checksum, find the socket by destination address and port,
// queue the datagram, or answer Port Unreachable.
func (l *Layer) Receive(d ip.Datagram) {
	u := Datagram(d.Payload)
	if err := u.Check(d.Src, d.Dst); err != nil {
		l.stats.InErrors++
		reason := viz.ReasonUDPMalformed
		if ce, ok := err.(*ip.CheckError); ok {
			reason = ce.Reason
		}
		l.drop(d.Frame, "check", reason, err.Error())
		return
	}
	dst := netip.AddrPortFrom(d.Dst, u.DstPort())
	from := netip.AddrPortFrom(d.Src, u.SrcPort())
	s := l.table.lookup(dst)
	if s == nil {
		l.stats.NoPorts++
		l.dropf(d.Frame, "demux", viz.ReasonNoSocket, "no UDP socket on port %d", viz.Int(int(u.DstPort())))
		// RFC 1122 §4.1.3.1: answer with Port Unreachable; but not
		// about a broadcast, nor a link-layer broadcast (RFC 1122
		// §3.2.2).
		if !d.Broadcast {
			l.net.SendICMPError(d.Header, d.Payload, ip.ICMPDestUnreachable, ip.ICMPPortUnreachable, 0, d.Frame)
		}
		return
	}
	data := u.Payload()
	if s.queueBytes+len(data) > s.ReceiveBuffer {
		l.stats.RcvbufErrors++
		l.dropf(d.Frame, "queue", viz.ReasonRcvbufFull,
			"socket %s receive buffer full (%d of %d bytes)", viz.AddrPort(s.local), viz.Int(s.queueBytes), viz.Int(s.ReceiveBuffer))
		return
	}
	s.queue = append(s.queue, Message{Frame: d.Frame, From: from, To: dst, Data: append([]byte(nil), data...)})
	s.queueBytes += len(data)
	l.stats.InDatagrams++
	if l.rec.On() {
		l.rec.Stepf(viz.Event{Layer: viz.LayerUDP, Step: "demux", Verdict: viz.Deliver, Frame: d.Frame},
			[]viz.Field{viz.Fv("sport", viz.Int(int(from.Port()))), viz.Fv("dport", viz.Int(int(dst.Port())))},
			"UDP %s > %s, %d bytes -> socket %s", viz.AddrPort(from), viz.AddrPort(dst), viz.Int(len(data)), viz.AddrPort(s.local))
	}
	if s.Notify != nil {
		s.Notify()
	}
}

// drop logs a drop whose sentence is text already made: an error's text,
// made with the error whether or not anybody listens.
func (l *Layer) drop(frame uint64, step string, reason viz.Reason, msg string) {
	l.dropf(frame, step, reason, "%s", viz.Str(msg))
}

// dropf is drop with the message as a format and typed arguments, made
// into text by the sinks.
func (l *Layer) dropf(frame uint64, step string, reason viz.Reason, format string, args ...viz.Arg) {
	if l.rec.On() {
		l.rec.Stepf(viz.Event{Layer: viz.LayerUDP, Step: step, Verdict: viz.Drop, Reason: reason, Frame: frame}, nil, format, args...)
	}
}
