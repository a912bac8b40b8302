package impl

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"time"
)

// `packetwalk lab serve ID --impl DIR` carries real traffic (curl's, a
// browser's, or the simulated browser of `trace`) through the student's
// component. packetwalk's command has one hook for it (labImpl in
// cmd/packetwalk/labimpl.go), nil as shipped. Serve writes a module like
// Test's, whose main package is a copy of cmd/packetwalk's files plus one
// generated file that sets the hook to the student's constructor, builds
// it, and runs the binary with the arguments of trace or serve.

// serveMainFile is the generated file of the main package.
const serveMainFile = "zz_labserve.go"

// ServeOptions are how Serve runs the built command.
type ServeOptions struct {
	// Args are the command's arguments: "trace" or "serve" and their
	// flags.
	Args           []string
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	// Env is added to the command's environment.
	Env []string
	// Also are more of the student's components, built in beside the
	// first (lab serve --also ID=DIR): the receiver and the sender of
	// TCP together, say.
	Also []Component
}

// Component is one of the student's components: a lab and the folder of
// the student's package for it.
type Component struct{ Lab, Dir string }

// part is one component being built in: its lab, the student's folder
// (absolute), its files, and the package's directory in the module.
type part struct {
	l     *Lab
	dir   string
	files []string
	pkg   string // studentDir, studentDir+"2", ...
}

// BuildError is a student's package that did not build into the command:
// the compiler's messages, with the student's paths, were written to
// Stdout.
type BuildError struct{ Lab, Dir string }

func (e *BuildError) Error() string {
	return fmt.Sprintf("your package in %s did not build (the compiler's messages are above), so %s cannot run it", e.Dir, e.Lab)
}

// ExitError is the built command's exit status when it is not zero; what
// went wrong is in what the command wrote.
type ExitError struct{ Code int }

func (e *ExitError) Error() string { return fmt.Sprintf("exit status %d", e.Code) }

// Serve builds packetwalk's command with the student's component of lab id
// (from implDir) in place of the stack's own, and runs it with o.Args,
// passing its standard streams through and SIGINT, SIGTERM and SIGHUP on.
// It returns nil if the command exited with status 0, *ExitError for
// another status, *BuildError if the student's package did not build, and
// a one-sentence error for what stopped it from starting.
func Serve(ctx context.Context, id, implDir string, o ServeOptions) error {
	l, err := find(id)
	if err != nil {
		return err
	}
	if l.scripts {
		return l.noServe()
	}
	if implDir == "" {
		return fmt.Errorf("give the directory of your implementation: packetwalk lab serve %s --impl DIR", id)
	}
	abs, err := filepath.Abs(implDir)
	if err != nil {
		return fmt.Errorf("%s: %v", implDir, err)
	}
	srcFiles, err := studentFiles(abs, l)
	if err != nil {
		return err
	}
	parts := []part{{l: l, dir: abs, files: srcFiles, pkg: studentDir}}
	for i, c := range o.Also {
		al, err := find(c.Lab)
		if err != nil {
			return err
		}
		for _, p := range parts {
			if p.l.serve.install == al.serve.install {
				return fmt.Errorf("%s is given twice: give each lab's component once", al.ID)
			}
		}
		if c.Dir == "" {
			return fmt.Errorf("give the directory of your %s: --also %s=DIR", al.ID, al.ID)
		}
		dir, err := filepath.Abs(c.Dir)
		if err != nil {
			return fmt.Errorf("%s: %v", c.Dir, err)
		}
		files, err := studentFiles(dir, al)
		if err != nil {
			return err
		}
		parts = append(parts, part{l: al, dir: dir, files: files, pkg: fmt.Sprintf("%s%d", studentDir, i+2)})
	}
	if _, err := exec.LookPath("go"); err != nil {
		return fmt.Errorf("lab serve builds packetwalk with your code using the go command, which is not on PATH: install Go from https://go.dev/dl/ (with sudo, keep your PATH: sudo env PATH=\"$PATH\" packetwalk lab serve ...)")
	}
	root, err := findSource(ctx, abs)
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "packetwalk-serve-"+id+"-")
	if err != nil {
		return fmt.Errorf("cannot create a temporary directory for the build: %v", err)
	}
	defer os.RemoveAll(tmp)
	if err := writeServeModule(tmp, root, parts); err != nil {
		return err
	}
	for _, p := range parts {
		fmt.Fprintf(o.Stdout, "%s: building packetwalk with your code from %s (packetwalk source: %s), then running packetwalk %s\n",
			p.l.ID, p.dir, root, strings.Join(o.Args, " "))
	}
	bin := filepath.Join(tmp, "packetwalk")
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, ".")
	build.Dir = tmp
	build.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod")
	build.WaitDelay = 5 * time.Second
	msgs, err := build.CombinedOutput()
	if ctx.Err() != nil {
		return fmt.Errorf("building packetwalk with your %s was stopped: %v", l.ID, ctx.Err())
	}
	if err != nil {
		var exit *exec.ExitError
		if !errors.As(err, &exit) {
			return fmt.Errorf("cannot run go build: %v", err)
		}
		ctors := []string{}
		for _, p := range parts {
			ctors = append(ctors, p.l.ctor)
		}
		fmt.Fprintf(o.Stdout, "Your package did not build into packetwalk. Keep the skeleton's package layout and its constructor, %s.\n", strings.Join(ctors, "; "))
		for _, line := range splitLines(string(msgs)) {
			if line == "" || strings.HasPrefix(line, "# ") {
				continue
			}
			for _, p := range parts[1:] {
				line = strings.ReplaceAll(line, filepath.Join(tmp, p.pkg)+string(filepath.Separator), p.dir+string(filepath.Separator))
				line = regexp.MustCompile(`(^|[\s(])(\./)?`+p.pkg+`/`).ReplaceAllString(line, "${1}"+p.dir+string(filepath.Separator))
			}
			fmt.Fprintf(o.Stdout, "      %s\n", studentPaths(line, tmp, abs))
		}
		return &BuildError{Lab: l.ID, Dir: abs}
	}
	return runServe(ctx, bin, o)
}

// runServe runs the built command until it exits, handing it the signals
// this process gets: it runs in a process group of its own, so that a
// terminal's Ctrl-C reaches it once (from here), as a second SIGINT ends
// serve at once.
func runServe(ctx context.Context, bin string, o ServeOptions) error {
	cmd := exec.Command(bin, o.Args...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = o.Stdin, o.Stdout, o.Stderr
	cmd.Env = append(os.Environ(), o.Env...)
	cmd.SysProcAttr = childAttr()
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, forwarded...)
	defer signal.Stop(sigs)
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("cannot start the packetwalk built with your code: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	for {
		select {
		case err := <-done:
			var exit *exec.ExitError
			if errors.As(err, &exit) {
				code := exit.ExitCode()
				if code < 0 {
					code = 1 // ended by a signal it did not handle
				}
				return &ExitError{Code: code}
			}
			return err
		case s := <-sigs:
			cmd.Process.Signal(s)
		case <-ctx.Done():
			cmd.Process.Signal(syscall.SIGTERM)
			ctx = context.Background() // once; then wait for it to stop
		}
	}
}

// writeServeModule writes the module of `lab serve` into tmp: the
// student's package, and as its main package a copy of cmd/packetwalk's
// files with the generated file that hands it the student's constructor.
func writeServeModule(tmp, root string, parts []part) error {
	if err := writeStudentModule(tmp, root, parts[0].dir, parts[0].files); err != nil {
		return err
	}
	for _, p := range parts[1:] {
		if err := copyStudentFiles(filepath.Join(tmp, p.pkg), p.dir, p.files); err != nil {
			return err
		}
	}
	cmdDir := filepath.Join(root, "cmd", "packetwalk")
	entries, err := os.ReadDir(cmdDir)
	if err != nil {
		return fmt.Errorf("cannot read packetwalk's command in %s: %v", cmdDir, err)
	}
	n := 0
	for _, e := range entries {
		name := e.Name()
		if !e.Type().IsRegular() || !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(cmdDir, name))
		if err != nil {
			return fmt.Errorf("cannot read %s: %v", filepath.Join(cmdDir, name), err)
		}
		if err := os.WriteFile(filepath.Join(tmp, name), b, 0o644); err != nil {
			return err
		}
		n++
	}
	if n == 0 {
		return fmt.Errorf("%s has no Go files: the packetwalk source at %s is incomplete", cmdDir, root)
	}
	return os.WriteFile(filepath.Join(tmp, serveMainFile), []byte(serveMain(parts)), 0o644)
}

// serveMain is the generated file: its init adds each of the student's
// components to cmd/packetwalk's labImpls hook.
func serveMain(parts []part) string {
	var imports, inits strings.Builder
	for i, p := range parts {
		h := p.l.serve
		steps := "nil"
		if len(h.steps) > 0 {
			steps = fmt.Sprintf("%#v", h.steps)
		}
		match := "nil"
		if h.match != "" {
			match = "func(e *viz.Event) bool {\n\t\t" + h.match + "\n\t}"
		}
		alias := fmt.Sprintf("student%d", i+1)
		fmt.Fprintf(&imports, "\t%s %q\n", alias, gradedModule+"/"+p.pkg)
		fmt.Fprintf(&inits, `	// The student's constructor must keep the skeleton's signature: %s.
	labImpls = append(labImpls, &studentImpl{lab: %q, dir: %q, what: %q, layer: viz.%s, steps: %s, match: %s,
		install: func(hc *stack.HostConfig, nc *nic.Config, ac *arp.Config) { %s }})
`, p.l.ctor, p.l.ID, p.dir, h.what, h.layer, steps, match, strings.ReplaceAll(h.install, "student.", alias+"."))
	}
	return labTestHeader + fmt.Sprintf(`package main

import (
	"strings"

	"github.com/packetwalk/packetwalk/arp"
	"github.com/packetwalk/packetwalk/nic"
	"github.com/packetwalk/packetwalk/stack"
	"github.com/packetwalk/packetwalk/viz"

%s)

var _ = strings.Contains

func init() {
%s}
`, imports.String(), inits.String())
}

// noServe is lab serve's answer for a lab whose student writes scripts.
func (l *Lab) noServe() error {
	return fmt.Errorf("%s has no component of yours to carry traffic: your scripts run against packetwalk with packetwalk drill FILE.pkt, and packetwalk lab test %s --impl DIR grades them", l.ID, l.ID)
}

// ServeRefusal returns lab serve's one-sentence refusal for lab id when it
// has nothing to serve (impl-drill), else nil.
func ServeRefusal(id string) error {
	if l, err := find(id); err == nil && l.scripts {
		return l.noServe()
	}
	return nil
}
