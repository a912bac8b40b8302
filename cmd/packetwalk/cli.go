package main

// The command table. The usage, each command's help and the shell
// completions are generated from it and from the very flag sets that the
// commands parse, so that none of them can leave a flag out: a flag
// registered in a command's flag set is in `packetwalk help`, in
// `packetwalk COMMAND --help` and in the completions, with nothing else to
// edit. TestEveryFlagIsDocumented holds that.

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"reflect"
	"runtime"
	"runtime/debug"
	"sort"
	"strings"
)

// command is one of packetwalk's commands, or one of lab's subcommands.
type command struct {
	name string // "trace", or "lab run" for a subcommand
	// modes is the hand-written start of the synopsis: the flags that
	// choose between ways of running (serve's --listen or --tun), which
	// a list of optional flags cannot say. A flag named here is not
	// repeated in the generated list.
	modes string
	// args are the positional arguments after the flags, as
	// placeholders: ID, DIR, FILE.pkt...; a trailing "..." repeats, and
	// "[X]" is optional. The completions read them (see valueKind).
	args  []string
	about string // what the command does, one paragraph
	// flags returns a new flag set, the one the command parses; nil for
	// a command without flags.
	flags func() *flag.FlagSet
	run   func(args []string, stdout, stderr io.Writer) error
	subs  []*command // lab's subcommands
}

// commands is the table; init fills it, since the commands' run functions
// print their help from it.
var commands []*command

func init() {
	commands = []*command{
		{name: "trace", flags: func() *flag.FlagSet { return new(traceOpts).flagSet() }, run: runTrace,
			about: "A browser on a packetwalk host (the seed's; --client gvisor: gVisor's netstack and Go's HTTP " +
				"client instead) fetches / and what it names (and each --get PATH) from a " +
				"packetwalk host running httpd, over a simulated wire; prints every step of every frame's walk " +
				"and writes trace.pcapng, trace.jsonl and trace.html. --scenario runs a scenario file or a lab's " +
				"scenario instead. It ends with one line per request and fails if a request did."},
		{name: "ping", flags: func() *flag.FlagSet { return new(pingOpts).flagSet() }, run: runPing,
			about: "Ping between two simulated hosts (or through a router, --via-router), each reply with " +
				"the walk of its frames; fails like ping(8) when no reply comes back."},
		{name: "serve", modes: "(--listen HOST:PORT | (--tun NAME | --tap NAME) --addr CIDR)",
			flags: func() *flag.FlagSet { return new(serveFlags).flagSet() }, run: runServe,
			about: "packetwalk's httpd on packetwalk's stack through a TUN or TAP device (--tun, --tap; " +
				"root, see the README), or on the kernel's sockets (--listen), for curl and browsers and for " +
				"comparison: narrates the seven steps of every request until Ctrl-C (the demo site unless " +
				"--docroot or --config says)."},
		{name: "type-o-serve", modes: "[--listen HOST:PORT | --sim | (--tun NAME | --tap NAME) --addr CIDR]", args: []string{"[PORT]"},
			flags: func() *flag.FlagSet { return new(typeOServeOpts).flagSet() }, run: runTypeOServe,
			about: "The seed's diagnostic server: prints each request as it arrived and sends what you " +
				"type, ended by a line holding a single \".\" (default " + typeOServeDefaultListen + "; --sim: " +
				"be the web server of a packetwalk host and let a simulated client ask; --tun/--tap: on " +
				"packetwalk's stack, for the kernel's clients)."},
		{name: "lab", run: runLab, subs: labCommands(),
			about: "The course labs: handouts, scenarios run into a folder of yours, answers and runs " +
				"graded (scenario labs), and graded tests of your own code (implementation labs)."},
		{name: "drill", args: []string{"FILE.pkt..."}, flags: func() *flag.FlagSet { return new(drillOpts).flagSet() }, run: runDrill,
			about: "packetdrill scripts (the field's TCP conformance tests) played against a packetwalk " +
				"host in virtual time: each line's segment, socket call and result checked, one script " +
				"narrated and drawn like a trace; drill/corpus holds packetwalk's own."},
		{name: "playground", flags: func() *flag.FlagSet { return new(playgroundOpts).flagSet() }, run: runPlayground,
			about: "Write the playground into --out DIR: a page that runs packetwalk itself in a browser " +
				"(WebAssembly built now with your Go), offline from the folder or from any static web host: the " +
				"main job, ping, the scenario labs with their questions checked, a scenario editor, the report " +
				"of every run and its capture to download."},
		{name: "help", args: []string{"[COMMAND]"}, flags: func() *flag.FlagSet { return newFlagSet("help") }, run: runHelp,
			about: "Print the usage, or a command's usage and flags (packetwalk help lab run: a lab command's)."},
		{name: "version", flags: func() *flag.FlagSet { return newFlagSet("version") }, run: runVersion,
			about: "Print packetwalk's version (the module's, and the commit it was built from when " +
				"known) and the Go version it was built with; also --version."},
		{name: "completion", args: []string{"bash|zsh"}, flags: func() *flag.FlagSet { return newFlagSet("completion") }, run: runCompletion,
			about: "Print a shell completion script for commands, lab's commands, flags and file " +
				"arguments. bash: source <(packetwalk completion bash), e.g. in ~/.bashrc; zsh (after " +
				"compinit): source <(packetwalk completion zsh), or save it as _packetwalk in a folder of $fpath."},
	}
}

// labCommands are lab's subcommands.
func labCommands() []*command {
	return []*command{
		{name: "lab list", about: "List the labs: scenario labs and implementation labs."},
		{name: "lab show", args: []string{"ID"}, flags: func() *flag.FlagSet { return new(labShowOpts).flagSet() },
			about: "Print the lab's handout (or, with --file, one of its scenario files, to copy and edit). " +
				"ID may be a scenario FILE.yaml of your own: its title, description and questions."},
		{name: "lab run", args: []string{"ID"}, flags: func() *flag.FlagSet { return new(labRunOpts).flagSet() },
			about: "Run the lab's scenarios; write trace*.jsonl, .pcapng, .html and the narration " +
				"(trace*.txt) into --out DIR (default lab-ID). ID may be a scenario FILE.yaml of your own."},
		{name: "lab check", args: []string{"ID"}, flags: func() *flag.FlagSet { return new(labCheckOpts).flagSet() },
			about: "Grade your answers (--answers) and/or the runs in a folder (--run); the last line says " +
				"\"N passed, N failed\" (--json: every grade for a machine). ID may be a scenario FILE.yaml " +
				"with its answers inline."},
		{name: "lab skeleton", args: []string{"ID", "DIR"},
			about: "Copy an implementation lab's skeleton into a new folder DIR."},
		{name: "lab test", modes: "--impl DIR", args: []string{"ID"}, flags: func() *flag.FlagSet { return new(labTestOpts).flagSet() },
			about: "Run an implementation lab's graded tests on your code in DIR; the last line says " +
				"\"N passed, N failed\" (--json: every graded test for a machine)."},
		{name: "lab serve", modes: "--impl DIR [--tun NAME | --tap NAME] [--addr CIDR] [-- FLAGS...]", args: []string{"ID"},
			flags: func() *flag.FlagSet { return new(labServeOpts).flagSet() },
			about: "Build packetwalk with your implementation lab's component (in DIR) in place of the stack's own, " +
				"and carry real traffic through it: with --tun or --tap (root), serve's demo site to curl or a browser " +
				"on this machine; without, trace's simulated browser and server, both with your component. " +
				"FLAGS after -- go to serve or trace. The step log's first lines say whose component runs, and " +
				"the steps it takes carry impl: student."},
	}
}

// findCommand returns the command or lab subcommand with name ("lab run"),
// or nil.
func findCommand(name string) *command {
	for _, c := range commands {
		if c.name == name {
			return c
		}
		for _, s := range c.subs {
			if s.name == name {
				return s
			}
		}
	}
	return nil
}

// shortName is the command's last word: "run" for "lab run".
func (c *command) shortName() string { return c.name[strings.LastIndex(c.name, " ")+1:] }

// flagList returns the command's flags in the flag package's order
// (sorted by name); none for a command without flags.
func (c *command) flagList() []*flag.Flag {
	if c.flags == nil {
		return nil
	}
	return flagsOf(c.flags())
}

func flagsOf(fs *flag.FlagSet) []*flag.Flag {
	var out []*flag.Flag
	fs.VisitAll(func(f *flag.Flag) { out = append(out, f) })
	return out
}

// synopsis is the command's synopsis as words: its modes, its other flags
// in brackets, its arguments.
func (c *command) synopsis() []string { return c.synopsisWith(c.flagList()) }

func (c *command) synopsisWith(flags []*flag.Flag) []string {
	var words []string
	if c.argsFirst() {
		// lab's subcommands read the lab ID first, then the flags.
		words = append(words, c.args...)
	}
	if c.modes != "" {
		words = append(words, c.modes)
	}
	for _, f := range flags {
		if !mentions(c.modes, f.Name) {
			words = append(words, "["+flagSynopsis(f)+"]"+repeatMark(f))
		}
	}
	if c.argsFirst() {
		return words
	}
	return append(words, c.args...)
}

// argsFirst reports whether the command takes its arguments before its
// flags: lab's subcommands do (packetwalk lab run ID --out DIR).
func (c *command) argsFirst() bool { return strings.Contains(c.name, " ") }

// mentions reports whether s names --flag (as a whole word).
func mentions(s, name string) bool {
	for i := 0; ; {
		j := strings.Index(s[i:], "--"+name)
		if j < 0 {
			return false
		}
		end := i + j + 2 + len(name)
		if end == len(s) || !isFlagNameByte(s[end]) {
			return true
		}
		i = end
	}
}

func isFlagNameByte(b byte) bool {
	return b == '-' || b == '_' || b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9'
}

// flagSynopsis is "--name PLACEHOLDER", "--name" for a boolean flag, or
// "--name=false" for a boolean flag that is on by default.
func flagSynopsis(f *flag.Flag) string {
	if isBool(f) {
		if f.DefValue == "true" {
			return "--" + f.Name + "=false"
		}
		return "--" + f.Name
	}
	return "--" + f.Name + " " + placeholder(f)
}

func repeatMark(f *flag.Flag) string {
	if isRepeatable(f) {
		return "..."
	}
	return ""
}

func isBool(f *flag.Flag) bool {
	b, ok := f.Value.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}

// repeatable is implemented by the flag values that a repeated flag adds to.
type repeatable interface{ repeatable() }

func isRepeatable(f *flag.Flag) bool {
	_, ok := f.Value.(repeatable)
	return ok
}

// placeholder names a flag's value: the value's own name for itself
// (probability: P; choice: its values a|b), else the back-quoted word of
// its usage (the flag package's convention: "write the capture to this
// pcapng `FILE`"), else one for its type.
func placeholder(f *flag.Flag) string {
	if p, ok := f.Value.(interface{ placeholder() string }); ok {
		return p.placeholder()
	}
	name, _ := flag.UnquoteUsage(f)
	switch name {
	case "int", "uint":
		return "N"
	case "float":
		return "X"
	case "duration":
		return "DURATION"
	case "string", "value", "":
		return "VALUE"
	}
	return name
}

// usageText is the top-level usage: every command's synopsis (so every
// flag), then what each command does.
func usageText() string {
	var b strings.Builder
	b.WriteString("packetwalk — a TCP/IP stack written to be read and watched.\n\nUsage:\n")
	const col = 21 // where a synopsis starts: len("  packetwalk serve   ")
	for _, c := range commands {
		if len(c.subs) > 0 {
			for _, s := range c.subs {
				prefix := fmt.Sprintf("  packetwalk %-7s %s", c.name, s.shortName())
				writeWrapped(&b, prefix, col, s.synopsis())
			}
			continue
		}
		writeWrapped(&b, fmt.Sprintf("  packetwalk %-7s", c.name), col, c.synopsis())
	}
	b.WriteString("\nCommands:\n")
	for _, c := range commands {
		if len(c.name) > 7 {
			fmt.Fprintf(&b, "  %s\n", c.name)
			b.WriteString(wrapText(c.about, 10, 78))
			continue
		}
		text := wrapText(c.about, 10, 78)
		fmt.Fprintf(&b, "  %-7s %s", c.name, text[10:])
	}
	b.WriteString("\nProbabilities P are between 0 and 1. Every flag is also accepted with one dash (-seed)\n" +
		"and as --flag=value. Run 'packetwalk help COMMAND' (or 'packetwalk COMMAND --help')\n" +
		"for a command's flags, their meanings and defaults.\n")
	return b.String()
}

// writeWrapped writes prefix and words, wrapped at 100 columns with the
// continuation lines starting at column col.
func writeWrapped(b *strings.Builder, prefix string, col int, words []string) {
	const width = 100
	line := prefix
	fresh := true // nothing after the prefix yet: a word always goes on
	for _, w := range words {
		if !fresh && len(line)+1+len(w) > width {
			b.WriteString(line + "\n")
			line, fresh = strings.Repeat(" ", col-1), true
		}
		line += " " + w
		fresh = false
	}
	b.WriteString(line + "\n")
}

// wrapText wraps s into lines of at most width columns, each indented.
func wrapText(s string, indent, width int) string {
	var b strings.Builder
	line := ""
	for _, w := range strings.Fields(s) {
		if line != "" && indent+len(line)+1+len(w) > width {
			b.WriteString(strings.Repeat(" ", indent) + line + "\n")
			line = ""
		}
		if line != "" {
			line += " "
		}
		line += w
	}
	if line != "" {
		b.WriteString(strings.Repeat(" ", indent) + line + "\n")
	}
	return b.String()
}

// writeHelp writes a command's help: its synopsis, what it does and each
// flag with its meaning and default. fs is the flag set being parsed when
// the help was asked for with --help (nil: the command's own), so that the
// help lists the flags the command really takes.
func writeHelp(w io.Writer, c *command, fs *flag.FlagSet) {
	var b strings.Builder
	b.WriteString("Usage:\n")
	if len(c.subs) > 0 {
		for _, s := range c.subs {
			writeWrapped(&b, "  packetwalk "+s.name, len("  packetwalk "+s.name)+1, s.synopsis())
		}
		b.WriteString("\n" + wrapText(c.about, 2, 78) + "\nCommands:\n")
		for _, s := range c.subs {
			text := wrapText(s.about, 12, 78)
			fmt.Fprintf(&b, "  %-9s %s", s.shortName(), text[12:])
		}
		fmt.Fprintf(&b, "\nRun 'packetwalk help %s COMMAND' for a command's flags.\n", c.name)
		io.WriteString(w, b.String())
		return
	}
	flags := c.flagList()
	if fs != nil {
		flags = flagsOf(fs)
	}
	writeWrapped(&b, "  packetwalk "+c.name, len("  packetwalk "+c.name)+1, c.synopsisWith(flags))
	b.WriteString("\n" + wrapText(c.about, 2, 78))
	if len(flags) > 0 {
		b.WriteString("\nFlags:\n")
	}
	for _, f := range flags {
		fmt.Fprintf(&b, "  %s\n", flagSynopsis(f))
		_, usage := flag.UnquoteUsage(f)
		if isRepeatable(f) && !strings.Contains(usage, "repeatable") {
			usage += " (repeatable)"
		}
		if d := defaultText(f); d != "" {
			usage += " (default " + d + ")"
		}
		b.WriteString(wrapText(usage, 8, 80))
	}
	io.WriteString(w, b.String())
}

// defaultText is a flag's default as help shows it, "" when it is the
// zero value (which help does not show, as the flag package does not).
func defaultText(f *flag.Flag) string {
	switch f.DefValue {
	case "", "0", "false", "0s":
		return ""
	}
	if reflect.TypeOf(f.Value).String() == "*flag.stringValue" {
		return fmt.Sprintf("%q", f.DefValue)
	}
	return f.DefValue
}

// runHelp is `packetwalk help [COMMAND [SUBCOMMAND]]`.
func runHelp(args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && strings.HasPrefix(args[0], "-") {
		if err := parseFlags(newFlagSet("help"), args, stdout, stderr); err != nil {
			return err
		}
	}
	if len(args) == 0 {
		io.WriteString(stdout, usageText())
		return nil
	}
	name := strings.Join(args, " ")
	c := findCommand(name)
	if c == nil || len(args) > 2 {
		fmt.Fprintf(stderr, "packetwalk help: unknown command %q; run 'packetwalk help' for the list.\n", name)
		return errUsage
	}
	writeHelp(stdout, c, nil)
	return nil
}

// readBuildInfo is debug.ReadBuildInfo; tests replace it.
var readBuildInfo = debug.ReadBuildInfo

// runVersion is `packetwalk version`: the module's version ("(devel)" for
// go run and go build in the repository; v1.2.3 for go install ...@v1.2.3),
// the commit, its time and whether the tree had changes (when go build
// stamped them), and the Go version.
func runVersion(args []string, stdout, stderr io.Writer) error {
	if err := parseFlags(newFlagSet("version"), args, stdout, stderr); err != nil {
		return err
	}
	version, goVersion := "(unknown)", runtime.Version()
	var settings []debug.BuildSetting
	if bi, ok := readBuildInfo(); ok {
		if bi.Main.Version != "" {
			version = bi.Main.Version
		}
		if bi.GoVersion != "" {
			goVersion = bi.GoVersion
		}
		for _, s := range bi.Settings {
			if strings.HasPrefix(s.Key, "vcs.") {
				settings = append(settings, s)
			}
		}
	}
	fmt.Fprintf(stdout, "packetwalk %s\n", version)
	fmt.Fprintf(stdout, "  %-13s %s %s/%s\n", "go", goVersion, runtime.GOOS, runtime.GOARCH)
	for _, s := range settings {
		fmt.Fprintf(stdout, "  %-13s %s\n", s.Key, s.Value)
	}
	return nil
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
// the command's help for --help.
func parseFlags(fs *flag.FlagSet, args []string, stdout, stderr io.Writer) error {
	_, err := parseFlagsAndArgs(fs, args, 0, "", stdout, stderr)
	return err
}

// parseFlagsAndArgs is parseFlags for a command that takes up to max
// positional arguments (named what, for the error), with flags before or
// after them.
func parseFlagsAndArgs(fs *flag.FlagSet, args []string, max int, what string, stdout, stderr io.Writer) ([]string, error) {
	var positional []string
	for {
		err := fs.Parse(args)
		if errors.Is(err, flag.ErrHelp) {
			printHelp(fs, stdout)
			return nil, flag.ErrHelp
		}
		if err != nil {
			fmt.Fprintf(stderr, "%s: %v; run '%s --help' for the flags.\n", fs.Name(), err, fs.Name())
			return nil, errUsage
		}
		if fs.NArg() == 0 {
			return positional, nil
		}
		positional = append(positional, fs.Arg(0))
		if len(positional) > max {
			if max == 0 {
				fmt.Fprintf(stderr, "%s: unexpected argument %q; run '%s --help' for the flags.\n", fs.Name(), fs.Arg(0), fs.Name())
			} else {
				fmt.Fprintf(stderr, "%s: unexpected argument %q (it takes at most %d %s); run '%s --help' for the flags.\n",
					fs.Name(), fs.Arg(0), max, what, fs.Name())
			}
			return nil, errUsage
		}
		args = fs.Args()[1:]
	}
}

// printHelp prints the help of the command whose flag set fs is.
func printHelp(fs *flag.FlagSet, stdout io.Writer) {
	if c := findCommand(strings.TrimPrefix(fs.Name(), "packetwalk ")); c != nil {
		writeHelp(stdout, c, fs)
		return
	}
	// A flag set outside the table (none today): the flag package's list.
	fmt.Fprintf(stdout, "Usage of %s:\n", fs.Name())
	fs.SetOutput(stdout)
	fs.PrintDefaults()
}

// choice is a string flag with a fixed set of values, which its help and
// the completions name. It takes any string: the command checks the value
// after parsing, with a sentence that says what each value means.
type choice struct {
	p      *string
	values []string
}

// newChoice returns a choice flag value storing into p, set to def.
func newChoice(p *string, def string, values ...string) *choice {
	*p = def
	return &choice{p: p, values: values}
}

func (c *choice) String() string {
	if c == nil || c.p == nil {
		return ""
	}
	return *c.p
}
func (c *choice) Set(s string) error  { *c.p = s; return nil }
func (c *choice) placeholder() string { return strings.Join(c.values, "|") }

// sortedKeys returns m's keys in order.
func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
