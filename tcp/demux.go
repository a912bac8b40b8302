package tcp

import (
	"net/netip"
	"sort"

	"github.com/packetwalk/packetwalk/ip"
)

// fourTuple identifies a connection: "How Network Works" ch. 6 explains why
// one port is not enough (every connection to a web server has local port
// 80) and the four values are: client IP, client port, server IP, server
// port.
type fourTuple struct {
	local, remote netip.AddrPort
}

// demuxTable finds the socket a segment belongs to.
type demuxTable struct {
	exact     map[fourTuple]*Endpoint
	listeners map[uint16][]*Endpoint // by local port; specific addresses first
	ephemeral ip.PortRange
	next      uint16
}

func newDemuxTable(r ip.PortRange) demuxTable {
	return demuxTable{
		exact:     make(map[fourTuple]*Endpoint),
		listeners: make(map[uint16][]*Endpoint),
		ephemeral: r,
		next:      r.First,
	}
}

func (t *demuxTable) lookupExact(local, remote netip.AddrPort) *Endpoint {
	return t.exact[fourTuple{local, remote}]
}

// lookupListener finds the listener for a segment to local: one bound to
// exactly that address wins over one bound to every address (0.0.0.0).
func (t *demuxTable) lookupListener(local netip.AddrPort) *Endpoint {
	var wildcard *Endpoint
	for _, e := range t.listeners[local.Port()] {
		switch {
		case e.local.Addr() == local.Addr():
			return e
		case e.local.Addr().IsUnspecified():
			wildcard = e
		}
	}
	return wildcard
}

func (t *demuxTable) addListener(e *Endpoint) error {
	for _, x := range t.listeners[e.local.Port()] {
		if x.local.Addr() == e.local.Addr() || x.local.Addr().IsUnspecified() || e.local.Addr().IsUnspecified() {
			return ErrAddrInUse
		}
	}
	list := append(t.listeners[e.local.Port()], e)
	sort.SliceStable(list, func(i, j int) bool {
		return !list[i].local.Addr().IsUnspecified() && list[j].local.Addr().IsUnspecified()
	})
	t.listeners[e.local.Port()] = list
	return nil
}

func (t *demuxTable) removeListener(e *Endpoint) {
	list := t.listeners[e.local.Port()]
	for i, x := range list {
		if x == e {
			t.listeners[e.local.Port()] = append(list[:i:i], list[i+1:]...)
			return
		}
	}
}

func (t *demuxTable) addConn(e *Endpoint) error {
	k := fourTuple{e.local, e.remote}
	if t.exact[k] != nil {
		return ErrAddrInUse
	}
	t.exact[k] = e
	return nil
}

func (t *demuxTable) removeConn(e *Endpoint) {
	k := fourTuple{e.local, e.remote}
	if t.exact[k] == e {
		delete(t.exact, k)
	}
}

// ephemeralPort picks a local port for a connection to remote from local
// address src: any port of the range whose four-tuple is free (RFC 6056
// §3.3.3's simple sequential search; a connection in TIME_WAIT keeps its
// four-tuple busy, which is how many short connections exhaust ports).
func (t *demuxTable) ephemeralPort(src netip.Addr, remote netip.AddrPort) (uint16, error) {
	n := int(t.ephemeral.Last-t.ephemeral.First) + 1
	for i := 0; i < n; i++ {
		p := t.next
		if t.next == t.ephemeral.Last {
			t.next = t.ephemeral.First
		} else {
			t.next++
		}
		if t.exact[fourTuple{netip.AddrPortFrom(src, p), remote}] == nil && len(t.listeners[p]) == 0 {
			return p, nil
		}
	}
	return 0, ErrAddrNotAvail
}

// all returns every socket: listeners, then connections, each sorted by
// address, so listings are stable.
func (t *demuxTable) all() []*Endpoint {
	var out []*Endpoint
	var ports []int
	for p := range t.listeners {
		ports = append(ports, int(p))
	}
	sort.Ints(ports)
	for _, p := range ports {
		out = append(out, t.listeners[uint16(p)]...)
	}
	var conns []*Endpoint
	for _, e := range t.exact {
		conns = append(conns, e)
	}
	sort.Slice(conns, func(i, j int) bool { return conns[i].ID < conns[j].ID })
	return append(out, conns...)
}
