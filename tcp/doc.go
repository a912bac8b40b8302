// Package tcp is the Transmission Control Protocol (RFC 9293): the demux
// table that finds a segment's socket, listening sockets that clone
// themselves on each SYN, the connection state machine, sending and
// receiving with windows, acknowledgements and retransmission, and
// congestion control.
//
// The receive walk of a segment, each stage a logged step:
//
//	check    sent to a broadcast address              -> tcp_not_unicast
//	         header length and checksum              -> tcp_malformed, tcp_checksum
//	demux    exact four-tuple | listening socket | none -> RST (no_socket)
//	listen   SYN at a listener (not with FIN)         -> tcp_flags
//	         backlog check                            -> backlog_full
//	         clone the listener into a new socket (peer address and port,
//	         ISN, window, MSS (the peer's, at least 48: mss), timestamps
//	         if the SYN offers them (timestamps), buffers)
//	         -> SYN+ACK -> SYN_RECEIVED;
//	         the final ACK makes it ESTABLISHED and queues it for accept();
//	         the listener stays in LISTEN
//	paws     TSval not older than TS.Recent (RFC 7323) -> paws_reject
//	accept   the sequence number is in the window     -> seq_out_of_window
//	ack      TS.Recent (ts_recent) and an RTT sample from TSecr (rtt);
//	         SACK blocks; RACK marks lost what was sent before a segment
//	         now delivered and is late (rack_lost, rack_timer); fast
//	         recovery, paced by PRR (cwnd, prr), resends it (next_seg)
//	data     into the receive buffer (out-of-order segments wait) -> ACK
//	         (delayed, or piggy-backed on data) -> read()
//	close    FIN, ACK, half close, TIME_WAIT for 2 MSL, delete
//
// This is "How Network Works" ch. 6 and "HTTP: The Definitive Guide" ch. 4
// made executable. The state machine lives in input.go, one function per
// RFC 9293 §3.10.7 step; the user calls (OPEN, SEND, RECEIVE, CLOSE, ABORT)
// are in user.go; timers in timers.go; RFC 7323 timestamps (TS.Recent, RTT
// from the echo, PAWS) in timestamps.go. Loss recovery: recovery.go and
// sack.go (RFC 6675), rack.go and sentlog.go (RACK, RFC 8985), tlp.go
// (the tail loss probe, whose `tlp` step comes when a flight's last
// segments got no ACK), prr.go (RFC 6937), congestion.go (NewReno),
// cubic.go (CUBIC, RFC 9438, Config.Congestion).
// Like every layer, TCP is owned by the host's event loop: no locks.
// See docs/design.md for the whole walk, from the wire to accept().
package tcp
