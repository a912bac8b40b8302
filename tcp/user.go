package tcp

import (
	"io"
	"net/netip"

	"github.com/packetwalk/packetwalk/viz"
)

// The user calls of RFC 9293 §3.10 (OPEN, SEND, RECEIVE, CLOSE, ABORT),
// as the socket API makes them (Opener and User in contract.go). None
// blocks: a call that cannot make progress returns ErrWouldBlock, and the
// endpoint's Upper is told (Ready) when to try again.

// Listen opens a passive socket on local (an unspecified address listens on
// every address). backlog bounds the accept queue, and the SYN queue too.
// up hears of connections to accept, and clones one for each connection.
func (l *Layer) Listen(local netip.AddrPort, backlog int, opts Options, up Upper) (*Endpoint, error) {
	if local.Port() == 0 {
		return nil, ErrInvalid
	}
	backlog = l.clampBacklog(backlog)
	e := l.newEndpoint(opts, up)
	e.local, e.backlog = local, backlog
	if err := l.table.AddListener(e); err != nil {
		return nil, err
	}
	e.opened()
	e.setStatef(Listen, 0, "%s -> %s: listen(%s, backlog %d)", viz.AddrPort(local), viz.Int(backlog))
	return e, nil
}

// clampBacklog bounds listen()'s backlog: at least 1, at most MaxBacklog
// (Linux's somaxconn).
func (l *Layer) clampBacklog(backlog int) int {
	return min(max(backlog, 1), l.cfg.MaxBacklog)
}

// SetBacklog is listen() on a socket that already listens: it takes the
// new backlog and succeeds, as on Linux (inet_listen) and FreeBSD
// (solisten); a program calls listen() again to resize its queue. The
// connections already queued stay; if the queues hold more than the new
// backlog, new SYNs wait until accept() has made room. Only a listening
// endpoint can do this: for any other, ErrInvalid.
func (e *Endpoint) SetBacklog(backlog int) error {
	if e.state != Listen {
		return ErrInvalid
	}
	old := e.backlog
	e.backlog = e.layer.clampBacklog(backlog)
	e.logf("listen", viz.Note, 0, []viz.Field{viz.Fv("backlog", viz.Int(e.backlog))},
		"listen() again on %s: backlog %d -> %d (%d half-open, %d waiting for accept())",
		viz.AddrPort(e.local), viz.Int(old), viz.Int(e.backlog), viz.Int(len(e.synQueue)), viz.Int(len(e.acceptQueue)))
	return nil
}

// Connect starts an active open to remote from local (a zero local picks
// the source address and an ephemeral port): it sends a SYN and returns the
// endpoint in SYN_SENT. The connection is up when the endpoint becomes
// writable in ESTABLISHED; a failure shows as Err.
func (l *Layer) Connect(local, remote netip.AddrPort, opts Options, up Upper) (*Endpoint, error) {
	if !remote.Addr().Is4() || remote.Port() == 0 {
		return nil, ErrInvalid
	}
	src := local.Addr()
	if !src.IsValid() || src.IsUnspecified() {
		var err error
		if src, err = l.net.SourceFor(remote.Addr()); err != nil {
			return nil, ErrNoRoute
		}
	}
	port := local.Port()
	if port == 0 {
		var err error
		if port, err = l.table.EphemeralPort(src, remote); err != nil {
			return nil, err
		}
	}
	e := l.newEndpoint(opts, up)
	e.local, e.remote = netip.AddrPortFrom(src, port), remote
	if err := l.table.AddConn(e); err != nil {
		return nil, err
	}
	e.initBuffers()
	e.iss = l.isn.isn(l.clock.Now(), e.local, e.remote)
	e.sndUna, e.sndNxt, e.sndMax = e.iss, e.iss.Add(1), e.iss.Add(1)
	e.send.SetStart(e.iss.Add(1))
	e.mss = e.ourMSS()
	e.cc = l.newCongestion(e.mss)
	l.stats.ActiveOpens++
	e.opened()
	e.setStatef(SynSent, 0, "%s -> %s: connect(%s)", viz.AddrPort(remote))
	e.sendSYN(false)
	return e, nil
}

// Accept takes the oldest established connection off a listener's accept
// queue.
func (e *Endpoint) Accept() (*Endpoint, error) {
	if e.state != Listen {
		return nil, ErrInvalid
	}
	if len(e.acceptQueue) == 0 {
		return nil, ErrWouldBlock
	}
	c := e.acceptQueue[0]
	e.acceptQueue = e.acceptQueue[1:]
	c.parent = nil
	e.logf("accept", viz.Deliver, 0, []viz.Field{viz.Fv("child", viz.U64(c.ID)), viz.Fv("remote", viz.AddrPort(c.remote))},
		"accept() on #%d returns socket #%d %s <-> %s (%d left in the accept queue)",
		viz.U64(e.ID), viz.U64(c.ID), viz.AddrPort(c.local), viz.AddrPort(c.remote), viz.Int(len(e.acceptQueue)))
	return c, nil
}

// Pending reports how many connections wait in the accept queue.
func (e *Endpoint) Pending() int { return len(e.acceptQueue) }

// Read copies received data into p (RECEIVE). At the end of the peer's
// data it returns io.EOF; with nothing to read yet, ErrWouldBlock. A
// connection that ended in an error (reset, refused, timed out) reports it
// once, after the data that arrived before it, and then reads EOF: its
// receive side is closed (see TakeErr).
func (e *Endpoint) Read(p []byte) (int, error) {
	if e.recv == nil {
		return 0, ErrNotConnected
	}
	if e.recv.Readable() > 0 && !e.shutRead {
		before := e.recv.Window()
		n := e.recv.Read(p)
		if e.layer.rec.On() {
			e.logf("read", viz.Deliver, 0, []viz.Field{viz.Fv("bytes", viz.Int(n))},
				"read() takes %d bytes from the receive buffer (%d left)", viz.Int(n), viz.Int(e.recv.Readable()))
		}
		e.maybeWindowUpdate(before)
		return n, nil
	}
	if err := e.TakeErr(); err != nil {
		return 0, err
	}
	if e.finReceived || e.shutRead || e.state == Closed {
		return 0, io.EOF
	}
	if !e.state.synchronized() && e.state != SynSent && e.state != SynReceived {
		return 0, ErrNotConnected
	}
	return 0, ErrWouldBlock
}

// Peek is Read that leaves the data in the receive buffer (recv(2) with
// MSG_PEEK): the window does not move.
func (e *Endpoint) Peek(p []byte) (int, error) {
	if e.recv != nil && e.recv.Readable() > 0 && !e.shutRead {
		n := e.recv.Peek(p)
		if e.layer.rec.On() {
			e.logf("read", viz.Deliver, 0, []viz.Field{viz.Fv("bytes", viz.Int(n)), viz.F("peek", "true")},
				"recv(MSG_PEEK) copies %d bytes and leaves them in the receive buffer", viz.Int(n))
		}
		return n, nil
	}
	return e.Read(p[:0:0]) // no data: the same errors and EOF as Read
}

// Readable reports whether Read would return without blocking.
func (e *Endpoint) Readable() bool {
	return e.recv != nil && e.recv.Readable() > 0 || e.err != nil || e.finReceived || e.shutRead || e.state == Closed
}

// Write queues p for sending (SEND) and sends what the windows allow. It
// returns how much it queued; with a full send buffer, ErrWouldBlock. A
// connection that ended in an error reports it once (see TakeErr); after
// that, and after a close of our sending half, writing is EPIPE: the
// connection can send no more (POSIX write()).
func (e *Endpoint) Write(p []byte) (int, error) {
	if err := e.TakeErr(); err != nil {
		return 0, err
	}
	switch {
	case e.send == nil:
		return 0, ErrNotConnected
	case e.finQueued || e.state == Closed || !(e.state.canSend() || e.state == SynSent || e.state == SynReceived):
		return 0, ErrBrokenPipe
	}
	if len(p) == 0 {
		return 0, nil
	}
	n := e.send.Write(p)
	if n == 0 {
		return 0, ErrWouldBlock
	}
	if e.layer.rec.On() {
		queued := viz.Int(e.send.Len())
		e.logf("write", viz.Note, 0, []viz.Field{viz.Fv("bytes", viz.Int(n)), viz.Fv("queued", queued)},
			"write() queues %d bytes in the send buffer (%d unacknowledged or unsent)", viz.Int(n), queued)
	}
	if e.state.synchronized() {
		e.output(0)
	}
	return n, nil
}

// Writable reports whether Write would return without blocking: it would
// queue something, or fail (a pending error, EPIPE on a connection that
// can send no more or has ended), as POLLOUT says on Linux.
func (e *Endpoint) Writable() bool {
	return e.err != nil || e.send != nil && (e.state == Closed || e.state.synchronized() && (e.send.Free() > 0 || !e.state.canSend()))
}

// Err returns the connection's pending error, if any, and leaves it
// pending: poll's POLLERR looks without reporting it.
func (e *Endpoint) Err() error { return e.err }

// TakeErr returns the connection's pending error and clears it: the error
// is reported once, by whichever call comes first, read(), write() or
// getsockopt(SO_ERROR), as Linux's sock_error() and FreeBSD's so_error do.
// RFC 9293 §3.10.7.4 says that a reset's "outstanding RECEIVEs and SEND
// should receive 'reset' responses"; once that is said, the connection
// simply no longer exists: a read returns end of file, a write EPIPE.
func (e *Endpoint) TakeErr() error {
	err := e.err
	e.err = nil
	return err
}

// Shutdown closes one or both halves (shutdown(2)): write sends a FIN once
// the queued data is out, and the peer reads EOF; read makes further reads
// return EOF.
func (e *Endpoint) Shutdown(read, write bool) error {
	if e.state == Listen {
		return e.Close()
	}
	if e.state == Closed {
		return ErrNotConnected
	}
	if read {
		e.shutRead = true
		e.wakeReaders()
	}
	if write {
		e.closeSending("shutdown(SHUT_WR)")
	}
	return nil
}

// Close is the CLOSE call (RFC 9293 §3.10.4): a listener stops listening
// and resets the connections it had not handed out; a connection sends its
// FIN after the queued data. Unread received data, or SO_LINGER with a zero
// timeout, abort the connection with RST instead (RFC 1122 §4.2.2.13;
// Linux does the same: unread data would be lost silently otherwise).
func (e *Endpoint) Close() error {
	switch e.state {
	case Closed:
		if e.deleted {
			return nil
		}
		e.deleted = true
		return nil
	case Listen:
		for _, c := range append(append([]*Endpoint(nil), e.synQueue...), e.acceptQueue...) {
			c.Abort()
		}
		e.acceptQueue, e.synQueue = nil, nil
		e.deleteTCB(0, "close() on the listening socket")
		return nil
	case SynSent:
		e.deleteTCB(0, "close() before the connection was established")
		return nil
	}
	if e.opts.Linger != nil && *e.opts.Linger == 0 {
		e.Abort()
		return nil
	}
	if e.recv != nil && e.recv.Readable() > 0 {
		e.logf("close", viz.Note, 0, nil, "close() with %d unread bytes: the connection is reset, not closed", viz.Int(e.recv.Readable()))
		e.Abort()
		return nil
	}
	e.shutRead = true
	e.closeSending("close()")
	return nil
}

// closeSending queues our FIN and moves through the closing states.
func (e *Endpoint) closeSending(why string) {
	if e.finQueued {
		return
	}
	e.finQueued = true
	switch e.state {
	case SynReceived, Established:
		e.setState(FinWait1, 0, why+": FIN queued after the data")
	case CloseWait:
		e.setState(LastAck, 0, why+": the peer already closed; sending our FIN")
	}
	e.output(0)
}

// Abort is the ABORT call: send RST if the connection is synchronized and
// delete it at once. Queued data is lost.
func (e *Endpoint) Abort() {
	if e.deleted {
		return
	}
	if e.state == SynReceived || e.state.synchronized() && e.state != TimeWait {
		h := Header{SrcPort: e.local.Port(), DstPort: e.remote.Port(), Seq: e.sndNxt, Flags: FlagRST}
		// With timestamps, the RST carries them too (RFC 7323 §3.2:
		// SHOULD), as Linux's tcp_send_active_reset does.
		e.stampTimestamps(&h)
		e.layer.stats.OutRsts++
		e.layer.sendRaw(e.local.Addr(), e.remote.Addr(), h, nil, e.ID, "rst", "abort: RST")
	}
	if e.err == nil {
		e.err = ErrClosed
	}
	e.deleteTCB(0, "aborted")
}
