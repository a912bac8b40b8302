package main

import (
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/packetwalk/packetwalk/stack"
)

// pingOpts is ping's command line.
type pingOpts struct {
	lf                 linkFlags
	count, size, ttl   int
	interval           time.Duration
	viaRouter, quiet   bool
	pcapPath, jsonPath string
	htmlPath           string
	view               viewFlags
}

func (o *pingOpts) flagSet() *flag.FlagSet {
	fs := newFlagSet("ping")
	o.lf.register(fs)
	fs.IntVar(&o.count, "count", 4, "echo requests to send")
	fs.IntVar(&o.size, "size", 56, "data bytes per echo request (0..65507)")
	fs.DurationVar(&o.interval, "interval", time.Second, "time between requests (virtual time)")
	fs.BoolVar(&o.viaRouter, "via-router", false, "put a router between client and server (two wires)")
	fs.IntVar(&o.ttl, "ttl", 64, "TTL of the echo requests (1..255)")
	fs.StringVar(&o.pcapPath, "pcap", "", "write the capture to this pcapng `FILE`")
	fs.StringVar(&o.jsonPath, "json", "", "write the step log to this JSON Lines `FILE`")
	fs.StringVar(&o.htmlPath, "html", "", "write the HTML report (ladder, frame walks, bytes) to this `FILE`")
	fs.BoolVar(&o.quiet, "quiet", false, "print only the replies and the statistics, not every step")
	o.view.register(fs)
	return fs
}

// runPing is `packetwalk ping`: two simulated hosts (or three, with a
// router between them); the client pings the server and every frame's walk
// is narrated under the replies.
func runPing(args []string, stdout, stderr io.Writer) error {
	var o pingOpts
	fs := o.flagSet()
	if err := parseFlags(fs, args, stdout, stderr); err != nil {
		return err
	}
	if err := o.view.check(); err != nil {
		return err
	}
	switch {
	case o.count < 1 || o.count > 100000:
		return fmt.Errorf("--count %d is outside 1..100000", o.count)
	case o.size < 0 || o.size > 65507:
		return fmt.Errorf("--size %d is outside 0..65507 (the largest ICMP payload in an IPv4 datagram)", o.size)
	case o.interval <= 0:
		return fmt.Errorf("--interval must be positive")
	case o.ttl < 1 || o.ttl > 255:
		return fmt.Errorf("--ttl %d is outside 1..255", o.ttl)
	}
	topo, err := o.lf.topology()
	if err != nil {
		return err
	}
	topo.IP.IP.DefaultTTL = uint8(o.ttl)

	var net *stack.Network
	var client, server *stack.Host
	if o.viaRouter {
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
	var names []string
	for _, h := range net.Hosts() {
		names = append(names, h.Name)
	}
	for _, w := range net.Wires() {
		names = append(names, w.Name())
	}
	if err := o.view.checkHosts(names); err != nil {
		return err
	}
	stdout = o.view.split(stdout, stderr) // a Mermaid ladder has standard output to itself
	out, err := openViewOutputs(net.Log, stdout, &o.view, o.quiet, o.jsonPath, o.pcapPath)
	if err != nil {
		return err
	}
	dst := server.Addr()
	if err := out.addHTML(net.Log, o.htmlPath, fmt.Sprintf("packetwalk ping %s: %d echo requests of %d bytes", dst, o.count, o.size)); err != nil {
		out.close()
		return err
	}
	out.println("PING %s (%s) %d(%d) bytes of data; MTU %d, seed %d", dst, dst, o.size, o.size+28, o.lf.mtu, o.lf.seed)
	var stats stack.PingStats
	client.Ping(stack.PingConfig{Dst: dst, Count: o.count, Size: o.size, Interval: o.interval},
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
	if err := o.view.unmatched(); err != nil {
		return err
	}
	if stats.Received == 0 {
		return exitError{1} // like ping(8): no reply at all is a failure
	}
	return nil
}
