package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/packetwalk/packetwalk/labs/impl"
)

// labServeOpts is `lab serve`'s own command line; what follows -- goes to
// serve or trace.
type labServeOpts struct {
	impl, tun, tap, addr string
	also                 alsoFlag
}

// alsoFlag is --also ID=DIR, once for each more component.
type alsoFlag []impl.Component

func (a *alsoFlag) String() string {
	var s []string
	for _, c := range *a {
		s = append(s, c.Lab+"="+c.Dir)
	}
	return strings.Join(s, ",")
}

func (a *alsoFlag) Set(v string) error {
	id, dir, ok := strings.Cut(v, "=")
	if !ok || id == "" || dir == "" {
		return fmt.Errorf("--also takes ID=DIR, another lab's ID and the folder of your implementation of it, e.g. --also impl-tcp-receiver=mylab-tcprecv")
	}
	*a = append(*a, impl.Component{Lab: id, Dir: dir})
	return nil
}

func (o *labServeOpts) flagSet() *flag.FlagSet {
	fs := newFlagSet("lab serve")
	fs.StringVar(&o.impl, "impl", "", "the folder (`DIR`) of your implementation")
	fs.StringVar(&o.tun, "tun", "", "serve the demo site on this TUN device (`NAME`), as packetwalk serve --tun does (needs root); without --tun or --tap, run trace")
	fs.StringVar(&o.tap, "tap", "", "serve the demo site on this TAP device (`NAME`), as packetwalk serve --tap does (needs root)")
	fs.StringVar(&o.addr, "addr", "", "with --tun or --tap: packetwalk's address and prefix (`CIDR`), e.g. 10.9.0.2/24")
	fs.Var(&o.also, "also", "another lab's component of yours to build in as well (`ID=DIR`), e.g. impl-tcp-receiver=mylab-tcprecv; may be repeated")
	return fs
}

// labServe is `packetwalk lab serve ID --impl DIR [--also ID=DIR]... [--tun
// NAME --addr CIDR] [-- FLAGS]`: serve (on a device) or trace (simulated)
// with the student's components built in (labs/impl.Serve;
// cmd/packetwalk/labimpl.go).
func labServe(id string, args []string, stdout, stderr io.Writer) error {
	own, pass := args, []string(nil)
	if i := slices.Index(args, "--"); i >= 0 {
		own, pass = args[:i], args[i+1:]
	}
	var o labServeOpts
	if err := parseFlags(o.flagSet(), own, stdout, stderr); err != nil {
		return err
	}
	if err := impl.ServeRefusal(id); err != nil {
		return err
	}
	if o.impl == "" {
		return fmt.Errorf("serve needs --impl DIR, the directory of your implementation")
	}
	var cmd []string
	switch {
	case o.tun != "" && o.tap != "":
		return fmt.Errorf("give --tun or --tap, not both")
	case o.tun != "" || o.tap != "":
		cmd = []string{"serve"}
		if o.tun != "" {
			cmd = append(cmd, "--tun", o.tun)
		} else {
			cmd = append(cmd, "--tap", o.tap)
		}
		if o.addr != "" {
			cmd = append(cmd, "--addr", o.addr)
		}
	case o.addr != "":
		return fmt.Errorf("--addr is the address on a TUN or TAP device: give --tun NAME or --tap NAME with it (without either, lab serve runs the simulated trace)")
	default:
		cmd = []string{"trace"}
		for _, a := range pass {
			name, _, _ := strings.Cut(strings.TrimLeft(a, "-"), "=")
			if strings.HasPrefix(a, "-") && name == "scenario" {
				return fmt.Errorf("lab serve runs trace's main job with your component; a --scenario builds its own hosts, without it")
			}
		}
	}
	cmd = append(cmd, pass...)
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	err := impl.Serve(ctx, id, o.impl, impl.ServeOptions{Args: cmd, Stdin: os.Stdin, Stdout: stdout, Stderr: stderr, Also: o.also})
	var exit *impl.ExitError
	if errors.As(err, &exit) {
		return exitError{exit.Code}
	}
	return err
}
