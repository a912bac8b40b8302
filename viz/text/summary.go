package text

import (
	"strings"

	"github.com/packetwalk/packetwalk/viz"
)

// Summary builds a tcpdump-style one-line description of a frame from the
// steps its sender logged before and as it put the frame on the wire:
//
//	IP 10.0.0.1.49152 > 10.0.0.2.80: Flags [S], seq 3573709158, win 65535, length 0
//	ARP, Request who-has 10.0.0.2 tell 10.0.0.1
//	IP 10.0.0.2 > 10.0.0.1: ICMP echo reply, id 1, seq 4, length 64
//
// Feed it the sender's events of one frame with Add, in log order; String
// picks the most telling one (TCP, then IP, then ARP, then the NIC's own
// line). It keeps a few strings, never the events, so it is cheap to hold
// for every frame in flight.
type Summary struct {
	tcp, ip, icmp, arp, tx, eth string
	retransmit                  bool
}

// Add records what e says about its frame. Events that say nothing useful
// (lookups, queues, receivers' checks) are ignored.
func (s *Summary) Add(e *viz.Event) {
	switch {
	case e.Layer == viz.LayerTCP && (e.Step == "send" || e.Step == "retransmit") && e.Verdict == viz.Send:
		if t := tcpdumpPart(e.Message()); t != "" {
			s.tcp = "IP " + t
		} else {
			s.tcp = "TCP " + tcpFromFields(e)
		}
		s.retransmit = e.Step == "retransmit"
	case e.Layer == viz.LayerIP && e.Step == "send" && e.Verdict == viz.Send:
		msg := e.Message()
		if i := strings.Index(msg, "IP "); i >= 0 {
			t := msg[i:]
			if j := strings.LastIndex(t, ", to "); j > 0 {
				t = t[:j]
			}
			s.ip = t
		}
	case e.Layer == viz.LayerICMP && e.Verdict == viz.Send:
		s.icmp = e.Message()
	case e.Layer == viz.LayerARP && e.Verdict == viz.Send && (e.Step == "request" || e.Step == "reply"):
		op, _ := e.Field("op")
		sip, _ := e.Field("sender_ip")
		if op == "reply" {
			s.arp = "ARP, Reply " + sip + " is-at"
		} else {
			tip, _ := e.Field("target_ip")
			s.arp = "ARP, Request who-has " + tip + " tell " + sip
		}
	case e.Layer == viz.LayerNIC && e.Step == "tx":
		src, _ := e.Field("src")
		if s.arp != "" && strings.HasSuffix(s.arp, " is-at") {
			s.arp += " " + src
		}
		// A peer whose own steps are not traced (gVisor) says what it
		// sent in the NIC's line, before the NIC part: "gVisor sent IPv4
		// 10.0.0.1.55357 > 10.0.0.2.80 TCP [S] seq 1 win 29184 len 0: eth0 ...".
		nic, _ := e.Field("nic")
		if nic != "" {
			msg := e.Message()
			if i := strings.LastIndex(msg, ": "+nic+" "); i > 0 {
				t := msg[:i]
				if j := strings.Index(t, " sent "); j >= 0 {
					t = t[j+len(" sent "):]
				}
				if rest, ok := strings.CutPrefix(t, "IPv4 "); ok {
					t = "IP " + rest
				}
				s.tx = t
			}
		}
		et, _ := e.Field("ethertype")
		n, _ := e.Field("len")
		dst, _ := e.Field("dst")
		s.eth = src + " > " + dst + ", " + et + ", length " + n
	}
}

// Known reports whether anything was learnt about the frame.
func (s *Summary) Known() bool {
	return s.tcp != "" || s.ip != "" || s.arp != "" || s.tx != "" || s.eth != ""
}

// String is the one-line description.
func (s *Summary) String() string {
	switch {
	case s.tcp != "":
		if s.retransmit {
			return s.tcp + " (retransmission)"
		}
		return s.tcp
	case s.ip != "":
		if s.icmp != "" && strings.Contains(s.ip, "proto ICMP") {
			return s.ip + ": " + s.icmp
		}
		return s.ip
	case s.arp != "":
		return s.arp
	case s.tx != "":
		return s.tx
	case s.eth != "":
		return s.eth
	}
	return "(nothing known about this frame)"
}

// tcpdumpPart returns the tcpdump-like part of a TCP step's message, from
// the source address on: "SYN+ACK: 10.0.0.2.80 > 10.0.0.1.49152: Flags [S.], ..."
// gives "10.0.0.2.80 > 10.0.0.1.49152: Flags [S.], ...".
func tcpdumpPart(msg string) string {
	i := strings.Index(msg, " > ")
	if i <= 0 {
		return ""
	}
	start := strings.LastIndex(msg[:i], " ") + 1
	return msg[start:]
}

func tcpFromFields(e *viz.Event) string {
	var b strings.Builder
	for _, k := range []string{"flags", "seq", "ack", "win", "len"} {
		if v, ok := e.Field(k); ok {
			if b.Len() > 0 {
				b.WriteString(", ")
			}
			if k == "flags" {
				b.WriteString("Flags " + v)
			} else {
				b.WriteString(k + " " + v)
			}
		}
	}
	return b.String()
}
