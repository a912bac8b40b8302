package stack

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/packetwalk/packetwalk/viz"
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
// Paced: virtual time follows the wall clock. This is for peers that run
// on goroutines of their own that the loop cannot see (gVisor's netstack,
// Go's net/http server spawning a goroutine per connection) and for real
// devices: jumping ahead while they work would fire timers too early. Such
// runs are not bit-reproducible.
type Loop struct {
	Clock *viz.VirtualClock
	paced bool
	start time.Time // wall time at virtual zero, when paced

	calls chan func()

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
func NewLoop(clock *viz.VirtualClock) *Loop {
	return &Loop{Clock: clock, calls: make(chan func()), changed: make(chan struct{}, 1)}
}

// SetPaced makes virtual time follow the wall clock (see Loop). Call it
// before Run.
func (l *Loop) SetPaced(on bool) { l.paced = on }

// Paced reports whether the loop follows the wall clock.
func (l *Loop) Paced() bool { return l.paced }

// Go starts an application goroutine that the loop keeps track of, so that
// virtual time does not move while it runs.
func (l *Loop) Go(f func()) {
	l.mu.Lock()
	l.running++
	l.live++
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

// Do runs f on the loop and waits for it to finish. It must not be called
// from the loop itself (from inside an event or a socket call).
func (l *Loop) Do(f func()) {
	done := make(chan struct{})
	l.calls <- func() { f(); close(done) }
	<-done
}

// waiter is one parked socket call.
type waiter struct {
	ch       chan struct{}
	timedOut bool
	woken    bool
	timer    viz.Timer
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
// until deadline (a zero deadline waits for ever). attempt runs on the loop.
func (l *Loop) block(deadline time.Time, attempt func() bool, queues ...*waitQueue) error {
	return l.blockFor(deadlineWait(deadline), attempt, queues...)
}

// deadlineWait converts a wall-clock deadline (net.Conn's API) into a wait;
// -1 means none.
func deadlineWait(deadline time.Time) time.Duration {
	if deadline.IsZero() {
		return -1
	}
	return max(time.Until(deadline), 0)
}

// blockFor is block with the wait given as a duration of the loop's time
// (-1: for ever).
func (l *Loop) blockFor(wait time.Duration, attempt func() bool, queues ...*waitQueue) error {
	end := time.Duration(-1) // the deadline in loop time, fixed at the first attempt
	for {
		var done bool
		var w *waiter
		l.Do(func() {
			if done = attempt(); done {
				return
			}
			w = &waiter{ch: make(chan struct{})}
			for _, q := range queues {
				q.add(w)
			}
			if wait >= 0 {
				if end < 0 {
					end = l.Clock.Now() + wait
				}
				w.timer = l.Clock.AfterFunc(end-l.Clock.Now(), func() {
					w.timedOut = true
					for _, q := range queues {
						q.remove(w)
					}
					l.wake(w)
				})
			}
		})
		if done {
			return nil
		}
		l.park(w)
		if w.timedOut {
			return ErrTimeout
		}
	}
}

// waitQueue holds the calls parked on one condition of a socket (readable,
// writable, a connection to accept).
type waitQueue struct{ waiters []*waiter }

func (q *waitQueue) add(w *waiter) { q.waiters = append(q.waiters, w) }

func (q *waitQueue) remove(w *waiter) {
	for i, x := range q.waiters {
		if x == w {
			q.waiters = append(q.waiters[:i:i], q.waiters[i+1:]...)
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
}

// Run runs the loop until done reports true (checked on the loop between
// events), ctx ends, or (in virtual time) nothing more can happen.
func (l *Loop) Run(ctx context.Context, done func() bool) error {
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
		if done != nil && done() {
			return nil
		}
		l.mu.Lock()
		running := l.running
		l.mu.Unlock()
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
		l.start = time.Now().Add(-l.Clock.Now())
	}
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
		timer.Reset(wait)
		select {
		case f := <-l.calls:
			f()
		case <-l.Clock.Notify():
		case <-timer.C:
		case <-ctx.Done():
		}
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
	}
}
