package pcapng

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/gopacket/gopacket/pcapgo"
)

// tshark reads the file with Wireshark's own code: the pcapng reader, the
// Ethernet dissector's FCS check and the comment and packet-ID fields.
// Field names checked with `tshark -G fields` (Wireshark 4.0):
//
//	frame.comment     opt_comment
//	frame.packet_id   epb_packetid
//	eth.fcs.status    the FCS check: 1 good, 0 bad (with eth.check_fcs on)
//	frame.packet_flags_direction  epb_flags bits 0-1, shown as 0x00000001 (in), 0x00000002 (out)
//	frame.packet_flags_crc_error  epb_flags bit 24, shown as 1 or 0
func TestTshark(t *testing.T) {
	tshark := requireTool(t, "tshark", "install Wireshark's command line with `apt-get install tshark`")

	r := newRig(t, Options{})
	path := filepath.Join(t.TempDir(), "trace.pcapng")
	// Swap the buffer for a file, as packetwalk trace does.
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	r.log.RemoveSink(r.w)
	if r.w, err = New(f, Options{}); err != nil {
		t.Fatal(err)
	}
	r.log.AddSink(r.w)
	bad := exchange(r)
	if err := r.w.Close(); err != nil { // closes f
		t.Fatal(err)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	_, pkts := readFile(t, raw) // what was written, to compare with tshark's view

	out := run(t, tshark, "-r", path, "-o", "eth.check_fcs:TRUE", "-T", "fields",
		"-e", "frame.number", "-e", "frame.comment", "-e", "eth.fcs.status", "-e", "frame.packet_id",
		"-e", "frame.packet_flags_direction", "-e", "frame.packet_flags_crc_error")
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != len(pkts) {
		t.Fatalf("tshark shows %d packets, the file holds %d:\n%s", len(lines), len(pkts), out)
	}
	var nBad int
	for i, line := range lines {
		cols := strings.Split(line, "\t")
		if len(cols) != 6 {
			t.Fatalf("tshark line %d: %d fields, want 6: %q", i+1, len(cols), line)
		}
		num, commentText, status, idText, dir, crcErr := cols[0], cols[1], cols[2], cols[3], cols[4], cols[5]
		if num != strconv.Itoa(i+1) {
			t.Errorf("line %d is frame %s", i+1, num)
		}
		if commentText == "" || commentText != comment(pkts[i]) {
			t.Errorf("frame %d: tshark's comment %q, want %q", i+1, commentText, comment(pkts[i]))
		}
		id, err := strconv.ParseUint(idText, 10, 64)
		if err != nil || id != packetID(pkts[i]) || id == 0 {
			t.Errorf("frame %d: tshark's packet ID %q, want %d", i+1, idText, packetID(pkts[i]))
		}
		inbound := pkts[i].opts.Flags.Direction == pcapgo.NgEpbFlagDirectionInbound
		wantDir := "0x00000002"
		if inbound {
			wantDir = "0x00000001"
		}
		if dir != wantDir {
			t.Errorf("frame %d: direction %q, want %q", i+1, dir, wantDir)
		}
		// Wireshark's FCS check must agree with the NIC's verdict: the
		// damaged frames are bad as the server received them, good as
		// the client sent them.
		isBad := bad[id] && inbound
		wantStatus, wantCRC := "1", "0"
		if isBad {
			wantStatus, wantCRC = "0", "1"
			nBad++
		}
		if status != wantStatus || crcErr != wantCRC {
			t.Errorf("frame %d (ID %d, bad FCS %v): eth.fcs.status %q, CRC error flag %q; want %q, %q",
				i+1, id, isBad, status, crcErr, wantStatus, wantCRC)
		}
	}
	// Only the server's copies of the damaged frames are bad: the client
	// sent them intact.
	if nBad != len(bad) || len(bad) == 0 {
		t.Errorf("tshark found %d frames with a bad FCS, want %d", nBad, len(bad))
	}

	// The design's command: every packet has a comment.
	shown := run(t, tshark, "-r", path, "-o", "eth.check_fcs:TRUE", "-Y", "frame.comment")
	if n := strings.Count(shown, "\n"); n != len(pkts) {
		t.Errorf("-Y frame.comment shows %d packets, want %d:\n%s", n, len(pkts), shown)
	}
	// And a student's filter: the drops the NIC logged are the frames
	// Wireshark finds damaged.
	drops := run(t, tshark, "-r", path, "-o", "eth.check_fcs:TRUE", "-Y", `frame.comment contains "DROP fcs_mismatch" && eth.fcs.status == 0`)
	if n := strings.Count(drops, "\n"); n != len(bad) {
		t.Errorf("filter for logged FCS drops shows %d packets, want %d:\n%s", n, len(bad), drops)
	}
	// Interfaces: the one per NIC, named host/nic.
	ifaces := run(t, tshark, "-r", path, "-T", "fields", "-e", "frame.interface_name")
	for _, name := range []string{"client/eth0", "server/eth0", "host07/eth1"} {
		if !strings.Contains(ifaces, name+"\n") {
			t.Errorf("no packet on interface %s", name)
		}
	}
}

// run runs a command and returns its standard output; a failure shows
// its standard error.
func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String()
}
