// Package pcapng exports a packetwalk run as a pcapng capture file that
// Wireshark and tshark open with the stack's reasoning attached to every
// packet.
//
// A Writer is a viz.Capturer: added to a viz.Log as a sink, it receives the
// frames NICs capture and the step events of the run, and writes:
//
//   - one Interface Description Block per NIC ("server/eth0"), made when the
//     NIC captures its first frame, saying the frames carry a 4-byte FCS
//     (draft-ietf-opsawg-pcapng, 4.2 "Interface Description Block");
//   - one Enhanced Packet Block per captured frame, exactly as it crossed
//     the NIC, with its direction, its FCS length, the CRC-error bit when
//     the NIC found its FCS wrong, the run-wide frame ID as packet ID (so
//     the sender's and the receiver's copies of one frame share it) and the
//     frame's step trail on that host as the packet comment (draft 4.3
//     "Enhanced Packet Block", 4.3.1 "Enhanced Packet Block Flags Word");
//   - with Options.Topology, Name Resolution Blocks that give every IPv4
//     and MAC address of the run its host's name, before the first packet
//     (draft 4.5; names.go), so that Wireshark's packet list reads
//     "client → server" with network name resolution on (tshark -N n).
//
// Which copies are written is Options.View. ViewWire (what the command
// line's --pcap writes) keeps each frame once, as the wire's far end sees
// it: after the wire's impairments (a corrupted frame with its bad FCS, a
// duplicate twice, a reordered frame late, a lost frame not at all), with
// every host's walk of it as its comments, the sender's first; so
// Wireshark's TCP analysis, which follows a conversation across
// interfaces, sees what really crossed the wire and reports no
// retransmission that never happened. ViewNICs keeps every NIC's copy, as
// a capture on each host would; Options.Hosts limits a file to some hosts
// (--pcap-host NAME writes one host's view).
//
// A comment reads like this (the host, then each layer's consecutive steps):
//
//	server nic: FCS ok, dst MAC mine -> ring 3/256 -> IPv4 | ip: checksum ok, mine, proto 6 | tcp: SYN on listener :80 -> clone socket #5 -> SYN+ACK
//
// and `tshark -r trace.pcapng -o eth.check_fcs:TRUE -Y frame.comment` shows
// it next to Wireshark's own FCS verdict, which agrees with the NIC's.
//
// The Section Header and Interface Description Blocks are encoded by
// github.com/gopacket/gopacket/pcapgo's NgWriter; the two IDB options it
// cannot write (if_fcslen and if_MACaddr) are spliced into the blocks it
// produces (see interfaces.go). Enhanced Packet Blocks, one per frame, are
// encoded here (epb.go), with the same bytes and no allocation.
//
// With a fixed Options.Start (the default is DefaultStart) the output
// depends only on the sequence of calls, so a seeded simulation gives a
// byte-identical file on every run and every machine. Everything an
// outsider can make grow (packets waiting for their walk to end, trails of
// frames that are never captured, a comment's length) has a bound in
// Options.
package pcapng
