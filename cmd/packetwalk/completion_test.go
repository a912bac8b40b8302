package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/packetwalk/packetwalk/internal/testenv"
)

// completionDir is a folder to complete file names in: two scripts (one
// with a space in its name), a text file and a folder.
func completionDir(t *testing.T) string {
	dir := t.TempDir()
	for _, name := range []string{"a.pkt", "c d.pkt", "b.txt"} {
		if err := os.WriteFile(filepath.Join(dir, name), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// writeScript writes `packetwalk completion SHELL` into dir.
func writeScript(t *testing.T, dir, shell string) string {
	code, out, errOut := runCLI("completion", shell)
	if code != 0 || errOut != "" {
		t.Fatalf("completion %s: exit %d, %s", shell, code, errOut)
	}
	path := filepath.Join(dir, "packetwalk."+shell)
	if err := os.WriteFile(path, []byte(out), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// bashComplete runs the bash script's completion function as bash's
// programmable completion would, on the words of a command line whose
// last word is the one being completed, and returns COMPREPLY.
func bashComplete(t *testing.T, bash, script, dir string, words ...string) []string {
	t.Helper()
	args := append([]string{"--norc", "--noprofile", "-c",
		`source "$0" || exit 1; COMP_WORDS=("$@"); COMP_CWORD=$(( $# - 1 )); _packetwalk; printf '%s\n' "${COMPREPLY[@]}"`,
		script}, words...)
	cmd := exec.Command(bash, args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%q: %v\n%s", words, err, out)
	}
	var reply []string
	for _, line := range strings.Split(strings.TrimSuffix(string(out), "\n"), "\n") {
		if line != "" {
			reply = append(reply, line)
		}
	}
	slices.Sort(reply)
	return reply
}

func TestCompletionBash(t *testing.T) {
	bash := testenv.Tool(t, "bash", "install it with: apt-get install bash")
	dir := completionDir(t)
	script := writeScript(t, t.TempDir(), "bash")
	if out, err := exec.Command(bash, "-n", script).CombinedOutput(); err != nil {
		t.Fatalf("bash -n: %v\n%s", err, out)
	}
	cases := []struct {
		words []string
		want  []string
	}{
		{[]string{"packetwalk", "tr"}, []string{"trace"}},
		{[]string{"packetwalk", "lab", ""}, []string{"check", "help", "list", "run", "serve", "show", "skeleton", "test"}},
		{[]string{"packetwalk", "lab", "run", "08"}, []string{"08-nagle"}},
		{[]string{"packetwalk", "lab", "test", "impl-de"}, []string{"impl-demux"}},
		{[]string{"packetwalk", "lab", "test", "impl-d"}, []string{"impl-demux", "impl-drill"}},
		{[]string{"packetwalk", "lab", "run", "08-nagle", "--sc"}, []string{"--scenario"}},
		{[]string{"packetwalk", "lab", "skeleton", "impl-demux", ""}, []string{"sub"}},
		{[]string{"packetwalk", "trace", "--pc"}, []string{"--pcap", "--pcap-host"}},
		{[]string{"packetwalk", "trace", "--pcap-"}, []string{"--pcap-host"}},
		{[]string{"packetwalk", "trace", "-ladder-f"}, []string{"--ladder-format"}},
		{[]string{"packetwalk", "trace", "--wire", ""}, []string{"hub", "switch"}},
		{[]string{"packetwalk", "ping", "-wire", "s"}, []string{"switch"}},
		{[]string{"packetwalk", "trace", "--wire", "=", "s"}, []string{"switch"}},
		{[]string{"packetwalk", "trace", "--json", ""}, []string{"a.pkt", "b.txt", "c d.pkt", "sub"}},
		{[]string{"packetwalk", "trace", "--docroot", ""}, []string{"sub"}},
		{[]string{"packetwalk", "serve", "--arch", ""}, []string{"event", "multiplexed", "pool", "single"}},
		{[]string{"packetwalk", "drill", ""}, []string{"a.pkt", "c d.pkt", "sub"}},
		// A flag's value is not a script; a boolean flag takes none.
		{[]string{"packetwalk", "drill", "--seed", "3", "--quiet", "a.pkt", "c"}, []string{"c d.pkt"}},
		{[]string{"packetwalk", "drill", "--seed", ""}, nil},
		{[]string{"packetwalk", "help", "la"}, []string{"lab"}},
		{[]string{"packetwalk", "help", "lab", "sk"}, []string{"skeleton"}},
		{[]string{"packetwalk", "completion", ""}, []string{"bash", "zsh"}},
	}
	for _, c := range cases {
		if got := bashComplete(t, bash, script, dir, c.words...); !slices.Equal(got, c.want) {
			t.Errorf("%q: COMPREPLY %q, want %q", c.words, got, c.want)
		}
	}
	// Every flag of every command is offered after --.
	for _, c := range allCommands() {
		words := append([]string{"packetwalk"}, strings.Fields(c.name)...)
		if c.argsFirst() && len(c.args) > 0 {
			words = append(words, "08-nagle")
		}
		got := bashComplete(t, bash, script, dir, append(words, "--")...)
		var want []string
		for _, f := range c.flagList() {
			want = append(want, "--"+f.Name)
		}
		if !slices.Equal(got, want) {
			t.Errorf("%q: COMPREPLY %q, want %q", words, got, want)
		}
	}
}

// regexpEscapes matches a terminal's escape sequences.
var regexpEscapes = regexp.MustCompile(`\x1b(\[[0-9;?]*[a-zA-Z]|[=>])`)

// zshHarness drives zsh's line editor in a pseudo-terminal (zsh/zpty): for
// each command line after the script, it types the line and ^D
// (list-choices), and prints what zsh listed after a "=== line" header.
const zshHarness = `zmodload zsh/zpty
readuntil() {
  local chunk; integer n=0
  while (( n++ < 1500 )); do
    if zpty -r -t z chunk; then all+=$chunk; [[ $all == $~1 ]] && return 0; else sleep 0.02; fi
  done
  print -r -- "timed out waiting for $1 in: $all"
  exit 1
}
all=''
zpty z 'zsh -f -i'
zpty -w z 'PS1="%% "; setopt nobeep; autoload -U compinit; compinit -u -D; source '$1'; print REA''DY'
readuntil '*READY[[:space:]]*% *'
for line in "${@:2}"; do
  all=''
  zpty -w -n z "$line"$'\C-d\C-u'
  zpty -w z 'print DO''NE'
  readuntil '*DONE[[:space:]]*% *'
  print -r -- "=== $line"
  print -r -- "$all"
done
zpty -d z
`

func TestCompletionZsh(t *testing.T) {
	zsh := testenv.Tool(t, "zsh", "install it with: apt-get install zsh")
	dir := completionDir(t)
	tmp := t.TempDir()
	script := writeScript(t, tmp, "zsh")
	if out, err := exec.Command(zsh, "-n", script).CombinedOutput(); err != nil {
		t.Fatalf("zsh -n: %v\n%s", err, out)
	}
	harness := filepath.Join(tmp, "harness.zsh")
	if err := os.WriteFile(harness, []byte(zshHarness), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		line          string
		want, notWant []string
	}{
		{"packetwalk tr", []string{"trace", "A browser on a packetwalk host"}, []string{"ping"}},
		{"packetwalk lab r", []string{"run", "Run the lab's scenarios"}, []string{"show"}},
		{"packetwalk lab run 0", []string{"01-http-life", "The life of an HTTP request", "09-slow-start"}, []string{"impl-demux"}},
		{"packetwalk trace --la", []string{"--ladder-format", "--ladder-rows", "--layer", "the ladder's format: text, or mermaid"}, []string{"--pcap"}},
		{"packetwalk trace --wire ", []string{"hub", "switch"}, nil},
		{"packetwalk drill ", []string{"a.pkt", `c\ d.pkt`, "sub/"}, []string{"b.txt"}},
		{"packetwalk serve --config ", []string{"a.pkt", "b.txt", "sub/"}, nil},
		{"packetwalk completion ", []string{"bash", "zsh"}, nil},
	}
	var lines []string
	for _, c := range cases {
		lines = append(lines, c.line)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, zsh, append([]string{"-f", harness, script}, lines...)...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "HOME="+tmp, "TERM=xterm")
	raw, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("zsh: %v\n%s", err, raw)
	}
	// The terminal's output, without its escape sequences.
	out := regexpEscapes.ReplaceAllString(strings.ReplaceAll(string(raw), "\r", ""), "")
	for _, c := range cases {
		_, listed, ok := strings.Cut(out, "=== "+c.line+"\n")
		if !ok {
			t.Errorf("%q: no listing in %q", c.line, out)
			continue
		}
		listed, _, _ = strings.Cut(listed, "=== ")
		for _, w := range c.want {
			if !strings.Contains(listed, w) {
				t.Errorf("%q: zsh does not offer %q:\n%s", c.line, w, listed)
			}
		}
		for _, w := range c.notWant {
			if strings.Contains(listed, w) {
				t.Errorf("%q: zsh offers %q:\n%s", c.line, w, listed)
			}
		}
	}
}
