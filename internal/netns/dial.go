package netns

import (
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"sync"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// Dial connects from the test's own process to addr inside the namespace,
// e.g. to a server that a process started with Start listens on at the
// namespace's 127.0.0.1. A socket belongs to the network namespace of the
// thread that creates it, so the dialling goroutine is locked to a thread
// that enters the namespace for the call and then returns to the
// process's namespace (if it cannot, the thread is not reused: it ends
// with the goroutine).
func (n *NS) Dial(network, addr string) (net.Conn, error) {
	target, err := os.Open("/run/netns/" + n.Name)
	if err != nil {
		return nil, err
	}
	defer target.Close()
	type result struct {
		c   net.Conn
		err error
	}
	ch := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		home, err := os.Open(fmt.Sprintf("/proc/%d/task/%d/ns/net", os.Getpid(), unix.Gettid()))
		if err != nil {
			runtime.UnlockOSThread()
			ch <- result{nil, err}
			return
		}
		defer home.Close()
		if err := unix.Setns(int(target.Fd()), syscall.CLONE_NEWNET); err != nil {
			runtime.UnlockOSThread()
			ch <- result{nil, fmt.Errorf("entering namespace %s: %v", n.Name, err)}
			return
		}
		c, err := net.Dial(network, addr)
		if unix.Setns(int(home.Fd()), syscall.CLONE_NEWNET) == nil {
			runtime.UnlockOSThread()
		}
		ch <- result{c, err}
	}()
	r := <-ch
	return r.c, r.err
}

// Forward listens on 127.0.0.1 of the test's own namespace and relays
// every connection to addr inside the namespace, until the test ends; it
// returns the address to connect to. A browser run by the test reaches a
// server in the namespace this way.
func (n *NS) Forward(t testing.TB, addr string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	track := func(c net.Conn) { mu.Lock(); conns = append(conns, c); mu.Unlock() }
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			d, err := n.Dial("tcp", addr)
			if err != nil {
				c.Close()
				continue
			}
			track(c)
			track(d)
			wg.Add(2)
			go func() { defer wg.Done(); io.Copy(d, c); d.Close() }()
			go func() { defer wg.Done(); io.Copy(c, d); c.Close() }()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return ln.Addr().String()
}
