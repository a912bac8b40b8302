package stack_test

import (
	"context"
	"crypto/sha256"
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/packetwalk/packetwalk/nic"
)

// Issue 10's impaired link: 2% loss, 2% duplication, 2% reordering and
// 0.5% bit corruption, seeded; 50 MB each way between packetwalk and
// gVisor's netstack must arrive byte-identical (sha256). The wall time of
// each direction is logged (the simulation is paced by the wall clock,
// because gVisor runs on goroutines of its own); docs/robustness.md has the
// figures.

var impairedLink = nic.Impairments{Loss: 0.02, Duplicate: 0.02, Reorder: 0.02, Corrupt: 0.005}

const impairedBytes = 50 << 20

func TestImpairedLink50MB(t *testing.T) {
	if testing.Short() {
		t.Skip("50 MB each way over an impaired link takes a while; not with -short")
	}
	t.Run("gvisor_to_packetwalk", func(t *testing.T) {
		x := newInterop(t, 31, impairedLink)
		data := randomBytes(31, impairedBytes)
		want := sha256.Sum256(data)
		addr := netip.AddrPortFrom(x.pw.Addr(), 80)
		start := time.Now()
		x.run(t, 900*time.Second, func() error {
			ln, err := x.pw.ListenTCP(addr, 8)
			if err != nil {
				return err
			}
			defer ln.Close()
			srv := make(chan error, 1)
			go func() {
				c, err := ln.Accept()
				if err != nil {
					srv <- err
					return
				}
				srv <- hashAndAnswer(c)
			}()
			c, err := x.gv.DialTCP(context.Background(), addr)
			if err != nil {
				return fmt.Errorf("gVisor dial: %w", err)
			}
			sum, err := sendAndHash(c, data)
			if err != nil {
				return err
			}
			if err := <-srv; err != nil {
				return fmt.Errorf("packetwalk server: %w", err)
			}
			if string(sum) != string(want[:]) {
				return fmt.Errorf("sha256 differs after %d bytes gVisor -> packetwalk", len(data))
			}
			return nil
		})
		x.logWire(t, "gVisor -> packetwalk", start)
	})
	t.Run("packetwalk_to_gvisor", func(t *testing.T) {
		x := newInterop(t, 32, impairedLink)
		data := randomBytes(32, impairedBytes)
		want := sha256.Sum256(data)
		ln, err := x.gv.ListenTCP(8080)
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		start := time.Now()
		x.run(t, 900*time.Second, func() error {
			srv := make(chan error, 1)
			go func() {
				c, err := ln.Accept()
				if err != nil {
					srv <- err
					return
				}
				srv <- hashAndAnswer(c)
			}()
			c, err := x.pw.DialTCP(context.Background(), netip.AddrPortFrom(x.gv.Addr(), 8080))
			if err != nil {
				return fmt.Errorf("packetwalk dial: %w", err)
			}
			sum, err := sendAndHash(c, data)
			if err != nil {
				return err
			}
			if err := <-srv; err != nil {
				return fmt.Errorf("gVisor server: %w", err)
			}
			if string(sum) != string(want[:]) {
				return fmt.Errorf("sha256 differs after %d bytes packetwalk -> gVisor", len(data))
			}
			return nil
		})
		x.logWire(t, "packetwalk -> gVisor", start)
	})
}

// logWire reports the transfer's wall time and what the impairments did.
func (x *interop) logWire(t *testing.T, what string, start time.Time) {
	t.Helper()
	st := x.pw.TCP.Stats()
	t.Logf("%s: %d MB, sha256 equal, in %v wall; packetwalk sent %d segments, %d retransmitted",
		what, impairedBytes>>20, time.Since(start).Round(time.Millisecond), st.OutSegs, st.RetransSegs)
}
