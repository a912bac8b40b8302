package drill

import (
	"fmt"
	"net/netip"

	"github.com/packetwalk/packetwalk/stack"
)

// The names scripts use for the constants of the C socket API, with
// Linux's values (packetdrill's symbols.c lists the same ones).
const sockNonblock = 0x800 // SOCK_NONBLOCK, or'ed into socket()'s type

var constants = map[string]int64{
	"AF_INET": stack.AF_INET, "PF_INET": stack.AF_INET, "AF_INET6": 10, "PF_INET6": 10,
	"SOCK_STREAM": stack.SOCK_STREAM, "SOCK_DGRAM": stack.SOCK_DGRAM, "SOCK_NONBLOCK": sockNonblock,
	"IPPROTO_IP": 0, "IPPROTO_TCP": stack.IPPROTO_TCP, "IPPROTO_UDP": 17, "SOL_TCP": stack.IPPROTO_TCP,
	"SOL_SOCKET": stack.SOL_SOCKET, "SO_REUSEADDR": stack.SO_REUSEADDR, "SO_KEEPALIVE": stack.SO_KEEPALIVE,
	"SO_LINGER": stack.SO_LINGER, "SO_SNDBUF": stack.SO_SNDBUF, "SO_RCVBUF": stack.SO_RCVBUF,
	"SO_ERROR": stack.SO_ERROR, "SO_TYPE": stack.SO_TYPE,
	"TCP_NODELAY": stack.TCP_NODELAY, "TCP_MAXSEG": stack.TCP_MAXSEG,
	"SO_REUSEPORT": 15, "SO_RCVLOWAT": 18, "SO_SNDLOWAT": 19, "SO_RCVTIMEO": 20, "SO_SNDTIMEO": 21,
	"SO_ZEROCOPY": 60, "SO_MAX_PACING_RATE": 47, "SO_TIMESTAMPING": 37,
	"TCP_CORK": 3, "TCP_KEEPIDLE": 4, "TCP_KEEPINTVL": 5, "TCP_KEEPCNT": 6, "TCP_SYNCNT": 7,
	"TCP_LINGER2": 8, "TCP_DEFER_ACCEPT": 9, "TCP_WINDOW_CLAMP": 10, "TCP_INFO": 11, "TCP_QUICKACK": 12,
	"TCP_CONGESTION": 13, "TCP_MD5SIG": 14, "TCP_USER_TIMEOUT": 18, "TCP_FASTOPEN": 23,
	"TCP_NOTSENT_LOWAT": 25, "TCP_INQ": 36, "TCP_FASTOPEN_CONNECT": 30,
	"F_GETFL": stack.F_GETFL, "F_SETFL": stack.F_SETFL, "F_GETFD": 1, "F_SETFD": 2,
	"O_RDONLY": 0, "O_WRONLY": 1, "O_RDWR": stack.O_RDWR, "O_NONBLOCK": stack.O_NONBLOCK,
	"SHUT_RD": stack.SHUT_RD, "SHUT_WR": stack.SHUT_WR, "SHUT_RDWR": stack.SHUT_RDWR,
	"POLLIN": stack.POLLIN, "POLLOUT": stack.POLLOUT, "POLLERR": stack.POLLERR, "POLLHUP": stack.POLLHUP,
	"POLLPRI": 0x2, "POLLNVAL": 0x20, "POLLRDNORM": 0x40, "POLLWRNORM": 0x100, "POLLRDHUP": 0x2000,
	"MSG_OOB": 0x1, "MSG_PEEK": 0x2, "MSG_DONTWAIT": 0x40, "MSG_EOR": 0x80, "MSG_WAITALL": 0x100,
	"MSG_NOSIGNAL": 0x4000, "MSG_MORE": 0x8000, "MSG_ZEROCOPY": 0x4000000, "MSG_FASTOPEN": 0x20000000,
	"MSG_ERRQUEUE": 0x2000, "INADDR_ANY": 0,
}

// constant resolves a name: a constant above, or an errno name (as
// getsockopt(SO_ERROR) values are written: [ECONNRESET]).
func constant(name string) (int64, bool) {
	if v, ok := constants[name]; ok {
		return v, true
	}
	if v := stack.ErrnoValue(canonicalErrno(name)); v != 0 {
		return int64(v), true
	}
	return 0, false
}

// intArg evaluates an integer argument: a number, a name, A|B, or [v]
// (a pointer to an int, as setsockopt's value is written).
func (r *runner) intArg(ev *Event, e Expr) (int64, error) {
	switch e.Kind {
	case ExprInt:
		return e.Int, nil
	case ExprName:
		if v, ok := constant(e.Name); ok {
			return v, nil
		}
		return 0, skipf("line %d: the constant %s is not known to packetwalk drill", ev.Line, e.Name)
	case ExprOr:
		var v int64
		for _, x := range e.Items {
			y, err := r.intArg(ev, x)
			if err != nil {
				return 0, err
			}
			v |= y
		}
		return v, nil
	case ExprArray:
		if len(e.Items) == 1 {
			return r.intArg(ev, e.Items[0])
		}
	case ExprEllipsis:
		return 0, nil
	case ExprBinary:
		if len(e.Items) == 2 {
			a, err := r.intArg(ev, e.Items[0])
			if err != nil {
				return 0, err
			}
			b, err := r.intArg(ev, e.Items[1])
			if err != nil {
				return 0, err
			}
			switch e.Name {
			case "+":
				return a + b, nil
			case "-":
				return a - b, nil
			case "*":
				return a * b, nil
			case "|":
				return a | b, nil
			}
		}
	}
	return 0, r.failf(ev.Line, "expected a number, got %s", exprText(e))
}

// sockaddr reads bind's and connect's address: "..." is packetdrill's
// default (this host's address and --bind_port for bind, the remote and
// --connect_port for connect); a struct names sin_port and sin_addr.
func (r *runner) sockaddr(ev *Event, e Expr, call string) (netip.AddrPort, error) {
	if e.Kind == ExprEllipsis {
		if call == "bind" {
			return netip.AddrPortFrom(LocalPrefix.Addr(), r.bindPort), nil
		}
		return netip.AddrPortFrom(RemoteIP, r.connectPort), nil
	}
	if e.Kind != ExprStruct {
		return netip.AddrPort{}, r.failf(ev.Line, "%s(): expected ... or {sa_family=AF_INET, sin_port=htons(N), sin_addr=inet_addr(\"A.B.C.D\")}, got %s", call, exprText(e))
	}
	addr, port := netip.IPv4Unspecified(), uint16(0)
	for _, f := range e.Fields {
		switch f.Name {
		case "sa_family", "sin_family":
			v, err := r.intArg(ev, f.Value)
			if err != nil {
				return netip.AddrPort{}, err
			}
			if v != stack.AF_INET {
				return netip.AddrPort{}, skipf("line %d: %s() with an address family other than AF_INET", ev.Line, call)
			}
		case "sin_port":
			v := f.Value
			if v.Kind == ExprCall && v.Name == "htons" && len(v.Items) == 1 {
				v = v.Items[0]
			}
			n, err := r.intArg(ev, v)
			if err != nil {
				return netip.AddrPort{}, err
			}
			port = uint16(n)
		case "sin_addr":
			v := f.Value
			if v.Kind == ExprCall && v.Name == "inet_addr" && len(v.Items) == 1 && v.Items[0].Kind == ExprString {
				a, err := netip.ParseAddr(v.Items[0].Str)
				if err != nil || !a.Is4() {
					return netip.AddrPort{}, r.failf(ev.Line, "%s(): %q is not an IPv4 address", call, v.Items[0].Str)
				}
				addr = a
			} else if n, err := r.intArg(ev, v); err == nil && n == 0 {
				addr = netip.IPv4Unspecified()
			} else {
				return netip.AddrPort{}, r.failf(ev.Line, "%s(): sin_addr must be inet_addr(\"A.B.C.D\") or INADDR_ANY", call)
			}
		}
	}
	return netip.AddrPortFrom(addr, port), nil
}

// knownSockopt says whether packetwalk's socket API has the option.
func knownSockopt(level, name int64) bool {
	switch level {
	case stack.SOL_SOCKET:
		switch name {
		case stack.SO_REUSEADDR, stack.SO_KEEPALIVE, stack.SO_LINGER, stack.SO_SNDBUF, stack.SO_RCVBUF, stack.SO_ERROR, stack.SO_TYPE:
			return true
		}
	case stack.IPPROTO_TCP:
		switch name {
		case stack.TCP_NODELAY, stack.TCP_MAXSEG:
			return true
		}
	}
	return false
}

// optValue reads setsockopt's value: [1], or {l_onoff=1, l_linger=0} for
// SO_LINGER (packetwalk takes seconds, negative for off).
func (r *runner) optValue(ev *Event, name int64, e Expr) (int64, error) {
	if name == stack.SO_LINGER && e.Kind == ExprStruct {
		on, secs := int64(0), int64(0)
		for _, f := range e.Fields {
			v, err := r.intArg(ev, f.Value)
			if err != nil {
				return 0, err
			}
			switch f.Name {
			case "l_onoff", "onoff":
				on = v
			case "l_linger", "linger":
				secs = v
			}
		}
		if on == 0 {
			return -1, nil
		}
		return secs, nil
	}
	return r.intArg(ev, e)
}

// checkGetsockopt compares the value getsockopt read back with the
// script's [v]. Buffer sizes are a host's policy: relaxed mode accepts
// any.
func (r *runner) checkGetsockopt(pc *pendingCall) error {
	ev := pc.ev
	sc := ev.Syscall
	want := sc.Args[3]
	if want.Kind == ExprEllipsis || want.Kind == ExprArray && len(want.Items) == 1 && want.Items[0].Kind == ExprEllipsis {
		return nil
	}
	name, _ := r.intArg(ev, sc.Args[2])
	level, _ := r.intArg(ev, sc.Args[1])
	if r.cfg.Relaxed && level == stack.SOL_SOCKET && (name == stack.SO_RCVBUF || name == stack.SO_SNDBUF) {
		return nil
	}
	if level == stack.SOL_SOCKET && name == stack.SO_LINGER {
		return nil // packetwalk reads SO_LINGER back as seconds, not a struct
	}
	w, err := r.intArg(ev, want)
	if err != nil {
		return err
	}
	if pc.out.value != w {
		got := fmt.Sprint(pc.out.value)
		if level == stack.SOL_SOCKET && name == stack.SO_ERROR {
			got = stack.ErrnoName(int(pc.out.value))
			if got == "" {
				got = "0"
			}
		}
		return r.failf(ev.Line, "getsockopt(%s): expected %s, got [%s]", exprText(sc.Args[2]), exprText(want), got)
	}
	return nil
}

// pollFDs reads poll's [{fd=4, events=POLLIN, revents=POLLIN}, ...].
func (r *runner) pollFDs(ev *Event, e Expr) ([]stack.PollFD, error) {
	if e.Kind != ExprArray {
		return nil, r.failf(ev.Line, "poll(): expected [{fd=N, events=..., revents=...}], got %s", exprText(e))
	}
	var out []stack.PollFD
	for _, it := range e.Items {
		if it.Kind != ExprStruct {
			return nil, r.failf(ev.Line, "poll(): expected {fd=N, events=..., revents=...}, got %s", exprText(it))
		}
		var p stack.PollFD
		for _, f := range it.Fields {
			switch f.Name {
			case "fd":
				v, err := r.intArg(ev, f.Value)
				if err != nil {
					return nil, err
				}
				live, ok := r.fds[int(v)]
				if !ok {
					live = stack.FD(1 << 20)
				}
				p.FD = live
			case "events":
				v, err := r.intArg(ev, f.Value)
				if err != nil {
					return nil, err
				}
				p.Events = int(v)
			}
		}
		out = append(out, p)
	}
	return out, nil
}

// checkPoll compares each entry's revents with the script's.
func (r *runner) checkPoll(pc *pendingCall) error {
	ev := pc.ev
	items := ev.Syscall.Args[0].Items
	for i, it := range items {
		for _, f := range it.Fields {
			if f.Name != "revents" || f.Value.Kind == ExprEllipsis || i >= len(pc.out.revents) {
				continue
			}
			w, err := r.intArg(ev, f.Value)
			if err != nil {
				return err
			}
			if int(w) != pc.out.revents[i] {
				return r.failf(ev.Line, "poll(): entry %d: expected revents %s, got %s", i, exprText(f.Value), pollText(pc.out.revents[i]))
			}
		}
	}
	return nil
}

func pollText(v int) string {
	if v == 0 {
		return "0"
	}
	s := ""
	for _, x := range []struct {
		bit  int
		name string
	}{{stack.POLLIN, "POLLIN"}, {stack.POLLOUT, "POLLOUT"}, {stack.POLLERR, "POLLERR"}, {stack.POLLHUP, "POLLHUP"}} {
		if v&x.bit != 0 {
			if s != "" {
				s += "|"
			}
			s += x.name
		}
	}
	return s
}
