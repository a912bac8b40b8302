package stack

import (
	"encoding/binary"
	"io"
	"net/netip"
	"testing"
	"time"

	"github.com/packetwalk/packetwalk/ip"
	"github.com/packetwalk/packetwalk/nic"
	"github.com/packetwalk/packetwalk/tcp"
	"github.com/packetwalk/packetwalk/viz"
	"github.com/packetwalk/packetwalk/viz/pcapng"
)

// Per-packet costs of the data path (issue 9, target 4): one frame's walk
// through NIC, IP and TCP into a socket buffer, and one segment's walk out,
// on an established connection with the step log off. Run with
//
//	go test ./stack/ -run '^$' -bench 'Path' -benchmem
//
// and read allocs/op: the hot path's target is zero. BENCHMARKS.md keeps
// the latest figures.

// discardMedium takes the frames a NIC sends and keeps nothing, so that
// a benchmark measures one host alone.
type discardMedium struct{ frames, bytes int }

func (d *discardMedium) Transmit(_ nic.Port, bits []byte, _ uint64) {
	d.frames++
	d.bytes += len(bits)
}

// frameCatcher keeps copies of the frames a host's NIC captures inbound.
type frameCatcher struct {
	host   string
	frames [][]byte
}

func (c *frameCatcher) Event(*viz.Event)       {}
func (c *frameCatcher) EndWalk(string, uint64) {}
func (c *frameCatcher) Capture(f *viz.CapturedFrame) {
	if f.Host == c.host && f.Dir == viz.Inbound {
		c.frames = append(c.frames, append([]byte(nil), f.Data...))
	}
}

// dataRig is a server connection in ESTABLISHED whose NIC is unplugged
// from the wire (plugged into a discardMedium), and a real data segment
// that the client sent it, to be replayed with advancing sequence numbers.
type dataRig struct {
	p        *Pair
	nic      *nic.NIC
	medium   *discardMedium
	srv, cli *tcp.Endpoint
	frame    []byte // the client's data segment, Ethernet to FCS
	tcpOff   int    // where the TCP header starts in frame
	seq      tcp.Seq
	payload  int
	readBuf  []byte
}

// fullSegment is a full-sized data segment on a 1500-byte MTU: 1460
// bytes, less the 12 of the timestamps option (RFC 7323 §3.2) that every
// segment carries once the handshake negotiated it.
const fullSegment = 1448

func newDataRig(tb testing.TB, segment int) *dataRig { return newDataRigOn(tb, segment, false) }

// newDataRigOn is newDataRig; with sockets, both endpoints have a socket
// above them (tcp.Upper) as the socket API gives them, so that every
// segment also wakes the socket (socket.Ready), with no descriptor.
func newDataRigOn(tb testing.TB, segment int, sockets bool) *dataRig {
	tb.Helper()
	p, err := NewPair(TopologyConfig{Seed: 1})
	if err != nil {
		tb.Fatal(err)
	}
	var srvUp, cliUp tcp.Upper
	if sockets {
		srvUp = &socket{fd: -1, typ: SOCK_STREAM, loop: p.Server.loop}
		cliUp = &socket{fd: -1, typ: SOCK_STREAM, loop: p.Client.loop}
	}
	srvAddr := netip.AddrPortFrom(p.Server.Addr(), 80)
	ln, err := p.Server.TCP.Listen(srvAddr, 8, tcp.Options{NoDelay: true}, srvUp)
	if err != nil {
		tb.Fatal(err)
	}
	cli, err := p.Client.TCP.Connect(netip.AddrPort{}, srvAddr, tcp.Options{NoDelay: true}, cliUp)
	if err != nil {
		tb.Fatal(err)
	}
	p.Net.RunFor(time.Second)
	srv, err := ln.Accept()
	if err != nil {
		tb.Fatalf("the handshake did not complete: %v", err)
	}
	// One real data segment from the client, caught at the server's NIC.
	catch := &frameCatcher{host: p.Server.Name}
	p.Net.Log.AddSink(catch)
	if _, err := cli.Write(make([]byte, segment)); err != nil {
		tb.Fatal(err)
	}
	p.Net.RunFor(time.Second)
	p.Net.Log.RemoveSink(catch)
	r := &dataRig{p: p, srv: srv, cli: cli, payload: segment, readBuf: make([]byte, 64<<10), medium: &discardMedium{}}
	for _, f := range catch.frames {
		pkt := nic.Frame(f).Payload()
		if len(pkt) < 20 || ip.Protocol(pkt[9]) != ip.ProtocolTCP {
			continue
		}
		ihl := int(pkt[0]&0x0f) * 4
		total := int(binary.BigEndian.Uint16(pkt[2:4]))
		seg := tcp.Segment(pkt[ihl:total])
		if len(seg)-seg.HeaderLen() == segment {
			r.frame, r.tcpOff = f, nic.HeaderLen+ihl
			r.seq = seg.Seq().Add(uint32(segment))
		}
	}
	if r.frame == nil {
		tb.Fatalf("no %d-byte data segment reached the server", segment)
	}
	if n, _ := srv.Read(r.readBuf); n != segment {
		tb.Fatalf("the server read %d bytes of the first segment, want %d", n, segment)
	}
	r.nic = p.Server.Interfaces()[0].NIC
	r.nic.Attach(r.medium)
	return r
}

// next rewrites the template into the next in-order segment: the sequence
// number, the TCP checksum (RFC 1624 update, no pass over the payload) and
// the FCS (which the NIC checks, so it must be right).
func (r *dataRig) next() {
	at := r.frame[r.tcpOff+4:]
	sum := binary.BigEndian.Uint16(r.frame[r.tcpOff+16:])
	old := binary.BigEndian.Uint32(at)
	binary.BigEndian.PutUint32(at, uint32(r.seq))
	sum = ip.UpdateChecksum(sum, uint16(old>>16), uint16(r.seq>>16))
	sum = ip.UpdateChecksum(sum, uint16(old), uint16(r.seq))
	binary.BigEndian.PutUint16(r.frame[r.tcpOff+16:], sum)
	f := nic.Frame(r.frame)
	binary.LittleEndian.PutUint32(r.frame[len(r.frame)-nic.FCSLen:], f.ComputeFCS())
	r.seq = r.seq.Add(uint32(r.payload))
}

// receive is the measured loop of the receive benchmarks: b.N data
// segments, each put on the server's NIC, walked through IP and TCP by the
// simulation, and read by the application; every byte must arrive.
func (r *dataRig) receive(b *testing.B) {
	clock, log := r.p.Net.Clock, r.p.Net.Log
	b.ReportAllocs()
	b.SetBytes(int64(r.payload))
	read := 0
	for range b.N {
		r.next()
		r.nic.Arrive(r.frame, log.NewFrameID())
		clock.RunUntil(clock.Now())
		n, _ := r.srv.Read(r.readBuf)
		read += n
	}
	b.StopTimer()
	if read != b.N*r.payload {
		b.Fatalf("the application read %d bytes of %d sent", read, b.N*r.payload)
	}
}

// BenchmarkReceivePath is one in-order full-sized (1448-byte) data segment from the
// NIC's Arrive (size, FCS, MAC filter, RX ring, interrupt, driver) through
// IP (header checks, route, protocol) and TCP (demux, sequence check,
// receive buffer, ACK every second segment, which goes out through IP and
// the NIC) into the socket buffer, read by the application. The crafting
// of each frame (sequence number, checksum, FCS) is included; the craft
// sub-benchmark shows what it costs alone.
func BenchmarkReceivePath(b *testing.B) {
	r := newDataRig(b, fullSegment)
	b.Run("craft", func(b *testing.B) {
		b.ReportAllocs()
		seq := r.seq
		for range b.N {
			r.next()
		}
		r.seq = seq
		r.next()
		r.seq = seq
	})
	b.Run("segment", r.receive)
}

// BenchmarkReceivePathLogged is BenchmarkReceivePath/segment with the
// step log on, as serve --json --pcap has it: every step encoded as a JSON
// line and every frame written to a pcapng capture with its step trail
// (both to io.Discard, so the figure is the CPU cost, not the disk's).
// Compare its ns/op with BenchmarkReceivePath/segment for the per-frame
// cost of tracing (issue 9, target 2).
func BenchmarkReceivePathLogged(b *testing.B) {
	r := newDataRig(b, fullSegment)
	log := r.p.Net.Log
	jsonl := viz.NewJSONLSink(io.Discard)
	capture, err := pcapng.New(io.Discard, pcapng.Options{})
	if err != nil {
		b.Fatal(err)
	}
	log.AddSink(jsonl)
	log.AddSink(capture)
	r.receive(b)
	if err := jsonl.Flush(); err != nil {
		b.Fatal(err)
	}
	if err := capture.Close(); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkTransmitPath is one full-sized (1448-byte) datagram from IP's Send (route,
// header, checksum) through ARP's cache and the NIC (frame, padding, FCS)
// onto the medium.
func BenchmarkTransmitPath(b *testing.B) {
	r := newDataRig(b, fullSegment)
	h := r.p.Server
	seg := r.frame[r.tcpOff : len(r.frame)-nic.FCSLen]
	out := ip.Outbound{Src: h.Addr(), Dst: r.p.Client.Addr(), Protocol: ip.ProtocolTCP, DF: true, Payload: seg}
	b.ReportAllocs()
	b.SetBytes(int64(len(seg)))
	before := r.medium.frames
	for range b.N {
		out.Frame = 0
		if err := h.IP.Send(out); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	if sent := r.medium.frames - before; sent != b.N {
		b.Fatalf("%d frames reached the medium, want %d", sent, b.N)
	}
}

// BenchmarkSendPath is TCP's side of sending: the application writes one
// segment's worth, TCP sends it (through IP and the NIC as above), and the
// peer's ACK for it comes back up the receive path (crafted from the
// client's last ACK), freeing the send buffer.
func BenchmarkSendPath(b *testing.B) {
	r := newDataRig(b, fullSegment)
	clock := r.p.Net.Clock
	log := r.p.Net.Log
	// The client's ACK template: its data segment without the data, ACK
	// numbers rewritten each time.
	ack := append([]byte(nil), r.frame[:r.tcpOff]...)
	seg := tcp.Segment(r.frame[r.tcpOff : len(r.frame)-nic.FCSLen])
	ack = append(ack, seg[:seg.HeaderLen()]...)
	// IP total length and checksum for a segment without data.
	ipOff := nic.HeaderLen
	binary.BigEndian.PutUint16(ack[ipOff+2:], uint16(len(ack)-ipOff))
	binary.BigEndian.PutUint16(ack[ipOff+10:], 0)
	binary.BigEndian.PutUint16(ack[ipOff+10:], ip.Checksum(ack[ipOff:r.tcpOff], 0))
	for len(ack) < nic.MinFrameLen-nic.FCSLen {
		ack = append(ack, 0)
	}
	ack = append(ack, 0, 0, 0, 0)
	src, dst := r.p.Client.Addr(), r.p.Server.Addr()
	tcpEnd := r.tcpOff + seg.HeaderLen()
	setAck := func(a tcp.Seq) {
		binary.BigEndian.PutUint32(ack[r.tcpOff+8:], uint32(a))
		binary.BigEndian.PutUint32(ack[r.tcpOff+4:], uint32(r.seq))
		binary.BigEndian.PutUint16(ack[r.tcpOff+16:], 0)
		s := tcp.Segment(ack[r.tcpOff:tcpEnd])
		binary.BigEndian.PutUint16(ack[r.tcpOff+16:], s.ComputeChecksum(src, dst))
		binary.LittleEndian.PutUint32(ack[len(ack)-nic.FCSLen:], nic.Frame(ack).ComputeFCS())
	}
	data := make([]byte, fullSegment)
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	before := r.medium.frames
	for range b.N {
		if n, err := r.srv.Write(data); n != len(data) || err != nil {
			b.Fatalf("Write: %d, %v", n, err)
		}
		clock.RunUntil(clock.Now())
		setAck(r.srv.Info().SndNxt)
		r.nic.Arrive(ack, log.NewFrameID())
		clock.RunUntil(clock.Now())
	}
	b.StopTimer()
	if sent := r.medium.frames - before; sent < b.N {
		b.Fatalf("%d frames reached the medium for %d segments written", sent, b.N)
	}
	if q := r.srv.Info().SendQueued; q != 0 {
		b.Fatalf("%d bytes still queued: the ACKs did not free the send buffer", q)
	}
}
