// Package clock is the time of a run and the scheduler of its timers:
// every layer of a host, every wire and the step log are given a Clock
// instead of reading the system time, so that a simulation runs in virtual
// time and the same seed gives the same step log on any machine.
//
// The walk (wire -> NIC -> ARP/IP -> ICMP/UDP/TCP -> sockets -> httpd) does
// not pass through this package: it is what every stop of the walk stands
// on. A simulated network runs on one Virtual clock, a discrete-event
// scheduler whose single goroutine owns the state of every host; a host on
// a TUN or TAP device runs on a Wall clock whose timers are posted to the
// host's event loop.
//
// Imports: the standard library only. viz (the step log, which stamps its
// events with a Clock) and every layer import clock; clock imports none of
// them.
//
// This file is the package's contract: what it offers the layers (Clock,
// Timer, Rearm). It needs nothing below it but the standard library.
package clock

import "time"

// Clock is the time a run is stamped with and the timers its protocols set.
// It is passed in, never read from the system directly, so that a simulation
// runs in virtual time: the same seed gives the same log, whatever the
// machine's speed.
type Clock interface {
	// Now returns the time since the start of the run.
	Now() time.Duration
	// AfterFunc arranges for f to run on the clock's owner (the event
	// loop of the simulation or of the host) once d has passed.
	AfterFunc(d time.Duration, f func()) Timer
}

// Rearmer is a Clock that can schedule a timer again after it has run or
// was stopped, instead of allocating a new one: timers that a protocol
// sets for nearly every packet (the NIC's interrupt, TCP's retransmission
// and delayed-ACK timers) then cost no allocation. See Rearm.
type Rearmer interface {
	Rearm(t Timer, d time.Duration, f func()) bool
}

// Rearm returns a timer that runs f once d has passed on c: *spare, when
// it is a timer of c's that has run or was stopped and c is a Rearmer,
// else a new one from AfterFunc, which is kept in *spare for next time.
// The caller must not Stop a timer it has finished with after handing it
// back here: spare may already be running f again for someone.
func Rearm(c Clock, spare *Timer, d time.Duration, f func()) Timer {
	if r, ok := c.(Rearmer); ok && *spare != nil && r.Rearm(*spare, d, f) {
		return *spare
	}
	*spare = c.AfterFunc(d, f)
	return *spare
}

// Timer is a pending AfterFunc.
type Timer interface {
	// Stop cancels the timer; it reports whether the call stopped it
	// before it ran.
	Stop() bool
}
