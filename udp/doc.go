// Package udp is packetwalk's UDP (RFC 768): the datagram format, the
// socket table that finds a datagram's socket by port, and the bounded
// queue each socket reads from. It is an ip.Transport for protocol 17,
// registered with IP by package stack like TCP and ICMP; its contract
// with the layers around it is in contract.go.
//
// Its part of the walk, after IP's protocol step (see package ip), one
// logged step per line:
//
//	udp check  length, checksum with the pseudo-header         -> udp_malformed, udp_checksum
//	udp demux  by destination address and port | none: ICMP
//	           port unreachable (not about a broadcast)         -> no_socket
//	udp queue  the socket's receive buffer has room             -> rcvbuf_full
//
// Ephemeral ports come from the search TCP uses too (ip.PortSearch).
package udp
