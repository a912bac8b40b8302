package tcp

import (
	"errors"
	"io"
	"testing"
)

// TestResetReportedOnce: the error a reset leaves is reported once, by
// whichever call comes first (Read, Write or TakeErr, which is SO_ERROR);
// afterwards the connection no longer exists: Read returns io.EOF and
// Write EPIPE, as on Linux (sock_error) and FreeBSD (so_error).
func TestResetReportedOnce(t *testing.T) {
	type call struct {
		name string
		do   func(e *Endpoint) error
	}
	read := call{"read", func(e *Endpoint) error { _, err := e.Read(make([]byte, 10)); return err }}
	write := call{"write", func(e *Endpoint) error { _, err := e.Write([]byte("x")); return err }}
	take := call{"SO_ERROR", func(e *Endpoint) error { return e.TakeErr() }}
	after := map[string]error{"read": io.EOF, "write": ErrBrokenPipe, "SO_ERROR": nil}
	for _, first := range []call{read, write, take} {
		t.Run(first.name+" first", func(t *testing.T) {
			r := newRig(t, Config{})
			c := r.passiveOpen(4, peerAddr, peerISS)
			r.fromPeer(c, Header{Seq: c.peerNxt, Flags: FlagRST}, nil)
			if c.e.State() != Closed || !c.e.Readable() || !c.e.Writable() {
				t.Fatalf("after the RST: state %s, readable %v, writable %v", c.e.State(), c.e.Readable(), c.e.Writable())
			}
			if err := first.do(c.e); !errors.Is(err, ErrConnReset) {
				t.Fatalf("first call, %s: %v, want ECONNRESET", first.name, err)
			}
			if c.e.Err() != nil {
				t.Fatalf("the error is still pending after %s reported it: %v", first.name, c.e.Err())
			}
			for _, next := range []call{read, write, take, read} {
				if err := next.do(c.e); err != after[next.name] {
					t.Errorf("then %s: %v, want %v", next.name, err, after[next.name])
				}
			}
			// Nothing would block: a read says EOF, a write EPIPE.
			if !c.e.Readable() || !c.e.Writable() {
				t.Errorf("after the error was reported: readable %v, writable %v, want both", c.e.Readable(), c.e.Writable())
			}
		})
	}
}

// TestSetBacklog: listen() again on a listener takes the new backlog,
// clamped like the first (at least 1, at most MaxBacklog); on a connection
// it is EINVAL.
func TestSetBacklog(t *testing.T) {
	r := newRig(t, Config{MaxBacklog: 16})
	c := r.passiveOpen(1, peerAddr, peerISS)
	for _, x := range []struct{ ask, want int }{{5, 5}, {0, 1}, {-3, 1}, {100, 16}, {2, 2}} {
		if err := c.lst.SetBacklog(x.ask); err != nil {
			t.Fatalf("SetBacklog(%d): %v", x.ask, err)
		}
		if got := c.lst.Info().Backlog; got != x.want {
			t.Errorf("SetBacklog(%d): backlog %d, want %d", x.ask, got, x.want)
		}
	}
	if err := c.e.SetBacklog(4); err != ErrInvalid {
		t.Errorf("SetBacklog on a connection: %v, want EINVAL", err)
	}
}
