package pcapng

import (
	"strings"
	"time"

	"github.com/packetwalk/packetwalk/viz"
)

// Defaults of Options; each is used when its field is zero.
const (
	// DefaultSnapLen is the interfaces' snapshot length: far above any
	// Ethernet frame (jumbo frames included), and the value tcpdump and
	// dumpcap use, so no frame is ever cut.
	DefaultSnapLen = 262144
	// DefaultMaxPending is how many packets may wait to be written, in
	// capture order, for the walk of an earlier inbound packet to end.
	DefaultMaxPending = 4096
	// DefaultMaxTrails is how many step trails of frames not (yet)
	// captured are kept: the steps a host logs before its NIC sends a
	// frame, and the steps of frames that never reach a NIC at all.
	DefaultMaxTrails = 4096
	// DefaultMaxCommentBytes bounds one packet comment. A full walk up to
	// the web server is well under a kilobyte.
	DefaultMaxCommentBytes = 4096
)

// DefaultStart is the wall-clock time that run time zero is written as
// when Options.Start is zero: a fixed date, so that two runs of one seeded
// simulation give byte-identical files. Live captures pass time.Now().
var DefaultStart = time.Date(2000, time.January, 1, 0, 0, 0, 0, time.UTC)

// maxOptionLen is the largest value a pcapng option can carry: its length
// field has 16 bits (draft-ietf-opsawg-pcapng, 3.5 "Options").
const maxOptionLen = 1<<16 - 1

// View chooses which copies of a frame a Writer writes.
type View int

const (
	// ViewNICs writes every frame each time a NIC captures it: the
	// sender's copy and every receiver's, one interface per NIC. With
	// Options.Hosts it is a capture on those hosts alone.
	ViewNICs View = iota
	// ViewWire writes each frame once, as a capture point at the wire's
	// far end sees it: after the wire's impairments (a corrupted frame
	// with its bad FCS, a duplicated frame twice, a reordered frame
	// late), and a frame lost on the wire not at all. Its comments are
	// the walks of every host that handled it: the sender's, the wire's,
	// each receiver's. A frame no NIC of the run receives (it leaves
	// through a TUN or TAP device) is written as its sender sent it.
	ViewWire
)

// Options configure a Writer. The zero value is usable: every zero field
// takes its default.
type Options struct {
	// Start is the wall-clock time of run time zero: a packet's timestamp
	// is Start + CapturedFrame.T. Zero means DefaultStart.
	Start time.Time
	// Comment is the section header's comment, shown by Wireshark's
	// Statistics > Capture File Properties. Empty means a sentence that
	// explains what the file holds.
	Comment string
	// SnapLen is the interfaces' snapshot length; longer frames are
	// written cut to it, with their original length. Zero, or more than
	// DefaultSnapLen, means DefaultSnapLen.
	SnapLen int
	// MaxPending bounds the packets waiting to be written. When one more
	// is captured, the oldest is written with the trail it has so far and
	// TruncatedNote. Zero means DefaultMaxPending.
	MaxPending int
	// MaxTrails bounds the trails kept for frames not (yet) captured; the
	// oldest is forgotten first. Zero means DefaultMaxTrails.
	MaxTrails int
	// MaxCommentBytes bounds a packet comment; steps that do not fit are
	// left out and the comment ends with TruncatedNote. Zero means
	// DefaultMaxCommentBytes; it is at most 65535, the longest option
	// pcapng can hold.
	MaxCommentBytes int
	// View is which copies of a frame are written; the zero value is
	// ViewNICs.
	View View
	// Hosts, if not empty, limits the file to the frames the NICs of
	// these hosts capture, and their steps.
	Hosts []string
	// MaxPendingAge, if positive, writes an inbound packet whose walk has
	// not ended this long (in run time) after its capture, with
	// TruncatedNote, as soon as a later event or frame shows that time has
	// passed. It is for live captures (packetwalk serve), where a file is
	// read while the run goes on; see also Writer.FlushPending.
	MaxPendingAge time.Duration
	// Topology, if not nil, returns the run's topology (viz.Log's
	// Topology): the file then holds Name Resolution Blocks that name
	// every host's addresses (names.go), written before the first packet
	// and, for hosts that appear later, before their first packet or at
	// Close. It is called from the sink methods, which the log calls
	// under its lock: Log.Topology takes a lock of its own.
	Topology func() viz.Topology
}

// withDefaults returns o with every zero field set to its default and
// every field clamped to what the format can hold.
func (o Options) withDefaults() Options {
	if o.Start.IsZero() {
		o.Start = DefaultStart
	}
	if o.Comment == "" {
		o.Comment = "packetwalk capture, run time zero = " + o.Start.Format(time.RFC3339Nano) +
			". One interface per simulated NIC (host/nic); Ethernet frames as they crossed the NIC, " +
			"FCS included (check it with -o eth.check_fcs:TRUE); the packet ID is the run-wide frame ID, " +
			"shared by the sender's and the receiver's copies; each packet comment is the frame's step trail on that host."
	}
	if len(o.Comment) > maxOptionLen {
		o.Comment = strings.ToValidUTF8(o.Comment[:maxOptionLen], "")
	}
	if o.SnapLen <= 0 || o.SnapLen > DefaultSnapLen {
		o.SnapLen = DefaultSnapLen
	}
	if o.MaxPending <= 0 {
		o.MaxPending = DefaultMaxPending
	}
	if o.MaxTrails <= 0 {
		o.MaxTrails = DefaultMaxTrails
	}
	if o.MaxCommentBytes <= 0 {
		o.MaxCommentBytes = DefaultMaxCommentBytes
	}
	// Room for the host name and the note, whatever the caller asked.
	o.MaxCommentBytes = min(max(o.MaxCommentBytes, 64), maxOptionLen)
	return o
}
