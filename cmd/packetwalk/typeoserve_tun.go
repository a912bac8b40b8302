package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/packetwalk/packetwalk/httpd"
	"github.com/packetwalk/packetwalk/viz"
	"github.com/packetwalk/packetwalk/viz/text"
)

// typeOServeDevicePort is type-o-serve's port on a device without PORT:
// the device's address is packetwalk's own, so the web's port is free.
const typeOServeDevicePort = 80

// typeOServeDevice is `packetwalk type-o-serve --tun NAME --addr CIDR
// [PORT]` (or --tap NAME): the seed's diagnostic server on packetwalk's
// own stack, reached by the kernel's clients (curl, a browser) through the
// device. The request the operator reads has walked through packetwalk's
// NIC, IP and TCP; with steps, that walk is narrated too.
func typeOServeDevice(ctx context.Context, plan *tunPlan, port int, noConfigure, steps bool, user string, lf *linkFlags,
	in io.Reader, stdout io.Writer, ready func(net.Addr)) error {
	dh, err := openDeviceHost(plan, lf)
	if err != nil {
		return err
	}
	runCtx, stopHost := context.WithCancel(context.Background())
	defer stopHost()
	started := false
	defer func() {
		if !started {
			dh.Medium.Close()
		}
	}()

	// type-o-serve's own lines and the narration share standard output:
	// each write is whole.
	out := &lockedWriter{w: stdout}
	log := dh.Log
	narr := newLiveNarrator(out, text.Options{Color: isTerminal(stdout)})
	defer narr.Close()
	if steps {
		log.AddSink(narr.Sink())
	}
	drain := &drainWatcher{states: map[uint64]string{}}
	log.AddSink(drain)

	if err := configureKernelSide(plan, noConfigure, narr.Println); err != nil {
		return err
	}
	listenAddr := netip.AddrPortFrom(plan.addr.Addr(), uint16(port))
	ln, err := dh.ListenTCP(listenAddr, tunBacklog)
	if err != nil {
		return fmt.Errorf("cannot listen on %s: %v", listenAddr, err)
	}
	// Root was needed for the device and the kernel side only.
	say, err := giveUpRoot(user, nil, nil)
	if err != nil {
		return err
	}
	if say != "" {
		narr.Println(say)
	}
	started = true
	hostDone := make(chan error, 1)
	go func() { hostDone <- dh.Run(runCtx) }()
	url := "http://" + listenAddr.String() + "/"
	if port == 80 {
		url = "http://" + listenAddr.Addr().String() + "/"
	}
	narr.Println(fmt.Sprintf("type-o-serve on packetwalk's stack: %s device %s (%s); the kernel's clients reach %s%s",
		plan.kind, plan.dev, plan.describe(dh), url, lf.describeLink(plan.dev)))
	if err := announceReady(net.TCPAddrFromAddrPort(listenAddr), ready); err != nil {
		ln.Close()
		stopHost()
		<-hostDone
		return err
	}

	served := make(chan error, 1)
	go func() { served <- httpd.TypeOServe(ln, in, out, log.Recorder(dh.Name)) }()
	var runErr error
	select {
	case runErr = <-served:
		// The operator's input ended after the last response was
		// handed to TCP: let TCP deliver it (and the FIN) before the
		// host stops, or the client would see a cut response.
		if !drain.wait(serveShutdownTimeout) {
			narr.Println(fmt.Sprintf("stopped: the last response was not acknowledged within %v", serveShutdownTimeout))
		}
		ln.Close()
		stopHost()
		<-hostDone
	case err := <-hostDone:
		ln.Close()
		if err != nil {
			runErr = fmt.Errorf("the device stopped: %v", err)
		} else {
			runErr = errors.New("the device stopped")
		}
	case <-ctx.Done():
		// A wait for the operator's typing cannot be interrupted, and
		// need not be: the process is ending.
		ln.Close()
		stopHost()
		<-hostDone
	}
	return runErr
}

// lockedWriter makes each Write whole when two goroutines share a writer.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// drainWatcher follows the TCP state of every connection in the step log,
// to tell when everything sent has been acknowledged: a connection whose
// FIN was acknowledged (FIN_WAIT_2, TIME_WAIT) or that is gone (CLOSED)
// has nothing left in flight; any other state may still have (RFC 9293
// §3.3.2).
type drainWatcher struct {
	mu     sync.Mutex
	states map[uint64]string // socket ID -> its latest state
}

func (d *drainWatcher) Event(e *viz.Event) {
	if e.Layer != viz.LayerTCP || e.Step != "state" || e.Conn == 0 {
		return
	}
	for _, f := range e.Fields {
		if f.Key == "to" {
			d.mu.Lock()
			d.states[e.Conn] = f.Value()
			d.mu.Unlock()
		}
	}
}

// drained reports whether no connection has anything in flight.
func (d *drainWatcher) drained() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, s := range d.states {
		switch s {
		case "FIN_WAIT_2", "TIME_WAIT", "CLOSED", "LISTEN":
		default:
			return false
		}
	}
	return true
}

// wait waits up to limit for the connections to drain, and reports whether
// they did.
func (d *drainWatcher) wait(limit time.Duration) bool {
	deadline := time.Now().Add(limit)
	for !d.drained() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
	return true
}
