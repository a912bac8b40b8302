// Package impl holds the implementation labs, in the style of Stanford's
// CS144: the student writes one component of the stack behind a small
// interface (the NIC's FCS check and MAC filter, the NIC's ARP, IP's
// reassembler, TCP's demux table, IP's routing table, TCP's receiver, TCP's
// sender), and graded tests build the stack with it and run it on the
// simulated network and at unit level. In one lab, impl-drill, the student
// writes packetdrill scripts instead, which must catch TCP bugs planted in
// the stack's seams.
//
// Each lab lives in a directory of its own:
//
//	<lab>/handout.md   what to do: objectives, the seed's concept, the interface, hints
//	<lab>/skeleton/    the package the student copies; its functions are TODO and compile
//	<lab>/reference/   a solution, kept out of the skeleton; it passes every graded test
//	<lab>/grade/       the graded tests, as a library: Run(t, New)
//
// Test grades a student's copy: it writes a temporary module that imports
// the student's package and this module's grade package, runs `go test
// -json` on it, and prints one line per graded test with, for a failure,
// what was sent, what was expected, what happened and the step log around
// it. See docs/labs-impl.md.
package impl

import (
	"embed"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// Lab is one implementation lab.
type Lab struct {
	ID, Title string
	Handout   string // Markdown, printed by `packetwalk lab show ID`

	dir     string // the lab's directory under labs/impl
	grade   string // import path of its grade package
	ctor    string // the constructor the student's package must keep
	timeout string // go test -timeout for its graded tests
	// tests are the graded tests' names, in order, read from the grade
	// package's source: a package that does not build ran none of them,
	// and each is still reported (as failed), so that a grade book sees
	// the same list every time.
	tests []string
	// serve says how `lab serve` builds the student's component into
	// packetwalk's command (serve.go).
	serve serveHook
	// scripts: the student hands in packetdrill scripts (*.pkt), not a Go
	// package; the graded test gets their folder (impl-drill).
	scripts bool
}

// serveHook is one lab's part of the file that `lab serve` generates: the
// component's name on a host, the steps it takes, and the statement that
// installs the student's constructor, given hc *stack.HostConfig, nc
// *nic.Config and ac *arp.Config (cmd/packetwalk/labimpl.go).
type serveHook struct {
	what  string
	layer string   // a viz.Layer constant's name: LayerNIC
	steps []string // none: every step of the layer
	// match, if set, is the body of a func(e *viz.Event) bool that
	// narrows steps (a step name the component shares with others).
	match   string
	install string
}

//go:embed fcsmac/handout.md fcsmac/skeleton reassembly/handout.md reassembly/skeleton demux/handout.md demux/skeleton
//go:embed arpcache/handout.md arpcache/skeleton router/handout.md router/skeleton tcprecv/handout.md tcprecv/skeleton
//go:embed drill/handout.md drill/skeleton
//go:embed tcpsend/handout.md tcpsend/skeleton tcpsend/grade/grade.go
//go:embed fcsmac/grade/grade.go reassembly/grade/grade.go demux/grade/grade.go arpcache/grade/grade.go router/grade/grade.go tcprecv/grade/grade.go drill/grade/grade.go
var files embed.FS

// testName finds the graded tests in a grade package's Tests list.
var testName = regexp.MustCompile(`(?m)^\s*\{Name: "(\w+)"`)

const modulePath = "github.com/packetwalk/packetwalk"

var labs = []Lab{
	{ID: "impl-fcs-mac", Title: "Implement the LAN adapter's FCS check and destination-MAC filter", dir: "fcsmac",
		ctor: "func New() nic.FrameFilter",
		serve: serveHook{what: "eth0's FrameFilter (the FCS check and the destination-MAC filter)", layer: "LayerNIC",
			steps: []string{"fcs", "mac"}, install: "nc.Filter = student.New()"}},
	{ID: "impl-arp", Title: "Implement the NIC's ARP: the neighbour cache, its pending queue, retries and expiry", dir: "arpcache",
		ctor:  "func New(n arp.NIC, cfg arp.Config) arp.Resolver",
		serve: serveHook{what: "eth0's ARP (the neighbour cache)", layer: "LayerARP", install: "ac.Resolver = student.New"}},
	{ID: "impl-reassembly", Title: "Implement IP fragment reassembly with RFC 815 hole descriptors", dir: "reassembly",
		ctor: "func New(cfg ip.ReassemblerConfig) ip.FragmentReassembler",
		serve: serveHook{what: "IP fragment reassembler", layer: "LayerIP",
			steps: []string{"reassembly", "reassembled"}, install: "hc.IP.Reassembler = student.New"}},
	{ID: "impl-demux", Title: "Implement TCP's four-tuple demux table (listeners, clones, ephemeral ports)", dir: "demux",
		ctor: "func New(ephemeral ip.PortRange) tcp.Demuxer",
		serve: serveHook{what: "TCP demux table", layer: "LayerTCP",
			steps: []string{"demux"}, install: "hc.TCP.Demuxer = student.New"}},
	{ID: "impl-router", Title: "Implement the IP router: longest-prefix match, TTL, next hop", dir: "router",
		ctor: "func New() ip.Router",
		serve: serveHook{what: "IP routing table", layer: "LayerIP",
			steps: []string{"route", "forward"}, install: "hc.IP.Router = student.New"}},
	{ID: "impl-tcp-receiver", Title: "Implement the TCP receiver: sequence numbers that wrap, the reassembler, the window and the ACK", dir: "tcprecv",
		ctor: "func New(capacity int) tcp.Receiver",
		serve: serveHook{what: "TCP receiver (each connection's reassembler, RCV.NXT and window)", layer: "LayerTCP",
			steps: []string{"data", "dsack"}, install: "hc.TCP.Receiver = student.New"}},
	{ID: "impl-tcp-sender", Title: "Implement the TCP sender: segments within the window, RFC 6298's RTO, fast retransmit", dir: "tcpsend",
		ctor: "func New(cfg tcp.SenderConfig) tcp.Sender",
		serve: serveHook{what: "TCP sender (each connection's segment sizes, RTO and duplicate ACKs)", layer: "LayerTCP",
			steps: []string{"send", "retransmit", "rtt", "dupack", "timer"},
			// Segments with data or a FIN (not the receiver's ACKs, not a
			// SYN), and the retransmission timer (not TIME_WAIT's).
			match: `if e.Step == "send" { n, _ := e.Field("len"); f, _ := e.Field("flags"); return n != "0" || strings.Contains(f, "F") && !strings.Contains(f, "S") }
		if e.Step == "timer" { t, _ := e.Field("timer"); return t == "retransmit" }
		return true`,
			install: "hc.TCP.Sender = student.New"}},
	{ID: "impl-drill", Title: "Write packetdrill scripts that catch TCP bugs planted in the receiver, the demux table and the sender", dir: "drill",
		ctor: "a folder of .pkt scripts", scripts: true},
}

func init() {
	for i := range labs {
		l := &labs[i]
		b, err := files.ReadFile(l.dir + "/handout.md")
		if err != nil {
			panic("labs/impl: handout of " + l.ID + " is not embedded: " + err.Error())
		}
		l.Handout = string(b)
		src, err := files.ReadFile(l.dir + "/grade/grade.go")
		if err != nil {
			panic("labs/impl: grade of " + l.ID + " is not embedded: " + err.Error())
		}
		for _, m := range testName.FindAllStringSubmatch(string(src), -1) {
			l.tests = append(l.tests, m[1])
		}
		l.grade = modulePath + "/labs/impl/" + l.dir + "/grade"
		l.timeout = "60s"
	}
}

// Labs returns the implementation labs in course order.
func Labs() []Lab { return append([]Lab(nil), labs...) }

// find returns the lab with id, or an error that lists the IDs.
func find(id string) (*Lab, error) {
	var ids []string
	for i := range labs {
		if labs[i].ID == id {
			return &labs[i], nil
		}
		ids = append(ids, labs[i].ID)
	}
	return nil, fmt.Errorf("no implementation lab %q; the implementation labs are %s", id, strings.Join(ids, ", "))
}

// Skeleton writes the skeleton of lab id into dir, which must not exist or
// be empty, so that no work of the student's is ever overwritten.
func Skeleton(id, dir string) error {
	l, err := find(id)
	if err != nil {
		return err
	}
	if entries, err := os.ReadDir(dir); err == nil && len(entries) > 0 {
		return fmt.Errorf("%s is not empty: give a new directory for the skeleton, so that nothing in it is overwritten", dir)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("cannot create %s: %v", dir, err)
	}
	root := l.dir + "/skeleton"
	return fs.WalkDir(files, root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel := strings.TrimPrefix(strings.TrimPrefix(p, root), "/")
		if d.IsDir() {
			if rel != "" {
				return os.MkdirAll(filepath.Join(dir, filepath.FromSlash(rel)), 0o755)
			}
			return nil
		}
		b, err := files.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dir, filepath.FromSlash(rel)), b, 0o644)
	})
}
