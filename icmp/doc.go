// Package icmp is packetwalk's ICMP (RFC 792) for the messages addressed to
// this host: it answers echo requests (with the request's Record Route and
// Timestamp echoed, RFC 1122 §3.2.2.6), hands echo replies to ping, and
// hands errors to the transport that sent the datagram they quote. It is
// an ip.Transport for protocol 1, registered with IP by package stack like
// TCP and UDP; its contract with the layers around it is in contract.go.
//
// The message format (ip.ICMP, its types and codes) and the errors the
// walk sends (unreachable, time exceeded, parameter problem, within the
// rules of RFC 1122 §3.2.2 and a rate limit) belong to package ip, whose
// decisions they report: ICMP "is actually an integral part of IP" (RFC
// 792).
//
// Its part of the walk, after IP's protocol step (see package ip), one
// logged step per line:
//
//	icmp check     length, checksum; an error quotes an IPv4
//	               header and 8 bytes                           -> icmp_malformed, icmp_checksum
//	icmp echo      echo request -> echo reply (not to a
//	               broadcast with icmp_echo_ignore_broadcasts)   -> icmp_echo_broadcast
//	icmp rr_echo   the reply echoes Record Route and Timestamp,
//	               this host recorded again as it leaves         -> icmp_echo_options
//	icmp echo_reply  to ping
//	icmp error     unreachable, time exceeded, parameter
//	               problem -> the transport the quote names
package icmp
