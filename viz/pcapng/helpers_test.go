package pcapng

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/packetwalk/packetwalk/clock"
	"github.com/packetwalk/packetwalk/nic"
	"github.com/packetwalk/packetwalk/viz"
)

// requireTool returns the path of an external program a test needs. When
// it is missing the test is skipped with a sentence saying how to get it,
// unless PACKETWALK_REQUIRE_ALL=1 (set by .ci/run), where a skip would hide
// a gap in what was tested: then the test fails.
func requireTool(t *testing.T, name, howto string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err == nil {
		return path
	}
	msg := fmt.Sprintf("%s is not on PATH: %s to run this test", name, howto)
	if os.Getenv("PACKETWALK_REQUIRE_ALL") == "1" {
		t.Fatal(msg + " (PACKETWALK_REQUIRE_ALL=1 turns this skip into a failure)")
	}
	t.Skip(msg)
	return ""
}

// Two hosts on one wire, as the design's main scenario has them.
var (
	serverMAC = nic.MAC{0x02, 0, 0, 0, 0, 0x01}
	clientMAC = nic.MAC{0x02, 0, 0, 0, 0, 0x02}
)

// rig is a log on a virtual clock with a Writer as its sink.
type rig struct {
	clock  *clock.Virtual
	log    *viz.Log
	w      *Writer
	out    *bytes.Buffer
	client *viz.Recorder
	server *viz.Recorder
}

func newRig(t testing.TB, opts Options) *rig {
	t.Helper()
	r := &rig{clock: clock.NewVirtual(), out: new(bytes.Buffer)}
	r.log = viz.NewLog(r.clock)
	w, err := New(r.out, opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	r.w = w
	r.log.AddSink(w)
	r.client = r.log.Recorder("client")
	r.server = r.log.Recorder("server")
	return r
}

// frame builds an Ethernet frame with its FCS; bad flips a payload byte
// after the FCS was computed, as a bit error on the wire would.
func frame(dst, src nic.MAC, payload string, bad bool) []byte {
	b := nic.AppendFrame(nil, dst, src, nic.EtherTypeIPv4, []byte(payload))
	if bad {
		b[nic.HeaderLen] ^= 0x40
	}
	return b
}

// send logs what the client's upper layers do for a new frame, then its
// NIC's transmission, the way the nic package does: the tx step, Capture,
// EndWalk. It returns the frame ID.
func (r *rig) send(rec *viz.Recorder, data []byte, steps ...viz.Event) uint64 {
	id := r.log.NewFrameID()
	for _, e := range steps {
		e.Frame = id
		rec.Emit(e)
	}
	rec.Emit(viz.Event{Layer: viz.LayerNIC, Step: "tx", Verdict: viz.Send, Frame: id, Msg: "eth0 sends"})
	rec.Capture(viz.CapturedFrame{NIC: "eth0", MAC: macOf(rec).String(), Dir: viz.Outbound, Frame: id, Data: data})
	rec.EndWalk(id)
	return id
}

// receive captures data as it arrives at rec's NIC; the walk goes on with
// steps until the caller ends it.
func (r *rig) receive(rec *viz.Recorder, id uint64, data []byte, fcsError bool) {
	rec.Capture(viz.CapturedFrame{NIC: "eth0", MAC: macOf(rec).String(), Dir: viz.Inbound, Frame: id, Data: data, FCSError: fcsError})
}

func steps(rec *viz.Recorder, id uint64, events ...viz.Event) {
	for _, e := range events {
		e.Frame = id
		rec.Emit(e)
	}
}

func macOf(rec *viz.Recorder) nic.MAC {
	if rec.Host() == "server" {
		return serverMAC
	}
	return clientMAC
}

// readBack is one packet of a file as pcapgo reads it.
type readBack struct {
	data []byte
	ci   gopacket.CaptureInfo
	opts pcapgo.NgPacketOptions
}

// readFile reads a whole pcapng file with pcapgo's reader.
func readFile(t *testing.T, b []byte) (*pcapgo.NgReader, []readBack) {
	t.Helper()
	r, err := pcapgo.NewNgReader(bytes.NewReader(b), pcapgo.DefaultNgReaderOptions)
	if err != nil {
		t.Fatalf("NewNgReader: %v", err)
	}
	var pkts []readBack
	for {
		data, ci, opts, err := r.ReadPacketDataWithOptions()
		if errors.Is(err, io.EOF) {
			return r, pkts
		}
		if err != nil {
			t.Fatalf("reading packet %d: %v", len(pkts)+1, err)
		}
		pkts = append(pkts, readBack{data, ci, opts})
	}
}

// idbOptions returns the options of every Interface Description Block of
// a little-endian pcapng file, by code, walking the blocks itself: pcapgo's
// reader skips if_fcslen and if_MACaddr.
func idbOptions(t *testing.T, b []byte) []map[uint16][]byte {
	t.Helper()
	var all []map[uint16][]byte
	for off := 0; off < len(b); {
		if len(b)-off < 12 {
			t.Fatalf("trailing %d bytes after the last block", len(b)-off)
		}
		typ := binary.LittleEndian.Uint32(b[off:])
		n := int(binary.LittleEndian.Uint32(b[off+4:]))
		if n < 12 || n%4 != 0 || off+n > len(b) || binary.LittleEndian.Uint32(b[off+n-4:]) != uint32(n) {
			t.Fatalf("block at %d: bad length %d", off, n)
		}
		if typ == blockTypeIDB {
			opts := map[uint16][]byte{}
			body := b[off+16 : off+n-4] // after link type, reserved, snaplen
			for len(body) >= 4 {
				code := binary.LittleEndian.Uint16(body)
				l := int(binary.LittleEndian.Uint16(body[2:]))
				if code == 0 {
					break
				}
				opts[code] = body[4 : 4+l]
				body = body[4+(l+3)/4*4:]
			}
			all = append(all, opts)
		}
		off += n
	}
	return all
}

func comment(p readBack) string {
	if len(p.opts.Comments) != 1 {
		return fmt.Sprintf("<%d comments>", len(p.opts.Comments))
	}
	return p.opts.Comments[0]
}

func packetID(p readBack) uint64 {
	if p.opts.PacketID == nil {
		return 0
	}
	return *p.opts.PacketID
}

func at(d time.Duration) time.Time { return DefaultStart.Add(d) }
