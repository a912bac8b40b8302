package drill

import (
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strings"
	"time"

	"github.com/packetwalk/packetwalk/stack"
)

// Socket calls run on packetwalk's socket API (package stack), each in an
// application goroutine of the simulation, as a program's would. A call
// written "start...end" may block: packetdrill runs it on a thread of its
// own and goes on with the script, then checks that it returned at end.
// A call written with a single time must return at once (within the
// tolerance).

// pendingCall is a call running on its goroutine.
type pendingCall struct {
	ev       *Event
	start    time.Duration
	end      time.Duration // when it must return (blocking calls)
	blocking bool
	done     bool
	ret      int64
	err      error
	at       time.Duration // when it returned
	out      callOutput
}

// callOutput is what a call wrote back: values of getsockopt, poll's
// revents, accept's new descriptor.
type callOutput struct {
	value    int64 // getsockopt's value
	valueErr string
	revents  []int
	newFD    stack.FD
}

// syscall starts a call at start; a blocking one may return by end.
func (r *runner) syscall(ev *Event, start, end time.Duration) error {
	sc := ev.Syscall
	if err := r.supported(ev); err != nil {
		return err
	}
	// One call at a time on the "system call thread": a new call waits
	// for a blocking one to finish, as in packetdrill.
	if r.call != nil {
		if err := r.awaitCall(); err != nil {
			return err
		}
	}
	blocking := ev.HasEnd && ev.RangeKind == '.'
	pc := &pendingCall{ev: ev, start: start, end: end, blocking: blocking}
	args, err := r.prepare(ev)
	if err != nil {
		return err
	}
	if sc.Name == "connect" {
		// The SYN may leave before a blocking connect returns: the
		// connection under test starts with the call.
		r.onConnect()
	}
	r.net.Go(func() {
		pc.ret, pc.err, pc.out = r.invoke(sc.Name, args)
		pc.at = r.now()
		pc.done = true
	})
	r.call = pc
	// Let the call run until it returns or waits; time does not move
	// meanwhile.
	if err := r.runUntil(r.now(), func() bool { return pc.done }); err != nil {
		return err
	}
	if !blocking {
		return r.awaitCall()
	}
	return r.checkCall(false)
}

// awaitCall waits for the call in progress to return and checks it.
func (r *runner) awaitCall() error {
	pc := r.call
	limit := pc.end + r.toleranceFor(pc.end) + blockedLimit
	if err := r.runUntil(limit, func() bool { return pc.done }); err != nil {
		return err
	}
	if !pc.done {
		return r.failf(pc.ev.Line, "%s did not return: still blocked at %s (expected to return at %s)", pc.ev.Syscall.Name, secs(r.now()), secs(pc.end))
	}
	return r.checkCall(true)
}

// checkCall checks a call that has returned; a blocking call still
// waiting past its end is a failure once the tolerance has passed.
func (r *runner) checkCall(final bool) error {
	pc := r.call
	if pc == nil {
		return nil
	}
	tol := r.toleranceFor(pc.end)
	if !pc.done {
		if r.now() > pc.end+tol+blockedLimit {
			return r.failf(pc.ev.Line, "%s did not return: still blocked at %s (expected to return at %s)", pc.ev.Syscall.Name, secs(r.now()), secs(pc.end))
		}
		return nil
	}
	r.call = nil
	if err := r.checkResult(pc); err != nil {
		return err
	}
	if pc.at < pc.end-tol || pc.at > pc.end+tol {
		return r.failf(pc.ev.Line, "%s returned at %s, expected at %s (tolerance %s)", pc.ev.Syscall.Name, secs(pc.at), secs(pc.end), secs(tol))
	}
	return nil
}

// supported rejects (as skipped) the calls packetwalk does not have.
func (r *runner) supported(ev *Event) error {
	switch ev.Syscall.Name {
	case "socket", "bind", "listen", "accept", "connect", "read", "write", "send", "recv",
		"sendto", "recvfrom", "close", "shutdown", "getsockopt", "setsockopt", "fcntl", "poll":
		return nil
	}
	return skipf("line %d: the call %s() is not in packetwalk's socket API", ev.Line, ev.Syscall.Name)
}

// callArgs are a call's arguments, with the script's descriptors
// translated and its constants resolved, ready for invoke.
type callArgs struct {
	fd      stack.FD
	ints    []int64
	addr    netip.AddrPort
	n       int // bytes to read or write
	pollFDs []stack.PollFD
	timeout time.Duration
	optVal  int64
	flags   int64 // recv's flags (MSG_PEEK)
}

// prepare reads a call's arguments on the runner's side, where the
// script's descriptor table and connection under test live.
func (r *runner) prepare(ev *Event) (callArgs, error) {
	sc := ev.Syscall
	var a callArgs
	need := func(n int) error {
		if len(sc.Args) < n {
			return r.failf(ev.Line, "%s() needs %d arguments, the script gives %d", sc.Name, n, len(sc.Args))
		}
		return nil
	}
	fd := func(i int) (stack.FD, error) {
		v, err := r.intArg(ev, sc.Args[i])
		if err != nil {
			return -1, err
		}
		live, ok := r.fds[int(v)]
		if !ok {
			return stack.FD(1 << 20), nil // a descriptor the script never opened: EBADF
		}
		return live, nil
	}
	var err error
	switch sc.Name {
	case "socket":
		if err = need(3); err != nil {
			return a, err
		}
		typ, err := r.intArg(ev, sc.Args[1])
		if err != nil {
			return a, err
		}
		if typ&0xf == stack.SOCK_DGRAM {
			return a, skipf("line %d: UDP sockets are not supported by packetwalk drill (TCP only)", ev.Line)
		}
		a.ints = []int64{typ}
	case "bind", "connect":
		if err = need(2); err != nil {
			return a, err
		}
		if a.fd, err = fd(0); err != nil {
			return a, err
		}
		a.addr, err = r.sockaddr(ev, sc.Args[1], sc.Name)
	case "listen", "shutdown": // a descriptor and a number (backlog, how)
		if err = need(2); err != nil {
			return a, err
		}
		if a.fd, err = fd(0); err != nil {
			return a, err
		}
		var v int64
		v, err = r.intArg(ev, sc.Args[1])
		a.ints = []int64{v}
	case "accept", "close":
		if err = need(1); err != nil {
			return a, err
		}
		a.fd, err = fd(0)
	case "read", "write", "send", "recv", "sendto", "recvfrom":
		if err = need(3); err != nil {
			return a, err
		}
		if a.fd, err = fd(0); err != nil {
			return a, err
		}
		var v int64
		if v, err = r.intArg(ev, sc.Args[2]); err != nil {
			return a, err
		}
		if v < 0 || v > 64<<20 {
			return a, r.failf(ev.Line, "%s() of %d bytes: give 0 to 67108864", sc.Name, v)
		}
		a.n = int(v)
		if len(sc.Args) >= 4 && (sc.Name == "send" || sc.Name == "recv" || sc.Name == "sendto" || sc.Name == "recvfrom") {
			var fl int64
			if fl, err = r.intArg(ev, sc.Args[3]); err != nil {
				return a, err
			}
			a.flags = fl
			if fl&^stack.MSG_PEEK != 0 || fl != 0 && (sc.Name == "send" || sc.Name == "sendto") {
				return a, skipf("line %d: %s() flags %s are not supported by packetwalk's socket API", ev.Line, sc.Name, exprText(sc.Args[3]))
			}
		}
		if sc.Args[1].Kind != ExprEllipsis && sc.Args[1].Kind != ExprString {
			return a, skipf("line %d: %s() with a buffer other than ... is not supported", ev.Line, sc.Name)
		}
	case "getsockopt", "setsockopt":
		if err = need(4); err != nil {
			return a, err
		}
		if a.fd, err = fd(0); err != nil {
			return a, err
		}
		var level, name int64
		if level, err = r.intArg(ev, sc.Args[1]); err != nil {
			return a, err
		}
		if name, err = r.intArg(ev, sc.Args[2]); err != nil {
			return a, err
		}
		a.ints = []int64{level, name}
		if !knownSockopt(level, name) {
			return a, skipf("line %d: %s(%s, %s) is not supported by packetwalk's socket API", ev.Line, sc.Name, exprText(sc.Args[1]), exprText(sc.Args[2]))
		}
		if sc.Name == "setsockopt" {
			a.optVal, err = r.optValue(ev, name, sc.Args[3])
		}
	case "fcntl":
		if err = need(2); err != nil {
			return a, err
		}
		if a.fd, err = fd(0); err != nil {
			return a, err
		}
		var cmd, arg int64
		if cmd, err = r.intArg(ev, sc.Args[1]); err != nil {
			return a, err
		}
		if len(sc.Args) >= 3 {
			if arg, err = r.intArg(ev, sc.Args[2]); err != nil {
				return a, err
			}
		}
		if cmd != stack.F_GETFL && cmd != stack.F_SETFL {
			return a, skipf("line %d: fcntl(%s) is not supported (F_GETFL and F_SETFL are)", ev.Line, exprText(sc.Args[1]))
		}
		a.ints = []int64{cmd, arg}
	case "poll":
		if err = need(3); err != nil {
			return a, err
		}
		if a.pollFDs, err = r.pollFDs(ev, sc.Args[0]); err != nil {
			return a, err
		}
		var ms int64
		if ms, err = r.intArg(ev, sc.Args[2]); err != nil {
			return a, err
		}
		a.timeout = time.Duration(ms) * time.Millisecond
		if ms < 0 {
			a.timeout = -1
		}
	}
	return a, err
}

// invoke makes the call on the host. It runs on an application goroutine
// of the simulation.
func (r *runner) invoke(name string, a callArgs) (int64, error, callOutput) {
	h := r.host
	var out callOutput
	switch name {
	case "socket":
		fd, err := h.Socket(stack.AF_INET, stack.SOCK_STREAM)
		if err == nil && a.ints[0]&sockNonblock != 0 {
			_, err = h.Fcntl(fd, stack.F_SETFL, stack.O_RDWR|stack.O_NONBLOCK)
		}
		return int64(fd), err, out
	case "bind":
		return 0, h.Bind(a.fd, a.addr), out
	case "listen":
		return 0, h.Listen(a.fd, int(a.ints[0])), out
	case "connect":
		return 0, h.Connect(a.fd, a.addr), out
	case "accept":
		nfd, _, err := h.Accept(a.fd)
		out.newFD = nfd
		return int64(nfd), err, out
	case "close":
		return 0, h.Close(a.fd), out
	case "shutdown":
		return 0, h.Shutdown(a.fd, int(a.ints[0])), out
	case "read", "recv", "recvfrom":
		buf := make([]byte, a.n)
		n, err := h.Recv(a.fd, buf, int(a.flags))
		if err != nil && n == 0 && isEOF(err) {
			return 0, nil, out
		}
		return int64(n), err, out
	case "write", "send", "sendto":
		n, err := h.Write(a.fd, make([]byte, a.n))
		if err != nil && n > 0 {
			return int64(n), nil, out
		}
		return int64(n), err, out
	case "getsockopt":
		v, err := h.GetSockopt(a.fd, int(a.ints[0]), int(a.ints[1]))
		out.value = int64(v)
		return 0, err, out
	case "setsockopt":
		return 0, h.SetSockopt(a.fd, int(a.ints[0]), int(a.ints[1]), int(a.optVal)), out
	case "fcntl":
		v, err := h.Fcntl(a.fd, int(a.ints[0]), int(a.ints[1]))
		return int64(v), err, out
	case "poll":
		fds := append([]stack.PollFD(nil), a.pollFDs...)
		n, err := h.Poll(fds, a.timeout)
		for _, f := range fds {
			out.revents = append(out.revents, f.Revents)
		}
		return int64(n), err, out
	}
	return -1, fmt.Errorf("no such call %s", name), out
}

func isEOF(err error) bool { return errors.Is(err, io.EOF) }

// checkResult compares what a call returned with the script's "= ...".
func (r *runner) checkResult(pc *pendingCall) error {
	ev, sc := pc.ev, pc.ev.Syscall
	gotErrno := stack.Errno(pc.err)
	if pc.err != nil && gotErrno == "" {
		gotErrno = "an error without an errno (" + pc.err.Error() + ")"
	}
	want := int64(0)
	anyResult := sc.Result.Kind == ExprEllipsis
	if !anyResult {
		v, err := r.intArg(ev, sc.Result)
		if err != nil {
			return err
		}
		want = v
	}
	call := sc.Name + "()"
	switch {
	case sc.Errno != "" || (!anyResult && want == -1):
		wantErrno := canonicalErrno(sc.Errno)
		if pc.err == nil {
			return r.failf(ev.Line, "%s: expected -1 %s, got %d", call, sc.Errno, pc.ret)
		}
		if wantErrno != "" && canonicalErrno(gotErrno) != wantErrno {
			return r.failf(ev.Line, "%s: expected errno %s, got %s", call, sc.Errno, gotErrno)
		}
	case pc.err != nil:
		return r.failf(ev.Line, "%s: expected %s, got -1 %s", call, exprText(sc.Result), gotErrno)
	}
	if pc.err != nil {
		r.logLine(ev, "%s = -1 %s, as expected", call, gotErrno)
		return nil
	}
	// The descriptors a script names are its own: socket() = 3 and
	// accept() = 4 say which script number the new descriptor gets.
	switch sc.Name {
	case "socket":
		r.fds[int(want)] = stack.FD(pc.ret)
		r.logLine(ev, "socket() = %d (packetwalk's descriptor %d)", want, pc.ret)
		return nil
	case "accept":
		r.fds[int(want)] = pc.out.newFD
		r.logLine(ev, "accept() = %d (packetwalk's descriptor %d)", want, pc.ret)
		return nil
	case "listen":
		r.onListen(pc)
	case "close":
		r.onClose(ev)
	case "getsockopt":
		if err := r.checkGetsockopt(pc); err != nil {
			return err
		}
	case "poll":
		if err := r.checkPoll(pc); err != nil {
			return err
		}
	}
	if !anyResult && pc.ret != want {
		return r.failf(ev.Line, "%s: expected %s, got %d", call, exprText(sc.Result), pc.ret)
	}
	r.logLine(ev, "%s = %d, as expected", call, pc.ret)
	return nil
}

// The connection under test follows the calls, as in packetdrill: listen
// makes the next inbound SYN a new connection, connect makes the next
// outbound SYN one.
func (r *runner) onListen(pc *pendingCall) {
	r.sut = &connUnderTest{listening: true, localPort: r.bindPort}
}

func (r *runner) onConnect() {
	// A second connect on a connected socket (EISCONN, EALREADY) does
	// not open a connection: the one under test stays.
	if r.sut == nil || r.sut.listening {
		r.sut = &connUnderTest{connecting: true, remotePort: r.connectPort}
	}
}

func (r *runner) onClose(ev *Event) {
	v, err := r.intArg(ev, ev.Syscall.Args[0])
	if err == nil {
		delete(r.fds, int(v))
	}
}

func canonicalErrno(e string) string {
	if e == "EWOULDBLOCK" {
		return "EAGAIN"
	}
	return e
}

// exprText writes an expression back as the script had it.
func exprText(e Expr) string {
	switch e.Kind {
	case ExprEllipsis:
		return "..."
	case ExprInt:
		return fmt.Sprint(e.Int)
	case ExprName:
		return e.Name
	case ExprString:
		return fmt.Sprintf("%q", e.Str)
	case ExprOr:
		var s []string
		for _, x := range e.Items {
			s = append(s, exprText(x))
		}
		return strings.Join(s, "|")
	case ExprArray:
		var s []string
		for _, x := range e.Items {
			s = append(s, exprText(x))
		}
		return "[" + strings.Join(s, ", ") + "]"
	case ExprStruct:
		var s []string
		for _, f := range e.Fields {
			s = append(s, f.Name+"="+exprText(f.Value))
		}
		return "{" + strings.Join(s, ", ") + "}"
	case ExprCall:
		var s []string
		for _, x := range e.Items {
			s = append(s, exprText(x))
		}
		return e.Name + "(" + strings.Join(s, ", ") + ")"
	case ExprBinary:
		if len(e.Items) == 2 {
			return exprText(e.Items[0]) + " " + e.Name + " " + exprText(e.Items[1])
		}
	}
	return "?"
}
