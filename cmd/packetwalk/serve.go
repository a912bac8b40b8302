package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/packetwalk/packetwalk/clock"
	"github.com/packetwalk/packetwalk/httpd"
	"github.com/packetwalk/packetwalk/viz"
	"github.com/packetwalk/packetwalk/viz/text"
)

// readyFileVar names the file into which serve (and type-o-serve) write
// the address they listen on, once they listen: with --listen HOST:0 it
// is how a test or a script learns the port the kernel chose.
const readyFileVar = "PACKETWALK_READY_FILE"

// serveShutdownTimeout is how long a stopping server lets requests in
// progress finish before it closes what is left.
const serveShutdownTimeout = 5 * time.Second

// runServe is `packetwalk serve --listen HOST:PORT`: httpd on the kernel's
// sockets, for comparison with packetwalk's own stack and for curl. It
// runs until SIGINT or SIGTERM, then shuts down gracefully.
func runServe(args []string, stdout, stderr io.Writer) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// Once the first signal has begun the shutdown, a second one ends
	// the process at once, as without a handler.
	go func() { <-ctx.Done(); stop() }()
	return serveCommand(ctx, args, stdout, stderr, nil)
}

// serveFlags are serve's command line.
type serveFlags struct {
	listen    string
	docroot   string
	vhosts    stringList
	config    string
	accessLog string
	errorLog  string
	arch      string
	jsonPath  string
	quiet     bool

	// The device branch (serve_tun.go).
	tun, tap, addr, pcap string
	port                 int
	noConfigure          bool
	user                 string    // --user: whom to run as once the device is open (privilege.go)
	server               string    // --server: httpd, or nethttp to compare with Go's server on the same stack
	backlog              int       // --backlog: the listening socket's backlog on the device
	link                 linkFlags // impairments between the device and the NIC (device_link.go)

	// The live view (serve_viz.go): --viz ADDR, and its server once started.
	viz string
	// --expvar ADDR: Go's /debug/vars on a kernel listener (serve_expvar.go).
	expvar string
	// --cpuprofile FILE: a CPU profile of the whole run (serve_expvar.go).
	cpuprofile string
	live       *liveView
	view       viewFlags // the narration's filters (outputs.go)
}

func (f *serveFlags) flagSet() *flag.FlagSet {
	fs := newFlagSet("serve")
	fs.StringVar(&f.listen, "listen", "", "listen on `HOST:PORT` with the kernel's sockets, e.g. 127.0.0.1:8080 (port 0: any free port)")
	fs.StringVar(&f.docroot, "docroot", "", "serve this folder (`DIR`; default: the config's DocumentRoot, else the embedded demo site)")
	fs.Var(&f.vhosts, "vhost", "a virtual host `NAME=DIR`: requests with Host NAME are served from DIR (repeatable)")
	fs.StringVar(&f.config, "config", "", "read this config `FILE` (Apache-like directives; see the README)")
	fs.StringVar(&f.accessLog, "access-log", "", "append the access log (Common Log Format) to this `FILE`")
	fs.StringVar(&f.errorLog, "error-log", "", "append the error log to this `FILE`")
	fs.Var(newChoice(&f.arch, "", httpd.ArchSingle, httpd.ArchPool, httpd.ArchMultiplexed, httpd.ArchEvent), "arch", "I/O architecture: single (one connection at a time), pool (a goroutine per connection, bounded), multiplexed (one event loop answers every request) or event (event loops hand complete requests to a pool of workers; the default)")
	fs.StringVar(&f.jsonPath, "json", "", "stream the step log to this JSON Lines `FILE`, one line per step as it happens")
	fs.BoolVar(&f.quiet, "quiet", false, "do not narrate the steps on standard output")
	f.view.registerFilters(fs)
	fs.StringVar(&f.tun, "tun", "", "serve on this TUN device (`NAME`) with packetwalk's own stack (created if it does not exist; needs root)")
	fs.StringVar(&f.tap, "tap", "", "serve on this TAP device (`NAME`) with packetwalk's own stack: Ethernet frames and ARP with the kernel (created if it does not exist; needs root)")
	fs.StringVar(&f.addr, "addr", "", "with --tun or --tap: packetwalk's address and prefix (`CIDR`), e.g. 10.9.0.2/24 (the kernel side gets the first other address, 10.9.0.1)")
	fs.IntVar(&f.port, "port", 80, "with --tun or --tap: the port httpd listens on")
	fs.IntVar(&f.backlog, "backlog", tunBacklog, "with --tun or --tap: listen()'s backlog, the connections that may wait for accept() and in the handshake (a SYN beyond it is dropped as backlog_full, or answered with a SYN cookie)")
	fs.BoolVar(&f.noConfigure, "no-configure", false, "with --tun or --tap: leave the kernel side of the device alone and print the ip commands that configure it")
	fs.StringVar(&f.user, "user", "", "with --tun or --tap: once the device is open, run as this user `NAME` (default: the user who ran sudo, else nobody; root keeps root)")
	fs.Var(newChoice(&f.server, "httpd", "httpd", "nethttp"), "server", "with --tun or --tap: the web server on packetwalk's stack: httpd (the seven steps, narrated) or nethttp (Go's net/http.FileServer, to compare the two servers on the same stack)")
	fs.StringVar(&f.pcap, "pcap", "", "with --tun or --tap: stream a pcapng capture of the NIC's frames to this `FILE`")
	fs.StringVar(&f.expvar, "expvar", "", "serve Go's expvar page (/debug/vars: goroutines, memory, the stack's counters) and profiles (/debug/pprof/) on `HOST:PORT`, e.g. 127.0.0.1:6060, for soak tests and monitoring")
	fs.StringVar(&f.cpuprofile, "cpuprofile", "", "write a CPU profile of the run to `FILE` when the server stops (go tool pprof -top FILE)")
	fs.StringVar(&f.viz, "viz", "", "serve the live view on `HOST:PORT`, e.g. 127.0.0.1:8081: the HTML report's page, following the steps as they happen")
	f.link.registerImpairments(fs)
	f.link.registerTCP(fs)
	return fs
}

// serveCommand is serve until ctx is done. ready, if not nil, is told the
// listening address (tests use it; the environment's PACKETWALK_READY_FILE
// is the same hook for other programs).
func serveCommand(ctx context.Context, args []string, stdout, stderr io.Writer, ready func(net.Addr)) error {
	var f serveFlags
	fs0 := f.flagSet()
	if err := parseFlags(fs0, args, stdout, stderr); err != nil {
		return err
	}
	if err := f.view.check(); err != nil {
		return err
	}
	stopExpvar, err := startExpvar(f.expvar)
	if err != nil {
		return err
	}
	defer stopExpvar()
	stopProfile, err := startCPUProfile(f.cpuprofile)
	if err != nil {
		return err
	}
	defer stopProfile()
	live, err := startLiveView(&f, stdout)
	if err != nil {
		return err
	}
	defer live.close()
	f.live = live
	switch f.arch {
	case "", httpd.ArchSingle, httpd.ArchPool, httpd.ArchMultiplexed, httpd.ArchEvent:
	default:
		fmt.Fprintf(stderr, "packetwalk serve: --arch %q is not single, pool, multiplexed or event.\n", f.arch)
		return errUsage
	}
	switch {
	case f.tun != "" || f.tap != "" || f.addr != "":
		return serveTUN(ctx, &f, stdout, stderr, ready)
	case f.pcap != "":
		fmt.Fprintln(stderr, "packetwalk serve: --pcap needs the frames of a TUN or TAP device, which come with the TUN issue; with --listen the kernel handles the frames (capture them with: tcpdump -i lo -w FILE).")
		return errUsage
	case f.server != "httpd":
		fmt.Fprintln(stderr, "packetwalk serve: --server chooses the web server on packetwalk's stack, which needs --tun or --tap; with --listen, httpd serves.")
		return errUsage
	case f.user != "":
		fmt.Fprintln(stderr, "packetwalk serve: --user gives up root once a TUN or TAP device is open; with --listen, start packetwalk as the user you want it to run as.")
		return errUsage
	case f.link.deviceLink() != nil:
		fmt.Fprintln(stderr, "packetwalk serve: --loss, --dup, --reorder, --corrupt and --fault impair the frames between a TUN or TAP device and packetwalk's NIC; with --listen the kernel handles the frames (use 'packetwalk trace' with the same flags for a simulated wire).")
		return errUsage
	}

	cfg, root, docDesc, err := serveConfig(&f)
	if err != nil {
		return err
	}
	if f.listen == "" {
		fmt.Fprintln(stderr, "packetwalk serve: say where to listen with --listen HOST:PORT, e.g. --listen 127.0.0.1:8080 (or a Listen line in --config).")
		return errUsage
	}
	if _, port, err := net.SplitHostPort(f.listen); err != nil || !validPort(port) {
		fmt.Fprintf(stderr, "packetwalk serve: --listen %q is not HOST:PORT with a port 0..65535, e.g. 127.0.0.1:8080.\n", f.listen)
		return errUsage
	}

	// Listen first: a port in use must not cost the files of a server
	// that is still running (its --json, its logs).
	ln, err := net.Listen("tcp", f.listen)
	if err != nil {
		return listenError(f.listen, err)
	}
	defer ln.Close()

	// The step log: wall-clock time, narrated live and streamed to --json.
	log := viz.NewLog(clock.NewWall(nil))
	f.live.attach(log)
	narr := newLiveNarrator(stdout, f.view.narration(stdout))
	defer narr.Close()
	if !f.quiet {
		log.AddSink(narr.Sink())
	}
	out, err := openOutputs(log, stdout, true, f.jsonPath, "")
	if err != nil {
		return err
	}
	if out.jsonl != nil {
		out.jsonl.FlushEach = true // a live file that a viewer may tail
	}
	outClosed := false
	defer func() {
		if !outClosed {
			out.close()
		}
	}()

	closeLogs, err := cfg.OpenLogs()
	if err != nil {
		return fmt.Errorf("cannot open a log file: %v", err)
	}
	defer closeLogs()

	mapper := httpd.NewMapper(cfg.Map, root)
	mapper.ServerSoftware = cfg.ServerSoftware
	if cfg.ErrorLog != nil {
		mapper.CGIStderr = cfg.ErrorLog
	}
	srv := httpd.New(cfg, mapper, log.Recorder("server"))
	ln = connIDListener{Listener: ln, log: log}

	narr.Println(fmt.Sprintf("serving http://%s/ (docroot %s); press Ctrl-C to stop", ln.Addr(), docDesc))
	if err := narr.Flush(); err != nil {
		return err
	}
	if err := announceReady(ln.Addr(), ready); err != nil {
		return err
	}

	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		srv.Close()
		if errors.Is(err, httpd.ErrServerClosed) {
			return nil
		}
		return fmt.Errorf("the server stopped: %v", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), serveShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		narr.Println(fmt.Sprintf("stopped: connections still open after %v were closed", serveShutdownTimeout))
	} else {
		narr.Println("stopped")
	}
	<-served
	if err := narr.Flush(); err != nil {
		return err
	}
	outClosed = true
	return out.close()
}

// serveConfig builds the server's configuration from --config and the
// flags (the flags win), and says what the default docroot is: a folder,
// or the embedded demo site (root != nil).
func serveConfig(f *serveFlags) (cfg httpd.Config, root fs.FS, docDesc string, err error) {
	fromFile := f.config != ""
	if fromFile {
		cfg, err = httpd.LoadConfig(f.config)
		if err != nil {
			var pe *fs.PathError
			if errors.As(err, &pe) {
				return cfg, nil, "", fmt.Errorf("--config %s: %v", f.config, pe.Err)
			}
			return cfg, nil, "", err // already "file:line: what is wrong"
		}
	}
	if f.listen == "" {
		f.listen = cfg.Listen
	}
	if f.arch != "" {
		cfg.Arch = f.arch
	}
	if f.accessLog != "" {
		cfg.AccessLogFile = f.accessLog
	}
	if f.errorLog != "" {
		cfg.ErrorLogFile = f.errorLog
	}
	if f.docroot != "" {
		if err := checkFolder("--docroot", f.docroot); err != nil {
			return cfg, nil, "", err
		}
		cfg.Map.DocRoot = f.docroot
	} else if cfg.Map.DocRoot != "" {
		if err := checkFolder(f.config+": DocumentRoot", cfg.Map.DocRoot); err != nil {
			return cfg, nil, "", err
		}
	}
	if !fromFile {
		// Without a config file, what trace serves: index.html or
		// index.htm, listings and server-side includes on.
		cfg.Map.DirectoryIndex = []string{"index.html", "index.htm"}
		cfg.Map.Listings, cfg.Map.SSI = true, true
	}
	for name, vh := range cfg.Map.VHosts {
		if err := checkFolder(fmt.Sprintf("%s: the DocumentRoot of <VirtualHost %s>", f.config, name), vh.DocRoot); err != nil {
			return cfg, nil, "", err
		}
	}
	for _, v := range f.vhosts {
		name, dir, ok := strings.Cut(v, "=")
		name = strings.ToLower(strings.TrimSpace(name))
		if !ok || name == "" || dir == "" || strings.ContainsAny(name, "/ ") {
			return cfg, nil, "", fmt.Errorf("--vhost %q is not NAME=DIR, e.g. --vhost www.joes-hardware.com=/docs/joe", v)
		}
		if err := checkFolder("--vhost "+name, dir); err != nil {
			return cfg, nil, "", err
		}
		if cfg.Map.VHosts == nil {
			cfg.Map.VHosts = map[string]httpd.VHost{}
		}
		vh := cfg.Map.VHosts[name] // a flag replaces the config's docroot, keeps its logs
		vh.DocRoot = dir
		cfg.Map.VHosts[name] = vh
	}

	if cfg.Map.DocRoot == "" {
		// The embedded demo site needs its listing and its includes.
		cfg.Map.Listings, cfg.Map.SSI = true, true
		if len(cfg.Map.DirectoryIndex) == 0 {
			cfg.Map.DirectoryIndex = []string{"index.html", "index.htm"}
		}
		root, docDesc = httpd.DemoSite(), "the embedded demo site"
	} else {
		docDesc = cfg.Map.DocRoot
		if abs, err := filepath.Abs(docDesc); err == nil {
			docDesc = abs
		}
	}
	if n := len(cfg.Map.VHosts); n > 0 {
		names := make([]string, 0, n)
		for name := range cfg.Map.VHosts {
			names = append(names, name)
		}
		sort.Strings(names)
		docDesc += ", virtual hosts " + strings.Join(names, ", ")
	}
	if cfg.ServerName == "" {
		cfg.ServerName = "packetwalk"
	}
	if err := cfg.Validate(); err != nil {
		return cfg, nil, "", errors.New(strings.TrimPrefix(err.Error(), "httpd: "))
	}
	return cfg, root, docDesc, nil
}

// checkFolder says, in one sentence, why dir cannot be a docroot.
func checkFolder(what, dir string) error {
	st, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("%s %s does not exist", what, dir)
	case err != nil:
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return fmt.Errorf("%s %s: %v", what, dir, err)
	case !st.IsDir():
		return fmt.Errorf("%s %s is not a folder", what, dir)
	}
	return nil
}

func validPort(s string) bool {
	n, err := strconv.Atoi(s)
	return err == nil && n >= 0 && n <= 65535
}

// listenError turns a failed listen into one sentence that says what to
// do about it.
func listenError(addr string, err error) error {
	switch {
	case errors.Is(err, syscall.EADDRINUSE):
		return fmt.Errorf("cannot listen on %s: address already in use (another server has it; choose another port)", addr)
	case errors.Is(err, syscall.EACCES) || errors.Is(err, syscall.EPERM):
		_, port, _ := net.SplitHostPort(addr)
		if n, perr := strconv.Atoi(port); perr == nil && n > 0 && n < 1024 {
			return fmt.Errorf("cannot listen on %s: ports below 1024 are privileged and need root (or CAP_NET_BIND_SERVICE); choose a port above 1024, e.g. --listen 127.0.0.1:8080", addr)
		}
		return fmt.Errorf("cannot listen on %s: permission denied", addr)
	case errors.Is(err, syscall.EADDRNOTAVAIL):
		return fmt.Errorf("cannot listen on %s: no interface of this machine has that address", addr)
	}
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Err != nil {
		err = oe.Err
	}
	return fmt.Errorf("cannot listen on %s: %v", addr, err)
}

// announceReady tells the test hook and PACKETWALK_READY_FILE where the
// server listens. The file is written whole, then renamed into place, so
// that a reader never sees half an address.
func announceReady(addr net.Addr, ready func(net.Addr)) error {
	if path := os.Getenv(readyFileVar); path != "" {
		tmp := path + ".tmp"
		if err := os.WriteFile(tmp, []byte(addr.String()+"\n"), 0o644); err != nil {
			return fmt.Errorf("cannot write %s=%s: %v", readyFileVar, path, errors.Unwrap(err))
		}
		if err := os.Rename(tmp, path); err != nil {
			os.Remove(tmp)
			return fmt.Errorf("cannot write %s=%s: %v", readyFileVar, path, errors.Unwrap(err))
		}
	}
	if ready != nil {
		ready(addr)
	}
	return nil
}

// liveNarrator narrates each step as it happens (the batch narrator of
// trace buffers), and interleaves the command's own lines with the steps
// without tearing either. The steps reach the narrator through an
// AsyncSink (Sink): formatting and writing run on a goroutine of their
// own, within a millisecond, and the output is flushed once per batch,
// not once per step, so that watching costs the stack's goroutine a copy
// of each event rather than a formatted line and a write system call.
type liveNarrator struct {
	mu sync.Mutex
	n  *text.Narrator
	q  *viz.AsyncSink
}

func newLiveNarrator(w io.Writer, opts text.Options) *liveNarrator {
	l := &liveNarrator{n: text.NewNarrator(w, opts)}
	l.q = viz.NewAsync(liveNarration{l}, viz.AsyncOptions{})
	return l
}

// Sink is what to add to the log.
func (l *liveNarrator) Sink() viz.Sink { return l.q }

// Println prints one of the command's own lines after every step logged
// before it.
func (l *liveNarrator) Println(s string) {
	l.q.Drain()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.n.Println(s)
	l.n.Flush()
}

// Flush writes every step logged so far.
func (l *liveNarrator) Flush() error { return l.q.Flush() }

// Close flushes and stops the narration's goroutine.
func (l *liveNarrator) Close() error { return l.q.Close() }

// liveNarration is the narrator as the AsyncSink's goroutine calls it.
type liveNarration struct{ l *liveNarrator }

func (s liveNarration) Event(e *viz.Event) {
	s.l.mu.Lock()
	defer s.l.mu.Unlock()
	s.l.n.Event(e)
}

func (s liveNarration) EndBatch() { s.Flush() }

func (s liveNarration) Flush() error {
	s.l.mu.Lock()
	defer s.l.mu.Unlock()
	return s.l.n.Flush()
}

// connIDListener gives each kernel connection a socket ID from the step
// log, as packetwalk's own sockets have, so that the seven steps of one
// connection can be told from another's.
type connIDListener struct {
	net.Listener
	log *viz.Log
}

func (l connIDListener) Accept() (net.Conn, error) {
	nc, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &idConn{Conn: nc, id: l.log.NewConnID()}, nil
}

// idConn is a kernel connection with an ID. It keeps the half close that
// httpd's lingering close needs and the sendfile path of io.Copy.
type idConn struct {
	net.Conn
	id uint64
}

func (c *idConn) ConnID() uint64 { return c.id }

// NetConn is the kernel connection, whose descriptor httpd's event loop
// polls (the "multiplexed" and "event" architectures).
func (c *idConn) NetConn() net.Conn { return c.Conn }

func (c *idConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return errors.ErrUnsupported
}

func (c *idConn) ReadFrom(r io.Reader) (int64, error) {
	if rf, ok := c.Conn.(io.ReaderFrom); ok {
		return rf.ReadFrom(r)
	}
	return io.Copy(struct{ io.Writer }{c.Conn}, r)
}
