package stack

import (
	"fmt"
	"math"
	"net/netip"
	"strings"
	"time"

	"github.com/packetwalk/packetwalk/icmp"
	"github.com/packetwalk/packetwalk/ip"
)

// PingConfig describes a ping run, with ping(8)'s defaults.
type PingConfig struct {
	Dst      netip.Addr
	Count    int           // echo requests to send; default 4
	Size     int           // data bytes per request (ping -s); default 56
	Interval time.Duration // between requests; default 1 s
	// Wait is how long to wait for replies after the last request
	// (ping -W); default 1 s.
	Wait time.Duration
	ID   uint16 // the echo identifier; default 1
}

// PingEvent is what the ping application saw: a reply (possibly a
// duplicate) or an ICMP error about one of its requests.
type PingEvent struct {
	Seq       uint16
	From      netip.Addr
	Bytes     int // ICMP bytes (data + 8), as ping(8) prints
	TTL       uint8
	RTT       time.Duration
	Duplicate bool
	Frame     uint64
	Err       string // for an ICMP error: e.g. "Time to live exceeded"
}

// String formats the event as ping(8) does.
func (e PingEvent) String() string {
	if e.Err != "" {
		return fmt.Sprintf("From %s icmp_seq=%d %s", e.From, e.Seq, e.Err)
	}
	s := fmt.Sprintf("%d bytes from %s: icmp_seq=%d ttl=%d time=%s ms", e.Bytes, e.From, e.Seq, e.TTL, formatMillis(e.RTT))
	if e.Duplicate {
		s += " (DUP!)"
	}
	return s
}

// PingStats summarise a run like ping(8)'s last lines.
type PingStats struct {
	Dst                                       netip.Addr
	Transmitted, Received, Duplicates, Errors int
	RTTs                                      []time.Duration
	Elapsed                                   time.Duration
}

func (s PingStats) String() string {
	var b strings.Builder
	loss := 0.0
	if s.Transmitted > 0 {
		loss = 100 * float64(s.Transmitted-s.Received) / float64(s.Transmitted)
	}
	fmt.Fprintf(&b, "--- %s ping statistics ---\n", s.Dst)
	fmt.Fprintf(&b, "%d packets transmitted, %d received", s.Transmitted, s.Received)
	if s.Duplicates > 0 {
		fmt.Fprintf(&b, ", +%d duplicates", s.Duplicates)
	}
	if s.Errors > 0 {
		fmt.Fprintf(&b, ", +%d errors", s.Errors)
	}
	fmt.Fprintf(&b, ", %g%% packet loss, time %dms\n", math.Round(loss*10)/10, s.Elapsed.Milliseconds())
	if len(s.RTTs) > 0 {
		min, max, sum, sq := s.RTTs[0], s.RTTs[0], 0.0, 0.0
		for _, r := range s.RTTs {
			if r < min {
				min = r
			}
			if r > max {
				max = r
			}
			ms := float64(r) / 1e6
			sum += ms
			sq += ms * ms
		}
		n := float64(len(s.RTTs))
		avg := sum / n
		mdev := math.Sqrt(math.Max(0, sq/n-avg*avg))
		fmt.Fprintf(&b, "rtt min/avg/max/mdev = %s/%.3f/%s/%.3f ms\n", formatMillis(min), avg, formatMillis(max), mdev)
	}
	return b.String()
}

func formatMillis(d time.Duration) string { return fmt.Sprintf("%.3f", float64(d)/1e6) }

// Ping runs ping(8) on the host's event loop: it schedules Count echo
// requests, reports each reply or error to onEvent as it happens, and calls
// done with the statistics once the last wait is over. Nothing blocks: in a
// simulation, run the network's clock.
func (h *Host) Ping(cfg PingConfig, onEvent func(PingEvent), done func(PingStats)) {
	if cfg.Count <= 0 {
		cfg.Count = 4
	}
	if cfg.Size < 0 {
		cfg.Size = 0
	} else if cfg.Size == 0 {
		cfg.Size = 56
	}
	if cfg.Interval <= 0 {
		cfg.Interval = time.Second
	}
	if cfg.Wait <= 0 {
		cfg.Wait = time.Second
	}
	if cfg.ID == 0 {
		cfg.ID = 1
	}
	stats := PingStats{Dst: cfg.Dst}
	sentAt := make(map[uint16]time.Duration)
	got := make(map[uint16]bool)
	start := h.Clock.Now()
	finished := false

	h.ICMP.OnEchoReply = func(r icmp.EchoReply) {
		t0, ok := sentAt[r.Seq]
		if finished || r.ID != cfg.ID || !ok {
			return
		}
		e := PingEvent{Seq: r.Seq, From: r.From, Bytes: len(r.Data) + 8, TTL: r.TTL, RTT: h.Clock.Now() - t0, Frame: r.Frame, Duplicate: got[r.Seq]}
		if e.Duplicate {
			stats.Duplicates++
		} else {
			got[r.Seq] = true
			stats.Received++
			stats.RTTs = append(stats.RTTs, e.RTT)
		}
		if onEvent != nil {
			onEvent(e)
		}
	}
	h.ICMP.OnICMPError = func(e ip.ICMPError) {
		if finished || len(e.Payload) < 8 {
			return
		}
		m := ip.ICMP(e.Payload)
		if m.Type() != ip.ICMPEchoRequest || m.ID() != cfg.ID {
			return
		}
		stats.Errors++
		if onEvent != nil {
			onEvent(PingEvent{Seq: m.Seq(), From: e.From, Frame: e.Frame, Err: pingErrorText(e)})
		}
	}
	data := make([]byte, cfg.Size)
	for i := range data {
		data[i] = byte(i) // ping(8) fills its data with a counting pattern
	}
	for i := 0; i < cfg.Count; i++ {
		seq := uint16(i + 1)
		h.Clock.AfterFunc(time.Duration(i)*cfg.Interval, func() {
			sentAt[seq] = h.Clock.Now()
			stats.Transmitted++
			_ = h.ICMP.Echo(cfg.Dst, cfg.ID, seq, data, 0)
		})
	}
	h.Clock.AfterFunc(time.Duration(cfg.Count-1)*cfg.Interval+cfg.Wait, func() {
		finished = true
		h.ICMP.OnEchoReply, h.ICMP.OnICMPError = nil, nil
		stats.Elapsed = h.Clock.Now() - start
		if done != nil {
			done(stats)
		}
	})
}

func pingErrorText(e ip.ICMPError) string {
	switch {
	case e.Type == uint8(ip.ICMPTimeExceeded) && e.Code == uint8(ip.ICMPTTLExceeded):
		return "Time to live exceeded"
	case e.Type == uint8(ip.ICMPTimeExceeded):
		return "Fragment reassembly time exceeded"
	case e.Type == uint8(ip.ICMPDestUnreachable) && e.Code == uint8(ip.ICMPFragmentationNeeded):
		return fmt.Sprintf("Frag needed and DF set (mtu = %d)", e.MTU)
	case e.Type == uint8(ip.ICMPDestUnreachable) && e.Code == uint8(ip.ICMPNetUnreachable):
		return "Destination Net Unreachable"
	case e.Type == uint8(ip.ICMPDestUnreachable) && e.Code == uint8(ip.ICMPHostUnreachable):
		return "Destination Host Unreachable"
	case e.Type == uint8(ip.ICMPDestUnreachable):
		return "Destination Unreachable"
	}
	return fmt.Sprintf("ICMP type %d code %d", e.Type, e.Code)
}
