package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/packetwalk/packetwalk/viz"
	"github.com/packetwalk/packetwalk/viz/report"
)

// liveShutdownTimeout is how long the live view's pages have to take their
// "bye" before their streams are cut.
const liveShutdownTimeout = 2 * time.Second

// liveView is `serve --viz ADDR`: the HTML report's page on a kernel HTTP
// listener, following the server's steps as they happen (Server-Sent
// Events from a report.Live hub), so that a teacher browses the served
// site in one tab and watches its walk in another. A nil *liveView is
// valid and does nothing (no --viz).
type liveView struct {
	hub    *report.Live
	srv    *http.Server
	served chan struct{}
	addr   net.Addr
	stdout io.Writer
}

// startLiveView listens on f.viz with the kernel's sockets (so the viewer
// works whatever the served stack) and serves the live page there. It
// listens first, so that a busy address fails before anything else starts;
// attach says where, once the server is about to serve.
func startLiveView(f *serveFlags, stdout io.Writer) (*liveView, error) {
	if f.viz == "" {
		return nil, nil
	}
	if _, port, err := net.SplitHostPort(f.viz); err != nil || !validPort(port) {
		return nil, fmt.Errorf("--viz %q is not HOST:PORT with a port 0..65535, e.g. --viz 127.0.0.1:8081", f.viz)
	}
	ln, err := net.Listen("tcp", f.viz)
	if err != nil {
		return nil, fmt.Errorf("--viz: %v", listenError(f.viz, err))
	}
	v := &liveView{
		hub:    report.NewLive(report.LiveOptions{Title: "packetwalk serve: live view"}),
		served: make(chan struct{}),
		addr:   ln.Addr(),
		stdout: stdout,
	}
	v.srv = &http.Server{Handler: v.hub.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		defer close(v.served)
		v.srv.Serve(ln)
	}()
	return v, nil
}

// attach feeds the hub from log and says where the live view is.
func (v *liveView) attach(log *viz.Log) {
	if v == nil {
		return
	}
	v.hub.SetTopology(log.Topology)
	log.AddSink(v.hub)
	fmt.Fprintf(v.stdout, "live view on http://%s/ (open it in a browser: it follows the steps as they happen)\n", v.addr)
}

// close tells the pages the server stopped and stops serving them.
func (v *liveView) close() {
	if v == nil {
		return
	}
	v.hub.Close()
	ctx, cancel := context.WithTimeout(context.Background(), liveShutdownTimeout)
	defer cancel()
	if err := v.srv.Shutdown(ctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		v.srv.Close()
	}
	v.srv.Close()
	<-v.served
}
