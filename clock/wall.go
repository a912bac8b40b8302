package clock

import "time"

// Wall is real time, for a host on a TUN or TAP device. Timers fire
// through post, which hands f to the host's event loop so that protocol
// state keeps a single owner; with a nil post, f runs on the timer's own
// goroutine.
type Wall struct {
	start time.Time
	post  func(func())
}

// NewWall returns a clock whose zero is now.
func NewWall(post func(func())) *Wall {
	return &Wall{start: time.Now(), post: post}
}

// Now implements Clock.
func (c *Wall) Now() time.Duration { return time.Since(c.start) }

// AfterFunc implements Clock.
func (c *Wall) AfterFunc(d time.Duration, f func()) Timer {
	if c.post == nil {
		return time.AfterFunc(d, f)
	}
	return time.AfterFunc(d, func() { c.post(f) })
}
