package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync/atomic"
	"time"

	browserpkg "github.com/packetwalk/packetwalk/browser"
	"github.com/packetwalk/packetwalk/httpd"
	"github.com/packetwalk/packetwalk/nic"
	"github.com/packetwalk/packetwalk/stack"
	"github.com/packetwalk/packetwalk/tcp"
)

// traceOpts is trace's command line.
type traceOpts struct {
	lf                                    linkFlags
	gets                                  stringList
	docroot, pcapPath, jsonPath, htmlPath string
	scenario                              string
	quiet                                 bool
	timeout                               time.Duration
	view                                  viewFlags
	client                                string
	connections                           int
	gzip                                  bool
	http2                                 bool
}

func (o *traceOpts) flagSet() *flag.FlagSet {
	fs := newFlagSet("trace")
	o.lf.register(fs)
	o.lf.registerTCP(fs)
	fs.Var(&o.gets, "get", "a `PATH` to fetch after / (repeatable), e.g. --get /docs --get /logo.png")
	fs.StringVar(&o.docroot, "docroot", "", "serve this folder (`DIR`) instead of the embedded demo site")
	fs.StringVar(&o.pcapPath, "pcap", "trace.pcapng", "write the capture to this pcapng `FILE` (\"\" for none)")
	fs.StringVar(&o.jsonPath, "json", "trace.jsonl", "write the step log to this JSON Lines `FILE` (\"\" for none)")
	fs.StringVar(&o.htmlPath, "html", "trace.html", "write the HTML report to this `FILE` (\"\" for none)")
	fs.BoolVar(&o.quiet, "quiet", false, "print only the summary, not every step")
	fs.DurationVar(&o.timeout, "timeout", 60*time.Second, "give up on the whole run after this long")
	fs.Var(newChoice(&o.client, "packetwalk", "packetwalk", "gvisor"), "client", "the client host: packetwalk (its whole walk narrated, running the seed's browser; the run is reproducible from --seed) or gvisor (gVisor's netstack and Go's HTTP client, a production peer; not reproducible)")
	fs.IntVar(&o.connections, "connections", 1, fmt.Sprintf("the browser's connections to the server: 1 sends every request on one persistent connection; up to %d fetch a page's stylesheet and images in parallel", browserpkg.MaxConnections))
	fs.BoolVar(&o.http2, "http2", false, "the browser speaks HTTP/2 over cleartext (prior knowledge): the page, then its stylesheet and images as streams on one connection, their frames interleaved")
	fs.BoolVar(&o.gzip, "gzip", true, "the browser asks for compressed responses (Accept-Encoding: gzip); --gzip=false does not")
	fs.StringVar(&o.scenario, "scenario", "", "run a scenario `FILE`, or a lab's scenario (ID or ID/FILE), instead of the default exchange")
	o.view.register(fs)
	return fs
}

// runTrace is `packetwalk trace`, the main job: a packetwalk host running
// the seed's browser (package browser) fetches "/" (and each --get PATH)
// and what the pages need from a packetwalk host running httpd on an
// embedded demo site, over a simulated Ethernet wire (--client gvisor:
// gVisor's netstack and Go's HTTP client instead). Every step of every frame is narrated; the
// capture and the step log are written; one summary line per request
// closes the run, which fails if a request did.
// scenarioSets names trace's flags whose choice a scenario file makes
// itself (with the phy flags); --scenario refuses them.
var scenarioSets = map[string]bool{
	"get": true, "docroot": true, "seed": true, "mtu": true, "loss": true, "dup": true,
	"reorder": true, "corrupt": true, "fault": true, "wire": true, "timestamps": true, "cc": true,
	"client": true, "connections": true, "http2": true, "gzip": true,
}

func runTrace(args []string, stdout, stderr io.Writer) error {
	var o traceOpts
	fs0 := o.flagSet()
	if err := parseFlags(fs0, args, stdout, stderr); err != nil {
		return err
	}
	if err := o.view.check(); err != nil {
		return err
	}
	if o.timeout <= 0 {
		return fmt.Errorf("--timeout %v: the run needs a positive time to finish in, e.g. --timeout 30s", o.timeout)
	}
	if o.scenario != "" {
		// A scenario file sets its own wires (impairments, seed, MTU,
		// signal model), hosts and traffic; a flag for those beside it
		// would otherwise be ignored without a word.
		var set []string
		fs0.Visit(func(f *flag.Flag) {
			if scenarioSets[f.Name] || strings.HasPrefix(f.Name, "phy") {
				set = append(set, "--"+f.Name)
			}
		})
		if len(set) > 0 {
			return fmt.Errorf("%s cannot be combined with --scenario: the scenario file sets its own wires, hosts and traffic (its seed: and each wire's loss:, mode: and phy:, see docs/labs.md)", strings.Join(set, ", "))
		}
		return traceScenario(o.scenario, &o.view, o.quiet, o.jsonPath, o.pcapPath, o.htmlPath, o.view.split(stdout, stderr))
	}
	paths := append([]string{"/"}, o.gets...)
	for _, p := range paths {
		if !strings.HasPrefix(p, "/") {
			return fmt.Errorf("--get %q: a path starts with /", p)
		}
	}
	topo, err := o.lf.topology()
	if err != nil {
		return err
	}
	site, mapCfg, err := siteFor(o.docroot)
	if err != nil {
		return err
	}

	if o.client != "packetwalk" && o.client != "gvisor" {
		return fmt.Errorf("--client %q: want packetwalk (the seed's browser on packetwalk's stack) or gvisor (gVisor's netstack and Go's HTTP client)", o.client)
	}
	if o.connections < 1 || o.connections > browserpkg.MaxConnections {
		return fmt.Errorf("--connections %d: want 1 to %d", o.connections, browserpkg.MaxConnections)
	}
	if o.http2 && o.connections != 1 {
		return fmt.Errorf("--http2 fetches everything as streams on one connection; it cannot be combined with --connections %d", o.connections)
	}
	if o.client == "gvisor" {
		if o.http2 {
			return fmt.Errorf("--http2 is the packetwalk browser's; --client gvisor runs Go's HTTP/1.1 client")
		}
		return traceGVisor(&o, paths, topo, site, mapCfg, stdout, stderr)
	}
	return tracePacketwalk(&o, paths, topo, site, mapCfg, stdout, stderr)
}

// traceEpoch is the date a seeded trace's virtual time zero is written as
// (HTTP Date headers, the capture's timestamps): fixed, so that two runs
// with the same seed are byte-identical.
var traceEpoch = time.Date(2026, time.January, 5, 9, 0, 0, 0, time.UTC)

// tracePacketwalk is the default trace: packetwalk hosts on both ends, the
// server running httpd and the client the seed's browser, in virtual time.
// Everything runs on the simulation's loop, so the same seed and flags
// give the same step log, capture and report, byte for byte.
func tracePacketwalk(o *traceOpts, paths []string, topo stack.TopologyConfig, site fs.FS, mapCfg httpd.MapConfig, stdout, stderr io.Writer) error {
	n := stack.NewNetwork(o.lf.seed)
	wire, err := n.AddWire(topo.Wire)
	if err != nil {
		return err
	}
	ccfg := stack.HostConfig{Name: "client", TCP: o.lf.tcpConfig()}
	cifc := stack.InterfaceConfig{NIC: nic.Config{MAC: stack.MAC(1), MTU: o.lf.mtu}, Prefix: netip.MustParsePrefix("10.0.0.1/24")}
	applyLabImpl(ccfg.Name, &ccfg, &cifc.NIC, &cifc.ARP)
	client := n.AddHost(ccfg)
	if _, err := client.AddInterface(cifc, wire); err != nil {
		return err
	}
	scfg0 := stack.HostConfig{Name: "server", TCP: o.lf.tcpConfig()}
	sifc := stack.InterfaceConfig{NIC: nic.Config{MAC: stack.MAC(2), MTU: o.lf.mtu}, Prefix: netip.MustParsePrefix("10.0.0.2/24")}
	applyLabImpl(scfg0.Name, &scfg0, &sifc.NIC, &sifc.ARP)
	server := n.AddHost(scfg0)
	if _, err := server.AddInterface(sifc, wire); err != nil {
		return err
	}
	if err := o.view.checkHosts([]string{client.Name, server.Name, wire.Name()}); err != nil {
		return err
	}
	stdout = o.view.split(stdout, stderr) // a Mermaid ladder has standard output to itself
	out, err := openViewOutputs(n.Log, stdout, &o.view, o.quiet, o.jsonPath, o.pcapPath)
	if err != nil {
		return err
	}
	if err := out.addHTML(n.Log, o.htmlPath, "packetwalk trace: GET "+strings.Join(paths, ", ")); err != nil {
		out.close()
		return err
	}
	announceLabImpl(n.Log)

	now := func() time.Time { return traceEpoch.Add(n.Clock.Now()) }
	scfg := httpd.Config{ServerName: "packetwalk-demo", Map: mapCfg, Now: now, Spawn: n.Go,
		// The default architecture, "event": one event loop watches
		// every connection and hands complete requests to workers
		// started with n.Go, so the simulation sees every goroutine and
		// the run is reproducible.
		Arch: httpd.ArchEvent, Poller: stack.Poller{Host: server}}
	if err := scfg.Validate(); err != nil {
		out.close()
		return err
	}
	mapper := httpd.NewMapper(mapCfg, site)
	mapper.Now = now
	srv := httpd.New(scfg, mapper, n.Log.Recorder("server"))
	serverAddr := netip.AddrPortFrom(server.Addr(), 80)
	ctx, cancel := context.WithTimeout(context.Background(), o.timeout)
	defer cancel()
	br, err := browserpkg.New(browserpkg.Config{
		Dial:        func() (net.Conn, error) { return client.DialTCP(ctx, serverAddr) },
		Host:        serverAddr.Addr().String(),
		Connections: o.connections,
		Spawn:       n.Go,
		Sleep:       func(d time.Duration) { client.Poll(nil, d) },
		Gzip:        o.gzip,
		HTTP2:       o.http2,
		Rec:         n.Log.Recorder("client"),
	})
	if err != nil {
		out.close()
		return err
	}
	var serveErr error
	var finished atomic.Bool
	n.Go(func() {
		ln, err := server.ListenTCP(serverAddr, 16)
		if err != nil {
			serveErr = err
			finished.Store(true)
			return
		}
		n.Go(func() { srv.Serve(ln) })
		n.Go(func() {
			br.Visit(paths)
			// The browser closed its connections: let the FINs, the
			// last ACKs and the client's TIME_WAIT (2 MSL) play out,
			// then stop the server.
			client.Poll(nil, traceDrain(o.lf.tcpConfig()))
			srv.Close()
			finished.Store(true)
		})
	})
	runErr := n.RunUntil(ctx, finished.Load)
	if errors.Is(runErr, stack.ErrIdle) {
		runErr = nil
	}
	results := br.Results()
	failed := 0
	out.println("")
	out.println("== summary (seed %d): %d response(s) to packetwalk's browser from packetwalk's httpd", o.lf.seed, len(results))
	for _, r := range results {
		if r.Err != nil || r.Code >= 400 {
			failed++
		}
		what := r.Path
		if r.Rel != "" {
			what += " (" + r.Rel + ")"
		}
		switch {
		case r.Err != nil:
			out.println("GET %s: FAILED: %v", what, r.Err)
		case r.Location != "":
			out.println("GET %s: %s -> %s", what, r.Status, r.Location)
		default:
			enc := ""
			if r.Encoding != "" {
				enc = fmt.Sprintf(" (%d on the wire, %s)", r.Wire, r.Encoding)
			}
			out.println("GET %s: %s, %s, %d bytes%s, sha256 %x", what, r.Status, r.Type, r.Bytes, enc, r.Sum)
		}
	}
	return finishTrace(o, out, stdout, serveErr, runErr, failed, len(results) == 0)
}

// traceDrain is how long the trace runs after the browser is done: the
// client's TIME_WAIT (2 MSL, RFC 9293 §3.4.2) and a little more.
func traceDrain(cfg tcp.Config) time.Duration {
	msl := cfg.MSL
	if msl <= 0 {
		msl = tcp.DefaultMSL
	}
	return 2*msl + time.Second
}

// finishTrace closes the outputs, says what was written and turns the
// run's outcome into the command's.
func finishTrace(o *traceOpts, out *outputs, stdout io.Writer, serveErr, runErr error, failed int, none bool) error {
	if closeErr := out.close(); closeErr != nil {
		return closeErr
	}
	for _, path := range out.paths {
		fmt.Fprintf(stdout, "wrote %s\n", path)
	}
	if err := o.view.unmatched(); err != nil {
		return err
	}
	switch {
	case serveErr != nil:
		return serveErr
	case runErr != nil && !errors.Is(runErr, context.Canceled):
		return fmt.Errorf("the run did not finish: %v", runErr)
	case none || failed > 0:
		return exitError{1}
	}
	return nil
}

// siteFor returns what httpd serves: the embedded demo site, or a folder.
func siteFor(docroot string) (fs.FS, httpd.MapConfig, error) {
	cfg := httpd.MapConfig{DirectoryIndex: []string{"index.html", "index.htm"}, Listings: true, SSI: true}
	if docroot == "" {
		return httpd.DemoSite(), cfg, nil
	}
	st, err := os.Stat(docroot)
	if err != nil {
		return nil, cfg, fmt.Errorf("--docroot %s: %v", docroot, errors.Unwrap(err))
	}
	if !st.IsDir() {
		return nil, cfg, fmt.Errorf("--docroot %s is not a folder", docroot)
	}
	cfg.DocRoot = docroot
	return nil, cfg, nil
}

// stringList is a repeatable string flag.
type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }
func (s *stringList) repeatable()        {}
