// Package reference is a solution of the impl-demux lab, kept out of the
// skeleton. It passes every graded test.
package mutant

import (
	"net/netip"
	"slices"

	"github.com/packetwalk/packetwalk/ip"
	"github.com/packetwalk/packetwalk/tcp"
)

// fourTuple names a connection: local address and port, remote address and
// port ("How Network Works" ch. 6).
type fourTuple struct{ local, remote uint16 } // mutant: ports only, as if one port told connections apart

// Table is the reference tcp.Demuxer.
type Table struct {
	conns     map[fourTuple]*tcp.Endpoint
	listeners map[uint16][]*tcp.Endpoint // by port
	ports     ip.PortRange
	next      uint16 // where the next ephemeral search starts
}

// New returns an empty table handing out ports from ephemeral.
func New(ephemeral ip.PortRange) tcp.Demuxer {
	return &Table{conns: map[fourTuple]*tcp.Endpoint{}, listeners: map[uint16][]*tcp.Endpoint{}, ports: ephemeral, next: ephemeral.First}
}

// LookupExact implements tcp.Demuxer.
func (t *Table) LookupExact(local, remote netip.AddrPort) *tcp.Endpoint {
	return t.conns[fourTuple{local.Port(), remote.Port()}]
}

// LookupListener implements tcp.Demuxer: the exact address first, the
// wildcard otherwise.
func (t *Table) LookupListener(local netip.AddrPort) *tcp.Endpoint {
	var wildcard *tcp.Endpoint
	for _, e := range t.listeners[local.Port()] {
		switch a := e.LocalAddr().Addr(); {
		case a == local.Addr():
			return e
		case a.IsUnspecified():
			wildcard = e
		}
	}
	return wildcard
}

// AddListener implements tcp.Demuxer.
func (t *Table) AddListener(e *tcp.Endpoint) error {
	a := e.LocalAddr()
	for _, x := range t.listeners[a.Port()] {
		xa := x.LocalAddr().Addr()
		if xa == a.Addr() || xa.IsUnspecified() || a.Addr().IsUnspecified() {
			return tcp.ErrAddrInUse
		}
	}
	t.listeners[a.Port()] = append(t.listeners[a.Port()], e)
	return nil
}

// RemoveListener implements tcp.Demuxer.
func (t *Table) RemoveListener(e *tcp.Endpoint) {
	p := e.LocalAddr().Port()
	t.listeners[p] = slices.DeleteFunc(t.listeners[p], func(x *tcp.Endpoint) bool { return x == e })
	if len(t.listeners[p]) == 0 {
		delete(t.listeners, p)
	}
}

// AddConn implements tcp.Demuxer.
func (t *Table) AddConn(e *tcp.Endpoint) error {
	k := fourTuple{e.LocalAddr().Port(), e.RemoteAddr().Port()}
	if t.conns[k] != nil {
		return tcp.ErrAddrInUse
	}
	t.conns[k] = e
	return nil
}

// RemoveConn implements tcp.Demuxer: only e itself is removed.
func (t *Table) RemoveConn(e *tcp.Endpoint) {
	k := fourTuple{e.LocalAddr().Port(), e.RemoteAddr().Port()}
	if t.conns[k] == e {
		delete(t.conns, k)
	}
}

// EphemeralPort implements tcp.Demuxer: a sequential search from where the
// last one stopped (RFC 6056 §3.3.3).
func (t *Table) EphemeralPort(src netip.Addr, remote netip.AddrPort) (uint16, error) {
	n := int(t.ports.Last) - int(t.ports.First) + 1
	for range n {
		p := t.next
		if t.next == t.ports.Last {
			t.next = t.ports.First
		} else {
			t.next++
		}
		if t.conns[fourTuple{p, remote.Port()}] == nil && len(t.listeners[p]) == 0 {
			return p, nil
		}
	}
	return 0, tcp.ErrAddrNotAvail
}

// All implements tcp.Demuxer.
func (t *Table) All() []*tcp.Endpoint {
	var ls []*tcp.Endpoint
	for _, l := range t.listeners {
		ls = append(ls, l...)
	}
	slices.SortStableFunc(ls, func(a, b *tcp.Endpoint) int { return int(a.LocalAddr().Port()) - int(b.LocalAddr().Port()) })
	var cs []*tcp.Endpoint
	for _, c := range t.conns {
		cs = append(cs, c)
	}
	slices.SortFunc(cs, func(a, b *tcp.Endpoint) int {
		switch {
		case a.ID < b.ID:
			return -1
		case a.ID > b.ID:
			return 1
		}
		return 0
	})
	return append(ls, cs...)
}
