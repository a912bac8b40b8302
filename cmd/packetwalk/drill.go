package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/packetwalk/packetwalk/drill"
	"github.com/packetwalk/packetwalk/phy"
	"github.com/packetwalk/packetwalk/stack"
	"github.com/packetwalk/packetwalk/tcp"
)

// drillOpts is drill's command line.
type drillOpts struct {
	relaxed, quiet, verbose      bool
	seed                         int64
	jsonPath, pcapPath, htmlPath string
	view                         viewFlags
	cc                           ccFlag
	phy                          phyFlags // the wire's signal model, as trace's --phy
}

func (o *drillOpts) flagSet() *flag.FlagSet {
	fs := newFlagSet("drill")
	fs.BoolVar(&o.relaxed, "relaxed", false, "ignore a host's own policy: the window field, options other than SACK blocks (order and presence), the PSH flag, IP ID/TOS/TTL, buffer sizes read back")
	fs.Int64Var(&o.seed, "seed", 1, "seed of packetwalk's initial sequence numbers")
	fs.StringVar(&o.jsonPath, "json", "", "write the step log to this JSON Lines `FILE` (one script only)")
	fs.StringVar(&o.pcapPath, "pcap", "", "write the capture to this pcapng `FILE` (one script only)")
	fs.StringVar(&o.htmlPath, "html", "", "write the HTML report to this `FILE` (one script only)")
	fs.BoolVar(&o.quiet, "quiet", false, "print only each script's result, not its steps")
	fs.BoolVar(&o.verbose, "verbose", false, "also print each script's notes: knobs applied, commands and checks not run")
	fs.Var(&o.cc, "cc", "packetwalk's congestion control unless the script's sysctl net.ipv4.tcp_congestion_control says: newreno or cubic")
	o.phy.register(fs)
	o.view.register(fs)
	return fs
}

// runDrill is `packetwalk drill`: packetdrill scripts played against a
// packetwalk host in virtual time, each a pass, a failure at a line, or a
// skip with its reason; the last line counts them.
func runDrill(args []string, stdout, stderr io.Writer) error {
	var o drillOpts
	fs := o.flagSet()
	files, err := parseFlagsAndArgs(fs, args, 1<<20, "FILE.pkt...", stdout, stderr)
	if err != nil {
		return err
	}
	if err := o.view.check(); err != nil {
		return err
	}
	pc, err := o.phy.config()
	if err != nil {
		return err
	}
	if len(files) == 0 {
		fmt.Fprintf(stderr, "packetwalk drill: give one or more packetdrill scripts, e.g. packetwalk drill drill/corpus/handshake/passive-open.pkt\n")
		return errUsage
	}
	single := len(files) == 1
	if !single && (o.jsonPath != "" || o.pcapPath != "" || o.htmlPath != "" || o.view.ladder) {
		return fmt.Errorf("--json, --pcap, --html and --ladder draw one script: give one file")
	}
	// Several scripts print one line each; one script is narrated like a
	// trace unless --quiet.
	narrate := single && !o.quiet
	stdout = o.view.split(stdout, stderr) // a Mermaid ladder has standard output to itself
	var passed, failed, skipped int
	for _, path := range files {
		res, err := drillOne(path, o.relaxed, o.seed, o.cc.cc, pc, narrate, &o.view, o.jsonPath, o.pcapPath, o.htmlPath, stdout)
		switch {
		case err != nil:
			failed++
			fmt.Fprintf(stdout, "FAIL %s\n", err)
			continue
		case res.Status == drill.Passed:
			passed++
			fmt.Fprintf(stdout, "ok   %s\n", path)
		case res.Status == drill.Skipped:
			skipped++
			fmt.Fprintf(stdout, "skip %s: %s\n", path, res.Skip)
		default:
			failed++
			fmt.Fprintf(stdout, "FAIL %s\n", res.Failure)
		}
		if o.verbose {
			for _, n := range res.Notes {
				fmt.Fprintf(stdout, "     note: %s\n", n)
			}
		}
	}
	line := fmt.Sprintf("%d passed, %d failed", passed, failed)
	if skipped > 0 {
		line += fmt.Sprintf(", %d skipped", skipped)
	}
	fmt.Fprintln(stdout, line)
	if err := o.view.unmatched(); err != nil {
		return err
	}
	if failed > 0 {
		return exitError{1}
	}
	return nil
}

// drillOne parses and runs one script, with the outputs asked for.
func drillOne(path string, relaxed bool, seed int64, cc tcp.CongestionControl, pc phy.Config, narrate bool, view *viewFlags, jsonPath, pcapPath, htmlPath string, stdout io.Writer) (*drill.Result, error) {
	src, err := readScript(path)
	if err != nil {
		return nil, err
	}
	script, err := drill.Load(path, src)
	if err != nil {
		return nil, err
	}
	var out *outputs
	cfg := drill.Config{Relaxed: relaxed, Seed: seed, Congestion: cc, PHY: pc, Prepare: func(n *stack.Network) error {
		var err error
		out, err = openViewOutputs(n.Log, stdout, view, !narrate, jsonPath, pcapPath)
		if err != nil {
			return err
		}
		return out.addHTML(n.Log, htmlPath, "packetwalk drill: "+filepath.Base(path))
	}}
	res, err := drill.Run(script, cfg)
	if out != nil {
		if cerr := out.close(); cerr != nil && err == nil {
			err = cerr
		}
		if err == nil {
			for _, p := range out.paths {
				fmt.Fprintf(stdout, "wrote %s\n", p)
			}
		}
	}
	return res, err
}

// maxScriptBytes bounds a script file: the largest public scripts are a
// few kilobytes.
const maxScriptBytes = 4 << 20

func readScript(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("%s: no such file", path)
		}
		return nil, fmt.Errorf("%s: cannot read: %v", path, strings.TrimPrefix(err.Error(), "open "+path+": "))
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxScriptBytes+1))
	if err != nil {
		return nil, fmt.Errorf("%s: cannot read: %v", path, err)
	}
	if len(b) > maxScriptBytes {
		return nil, fmt.Errorf("%s: larger than %d MiB; a packetdrill script is a few kilobytes", path, maxScriptBytes>>20)
	}
	return b, nil
}
