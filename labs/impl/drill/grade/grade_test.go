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
// bug, not a difference of the wrapper.
func TestWrappersFaithful(t *testing.T) {
	plain := func(c *tcp.Config) {
		receiverWith(func(b *buffer) tcp.Receiver { return b })(c)
		demuxWith(func(t tcp.Demuxer) tcp.Demuxer { return t })(c)
	}
	n := 0
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
		res, err := drill.Run(s, Config(plain))
		if err != nil {
			return err
		}
		if res.Status != drill.Passed {
			t.Errorf("%s with the wrappers: %v %v %s", p, res.Status, res.Failure, res.Skip)
		}
		n++
		return nil
	})
	if err != nil || n < 100 {
		t.Fatalf("the corpus: %v (%d scripts)", err, n)
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
	} {
		if got := Cites([]byte(src)); got != want {
			t.Errorf("Cites(%q) = %v, want %v", src, got, want)
		}
	}
}
