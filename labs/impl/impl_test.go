package impl

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// grade runs Test on dir and returns its verdict and output.
func grade(t *testing.T, id, dir string) (bool, string) {
	t.Helper()
	rep, out := gradeReport(t, id, dir)
	return rep.Failed == 0, out
}

// gradeReport runs Grade on dir and returns its report and output.
func gradeReport(t *testing.T, id, dir string) (*Report, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var out bytes.Buffer
	rep, err := Grade(ctx, id, dir, &out)
	if err != nil {
		t.Fatalf("Grade(%s, %s): %v\n%s", id, dir, err, out.String())
	}
	if !strings.HasSuffix(out.String(), "\n"+rep.Summary+"\n") || rep.Summary != fmt.Sprintf("%d passed, %d failed", rep.Passed, rep.Failed) {
		t.Errorf("the output does not end with the summary %q:\n%s", rep.Summary, out.String())
	}
	return rep, out.String()
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
// compiles and fails every graded test of its lab (no points for code not
// written), with the messages the handout promises.
func TestSkeletonsFail(t *testing.T) {
	for _, l := range Labs() {
		t.Run(l.ID, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "mylab")
			if err := Skeleton(l.ID, dir); err != nil {
				t.Fatal(err)
			}
			rep, out := gradeReport(t, l.ID, dir)
			if rep.Failed == 0 {
				t.Fatalf("the untouched skeleton of %s passes:\n%s", l.ID, out)
			}
			if rep.Passed != 0 || rep.Failed != len(l.tests) || len(l.tests) == 0 {
				t.Errorf("the untouched skeleton of %s: %s, want 0 passed, %d failed (every graded test)", l.ID, rep.Summary, len(l.tests))
			}
			for _, res := range rep.Results {
				if res.Passed || res.Points != 0 || res.Message == "" {
					t.Errorf("%s: %+v, want a failure with its message", res.ID, res)
				}
			}
			for _, want := range []string{"FAIL  ", "expected:", "got:", l.ID + ": "} {
				if !strings.Contains(out, want) {
					t.Errorf("the skeleton's report lacks %q:\n%s", want, out)
				}
			}
			if strings.Contains(out, "\nPASS  ") || strings.HasPrefix(out, "PASS  ") {
				t.Errorf("the untouched skeleton of %s passes graded tests:\n%s", l.ID, out)
			}
			if !regexp.MustCompile(`: 0 of [1-9][0-9]* graded tests passed`).MatchString(out) {
				t.Errorf("want \"0 of N graded tests passed\" with N > 0:\n%s", out)
			}
			if strings.Contains(out, "did not build") {
				t.Errorf("the skeleton does not compile:\n%s", out)
			}
			t.Logf("%s", out)
		})
	}
}

// TestHandoutsCiteTheBook: each handout cites the book's chapter and
// section by title, which a student has, not the project's seed notes.
func TestHandoutsCiteTheBook(t *testing.T) {
	cite := regexp.MustCompile(`"How Network Works"[^.]*ch\. 6[^.]*section 6\.\d "[^"]+"`)
	for _, l := range Labs() {
		if strings.Contains(l.Handout, "seeds/") || !cite.MatchString(l.Handout) {
			t.Errorf("%s: the handout cites no chapter and section of the book by title", l.ID)
		}
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
	noMerge        = []edit{{"	if merged {\n\t\tc.learn(e, sha)\n\t\tdefer c.flush(e)\n\t}", "	if merged && slices.Contains(c.addrs, tpa) { // mutant: learns only from packets aimed at us\n\t\tc.learn(e, sha)\n\t\tdefer c.flush(e)\n\t}"}}
	queueNotCopied = []edit{{"e.queue = append(e.queue, packet{t, slices.Clone(payload), id})\n\t\tc.step(\"queue\", viz.Pass, id, fmt.Sprintf(\"queued %d", "e.queue = append(e.queue, packet{t, payload, id}) // mutant: keeps the caller's buffer\n\t\tc.step(\"queue\", viz.Pass, id, fmt.Sprintf(\"queued %d"},
		{"e.queue = append(e.queue, packet{t, slices.Clone(payload), id})\n\t\tc.step(\"queue\", viz.Pass, id, fmt.Sprintf(\"%s unknown", "e.queue = append(e.queue, packet{t, payload, id})\n\t\tc.step(\"queue\", viz.Pass, id, fmt.Sprintf(\"%s unknown"}}
	noExpiry        = []edit{{"e.timer = c.nic.Clock().AfterFunc(c.cfg.CacheTimeout, func() { c.forget(e) })", "e.timer = nil // mutant: entries never expire"}}
	firstMatch      = []edit{{"(!found || r.Prefix.Bits() > best.Prefix.Bits())", "!found /* mutant: the first match, not the longest */"}}
	ttlWraps        = []edit{{"if ttl <= 1 {", "if ttl < 1 { // mutant: a TTL of 1 is forwarded as 0"}}
	gatewayAlways   = []edit{{"next := dst // on the link: the destination itself\n\tif r.Gateway.IsValid() {\n\t\tnext = r.Gateway\n\t}", "next := r.Gateway // mutant: the next hop is the gateway, even on the link"}}
	noWrap          = []edit{{"off := int(seq.Add(uint32(i)).Sub(r.rcvNxt))", "off := int(uint32(seq.Add(uint32(i)))) - int(uint32(r.rcvNxt)) // mutant: raw numbers, no wrap-around"}}
	heldOverwritten = []edit{{"if off < 0 || off >= win || r.have[off] {", "if off < 0 || off >= win { // mutant: a repeat overwrites and counts again"}}
	beyondWindow    = []edit{{"usable := int(w.UNA.Add(w.WND).Sub(w.NXT))", "usable := w.Queued // mutant: the peer's window ignored"}}
	noBackoff       = []edit{{"func (s *Sender) Backoff() { s.rto = min(2*s.rto, s.cfg.RTOMax) }", "func (s *Sender) Backoff() {} // mutant: no backoff"}}
	secondDup       = []edit{{"if s.dups == 3 {", "if s.dups == 2 { // mutant: fast retransmit on the second duplicate"}}
	noTrim          = []edit{{"if off < 0 || off >= win || r.have[off] {", "if off < 0 || off >= len(r.have) || r.have[off] { // mutant: the capacity, not the window, bounds the data"}}
	wrongSignature  = []edit{{"func New(ephemeral ip.PortRange) tcp.Demuxer {",
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
		{"impl-arp", "no-merge", "arpcache/reference", noMerge, []string{"MergeUpdatesSender"}, []string{"AnswersRequest", "QueueThenFlush", "WirePing"}},
		{"impl-arp", "queue-not-copied", "arpcache/reference", queueNotCopied, []string{"QueueThenFlush"}, []string{"RequestOnMiss", "RetriesThenFails"}},
		{"impl-arp", "no-expiry", "arpcache/reference", noExpiry, []string{"Expiry", "WireExpiry"}, []string{"QueueThenFlush", "WirePing"}},
		{"impl-router", "first-match", "router/reference", firstMatch, []string{"LongestPrefixMatch"}, []string{"OnLinkRoute", "TTLExpires", "WireRoutedPing"}},
		{"impl-router", "ttl-wraps", "router/reference", ttlWraps, []string{"TTLExpires", "WireTimeExceeded"}, []string{"LongestPrefixMatch", "WireRoutedPing"}},
		{"impl-router", "gateway-always", "router/reference", gatewayAlways, []string{"ForwardNextHop", "WireRoutedPing"}, []string{"LongestPrefixMatch", "TTLExpires"}},
		{"impl-tcp-receiver", "no-wrap", "tcprecv/reference", noWrap, []string{"WrapAround"}, []string{"InOrder", "OutOfOrderThenFill", "WindowShrinksAndReopens", "WireLossyTransfer"}},
		{"impl-tcp-receiver", "held-overwritten", "tcprecv/reference", heldOverwritten, []string{"DuplicatesAndOverlaps", "BeyondWindowRefused"}, []string{"InOrder", "WrapAround", "WindowShrinksAndReopens"}},
		{"impl-tcp-receiver", "no-trim", "tcprecv/reference", noTrim, []string{"WindowShrinksAndReopens"}, []string{"InOrder", "OutOfOrderThenFill", "WrapAround"}},
		{"impl-tcp-sender", "beyond-window", "tcpsend/reference", beyondWindow, []string{"WindowEdges"}, []string{"SegmentSizes", "RTOFromSamples", "DuplicateACKs"}},
		{"impl-tcp-sender", "no-backoff", "tcpsend/reference", noBackoff, []string{"BackoffAndReset", "Karn"}, []string{"SegmentSizes", "RTOFromSamples", "DuplicateACKs"}},
		{"impl-tcp-sender", "second-dup", "tcpsend/reference", secondDup, []string{"DuplicateACKs", "WireLossyTransfer"}, []string{"SegmentSizes", "RTOFromSamples", "BackoffAndReset"}},
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

	// A type error in the student's own file is reported against that
	// file, and the grade is out of every graded test, none of which ran.
	typo := mutant(t, "demux/reference", edit{"func (t *Table) All() []*tcp.Endpoint {", "func (t *Table) All() []*tcp.Endpoint {\n\tvar n int = \"mutant\""})
	rep, out := gradeReport(t, "impl-demux", typo)
	if !strings.Contains(out, filepath.Join(typo, "table.go")+":") || regexp.MustCompile(`(^|\s)(\./)?student/`).MatchString(out) {
		t.Errorf("a compile error is not reported against %s:\n%s", filepath.Join(typo, "table.go"), out)
	}
	if strings.Contains(out, "0 of 0") || rep.Built || rep.Passed != 0 || rep.Failed != 9 || !strings.HasSuffix(out, "\n0 passed, 9 failed\n") {
		t.Errorf("a package that does not build: want none of the 9 graded tests passed, got %+v:\n%s", rep, out)
	}

	t.Setenv(timeoutEnv, "3s")
	loops := []edit{{"done bool) {\n\tn := len(f.Payload)", "done bool) {\n\tfor f.Offset >= 0 { // mutant: loops for ever\n\t}\n\tn := len(f.Payload)"}}
	passed, out = grade(t, "impl-reassembly", mutant(t, "reassembly/reference", loops...))
	if passed || !strings.Contains(out, "FAIL  InOrder") || !strings.Contains(out, "did not finish") || strings.Contains(out, "goroutine ") {
		t.Errorf("code that loops: want InOrder to fail in one sentence, got:\n%s", out)
	}
}

// copyDir copies the files of a lab's folder into a new temporary folder.
func copyDir(t *testing.T, from string) string {
	t.Helper()
	dir := t.TempDir()
	entries, err := os.ReadDir(from)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(from, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, e.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// impl-drill grades a folder of packetdrill scripts: a script that fails
// against the correct stack is reported with drill's own file:line and
// earns nothing, the others still catch their bugs; without the script
// that catches a bug, exactly that bug's test fails; a script that does
// not parse is one sentence naming its file and line, with every graded
// test failed and none run; and lab serve says in one sentence that there
// is nothing to serve.
func TestDrillLab(t *testing.T) {
	const id = "impl-drill"
	l, err := find(id)
	if err != nil || len(l.tests) != 12 {
		t.Fatalf("%s: %v, graded tests %v", id, err, l.tests)
	}

	// A wrong expectation: the correct stack fails it.
	dir := copyDir(t, "drill/reference")
	wrong := filepath.Join(dir, "closed-listener-frees-port.pkt")
	b, _ := os.ReadFile(wrong)
	os.WriteFile(wrong, bytes.Replace(b, []byte("> S. 0:0(0) ack 1 win 65535"), []byte("> S. 0:0(0) ack 1 win 65000"), 1), 0o644)
	rep, out := gradeReport(t, id, dir)
	if !strings.Contains(out, "FAIL  ScriptsPassCorrectStack\n") || !strings.Contains(out, wrong+":16: outbound segment: expected win 65000, got win 65535") ||
		!strings.Contains(out, "FAIL  CatchesClosedListenerKept\n") || !strings.Contains(out, "PASS  CatchesRemotePortIgnored\n") || rep.Passed != 10 {
		t.Errorf("a script wrong about the correct stack: want it named with file:line and its bug uncaught, got:\n%s", out)
	}

	// Without the script that catches it, a bug goes uncaught.
	dir = copyDir(t, "drill/reference")
	os.Remove(filepath.Join(dir, "closed-listener-frees-port.pkt"))
	passed, out := grade(t, id, dir)
	if passed || !strings.Contains(out, "FAIL  CatchesClosedListenerKept\n") || !strings.Contains(out, "PASS  CatchesRemotePortIgnored\n") ||
		!strings.Contains(out, "PASS  ScriptsPassCorrectStack\n") || !strings.HasSuffix(out, "\n11 passed, 1 failed\n") {
		t.Errorf("without closed-listener-frees-port.pkt: want only CatchesClosedListenerKept to fail, got:\n%s", out)
	}

	// No RFC section cited.
	dir = copyDir(t, "drill/reference")
	os.WriteFile(filepath.Join(dir, "uncited.pkt"), []byte("// no citation here\n0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n"), 0o644)
	passed, out = grade(t, id, dir)
	if passed || !strings.Contains(out, "FAIL  ScriptsCiteRFCSection\n") || !strings.Contains(out, filepath.Join(dir, "uncited.pkt")) || !strings.HasSuffix(out, "\n11 passed, 1 failed\n") {
		t.Errorf("a script citing no RFC section: want ScriptsCiteRFCSection to fail naming it, got:\n%s", out)
	}

	// A script that does not parse.
	dir = copyDir(t, "drill/reference")
	bad := filepath.Join(dir, "typo.pkt")
	os.WriteFile(bad, []byte("// RFC 9293 §3.1\n0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n+0 close(3) = )\n+0 close(3) = 0\n"), 0o644)
	rep, out = gradeReport(t, id, dir)
	if rep.Built || rep.Passed != 0 || rep.Failed != 12 || !strings.Contains(out, "Your script does not parse, so no graded test ran: "+bad+":3: ") ||
		strings.Contains(out, "panic") || strings.Contains(out, "PASS") {
		t.Errorf("a script that does not parse: want one sentence naming %s:3 and 0 of 12, got %+v:\n%s", bad, rep, out)
	}
	for _, res := range rep.Results {
		if res.Passed || !strings.Contains(res.Message, bad+":3: ") {
			t.Errorf("%s: %+v, want a failure naming %s:3", res.ID, res, bad)
		}
	}

	// A folder without scripts, and lab serve.
	if _, err := Test(context.Background(), id, t.TempDir(), io.Discard); err == nil || !strings.Contains(err.Error(), "no packetdrill scripts") {
		t.Errorf("an empty folder: %v, want a sentence asking for scripts", err)
	}
	err = Serve(context.Background(), id, "drill/reference", ServeOptions{})
	if err == nil || strings.Count(err.Error(), ".") > 1 || !strings.Contains(err.Error(), "no component of yours") {
		t.Errorf("lab serve impl-drill: %v, want one sentence saying there is nothing to serve", err)
	}
}
