package main

import (
	"fmt"
	"io"
	"net/netip"
	"time"

	"github.com/packetwalk/packetwalk/ip"
	"github.com/packetwalk/packetwalk/stack"
)

// runTrace is `packetwalk trace`, the main job: a seeded scenario on a
// simulated wire, every step narrated, the capture and the step log
// written. Until TCP and the web server land, the scenario walks the layers
// that exist: ARP, an echo, a fragmented echo reassembled at the server,
// and a UDP datagram to a closed port answered by ICMP.
func runTrace(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("trace")
	var lf linkFlags
	lf.register(fs)
	pcapPath := fs.String("pcap", "trace.pcapng", "write the capture to this pcapng file (\"\" for none)")
	jsonPath := fs.String("json", "trace.jsonl", "write the step log to this JSON Lines file (\"\" for none)")
	quiet := fs.Bool("quiet", false, "print only the summary, not every step")
	if err := parseFlags(fs, args, stdout, stderr); err != nil {
		return err
	}
	topo, err := lf.topology()
	if err != nil {
		return err
	}
	p, err := stack.NewPair(topo)
	if err != nil {
		return err
	}
	out, err := openOutputs(p.Net.Log, stdout, *quiet, *jsonPath, *pcapPath)
	if err != nil {
		return err
	}

	var summary []string
	failed := 0
	report := func(ok bool, format string, args ...any) {
		line := fmt.Sprintf(format, args...)
		if !ok {
			failed++
			line += "  FAILED"
		}
		summary = append(summary, line)
	}
	ping := func(n int, size int) {
		out.println("== %d. client pings %s with %d data bytes (MTU %d)", n, p.Server.Addr(), size, lf.mtu)
		var got stack.PingStats
		p.Client.Ping(stack.PingConfig{Dst: p.Server.Addr(), Count: 1, Size: size, ID: uint16(n)},
			func(e stack.PingEvent) { out.println(">> %s", e) },
			func(s stack.PingStats) { got = s })
		p.Net.RunFor(1500 * time.Millisecond)
		rtt := "no reply"
		if len(got.RTTs) > 0 {
			rtt = fmt.Sprintf("reply in %.3f ms", float64(got.RTTs[0])/1e6)
		}
		report(got.Received == 1, "%d. ping %s, %d data bytes: %s", n, p.Server.Addr(), size, rtt)
	}
	ping(1, 56)
	ping(2, 3000)

	// 3. UDP to a port nobody listens on: the server answers ICMP port
	// unreachable, and the client's socket sees ECONNREFUSED.
	out.println("== 3. client sends a UDP datagram to %s port 9, where no socket listens", p.Server.Addr())
	sock, err := p.Client.IP.BindUDP(netip.AddrPort{})
	if err != nil {
		return err
	}
	if err := sock.SendTo(netip.AddrPortFrom(p.Server.Addr(), 9), []byte("hello, port 9")); err != nil {
		return err
	}
	p.Net.RunFor(500 * time.Millisecond)
	udpErr := sock.TakeErr()
	report(udpErr == ip.ErrConnRefused, "3. UDP to %s:9: %v", p.Server.Addr(), orText(udpErr, "no answer"))

	out.println("")
	out.println("== summary (seed %d)", lf.seed)
	for _, s := range summary {
		out.println("%s", s)
	}
	if err := out.close(); err != nil {
		return err
	}
	for _, path := range out.paths {
		fmt.Fprintf(stdout, "wrote %s\n", path)
	}
	if failed > 0 {
		return exitError{1}
	}
	return nil
}

func orText(err error, none string) string {
	if err == nil {
		return none
	}
	return err.Error()
}
