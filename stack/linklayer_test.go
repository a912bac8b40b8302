package stack

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/packetwalk/packetwalk/internal/testenv"
	"github.com/packetwalk/packetwalk/nic"
	"github.com/packetwalk/packetwalk/viz"
	"github.com/packetwalk/packetwalk/viz/pcapng"
	"github.com/packetwalk/packetwalk/wire"
)

// etherTypeExperimental is IEEE 802's "local experimental" EtherType, for
// raw frames that no protocol of the stack claims.
const etherTypeExperimental nic.EtherType = 0x88b5

type countingProtocol struct{ frames int }

func (c *countingProtocol) Receive(nic.RxFrame) { c.frames++ }

// linkRun is the link-layer exchange of issue 2: ARP, then raw frames,
// over an impaired wire. It returns the JSON Lines log, the pcapng bytes,
// and the count of fcs_mismatch drops the NICs logged.
type linkRun struct {
	jsonl, pcap []byte
	fcsDrops    int
	rxCRCErrors uint64
	delivered   int
	events      []viz.Event
}

func runLinkExchange(t *testing.T, seed int64, frames int) linkRun {
	t.Helper()
	p, err := NewPair(TopologyConfig{Seed: seed, Wire: wire.Config{Impairments: wire.Impairments{
		Loss: 0.05, Duplicate: 0.05, Reorder: 0.1, Corrupt: 0.15, Seed: seed}}})
	if err != nil {
		t.Fatal(err)
	}
	var jsonl, pcap bytes.Buffer
	js := viz.NewJSONLSink(&jsonl)
	pw, err := pcapng.New(&pcap, pcapng.Options{})
	if err != nil {
		t.Fatal(err)
	}
	mem := &viz.MemorySink{}
	p.Net.Log.AddSink(js)
	p.Net.Log.AddSink(pw)
	p.Net.Log.AddSink(mem)
	sink := &countingProtocol{}
	server := p.Server.Interfaces()[0]
	server.NIC.Register(etherTypeExperimental, sink)
	client := p.Client.Interfaces()[0]
	for i := 0; i < frames; i++ {
		payload := []byte(fmt.Sprintf("raw frame %d from client to server", i))
		// ARP resolves the server's MAC first (queueing meanwhile), then
		// each frame goes out with the experimental EtherType.
		// An error here (queue full, neighbour unresolved while ARP
		// frames are being lost) is also a logged, named drop.
		_ = client.ARP.Output(p.Server.Addr(), etherTypeExperimental, payload, 0)
		p.Net.RunFor(1e6) // 1 ms between frames
	}
	p.Net.Run()
	if err := js.Close(); err != nil {
		t.Fatal(err)
	}
	if err := pw.Close(); err != nil {
		t.Fatal(err)
	}
	r := linkRun{jsonl: jsonl.Bytes(), pcap: pcap.Bytes(), delivered: sink.frames, events: mem.Events()}
	for _, e := range r.events {
		if e.Reason == viz.ReasonFCSMismatch {
			r.fcsDrops++
		}
	}
	for _, h := range p.Net.Hosts() {
		for _, i := range h.Interfaces() {
			r.rxCRCErrors += i.NIC.Stats().RxCRCErrors
		}
	}
	return r
}

// With packetwalk hosts on both ends and the same seed, two runs give the
// same event log and a byte-identical pcapng; another seed gives another.
func TestLinkExchangeDeterministic(t *testing.T) {
	a := runLinkExchange(t, 42, 200)
	b := runLinkExchange(t, 42, 200)
	if !bytes.Equal(a.jsonl, b.jsonl) {
		t.Fatal("same seed, different event logs")
	}
	if !bytes.Equal(a.pcap, b.pcap) {
		t.Fatal("same seed, different pcapng files")
	}
	c := runLinkExchange(t, 43, 200)
	if bytes.Equal(a.jsonl, c.jsonl) {
		t.Fatal("different seeds gave the same log: the impairments ignore the seed")
	}
	if a.fcsDrops == 0 || a.fcsDrops != int(a.rxCRCErrors) {
		t.Fatalf("fcs_mismatch drops logged %d, NIC counters %d (want equal and > 0)", a.fcsDrops, a.rxCRCErrors)
	}
	if a.delivered == 0 || a.delivered >= 200+20 {
		t.Fatalf("delivered %d raw frames", a.delivered)
	}
	// Every step names a known drop reason.
	for _, e := range a.events {
		if e.Verdict == viz.Drop && !e.Reason.Known() {
			t.Fatalf("drop with an unlisted reason: %+v", e)
		}
	}
}

// Every frame packetwalk put in the capture decodes with gopacket, a
// decoder we did not write, once its FCS is set aside.
func TestCapturedFramesDecodeWithGopacket(t *testing.T) {
	run := runLinkExchange(t, 7, 50)
	r, err := pcapgo.NewNgReader(bytes.NewReader(run.pcap), pcapgo.DefaultNgReaderOptions)
	if err != nil {
		t.Fatal(err)
	}
	n, arps := 0, 0
	for {
		data, ci, err := r.ReadPacketData()
		if err != nil {
			break
		}
		n++
		if len(data) < 64 || ci.CaptureLength != len(data) {
			t.Fatalf("packet %d: %d bytes", n, len(data))
		}
		if nic.Frame(data).FCS() != nic.Frame(data).ComputeFCS() {
			continue // damaged on the wire: the receiver's copy has a bad FCS
		}
		p := gopacket.NewPacket(data[:len(data)-nic.FCSLen], layers.LayerTypeEthernet, gopacket.Default)
		eth, ok := p.Layer(layers.LayerTypeEthernet).(*layers.Ethernet)
		if !ok {
			t.Fatalf("packet %d: no Ethernet layer: %v", n, p.ErrorLayer())
		}
		// gopacket knows no decoder for the experimental EtherType: that
		// is the only error allowed, and only on those frames.
		if el := p.ErrorLayer(); el != nil && eth.EthernetType != layers.EthernetType(etherTypeExperimental) {
			t.Fatalf("packet %d does not decode: %v", n, el.Error())
		}
		if a, ok := p.Layer(layers.LayerTypeARP).(*layers.ARP); ok {
			arps++
			if !bytes.Equal(a.SourceProtAddress, []byte{10, 0, 0, 1}) && !bytes.Equal(a.SourceProtAddress, []byte{10, 0, 0, 2}) {
				t.Fatalf("ARP from %v", a.SourceProtAddress)
			}
		}
	}
	if n == 0 || arps == 0 {
		t.Fatalf("%d packets, %d ARP", n, arps)
	}
}

// tshark, with Wireshark's own FCS check on, finds exactly the frames the
// NICs dropped as fcs_mismatch, and shows each packet's step trail.
func TestTsharkAgreesWithFCSVerdicts(t *testing.T) {
	tshark := testenv.Tool(t, "tshark", "install it with: apt-get install tshark")
	run := runLinkExchange(t, 42, 200)
	path := filepath.Join(t.TempDir(), "link.pcapng")
	if err := os.WriteFile(path, run.pcap, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(tshark, "-r", path, "-o", "eth.check_fcs:TRUE",
		"-T", "fields", "-E", "separator=|", "-e", "frame.packet_flags_direction", "-e", "eth.fcs.status", "-e", "frame.comment").CombinedOutput()
	if err != nil {
		t.Fatalf("tshark: %v\n%s", err, out)
	}
	bad, badInbound, packets, withComment := 0, 0, 0, 0
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.SplitN(line, "|", 3)
		if len(f) != 3 || strings.HasPrefix(line, "Running as") {
			continue
		}
		packets++
		if f[2] != "" {
			withComment++
		}
		if f[1] == "0" || strings.EqualFold(f[1], "bad") {
			bad++
			if strings.HasSuffix(f[0], "1") {
				badInbound++
			}
			if !strings.Contains(f[2], "fcs_mismatch") {
				t.Errorf("tshark's bad-FCS frame lacks the NIC's verdict in its comment: %q", f[2])
			}
		}
	}
	if bad != run.fcsDrops || badInbound != bad {
		t.Fatalf("tshark finds %d bad-FCS frames (%d inbound), the NICs logged %d fcs_mismatch drops", bad, badInbound, run.fcsDrops)
	}
	if packets == 0 || withComment != packets {
		t.Fatalf("%d of %d packets have a comment", withComment, packets)
	}
	// The display filter of docs/design.md ("How a frame's step trail is
	// built") finds the comments too.
	out, err = exec.Command(tshark, "-r", path, "-o", "eth.check_fcs:TRUE", "-Y", `frame.comment contains "DROP fcs_mismatch" && eth.fcs.status == 0`).Output()
	if err != nil {
		t.Fatalf("tshark -Y frame.comment: %v\n%s", err, out)
	}
	if got := strings.Count(string(out), "\n"); got != run.fcsDrops {
		t.Fatalf("the display filter on comments finds %d frames, want %d:\n%s", got, run.fcsDrops, out)
	}
}
