package main

import (
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/packetwalk/packetwalk/internal/testenv"
	"github.com/packetwalk/packetwalk/labs/scenario"
)

// Wireshark's TCP analysis, which we did not write, reads the default
// trace's capture: with each frame once (the wire view) it finds nothing
// wrong, as nothing went wrong. With every NIC's copy in one file it saw
// each segment twice and reported retransmissions and duplicate ACKs that
// never happened (issue 16).
func TestTraceCaptureCleanInWireshark(t *testing.T) {
	tshark := testenv.Tool(t, "tshark", "install it with: apt-get install tshark")
	dir := t.TempDir()
	pcap := filepath.Join(dir, "t.pcapng")
	if code, _, errOut := runCLI("trace", "--quiet", "--pcap", pcap, "--json", "", "--html", ""); code != 0 {
		t.Fatalf("trace: exit %d: %s", code, errOut)
	}
	out, err := exec.Command(tshark, "-r", pcap, "-q", "-z", "expert").Output()
	if err != nil {
		t.Fatalf("tshark: %v", err)
	}
	for _, bad := range []string{"retransmission", "Duplicate ACK", "out-of-order", "not captured", "ACKed segment"} {
		if strings.Contains(string(out), bad) {
			t.Errorf("tshark's expert info on a clean trace reports %q:\n%s", bad, out)
		}
	}
	if !strings.Contains(string(out), "Connection establish request (SYN)") {
		t.Errorf("tshark's expert info does not show the handshake; did it read the capture?\n%s", out)
	}
}

// On an impaired wire, every TCP-analysis warning Wireshark gives the
// capture is explained by the step log: a loss, a reordering or a
// duplicate on the wire, or a retransmission the stack logged. The
// segments lost on the wire are not in the wire view (its capture point
// never saw them), so the senders' own captures (--pcap-host) give their
// sequence numbers.
func TestTraceCaptureWarningsMatchTheStepLog(t *testing.T) {
	tshark := testenv.Tool(t, "tshark", "install it with: apt-get install tshark")
	dir := t.TempDir()
	pcap, jsonl := filepath.Join(dir, "t.pcapng"), filepath.Join(dir, "t.jsonl")
	if code, _, errOut := runCLI("trace", "--quiet", "--loss", "0.05", "--reorder", "0.02", "--dup", "0.02", "--seed", "7",
		"--get", "/big.txt", "--pcap", pcap, "--pcap-host", "client", "--pcap-host", "server", "--json", jsonl, "--html", ""); code != 0 {
		t.Fatalf("trace: exit %d: %s", code, errOut)
	}
	events, err := scenario.ReadLog(jsonl)
	if err != nil {
		t.Fatal(err)
	}
	// What the step log says happened to each frame ID.
	lost, reordered, duplicate, retransmitted := map[uint64]bool{}, map[uint64]bool{}, map[uint64]bool{}, map[uint64]bool{}
	dupOf := map[uint64]uint64{} // a wire duplicate's frame ID -> the original's
	for _, e := range events {
		switch {
		case e.Layer == "phy" && e.Step == "loss":
			lost[e.Frame] = true
		case e.Layer == "phy" && e.Step == "reorder":
			reordered[e.Frame] = true
		case e.Layer == "phy" && e.Step == "duplicate":
			duplicate[e.Frame] = true
			of, _ := e.Field("dup_of")
			dupOf[e.Frame], _ = strconv.ParseUint(of, 10, 64)
		case e.Layer == "tcp" && e.Step == "retransmit":
			retransmitted[e.Frame] = true
		}
	}
	// The run is seeded with packetwalk on both ends, so the same
	// impairments happen every time: each kind must be there for the
	// check below to mean something.
	if len(lost) == 0 || len(retransmitted) == 0 || len(reordered) == 0 || len(duplicate) == 0 {
		t.Fatalf("seed 7 gives %d losses, %d reorderings, %d duplicates, %d retransmissions: choose a seed that gives losses and retransmissions",
			len(lost), len(reordered), len(duplicate), len(retransmitted))
	}

	// Every TCP segment either host sent, by frame ID, lost ones included.
	type seg struct {
		id            uint64
		src           string
		seq, ack, len int64
	}
	fields := func(file string, extra ...string) [][]string {
		args := append([]string{"-r", file, "-o", "tcp.relative_sequence_numbers:FALSE", "-T", "fields",
			"-e", "frame.number", "-e", "frame.packet_id", "-e", "ip.src", "-e", "tcp.seq", "-e", "tcp.ack", "-e", "tcp.len"}, extra...)
		out, err := exec.Command(tshark, args...).Output()
		if err != nil {
			t.Fatalf("tshark %q: %v", args, err)
		}
		var rows [][]string
		for _, l := range strings.Split(strings.TrimRight(string(out), "\n"), "\n") {
			if l != "" {
				rows = append(rows, strings.Split(l, "\t"))
			}
		}
		return rows
	}
	parse := func(r []string) seg {
		n := func(s string) int64 { v, _ := strconv.ParseInt(s, 10, 64); return v }
		return seg{id: uint64(n(r[1])), src: r[2], seq: n(r[3]), ack: n(r[4]), len: n(r[5])}
	}
	sent := map[uint64]seg{}
	for _, host := range []string{"client", "server"} {
		for _, r := range fields(filepath.Join(dir, "t-"+host+".pcapng"), "-Y", "tcp && frame.p2p_dir == 0") {
			s := parse(r)
			sent[s.id] = s
		}
	}
	if len(sent) == 0 {
		t.Fatal("the hosts' captures hold no TCP segment they sent")
	}
	// impaired says a segment from src, before frame id, was lost or
	// held back on the wire and matches.
	impaired := func(id uint64, src string, match func(seg) bool) bool {
		for x, s := range sent {
			if x < id && s.src == src && (lost[x] || reordered[x]) && match(s) {
				return true
			}
		}
		return false
	}

	flags := []string{"retransmission", "fast_retransmission", "spurious_retransmission", "out_of_order",
		"lost_segment", "ack_lost_segment", "duplicate_ack_num", "window_update"}
	var extra []string
	for _, f := range flags {
		extra = append(extra, "-e", "tcp.analysis."+f)
	}
	rows := fields(pcap, append([]string{"-Y", "tcp.analysis.flags"}, extra...)...)
	if len(rows) == 0 {
		t.Fatal("tshark finds no TCP-analysis warning on an impaired trace: did it read the capture?")
	}
	counts := map[string]int{}
	for _, r := range rows {
		s := parse(r)
		other := "10.0.0.1"
		if s.src == other {
			other = "10.0.0.2"
		}
		for i, f := range flags {
			if r[6+i] == "" {
				continue
			}
			counts[f]++
			var ok bool
			switch f {
			case "retransmission", "fast_retransmission", "spurious_retransmission":
				// Both hosts are packetwalk and log every retransmission:
				// the stack resent it, or the wire copied it.
				ok = retransmitted[s.id] || duplicate[s.id]
			case "out_of_order":
				// The wire delayed it, or it fills a hole that a lost or
				// delayed copy of the same sequence number left.
				ok = retransmitted[s.id] || reordered[s.id] || duplicate[s.id] ||
					impaired(s.id, s.src, func(x seg) bool { return x.seq == s.seq })
			case "lost_segment":
				// A segment sent before it, with a lower sequence number,
				// did not get here (yet).
				ok = impaired(s.id, s.src, func(x seg) bool { return x.seq < s.seq })
			case "ack_lost_segment":
				ok = impaired(s.id, other, func(x seg) bool { return x.seq < s.ack })
			case "duplicate_ack_num":
				// The receiver repeats its ACK for the hole a lost or
				// delayed segment left, or on receiving data twice.
				ok = impaired(s.id, other, func(x seg) bool { return x.seq == s.ack })
				for x, orig := range dupOf {
					ok = ok || (x < s.id && sent[orig].src == other)
				}
				for x := range retransmitted {
					ok = ok || (x < s.id && sent[x].src == other)
				}
			case "window_update":
				// Not a warning about the wire: the receiver opening its
				// window after reading, which happens on a clean wire
				// too.
				ok = true
			}
			if !ok {
				t.Errorf("frame %s (frame ID %d, %s seq %d ack %d len %d): Wireshark's %s matches no loss, reordering, duplicate or retransmission in the step log",
					r[0], s.id, s.src, s.seq, s.ack, s.len, f)
			}
		}
	}
	t.Logf("tshark's TCP-analysis flags on the impaired trace: %v", counts)
}

// The captures name the hosts (issue 16): their Name Resolution Blocks
// give every address of the run its host's name, which Wireshark shows
// with network name resolution on (tshark -N n), in the wire view and in
// a host's own view alike.
func TestCaptureNamesHosts(t *testing.T) {
	tshark := testenv.Tool(t, "tshark", "install it with: apt-get install tshark")
	dir := t.TempDir()
	pcap := filepath.Join(dir, "p.pcapng")
	if code, _, errOut := runCLI("ping", "--quiet", "--count", "1", "--via-router", "--pcap", pcap, "--pcap-host", "server"); code != 0 {
		t.Fatalf("ping: exit %d: %s", code, errOut)
	}
	for _, path := range []string{pcap, hostCapturePath(pcap, "server")} {
		out, err := exec.Command(tshark, "-r", path, "-N", "n", "-Y", "icmp", "-T", "fields", "-e", "ip.src_host", "-e", "ip.dst_host").Output()
		if err != nil {
			t.Fatalf("tshark %s: %v", path, err)
		}
		if !strings.Contains(string(out), "client\tserver\n") || !strings.Contains(string(out), "server\tclient\n") || strings.Contains(string(out), "10.0.") {
			t.Errorf("tshark -N n on %s does not name the hosts:\n%s", filepath.Base(path), out)
		}
	}
}

// The narration explains the FCS's two byte orders (issue 16): each
// NIC's "FCS ok" step gives the CRC as a number and the value Wireshark
// shows, the bytes in wire order, and Wireshark agrees for every frame of
// a default trace.
func TestFCSByteOrderAgreesWithWireshark(t *testing.T) {
	tshark := testenv.Tool(t, "tshark", "install it with: apt-get install tshark")
	dir := t.TempDir()
	pcap, jsonl := filepath.Join(dir, "t.pcapng"), filepath.Join(dir, "t.jsonl")
	if code, _, errOut := runCLI("trace", "--quiet", "--pcap", pcap, "--json", jsonl, "--html", ""); code != 0 {
		t.Fatalf("trace: exit %d: %s", code, errOut)
	}
	events, err := scenario.ReadLog(jsonl)
	if err != nil {
		t.Fatal(err)
	}
	narrated := map[string]string{} // frame ID -> the value the narration says Wireshark shows
	for _, e := range events {
		if e.Layer != "nic" || e.Step != "fcs" || e.Verdict != "pass" {
			continue
		}
		_, shows, ok := strings.Cut(e.Message(), "so Wireshark shows ")
		if !ok {
			t.Fatalf("frame %d's FCS step does not say what Wireshark shows: %q", e.Frame, e.Message())
		}
		narrated[strconv.FormatUint(e.Frame, 10)] = strings.TrimSuffix(shows, ")")
	}
	out, err := exec.Command(tshark, "-r", pcap, "-T", "fields", "-e", "frame.packet_id", "-e", "eth.fcs").Output()
	if err != nil {
		t.Fatalf("tshark: %v", err)
	}
	compared := 0
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		id, fcs, _ := strings.Cut(l, "\t")
		if want, ok := narrated[id]; ok {
			compared++
			if fcs != want {
				t.Errorf("frame %s: the narration says Wireshark shows the FCS as %s, tshark shows %s", id, want, fcs)
			}
		}
	}
	if compared < 10 {
		t.Errorf("only %d frames compared (narrated %d, tshark printed:\n%s)", compared, len(narrated), out)
	}
}
