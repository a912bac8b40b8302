package scenario

import (
	"bufio"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/packetwalk/packetwalk/browser"
	"github.com/packetwalk/packetwalk/nic"
	"github.com/packetwalk/packetwalk/stack"
	"github.com/packetwalk/packetwalk/viz"
)

// ---- TCP: connections written through the socket API ----

// startTCP opens Connections connections one after another (or all at
// once with concurrent), each: socket, [bind], connect, the writes, the
// read, the close the scenario asks for.
func (r *runner) startTCP(c *TCPTraffic) {
	h := r.pw[c.From]
	dst, _ := r.sc.resolveTo(c.To, 0, r.sc.hostsByName())
	n := max(c.Connections, 1)
	if c.Concurrent {
		var left atomic.Int32
		left.Store(int32(n))
		for i := 0; i < n; i++ {
			r.spawn(func() {
				r.sleep(h, time.Duration(i)*c.Interval.D())
				r.oneTCP(h, c, dst, i)
				if left.Add(-1) == 0 {
					r.done()
				}
			})
		}
		return
	}
	r.spawn(func() {
		defer r.done()
		for i := 0; i < n; i++ {
			if i > 0 {
				r.sleep(h, c.Interval.D())
			}
			r.oneTCP(h, c, dst, i)
		}
	})
}

func (r *runner) oneTCP(h *stack.Host, c *TCPTraffic, dst netip.AddrPort, i int) {
	name := h.Name
	fail := func(call string, err error) {
		r.app(name, "tcp_error", fmt.Sprintf("connection %d to %s: %s failed: %v", i+1, dst, call, err),
			viz.F("call", call), viz.F("error", errnoName(err)))
	}
	fd, err := h.Socket(stack.AF_INET, stack.SOCK_STREAM)
	if err != nil {
		fail("socket", err)
		return
	}
	if c.SrcPort != 0 {
		if err := h.Bind(fd, netip.AddrPortFrom(h.Addr(), uint16(c.SrcPort))); err != nil {
			fail("bind", err)
			h.Close(fd)
			return
		}
	}
	if c.NoDelay {
		h.SetSockopt(fd, stack.IPPROTO_TCP, stack.TCP_NODELAY, 1)
	}
	if err := h.Connect(fd, dst); err != nil {
		fail("connect", err)
		h.Close(fd)
		return
	}
	written := 0
	for j, w := range c.Write {
		if j > 0 {
			r.sleep(h, c.Pause.D())
		}
		n, err := h.Write(fd, w.Bytes())
		written += n
		if err != nil {
			fail("write", err)
			h.Close(fd)
			return
		}
	}
	read := 0
	buf := make([]byte, 32<<10)
	for read < c.Read {
		n, err := h.Read(fd, buf[:min(len(buf), c.Read-read)])
		read += n
		if err != nil || n == 0 {
			break
		}
	}
	r.sleep(h, c.Hold.D())
	drain := func() {
		for {
			n, err := h.Read(fd, buf)
			if err != nil || n == 0 {
				return
			}
			read += n
		}
	}
	switch orDefault(c.Close, "close") {
	case "close":
		h.Close(fd)
	case "shutdown":
		h.Shutdown(fd, stack.SHUT_WR)
		drain()
		h.Close(fd)
	case "wait_eof":
		drain()
		h.Close(fd)
	}
	r.app(name, "tcp_done", fmt.Sprintf("connection %d to %s: wrote %d bytes, read %d", i+1, dst, written, read),
		viz.F("written", fmt.Sprint(written)), viz.F("read", fmt.Sprint(read)))
}

// errnoName gives the POSIX name in an error's text, e.g. EADDRNOTAVAIL.
func errnoName(err error) string {
	s := err.Error()
	if i := strings.LastIndex(s, "("); i >= 0 && strings.HasSuffix(s, ")") {
		return s[i+1 : len(s)-1]
	}
	return s
}

// ---- ping ----

func (r *runner) startPing(p *PingTraffic) {
	h := r.pw[p.From]
	dst, _ := r.sc.resolveTo(p.To, -1, r.sc.hostsByName())
	h.Ping(stack.PingConfig{Dst: dst.Addr(), Count: p.Count, Size: p.Size, Interval: p.Interval.D()},
		func(e stack.PingEvent) {
			fields := []viz.Field{viz.F("seq", fmt.Sprint(e.Seq)), viz.F("from", e.From.String())}
			if e.Err != "" {
				fields = append(fields, viz.F("error", e.Err))
			} else {
				fields = append(fields, viz.F("rtt_ms", fmt.Sprintf("%.3f", float64(e.RTT)/1e6)), viz.F("ttl", fmt.Sprint(e.TTL)))
			}
			r.app(h.Name, "ping_reply", e.String(), fields...)
		},
		func(st stack.PingStats) {
			r.app(h.Name, "ping_done", fmt.Sprintf("%d packets transmitted, %d received, %d errors", st.Transmitted, st.Received, st.Errors),
				viz.F("transmitted", fmt.Sprint(st.Transmitted)), viz.F("received", fmt.Sprint(st.Received)), viz.F("errors", fmt.Sprint(st.Errors)))
			r.done()
		})
}

// ---- UDP ----

func (r *runner) startUDP(u *UDPTraffic) {
	h := r.pw[u.From]
	dst, _ := r.sc.resolveTo(u.To, 0, r.sc.hostsByName())
	r.spawn(func() {
		defer r.done()
		fd, err := h.Socket(stack.AF_INET, stack.SOCK_DGRAM)
		if err != nil {
			r.app(h.Name, "udp_error", "socket failed: "+err.Error())
			return
		}
		defer h.Close(fd)
		if u.SrcPort != 0 {
			if err := h.Bind(fd, netip.AddrPortFrom(h.Addr(), uint16(u.SrcPort))); err != nil {
				r.app(h.Name, "udp_error", "bind failed: "+err.Error(), viz.F("error", errnoName(err)))
				return
			}
		}
		sent := 0
		for i := 0; i < max(u.Count, 1); i++ {
			if i > 0 {
				r.sleep(h, u.Interval.D())
			}
			if _, err := h.SendTo(fd, u.Payload.Bytes(), dst); err != nil {
				r.app(h.Name, "udp_error", fmt.Sprintf("sendto %s failed: %v", dst, err), viz.F("error", errnoName(err)))
				continue
			}
			sent++
		}
		r.app(h.Name, "udp_done", fmt.Sprintf("sent %d datagram(s) of %d bytes to %s", sent, len(u.Payload.Bytes()), dst),
			viz.F("sent", fmt.Sprint(sent)))
	})
}

// ---- crafted frames ----

func (r *runner) startFrame(f *FrameTraffic) {
	frame, _ := r.sc.buildFrame(f, r.sc.hostsByName())
	wire := r.wires[f.Wire]
	port := &injector{wire: f.Wire}
	wire.Attach(port)
	rec := r.net.Log.Recorder(injectorName)
	n := max(f.Count, 1)
	for i := 0; i < n; i++ {
		r.net.Clock.AfterFunc(time.Duration(i)*f.Interval.D(), func() {
			id := r.net.Log.NewFrameID()
			fr := nic.Frame(frame)
			if rec.On() {
				rec.Emit(viz.Event{Layer: viz.LayerNIC, Step: "tx", Verdict: viz.Send, Frame: id,
					Msg: fmt.Sprintf("crafted frame %s -> %s %s, %d bytes with FCS %#08x (%s)", fr.Src(), fr.Dst(), fr.EtherType(), len(frame), fr.FCS(),
						map[bool]string{true: "spoiled on purpose", false: "correct"}[f.BadFCS]),
					Fields: []viz.Field{viz.F("src", fr.Src().String()), viz.F("dst", fr.Dst().String()), viz.F("ethertype", fr.EtherType().String()),
						viz.F("len", fmt.Sprint(len(frame))), viz.F("fcs", fmt.Sprintf("%#08x", fr.FCS()))}})
				rec.Capture(viz.CapturedFrame{NIC: injectorNIC, MAC: fr.Src().String(), Dir: viz.Outbound, Frame: id, Data: frame, FCSError: f.BadFCS})
				rec.EndWalk(id)
			}
			wire.Transmit(port, append([]byte(nil), frame...), id)
			if i == n-1 {
				r.done()
			}
		})
	}
}

// ---- HTTP ----

// startHTTP fetches the paths. On a packetwalk client the requests are
// written by hand over the socket API (so that pipelining is possible and
// the run stays reproducible); on a gVisor client, Go's net/http does it.
func (r *runner) startHTTP(c *HTTPTraffic) {
	dst, _ := r.sc.resolveTo(c.To, 80, r.sc.hostsByName())
	mode := orDefault(c.Mode, "serial")
	if g, ok := r.gv[c.From]; ok {
		dial := func(ctx context.Context) (net.Conn, error) { return g.DialTCP(ctx, dst) }
		go func() {
			defer r.done()
			r.httpGVisor(c, dial, dst, mode)
		}()
		return
	}
	h := r.pw[c.From]
	dial := func() (net.Conn, error) { return h.DialTCP(r.ctx, dst) }
	if c.Client == "browser" {
		r.httpBrowser(c, h, dial, dst)
		return
	}
	switch mode {
	case "parallel":
		conns := c.Connections
		if conns == 0 {
			conns = 4
		}
		conns = min(conns, len(c.Get))
		var left atomic.Int32
		left.Store(int32(conns))
		for w := 0; w < conns; w++ {
			r.spawn(func() {
				for i := w; i < len(c.Get); i += conns {
					r.fetch(c, dial, []string{c.Get[i]}, false, false)
				}
				if left.Add(-1) == 0 {
					r.done()
				}
			})
		}
	case "serial":
		r.spawn(func() {
			defer r.done()
			for _, p := range c.Get {
				r.fetch(c, dial, []string{p}, false, false)
			}
		})
	case "persistent":
		r.spawn(func() {
			defer r.done()
			r.fetch(c, dial, c.Get, true, false)
		})
	case "pipelined":
		r.spawn(func() {
			defer r.done()
			r.fetch(c, dial, c.Get, true, true)
		})
	}
}

// fetch asks for paths over one connection (a new one if the server
// closes it): one request after another's response, or all written first
// (pipelined). keep asks for keep-alive.
func (r *runner) fetch(c *HTTPTraffic, dial func() (net.Conn, error), paths []string, keep, pipelined bool) {
	host := c.From
	var conn net.Conn
	var br *bufio.Reader
	defer func() {
		if conn != nil {
			conn.Close()
		}
	}()
	for len(paths) > 0 {
		if conn == nil {
			var err error
			if conn, err = dial(); err != nil {
				for _, p := range paths {
					r.httpResult(host, c, p, nil, nil, fmt.Errorf("connect: %v", err))
				}
				return
			}
			br = bufio.NewReader(conn)
		}
		batch := paths[:1]
		if pipelined {
			batch = paths
		}
		var reqs []*http.Request
		var out []byte
		for i, p := range batch {
			// The last request on a connection says Connection: close,
			// so that the server closes and the exchange ends cleanly.
			last := !keep || i == len(paths)-1
			req, text := r.request(c, p, last)
			reqs = append(reqs, req)
			out = append(out, text...)
		}
		if _, err := conn.Write(out); err != nil {
			r.httpResult(host, c, batch[0], nil, nil, fmt.Errorf("write: %v", err))
			return
		}
		served, closed := 0, false
		for i, req := range reqs {
			resp, err := http.ReadResponse(br, req)
			if err != nil {
				r.httpResult(host, c, batch[i], nil, nil, fmt.Errorf("read: %v", err))
				closed = true
				break
			}
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			r.httpResult(host, c, batch[i], resp, body, err)
			served++
			if resp.Close {
				closed = true
				break
			}
		}
		if served == 0 {
			return // the server answered nothing: do not try for ever
		}
		// What the server did not answer before closing goes on a new
		// connection, as a browser retries.
		paths = paths[served:]
		if closed || !keep {
			conn.Close()
			conn = nil
		}
	}
}

// request builds one request and its bytes.
func (r *runner) request(c *HTTPTraffic, path string, last bool) (*http.Request, []byte) {
	method := orDefault(c.Method, "GET")
	proto := "HTTP/1.1"
	if c.HTTP10 {
		proto = "HTTP/1.0"
	}
	dst, _ := r.sc.resolveTo(c.To, 80, r.sc.hostsByName())
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s %s\r\n", method, path, proto)
	hostHdr := dst.Addr().String()
	for _, k := range sortedKeys(c.Headers) {
		if strings.EqualFold(k, "Host") {
			hostHdr = c.Headers[k]
		}
	}
	fmt.Fprintf(&b, "Host: %s\r\nUser-Agent: packetwalk-lab\r\n", hostHdr)
	for _, k := range sortedKeys(c.Headers) {
		if !strings.EqualFold(k, "Host") {
			fmt.Fprintf(&b, "%s: %s\r\n", k, c.Headers[k])
		}
	}
	switch {
	case last && !c.HTTP10:
		b.WriteString("Connection: close\r\n")
	case !last && c.HTTP10:
		b.WriteString("Connection: keep-alive\r\n")
	}
	b.WriteString("\r\n")
	req, _ := http.NewRequest(method, "http://"+hostHdr+path, nil)
	return req, []byte(b.String())
}

// httpResult reports one response (or failure) as an app step.
func (r *runner) httpResult(host string, c *HTTPTraffic, path string, resp *http.Response, body []byte, err error) {
	method := orDefault(c.Method, "GET")
	if err != nil {
		r.app(host, "http_error", fmt.Sprintf("%s %s: FAILED: %v", method, path, err), viz.F("path", path), viz.F("error", err.Error()))
		return
	}
	msg := fmt.Sprintf("%s %s: %s, %d bytes, sha256 %x", method, path, resp.Status, len(body), sha256.Sum256(body))
	if loc := resp.Header.Get("Location"); loc != "" {
		msg = fmt.Sprintf("%s %s: %s -> %s, %d bytes", method, path, resp.Status, loc, len(body))
	}
	r.app(host, "http_response", msg, viz.F("path", path), viz.F("status", fmt.Sprint(resp.StatusCode)),
		viz.F("bytes", fmt.Sprint(len(body))), viz.F("type", resp.Header.Get("Content-Type")), viz.F("location", resp.Header.Get("Location")))
}

// httpBrowser visits the paths with packetwalk's browser (package
// browser): its judgements are steps of layer browser in the host's log,
// and each response it received is reported as an http_response app step
// too, with what the browser did with it (action) and why it was fetched
// (rel: "" for a page asked for, else stylesheet, image ...).
func (r *runner) httpBrowser(c *HTTPTraffic, h *stack.Host, dial func() (net.Conn, error), dst netip.AddrPort) {
	host := dst.Addr().String()
	if dst.Port() != 80 {
		host = dst.String()
	}
	br, err := browser.New(browser.Config{
		Dial:        dial,
		Host:        host,
		Connections: max(c.Connections, 1),
		Spawn:       r.spawn,
		Sleep:       func(d time.Duration) { h.Poll(nil, d) },
		Gzip:        c.Gzip == nil || *c.Gzip,
		HTTP2:       c.HTTP2,
		Rec:         r.net.Log.Recorder(c.From),
	})
	if err != nil {
		// validate bounds connections: this is not reached.
		r.app(c.From, "http_error", fmt.Sprintf("browser: %v", err), viz.F("error", err.Error()))
		r.done()
		return
	}
	r.spawn(func() {
		defer r.done()
		br.Visit(c.Get)
		for _, res := range br.Results() {
			if res.Err != nil && res.Code == 0 {
				r.app(c.From, "http_error", fmt.Sprintf("GET %s: FAILED: %v", res.Path, res.Err), viz.F("path", res.Path), viz.F("error", res.Err.Error()))
				continue
			}
			msg := fmt.Sprintf("GET %s: %s, %d bytes (%d on the wire), sha256 %x; the browser: %s", res.Path, res.Status, res.Bytes, res.Wire, res.Sum, res.Action)
			if res.Location != "" {
				msg = fmt.Sprintf("GET %s: %s -> %s", res.Path, res.Status, res.Location)
			}
			r.app(c.From, "http_response", msg, viz.F("path", res.Path), viz.F("status", fmt.Sprint(res.Code)),
				viz.F("bytes", fmt.Sprint(res.Bytes)), viz.F("wire_bytes", fmt.Sprint(res.Wire)), viz.F("type", res.Type),
				viz.F("encoding", orDefault(res.Encoding, "identity")), viz.F("action", string(res.Action)),
				viz.F("rel", res.Rel), viz.F("location", res.Location))
		}
	})
}

// httpGVisor fetches with Go's net/http on gVisor's netstack.
func (r *runner) httpGVisor(c *HTTPTraffic, dial func(context.Context) (net.Conn, error), dst netip.AddrPort, mode string) {
	t := &http.Transport{
		DialContext:       func(ctx context.Context, _, _ string) (net.Conn, error) { return dial(ctx) },
		DisableKeepAlives: mode == "serial" || mode == "parallel",
		MaxConnsPerHost:   max(c.Connections, 1),
	}
	if mode == "parallel" && c.Connections == 0 {
		t.MaxConnsPerHost = 4
	}
	defer t.CloseIdleConnections()
	hc := &http.Client{Transport: t, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func(p string) {
		req, _ := http.NewRequestWithContext(r.ctx, orDefault(c.Method, "GET"), "http://"+dst.String()+p, nil)
		for k, v := range c.Headers {
			if strings.EqualFold(k, "Host") {
				req.Host = v
			} else {
				req.Header.Set(k, v)
			}
		}
		if c.HTTP10 {
			req.Proto, req.ProtoMajor, req.ProtoMinor = "HTTP/1.0", 1, 0
		}
		resp, err := hc.Do(req)
		if err != nil {
			r.httpResult(c.From, c, p, nil, nil, err)
			return
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		r.httpResult(c.From, c, p, resp, body, err)
	}
	if mode != "parallel" {
		for _, p := range c.Get {
			get(p)
		}
		return
	}
	var wg sync.WaitGroup
	for _, p := range c.Get {
		wg.Add(1)
		go func() { defer wg.Done(); get(p) }()
	}
	wg.Wait()
}

var _ = errors.New
