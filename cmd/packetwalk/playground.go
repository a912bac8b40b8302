//go:build !js

package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/packetwalk/packetwalk/viz/playground"
)

// modulePath is packetwalk's module, whose cmd/packetwalk the playground
// builds for js/wasm.
const modulePath = "github.com/packetwalk/packetwalk"

type playgroundOpts struct{ out string }

func (o *playgroundOpts) flagSet() *flag.FlagSet {
	fs := newFlagSet("playground")
	fs.StringVar(&o.out, "out", "playground", "write the playground into this folder (`DIR`)")
	return fs
}

// runPlayground is `packetwalk playground`: it builds packetwalk for
// js/wasm with the local Go toolchain and writes the offline folder of
// package playground.
//
// Why build at this moment rather than carry a prebuilt module: the
// module is 20+ MB, a binary that a source repository should not hold
// (go:generate would commit it, and it would go stale with every
// change), and packetwalk is a Go program, so whoever runs this command
// from a checkout has Go. A student needs neither: a teacher or CI builds
// the folder once and hands it out or puts it on any static web host.
func runPlayground(args []string, stdout, stderr io.Writer) error {
	var o playgroundOpts
	if err := parseFlags(o.flagSet(), args, stdout, stderr); err != nil {
		return err
	}
	if o.out == "" {
		return fmt.Errorf("--out: give the folder to write the playground into")
	}
	wasm, wasmExec, goVersion, err := buildWasm(context.Background(), stdout)
	if err != nil {
		return err
	}
	files, err := playground.Write(o.out, wasm, wasmExec)
	if err != nil {
		return err
	}
	for _, f := range files {
		what := ""
		switch f.Name {
		case playground.WasmFile:
			what = ", for a static web host (" + goVersion + ")"
		case playground.WasmJSFile:
			what = ", the module in base64 for file://"
		case playground.WasmExecFile:
			what = ", Go's loader from " + goVersion
		}
		fmt.Fprintf(stdout, "wrote %s (%s; %s gzip-compressed%s)\n", filepath.Join(o.out, f.Name), byteSize(f.Size), byteSize(f.Gzipped), what)
	}
	fmt.Fprintf(stdout, "open %s in a browser (offline from the folder, or from any static web host)\n", filepath.Join(o.out, playground.PageFile))
	return nil
}

// buildWasm compiles packetwalk for js/wasm and returns the module, the
// wasm_exec.js of the same Go, and that Go's version. The source is the
// module the current directory is in, when that is (or requires)
// packetwalk; otherwise, for a released packetwalk, the module at this
// binary's version, which go fetches.
func buildWasm(ctx context.Context, progress io.Writer) (wasm, wasmExec []byte, goVersion string, err error) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		return nil, nil, "", errors.New("the playground's WebAssembly is built with Go, and go is not on the PATH: install Go (https://go.dev/dl/) or use a playground folder built elsewhere (CI builds one)")
	}
	goEnv := func(name string) (string, error) {
		out, err := exec.CommandContext(ctx, goTool, "env", name).Output()
		return strings.TrimSpace(string(out)), err
	}
	goroot, err := goEnv("GOROOT")
	if err != nil || goroot == "" {
		return nil, nil, "", fmt.Errorf("go env GOROOT failed: %v", err)
	}
	goVersion, _ = goEnv("GOVERSION")
	for _, p := range []string{"lib/wasm/wasm_exec.js", "misc/wasm/wasm_exec.js"} { // Go 1.24 moved it to lib/
		if wasmExec, err = os.ReadFile(filepath.Join(goroot, p)); err == nil {
			break
		}
	}
	if wasmExec == nil {
		return nil, nil, "", fmt.Errorf("%s has no wasm_exec.js (looked in lib/wasm and misc/wasm): is this Go installation complete?", goroot)
	}

	dir := "" // build in the current directory's module
	probe := exec.CommandContext(ctx, goTool, "list", "-f", "{{.Dir}}", modulePath+"/cmd/packetwalk")
	probe.Env = append(os.Environ(), "GOOS=js", "GOARCH=wasm")
	if err := probe.Run(); err != nil {
		version := moduleVersion()
		if version == "" {
			return nil, nil, "", errors.New("cannot find packetwalk's source to build the playground from: run this inside a packetwalk checkout (go run ./cmd/packetwalk playground --out site/)")
		}
		if dir, err = os.MkdirTemp("", "packetwalk-playground-"); err != nil {
			return nil, nil, "", err
		}
		defer os.RemoveAll(dir)
		fmt.Fprintf(progress, "fetching %s@%s to build the playground from\n", modulePath, version)
		for _, args := range [][]string{{"mod", "init", "packetwalk-playground"}, {"get", modulePath + "@" + version}} {
			if err := runGo(ctx, goTool, dir, nil, args...); err != nil {
				return nil, nil, "", err
			}
		}
	}
	tmp, err := os.MkdirTemp("", "packetwalk-wasm-")
	if err != nil {
		return nil, nil, "", err
	}
	defer os.RemoveAll(tmp)
	out := filepath.Join(tmp, playground.WasmFile)
	// -trimpath: the same module from any checkout; -s -w: no symbol
	// table or DWARF, which the page does not use.
	args := []string{"build", "-trimpath", "-ldflags=-s -w", "-o", out, modulePath + "/cmd/packetwalk"}
	fmt.Fprintf(progress, "building packetwalk for the browser: GOOS=js GOARCH=wasm go %s\n", strings.Join(args, " "))
	if err := runGo(ctx, goTool, dir, []string{"GOOS=js", "GOARCH=wasm", "CGO_ENABLED=0"}, args...); err != nil {
		return nil, nil, "", err
	}
	wasm, err = os.ReadFile(out)
	return wasm, wasmExec, goVersion, err
}

// runGo runs the go command in dir with env added, its output kept for
// the error.
func runGo(ctx context.Context, goTool, dir string, env []string, args ...string) error {
	cmd := exec.CommandContext(ctx, goTool, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go %s failed: %v\n%s", strings.Join(args, " "), err, strings.TrimSpace(out.String()))
	}
	return nil
}

// moduleVersion is this binary's packetwalk version when it was built
// from a released module (go install ...@v1.2.3), else "".
func moduleVersion() string {
	bi, ok := readBuildInfo()
	if !ok || bi.Main.Path != modulePath || bi.Main.Version == "" || bi.Main.Version == "(devel)" {
		return ""
	}
	return bi.Main.Version
}

// byteSize writes n bytes for a reader: 812 bytes, 41 KB, 5.4 MB.
func byteSize(n int) string {
	switch {
	case n < 10<<10:
		return fmt.Sprintf("%d bytes", n)
	case n < 1<<20:
		return fmt.Sprintf("%d KB", (n+512)>>10)
	}
	return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
}
