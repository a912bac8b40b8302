// Command packetwalk runs packetwalk's scenarios and servers. It is thin: it
// parses flags, builds a scenario from the packages, runs it and reports.
// Every failure is one sentence on standard error and a non-zero exit.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
)

const usage = `packetwalk — a TCP/IP stack written to be read and watched.

Usage:
  packetwalk trace   [--get PATH]... [--docroot DIR] [--seed N] [--mtu N] [--loss P] [--dup P] [--reorder P]
                     [--corrupt P] [--fault drop:N|corrupt:N]... [--wire hub|switch]
                     [--pcap FILE] [--json FILE] [--html FILE] [--quiet]
                     [--host NAME]... [--layer L,...] [--conn N] [--drops-only]
                     [--ladder] [--ladder-rows N] [--ladder-format text|mermaid]
  packetwalk ping    [--count N] [--size BYTES] [--interval D] [--ttl N] [--via-router]
                     [--seed N] [--mtu N] [--loss P] [--dup P] [--reorder P] [--corrupt P]
                     [--fault drop:N|corrupt:N]... [--wire hub|switch] [--pcap FILE] [--json FILE] [--quiet]
                     [--host NAME]... [--layer L,...] [--conn N] [--drops-only]
                     [--ladder] [--ladder-rows N] [--ladder-format text|mermaid]
  packetwalk serve   (--tun NAME | --tap NAME) --addr CIDR [--port N] [--no-configure] [--pcap FILE]
                     [--loss P] [--dup P] [--reorder P] [--corrupt P] [--fault drop:N|corrupt:N]... [--seed N]
                     (root; see the README)
  packetwalk serve   --listen HOST:PORT [--docroot DIR] [--vhost NAME=DIR]... [--config FILE]
                     [--access-log FILE] [--error-log FILE] [--arch single|pool] [--json FILE] [--quiet]
  packetwalk type-o-serve [--listen HOST:PORT] [PORT]  |  --sim [--get PATH] [--steps] [--seed N] [--loss P] ...
                     |  (--tun NAME | --tap NAME) --addr CIDR [--steps] [PORT]  (root)
  packetwalk lab     list | show ID | run ID [--out DIR] | check ID [--answers FILE] [--run DIR]
                     | skeleton ID DIR | test ID --impl DIR
  packetwalk drill   [--relaxed] [--seed N] [--json FILE] [--pcap FILE] [--html FILE] [--quiet] [--verbose]
                     [--host NAME]... [--layer L,...] [--conn N] [--drops-only] [--ladder] FILE.pkt...
  packetwalk help

Commands:
  trace   a client (gVisor's netstack, Go's HTTP client) fetches / from a
          packetwalk host running httpd, over a simulated wire; prints every
          step of every frame's walk and writes trace.pcapng and trace.jsonl
  ping    ping between two simulated hosts (or through a router), each reply
          with the walk of its frames
  serve   packetwalk's httpd on packetwalk's stack through a TUN or TAP
          device (--tun, --tap), or on the kernel's sockets (--listen), for curl and browsers
          and for comparison: narrates the seven steps of every request
          until Ctrl-C (the demo site unless --docroot or --config says)
  type-o-serve
          the seed's diagnostic server: prints each request as it arrived
          and sends what you type, ended by a line holding a single "."
          (default 127.0.0.1:8080; --sim: be the web server of a packetwalk
          host and let a simulated client ask; --tun/--tap: on packetwalk's
          stack, for the kernel's clients)
  lab     the course labs: handouts, scenarios run into a folder of yours,
          answers and runs graded (scenario labs), and graded tests of your
          own code (implementation labs); 'packetwalk lab' for the commands
  drill   packetdrill scripts (the field's TCP conformance tests) played
          against a packetwalk host in virtual time: each line's segment,
          socket call and result checked, one script narrated and drawn
          like a trace; drill/corpus holds packetwalk's own
  help    print this help

Probabilities P are between 0 and 1. Run 'packetwalk COMMAND --help' for a
command's flags.
`

// exitError carries the exit status of a failure whose sentence was already
// printed.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

// errUsage marks a bad command line: exit status 2, as flag's own errors.
var errUsage = errors.New("usage")

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run is main without the process: it returns the exit status.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stdout, usage)
		return 0
	}
	var err error
	switch args[0] {
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	case "trace":
		err = runTrace(args[1:], stdout, stderr)
	case "ping":
		err = runPing(args[1:], stdout, stderr)
	case "serve":
		err = runServe(args[1:], stdout, stderr)
	case "type-o-serve":
		err = runTypeOServe(args[1:], stdout, stderr)
	case "lab":
		err = runLab(args[1:], stdout, stderr)
	case "drill":
		err = runDrill(args[1:], stdout, stderr)
	default:
		fmt.Fprintf(stderr, "packetwalk: unknown command %q; run 'packetwalk help' for the list.\n", args[0])
		return 2
	}
	var ee exitError
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		return 2
	case errors.As(err, &ee):
		return ee.code
	default:
		fmt.Fprintf(stderr, "packetwalk %s: %v\n", args[0], err)
		return 1
	}
}

// newFlagSet returns a flag set whose parse errors are one sentence on
// stderr followed by a pointer to --help, not the whole usage.
func newFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet("packetwalk "+name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return fs
}

// parseFlags parses args, printing a one-sentence error for bad flags and
// the flag list for --help.
func parseFlags(fs *flag.FlagSet, args []string, stdout, stderr io.Writer) error {
	err := fs.Parse(args)
	if errors.Is(err, flag.ErrHelp) {
		fs.SetOutput(stdout)
		fmt.Fprintf(stdout, "Usage of %s:\n", fs.Name())
		fs.PrintDefaults()
		return flag.ErrHelp
	}
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v; run '%s --help' for the flags.\n", fs.Name(), err, fs.Name())
		return errUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "%s: unexpected argument %q; run '%s --help' for the flags.\n", fs.Name(), fs.Arg(0), fs.Name())
		return errUsage
	}
	return nil
}

// probability is a flag.Value for a probability between 0 and 1.
type probability float64

func (p *probability) String() string { return fmt.Sprint(float64(*p)) }
func (p *probability) Set(s string) error {
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return fmt.Errorf("%q is not a number", s)
	}
	if !(v >= 0 && v <= 1) { // also rejects NaN
		return fmt.Errorf("%v is not a probability between 0 and 1", v)
	}
	*p = probability(v)
	return nil
}
