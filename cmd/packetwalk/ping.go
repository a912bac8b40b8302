package main

import (
	"fmt"
	"io"
	"time"

	"github.com/packetwalk/packetwalk/stack"
)

// runPing is `packetwalk ping`: two simulated hosts (or three, with a
// router between them); the client pings the server and every frame's walk
// is narrated under the replies.
func runPing(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("ping")
	var lf linkFlags
	lf.register(fs)
	count := fs.Int("count", 4, "echo requests to send")
	size := fs.Int("size", 56, "data bytes per echo request (0..65507)")
	interval := fs.Duration("interval", time.Second, "time between requests (virtual time)")
	viaRouter := fs.Bool("via-router", false, "put a router between client and server (two wires)")
	ttl := fs.Int("ttl", 64, "TTL of the echo requests (1..255)")
	pcapPath := fs.String("pcap", "", "write the capture to this pcapng file")
	jsonPath := fs.String("json", "", "write the step log to this JSON Lines file")
	quiet := fs.Bool("quiet", false, "print only the replies and the statistics, not every step")
	var view viewFlags
	view.register(fs)
	if err := parseFlags(fs, args, stdout, stderr); err != nil {
		return err
	}
	if err := view.check(); err != nil {
		return err
	}
	switch {
	case *count < 1 || *count > 100000:
		return fmt.Errorf("--count %d is outside 1..100000", *count)
	case *size < 0 || *size > 65507:
		return fmt.Errorf("--size %d is outside 0..65507 (the largest ICMP payload in an IPv4 datagram)", *size)
	case *interval <= 0:
		return fmt.Errorf("--interval must be positive")
	case *ttl < 1 || *ttl > 255:
		return fmt.Errorf("--ttl %d is outside 1..255", *ttl)
	}
	topo, err := lf.topology()
	if err != nil {
		return err
	}
	topo.IP.IP.DefaultTTL = uint8(*ttl)

	var net *stack.Network
	var client, server *stack.Host
	if *viaRouter {
		r, err := stack.NewRouted(topo)
		if err != nil {
			return err
		}
		net, client, server = r.Net, r.Client, r.Server
	} else {
		p, err := stack.NewPair(topo)
		if err != nil {
			return err
		}
		net, client, server = p.Net, p.Client, p.Server
	}
	out, err := openViewOutputs(net.Log, stdout, &view, *quiet, *jsonPath, *pcapPath)
	if err != nil {
		return err
	}
	dst := server.Addr()
	out.println("PING %s (%s) %d(%d) bytes of data; MTU %d, seed %d", dst, dst, *size, *size+28, lf.mtu, lf.seed)
	var stats stack.PingStats
	client.Ping(stack.PingConfig{Dst: dst, Count: *count, Size: *size, Interval: *interval},
		func(e stack.PingEvent) { out.println("%s", e) },
		func(s stack.PingStats) { stats = s })
	net.Run()
	out.println("")
	out.println("%s", stats)
	if err := out.close(); err != nil {
		return err
	}
	for _, p := range out.paths {
		fmt.Fprintf(stdout, "wrote %s\n", p)
	}
	if stats.Received == 0 {
		return exitError{1} // like ping(8): no reply at all is a failure
	}
	return nil
}
