package stack

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/packetwalk/packetwalk/clock"
)

// Loop is the one owner of the protocol state of a simulation (or of a host
// on a device): it runs the clock's events (frames arriving, timers) and
// the socket calls that applications make from their own goroutines, one
// at a time. Applications never touch protocol state themselves: a socket
// call is a closure the loop runs, and a call that must wait (accept, read
// with nothing to read) parks its goroutine until the loop wakes it.
//
// The loop has two ways of letting time pass.
//
// Virtual (the default): time stands still while anything is runnable and
// jumps to the next timer when nothing is. For that to be reproducible, the
// loop must know when applications have finished reacting: applications are
// started with Go, and the loop passes a baton. While an application
// goroutine runs, the loop serves only its calls; when it parks or returns,
// the loop goes on with the next event. Only one thing ever runs at a time,
// in an order fixed by the clock, so the same seed gives the same run.
//
// Paced: virtual time follows the wall clock, read at every Now (see
// clock.Virtual.FollowWall): events run once the wall clock reaches them,
// and each step is stamped with the moment it happens. This is for peers that run
// on goroutines of their own that the loop cannot see (gVisor's netstack,
// Go's net/http server spawning a goroutine per connection) and for real
// devices: jumping ahead while they work would fire timers too early. Such
// runs are not bit-reproducible.
type Loop struct {
	Clock *clock.Virtual
	paced bool
	start time.Time // wall time at virtual zero, when paced

	calls chan func()
	// owner is held by Run while the loop runs, and by Do when it runs a
	// call directly because no loop is running (setting up a scenario
	// before Run): either way, one goroutine at a time owns the state.
	owner   sync.Mutex
	looping bool // Run holds owner (read and written under owner)

	mu      sync.Mutex
	running int           // tracked application goroutines not parked
	live    int           // tracked application goroutines not returned
	changed chan struct{} // signalled when running or live changes
}

// ErrIdle is returned by Run when nothing is scheduled, no application is
// runnable, and the condition it was waiting for still does not hold: the
// simulation can make no further progress.
var ErrIdle = errors.New("simulation idle: nothing scheduled and every application is waiting")

// NewLoop returns a loop over clock.
func NewLoop(clock *clock.Virtual) *Loop {
	return &Loop{Clock: clock, calls: make(chan func()), changed: make(chan struct{}, 1)}
}

// SetPaced makes virtual time follow the wall clock (see Loop). Call it
// before Run.
func (l *Loop) SetPaced(on bool) { l.paced = on }

// Paced reports whether the loop follows the wall clock.
func (l *Loop) Paced() bool { return l.paced }

// Go starts an application goroutine that the loop keeps track of, so that
// virtual time does not move while it runs. The goroutine starts as an
// event of the loop, at the current time: like a woken one, it holds the
// baton until it parks or returns, so goroutines started together run one
// after the other, in the order Go was called, never side by side (their
// socket calls would otherwise reach the loop in whatever order the Go
// scheduler picks, and descriptors, ports and IDs would differ from run to
// run). An application must therefore wait for another only through the
// socket API (or the loop), not on a channel of its own.
func (l *Loop) Go(f func()) {
	l.mu.Lock()
	l.live++
	l.mu.Unlock()
	l.Clock.AfterFunc(0, func() {
		l.mu.Lock()
		l.running++
		l.mu.Unlock()
		go func() {
			defer func() {
				l.mu.Lock()
				l.running--
				l.live--
				l.mu.Unlock()
				l.signal()
			}()
			f()
		}()
	})
}

func (l *Loop) signal() {
	select {
	case l.changed <- struct{}{}:
	default:
	}
}

// Wake makes a waiting loop re-check its done condition, for conditions
// that change outside the loop (a goroutine it does not track finished).
func (l *Loop) Wake() { l.Clock.AfterFunc(0, func() {}) }

// Do runs f on the loop and waits for it to finish; when no loop is
// running, or a paced loop is asleep (see runPaced), it runs f at once on
// the caller's goroutine, holding the state as the loop would. It must not be
// called from the loop itself (from inside an event or a socket call).
func (l *Loop) Do(f func()) {
	if l.owner.TryLock() {
		f()
		l.owner.Unlock()
		return
	}
	// Every socket call comes through here, several per HTTP request: the
	// call's record (with its done channel and the closure the loop runs)
	// and the retry timer are recycled instead of being allocated per
	// call, so that a busy server's socket calls make no garbage
	// (time.After would allocate a timer per call).
	c := loopCalls.Get().(*loopCall)
	c.f = f
	t := retryTimers.Get().(*time.Timer)
	defer func() {
		c.f = nil
		loopCalls.Put(c)
		retryTimers.Put(t)
	}()
	for {
		t.Reset(time.Millisecond)
		select {
		case l.calls <- c.run:
			t.Stop()
			<-c.done
			return
		case <-t.C:
			// Neither a loop to take the call nor the state free:
			// another goroutine is making a direct call; try again.
		}
		if l.owner.TryLock() {
			t.Stop()
			f()
			l.owner.Unlock()
			return
		}
	}
}

// loopCall is one call handed to the loop by Do; run is bound once, when
// the record is made.
type loopCall struct {
	f    func()
	done chan struct{}
	run  func()
}

var (
	loopCalls = sync.Pool{New: func() any {
		c := &loopCall{done: make(chan struct{}, 1)}
		c.run = func() { c.f(); c.done <- struct{}{} }
		return c
	}}
	// retryTimers are stopped timers (Go 1.23 timers need no draining
	// before Reset).
	retryTimers = sync.Pool{New: func() any {
		t := time.NewTimer(time.Hour)
		t.Stop()
		return t
	}}
)

// waiter is one parked socket call.
type waiter struct {
	ch       chan struct{}
	timedOut bool
	woken    bool
	timer    clock.Timer
	// fn, if set, is run on the loop when the waiter is woken, instead
	// of resuming a parked goroutine (no goroutine waits on it): a
	// readiness callback, as Poller's watch registers.
	fn func()
}

// park waits for w to be woken by the loop; the goroutine stops counting as
// running meanwhile.
func (l *Loop) park(w *waiter) {
	l.mu.Lock()
	if l.running > 0 {
		l.running--
	}
	l.mu.Unlock()
	l.signal()
	<-w.ch
}

// wake resumes a parked goroutine. It runs on the loop, as an event of its
// own, so that in virtual time goroutines resume one at a time, in order.
func (l *Loop) wake(w *waiter) {
	if w.woken {
		return
	}
	w.woken = true
	if w.timer != nil {
		w.timer.Stop()
	}
	if w.fn != nil {
		w.fn()
		return
	}
	if !l.looping {
		// No loop runs (the caller owns the state directly, e.g. a
		// server closed after the simulation ended): resume at once.
		close(w.ch)
		return
	}
	l.Clock.AfterFunc(0, func() {
		l.mu.Lock()
		l.running++
		l.mu.Unlock()
		close(w.ch)
	})
}

// ErrTimeout is returned by a blocking call whose deadline passed
// (ETIMEDOUT / EAGAIN); it satisfies net.Error's Timeout.
var ErrTimeout error = timeoutError{}

type timeoutError struct{}

func (timeoutError) Error() string   { return "i/o timeout (ETIMEDOUT)" }
func (timeoutError) Timeout() bool   { return true }
func (timeoutError) Temporary() bool { return true }

// block runs attempt on the loop until it reports done. While it reports
// not done, the calling goroutine parks on the queues until a wake-up, or
// until the deadline (read afresh at every attempt, so that changing a
// socket's deadline reaches a call already waiting, as net.Conn requires;
// a zero deadline waits for ever). attempt and deadline run on the loop.
func (l *Loop) block(deadline func() time.Time, attempt func() bool, queues ...*waitQueue) error {
	return l.wait(func() time.Duration {
		d := deadline()
		if d.IsZero() {
			return -1
		}
		// Deadlines come from the wall clock (net.Conn's API); the
		// wait they allow runs in the loop's time.
		return max(time.Until(d), 0)
	}, attempt, queues...)
}

// blockFor is block with a fixed wait in the loop's time (-1: for ever),
// as poll(2)'s timeout.
func (l *Loop) blockFor(wait time.Duration, attempt func() bool, queues ...*waitQueue) error {
	end := time.Duration(-1)
	return l.wait(func() time.Duration {
		if wait < 0 {
			return -1
		}
		if end < 0 {
			end = l.Clock.Now() + wait
		}
		return max(end-l.Clock.Now(), 0)
	}, attempt, queues...)
}

func (l *Loop) wait(remaining func() time.Duration, attempt func() bool, queues ...*waitQueue) error {
	// prev is the waiter of the last round, woken by one of its queues.
	// wakeAll took it off that queue only: it leaves the others, and its
	// timer is stopped, before the next attempt. Otherwise a call that
	// waits on many queues (poll on many sockets) would leave a waiter in
	// each of them until its timeout: memory that grew with every poll of
	// an event loop until the process used gigabytes.
	var prev *waiter
	for {
		var done, expired bool
		var w *waiter
		l.Do(func() {
			if prev != nil {
				for _, q := range queues {
					q.remove(prev)
				}
				if prev.timer != nil {
					prev.timer.Stop()
				}
				prev = nil
			}
			if done = attempt(); done {
				return
			}
			left := remaining()
			if left == 0 {
				expired = true
				return
			}
			w = &waiter{ch: make(chan struct{})}
			for _, q := range queues {
				q.add(w)
			}
			if left > 0 {
				w.timer = l.Clock.AfterFunc(left, func() {
					w.timedOut = true
					for _, q := range queues {
						q.remove(w)
					}
					l.wake(w)
				})
			}
		})
		switch {
		case done:
			return nil
		case expired:
			return ErrTimeout
		}
		l.park(w)
		if w.timedOut {
			return ErrTimeout
		}
		prev = w
	}
}

// waitQueue holds the calls parked on one condition of a socket (readable,
// writable, a connection to accept). An event loop's poll adds a waiter
// to every socket's queue and takes it off each time it wakes, so a
// queue keeps its array from round to round rather than make garbage at
// every poll: remove shifts in place, and wakeAll keeps the array it
// emptied as spare, which the next add takes up. waiters and spare never
// share an array (wakeAll wakes from one while the woken may add to the
// queue).
type waitQueue struct{ waiters, spare []*waiter }

func (q *waitQueue) add(w *waiter) {
	if q.waiters == nil && q.spare != nil {
		q.waiters, q.spare = q.spare, nil
	}
	q.waiters = append(q.waiters, w)
}

func (q *waitQueue) remove(w *waiter) {
	for i, x := range q.waiters {
		if x == w {
			n := len(q.waiters) - 1
			copy(q.waiters[i:], q.waiters[i+1:])
			q.waiters[n] = nil
			q.waiters = q.waiters[:n]
			return
		}
	}
}

// wakeAll resumes every waiter; each retries its attempt.
func (q *waitQueue) wakeAll(l *Loop) {
	ws := q.waiters
	q.waiters = nil
	for _, w := range ws {
		l.wake(w)
	}
	clear(ws)
	if q.spare == nil && cap(ws) > 0 {
		q.spare = ws[:0]
	}
}

// Run runs the loop until done reports true (checked on the loop between
// events), ctx ends, or (in virtual time) nothing more can happen.
func (l *Loop) Run(ctx context.Context, done func() bool) error {
	l.owner.Lock()
	l.looping = true
	defer func() {
		l.looping = false
		l.owner.Unlock()
	}()
	if l.paced {
		return l.runPaced(ctx, done)
	}
	return l.runVirtual(ctx, done)
}

func (l *Loop) runVirtual(ctx context.Context, done func() bool) error {
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		l.mu.Lock()
		running := l.running
		l.mu.Unlock()
		// done is asked only while the baton is with the loop: then
		// no application is half-way through its reaction, the answer
		// is the same in every run, and whatever an application wrote
		// before it parked or returned is visible here (l.mu orders it).
		if running == 0 && done != nil && done() {
			return nil
		}
		if running > 0 {
			// The baton is with an application: serve its calls until
			// it parks or returns.
			select {
			case f := <-l.calls:
				f()
			case <-l.changed:
			case <-ctx.Done():
			}
			continue
		}
		select {
		case f := <-l.calls: // a call from a goroutine the loop does not track
			f()
			continue
		default:
		}
		if l.Clock.Step() {
			continue
		}
		// Nothing scheduled, nobody running. A goroutine just parked or
		// started may still post; give the scheduler one chance.
		select {
		case f := <-l.calls:
			f()
			continue
		case <-l.Clock.Notify():
			continue
		case <-time.After(time.Millisecond):
		}
		if done == nil {
			return nil
		}
		if l.Clock.Pending() == 0 {
			return ErrIdle
		}
	}
}

// pacedRecheck bounds how long a paced loop sleeps without re-checking
// its done condition.
const pacedRecheck = 20 * time.Millisecond

func (l *Loop) runPaced(ctx context.Context, done func() bool) error {
	if l.start.IsZero() {
		if s, ok := l.Clock.WallStart(); ok {
			l.start = s
		} else {
			l.start = time.Now().Add(-l.Clock.Now())
		}
	}
	// From here the clock reads the wall clock at every Now, not once per
	// wake: the events run below, one after the other, each see (and stamp
	// their steps with) the time they actually run at.
	l.Clock.FollowWall(l.start)
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		if done != nil && done() {
			return nil
		}
		// Serve every call waiting, then every event due by now.
		served := true
		for served {
			select {
			case f := <-l.calls:
				f()
			default:
				served = false
			}
		}
		l.Clock.RunUntil(time.Since(l.start))
		if done != nil && done() {
			return nil
		}
		// Sleep until the next event, but look up at least every
		// pacedRecheck: done may depend on goroutines the loop does not
		// see.
		wait := pacedRecheck
		if next, ok := l.Clock.Next(); ok {
			wait = min(wait, next-time.Since(l.start))
		}
		if wait <= 0 {
			continue
		}
		// While it sleeps, the loop lets go of the state: a socket call
		// that comes now (Do) takes it and runs on its caller's
		// goroutine, instead of being handed to the loop and back (two
		// goroutine switches per call, several calls per HTTP request).
		// What the call schedules wakes the loop through Notify, and the
		// loop takes the state back before it runs anything.
		timer.Reset(wait)
		l.owner.Unlock()
		select {
		case f := <-l.calls:
			l.owner.Lock()
			f()
		case <-l.Clock.Notify():
			l.owner.Lock()
		case <-timer.C:
			l.owner.Lock()
		case <-ctx.Done():
			l.owner.Lock()
		}
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
	}
}
