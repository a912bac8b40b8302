package stack

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"net/netip"
	"testing"
	"time"

	"github.com/packetwalk/packetwalk/ip"
	"github.com/packetwalk/packetwalk/nic"
	"github.com/packetwalk/packetwalk/tcp"
	"github.com/packetwalk/packetwalk/viz"
)

// FuzzHostReceive feeds arbitrary frames to the NIC of a packetwalk host
// that has a listener on port 80 and an established connection with data
// in both buffers: the whole receive walk (PHY, FCS, MAC filter, ring, ARP,
// IPv4, reassembly, ICMP, UDP, TCP demux and state machine), and whatever
// the host sends back, which the client host receives in turn.
//
// It asserts what the design promises of hostile input: no panic, every
// drop carries a reason from viz.Reasons() (none is silent or unnamed),
// and the state an outsider can grow stays within its limits (reassembly
// memory, half-open sockets).
//
// The inputs are two frames (so fragments can meet, a SYN can be
// followed by its ACK) and a byte of fix-ups that keep the fuzzer from
// spending its time on frames the NIC rejects at the first check: bit 0
// writes the server's MAC as destination, bit 1 recomputes the IPv4 header
// checksum, bit 2 the TCP, UDP or ICMP checksum, bit 3 leaves the FCS as
// the input has it (otherwise it is recomputed).
//
// The seed corpus is the frames of a real exchange with this very rig
// (testdata/fuzz/FuzzHostReceive, written by TestFuzzHostCorpus with
// -update-corpus) and crafted attacks built from the rig's live sequence
// numbers below.
func FuzzHostReceive(f *testing.F) {
	r := newFuzzRig(f)
	for _, c := range r.crafted() {
		f.Add(c.a, c.b, c.fix)
	}
	f.Fuzz(func(t *testing.T, a, b []byte, fix uint8) {
		r := newFuzzRig(t)
		r.inject(r.fixup(a, fix))
		r.inject(r.fixup(b, fix))
		r.p.Net.RunFor(3 * time.Second)
		r.check(t)
	})
}

// fuzzRig is client 10.0.0.1 and server 10.0.0.2 (packetwalk on both
// ends), a listener on the server's port 80 and one connection from the
// client to it, with 1000 bytes acknowledged each way and 200 more
// in flight from the client.
type fuzzRig struct {
	p          *Pair
	sink       *reasonSink
	ln         *tcp.Endpoint
	conn       *tcp.Endpoint // the server's side of the connection
	client     *tcp.Endpoint
	serverMAC  nic.MAC
	clientMAC  nic.MAC
	serverAddr netip.AddrPort
	clientAddr netip.AddrPort
	frames     [][]byte // frames that arrived at the server during setup
}

// fuzzBacklog is the rig's listen backlog; the SYN queue may hold at
// most this many half-open sockets.
const fuzzBacklog = 4

func newFuzzRig(tb testing.TB) *fuzzRig {
	tb.Helper()
	small := tcp.Config{SendBuffer: 16 << 10, ReceiveBuffer: 16 << 10}
	p, err := NewPair(TopologyConfig{Seed: 7, IP: HostConfig{TCP: small,
		IP: ip.Config{Reassembly: ip.ReassemblerConfig{MaxBytes: 64 << 10, MaxDatagrams: 8}}}})
	if err != nil {
		tb.Fatal(err)
	}
	r := &fuzzRig{p: p, sink: newReasonSink()}
	p.Net.Log.AddSink(r.sink)
	r.serverMAC = p.Server.Interfaces()[0].NIC.MAC()
	r.clientMAC = p.Client.Interfaces()[0].NIC.MAC()
	r.serverAddr = netip.AddrPortFrom(p.Server.Addr(), 80)
	if r.ln, err = p.Server.TCP.Listen(r.serverAddr, fuzzBacklog, tcp.Options{}, nil); err != nil {
		tb.Fatal(err)
	}
	if r.client, err = p.Client.TCP.Connect(netip.AddrPort{}, r.serverAddr, tcp.Options{NoDelay: true}, nil); err != nil {
		tb.Fatal(err)
	}
	r.clientAddr = r.client.LocalAddr()
	p.Net.RunFor(time.Second)
	if r.conn, err = r.ln.Accept(); err != nil {
		tb.Fatalf("rig: the handshake did not complete: %v", err)
	}
	msg := make([]byte, 1000)
	for i := range msg {
		msg[i] = byte('a' + i%26)
	}
	if _, err := r.client.Write(msg); err != nil {
		tb.Fatal(err)
	}
	if _, err := r.conn.Write(msg); err != nil {
		tb.Fatal(err)
	}
	p.Net.RunFor(time.Second)
	// 200 bytes left unread on the server's side.
	if _, err := r.client.Write(msg[:200]); err != nil {
		tb.Fatal(err)
	}
	p.Net.RunFor(time.Second)
	r.frames = r.sink.frames
	r.sink.frames = nil
	r.sink.keepFrames = false
	if bad := r.sink.bad; len(bad) > 0 {
		tb.Fatalf("rig: unnamed drops during setup: %v", bad)
	}
	return r
}

// inject delivers one frame to the server's NIC, as the wire would.
func (r *fuzzRig) inject(frame []byte) {
	if frame == nil {
		return
	}
	n := r.p.Server.Interfaces()[0].NIC
	id := r.p.Net.Log.NewFrameID()
	bits := append([]byte(nil), frame...)
	r.p.Net.Clock.Post(func() { n.Arrive(bits, id) })
}

// check asserts the invariants after a run.
func (r *fuzzRig) check(t *testing.T) {
	t.Helper()
	if len(r.sink.bad) > 0 {
		t.Fatalf("drops without a reason from viz.Reasons(): %v", r.sink.bad)
	}
	for _, h := range []*Host{r.p.Server, r.p.Client} {
		held, bytes := h.IP.Reassembler().Pending()
		if held > 8 || bytes > 64<<10 {
			t.Fatalf("%s: reassembly holds %d datagrams, %d bytes: over its limits (8, 65536)", h.Name, held, bytes)
		}
	}
	if n := len(r.p.Server.TCP.Endpoints()); n > 2+2*fuzzBacklog {
		t.Fatalf("server holds %d sockets; the listener, one connection and a backlog of %d allow at most %d", n, fuzzBacklog, 2+2*fuzzBacklog)
	}
}

// fixup applies the fix-up bits to a copy of frame (see FuzzHostReceive).
func (r *fuzzRig) fixup(frame []byte, fix uint8) []byte {
	if len(frame) == 0 {
		return nil
	}
	f := append([]byte(nil), frame...)
	if fix&1 != 0 && len(f) >= 6 {
		copy(f[0:6], r.serverMAC[:])
	}
	if len(f) >= nic.HeaderLen+nic.FCSLen && binary.BigEndian.Uint16(f[12:14]) == uint16(nic.EtherTypeIPv4) {
		fixIPv4(f[nic.HeaderLen:len(f)-nic.FCSLen], fix&2 != 0, fix&4 != 0)
	}
	if fix&8 == 0 && len(f) >= nic.HeaderLen+nic.FCSLen {
		binary.LittleEndian.PutUint32(f[len(f)-nic.FCSLen:], crc32.ChecksumIEEE(f[:len(f)-nic.FCSLen]))
	}
	return f
}

// fixIPv4 recomputes the header checksum and, for an unfragmented
// datagram whose lengths agree, the transport checksum.
func fixIPv4(p []byte, header, transport bool) {
	if len(p) < 20 || p[0]>>4 != 4 {
		return
	}
	ihl := int(p[0]&0x0f) * 4
	total := int(binary.BigEndian.Uint16(p[2:4]))
	if ihl < 20 || ihl > len(p) || total < ihl || total > len(p) {
		return
	}
	if transport && binary.BigEndian.Uint16(p[6:8])&0x3fff == 0 {
		body := p[ihl:total]
		src, _ := netip.AddrFromSlice(p[12:16])
		dst, _ := netip.AddrFromSlice(p[16:20])
		at := -1
		var initial uint32
		switch ip.Protocol(p[9]) {
		case ip.ProtocolTCP:
			at, initial = 16, ip.PseudoHeaderSum(src, dst, ip.ProtocolTCP, uint16(len(body)))
		case ip.ProtocolUDP:
			at, initial = 6, ip.PseudoHeaderSum(src, dst, ip.ProtocolUDP, uint16(len(body)))
		case ip.ProtocolICMP:
			at = 2
		}
		if at >= 0 && len(body) >= at+2 {
			body[at], body[at+1] = 0, 0
			binary.BigEndian.PutUint16(body[at:], ip.Checksum(body, initial))
		}
	}
	if header {
		p[10], p[11] = 0, 0
		binary.BigEndian.PutUint16(p[10:12], ip.Checksum(p[:ihl], 0))
	}
}

// reasonSink fails a drop whose reason is not one of viz.Reasons(), and
// keeps the frames that reach the server while the rig is set up.
type reasonSink struct {
	known      map[viz.Reason]bool
	bad        []string
	drops      map[viz.Reason]int
	keepFrames bool
	frames     [][]byte
}

func newReasonSink() *reasonSink {
	s := &reasonSink{known: map[viz.Reason]bool{}, drops: map[viz.Reason]int{}, keepFrames: true}
	for _, r := range viz.Reasons() {
		s.known[r] = true
	}
	return s
}

// Event implements viz.Sink.
func (s *reasonSink) Event(e *viz.Event) {
	if e.Verdict != viz.Drop {
		return
	}
	s.drops[e.Reason]++
	if !s.known[e.Reason] && len(s.bad) < 10 {
		s.bad = append(s.bad, fmt.Sprintf("%s %s/%s reason %q: %s", e.Host, e.Layer, e.Step, e.Reason, e.Message()))
	}
}

// Capture implements viz.Capturer: the setup's frames into the server.
func (s *reasonSink) Capture(f *viz.CapturedFrame) {
	if s.keepFrames && f.Dir == viz.Inbound && f.Host == "server" {
		s.frames = append(s.frames, append([]byte(nil), f.Data...))
	}
}

// EndWalk implements viz.Capturer.
func (s *reasonSink) EndWalk(string, uint64) {}
