package nic

import (
	"errors"
	"time"

	"github.com/packetwalk/packetwalk/clock"
	"github.com/packetwalk/packetwalk/viz"
)

// Defaults of a NIC's limits; each can be changed in Config.
const (
	// DefaultRingSize is the number of RX ring slots, the adapter's
	// "buffer memory" (Linux drivers commonly default to 256..512).
	DefaultRingSize = 256
	// DefaultDriverBudget is how many frames the driver takes off the
	// ring per interrupt before it yields (Linux NAPI's default weight).
	DefaultDriverBudget = 64
)

// Config describes one NIC.
type Config struct {
	Name string // the NIC's name on its host, e.g. "eth0"
	MAC  MAC
	// MTU is the largest payload the NIC sends or accepts; frames up to
	// MTU+18 bytes (header and FCS) pass the size check. 0 means DefaultMTU.
	MTU int
	// RingSize is the number of RX ring slots. 0 means DefaultRingSize.
	RingSize int
	// InterruptDelay is the time between a frame landing in the ring and
	// the driver running (interrupt latency plus any coalescing). Frames
	// arriving meanwhile queue in the ring; a burst larger than the ring
	// overflows it (ring_full).
	InterruptDelay time.Duration
	// DriverBudget is how many frames the driver handles per run. 0 means
	// DefaultDriverBudget.
	DriverBudget int
	// Promiscuous accepts every frame, whatever its destination MAC.
	Promiscuous bool
	// Filter makes the FCS check and the destination-MAC filter; nil
	// means StandardFilter. A lab puts a student's filter here.
	Filter FrameFilter

	Clock    clock.Clock   // the simulation's or the host's clock
	Recorder *viz.Recorder // the host's step log; nil logs nothing
}

// NIC is a simulated LAN adapter: a PHY attached to a Medium, the MAC
// checks, an RX ring and the driver that hands frames to protocols. Like
// all protocol state, a NIC is owned by its host's event loop: Arrive,
// Transmit and the driver run there, one at a time.
type NIC struct {
	name         string
	mac          MAC
	mtu          int
	promiscuous  bool
	driverBudget int
	irqDelay     time.Duration
	clock        clock.Clock
	rec          *viz.Recorder

	medium    Medium
	filter    FrameFilter
	groups    map[MAC]bool
	protocols map[EtherType]Protocol

	ring       rxRing
	irqPending bool        // an interrupt is raised and the driver has not finished
	pollFunc   func()      // n.poll, bound once: a method value allocates each time it is taken
	irqTimer   clock.Timer // the driver's last timer, re-armed for the next interrupt (clock.Rearm): no allocation per frame
	txBuf      []byte      // reused: the medium copies what it keeps

	// macText is the NIC's own address as text, for the captures'
	// interface description: it never changes.
	macText string

	stats Stats
}

// Errors returned by Transmit; each is also logged as a named drop.
var (
	ErrNoCarrier = errors.New("the NIC is not attached to a medium")
	ErrTooLong   = errors.New("payload longer than the MTU")
)

// New returns a NIC that is not attached to any medium yet.
func New(cfg Config) *NIC {
	if cfg.MTU == 0 {
		cfg.MTU = DefaultMTU
	}
	if cfg.RingSize <= 0 {
		cfg.RingSize = DefaultRingSize
	}
	if cfg.DriverBudget <= 0 {
		cfg.DriverBudget = DefaultDriverBudget
	}
	if cfg.Name == "" {
		cfg.Name = "eth0"
	}
	if cfg.Filter == nil {
		cfg.Filter = StandardFilter{}
	}
	n := &NIC{
		name:         cfg.Name,
		mac:          cfg.MAC,
		macText:      cfg.MAC.String(),
		mtu:          cfg.MTU,
		promiscuous:  cfg.Promiscuous,
		driverBudget: cfg.DriverBudget,
		irqDelay:     cfg.InterruptDelay,
		clock:        cfg.Clock,
		rec:          cfg.Recorder,
		filter:       cfg.Filter,
		groups:       make(map[MAC]bool),
		protocols:    make(map[EtherType]Protocol),
		ring:         newRxRing(cfg.RingSize, MaxFrameLen(cfg.MTU)),
	}
	n.pollFunc = n.poll
	return n
}

// Name returns the NIC's name on its host.
func (n *NIC) Name() string { return n.name }

// MAC returns the NIC's own address.
func (n *NIC) MAC() MAC { return n.mac }

// MTU returns the largest payload the NIC carries.
func (n *NIC) MTU() int { return n.mtu }

// Recorder returns the host's step log, for protocols attached to this NIC.
func (n *NIC) Recorder() *viz.Recorder { return n.rec }

// Clock returns the clock the NIC runs on.
func (n *NIC) Clock() clock.Clock { return n.clock }

// PortName implements Port: "host/eth0".
func (n *NIC) PortName() string {
	if h := n.rec.Host(); h != "" {
		return h + "/" + n.name
	}
	return n.name
}

// Attach plugs the NIC into a medium (the cable into the hub). The medium
// calls Arrive for frames that reach it.
func (n *NIC) Attach(m Medium) { n.medium = m }

// Register makes the driver hand frames of EtherType t to p.
func (n *NIC) Register(t EtherType, p Protocol) { n.protocols[t] = p }

// SetPromiscuous switches promiscuous mode: accept every frame.
func (n *NIC) SetPromiscuous(on bool) { n.promiscuous = on }

// JoinGroup makes the MAC filter accept frames sent to multicast group g.
func (n *NIC) JoinGroup(g MAC) { n.groups[g] = true }

// LeaveGroup undoes JoinGroup.
func (n *NIC) LeaveGroup(g MAC) { delete(n.groups, g) }

// Stats returns the NIC's counters.
func (n *NIC) Stats() Stats { return n.stats }

// Transmit sends payload in a frame to dst: the driver builds the header,
// pads the frame to the 60-byte minimum, the adapter appends the FCS, and
// the PHY puts the bits on the medium. id is the frame's ID in the step log
// (0: a new one is allocated).
func (n *NIC) Transmit(dst MAC, t EtherType, payload []byte, id uint64) error {
	if id == 0 {
		id = n.rec.NewFrameID()
	}
	if len(payload) > n.mtu {
		n.stats.TxDropped++
		n.dropTx(id, "tx", viz.ReasonTxTooLong, "%d-byte payload exceeds MTU %d", viz.Int(len(payload)), viz.Int(n.mtu))
		return ErrTooLong
	}
	if n.medium == nil {
		n.stats.TxCarrierErrors++
		n.stats.TxErrors++
		n.dropTx(id, "tx", viz.ReasonNoCarrier, "%s has no cable: not attached to a medium", viz.Str(n.name))
		return ErrNoCarrier
	}
	n.txBuf = AppendFrame(n.txBuf[:0], dst, n.mac, t, payload)
	frame := Frame(n.txBuf)
	if n.rec.On() {
		pad := len(frame) - HeaderLen - FCSLen - len(payload)
		fcs := frame.FCS()
		n.rec.Stepf(viz.Event{Layer: viz.LayerNIC, Step: "tx", Verdict: viz.Send, Frame: id},
			[]viz.Field{viz.F("nic", n.name), viz.Fv("src", viz.MAC(n.mac)), viz.Fv("dst", viz.MAC(dst)),
				viz.Fv("ethertype", t.LogArg()), viz.Fv("len", viz.Int(len(frame))), viz.Fv("pad", viz.Int(pad)),
				viz.Fv("fcs", viz.Hex32(fcs))},
			"%s %s -> %s %s, %d bytes with FCS %s", viz.Str(n.name), viz.MAC(n.mac), viz.MAC(dst), t.LogArg(), viz.Int(len(frame)), viz.Hex32(fcs))
		n.rec.Capture(viz.CapturedFrame{NIC: n.name, MAC: n.macText, Dir: viz.Outbound, Frame: id, Data: frame})
		n.rec.EndWalk(id)
	}
	n.stats.TxPackets++
	n.stats.TxBytes += uint64(len(frame))
	n.medium.Transmit(n, frame, id)
	return nil
}

func (n *NIC) dropTx(id uint64, step string, reason viz.Reason, format string, args ...viz.Arg) {
	if n.rec.On() {
		n.rec.Stepf(viz.Event{Layer: viz.LayerNIC, Step: step, Verdict: viz.Drop, Reason: reason, Frame: id},
			nil,
			format, args...)
		n.rec.EndWalk(id)
	}
}
