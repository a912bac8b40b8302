package browser

import (
	"bufio"
	"crypto/sha256"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/packetwalk/packetwalk/viz"
)

// Config is what a browser needs.
type Config struct {
	// Dial opens a TCP connection to the server (on packetwalk's socket
	// API: stack.Host.DialTCP).
	Dial func() (net.Conn, error)
	// Host is the Host header, the server's name or address.
	Host string
	// Connections is how many connections the browser may keep open to
	// the server at once: 1 (the default) sends every request on one
	// persistent connection, one after the other (RFC 9112 §9.3); more
	// fetch a page's subresources on that many parallel connections, as
	// browsers do (they allow 6 per server). At most MaxConnections.
	Connections int
	// Spawn starts a goroutine (for the parallel connections); in a
	// seeded simulation it must be the loop's (stack.Network.Go), so that
	// the run stays reproducible. Default: the go statement.
	Spawn func(func())
	// Sleep waits a little while, on the simulation's clock when there is
	// one (the main goroutine waits so for the parallel loaders: it may
	// not block on a channel the simulation cannot see). Default:
	// time.Sleep.
	Sleep func(time.Duration)
	// Gzip asks for compressed responses (Accept-Encoding: gzip).
	Gzip bool
	// HTTP2 speaks HTTP/2 over cleartext with prior knowledge (h2.go):
	// one connection, the page and then all its subresources as streams
	// on it at once (RFC 9113). Connections is then ignored.
	HTTP2 bool
	// Rec records the browser's steps; nil records nothing.
	Rec *viz.Recorder
}

// MaxConnections bounds Config.Connections.
const MaxConnections = 16

// MaxRedirects bounds the redirects followed for one page (RFC 9110 §15.4
// leaves the limit to the client; browsers use about 20).
const MaxRedirects = 5

// Result is one response the browser received.
type Result struct {
	Path     string // as asked for
	Rel      string // "" for a page the user asked for, else why the page needed it
	Code     int
	Status   string // "200 OK"
	Location string
	Bytes    int // the data, after its content coding was undone
	Wire     int // the body as it crossed the network
	Sum      [32]byte
	Type     string
	Encoding string
	Action   Action
	Conn     uint64
	Err      error
}

// Browser fetches pages and what they need, and judges every response.
type Browser struct {
	cfg Config

	mu      sync.Mutex
	results []Result
	cache   map[string]bool // paths already fetched in this session
	idle    []*conn         // open connections, reused in order
	nextReq int
}

// New returns a browser.
func New(cfg Config) (*Browser, error) {
	if cfg.Dial == nil {
		return nil, fmt.Errorf("browser: Config.Dial is required")
	}
	if cfg.Connections == 0 {
		cfg.Connections = 1
	}
	if cfg.Connections < 1 || cfg.Connections > MaxConnections {
		return nil, fmt.Errorf("browser: %d connections: want 1 to %d", cfg.Connections, MaxConnections)
	}
	if cfg.Spawn == nil {
		cfg.Spawn = func(f func()) { go f() }
	}
	if cfg.Sleep == nil {
		cfg.Sleep = time.Sleep
	}
	return &Browser{cfg: cfg, cache: map[string]bool{}}, nil
}

// Results returns what was received, in the order it was.
func (b *Browser) Results() []Result {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]Result(nil), b.results...)
}

// conn is one connection to the server and the reader of its responses.
type conn struct {
	nc      net.Conn
	br      *bufio.Reader
	id      uint64
	reqs    int  // requests sent on it
	closing bool // the server announced it closes the connection
}

// Visit displays each page the user asks for, one after the other, with
// everything each page needs; then the browser closes its connections (the
// user closes the tab).
func (b *Browser) Visit(paths []string) {
	if b.cfg.HTTP2 {
		b.visitH2(paths)
		return
	}
	for _, p := range paths {
		b.page(p)
	}
	b.closeAll()
}

// page fetches a page the user asked for (following redirects), and then
// its subresources.
func (b *Browser) page(p string) {
	for hop := 0; ; hop++ {
		c, err := b.take()
		if err != nil {
			b.record(Result{Path: p, Err: err})
			return
		}
		r, j := b.get(c, p, "")
		b.give(c, r)
		b.cache[p] = true
		switch {
		case r.Err != nil:
			return
		case j.Action == Follow && hop < MaxRedirects:
			next, ok := b.sameServer(p, r.Location)
			if !ok {
				b.step(c.id, "redirect", fmt.Sprintf("Location %s is on another server: this browser talks to %s only and stops here", r.Location, b.cfg.Host))
				return
			}
			p = next
			continue
		case j.Action == Follow:
			b.step(c.id, "redirect", fmt.Sprintf("more than %d redirections: the browser gives up (RFC 9110 §15.4)", MaxRedirects))
			return
		case j.Action == ShowHTML:
			b.fetchAll(p, subresources(p, j.Data))
		}
		return
	}
}

// fetchAll fetches a page's subresources, over the one persistent
// connection or over several in parallel.
func (b *Browser) fetchAll(page string, subs []Subresource) {
	var todo []Subresource
	for _, s := range subs {
		if b.cache[s.Path] {
			b.step(0, "cache", fmt.Sprintf("%s is already in the browser's memory from this visit: not asked for again", s.Path))
			continue
		}
		b.cache[s.Path] = true
		todo = append(todo, s)
	}
	if len(todo) == 0 {
		return
	}
	n := min(b.cfg.Connections, len(todo))
	names := make([]string, len(todo))
	for i, s := range todo {
		names[i] = s.Path + " (" + s.Rel + ")"
	}
	how := "one after the other on the same persistent connection (RFC 9112 §9.3): no new handshake"
	if n > 1 {
		how = fmt.Sprintf("on %d connections in parallel, each with its own handshake and congestion window", n)
	}
	b.step(0, "subresources", fmt.Sprintf("%s needs %d more resource(s) to be displayed: %s; fetching them %s",
		page, len(todo), strings.Join(names, ", "), how), viz.F("count", fmt.Sprint(len(todo))), viz.F("connections", fmt.Sprint(n)))
	if n == 1 {
		b.load(todo, false)
		return
	}
	// Share the list round-robin; connection k's loader runs on a
	// goroutine of its own, the first on this one.
	var left atomic.Int32
	left.Store(int32(n))
	for k := 1; k < n; k++ {
		var share []Subresource
		for i := k; i < len(todo); i += n {
			share = append(share, todo[i])
		}
		b.cfg.Spawn(func() {
			defer left.Add(-1)
			b.load(share, true)
		})
	}
	var mine []Subresource
	for i := 0; i < len(todo); i += n {
		mine = append(mine, todo[i])
	}
	b.load(mine, false)
	left.Add(-1)
	for left.Load() > 0 {
		// Short steps: the browser goes on (to the next page, or to
		// close) at most 50 µs after the last loader finished.
		b.cfg.Sleep(50 * time.Microsecond)
	}
}

// load fetches resources one after the other on one connection.
// A loader started for a parallel fetch (fresh) opens a connection of its
// own rather than taking an idle one, so that n loaders use n connections
// whatever order they run in.
func (b *Browser) load(subs []Subresource, fresh bool) {
	var c *conn
	for _, s := range subs {
		var err error
		switch {
		case c != nil && !c.closing:
		case fresh:
			c, err = b.dial()
		default:
			c, err = b.take()
		}
		if err != nil {
			b.record(Result{Path: s.Path, Rel: s.Rel, Err: err})
			c = nil
			continue
		}
		r, _ := b.get(c, s.Path, s.Rel)
		if r.Err != nil || c.closing {
			c.nc.Close()
			c = nil
		}
	}
	if c != nil {
		b.give(c, Result{})
	}
}

// take returns an idle connection, or opens one.
func (b *Browser) take() (*conn, error) {
	b.mu.Lock()
	if len(b.idle) > 0 {
		c := b.idle[0]
		b.idle = b.idle[1:]
		b.mu.Unlock()
		return c, nil
	}
	b.mu.Unlock()
	return b.dial()
}

// dial opens a new connection. The browser does not speak TCP itself:
// it asks the protocol stack for a connection through the socket library
// (socket(), then connect()), and the stack does the handshake.
func (b *Browser) dial() (*conn, error) {
	b.step(0, "connect", fmt.Sprintf("asks the protocol stack for a new connection to %s through the socket library: socket(), then connect(), which returns once the stack's handshake is done", b.cfg.Host))
	nc, err := b.cfg.Dial()
	if err != nil {
		return nil, fmt.Errorf("connect: %v", err)
	}
	c := &conn{nc: nc, br: bufio.NewReader(nc)}
	if ic, ok := nc.(interface{ ConnID() uint64 }); ok {
		c.id = ic.ConnID()
	}
	return c, nil
}

// give puts a connection back, unless it can no longer be used.
func (b *Browser) give(c *conn, r Result) {
	if r.Err != nil || c.closing {
		c.nc.Close()
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.idle = append(b.idle, c)
}

// closeAll closes the idle connections: the browser is done with the
// server (the user closed the tab), so it sends the first FIN.
func (b *Browser) closeAll() {
	b.mu.Lock()
	idle := b.idle
	b.idle = nil
	b.mu.Unlock()
	for _, c := range idle {
		b.step(c.id, "close", fmt.Sprintf("done with the server: the browser closes its connection after %d request(s) on it", c.reqs))
		c.nc.Close()
	}
}

// get sends one request on c and judges its response.
func (b *Browser) get(c *conn, p, rel string) (Result, Judgement) {
	r := Result{Path: p, Rel: rel, Conn: c.id}
	msg := b.request(p, rel)
	c.reqs++
	reuse := "a new connection"
	if c.reqs > 1 {
		reuse = fmt.Sprintf("the open connection (request %d on it: no handshake)", c.reqs)
	}
	first, _, _ := strings.Cut(msg, "\r\n")
	b.step(c.id, "request", fmt.Sprintf("writes %q and its headers, %d bytes, on %s: the protocol stack splits them into segments", first, len(msg), reuse),
		viz.F("path", p), viz.F("bytes", fmt.Sprint(len(msg))))
	if _, err := io.WriteString(c.nc, msg); err != nil {
		r.Err = fmt.Errorf("write: %v", err)
		b.record(r)
		return r, Judgement{}
	}
	req, _ := http.NewRequest("GET", "http://"+b.cfg.Host+p, nil)
	resp, err := http.ReadResponse(c.br, req)
	if err != nil {
		r.Err = fmt.Errorf("read: %v", err)
		b.record(r)
		return r, Judgement{}
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxDecodedBytes+1))
	resp.Body.Close()
	if err == nil && len(body) > MaxDecodedBytes {
		err = fmt.Errorf("the body is longer than %d bytes", MaxDecodedBytes)
	}
	if err != nil {
		r.Err = fmt.Errorf("read: %v", err)
		b.record(r)
		return r, Judgement{}
	}
	r.Code, r.Status, r.Wire, r.Location = resp.StatusCode, resp.Status, len(body), resp.Header.Get("Location")
	framing := "Content-Length"
	switch {
	case len(resp.TransferEncoding) > 0:
		framing = "chunked transfer coding"
	case resp.ContentLength < 0:
		framing = "the server closing the connection"
	}
	b.step(c.id, "response", fmt.Sprintf("the stack handed up the response: %s, a %d-byte body delimited by %s (RFC 9112 §6.3)", resp.Status, len(body), framing),
		viz.F("path", p), viz.F("status", fmt.Sprint(resp.StatusCode)), viz.F("bytes", fmt.Sprint(len(body))))

	j, steps := judge(p, rel, resp, body)
	for _, s := range steps {
		fields := []viz.Field{viz.F("path", p)}
		for _, kv := range s.fields {
			fields = append(fields, viz.F(kv[0], kv[1]))
		}
		b.step(c.id, s.name, s.msg, fields...)
	}
	r.Type, r.Encoding, r.Action, r.Bytes, r.Sum = j.MediaType, j.Encoding, j.Action, len(j.Data), sha256.Sum256(j.Data)
	if j.Err != nil {
		r.Err = j.Err
	} else if s := b.show(p, j); s != "" {
		b.step(c.id, "display", s, viz.F("path", p), viz.F("action", string(j.Action)))
	}
	// A server that said "Connection: close" closes after this response;
	// the next request goes on a new connection (RFC 9112 §9.6).
	c.closing = resp.Close
	b.record(r)
	return r, j
}

// request builds a request message as a browser writes it.
func (b *Browser) request(p, rel string) string {
	accept := "text/html,*/*;q=0.8"
	switch rel {
	case "stylesheet":
		accept = "text/css,*/*;q=0.1"
	case "image":
		accept = "image/png,image/*;q=0.8,*/*;q=0.5"
	case "script":
		accept = "*/*"
	}
	var s strings.Builder
	fmt.Fprintf(&s, "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: packetwalk-browser/1\r\nAccept: %s\r\nAccept-Language: en\r\n", p, b.cfg.Host, accept)
	if b.cfg.Gzip {
		s.WriteString("Accept-Encoding: gzip\r\n")
	}
	s.WriteString("\r\n")
	return s.String()
}

// show says what the browser does with judged data (the seed's step 2).
func (b *Browser) show(p string, j Judgement) string {
	switch j.Action {
	case ShowHTML:
		subs := subresources(p, j.Data)
		return fmt.Sprintf("displays the HTML page: interprets its tags to lay it out, %d characters in %s; it names %d resource(s) the page needs",
			len(j.Data), j.Charset, len(subs))
	case UseResource:
		return fmt.Sprintf("uses the %s (%d bytes) to display the page", j.MediaType, len(j.Data))
	case ShowText:
		return fmt.Sprintf("displays the text as it is: %d lines in %s", strings.Count(string(j.Data), "\n")+1, j.Charset)
	case ShowImage:
		if j.ImageFmt != "" {
			return fmt.Sprintf("decompresses the %s image, %dx%d pixels, and draws it", strings.ToUpper(j.ImageFmt), j.Image.Width, j.Image.Height)
		}
		return fmt.Sprintf("cannot decode the %s data as a picture: shows a broken-image icon", j.MediaType)
	case Save:
		return fmt.Sprintf("cannot display raw bytes: offers to save the %d bytes as %s", len(j.Data), baseName(p))
	case HandOff:
		return fmt.Sprintf("does not display %s itself: hands the %d bytes to the application registered for it", j.MediaType, len(j.Data))
	case ShowError:
		return fmt.Sprintf("displays the server's error page (%d bytes)", len(j.Data))
	}
	return ""
}

// sameServer resolves a redirect's Location against the page and returns
// the path if it is on this browser's server.
func (b *Browser) sameServer(page, loc string) (string, bool) {
	base := &url.URL{Scheme: "http", Host: b.cfg.Host, Path: page}
	u, err := url.Parse(loc)
	if err != nil {
		return "", false
	}
	r := base.ResolveReference(u)
	if r.Host != b.cfg.Host {
		return "", false
	}
	p := r.EscapedPath()
	if r.RawQuery != "" {
		p += "?" + r.RawQuery
	}
	return p, true
}

func (b *Browser) record(r Result) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.results = append(b.results, r)
}

func (b *Browser) step(conn uint64, name, msg string, fields ...viz.Field) {
	if b.cfg.Rec == nil || !b.cfg.Rec.On() {
		return
	}
	b.cfg.Rec.Emit(viz.Event{Layer: viz.LayerBrowser, Step: name, Conn: conn, Msg: msg, Fields: fields})
}

func baseName(p string) string {
	if i := strings.LastIndex(p, "/"); i >= 0 && i < len(p)-1 {
		return p[i+1:]
	}
	return "download"
}
