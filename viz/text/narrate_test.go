package text_test

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/packetwalk/packetwalk/internal/scenarios"
	"github.com/packetwalk/packetwalk/viz"
	"github.com/packetwalk/packetwalk/viz/text"
	"github.com/packetwalk/packetwalk/wire"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// tcpFaults lose the first data segment on the wire and corrupt the first
// FIN, so the narration shows a wire loss, an FCS drop and retransmissions.
var tcpFaults = []wire.Fault{{Frame: 6, Kind: wire.FaultDrop}, {Frame: 9, Kind: wire.FaultCorrupt, Bit: -1}}

func narrate(t *testing.T, ev []viz.Event, opts text.Options) string {
	t.Helper()
	var buf bytes.Buffer
	n := text.NewNarrator(&buf, opts)
	for i := range ev {
		n.Event(&ev[i])
	}
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from the golden file (review, then go test -update):\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

func TestGoldenTCP(t *testing.T) {
	ev := scenarios.Echo(t, tcpFaults...)
	out := narrate(t, ev, text.Options{})
	golden(t, "tcp_echo.golden", out)
	golden(t, "tcp_echo_drops.golden", narrate(t, ev, text.Options{DropsOnly: true}))
	for _, want := range []string{
		"#1       0.000100  client → server  IP 10.0.0.1.49152 > 10.0.0.2.80: Flags [S], seq ",
		"DROP wire_fault", "DROP fcs_mismatch", "(retransmission)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("narration lacks %q", want)
		}
	}
}

// Every step of the run is printed exactly once, whatever the order the
// narrator holds them back in.
func TestEveryStepOnce(t *testing.T) {
	ev := scenarios.Echo(t, tcpFaults...)
	out := narrate(t, ev, text.Options{})
	steps := 0
	for _, l := range strings.Split(out, "\n") {
		if l != "" && !strings.HasPrefix(l, "#") && l != text.Legend {
			steps++
		}
	}
	if steps != len(ev) {
		t.Fatalf("%d step lines for %d events", steps, len(ev))
	}
}

func stepLines(out string) []string {
	var lines []string
	for _, l := range strings.Split(out, "\n") {
		if l != "" && !strings.HasPrefix(l, "#") && l != text.Legend {
			lines = append(lines, l)
		}
	}
	return lines
}

func TestFilters(t *testing.T) {
	ev := scenarios.Echo(t, tcpFaults...)
	t.Run("drops-only", func(t *testing.T) {
		out := narrate(t, ev, text.Options{DropsOnly: true})
		lines := stepLines(out)
		if len(lines) == 0 {
			t.Fatal("no drops printed")
		}
		for _, l := range lines {
			if !strings.Contains(l, "DROP ") {
				t.Errorf("not a drop: %q", l)
			}
		}
		// Each drop comes under its frame's header.
		if !strings.Contains(out, "client → server") {
			t.Errorf("headers missing:\n%s", out)
		}
	})
	t.Run("host", func(t *testing.T) {
		for _, l := range stepLines(narrate(t, ev, text.Options{Hosts: []string{"server"}})) {
			f := strings.Fields(l)
			if f[1] != "server" && f[1] != "wire0" {
				t.Errorf("a step of another host: %q", l)
			}
		}
	})
	t.Run("layer", func(t *testing.T) {
		lines := stepLines(narrate(t, ev, text.Options{Layers: []viz.Layer{viz.LayerTCP, viz.LayerARP}}))
		if len(lines) == 0 {
			t.Fatal("nothing printed")
		}
		for _, l := range lines {
			if f := strings.Fields(l); f[2] != "tcp" && f[2] != "arp" {
				t.Errorf("a step of another layer: %q", l)
			}
		}
	})
	t.Run("conn", func(t *testing.T) {
		// Socket 2 is the client's: its own steps and the frames that
		// carried its segments (both ways), not ARP and not the listener.
		out := narrate(t, ev, text.Options{Conn: 2})
		if strings.Contains(out, "ARP, Request") || strings.Contains(out, "listen(") {
			t.Errorf("steps of no concern to socket 2:\n%s", out)
		}
		if !strings.Contains(out, "Flags [S]") || !strings.Contains(out, "Flags [S.]") || !strings.Contains(out, "connect(") {
			t.Errorf("socket 2's segments or calls missing:\n%s", out)
		}
	})
}

// The narration starts with its legend: the column names over the
// columns of a step's line (a step not under a frame, and one under a
// frame's header, indented); NoLegend leaves it out; an empty narration
// stays empty.
func TestLegend(t *testing.T) {
	ev := scenarios.Echo(t, tcpFaults...)
	out := narrate(t, ev, text.Options{})
	lines := strings.Split(out, "\n")
	if lines[0] != text.Legend {
		t.Fatalf("first line %q, want the legend %q", lines[0], text.Legend)
	}
	if strings.Count(out, text.Legend) != 1 {
		t.Errorf("the legend is printed %d times", strings.Count(out, text.Legend))
	}
	// Each column name starts where its column does in a step's line.
	var step string
	for _, l := range lines[1:] {
		if strings.Contains(l, " server   socket  listen ") {
			step = l
			break
		}
	}
	if step == "" {
		t.Fatalf("no listen step in\n%s", out)
	}
	for _, col := range []struct{ name, value string }{{"host", "server"}, {"layer", "socket"}, {"step", "listen"}} {
		if i, j := strings.Index(text.Legend, " "+col.name+" "), strings.Index(step, " "+col.value+" "); i != j || i < 0 {
			t.Errorf("column %s starts at %d in the legend, its value %q at %d in %q", col.name, i, col.value, j, step)
		}
	}
	if out := narrate(t, ev, text.Options{NoLegend: true}); strings.Contains(out, text.Legend) {
		t.Error("NoLegend printed the legend")
	}
	if out := narrate(t, nil, text.Options{}); out != "" {
		t.Errorf("an empty narration printed %q", out)
	}
	// The command's own lines (serve's "serving ...") do not bring the
	// legend: it comes with the first step.
	var buf bytes.Buffer
	n := text.NewNarrator(&buf, text.Options{})
	n.Println("serving")
	n.Flush()
	if buf.String() != "serving\n" {
		t.Errorf("a command's line alone printed %q", buf.String())
	}
	n.Event(&ev[0])
	n.Close()
	if lines := strings.Split(buf.String(), "\n"); len(lines) < 3 || lines[1] != text.Legend {
		t.Errorf("the legend does not come before the first step:\n%s", buf.String())
	}
}

func TestColourOnlyWhenAsked(t *testing.T) {
	ev := scenarios.Echo(t, tcpFaults...)
	if out := narrate(t, ev, text.Options{}); strings.Contains(out, "\x1b[") {
		t.Fatal("escape codes without Color")
	}
	out := narrate(t, ev, text.Options{Color: true})
	if !strings.Contains(out, "\x1b[31m") {
		t.Fatal("no red with Color")
	}
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, "DROP ") && !strings.HasPrefix(l, "\x1b[31m") {
			t.Errorf("a drop not in red: %q", l)
		}
	}
}

func TestParseLayers(t *testing.T) {
	ls, err := text.ParseLayers("tcp, IP,,nic")
	if err != nil || len(ls) != 3 || ls[1] != viz.LayerIP {
		t.Fatalf("%v %v", ls, err)
	}
	if _, err := text.ParseLayers("tcp,ethernet"); err == nil {
		t.Fatal("an unknown layer was accepted")
	}
}

// A frame that never reaches the wire (here: its steps stop before the
// NIC) is printed, in the order of the steps, as soon as another frame's
// step is logged ("not on the wire yet"), or at Close ("never on the
// wire"); and one frame's held-back steps stay bounded.
func TestHeldBackFramesBounded(t *testing.T) {
	var buf bytes.Buffer
	n := text.NewNarrator(&buf, text.Options{})
	for i := 1; i <= 1000; i++ {
		n.Event(&viz.Event{Host: "h", Layer: viz.LayerIP, Step: "send", Verdict: viz.Send, Frame: uint64(i), Msg: "IP 10.0.0.1 > 10.0.0.9: proto UDP, to 10.0.0.9 on eth0"})
	}
	for i := 0; i < 100; i++ {
		n.Event(&viz.Event{Host: "h", Layer: viz.LayerARP, Step: "queue", Frame: 1001, Msg: "queued while waiting for 10.0.0.9's MAC address"})
	}
	n.Close()
	out := buf.String()
	if got := strings.Count(out, "not on the wire yet"); got != 1000 {
		t.Errorf("%d frames shown before the next frame's step, want 1000", got)
	}
	if got := strings.Count(out, "never on the wire"); got != 1 {
		t.Errorf("%d frames flushed at the end, want 1", got)
	}
	for i := 1; i <= 1000; i++ {
		if !strings.Contains(out, fmt.Sprintf("#%-4d", i)) {
			t.Fatalf("frame %d is missing from the narration", i)
		}
	}
	if got := strings.Count(out, "queued while waiting"); got != 64 {
		t.Errorf("%d of one frame's 100 held-back steps printed, want 64 and a count of the rest", got)
	}
	if !strings.Contains(out, "... 36 more steps not shown") {
		t.Errorf("the steps not kept are not counted:\n%s", out[max(0, len(out)-500):])
	}
}

// A frame that waits for ARP is narrated up to its wait before the ARP
// request it caused, and its header again when it reaches the wire: a step
// is never narrated after the steps it caused (issue 16). Before, the
// frame's steps were held back until it went onto the wire, after the ARP
// exchange, and the connect() call that sent it came after the request.
func TestWaitingFrameBeforeWhatItCaused(t *testing.T) {
	ev := scenarios.Echo(t)
	out := narrate(t, ev, text.Options{})
	order := []string{
		"client   socket  connect ",
		"client   tcp     state                 CLOSED -> SYN_SENT",
		"#1       0.000000  client  (not on the wire yet) IP 10.0.0.1.49152 > 10.0.0.2.80: Flags [S]",
		"client   tcp     send         send     SYN:",
		"client   arp     lookup       pass     10.0.0.2 not in the ARP cache: resolving",
		"#2       0.000000  client → server  ARP, Request",
		"#3       0.000050  server → client  ARP, Reply",
		"#1       0.000100  client → server  IP 10.0.0.1.49152 > 10.0.0.2.80: Flags [S]",
		"client   arp     resolved ",
		// close() comes before the FIN it sends.
		"client   socket  close                 close(3)",
		"client   tcp     state                 ESTABLISHED -> FIN_WAIT_1",
		"client → server  IP 10.0.0.1.49152 > 10.0.0.2.80: Flags [F.]",
	}
	at := 0
	for _, want := range order {
		i := strings.Index(out[at:], want)
		if i < 0 {
			t.Fatalf("after byte %d the narration lacks %q (or has it too early):\n%s", at, want, out[:min(len(out), 6000)])
		}
		at += i + len(want)
	}
	if strings.Count(out, "client   tcp     send         send     SYN:") != 1 {
		t.Errorf("the SYN's send step is not printed exactly once")
	}
}
