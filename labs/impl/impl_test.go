package impl

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// grade runs Test on dir and returns its verdict and output.
func grade(t *testing.T, id, dir string) (bool, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var out bytes.Buffer
	passed, err := Test(ctx, id, dir, &out)
	if err != nil {
		t.Fatalf("Test(%s, %s): %v\n%s", id, dir, err, out.String())
	}
	return passed, out.String()
}

// TestReferencesPass: each lab's reference solution, graded the way a
// student's package is (a temporary module, go test -json), passes.
func TestReferencesPass(t *testing.T) {
	for _, l := range Labs() {
		t.Run(l.ID, func(t *testing.T) {
			passed, out := grade(t, l.ID, filepath.Join(l.dir, "reference"))
			if !passed {
				t.Fatalf("the reference of %s does not pass its graded tests:\n%s", l.ID, out)
			}
			if strings.Contains(out, "FAIL") {
				t.Fatalf("passed, but the output shows a failure:\n%s", out)
			}
		})
	}
}

// TestSkeletonsFail: the untouched skeleton, as `lab skeleton` writes it,
// compiles and fails, with the messages the handout promises.
func TestSkeletonsFail(t *testing.T) {
	for _, l := range Labs() {
		t.Run(l.ID, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "mylab")
			if err := Skeleton(l.ID, dir); err != nil {
				t.Fatal(err)
			}
			passed, out := grade(t, l.ID, dir)
			if passed {
				t.Fatalf("the untouched skeleton of %s passes:\n%s", l.ID, out)
			}
			for _, want := range []string{"FAIL  ", "expected:", "got:", l.ID + ": "} {
				if !strings.Contains(out, want) {
					t.Errorf("the skeleton's report lacks %q:\n%s", want, out)
				}
			}
			if strings.Contains(out, "did not build") {
				t.Errorf("the skeleton does not compile:\n%s", out)
			}
			t.Logf("%s", out)
		})
	}
}

func TestSkeletonRefusesNonEmptyDir(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "mine.go"), []byte("package mine\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, l := range Labs() {
		if err := Skeleton(l.ID, dir); err == nil || !strings.Contains(err.Error(), "not empty") {
			t.Errorf("Skeleton(%s) into a non-empty directory: %v, want a refusal", l.ID, err)
		}
	}
	if err := Skeleton("impl-nope", t.TempDir()); err == nil || !strings.Contains(err.Error(), "impl-fcs-mac") {
		t.Errorf("Skeleton of an unknown lab: %v, want an error listing the labs", err)
	}
}

// TestBadImplDir: missing or empty directories get one sentence, not a
// run of go test.
func TestBadImplDir(t *testing.T) {
	ctx := context.Background()
	var out bytes.Buffer
	for _, dir := range []string{"", filepath.Join(t.TempDir(), "nope"), t.TempDir()} {
		if _, err := Test(ctx, "impl-fcs-mac", dir, &out); err == nil {
			t.Errorf("Test with --impl %q: no error", dir)
		}
	}
	if _, err := Test(ctx, "impl-nope", t.TempDir(), &out); err == nil {
		t.Error("Test of an unknown lab: no error")
	}
}

// edit is one planted bug: the text of the reference to find (exactly
// once) and what replaces it.
type edit struct{ old, new string }

// mutant copies a lab's reference solution into a temporary folder, as a
// student's package, with the edits applied: the bug is written down
// next to the test that must catch it, not kept as a second copy of the
// reference that would drift from it.
func mutant(t *testing.T, refDir string, edits ...edit) string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(refDir, "*.go"))
	if err != nil || len(files) != 1 {
		t.Fatalf("%s: want one Go file in the reference, got %v (%v)", refDir, files, err)
	}
	b, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	src := strings.Replace(string(b), "package reference", "package mutant", 1)
	for _, e := range edits {
		if n := strings.Count(src, e.old); n != 1 {
			t.Fatalf("%s: the text to plant a bug in appears %d times, want once: %q", files[0], n, e.old)
		}
		src = strings.Replace(src, e.old, e.new, 1)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, filepath.Base(files[0])), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// The planted bugs.
var (
	noPromiscuous = []edit{{"case s.Promiscuous:", "case false && s.Promiscuous: // mutant: promiscuous mode ignored"}}
	portsOnly     = []edit{
		{"type fourTuple struct{ local, remote netip.AddrPort }", "type fourTuple struct{ local, remote uint16 } // mutant: ports only"},
		{"t.conns[fourTuple{local, remote}]", "t.conns[fourTuple{local.Port(), remote.Port()}]"},
		{"k := fourTuple{e.LocalAddr(), e.RemoteAddr()}\n\tif t.conns[k] != nil", "k := fourTuple{e.LocalAddr().Port(), e.RemoteAddr().Port()}\n\tif t.conns[k] != nil"},
		{"k := fourTuple{e.LocalAddr(), e.RemoteAddr()}\n\tif t.conns[k] == e", "k := fourTuple{e.LocalAddr().Port(), e.RemoteAddr().Port()}\n\tif t.conns[k] == e"},
		{"t.conns[fourTuple{netip.AddrPortFrom(src, p), remote}]", "t.conns[fourTuple{p, remote.Port()}]"},
	}
	timerNotStopped = []edit{
		{"if r.pending[d.key] != d {", "if false { // mutant: no check that the datagram is still pending"},
		{"d.timer.Stop()", "_ = d.timer // mutant: the timer is never stopped"},
	}
	wrongSignature = []edit{{"func New(ephemeral ip.PortRange) tcp.Demuxer {",
		"func New() tcp.Demuxer { // mutant: the constructor lost its parameter\n\tephemeral := ip.EphemeralPorts"}}
)

// TestMutantsCaught: a reference with one bug planted fails exactly the
// graded tests that the bug concerns, so the tests discriminate.
func TestMutantsCaught(t *testing.T) {
	for _, m := range []struct {
		id, name, ref string
		edits         []edit
		fail          []string
		pass          []string
	}{
		{"impl-fcs-mac", "no-promiscuous", "fcsmac/reference", noPromiscuous, []string{"MACFilter", "HubBystander"}, []string{"FCSComputed", "WireCorruptFrames"}},
		{"impl-demux", "ports-only", "demux/reference", portsOnly, []string{"SeedTwoClientsOnPort1025"}, []string{"SYNClonesListener", "EphemeralPorts"}},
		{"impl-reassembly", "timer-not-stopped", "reassembly/reference", timerNotStopped, []string{"NoTimeoutAfterCompletion"}, []string{"InOrder", "TimeoutAndICMP"}},
	} {
		t.Run(m.name, func(t *testing.T) {
			passed, out := grade(t, m.id, mutant(t, m.ref, m.edits...))
			if passed {
				t.Fatalf("the mutant passes:\n%s", out)
			}
			for _, name := range m.fail {
				if !strings.Contains(out, "FAIL  "+name+"\n") {
					t.Errorf("%s does not fail:\n%s", name, out)
				}
			}
			for _, name := range m.pass {
				if !strings.Contains(out, "PASS  "+name+"\n") {
					t.Errorf("%s does not pass:\n%s", name, out)
				}
			}
		})
	}
}

// TestBrokenPackages: code that does not compile, and code that never
// returns, are reported in a sentence or two, with the student's paths.
func TestBrokenPackages(t *testing.T) {
	abs := mutant(t, "demux/reference", wrongSignature...)
	passed, out := grade(t, "impl-demux", abs)
	if passed || !strings.Contains(out, "did not build") || !strings.Contains(out, "func New(ephemeral ip.PortRange) tcp.Demuxer") || !strings.Contains(out, "student.New") {
		t.Errorf("a changed constructor: want a build failure naming the constructor, got:\n%s", out)
	}
	if strings.Contains(out, os.TempDir()+"/packetwalk-") {
		t.Errorf("the report shows the temporary module's paths instead of %s:\n%s", abs, out)
	}

	t.Setenv(timeoutEnv, "3s")
	loops := []edit{{"done bool) {\n\tn := len(f.Payload)", "done bool) {\n\tfor f.Offset >= 0 { // mutant: loops for ever\n\t}\n\tn := len(f.Payload)"}}
	passed, out = grade(t, "impl-reassembly", mutant(t, "reassembly/reference", loops...))
	if passed || !strings.Contains(out, "FAIL  InOrder") || !strings.Contains(out, "did not finish") || strings.Contains(out, "goroutine ") {
		t.Errorf("code that loops: want InOrder to fail in one sentence, got:\n%s", out)
	}
}
