// Package text narrates the step log in a terminal, frame by frame: when a
// frame goes onto the wire, a tcpdump-like header line (time, sending host
// → receiving host, protocol summary), then below it, indented, the frame's
// walk layer by layer on each host: the sender's steps down to the NIC, the
// wire, the receiver's steps up from the NIC. Drops are marked "DROP
// reason" (and red on a terminal). Steps that belong to no frame (socket
// calls, timers, the web server's steps) are printed unindented, as they
// happen.
//
// The narrator is a viz.Sink and streams: it holds back only the steps a
// sender logs before its frame reaches the wire, and everything it keeps
// is bounded. A frame that waits (for ARP) has the steps it took so far
// printed under a header "(not on the wire yet)" as soon as another step
// is logged, so that a step is never narrated after the steps it caused
// (the lookup that sends an ARP request comes before the request); its
// header is printed again when it goes onto the wire.
package text

import (
	"bufio"
	"fmt"
	"io"
	"strings"

	"github.com/packetwalk/packetwalk/viz"
)

// Options select what the narrator prints. Filters combine: a step is
// printed when it passes all of them; a frame's header is printed before
// the first of its steps that is.
type Options struct {
	Color     bool // ANSI colours, for a terminal only
	DropsOnly bool // only drops (with their frames' headers)
	// Hosts keeps the steps taken on these hosts (a wire's steps count for
	// the hosts at both of its ends).
	Hosts  []string
	Layers []viz.Layer
	// Conn keeps the steps of one socket (by ID) and of the frames that
	// carried its segments; 0 means every socket.
	Conn uint64
	// NoLegend leaves out the Legend line the narration starts with.
	NoLegend bool
}

// Legend is the line the narration's steps start with (before the first
// step or frame header; the command's own lines, Println, may come
// before it): the names of the columns of a step's line, over those
// columns, and how a frame's block reads. A newcomer reads it once; the
// columns are then the same for every step.
var Legend = strings.TrimRight(fmt.Sprintf("%11s %-8s %-7s %-12s %-8s %s", "seconds", "host", "layer", "step", "verdict",
	"message  (#N: frame N put on the wire, sender → receivers; its walk indented below)"), " ")

// Limits on what the narrator holds back.
const (
	// maxPendingFrames is how many frames may wait for the wire (for ARP,
	// typically) with their sender's steps held back.
	maxPendingFrames = 256
	// maxPendingSteps is how many of one such frame's steps are held;
	// later ones are counted.
	maxPendingSteps = 64
	// maxRecentFrames is how many frames' headers and sockets are
	// remembered, so that late steps (a receiver's, a reassembly's) are
	// placed under the right frame.
	maxRecentFrames = 4096
)

// Narrator is a viz.Sink that prints each frame's walk as it is logged.
type Narrator struct {
	w    *bufio.Writer
	opts Options
	err  error

	pending map[uint64]*pendingFrame // frames not yet on the wire
	pendOrd []uint64                 // their order of arrival, for eviction
	held    *pendingFrame            // a frame just put on the wire, waiting for the wire's carry steps
	recent  map[uint64]*frameInfo    // frames seen on the wire
	recOrd  []uint64                 // ring of recent's keys, for eviction
	recNext int
	macHost map[string]string // source MAC -> host, to name receivers
	current uint64            // the frame whose block is being printed; 0 if none
	started bool              // a step or header has been written (the legend first)
}

type pendingFrame struct {
	frame  uint64
	steps  []viz.Event
	more   int // steps not kept
	sum    Summary
	conn   uint64
	sender string
	t      viz.Event // the NIC's tx step, once seen
	onWire bool
	to     []string
	dstMAC string
}

type frameInfo struct {
	header string
	shown  bool
	conns  [2]uint64
}

// NewNarrator returns a narrator writing to w.
func NewNarrator(w io.Writer, opts Options) *Narrator {
	return &Narrator{
		w: bufio.NewWriter(w), opts: opts,
		pending: make(map[uint64]*pendingFrame),
		recent:  make(map[uint64]*frameInfo),
		recOrd:  make([]uint64, maxRecentFrames),
		macHost: make(map[string]string),
	}
}

const (
	red   = "\x1b[31m"
	green = "\x1b[32m"
	cyan  = "\x1b[36m"
	bold  = "\x1b[1m"
	dim   = "\x1b[2m"
	reset = "\x1b[0m"
)

// Event implements viz.Sink.
func (n *Narrator) Event(e *viz.Event) {
	if n.err != nil {
		return
	}
	if h := n.held; h != nil {
		if e.Frame == h.frame && e.Layer == viz.LayerPHY && (e.Step == "carry" || e.Step == "encode" || e.Verdict == viz.Drop) && !isRx(e) {
			h.steps = append(h.steps, copyEvent(e))
			if to, ok := e.Field("to"); ok {
				h.to = appendUnique(h.to, hostOf(to))
			}
			return
		}
		n.release()
	}
	n.showWaiting(e.Frame)
	if e.Frame == 0 {
		n.current = 0
		if n.wanted(e, nil) {
			n.line("", e)
		}
		return
	}
	if fi := n.recent[e.Frame]; fi != nil {
		if e.Conn != 0 {
			fi.addConn(e.Conn)
		}
		n.step(e.Frame, fi, e)
		return
	}
	p := n.pending[e.Frame]
	if p == nil {
		if len(n.pending) >= maxPendingFrames {
			n.evictPending()
		}
		p = &pendingFrame{frame: e.Frame, sender: e.Host}
		n.pending[e.Frame] = p
		n.pendOrd = append(n.pendOrd, e.Frame)
	}
	p.sum.Add(e)
	if e.Conn != 0 && p.conn == 0 {
		p.conn = e.Conn
	}
	if e.Layer == viz.LayerNIC && e.Step == "tx" {
		p.sender = e.Host
		p.onWire = true
		p.dstMAC, _ = e.Field("dst")
		if src, ok := e.Field("src"); ok {
			n.macHost[src] = e.Host
		}
		p.steps = append(p.steps, copyEvent(e))
		p.t = p.steps[len(p.steps)-1]
		n.removePending(e.Frame)
		n.held = p
		return
	}
	if len(p.steps) >= maxPendingSteps {
		p.more++
		return
	}
	p.steps = append(p.steps, copyEvent(e))
}

// release prints the held frame's block: it is on the wire, and the
// wire's steps for it have been seen.
func (n *Narrator) release() {
	p := n.held
	n.held = nil
	if len(p.to) == 0 {
		switch {
		case p.dstMAC == "ff:ff:ff:ff:ff:ff":
			p.to = []string{"all"}
		case n.macHost[p.dstMAC] != "":
			p.to = []string{n.macHost[p.dstMAC]}
		default:
			p.to = []string{"?"}
		}
	}
	head := fmt.Sprintf("#%-4d %s  %s → %s  %s", p.frame, seconds(p.t.T), p.sender, strings.Join(p.to, ","), p.sum.String())
	fi := n.remember(p.frame, head)
	if p.conn != 0 {
		fi.addConn(p.conn)
	}
	n.current = 0
	for i := range p.steps {
		n.step(p.frame, fi, &p.steps[i])
	}
	if p.more > 0 {
		n.raw(fmt.Sprintf("%s... %d more steps of #%d before it reached the wire, not shown", indent, p.more, p.frame))
	}
}

// showWaiting prints the steps held back for frames that still wait for
// the wire, except frame except's: a step of something else is being
// logged, and the waiting frames' steps came before it (and may have
// caused it: the ARP lookup that queues a frame sends the ARP request).
// The frames stay pending; what they log next waits for the wire again.
func (n *Narrator) showWaiting(except uint64) {
	for _, f := range n.pendOrd {
		p := n.pending[f]
		if f == except || len(p.steps) == 0 {
			continue
		}
		fi := &frameInfo{header: fmt.Sprintf("#%-4d %s  %s  (not on the wire yet) %s", p.frame, seconds(p.steps[0].T), p.sender, p.sum.String())}
		if p.conn != 0 {
			fi.addConn(p.conn)
		}
		n.current = 0
		for i := range p.steps {
			n.step(p.frame, fi, &p.steps[i])
		}
		if p.more > 0 {
			n.raw(fmt.Sprintf("%s... %d more steps not shown", indent, p.more))
		}
		p.steps, p.more = p.steps[:0], 0
		n.current = 0
	}
}

// evictPending prints the oldest frame still waiting for the wire, so
// that waiting frames stay bounded.
func (n *Narrator) evictPending() {
	if len(n.pendOrd) == 0 {
		return
	}
	f := n.pendOrd[0]
	n.flushPending(n.pending[f], "not on the wire yet")
}

func (n *Narrator) flushPending(p *pendingFrame, why string) {
	n.removePending(p.frame)
	if len(p.steps) == 0 {
		return // its steps were shown while it waited (showWaiting)
	}
	head := fmt.Sprintf("#%-4d %s  %s  (%s) %s", p.frame, seconds(p.steps[0].T), p.sender, why, p.sum.String())
	fi := n.remember(p.frame, head)
	if p.conn != 0 {
		fi.addConn(p.conn)
	}
	n.current = 0
	for i := range p.steps {
		n.step(p.frame, fi, &p.steps[i])
	}
	if p.more > 0 {
		n.raw(fmt.Sprintf("%s... %d more steps not shown", indent, p.more))
	}
}

func (n *Narrator) removePending(f uint64) {
	delete(n.pending, f)
	for i, x := range n.pendOrd {
		if x == f {
			n.pendOrd = append(n.pendOrd[:i], n.pendOrd[i+1:]...)
			break
		}
	}
}

// remember records a frame's header, forgetting the oldest frame once
// maxRecentFrames are remembered.
func (n *Narrator) remember(frame uint64, head string) *frameInfo {
	if old := n.recOrd[n.recNext]; old != 0 {
		delete(n.recent, old)
	}
	n.recOrd[n.recNext] = frame
	n.recNext = (n.recNext + 1) % len(n.recOrd)
	fi := &frameInfo{header: head}
	n.recent[frame] = fi
	return fi
}

func (fi *frameInfo) addConn(c uint64) {
	switch {
	case fi.conns[0] == c || fi.conns[1] == c:
	case fi.conns[0] == 0:
		fi.conns[0] = c
	default:
		fi.conns[1] = c
	}
}

const indent = "    "

// step prints one step of a frame, under the frame's header.
func (n *Narrator) step(frame uint64, fi *frameInfo, e *viz.Event) {
	if !n.wanted(e, fi) {
		return
	}
	if n.current != frame {
		n.current = frame
		if !fi.shown {
			fi.shown = true
			n.raw(n.paint(bold, fi.header))
		} else {
			n.raw(n.paint(dim, fmt.Sprintf("#%-4d (continued)", frame)))
		}
	}
	n.line(indent, e)
	if e.Layer == viz.LayerPHY && n.showsWave() {
		for _, l := range phyWave(e) {
			n.raw(l)
		}
	}
}

// showsWave reports whether the narration draws the PHY model's waveforms:
// when --layer asks for the phy layer by name, not in the full narration,
// where they would bury everything else.
func (n *Narrator) showsWave() bool {
	for _, l := range n.opts.Layers {
		if l == viz.LayerPHY {
			return true
		}
	}
	return false
}

// line prints one step.
func (n *Narrator) line(prefix string, e *viz.Event) {
	verdict := string(e.Verdict)
	if e.Verdict == viz.Drop {
		verdict = "DROP " + string(e.Reason)
	}
	msg := e.Message()
	if msg == "" && len(e.Fields) > 0 {
		parts := make([]string, 0, len(e.Fields))
		for _, f := range e.Fields {
			parts = append(parts, f.Key+"="+f.Value())
		}
		msg = strings.Join(parts, " ")
	}
	l := fmt.Sprintf("%s%s %-8s %-7s %-12s %-8s %s", prefix, seconds(e.T), e.Host, e.Layer, e.Step, verdict, msg)
	l = strings.TrimRight(l, " ")
	switch e.Verdict {
	case viz.Drop:
		l = n.paint(red, l)
	case viz.Deliver:
		l = n.paint(green, l)
	case viz.Send:
		l = n.paint(cyan, l)
	case viz.Note:
		l = n.paint(dim, l)
	}
	n.raw(l)
}

func (n *Narrator) paint(colour, s string) string {
	if !n.opts.Color {
		return s
	}
	return colour + s + reset
}

// raw writes a line of the narration proper (a step, a frame's header),
// after the legend if none was written yet.
func (n *Narrator) raw(s string) {
	if !n.started {
		n.started = true
		if !n.opts.NoLegend {
			n.write(n.paint(dim, Legend))
		}
	}
	n.write(s)
}

// write writes one line.
func (n *Narrator) write(s string) {
	if n.err == nil {
		_, n.err = n.w.WriteString(s + "\n")
	}
}

// wanted applies the filters to a step; fi is its frame, if it has one.
func (n *Narrator) wanted(e *viz.Event, fi *frameInfo) bool {
	if n.opts.DropsOnly && e.Verdict != viz.Drop {
		return false
	}
	if len(n.opts.Hosts) > 0 && !n.hostWanted(e) {
		return false
	}
	if len(n.opts.Layers) > 0 {
		ok := false
		for _, l := range n.opts.Layers {
			ok = ok || l == e.Layer
		}
		if !ok {
			return false
		}
	}
	if c := n.opts.Conn; c != 0 && e.Conn != c && (fi == nil || (fi.conns[0] != c && fi.conns[1] != c)) {
		return false
	}
	return true
}

func (n *Narrator) hostWanted(e *viz.Event) bool {
	if contains(n.opts.Hosts, e.Host) {
		return true
	}
	if e.Layer == viz.LayerPHY {
		from, _ := e.Field("from")
		to, _ := e.Field("to")
		return (from != "" && contains(n.opts.Hosts, hostOf(from))) || (to != "" && contains(n.opts.Hosts, hostOf(to)))
	}
	return false
}

// Println writes a line of the application's own (a ping reply, a
// summary) into the narration, in order with the steps.
func (n *Narrator) Println(s string) {
	if n.held != nil {
		n.release()
	}
	n.showWaiting(0)
	n.current = 0
	n.write(s) // the command's own line: the legend waits for the first step
}

// Flush writes out what is buffered, with the frame just put on the wire
// (a live narration calls it after every step, so nothing waits for the
// next one); frames still waiting for the wire (for ARP) stay held back.
// It reports the first error.
func (n *Narrator) Flush() error {
	if n.held != nil {
		n.release()
	}
	if n.err != nil {
		return n.err
	}
	n.err = n.w.Flush()
	return n.err
}

// Close ends the narration: it prints every frame still held back (frames
// that never reached the wire), then flushes. It reports the first error.
func (n *Narrator) Close() error {
	if n.held != nil {
		n.release()
	}
	for len(n.pendOrd) > 0 {
		n.flushPending(n.pending[n.pendOrd[0]], "never on the wire")
	}
	return n.Flush()
}

// seconds formats a time as the narration's fixed-width seconds.
func seconds(t interface{ Seconds() float64 }) string {
	return fmt.Sprintf("%11.6f", t.Seconds())
}

// hostOf returns the host of a wire port name such as "server/eth0".
func hostOf(port string) string {
	h, _, _ := strings.Cut(port, "/")
	return h
}

func isRx(e *viz.Event) bool { return e.Step == "rx" }

func copyEvent(e *viz.Event) viz.Event {
	c := e.Resolved()
	return c
}

func appendUnique(list []string, s string) []string {
	if contains(list, s) {
		return list
	}
	return append(list, s)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// ParseLayers reads --layer values: names separated by commas, each one
// of viz's layers.
func ParseLayers(s string) ([]viz.Layer, error) {
	var out []viz.Layer
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(strings.ToLower(part))
		if part == "" {
			continue
		}
		l := viz.Layer(part)
		switch l {
		case viz.LayerPHY, viz.LayerNIC, viz.LayerARP, viz.LayerIP, viz.LayerICMP, viz.LayerUDP,
			viz.LayerTCP, viz.LayerSocket, viz.LayerHTTP, viz.LayerBrowser, viz.LayerApp:
			out = append(out, l)
		default:
			return nil, fmt.Errorf("unknown layer %q (one of phy, nic, arp, ip, icmp, udp, tcp, socket, http, browser, app)", part)
		}
	}
	return out, nil
}
