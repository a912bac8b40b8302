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
	"slices"
	"strconv"
	"strings"
	"time"
)

// Config is everything the server can be told. The zero value is a working
// server (the "event" architecture, Apache-like limits and timeouts, no
// logs);
// each field's comment gives its default, which applies when the field is
// left at its zero value.
//
// The mapping of URIs to resources (step 4) has its own part, Map, which
// the Mapper's constructor takes.
type Config struct {
	// Listen is the address from the config file's Listen directive
	// ("80" becomes ":80"). Serve does not read it: the caller makes the
	// listener (on packetwalk, gVisor or the kernel) and may use it.
	Listen string
	// ServerName is the server's own host name (the ServerName directive
	// outside any <VirtualHost>). Informational: logs and the caller.
	ServerName string
	// ServerSoftware is the Server header's value. Default
	// "packetwalk-httpd".
	ServerSoftware string

	// Arch is the I/O architecture (io_arch.go): "single", "pool",
	// "multiplexed" or "event" (multiplexed multithreaded). Default
	// "event".
	Arch string
	// Workers bounds the goroutines serving connections in the "pool"
	// architecture (connections beyond it wait in a queue), and those
	// serving complete requests in the "event" architecture (requests
	// beyond it wait in a queue). Default 16.
	Workers int
	// EventLoops is how many event loops the "event" architecture runs,
	// each watching its share of the connections. Default 1: parsing is a
	// small part of a request's cost, so one loop keeps up with many
	// workers, and one loop is what a student can follow in the step log
	// (nginx runs one per core; raise it on a machine with many).
	EventLoops int
	// MaxQueue bounds the complete requests waiting for a worker in the
	// "event" architecture; one more is answered 503 and its connection
	// closed (http_queue_full). Default 256.
	MaxQueue int
	// MaxConns bounds the connections held at once (served and queued);
	// one more is answered 503 and closed. Default 1024.
	MaxConns int
	// Poller waits for readiness in the "multiplexed" and "event"
	// architectures. Package stack provides one over its Poll call for
	// packetwalk's sockets. nil: the listener's own, if it has a method
	// ReadinessPoller() any that returns one (packetwalk's listeners
	// do); else, on Linux, poll(2) over the kernel sockets' descriptors
	// (poll_linux.go); elsewhere those architectures are refused.
	Poller Poller
	// PollInterval is the longest the multiplexer waits in one Poll, so
	// that it picks up newly accepted connections and expired timeouts.
	// Default 20 ms.
	PollInterval time.Duration
	// Spawn starts f on a goroutine of its own (it must not run f
	// itself). Default: go f(). packetwalk's simulation passes its
	// tracked-goroutine starter (stack.Loop.Go), so that virtual time
	// does not move while the server works.
	Spawn func(f func())
	// spawnGo: Spawn is the go statement (real time), so the "event"
	// architecture's workers may wait for work on a channel (event.go).
	spawnGo bool

	// Allow and Deny are client address lists checked in step 1. A
	// client is refused if the longest prefix that contains its address
	// is in Deny, or if Allow is not empty and no prefix of it contains
	// the address. Empty: everyone is welcome.
	Allow, Deny []netip.Prefix
	// DenyClose closes a refused connection at once. Default: read its
	// first request and answer 403 Forbidden, then close.
	DenyClose bool
	// ReverseDNS looks up the client's host name in step 1 (Apache's
	// HostnameLookups). nil: off (the default; lookups are slow).
	ReverseDNS func(ctx context.Context, addr netip.Addr) (string, error)
	// ReverseDNSTimeout bounds one lookup. Default 5 s.
	ReverseDNSTimeout time.Duration
	// Ident asks the client's identd (RFC 1413) who opened the
	// connection; see IdentDialer. nil: off (the default); the log shows
	// "-".
	Ident func(ctx context.Context, local, remote netip.AddrPort) (string, error)
	// IdentTimeout bounds one ident query. Default 5 s.
	IdentTimeout time.Duration

	// MaxRequestLine bounds the request line in bytes; longer is 414.
	// Default 8 KiB.
	MaxRequestLine int
	// MaxHeaderBytes bounds the header section (every field line with
	// its line end); larger is 431. Default 64 KiB.
	MaxHeaderBytes int
	// MaxBodyBytes bounds a request body; larger is 413. Default 1 MiB.
	MaxBodyBytes int64
	// IdleTimeout is how long a new connection may stay silent before its
	// first request, and how long reading a body or writing a response
	// may stall (Apache's Timeout). Default 60 s; then the connection is
	// closed.
	IdleTimeout time.Duration
	// HeaderTimeout is how long a request may take from its first byte to
	// the end of its header section; then 408. Default 10 s.
	HeaderTimeout time.Duration
	// KeepAliveTimeout is how long a persistent connection may stay
	// silent between requests; it is announced in "Keep-Alive:
	// timeout=N". Default 30 s in the "event" architecture, where an
	// idle connection holds no worker (nginx's is 75 s), so that a
	// request lost four times in a row still finds its connection open
	// (RFC 6298's backoff: 1+2+4+8 = 15 s; RFC 9112 §9.5 lets a server
	// close an idle connection, but a client such as wrk does not retry
	// the request it had just sent); 5 s (Apache's) in the others, where
	// an idle persistent connection holds a worker or a thread.
	KeepAliveTimeout time.Duration
	// KeepAliveMax is how many requests one connection may carry.
	// Default 100.
	KeepAliveMax int
	// DisableKeepAlive closes every connection after one response
	// (Apache's "KeepAlive Off").
	DisableKeepAlive bool

	// DisableCompression turns gzip off: every body is sent as it is
	// (Apache's mod_deflate, nginx's "gzip on"). Default: on, for
	// compressible types (text, JSON, JavaScript, XML, SVG) when the
	// request's Accept-Encoding accepts gzip.
	DisableCompression bool
	// CompressMinBytes: a smaller body is sent as it is, since gzip's
	// 18 bytes of header and trailer would eat the gain. Default 256.
	CompressMinBytes int64
	// CompressMaxBytes bounds a body compressed in memory (the whole
	// gzip body is made before the header, to give its Content-Length);
	// a larger body is sent as it is. Default 1 MiB.
	CompressMaxBytes int64
	// MaxRanges bounds the ranges of one Range header; with more, or
	// with ranges that add up to more than the whole body, the Range is
	// ignored and the whole body sent (200), as Apache's MaxRanges does.
	// Default 200.
	MaxRanges int

	// DisableH2 refuses HTTP/2: the connection preface is answered as a
	// malformed HTTP/1.1 request and "Upgrade: h2c" is ignored (Apache's
	// "Protocols http/1.1"). Default: h2c is on (h2.go).
	DisableH2 bool
	// H2MaxStreams is the SETTINGS_MAX_CONCURRENT_STREAMS the server
	// announces: how many streams one HTTP/2 connection may have open at
	// once; a stream beyond it is refused (RST_STREAM REFUSED_STREAM,
	// RFC 9113 §5.1.2). Default 100 (Apache's H2MaxSessionStreams).
	H2MaxStreams int
	// H2WindowSize is the flow-control window the server gives each
	// stream for the request body it receives (SETTINGS_INITIAL_WINDOW_SIZE,
	// RFC 9113 §6.9.2), at most 2^31-1. Default 65535.
	H2WindowSize int

	// Now is the wall clock for Date headers and log timestamps. Default
	// time.Now; tests pass a fixed clock. (Timeouts use the connection's
	// deadlines, which are wall-clock times by net.Conn's contract.)
	Now func() time.Time

	// LogFormat is "common" (Common Log Format) or "combined" (with
	// Referer and User-Agent). Default "common".
	LogFormat string
	// AccessLog receives one line per transaction; nil: none.
	AccessLog io.Writer
	// VHostLogs are access logs per virtual host, keyed by
	// Resource.VHost; a transaction of a host listed here is logged there
	// instead of in AccessLog.
	VHostLogs map[string]io.Writer
	// ErrorLog receives a line for every 5xx, every request that could
	// not be parsed and every failed lookup; nil: none.
	ErrorLog io.Writer
	// VHostErrorLogs are error logs per virtual host, like VHostLogs.
	VHostErrorLogs map[string]io.Writer
	// AccessLogFile and ErrorLogFile are the paths given by TransferLog
	// (or CustomLog) and ErrorLog in the config file; OpenLogs opens them
	// (and the virtual hosts' files) into the writers above.
	AccessLogFile, ErrorLogFile string

	// Map configures step 4, the Mapper.
	Map MapConfig
}

// MapConfig configures step 4: how the Mapper turns a request into a
// resource. LoadConfig fills it from the config file; the Mapper's
// constructor takes it. Paths in URLs are decoded paths ("/a b.html").
type MapConfig struct {
	// DocRoot is the directory that "/" maps to (DocumentRoot).
	DocRoot string
	// VHosts are the virtual hosts, keyed by host name in lower case
	// without a port (from <VirtualHost name> or its ServerName and
	// ServerAlias); a request whose Host matches none is served from
	// DocRoot.
	VHosts map[string]VHost
	// DirectoryIndex lists the files served for a directory URL, in
	// order of preference (DirectoryIndex index.html index.htm).
	DirectoryIndex []string
	// Listings turns on automatic directory listings when no index file
	// exists ("Options Indexes").
	Listings bool
	// UserDirs maps a user name to its home directory, for /~user/ URLs
	// (UserHome diana /home/diana).
	UserDirs map[string]string
	// UserDir is the directory inside a home that /~user/ maps to
	// ("public_html"); empty: /~user/ URLs are not mapped.
	UserDir string
	// Redirects are configured redirects, tried in order; From is a URL
	// path prefix (Redirect 301 /old /new).
	Redirects []Redirect
	// Types maps a file extension, with its dot and in lower case
	// (".foo"), to a media type; it overrides the bundled mime.types
	// (AddType text/x-foo .foo).
	Types map[string]string
	// ExplicitTypes maps a URL path to a media type regardless of the
	// file's extension or content; a key ending in "/" covers every file
	// below it (ForceType /docs/readme text/plain).
	ExplicitTypes map[string]string
	// CGIExtensions are the extensions, with their dot (".cgi"), of files
	// run as CGI scripts (AddHandler cgi-script .cgi).
	CGIExtensions []string
	// ScriptAliases maps a URL prefix to a directory whose files are all
	// CGI scripts (ScriptAlias /cgi-bin/ /docs/cgi-bin/).
	ScriptAliases map[string]string
	// CGITimeout bounds one CGI run; zero: the Mapper's default.
	CGITimeout time.Duration
	// SSI turns on server-side includes for .shtml files ("Options
	// Includes" or "AddHandler server-parsed .shtml").
	SSI bool
	// Locations are access rules per URL prefix (<Location /private>);
	// the longest matching prefix applies.
	Locations []Location
}

// VHost is one virtual host: its own docroot and logs.
type VHost struct {
	DocRoot   string
	AccessLog string // path of its access log (TransferLog); "" if none
	ErrorLog  string // path of its error log; "" if none
}

// Redirect is one configured redirect.
type Redirect struct {
	Status   int    // 301, 302, 303, 307 or 308
	From, To string // URL path prefix, and what replaces it (a path or an absolute URL)
}

// Location is an access rule for a URL prefix: by client address (the
// same longest-prefix rule as Config.Allow/Deny) and, when AuthUserFile is
// set, by HTTP Basic authentication against that password file.
type Location struct {
	Prefix       string
	Allow, Deny  []netip.Prefix
	AuthUserFile string
	Realm        string // AuthName; shown by the browser's password dialog
}

// Defaults, applied by withDefaults to fields left at zero.
const (
	defaultServerSoftware   = "packetwalk-httpd"
	defaultArch             = ArchEvent
	defaultWorkers          = 16
	defaultEventLoops       = 1
	defaultMaxQueue         = 256
	defaultMaxConns         = 1024
	defaultPollInterval     = 20 * time.Millisecond
	defaultLookupTimeout    = 5 * time.Second
	defaultMaxRequestLine   = 8 << 10
	defaultMaxHeaderBytes   = 64 << 10
	defaultMaxBodyBytes     = 1 << 20
	defaultIdleTimeout      = 60 * time.Second
	defaultHeaderTimeout    = 10 * time.Second
	defaultKeepAliveTimeout = 5 * time.Second
	eventKeepAliveTimeout   = 30 * time.Second
	defaultKeepAliveMax     = 100
	defaultLogFormat        = "common"
	defaultCompressMinBytes = 256
	defaultCompressMaxBytes = 1 << 20
	defaultMaxRanges        = 200
	defaultH2MaxStreams     = 100
	defaultH2WindowSize     = 65535
)

func (c Config) withDefaults() Config {
	if c.ServerSoftware == "" {
		c.ServerSoftware = defaultServerSoftware
	}
	if c.Arch == "" {
		c.Arch = defaultArch
	}
	if c.Workers <= 0 {
		c.Workers = defaultWorkers
	}
	if c.MaxConns <= 0 {
		c.MaxConns = defaultMaxConns
	}
	if c.EventLoops <= 0 {
		c.EventLoops = defaultEventLoops
	}
	if c.MaxQueue <= 0 {
		c.MaxQueue = defaultMaxQueue
	}
	if c.PollInterval <= 0 {
		c.PollInterval = defaultPollInterval
	}
	if c.Spawn == nil {
		c.Spawn = func(f func()) { go f() }
		c.spawnGo = true
	}
	if c.ReverseDNSTimeout <= 0 {
		c.ReverseDNSTimeout = defaultLookupTimeout
	}
	if c.IdentTimeout <= 0 {
		c.IdentTimeout = defaultLookupTimeout
	}
	if c.MaxRequestLine <= 0 {
		c.MaxRequestLine = defaultMaxRequestLine
	}
	if c.MaxHeaderBytes <= 0 {
		c.MaxHeaderBytes = defaultMaxHeaderBytes
	}
	if c.MaxBodyBytes <= 0 {
		c.MaxBodyBytes = defaultMaxBodyBytes
	}
	if c.IdleTimeout <= 0 {
		c.IdleTimeout = defaultIdleTimeout
	}
	if c.HeaderTimeout <= 0 {
		c.HeaderTimeout = defaultHeaderTimeout
	}
	if c.KeepAliveTimeout <= 0 {
		c.KeepAliveTimeout = defaultKeepAliveTimeout
		if c.Arch == "event" {
			c.KeepAliveTimeout = eventKeepAliveTimeout
		}
	}
	if c.KeepAliveMax <= 0 {
		c.KeepAliveMax = defaultKeepAliveMax
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.LogFormat == "" {
		c.LogFormat = defaultLogFormat
	}
	if c.CompressMinBytes <= 0 {
		c.CompressMinBytes = defaultCompressMinBytes
	}
	if c.CompressMaxBytes <= 0 {
		c.CompressMaxBytes = defaultCompressMaxBytes
	}
	if c.MaxRanges <= 0 {
		c.MaxRanges = defaultMaxRanges
	}
	if c.H2MaxStreams <= 0 {
		c.H2MaxStreams = defaultH2MaxStreams
	}
	if c.H2WindowSize <= 0 {
		c.H2WindowSize = defaultH2WindowSize
	}
	return c
}

// Validate reports the first option that cannot work, in one sentence.
// Serve calls it too.
func (c Config) Validate() error {
	c = c.withDefaults()
	switch c.Arch {
	case ArchSingle, ArchPool:
	case ArchMultiplexed, ArchEvent:
		if c.Poller == nil && !kernelPollSupported {
			return fmt.Errorf(`httpd: the %q architecture needs a Poller (Config.Poller), which packetwalk's sockets provide and this system's kernel sockets do not; use "single" or "pool"`, c.Arch)
		}
	default:
		return fmt.Errorf(`httpd: unknown architecture %q (want "single", "pool", "multiplexed" or "event")`, c.Arch)
	}
	if c.H2WindowSize > 1<<31-1 {
		return fmt.Errorf("httpd: H2WindowSize %d is over HTTP/2's largest window, 2147483647 bytes (RFC 9113 §6.9.1)", c.H2WindowSize)
	}
	switch c.LogFormat {
	case "common", "combined":
	default:
		return fmt.Errorf(`httpd: unknown log format %q (want "common" or "combined")`, c.LogFormat)
	}
	return nil
}

// OpenLogs opens the log files named in the config (AccessLogFile,
// ErrorLogFile and each virtual host's AccessLog and ErrorLog) for
// appending, creating them if needed, and sets the matching writers. A
// file named twice is opened once. The returned function closes them all.
func (c *Config) OpenLogs() (closeAll func() error, err error) {
	opened := map[string]*os.File{}
	closeAll = func() error {
		var first error
		for _, f := range opened {
			if err := f.Close(); err != nil && first == nil {
				first = err
			}
		}
		return first
	}
	open := func(path string) (io.Writer, error) {
		if f, ok := opened[path]; ok {
			return f, nil
		}
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
		if err != nil {
			return nil, err
		}
		opened[path] = f
		return f, nil
	}
	fail := func(err error) (func() error, error) {
		closeAll()
		return func() error { return nil }, err
	}
	if c.AccessLogFile != "" {
		if c.AccessLog, err = open(c.AccessLogFile); err != nil {
			return fail(err)
		}
	}
	if c.ErrorLogFile != "" {
		if c.ErrorLog, err = open(c.ErrorLogFile); err != nil {
			return fail(err)
		}
	}
	for name, vh := range c.Map.VHosts {
		if vh.AccessLog != "" {
			w, err := open(vh.AccessLog)
			if err != nil {
				return fail(err)
			}
			if c.VHostLogs == nil {
				c.VHostLogs = map[string]io.Writer{}
			}
			c.VHostLogs[name] = w
		}
		if vh.ErrorLog != "" {
			w, err := open(vh.ErrorLog)
			if err != nil {
				return fail(err)
			}
			if c.VHostErrorLogs == nil {
				c.VHostErrorLogs = map[string]io.Writer{}
			}
			c.VHostErrorLogs[name] = w
		}
	}
	return closeAll, nil
}

// LoadConfig reads a config file; see ParseConfig for the format.
func LoadConfig(path string) (Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return Config{}, err
	}
	defer f.Close()
	return ParseConfig(path, f)
}

// ParseConfig reads the config file format, a small subset of Apache's,
// from r; name is used in error messages ("name:line: what is wrong").
//
// One directive per line: a name, then arguments separated by blanks;
// "double quotes" group an argument with blanks in it; a # outside quotes
// starts a comment that runs to the end of the line. Names are
// case-insensitive. Durations are seconds ("5", as in Apache) or Go
// durations ("500ms"); sizes are bytes, with an optional K, M or G suffix
// (KiB, MiB, GiB).
//
//	Listen 80                              # [addr:]port, for the caller
//	ServerName www.joes-hardware.com
//	DocumentRoot /docs/joe
//	DirectoryIndex index.html index.htm
//	Options Indexes Includes               # listings, SSI; -Indexes, None
//	UserDir public_html                    # /~user/ -> home/public_html; "disabled"
//	UserHome diana /home/diana             # a user's home directory
//	TransferLog /logs/joe.access_log       # or: CustomLog path [common|combined]
//	LogFormat combined                     # common (default) or combined
//	ErrorLog /logs/joe.error_log
//	Redirect 301 /old /new                 # status: 301 302 303 307 308, permanent, temp, seeother; default 302
//	RedirectPermanent /a /b                # RedirectTemp too
//	AddType text/x-foo .foo
//	ForceType /docs/readme text/plain      # explicit type for a URL path (or a prefix ending in /)
//	ScriptAlias /cgi-bin/ /docs/cgi-bin/
//	AddHandler cgi-script .cgi .pl         # or: server-parsed .shtml (SSI on)
//	CGITimeout 10
//	Allow from 10.0.0.0/8                  # client addresses, checked on accept
//	Deny from 10.0.0.66 192.168.0.0/16     # "all" is 0.0.0.0/0 and ::/0
//	<VirtualHost www.marys-antiques.com>   # or <VirtualHost *:80> with a ServerName inside
//	  ServerAlias marys-antiques.com
//	  DocumentRoot /docs/mary
//	  TransferLog /logs/mary.access_log
//	  ErrorLog /logs/mary.error_log
//	</VirtualHost>
//	<Location /private>
//	  AuthType Basic
//	  AuthName "Staff only"
//	  AuthUserFile /docs/.htpasswd
//	  Require valid-user
//	  Deny from all
//	  Allow from 10.0.0.0/8
//	</Location>
//	AuthUserFile /docs/.htpasswd           # outside <Location>: the whole site
//
// Server options (packetwalk's names where Apache has none):
//
//	Arch event                 # single | pool | multiplexed | event (the default)
//	Workers 16                 # MaxRequestWorkers is a synonym
//	EventLoops 1               # event: loops watching the connections
//	MaxQueue 256               # event: complete requests waiting for a worker
//	MaxConnections 1024
//	KeepAlive On               # Off: one request per connection
//	KeepAliveTimeout 30            # seconds; default 30 in event, 5 in the others
//	MaxKeepAliveRequests 100
//	Timeout 60                 # IdleTimeout
//	RequestHeaderTimeout 10
//	LimitRequestLine 8K
//	LimitRequestHeaders 64K
//	LimitRequestBody 1M
//	HostnameLookups Off        # On: reverse DNS through the system resolver
//	IdentityCheck Off          # On: RFC 1413 through the system's sockets
//	IdentityCheckTimeout 5
//	ServerSoftware packetwalk-httpd
//	Compression On             # gzip for compressible types when Accept-Encoding allows; Off
//	CompressMinSize 256        # smaller bodies go as they are
//	CompressMaxSize 1M         # the most compressed in memory; larger bodies go as they are
//	MaxRanges 200              # more ranges in one Range header: the whole body (200)
//	Protocols h2c http/1.1     # without h2c: no HTTP/2 (preface or Upgrade: h2c)
//	H2MaxSessionStreams 100    # HTTP/2 streams open at once; more: RST_STREAM REFUSED_STREAM
//	H2WindowSize 65535         # each HTTP/2 stream's receive window (request body in flight)
func ParseConfig(name string, r io.Reader) (Config, error) {
	p := &configParser{name: name}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for sc.Scan() {
		p.line++
		args, err := splitConfigLine(sc.Text())
		if err != nil {
			return Config{}, p.errorf("%v", err)
		}
		if len(args) == 0 {
			continue
		}
		if err := p.directive(args); err != nil {
			return Config{}, err
		}
	}
	if err := sc.Err(); err != nil {
		return Config{}, fmt.Errorf("%s:%d: %v", name, p.line+1, err)
	}
	switch {
	case p.vhost != nil:
		return Config{}, fmt.Errorf("%s:%d: <VirtualHost> opened here is never closed", name, p.sectionLine)
	case p.loc != nil:
		return Config{}, fmt.Errorf("%s:%d: <Location> opened here is never closed", name, p.sectionLine)
	}
	// Not Validate: "multiplexed" and "event" need a Poller for
	// packetwalk's listeners, which the caller adds after loading the
	// file.
	return p.cfg, nil
}

type configParser struct {
	name string
	line int
	cfg  Config

	// The section being read, if any.
	vhost       *VHost
	vhostNames  []string
	loc         *Location
	sectionLine int
}

func (p *configParser) errorf(format string, a ...any) error {
	return fmt.Errorf("%s:%d: %s", p.name, p.line, fmt.Sprintf(format, a...))
}

// splitConfigLine splits a line into words, honouring double quotes (with
// \" and \\ inside) and cutting a # comment.
func splitConfigLine(s string) ([]string, error) {
	var out []string
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\r':
			i++
		case c == '#':
			return out, nil
		case c == '"':
			var b strings.Builder
			i++
			for {
				if i >= len(s) {
					return nil, errors.New("a quoted argument is not closed")
				}
				if s[i] == '\\' && i+1 < len(s) {
					b.WriteByte(s[i+1])
					i += 2
					continue
				}
				if s[i] == '"' {
					i++
					break
				}
				b.WriteByte(s[i])
				i++
			}
			out = append(out, b.String())
		default:
			j := i
			for j < len(s) && s[j] != ' ' && s[j] != '\t' && s[j] != '\r' {
				j++
			}
			out = append(out, s[i:j])
			i = j
		}
	}
	return out, nil
}

func (p *configParser) directive(args []string) error {
	name, a := strings.ToLower(args[0]), args[1:]
	m := &p.cfg.Map

	// Section markers.
	if strings.HasPrefix(name, "<") {
		return p.section(name, args[0], a)
	}
	if p.vhost != nil {
		return p.vhostDirective(name, args[0], a)
	}
	if p.loc != nil {
		return p.locationDirective(name, args[0], a)
	}

	need := func(min, max int) error {
		switch {
		case len(a) < min && min == max:
			return p.errorf("%s takes %d argument(s), got %d", args[0], min, len(a))
		case len(a) < min:
			return p.errorf("%s needs at least %d argument(s)", args[0], min)
		case max >= 0 && len(a) > max:
			return p.errorf("%s takes at most %d argument(s), got %d", args[0], max, len(a))
		}
		return nil
	}
	var err error
	switch name {
	case "listen":
		if err = need(1, 1); err != nil {
			return err
		}
		l := a[0]
		if _, perr := strconv.Atoi(l); perr == nil {
			l = ":" + l
		}
		if _, _, serr := net.SplitHostPort(l); serr != nil {
			return p.errorf("Listen wants [address:]port, got %q", a[0])
		}
		p.cfg.Listen = l
	case "servername":
		if err = need(1, 1); err != nil {
			return err
		}
		p.cfg.ServerName = a[0]
	case "serversoftware":
		if err = need(1, 1); err != nil {
			return err
		}
		p.cfg.ServerSoftware = a[0]
	case "documentroot":
		if err = need(1, 1); err != nil {
			return err
		}
		m.DocRoot = a[0]
	case "directoryindex":
		if err = need(1, -1); err != nil {
			return err
		}
		m.DirectoryIndex = append([]string(nil), a...)
	case "options":
		if err = need(1, -1); err != nil {
			return err
		}
		for _, o := range a {
			switch strings.ToLower(strings.TrimPrefix(o, "+")) {
			case "indexes":
				m.Listings = true
			case "-indexes":
				m.Listings = false
			case "includes":
				m.SSI = true
			case "-includes":
				m.SSI = false
			case "none":
				m.Listings, m.SSI = false, false
			case "all":
				m.Listings, m.SSI = true, true
			case "execcgi", "-execcgi", "followsymlinks", "-followsymlinks", "multiviews", "-multiviews":
				// Accepted for Apache compatibility: CGI runs by
				// AddHandler/ScriptAlias, symlinks out of the
				// docroot are always refused, negotiation is
				// always on.
			default:
				return p.errorf("unknown option %q (known: Indexes, Includes, None, All)", o)
			}
		}
	case "userdir":
		if err = need(1, 1); err != nil {
			return err
		}
		if strings.EqualFold(a[0], "disabled") {
			m.UserDir = ""
		} else {
			m.UserDir = a[0]
		}
	case "userhome":
		if err = need(2, 2); err != nil {
			return err
		}
		if m.UserDirs == nil {
			m.UserDirs = map[string]string{}
		}
		m.UserDirs[a[0]] = a[1]
	case "transferlog":
		if err = need(1, 1); err != nil {
			return err
		}
		p.cfg.AccessLogFile = a[0]
	case "customlog":
		if err = need(1, 2); err != nil {
			return err
		}
		p.cfg.AccessLogFile = a[0]
		if len(a) == 2 {
			if err := p.logFormat(a[1]); err != nil {
				return err
			}
		}
	case "logformat":
		if err = need(1, 1); err != nil {
			return err
		}
		return p.logFormat(a[0])
	case "errorlog":
		if err = need(1, 1); err != nil {
			return err
		}
		p.cfg.ErrorLogFile = a[0]
	case "redirect", "redirectpermanent", "redirecttemp":
		return p.redirect(name, a)
	case "addtype":
		if err = need(2, -1); err != nil {
			return err
		}
		if !strings.Contains(a[0], "/") {
			return p.errorf("AddType wants a media type first (type/subtype), got %q", a[0])
		}
		if m.Types == nil {
			m.Types = map[string]string{}
		}
		for _, ext := range a[1:] {
			m.Types[normExt(ext)] = a[0]
		}
	case "forcetype":
		if err = need(2, 2); err != nil {
			return err
		}
		if !strings.HasPrefix(a[0], "/") || !strings.Contains(a[1], "/") {
			return p.errorf("ForceType wants a URL path and a media type, e.g. ForceType /docs/readme text/plain")
		}
		if m.ExplicitTypes == nil {
			m.ExplicitTypes = map[string]string{}
		}
		m.ExplicitTypes[a[0]] = a[1]
	case "scriptalias":
		if err = need(2, 2); err != nil {
			return err
		}
		if !strings.HasPrefix(a[0], "/") {
			return p.errorf("ScriptAlias wants a URL path first, got %q", a[0])
		}
		if m.ScriptAliases == nil {
			m.ScriptAliases = map[string]string{}
		}
		m.ScriptAliases[a[0]] = a[1]
	case "addhandler":
		if err = need(2, -1); err != nil {
			return err
		}
		switch strings.ToLower(a[0]) {
		case "cgi-script":
			for _, ext := range a[1:] {
				m.CGIExtensions = append(m.CGIExtensions, normExt(ext))
			}
		case "server-parsed":
			m.SSI = true
		default:
			return p.errorf("unknown handler %q (known: cgi-script, server-parsed)", a[0])
		}
	case "cgitimeout":
		if err = need(1, 1); err != nil {
			return err
		}
		m.CGITimeout, err = p.duration(a[0])
	case "allow", "deny":
		pr, err := p.addressList(args[0], a)
		if err != nil {
			return err
		}
		if name == "allow" {
			p.cfg.Allow = append(p.cfg.Allow, pr...)
		} else {
			p.cfg.Deny = append(p.cfg.Deny, pr...)
		}
	case "authuserfile", "authname", "authtype", "require":
		// Outside <Location>: the whole site.
		loc := p.siteLocation()
		return p.authDirective(name, args[0], a, loc)
	case "order":
		return p.errorf("Order is not supported: the longest Allow or Deny prefix that contains the client's address decides")
	case "arch":
		if err = need(1, 1); err != nil {
			return err
		}
		switch arch := strings.ToLower(a[0]); arch {
		case ArchSingle, ArchPool, ArchMultiplexed, ArchEvent:
			p.cfg.Arch = arch
		default:
			return p.errorf("unknown architecture %q (known: single, pool, multiplexed, event)", a[0])
		}
	case "eventloops":
		if err = need(1, 1); err != nil {
			return err
		}
		p.cfg.EventLoops, err = p.positive(a[0])
	case "maxqueue":
		if err = need(1, 1); err != nil {
			return err
		}
		p.cfg.MaxQueue, err = p.positive(a[0])
	case "workers", "maxrequestworkers", "maxclients":
		if err = need(1, 1); err != nil {
			return err
		}
		p.cfg.Workers, err = p.positive(a[0])
	case "maxconnections":
		if err = need(1, 1); err != nil {
			return err
		}
		p.cfg.MaxConns, err = p.positive(a[0])
	case "keepalive":
		if err = need(1, 1); err != nil {
			return err
		}
		var on bool
		on, err = p.onOff(a[0])
		p.cfg.DisableKeepAlive = !on
	case "keepalivetimeout":
		if err = need(1, 1); err != nil {
			return err
		}
		p.cfg.KeepAliveTimeout, err = p.duration(a[0])
	case "maxkeepaliverequests":
		if err = need(1, 1); err != nil {
			return err
		}
		p.cfg.KeepAliveMax, err = p.positive(a[0])
	case "timeout":
		if err = need(1, 1); err != nil {
			return err
		}
		p.cfg.IdleTimeout, err = p.duration(a[0])
	case "requestheadertimeout":
		if err = need(1, 1); err != nil {
			return err
		}
		p.cfg.HeaderTimeout, err = p.duration(a[0])
	case "limitrequestline":
		if err = need(1, 1); err != nil {
			return err
		}
		var n int64
		n, err = p.size(a[0])
		p.cfg.MaxRequestLine = int(n)
	case "limitrequestheaders":
		if err = need(1, 1); err != nil {
			return err
		}
		var n int64
		n, err = p.size(a[0])
		p.cfg.MaxHeaderBytes = int(n)
	case "limitrequestbody":
		if err = need(1, 1); err != nil {
			return err
		}
		p.cfg.MaxBodyBytes, err = p.size(a[0])
	case "hostnamelookups":
		if err = need(1, 1); err != nil {
			return err
		}
		var on bool
		if on, err = p.onOff(a[0]); on {
			p.cfg.ReverseDNS = SystemReverseDNS
		} else {
			p.cfg.ReverseDNS = nil
		}
	case "identitycheck":
		if err = need(1, 1); err != nil {
			return err
		}
		var on bool
		if on, err = p.onOff(a[0]); on {
			p.cfg.Ident = IdentDialer((&net.Dialer{}).DialContext)
		} else {
			p.cfg.Ident = nil
		}
	case "compression":
		if err = need(1, 1); err != nil {
			return err
		}
		var on bool
		on, err = p.onOff(a[0])
		p.cfg.DisableCompression = !on
	case "compressminsize":
		if err = need(1, 1); err != nil {
			return err
		}
		p.cfg.CompressMinBytes, err = p.size(a[0])
	case "compressmaxsize":
		if err = need(1, 1); err != nil {
			return err
		}
		p.cfg.CompressMaxBytes, err = p.size(a[0])
	case "maxranges":
		if err = need(1, 1); err != nil {
			return err
		}
		p.cfg.MaxRanges, err = p.positive(a[0])
	case "h2maxsessionstreams":
		if err = need(1, 1); err != nil {
			return err
		}
		p.cfg.H2MaxStreams, err = p.positive(a[0])
	case "h2windowsize":
		if err = need(1, 1); err != nil {
			return err
		}
		p.cfg.H2WindowSize, err = p.positive(a[0])
	case "protocols":
		// Apache's "Protocols h2c http/1.1": without h2c, no HTTP/2.
		if err = need(1, 3); err != nil {
			return err
		}
		p.cfg.DisableH2 = true
		for _, proto := range a {
			switch strings.ToLower(proto) {
			case "h2c":
				p.cfg.DisableH2 = false
			case "http/1.1", "h2":
			default:
				return p.errorf("Protocols: unknown protocol %q (want h2c, h2 or http/1.1)", proto)
			}
		}
	case "identitychecktimeout":
		if err = need(1, 1); err != nil {
			return err
		}
		p.cfg.IdentTimeout, err = p.duration(a[0])
	default:
		return p.errorf("unknown directive %q", args[0])
	}
	return err
}

func (p *configParser) section(name, display string, a []string) error {
	switch name {
	case "<virtualhost", "<location":
		if p.vhost != nil || p.loc != nil {
			return p.errorf("%s> inside another section (opened at line %d); sections do not nest", display, p.sectionLine)
		}
		if len(a) != 1 || !strings.HasSuffix(a[0], ">") {
			return p.errorf("%s> wants one argument, like <VirtualHost www.example.com> or <Location /private>", display)
		}
		arg := strings.TrimSuffix(a[0], ">")
		if arg == "" {
			return p.errorf("%s> wants one argument", display)
		}
		p.sectionLine = p.line
		if name == "<virtualhost" {
			p.vhost = &VHost{}
			p.vhostNames = nil
			// "*:80" or an address names no host: ServerName does.
			if h := vhostKey(arg); h != "" && !strings.HasPrefix(arg, "*") && !isAddress(h) {
				p.vhostNames = append(p.vhostNames, h)
			}
			return nil
		}
		if !strings.HasPrefix(arg, "/") {
			return p.errorf("<Location> wants a URL path, got %q", arg)
		}
		p.loc = &Location{Prefix: arg}
		return nil
	case "</virtualhost>":
		if p.vhost == nil {
			return p.errorf("</VirtualHost> without <VirtualHost>")
		}
		if len(p.vhostNames) == 0 {
			return p.errorf("the <VirtualHost> opened at line %d has no host name: give one in <VirtualHost name> or a ServerName", p.sectionLine)
		}
		if p.vhost.DocRoot == "" {
			return p.errorf("the <VirtualHost> opened at line %d has no DocumentRoot", p.sectionLine)
		}
		if p.cfg.Map.VHosts == nil {
			p.cfg.Map.VHosts = map[string]VHost{}
		}
		for _, n := range p.vhostNames {
			if _, dup := p.cfg.Map.VHosts[n]; dup {
				return p.errorf("virtual host %q is defined twice", n)
			}
			p.cfg.Map.VHosts[n] = *p.vhost
		}
		p.vhost = nil
		return nil
	case "</location>":
		if p.loc == nil {
			return p.errorf("</Location> without <Location>")
		}
		p.cfg.Map.Locations = append(p.cfg.Map.Locations, *p.loc)
		p.loc = nil
		return nil
	}
	return p.errorf("unknown section %q (known: <VirtualHost>, <Location>)", display)
}

func (p *configParser) vhostDirective(name, display string, a []string) error {
	switch name {
	case "servername", "documentroot", "transferlog", "errorlog":
		if len(a) != 1 {
			return p.errorf("%s takes one argument", display)
		}
	}
	switch name {
	case "servername":
		if h := vhostKey(a[0]); h != "" && !slices.Contains(p.vhostNames, h) {
			p.vhostNames = append(p.vhostNames, h)
		}
	case "serveralias":
		if len(a) == 0 {
			return p.errorf("ServerAlias needs at least one name")
		}
		for _, n := range a {
			if h := vhostKey(n); h != "" && !slices.Contains(p.vhostNames, h) {
				p.vhostNames = append(p.vhostNames, h)
			}
		}
	case "documentroot":
		p.vhost.DocRoot = a[0]
	case "transferlog":
		p.vhost.AccessLog = a[0]
	case "customlog":
		if len(a) < 1 || len(a) > 2 {
			return p.errorf("CustomLog takes a path and an optional format")
		}
		if len(a) == 2 && !strings.EqualFold(a[1], p.cfg.withDefaults().LogFormat) {
			return p.errorf("a virtual host's log uses the server's LogFormat (%s); set LogFormat at top level", p.cfg.withDefaults().LogFormat)
		}
		p.vhost.AccessLog = a[0]
	case "errorlog":
		p.vhost.ErrorLog = a[0]
	default:
		return p.errorf("%s is not supported inside <VirtualHost> (known there: ServerName, ServerAlias, DocumentRoot, TransferLog, CustomLog, ErrorLog); put it at top level", display)
	}
	return nil
}

func (p *configParser) locationDirective(name, display string, a []string) error {
	switch name {
	case "allow", "deny":
		pr, err := p.addressList(display, a)
		if err != nil {
			return err
		}
		if name == "allow" {
			p.loc.Allow = append(p.loc.Allow, pr...)
		} else {
			p.loc.Deny = append(p.loc.Deny, pr...)
		}
		return nil
	case "authuserfile", "authname", "authtype", "require":
		return p.authDirective(name, display, a, p.loc)
	case "order":
		return p.errorf("Order is not supported: the longest Allow or Deny prefix that contains the client's address decides")
	}
	return p.errorf("%s is not supported inside <Location> (known there: Allow, Deny, AuthType, AuthName, AuthUserFile, Require)", display)
}

// siteLocation returns the Location for "/" (the whole site), creating it.
func (p *configParser) siteLocation() *Location {
	m := &p.cfg.Map
	for i := range m.Locations {
		if m.Locations[i].Prefix == "/" {
			return &m.Locations[i]
		}
	}
	m.Locations = append(m.Locations, Location{Prefix: "/"})
	return &m.Locations[len(m.Locations)-1]
}

func (p *configParser) authDirective(name, display string, a []string, loc *Location) error {
	switch name {
	case "authuserfile":
		if len(a) != 1 {
			return p.errorf("AuthUserFile takes one path")
		}
		loc.AuthUserFile = a[0]
	case "authname":
		if len(a) != 1 {
			return p.errorf(`AuthName takes one argument; quote a realm with blanks: AuthName "Staff only"`)
		}
		loc.Realm = a[0]
	case "authtype":
		if len(a) != 1 || !strings.EqualFold(a[0], "basic") {
			return p.errorf("only AuthType Basic is supported")
		}
	case "require":
		if len(a) != 1 || !strings.EqualFold(a[0], "valid-user") {
			return p.errorf("only Require valid-user is supported (any user in the AuthUserFile)")
		}
	default:
		return p.errorf("unknown directive %q", display)
	}
	return nil
}

func (p *configParser) redirect(name string, a []string) error {
	status := 302
	switch name {
	case "redirectpermanent":
		status = 301
	case "redirecttemp":
		status = 302
	default:
		if len(a) == 3 {
			switch strings.ToLower(a[0]) {
			case "permanent":
				status = 301
			case "temp":
				status = 302
			case "seeother":
				status = 303
			default:
				n, err := strconv.Atoi(a[0])
				if err != nil || (n != 301 && n != 302 && n != 303 && n != 307 && n != 308) {
					return p.errorf("redirect status %q is not one of 301, 302, 303, 307, 308, permanent, temp, seeother", a[0])
				}
				status = n
			}
			a = a[1:]
		}
	}
	if len(a) != 2 {
		return p.errorf("Redirect wants [status] /from /to")
	}
	if !strings.HasPrefix(a[0], "/") {
		return p.errorf("a redirect's source must be a URL path, got %q", a[0])
	}
	p.cfg.Map.Redirects = append(p.cfg.Map.Redirects, Redirect{Status: status, From: a[0], To: a[1]})
	return nil
}

func (p *configParser) logFormat(f string) error {
	switch strings.ToLower(f) {
	case "common", "combined":
		p.cfg.LogFormat = strings.ToLower(f)
		return nil
	}
	return p.errorf("unknown log format %q (known: common, combined)", f)
}

// addressList parses "from a b c" into prefixes: CIDRs, single addresses
// (a /32 or /128) and "all".
func (p *configParser) addressList(directive string, a []string) ([]netip.Prefix, error) {
	if len(a) < 2 || !strings.EqualFold(a[0], "from") {
		return nil, p.errorf("%s wants: %s from ADDRESS|CIDR|all ...", directive, directive)
	}
	var out []netip.Prefix
	for _, s := range a[1:] {
		if strings.EqualFold(s, "all") {
			out = append(out, netip.MustParsePrefix("0.0.0.0/0"), netip.MustParsePrefix("::/0"))
			continue
		}
		if pr, err := netip.ParsePrefix(s); err == nil {
			out = append(out, pr.Masked())
			continue
		}
		if ad, err := netip.ParseAddr(s); err == nil {
			out = append(out, netip.PrefixFrom(ad, ad.BitLen()))
			continue
		}
		return nil, p.errorf("%q is not an address, a CIDR prefix or \"all\" (host names are not supported)", s)
	}
	return out, nil
}

func (p *configParser) duration(s string) (time.Duration, error) {
	if n, err := strconv.Atoi(s); err == nil && n > 0 {
		return time.Duration(n) * time.Second, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, p.errorf("%q is not a positive duration (seconds, or like 500ms)", s)
	}
	return d, nil
}

func (p *configParser) positive(s string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 {
		return 0, p.errorf("%q is not a positive number", s)
	}
	return n, nil
}

func (p *configParser) size(s string) (int64, error) {
	mult := int64(1)
	t := s
	switch {
	case strings.HasSuffix(strings.ToUpper(t), "K"):
		mult, t = 1<<10, t[:len(t)-1]
	case strings.HasSuffix(strings.ToUpper(t), "M"):
		mult, t = 1<<20, t[:len(t)-1]
	case strings.HasSuffix(strings.ToUpper(t), "G"):
		mult, t = 1<<30, t[:len(t)-1]
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil || n <= 0 || n > (1<<62)/mult {
		return 0, p.errorf("%q is not a positive size (bytes, or with K, M, G)", s)
	}
	return n * mult, nil
}

func (p *configParser) onOff(s string) (bool, error) {
	switch strings.ToLower(s) {
	case "on":
		return true, nil
	case "off":
		return false, nil
	}
	return false, p.errorf("want On or Off, got %q", s)
}

// normExt turns "foo", ".foo" or ".FOO" into ".foo".
func normExt(ext string) string {
	return "." + strings.ToLower(strings.TrimPrefix(ext, "."))
}

// vhostKey turns "www.Example.com:80" into "www.example.com".
func vhostKey(s string) string {
	return hostWithoutPort(s)
}

func isAddress(h string) bool {
	_, err := netip.ParseAddr(h)
	return err == nil
}

// SystemReverseDNS looks an address up through the system's resolver (the
// kernel's sockets and /etc/resolv.conf); for Config.ReverseDNS.
func SystemReverseDNS(ctx context.Context, addr netip.Addr) (string, error) {
	names, err := net.DefaultResolver.LookupAddr(ctx, addr.String())
	if err != nil {
		return "", err
	}
	if len(names) == 0 {
		return "", errors.New("no PTR record")
	}
	return strings.TrimSuffix(names[0], "."), nil
}
