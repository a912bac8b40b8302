package gvisorhost

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"net/netip"
	"time"

	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/header"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"
	"gvisor.dev/gvisor/pkg/tcpip/transport/icmp"
	"gvisor.dev/gvisor/pkg/waiter"
)

// Ping sends one ICMP echo request with sequence number seq and payload to
// dst through gVisor's ping socket (an unprivileged ICMP endpoint, like
// Linux's SOCK_DGRAM/IPPROTO_ICMP: gVisor chooses the identifier and
// computes the checksum), and waits for the matching echo reply or for ctx
// to end. gVisor resolves dst's MAC address with ARP first if it must.
//
// The round-trip time is measured on the host's Clock, so in a simulation
// it is virtual time: the wire's delays, not how long the goroutines took.
func (h *Host) Ping(ctx context.Context, dst netip.Addr, seq uint16, payload []byte) (rtt time.Duration, err error) {
	if h.isClosed() {
		return 0, ErrClosed
	}
	dst = dst.Unmap()
	if !dst.Is4() {
		return 0, fmt.Errorf("gVisor host %q: ping %v: only IPv4 is configured", h.name, dst)
	}
	fail := func(what string, e tcpip.Error) (time.Duration, error) {
		return 0, fmt.Errorf("gVisor host %q: ping %v: %s: %s", h.name, dst, what, e)
	}

	var wq waiter.Queue
	ep, terr := h.stack.NewEndpoint(icmp.ProtocolNumber4, ipv4.ProtocolNumber, &wq)
	if terr != nil {
		return fail("opening a ping socket", terr)
	}
	defer ep.Close()
	// Register before sending, so that a reply arriving at once still
	// wakes us.
	we, readable := waiter.NewChannelEntry(waiter.ReadableEvents)
	wq.EventRegister(&we)
	defer wq.EventUnregister(&we)

	req := make([]byte, header.ICMPv4MinimumSize+len(payload))
	icmpHdr := header.ICMPv4(req)
	icmpHdr.SetType(header.ICMPv4Echo)
	icmpHdr.SetSequence(seq)
	copy(req[header.ICMPv4MinimumSize:], payload)

	start := h.clock.Now()
	to := fullAddr(netip.AddrPortFrom(dst, 0))
	if _, terr := ep.Write(bytes.NewReader(req), tcpip.WriteOptions{To: &to}); terr != nil {
		return fail("sending the echo request", terr)
	}

	for {
		var buf bytes.Buffer
		_, terr := ep.Read(&buf, tcpip.ReadOptions{})
		switch terr.(type) {
		case nil:
			// The socket's identifier already matched (gVisor demuxes
			// replies by it); the sequence number and payload tell this
			// reply from a late one to an earlier request.
			r := buf.Bytes()
			if len(r) >= header.ICMPv4MinimumSize && header.ICMPv4(r).Type() == header.ICMPv4EchoReply &&
				binary.BigEndian.Uint16(r[6:8]) == seq && bytes.Equal(r[header.ICMPv4MinimumSize:], payload) {
				return h.clock.Now() - start, nil
			}
		case *tcpip.ErrWouldBlock:
			select {
			case <-readable:
			case <-ctx.Done():
				return 0, fmt.Errorf("gVisor host %q: ping %v seq %d: no reply: %w", h.name, dst, seq, ctx.Err())
			}
		default:
			return fail("reading the reply", terr)
		}
	}
}
