package tcp

import (
	"errors"
	"net/netip"
	"testing"

	"github.com/packetwalk/packetwalk/ip"
)

// The ephemeral port range is configurable, and running out of it is a
// clear EADDRNOTAVAIL, not a hang or a reused four-tuple.
func TestEphemeralPortsExhausted(t *testing.T) {
	r := newRig(t, Config{Ephemeral: ip.PortRange{First: 50000, Last: 50001}})
	remote := netip.MustParseAddrPort("10.0.0.2:80")
	seen := map[uint16]bool{}
	for i := 0; i < 2; i++ {
		e, err := r.l.Connect(netip.AddrPort{}, remote, Options{}, nil)
		if err != nil {
			t.Fatalf("connect %d: %v", i, err)
		}
		p := e.LocalAddr().Port()
		if p < 50000 || p > 50001 || seen[p] {
			t.Fatalf("connect %d got port %d", i, p)
		}
		seen[p] = true
	}
	if _, err := r.l.Connect(netip.AddrPort{}, remote, Options{}, nil); !errors.Is(err, ErrAddrNotAvail) {
		t.Fatalf("third connect: %v, want EADDRNOTAVAIL", err)
	}
	// Another destination has its own four-tuples: the same ports serve.
	if _, err := r.l.Connect(netip.AddrPort{}, netip.MustParseAddrPort("10.0.0.3:80"), Options{}, nil); err != nil {
		t.Fatalf("connect elsewhere: %v", err)
	}
}
