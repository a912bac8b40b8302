// Package ip is packetwalk's IPv4 layer: the header and its checks, the
// routing decision (mine, broadcast, forward or not mine), fragmentation and
// reassembly, the ICMP errors its decisions send (icmp_errors.go, in the
// ICMP message format of icmp.go), and the transport table that hands each
// datagram to ICMP, TCP or UDP, packages of their own that package stack
// registers (contract.go). The ephemeral-port search UDP and TCP share is
// here too (ports.go), below both.
//
// The wire formats follow smoltcp's split between a view of bytes and their
// meaning: IPv4 and ICMP are byte slices with accessors, each introduced by
// its RFC's diagram, and a Check that says which rule the bytes break; IPv4Header is a header's meaning, parsed by IPv4.Header and
// emitted by Append with its checksum. Every failed check carries a named
// drop reason from viz, so the receive path never drops in silence.
//
// The receive walk, one logged step per line ("How Network Works" ch. 6,
// RFC 791, RFC 1122 §3.2.1):
//
//	header     >= 20 bytes, version 4, IHL >= 5, header fits     -> ip_malformed
//	           header checksum (RFC 1071)                        -> ip_checksum
//	           header <= total length <= bytes; cut link padding -> ip_malformed
//	route      to me | broadcast | forward (a router: TTL-1,
//	           at 0 ICMP time exceeded; too big with DF: ICMP
//	           fragmentation needed)                             -> ip_not_mine, ttl_expired, frag_needed
//	           mine, but from an address no remote host has
//	           (127/8, 0/8, multicast, broadcast, our own)       -> ip_martian_source
//	ip_options lengths, pointers, repeats (options.go); record
//	           this host in Record Route and Timestamp | else
//	           ICMP parameter problem, pointer at the bad octet  -> ip_options_malformed
//	reassembly MF or offset != 0: hold the fragment, fill holes,
//	           complete | timeout: ICMP time exceeded (code 1)   -> frag_timeout, frag_overlap,
//	                                                                frag_memory, frag_too_large
//	protocol   the transport table: 1 ICMP, 6 TCP, 17 UDP | else
//	           ICMP protocol unreachable                         -> unknown_protocol
//
// The walk goes on in the transport's package: icmp (echo, rr_echo, errors
// handed to the transport they quote), udp (check, demux, queue), tcp.
//
// The send path is the mirror image: build the header (TTL 64, an
// Identification counted per destination, ident.go), route, and cut the datagram into fragments that fit the
// link's MTU (FragmentDatagram), or refuse with frag_needed when DF is set.
// See docs/design.md for the whole walk and the layers' contracts.
package ip
