package ip

import "testing"

// TestPortSearch: the one ephemeral-port search UDP and TCP share (RFC 6056
// §2.2) goes on from where the last search stopped, skips ports the
// transport says are taken, wraps round the range once, and then says no.
func TestPortSearch(t *testing.T) {
	s := NewPortSearch(PortRange{First: 50000, Last: 50003})
	taken := map[uint16]bool{50001: true}
	free := func(p uint16) bool { return !taken[p] }
	var got []uint16
	for {
		p, ok := s.Next(free)
		if !ok {
			break
		}
		if len(got) > 4 {
			t.Fatalf("more ports than the range holds: %v", got)
		}
		got = append(got, p)
		taken[p] = true
	}
	if want := []uint16{50000, 50002, 50003}; len(got) != len(want) || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
		t.Fatalf("ports %v, want %v", got, want)
	}
	// A freed port is found again, the search resuming after the last
	// port it handed out and wrapping to the range's start.
	delete(taken, 50001)
	if p, ok := s.Next(free); !ok || p != 50001 {
		t.Errorf("after 50001 was freed: %d, %v; want 50001", p, ok)
	}
	delete(taken, 50000)
	delete(taken, 50003)
	if p, ok := s.Next(free); !ok || p != 50003 {
		t.Errorf("the search went on from 50002: %d, %v; want 50003", p, ok)
	}
}
