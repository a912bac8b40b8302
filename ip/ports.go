package ip

// Ports are the transports' business, but both of the transports that have
// them (UDP and TCP) hand out ephemeral ports the same way, so the range and
// the search live here, below both.

// PortRange is a range of local ports, both ends included.
type PortRange struct{ First, Last uint16 }

// EphemeralPorts is the default range handed out for port 0: IANA's dynamic
// ports (RFC 6335 §6). Linux uses 32768-60999 (ip_local_port_range).
var EphemeralPorts = PortRange{49152, 65535}

// PortSearch picks ephemeral ports: the traditional sequential search of
// RFC 6056 §2.2, which starts each search where the last one stopped
// (next_ephemeral) and takes the first port the transport says is free,
// wrapping round the range once. UDP asks for a port nobody has bound;
// TCP for one whose four-tuple is free and on which nothing listens.
type PortSearch struct {
	r    PortRange
	next uint16
}

// NewPortSearch returns a search over r, starting at its first port.
func NewPortSearch(r PortRange) PortSearch { return PortSearch{r: r, next: r.First} }

// Range returns the range searched.
func (s *PortSearch) Range() PortRange { return s.r }

// Next returns the first port from where the last search stopped for
// which free reports true, and false once every port of the range has been
// tried.
func (s *PortSearch) Next(free func(port uint16) bool) (uint16, bool) {
	n := int(s.r.Last-s.r.First) + 1
	for i := 0; i < n; i++ {
		p := s.next
		if s.next == s.r.Last {
			s.next = s.r.First
		} else {
			s.next++
		}
		if free(p) {
			return p, true
		}
	}
	return 0, false
}
