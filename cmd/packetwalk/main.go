// Command packetwalk runs packetwalk's scenarios and servers. It is thin: it
// parses flags, builds a scenario from the packages, runs it and reports.
// Every failure is one sentence on standard error and a non-zero exit.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// exitError carries the exit status of a failure whose sentence was already
// printed.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

// errUsage marks a bad command line: exit status 2, as flag's own errors.
var errUsage = errors.New("usage")

// run is main without the process: it returns the exit status.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		// A bare packetwalk is a command line that says nothing: the
		// usage goes where errors go, and the exit status is flag's for a
		// bad command line.
		fmt.Fprint(stderr, usageText())
		return 2
	}
	switch args[0] {
	case "-h", "-help", "--help":
		args = append([]string{"help"}, args[1:]...)
	case "-version", "--version":
		args = append([]string{"version"}, args[1:]...)
	}
	c := findCommand(args[0])
	if c == nil || c.run == nil || strings.Contains(args[0], " ") {
		fmt.Fprintf(stderr, "packetwalk: unknown command %q; run 'packetwalk help' for the list.\n", args[0])
		return 2
	}
	err := c.run(args[1:], stdout, stderr)
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

func (p *probability) placeholder() string { return "P" }
