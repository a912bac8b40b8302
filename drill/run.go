package drill

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/packetwalk/packetwalk/nic"
	"github.com/packetwalk/packetwalk/phy"
	"github.com/packetwalk/packetwalk/stack"
	"github.com/packetwalk/packetwalk/tcp"
	"github.com/packetwalk/packetwalk/viz"
	"github.com/packetwalk/packetwalk/wire"
)

// The addresses packetdrill gives its test network (packetdrill's
// config.c): the stack under test in 192.168.0.0/16 (RFC 1918) behind a
// gateway at 192.168.0.1, the remote peer in TEST-NET-1, 192.0.2.0/24
// (RFC 5737), so scripts read the same here as against Linux.
var (
	LocalPrefix = netip.MustParsePrefix("192.168.0.2/16")
	GatewayIP   = netip.MustParseAddr("192.168.0.1")
	RemoteIP    = netip.MustParseAddr("192.0.2.1")
)

// Defaults of a run, as packetdrill's.
const (
	// DefaultTolerance is how far from its script time an outbound
	// segment or a call's return may happen (--tolerance_usecs).
	DefaultTolerance = 4 * time.Millisecond
	// DefaultTolerancePercent widens the tolerance to this share of the
	// time since the previous event (--tolerance_percent).
	DefaultTolerancePercent = 12.5
	// DefaultPort is the port bind(..., ...) and connect(..., ...) use
	// (--bind_port, --connect_port).
	DefaultPort = 8080
	// firstRemotePort is the remote port of the first connection the
	// script opens towards packetwalk; each new one takes the next.
	firstRemotePort = 40000
	// outboundGrace is how long past its expected time a ">" line waits
	// for a segment before it reports none (packetdrill waits 2 s too), so
	// that a late segment is reported with the time it was really sent.
	outboundGrace = 2 * time.Second
	// injectSettle is how long the runner lets an injected segment walk
	// up packetwalk's stack before the next line: packetdrill's write to
	// the TUN device returns once the kernel has processed the packet,
	// and the simulated wire has a delay of a nanosecond.
	injectSettle = time.Microsecond
	// blockedLimit is how long past its expected return a call may stay
	// blocked before the run reports it.
	blockedLimit = 10 * time.Second
	// DefaultWallLimit bounds the wall time of one script: virtual time
	// runs as fast as the machine, so a script that takes longer has
	// made the simulation spin.
	DefaultWallLimit = 60 * time.Second
)

// Config tells Run how to check a script.
type Config struct {
	// Relaxed ignores what is a host's own policy rather than protocol:
	// the window field, the order and presence of TCP options other than
	// SACK blocks, the PSH flag, the IP header's ECN field, and buffer
	// sizes read back by getsockopt. Everything else is checked.
	Relaxed bool
	// Seed keys packetwalk's initial sequence numbers; 0 means 1.
	Seed int64
	// Prepare, when set, is called with the simulation before the script
	// starts: attach sinks to net.Log there (narration, step log,
	// capture, report).
	Prepare func(net *stack.Network) error
	// WallLimit bounds the wall time of the run; 0 means DefaultWallLimit.
	WallLimit time.Duration
	// Congestion is the host's congestion control before the script's
	// sysctls (net.ipv4.tcp_congestion_control) change it.
	Congestion tcp.CongestionControl
	// PHY is the wire's signal model (package phy); the zero value carries
	// bytes, as packetdrill's TUN device does.
	PHY phy.Config
	// TCP, when set, changes the host's TCP configuration after the
	// script's sysctls were applied: the drill-writing lab (impl-drill,
	// labs/impl/drill) plugs a receiver, a demux table or a sender with
	// a planted bug into tcp.Config's seams here, so the stack itself
	// carries no fault injection.
	TCP func(*tcp.Config)
}

// Status is the outcome of one script.
type Status int

const (
	Passed Status = iota
	Failed
	Skipped
)

func (s Status) String() string { return [...]string{"passed", "failed", "skipped"}[s] }

// Result is what Run found.
type Result struct {
	File   string
	Status Status
	// Failure is set when Status is Failed: the script line and what
	// differed, "close-wait.pkt:23: outbound segment: ...".
	Failure *Failure
	// Skip says why a skipped script was not run (IPv6, a call packetwalk
	// does not have, ...).
	Skip string
	// Notes list what was not checked: shell commands ignored, knobs
	// applied, tcp_info fields packetwalk does not have.
	Notes []string
	// Events is how many of the script's events ran.
	Events int
}

// Failure is a failed check at one line of a script.
type Failure struct {
	File string
	Line int
	Msg  string
}

func (f *Failure) Error() string { return fmt.Sprintf("%s:%d: %s", f.File, f.Line, f.Msg) }

// skipError ends a run as skipped: the script needs what packetwalk does
// not offer.
type skipError struct{ why string }

func (e *skipError) Error() string { return e.why }

func skipf(format string, args ...any) error { return &skipError{fmt.Sprintf(format, args...)} }

// Run plays script against a new packetwalk host in virtual time. The
// same script and seed give the same step log byte for byte.
func Run(script *Script, cfg Config) (*Result, error) {
	r, err := newRunner(script, cfg)
	if err != nil {
		var skip *skipError
		if errors.As(err, &skip) {
			return &Result{File: script.Name, Status: Skipped, Skip: skip.why, Notes: r.notesOrNil()}, nil
		}
		return nil, err
	}
	res := &Result{File: script.Name}
	ferr := r.run()
	res.Notes, res.Events = r.notes, r.events
	var skip *skipError
	var fail *Failure
	switch {
	case ferr == nil:
		res.Status = Passed
	case errors.As(ferr, &skip):
		res.Status, res.Skip = Skipped, skip.why
	case errors.As(ferr, &fail):
		res.Status, res.Failure = Failed, fail
		r.logFailure(fail)
	default:
		return nil, ferr
	}
	return res, nil
}

// runner is one script's run.
type runner struct {
	script *Script
	cfg    Config

	net  *stack.Network
	host *stack.Host
	peer *peer
	rec  *viz.Recorder // the remote's steps: what the script did

	mtu          int
	tolerance    time.Duration
	tolPercent   float64
	bindPort     uint16
	connectPort  uint16
	nextRemote   uint16
	ipID         uint16
	fds          map[int]stack.FD // the script's descriptors -> the host's
	applied      map[*Event]bool  // startup commands whose knobs were read
	sut          *connUnderTest
	call         *pendingCall // the blocking call in progress, if any
	ctx          context.Context
	notes        []string
	events       int
	prevTime     time.Duration // script time of the previous event
	prevAnchored bool          // the previous event was an inbound segment
	prevLine     int
}

func (r *runner) notesOrNil() []string {
	if r == nil {
		return nil
	}
	return r.notes
}

func (r *runner) notef(format string, args ...any) {
	r.notes = append(r.notes, fmt.Sprintf(format, args...))
}

func (r *runner) failf(line int, format string, args ...any) error {
	return &Failure{File: r.script.Name, Line: line, Msg: fmt.Sprintf(format, args...)}
}

func newRunner(s *Script, cfg Config) (*runner, error) {
	r := &runner{script: s, cfg: cfg, tolerance: DefaultTolerance, tolPercent: DefaultTolerancePercent,
		bindPort: DefaultPort, connectPort: DefaultPort, nextRemote: firstRemotePort, fds: map[int]stack.FD{}, applied: map[*Event]bool{}}
	mtu, err := r.applyOptions()
	if err != nil {
		return r, err
	}
	r.mtu = mtu
	tc, err := r.applyStartupCommands()
	if err != nil {
		return r, err
	}
	if cfg.TCP != nil {
		cfg.TCP(&tc)
	}
	seed := cfg.Seed
	if seed == 0 {
		seed = 1
	}
	n := stack.NewNetwork(seed)
	// A wire with almost no delay: packetdrill's TUN device delivers at
	// once, and the scripts' times assume it.
	w, err := n.AddWire(wire.Config{Name: "wire", Latency: time.Nanosecond, PHY: cfg.PHY})
	if err != nil {
		return r, err
	}
	h := n.AddHost(stack.HostConfig{Name: "packetwalk", TCP: tc})
	if _, err := h.AddInterface(stack.InterfaceConfig{NIC: nic.Config{MAC: stack.MAC(1), MTU: mtu}, Prefix: LocalPrefix}, w); err != nil {
		return r, err
	}
	if err := h.SetDefaultGateway(GatewayIP); err != nil {
		return r, err
	}
	p := &peer{name: "remote", mac: stack.MAC(2), hostIP: GatewayIP, rec: n.Log.Recorder("remote"), clock: n.Clock}
	w.Attach(p)
	p.Attach(w)
	// The script's peer in the run's topology, which names it in the
	// outputs: it plays the gateway (answering ARP for it) and the remote
	// host behind it.
	n.Log.AddTopoHost(p.name, "injector")
	n.Log.AddTopoNIC(p.name, viz.TopoNIC{Name: "eth0", MAC: p.mac.String(), Wire: w.Name(),
		Addrs: []string{netip.PrefixFrom(GatewayIP, LocalPrefix.Bits()).String(), netip.PrefixFrom(RemoteIP, 24).String()}})
	r.net, r.host, r.peer, r.rec = n, h, p, p.rec
	if cfg.Prepare != nil {
		if err := cfg.Prepare(n); err != nil {
			return r, err
		}
	}
	return r, nil
}

// run plays every event in order; the first failure ends it, as in
// packetdrill (what follows a failed check would test nothing).
func (r *runner) run() error {
	limit := r.cfg.WallLimit
	if limit <= 0 {
		limit = DefaultWallLimit
	}
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	r.ctx = ctx
	for _, ev := range r.script.Events {
		if err := r.event(ev); err != nil {
			return err
		}
		r.events++
		if err := r.checkCall(false); err != nil {
			return err
		}
	}
	// A blocking call still waiting must come back by its end time.
	if r.call != nil {
		if err := r.awaitCall(); err != nil {
			return err
		}
	}
	return nil
}

// times computes an event's start and end in script time, as
// packetdrill's adjust_relative_event_times does: a relative time counts
// from the previous event's script time when both are inbound segments
// (the script sets both), otherwise from now, when the previous event
// actually finished.
func (r *runner) times(ev *Event) (start, end time.Duration) {
	now := r.now()
	switch ev.Kind {
	case TimeAbsolute:
		start, end = ev.Time, ev.End
	case TimeRelative:
		base := now
		if r.prevAnchored && isInbound(ev) {
			base = r.prevTime
		}
		start, end = base+ev.Time, base+ev.End
	case TimeAny:
		start, end = now, now
	}
	if !ev.HasEnd {
		end = start
	}
	return start, end
}

func isInbound(ev *Event) bool { return ev.Packet != nil && ev.Packet.Dir == Inbound }

func (r *runner) now() time.Duration { return r.net.Clock.Now() }

// event runs one line of the script.
func (r *runner) event(ev *Event) error {
	start, end := r.times(ev)
	defer func() {
		r.prevTime, r.prevAnchored, r.prevLine = start, isInbound(ev), ev.Line
	}()
	switch {
	case ev.Packet != nil && ev.Packet.Dir == Inbound:
		if err := r.advanceTo(start); err != nil {
			return err
		}
		if err := r.inject(ev, ev.Packet); err != nil {
			return err
		}
		return r.advanceTo(r.now() + injectSettle)
	case ev.Packet != nil:
		return r.expect(ev, ev.Packet, start, end)
	case ev.Syscall != nil:
		if err := r.advanceTo(start); err != nil {
			return err
		}
		return r.syscall(ev, start, end)
	case ev.Command != nil:
		if err := r.advanceTo(start); err != nil {
			return err
		}
		r.command(ev)
		return nil
	case ev.Code != nil:
		if err := r.advanceTo(start); err != nil {
			return err
		}
		return r.code(ev)
	}
	return nil
}

// tolerance returns how far from expected an event may happen: the
// script's tolerance, widened to a share of the time since the previous
// event (packetdrill's dynamic tolerance).
func (r *runner) toleranceFor(expected time.Duration) time.Duration {
	tol := r.tolerance
	if d := time.Duration(float64(expected-r.prevTime) * r.tolPercent / 100); d > tol {
		tol = d
	}
	return tol
}

// advanceTo lets the simulation run until script time t (frames in
// flight arrive, timers fire, blocked calls wake).
func (r *runner) advanceTo(t time.Duration) error {
	return r.runUntil(t, func() bool { return false })
}

// runUntil runs the simulation until cond holds or script time reaches
// deadline, whichever comes first. cond is checked between events, when
// no application runs.
func (r *runner) runUntil(deadline time.Duration, cond func() bool) error {
	if cond() {
		return nil
	}
	if r.now() >= deadline {
		// Run what is due now (a segment just injected, a woken call)
		// without letting time pass.
		reached := false
		r.net.Clock.AfterFunc(0, func() { reached = true })
		return r.loop(func() bool { return reached || cond() })
	}
	reached := false
	r.net.Clock.AfterFunc(deadline-r.now(), func() { reached = true })
	return r.loop(func() bool { return reached || cond() })
}

func (r *runner) loop(done func() bool) error {
	err := r.net.Loop.Run(r.ctx, done)
	switch {
	case err == nil, errors.Is(err, stack.ErrIdle):
		return nil
	case r.ctx.Err() != nil:
		return fmt.Errorf("%s: the simulation did not finish within %v of wall time (at virtual %s)", r.script.Name, r.cfg.WallLimit, secs(r.now()))
	}
	return err
}

func secs(d time.Duration) string { return fmt.Sprintf("%.3f s", d.Seconds()) }

// logFailure records the failed check in the step log, so that the
// narration, the ladder and the report mark the line.
func (r *runner) logFailure(f *Failure) {
	if r.rec.On() {
		r.rec.Emit(viz.Event{Layer: viz.LayerApp, Step: "drill_fail", Msg: f.Error(),
			Fields: []viz.Field{viz.F("line", fmt.Sprint(f.Line))}})
	}
}

// logLine records one script line that ran, as a note of the remote.
func (r *runner) logLine(ev *Event, format string, args ...any) {
	if r.rec.On() {
		r.rec.Emit(viz.Event{Layer: viz.LayerApp, Step: "drill", Msg: fmt.Sprintf("script line %d: ", ev.Line) + fmt.Sprintf(format, args...),
			Fields: []viz.Field{viz.F("line", fmt.Sprint(ev.Line))}})
	}
}

// connUnderTest is the connection the script's segments belong to
// (packetdrill's "socket under test"): the last one opened.
type connUnderTest struct {
	listening  bool // a listener waits; the next inbound SYN opens a connection
	connecting bool // connect() was called; the next outbound SYN opens it
	localPort  uint16
	remotePort uint16
	// localOffset maps the script's sequence numbers for packetwalk's
	// side to the live ones: live = script + localOffset. It is learnt
	// from packetwalk's SYN or SYN+ACK, as packetdrill does.
	localOffset uint32
	localKnown  bool
	// tsOffset maps the script's TS values for packetwalk's side
	// likewise, learnt from the first timestamp packetwalk sends.
	tsOffset uint32
	tsKnown  bool
}
