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
}

func (o *labServeOpts) flagSet() *flag.FlagSet {
	fs := newFlagSet("lab serve")
	fs.StringVar(&o.impl, "impl", "", "the folder (`DIR`) of your implementation")
	fs.StringVar(&o.tun, "tun", "", "serve the demo site on this TUN device (`NAME`), as packetwalk serve --tun does (needs root); without --tun or --tap, run trace")
	fs.StringVar(&o.tap, "tap", "", "serve the demo site on this TAP device (`NAME`), as packetwalk serve --tap does (needs root)")
	fs.StringVar(&o.addr, "addr", "", "with --tun or --tap: packetwalk's address and prefix (`CIDR`), e.g. 10.9.0.2/24")
	return fs
}

// labServe is `packetwalk lab serve ID --impl DIR [--tun NAME --addr CIDR]
// [-- FLAGS]`: serve (on a device) or trace (simulated) with the student's
// component built in (labs/impl.Serve; cmd/packetwalk/labimpl.go).
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
	err := impl.Serve(ctx, id, o.impl, impl.ServeOptions{Args: cmd, Stdin: os.Stdin, Stdout: stdout, Stderr: stderr})
	var exit *impl.ExitError
	if errors.As(err, &exit) {
		return exitError{exit.Code}
	}
	return err
}
