package pcapng

import (
	"slices"
	"time"

	"github.com/gopacket/gopacket/pcapgo"

	"github.com/packetwalk/packetwalk/viz"
)

// packet is a captured frame waiting to be written as an Enhanced Packet
// Block.
type packet struct {
	key      key
	iface    int
	t        time.Duration // run time of the capture
	dir      viz.Direction
	fcsError bool
	origLen  int    // the frame's length on the wire
	data     []byte // a copy of the frame, cut to the snapshot length
	// trs are the packet's trails, one per walk, each written as a comment
	// of its own: in the NIC view the walk on the capturing host; in the
	// wire view the sender's, the wire's and every receiver's.
	trs []*trail
	// walking counts the trails whose walk has not ended (EndWalk).
	walking int
	// inFlight marks, in the wire view, a sender's copy waiting to learn
	// whether the frame arrives (then the receiver's copy is written in
	// its place: skip), is lost on the wire (skip), or leaves the run
	// (a device, an injector): then this copy is the only one, written
	// when a bound or Close forces it out.
	inFlight bool
	skip     bool
	// held keeps, in the wire view, a received packet queued until the
	// run's time passes its capture time: the medium's other receivers of
	// the same bits (a hub, a switch flooding) get them at that same
	// instant, and their walks join this packet.
	held bool
	// complete says the trails are final: an outbound packet's trail is
	// the steps logged before its capture, an inbound packet's ends with
	// EndWalk.
	complete bool
}

// openWalk is a walk in progress on one host: the packet it belongs to and
// its trail there.
type openWalk struct {
	p *packet
	t *trail
}

// fifo is the queue of packets in capture order, the order they are
// written in.
type fifo struct {
	items []*packet
	head  int
}

func (q *fifo) len() int { return len(q.items) - q.head }

func (q *fifo) front() *packet { return q.items[q.head] }

func (q *fifo) push(p *packet) {
	// Reuse the slots already popped once they are half the slice, so the
	// slice stays within twice the longest queue.
	if q.head > 0 && q.head >= len(q.items)/2 && len(q.items) == cap(q.items) {
		n := copy(q.items, q.items[q.head:])
		clear(q.items[n:])
		q.items, q.head = q.items[:n], 0
	}
	q.items = append(q.items, p)
}

func (q *fifo) pop() *packet {
	p := q.items[q.head]
	q.items[q.head] = nil
	q.head++
	if q.head == len(q.items) {
		q.items, q.head = q.items[:0], 0
	}
	return p
}

// Freed packets and trails are kept for reuse, up to this many each: a
// steady run then writes a packet without allocating its buffers.
const maxFree = 64

// Buffers larger than this are not kept for reuse, so one jumbo frame does
// not pin its memory for the rest of the run.
const maxReusedBuf = 16 << 10

func (w *Writer) newTrail(host string) *trail {
	var t *trail
	if n := len(w.freeTrails); n > 0 {
		t, w.freeTrails = w.freeTrails[n-1], w.freeTrails[:n-1]
	} else {
		t = new(trail)
	}
	t.reset(host)
	return t
}

func (w *Writer) freeTrail(t *trail) {
	if len(w.freeTrails) < maxFree && cap(t.buf) <= maxReusedBuf {
		w.freeTrails = append(w.freeTrails, t)
	}
}

func (w *Writer) newPacket() *packet {
	if n := len(w.freePackets); n > 0 {
		p := w.freePackets[n-1]
		w.freePackets = w.freePackets[:n-1]
		return p
	}
	return new(packet)
}

func (w *Writer) freePacket(p *packet) {
	for _, t := range p.trs {
		w.freeTrail(t)
	}
	data := p.data[:0]
	if cap(data) > maxReusedBuf {
		data = nil
	}
	trs := p.trs[:0]
	clear(p.trs)
	*p = packet{data: data, trs: trs}
	if len(w.freePackets) < maxFree {
		w.freePackets = append(w.freePackets, p)
	}
}

// writeReady writes the packets at the head of the queue whose trails are
// complete; it stops at the first that is not, so packets keep capture
// order.
func (w *Writer) writeReady() {
	for w.queue.len() > 0 && w.queue.front().complete {
		p := w.queue.pop()
		w.retire(p)
		w.writePacket(p)
	}
}

// retire forgets p in the indexes that find packets still queued, as it
// leaves the queue.
func (w *Writer) retire(p *packet) {
	if p.key.frame == 0 {
		return
	}
	if w.sent[p.key.frame] == p {
		delete(w.sent, p.key.frame)
	}
	if w.recv[p.key.frame] == p {
		delete(w.recv, p.key.frame)
	}
	if p.held {
		p.held = false
		if i := slices.Index(w.held, p); i >= 0 {
			w.held = slices.Delete(w.held, i, i+1)
		}
	}
}

// writeHead writes the oldest packet now, complete or not: its walk has
// taken too long (MaxPending, MaxPendingAge) or the writer is flushing
// everything (FlushPending, Close).
func (w *Writer) writeHead() {
	p := w.queue.pop()
	if !p.complete {
		for _, t := range p.trs {
			if ow, ok := w.open[t.key]; ok && ow.p == p {
				// Later steps of this walk will find no packet and
				// wait in the trail table until EndWalk discards them.
				delete(w.open, t.key)
			}
		}
	}
	w.retire(p)
	w.writePacket(p)
}

// writePacket encodes p as an Enhanced Packet Block (draft-ietf-opsawg-
// pcapng, 4.3) and frees it. After a write error nothing more is written,
// but packets still leave the queue, so the bounds hold.
func (w *Writer) writePacket(p *packet) {
	defer w.freePacket(p)
	if p.skip {
		return
	}
	for _, t := range p.trs {
		if !t.ended {
			w.stats.Truncated++
			break
		}
	}
	if w.err != nil {
		return
	}
	var packetID uint64
	if p.key.frame != 0 {
		// epb_packetid (draft 4.3.1): the run-wide frame ID, the same in
		// the sender's and every receiver's copy of the frame.
		packetID = p.key.frame
	}
	flags := epbFlags(p)
	w.block = appendEPB(w.block[:0], epb{
		iface:    p.iface,
		ts:       w.cfg.Start.Add(p.t).UnixNano(),
		data:     p.data,
		origLen:  p.origLen,
		comments: w.comments(p),
		flags:    flags.ToUint32(),
		packetID: packetID,
	})
	if _, err := w.bw.Write(w.block); err != nil {
		w.fail(err)
		return
	}
	w.stats.Packets++
}

// comments returns p's comments, one per trail, each cut with
// TruncatedNote if its walk had not ended; the slice is reused.
func (w *Writer) comments(p *packet) [][]byte {
	w.commentBuf = w.commentBuf[:0]
	for _, t := range p.trs {
		w.commentBuf = append(w.commentBuf, t.commentBytes(!t.ended))
	}
	return w.commentBuf
}

// epbFlags is the epb_flags word of p (draft 4.3.1 "Enhanced Packet Block
// Flags Word"): the direction, the reception type of an inbound frame,
// the FCS length in octets, and the CRC-error bit when the NIC found the
// FCS wrong.
func epbFlags(p *packet) pcapgo.NgEpbFlags {
	f := pcapgo.NgEpbFlags{FCSLen: pcapgo.NewNgEpbFlagFCSLength(fcsLen)}
	switch p.dir {
	case viz.Inbound:
		f.Direction = pcapgo.NgEpbFlagDirectionInbound
		f.Reception = receptionType(p.data)
	case viz.Outbound:
		f.Direction = pcapgo.NgEpbFlagDirectionOutbound
	}
	if p.fcsError {
		f.LinkLayerErr = pcapgo.NgEpbFlagLinkLayerDependentErrorCRC
	}
	return f
}

// receptionType classifies an inbound frame by its destination MAC: the
// first bit on the wire (the low bit of the first octet) marks a group
// address, and all ones is broadcast (IEEE 802.3 3.2.3).
func receptionType(frame []byte) pcapgo.NgEpbFlag {
	if len(frame) < 6 {
		return pcapgo.NgEpbFlagReceptionTypeNotSpecified
	}
	dst := frame[:6]
	switch {
	case string(dst) == "\xff\xff\xff\xff\xff\xff":
		return pcapgo.NgEpbFlagReceptionTypeBroadcast
	case dst[0]&1 == 1:
		return pcapgo.NgEpbFlagReceptionTypeMulticast
	}
	return pcapgo.NgEpbFlagReceptionTypeUnicast
}
