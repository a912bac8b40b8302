package pcapng

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/packetwalk/packetwalk/clock"
	"github.com/packetwalk/packetwalk/viz"
)

// TestHandshakeWalk drives a log the way the stack does: the client's
// layers build a SYN and its NIC sends it; the server's NIC captures it
// and the walk waits for the RX ring's interrupt, while the client sends
// again; then the server's walk goes up to TCP and ends. The file must
// keep capture order, hold the inbound packet back until EndWalk, and
// carry each trail, direction, FCS flag and frame ID.
func TestHandshakeWalk(t *testing.T) {
	r := newRig(t, Options{})
	syn := frame(serverMAC, clientMAC, "SYN", false)

	r.clock.RunFor(time.Millisecond)
	id1 := r.send(r.client, syn,
		viz.Event{Layer: viz.LayerTCP, Step: "connect", Verdict: viz.Send, Msg: "SYN to 10.0.0.1:80"},
		viz.Event{Layer: viz.LayerIP, Step: "route", Verdict: viz.Send}, // no message: name and verdict
	)
	r.client.Emit(viz.Event{Layer: viz.LayerTCP, Step: "state", Fields: []viz.Field{viz.F("to", "SYN_SENT")}}) // no frame: no packet's step

	r.clock.RunFor(10 * time.Microsecond)
	r.receive(r.server, id1, syn, false)
	steps(r.server, id1,
		viz.Event{Layer: viz.LayerNIC, Step: "fcs", Verdict: viz.Pass, Msg: "FCS ok"},
		viz.Event{Layer: viz.LayerNIC, Step: "mac", Verdict: viz.Pass, Msg: "dst MAC mine"},
		viz.Event{Layer: viz.LayerNIC, Step: "ring", Verdict: viz.Pass, Msg: "ring 3/256"},
	)

	// Before the interrupt, the client sends again. It is complete, but
	// must wait behind the server's packet.
	r.clock.RunFor(5 * time.Microsecond)
	again := frame(serverMAC, clientMAC, "SYN again", false)
	id2 := r.send(r.client, again, viz.Event{Layer: viz.LayerTCP, Step: "retransmit", Verdict: viz.Send, Msg: "SYN retransmitted"})
	if err := r.w.Flush(); err != nil {
		t.Fatal(err)
	}
	if _, pkts := readFile(t, r.out.Bytes()); len(pkts) != 1 || packetID(pkts[0]) != id1 {
		t.Fatalf("before EndWalk the file has %d packets, want only the client's first SYN", len(pkts))
	}
	if s := r.w.Stats(); s.Pending != 2 {
		t.Errorf("Stats.Pending = %d, want 2 (the server's SYN and the client's later one)", s.Pending)
	}

	r.clock.RunFor(20 * time.Microsecond) // interrupt delay
	steps(r.server, id1,
		viz.Event{Layer: viz.LayerNIC, Step: "driver", Verdict: viz.Pass, Msg: "IPv4"},
		viz.Event{Layer: viz.LayerIP, Step: "header", Verdict: viz.Pass, Msg: "checksum ok, mine, proto 6"},
		viz.Event{Layer: viz.LayerTCP, Step: "demux", Verdict: viz.Pass, Msg: "SYN on listener :80"},
		viz.Event{Layer: viz.LayerTCP, Step: "listen_clone", Verdict: viz.Pass, Msg: "clone socket #5"},
		viz.Event{Layer: viz.LayerTCP, Step: "synack", Verdict: viz.Send, Msg: "SYN+ACK"},
	)
	tServer := r.clock.Now()
	r.server.EndWalk(id1)

	// A frame damaged on the wire: the server's NIC drops it.
	r.clock.RunFor(time.Millisecond)
	bad := frame(serverMAC, clientMAC, "SYN damaged", true)
	id3 := r.log.NewFrameID()
	r.receive(r.server, id3, bad, true)
	steps(r.server, id3, viz.Event{Layer: viz.LayerNIC, Step: "fcs", Verdict: viz.Drop, Reason: viz.ReasonFCSMismatch, Msg: "FCS 0x1c2d3e4f != computed 0x9a0b11c2"})
	r.server.EndWalk(id3)

	// A packet the client drops before its NIC: no packet, no trail left.
	id4 := r.log.NewFrameID()
	steps(r.client, id4,
		viz.Event{Layer: viz.LayerIP, Step: "route", Verdict: viz.Pass, Msg: "to 192.0.2.9"},
		viz.Event{Layer: viz.LayerIP, Step: "route", Verdict: viz.Drop, Reason: viz.ReasonNoRoute},
	)
	// Steps of a frame dropped inside the NIC's transmit path, ended by
	// EndWalk without a capture: no trail left either.
	id5 := r.log.NewFrameID()
	steps(r.client, id5, viz.Event{Layer: viz.LayerIP, Step: "output", Verdict: viz.Send, Msg: "to 10.0.0.1"})
	r.client.EndWalk(id5)

	if err := r.w.Close(); err != nil {
		t.Fatal(err)
	}
	if s := r.w.Stats(); s.Packets != 4 || s.Truncated != 0 || s.Pending != 0 || s.Trails != 0 || s.Interfaces != 2 {
		t.Errorf("Stats = %+v, want 4 packets, none truncated or pending, no trails left, 2 interfaces", s)
	}

	rd, pkts := readFile(t, r.out.Bytes())
	if got := rd.SectionInfo().Application; got != "packetwalk" {
		t.Errorf("section application %q, want packetwalk", got)
	}
	if !strings.Contains(rd.SectionInfo().Comment, "step trail") {
		t.Errorf("section comment %q does not describe the capture", rd.SectionInfo().Comment)
	}

	// Interfaces: one per NIC, in order of first capture.
	if n := rd.NInterfaces(); n != 2 {
		t.Fatalf("%d interfaces, want 2", n)
	}
	for i, want := range []struct{ name, mac string }{{"client/eth0", clientMAC.String()}, {"server/eth0", serverMAC.String()}} {
		intf, _ := rd.Interface(i)
		if intf.Name != want.name || !strings.Contains(intf.Description, want.mac) ||
			intf.LinkType != layers.LinkTypeEthernet || intf.SnapLength != DefaultSnapLen {
			t.Errorf("interface %d = %q %q link %v snaplen %d, want %q with MAC %s, Ethernet, %d",
				i, intf.Name, intf.Description, intf.LinkType, intf.SnapLength, want.name, want.mac, DefaultSnapLen)
		}
	}
	for i, opts := range idbOptions(t, r.out.Bytes()) {
		if got := opts[optIfFCSLen]; !bytes.Equal(got, []byte{32}) {
			t.Errorf("interface %d: if_fcslen = %v, want [32] (bits: a 4-octet FCS)", i, got)
		}
		want := clientMAC
		if i == 1 {
			want = serverMAC
		}
		if got := opts[optIfMACaddr]; !bytes.Equal(got, want[:]) {
			t.Errorf("interface %d: if_MACaddr = % x, want % x", i, got, want[:])
		}
	}

	type expect struct {
		iface   int
		dir     pcapgo.NgEpbFlag
		crc     bool
		id      uint64
		data    []byte
		when    time.Time
		comment string
	}
	wants := []expect{
		{0, pcapgo.NgEpbFlagDirectionOutbound, false, id1, syn, at(time.Millisecond),
			"client tcp: SYN to 10.0.0.1:80 | ip: route send | nic: eth0 sends"},
		{1, pcapgo.NgEpbFlagDirectionInbound, false, id1, syn, at(time.Millisecond + 10*time.Microsecond),
			"server nic: FCS ok -> dst MAC mine -> ring 3/256 -> IPv4 | ip: checksum ok, mine, proto 6 | tcp: SYN on listener :80 -> clone socket #5 -> SYN+ACK"},
		{0, pcapgo.NgEpbFlagDirectionOutbound, false, id2, again, at(time.Millisecond + 15*time.Microsecond),
			"client tcp: SYN retransmitted | nic: eth0 sends"},
		{1, pcapgo.NgEpbFlagDirectionInbound, true, id3, bad, at(tServer + time.Millisecond),
			"server nic: DROP fcs_mismatch: FCS 0x1c2d3e4f != computed 0x9a0b11c2"},
	}
	if len(pkts) != len(wants) {
		t.Fatalf("%d packets, want %d", len(pkts), len(wants))
	}
	for i, want := range wants {
		p := pkts[i]
		if p.ci.InterfaceIndex != want.iface {
			t.Errorf("packet %d: interface %d, want %d", i+1, p.ci.InterfaceIndex, want.iface)
		}
		if !p.ci.Timestamp.Equal(want.when) {
			t.Errorf("packet %d: time %v, want %v", i+1, p.ci.Timestamp, want.when)
		}
		if !bytes.Equal(p.data, want.data) || p.ci.Length != len(want.data) {
			t.Errorf("packet %d: data differs from the frame as captured", i+1)
		}
		if packetID(p) != want.id {
			t.Errorf("packet %d: packet ID %d, want frame ID %d", i+1, packetID(p), want.id)
		}
		if got := comment(p); got != want.comment {
			t.Errorf("packet %d: comment\n got %q\nwant %q", i+1, got, want.comment)
		}
		f := p.opts.Flags
		if f == nil {
			t.Errorf("packet %d: no epb_flags", i+1)
			continue
		}
		if f.Direction != want.dir {
			t.Errorf("packet %d: direction %b, want %b", i+1, f.Direction, want.dir)
		}
		if f.FCSLen != pcapgo.NewNgEpbFlagFCSLength(4) {
			t.Errorf("packet %d: FCS length bits %b, want 4 octets", i+1, f.FCSLen)
		}
		if crc := f.LinkLayerErr&pcapgo.NgEpbFlagLinkLayerDependentErrorCRC != 0; crc != want.crc {
			t.Errorf("packet %d: CRC error bit %v, want %v", i+1, crc, want.crc)
		}
		if want.dir == pcapgo.NgEpbFlagDirectionInbound && f.Reception != pcapgo.NgEpbFlagReceptionTypeUnicast {
			t.Errorf("packet %d: reception type %b, want unicast", i+1, f.Reception)
		}
	}
}

// TestEmptyCapture: a file closed before any frame is still a pcapng file
// (its section header), which readers accept.
func TestEmptyCapture(t *testing.T) {
	var out bytes.Buffer
	w, err := New(&out, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if out.Len() == 0 {
		t.Fatal("New wrote nothing: a live reader would see no file")
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if n := len(idbOptions(t, out.Bytes())); n != 0 {
		t.Errorf("%d interfaces in a capture without frames, want 0", n)
	}
}

// TestTrailRendering covers the comment format's corner cases.
func TestTrailRendering(t *testing.T) {
	tests := []struct {
		name   string
		events []viz.Event
		limit  int
		cut    bool
		want   string
	}{
		{"none", nil, 4096, false, "h: no steps logged"},
		{"name and verdict", []viz.Event{{Layer: viz.LayerIP, Step: "header", Verdict: viz.Pass}, {Layer: viz.LayerIP, Step: "frag"}},
			4096, false, "h ip: header pass -> frag"},
		{"drop without message", []viz.Event{{Layer: viz.LayerTCP, Step: "demux", Verdict: viz.Drop, Reason: viz.ReasonNoSocket}},
			4096, false, "h tcp: DROP no_socket: demux"},
		{"layers come back", []viz.Event{{Layer: viz.LayerIP, Msg: "a"}, {Layer: viz.LayerTCP, Msg: "b"}, {Layer: viz.LayerIP, Msg: "c"}},
			4096, false, "h ip: a | tcp: b | ip: c"},
		{"one line of UTF-8", []viz.Event{{Layer: viz.LayerApp, Msg: "GET /\r\nHost: x\t\xff ok é"}},
			4096, false, "h app: GET /  Host: x \uFFFD ok é"},
		{"cut", []viz.Event{{Layer: viz.LayerNIC, Msg: "FCS ok"}}, 4096, true, "h nic: FCS ok" + TruncatedNote},
		{"too long", []viz.Event{{Layer: viz.LayerNIC, Msg: strings.Repeat("x", 30)}, {Layer: viz.LayerNIC, Msg: strings.Repeat("y", 30)}, {Layer: viz.LayerNIC, Msg: "z"}},
			70, false, "h nic: " + strings.Repeat("x", 30) + TruncatedNote},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var tr trail
			tr.reset("h")
			for i := range tt.events {
				tr.add(&tt.events[i], tt.limit)
			}
			got := tr.comment(tt.cut)
			if got != tt.want {
				t.Errorf("comment\n got %q\nwant %q", got, tt.want)
			}
			if len(got) > tt.limit {
				t.Errorf("comment has %d bytes, over the limit of %d", len(got), tt.limit)
			}
		})
	}
}

// exchange drives a small run with two hosts, several NICs and frames
// damaged on the wire, and returns the IDs of the frames whose FCS is bad.
func exchange(r *rig) (badIDs map[uint64]bool) {
	badIDs = map[uint64]bool{}
	for i := range 12 {
		r.clock.RunFor(time.Duration(100+i) * time.Microsecond)
		// The client sends a good frame; the wire damages every fourth.
		payload := fmt.Sprintf("segment %d of the exchange", i)
		id := r.send(r.client, frame(serverMAC, clientMAC, payload, false),
			viz.Event{Layer: viz.LayerTCP, Step: "send", Verdict: viz.Send, Msg: fmt.Sprintf("segment %d, seq %d", i, 1000*i)})
		r.clock.RunFor(7 * time.Microsecond)
		damaged := i%4 == 3
		r.receive(r.server, id, frame(serverMAC, clientMAC, payload, damaged), damaged)
		if damaged {
			steps(r.server, id, viz.Event{Layer: viz.LayerNIC, Step: "fcs", Verdict: viz.Drop, Reason: viz.ReasonFCSMismatch, Msg: "FCS mismatch"})
			r.server.EndWalk(id)
			badIDs[id] = true
			continue
		}
		steps(r.server, id, viz.Event{Layer: viz.LayerNIC, Step: "fcs", Verdict: viz.Pass, Msg: "FCS ok"})
		r.clock.RunFor(3 * time.Microsecond)
		steps(r.server, id,
			viz.Event{Layer: viz.LayerIP, Step: "header", Verdict: viz.Pass, Msg: "checksum ok, mine, proto 6"},
			viz.Event{Layer: viz.LayerTCP, Step: "data", Verdict: viz.Deliver, Msg: fmt.Sprintf("in order, %d bytes to the receive buffer", 20+i)})
		r.server.EndWalk(id)
	}
	// Many NICs, so that any map order leaking into the file would show.
	for n := range 20 {
		rec := r.log.Recorder(fmt.Sprintf("host%02d", n))
		data := frame(serverMAC, clientMAC, "hello", false)
		id := r.log.NewFrameID()
		rec.Emit(viz.Event{Layer: viz.LayerARP, Step: "request", Verdict: viz.Send, Frame: id, Msg: "who has 10.0.0.1"})
		rec.Capture(viz.CapturedFrame{NIC: fmt.Sprintf("eth%d", n%3), MAC: clientMAC.String(), Dir: viz.Outbound, Frame: id, Data: data})
		rec.EndWalk(id)
	}
	return badIDs
}

// TestDeterministic: one sequence of calls gives one file, byte for byte.
func TestDeterministic(t *testing.T) {
	var files [2][]byte
	for i := range files {
		r := newRig(t, Options{})
		exchange(r)
		if err := r.w.Close(); err != nil {
			t.Fatal(err)
		}
		files[i] = r.out.Bytes()
	}
	if !bytes.Equal(files[0], files[1]) {
		t.Fatalf("two runs of one sequence differ (%d and %d bytes)", len(files[0]), len(files[1]))
	}
	if _, pkts := readFile(t, files[0]); len(pkts) != 12*2+20 {
		t.Fatalf("%d packets, want %d", len(pkts), 12*2+20)
	}
}

// TestPendingBound: inbound packets whose walk never ends are still
// written, oldest first, once more than MaxPending wait, with the note;
// Close writes the rest.
func TestPendingBound(t *testing.T) {
	const limit, captured = 8, 20
	r := newRig(t, Options{MaxPending: limit})
	var ids []uint64
	for i := range captured {
		id := r.log.NewFrameID()
		ids = append(ids, id)
		r.receive(r.server, id, frame(serverMAC, clientMAC, fmt.Sprint("never ends ", i), false), false)
		steps(r.server, id, viz.Event{Layer: viz.LayerNIC, Msg: "FCS ok"})
		if p := r.w.Stats().Pending; p > limit {
			t.Fatalf("%d packets pending, over the limit of %d", p, limit)
		}
	}
	// A late step of a packet already written goes nowhere; its EndWalk
	// then throws it away.
	steps(r.server, ids[0], viz.Event{Layer: viz.LayerIP, Msg: "late"})
	r.server.EndWalk(ids[0])
	// The newest one ends normally.
	r.server.EndWalk(ids[captured-1])

	if err := r.w.Flush(); err != nil {
		t.Fatal(err)
	}
	_, pkts := readFile(t, r.out.Bytes())
	if len(pkts) != captured-limit {
		t.Fatalf("after Flush: %d packets written, want %d", len(pkts), captured-limit)
	}
	if err := r.w.Close(); err != nil {
		t.Fatal(err)
	}
	_, pkts = readFile(t, r.out.Bytes())
	if len(pkts) != captured {
		t.Fatalf("after Close: %d packets, want %d", len(pkts), captured)
	}
	for i, p := range pkts {
		if packetID(p) != ids[i] {
			t.Errorf("packet %d has ID %d, want %d: capture order lost", i+1, packetID(p), ids[i])
		}
		want := "server nic: FCS ok" + TruncatedNote
		if i == captured-1 {
			want = "server nic: FCS ok"
		}
		if got := comment(p); got != want {
			t.Errorf("packet %d: comment %q, want %q", i+1, got, want)
		}
	}
	if s := r.w.Stats(); s.Truncated != captured-1 || s.Trails != 0 {
		t.Errorf("Stats = %+v, want %d truncated and no trails left", s, captured-1)
	}
}

// TestTrailBound: trails of frames that are never captured stay within
// MaxTrails, the oldest forgotten first.
func TestTrailBound(t *testing.T) {
	const limit, frames = 16, 100
	r := newRig(t, Options{MaxTrails: limit})
	wire := r.log.Recorder("wire0") // phy steps under a wire's name: never captured
	var ids []uint64
	for range frames {
		id := r.log.NewFrameID()
		ids = append(ids, id)
		steps(wire, id, viz.Event{Layer: viz.LayerPHY, Msg: "bits on the wire"})
		steps(r.client, id, viz.Event{Layer: viz.LayerTCP, Msg: "segment built"})
		if n := r.w.Stats().Trails; n > limit {
			t.Fatalf("%d trails held, over the limit of %d", n, limit)
		}
	}
	if s := r.w.Stats(); s.Trails != limit || s.Evicted != 2*frames-limit {
		t.Errorf("Stats = %+v, want %d trails held and %d evicted", s, limit, 2*frames-limit)
	}
	// The newest client trail survived, the oldest did not.
	r.client.Capture(viz.CapturedFrame{NIC: "eth0", Dir: viz.Outbound, Frame: ids[frames-1], Data: frame(serverMAC, clientMAC, "new", false)})
	r.client.Capture(viz.CapturedFrame{NIC: "eth0", Dir: viz.Outbound, Frame: ids[0], Data: frame(serverMAC, clientMAC, "old", false)})
	if err := r.w.Close(); err != nil {
		t.Fatal(err)
	}
	_, pkts := readFile(t, r.out.Bytes())
	if len(pkts) != 2 || comment(pkts[0]) != "client tcp: segment built" || comment(pkts[1]) != "client: no steps logged" {
		t.Fatalf("comments %q, want the newest trail kept and the oldest evicted", []string{comment(pkts[0]), comment(pkts[1])})
	}
}

// TestMaxPendingAge: a live capture writes a packet whose walk is stuck
// once run time has moved on far enough.
func TestMaxPendingAge(t *testing.T) {
	r := newRig(t, Options{MaxPendingAge: time.Second})
	id := r.log.NewFrameID()
	r.receive(r.server, id, frame(serverMAC, clientMAC, "stuck", false), false)
	steps(r.server, id, viz.Event{Layer: viz.LayerNIC, Msg: "FCS ok"})
	r.clock.RunFor(999 * time.Millisecond)
	steps(r.client, r.log.NewFrameID(), viz.Event{Layer: viz.LayerTCP, Msg: "timer"})
	if s := r.w.Stats(); s.Pending != 1 {
		t.Fatalf("written before MaxPendingAge: pending %d", s.Pending)
	}
	r.clock.RunFor(time.Millisecond)
	r.client.Emit(viz.Event{Layer: viz.LayerTCP, Step: "timer", Frame: r.log.NewFrameID()})
	if err := r.w.Flush(); err != nil {
		t.Fatal(err)
	}
	_, pkts := readFile(t, r.out.Bytes())
	if len(pkts) != 1 || comment(pkts[0]) != "server nic: FCS ok"+TruncatedNote {
		t.Fatalf("after MaxPendingAge: %d packets, want the stuck one, truncated", len(pkts))
	}
}

// TestFlushPending: a live reader gets every packet now.
func TestFlushPending(t *testing.T) {
	r := newRig(t, Options{})
	id := r.log.NewFrameID()
	r.receive(r.server, id, frame(serverMAC, clientMAC, "in progress", false), false)
	r.send(r.client, frame(serverMAC, clientMAC, "after", false))
	if err := r.w.FlushPending(); err != nil {
		t.Fatal(err)
	}
	_, pkts := readFile(t, r.out.Bytes())
	if len(pkts) != 2 || !strings.HasSuffix(comment(pkts[0]), TruncatedNote) || strings.HasSuffix(comment(pkts[1]), TruncatedNote) {
		t.Fatalf("FlushPending wrote %d packets, want the one in progress (truncated) and the complete one", len(pkts))
	}
}

// failWriter accepts n bytes, then fails; it records Close.
type failWriter struct {
	n      int
	closed bool
}

var errDisk = errors.New("disk full")

func (f *failWriter) Write(b []byte) (int, error) {
	if len(b) > f.n {
		n := f.n
		f.n = 0
		return n, errDisk
	}
	f.n -= len(b)
	return len(b), nil
}

func (f *failWriter) Close() error { f.closed = true; return nil }

// TestWriteErrors: errors are kept and returned, never a panic, and the
// writer is closed all the same.
func TestWriteErrors(t *testing.T) {
	if _, err := New(&failWriter{n: 10}, Options{}); !errors.Is(err, errDisk) {
		t.Errorf("New on a failing writer: %v, want %v", err, errDisk)
	}
	fw := &failWriter{n: 1000}
	w, err := New(fw, Options{})
	if err != nil {
		t.Fatal(err)
	}
	log := viz.NewLog(clock.NewVirtual())
	log.AddSink(w)
	rec := log.Recorder("client")
	for i := range 100 {
		id := log.NewFrameID()
		rec.Emit(viz.Event{Layer: viz.LayerTCP, Frame: id, Msg: fmt.Sprint("segment ", i)})
		rec.Capture(viz.CapturedFrame{NIC: "eth0", Dir: viz.Outbound, Frame: id, Data: frame(serverMAC, clientMAC, strings.Repeat("x", 500), false)})
		rec.EndWalk(id)
	}
	if err := w.Flush(); !errors.Is(err, errDisk) {
		t.Errorf("Flush: %v, want %v", err, errDisk)
	}
	if err := w.Close(); !errors.Is(err, errDisk) {
		t.Errorf("Close: %v, want %v", err, errDisk)
	}
	if !fw.closed {
		t.Error("Close did not close the writer after an error")
	}
	if err := w.Close(); !errors.Is(err, errDisk) {
		t.Errorf("second Close: %v, want the same error", err)
	}
}

// TestTrailBoundaries: an outbound trail ends at Capture, an inbound one
// starts there; steps outside those bounds leave nothing behind.
func TestTrailBoundaries(t *testing.T) {
	r := newRig(t, Options{})
	data := frame(serverMAC, clientMAC, "boundaries", false)
	id := r.log.NewFrameID()
	steps(r.client, id, viz.Event{Layer: viz.LayerTCP, Msg: "built"})
	r.client.Capture(viz.CapturedFrame{NIC: "eth0", Dir: viz.Outbound, Frame: id, Data: data})
	steps(r.client, id, viz.Event{Layer: viz.LayerNIC, Msg: "after the capture"})
	r.client.EndWalk(id)

	steps(r.server, id, viz.Event{Layer: viz.LayerPHY, Msg: "before the capture"})
	r.server.Capture(viz.CapturedFrame{NIC: "eth0", Dir: viz.Inbound, Frame: id, Data: data})
	steps(r.server, id, viz.Event{Layer: viz.LayerNIC, Msg: "FCS ok"})
	r.server.EndWalk(id)
	steps(r.server, id, viz.Event{Layer: viz.LayerTCP, Verdict: viz.Drop, Reason: viz.ReasonNoSocket, Msg: "after EndWalk"})

	if s := r.w.Stats(); s.Trails != 0 {
		t.Errorf("%d trails left behind", s.Trails)
	}
	if err := r.w.Close(); err != nil {
		t.Fatal(err)
	}
	_, pkts := readFile(t, r.out.Bytes())
	want := []string{"client tcp: built", "server nic: FCS ok"}
	if len(pkts) != 2 || comment(pkts[0]) != want[0] || comment(pkts[1]) != want[1] {
		t.Fatalf("got %d packets, want comments %q", len(pkts), want)
	}
}

// TestConcurrentFlush: a live capture flushes from its own goroutine while
// the log writes (run with -race).
func TestConcurrentFlush(t *testing.T) {
	r := newRig(t, Options{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 200 {
			if err := r.w.Flush(); err != nil {
				t.Error(err)
				return
			}
			_ = r.w.Stats()
		}
	}()
	exchange(r)
	<-done
	if err := r.w.FlushPending(); err != nil {
		t.Fatal(err)
	}
}
