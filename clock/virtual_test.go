package clock

import (
	"strings"
	"testing"
	"time"
)

func TestVirtualOrder(t *testing.T) {
	c := NewVirtual()
	var got []string
	at := func(s string) func() { return func() { got = append(got, s+"@"+c.Now().String()) } }
	c.AfterFunc(2*time.Millisecond, at("b"))
	c.AfterFunc(1*time.Millisecond, at("a"))
	c.AfterFunc(2*time.Millisecond, at("c")) // same instant: scheduling order
	stopped := c.AfterFunc(time.Millisecond, at("never"))
	if !stopped.Stop() || stopped.Stop() {
		t.Fatal("Stop should report true once, then false")
	}
	c.AfterFunc(0, func() {
		got = append(got, "now@"+c.Now().String())
		c.AfterFunc(5*time.Millisecond, at("nested"))
	})
	c.Run()
	want := "now@0s a@1ms b@2ms c@2ms nested@5ms"
	if strings.Join(got, " ") != want {
		t.Fatalf("got %q, want %q", strings.Join(got, " "), want)
	}
	c.RunFor(time.Second)
	if c.Now() != 5*time.Millisecond+time.Second {
		t.Fatalf("RunFor left the clock at %v", c.Now())
	}
}

func TestVirtualRunUntilStopsAtLimit(t *testing.T) {
	c := NewVirtual()
	ran := 0
	c.AfterFunc(10*time.Millisecond, func() { ran++ })
	c.AfterFunc(30*time.Millisecond, func() { ran++ })
	c.RunUntil(20 * time.Millisecond)
	if ran != 1 || c.Now() != 20*time.Millisecond || c.Pending() != 1 {
		t.Fatalf("ran=%d now=%v pending=%d", ran, c.Now(), c.Pending())
	}
}

// A clock that follows the wall clock stamps each call with the time it is
// made, even while one event runs (a burst of frames drained by one event
// of a paced loop), and sets its timers from that time; a virtual clock's
// time stands still within an event.
func TestVirtualFollowWall(t *testing.T) {
	c := NewVirtual()
	start := time.Now()
	c.FollowWall(start)
	if got, ok := c.WallStart(); !ok || !got.Equal(start) {
		t.Fatalf("WallStart = %v, %v; want %v, true", got, ok, start)
	}
	var first, second time.Duration
	var timer Timer
	c.AfterFunc(0, func() {
		first = c.Now()
		time.Sleep(2 * time.Millisecond)
		second = c.Now()
		timer = c.AfterFunc(time.Millisecond, func() {})
	})
	c.RunUntil(time.Since(start))
	if second-first < 2*time.Millisecond {
		t.Fatalf("Now moved %v during an event that slept 2ms: it must read the wall clock at each call", second-first)
	}
	if at := timer.(*scheduled).at; at < second+time.Millisecond {
		t.Fatalf("a 1ms timer set at %v is due at %v: it must count from the wall clock", second, at)
	}
	if now := c.Now(); now < second || now > time.Since(start) {
		t.Fatalf("Now = %v after the event, want between %v and %v", now, second, time.Since(start))
	}

	v := NewVirtual()
	if _, ok := v.WallStart(); ok {
		t.Fatal("a virtual clock reports a wall start")
	}
	v.AfterFunc(0, func() {
		first = v.Now()
		time.Sleep(time.Millisecond)
		second = v.Now()
	})
	v.Run()
	if first != second {
		t.Fatalf("virtual time moved from %v to %v within one event", first, second)
	}
}
