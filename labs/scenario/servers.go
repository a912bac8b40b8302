package scenario

import (
	"fmt"
	"io/fs"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/packetwalk/packetwalk/httpd"
	"github.com/packetwalk/packetwalk/stack"
	"github.com/packetwalk/packetwalk/viz"
)

// simEpoch is the wall-clock date at virtual time zero, for httpd's Date
// headers and log lines: a fixed date keeps the bytes of every response,
// and so the whole log, the same from run to run.
var simEpoch = time.Date(2026, time.January, 5, 9, 0, 0, 0, time.UTC)

// startServer starts a server application on its host: listen at once,
// accept from accept_after on.
func (r *runner) startServer(s *Server) error {
	h := r.pw[s.Host]
	backlog := s.Backlog
	if backlog == 0 {
		backlog = 16
	}
	addr := netip.AddrPortFrom(h.Addr(), uint16(s.Port))
	if s.Kind == "udp-echo" {
		r.spawn(func() { r.udpEcho(h, addr) })
		return nil
	}
	var serve func(ln net.Listener)
	switch s.Kind {
	case "http":
		srv, err := r.httpServer(s, h)
		if err != nil {
			return err
		}
		serve = func(ln net.Listener) {
			if s.NoDelay {
				ln = noDelayListener{ln}
			}
			srv.Serve(ln)
		}
	default:
		serve = func(ln net.Listener) { r.acceptLoop(h, s, ln) }
	}
	var ln net.Listener
	r.spawn(func() {
		var err error
		ln, err = h.ListenTCP(addr, backlog)
		if err != nil {
			r.app(h.Name, "server_error", fmt.Sprintf("listen on %s failed: %v", addr, err))
			ln = nil
			return
		}
		if s.NoAccept {
			return
		}
		if s.AcceptAfter == 0 {
			serve(ln)
			return
		}
		r.sleep(h, s.AcceptAfter.D())
		serve(ln)
	})
	return nil
}

// acceptLoop serves echo, discard and rpc connections, one goroutine
// each.
func (r *runner) acceptLoop(h *stack.Host, s *Server, ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		r.spawn(func() { r.serveConn(h, s, c) })
	}
}

func (r *runner) serveConn(h *stack.Host, s *Server, c net.Conn) {
	defer c.Close()
	if s.NoDelay {
		if sc, ok := c.(*stack.Conn); ok {
			sc.SetNoDelay(true)
		}
	}
	buf := make([]byte, 64<<10)
	switch s.Kind {
	case "echo":
		for {
			n, err := c.Read(buf)
			if n > 0 {
				if _, err := c.Write(buf[:n]); err != nil {
					return
				}
				if s.CloseFirst {
					return
				}
			}
			if err != nil || n == 0 {
				return
			}
		}
	case "canned":
		// type-o-serve: show the request, answer what the teacher
		// typed, close (seed 000, "type-o-serve").
		head := 0
		var req []byte
		for !strings.Contains(string(req), "\r\n\r\n") && !strings.Contains(string(req), "\n\n") && head < len(buf) {
			n, err := c.Read(buf[head:])
			head += n
			req = buf[:head]
			if err != nil || n == 0 {
				break
			}
		}
		r.app(h.Name, "canned_request", fmt.Sprintf("type-o-serve read %d bytes: %q", len(req), firstLine(string(req))),
			viz.F("bytes", fmt.Sprint(len(req))))
		c.Write([]byte(crlf(s.Response)))
	case "discard":
		got, paused := 0, false
		for {
			want := len(buf)
			if s.Pause > 0 && !paused {
				want = min(want, s.PauseAfter.Size-got)
			}
			if want == 0 {
				// The reader that pauses: its receive buffer fills
				// and the window it advertises closes; the sender
				// probes it with its persist timer (RFC 9293
				// §3.8.6.1) until this reader reads on.
				paused = true
				r.app(h.Name, "read_pause", fmt.Sprintf("the reader stops reading for %v after %d bytes", s.Pause.D(), got),
					viz.F("after", fmt.Sprint(got)), viz.F("pause", s.Pause.D().String()))
				r.sleep(h, s.Pause.D())
				r.app(h.Name, "read_resume", fmt.Sprintf("the reader reads on after %v", s.Pause.D()))
				continue
			}
			n, err := c.Read(buf[:want])
			got += n
			if err != nil || n == 0 {
				return
			}
		}
	case "rpc":
		// The seed's request-response exchange: read a whole request,
		// then answer it (the pattern that makes Nagle and delayed ACKs
		// stall each other).
		resp := Payload{Size: s.ResponseBytes, IsLen: true}.Bytes()
		for {
			got := 0
			for got < s.RequestBytes {
				n, err := c.Read(buf[:min(len(buf), s.RequestBytes-got)])
				got += n
				if err != nil || n == 0 {
					return
				}
			}
			if _, err := c.Write(resp); err != nil {
				return
			}
			if s.CloseFirst {
				return
			}
		}
	}
}

// noDelayListener sets TCP_NODELAY on each connection it accepts, for
// httpd, which leaves Nagle's algorithm on (RFC 1122 §4.2.3.4): a
// response's last small segment then waits for the ACK of the segments
// before it, which the client may delay.
type noDelayListener struct{ net.Listener }

func (l noDelayListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if sc, ok := c.(*stack.Conn); ok && err == nil {
		sc.SetNoDelay(true)
	}
	return c, err
}

// udpEcho answers every datagram with its copy.
func (r *runner) udpEcho(h *stack.Host, addr netip.AddrPort) {
	fd, err := h.Socket(stack.AF_INET, stack.SOCK_DGRAM)
	if err == nil {
		err = h.Bind(fd, addr)
	}
	if err != nil {
		r.app(h.Name, "server_error", fmt.Sprintf("udp-echo on %s failed: %v", addr, err))
		return
	}
	buf := make([]byte, 65536)
	for {
		n, from, err := h.RecvFrom(fd, buf)
		if err != nil {
			return
		}
		h.SendTo(fd, buf[:n], from)
	}
}

// httpServer builds httpd for a server: the demo site, or the scenario's
// files written to a temporary folder that relative paths of the inline
// config refer to.
func (r *runner) httpServer(s *Server, h *stack.Host) (*httpd.Server, error) {
	cfg := httpd.Config{}
	if s.Config != "" {
		c, err := httpd.ParseConfig(fmt.Sprintf("%s:%d (config)", r.sc.File, s.Line), strings.NewReader(s.Config))
		if err != nil {
			return nil, err
		}
		cfg = c
	}
	var root fs.FS
	if len(s.Files) > 0 {
		dir, err := os.MkdirTemp("", "packetwalk-lab-site-")
		if err != nil {
			return nil, fmt.Errorf("cannot create the site's folder: %v", err)
		}
		r.cleanup = append(r.cleanup, func() { os.RemoveAll(dir) })
		for _, name := range sortedKeys(s.Files) {
			p := filepath.Join(dir, filepath.FromSlash(strings.TrimPrefix(name, "/")))
			if !strings.HasPrefix(p, dir+string(filepath.Separator)) {
				return nil, r.sc.errf(s.Line, "files: %q leaves the site's folder", name)
			}
			err := os.MkdirAll(filepath.Dir(p), 0o755)
			if err == nil {
				data := []byte(s.Files[name])
				if pad, ok := s.Pad[name]; ok {
					data = append(data, Payload{Size: pad.Size - len(data), IsLen: true}.Bytes()...)
				}
				err = os.WriteFile(p, data, 0o644)
			}
			if err == nil {
				// A fixed date keeps Last-Modified the same in every run.
				err = os.Chtimes(p, simEpoch, simEpoch)
			}
			if err != nil {
				return nil, fmt.Errorf("cannot write the site's file %s: %v", name, err)
			}
		}
		in := func(p string) string {
			if p == "" || filepath.IsAbs(p) && !strings.HasPrefix(p, "/") {
				return p
			}
			return filepath.Join(dir, filepath.FromSlash(strings.TrimPrefix(p, "/")))
		}
		cfg.Map.DocRoot = in(cfg.Map.DocRoot)
		if cfg.Map.DocRoot == "" {
			cfg.Map.DocRoot = dir
		}
		for name, vh := range cfg.Map.VHosts {
			vh.DocRoot = in(vh.DocRoot)
			cfg.Map.VHosts[name] = vh
		}
		for u, home := range cfg.Map.UserDirs {
			cfg.Map.UserDirs[u] = in(home)
		}
	} else if cfg.Map.DocRoot == "" {
		root = httpd.DemoSite()
		if s.Config == "" {
			cfg.Map.DirectoryIndex, cfg.Map.Listings, cfg.Map.SSI = []string{"index.html", "index.htm"}, true, true
		}
	}
	if s.Arch != "" {
		cfg.Arch = s.Arch
	}
	if s.Workers != 0 {
		cfg.Workers = s.Workers
	}
	if cfg.Arch == "" {
		cfg.Arch = httpd.ArchSingle
	}
	if cfg.Arch == httpd.ArchMultiplexed || cfg.Arch == httpd.ArchEvent {
		cfg.Poller = stack.Poller{Host: h}
	}
	now := func() time.Time { return simEpoch.Add(r.net.Clock.Now()) }
	cfg.Now = now
	if cfg.ServerName == "" {
		cfg.ServerName = "packetwalk-lab"
	}
	if !r.paced {
		cfg.Spawn = r.net.Go
	}
	if err := cfg.Validate(); err != nil {
		return nil, r.sc.errf(s.Line, "server: %v", err)
	}
	m := httpd.NewMapper(cfg.Map, root)
	m.Now = now
	return httpd.New(cfg, m, r.net.Log.Recorder(h.Name)), nil
}

var _ = viz.LayerApp

// crlf turns bare newlines into CRLF, as a terminal's typed lines become
// on the wire.
func crlf(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\n", "\r\n")
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return strings.TrimSuffix(line, "\r")
}
