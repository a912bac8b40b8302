package ip

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"time"

	"github.com/packetwalk/packetwalk/clock"
	"github.com/packetwalk/packetwalk/viz"
)

// IPv4 fragment reassembly (RFC 791 §3.2, "Fragmentation and Reassembly",
// with RFC 815's hole descriptors).
//
// A datagram too large for a link is cut into fragments that travel as
// independent datagrams, each with a copy of the header; the receiver
// gathers them, by source, destination, protocol and Identification, in
// whatever order and however often they arrive, and hands the datagram up
// once every byte from 0 to the end marked by the last fragment (More
// Fragments = 0) is held. Every arrival is a step in the log that names the
// holes still missing, so a student can watch the datagram fill in.

// Reassembly defaults.
const (
	// DefaultReassemblyTimeout is how long an incomplete datagram is kept
	// after its first fragment arrived: Linux's ipfrag_time (30 s). RFC 791
	// suggests a lower bound of 15 s and RFC 1122 §3.3.2 a fixed value of
	// 60 s to 120 s; 30 s is what the peers we meet actually use.
	DefaultReassemblyTimeout = 30 * time.Second
	// DefaultReassemblyMaxBytes bounds the payload bytes held for
	// incomplete datagrams: Linux's ipfrag_high_thresh (4 MiB).
	DefaultReassemblyMaxBytes = 4 << 20
	// DefaultReassemblyMaxDatagrams bounds how many datagrams may be
	// incomplete at once. Linux has no such count (its hash table bounds
	// it); a count is easier to watch in a lab than bytes alone.
	DefaultReassemblyMaxDatagrams = 1024
)

const (
	// reasmMaxDatagramBytes is the largest IPv4 datagram: Total Length is
	// a 16-bit field that counts the header too (RFC 791 §3.1).
	reasmMaxDatagramBytes = 65535
	// reasmMinHeaderBytes is the shortest IPv4 header (IHL = 5). Until the
	// first fragment shows the real header, the payload may run to at
	// most 65535 - 20 = 65515 bytes.
	reasmMinHeaderBytes = 20
	// reasmMaxOffsetBytes is the largest offset the 13-bit Fragment Offset
	// field, in 8-byte units, can carry.
	reasmMaxOffsetBytes = 8191 * 8
)

// FragmentKey tells datagrams apart during reassembly: RFC 791 §3.2 joins
// fragments that agree on source, destination, protocol and Identification.
type FragmentKey struct {
	Src, Dst netip.Addr
	Protocol uint8
	ID       uint16
}

// String gives the key as the step log writes it:
// "10.0.0.1->10.0.0.2 id 0x1c46 proto 1".
func (k FragmentKey) String() string {
	return fmt.Sprintf("%s->%s id 0x%04x proto %d", k.Src, k.Dst, k.ID, k.Protocol)
}

// Fragment is one fragment as the IP layer parsed it from a header that
// passed its checks.
type Fragment struct {
	Key FragmentKey
	// Offset is where Payload starts in the datagram's payload, in bytes:
	// the Fragment Offset field times 8.
	Offset int
	// More is the More Fragments flag: another fragment follows this one.
	More bool
	// Payload is the fragment's data, after its header. It is borrowed:
	// the caller's buffer is an RX ring slot reused once Add returns, so
	// the reassembler copies what it keeps.
	Payload []byte
	// Header is the fragment's IPv4 header, options included. The one of
	// the first fragment (Offset 0) is kept: the reassembled datagram
	// reuses it, and ICMP Time Exceeded quotes it. Borrowed like Payload.
	Header []byte
	// Frame is the ID of the frame that carried the fragment, for the log.
	Frame uint64
}

// ReassemblerConfig sets up a Reassembler. Zero values take the defaults.
type ReassemblerConfig struct {
	// Timeout is how long an incomplete datagram is kept after its first
	// fragment (the first to arrive, whatever its offset) arrived.
	// Default DefaultReassemblyTimeout.
	Timeout time.Duration
	// MaxBytes bounds the payload bytes held for all incomplete datagrams
	// together. Default DefaultReassemblyMaxBytes.
	MaxBytes int
	// MaxDatagrams bounds how many datagrams may be incomplete at once.
	// Default DefaultReassemblyMaxDatagrams.
	MaxDatagrams int
	// Clock runs the reassembly timers; required. Its timers must fire on
	// the goroutine that calls Add (the host's event loop).
	Clock clock.Clock
	// Recorder receives the steps; nil records nothing.
	Recorder *viz.Recorder
	// OnTimeout, if set, is called when a datagram times out and its first
	// fragment (offset 0) had arrived, so that the IP layer can send ICMP
	// Time Exceeded, code 1 "fragment reassembly time exceeded" (RFC 792),
	// quoting firstHeader and the first 8 bytes of firstPayload. Without
	// the first fragment there is no header to quote, and RFC 792 says
	// that no message need be sent. Both slices belong to the callee.
	OnTimeout func(key FragmentKey, firstHeader, firstPayload []byte)
}

// ReassemblyStats are the reassembler's counters, named after the
// ReasmReqds ... ReasmOverlaps lines of Linux's /proc/net/snmp (RFC 2011's
// ipReasm* objects).
type ReassemblyStats struct {
	Reqds      uint64 // fragments received (ReasmReqds)
	OKs        uint64 // datagrams reassembled (ReasmOKs)
	Fails      uint64 // datagrams discarded plus fragments refused (ReasmFails)
	Timeouts   uint64 // datagrams discarded by the timer (ReasmTimeout)
	Overlaps   uint64 // datagrams discarded for overlap or a disputed end (ReasmOverlaps)
	Duplicates uint64 // fragments discarded as exact repeats (Linux: DUP_FRAG drops)
	Memory     uint64 // fragments refused by MaxBytes or MaxDatagrams
}

// Reassembler gathers IPv4 fragments into datagrams.
//
// Overlap policy: a fragment that shares any byte with data already held is
// an exact duplicate when all its bytes are held and equal to what is held,
// and is then discarded (frag_duplicate) while the datagram is kept; any
// other overlap discards the whole datagram (frag_overlap), as Linux has
// done since 4.19 and RFC 5722 requires for IPv6, because two stacks that
// resolve an overlap differently see different datagrams (the trick behind
// IDS evasion and the teardrop attack). A last fragment whose end disagrees
// with an end already known, or data past the known end, is the same kind
// of dispute and is treated the same way. Later fragments with the same key
// start a fresh datagram that lacks the discarded bytes and times out, as
// in Linux.
//
// Memory policy: a fragment is refused (frag_memory) when holding it would
// push the payload bytes held past MaxBytes, or when it would start a new
// datagram while MaxDatagrams are incomplete; datagrams already held are
// never evicted for it. This is what Linux does since 4.17 (it refuses
// fragments above ipfrag_high_thresh and no longer evicts the oldest
// queues): eviction lets whoever sends fragments fastest flush everybody
// else's half-built datagrams, while refusal caps the damage at one timeout.
//
// A Reassembler has one owner: Add, Pending and Stats must be called from
// the goroutine on which the Clock's timers fire (the host's event loop).
type Reassembler struct {
	cfg     ReassemblerConfig
	rec     *viz.Recorder
	pending map[FragmentKey]*pendingDatagram
	bytes   int // payload bytes held, all datagrams together
	stats   ReassemblyStats
}

// pendingDatagram is one datagram being reassembled.
type pendingDatagram struct {
	key    FragmentKey
	holes  holeList
	pieces []heldFragment // the fragments held, sorted by offset, never overlapping
	end    int            // payload length, known once the last fragment arrived; -1 before
	maxEnd int            // the end of the furthest byte held
	bytes  int            // payload bytes held
	header []byte         // the first fragment's header, once it arrived
	timer  clock.Timer
	since  time.Duration // when the first fragment to arrive arrived
}

// heldFragment is one fragment's bytes, copied out of the caller's buffer.
type heldFragment struct {
	offset int
	data   []byte
	frame  uint64
}

// NewReassembler returns a reassembler with cfg's limits; zero fields take
// the defaults. It panics if cfg.Clock is nil: without timers, incomplete
// datagrams would hold memory for ever.
func NewReassembler(cfg ReassemblerConfig) *Reassembler {
	if cfg.Clock == nil {
		panic("ip: NewReassembler: ReassemblerConfig.Clock is nil")
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultReassemblyTimeout
	}
	if cfg.MaxBytes <= 0 {
		cfg.MaxBytes = DefaultReassemblyMaxBytes
	}
	if cfg.MaxDatagrams <= 0 {
		cfg.MaxDatagrams = DefaultReassemblyMaxDatagrams
	}
	return &Reassembler{
		cfg:     cfg,
		rec:     cfg.Recorder,
		pending: make(map[FragmentKey]*pendingDatagram),
	}
}

// Pending reports how many datagrams are incomplete and how many payload
// bytes they hold.
func (r *Reassembler) Pending() (datagrams, bytes int) {
	return len(r.pending), r.bytes
}

// Stats returns the counters so far.
func (r *Reassembler) Stats() ReassemblyStats { return r.stats }

// Add takes one fragment. When it completes its datagram, Add returns the
// whole payload and a copy of the first fragment's header, both owned by
// the caller, and done = true; the caller rewrites the header's Total
// Length, flags, offset and checksum before handing the datagram up.
// Otherwise the fragment was held, or dropped with a logged reason, and Add
// returns done = false. Add never keeps f.Payload or f.Header.
func (r *Reassembler) Add(f Fragment) (datagram, header []byte, done bool) {
	r.stats.Reqds++
	n := len(f.Payload)
	end := f.Offset + n
	d := r.pending[f.Key]

	// The fragment on its own: things no sender following RFC 791 emits.
	// Only the fragment is refused; a datagram already held keeps waiting.
	if f.malformed() {
		r.stats.Fails++
		r.refuse(&f, d, viz.ReasonIPMalformed, f.malformedWhy())
		return nil, nil, false
	}

	// The size limit: the datagram, header included, must fit Total
	// Length's 16 bits. Fragment Offset alone reaches 65,528, so a sender
	// can describe a datagram of up to 65,528 + 65,515 bytes: the "ping of
	// death". The whole datagram goes, since it can never be handed up.
	headerBytes := reasmMinHeaderBytes
	switch {
	case d != nil && d.header != nil:
		headerBytes = max(len(d.header), reasmMinHeaderBytes)
	case f.Offset == 0:
		headerBytes = max(len(f.Header), reasmMinHeaderBytes)
	}
	extent := end
	if d != nil {
		extent = max(extent, d.maxEnd)
	}
	if headerBytes+extent > reasmMaxDatagramBytes {
		why := reasmReason{kind: whyTooLarge, args: [3]viz.Arg{viz.Int(headerBytes), viz.Int(extent)}, n: 2}
		if d != nil {
			r.discard(d, &f, viz.ReasonFragTooLarge, why)
		} else {
			r.stats.Fails++
			r.refuse(&f, nil, viz.ReasonFragTooLarge, why)
		}
		return nil, nil, false
	}

	// The memory limits: refuse, never evict (see the type's comment). A
	// fragment that would turn out to be a duplicate is refused too: it
	// would add nothing, and telling it apart costs a comparison that
	// memory pressure is no time for.
	if d == nil && len(r.pending) >= r.cfg.MaxDatagrams {
		r.stats.Fails++
		r.stats.Memory++
		r.refuse(&f, nil, viz.ReasonFragMemory, reasmReason{kind: whyTooManyDatagrams, args: [3]viz.Arg{viz.Int(len(r.pending))}, n: 1})
		return nil, nil, false
	}
	if r.bytes+n > r.cfg.MaxBytes {
		r.stats.Fails++
		r.stats.Memory++
		r.refuse(&f, d, viz.ReasonFragMemory, reasmReason{kind: whyTooManyBytes,
			args: [3]viz.Arg{viz.Int(n), viz.Int(r.bytes + n), viz.Int(r.cfg.MaxBytes)}, n: 3})
		return nil, nil, false
	}
	if d == nil {
		d = r.newDatagram(f.Key)
	}

	// The end of the datagram. Once the last fragment has said where it
	// is, no fragment may reach past it and no other last fragment may put
	// it elsewhere; before that, a last fragment may not end before bytes
	// already held.
	endNow := false
	if d.end >= 0 {
		if end > d.end || (!f.More && end != d.end) {
			r.discard(d, &f, viz.ReasonFragOverlap, reasmReason{kind: whyEndMoved,
				args: [3]viz.Arg{viz.Int(end), viz.Int(reasmFlag(f.More)), viz.Int(d.end)}, n: 3})
			return nil, nil, false
		}
	} else if !f.More {
		if end < d.maxEnd {
			r.discard(d, &f, viz.ReasonFragOverlap, reasmReason{kind: whyEndEarly,
				args: [3]viz.Arg{viz.Int(end), viz.Int(d.maxEnd)}, n: 2})
			return nil, nil, false
		}
		d.end = end
		d.holes = d.holes.setEnd(end)
		endNow = true
	}

	// New bytes, a duplicate, or an overlap.
	inside, touches := d.holes.locate(f.Offset, end-1)
	switch {
	case inside:
		r.hold(d, &f)
		if r.rec.On() {
			r.fragmentStep(d, &f, viz.Pass, "", reasmReason{kind: whatHeld})
		}
	case !touches && d.repeats(f.Offset, f.Payload):
		if !endNow {
			r.stats.Duplicates++
			if r.rec.On() {
				r.fragmentStep(d, &f, viz.Drop, viz.ReasonFragDuplicate, reasmReason{kind: whatDuplicate})
			}
			return nil, nil, false
		}
		// Its bytes are held already, but its MF=0 is news: it tells
		// where the datagram ends, which may be all that was missing.
		if r.rec.On() {
			r.fragmentStep(d, &f, viz.Pass, "", reasmReason{kind: whatEndNews, args: [3]viz.Arg{viz.Int(end)}, n: 1})
		}
	default:
		r.discard(d, &f, viz.ReasonFragOverlap, reasmReason{kind: whyOverlap})
		return nil, nil, false
	}

	if len(d.holes) > 0 {
		return nil, nil, false
	}
	return r.complete(d, &f)
}

// malformed reports whether something is wrong with f on its own.
func (f *Fragment) malformed() bool {
	return f.malformedWhy().kind != whyNone
}

// malformedWhy says what is wrong with f on its own, if anything.
func (f *Fragment) malformedWhy() reasmReason {
	switch {
	case f.Offset < 0 || f.Offset%8 != 0 || f.Offset > reasmMaxOffsetBytes:
		return reasmReason{kind: whyOffset, args: [3]viz.Arg{viz.Int(f.Offset), viz.Int(reasmMaxOffsetBytes)}, n: 2}
	case len(f.Payload) == 0:
		// A fragment with no data fills no hole (RFC 815's last < first)
		// and only opens the door to games with the datagram's end.
		return reasmReason{kind: whyEmpty}
	case f.More && len(f.Payload)%8 != 0:
		// RFC 791 §3.2: every fragment but the last carries a multiple
		// of 8 bytes, or the next one's offset could not be written.
		return reasmReason{kind: whyOddLength, args: [3]viz.Arg{viz.Int(len(f.Payload))}, n: 1}
	}
	return reasmReason{}
}

// newDatagram starts reassembling the datagram of key and sets its timer.
// RFC 791 §3.2 restarts the timer at each fragment's TTL if that is larger;
// like Linux we count from the first fragment only, so that a trickle of
// fragments cannot hold memory for ever.
func (r *Reassembler) newDatagram(key FragmentKey) *pendingDatagram {
	d := &pendingDatagram{key: key, holes: newHoleList(), end: -1, since: r.cfg.Clock.Now()}
	d.timer = r.cfg.Clock.AfterFunc(r.cfg.Timeout, func() { r.expire(d) })
	r.pending[key] = d
	return d
}

// hold copies f's bytes into d and fills the holes they cover.
func (r *Reassembler) hold(d *pendingDatagram, f *Fragment) {
	end := f.Offset + len(f.Payload)
	p := heldFragment{offset: f.Offset, data: slices.Clone(f.Payload), frame: f.Frame}
	i, _ := slices.BinarySearchFunc(d.pieces, f.Offset, func(p heldFragment, off int) int { return p.offset - off })
	d.pieces = slices.Insert(d.pieces, i, p)
	d.bytes += len(p.data)
	r.bytes += len(p.data)
	d.maxEnd = max(d.maxEnd, end)
	if f.Offset == 0 {
		d.header = slices.Clone(f.Header)
	}
	d.holes = d.holes.fill(f.Offset, end-1, f.More)
}

// repeats reports whether payload, at offset, equals the bytes d holds
// there. The caller has made sure that every byte of the range is held.
func (d *pendingDatagram) repeats(offset int, payload []byte) bool {
	end := offset + len(payload)
	for _, p := range d.pieces {
		pEnd := p.offset + len(p.data)
		if pEnd <= offset || p.offset >= end {
			continue
		}
		lo, hi := max(offset, p.offset), min(end, pEnd)
		if string(payload[lo-offset:hi-offset]) != string(p.data[lo-p.offset:hi-p.offset]) {
			return false
		}
	}
	return true
}

// complete builds the datagram once no hole remains and forgets it.
func (r *Reassembler) complete(d *pendingDatagram, f *Fragment) (datagram, header []byte, done bool) {
	datagram = make([]byte, d.end)
	for _, p := range d.pieces {
		copy(datagram[p.offset:], p.data)
	}
	r.forget(d)
	r.stats.OKs++
	if r.rec.On() {
		k := d.key
		r.rec.Stepf(viz.Event{Layer: viz.LayerIP, Step: "reassembled", Verdict: viz.Pass, Frame: f.Frame},
			[]viz.Field{
				viz.Fv("len", viz.Int(d.end)),
				viz.Fv("total_len", viz.Int(len(d.header)+d.end)),
				viz.Fv("fragments", viz.Int(len(d.pieces))),
				viz.F("frames", d.frames()),
			},
			"datagram "+keyFmt+" reassembled from %d fragments: %d bytes of payload, %d with the header, after %v",
			viz.Addr(k.Src), viz.Addr(k.Dst), viz.Hex16(k.ID), viz.Int(int(k.Protocol)),
			viz.Int(len(d.pieces)), viz.Int(d.end), viz.Int(len(d.header)+d.end), viz.Dur(r.cfg.Clock.Now()-d.since))
	}
	return datagram, d.header, true
}

// expire is the reassembly timer: the datagram did not complete in time.
func (r *Reassembler) expire(d *pendingDatagram) {
	if r.pending[d.key] != d {
		return // completed or discarded while the timer was firing
	}
	r.forget(d)
	r.stats.Fails++
	r.stats.Timeouts++
	first := len(d.pieces) > 0 && d.pieces[0].offset == 0
	if r.rec.On() {
		icmp := "the first fragment never arrived, so there is no header to quote and no ICMP error is sent (RFC 792)"
		if first {
			icmp = "the first fragment arrived, so ICMP Time Exceeded (code 1) goes back to the sender"
		}
		k := d.key
		r.rec.Stepf(viz.Event{Layer: viz.LayerIP, Step: "reassembly", Verdict: viz.Drop, Reason: viz.ReasonFragTimeout},
			[]viz.Field{
				viz.F("holes", string(appendHoles(nil, d.holes, true))),
				viz.Fv("fragments", viz.Int(len(d.pieces))),
				viz.F("frames", d.frames()),
				viz.Fv("first", viz.Bool(first)),
			},
			"datagram "+keyFmt+" not complete %v after its first fragment arrived: holes remain %s; %d fragments (%d bytes) freed; %s",
			viz.Addr(k.Src), viz.Addr(k.Dst), viz.Hex16(k.ID), viz.Int(int(k.Protocol)),
			viz.Dur(r.cfg.Timeout), viz.Str(string(appendHoles(nil, d.holes, false))), viz.Int(len(d.pieces)), viz.Int(d.bytes), viz.Str(icmp))
	}
	if first && r.cfg.OnTimeout != nil {
		r.cfg.OnTimeout(d.key, d.header, d.pieces[0].data)
	}
}

// discard drops the whole datagram d because of fragment f.
func (r *Reassembler) discard(d *pendingDatagram, f *Fragment, reason viz.Reason, why reasmReason) {
	r.forget(d)
	r.stats.Fails++
	if reason == viz.ReasonFragOverlap {
		r.stats.Overlaps++
	}
	if r.rec.On() {
		var args stepArgs
		format := f.describeArgs(why, tailDiscarded, &args)
		args.add(viz.Int(len(d.pieces)), viz.Int(d.bytes), viz.Str(string(appendHoles(nil, d.holes, false))))
		fields := f.fields(d.holes)
		fields[4] = viz.F("frames", d.frames())
		r.rec.Stepf(viz.Event{Layer: viz.LayerIP, Step: "reassembly", Verdict: viz.Drop, Reason: reason, Frame: f.Frame},
			fields[:], format, args.list()...)
	}
}

// refuse drops fragment f alone; d, if not nil, is kept.
func (r *Reassembler) refuse(f *Fragment, d *pendingDatagram, reason viz.Reason, why reasmReason) {
	if !r.rec.On() {
		return
	}
	var args stepArgs
	var format string
	var holes holeList
	if d != nil {
		holes = d.holes
		format = f.describeArgs(why, tailRefusedWaiting, &args)
		args.add(viz.Str(string(appendHoles(nil, holes, false))))
	} else {
		holes = newHoleList()
		format = f.describeArgs(why, tailRefused, &args)
	}
	fields := f.fields(holes)
	r.rec.Stepf(viz.Event{Layer: viz.LayerIP, Step: "reassembly", Verdict: viz.Drop, Reason: reason, Frame: f.Frame},
		fields[:4], format, args.list()...)
}

// forget removes d: its timer, its bytes, its entry.
func (r *Reassembler) forget(d *pendingDatagram) {
	d.timer.Stop()
	delete(r.pending, d.key)
	r.bytes -= d.bytes
}

// fragmentStep logs f's arrival at d: what (a what* kind) is followed by
// the holes that remain.
func (r *Reassembler) fragmentStep(d *pendingDatagram, f *Fragment, v viz.Verdict, reason viz.Reason, what reasmReason) {
	var args stepArgs
	format := f.describeArgs(what, tailHoles, &args)
	args.add(viz.Str(string(appendHoles(nil, d.holes, false))))
	fields := f.fields(d.holes)
	r.rec.Stepf(viz.Event{Layer: viz.LayerIP, Step: "reassembly", Verdict: v, Reason: reason, Frame: f.Frame},
		fields[:4], format, args.list()...)
}

// keyFmt is FragmentKey.String's format, of the source, the destination,
// the ID (viz.Hex16) and the protocol.
const keyFmt = "%s->%s id %s proto %d"

// reasmReason is why a fragment was refused or its datagram discarded, or
// what became of a fragment that was kept: a kind (its sentence is
// reasmWhyFmts[kind]) and its n typed arguments.
type reasmReason struct {
	kind reasmWhy
	args [3]viz.Arg
	n    int
}

type reasmWhy uint8

const (
	whyNone reasmWhy = iota
	whyOffset
	whyEmpty
	whyOddLength
	whyTooLarge
	whyTooManyDatagrams
	whyTooManyBytes
	whyEndMoved
	whyEndEarly
	whyOverlap
	whatHeld
	whatDuplicate
	whatEndNews
	nReasmWhy
)

var reasmWhyFmts = [nReasmWhy]string{
	whyOffset:           "offset %d is not a multiple of 8 within 0..%d, as the 13-bit Fragment Offset field in 8-byte units allows",
	whyEmpty:            "it carries no data",
	whyOddLength:        "MF=1 but its %d bytes are not a multiple of 8, so no next fragment could start where it ends",
	whyTooLarge:         "a %d-byte header and %d bytes of payload exceed the 65,535 bytes an IPv4 datagram may have",
	whyTooManyDatagrams: "%d datagrams are already being reassembled, the limit",
	whyTooManyBytes:     "holding %d more bytes would make %d, over the %d-byte reassembly limit",
	whyEndMoved:         "it ends at %d (MF=%d) but the last fragment already put the end at %d",
	whyEndEarly:         "it is the last fragment (MF=0) but ends at %d, before bytes already held up to %d",
	whyOverlap:          "it overlaps bytes already held and is not an exact duplicate of them",
	whatHeld:            "",
	whatDuplicate:       "repeats bytes already held, discarded; ",
	whatEndNews:         "repeats bytes already held, but its MF=0 puts the end at %d; ",
}

// What follows the reason in a fragment's step.
type reasmTail uint8

const (
	tailHoles          reasmTail = iota // "holes remain %s"
	tailRefused                         // "; fragment dropped"
	tailRefusedWaiting                  // and the holes the datagram still has
	tailDiscarded                       // the datagram's fragments, bytes and holes
	nReasmTail
)

var reasmTailFmts = [nReasmTail]string{
	tailHoles:          "holes remain %s",
	tailRefused:        "; fragment dropped",
	tailRefusedWaiting: "; fragment dropped, the datagram keeps waiting with holes %s",
	tailDiscarded:      "; the whole datagram is discarded with the %d fragments (%d bytes) held, holes were %s",
}

// reasmFmts[empty][why][tail] is a fragment step's whole format: the
// fragment named as describe does, the reason, the tail. They are made
// once, so that a step makes no string but its hole list.
var reasmFmts = func() (t [2][nReasmWhy][nReasmTail]string) {
	for why := range nReasmWhy {
		for tail := range nReasmTail {
			t[0][why][tail] = "fragment %d..%d of datagram " + keyFmt + ": " + reasmWhyFmts[why] + reasmTailFmts[tail]
			t[1][why][tail] = "empty fragment at %d of datagram " + keyFmt + ": " + reasmWhyFmts[why] + reasmTailFmts[tail]
		}
	}
	return t
}()

// describeArgs adds the arguments that name f ("fragment 1480..2959 of
// datagram 10.0.0.1->10.0.0.2 id 0x1c46 proto 1") and why's to args, and
// returns the format of both followed by tail; the caller adds tail's
// arguments.
func (f *Fragment) describeArgs(why reasmReason, tail reasmTail, args *stepArgs) string {
	empty := 0
	if len(f.Payload) == 0 {
		empty = 1
		args.add(viz.Int(f.Offset))
	} else {
		args.add(viz.Int(f.Offset), viz.Int(f.Offset+len(f.Payload)-1))
	}
	args.add(viz.Addr(f.Key.Src), viz.Addr(f.Key.Dst), viz.Hex16(f.Key.ID), viz.Int(int(f.Key.Protocol)))
	args.add(why.args[:why.n]...)
	return reasmFmts[empty][why.kind][tail]
}

// fields are the fields of every step about one fragment, in an array the
// caller keeps on its stack, with room for one more (a discard's frames).
func (f *Fragment) fields(holes holeList) [5]viz.Field {
	return [5]viz.Field{
		viz.F("holes", string(appendHoles(nil, holes, true))),
		viz.Fv("offset", viz.Int(f.Offset)),
		viz.Fv("len", viz.Int(len(f.Payload))),
		viz.Fv("more", viz.Bool(f.More)),
	}
}

// frames lists the frames whose bytes d holds, in offset order: "3,5,4".
func (d *pendingDatagram) frames() string {
	var b []byte
	for i, p := range d.pieces {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendUint(b, p.frame, 10)
	}
	return string(b)
}

// reasmFlag writes a flag as the header does: 1 or 0.
func reasmFlag(more bool) int {
	if more {
		return 1
	}
	return 0
}
