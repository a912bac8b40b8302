// Package ladder draws a run's frames as a ladder (sequence) diagram: the
// hosts are columns, each frame that crossed the wire is one row with an
// arrow from its sender to its receiver, labelled the way RFC 9293's
// figures label segments, and each side's TCP state after the event:
//
//	client                                           server
//	SYN_SENT     --> <SEQ=0><CTL=SYN>            --> SYN_RECEIVED
//	ESTABLISHED  <-- <SEQ=0><ACK=1><CTL=SYN,ACK> <-- SYN_RECEIVED
//	ESTABLISHED  --> <SEQ=1><ACK=1><CTL=ACK>     --X wire_loss
//
// A frame that was lost on the wire or dropped by its receiver ends in an
// X with the drop reason. The diagram is built from the step log, either
// live (a Builder is a viz.Sink) or from saved events (FromEvents, for a
// JSON Lines file), and written as text (WriteText) or as a Mermaid
// sequenceDiagram (WriteMermaid) for slides and handouts.
//
// A Builder keeps at most Options.MaxRows rows; later frames are counted
// and reported as "... N more". What it tracks besides (frames in flight,
// sockets' states, sequence-number origins) is bounded too.
package ladder

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/packetwalk/packetwalk/viz"
	"github.com/packetwalk/packetwalk/viz/text"
)

// DefaultMaxRows is the number of rows kept when Options.MaxRows is 0.
const DefaultMaxRows = 200

// Options shape a ladder.
type Options struct {
	// MaxRows is the number of rows kept; 0 means DefaultMaxRows, a
	// negative number means no limit.
	MaxRows int
	// Hosts orders the columns; hosts not named follow in the order they
	// first sent a frame. Empty: that order for all.
	Hosts []string
	// Absolute shows TCP sequence numbers as they are on the wire; by
	// default they are relative to each side's initial sequence number,
	// as Wireshark shows them (the SYN has SEQ=0).
	Absolute bool
}

// Limits on what a Builder tracks besides its rows.
const (
	maxInFlight = 4096 // frames whose sender's steps are held until the wire, and rows still being filled
	maxISNs     = 4096 // connection directions whose initial sequence number is remembered
)

type rowKind uint8

const (
	rowFrame rowKind = iota // a frame crossing the wire
	rowState                // a state change that no frame shows
)

// Row is one line of the ladder.
type Row struct {
	Kind   rowKind
	T      time.Duration
	Frame  uint64
	From   string     // the sender
	To     string     // the receiver ("" if none was seen)
	Label  string     // e.g. "<SEQ=0><CTL=SYN>" or "ARP, Request who-has 10.0.0.2 tell 10.0.0.1"
	TCP    bool       // the frame carried a TCP segment
	Drop   viz.Reason // why the frame never arrived, or was dropped by its receiver
	States []HostState
	cands  []string // receivers the wire carried the frame to
	notFor []string // receivers whose NIC said "not mine"
	conns  []hostConn
}

// HostState is a host's TCP state shown on a row.
type HostState struct{ Host, State string }

type hostConn struct {
	host string
	conn uint64
}

type preFrame struct {
	host  string
	conn  uint64
	sum   text.Summary
	label string
	tcp   bool
}

// Builder collects a ladder from events. It is a viz.Sink; it is safe to
// write it out while events still arrive.
type Builder struct {
	opts Options

	mu      sync.Mutex
	rows    []*Row
	more    int // frame rows not kept
	hosts   []string
	pre     map[uint64]*preFrame
	preOrd  []uint64
	live    map[uint64]*Row
	liveOrd []uint64
	states  map[hostConn]string
	notes   map[string]hostNote // frame-less state changes not yet shown
	noteSeq uint64              // counts the notes, to show them in the log's order
	isn     map[string]uint32
}

type hostNote struct {
	conn  uint64
	state string
	t     time.Duration
	seq   uint64 // the note's place in the log
}

// label names the socket on a row of its own, since no segment says which
// one it is: "LISTEN (socket 1)".
func (n hostNote) label() string {
	return n.state + " (socket " + strconv.FormatUint(n.conn, 10) + ")"
}

// New returns an empty Builder.
func New(opts Options) *Builder {
	if opts.MaxRows == 0 {
		opts.MaxRows = DefaultMaxRows
	}
	return &Builder{
		opts:   opts,
		pre:    make(map[uint64]*preFrame),
		live:   make(map[uint64]*Row),
		states: make(map[hostConn]string),
		notes:  make(map[string]hostNote),
		isn:    make(map[string]uint32),
	}
}

// FromEvents builds a ladder from a run's events, e.g. read back from a
// JSON Lines file.
func FromEvents(events []viz.Event, opts Options) *Builder {
	b := New(opts)
	for i := range events {
		b.Event(&events[i])
	}
	return b
}

// Event implements viz.Sink.
func (b *Builder) Event(e *viz.Event) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if e.Layer == viz.LayerTCP && e.Step == "state" {
		b.state(e)
		return
	}
	if e.Frame == 0 {
		return
	}
	if r := b.live[e.Frame]; r != nil {
		b.onLive(r, e)
		return
	}
	if e.Layer == viz.LayerPHY {
		return // a wire's step for a frame whose row is gone
	}
	p := b.pre[e.Frame]
	if p == nil {
		if len(b.pre) >= maxInFlight {
			delete(b.pre, b.preOrd[0])
			b.preOrd = b.preOrd[1:]
		}
		p = &preFrame{host: e.Host}
		b.pre[e.Frame] = p
		b.preOrd = append(b.preOrd, e.Frame)
	}
	p.sum.Add(e)
	if e.Conn != 0 && p.conn == 0 {
		p.conn = e.Conn
	}
	if e.Layer == viz.LayerTCP && (e.Step == "send" || e.Step == "retransmit") && e.Verdict == viz.Send {
		p.label, p.tcp = b.tcpLabel(e), true
	}
	if e.Layer == viz.LayerNIC && e.Step == "tx" {
		b.onWire(e, p)
	}
}

// onWire starts the row of a frame that its sender just put on the wire.
func (b *Builder) onWire(e *viz.Event, p *preFrame) {
	delete(b.pre, e.Frame)
	for i, f := range b.preOrd {
		if f == e.Frame {
			b.preOrd = append(b.preOrd[:i], b.preOrd[i+1:]...)
			break
		}
	}
	b.addHost(e.Host)
	label := p.label
	if label == "" {
		if l, ok := b.gvisorSegment(p.sum.String()); ok {
			label, p.tcp = l, true
		} else {
			label = shortSummary(p.sum.String())
		}
	}
	// A state change that no frame carried is shown on this row if it is
	// the sender's socket's; otherwise on a row of its own, first.
	for _, h := range b.noteHosts() {
		n := b.notes[h]
		if !(h == e.Host && p.conn != 0 && n.conn == p.conn) {
			b.addRow(&Row{Kind: rowState, T: n.t, States: []HostState{{h, n.label()}}})
		}
		delete(b.notes, h)
	}
	r := &Row{Kind: rowFrame, T: e.T, Frame: e.Frame, From: e.Host, Label: label, TCP: p.tcp}
	if p.conn != 0 {
		r.conns = append(r.conns, hostConn{e.Host, p.conn})
		if s := b.states[hostConn{e.Host, p.conn}]; s != "" {
			r.setState(e.Host, s)
		}
	}
	if !b.addRow(r) {
		return
	}
	if len(b.live) >= maxInFlight {
		delete(b.live, b.liveOrd[0])
		b.liveOrd = b.liveOrd[1:]
	}
	b.live[e.Frame] = r
	b.liveOrd = append(b.liveOrd, e.Frame)
}

// noteHosts lists the hosts with a pending state note in the order the
// notes were logged, so that a state change is never drawn after one that
// came later (the server's LISTEN before the client's SYN_SENT), and rows
// come out the same in every run.
func (b *Builder) noteHosts() []string {
	out := make([]string, 0, len(b.notes))
	for h := range b.notes {
		out = append(out, h)
	}
	slices.SortFunc(out, func(x, y string) int { return cmp.Compare(b.notes[x].seq, b.notes[y].seq) })
	for _, h := range out {
		b.addHost(h)
	}
	return out
}

func (b *Builder) addRow(r *Row) bool {
	if b.opts.MaxRows > 0 && len(b.rows) >= b.opts.MaxRows {
		if r.Kind == rowFrame {
			b.more++
		}
		return false
	}
	b.rows = append(b.rows, r)
	return true
}

// onLive adds what a step says about a frame already on the wire: where
// the wire took it, whether it was dropped, which socket took it.
func (b *Builder) onLive(r *Row, e *viz.Event) {
	if e.Layer == viz.LayerPHY {
		if to, ok := e.Field("to"); ok {
			h := hostOf(to)
			b.addHost(h)
			if !contains(r.cands, h) {
				r.cands = append(r.cands, h)
			}
			if r.To == "" {
				r.To = h
			}
			if e.Verdict == viz.Drop && r.Drop == "" && h == r.To {
				r.Drop = e.Reason
			}
		} else if e.Verdict == viz.Drop && r.Drop == "" && r.To == "" {
			r.Drop = e.Reason // lost before the wire chose a port (a targeted fault)
		}
		return
	}
	if e.Host == r.From {
		return
	}
	if e.Verdict == viz.Drop && e.Reason == viz.ReasonMACNotMine {
		r.notFor = append(r.notFor, e.Host)
		if r.To == e.Host {
			for _, c := range r.cands {
				if !contains(r.notFor, c) {
					r.To = c
					break
				}
			}
		}
		return
	}
	if e.Host != r.To {
		return
	}
	if e.Verdict == viz.Drop && r.Drop == "" {
		r.Drop = e.Reason
	}
	if e.Conn != 0 && e.Layer == viz.LayerTCP {
		hc := hostConn{e.Host, e.Conn}
		r.conns = append(r.conns, hc)
		if s := b.states[hc]; s != "" {
			r.setState(e.Host, s)
		}
	}
}

// state records a TCP state change, on the row of the frame that caused
// it or, for one that no frame caused (listen, connect, close, timers), as
// a note shown with the host's next frame or on a row of its own.
func (b *Builder) state(e *viz.Event) {
	to, _ := e.Field("to")
	hc := hostConn{e.Host, e.Conn}
	if to == "CLOSED" {
		delete(b.states, hc)
	} else {
		b.states[hc] = to
	}
	if r := b.live[e.Frame]; e.Frame != 0 && r != nil && (e.Host == r.To || e.Host == r.From) {
		r.setState(e.Host, to)
		return
	}
	b.noteSeq++
	b.notes[e.Host] = hostNote{conn: e.Conn, state: to, t: e.T, seq: b.noteSeq}
}

func (r *Row) setState(host, s string) {
	for i := range r.States {
		if r.States[i].Host == host {
			r.States[i].State = s
			return
		}
	}
	r.States = append(r.States, HostState{host, s})
}

// State returns the state shown for host on the row, if any.
func (r *Row) State(host string) string {
	for _, s := range r.States {
		if s.Host == host {
			return s.State
		}
	}
	return ""
}

func (b *Builder) addHost(h string) {
	if !contains(b.hosts, h) {
		b.hosts = append(b.hosts, h)
	}
}

// Hosts returns the columns in order.
func (b *Builder) columns() []string {
	var cols []string
	for _, h := range b.opts.Hosts {
		if !contains(cols, h) {
			cols = append(cols, h)
		}
	}
	for _, h := range b.hosts {
		if !contains(cols, h) {
			cols = append(cols, h)
		}
	}
	return cols
}

// snapshot returns the rows (with the state notes not yet shown as rows
// of their own) and the count of rows left out, under the lock.
func (b *Builder) snapshot() ([]string, []Row, int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	rows := make([]Row, 0, len(b.rows)+len(b.notes))
	for _, r := range b.rows {
		rows = append(rows, *r)
	}
	for _, h := range b.noteHosts() {
		if b.opts.MaxRows > 0 && len(rows) >= b.opts.MaxRows {
			break
		}
		n := b.notes[h]
		rows = append(rows, Row{Kind: rowState, T: n.t, States: []HostState{{h, n.label()}}})
	}
	return b.columns(), rows, b.more
}

// tcpLabel is a segment in RFC 9293's notation: <SEQ=1><ACK=1><CTL=ACK>,
// with <LEN=n> for data and the sequence numbers relative to each side's
// ISN unless Options.Absolute.
func (b *Builder) tcpLabel(e *viz.Event) string {
	flags, _ := e.Field("flags")
	seqS, _ := e.Field("seq")
	ackS, _ := e.Field("ack")
	lenS, _ := e.Field("len")
	src, dst := endpoints(e.Message())
	return b.segment(src, dst, flags, seqS, ackS, lenS, e.Step == "retransmit")
}

// gvisorSegment reads a segment out of the NIC line of a peer whose own
// steps are not traced: "IP 10.0.0.1.55357 > 10.0.0.2.80 TCP [S] seq 1 win
// 29184 len 0" (after text.Summary's clean-up).
func (b *Builder) gvisorSegment(sum string) (string, bool) {
	i := strings.Index(sum, " TCP [")
	if i < 0 || !strings.HasPrefix(sum, "IP ") {
		return "", false
	}
	src, dst := endpoints(sum[:i] + ":")
	words := strings.Fields(sum[i+len(" TCP "):])
	flags := words[0]
	var seq, ack, n string
	for j := 1; j+1 < len(words); j++ {
		switch words[j] {
		case "seq":
			seq = words[j+1]
		case "ack":
			ack = words[j+1]
		case "len":
			n = words[j+1]
		}
	}
	return b.segment(src, dst, flags, seq, ack, n, false), true
}

func (b *Builder) segment(src, dst, flags, seqS, ackS, lenS string, retransmit bool) string {
	seq, _ := strconv.ParseUint(seqS, 10, 32)
	ack, _ := strconv.ParseUint(ackS, 10, 32)
	fwd, rev := src+">"+dst, dst+">"+src
	if strings.Contains(flags, "S") && src != "" {
		if len(b.isn) >= maxISNs {
			clear(b.isn)
		}
		b.isn[fwd] = uint32(seq)
	}
	rel := func(v uint64, dir string) string {
		if isn, ok := b.isn[dir]; ok && !b.opts.Absolute && src != "" {
			return strconv.FormatUint(uint64(uint32(v)-isn), 10)
		}
		return strconv.FormatUint(v, 10)
	}
	var ctl []string
	hasACK := false
	for _, c := range strings.Trim(flags, "[]") {
		switch c {
		case 'S':
			ctl = append(ctl, "SYN")
		case 'F':
			ctl = append(ctl, "FIN")
		case 'R':
			ctl = append(ctl, "RST")
		case 'P':
			ctl = append(ctl, "PSH")
		case 'U':
			ctl = append(ctl, "URG")
		case 'E':
			ctl = append(ctl, "ECE")
		case 'W':
			ctl = append(ctl, "CWR")
		case '.':
			hasACK = true
		}
	}
	if hasACK {
		ctl = append(ctl, "ACK")
	}
	var s strings.Builder
	s.WriteString("<SEQ=" + rel(seq, fwd) + ">")
	if hasACK {
		s.WriteString("<ACK=" + rel(ack, rev) + ">")
	}
	if len(ctl) > 0 {
		s.WriteString("<CTL=" + strings.Join(ctl, ",") + ">")
	}
	if lenS != "" && lenS != "0" {
		s.WriteString("<LEN=" + lenS + ">")
	}
	if retransmit {
		s.WriteString(" (retransmission)")
	}
	return s.String()
}

// endpoints reads "10.0.0.1.49152 > 10.0.0.2.80:" out of a TCP step's
// message.
func endpoints(msg string) (src, dst string) {
	i := strings.Index(msg, " > ")
	if i <= 0 {
		return "", ""
	}
	src = msg[strings.LastIndex(msg[:i], " ")+1 : i]
	rest := msg[i+3:]
	if j := strings.IndexAny(rest, ": "); j >= 0 {
		rest = rest[:j]
	}
	return src, rest
}

// shortSummary drops the addresses from a summary, since the columns name
// the hosts: "IP 10.0.0.1 > 10.0.0.2: ICMP echo request, id 1, seq 1,
// length 64" becomes "ICMP echo request, id 1, seq 1, length 64".
func shortSummary(s string) string {
	if rest, ok := strings.CutPrefix(s, "IP "); ok {
		if i := strings.Index(rest, ": "); i >= 0 {
			return rest[i+2:]
		}
	}
	return s
}

func hostOf(port string) string {
	h, _, _ := strings.Cut(port, "/")
	return h
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// WriteText writes the ladder as text: a heading with the hosts, then one
// line per row, "time #frame" on the left.
func (b *Builder) WriteText(w io.Writer) error {
	cols, rows, more := b.snapshot()
	if len(cols) == 0 {
		_, err := io.WriteString(w, "(no frames crossed the wire)\n")
		return err
	}
	// Each host's cell is as wide as its longest name, state or reason;
	// the space between neighbouring columns as wide as the longest label
	// of an arrow between neighbours (longer ones span more columns).
	cell := 0
	for _, h := range cols {
		cell = max(cell, utf8.RuneCountInString(h))
	}
	label := 0
	for _, r := range rows {
		for _, s := range r.States {
			cell = max(cell, len(s.State))
		}
		cell = max(cell, len(r.Drop), len("no_receiver"))
		if r.Kind == rowFrame {
			span := max(1, abs(index(cols, r.To)-index(cols, r.From)))
			label = max(label, (utf8.RuneCountInString(r.Label)+span-1)/span)
		}
	}
	gap := label + 10 // "--> " + label + " " + "--> "
	pos := func(i int) int { return i * (cell + gap) }
	width := pos(len(cols)-1) + cell

	var out strings.Builder
	line := func(prefix string, canvas []rune) {
		out.WriteString(strings.TrimRight(prefix+string(canvas), " "))
		out.WriteByte('\n')
	}
	blank := func() []rune { return []rune(strings.Repeat(" ", width)) }
	put := func(c []rune, at int, s string) {
		for i, r := range []rune(s) {
			if at+i >= 0 && at+i < len(c) {
				c[at+i] = r
			}
		}
	}
	const left = "  time (s)  frame  "
	c := blank()
	for i, h := range cols {
		put(c, pos(i), h)
	}
	line(left, c)
	for _, r := range rows {
		c := blank()
		prefix := fmt.Sprintf("%10.6f  %-5s  ", r.T.Seconds(), "")
		for _, s := range r.States {
			if i := index(cols, s.Host); i >= 0 {
				put(c, pos(i), s.State)
			}
		}
		if r.Kind == rowFrame {
			prefix = fmt.Sprintf("%10.6f  %-5s  ", r.T.Seconds(), "#"+strconv.FormatUint(r.Frame, 10))
			from, to := index(cols, r.From), target(cols, &r)
			drawArrow(c, put, pos, cell, from, to, r.Label, r.Drop != "")
			if r.Drop != "" && to >= 0 {
				// The receiver's cell says why the frame went no further.
				put(c, pos(to), strings.Repeat(" ", cell))
				put(c, pos(to), string(r.Drop))
			}
		}
		line(prefix, c)
	}
	if more > 0 {
		fmt.Fprintf(&out, "... %d more frames not shown (raise the row limit to see them)\n", more)
	}
	_, err := io.WriteString(w, out.String())
	return err
}

// drawArrow draws "--> label  -->" from column from to column to (or
// "<-- label  <--" leftwards), ending in X when the frame was lost.
func drawArrow(c []rune, put func([]rune, int, string), pos func(int) int, cell, from, to int, label string, lost bool) {
	if from < 0 || to < 0 {
		return
	}
	if from < to {
		start, end := pos(from)+cell+1, pos(to)-1 // end is the last column of the arrow area
		put(c, start, "--> "+label)
		head := "-->"
		if lost {
			head = "--X"
		}
		put(c, end-len(head), head)
		return
	}
	start, end := pos(to)+cell+1, pos(from)-1
	tail := "<--"
	if lost {
		tail = "X--"
	}
	put(c, start, tail+" "+label)
	put(c, end-3, "<--")
}

// target is the column a row's arrow points at: its receiver's or, for a
// frame that no host received (lost before the wire chose a port), the
// sender's neighbour, with the arrow ending in X.
func target(cols []string, r *Row) int {
	from, to := index(cols, r.From), index(cols, r.To)
	if to >= 0 && to != from {
		return to
	}
	if r.Drop == "" {
		r.Drop = "no_receiver"
	}
	if from+1 < len(cols) {
		return from + 1
	}
	return from - 1
}

func index(list []string, s string) int {
	for i, x := range list {
		if x == s {
			return i
		}
	}
	return -1
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}
