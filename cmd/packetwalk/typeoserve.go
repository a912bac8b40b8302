package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"strconv"
	"syscall"

	"github.com/packetwalk/packetwalk/httpd"
	"github.com/packetwalk/packetwalk/nic"
)

// typeOServeDefaultListen is where type-o-serve listens without --listen
// or PORT: the loopback, as the seed's examples run it next to the
// browser or proxy being studied.
const typeOServeDefaultListen = "127.0.0.1:8080"

// runTypeOServe is `packetwalk type-o-serve`: the seed's diagnostic server
// on the kernel's sockets. It prints each request as it arrived and sends
// back what the operator types on standard input, up to a line holding a
// single ".". It ends when standard input does, or on SIGINT or SIGTERM.
func runTypeOServe(args []string, stdout, stderr io.Writer) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() { <-ctx.Done(); stop() }()
	return typeOServeCommand(ctx, args, os.Stdin, stdout, stderr, nil)
}

// typeOServeOpts is type-o-serve's command line.
type typeOServeOpts struct {
	listen, tun, tap, addr, get string
	user                        string // --user: whom to run as once the device is open (privilege.go)
	noConfigure, sim, steps     bool
	lf                          linkFlags
}

func (o *typeOServeOpts) flagSet() *flag.FlagSet {
	fs := newFlagSet("type-o-serve")
	fs.StringVar(&o.listen, "listen", "", "listen on `HOST:PORT` with the kernel's sockets (default "+typeOServeDefaultListen+")")
	fs.StringVar(&o.tun, "tun", "", "serve on this TUN device (`NAME`) with packetwalk's own stack, port 80 unless PORT (needs root; see the README)")
	fs.StringVar(&o.tap, "tap", "", "serve on this TAP device (`NAME`) with packetwalk's own stack, port 80 unless PORT (needs root)")
	fs.StringVar(&o.addr, "addr", "", "with --tun or --tap: packetwalk's address and prefix (`CIDR`), e.g. 10.9.0.2/24 (the kernel side gets 10.9.0.1)")
	fs.StringVar(&o.user, "user", "", "with --tun or --tap: once the device is open, run as this user `NAME` (default: the user who ran sudo, else nobody; root keeps root)")
	fs.BoolVar(&o.noConfigure, "no-configure", false, "with --tun or --tap: leave the kernel side of the device alone and print the ip commands that configure it")
	fs.BoolVar(&o.sim, "sim", false, "be the web server of a packetwalk host on a simulated wire: a simulated client (gVisor's netstack, Go's HTTP client) sends the request")
	fs.StringVar(&o.get, "get", "/", "with --sim: the `PATH` the simulated client asks for")
	fs.BoolVar(&o.steps, "steps", false, "with --sim, --tun or --tap: also narrate every step of every frame")
	o.lf.register(fs)
	o.lf.registerTCP(fs)
	return fs
}

// typeOServeCommand is type-o-serve reading the operator from in, until in
// ends or ctx is done. ready, if not nil, is told the listening address.
func typeOServeCommand(ctx context.Context, args []string, in io.Reader, stdout, stderr io.Writer, ready func(net.Addr)) error {
	var o typeOServeOpts
	fs0 := o.flagSet()
	positional, err := parseFlagsAndArgs(fs0, args, 1, "PORT", stdout, stderr)
	if err != nil {
		return err
	}
	if o.sim {
		if o.listen != "" || len(positional) > 0 {
			fmt.Fprintln(stderr, "packetwalk type-o-serve: --sim serves on the simulated wire; it takes no --listen or PORT.")
			return errUsage
		}
		if len(o.get) == 0 || o.get[0] != '/' {
			fmt.Fprintf(stderr, "packetwalk type-o-serve: --get %q: a path starts with /.\n", o.get)
			return errUsage
		}
		return typeOServeSim(ctx, &o.lf, o.get, o.steps, in, stdout)
	}
	if o.tun != "" || o.tap != "" || o.addr != "" {
		plan, err := planDevice(o.tun, o.tap, o.addr)
		port := typeOServeDevicePort
		switch {
		case err != nil:
		case o.listen != "":
			err = fmt.Errorf("%s and --listen exclude each other: %s serves on packetwalk's stack, --listen on the kernel's; choose one", plan.flag(), plan.flag())
		case o.lf.mtu != nic.DefaultMTU || o.lf.wireMode != "hub":
			err = errors.New("--mtu and --wire shape the simulated wire of --sim; on a device the kernel's MTU applies")
		case len(positional) == 1:
			if n, perr := strconv.Atoi(positional[0]); perr != nil || n < 1 || n > 65535 {
				err = fmt.Errorf("PORT %q is not a number 1..65535", positional[0])
			} else {
				port = n
			}
		}
		if err != nil {
			fmt.Fprintf(stderr, "packetwalk type-o-serve: %v.\n", err)
			return errUsage
		}
		return typeOServeDevice(ctx, plan, port, o.noConfigure, o.steps, o.user, &o.lf, in, stdout, ready)
	}
	where := typeOServeDefaultListen
	switch {
	case len(positional) == 1 && o.listen != "":
		fmt.Fprintln(stderr, "packetwalk type-o-serve: give --listen HOST:PORT or PORT, not both.")
		return errUsage
	case len(positional) == 1:
		if !validPort(positional[0]) {
			fmt.Fprintf(stderr, "packetwalk type-o-serve: PORT %q is not a number 0..65535.\n", positional[0])
			return errUsage
		}
		where = net.JoinHostPort("127.0.0.1", positional[0])
	case o.listen != "":
		if _, port, err := net.SplitHostPort(o.listen); err != nil || !validPort(port) {
			fmt.Fprintf(stderr, "packetwalk type-o-serve: --listen %q is not HOST:PORT with a port 0..65535, e.g. 127.0.0.1:8080.\n", o.listen)
			return errUsage
		}
		where = o.listen
	}

	ln, err := net.Listen("tcp", where)
	if err != nil {
		return listenError(where, err)
	}
	if err := announceReady(ln.Addr(), ready); err != nil {
		ln.Close()
		return err
	}
	done := make(chan error, 1)
	go func() { done <- httpd.TypeOServe(ln, in, stdout, nil) }()
	select {
	case err := <-done:
		ln.Close()
		return err
	case <-ctx.Done():
		// The listener's close ends a wait for a client; a wait for the
		// operator's typing cannot be interrupted, and need not be: the
		// process is ending.
		ln.Close()
		return nil
	}
}
