// Package grade holds the graded tests of the impl-drill lab: the student
// writes packetdrill scripts, which must pass against packetwalk as shipped
// and catch planted TCP bugs. Each bug is a component with one thing wrong,
// plugged into one of tcp.Config's seams (bugs.go); a bug is caught when a
// script that passes against the correct stack fails against the stack with
// that bug.
package grade

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/packetwalk/packetwalk/drill"
	"github.com/packetwalk/packetwalk/labs/impl/grading"
	"github.com/packetwalk/packetwalk/tcp"
)

// New is what the student hands in: the folder of their .pkt scripts.
type New = string

// Tests are the graded tests, in order: the scripts pass against the
// correct stack, they cite the RFC, then one test per planted bug (Bugs).
var Tests = []grading.Test[New]{
	{Name: "ScriptsPassCorrectStack", Run: testPassCorrect},
	{Name: "ScriptsCiteRFCSection", Run: testCite},
}

// Bug is one planted bug: the graded test that checks it is caught, what
// the handout says of it (the symptom, never the fix), where to look, and
// how it is planted in a host's tcp.Config.
type Bug struct {
	Name    string
	Seam    string // the tcp.Config field the bug is plugged into
	Symptom string
	Hint    string
	Plant   func(*tcp.Config)
}

// Bugs are the planted bugs, one graded test each. Adding a bug is one
// entry here (and its symptom in the handout and the skeleton's README,
// which a test checks).
var Bugs = []Bug{
	{Name: "CatchesWindowNeverShrinks", Seam: "Receiver",
		Symptom: "a receiver that keeps advertising its full window while data waits unread",
		Hint:    "RFC 9293 §3.3.1 (Figure 4): the window is the room left after the bytes read() has not taken yet; look at the window field of an ACK sent before the application reads",
		Plant:   receiverWith(func(b *buffer) tcp.Receiver { return fullWindow{b} })},
	{Name: "CatchesDataBeyondWindowKept", Seam: "Receiver",
		Symptom: "a receiver that keeps the part of a segment lying beyond the window it advertised",
		Hint:    "RFC 9293 §3.10.7.4: a segment is trimmed to the window, and what lies past RCV.NXT+RCV.WND is dropped; send a segment that straddles the right edge, beyond a hole, and look at the SACK block",
		Plant:   receiverWith(beyondWindow)},
	{Name: "CatchesAckOneShortAfterHole", Seam: "Receiver",
		Symptom: "a receiver whose acknowledgment number falls one byte short once a hole in the data is filled",
		Hint:    "RFC 9293 §3.10.7.4 and RFC 5681 §4.2: when the missing segment arrives, RCV.NXT jumps past everything held and the ACK is sent at once; check its number exactly",
		Plant:   receiverWith(func(b *buffer) tcp.Receiver { return &oneShortAfterFill{buffer: b} })},
	{Name: "CatchesWindowShrunkByHeldData", Seam: "Receiver",
		Symptom: "a receiver whose advertised window shrinks when data arrives out of order, although read() has nothing more to take",
		Hint:    "RFC 9293 §3.3.1: bytes held beyond a hole lie inside the window, they do not shrink it; look at the window field of the ACK that answers an out-of-order segment",
		Plant:   receiverWith(func(b *buffer) tcp.Receiver { return heldShrinksWindow{b} })},
	{Name: "CatchesOutOfOrderDataUnreported", Seam: "Receiver",
		Symptom: "a receiver that holds data arriving out of order but never tells the sender it has it",
		Hint:    "RFC 2018 §3 and §4: with SACK permitted, the ACK of an out-of-order segment carries a SACK block for the data held",
		Plant:   receiverWith(func(b *buffer) tcp.Receiver { return holdsSilently{b} })},
	{Name: "CatchesRemotePortIgnored", Seam: "Demuxer",
		Symptom: "a server that mistakes a second client's SYN, sent from another port of the same address, for a segment of the first client's connection",
		Hint:    "RFC 9293 §3.1 and §2.7: a connection is named by both sockets, the remote port included; open a second connection from the same remote host while the first is up (packetwalk drill opens the next one from the next remote port after a listen())",
		Plant:   demuxWith(func(t tcp.Demuxer) tcp.Demuxer { return remotePortIgnored{t} })},
	{Name: "CatchesClosedListenerKept", Seam: "Demuxer",
		Symptom: "a port that stays taken after its listening socket is closed",
		Hint:    "RFC 9293 §3.10.4: CLOSE in LISTEN deletes the TCB, so the port is free again; close the listener and use the port again",
		Plant:   demuxWith(func(t tcp.Demuxer) tcp.Demuxer { return listenerKept{t} })},
	{Name: "CatchesSegmentPastPeerWindow", Seam: "Sender",
		Symptom: "a sender whose segments run past the window its peer advertised",
		Hint:    "RFC 9293 §3.8.6.2.1: the sender may send at most SND.UNA + SND.WND - SND.NXT bytes; give it a window smaller than one segment (a peer SYN without wscale, so the window field is the window) and write more than that",
		Plant:   senderWith(func(s tcp.Sender) tcp.Sender { return pastPeerWindow{s} })},
	{Name: "CatchesRTONotBackedOff", Seam: "Sender",
		Symptom: "a sender that waits no longer before its second retransmission than before its first",
		Hint:    "RFC 6298 §5, step (5.5): each time the retransmission timer expires the RTO doubles; leave a segment unacknowledged and time its retransmissions",
		Plant:   senderWith(func(s tcp.Sender) tcp.Sender { return noBackoff{s} })},
	{Name: "CatchesFastRetransmitTooEarly", Seam: "Sender",
		Symptom: "a sender that resends a segment it believes lost one duplicate ACK too soon",
		Hint:    "RFC 5681 §3.2 and §2: fast retransmit waits for the third duplicate ACK, since reordering can cause one or two; send duplicate ACKs one at a time and state when the retransmission comes",
		Plant:   senderWith(func(s tcp.Sender) tcp.Sender { return &earlyFastRetransmit{Sender: s} })},
}

func init() {
	for _, b := range Bugs {
		Tests = append(Tests, grading.Test[New]{Name: b.Name, Run: func(t *testing.T, dir New) { testCaught(t, dir, b) }})
	}
}

// Run runs every graded test on the scripts in dir.
func Run(t *testing.T, dir New) { grading.Run(t, Tests, dir) }

// script is one of the student's scripts and what it did.
type script struct {
	path    string // as the student's messages name it
	src     []byte
	s       *drill.Script
	correct *drill.Result // against packetwalk as shipped
	err     error         // drill.Run could not run it
	// seam[name] says whether the script also passes with the stack's
	// own component behind that seam (faithful), run once for each seam
	// that has a bug.
	seam map[string]bool
}

// passesSeam reports whether sc passes against the correct stack and
// against it with seam's bug-free wrapper: only such a script can catch a
// bug planted in seam.
func (sc *script) passesSeam(seam string) bool {
	if sc.err != nil || sc.correct.Status != drill.Passed {
		return false
	}
	ok, done := sc.seam[seam]
	if !done {
		res, err := drill.Run(sc.s, Config(faithful[seam]))
		ok = err == nil && res.Status == drill.Passed
		if sc.seam == nil {
			sc.seam = map[string]bool{}
		}
		sc.seam[seam] = ok
	}
	return ok
}

// suite is the student's folder, run once against the correct stack, once
// against each seam's bug-free wrapper and once against each planted bug;
// every graded test reads from it.
type suite struct {
	loadErr error
	scripts []*script
	// caught[bug] is the first script that passes against the correct
	// stack (and the bug's seam without the bug) and fails against the
	// bug, with drill's message.
	caught map[string]string
}

var (
	mu     sync.Mutex
	suites = map[string]*suite{}
)

// Config is how every script is run: strict mode (every field checked), as
// packetwalk's own corpus is, plus the planted bug if any.
func Config(plant func(*tcp.Config)) drill.Config { return drill.Config{TCP: plant} }

// Load reads the .pkt scripts of dir, in name order; an error names the
// file and line of the first one that does not parse.
func Load(dir string) ([]*script, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.pkt"))
	if err != nil {
		return nil, err
	}
	sort.Strings(files)
	var out []*script
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("cannot read %s: %v", f, err)
		}
		s, err := drill.Load(f, src)
		if err != nil {
			return nil, fmt.Errorf("your script does not parse: %v", err)
		}
		out = append(out, &script{path: f, src: src, s: s})
	}
	return out, nil
}

func run(dir string) *suite {
	mu.Lock()
	defer mu.Unlock()
	if s := suites[dir]; s != nil {
		return s
	}
	s := &suite{caught: map[string]string{}}
	suites[dir] = s
	s.scripts, s.loadErr = Load(dir)
	if s.loadErr != nil {
		return s
	}
	for _, sc := range s.scripts {
		sc.correct, sc.err = drill.Run(sc.s, Config(nil))
		// Every seam now, under mu: the graded tests only read them.
		for _, b := range Bugs {
			sc.passesSeam(b.Seam)
		}
	}
	for _, b := range Bugs {
		for _, sc := range s.scripts {
			if !sc.passesSeam(b.Seam) {
				continue
			}
			res, err := drill.Run(sc.s, Config(b.Plant))
			switch {
			case err != nil:
				s.caught[b.Name] = fmt.Sprintf("%s: %v", sc.path, err)
			case res.Status == drill.Failed:
				s.caught[b.Name] = res.Failure.Error()
			}
			if s.caught[b.Name] != "" {
				break
			}
		}
	}
	return s
}

// loaded fails t and returns nil when the folder has no script to grade.
func loaded(t *testing.T, dir string) *suite {
	s := run(dir)
	switch {
	case s.loadErr != nil:
		t.Error(grading.Failure{Sent: "the .pkt scripts in " + dir, Expected: "every script parses",
			Got: s.loadErr.Error(), Hint: "`packetwalk drill FILE.pkt` shows the same message; the syntax is packetdrill's (docs/drill.md)"}.String())
		return nil
	case len(s.scripts) == 0:
		t.Error(grading.Failure{Sent: "the folder " + dir, Expected: "at least one .pkt script",
			Got: "no file named *.pkt", Hint: "`packetwalk lab skeleton impl-drill DIR` writes the example to start from"}.String())
		return nil
	}
	return s
}

// noneCaught fails t when no script catches any bug: a script that never
// fails tests nothing, so passing and citing earn nothing alone (the
// skeleton's example passes and cites, and must score 0).
func (s *suite) noneCaught(t *testing.T, what string) bool {
	if len(s.caught) > 0 {
		return false
	}
	t.Error(grading.Failure{Sent: fmt.Sprintf("%s, against the correct stack and against each of the %d planted bugs", count(len(s.scripts)), len(Bugs)),
		Expected: what + ", and at least one script catches a planted bug (fails against a stack with it)",
		Got:      "no script catches any planted bug: every script passes against every stack",
		Hint:     "this test counts once your scripts catch a bug; the handout lists the symptoms to look for"}.String())
	return true
}

// count says "your script" or "your N scripts".
func count(n int) string {
	if n == 1 {
		return "your script"
	}
	return fmt.Sprintf("your %d scripts", n)
}

func testPassCorrect(t *testing.T, dir New) {
	s := loaded(t, dir)
	if s == nil {
		return
	}
	var bad []string
	for _, sc := range s.scripts {
		switch {
		case sc.err != nil:
			bad = append(bad, fmt.Sprintf("%s: %v", sc.path, sc.err))
		case sc.correct.Status == drill.Failed:
			bad = append(bad, sc.correct.Failure.Error())
		case sc.correct.Status == drill.Skipped:
			bad = append(bad, fmt.Sprintf("%s: skipped: %s", sc.path, sc.correct.Skip))
		}
	}
	if len(bad) > 0 {
		t.Error(grading.Failure{Sent: fmt.Sprintf("%s, each against packetwalk as shipped (strict mode: every field checked)", count(len(s.scripts))),
			Expected: "every script passes: a script that fails against the correct stack accuses it wrongly",
			Got:      strings.Join(bad, "\n"),
			Hint:     "`packetwalk drill FILE.pkt` narrates the run and marks the failing line; the window, the options and the times are checked too"}.String())
		return
	}
	s.noneCaught(t, "every script passes against packetwalk as shipped")
}

// comment finds a script's comments: "// to the end of the line" and
// "/* ... */", as drill's lexer reads them.
var comment = regexp.MustCompile(`//[^\n]*|(?s:/\*.*?\*/)`)

// rfcSection is a citation of an RFC with a section: "RFC 9293 §3.10.7.4",
// "RFC 2018 section 4", "§3.3.1 of RFC 9293", and RFC 6298's numbered
// rules, "RFC 6298 (5.5)".
var rfcSection = regexp.MustCompile(`(?i)RFC\s?\d{3,4}\W{0,3}(§|section|sec\.)\s?\d|(§|section|sec\.)\s?\d+(\.\d+)*\W{1,3}(of\s)?RFC\s?\d{3,4}|RFC\s?\d{3,4}\s?\(\d+\.\d+\)`)

// Cites reports whether a script cites an RFC section in a comment. The
// comments are read as one text, so a citation may run from one "//" line
// to the next.
func Cites(src []byte) bool {
	var text []string
	for _, c := range comment.FindAll(src, -1) {
		c = bytes.TrimPrefix(bytes.TrimPrefix(bytes.TrimSuffix(c, []byte("*/")), []byte("//")), []byte("/*"))
		text = append(text, string(c))
	}
	return rfcSection.MatchString(strings.Join(strings.Fields(strings.Join(text, " ")), " "))
}

func testCite(t *testing.T, dir New) {
	s := loaded(t, dir)
	if s == nil {
		return
	}
	var bad []string
	for _, sc := range s.scripts {
		if !Cites(sc.src) {
			bad = append(bad, sc.path)
		}
	}
	if len(bad) > 0 {
		t.Error(grading.Failure{Sent: "the comments of your scripts",
			Expected: "each script says in a comment which RFC section it checks, e.g. // RFC 9293 §3.10.7.4",
			Got:      "no RFC section cited in a comment of:\n" + strings.Join(bad, "\n"),
			Hint:     "packetwalk's own scripts (drill/corpus) open with a comment saying what they check and where the RFC says so"}.String())
		return
	}
	s.noneCaught(t, "every script cites an RFC section")
}

func testCaught(t *testing.T, dir New, b Bug) {
	s := loaded(t, dir)
	if s == nil {
		return
	}
	if by := s.caught[b.Name]; by != "" {
		t.Logf("caught: %s", by)
		return
	}
	var passing, unfair []string
	for _, sc := range s.scripts {
		switch {
		case sc.passesSeam(b.Seam):
			passing = append(passing, filepath.Base(sc.path))
		case sc.err == nil && sc.correct.Status == drill.Passed:
			unfair = append(unfair, filepath.Base(sc.path))
		}
	}
	got := fmt.Sprintf("every one of them passed (%s)", strings.Join(passing, ", "))
	if len(passing) == 0 {
		got = "none of your scripts passes against the correct stack, so none can catch a bug (see ScriptsPassCorrectStack)"
		if len(unfair) > 0 {
			got = "none of your scripts can catch it (below)"
		}
	}
	if len(unfair) > 0 {
		got += fmt.Sprintf("\nthese fail with the stack's own component in tcp.Config.%s, before any bug: %s; %s",
			b.Seam, strings.Join(unfair, ", "), seamChanges[b.Seam])
	}
	t.Error(grading.Failure{Sent: fmt.Sprintf("your scripts that pass against the correct stack, against a stack whose tcp.Config.%s has a planted bug: %s", b.Seam, b.Symptom),
		Expected: "at least one script fails against it",
		Got:      got,
		Hint:     b.Hint}.String())
}

// seamChanges says what plugging a component into a seam changes on the
// wire, bug or no bug: why a script that passes against the correct stack
// may not count for a bug in that seam.
var seamChanges = map[string]string{
	"Receiver": "such a script cannot tell a bug in it from the seam itself",
	"Demuxer":  "such a script cannot tell a bug in it from the seam itself",
	"Sender": "with a Sender the stack neither offers nor accepts SACK and times RTT without timestamps, so a script for a sender bug " +
		"opens passively (listen, accept) and its peer's SYN offers neither sackOK nor TS",
}
