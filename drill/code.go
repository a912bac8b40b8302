package drill

import (
	"strconv"
	"strings"

	"github.com/packetwalk/packetwalk/tcp"
)

// Inline code: packetdrill runs %{ ... }% blocks in Python with the socket
// under test's tcp_info in scope, and scripts use them to assert on the
// connection's state: %{ assert tcpi_snd_cwnd == 10, tcpi_snd_cwnd }%.
// packetwalk drill evaluates the assertions of that shape (a tcpi_ field
// compared with a number or a TCP_ state name, joined by "and") on the
// connection's tcp.Info; a field packetwalk has no counterpart for, or any
// other Python, is listed in the notes as not checked.

// linuxStates are Linux's tcpi_state numbers (include/net/tcp_states.h).
var linuxStates = map[tcp.State]int64{
	tcp.Established: 1, tcp.SynSent: 2, tcp.SynReceived: 3, tcp.FinWait1: 4, tcp.FinWait2: 5,
	tcp.TimeWait: 6, tcp.Closed: 7, tcp.CloseWait: 8, tcp.LastAck: 9, tcp.Listen: 10, tcp.Closing: 11,
}

var stateNames = map[string]int64{
	"TCP_ESTABLISHED": 1, "TCP_SYN_SENT": 2, "TCP_SYN_RECV": 3, "TCP_FIN_WAIT1": 4, "TCP_FIN_WAIT2": 5,
	"TCP_TIME_WAIT": 6, "TCP_CLOSE": 7, "TCP_CLOSE_WAIT": 8, "TCP_LAST_ACK": 9, "TCP_LISTEN": 10, "TCP_CLOSING": 11,
	"TCPI_ESTABLISHED": 1,
}

// code evaluates a %{ }% block.
func (r *runner) code(ev *Event) error {
	info, ok := r.sutInfo()
	for _, raw := range strings.Split(ev.Code.Text, "\n") {
		line := strings.TrimSpace(raw)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if !strings.HasPrefix(line, "assert ") {
			r.notef("line %d: code %q not run (packetwalk drill checks only assert lines on tcp_info)", ev.Line, line)
			continue
		}
		expr := strings.TrimPrefix(line, "assert ")
		if i := strings.Index(expr, ","); i >= 0 {
			expr = expr[:i] // the message after the comma
		}
		for _, clause := range strings.Split(expr, " and ") {
			if err := r.assert(ev, strings.TrimSpace(clause), info, ok); err != nil {
				return err
			}
		}
	}
	return nil
}

var comparisons = []string{"==", "!=", "<=", ">=", "<", ">"}

func (r *runner) assert(ev *Event, clause string, info tcp.Info, ok bool) error {
	var op string
	var lhs, rhs string
	for _, c := range comparisons {
		if i := strings.Index(clause, c); i > 0 {
			op, lhs, rhs = c, strings.TrimSpace(clause[:i]), strings.TrimSpace(clause[i+len(c):])
			break
		}
	}
	if op == "" {
		r.notef("line %d: assertion %q not checked (not a comparison)", ev.Line, clause)
		return nil
	}
	got, known := tcpInfoField(info, lhs)
	if !known {
		r.notef("line %d: assertion %q not checked (packetwalk has no %s)", ev.Line, clause, lhs)
		return nil
	}
	if !ok {
		return r.failf(ev.Line, "assertion %q: there is no connection under test to read tcp_info from", clause)
	}
	want, err := strconv.ParseInt(rhs, 0, 64)
	if err != nil {
		v, named := stateNames[rhs]
		if !named {
			r.notef("line %d: assertion %q not checked (cannot evaluate %s)", ev.Line, clause, rhs)
			return nil
		}
		want = v
	}
	pass := map[string]bool{"==": got == want, "!=": got != want, "<=": got <= want, ">=": got >= want, "<": got < want, ">": got > want}[op]
	if !pass {
		return r.failf(ev.Line, "assertion failed: %s (%s is %d)", clause, lhs, got)
	}
	r.logLine(ev, "assert %s: %s is %d", clause, lhs, got)
	return nil
}

// tcpInfoField maps Linux's struct tcp_info fields onto tcp.Info, in
// Linux's units (segments for cwnd and ssthresh, microseconds for times).
func tcpInfoField(in tcp.Info, name string) (int64, bool) {
	mss := int64(in.MSS)
	if mss <= 0 {
		mss = 536
	}
	switch name {
	case "tcpi_state":
		return linuxStates[in.State], true
	case "tcpi_snd_cwnd":
		return int64(in.Cwnd) / mss, true
	case "tcpi_snd_ssthresh":
		if in.Ssthresh >= 1<<30 {
			return 0x7fffffff, true // Linux's TCP_INFINITE_SSTHRESH
		}
		return int64(in.Ssthresh) / mss, true
	case "tcpi_rto":
		return in.RTO.Microseconds(), true
	case "tcpi_rtt":
		return in.SRTT.Microseconds(), true
	case "tcpi_snd_mss":
		return int64(in.MSS), true
	case "tcpi_options":
		// Linux's TCPI_OPT_TIMESTAMPS, TCPI_OPT_SACK, TCPI_OPT_WSCALE.
		var o int64
		if in.Timestamps {
			o |= 1
		}
		if in.SACK {
			o |= 2
		}
		if in.SndScale > 0 || in.RcvScale > 0 {
			o |= 4
		}
		return o, true
	case "tcpi_snd_wscale":
		return int64(in.SndScale), true
	case "tcpi_rcv_wscale":
		return int64(in.RcvScale), true
	}
	return 0, false
}

// sutInfo is the tcp_info of the connection under test: the descriptor
// the script opened last that still has a connection.
func (r *runner) sutInfo() (tcp.Info, bool) {
	best := -1
	for sfd := range r.fds {
		if sfd > best {
			best = sfd
		}
	}
	if best < 0 {
		return tcp.Info{}, false
	}
	info, err := r.host.TCPInfo(r.fds[best])
	return info, err == nil
}
