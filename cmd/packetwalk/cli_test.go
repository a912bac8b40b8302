package main

import (
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/packetwalk/packetwalk/tcp"
)

// allCommands is every command and lab subcommand of the table.
func allCommands() []*command {
	var out []*command
	for _, c := range commands {
		out = append(out, c)
		out = append(out, c.subs...)
	}
	return out
}

// helpArgs is the command line that asks command c for its help through
// its own flag parsing: lab's subcommands parse their flags after the ID.
func helpArgs(c *command) []string {
	args := strings.Fields(c.name)
	if c.argsFirst() && len(c.args) > 0 && c.flags != nil {
		args = append(args, "01-http-life")
	}
	return append(args, "--help")
}

var helpFlagLine = regexp.MustCompile(`(?m)^  --([a-z0-9-]+)`)

// Every flag that a command parses is in the top-level usage, in the
// command's help (with its meaning and default) and nowhere the command
// does not parse it: the help is printed from the flag set being parsed,
// the usage from the table, and the two must agree. This is what keeps
// the usage from drifting from the flags (issue 15: the usage once left
// out --scenario, --timeout, --viz and serve's --json).
func TestEveryFlagIsDocumented(t *testing.T) {
	_, usage, _ := runCLI("help")
	for _, c := range allCommands() {
		args := helpArgs(c)
		code, help, errOut := runCLI(args...)
		if code != 0 || errOut != "" || !strings.HasPrefix(help, "Usage:\n  packetwalk "+c.name) {
			t.Errorf("%v: exit %d, stderr %q, stdout %.80q", args, code, errOut, help)
			continue
		}
		if _, viaHelp, _ := runCLI(append([]string{"help"}, strings.Fields(c.name)...)...); viaHelp != help {
			t.Errorf("packetwalk help %s differs from %v", c.name, args)
		}
		listed := map[string]bool{}
		for _, m := range helpFlagLine.FindAllStringSubmatch(help, -1) {
			listed[m[1]] = true
		}
		flat := strings.Join(strings.Fields(help), " ")
		for _, f := range c.flagList() {
			if !listed[f.Name] {
				t.Errorf("%v does not list --%s", args, f.Name)
			}
			delete(listed, f.Name)
			if !mentions(usage, f.Name) {
				t.Errorf("packetwalk help does not list %s's --%s", c.name, f.Name)
			}
			_, meaning := flag.UnquoteUsage(f)
			if !strings.Contains(flat, strings.Join(strings.Fields(meaning), " ")) {
				t.Errorf("%v does not say what --%s means (%q)", args, f.Name, meaning)
			}
			if d := defaultText(f); d != "" && !strings.Contains(flat, "(default "+d+")") {
				t.Errorf("%v does not give --%s's default %s", args, f.Name, d)
			}
		}
		for name := range listed {
			t.Errorf("%v lists --%s, which the table's flag set for %s lacks", args, name, c.name)
		}
	}
	// The flags that the usage once left out.
	for _, want := range []string{"--scenario FILE", "--timeout DURATION", "--viz HOST:PORT", "--ladder-format text|mermaid", "--timestamps=false"} {
		if !strings.Contains(usage, want) {
			t.Errorf("the usage lacks %q", want)
		}
	}
}

// help COMMAND, COMMAND --help and COMMAND -h print the command's help on
// stdout and exit 0; serve's help says each flag's meaning and default.
func TestHelpOfACommand(t *testing.T) {
	for _, args := range [][]string{{"help", "serve"}, {"serve", "--help"}, {"serve", "-h"}, {"serve", "-help"}} {
		code, out, errOut := runCLI(args...)
		if code != 0 || errOut != "" {
			t.Fatalf("%v: exit %d, stderr %q", args, code, errOut)
		}
		for _, want := range []string{"Usage:\n  packetwalk serve (--listen HOST:PORT", "\nFlags:\n", "  --port N\n",
			"with --tun or --tap: the port httpd listens on (default 80)", "  --json FILE\n", "  --viz HOST:PORT\n"} {
			if !strings.Contains(out, want) {
				t.Errorf("%v lacks %q", args, want)
			}
		}
	}
	for _, args := range [][]string{{"help", "lab"}, {"lab", "help"}, {"lab", "--help"}} {
		code, out, _ := runCLI(args...)
		if code != 0 || !strings.Contains(out, "packetwalk lab run ID [--out DIR]") || !strings.Contains(out, "skeleton  Copy") {
			t.Errorf("%v: exit %d, %q", args, code, out)
		}
	}
	if code, out, _ := runCLI("lab", "run", "--help"); code != 0 || !strings.Contains(out, "  --scenario FILE\n") {
		t.Errorf("lab run --help: exit %d, %q", code, out)
	}
}

// A bare packetwalk (or packetwalk lab) is a usage error: the usage on
// stderr, exit 2, nothing on stdout.
func TestBareCommandIsAUsageError(t *testing.T) {
	code, out, errOut := runCLI()
	if code != 2 || out != "" || !strings.Contains(errOut, "packetwalk trace ") || !strings.Contains(errOut, "Commands:") {
		t.Errorf("packetwalk: exit %d, stdout %q, stderr %.100q", code, out, errOut)
	}
	code, out, errOut = runCLI("lab")
	if code != 2 || out != "" || !strings.Contains(errOut, "packetwalk lab skeleton ID DIR") {
		t.Errorf("packetwalk lab: exit %d, stdout %q, stderr %.100q", code, out, errOut)
	}
}

// An unknown command is one sentence that names it and points to help,
// with exit status 2.
func TestUnknownCommand(t *testing.T) {
	for _, c := range []struct {
		args      []string
		name, see string
	}{
		{[]string{"frobnicate"}, `"frobnicate"`, "'packetwalk help'"},
		{[]string{"help", "frobnicate"}, `"frobnicate"`, "'packetwalk help'"},
		{[]string{"lab", "frobnicate", "1"}, `"frobnicate"`, "'packetwalk help lab'"},
		{[]string{"lab run"}, `"lab run"`, "'packetwalk help'"},
	} {
		code, out, errOut := runCLI(c.args...)
		lines := strings.Split(strings.TrimSpace(errOut), "\n")
		if code != 2 || out != "" || len(lines) != 1 || !strings.Contains(errOut, c.name) || !strings.Contains(errOut, c.see) {
			t.Errorf("%v: exit %d, stdout %q, stderr %q", c.args, code, out, errOut)
		}
	}
}

func TestVersion(t *testing.T) {
	defer func(f func() (*debug.BuildInfo, bool)) { readBuildInfo = f }(readBuildInfo)
	readBuildInfo = func() (*debug.BuildInfo, bool) {
		return &debug.BuildInfo{GoVersion: "go1.99.1", Main: debug.Module{Path: "github.com/packetwalk/packetwalk", Version: "v1.2.3"},
			Settings: []debug.BuildSetting{{Key: "-buildmode", Value: "exe"}, {Key: "vcs", Value: "git"},
				{Key: "vcs.revision", Value: "0123abcd"}, {Key: "vcs.time", Value: "2026-01-02T03:04:05Z"}, {Key: "vcs.modified", Value: "true"}}}, true
	}
	for _, args := range [][]string{{"version"}, {"--version"}, {"-version"}} {
		code, out, errOut := runCLI(args...)
		if code != 0 || errOut != "" {
			t.Fatalf("%v: exit %d, stderr %q", args, code, errOut)
		}
		want := "packetwalk v1.2.3\n  go            go1.99.1 " + runtime.GOOS + "/" + runtime.GOARCH +
			"\n  vcs.revision  0123abcd\n  vcs.time      2026-01-02T03:04:05Z\n  vcs.modified  true\n"
		if out != want {
			t.Errorf("%v:\n%s\nwant\n%s", args, out, want)
		}
	}
	// go run and go test: "(devel)", no VCS settings, this Go.
	readBuildInfo = func() (*debug.BuildInfo, bool) {
		return &debug.BuildInfo{GoVersion: runtime.Version(), Main: debug.Module{Version: "(devel)"}}, true
	}
	if _, out, _ := runCLI("version"); out != "packetwalk (devel)\n  go            "+runtime.Version()+" "+runtime.GOOS+"/"+runtime.GOARCH+"\n" {
		t.Errorf("devel build: %q", out)
	}
	readBuildInfo = func() (*debug.BuildInfo, bool) { return nil, false }
	if _, out, _ := runCLI("version"); !strings.HasPrefix(out, "packetwalk (unknown)\n  go            "+runtime.Version()) {
		t.Errorf("no build info: %q", out)
	}
}

// A filter that cannot match gives one sentence and a failure instead of
// an empty narration: --host names no host of the run, --conn no socket,
// --layer no layer.
func TestFiltersThatMatchNothing(t *testing.T) {
	dir := t.TempDir()
	noFiles := []string{"--pcap", "", "--json", "", "--html", ""}
	pkt := filepath.Join("..", "..", "drill", "corpus", "handshake", "passive-open.pkt")
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"ping", "--count", "1", "--host", "nobody"}, "--host nobody: this run has no host or wire of that name (it has client, server, wire0)"},
		{[]string{"ping", "--count", "1", "--via-router", "--host", "server", "--host", "nobody"}, "(it has client, router, server, wire0, wire1)"},
		{[]string{"ping", "--count", "1", "--conn", "99"}, "--conn 99: this run opened no socket"},
		{[]string{"ping", "--count", "1", "--layer", "bogus"}, `--layer: unknown layer "bogus"`},
		{append([]string{"trace", "--quiet", "--conn", "99"}, noFiles...), "--conn 99: this run had no socket 99 (its sockets were 1-3)"},
		{append([]string{"trace", "--host", "nobody"}, noFiles...), "--host nobody: this run has no host or wire of that name (it has client, server, wire0)"},
		{append([]string{"trace", "--scenario", "04-routing/scenario-ttl.yaml", "--host", "nobody"}, noFiles...),
			"--host nobody: no step of this run was on a host or wire of that name (its steps were on client, router, wire0)"},
		{[]string{"drill", "--host", "nobody", "--json", filepath.Join(dir, "d.jsonl"), pkt}, "--host nobody: no step of this run was on a host or wire of that name"},
		{[]string{"drill", "--conn", "7", pkt}, "--conn 7: this run had no socket 7"},
	}
	for _, c := range cases {
		code, out, errOut := runCLI(c.args...)
		lines := strings.Split(strings.TrimSpace(errOut), "\n")
		if code == 0 || len(lines) != 1 || !strings.Contains(errOut, c.want) {
			t.Errorf("%v: exit %d, stderr %q (want one line with %q), stdout %.200q", c.args, code, errOut, c.want, out)
		}
	}
	// The filters that do match still pass.
	for _, args := range [][]string{
		{"ping", "--count", "1", "--via-router", "--host", "router", "--host", "wire1"},
		append([]string{"trace", "--quiet", "--conn", "1"}, noFiles...),
		{"drill", "--host", "packetwalk", "--conn", "1", pkt},
	} {
		if code, out, errOut := runCLI(args...); code != 0 {
			t.Errorf("%v: exit %d, stderr %q, stdout %.200q", args, code, errOut, out)
		}
	}
}

// --timestamps is on by default and --timestamps=false (or -timestamps=0)
// turns packetwalk's RFC 7323 timestamps off, in every command that has
// it.
func TestTimestampsFlag(t *testing.T) {
	for _, c := range []struct {
		args []string
		off  bool
	}{
		{nil, false},
		{[]string{"--timestamps"}, false},
		{[]string{"--timestamps=false"}, true},
		{[]string{"-timestamps=0"}, true},
		{[]string{"--timestamps=false", "--timestamps=true"}, false},
	} {
		var tr traceOpts
		var to typeOServeOpts
		var sf serveFlags
		for _, x := range []struct {
			fs *flag.FlagSet
			lf *linkFlags
		}{{tr.flagSet(), &tr.lf}, {to.flagSet(), &to.lf}, {sf.flagSet(), &sf.link}} {
			if err := x.fs.Parse(c.args); err != nil {
				t.Fatalf("%s %v: %v", x.fs.Name(), c.args, err)
			}
			if got := x.lf.tcpConfig().Timestamps == tcp.TimestampsOff; got != c.off {
				t.Errorf("%s %v: timestamps off %v, want %v", x.fs.Name(), c.args, got, c.off)
			}
		}
	}
	if code, _, errOut := runCLI("trace", "--timestamps=maybe"); code != 2 || !strings.Contains(errOut, `invalid boolean value "maybe" for -timestamps`) {
		t.Errorf("--timestamps=maybe: exit %d, %q", code, errOut)
	}
}

// TestCCFlag: --cc picks packetwalk's congestion control on every command
// that runs its TCP, and a run with --cc cubic shows RFC 9438's rules in
// its cwnd steps; an unknown name is a usage error.
func TestCCFlag(t *testing.T) {
	for _, c := range []struct {
		args []string
		want tcp.CongestionControl
	}{
		{nil, tcp.CongestionNewReno},
		{[]string{"--cc", "cubic"}, tcp.CongestionCUBIC},
		{[]string{"-cc=reno"}, tcp.CongestionNewReno},
		{[]string{"--cc", "CUBIC"}, tcp.CongestionCUBIC},
	} {
		var tr traceOpts
		var to typeOServeOpts
		var sf serveFlags
		for _, x := range []struct {
			fs *flag.FlagSet
			lf *linkFlags
		}{{tr.flagSet(), &tr.lf}, {to.flagSet(), &to.lf}, {sf.flagSet(), &sf.link}} {
			if err := x.fs.Parse(c.args); err != nil {
				t.Fatalf("%s %v: %v", x.fs.Name(), c.args, err)
			}
			if got := x.lf.tcpConfig().Congestion; got != c.want {
				t.Errorf("%s %v: congestion control %v, want %v", x.fs.Name(), c.args, got, c.want)
			}
		}
	}
	for _, cmd := range []string{"trace", "drill"} {
		if code, _, errOut := runCLI(cmd, "--cc", "vegas"); code != 2 || !strings.Contains(errOut, `unknown congestion control "vegas"`) {
			t.Errorf("%s --cc vegas: exit %d, %q", cmd, code, errOut)
		}
	}
	jsonl := filepath.Join(t.TempDir(), "steps.jsonl")
	if code, _, errOut := runCLI("trace", "--cc", "cubic", "--loss", "0.1", "--seed", "3", "--quiet", "--json", jsonl, "--pcap", "", "--html", ""); code != 0 {
		t.Fatalf("trace --cc cubic: exit %d: %s", code, errOut)
	}
	if b, err := os.ReadFile(jsonl); err != nil || !strings.Contains(string(b), "RFC 9438") {
		t.Errorf("trace --cc cubic with 10%% loss: no cwnd step cites RFC 9438 (%v)", err)
	}
}

// TestMermaidLadderHasStdoutToItself: with --ladder-format mermaid the
// diagram is all that standard output holds, so `> handshake.mmd` (the
// README's example) makes a file Mermaid reads; the narration, the
// summary and the "wrote" lines go to standard error.
func TestMermaidLadderHasStdoutToItself(t *testing.T) {
	dir := t.TempDir()
	for _, args := range [][]string{
		{"trace", "--quiet", "--ladder", "--ladder-format", "mermaid", "--json", filepath.Join(dir, "t.jsonl"), "--pcap", "", "--html", ""},
		{"ping", "--count", "1", "--ladder", "--ladder-format", "mermaid"},
		{"drill", "--ladder", "--ladder-format", "mermaid", "../../drill/corpus/handshake/passive-open.pkt"},
	} {
		code, out, errOut := runCLI(args...)
		if code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, errOut)
		}
		if !strings.HasPrefix(out, "sequenceDiagram\n") || strings.Contains(out, "wrote ") || strings.Contains(out, "== summary") {
			t.Errorf("%v: standard output is not only the diagram:\n%.300s", args, out)
		}
		if args[0] == "trace" && (!strings.Contains(errOut, "== summary") || !strings.Contains(errOut, "wrote ")) {
			t.Errorf("%v: the summary and the wrote lines are not on standard error:\n%.300s", args, errOut)
		}
	}
}
