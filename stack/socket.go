package stack

import (
	"container/heap"
	"errors"
	"net/netip"
	"time"

	"github.com/packetwalk/packetwalk/tcp"
	"github.com/packetwalk/packetwalk/udp"
	"github.com/packetwalk/packetwalk/viz"
)

// The socket API of "HTTP: The Definitive Guide" ch. 4 (its table of
// socket calls) and "How Network Works" ch. 6: a host hands out small
// integer descriptors, as Unix does, and each call names one. A server
// calls Socket, Bind, Listen, then Accept in a loop; a client calls Socket
// and Connect; both Read and Write, then Close.
//
// Calls block like their POSIX counterparts (Accept until a connection is
// established, Read until data arrives), up to the socket's deadlines.
// They may be made from any goroutine; the host's event loop runs them.

// FD is a socket descriptor. Like Unix, the first one handed out is 3
// (0, 1 and 2 are a process's standard input, output and error).
type FD int

// Address families and socket types, with their POSIX values.
const (
	AF_INET     = 2
	SOCK_STREAM = 1 // TCP
	SOCK_DGRAM  = 2 // UDP
)

// Shutdown directions.
const (
	SHUT_RD   = 0
	SHUT_WR   = 1
	SHUT_RDWR = 2
)

// Socket options (levels and names as in <sys/socket.h> and
// <netinet/tcp.h>).
const (
	SOL_SOCKET  = 1
	IPPROTO_TCP = 6

	SO_REUSEADDR = 2
	SO_KEEPALIVE = 9
	SO_LINGER    = 13
	SO_SNDBUF    = 7
	SO_RCVBUF    = 8
	SO_ERROR     = 4
	SO_TYPE      = 3
	TCP_NODELAY  = 1
	TCP_MAXSEG   = 2
)

// Errors of the socket API, named like their POSIX counterparts. Errors
// from the protocols (ECONNREFUSED, ECONNRESET, ETIMEDOUT, EPIPE,
// EADDRINUSE) come from packages tcp and ip.
var (
	ErrBadFD        = errors.New("bad file descriptor (EBADF)")
	ErrInvalid      = errors.New("invalid argument (EINVAL)")
	ErrNotSupported = errors.New("operation not supported on this socket (EOPNOTSUPP)")
	ErrIsConnected  = errors.New("transport endpoint is already connected (EISCONN)")
	ErrNotConnected = tcp.ErrNotConnected
	ErrTimedOut     = ErrTimeout
	ErrTooManyFiles = errors.New("too many open files (EMFILE)")
	ErrWouldBlock   = tcp.ErrWouldBlock
	ErrInProgress   = errors.New("operation now in progress (EINPROGRESS)")
	ErrAlready      = errors.New("operation already in progress (EALREADY)")
)

// DefaultMaxSockets bounds a host's descriptor table (like ulimit -n).
const DefaultMaxSockets = 65536

// socket is one descriptor's socket. A TCP socket is also its endpoint's
// tcp.Upper (below): TCP wakes the calls waiting on it through Ready, and a
// listening socket makes, through Cloned, the socket of each connection a
// SYN clones from it; that socket gets its descriptor from accept().
type socket struct {
	fd    FD // -1 for a connection not accepted yet
	typ   int
	loop  *Loop          // the host's event loop, where waiting calls resume
	bound netip.AddrPort // set by Bind (or chosen by Listen/Connect)

	tcp *tcp.Endpoint
	udp *udp.Endpoint

	opts      tcp.Options
	reuseAddr bool
	// nonblock is O_NONBLOCK (fcntl.go): calls that would wait fail with
	// EAGAIN, and connect with EINPROGRESS.
	nonblock bool

	readable, writable, acceptable waitQueue
	readDeadline, writeDeadline    time.Time

	// onOpened records listen() or connect() when TCP has made the
	// endpoint, before the state change and the SYN it causes (Opened).
	onOpened func(c *tcp.Endpoint)
}

// sockets is a host's descriptor table.
type sockets struct {
	byFD map[FD]*socket
	next FD     // the lowest descriptor never handed out
	free fdHeap // descriptors closed below next, lowest first
	max  int
}

// fdHeap is a min-heap of closed descriptors: the lowest free descriptor
// (POSIX's rule for a new descriptor) is the smaller of its top and
// sockets.next, found in O(log n). A scan from 3 upwards would make
// opening n sockets cost O(n²), which a host with thousands of
// connections (bench/sim) feels.
type fdHeap []FD

func (h fdHeap) Len() int           { return len(h) }
func (h fdHeap) Less(i, j int) bool { return h[i] < h[j] }
func (h fdHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *fdHeap) Push(x any)        { *h = append(*h, x.(FD)) }
func (h *fdHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

func (h *Host) socketTable() *sockets {
	if h.socks.byFD == nil {
		max := h.maxSockets
		if max <= 0 {
			max = DefaultMaxSockets
		}
		h.socks = sockets{byFD: make(map[FD]*socket), next: 3, max: max}
	}
	return &h.socks
}

// get returns fd's socket; it runs on the loop.
func (h *Host) get(fd FD) (*socket, error) {
	s := h.socketTable().byFD[fd]
	if s == nil {
		return nil, ErrBadFD
	}
	return s, nil
}

// onSocket runs f on the loop with fd's socket: the shape of every socket
// call that does not wait. A descriptor not in the table is EBADF.
func (h *Host) onSocket(fd FD, f func(s *socket) error) error {
	var err error
	h.loop.Do(func() {
		s, gerr := h.get(fd)
		if gerr != nil {
			err = gerr
			return
		}
		err = f(s)
	})
	return err
}

// newSocket makes a socket and adds it to the table.
func (h *Host) newSocket(typ int) (*socket, error) {
	s := &socket{fd: -1, typ: typ, loop: h.loop}
	if err := h.addSocket(s); err != nil {
		return nil, err
	}
	return s, nil
}

// addSocket gives s the lowest free descriptor from 3 up, as POSIX
// requires, and adds it to the table.
func (h *Host) addSocket(s *socket) error {
	t := h.socketTable()
	if len(t.byFD) >= t.max {
		return ErrTooManyFiles
	}
	if len(t.free) > 0 {
		s.fd = heap.Pop(&t.free).(FD)
	} else {
		s.fd = t.next
		t.next++
	}
	t.byFD[s.fd] = s
	return nil
}

// Ready is tcp.Upper's readiness notification: it resumes the calls parked
// on what became possible, and each retries. It runs on the loop.
func (s *socket) Ready(r tcp.Readiness) {
	if r&(tcp.ReadyRead|tcp.ReadyClosed) != 0 {
		s.readable.wakeAll(s.loop)
	}
	if r&(tcp.ReadyWrite|tcp.ReadyClosed) != 0 {
		s.writable.wakeAll(s.loop)
	}
	if r&tcp.ReadyAccept != 0 {
		s.acceptable.wakeAll(s.loop)
	}
}

// Opened is tcp.Upper's: TCP made the endpoint that Listen or Connect
// asked for and has not changed its state yet. The call is recorded here,
// with the socket's ID and address, so that it comes before the steps it
// causes (the state change, the SYN, the ARP request the SYN waits for).
func (s *socket) Opened(c *tcp.Endpoint) {
	if f := s.onOpened; f != nil {
		s.onOpened = nil
		f(c)
	}
}

// Cloned is tcp.Upper's clone: a SYN on this listening socket made
// connection c, and c's socket is made now, with c's options (those of the
// listener, as a clone inherits them) and no descriptor: accept() gives it
// one. Only c holds it until then, so a connection never accepted (reset,
// timed out, aborted when the listener closes) takes its socket with it
// when TCP forgets it, and the descriptor table never sees it.
func (s *socket) Cloned(c *tcp.Endpoint) tcp.Upper {
	return &socket{fd: -1, typ: SOCK_STREAM, loop: s.loop, tcp: c, bound: c.LocalAddr(), opts: c.Options()}
}

// logSocket records a socket call, its message as a format and typed
// arguments, made into text by the sinks.
func (h *Host) logSocket(step string, fd FD, conn uint64, v viz.Verdict, format string, args ...viz.Arg) {
	if h.Rec.On() {
		h.Rec.Stepf(viz.Event{Layer: viz.LayerSocket, Step: step, Verdict: v, Conn: conn},
			[]viz.Field{viz.Fv("fd", viz.Int(int(fd)))}, format, args...)
	}
}

// Socket creates a socket (socket(2)): AF_INET with SOCK_STREAM (TCP) or
// SOCK_DGRAM (UDP).
func (h *Host) Socket(domain, typ int) (FD, error) {
	if domain != AF_INET || typ != SOCK_STREAM && typ != SOCK_DGRAM {
		return -1, ErrInvalid
	}
	var fd FD
	var err error
	h.loop.Do(func() {
		var s *socket
		if s, err = h.newSocket(typ); err == nil {
			fd = s.fd
			kind := "SOCK_STREAM (TCP)"
			if typ == SOCK_DGRAM {
				kind = "SOCK_DGRAM (UDP)"
			}
			h.logSocket("socket", fd, 0, viz.Note, "socket(AF_INET, %s) = %d", viz.Str(kind), viz.Int(int(fd)))
		}
	})
	return fd, err
}

// Bind gives the socket its local address and port (bind(2)); port 0
// picks an ephemeral port when the socket listens or connects. A port in
// use, even by a connection in TIME_WAIT, gives EADDRINUSE unless
// SO_REUSEADDR is set.
func (h *Host) Bind(fd FD, addr netip.AddrPort) error {
	return h.onSocket(fd, func(s *socket) (err error) {
		if s.bound.IsValid() || s.tcp != nil || s.udp != nil {
			err = ErrInvalid
			return
		}
		a := addr.Addr()
		if !a.IsValid() {
			a = netip.IPv4Unspecified()
		}
		if !a.IsUnspecified() {
			if mine := h.hasAddress(a); !mine {
				err = tcp.ErrAddrNotAvail
				return
			}
		}
		addr = netip.AddrPortFrom(a, addr.Port())
		if s.typ == SOCK_DGRAM {
			s.udp, err = h.UDP.Bind(addr)
			if err == nil {
				s.bound = s.udp.LocalAddr()
				h.attachUDP(s)
			}
		} else {
			if addr.Port() != 0 && h.tcpPortBusy(addr, s.reuseAddr) {
				err = tcp.ErrAddrInUse
				return
			}
			s.bound = addr
		}
		if err == nil {
			h.logSocket("bind", fd, 0, viz.Note, "bind(%d, %s)", viz.Int(int(fd)), viz.AddrPort(s.bound))
		}
		return
	})
}

func (h *Host) hasAddress(a netip.Addr) bool {
	for _, i := range h.ifaces {
		if i.Prefix.Addr() == a {
			return true
		}
	}
	return false
}

// tcpPortBusy reports whether a TCP socket of this host (bound, listening
// or connected, TIME_WAIT included unless reuse) holds addr's port.
func (h *Host) tcpPortBusy(addr netip.AddrPort, reuse bool) bool {
	overlaps := func(a netip.Addr) bool {
		return a == addr.Addr() || a.IsUnspecified() || addr.Addr().IsUnspecified()
	}
	for _, s := range h.socketTable().byFD {
		if s.typ == SOCK_STREAM && s.bound.Port() == addr.Port() && overlaps(s.bound.Addr()) {
			return true
		}
	}
	for _, e := range h.TCP.Endpoints() {
		l := e.LocalAddr()
		if l.Port() != addr.Port() || !overlaps(l.Addr()) {
			continue
		}
		if reuse && e.State() == tcp.TimeWait {
			continue // SO_REUSEADDR: a TIME_WAIT connection does not block bind
		}
		return true
	}
	return false
}

// Listen makes a bound TCP socket wait for connections (listen(2)), with
// at most backlog of them waiting to be accepted. On a socket that already
// listens it sets the new backlog and succeeds, as on Linux and FreeBSD; on
// a connected one it is EINVAL (POSIX).
func (h *Host) Listen(fd FD, backlog int) error {
	return h.onSocket(fd, func(s *socket) (err error) {
		if s.typ != SOCK_STREAM {
			err = ErrNotSupported
			return
		}
		if s.tcp != nil && s.tcp.State() == tcp.Listen {
			h.logSocket("listen", fd, s.tcp.ID, viz.Note, "listen(%d, %d): socket #%d already listens; only its backlog changes", viz.Int(int(fd)), viz.Int(backlog), viz.U64(s.tcp.ID))
			err = s.tcp.SetBacklog(backlog)
			return
		}
		if s.tcp != nil {
			err = ErrInvalid
			return
		}
		if !s.bound.IsValid() || s.bound.Port() == 0 {
			err = ErrInvalid // this stack asks for an explicit port
			return
		}
		if h.Rec.On() {
			s.onOpened = func(c *tcp.Endpoint) {
				h.logSocket("listen", fd, c.ID, viz.Note, "listen(%d, %d): socket #%d waits for connections on %s", viz.Int(int(fd)), viz.Int(backlog), viz.U64(c.ID), viz.AddrPort(c.LocalAddr()))
			}
		}
		s.tcp, err = h.TCP.Listen(s.bound, backlog, s.opts, s)
		s.onOpened = nil
		return
	})
}

// Accept waits for a connection on a listening socket and returns a new
// descriptor for it, and the client's address (accept(2)). The listening
// socket stays as it was, ready for the next client.
func (h *Host) Accept(fd FD) (FD, netip.AddrPort, error) {
	var nfd FD = -1
	var peer netip.AddrPort
	var s *socket
	var err error
	h.loop.Do(func() { s, err = h.get(fd) })
	if err != nil {
		return -1, peer, err
	}
	berr := h.loop.block(func() time.Time { return s.readDeadline }, func() bool {
		if s.tcp == nil || s.tcp.State() != tcp.Listen {
			err = ErrInvalid
			return true
		}
		c, aerr := s.tcp.Accept()
		if aerr == tcp.ErrWouldBlock && !s.nonblock {
			return false
		}
		if aerr != nil {
			err = aerr
			return true
		}
		// The connection's socket was made when the SYN cloned the
		// listener (socket.Cloned); now it gets its descriptor.
		ns, ok := c.Upper().(*socket)
		if !ok {
			c.Abort()
			err = ErrInvalid // not a clone of this socket: cannot happen
			return true
		}
		if nerr := h.addSocket(ns); nerr != nil {
			c.Abort()
			err = nerr
			return true
		}
		nfd, peer = ns.fd, c.RemoteAddr()
		h.logSocket("accept", fd, c.ID, viz.Deliver, "accept(%d) = %d: socket #%d, client %s", viz.Int(int(fd)), viz.Int(int(nfd)), viz.U64(c.ID), viz.AddrPort(peer))
		return true
	}, &s.acceptable)
	if berr != nil {
		return -1, peer, berr
	}
	return nfd, peer, err
}

func (h *Host) attachUDP(s *socket) {
	s.udp.Notify = func() { s.readable.wakeAll(h.loop) }
}

// Connect opens a TCP connection to addr (connect(2)) and waits until it
// is established or fails (ECONNREFUSED, ETIMEDOUT). For UDP it sets the
// default destination.
func (h *Host) Connect(fd FD, addr netip.AddrPort) error {
	var s *socket
	var err error
	h.loop.Do(func() {
		if s, err = h.get(fd); err != nil {
			return
		}
		switch {
		case s.typ == SOCK_DGRAM:
			err = ErrNotSupported
		case s.tcp != nil && s.nonblock && (s.tcp.State() == tcp.SynSent || s.tcp.State() == tcp.SynReceived):
			err = ErrAlready
		case s.tcp != nil:
			err = ErrIsConnected
		default:
			if h.Rec.On() {
				s.onOpened = func(c *tcp.Endpoint) {
					h.logSocket("connect", fd, c.ID, viz.Note, "connect(%d, %s): socket #%d sends SYN from %s", viz.Int(int(fd)), viz.AddrPort(addr), viz.U64(c.ID), viz.AddrPort(c.LocalAddr()))
				}
			}
			var c *tcp.Endpoint
			c, err = h.TCP.Connect(s.bound, addr, s.opts, s)
			s.onOpened = nil
			if err == nil {
				s.tcp, s.bound = c, c.LocalAddr()
			}
		}
	})
	if err != nil {
		return err
	}
	if s.nonblock {
		return ErrInProgress // the handshake goes on; poll for POLLOUT, then read SO_ERROR
	}
	berr := h.loop.block(func() time.Time { return s.writeDeadline }, func() bool {
		if e := s.tcp.TakeErr(); e != nil {
			err = e // reported here, so no longer pending (SO_ERROR reads 0)
			return true
		}
		st := s.tcp.State()
		return st != tcp.SynSent && st != tcp.SynReceived
	}, &s.writable, &s.readable)
	if berr != nil {
		return berr
	}
	return err
}

// MSG_PEEK is recv(2)'s flag to look at data without taking it.
const MSG_PEEK = 0x2

// Read reads into p (read(2)), waiting until data arrives. At the end of
// the peer's data it returns 0 and io.EOF.
func (h *Host) Read(fd FD, p []byte) (int, error) { return h.Recv(fd, p, 0) }

// Recv is read with flags (recv(2)); MSG_PEEK copies the data but leaves
// it to be read again.
func (h *Host) Recv(fd FD, p []byte, flags int) (int, error) {
	var s *socket
	var err error
	h.loop.Do(func() { s, err = h.get(fd) })
	if err != nil {
		return 0, err
	}
	if s.typ == SOCK_DGRAM {
		n, _, err := h.RecvFrom(fd, p)
		return n, err
	}
	var n int
	berr := h.loop.block(func() time.Time { return s.readDeadline }, func() bool {
		if s.tcp == nil {
			err = ErrNotConnected
			return true
		}
		if flags&MSG_PEEK != 0 {
			n, err = s.tcp.Peek(p)
		} else {
			n, err = s.tcp.Read(p)
		}
		return err != tcp.ErrWouldBlock || s.nonblock
	}, &s.readable)
	if berr != nil {
		return 0, berr
	}
	return n, err
}

// Write writes p (write(2)), waiting for send-buffer space as needed; it
// returns when all of p is queued, or on an error.
func (h *Host) Write(fd FD, p []byte) (int, error) {
	var s *socket
	var err error
	h.loop.Do(func() { s, err = h.get(fd) })
	if err != nil {
		return 0, err
	}
	if s.typ == SOCK_DGRAM {
		return 0, ErrNotSupported
	}
	total := 0
	for total < len(p) {
		var n int
		berr := h.loop.block(func() time.Time { return s.writeDeadline }, func() bool {
			if s.tcp == nil {
				err = ErrNotConnected
				return true
			}
			n, err = s.tcp.Write(p[total:])
			return err != tcp.ErrWouldBlock || s.nonblock
		}, &s.writable)
		if berr != nil {
			return total, berr
		}
		total += n
		if err == tcp.ErrWouldBlock && total > 0 {
			return total, nil // a non-blocking write queues what fits
		}
		if err != nil {
			return total, err
		}
	}
	return total, nil
}

// SendTo sends a UDP datagram to addr (sendto(2)); an unbound socket gets
// an ephemeral port.
func (h *Host) SendTo(fd FD, p []byte, addr netip.AddrPort) (int, error) {
	var err error
	h.loop.Do(func() {
		var s *socket
		if s, err = h.get(fd); err != nil {
			return
		}
		if s.typ != SOCK_DGRAM {
			err = ErrNotSupported
			return
		}
		if s.udp == nil {
			if s.udp, err = h.UDP.Bind(netip.AddrPort{}); err != nil {
				return
			}
			s.bound = s.udp.LocalAddr()
			h.attachUDP(s)
		}
		if err = s.udp.TakeErr(); err != nil {
			return
		}
		err = s.udp.SendTo(addr, p)
	})
	if err != nil {
		return 0, err
	}
	return len(p), nil
}

// RecvFrom waits for a UDP datagram (recvfrom(2)); a datagram longer than
// p is truncated, as with a real socket.
func (h *Host) RecvFrom(fd FD, p []byte) (int, netip.AddrPort, error) {
	var s *socket
	var err error
	h.loop.Do(func() { s, err = h.get(fd) })
	if err != nil {
		return 0, netip.AddrPort{}, err
	}
	if s.typ != SOCK_DGRAM {
		return 0, netip.AddrPort{}, ErrNotSupported
	}
	var n int
	var from netip.AddrPort
	berr := h.loop.block(func() time.Time { return s.readDeadline }, func() bool {
		if s.udp == nil {
			err = ErrNotConnected
			return true
		}
		if err = s.udp.TakeErr(); err != nil {
			return true
		}
		d, ok := s.udp.Recv()
		if !ok {
			return false
		}
		n, from = copy(p, d.Data), d.From
		return true
	}, &s.readable)
	if berr != nil {
		return 0, from, berr
	}
	return n, from, err
}

// Shutdown closes one or both directions of a connection (shutdown(2)).
func (h *Host) Shutdown(fd FD, how int) error {
	return h.onSocket(fd, func(s *socket) (err error) {
		if s.tcp == nil {
			err = ErrNotConnected
			return
		}
		if how < SHUT_RD || how > SHUT_RDWR {
			err = ErrInvalid
			return
		}
		h.logSocket("shutdown", fd, s.tcp.ID, viz.Note, "shutdown(%d, %s)", viz.Int(int(fd)), viz.Str([...]string{"SHUT_RD", "SHUT_WR", "SHUT_RDWR"}[how]))
		err = s.tcp.Shutdown(how != SHUT_WR, how != SHUT_RD)
		return
	})
}

// Close releases the descriptor (close(2)); a TCP connection goes on
// closing in the background (FIN, TIME_WAIT).
func (h *Host) Close(fd FD) error {
	return h.onSocket(fd, func(s *socket) (err error) {
		t := h.socketTable()
		delete(t.byFD, fd)
		heap.Push(&t.free, fd)
		var conn uint64
		if s.tcp != nil {
			conn = s.tcp.ID
		}
		// Recorded before TCP closes: the close sends a FIN (or a RST),
		// whose steps must come after the call that caused them.
		h.logSocket("close", fd, conn, viz.Note, "close(%d)", viz.Int(int(fd)))
		if s.tcp != nil {
			err = s.tcp.Close()
		}
		if s.udp != nil {
			s.udp.Close()
		}
		s.readable.wakeAll(h.loop)
		s.writable.wakeAll(h.loop)
		s.acceptable.wakeAll(h.loop)
		return
	})
}

// SetSockopt sets an option (setsockopt(2)). Values are integers: 0 or 1
// for flags, bytes for buffer sizes, seconds for SO_LINGER (negative:
// off).
func (h *Host) SetSockopt(fd FD, level, name, value int) error {
	return h.onSocket(fd, func(s *socket) (err error) {
		o := s.opts
		switch {
		case level == SOL_SOCKET && name == SO_REUSEADDR:
			s.reuseAddr = value != 0
		case level == SOL_SOCKET && name == SO_KEEPALIVE:
			o.KeepAlive = value != 0
		case level == SOL_SOCKET && name == SO_LINGER:
			if value < 0 {
				o.Linger = nil
			} else {
				d := time.Duration(value) * time.Second
				o.Linger = &d
			}
		case level == SOL_SOCKET && name == SO_SNDBUF && value > 0:
			o.SendBuffer = value
		case level == SOL_SOCKET && name == SO_RCVBUF && value > 0:
			o.ReceiveBuffer = value
		case level == IPPROTO_TCP && name == TCP_NODELAY:
			o.NoDelay = value != 0
		case level == IPPROTO_TCP && name == TCP_MAXSEG:
			if value < tcp.MinUserMSS || value > tcp.MaxUserMSS {
				err = ErrInvalid // as Linux: 88..32767
				return
			}
			o.MaxSeg = value
		default:
			err = ErrInvalid
			return
		}
		s.opts = o
		if s.tcp != nil {
			s.tcp.SetOptions(o)
		}
		if s.udp != nil && name == SO_RCVBUF {
			s.udp.ReceiveBuffer = value
		}
		return
	})
}

// GetSockopt reads an option (getsockopt(2)), in SetSockopt's units.
func (h *Host) GetSockopt(fd FD, level, name int) (int, error) {
	var v int
	var err error
	h.loop.Do(func() {
		var s *socket
		if s, err = h.get(fd); err != nil {
			return
		}
		o := s.opts
		if s.tcp != nil {
			o = s.tcp.Options()
		}
		b2i := func(b bool) int {
			if b {
				return 1
			}
			return 0
		}
		switch {
		case level == SOL_SOCKET && name == SO_REUSEADDR:
			v = b2i(s.reuseAddr)
		case level == SOL_SOCKET && name == SO_KEEPALIVE:
			v = b2i(o.KeepAlive)
		case level == SOL_SOCKET && name == SO_LINGER:
			v = -1
			if o.Linger != nil {
				v = int(*o.Linger / time.Second)
			}
		case level == SOL_SOCKET && name == SO_SNDBUF:
			v = o.SendBuffer
			if v == 0 {
				v = tcp.DefaultBufferSize
			}
		case level == SOL_SOCKET && name == SO_RCVBUF:
			v = o.ReceiveBuffer
			if v == 0 {
				v = tcp.DefaultBufferSize
			}
		case level == IPPROTO_TCP && name == TCP_NODELAY:
			v = b2i(o.NoDelay)
		case level == SOL_SOCKET && name == SO_ERROR:
			v = s.takeError()
		case level == SOL_SOCKET && name == SO_TYPE:
			v = s.typ
		case level == IPPROTO_TCP && name == TCP_MAXSEG:
			v = 536 // RFC 9293 §3.7.1: the MSS assumed before the peer says
			if o.MaxSeg > 0 {
				v = o.MaxSeg // what the application asked for, until the connection knows
			}
			if s.tcp != nil && s.tcp.Info().MSS > 0 {
				v = s.tcp.Info().MSS
			}
		default:
			err = ErrInvalid
		}
	})
	return v, err
}

// SetDeadlines sets when blocking reads (and accepts) and writes (and
// connects) give up with ErrTimeout; a zero time means never.
func (h *Host) SetDeadlines(fd FD, read, write time.Time) error {
	return h.onSocket(fd, func(s *socket) (err error) {
		s.readDeadline, s.writeDeadline = read, write
		s.readable.wakeAll(h.loop) // waiting calls re-check their deadline
		s.writable.wakeAll(h.loop)
		s.acceptable.wakeAll(h.loop)
		return
	})
}

// Poll events.
const (
	POLLIN  = 0x1 // readable, or a connection to accept
	POLLOUT = 0x4 // writable
	POLLERR = 0x8
	POLLHUP = 0x10
)

// PollFD is one entry of Poll: the events asked for and those that occur.
type PollFD struct {
	FD      FD
	Events  int
	Revents int
}

// Poll waits until one of the sockets is ready (poll(2)), or timeout passes
// (negative: for ever). It returns how many entries have events.
func (h *Host) Poll(fds []PollFD, timeout time.Duration) (int, error) {
	return h.poll(fds, timeout, nil)
}

// poll is Poll with, optionally, a wake-up in the set (PollWaker): it
// counts as one more ready entry while its pending flag is set, as an
// eventfd(2) does in a poll(2) set.
func (h *Host) poll(fds []PollFD, timeout time.Duration, wk *pollWake) (int, error) {
	var queues []*waitQueue
	var err error
	if wk != nil {
		queues = append(wk.queues[:0], &wk.q)
	}
	h.loop.Do(func() {
		for _, p := range fds {
			s, e := h.get(p.FD)
			if e != nil {
				continue
			}
			// Only the queues of the events asked for: a poll for
			// POLLIN that an ACK freeing send space woke would
			// find nothing and wait again (an event loop's poll
			// would wake once per acknowledged response). Errors,
			// FINs and the end of a connection wake readers too
			// (tcp.ReadyRead, tcp.ReadyClosed), so POLLERR and
			// POLLHUP are still seen.
			queues = append(queues, &s.readable)
			if p.Events&POLLIN != 0 {
				queues = append(queues, &s.acceptable)
			}
			if p.Events&POLLOUT != 0 {
				queues = append(queues, &s.writable)
			}
		}
	})
	if wk != nil {
		wk.queues = queues
	}
	ready := 0
	check := func() bool {
		ready = 0
		for i := range fds {
			fds[i].Revents = h.revents(fds[i])
			if fds[i].Revents != 0 {
				ready++
			}
		}
		if wk != nil && wk.pending {
			wk.pending = false
			ready++
		}
		return ready > 0
	}
	err = h.loop.blockFor(timeout, check, queues...)
	if err == ErrTimeout {
		return 0, nil
	}
	return ready, err
}

// revents computes what is ready on one entry; it runs on the loop.
func (h *Host) revents(p PollFD) int {
	s, err := h.get(p.FD)
	if err != nil {
		return POLLERR
	}
	r := 0
	switch {
	case s.tcp != nil && s.tcp.State() == tcp.Listen:
		if s.tcp.Pending() > 0 {
			r |= POLLIN
		}
	case s.tcp != nil:
		if s.tcp.Readable() {
			r |= POLLIN
		}
		if s.tcp.Writable() {
			r |= POLLOUT
		}
		if s.tcp.Err() != nil {
			r |= POLLERR
		}
		if s.tcp.State() == tcp.Closed {
			r |= POLLHUP
		}
	case s.udp != nil:
		r |= POLLOUT
		if s.udp.Queued() > 0 {
			r |= POLLIN
		}
	}
	return r & (p.Events | POLLERR | POLLHUP)
}
