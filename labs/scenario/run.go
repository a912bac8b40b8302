package scenario

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/packetwalk/packetwalk/nic"
	"github.com/packetwalk/packetwalk/stack"
	"github.com/packetwalk/packetwalk/viz"
)

// Defaults of a run, in virtual time.
const (
	defaultTimeLimit = 60 * time.Second
	defaultDrain     = 5 * time.Second
	// defaultWallTimeout bounds a run on the machine's clock, whatever
	// the scenario: a scenario that cannot finish is stopped and reported.
	defaultWallTimeout = 60 * time.Second
)

// Options adjust a run.
type Options struct {
	// Setup is called with the run's step log before anything happens,
	// to attach outputs (narration, trace.jsonl, pcapng, HTML report).
	Setup func(log *viz.Log) error
	// Say receives the run's own result lines (a ping reply, an HTTP
	// status) in the order they happen; nil: none.
	Say func(line string)
	// WallTimeout bounds the run on the wall clock; 0 means 60 s.
	WallTimeout time.Duration
	// MaxEvents bounds the events kept in memory for the checks; 0 means
	// viz.DefaultMemoryLimit. Events beyond it are counted in Lost.
	MaxEvents int
}

// Result is what a run produced.
type Result struct {
	Events   []viz.Event
	Lost     int       // events beyond Options.MaxEvents
	Outcomes []Outcome // the scenario's expectations on Events
	Lines    []string  // the result lines, as given to Say
	// Paced is set when a gVisor host made the run follow the wall
	// clock: its times vary from run to run.
	Paced bool
	// End is the virtual time the run stopped at; TimedOut is set when
	// it stopped at the time limit with traffic still unfinished.
	End      time.Duration
	TimedOut bool
	// Unfinished counts the traffic items that had not finished when
	// the run stopped (at the time limit, or with nothing left to do).
	Unfinished int
}

// Failed returns the expectations that did not hold.
func (r *Result) Failed() []Outcome {
	var f []Outcome
	for _, o := range r.Outcomes {
		if !o.Pass {
			f = append(f, o)
		}
	}
	return f
}

// runner is one run in progress.
type runner struct {
	*sim
	ctx     context.Context
	say     func(string)
	mu      sync.Mutex
	lines   []string
	pending atomic.Int64 // traffic items not finished
	drained atomic.Bool  // the drain time after the last one has passed
	limit   atomic.Bool  // the time limit has passed
	cleanup []func()
}

// Run builds the scenario's network, runs its servers and traffic until
// the traffic is done and the drain time has passed (or the time limit),
// and evaluates its expectations on the step log.
func Run(ctx context.Context, sc *Scenario, opts Options) (*Result, error) {
	s, err := build(sc)
	if err != nil {
		return nil, err
	}
	defer s.close()
	mem := &viz.MemorySink{Limit: opts.MaxEvents}
	s.net.Log.AddSink(mem)
	defer s.net.Log.RemoveSink(mem)
	if opts.Setup != nil {
		if err := opts.Setup(s.net.Log); err != nil {
			return nil, err
		}
	}
	wall := opts.WallTimeout
	if wall <= 0 {
		wall = defaultWallTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, wall)
	defer cancel()
	r := &runner{sim: s, ctx: ctx, say: opts.Say}
	defer func() {
		for _, f := range r.cleanup {
			f()
		}
	}()

	for i := range sc.Servers {
		if err := r.startServer(&sc.Servers[i]); err != nil {
			return nil, err
		}
	}
	r.pending.Store(int64(len(sc.Traffic)))
	if len(sc.Traffic) == 0 {
		r.startDrain()
	}
	for i := range sc.Traffic {
		t := &sc.Traffic[i]
		s.net.Clock.AfterFunc(t.At.D(), func() { r.start(t) })
	}
	s.net.Clock.AfterFunc(sc.TimeLimit.D(), func() { r.limit.Store(true) })

	err = s.net.RunUntil(ctx, func() bool { return r.drained.Load() || r.limit.Load() })
	res := &Result{Paced: s.paced, End: s.net.Clock.Now()}
	switch {
	case err == nil, errors.Is(err, stack.ErrIdle):
		// Idle: every application waits for something that will not
		// come (a server for its next client); the run is over.
	case ctx.Err() != nil:
		return nil, fmt.Errorf("%s: the run did not finish within %v of wall-clock time (at virtual time %v); lower time_limit or the traffic", sc.File, wall, res.End)
	default:
		return nil, fmt.Errorf("%s: the run failed: %v", sc.File, err)
	}
	res.Unfinished = int(r.pending.Load())
	res.TimedOut = r.limit.Load() && res.Unfinished > 0
	switch {
	case res.TimedOut:
		r.sayf("the time limit (%v of virtual time) ended the run with %d traffic item(s) unfinished", sc.TimeLimit.D(), res.Unfinished)
	case res.Unfinished > 0:
		r.sayf("the run stopped with %d traffic item(s) unfinished: every application waits for something that cannot come", res.Unfinished)
	}
	res.Events, res.Lost = mem.Events(), mem.Lost()
	res.Outcomes = Evaluate(sc.Expect, res.Events)
	r.mu.Lock()
	res.Lines = append([]string(nil), r.lines...)
	r.mu.Unlock()
	return res, nil
}

// sayf reports a result line.
func (r *runner) sayf(format string, args ...any) {
	line := fmt.Sprintf(format, args...)
	r.mu.Lock()
	r.lines = append(r.lines, line)
	r.mu.Unlock()
	if r.say != nil {
		r.say(line)
	}
}

// app records an application's result as an "app" step of host, so that
// a check on a saved trace.jsonl sees it too, and reports it as a line.
func (r *runner) app(host, step, msg string, fields ...viz.Field) {
	r.net.Log.Recorder(host).Emit(viz.Event{Layer: viz.LayerApp, Step: step, Msg: msg, Fields: fields})
	r.sayf("%s: %s", host, msg)
}

// done marks one traffic item finished; after the last, the drain time
// starts.
func (r *runner) done() {
	if r.pending.Add(-1) == 0 {
		r.startDrain()
	}
	r.net.Loop.Wake()
}

func (r *runner) startDrain() {
	r.net.Clock.AfterFunc(r.sc.Drain.D(), func() { r.drained.Store(true) })
}

// start begins one traffic item; it runs on the loop at the item's time.
func (r *runner) start(t *Traffic) {
	switch {
	case t.HTTP != nil:
		r.startHTTP(t.HTTP)
	case t.TCP != nil:
		r.startTCP(t.TCP)
	case t.Ping != nil:
		r.startPing(t.Ping)
	case t.UDP != nil:
		r.startUDP(t.UDP)
	case t.Frame != nil:
		r.startFrame(t.Frame)
	}
}

// spawn starts an application goroutine: tracked by the loop in virtual
// time, a plain goroutine when paced.
func (r *runner) spawn(f func()) {
	if r.paced {
		go f()
		return
	}
	r.net.Go(f)
}

// sleep waits d of the simulation's time in an application goroutine: a
// poll(2) on no descriptors, so the loop knows the goroutine waits.
func (r *runner) sleep(h *stack.Host, d time.Duration) {
	if d > 0 {
		h.Poll(nil, d)
	}
}

// injector is the port crafted frames enter a wire from.
type injector struct{ wire string }

func (p *injector) Arrive([]byte, uint64) {} // it listens to nothing
func (p *injector) PortName() string      { return injectorName + "/" + p.wire }

var _ nic.Port = (*injector)(nil)
