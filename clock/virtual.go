package clock

import (
	"container/heap"
	"sync"
	"sync/atomic"
	"time"
)

// Virtual is a discrete-event scheduler: time stands still while work
// is runnable and jumps to the next timer when nothing is. Every host, wire
// and timer of a simulation shares one Virtual clock and so one goroutine,
// the one that calls Run: that single owner is what makes a seeded
// simulation reproducible.
//
// Events due at the same instant run in the order they were scheduled.
// AfterFunc and Post may be called from any goroutine.
type Virtual struct {
	mu  sync.Mutex
	now time.Duration
	// nowRead is now for Now, which reads it without the lock: every
	// logged step stamps its time, from the loop's and the applications'
	// goroutines, and a lock per stamp would make them contend for the
	// clock as often as they log. now changes only under mu (setNow).
	nowRead atomic.Int64
	// wall, once set (FollowWall), is the wall-clock time of virtual
	// zero, and Now reads the wall clock at every call: see FollowWall.
	wall   atomic.Pointer[time.Time]
	seq    uint64
	queue  eventQueue
	notify chan struct{} // signalled whenever something is scheduled
	steps  uint64        // events run so far (bench/scale reports events/s)
}

// NewVirtual returns a clock at time zero with nothing scheduled.
func NewVirtual() *Virtual { return &Virtual{notify: make(chan struct{}, 1)} }

// Notify returns a channel that receives a value after something was
// scheduled, so a loop waiting for work (or for the wall clock, when paced)
// wakes up for events posted from other goroutines.
func (c *Virtual) Notify() <-chan struct{} { return c.notify }

// Next returns when the earliest scheduled event is due.
func (c *Virtual) Next() (time.Duration, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.queue) == 0 {
		return 0, false
	}
	return c.queue[0].at, true
}

// Now implements Clock. Once FollowWall was called, it is the wall time
// since virtual zero at the moment of the call (never earlier than the
// event being run); before, the virtual time of the event being run.
func (c *Virtual) Now() time.Duration {
	v := time.Duration(c.nowRead.Load())
	if start := c.wall.Load(); start != nil {
		// time.Since reads the monotonic clock (through the vDSO on
		// Linux, no system call): steps stamped one after the other
		// get increasing times, whichever goroutine stamps them.
		if w := time.Since(*start); w > v {
			return w
		}
	}
	return v
}

// FollowWall makes the clock a paced one: start is the wall-clock time of
// virtual zero (it must not be later than now minus Now()), and from now on
// Now reads the wall clock at every call and timers are set from it, so
// that every step of a run on a real device is stamped with the time it
// happens, not the time the loop last woke up (a burst of frames drained
// in one wake would otherwise share one time, and an RTT measured across
// it would be zero). Events still run in the order of their due times; the
// loop that runs them (stack.Loop, paced) runs each once the wall clock
// has reached it. A seeded simulation never calls it: its time stays
// virtual and reproducible.
func (c *Virtual) FollowWall(start time.Time) {
	c.wall.Store(&start)
}

// WallStart returns the wall-clock time of virtual zero set by FollowWall,
// and false if the clock does not follow the wall clock.
func (c *Virtual) WallStart() (time.Time, bool) {
	if s := c.wall.Load(); s != nil {
		return *s, true
	}
	return time.Time{}, false
}

// base is the time a timer set now counts from; c.mu is held.
func (c *Virtual) base() time.Duration {
	if start := c.wall.Load(); start != nil {
		if w := time.Since(*start); w > c.now {
			return w
		}
	}
	return c.now
}

// setNow moves the clock to t; c.mu is held.
func (c *Virtual) setNow(t time.Duration) {
	c.now = t
	c.nowRead.Store(int64(t))
}

// AfterFunc implements Clock: f runs inside Run once virtual time reaches
// Now()+d. A negative d counts as zero.
func (c *Virtual) AfterFunc(d time.Duration, f func()) Timer {
	if d < 0 {
		d = 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seq++
	ev := &scheduled{at: c.base() + d, seq: c.seq, f: f, clock: c}
	heap.Push(&c.queue, ev)
	select {
	case c.notify <- struct{}{}:
	default:
	}
	return ev
}

// Rearm implements Rearmer: t, one of c's timers that has run or was
// stopped, is scheduled again to run f once d has passed, exactly as if
// AfterFunc had made it now (same place among events due at the same
// time), without allocating. It reports false, changing nothing, for a
// timer still pending or not c's.
func (c *Virtual) Rearm(t Timer, d time.Duration, f func()) bool {
	s, ok := t.(*scheduled)
	if !ok || s.clock != c {
		return false
	}
	if d < 0 {
		d = 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if s.index >= 0 {
		return false
	}
	c.seq++
	s.at, s.seq, s.f = c.base()+d, c.seq, f
	heap.Push(&c.queue, s)
	select {
	case c.notify <- struct{}{}:
	default:
	}
	return true
}

// Post runs f at the current virtual time, after everything already due now.
func (c *Virtual) Post(f func()) { c.AfterFunc(0, f) }

// Pending reports how many events are scheduled.
func (c *Virtual) Pending() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.queue)
}

// Step runs the earliest scheduled event, advancing time to it. It reports
// false when nothing is scheduled.
func (c *Virtual) Step() bool {
	return c.step(-1)
}

// step runs the earliest event if it is due no later than limit (no limit
// when limit < 0).
func (c *Virtual) step(limit time.Duration) bool {
	c.mu.Lock()
	if len(c.queue) == 0 || (limit >= 0 && c.queue[0].at > limit) {
		c.mu.Unlock()
		return false
	}
	ev := heap.Pop(&c.queue).(*scheduled)
	if ev.at > c.now {
		c.setNow(ev.at)
	}
	ev.index = -1
	c.steps++
	c.mu.Unlock()
	ev.f()
	return true
}

// Steps returns how many events have run.
func (c *Virtual) Steps() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.steps
}

// Run runs events until none is left.
func (c *Virtual) Run() {
	for c.Step() {
	}
}

// RunFor runs every event due within d from now, then sets the time to
// exactly now+d.
func (c *Virtual) RunFor(d time.Duration) {
	c.RunUntil(c.Now() + d)
}

// RunUntil runs every event due no later than t, then sets the time to t
// (if it is not already later).
func (c *Virtual) RunUntil(t time.Duration) {
	for c.step(t) {
	}
	c.mu.Lock()
	if c.now < t {
		c.setNow(t)
	}
	c.mu.Unlock()
}

// scheduled is one pending event; it is also the Timer handed back.
type scheduled struct {
	at    time.Duration
	seq   uint64 // tie-break: scheduling order
	f     func()
	index int // in the heap; -1 once run or stopped
	clock *Virtual
}

func (s *scheduled) Stop() bool {
	c := s.clock
	c.mu.Lock()
	defer c.mu.Unlock()
	if s.index < 0 {
		return false
	}
	heap.Remove(&c.queue, s.index)
	s.index = -1
	return true
}

type eventQueue []*scheduled

func (q eventQueue) Len() int { return len(q) }
func (q eventQueue) Less(i, j int) bool {
	if q[i].at != q[j].at {
		return q[i].at < q[j].at
	}
	return q[i].seq < q[j].seq
}
func (q eventQueue) Swap(i, j int) {
	q[i], q[j] = q[j], q[i]
	q[i].index = i
	q[j].index = j
}
func (q *eventQueue) Push(x any) {
	s := x.(*scheduled)
	s.index = len(*q)
	*q = append(*q, s)
}
func (q *eventQueue) Pop() any {
	old := *q
	s := old[len(old)-1]
	old[len(old)-1] = nil
	*q = old[:len(old)-1]
	return s
}
