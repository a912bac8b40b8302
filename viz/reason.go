package viz

import "sort"

// Reason names why a packet was dropped. Every drop in packetwalk carries one
// from this list, modelled on Linux's include/net/dropreason.h: there is no
// silent return. A lab can ask "which frames were dropped with ring_full?"
// and a viewer can explain each reason in a sentence.
type Reason string

// The drop reasons, grouped by the layer that uses them. Add new ones here,
// with a sentence in reasonInfo below; TestReasonsDocumented keeps the two in
// step.
const (
	// phy: the medium itself.
	ReasonWireLoss     Reason = "wire_loss"     // an impairment lost the frame
	ReasonWireFault    Reason = "wire_fault"    // a targeted fault ("drop frame N")
	ReasonTxQueueFull  Reason = "tx_queue_full" // the port's transmit queue is full
	ReasonNoCarrier    Reason = "no_carrier"    // the NIC is not attached to a medium
	ReasonWireMTU      Reason = "wire_mtu"      // the frame's payload is larger than the wire's MTU
	ReasonSwitchFilter Reason = "switch_filter" // the destination MAC was learned on the port the frame came in on
	ReasonNoLinkLayer  Reason = "no_link_layer" // a TUN device carries IPv4 packets only: not this EtherType, not ARP replies
	ReasonDeviceError  Reason = "device_error"  // the TUN or TAP device refused a write

	// phy: the signal model (package phy), when a wire has one.
	ReasonPHYNoLock      Reason = "phy_no_lock"      // the receiver's clock recovery never locked on the preamble
	ReasonPHYSFDMissing  Reason = "phy_sfd_missing"  // locked, but no start-of-frame delimiter where one belongs
	ReasonPHYSymbolError Reason = "phy_symbol_error" // an invalid 4B/5B code group, or a stream without /T/R/

	// nic: the LAN adapter's receive and transmit path.
	ReasonRunt             Reason = "runt"              // shorter than the 64-byte minimum
	ReasonFrameTooLong     Reason = "frame_too_long"    // longer than the MTU allows
	ReasonFCSMismatch      Reason = "fcs_mismatch"      // CRC-32 over the frame disagrees with its FCS
	ReasonMACNotMine       Reason = "mac_not_mine"      // destination MAC is not ours, broadcast or a joined group
	ReasonRingFull         Reason = "ring_full"         // no free slot in the RX ring (buffer memory)
	ReasonUnknownEtherType Reason = "unknown_ethertype" // no protocol registered for the EtherType
	ReasonTxTooLong        Reason = "tx_too_long"       // an upper layer handed down more than the MTU

	// arp: neighbour resolution.
	ReasonARPMalformed  Reason = "arp_malformed"  // not an Ethernet/IPv4 ARP packet of the right length
	ReasonARPNotForMe   Reason = "arp_not_for_me" // a request for an address we do not own
	ReasonARPQueueFull  Reason = "arp_queue_full" // too many packets waiting for one neighbour
	ReasonARPUnresolved Reason = "arp_unresolved" // the neighbour never answered our requests
	ReasonARPConflict   Reason = "arp_conflict"   // the packet claims one of our own addresses (RFC 5227)

	// ip: IPv4 receive, routing and reassembly.
	ReasonIPMalformed     Reason = "ip_malformed"      // bad version, IHL or length
	ReasonIPChecksum      Reason = "ip_checksum"       // the header checksum is wrong
	ReasonIPNotMine       Reason = "ip_not_mine"       // not addressed to us and we do not forward
	ReasonTTLExpired      Reason = "ttl_expired"       // TTL reached zero while forwarding
	ReasonFragTimeout     Reason = "frag_timeout"      // reassembly did not complete in time
	ReasonFragOverlap     Reason = "frag_overlap"      // fragments overlap; the whole datagram is discarded
	ReasonFragMemory      Reason = "frag_memory"       // reassembly memory limit reached
	ReasonFragTooLarge    Reason = "frag_too_large"    // reassembled datagram would exceed 65,535 bytes
	ReasonFragDuplicate   Reason = "frag_duplicate"    // the fragment repeats bytes already held; the datagram is kept
	ReasonNoRoute         Reason = "no_route"          // no route to the destination
	ReasonIPMartian       Reason = "ip_martian"        // a router will not forward to or from this address
	ReasonIPMartianSource Reason = "ip_martian_source" // the source is loopback, 0/8, multicast, a broadcast, or our own address

	ReasonIPOptionsMalformed Reason = "ip_options_malformed" // an option's length or pointer is wrong, or it repeats; ICMP Parameter Problem goes back
	ReasonFragNeeded         Reason = "frag_needed"          // larger than the next hop's MTU, and Don't Fragment is set

	// icmp and udp: the messages IP delivers.
	ReasonICMPMalformed Reason = "icmp_malformed" // shorter than the 8-byte header, or an error's quote is too short
	ReasonICMPChecksum  Reason = "icmp_checksum"  // the ICMP checksum is wrong
	ReasonUDPMalformed  Reason = "udp_malformed"  // the UDP length field disagrees with the bytes
	ReasonUDPChecksum   Reason = "udp_checksum"   // the UDP checksum (with pseudo-header) is wrong

	// ip, icmp and udp: delivery.
	ReasonUnknownProtocol   Reason = "unknown_protocol"    // no handler for the IP protocol number
	ReasonICMPEchoBroadcast Reason = "icmp_echo_broadcast" // echo request to a broadcast address, ignored by configuration
	ReasonICMPRateLimited   Reason = "icmp_rate_limited"   // an ICMP error was not sent: over the rate limit
	ReasonICMPEchoOptions   Reason = "icmp_echo_options"   // an echo request's Record Route or Timestamp has no room for the reply's entry
	ReasonRcvbufFull        Reason = "rcvbuf_full"         // the socket's receive buffer is full

	// tcp: demultiplexing and the connection.
	ReasonNoSocket       Reason = "no_socket"         // no socket matches the four-tuple or port
	ReasonBacklogFull    Reason = "backlog_full"      // the listener's SYN or accept queue is full
	ReasonSeqOutOfWindow Reason = "seq_out_of_window" // the segment is outside the receive window

	// tcp: the state machine's checks (RFC 9293 §3.10.7).
	ReasonTCPNoACK        Reason = "tcp_no_ack"         // a segment without ACK where one is required
	ReasonTCPBadACK       Reason = "tcp_bad_ack"        // the ACK acknowledges something never sent
	ReasonTCPStray        Reason = "tcp_stray"          // a RST, or a segment without SYN, at a listening socket
	ReasonTCPChallenge    Reason = "tcp_challenge_ack"  // a RST or SYN that may be a blind attack; a challenge ACK answered it (RFC 5961)
	ReasonTCPDataAfterFIN Reason = "tcp_data_after_fin" // data beyond the peer's FIN, or after the receive side closed
	ReasonTCPNotUnicast   Reason = "tcp_not_unicast"    // sent to a broadcast (or multicast) address: TCP is unicast only
	ReasonTCPFlags        Reason = "tcp_flags"          // flags that make no sense together (SYN with FIN at a listener)
	ReasonPAWSReject      Reason = "paws_reject"        // the TSval is older than TS.Recent: an old duplicate (RFC 7323 §5.3)

	// tcp: the segment's format (package tcp, segment.go and options.go).
	ReasonTCPMalformed        Reason = "tcp_malformed"         // shorter than 20 bytes, or the data offset is below 5 or past the end
	ReasonTCPChecksum         Reason = "tcp_checksum"          // the TCP checksum (with pseudo-header) is wrong
	ReasonTCPOptionsMalformed Reason = "tcp_options_malformed" // an option's length is missing, below 2 or runs past the header

	// http: the web server's seven steps (package httpd). A request
	// dropped here is still answered with the error status shown.
	ReasonHTTPDenied           Reason = "http_denied"             // step 1: the client's address is refused (403 or close)
	ReasonHTTPOverloaded       Reason = "http_overloaded"         // step 1: MaxConns connections already held (503)
	ReasonHTTPQueueFull        Reason = "http_queue_full"         // step 2: the "event" architecture's queue of complete requests is full (503)
	ReasonHTTPBadRequest       Reason = "http_bad_request"        // step 2: malformed syntax (400)
	ReasonHTTPAmbiguousLength  Reason = "http_ambiguous_length"   // step 2: Content-Length with Transfer-Encoding, or differing lengths (400)
	ReasonHTTPURITooLong       Reason = "http_uri_too_long"       // step 2: request line over the limit (414)
	ReasonHTTPHeaderTooLarge   Reason = "http_header_too_large"   // step 2: header section over the limit (431)
	ReasonHTTPBodyTooLarge     Reason = "http_body_too_large"     // step 2: body over the limit (413)
	ReasonHTTPRequestTimeout   Reason = "http_request_timeout"    // step 2: the request did not arrive in time (408)
	ReasonHTTPVersion          Reason = "http_version"            // step 2: an HTTP version the server does not speak (505)
	ReasonHTTPIncomplete       Reason = "http_incomplete"         // step 2: the client closed in the middle of a request
	ReasonHTTPMethodNotAllowed Reason = "http_method_not_allowed" // step 3: a known method the server does not allow (405)
	ReasonHTTPNotImplemented   Reason = "http_not_implemented"    // step 2 or 3: an unknown method or transfer coding (501)
	ReasonHTTPLengthRequired   Reason = "http_length_required"    // step 3: a POST without Content-Length or chunked body (411)
	ReasonHTTPTooManyRanges    Reason = "http_too_many_ranges"    // step 5: over MaxRanges, or overlapping ranges: the Range is ignored (200)
	ReasonHTTPCompressTooLarge Reason = "http_compress_too_large" // step 5: a body over CompressMaxSize is sent uncompressed
	ReasonHTTPSendFailed       Reason = "http_send_failed"        // step 6: the response could not be written

	// HTTP/2 (RFC 9113) over cleartext: connection errors end with GOAWAY,
	// stream errors with RST_STREAM.
	ReasonH2BadPreface    Reason = "h2_bad_preface"    // the connection preface or the first SETTINGS is missing or wrong (GOAWAY PROTOCOL_ERROR)
	ReasonH2Protocol      Reason = "h2_protocol_error" // a frame breaks RFC 9113's rules for the connection (GOAWAY PROTOCOL_ERROR)
	ReasonH2FrameSize     Reason = "h2_frame_size"     // a frame longer than SETTINGS_MAX_FRAME_SIZE, or of a wrong fixed size (FRAME_SIZE_ERROR)
	ReasonH2Compression   Reason = "h2_compression"    // the HPACK header block cannot be decoded (GOAWAY COMPRESSION_ERROR)
	ReasonH2FlowControl   Reason = "h2_flow_control"   // the peer sent more DATA than the window allowed, or overflowed a window (FLOW_CONTROL_ERROR)
	ReasonH2RefusedStream Reason = "h2_refused_stream" // a new stream beyond SETTINGS_MAX_CONCURRENT_STREAMS (RST_STREAM REFUSED_STREAM)
	ReasonH2BadStream     Reason = "h2_bad_stream"     // a malformed request on one stream: pseudo-headers, connection-specific fields (RST_STREAM PROTOCOL_ERROR)
	ReasonH2StreamReset   Reason = "h2_stream_reset"   // the client reset a stream (RST_STREAM): its response is abandoned
)

// reasonInfo explains each reason in one sentence, for viewers and labs.
var reasonInfo = map[Reason]string{
	ReasonWireLoss:     "the wire lost the frame (a seeded loss impairment)",
	ReasonWireFault:    "a targeted fault on the wire dropped this frame",
	ReasonTxQueueFull:  "the sending port's transmit queue was full",
	ReasonNoCarrier:    "the NIC is not attached to any medium",
	ReasonWireMTU:      "the frame's payload is larger than the wire's MTU, so the switch discards it as a giant (an MTU mismatch between NIC and switch is a black hole)",
	ReasonSwitchFilter: "the switch learned the destination MAC on the very port the frame came in on, so it does not send the frame back there (802.1D filtering)",
	ReasonNoLinkLayer:  "a TUN device has no link layer: it carries IPv4 packets only, so other EtherTypes and ARP packets other than requests (which the PHY answers itself) cannot cross it",
	ReasonDeviceError:  "the TUN or TAP device refused the write (the device went away, or the kernel would not take the packet)",

	ReasonPHYNoLock:      "the receiver's clock recovery never locked on the preamble's transitions (too much noise or jitter, or a clock drift beyond what its loop can follow), so it never saw the frame",
	ReasonPHYSFDMissing:  "the receiver locked its clock but never found the start-of-frame delimiter 10101011 (or 4B/5B's /J/K/) where it belongs, so it could not tell where the frame begins",
	ReasonPHYSymbolError: "the receiver decoded a 4B/5B code group that carries no data (or the stream ended without /T/R/): a receive error, and the frame is discarded before the FCS check",

	ReasonRunt:             "the frame is shorter than Ethernet's 64-byte minimum",
	ReasonFrameTooLong:     "the frame is longer than the NIC's MTU allows",
	ReasonFCSMismatch:      "the CRC-32 computed over the frame differs from its FCS: bits were damaged in transit",
	ReasonMACNotMine:       "the destination MAC address is not this NIC's, broadcast, or a joined multicast group",
	ReasonRingFull:         "the RX ring (the adapter's buffer memory) had no free slot",
	ReasonUnknownEtherType: "no protocol handler is registered for this EtherType",
	ReasonTxTooLong:        "the payload handed down to the NIC exceeds its MTU",

	ReasonARPMalformed:  "the ARP packet is not Ethernet/IPv4 or is too short",
	ReasonARPNotForMe:   "the ARP request asks for an address this host does not own",
	ReasonARPQueueFull:  "too many packets were already waiting for this neighbour's MAC address",
	ReasonARPUnresolved: "the neighbour did not answer any ARP request",
	ReasonARPConflict:   "the ARP packet claims one of this host's own IPv4 addresses: another host uses it (an RFC 5227 address conflict), or our own packet came back",

	ReasonIPMalformed:   "the IPv4 header is malformed (version, IHL or length)",
	ReasonIPChecksum:    "the IPv4 header checksum is wrong",
	ReasonIPNotMine:     "the datagram is not addressed to this host, which does not forward",
	ReasonTTLExpired:    "the TTL reached zero while forwarding",
	ReasonFragTimeout:   "not all fragments arrived before the reassembly timeout",
	ReasonFragOverlap:   "fragments overlap, so the whole datagram is discarded (as Linux does)",
	ReasonFragMemory:    "the reassembly memory limit was reached",
	ReasonFragTooLarge:  "the reassembled datagram would exceed 65,535 bytes",
	ReasonFragDuplicate: "the fragment repeats bytes already held for its datagram, so it is discarded and the datagram kept (Linux: DUP_FRAG)",
	ReasonNoRoute:       "there is no route to the destination",
	ReasonIPMartian:     "a router does not forward datagrams to or from addresses that name no single host (0.0.0.0/8, multicast, 240.0.0.0/4, loopback), nor unicast datagrams that arrived as link-layer broadcasts (RFC 1812 §5.3.4, §5.3.7)",

	ReasonIPMartianSource: "the source address cannot be a single remote host's: loopback (127.0.0.0/8), \"this network\" (0.0.0.0/8), multicast, the limited or a directed broadcast, or this host's own address; a host MUST silently discard such a datagram (RFC 1122 §3.2.1.3), before anything could answer it (Linux: \"martian source\")",

	ReasonIPOptionsMalformed: "an IPv4 option is malformed: a length below 2 or past the end of the header, a pointer out of range, no room for the entry the pointer points at, a full timestamp whose overflow count is 15, or a second Record Route, Timestamp or source route; the datagram is discarded and its sender gets ICMP Parameter Problem pointing at the octet at fault (RFC 791 §3.1, RFC 1122 §3.2.2.5, RFC 792; Linux's ip_options_compile)",
	ReasonFragNeeded:         "the datagram is larger than the next hop's MTU and its Don't Fragment bit is set",

	ReasonICMPMalformed: "the ICMP message is shorter than its 8-byte header, or an error message quotes less than the IPv4 header and 8 data bytes it is about",
	ReasonICMPChecksum:  "the ICMP checksum is wrong",
	ReasonUDPMalformed:  "the UDP length field is below 8 or larger than the bytes that arrived",
	ReasonUDPChecksum:   "the UDP checksum, computed with the IPv4 pseudo-header, is wrong",

	ReasonUnknownProtocol:   "no protocol handler is registered for the IP protocol number; the sender gets ICMP protocol unreachable",
	ReasonICMPEchoBroadcast: "the echo request was sent to a broadcast address, which this host is configured to ignore",
	ReasonICMPRateLimited:   "an ICMP error message was not sent because the host is over its ICMP rate limit (RFC 1812 §4.3.2.8)",
	ReasonICMPEchoOptions:   "the echo request's Record Route or Timestamp option had room for this host's entry on arrival but not for the reply's, whose options echo the request's (RFC 1122 §3.2.2.6), so no reply is sent, as Linux's ip_options_echo sends none",
	ReasonRcvbufFull:        "the socket's receive buffer is full, so the datagram is discarded",

	ReasonTCPNoACK:        "the segment lacks the ACK flag where the state machine requires it (RFC 9293 §3.10.7)",
	ReasonTCPBadACK:       "the segment acknowledges data that was never sent (RFC 9293 §3.10.7.4, RFC 5961 §5)",
	ReasonTCPStray:        "a listening socket ignores a RST, and drops a segment without SYN that belongs to no connection (RFC 9293 §3.10.7.2)",
	ReasonTCPChallenge:    "a RST or SYN did not match the expected sequence number exactly, so instead of acting on it the socket sent a challenge ACK (RFC 5961)",
	ReasonTCPDataAfterFIN: "data arrived after the peer's FIN, which ends its data",
	ReasonTCPNotUnicast:   "the segment was sent to a broadcast or multicast address (or in a link-layer broadcast): a TCP connection joins two unicast addresses, so TCP neither takes nor answers it, where a SYN+ACK or RST would go out from a broadcast address (RFC 1122 §4.2.3.10, §3.2.1.3; Linux drops it the same way)",
	ReasonTCPFlags:        "the segment's flags make no sense together, a SYN with FIN at a listening socket (a scanner's probe), so it is discarded as Linux does (SKB_DROP_REASON_TCP_FLAGS)",
	ReasonPAWSReject:      "the segment's timestamp (TSval) is older than the last one recorded from the peer (TS.Recent): an old duplicate whose sequence numbers may have come round again, so PAWS drops it and answers with an ACK (RFC 7323 §5.3; Linux: TCP_RFC7323_PAWS)",

	ReasonTCPMalformed:        "the TCP segment is shorter than its 20-byte header, or its data offset is below 5 words or points past the end of the segment",
	ReasonTCPChecksum:         "the TCP checksum, computed with the IPv4 pseudo-header, is wrong",
	ReasonTCPOptionsMalformed: "a TCP option has no length byte, a length below 2, or runs past the end of the header (RFC 9293 §3.2, MUST-7)",

	ReasonHTTPDenied:           "the client's address is refused by the server's Allow/Deny lists, so the connection is answered 403 Forbidden or closed at once (step 1, accept)",
	ReasonHTTPOverloaded:       "the server already holds its maximum number of connections, so the new one is answered 503 Service Unavailable and closed (step 1, accept)",
	ReasonHTTPQueueFull:        "every worker of the event architecture is busy and its queue of complete requests (MaxQueue) is full, so the request is answered 503 Service Unavailable and the connection closed (step 2, receive)",
	ReasonHTTPBadRequest:       "the request message is malformed: request line, header line, chunk size, Content-Length or Host (400 Bad Request, RFC 9112)",
	ReasonHTTPAmbiguousLength:  "the request carries Content-Length together with Transfer-Encoding, or Content-Length values that differ: its length is ambiguous, which is how requests are smuggled past proxies (400 Bad Request, RFC 9112 §6.1, §6.3)",
	ReasonHTTPURITooLong:       "the request line is longer than the server accepts (414 URI Too Long)",
	ReasonHTTPHeaderTooLarge:   "the header section (or the trailer section) is larger than the server accepts (431 Request Header Fields Too Large)",
	ReasonHTTPBodyTooLarge:     "the request body is larger than the server accepts (413 Content Too Large)",
	ReasonHTTPRequestTimeout:   "the request's header section or body did not arrive in time (408 Request Timeout)",
	ReasonHTTPVersion:          "the request names an HTTP version the server does not speak (505 HTTP Version Not Supported)",
	ReasonHTTPIncomplete:       "the client closed its side of the connection in the middle of a request, so there is nothing to answer",
	ReasonHTTPMethodNotAllowed: "the method is known but this server does not allow it (405 Method Not Allowed, with an Allow header)",
	ReasonHTTPNotImplemented:   "the method, or the request's transfer coding, is unknown to this server (501 Not Implemented)",
	ReasonHTTPLengthRequired:   "a POST came without Content-Length or a chunked body, so its end cannot be found (411 Length Required)",
	ReasonHTTPTooManyRanges:    "the Range header asks for more ranges than MaxRanges, or for overlapping ranges that add up to more than the whole body, so it is ignored and the whole body is sent with 200 OK (RFC 9110 §14.2)",
	ReasonHTTPCompressTooLarge: "the body is larger than CompressMaxSize, the most the server compresses in memory, so it is sent uncompressed (identity)",
	ReasonHTTPSendFailed:       "the response could not be written: the client closed or reset the connection, or stopped reading",

	ReasonH2BadPreface:    "an HTTP/2 connection must open with the 24-byte preface \"PRI * HTTP/2.0\\r\\n\\r\\nSM\\r\\n\\r\\n\" followed by a SETTINGS frame; anything else is a connection error of type PROTOCOL_ERROR (RFC 9113 §3.4), answered with GOAWAY and a close",
	ReasonH2Protocol:      "an HTTP/2 frame breaks the protocol for the whole connection (a frame on the wrong stream, a stream ID that goes backwards, CONTINUATION out of place, a zero WINDOW_UPDATE): connection error PROTOCOL_ERROR, GOAWAY and close (RFC 9113 §5.4.1)",
	ReasonH2FrameSize:     "an HTTP/2 frame is longer than the SETTINGS_MAX_FRAME_SIZE the server announced, or a fixed-size frame (PING, SETTINGS, WINDOW_UPDATE, RST_STREAM, PRIORITY) has the wrong length: FRAME_SIZE_ERROR (RFC 9113 §4.2)",
	ReasonH2Compression:   "the HPACK header block cannot be decoded, which leaves the connection's header table in an unknown state: connection error COMPRESSION_ERROR (RFC 9113 §4.3, RFC 7541)",
	ReasonH2FlowControl:   "the peer sent more DATA than the flow-control window the server gave it, or a WINDOW_UPDATE pushed a window past 2^31-1: FLOW_CONTROL_ERROR (RFC 9113 §6.9)",
	ReasonH2RefusedStream: "the client opened a stream while SETTINGS_MAX_CONCURRENT_STREAMS streams were already open, so the server refuses it with RST_STREAM REFUSED_STREAM, which tells the client it may retry (RFC 9113 §5.1.2, §8.7)",
	ReasonH2BadStream:     "the request on one HTTP/2 stream is malformed: a missing or repeated pseudo-header, a connection-specific header field (Connection, Keep-Alive, Transfer-Encoding, Upgrade), an uppercase name, or a frame the stream's state does not allow: stream error, RST_STREAM PROTOCOL_ERROR or STREAM_CLOSED (RFC 9113 §8.1.1, §8.2.2, §5.1)",
	ReasonH2StreamReset:   "the client reset the stream with RST_STREAM (it no longer wants the response), so the server stops sending it; the rest of the connection goes on (RFC 9113 §6.4)",

	ReasonNoSocket:       "no socket matches the segment's four-tuple or port",
	ReasonBacklogFull:    "the listening socket's queue is full",
	ReasonSeqOutOfWindow: "the segment's sequence number is outside the receive window",
}

// Describe returns the reason's one-sentence explanation, or "" if the
// reason is not in the list.
func (r Reason) Describe() string { return reasonInfo[r] }

// Known reports whether r is one of the enumerated reasons.
func (r Reason) Known() bool { _, ok := reasonInfo[r]; return ok }

// Reasons returns every enumerated reason, sorted.
func Reasons() []Reason {
	out := make([]Reason, 0, len(reasonInfo))
	for r := range reasonInfo {
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}
