package viz

import "slices"

// Topology describes what a run is made of: its hosts, their NICs and
// addresses, and the wires between them. The composition root (stack's
// Network, a scenario, a command) registers each part on the Log as it
// builds it; outputs read it to name and draw the network (the pcapng
// file's name resolution block, the report's picture). It is kept in the
// order parts were added, so a seeded run describes itself identically
// every time.
type Topology struct {
	Hosts []TopoHost `json:"hosts"`
	Wires []TopoWire `json:"wires"`
}

// TopoHost is one host: its name in the step log and what runs it.
type TopoHost struct {
	Name string    `json:"name"`
	Kind string    `json:"kind"` // "packetwalk", "gvisor", "kernel", "injector"
	NICs []TopoNIC `json:"nics"`
}

// TopoNIC is one network interface of a host.
type TopoNIC struct {
	Name  string   `json:"name"`  // "eth0"
	MAC   string   `json:"mac"`   // "02:00:00:00:00:01"
	Addrs []string `json:"addrs"` // with prefix length: "10.0.0.1/24"
	Wire  string   `json:"wire"`  // the wire or device it is plugged into; "" if none
}

// TopoWire is one medium: a simulated wire, or a TUN/TAP device.
type TopoWire struct {
	Name string `json:"name"`
	Kind string `json:"kind"` // "wire", "tun", "tap"
}

// AddTopoHost registers a host (a second call with the same name
// replaces its kind and keeps its NICs).
func (l *Log) AddTopoHost(name, kind string) {
	l.topoMu.Lock()
	defer l.topoMu.Unlock()
	for i := range l.topo.Hosts {
		if l.topo.Hosts[i].Name == name {
			l.topo.Hosts[i].Kind = kind
			return
		}
	}
	l.topo.Hosts = append(l.topo.Hosts, TopoHost{Name: name, Kind: kind})
}

// AddTopoNIC registers a NIC of a host (registering the host if needed).
// A second call with the same host and NIC name replaces that NIC in its
// place: a host whose NIC is plugged in after it was made (a gVisor host's
// Attach) registers it again with its wire.
func (l *Log) AddTopoNIC(host string, n TopoNIC) {
	l.topoMu.Lock()
	defer l.topoMu.Unlock()
	n.Addrs = slices.Clone(n.Addrs)
	for i := range l.topo.Hosts {
		h := &l.topo.Hosts[i]
		if h.Name != host {
			continue
		}
		for j := range h.NICs {
			if h.NICs[j].Name == n.Name {
				h.NICs[j] = n
				return
			}
		}
		h.NICs = append(h.NICs, n)
		return
	}
	l.topo.Hosts = append(l.topo.Hosts, TopoHost{Name: host, NICs: []TopoNIC{n}})
}

// AddTopoWire registers a wire or device.
func (l *Log) AddTopoWire(name, kind string) {
	l.topoMu.Lock()
	defer l.topoMu.Unlock()
	l.topo.Wires = append(l.topo.Wires, TopoWire{Name: name, Kind: kind})
}

// Topology returns a copy of what has been registered so far. It takes a
// lock of its own, not the one the sinks are called under, so a sink may
// call it (the pcapng writer does, before its first packet).
func (l *Log) Topology() Topology {
	l.topoMu.Lock()
	defer l.topoMu.Unlock()
	t := Topology{Wires: slices.Clone(l.topo.Wires)}
	for _, h := range l.topo.Hosts {
		c := h
		c.NICs = nil
		for _, n := range h.NICs {
			n.Addrs = slices.Clone(n.Addrs)
			c.NICs = append(c.NICs, n)
		}
		t.Hosts = append(t.Hosts, c)
	}
	return t
}
