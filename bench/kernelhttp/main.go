// Command kernelhttp is the benchmark's upper reference: Go's net/http on
// the Linux kernel's own TCP/IP stack, serving a folder. bench/run runs it
// in a namespace reached over a veth pair, so the clients cross a real
// (virtual) link as they do to the TUN-based stacks.
//
//	kernelhttp --listen 10.9.0.2:80 --docroot DIR
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http"

	"github.com/packetwalk/packetwalk/httpd"

	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	listen := flag.String("listen", "10.9.0.2:80", "address and port to serve on")
	docroot := flag.String("docroot", "", "folder to serve (required)")
	maxBody := flag.Int64("max-body", 1<<30, "read at most this many `BYTES` of a request body (other methods than GET and HEAD are refused with 405 once the body is read, as httpd does; beyond this, 413)")
	flag.Parse()
	if *maxBody <= 0 {
		fmt.Fprintf(os.Stderr, "kernelhttp: --max-body %d: a request body's limit is a positive number of bytes.\n", *maxBody)
		os.Exit(2)
	}
	if st, err := os.Stat(*docroot); *docroot == "" || err != nil || !st.IsDir() {
		fmt.Fprintln(os.Stderr, "kernelhttp: --docroot DIR must name a folder to serve.")
		os.Exit(2)
	}
	srv := &http.Server{Addr: *listen, Handler: httpd.NetHTTPFiles(http.Dir(*docroot), *maxBody), ReadHeaderTimeout: 10 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
	}()
	fmt.Printf("serving http://%s/ with the kernel's stack (docroot %s)\n", *listen, *docroot)
	if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		fmt.Fprintf(os.Stderr, "kernelhttp: %v.\n", err)
		os.Exit(1)
	}
}
