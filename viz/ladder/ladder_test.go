package ladder_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/packetwalk/packetwalk/internal/scenarios"
	"github.com/packetwalk/packetwalk/viz"
	"github.com/packetwalk/packetwalk/viz/ladder"
	"github.com/packetwalk/packetwalk/wire"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// tcpFaults lose the first data segment on the wire (it is retransmitted)
// and corrupt the first FIN (its receiver drops it: fcs_mismatch).
var tcpFaults = []wire.Fault{{Frame: 6, Kind: wire.FaultDrop}, {Frame: 9, Kind: wire.FaultCorrupt, Bit: -1}}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (review, then go test -update):\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

func render(t *testing.T, b *ladder.Builder, mermaid bool) []byte {
	t.Helper()
	var buf bytes.Buffer
	var err error
	if mermaid {
		err = b.WriteMermaid(&buf)
	} else {
		err = b.WriteText(&buf)
	}
	if err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestGoldenTCP(t *testing.T) {
	ev := scenarios.Echo(t, tcpFaults...)
	b := ladder.FromEvents(ev, ladder.Options{})
	text := render(t, b, false)
	golden(t, "tcp_echo.golden", text)
	golden(t, "tcp_echo.mmd.golden", render(t, b, true))
	for _, want := range []string{
		"SYN_SENT", "--> <SEQ=0><CTL=SYN>", "<-- <SEQ=0><ACK=1><CTL=SYN,ACK>", "--X wire_fault",
		"(retransmission)", "fcs_mismatch", "TIME_WAIT", "LAST_ACK",
	} {
		if !strings.Contains(string(text), want) {
			t.Errorf("the ladder lacks %q:\n%s", want, text)
		}
	}
}

func TestGoldenPing(t *testing.T) {
	b := ladder.FromEvents(scenarios.Ping(t), ladder.Options{})
	golden(t, "ping.golden", render(t, b, false))
	golden(t, "ping.mmd.golden", render(t, b, true))
}

// A ladder built live, as a sink, is the one built from the saved JSON
// Lines of the same run.
func TestFromJSONLinesMatchesLive(t *testing.T) {
	ev := scenarios.Echo(t, tcpFaults...)
	live := ladder.New(ladder.Options{})
	var jl bytes.Buffer
	s := viz.NewJSONLSink(&jl)
	for i := range ev {
		live.Event(&ev[i])
		s.Event(&ev[i])
	}
	s.Close()
	var back []viz.Event
	dec := json.NewDecoder(&jl)
	for dec.More() {
		var e viz.Event
		if err := dec.Decode(&e); err != nil {
			t.Fatal(err)
		}
		back = append(back, e)
	}
	if a, b := render(t, live, false), render(t, ladder.FromEvents(back, ladder.Options{}), false); !bytes.Equal(a, b) {
		t.Fatalf("live:\n%s\nfrom JSON Lines:\n%s", a, b)
	}
}

func TestRowLimit(t *testing.T) {
	ev := scenarios.Echo(t, tcpFaults...)
	out := string(render(t, ladder.FromEvents(ev, ladder.Options{MaxRows: 5}), false))
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != 1+5+1 || !regexp.MustCompile(`^\.\.\. \d+ more frames not shown`).MatchString(lines[len(lines)-1]) {
		t.Fatalf("want a heading, 5 rows and a '... N more' line, got:\n%s", out)
	}
	mm := string(render(t, ladder.FromEvents(ev, ladder.Options{MaxRows: 5}), true))
	if !strings.Contains(mm, "more frames not shown") {
		t.Fatalf("mermaid lacks the '... more' note:\n%s", mm)
	}
}

// The Mermaid output is a well-formed sequenceDiagram: every line is a
// participant declaration, a message between declared participants, or a
// note over declared participants, and no text holds a raw ';', '<' or '>'.
func TestMermaidStructure(t *testing.T) {
	for name, ev := range map[string][]viz.Event{"tcp": scenarios.Echo(t, tcpFaults...), "ping": scenarios.Ping(t)} {
		out := string(render(t, ladder.FromEvents(ev, ladder.Options{}), true))
		lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
		if lines[0] != "sequenceDiagram" {
			t.Fatalf("%s: first line %q", name, lines[0])
		}
		participant := regexp.MustCompile(`^    participant (P\d+) as (\S.*)$`)
		message := regexp.MustCompile(`^    (P\d+)(->>|-x)(P\d+): (.+)$`)
		note := regexp.MustCompile(`^    Note over (P\d+)(?:,(P\d+))?: (.+)$`)
		entity := regexp.MustCompile(`#(\w+);`)
		declared := map[string]bool{}
		messages := 0
		for _, l := range lines[1:] {
			var ids []string
			var text string
			switch {
			case participant.MatchString(l):
				m := participant.FindStringSubmatch(l)
				if messages > 0 {
					t.Errorf("%s: participant declared after a message: %q", name, l)
				}
				declared[m[1]] = true
				continue
			case message.MatchString(l):
				m := message.FindStringSubmatch(l)
				ids, text = []string{m[1], m[3]}, m[4]
				messages++
			case note.MatchString(l):
				m := note.FindStringSubmatch(l)
				ids, text = []string{m[1]}, m[3]
				if m[2] != "" {
					ids = append(ids, m[2])
				}
			default:
				t.Errorf("%s: malformed line %q", name, l)
				continue
			}
			for _, id := range ids {
				if !declared[id] {
					t.Errorf("%s: %q uses undeclared participant %s", name, l, id)
				}
			}
			if strings.ContainsAny(entity.ReplaceAllString(text, ""), "#;<>") {
				t.Errorf("%s: unescaped text in %q", name, l)
			}
		}
		if messages == 0 || len(declared) != 2 {
			t.Errorf("%s: %d messages, %d participants", name, messages, len(declared))
		}
	}
}

func TestEmpty(t *testing.T) {
	out := string(render(t, ladder.New(ladder.Options{}), false))
	if !strings.Contains(out, "no frames") {
		t.Fatalf("got %q", out)
	}
	if mm := string(render(t, ladder.New(ladder.Options{}), true)); mm != "sequenceDiagram\n" {
		t.Fatalf("got %q", mm)
	}
}

// State changes that no frame carried come in the order they were logged,
// not in column order: the server listens before the client connects, so
// LISTEN is drawn above SYN_SENT, as in the narration (issue 16).
func TestStateNotesInLogOrder(t *testing.T) {
	out := string(render(t, ladder.FromEvents(scenarios.Echo(t), ladder.Options{}), false))
	listen, synSent := strings.Index(out, "LISTEN (socket 1)"), strings.Index(out, "SYN_SENT (socket 2)")
	if listen < 0 || synSent < 0 || listen > synSent {
		t.Errorf("LISTEN at byte %d, SYN_SENT at byte %d: want the server's LISTEN first\n%s", listen, synSent, out)
	}
}
