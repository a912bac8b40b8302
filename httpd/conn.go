package httpd

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/packetwalk/packetwalk/viz"
)

// conn is one client connection: steps 1, 2 and 6 live here, around the
// per-request steps of process.go, respond.go and log.go.
type conn struct {
	s      *Server
	nc     net.Conn
	id     uint64 // the socket's ID in the step log; 0 on kernel sockets
	local  netip.AddrPort
	remote netip.AddrPort
	br     *bufio.Reader // holds pipelined requests between reads
	bw     *bufio.Writer

	served     int    // responses sent
	ident      string // RFC 1413 answer, "-" if none
	remoteHost string // reverse DNS name, "" if none
	denied     bool   // step 1 refused the address: answer 403 and close
	mux        bool   // served by the multiplexer, which must never wait
	loop       int    // "event": the loop that watches it (from 1)
	worker     int    // "event": the worker serving its request; 0 if none
	// writeBy is the write deadline send last set (armWriteDeadline).
	writeBy time.Time

	idle bool // waiting for a request; guarded by s.mu (Shutdown wakes it)
	// closeNoted: Close has already said it closes this connection
	// (before closing it, so the note comes before the FIN it causes);
	// guarded by s.mu.
	closeNoted bool

	h2        *h2conn // the connection speaks HTTP/2 (h2.go)
	h2checked bool    // its first bytes were not the HTTP/2 preface
	stream    uint32  // the HTTP/2 stream whose steps are being logged
}

// Timeouts and bounds of closing a connection gently.
const (
	// lingerTimeout is how long a closing connection keeps reading (and
	// discarding) what the client still sends after the server's FIN,
	// so that unread bytes do not turn the close into a reset that
	// destroys the response in flight (Apache's lingering close).
	lingerTimeout = 2 * time.Second
	// lingerMaxBytes bounds what a lingering close reads.
	lingerMaxBytes = 256 << 10
	// connBufferSize is the size of each connection's read and write
	// buffers.
	connBufferSize = 4096
)

func (s *Server) newConn(nc net.Conn) *conn {
	c := &conn{
		s:      s,
		nc:     nc,
		local:  addrPortOf(nc.LocalAddr()),
		remote: addrPortOf(nc.RemoteAddr()),
		ident:  "-",
	}
	if cc, ok := nc.(Connection); ok {
		c.id = cc.ConnID()
	}
	return c
}

func addrPortOf(a net.Addr) netip.AddrPort {
	var ap netip.AddrPort
	switch a := a.(type) {
	case *net.TCPAddr:
		ap = a.AddrPort()
	case nil:
		return ap
	default:
		ap, _ = netip.ParseAddrPort(a.String())
	}
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
}

// serveConn runs one connection to its end in the calling goroutine: the
// "single" and "pool" architectures, where a goroutine may block on one
// client.
func (s *Server) serveConn(nc net.Conn) {
	c := s.newConn(nc)
	if !s.track(c) {
		nc.Close()
		return
	}
	defer s.untrack(c)
	if !c.accept() {
		s.closes.add(CloseRefused)
		c.close(false)
		return
	}
	c.br = bufio.NewReaderSize(nc, connBufferSize)
	c.bw = bufio.NewWriterSize(nc, connBufferSize)
	for {
		req, h, err := c.readRequest()
		if c.h2 != nil { // the HTTP/2 preface came (h2.go)
			c.serveH2()
			return
		}
		if err != nil {
			c.endOfRequests(req, h, err)
			return
		}
		if !c.serveRequest(req, h, c.br.Buffered()) {
			c.close(true)
			return
		}
		if c.h2 != nil { // the request upgraded to HTTP/2 (h2.go)
			c.serveH2()
			return
		}
	}
}

// Step 1, accept: who is the client, and is it welcome?
//
// accept reports false when the connection is to be closed at once.
func (c *conn) accept() bool {
	cfg := &c.s.cfg
	st := c.st()
	var fields []viz.Field
	if st.on() {
		fields = append(fields, viz.F("client", c.remote.String()), viz.F("local", c.local.String()), viz.F("arch", cfg.Arch))
	}

	if denied, rule := refused(c.remote.Addr(), cfg.Allow, cfg.Deny); denied {
		c.denied = true
		c.s.errorLog("", c.remote, "client denied by server configuration ("+rule+")")
		if st.on() {
			what := "its first request will be answered 403 Forbidden"
			if cfg.DenyClose {
				what = "closing at once"
			}
			st.emit(c.id, "accept", viz.Drop, viz.ReasonHTTPDenied,
				fmt.Sprintf("refused the connection from %s (%s): %s.", c.remote, rule, what),
				append(fields, viz.F("rule", rule))...)
		}
		return !cfg.DenyClose
	}

	// Reverse DNS: slow, so off unless configured (seed, step 1).
	if cfg.ReverseDNS != nil {
		ctx, cancel := context.WithTimeout(context.Background(), cfg.ReverseDNSTimeout)
		t0 := st.rec.Now()
		name, err := cfg.ReverseDNS(ctx, c.remote.Addr())
		cancel()
		delay := st.rec.Now() - t0
		if err != nil {
			c.s.errorLog("", c.remote, "reverse DNS lookup failed: "+err.Error())
			if st.on() {
				fields = append(fields, viz.F("rdns", "failed: "+err.Error()), viz.F("rdns_delay", delay.String()))
			}
		} else {
			c.remoteHost = sanitizeHostName(name)
			if st.on() {
				fields = append(fields, viz.F("rdns", c.remoteHost), viz.F("rdns_delay", delay.String()))
			}
		}
	}
	// RFC 1413 ident: who on the client host opened the connection.
	if cfg.Ident != nil {
		ctx, cancel := context.WithTimeout(context.Background(), cfg.IdentTimeout)
		t0 := st.rec.Now()
		user, err := cfg.Ident(ctx, c.local, c.remote)
		cancel()
		delay := st.rec.Now() - t0
		if err != nil {
			c.s.errorLog("", c.remote, "ident lookup failed: "+err.Error())
			if st.on() {
				fields = append(fields, viz.F("ident", "failed: "+err.Error()), viz.F("ident_delay", delay.String()))
			}
		} else {
			c.ident = user
			if st.on() {
				fields = append(fields, viz.F("ident", user), viz.F("ident_delay", delay.String()))
			}
		}
	}
	if st.on() {
		who := c.remote.String()
		if name, ok := fieldValue(fields, "rdns"); ok {
			d, _ := fieldValue(fields, "rdns_delay")
			who += fmt.Sprintf(" (reverse DNS: %s, in %s)", name, d)
		}
		if user, ok := fieldValue(fields, "ident"); ok {
			d, _ := fieldValue(fields, "ident_delay")
			who += fmt.Sprintf(" (ident: %s, in %s)", user, d)
		}
		st.emit(c.id, "accept", viz.Pass, "", fmt.Sprintf("accepted a connection from %s.", who), fields...)
	}
	return true
}

func fieldValue(fields []viz.Field, key string) (string, bool) {
	for _, f := range fields {
		if f.Key == key {
			return f.Value(), true
		}
	}
	return "", false
}

// refused applies Allow and Deny: the longest prefix containing addr
// decides; with a non-empty Allow list, an address in neither is refused.
// It also says which rule decided.
func refused(addr netip.Addr, allow, deny []netip.Prefix) (bool, string) {
	if len(allow) == 0 && len(deny) == 0 {
		return false, ""
	}
	best, bestDeny := -1, false
	var rule netip.Prefix
	for _, p := range allow {
		if p.Contains(addr) && p.Bits() > best {
			best, bestDeny, rule = p.Bits(), false, p
		}
	}
	for _, p := range deny {
		// Deny wins a tie: a prefix both allowed and denied is denied.
		if p.Contains(addr) && p.Bits() >= best {
			best, bestDeny, rule = p.Bits(), true, p
		}
	}
	switch {
	case best < 0 && len(allow) > 0:
		return true, "not in the Allow list"
	case best < 0:
		return false, ""
	case bestDeny:
		return true, "Deny from " + rule.String()
	}
	return false, "Allow from " + rule.String()
}

// sanitizeHostName keeps a resolver's answer from breaking the log line.
func sanitizeHostName(s string) string {
	s = strings.TrimSuffix(s, ".")
	if s == "" || strings.IndexFunc(s, func(r rune) bool { return r <= ' ' || r > '~' || r == '"' }) >= 0 {
		return strconv.Quote(s)
	}
	return s
}

// errShutdown ends the wait for a request when the server shuts down.
var errShutdown = errors.New("server shutting down")

// idleError ends the wait for a request that did not come in time.
type idleError struct{ wait time.Duration }

func (e idleError) Error() string { return fmt.Sprintf("no request for %v", e.wait) }

// Step 2, receive: wait for the next request, then read it with its
// timeouts. The first byte may take IdleTimeout on a new connection and
// KeepAliveTimeout between requests; from it, the header section must
// arrive within HeaderTimeout, and the body may stall at most IdleTimeout.
func (c *conn) readRequest() (*Request, *head, error) {
	cfg := &c.s.cfg
	wait := cfg.IdleTimeout
	if c.served > 0 {
		wait = cfg.KeepAliveTimeout
	}
	// Bytes already buffered (a pipelined request) need no waiting.
	var kaw kaWait
	for timeout := wait; c.br.Buffered() == 0; {
		c.s.mu.Lock()
		if c.s.closing {
			c.s.mu.Unlock()
			return nil, nil, errShutdown
		}
		c.idle = true
		c.nc.SetReadDeadline(time.Now().Add(timeout))
		c.s.mu.Unlock()
		_, err := c.br.Peek(1)
		c.s.mu.Lock()
		c.idle = false
		closing := c.s.closing
		c.s.mu.Unlock()
		switch {
		case err != nil && closing:
			return nil, nil, errShutdown
		case isTimeout(err):
			if timeout = c.keepAliveMore(&kaw, time.Now()); timeout > 0 {
				continue
			}
			return nil, nil, idleError{wait}
		case err != nil:
			return nil, nil, err
		}
		break
	}
	if c.sniffH2() { // HTTP/2 with prior knowledge (h2.go)
		return nil, nil, nil
	}
	received := cfg.Now()
	c.nc.SetReadDeadline(time.Now().Add(cfg.HeaderTimeout))
	req, h, err := readHead(c.br, c.s.lim)
	if req != nil {
		c.fill(req, received)
	}
	if isTimeout(err) {
		err = &requestError{408, viz.ReasonHTTPRequestTimeout, fmt.Sprintf("the header section did not arrive within %v", cfg.HeaderTimeout)}
	}
	if err != nil {
		return req, h, err
	}
	if h.expectContinue && req.ProtoMinor == 1 {
		// RFC 9110 §10.1.1: the client waits for this before sending
		// the body. Its length was already checked against the limit.
		c.nc.SetWriteDeadline(time.Now().Add(cfg.IdleTimeout))
		c.bw.WriteString("HTTP/1.1 100 Continue\r\n\r\n")
		c.bw.Flush()
	}
	c.nc.SetReadDeadline(time.Now().Add(cfg.IdleTimeout))
	err = readBody(c.br, req, h, c.s.lim)
	if isTimeout(err) {
		err = &requestError{408, viz.ReasonHTTPRequestTimeout, fmt.Sprintf("the body stalled for %v", cfg.IdleTimeout)}
	}
	c.nc.SetReadDeadline(time.Time{})
	return req, h, err
}

// fill sets what the connection knows about a request.
func (c *conn) fill(req *Request, received time.Time) {
	req.RemoteAddr, req.LocalAddr, req.Conn = c.remote, c.local, c.id
	req.Received, req.Ident, req.RemoteHost = received, c.ident, c.remoteHost
}

func isTimeout(err error) bool {
	var ne net.Error
	return err != nil && (errors.As(err, &ne) && ne.Timeout() || errors.Is(err, os.ErrDeadlineExceeded))
}

// endOfRequests handles whatever stopped the wait for a request: a
// request that cannot be served (answered, then the connection closes), a
// clean close by the client, an idle timeout, a shutdown, a broken
// connection.
func (c *conn) endOfRequests(req *Request, h *head, err error) {
	st := c.st()
	c.s.mu.Lock()
	closedByServer := c.closeNoted
	c.s.mu.Unlock()
	var re *requestError
	switch {
	case closedByServer && !errors.As(err, &re):
		// Close closed it and said so: the read that failed is the
		// server's own doing, not a broken request.
		c.s.closes.add(CloseShutdown)
		c.close(false)
		return
	case errors.As(err, &re):
		c.answerError(req, h, re)
		c.close(true)
		return
	case err == io.EOF:
		c.s.closes.add(CloseClientDone)
		if st.on() {
			st.emit(c.id, "receive", viz.Note, "", fmt.Sprintf("the client closed its sending half after %d request(s): closing.", c.served),
				viz.F("requests", strconv.Itoa(c.served)))
		}
	case errors.As(err, new(idleError)):
		if c.served > 0 {
			c.s.closes.add(CloseKeepAlive)
		} else {
			c.s.closes.add(CloseIdleTimeout)
		}
		if st.on() {
			st.emit(c.id, "receive", viz.Note, "", err.Error()+": closing the idle connection.",
				viz.F("requests", strconv.Itoa(c.served)))
		}
	case err == errShutdown:
		c.s.closes.add(CloseShutdown)
		c.s.mu.Lock()
		noted := c.closeNoted
		c.s.mu.Unlock()
		if st.on() && !noted {
			st.emit(c.id, "receive", viz.Note, "", "the server is shutting down: closing the idle connection.")
		}
	default:
		msg := "the connection broke in the middle of a request: " + err.Error()
		if err == io.ErrUnexpectedEOF {
			msg = "the client closed the connection in the middle of a request."
			c.s.closes.add(CloseIncomplete)
		} else {
			c.s.closes.add(CloseBroken)
		}
		c.s.errorLog("", c.remote, msg)
		if st.on() {
			st.emit(c.id, "receive", viz.Drop, viz.ReasonHTTPIncomplete, msg)
		}
	}
	// Nothing of a request is pending: no need to linger.
	c.close(false)
}

// answerError answers a request that step 2 could not read: it is
// dropped (the receive step says why), answered with the error status, and
// the connection closes, since the rest of the byte stream cannot be
// trusted.
func (c *conn) answerError(req *Request, h *head, re *requestError) {
	if req == nil {
		req = &Request{Header: map[string][]string{}}
	}
	if req.Received.IsZero() {
		c.fill(req, c.s.cfg.Now())
	}
	if h == nil {
		h = &head{}
	}
	c.s.errorLog("", c.remote, fmt.Sprintf("%d %s: %s", re.Status, statusText(re.Status), re.Msg))
	if st := c.st(); st.on() {
		st.emit(c.id, "receive", viz.Drop, re.Reason,
			fmt.Sprintf("cannot read the request: %s; answering %d %s.", re.Msg, re.Status, statusText(re.Status)),
			viz.F("status", strconv.Itoa(re.Status)), viz.F("request_line", truncate(h.requestLine, 200)))
	}
	tx := &transaction{req: req, head: h, forceClose: true, closeWhy: "the request could not be read, so the rest of the stream cannot be trusted", closeAs: CloseRequestError}
	c.finish(tx, &Resource{Status: re.Status, Reason: string(re.Reason)})
}

// close ends the connection; gently (a lingering close) when the client
// may still be sending.
func (c *conn) close(gently bool) {
	if c.h2 != nil {
		c.h2.goAwayOnClose() // h2.go
	}
	if c.bw != nil {
		c.bw.Flush()
	}
	switch {
	case !gently:
		c.nc.Close()
	case c.mux:
		c.s.closeAsync(c.nc) // the multiplexer must not wait
	default:
		lingerClose(c.nc)
	}
}

// lingerClose sends FIN, then reads and discards what the client still
// sends for a while before closing: closing a socket with unread data
// makes TCP send a reset, and a reset can destroy the response the client
// has not read yet ("connection reset by peer").
func lingerClose(nc net.Conn) {
	if cw, ok := nc.(interface{ CloseWrite() error }); ok && cw.CloseWrite() == nil {
		lingerDrain(nc)
		return
	}
	nc.Close()
}

// lingerDrain is lingerClose after the FIN has been sent.
func lingerDrain(nc net.Conn) {
	nc.SetReadDeadline(time.Now().Add(lingerTimeout))
	io.CopyN(io.Discard, nc, lingerMaxBytes)
	nc.Close()
}

// IdentDialer returns a Config.Ident function that asks the client's
// identd (RFC 1413, TCP port 113 on the client's address) over dial, which
// may be packetwalk's (stack.Host.Dialer) or the kernel's
// ((&net.Dialer{}).DialContext). The query names the connection by its two
// ports, the client's first:
//
//	C: 49152 , 80
//	S: 49152 , 80 : USERID : UNIX : diana
//
// An ERROR answer (NO-USER, HIDDEN-USER, ...) is returned as an error.
func IdentDialer(dial func(ctx context.Context, network, addr string) (net.Conn, error)) func(ctx context.Context, local, remote netip.AddrPort) (string, error) {
	return func(ctx context.Context, local, remote netip.AddrPort) (string, error) {
		nc, err := dial(ctx, "tcp", netip.AddrPortFrom(remote.Addr(), 113).String())
		if err != nil {
			return "", err
		}
		defer nc.Close()
		if dl, ok := ctx.Deadline(); ok {
			nc.SetDeadline(dl)
		}
		query := fmt.Sprintf("%d , %d", remote.Port(), local.Port())
		if _, err := io.WriteString(nc, query+"\r\n"); err != nil {
			return "", err
		}
		// RFC 1413: lines are at most 1000 characters.
		line, err := bufio.NewReader(io.LimitReader(nc, 1000)).ReadString('\n')
		if err != nil && line == "" {
			return "", fmt.Errorf("ident: no answer: %w", err)
		}
		return parseIdentReply(line, remote.Port(), local.Port())
	}
}

// parseIdentReply reads "<port> , <port> : USERID : <os> : <user>" or
// "<port> , <port> : ERROR : <error>".
func parseIdentReply(line string, clientPort, serverPort uint16) (string, error) {
	line = strings.TrimRight(line, "\r\n")
	parts := strings.SplitN(line, ":", 4)
	if len(parts) < 3 {
		return "", fmt.Errorf("ident: malformed reply %q", truncate(line, 80))
	}
	ports := strings.Split(parts[0], ",")
	if len(ports) != 2 {
		return "", fmt.Errorf("ident: malformed port pair in %q", truncate(line, 80))
	}
	p1, e1 := strconv.Atoi(strings.TrimSpace(ports[0]))
	p2, e2 := strconv.Atoi(strings.TrimSpace(ports[1]))
	if e1 != nil || e2 != nil || p1 != int(clientPort) || p2 != int(serverPort) {
		return "", fmt.Errorf("ident: the reply is about another connection: %q", truncate(line, 80))
	}
	switch kind := strings.TrimSpace(parts[1]); kind {
	case "USERID":
		if len(parts) != 4 {
			return "", fmt.Errorf("ident: USERID reply without a user: %q", truncate(line, 80))
		}
		user := strings.TrimSpace(parts[3])
		if user == "" {
			return "", errors.New("ident: empty user id")
		}
		return user, nil
	case "ERROR":
		return "", fmt.Errorf("ident: %s", strings.TrimSpace(parts[2]))
	default:
		return "", fmt.Errorf("ident: unknown reply type %q", kind)
	}
}

// armWriteDeadline bounds the response about to be written by
// IdleTimeout, so that a client that stops reading holds the writer that
// long at most. Setting a deadline is a call into the stack (a trip
// through its loop on packetwalk's sockets), so on a busy persistent
// connection it is renewed only once a sixteenth of IdleTimeout has
// passed since it was last set: a write is then cut after between 15/16
// of IdleTimeout and IdleTimeout. The deadline stays set between
// responses; nothing else writes without setting its own.
func (c *conn) armWriteDeadline() {
	idle := c.s.cfg.IdleTimeout
	now := time.Now()
	if c.writeBy.Sub(now) > idle-idle/16 {
		return
	}
	c.writeBy = now.Add(idle)
	c.nc.SetWriteDeadline(c.writeBy)
}

// kaWait is where a persistent connection's wait for its next request
// is, across keep-alive timeouts (keepAliveMore).
type kaWait struct {
	since   time.Time // the first keep-alive timeout of this wait
	unacked bool      // the last check found the response unacknowledged
}

// keepAliveMore decides, when a persistent connection's KeepAliveTimeout
// has passed without a request, how much longer to wait (0: close it now).
// The timeout is meant to count the client's silence (RFC 9112 §9.5 lets
// a server close an inactive connection), not the time its last response
// spends unacknowledged: a client that waits for a response before
// sending its next request (wrk, a browser's persistent connection)
// sends it the moment the response arrives, and closing before then
// races that request, which a client that does not retry fails. So while
// the socket's send queue (SIOCOUTQ) still holds bytes of the response,
// it looks again every KeepAliveTimeout/8, and once they are acknowledged
// it gives the client a whole KeepAliveTimeout from then. It never waits
// past IdleTimeout in all.
func (c *conn) keepAliveMore(w *kaWait, now time.Time) time.Duration {
	cfg := &c.s.cfg
	if c.served == 0 {
		return 0
	}
	if w.since.IsZero() {
		w.since = now
	}
	if now.Sub(w.since) >= cfg.IdleTimeout {
		return 0
	}
	n := c.sendQueued()
	switch {
	case n > 0:
		if !w.unacked {
			c.s.closes.waitedInFlight.Add(1)
			if st := c.st(); st.on() {
				st.emit(c.id, "receive", viz.Note, "",
					fmt.Sprintf("no request for %v, but %d bytes of the last response are not acknowledged yet: the client may still be waiting for it, so the keep-alive timeout starts again once they are (RFC 9112 §9.5).", cfg.KeepAliveTimeout, n),
					viz.F("unacked", strconv.Itoa(n)), viz.F("requests", strconv.Itoa(c.served)))
			}
		}
		w.unacked = true
		return max(cfg.KeepAliveTimeout/8, time.Millisecond)
	case w.unacked:
		w.unacked = false
		return cfg.KeepAliveTimeout
	}
	return 0
}

// sendQueued is the bytes written to the connection that the client has
// not acknowledged yet: packetwalk's sockets say (stack.Conn.SendQueued),
// the kernel's are asked with SIOCOUTQ.
func (c *conn) sendQueued() int {
	if q, ok := c.nc.(interface{ SendQueued() int }); ok {
		return q.SendQueued()
	}
	return kernelSendQueued(c.nc)
}
