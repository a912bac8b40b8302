package drill

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/packetwalk/packetwalk/tcp"
)

// TestCorpus plays packetwalk's own packetdrill corpus (drill/corpus,
// written for packetwalk, each script citing the RFC section it checks)
// in strict mode: every field is checked, window and options included.
// A script that fails names its line and what differed.
func TestCorpus(t *testing.T) {
	files := corpusFiles(t)
	if len(files) == 0 {
		t.Fatal("drill/corpus holds no scripts")
	}
	cite := regexp.MustCompile(`RFC \d+`)
	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.ToSlash(f), ".pkt"), func(t *testing.T) {
			src, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			if !cite.Match(src) {
				t.Errorf("%s cites no RFC section: every corpus script says what it checks", f)
			}
			s, err := Load(f, src)
			if err != nil {
				t.Fatal(err)
			}
			res, err := Run(s, Config{})
			if err != nil {
				t.Fatal(err)
			}
			switch res.Status {
			case Failed:
				t.Fatalf("%v", res.Failure)
			case Skipped:
				t.Fatalf("skipped: %s (a corpus script must run)", res.Skip)
			}
		})
	}
}

func corpusFiles(t *testing.T) []string {
	var files []string
	err := filepath.WalkDir("corpus", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.HasSuffix(p, ".pkt") {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(files)
	return files
}

// Config.TCP changes the host's TCP after the script's sysctls: a script
// that passes as shipped fails once the hook turns the delayed ACK off
// (the drill-writing lab plants its bugs through this hook).
func TestConfigTCP(t *testing.T) {
	f := "corpus/data/delack/single-segment-acked-after-200ms.pkt"
	src, err := os.ReadFile(f)
	if err != nil {
		t.Fatal(err)
	}
	s, err := Load(f, src)
	if err != nil {
		t.Fatal(err)
	}
	called := false
	res, err := Run(s, Config{TCP: func(c *tcp.Config) { called = true; c.DelayedACK = -1 }})
	if err != nil {
		t.Fatal(err)
	}
	if !called || res.Status != Failed || !strings.Contains(res.Failure.Error(), f+":") {
		t.Errorf("with the delayed ACK turned off by Config.TCP: called %v, %v %v, want a failure at the ACK's line", called, res.Status, res.Failure)
	}
}
