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
