package tcp

import (
	"net/netip"
	"testing"
)

// The upward contract (contract.go): an endpoint's Upper is given once,
// when it is opened or cloned, and hears every readiness change through
// Ready; a listener's Upper makes the Upper of each clone.

// upperRec is a socket as TCP sees it: it records what it is told.
type upperRec struct {
	name   string
	ready  []Readiness
	clones []*upperRec
	of     []*Endpoint // the connections it cloned, in order
	opened []State     // the endpoint's state each time Opened was called
	// onOpened, if set, runs inside Opened.
	onOpened func(e *Endpoint)
}

func (u *upperRec) Ready(r Readiness) { u.ready = append(u.ready, r) }

func (u *upperRec) Opened(e *Endpoint) {
	u.opened = append(u.opened, e.State())
	if u.onOpened != nil {
		u.onOpened(e)
	}
}

func (u *upperRec) Cloned(c *Endpoint) Upper {
	child := &upperRec{name: u.name + "/clone"}
	u.clones = append(u.clones, child)
	u.of = append(u.of, c)
	return child
}

// told reports whether u heard r (alone or with other bits).
func (u *upperRec) told(r Readiness) bool {
	for _, x := range u.ready {
		if x&r != 0 {
			return true
		}
	}
	return false
}

// TestUpperClonedOnSYN: the SYN that clones a listener asks the listener's
// Upper for the clone's, at once, before any accept(); the clone's Upper
// hears its handshake complete and its reset, and the listener's hears the
// connection queued for accept(). Before this contract a clone started
// with no wake-ups at all, and got them only when accept() set them.
func TestUpperClonedOnSYN(t *testing.T) {
	r := newRig(t, Config{})
	up := &upperRec{name: "listener"}
	lst, err := r.l.Listen(srvAddr, 4, Options{}, up)
	if err != nil {
		t.Fatal(err)
	}
	if lst.Upper() != up {
		t.Fatalf("the listener's Upper is %v, want the one Listen was given", lst.Upper())
	}
	r.inject(peerAddr, srvAddr, peerSYN(peerISS), nil)
	synack := r.takeOne("SYN")
	if len(up.clones) != 1 {
		t.Fatalf("the SYN made %d Cloned calls, want 1", len(up.clones))
	}
	c, child := up.of[0], up.clones[0]
	if c.State() != SynReceived || c.Parent() != lst || c.Upper() != child {
		t.Fatalf("clone %s, parent %v, Upper %v; want SYN_RECEIVED, the listener, the Upper Cloned returned", c.State(), c.Parent(), c.Upper())
	}
	if up.told(ReadyAccept) {
		t.Fatalf("the listener was told a connection is ready before the handshake completed: %v", up.ready)
	}

	r.inject(peerAddr, srvAddr, Header{Seq: peerISS.Add(1), Ack: synack.hdr.Seq.Add(1), Flags: FlagACK, Window: 65535}, nil)
	if !up.told(ReadyAccept) {
		t.Fatalf("the final ACK queued the connection but the listener heard %v, want ReadyAccept", up.ready)
	}
	if !child.told(ReadyWrite) {
		t.Fatalf("the clone's Upper heard %v at ESTABLISHED, want ReadyWrite", child.ready)
	}
	got, err := lst.Accept()
	if err != nil || got != c || got.Upper() != child {
		t.Fatalf("accept() = %v (Upper %v), %v; want the clone with its Upper", got, got.Upper(), err)
	}

	// Data wakes readers; a RST tells the clone's Upper it is gone.
	r.inject(peerAddr, srvAddr, Header{Seq: peerISS.Add(1), Ack: synack.hdr.Seq.Add(1), Flags: FlagACK | FlagPSH, Window: 65535}, []byte("hi"))
	if !child.told(ReadyRead) {
		t.Fatalf("data arrived but the clone's Upper heard %v", child.ready)
	}
	r.take()
	r.inject(peerAddr, srvAddr, Header{Seq: peerISS.Add(3), Flags: FlagRST}, nil)
	if last := child.ready[len(child.ready)-1]; last&ReadyClosed == 0 || last&(ReadyRead|ReadyWrite) != ReadyRead|ReadyWrite {
		t.Fatalf("after the RST the clone's Upper last heard %b, want ReadyClosed with ReadyRead and ReadyWrite", last)
	}
	if len(up.clones) != 1 {
		t.Fatalf("%d Cloned calls for one connection", len(up.clones))
	}
}

// TestUpperClonedOnCookie: a connection rebuilt from a SYN cookie is a
// clone too; its Upper comes from the listener's when the ACK returns the
// cookie (no socket for the SYN: a cookie keeps no state), and it is queued
// for accept() by the same hand-off as the handshake's.
func TestUpperClonedOnCookie(t *testing.T) {
	r := newRig(t, Config{SynCookies: SynCookiesAlways})
	up := &upperRec{name: "listener"}
	lst, err := r.l.Listen(srvAddr, 4, Options{}, up)
	if err != nil {
		t.Fatal(err)
	}
	r.inject(peerAddr, srvAddr, peerSYN(peerISS), nil)
	synack := r.takeOne("SYN")
	if len(up.clones) != 0 {
		t.Fatalf("a SYN answered with a cookie made %d Cloned calls, want none", len(up.clones))
	}
	f := r.inject(peerAddr, srvAddr, Header{Seq: peerISS.Add(1), Ack: synack.hdr.Seq.Add(1), Flags: FlagACK, Window: 1000}, nil)
	r.expectNoDrop(f)
	if len(up.clones) != 1 || !up.told(ReadyAccept) {
		t.Fatalf("the cookie's ACK made %d Cloned calls, the listener heard %v; want 1 and ReadyAccept", len(up.clones), up.ready)
	}
	if q := r.stepEvents("accept_queue"); len(q) != 1 || q[0].Conn != up.of[0].ID {
		t.Fatalf("accept_queue steps %v, want one for the cookie's connection", q)
	}
	c, err := lst.Accept()
	if err != nil || c != up.of[0] || c.Upper() != up.clones[0] {
		t.Fatalf("accept() = %v, %v; want the cookie's connection with its Upper", c, err)
	}
}

// TestUpperNilIsSilent: an endpoint opened with no Upper (the labs'
// graders, unit tests) clones without one and runs a whole connection.
func TestUpperNilIsSilent(t *testing.T) {
	r := newRig(t, Config{})
	c := r.passiveOpen(4, peerAddr, peerISS)
	if c.e.Upper() != nil || c.lst.Upper() != nil {
		t.Fatalf("Upper %v and %v, want nil for a listener opened without one", c.e.Upper(), c.lst.Upper())
	}
	r.inject(peerAddr, srvAddr, Header{Seq: c.peerNxt, Flags: FlagRST}, nil)
	if c.e.State() != Closed {
		t.Fatalf("after a RST: %s", c.e.State())
	}
}

// TestUpperOpenedBeforeItsSteps: Listen and Connect tell the Upper they
// were given about the endpoint once, when it has its ID and addresses but
// before its first state change and before Connect's SYN, so that the
// socket API can record listen() and connect() before the steps they cause
// (issue 16: a step is never narrated after the steps it caused).
func TestUpperOpenedBeforeItsSteps(t *testing.T) {
	r := newRig(t, Config{})
	for _, c := range []struct {
		name string
		open func(up Upper) (*Endpoint, error)
	}{
		{"listen", func(up Upper) (*Endpoint, error) { return r.l.Listen(srvAddr, 4, Options{}, up) }},
		{"connect", func(up Upper) (*Endpoint, error) { return r.l.Connect(netip.AddrPort{}, peerAddr, Options{}, up) }},
	} {
		up := &upperRec{name: c.name}
		var stepsBefore, sentBefore int
		var id uint64
		var local netip.AddrPort
		up.onOpened = func(e *Endpoint) {
			stepsBefore, sentBefore = len(r.mem.Events()), len(r.net.out)
			id, local = e.ID, e.LocalAddr()
		}
		before := len(r.mem.Events())
		e, err := c.open(up)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if len(up.opened) != 1 || up.opened[0] != Closed {
			t.Fatalf("%s: Opened was called in states %v, want once, in CLOSED", c.name, up.opened)
		}
		if id != e.ID || local != e.LocalAddr() || !local.IsValid() || local.Port() == 0 {
			t.Errorf("%s: Opened saw socket #%d at %v, want #%d at %v", c.name, id, local, e.ID, e.LocalAddr())
		}
		if stepsBefore != before {
			t.Errorf("%s: %d steps were logged before Opened, want none: %v", c.name, stepsBefore-before, r.mem.Events()[before:stepsBefore])
		}
		if sentBefore != 0 {
			t.Errorf("%s: %d segments were sent before Opened", c.name, sentBefore)
		}
		r.take()
	}
}
