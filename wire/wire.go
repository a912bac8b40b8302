package wire

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/packetwalk/packetwalk/clock"
	"github.com/packetwalk/packetwalk/nic"
	"github.com/packetwalk/packetwalk/phy"
	"github.com/packetwalk/packetwalk/viz"
)

// Mode says how a wire passes a frame on: to everybody (a hub) or, once
// it knows where the destination is, to that port alone (a switch).
type Mode uint8

const (
	// Hub repeats every frame to every other port. Every NIC on a hub
	// sees every frame; its MAC filter throws away the ones not for it
	// (mac_not_mine), and a promiscuous NIC keeps them all: that is how a
	// sniffer on a hub reads everybody's traffic.
	Hub Mode = iota
	// Switch learns which port each source MAC address lives behind and
	// sends a unicast frame for a known address to that port only. It
	// floods (sends to every other port) broadcast, multicast and unicast
	// to addresses it has not learned yet. A promiscuous NIC on a switch
	// therefore sees only what is flooded to it, plus its own traffic:
	// the LAN lab's point about why sniffing a switched LAN needs more
	// than promiscuous mode.
	Switch
)

func (m Mode) String() string {
	switch m {
	case Hub:
		return "hub"
	case Switch:
		return "switch"
	}
	return fmt.Sprintf("WireMode(%d)", uint8(m))
}

// ParseMode reads "hub" or "switch".
func ParseMode(s string) (Mode, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "hub":
		return Hub, nil
	case "switch":
		return Switch, nil
	}
	return 0, fmt.Errorf("wire mode %q: want hub or switch", s)
}

// Defaults of a wire, used where Config leaves a field at zero.
const (
	// DefaultName names a wire in its steps when Config.Name is empty.
	DefaultName = "wire0"
	// DefaultLatency is the one-way delay of a wire: about what one hop
	// on a real gigabit LAN takes (ping shows round trips of 0.1 to 0.2
	// ms, adapters and driver included; the cable alone is well under a
	// microsecond), and long enough that a ladder diagram shows frames in
	// flight rather than arriving the instant they leave.
	DefaultLatency = 50 * time.Microsecond
	// DefaultTxQueueLen is how many frames a port may have waiting to be
	// serialized on a wire with limited bandwidth: Linux's default
	// txqueuelen for Ethernet devices.
	DefaultTxQueueLen = 1000
	// DefaultMACTableSize is how many addresses a switch learns at most.
	// Real switches hold thousands; 1024 is plenty for any scenario and
	// small enough for a lab to overflow it with forged source addresses
	// (after which unknown unicast floods, and the switch acts like a hub).
	DefaultMACTableSize = 1024
	// DefaultMACAgingTime is how long a switch remembers an address it
	// has not seen as a source since: IEEE 802.1D's default ageing time.
	DefaultMACAgingTime = 300 * time.Second
)

// Config describes a simulated Ethernet segment. The zero value of each
// field but Clock (or Log) is usable: a hub with DefaultLatency, unlimited
// bandwidth, no MTU of its own and no impairments.
type Config struct {
	// Name is the wire's name, the "host" of its phy steps. "" means
	// DefaultName.
	Name string
	Mode Mode
	// Latency is the propagation delay: the time from a frame's last bit
	// leaving the sender to its last bit reaching a receiver. 0 means
	// DefaultLatency (use 1ns for "almost none"); there is no zero-delay
	// wire, because some delay is what makes pipelining and reordering
	// visible.
	Latency time.Duration
	// BandwidthBitsPerSecond limits how fast a port puts bits on the
	// wire; 0 means unlimited (a frame takes no time to send). When set,
	// each sending port serializes its frames one after another, so a
	// frame arrives at
	//
	//	max(now, port busy until) + len*8/bandwidth + latency
	//
	// counting the frame's bytes with its FCS (the preamble and the gap
	// between frames, 20 byte times on real Ethernet, are left out).
	// Only senders serialize: a switch here forwards without adding a
	// store-and-forward delay or queuing at its output ports, and a hub
	// has no collisions (every port has its own path, as in full duplex).
	BandwidthBitsPerSecond int64
	// TxQueueLen limits how many frames a port may have on a wire with
	// limited bandwidth whose last bit has not left yet, the one being
	// sent included; a frame beyond it is dropped with tx_queue_full.
	// 0 means DefaultTxQueueLen. Without a bandwidth limit nothing queues.
	TxQueueLen int
	// MTU is the largest payload the wire carries, as a switch port's MTU:
	// a longer frame is discarded as a giant with wire_mtu, before any
	// port sees it. 0 means no limit of the wire's own, which is the
	// usual case: every NIC enforces its own MTU (tx_too_long on sending,
	// frame_too_long on receiving). Set it below the NICs' MTU to show
	// the black hole an MTU mismatch makes.
	MTU int
	// Impairments are the random loss, duplication, reordering and
	// corruption, and the seed that drives them.
	Impairments Impairments
	// Faults are targeted faults: "drop frame N", "corrupt frame N".
	Faults []Fault
	// MACTableSize is how many addresses a switch learns at most; when
	// the table is full, new addresses are not learned and frames to them
	// are flooded. 0 means DefaultMACTableSize.
	MACTableSize int
	// MACAgingTime is how long a switch keeps an address it has not seen
	// as a source since. 0 means DefaultMACAgingTime.
	MACAgingTime time.Duration
	// PHY is the signal model: off (the zero value) carries bytes; a line
	// code turns every delivery into a signal that the receiver must
	// recover its clock from and decode (phy.go).
	PHY phy.Config

	// Clock is the simulation's clock (a clock.Virtual): it times
	// deliveries. nil means Log's clock.
	Clock clock.Clock
	// Log receives the wire's phy steps; nil logs nothing.
	Log *viz.Log
}

// Stats counts what a wire did. Frames are counted once when they are
// put on the wire; deliveries once per copy on its way to one port.
type Stats struct {
	Frames      uint64 // frames ports put on the wire (past the MTU and the transmit queue)
	Deliveries  uint64 // copies scheduled to arrive at a port, duplicates included
	Lost        uint64 // deliveries lost to the Loss impairment
	Corrupted   uint64 // deliveries with a bit flipped by the Corrupt impairment
	Duplicated  uint64 // extra copies made by the Duplicate impairment
	Reordered   uint64 // deliveries held back by the Reorder impairment
	Faults      uint64 // targeted faults applied (drop or corrupt)
	TxQueueFull uint64 // frames refused because the sending port's queue was full
	TooLong     uint64 // frames over the wire's MTU (wire_mtu)
	NoCarrier   uint64 // frames from ports that are not attached to this wire
	Flooded     uint64 // frames a switch sent to every other port
	Filtered    uint64 // frames a switch did not forward (switch_filter, or a runt it could not read)
}

func (s Stats) String() string {
	return fmt.Sprintf("frames %d, deliveries %d, lost %d, corrupted %d, duplicated %d, reordered %d, faults %d, tx queue full %d, too long %d, no carrier %d, flooded %d, filtered %d",
		s.Frames, s.Deliveries, s.Lost, s.Corrupted, s.Duplicated, s.Reordered, s.Faults, s.TxQueueFull, s.TooLong, s.NoCarrier, s.Flooded, s.Filtered)
}

// MACEntry is one line of a switch's MAC address table.
type MACEntry struct {
	MAC  nic.MAC
	Port string        // the port it was learned on
	Age  time.Duration // since the switch last saw it as a source
}

// Wire is a simulated Ethernet segment: a hub or a learning switch that
// connects ports (NICs) with a latency, a bandwidth, an optional MTU, and
// seeded impairments. It implements nic.Medium. Every decision it takes is
// logged as a phy step under the wire's name: carry, loss, corrupt,
// duplicate, reorder, fault, and for a switch learn and forward.
//
// Deliveries are timed with the clock's AfterFunc, which must not run its
// function before returning (a clock.Virtual never does); they arrive on the
// clock's owner, the simulation's event loop. Transmit may be called from
// any goroutine, but a run is reproducible only when every host shares one
// clock.Virtual and so one goroutine.
type Wire struct {
	name        string
	mode        Mode
	latency     time.Duration
	bandwidth   int64 // bits per second; 0 means unlimited
	txQueueLen  int
	mtu         int
	impairments Impairments
	impaired    bool // any impairment probability is above zero
	faults      map[uint64][]Fault
	faultList   []Fault
	tableSize   int
	agingTime   time.Duration
	phy         phy.Config
	clock       clock.Clock
	log         *viz.Log
	rec         *viz.Recorder

	// mu guards what follows: the wire is shared by every host on it.
	mu      sync.Mutex
	rng     *rand.Rand
	ports   []*wirePort // in attach order: ports are always visited in this order
	byPort  map[nic.Port]*wirePort
	macs    map[nic.MAC]macEntry
	targets []*wirePort // scratch: the current frame's destinations
	stats   Stats
}

// wirePort is a port plugged into the wire, with its transmit state.
type wirePort struct {
	port      nic.Port
	name      string
	index     int             // its place in attach order, which keys its PHY's noise
	busyUntil time.Duration   // when its last queued frame's last bit leaves
	txDone    []time.Duration // when each frame still being sent or waiting finishes, oldest first
}

// macEntry is where a switch last saw a source address.
type macEntry struct {
	port     *wirePort
	lastSeen time.Duration
}

// New checks cfg and returns a wire with no ports yet. Errors are one
// sentence naming the wire and the field.
func New(cfg Config) (*Wire, error) {
	if cfg.Name == "" {
		cfg.Name = DefaultName
	}
	bad := func(format string, args ...any) (*Wire, error) {
		return nil, fmt.Errorf("wire %q: "+format, append([]any{cfg.Name}, args...)...)
	}
	switch {
	case cfg.Mode != Hub && cfg.Mode != Switch:
		return bad("mode %v: want hub or switch", cfg.Mode)
	case cfg.Latency < 0:
		return bad("latency %v is negative", cfg.Latency)
	case cfg.BandwidthBitsPerSecond < 0:
		return bad("bandwidth %d bit/s is negative (0 means unlimited)", cfg.BandwidthBitsPerSecond)
	case cfg.TxQueueLen < 0:
		return bad("transmit queue length %d is negative", cfg.TxQueueLen)
	case cfg.MTU < 0 || (cfg.MTU > 0 && cfg.MTU < nic.MinPayloadLen):
		return bad("MTU %d: want 0 (no limit) or at least %d, the payload of the shortest Ethernet frame", cfg.MTU, nic.MinPayloadLen)
	case cfg.MACTableSize < 0:
		return bad("MAC table size %d is negative", cfg.MACTableSize)
	case cfg.MACAgingTime < 0:
		return bad("MAC aging time %v is negative", cfg.MACAgingTime)
	case cfg.Clock == nil && cfg.Log == nil:
		return bad("needs a clock (WireConfig.Clock, or a Log to take it from)")
	}
	if err := cfg.Impairments.Validate(); err != nil {
		return bad("%v", err)
	}
	if err := cfg.PHY.Validate(); err != nil {
		return bad("%v", err)
	}
	if cfg.Latency == 0 {
		cfg.Latency = DefaultLatency
	}
	if cfg.TxQueueLen == 0 {
		cfg.TxQueueLen = DefaultTxQueueLen
	}
	if cfg.MACTableSize == 0 {
		cfg.MACTableSize = DefaultMACTableSize
	}
	if cfg.MACAgingTime == 0 {
		cfg.MACAgingTime = DefaultMACAgingTime
	}
	if cfg.Clock == nil {
		cfg.Clock = cfg.Log.Clock()
	}
	w := &Wire{
		name:        cfg.Name,
		mode:        cfg.Mode,
		latency:     cfg.Latency,
		bandwidth:   cfg.BandwidthBitsPerSecond,
		txQueueLen:  cfg.TxQueueLen,
		mtu:         cfg.MTU,
		impairments: cfg.Impairments,
		impaired:    cfg.Impairments.active(),
		faults:      make(map[uint64][]Fault),
		faultList:   slices.Clone(cfg.Faults),
		tableSize:   cfg.MACTableSize,
		agingTime:   cfg.MACAgingTime,
		phy:         cfg.PHY,
		clock:       cfg.Clock,
		log:         cfg.Log,
		rng:         newImpairmentRNG(cfg.Impairments.Seed),
		byPort:      make(map[nic.Port]*wirePort),
		macs:        make(map[nic.MAC]macEntry),
	}
	if cfg.Log != nil {
		w.rec = cfg.Log.Recorder(cfg.Name)
	}
	for _, f := range cfg.Faults {
		if err := f.validate(); err != nil {
			return bad("%v", err)
		}
		w.faults[f.Frame] = append(w.faults[f.Frame], f)
	}
	return w, nil
}

// Config returns the wire's configuration with the defaults filled in.
func (w *Wire) Config() Config {
	return Config{
		Name: w.name, Mode: w.mode, Latency: w.latency, BandwidthBitsPerSecond: w.bandwidth,
		TxQueueLen: w.txQueueLen, MTU: w.mtu, Impairments: w.impairments, Faults: slices.Clone(w.faultList),
		MACTableSize: w.tableSize, MACAgingTime: w.agingTime, PHY: w.phy, Clock: w.clock, Log: w.log,
	}
}

// Name returns the wire's name, the host of its steps.
func (w *Wire) Name() string { return w.name }

// Attach plugs p into the wire. Ports are visited in the order they were
// attached, which keeps a seeded run reproducible. Attaching a port twice
// does nothing. The caller also tells the port about the wire (for a NIC,
// NIC.Attach).
func (w *Wire) Attach(p nic.Port) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if _, ok := w.byPort[p]; ok {
		return
	}
	wp := &wirePort{port: p, name: p.PortName(), index: len(w.ports)}
	w.ports = append(w.ports, wp)
	w.byPort[p] = wp
}

// Stats returns the wire's counters.
func (w *Wire) Stats() Stats {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.stats
}

// MACTable returns what a switch has learned and not yet forgotten, sorted
// by address, for a lab to print. A hub learns nothing: it returns nil.
func (w *Wire) MACTable() []MACEntry {
	w.mu.Lock()
	defer w.mu.Unlock()
	now := w.clock.Now()
	var out []MACEntry
	for mac, e := range w.macs {
		if now-e.lastSeen < w.agingTime {
			out = append(out, MACEntry{MAC: mac, Port: e.port.name, Age: now - e.lastSeen})
		}
	}
	slices.SortFunc(out, func(a, b MACEntry) int { return bytes.Compare(a.MAC[:], b.MAC[:]) })
	return out
}

// Transmit implements nic.Medium: port from puts a frame's bits on the wire.
// The bits are copied for every delivery, since the sender reuses its
// buffer and each receiver owns what it gets.
func (w *Wire) Transmit(from nic.Port, bits []byte, id uint64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	rec := w.rec
	sender, ok := w.byPort[from]
	if !ok {
		w.stats.NoCarrier++
		if rec.On() {
			w.drop(id, "carrier", viz.ReasonNoCarrier, []viz.Field{viz.F("from", from.PortName())},
				"%s is not plugged into %s: no carrier", viz.Str(from.PortName()), viz.Str(w.name))
		}
		return
	}
	if w.mtu > 0 && len(bits) > nic.MaxFrameLen(w.mtu) {
		w.stats.TooLong++
		if rec.On() {
			w.drop(id, "mtu", viz.ReasonWireMTU,
				[]viz.Field{viz.F("from", sender.name), viz.Fv("len", viz.Int(len(bits))), viz.Fv("mtu", viz.Int(w.mtu))},
				"%d-byte frame from %s is longer than %d (the wire's MTU %d + header + FCS): discarded as a giant",
				viz.Int(len(bits)), viz.Str(sender.name), viz.Int(nic.MaxFrameLen(w.mtu)), viz.Int(w.mtu))
		}
		return
	}

	now := w.clock.Now()
	sentAt, wait, ok := w.serialize(sender, len(bits), now)
	if !ok {
		w.stats.TxQueueFull++
		if rec.On() {
			w.drop(id, "queue", viz.ReasonTxQueueFull,
				[]viz.Field{viz.F("from", sender.name), viz.Fv("queue", viz.Int(len(sender.txDone))), viz.Fv("limit", viz.Int(w.txQueueLen))},
				"%s's transmit queue is full: %d frames not yet sent at %d bit/s", viz.Str(sender.name), viz.Int(len(sender.txDone)), viz.I64(int64(w.bandwidth)))
		}
		return
	}
	w.stats.Frames++
	// arrive is when the frame's last bit reaches the other ports.
	arrive := sentAt + w.latency

	// Targeted faults strike the frame once, on its way out of the
	// sender, before a hub or switch copies it.
	source, dropped := w.applyFaults(id, bits, false, sender, nil)
	if dropped {
		return
	}

	var sig *phy.Signal
	if w.phy.On() {
		sig = w.encode(sender, source, id)
	}

	targets := w.destinations(sender, source, id, now)
	if len(targets) == 0 && w.mode == Hub && rec.On() {
		rec.Stepf(viz.Event{Layer: viz.LayerPHY, Step: "carry", Frame: id}, []viz.Field{viz.F("from", sender.name)},
			"no other port is plugged into %s: nobody hears the frame from %s", viz.Str(w.name), viz.Str(sender.name))
	}
	for _, to := range targets {
		w.deliver(sender, to, source, sig, id, now, arrive, wait)
	}
}

// applyFaults applies the targeted faults for frame id to bits and reports
// whether one dropped the frame. bits is copied before a bit is flipped
// unless owned says the wire made it. to is the port a duplicate is on its
// way to (nil for a frame leaving its sender).
func (w *Wire) applyFaults(id uint64, bits []byte, owned bool, from, to *wirePort) ([]byte, bool) {
	rec := w.rec
	for _, f := range w.faults[id] {
		w.stats.Faults++
		var fields [8]viz.Field
		nf := 0
		var fault viz.Arg
		if rec.On() {
			// The fault's text is made here, once per fault: a targeted
			// fault strikes one frame.
			fault = viz.Str(f.String())
			fields[0], fields[1] = viz.Fv("fault", fault), viz.F("from", from.name)
			nf = 2
			if to != nil {
				fields[nf] = viz.F("to", to.name)
				nf++
			}
		}
		if f.Kind == FaultDrop {
			if rec.On() {
				w.drop(id, "fault", viz.ReasonWireFault, fields[:nf], "targeted fault %s: the frame from %s is lost on the wire", fault, viz.Str(from.name))
			}
			return bits, true
		}
		if len(bits) == 0 {
			continue
		}
		if !owned {
			bits, owned = bytes.Clone(bits), true // never write into the sender's buffer
		}
		bit := faultBit(f, w.impairments.Seed, len(bits))
		at, before, after := flipBit(bits, bit)
		if rec.On() {
			was, now := viz.Hex(uint64(before), 2), viz.Hex(uint64(after), 2)
			nf += copy(fields[nf:], []viz.Field{viz.Fv("bit", viz.Int(bit)), viz.Fv("byte", viz.Int(at)), viz.Fv("was", was), viz.Fv("now", now)})
			rec.Stepf(viz.Event{Layer: viz.LayerPHY, Step: "fault", Frame: id}, fields[:nf],
				"targeted fault %s: bit %d flipped (byte %d: %#02x -> %#02x); the receiver's FCS check will catch it",
				fault, viz.Int(bit), viz.Int(at), was, now)
		}
	}
	return bits, false
}

// drop logs a phy drop for the whole frame, its message as a format and
// typed arguments (made into text by the sinks); the caller checked
// rec.On.
func (w *Wire) drop(id uint64, step string, reason viz.Reason, fields []viz.Field, format string, args ...viz.Arg) {
	w.rec.Stepf(viz.Event{Layer: viz.LayerPHY, Step: step, Verdict: viz.Drop, Reason: reason, Frame: id}, fields, format, args...)
}

// serialize reserves the sender's transmitter for an n-byte frame. It
// returns when the frame's last bit leaves (now, on a wire without a
// bandwidth limit), how long the frame waits behind earlier ones, and false
// if the port's transmit queue is full.
func (w *Wire) serialize(p *wirePort, n int, now time.Duration) (sentAt, wait time.Duration, ok bool) {
	if w.bandwidth == 0 {
		return now, 0, true
	}
	// Forget the frames whose last bit has already left.
	i := 0
	for i < len(p.txDone) && p.txDone[i] <= now {
		i++
	}
	p.txDone = p.txDone[i:]
	if len(p.txDone) >= w.txQueueLen {
		return 0, 0, false
	}
	start := max(now, p.busyUntil)
	sentAt = start + w.serializationTime(n)
	p.busyUntil = sentAt
	p.txDone = append(p.txDone, sentAt)
	return sentAt, start - now, true
}

// serializationTime is how long n bytes take to put on the wire, rounded
// up to the nanosecond (0 without a bandwidth limit).
func (w *Wire) serializationTime(n int) time.Duration {
	if w.bandwidth == 0 {
		return 0
	}
	bits := int64(n) * 8
	return time.Duration((bits*int64(time.Second) + w.bandwidth - 1) / w.bandwidth)
}

// destinations decides which ports get the frame: on a hub every other
// port, on a switch what its MAC table says. The slice is scratch space,
// valid until the next call.
func (w *Wire) destinations(sender *wirePort, bits []byte, id uint64, now time.Duration) []*wirePort {
	w.targets = w.targets[:0]
	if w.mode == Hub {
		for _, p := range w.ports {
			if p != sender {
				w.targets = append(w.targets, p)
			}
		}
		return w.targets
	}

	rec := w.rec
	// A switch reads the two addresses and nothing else: it checks
	// neither the length nor the FCS (like a cut-through switch), so the
	// NICs' own checks are what a damaged frame meets. A frame too short
	// to hold the addresses cannot be switched at all.
	if len(bits) < nic.HeaderLen {
		w.stats.Filtered++
		if rec.On() {
			w.drop(id, "forward", viz.ReasonRunt, []viz.Field{viz.F("from", sender.name), viz.Fv("len", viz.Int(len(bits)))},
				"%d bytes from %s is too short to hold the MAC addresses: the switch cannot forward it", viz.Int(len(bits)), viz.Str(sender.name))
		}
		return nil
	}
	f := nic.Frame(bits)
	dst := f.Dst()
	w.learn(f.Src(), sender, id, now)

	rule := ""
	switch {
	case dst.IsBroadcast():
		rule = "broadcast"
	case dst.IsMulticast():
		// Without IGMP snooping (which this switch does not do) a
		// switch cannot know who joined a group, so it floods.
		rule = "multicast"
	default:
		if e, ok := w.lookup(dst, now); ok {
			if e.port == sender {
				// The destination lives behind the port the frame came
				// in on: it has already heard the frame there.
				w.stats.Filtered++
				if rec.On() {
					w.drop(id, "forward", viz.ReasonSwitchFilter,
						[]viz.Field{viz.F("rule", "filter"), viz.Fv("dst", viz.MAC(dst)), viz.F("from", sender.name)},
						"%s was learned on %s, the port the frame came in on: not sent back", viz.MAC(dst), viz.Str(sender.name))
				}
				return nil
			}
			w.targets = append(w.targets, e.port)
			if rec.On() {
				rec.Stepf(viz.Event{Layer: viz.LayerPHY, Step: "forward", Verdict: viz.Pass, Frame: id},
					[]viz.Field{viz.F("rule", "learned"), viz.Fv("dst", viz.MAC(dst)), viz.F("from", sender.name), viz.F("to", e.port.name)},
					"%s was learned on %s: forwarded to that port only", viz.MAC(dst), viz.Str(e.port.name))
			}
			return w.targets
		}
		// Unknown unicast: the switch has not yet seen this address as
		// a source, so it cannot know where it lives. Sending the frame
		// everywhere is the only way it can still arrive, and the reply
		// will teach the switch the address.
		rule = "unknown"
	}
	for _, p := range w.ports {
		if p != sender {
			w.targets = append(w.targets, p)
		}
	}
	w.stats.Flooded++
	if rec.On() {
		why := "is broadcast"
		switch rule {
		case "multicast":
			why = "is multicast, and the switch does not track groups"
		case "unknown":
			why = "has not been seen as a source yet"
		}
		rec.Stepf(viz.Event{Layer: viz.LayerPHY, Step: "forward", Verdict: viz.Pass, Frame: id},
			[]viz.Field{viz.F("rule", rule), viz.Fv("dst", viz.MAC(dst)), viz.F("from", sender.name), viz.Fv("ports", viz.Int(len(w.targets)))},
			"%s %s: flooded to the %d other ports", viz.MAC(dst), viz.Str(why), viz.Int(len(w.targets)))
	}
	return w.targets
}

// learn records that src lives behind port p, the switch's whole
// intelligence: every frame's source address says where to send frames
// for that address later.
func (w *Wire) learn(src nic.MAC, p *wirePort, id uint64, now time.Duration) {
	if src.IsMulticast() {
		return // a group address is never a source; nothing to learn
	}
	rec := w.rec
	e, known := w.lookup(src, now)
	switch {
	case known && e.port == p:
		w.macs[src] = macEntry{port: p, lastSeen: now} // refresh: no step, it would be on every frame
		return
	case known:
		// The address moved (a laptop changed ports, or somebody forged
		// it: the switch believes the latest frame).
		w.macs[src] = macEntry{port: p, lastSeen: now}
		if rec.On() {
			rec.Stepf(viz.Event{Layer: viz.LayerPHY, Step: "learn", Frame: id},
				[]viz.Field{viz.Fv("mac", viz.MAC(src)), viz.F("port", p.name), viz.F("was", e.port.name)},
				"%s moved from %s to %s", viz.MAC(src), viz.Str(e.port.name), viz.Str(p.name))
		}
		return
	}
	if len(w.macs) >= w.tableSize {
		w.forgetExpired(now)
	}
	if len(w.macs) >= w.tableSize {
		if rec.On() {
			rec.Stepf(viz.Event{Layer: viz.LayerPHY, Step: "learn", Frame: id},
				[]viz.Field{viz.Fv("mac", viz.MAC(src)), viz.F("port", p.name), viz.F("table", "full")},
				"MAC table full (%d entries): %s not learned, so frames to it will be flooded", viz.Int(w.tableSize), viz.MAC(src))
		}
		return
	}
	w.macs[src] = macEntry{port: p, lastSeen: now}
	if rec.On() {
		rec.Stepf(viz.Event{Layer: viz.LayerPHY, Step: "learn", Frame: id},
			[]viz.Field{viz.Fv("mac", viz.MAC(src)), viz.F("port", p.name)},
			"%s learned on %s", viz.MAC(src), viz.Str(p.name))
	}
}

// lookup finds mac in the table, forgetting it if it has aged out.
func (w *Wire) lookup(mac nic.MAC, now time.Duration) (macEntry, bool) {
	e, ok := w.macs[mac]
	if ok && now-e.lastSeen >= w.agingTime {
		delete(w.macs, mac)
		return macEntry{}, false
	}
	return e, ok
}

// forgetExpired removes every aged-out entry. It visits the map in random
// order, but removes all of them, so the outcome is the same every run.
func (w *Wire) forgetExpired(now time.Duration) {
	for mac, e := range w.macs {
		if now-e.lastSeen >= w.agingTime {
			delete(w.macs, mac)
		}
	}
}

// deliver carries one copy of the frame to port to, which is where the
// random impairments strike: each receiver's link (a switch's output port,
// or each receiver's PHY decoding the signal on a hub) has its own noise, so
// one frame can reach one port intact and another damaged. Damage after the
// switch is also what makes the receiving NIC's FCS check the one that
// catches it, which is the step the labs look at.
// sig is source line-coded when the wire has a PHY model, nil otherwise.
func (w *Wire) deliver(from, to *wirePort, source []byte, sig *phy.Signal, id uint64, now, arrive, wait time.Duration) {
	rec := w.rec
	var d draw
	if w.impaired {
		d = drawDelivery(w.rng, &w.impairments, len(source))
	}
	if d.lose {
		w.stats.Lost++
		if rec.On() {
			w.drop(id, "loss", viz.ReasonWireLoss, []viz.Field{viz.F("from", from.name), viz.F("to", to.name)},
				"lost on the way from %s to %s", viz.Str(from.name), viz.Str(to.name))
		}
		return
	}

	bits := bytes.Clone(source)
	if d.corrupt && len(bits) > 0 {
		w.stats.Corrupted++
		at, before, after := flipBit(bits, d.bit)
		sig = nil // the signal carries the damaged bits: encoded again on arrival
		if rec.On() {
			rec.Stepf(viz.Event{Layer: viz.LayerPHY, Step: "corrupt", Frame: id},
				[]viz.Field{viz.F("from", from.name), viz.F("to", to.name), viz.Fv("bit", viz.Int(d.bit)),
					viz.Fv("byte", viz.Int(at)), viz.Fv("was", viz.Hex(uint64(before), 2)), viz.Fv("now", viz.Hex(uint64(after), 2))},
				"bit %d flipped on the way to %s (byte %d: %#02x -> %#02x); the receiver's FCS check will catch it",
				viz.Int(d.bit), viz.Str(to.name), viz.Int(at), viz.U64(uint64(before)), viz.U64(uint64(after)))
		}
	}

	at := arrive
	if d.reorder {
		w.stats.Reordered++
		extra := w.impairments.ReorderDelay
		if extra == 0 {
			extra = 3*w.latency + w.serializationTime(len(source))
		}
		at += extra
		if rec.On() {
			rec.Stepf(viz.Event{Layer: viz.LayerPHY, Step: "reorder", Frame: id},
				[]viz.Field{viz.F("from", from.name), viz.F("to", to.name), viz.Fv("extra", viz.Dur(extra)), viz.Fv("arrive", viz.Seconds(at))},
				"held back %v on the way to %s, so frames sent after it can overtake it", viz.Dur(extra), viz.Str(to.name))
		}
	}

	w.schedule(to, bits, sig, id, at-now)
	if rec.On() {
		fields := []viz.Field{viz.F("from", from.name), viz.F("to", to.name), viz.Fv("len", viz.Int(len(bits))), viz.Fv("arrive", viz.Seconds(at)),
			viz.Fv("wait", viz.Dur(wait))}
		if wait <= 0 {
			fields = fields[:4]
		}
		rec.Stepf(viz.Event{Layer: viz.LayerPHY, Step: "carry", Verdict: viz.Pass, Frame: id},
			fields,
			"%s -> %s, %d bytes, arrives at %ss", viz.Str(from.name), viz.Str(to.name), viz.Int(len(bits)), viz.Seconds(at))
	}

	if d.duplicate {
		// The copy is the frame as it left the sender (random damage
		// struck only the first copy), arriving right after the
		// undelayed original would. Its own ID lets a viewer follow
		// each copy's walk through the receiver separately.
		w.stats.Duplicated++
		dupID := rec.NewFrameID()
		if rec.On() {
			rec.Stepf(viz.Event{Layer: viz.LayerPHY, Step: "duplicate", Frame: dupID},
				[]viz.Field{viz.Fv("dup_of", viz.U64(id)), viz.F("from", from.name), viz.F("to", to.name),
					viz.Fv("arrive", viz.Seconds(arrive))},
				"a second copy of frame %d goes to %s as frame %d, arriving at %ss", viz.U64(id), viz.Str(to.name), viz.U64(dupID), viz.Seconds(arrive))
		}
		// A fault may name the copy: its ID is in the log like any other.
		if dup, dropped := w.applyFaults(dupID, bytes.Clone(source), true, from, to); !dropped {
			w.schedule(to, dup, nil, dupID, arrive-now)
		}
	}
}

// schedule hands bits to port p after delay, on the clock's owner. With a
// PHY model the port's receiver decodes the signal (sig, or bits encoded
// now if sig is nil) on arrival, and the NIC gets what it decoded.
func (w *Wire) schedule(p *wirePort, bits []byte, sig *phy.Signal, id uint64, delay time.Duration) {
	w.stats.Deliveries++
	port := p.port
	if w.phy.On() {
		if sig == nil {
			sig = phy.Encode(w.phy.Code, bits)
		}
		w.clock.AfterFunc(delay, func() { w.receive(p, sig, id) })
		return
	}
	w.clock.AfterFunc(delay, func() { port.Arrive(bits, id) })
}
