//go:build !js

package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httputil"
	"net/netip"

	"github.com/packetwalk/packetwalk/httpd"
)

// typeOServeSim is `packetwalk type-o-serve --sim`: the operator is the
// web server of a packetwalk host on the simulated wire. A client running
// gVisor's netstack and Go's HTTP client sends GET PATH; type-o-serve
// prints the request as it arrived through packetwalk's NIC, IP and TCP,
// the operator types the response, and the client shows what it made of
// it (the seed's lesson: see what the client does with what you type).
func typeOServeSim(ctx context.Context, lf *linkFlags, path string, steps bool, in io.Reader, stdout io.Writer) error {
	sim, err := newHTTPSim(lf)
	if err != nil {
		return err
	}
	defer sim.client.Close()
	if steps {
		out, err := openOutputs(sim.net.Log, stdout, false, "", "")
		if err != nil {
			return err
		}
		defer out.close()
	}
	addr := netip.AddrPortFrom(sim.server.Addr(), 80)
	finished := make(chan struct{})
	var clientErr error
	go func() {
		defer close(finished)
		defer sim.net.Loop.Wake()
		ln, err := sim.server.ListenTCP(addr, 4)
		if err != nil {
			clientErr = err
			return
		}
		defer ln.Close()
		// One client at a time: type-o-serve answers the one request.
		served := make(chan error, 1)
		go func() { served <- httpd.TypeOServe(ln, in, stdout, sim.net.Log.Recorder("server")) }()
		hc := sim.client.HTTPClient()
		hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		fmt.Fprintf(stdout, "(the simulated client %s sends GET %s to %s)\n", sim.client.Addr(), path, addr)
		req, _ := http.NewRequestWithContext(ctx, "GET", "http://"+addr.String()+path, nil)
		resp, err := hc.Do(req)
		if err != nil {
			clientErr = fmt.Errorf("the client could not make sense of the response: %v", err)
			return
		}
		dump, _ := httputil.DumpResponse(resp, true)
		resp.Body.Close()
		fmt.Fprintf(stdout, "<<<The client understood>>>\n%s\n", dump)
		hc.CloseIdleConnections()
	}()
	err = sim.net.RunUntil(ctx, func() bool {
		select {
		case <-finished:
			return true
		default:
			return false
		}
	})
	if err != nil && ctx.Err() == nil {
		return err
	}
	return clientErr
}
