package main

import (
	"bufio"
	"context"
	"errors"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/packetwalk/packetwalk/internal/testenv"
	"github.com/packetwalk/packetwalk/viz"
)

// idleHolder is a Python program that opens N connections to ADDR:80,
// sends nothing on them, prints how many were established within 5 s
// (SYN-ACK received), and
// holds them until its standard input closes: the idle clients of issue
// 17 (a browser's spare connections, or a slowloris that never starts).
const idleHolder = `
import select, socket, sys, time
addr, n = sys.argv[1], int(sys.argv[2])
socks, ok = [], 0
deadline = time.time() + 5
# In batches of 50, well under the listen backlog (128): a burst of 300
# SYNs would overflow the accept queue, and a connection whose SYN
# cookie's ACK is dropped then is established for the client only.
while len(socks) < n and time.time() < deadline:
    batch = []
    for _ in range(min(50, n - len(socks))):
        s = socket.socket()
        s.setblocking(False)
        s.connect_ex((addr, 80))
        batch.append(s)
    socks += batch
    pending = set(batch)
    while pending and time.time() < deadline:
        p = select.poll()
        for s in pending:
            p.register(s, select.POLLOUT)
        for fd, _ in p.poll(200):
            s = next(x for x in pending if x.fileno() == fd)
            pending.discard(s)
            if s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0:
                ok += 1
    time.sleep(0.05)
print(ok, flush=True)
sys.stdin.read()
`

// TestServeTUNIdleClients is issue 17's test: 300 connections that send
// nothing are opened through the TUN device, then a normal curl must be
// answered within 1 s. The outcome per architecture:
//
//	event (the default)  served: idle connections wait in the event loop,
//	                     no worker holds one
//	multiplexed          served: the one loop holds them all, costing
//	                     nothing until they send
//	pool                 starved: the 16 workers each wait on an idle
//	                     connection; curl's waits in the queue behind
//	                     ~284 others
//	single               starved: the one thread waits on the first idle
//	                     connection; curl's is not even accepted
func TestServeTUNIdleClients(t *testing.T) {
	python := testenv.Tool(t, "python3", "install it with: apt-get install python3")
	testenv.Tool(t, "curl", "install it with: apt-get install curl")
	const idle = 300
	for _, c := range []struct {
		arch   string // "" for the default
		served bool
	}{
		{"", true},
		{"event", true},
		{"multiplexed", true},
		{"pool", false},
		{"single", false},
	} {
		name := c.arch
		if name == "" {
			name = "default"
		}
		t.Run(name, func(t *testing.T) {
			var args []string
			if c.arch != "" {
				args = []string{"--arch", c.arch}
			}
			s := startTUNServer(t, args...)

			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			holder := s.ns.Command(ctx, python, "-c", idleHolder, tunAddr, strconv.Itoa(idle))
			stdin, err := holder.StdinPipe()
			if err != nil {
				t.Fatal(err)
			}
			stdout, err := holder.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			s.ns.Start(holder)
			defer stdin.Close()
			line, err := bufio.NewReader(stdout).ReadString('\n')
			established, _ := strconv.Atoi(strings.TrimSpace(line))
			if err != nil {
				t.Fatalf("the idle clients: %v", err)
			}
			// single accepts one connection; the listen backlog (128)
			// holds some more, and the rest of the SYNs are dropped.
			if c.arch != "single" && established != idle {
				t.Fatalf("%d of %d idle connections established", established, idle)
			}
			// The server has taken them all in (pool: 16 accepted by
			// workers, the rest queued; each an accept step).
			want := idle
			if c.arch == "single" {
				want = 1
			}
			accepted := 0
			for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
				accepted = 0
				for _, e := range readSteps(t, s.jsonl) {
					if e.Layer == viz.LayerHTTP && e.Step == "accept" {
						accepted++
					}
				}
				if accepted >= want {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("after 10 s, %d accept steps in the step log for %d idle connections", accepted, idle)
				}
			}
			t.Logf("%d accept steps", accepted)
			start := time.Now()
			out, errOut, err := s.run(t, "curl", "-sS", "--max-time", "1", "-o", "/dev/null", "-w", "%{http_code}", "http://"+tunAddr+"/")
			took := time.Since(start)
			served := err == nil && out == "200"
			if served != c.served {
				t.Fatalf("%s with %d idle connections: curl answered within 1 s = %v (want %v) after %v: %q %s %v",
					name, idle, served, c.served, took.Round(time.Millisecond), out, errOut, err)
			}
			if !served {
				var ee *exec.ExitError
				if !errors.As(err, &ee) || ee.ExitCode() != 28 {
					t.Fatalf("%s: curl failed other than by its timeout (exit 28): %v %s", name, err, errOut)
				}
			}
			t.Logf("%s: %d idle connections, curl served=%v in %v", name, established, served, took.Round(time.Millisecond))
			if c.arch == "" {
				// The default is the event architecture: the loop's
				// dispatch step hands curl's request to a worker.
				waitFor(t, "a dispatch step that names a worker", func() bool {
					for _, e := range readSteps(t, s.jsonl) {
						if e.Layer == viz.LayerHTTP && e.Step == "dispatch" && field(e, "worker") != "" {
							return true
						}
					}
					return false
				})
			}
		})
	}
}
