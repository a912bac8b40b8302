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

// DemuxTable is TCP's own Demuxer: a map of connections by four-tuple and
// lists of listeners by port.
type DemuxTable struct {
	exact     map[fourTuple]*Endpoint
	listeners map[uint16][]*Endpoint // by local port; specific addresses first
	ephemeral ip.PortSearch
}

// NewDemuxTable returns an empty table that hands out local ports from r.
func NewDemuxTable(r ip.PortRange) *DemuxTable {
	return &DemuxTable{
		exact:     make(map[fourTuple]*Endpoint),
		listeners: make(map[uint16][]*Endpoint),
		ephemeral: ip.NewPortSearch(r),
	}
}

// LookupExact implements Demuxer.
func (t *DemuxTable) LookupExact(local, remote netip.AddrPort) *Endpoint {
	return t.exact[fourTuple{local, remote}]
}

// LookupListener implements Demuxer: one bound to exactly that address wins
// over one bound to every address (0.0.0.0).
func (t *DemuxTable) LookupListener(local netip.AddrPort) *Endpoint {
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

// AddListener implements Demuxer: a port has either listeners on specific
// addresses or one on the wildcard, as Linux allows without SO_REUSEPORT.
func (t *DemuxTable) AddListener(e *Endpoint) error {
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

// RemoveListener implements Demuxer.
func (t *DemuxTable) RemoveListener(e *Endpoint) {
	list := t.listeners[e.local.Port()]
	for i, x := range list {
		if x == e {
			t.listeners[e.local.Port()] = append(list[:i:i], list[i+1:]...)
			return
		}
	}
}

// AddConn implements Demuxer.
func (t *DemuxTable) AddConn(e *Endpoint) error {
	k := fourTuple{e.local, e.remote}
	if t.exact[k] != nil {
		return ErrAddrInUse
	}
	t.exact[k] = e
	return nil
}

// RemoveConn implements Demuxer.
func (t *DemuxTable) RemoveConn(e *Endpoint) {
	k := fourTuple{e.local, e.remote}
	if t.exact[k] == e {
		delete(t.exact, k)
	}
}

// EphemeralPort implements Demuxer: it picks a local port for a connection to remote from local
// address src: any port of the range whose four-tuple is free and on which
// nothing listens, by the search UDP uses too (ip.PortSearch, RFC 6056
// §2.2). A connection in TIME_WAIT keeps its four-tuple busy, which is how
// many short connections exhaust ports.
func (t *DemuxTable) EphemeralPort(src netip.Addr, remote netip.AddrPort) (uint16, error) {
	p, ok := t.ephemeral.Next(func(p uint16) bool {
		return t.exact[fourTuple{netip.AddrPortFrom(src, p), remote}] == nil && len(t.listeners[p]) == 0
	})
	if !ok {
		return 0, ErrAddrNotAvail
	}
	return p, nil
}

// All implements Demuxer: it returns every socket: listeners, then connections, each sorted by
// address, so listings are stable.
func (t *DemuxTable) All() []*Endpoint {
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

// newDemuxer builds the layer's table: cfg.Demuxer's, or TCP's own.
func newDemuxer(cfg Config) Demuxer {
	if cfg.Demuxer != nil {
		return cfg.Demuxer(cfg.Ephemeral)
	}
	return NewDemuxTable(cfg.Ephemeral)
}
