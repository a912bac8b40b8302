package impl

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
)

// The graded tests are compiled against packetwalk's own packages (the
// stack the student's component is put into), so Test needs their source.
// A student has it in one of three ways, tried in this order:
//
//  1. PACKETWALK_SRC names a checkout (for a binary built elsewhere);
//  2. the student's directory or the current directory is inside a clone
//     (`go run ./cmd/packetwalk lab test ...` from the clone's root);
//  3. the binary was built from a clone (without -trimpath): the path of
//     this very file, as the compiler recorded it, leads back to it;
//  4. the command was installed with `go install .../cmd/packetwalk@VERSION`:
//     its build information names the module version, and `go mod
//     download` finds (or fetches) that version's source in the module
//     cache.

// sourceEnv names a packetwalk checkout to grade against.
const sourceEnv = "PACKETWALK_SRC"

// findSource returns the root directory of packetwalk's source.
func findSource(ctx context.Context, implDir string) (string, error) {
	if dir := os.Getenv(sourceEnv); dir != "" {
		if isRoot(dir) {
			return filepath.Abs(dir)
		}
		return "", fmt.Errorf("%s=%s is not a packetwalk checkout (no go.mod with module %s there)", sourceEnv, dir, modulePath)
	}
	for _, start := range []string{implDir, "."} {
		if dir, ok := rootAbove(start); ok {
			return dir, nil
		}
	}
	// A binary built without -trimpath knows where this file was
	// compiled from: the clone (or module cache) it was built in.
	if _, file, _, ok := runtime.Caller(0); ok && filepath.IsAbs(file) {
		if dir := filepath.Join(filepath.Dir(file), "..", ".."); isRoot(dir) {
			return filepath.Clean(dir), nil
		}
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Path == modulePath && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		dir, err := downloadModule(ctx, bi.Main.Version)
		if err == nil {
			return dir, nil
		}
		return "", fmt.Errorf("cannot get the source of packetwalk %s from the module cache (%v); run the lab from a clone of the repository or set %s to one", bi.Main.Version, err, sourceEnv)
	}
	return "", fmt.Errorf("cannot find packetwalk's source, which the graded tests are built with: run the command from a clone of the repository (`go run ./cmd/packetwalk lab test ...`), set %s to a clone, or install it with `go install %s/cmd/packetwalk@latest`", sourceEnv, modulePath)
}

// rootAbove walks up from start to the directory whose go.mod declares
// packetwalk's module.
func rootAbove(start string) (string, bool) {
	dir, err := filepath.Abs(start)
	if err != nil {
		return "", false
	}
	for {
		if isRoot(dir) {
			return dir, true
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", false
		}
		dir = parent
	}
}

// isRoot reports whether dir/go.mod declares packetwalk's module.
func isRoot(dir string) bool {
	f, err := os.Open(filepath.Join(dir, "go.mod"))
	if err != nil {
		return false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) == 2 && fields[0] == "module" {
			return strings.Trim(fields[1], `"`) == modulePath
		}
	}
	return false
}

// downloadModule asks the go command for the directory of packetwalk
// version in the module cache, downloading it if it is not there.
func downloadModule(ctx context.Context, version string) (string, error) {
	cmd := exec.CommandContext(ctx, "go", "mod", "download", "-json", modulePath+"@"+version)
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=")
	out, err := cmd.Output()
	var info struct{ Dir, Error string }
	if jerr := json.Unmarshal(out, &info); jerr == nil && info.Error != "" {
		return "", fmt.Errorf("%s", info.Error)
	}
	if err != nil {
		return "", err
	}
	if info.Dir == "" || !isRoot(info.Dir) {
		return "", fmt.Errorf("go mod download gave no source directory")
	}
	return info.Dir, nil
}
