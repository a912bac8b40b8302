package main

import (
	"context"
	"crypto/sha256"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/netip"
	"os"
	"strings"
	"time"

	"github.com/packetwalk/packetwalk/httpd"
	"github.com/packetwalk/packetwalk/nic"
	"github.com/packetwalk/packetwalk/stack"
	"github.com/packetwalk/packetwalk/stack/gvisorhost"
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
	fs.StringVar(&o.scenario, "scenario", "", "run a scenario `FILE`, or a lab's scenario (ID or ID/FILE), instead of the default exchange")
	o.view.register(fs)
	return fs
}

// runTrace is `packetwalk trace`, the main job: a client host running
// gVisor's netstack and Go's HTTP client fetches "/" (and each --get PATH)
// from a packetwalk host running httpd on an embedded demo site, over a
// simulated Ethernet wire. Every step of every frame is narrated; the
// capture and the step log are written; one summary line per request
// closes the run, which fails if a request did.
func runTrace(args []string, stdout, stderr io.Writer) error {
	var o traceOpts
	fs0 := o.flagSet()
	if err := parseFlags(fs0, args, stdout, stderr); err != nil {
		return err
	}
	if err := o.view.check(); err != nil {
		return err
	}
	if o.scenario != "" {
		if len(o.gets) > 0 || o.docroot != "" {
			return fmt.Errorf("--scenario describes its own traffic and site; it cannot be combined with --get or --docroot")
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

	// The network: a packetwalk server and a gVisor client on one wire.
	// gVisor runs goroutines of its own, so virtual time follows the wall
	// clock (the run is not bit-reproducible; `ping` and the labs with
	// packetwalk on both ends are).
	n := stack.NewNetwork(o.lf.seed)
	n.Loop.SetPaced(true)
	wcfg := topo.Wire
	wire, err := n.AddWire(wcfg)
	if err != nil {
		return err
	}
	server := n.AddHost(stack.HostConfig{Name: "server", TCP: o.lf.tcpConfig()})
	if _, err := server.AddInterface(stack.InterfaceConfig{
		NIC: nic.Config{MAC: stack.MAC(2), MTU: o.lf.mtu}, Prefix: netip.MustParsePrefix("10.0.0.2/24"),
	}, wire); err != nil {
		return err
	}
	client, err := gvisorhost.New(gvisorhost.Config{Name: "client", MAC: stack.MAC(1), MTU: o.lf.mtu,
		Addr: netip.MustParsePrefix("10.0.0.1/24"), Clock: n.Clock, Log: n.Log})
	if err != nil {
		return err
	}
	defer client.Close()
	wire.Attach(client)
	client.Attach(wire)
	if err := o.view.checkHosts([]string{client.Name(), server.Name, wire.Name()}); err != nil {
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
	srv := httpd.New(httpd.Config{ServerName: "packetwalk-demo", Map: mapCfg}, httpd.NewMapper(mapCfg, site), n.Log.Recorder("server"))

	type result struct {
		path, status string
		code, bytes  int
		sum          [32]byte
		err          error
	}
	var results []result
	ctx, cancel := context.WithTimeout(context.Background(), o.timeout)
	defer cancel()
	finished := make(chan struct{})
	serverAddr := netip.AddrPortFrom(server.Addr(), 80)
	var serveErr error
	go func() {
		defer close(finished)
		defer n.Loop.Wake()
		ln, err := server.ListenTCP(serverAddr, 16)
		if err != nil {
			serveErr = err
			return
		}
		go srv.Serve(ln)
		hc := client.HTTPClient()
		// Redirects are shown, not followed: the trailing-slash redirect
		// is one of the steps to see.
		hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		for _, p := range paths {
			r := result{path: p}
			req, _ := http.NewRequestWithContext(ctx, "GET", "http://10.0.0.2"+p, nil)
			resp, err := hc.Do(req)
			if err != nil {
				r.err = err
				results = append(results, r)
				continue
			}
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			r.code, r.status, r.bytes, r.sum, r.err = resp.StatusCode, resp.Status, len(body), sha256.Sum256(body), err
			if loc := resp.Header.Get("Location"); loc != "" {
				r.status += " -> " + loc
			}
			results = append(results, r)
		}
		hc.CloseIdleConnections()
		srv.Close()
	}()
	runErr := n.RunUntil(ctx, func() bool {
		select {
		case <-finished:
			return true
		default:
			return false
		}
	})
	// Let the last FINs and ACKs of the closing connections cross.
	quiet2, cancel2 := context.WithTimeout(context.Background(), 300*time.Millisecond)
	n.RunUntil(quiet2, nil)
	cancel2()

	failed := 0
	out.println("")
	out.println("== summary (seed %d): %d request(s) from gVisor's HTTP client to packetwalk's httpd", o.lf.seed, len(paths))
	for _, r := range results {
		if r.err != nil || r.code >= 400 {
			failed++
		}
		if r.err != nil {
			out.println("GET %s: FAILED: %v", r.path, r.err)
			continue
		}
		out.println("GET %s: %s, %d bytes, sha256 %x", r.path, r.status, r.bytes, r.sum)
	}
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
	case len(results) < len(paths) || failed > 0:
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
