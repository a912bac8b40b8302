package pcapng

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gopacket/gopacket/pcapgo"

	"github.com/packetwalk/packetwalk/stack"
	"github.com/packetwalk/packetwalk/viz"
)

// routedPing runs one ping from client to server through the router of
// stack.NewRouted, captured in the wire view with opts (Topology set to
// the log's unless noNames), and returns the file.
func routedPing(t *testing.T, noNames bool) []byte {
	t.Helper()
	r, err := stack.NewRouted(stack.TopologyConfig{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	opts := Options{View: ViewWire}
	if !noNames {
		opts.Topology = r.Net.Log.Topology
	}
	w, err := New(&out, opts)
	if err != nil {
		t.Fatal(err)
	}
	r.Net.Log.AddSink(w)
	r.Client.Ping(stack.PingConfig{Dst: r.Server.Addr(), Count: 1}, nil, func(stack.PingStats) {})
	r.Net.Run()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// nrbRecord is one record of a Name Resolution Block.
type nrbRecord struct {
	typ  uint16
	addr string // as netip or MAC text
	name string
}

// readNRBs returns the records of the file's Name Resolution Blocks, the
// number of Enhanced Packet Blocks written before the first one (-1 if
// there is none), and the number of blocks.
func readNRBs(t *testing.T, b []byte) (recs []nrbRecord, packetsBefore, blocks int) {
	t.Helper()
	le := binary.LittleEndian
	packets, seen := 0, false
	for len(b) >= 12 {
		typ, n := le.Uint32(b), le.Uint32(b[4:])
		if n < 12 || int(n) > len(b) || n%4 != 0 || le.Uint32(b[n-4:]) != n {
			t.Fatalf("bad block of type %#x, length %d", typ, n)
		}
		switch typ {
		case blockTypeEPB:
			packets++
		case blockTypeNRB:
			blocks++
			if !seen {
				packetsBefore, seen = packets, true
			}
			body := b[8 : n-4]
			for {
				rt, rl := le.Uint16(body), int(le.Uint16(body[2:]))
				if rt == nrbRecordEnd {
					if rl != 0 || len(body) != 4 {
						t.Errorf("the end record has length %d and %d bytes after it, want 0 and none", rl, len(body)-4)
					}
					break
				}
				v := body[4 : 4+rl]
				rec := nrbRecord{typ: rt}
				switch rt {
				case nrbRecordIPv4:
					rec.addr = netip.AddrFrom4([4]byte(v[:4])).String()
					v = v[4:]
				case nrbRecordEUI48:
					rec.addr = strings.ToLower(netMAC(v[:6]))
					v = v[6:]
				default:
					t.Fatalf("unexpected record type %d", rt)
				}
				if len(v) == 0 || v[len(v)-1] != 0 {
					t.Errorf("record %s: name %q is not zero-terminated", rec.addr, v)
				}
				rec.name = string(bytes.TrimSuffix(v, []byte{0}))
				recs = append(recs, rec)
				body = body[4+(rl+3)/4*4:]
			}
		}
		b = b[n:]
	}
	if !seen {
		packetsBefore = -1
	}
	return recs, packetsBefore, blocks
}

func netMAC(b []byte) string {
	var s []string
	for _, x := range b {
		s = append(s, string("0123456789abcdef"[x>>4])+string("0123456789abcdef"[x&15]))
	}
	return strings.Join(s, ":")
}

// The file names every address of the topology, before its first packet:
// each host's IPv4 addresses and MACs get the host's name (the router's two
// of each, "router"), each once.
func TestNameResolutionBlock(t *testing.T) {
	raw := routedPing(t, false)
	recs, before, blocks := readNRBs(t, raw)
	if before != 0 || blocks != 1 {
		t.Errorf("%d Name Resolution Blocks, the first after %d packets; want one, before the first packet", blocks, before)
	}
	want := []nrbRecord{
		{nrbRecordIPv4, "10.0.0.1", "client"}, {nrbRecordEUI48, "02:00:00:00:00:01", "client"},
		{nrbRecordIPv4, "10.0.0.254", "router"}, {nrbRecordEUI48, "02:00:00:00:00:03", "router"},
		{nrbRecordIPv4, "10.0.1.254", "router"}, {nrbRecordEUI48, "02:00:00:00:00:04", "router"},
		{nrbRecordIPv4, "10.0.1.2", "server"}, {nrbRecordEUI48, "02:00:00:00:00:02", "server"},
	}
	if !slices.Equal(recs, want) {
		t.Errorf("name records:\n got %v\nwant %v", recs, want)
	}
	// gopacket's pcapng reader, which we did not write, reads the same.
	var theirs, ours []string
	for _, r := range want {
		ours = append(ours, r.addr+"="+r.name)
	}
	ng, err := pcapgo.NewNgReader(bytes.NewReader(raw), pcapgo.DefaultNgReaderOptions)
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, _, err := ng.ReadPacketData(); err != nil {
			break
		}
	}
	for i := range ng.NNames() {
		r, _ := ng.Name(i)
		switch a := r.Addr.(type) {
		case *pcapgo.NgIPAddress:
			theirs = append(theirs, a.Addr.String()+"="+strings.Join(r.Names, ","))
		case *pcapgo.NgEUIAddress:
			theirs = append(theirs, a.Addr.String()+"="+strings.Join(r.Names, ","))
		}
	}
	if !slices.Equal(theirs, ours) {
		t.Errorf("pcapgo reads the names as\n%v\nwant\n%v", theirs, ours)
	}
	// Without a topology, no names.
	if recs, _, _ := readNRBs(t, routedPing(t, true)); len(recs) != 0 {
		t.Errorf("without Options.Topology the file names %v", recs)
	}
}

// Hosts registered after the first packet are named before their own
// first packet; an address already named keeps its first name (a forged
// source does not rename its owner); a run without new hosts writes no
// empty block at Close.
func TestNameResolutionBlockLater(t *testing.T) {
	r := newRig(t, Options{})
	var out bytes.Buffer
	r.log.RemoveSink(r.w)
	var err error
	if r.w, err = New(&out, Options{Topology: r.log.Topology}); err != nil {
		t.Fatal(err)
	}
	r.log.AddSink(r.w)
	r.log.AddTopoNIC("client", viz.TopoNIC{Name: "eth0", MAC: clientMAC.String(), Addrs: []string{"10.0.0.1/24"}})
	r.client.Capture(viz.CapturedFrame{Host: "client", NIC: "eth0", MAC: clientMAC.String(), Dir: viz.Outbound, Frame: 1,
		Data: frame(serverMAC, clientMAC, "one", false)})
	r.log.AddTopoNIC("server", viz.TopoNIC{Name: "eth0", MAC: serverMAC.String(), Addrs: []string{"10.0.0.2/24"}})
	r.log.AddTopoNIC("spoofer", viz.TopoNIC{Name: "eth0", MAC: clientMAC.String(), Addrs: []string{"10.0.0.1/24", "not an address"}})
	r.server.Capture(viz.CapturedFrame{Host: "server", NIC: "eth0", MAC: serverMAC.String(), Dir: viz.Outbound, Frame: 2,
		Data: frame(clientMAC, serverMAC, "two", false)})
	if err := r.w.Close(); err != nil {
		t.Fatal(err)
	}
	recs, before, blocks := readNRBs(t, out.Bytes())
	want := []nrbRecord{
		{nrbRecordIPv4, "10.0.0.1", "client"}, {nrbRecordEUI48, strings.ToLower(clientMAC.String()), "client"},
		{nrbRecordIPv4, "10.0.0.2", "server"}, {nrbRecordEUI48, strings.ToLower(serverMAC.String()), "server"},
	}
	if before != 0 || !slices.Equal(recs, want) {
		t.Errorf("name records (first block after %d packets):\n got %v\nwant %v", before, recs, want)
	}
	if blocks != 2 {
		t.Errorf("%d Name Resolution Blocks, want 2: one before each host's first packet, none at Close", blocks)
	}
}

// Wireshark, which we did not write, reads the names: with network name
// resolution on (View > Name Resolution > Resolve Network Addresses, or
// tshark -N n) the ping shows client and server; with physical names too
// (-N mn) Wireshark ties each MAC to the name of the address its ARP
// exchange announced (Wireshark 4.0 does not read the EUI-48 records
// themselves). Without the Name Resolution Block it shows bare addresses.
func TestTsharkNames(t *testing.T) {
	tshark := requireTool(t, "tshark", "install Wireshark's command line with `apt-get install tshark`")
	dir := t.TempDir()
	fields := func(raw []byte, name string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, raw, 0o644); err != nil {
			t.Fatal(err)
		}
		return run(t, tshark, "-r", path, "-N", "mn", "-T", "fields", "-Y", "icmp",
			"-e", "ip.src_host", "-e", "ip.dst_host", "-e", "eth.src_resolved", "-e", "eth.dst_resolved")
	}
	// The request crosses wire0 (client to router) and wire1 (router to
	// server); the reply comes back the same way.
	named := fields(routedPing(t, false), "named.pcapng")
	want := "client\tserver\tclient\trouter\n" + "client\tserver\trouter\tserver\n" +
		"server\tclient\tserver\trouter\n" + "server\tclient\trouter\tclient\n"
	if named != want {
		t.Errorf("tshark -N mn shows\n%s\nwant\n%s", named, want)
	}
	bare := fields(routedPing(t, true), "bare.pcapng")
	if !strings.HasPrefix(bare, "10.0.0.1\t10.0.1.2\t") {
		t.Errorf("without names tshark should show addresses:\n%s", bare)
	}
}
