package drill

import (
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/packetwalk/packetwalk/tcp"
)

// Script options and shell commands. packetdrill scripts configure the
// machine they run on: options at the top (--tolerance_usecs=10000) and
// shell commands in backquotes (`sysctl -w net.inet.tcp.sack.enable=1`).
// packetwalk drill never runs a command. It reads each sysctl the command
// sets and, when packetwalk's TCP has that knob, starts the host with the
// value; every other command and knob is listed in the run's notes as
// ignored, so a reader knows what the script assumed and packetwalk did
// not do.

// applyOptions reads the --name=value lines; it returns the MTU.
func (r *runner) applyOptions() (int, error) {
	mtu := 1500
	for _, o := range r.script.Options {
		v := o.Value
		num := func() (int64, error) {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return 0, r.failf(o.Line, "--%s=%s: expected a whole number", o.Name, v)
			}
			return n, nil
		}
		switch o.Name {
		case "ip_version":
			if v != "ipv4" {
				return 0, skipf("--ip_version=%s: packetwalk is an IPv4 stack", v)
			}
		case "tolerance_usecs":
			n, err := num()
			if err != nil {
				return 0, err
			}
			r.tolerance = time.Duration(n) * time.Microsecond
		case "tolerance_percent":
			f, err := strconv.ParseFloat(v, 64)
			if err != nil || f < 0 {
				return 0, r.failf(o.Line, "--tolerance_percent=%s: expected a percentage", v)
			}
			r.tolPercent = f
		case "mtu":
			n, err := num()
			if err != nil {
				return 0, err
			}
			if n < 576 || n > 65535 {
				return 0, r.failf(o.Line, "--mtu=%d: packetwalk takes 576 to 65535", n)
			}
			mtu = int(n)
		case "bind_port", "connect_port":
			n, err := num()
			if err != nil {
				return 0, err
			}
			if n < 1 || n > 65535 {
				return 0, r.failf(o.Line, "--%s=%d: a port is 1 to 65535", o.Name, n)
			}
			if o.Name == "bind_port" {
				r.bindPort = uint16(n)
			} else {
				r.connectPort = uint16(n)
			}
		default:
			r.notef("option --%s ignored (packetwalk drill has no such setting)", o.Name)
		}
	}
	return mtu, nil
}

// applyStartupCommands reads the commands that come before the first
// socket call or segment (where scripts set their sysctls) into the TCP
// configuration the host starts with.
func (r *runner) applyStartupCommands() (tcp.Config, error) {
	tc := tcp.Config{Congestion: r.cfg.Congestion}
	events := r.script.Events
	if r.script.InitCommand != nil {
		// An untimed command before the first event (Linux's
		// `../common/defaults.sh`) runs first.
		events = append([]*Event{r.script.InitCommand}, events...)
	}
	for _, ev := range events {
		if ev.Command == nil {
			if ev.Code != nil {
				continue
			}
			break
		}
		for _, kv := range sysctls(ev.Command.Text) {
			if applied, why := applyKnob(&tc, kv[0], kv[1]); applied {
				r.notef("line %d: %s=%s applied (%s)", ev.Line, kv[0], kv[1], why)
			} else {
				r.notef("line %d: %s=%s ignored (%s)", ev.Line, kv[0], kv[1], why)
			}
		}
		r.applied[ev] = true
	}
	return tc, nil
}

// command notes a command of the script's body; packetwalk drill runs no
// shell.
func (r *runner) command(ev *Event) {
	if r.applied[ev] {
		return
	}
	text := strings.Join(strings.Fields(ev.Command.Text), " ")
	if len(text) > 60 {
		text = text[:57] + "..."
	}
	r.notef("line %d: command `%s` ignored (not at the start of the script)", ev.Line, text)
}

// sysctlPattern finds "name=value" settings in the forms scripts write:
// sysctl -w a.b.c=1, sysctl -q a.b.c=1, set_sysctls.py /proc/sys/a/b/c=1.
var sysctlPattern = regexp.MustCompile(`(?:^|[\s"'])(/proc/sys/[\w/.]+|net\.[\w.]+|kern\.[\w.]+)\s*=\s*("[^"]*"|'[^']*'|[^\s"';]+)`)

// sysctls lists the name/value pairs a command sets, names in dotted form.
func sysctls(cmd string) [][2]string {
	var out [][2]string
	for _, m := range sysctlPattern.FindAllStringSubmatch(cmd, -1) {
		name := m[1]
		if strings.HasPrefix(name, "/proc/sys/") {
			name = strings.ReplaceAll(strings.TrimPrefix(name, "/proc/sys/"), "/", ".")
		}
		out = append(out, [2]string{name, strings.Trim(m[2], `"'`)})
	}
	return out
}

// applyKnob sets one sysctl on c when packetwalk has it; the sentence
// says what it did or why not.
func applyKnob(c *tcp.Config, name, value string) (bool, string) {
	switch name {
	case "net.ipv4.tcp_congestion_control", "net.inet.tcp.cc.algorithm":
		// Linux's and FreeBSD's names of the congestion control; Linux
		// calls NewReno "reno".
		cc, err := tcp.ParseCongestionControl(value)
		if err != nil {
			return false, "packetwalk has newreno (reno) and cubic"
		}
		c.Congestion = cc
		if cc == tcp.CongestionCUBIC {
			return true, "CUBIC congestion control (RFC 9438)"
		}
		return true, "NewReno congestion control (RFC 5681, RFC 6582; packetwalk's default)"
	}
	n, nerr := strconv.ParseInt(strings.Fields(value + " x")[0], 10, 64)
	ms := func() time.Duration { return time.Duration(n) * time.Millisecond }
	if nerr != nil && !strings.Contains(name, "mem") {
		return false, "not a number"
	}
	switch name {
	case "net.inet.tcp.recvspace":
		c.ReceiveBuffer = int(n)
		return true, "SO_RCVBUF default"
	case "net.inet.tcp.sendspace":
		c.SendBuffer = int(n)
		return true, "SO_SNDBUF default"
	case "net.ipv4.tcp_rmem", "net.ipv4.tcp_wmem":
		f := strings.Fields(value)
		if len(f) != 3 {
			return false, "expected three numbers"
		}
		d, err := strconv.Atoi(f[1])
		if err != nil || d <= 0 {
			return false, "expected three numbers"
		}
		if name == "net.ipv4.tcp_rmem" {
			c.ReceiveBuffer = d
			return true, "SO_RCVBUF default"
		}
		c.SendBuffer = d
		return true, "SO_SNDBUF default"
	case "net.inet.tcp.msl":
		c.MSL = ms()
		return true, "MSL; TIME_WAIT lasts 2*MSL"
	case "net.inet.tcp.rexmit_initial":
		c.RTOInitial = ms()
		return true, "initial RTO"
	case "net.inet.tcp.rexmit_min":
		c.RTOMin = ms()
		return true, "minimum RTO"
	case "net.inet.tcp.delacktime":
		c.DelayedACK = ms()
		return true, "delayed-ACK timeout"
	case "net.inet.tcp.delayed_ack", "net.ipv4.tcp_delack_min":
		if n == 0 {
			c.DelayedACK = -1
			return true, "every segment ACKed at once"
		}
		return true, "delayed ACKs on (packetwalk's default)"
	case "net.ipv4.tcp_syn_retries", "net.inet.tcp.keepinit":
		if name == "net.inet.tcp.keepinit" {
			return false, "packetwalk bounds SYN retransmissions by count"
		}
		c.SynRetries = int(n)
		return true, "SYN retransmissions"
	case "net.ipv4.tcp_synack_retries":
		c.SynAckRetries = int(n)
		return true, "SYN+ACK retransmissions"
	case "net.ipv4.tcp_retries2":
		c.Retries = int(n)
		return true, "retransmissions before giving up"
	case "net.ipv4.tcp_syncookies":
		switch n {
		case 0:
			c.SynCookies = tcp.SynCookiesOff
		case 2:
			c.SynCookies = tcp.SynCookiesAlways
		default:
			c.SynCookies = tcp.SynCookiesWhenFull
		}
		return true, "SYN cookies"
	case "net.inet.tcp.insecure_rst":
		c.RFC793RST = n != 0
		return true, "RFC 5961 §3 off when 1: any RST in the window resets"
	case "net.inet.tcp.insecure_syn":
		c.RFC793SYN = n != 0
		return true, "RFC 5961 §4 off when 1: a SYN in the window resets"
	case "net.ipv4.tcp_timestamps":
		// 1 and 2 (Linux 4.10's "without random offset") both offer
		// them; packetwalk's offset is always random (RFC 7323 §7.1).
		if n == 0 {
			c.Timestamps = tcp.TimestampsOff
			return true, "RFC 7323 timestamps off: none offered or sent"
		}
		c.Timestamps = tcp.TimestampsOn
		return true, "RFC 7323 timestamps on (packetwalk's default)"
	case "net.inet.tcp.rfc1323":
		if n == 0 {
			c.Timestamps = tcp.TimestampsOff
			return true, "RFC 7323 timestamps off; window scaling stays on (packetwalk has no knob for it)"
		}
		c.Timestamps = tcp.TimestampsOn
		return true, "RFC 7323 timestamps and window scaling on (packetwalk's default)"
	case "net.ipv4.tcp_recovery":
		// Linux's bits: 0x1 RACK loss detection (the others tune RACK
		// in ways packetwalk does not offer).
		if n&1 != 0 {
			c.Recovery = tcp.RecoveryRACK
			return true, "RACK loss detection (RFC 8985)"
		}
		c.Recovery = tcp.RecoveryDupThresh
		return true, "RFC 6675's DupThresh instead of RACK; no tail loss probe"
	case "net.ipv4.tcp_early_retrans":
		// Linux: 3 and 4 turn the tail loss probe on, 0 to 2 off
		// (RFC 5827's early retransmit, 1 and 2, is RACK's now).
		c.NoTLP = n != 3 && n != 4
		if c.NoTLP {
			return true, "no tail loss probe (RFC 8985 §7)"
		}
		return true, "tail loss probe (RFC 8985 §7)"
	case "net.inet.tcp.do_prr":
		c.NoPRR = n == 0
		if c.NoPRR {
			return true, "no PRR: cwnd = ssthresh at once in SACK recovery (RFC 6675 §5)"
		}
		return true, "PRR in SACK recovery (RFC 6937)"
	case "net.inet.tcp.syncookies_only":
		if n != 0 {
			c.SynCookies = tcp.SynCookiesAlways
		}
		return true, "SYN cookies"
	}
	if isDefaultKnob(name, n) {
		return false, "packetwalk behaves this way already"
	}
	return false, "packetwalk has no such knob"
}

// isDefaultKnob says whether a knob packetwalk cannot change is set to
// what packetwalk does anyway (SACK and window scaling on), so the note
// can say so.
func isDefaultKnob(name string, n int64) bool {
	on := map[string]int64{
		"net.inet.tcp.sack.enable": 1, "net.ipv4.tcp_sack": 1,
		"net.ipv4.tcp_window_scaling": 1,
	}
	v, ok := on[name]
	return ok && v == n
}
