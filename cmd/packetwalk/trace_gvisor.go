//go:build !js

package main

import (
	"context"
	"crypto/sha256"
	"io"
	"io/fs"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/packetwalk/packetwalk/httpd"
	"github.com/packetwalk/packetwalk/nic"
	"github.com/packetwalk/packetwalk/stack"
	"github.com/packetwalk/packetwalk/stack/gvisorhost"
)

// traceGVisor is `trace --client gvisor`: the client is gVisor's netstack
// with Go's HTTP client, a production TCP/IP stack to check packetwalk's
// server against. gVisor runs goroutines of its own, so virtual time
// follows the wall clock and the run is not bit-reproducible; only the
// server's half of each walk is narrated.
func traceGVisor(o *traceOpts, paths []string, topo stack.TopologyConfig, site fs.FS, mapCfg httpd.MapConfig, stdout, stderr io.Writer) error {
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
	scfg := stack.HostConfig{Name: "server", TCP: o.lf.tcpConfig()}
	sifc := stack.InterfaceConfig{NIC: nic.Config{MAC: stack.MAC(2), MTU: o.lf.mtu}, Prefix: netip.MustParsePrefix("10.0.0.2/24")}
	applyLabImpl(scfg.Name, &scfg, &sifc.NIC, &sifc.ARP)
	server := n.AddHost(scfg)
	if _, err := server.AddInterface(sifc, wire); err != nil {
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
	announceLabImpl(n.Log)
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
	return finishTrace(o, out, stdout, serveErr, runErr, failed, len(results) < len(paths))
}
