package grade

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/packetwalk/packetwalk/drill"
	"github.com/packetwalk/packetwalk/tcp"
)

// The reference scripts pass every graded test.
func TestReference(t *testing.T) { Run(t, "../reference") }

// Each planted bug is caught by the reference, and by a script written
// for it: each reference script passes against the correct stack.
func TestReferenceCatchesEveryBug(t *testing.T) {
	s := run("../reference")
	if s.loadErr != nil || len(s.scripts) == 0 {
		t.Fatalf("the reference: %v, %d scripts", s.loadErr, len(s.scripts))
	}
	for _, b := range Bugs {
		if s.caught[b.Name] == "" {
			t.Errorf("%s: no reference script catches it", b.Name)
		}
	}
	for _, sc := range s.scripts {
		if sc.err != nil || sc.correct.Status != drill.Passed || !Cites(sc.src) {
			t.Errorf("%s against the correct stack: %v %+v, cites an RFC section: %v", sc.path, sc.err, sc.correct, Cites(sc.src))
		}
	}
}

// The skeleton's example passes against the correct stack and every
// planted bug, so it catches none: the graded tests give it nothing
// (labs/impl's TestSkeletonsFail grades it through lab test).
func TestSkeletonCatchesNothing(t *testing.T) {
	s := run("../skeleton")
	if s.loadErr != nil || len(s.scripts) != 1 || s.scripts[0].correct.Status != drill.Passed {
		t.Fatalf("the skeleton's example must pass against the correct stack: %v %+v", s.loadErr, s.scripts)
	}
	if len(s.caught) != 0 {
		t.Errorf("the skeleton's example catches %v", s.caught)
	}
}

// Without a bug, the wrappers the bugs are planted in (the stack's own
// ReceiveBuffer as a tcp.Receiver, its DemuxTable behind an interface)
// pass packetwalk's whole drill corpus in strict mode, as the stack does:
// a script that tells a bug's stack from the correct one has found the
// bug, not a difference of the wrapper. The stack's own Sender does too,
// over the scripts in which no SYN offers SACK or timestamps (with a
// Sender the stack offers and accepts neither SACK nor, for its RTT,
// timestamps; a script with them does not count for a sender bug unless
// it passes with this wrapper, passesSeam).
func TestWrappersFaithful(t *testing.T) {
	plain := func(c *tcp.Config) {
		faithful["Receiver"](c)
		faithful["Demuxer"](c)
	}
	n, sender := 0, 0
	err := filepath.WalkDir("../../../../drill/corpus", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".pkt") {
			return err
		}
		src, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		s, err := drill.Load(p, src)
		if err != nil {
			return err
		}
		n++
		for _, w := range []struct {
			name  string
			plant func(*tcp.Config)
		}{{"the receiver and demux wrappers", plain}, {"the stack's own Sender", faithful["Sender"]}} {
			if w.name == "the stack's own Sender" {
				if offersSACKOrTS(s) {
					continue
				}
				sender++
			}
			res, err := drill.Run(s, Config(w.plant))
			if err != nil {
				return err
			}
			if res.Status != drill.Passed {
				t.Errorf("%s with %s: %v %v %s", p, w.name, res.Status, res.Failure, res.Skip)
			}
		}
		return nil
	})
	t.Logf("%d corpus scripts with the receiver and demux wrappers, %d with the stack's own Sender", n, sender)
	if err != nil || n < 100 || sender < 25 {
		t.Fatalf("the corpus: %v (%d scripts, %d without SACK or timestamps)", err, n, sender)
	}
}

// offersSACKOrTS reports whether a SYN of the script, the peer's or the
// one it expects of the stack, lists sackOK or a timestamp.
func offersSACKOrTS(s *drill.Script) bool {
	for _, ev := range s.Events {
		p := ev.Packet
		if p == nil || !strings.Contains(p.Flags, "S") {
			continue
		}
		for _, o := range p.Options {
			if o.Kind == "sackOK" || o.Kind == "TS" {
				return true
			}
		}
	}
	return false
}

// The reference scripts written for the sender bugs tell them from the
// stack with its own Sender, and pass against that as they do against
// the stack as shipped: their peers offer neither SACK nor timestamps.
func TestReferenceSenderScriptsFair(t *testing.T) {
	s := run("../reference")
	senderBugs := 0
	for _, b := range Bugs {
		if b.Seam != "Sender" {
			continue
		}
		senderBugs++
		if s.caught[b.Name] == "" {
			t.Errorf("%s: no reference script catches it", b.Name)
		}
	}
	if senderBugs < 3 {
		t.Errorf("%d bugs planted in tcp.Config.Sender, want 3", senderBugs)
	}
	for _, sc := range s.scripts {
		if !offersSACKOrTS(sc.s) && !sc.passesSeam("Sender") {
			t.Errorf("%s offers neither SACK nor timestamps but fails with the stack's own Sender", sc.path)
		}
	}
}

// The handout and the skeleton's README list every bug by its symptom.
func TestHandoutListsEveryBug(t *testing.T) {
	for _, f := range []string{"../handout.md", "../skeleton/README.md"} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		text := strings.Join(strings.Fields(string(b)), " ")
		for _, bug := range Bugs {
			if !strings.Contains(text, bug.Symptom) {
				t.Errorf("%s does not describe %s: %q", f, bug.Name, bug.Symptom)
			}
		}
	}
}

func TestCites(t *testing.T) {
	for src, want := range map[string]bool{
		"// RFC 9293 §3.10.7.4: trimmed\n":         true,
		"/* see RFC 2018,\n section 4 */\n0 x":     true,
		"// §3.3.1 of RFC 9293\n":                  true,
		"// RFC 9293 says so\n":                    false,
		"0 socket() = 3 // RFC 9293 §3\n":          true,
		"0 write(4, \"RFC 9293 §3.1\", 10) = 10\n": false,
		"// section 4\n":                           false,
		"// RFC 6298 (5.5): the RTO doubles\n":     true,
		"// RFC 6298 (5): rules\n":                 false,
	} {
		if got := Cites([]byte(src)); got != want {
			t.Errorf("Cites(%q) = %v, want %v", src, got, want)
		}
	}
}

// A script whose peer offers SACK passes against the correct stack but
// not against the stack with its own Sender, which offers no SACK in its
// SYN-ACK: it fails against every sender bug for that alone, and must be
// credited with none of them.
func TestSenderBugNotCaughtBySeamAlone(t *testing.T) {
	dir := t.TempDir()
	src, err := os.ReadFile("../reference/held-data-keeps-window.pkt")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "sack.pkt"), src, 0o644); err != nil {
		t.Fatal(err)
	}
	s := run(dir)
	if s.loadErr != nil || len(s.scripts) != 1 || s.scripts[0].correct.Status != drill.Passed {
		t.Fatalf("the script must pass against the correct stack: %v %+v", s.loadErr, s.scripts)
	}
	sc := s.scripts[0]
	if !offersSACKOrTS(sc.s) || sc.passesSeam("Sender") {
		t.Fatalf("the script offers SACK (%v) and must fail with the stack's own Sender (passes: %v)", offersSACKOrTS(sc.s), sc.passesSeam("Sender"))
	}
	for _, b := range Bugs {
		if res, err := drill.Run(sc.s, Config(b.Plant)); b.Seam == "Sender" && (err != nil || res.Status != drill.Failed) {
			t.Errorf("%s: the script should fail against it (for the seam alone): %v %+v", b.Name, err, res)
		}
		if b.Seam == "Sender" && s.caught[b.Name] != "" {
			t.Errorf("%s credited to a script that fails with the bug-free Sender: %s", b.Name, s.caught[b.Name])
		}
	}
}
