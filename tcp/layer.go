package tcp

import (
	"errors"
	"net/netip"
	"strconv"
	"time"

	"github.com/packetwalk/packetwalk/clock"
	"github.com/packetwalk/packetwalk/ip"
	"github.com/packetwalk/packetwalk/viz"
)

// Defaults of TCP's settings; each can be changed in Config.
const (
	// DefaultMSL is the maximum segment lifetime; TIME_WAIT lasts 2 MSL
	// (RFC 9293 §3.4.2 suggests 2 minutes; Linux's TIME_WAIT is a fixed
	// 60 s, which 2 × 30 s matches).
	DefaultMSL = 30 * time.Second
	// DefaultDelayedACK is the longest an ACK waits for data to ride on
	// (RFC 1122 §4.2.3.2: less than 0.5 s; RFC 9293 §3.8.6.3: at most
	// 500 ms, and an ACK for at least every second full-size segment).
	// Classic BSD and the textbooks use 200 ms.
	DefaultDelayedACK = 200 * time.Millisecond
	// DefaultBufferSize is the default send and receive buffer per
	// connection (SO_SNDBUF, SO_RCVBUF): enough for a full window on a
	// fast simulated wire.
	DefaultBufferSize = 1 << 20
	// DefaultSynRetries and DefaultRetries bound retransmissions of a SYN
	// and of data before the connection fails with ETIMEDOUT (Linux:
	// tcp_syn_retries 6, tcp_retries2 15).
	DefaultSynRetries = 6
	DefaultRetries    = 15
	// DefaultConnRTOMin is TCP.s floor for the retransmission timeout. It must
	// exceed a peer's delayed-ACK timeout (200 ms here and in classic
	// stacks), or every lone segment, whose ACK the peer delays, would be
	// retransmitted before that ACK arrives; that is why RFC 6298 asks for
	// 1 s. Linux's 200 ms works because its delayed ACK is usually 40 ms.
	DefaultConnRTOMin = 300 * time.Millisecond
	// DefaultMaxBacklog caps what listen(backlog) may ask for (Linux's
	// net.core.somaxconn, 4096).
	DefaultMaxBacklog = 4096
)

// Errors of TCP's user calls, named like their POSIX counterparts.
var (
	ErrWouldBlock   = errors.New("operation would block (EAGAIN)")
	ErrConnRefused  = errors.New("connection refused (ECONNREFUSED)")
	ErrConnReset    = errors.New("connection reset by peer (ECONNRESET)")
	ErrTimedOut     = errors.New("connection timed out (ETIMEDOUT)")
	ErrBrokenPipe   = errors.New("broken pipe (EPIPE): the connection is closed for sending")
	ErrAddrInUse    = errors.New("address already in use (EADDRINUSE)")
	ErrAddrNotAvail = errors.New("cannot assign requested address (EADDRNOTAVAIL)")
	ErrNotConnected = errors.New("transport endpoint is not connected (ENOTCONN)")
	ErrInvalid      = errors.New("invalid argument (EINVAL)")
	ErrClosed       = errors.New("use of closed socket (EBADF)")
	ErrNoRoute      = errors.New("no route to host (EHOSTUNREACH)")
)

// Config describes one host's TCP.
type Config struct {
	Clock    clock.Clock
	Recorder *viz.Recorder
	Network  Network
	// ISNSecret keys the initial sequence numbers (RFC 6528); a
	// simulation derives it from its seed.
	ISNSecret []byte
	// Ephemeral is the range of local ports for connect() without bind();
	// zero means ip.EphemeralPorts.
	Ephemeral ip.PortRange
	// MSL: TIME_WAIT lasts 2*MSL. Zero means DefaultMSL.
	MSL time.Duration
	// DelayedACK is the delayed-ACK timeout; zero means DefaultDelayedACK,
	// negative means ACK every segment at once.
	DelayedACK time.Duration
	// RTOMin, RTOMax and RTOInitial bound the retransmission timeout;
	// zero means the defaults of rto.go.
	RTOMin, RTOMax, RTOInitial time.Duration
	// SendBuffer and ReceiveBuffer are the default SO_SNDBUF and SO_RCVBUF.
	SendBuffer, ReceiveBuffer int
	// SynRetries, SynAckRetries and Retries bound retransmissions of a
	// SYN, of a listener's SYN+ACK (synqueue.go) and of data; zero means
	// the defaults.
	SynRetries, SynAckRetries, Retries int
	// MaxBacklog caps listen's backlog; zero means DefaultMaxBacklog.
	MaxBacklog int
	// Demuxer builds the demux table for the Ephemeral range; nil means
	// NewDemuxTable. A lab puts a student's table here.
	Demuxer func(ephemeral ip.PortRange) Demuxer
	// Receiver builds each connection's receive side, of capacity bytes
	// (SO_RCVBUF, already clamped to [1, MaxBufferBytes]); nil means
	// NewReceiveBuffer. A lab puts a student's receiver here.
	Receiver func(capacity int) Receiver
	// Sender builds each connection's Sender (contract.go): its segment
	// sizes, retransmission timeout and duplicate ACKs. nil means the
	// stack's own code, with SACK, RACK-TLP and PRR; with a Sender the
	// connection does without SACK and recovers with NewReno (RFC
	// 6582). A lab puts a student's sender here.
	Sender func(cfg SenderConfig) Sender
	// InvalidACKInterval is the shortest time between two ACKs one
	// connection sends in answer to rejected segments without data (out
	// of window, challenge ACKs; ratelimit.go). Zero means
	// DefaultInvalidACKInterval, negative no limit.
	InvalidACKInterval time.Duration
	// ChallengeACKsPerSecond caps the host's challenge ACKs (RFC 5961
	// §7). Zero means DefaultChallengeACKsPerSecond, negative no cap.
	ChallengeACKsPerSecond int
	// SynCookies says when a listener answers a SYN with a SYN cookie
	// instead of a half-open socket (RFC 4987 §3.6, syncookie.go). The
	// zero value, SynCookiesWhenFull, uses them once the SYN queue is full.
	SynCookies SynCookieMode
	// RFC793RST and RFC793SYN turn off RFC 5961's defences, to show
	// what they defend against (FreeBSD's net.inet.tcp.insecure_rst and
	// insecure_syn). With RFC793RST, any RST in the receive window resets
	// the connection, not only one at exactly RCV.NXT (RFC 9293
	// §3.10.7.4 as RFC 793 wrote it). With RFC793SYN, a SYN in the window
	// of a synchronized connection is answered with a RST and resets it,
	// instead of a challenge ACK. Both are off by default.
	RFC793RST, RFC793SYN bool
	// Recovery says how a SACK connection decides that a segment is lost
	// (rack.go). The zero value, RecoveryRACK, is RACK-TLP (RFC 8985),
	// by time, as Linux does (net.ipv4.tcp_recovery = 1);
	// RecoveryDupThresh is RFC 6675's count of three duplicate ACKs, with
	// the retransmission timer for a lost tail (tcp_recovery = 0).
	Recovery Recovery
	// NoTLP turns the tail loss probe off (RFC 8985 §7; Linux's
	// net.ipv4.tcp_early_retrans below 3): with RACK, a lost tail then
	// waits for the retransmission timer. TLP needs RACK: with
	// RecoveryDupThresh there is none either.
	NoTLP bool
	// NoPRR makes SACK recovery drop cwnd to ssthresh at once (RFC 6675
	// §5 step 4.2) instead of bringing it down with Proportional Rate
	// Reduction (RFC 6937, prr.go; FreeBSD's net.inet.tcp.do_prr = 0).
	NoPRR bool
	// Timestamps says whether connections use RFC 7323 timestamps
	// (timestamps.go). The zero value, TimestampsOn, offers them in every
	// SYN, as Linux does; TimestampsOff never sends them (Linux's
	// net.ipv4.tcp_timestamps = 0).
	Timestamps TimestampMode
	// Congestion selects the congestion control (cubic.go). The zero
	// value, CongestionNewReno, is RFC 5681 with RFC 6582 (congestion.go);
	// CongestionCUBIC is RFC 9438, Linux's default
	// (net.ipv4.tcp_congestion_control). ParseCongestionControl reads
	// the names; an unknown value is NewReno.
	Congestion CongestionControl
}

// Layer is one host's TCP: its demux table, its listeners and connections.
// It implements ip.Transport.
type Layer struct {
	cfg   Config
	clock clock.Clock
	rec   *viz.Recorder
	net   Network
	isn   isnGenerator
	ts    tsClock // each connection's timestamp offset (RFC 7323 §7.1)
	table Demuxer
	stats Stats

	// segBuf holds the segment being sent: IP copies it into the
	// datagram, so one buffer serves every segment and sending allocates
	// nothing. segBusy guards against a send from inside a send.
	segBuf  []byte
	segBusy bool

	challenge challengeBudget // RFC 5961 §7 host-wide challenge ACK count
	cookies   cookieJar       // SYN cookie secret and counters
}

// Stats are TCP's counters, named after the Tcp: line of /proc/net/snmp.
type Stats struct {
	ActiveOpens, PassiveOpens, AttemptFails, EstabResets uint64
	InSegs, OutSegs, RetransSegs, InErrs, OutRsts        uint64
	ListenDrops, ListenOverflows, ChallengeACKs          uint64
	InvalidACKsLimited                                   uint64 // ACKs not sent by the rate limits of ratelimit.go
	SynCookiesSent, SynCookiesRecv, SynCookiesFailed     uint64 // RFC 4987 §3.6, as Linux's TcpExt
	PAWSEstab                                            uint64 // segments dropped by PAWS (RFC 7323 §5.3), Linux's TcpExtPAWSEstab
	CurrEstab                                            int
}

// NewLayer returns a TCP layer with no sockets.
func NewLayer(cfg Config) *Layer {
	if cfg.MSL <= 0 {
		cfg.MSL = DefaultMSL
	}
	if cfg.DelayedACK == 0 {
		cfg.DelayedACK = DefaultDelayedACK
	}
	if cfg.RTOMin <= 0 {
		cfg.RTOMin = DefaultConnRTOMin
	}
	if cfg.SendBuffer <= 0 {
		cfg.SendBuffer = DefaultBufferSize
	}
	if cfg.ReceiveBuffer <= 0 {
		cfg.ReceiveBuffer = DefaultBufferSize
	}
	if cfg.SynRetries <= 0 {
		cfg.SynRetries = DefaultSynRetries
	}
	if cfg.SynAckRetries <= 0 {
		cfg.SynAckRetries = DefaultSynAckRetries
	}
	if cfg.Retries <= 0 {
		cfg.Retries = DefaultRetries
	}
	if cfg.MaxBacklog <= 0 {
		cfg.MaxBacklog = DefaultMaxBacklog
	}
	if cfg.InvalidACKInterval == 0 {
		cfg.InvalidACKInterval = DefaultInvalidACKInterval
	}
	if cfg.ChallengeACKsPerSecond == 0 {
		cfg.ChallengeACKsPerSecond = DefaultChallengeACKsPerSecond
	}
	if cfg.Ephemeral.First == 0 || cfg.Ephemeral.Last < cfg.Ephemeral.First {
		cfg.Ephemeral = ip.EphemeralPorts
	}
	return &Layer{
		cfg: cfg, clock: cfg.Clock, rec: cfg.Recorder, net: cfg.Network,
		isn:     newISNGenerator(cfg.ISNSecret),
		ts:      newTSClock(cfg.ISNSecret),
		cookies: newCookieJar(cfg.ISNSecret),
		table:   newDemuxer(cfg),
	}
}

// Stats returns the layer's counters.
func (l *Layer) Stats() Stats { return l.stats }

// Endpoints returns every socket of the host, listeners first, for the
// socket table of a viewer (like `ss -tan`).
func (l *Layer) Endpoints() []*Endpoint { return l.table.All() }

// Receive implements ip.Transport: the receive walk of one segment.
func (l *Layer) Receive(d ip.Datagram) {
	l.stats.InSegs++
	seg := Segment(d.Payload)
	if d.Broadcast || d.Dst.IsMulticast() {
		// A connection joins two unicast addresses: a segment sent to
		// a broadcast (or multicast) address is for no connection, and
		// any answer (SYN+ACK, RST) would go out from that address. RFC
		// 1122 §4.2.3.10: a SYN to a broadcast or multicast address
		// MUST be silently discarded; §3.2.1.3: a broadcast address
		// MUST NOT be a source. Linux drops it too (tcp_v4_rcv,
		// tcp_v4_conn_request).
		if l.rec.On() {
			l.drop(d.Frame, 0, "check", viz.ReasonTCPNotUnicast, seg.SummaryWith(d.Src, d.Dst)+
				": sent to a broadcast or multicast address; TCP is unicast only, so it is neither taken nor answered (RFC 1122 §4.2.3.10)")
		}
		return
	}
	if err := seg.Check(d.Src, d.Dst); err != nil {
		l.stats.InErrs++
		reason := viz.ReasonTCPMalformed
		var ce *ip.CheckError
		if errors.As(err, &ce) {
			reason = ce.Reason
		}
		l.drop(d.Frame, 0, "check", reason, err.Error())
		return
	}
	h, err := seg.Parse()
	if err != nil {
		l.stats.InErrs++
		reason := viz.ReasonTCPMalformed
		var ce *ip.CheckError
		if errors.As(err, &ce) {
			reason = ce.Reason
		}
		l.drop(d.Frame, 0, "check", reason, err.Error())
		return
	}
	in := &incoming{
		frame:   d.Frame,
		local:   netip.AddrPortFrom(d.Dst, h.DstPort),
		remote:  netip.AddrPortFrom(d.Src, h.SrcPort),
		hdr:     h,
		payload: seg.Payload(),
	}
	if l.rec.On() {
		l.rec.Stepf(viz.Event{Layer: viz.LayerTCP, Step: "check", Verdict: viz.Pass, Frame: d.Frame},
			nil,
			"%s > %s: Flags %s, seq %d, ack %d, win %d, length %d: checksum ok", viz.AddrPort(in.remote), viz.AddrPort(in.local), viz.Str(h.Flags.String()),
			viz.U32(uint32(h.Seq)), viz.U32(uint32(h.Ack)), viz.Int(int(h.Window)), viz.Int(len(in.payload)))
	}

	// Demultiplexing ("How Network Works" ch. 6): the exact four-tuple
	// first, then a listening socket on the port (a specific address
	// before the wildcard), else nobody: answer RST.
	if e := l.table.LookupExact(in.local, in.remote); e != nil {
		l.demuxStep(in, e, "exact")
		e.segmentArrives(in)
		return
	}
	if lst := l.table.LookupListener(in.local); lst != nil {
		l.demuxStep(in, lst, "listener")
		lst.segmentArrives(in)
		return
	}
	if l.rec.On() {
		l.rec.Stepf(viz.Event{Layer: viz.LayerTCP, Step: "demux", Verdict: viz.Drop, Reason: viz.ReasonNoSocket, Frame: d.Frame},
			[]viz.Field{viz.F("rule", "none")},
			"no socket for %s <- %s and no listener on port %d", viz.AddrPort(in.local), viz.AddrPort(in.remote), viz.Int(int(in.local.Port())))
	}
	l.resetFor(in, 0)
}

func (l *Layer) demuxStep(in *incoming, e *Endpoint, rule string) {
	if l.rec.On() {
		fields := []viz.Field{viz.F("rule", rule), viz.Fv("local", viz.AddrPort(in.local)), viz.Fv("remote", viz.AddrPort(in.remote))}
		if rule == "exact" {
			l.rec.Stepf(viz.Event{Layer: viz.LayerTCP, Step: "demux", Verdict: viz.Pass, Frame: in.frame, Conn: e.ID},
				fields,
				"four-tuple %s <-> %s -> socket #%d (%s)", viz.AddrPort(in.local), viz.AddrPort(in.remote), viz.U64(e.ID), viz.Str(e.state.String()))
			return
		}
		l.rec.Stepf(viz.Event{Layer: viz.LayerTCP, Step: "demux", Verdict: viz.Pass, Frame: in.frame, Conn: e.ID},
			fields,
			"no connection for %s <-> %s; listening socket #%d on %s", viz.AddrPort(in.local), viz.AddrPort(in.remote), viz.U64(e.ID), viz.AddrPort(e.local))
	}
}

// ReceiveError implements ip.Transport: an ICMP error about a segment we
// sent. Hard errors abort a connection that is still opening (RFC 1122
// §4.2.3.9); fragmentation-needed lowers the MSS (RFC 1191).
func (l *Layer) ReceiveError(e ip.ICMPError) {
	if len(e.Payload) < 8 {
		return
	}
	sport := uint16(e.Payload[0])<<8 | uint16(e.Payload[1])
	dport := uint16(e.Payload[2])<<8 | uint16(e.Payload[3])
	local := netip.AddrPortFrom(e.Quoted.Src(), sport)
	remote := netip.AddrPortFrom(e.Quoted.Dst(), dport)
	ep := l.table.LookupExact(local, remote)
	if ep == nil {
		return
	}
	ep.icmpError(e)
}

// resetFor answers a segment that has no connection with RST, as RFC 9293
// §3.10.7.1 says: if the segment had ACK, <SEQ=SEG.ACK><CTL=RST>; else
// <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>. A RST is never answered.
func (l *Layer) resetFor(in *incoming, conn uint64) {
	h := in.hdr
	if h.Flags&FlagRST != 0 {
		return
	}
	var out Header
	out.SrcPort, out.DstPort = in.local.Port(), in.remote.Port()
	if h.Flags&FlagACK != 0 {
		out.Seq, out.Flags = h.Ack, FlagRST
	} else {
		out.Ack, out.Flags = h.Seq.Add(uint32(in.segLen())), FlagRST|FlagACK
	}
	l.stats.OutRsts++
	l.sendRawLine(in.local.Addr(), in.remote.Addr(), out, nil, conn, "rst", &rstToFormats, viz.AddrPort(in.remote))
}

// sendRaw emits one segment outside any connection's send logic (resets,
// challenge ACKs, SYN+ACKs).
func (l *Layer) sendRaw(src, dst netip.Addr, h Header, payload []byte, conn uint64, step, why string) {
	l.sendRawLine(src, dst, h, payload, conn, step, &segFormats, viz.Str(why))
}

// sendRawLine is sendRaw with the send step's formats (segFormats, or
// another table whose formats start with one verb for why) and why's
// argument.
func (l *Layer) sendRawLine(src, dst netip.Addr, h Header, payload []byte, conn uint64, step string, formats *[lineParts]string, why viz.Arg) {
	frame := l.rec.NewFrameID()
	seg := h.Append(nil, src, dst, payload)
	if l.rec.On() {
		var args segArgs
		format := sendLineWith(formats, why, Segment(seg), src, dst, &args)
		fields := segmentFields(h, len(payload))
		l.rec.Stepf(viz.Event{Layer: viz.LayerTCP, Step: step, Verdict: viz.Send, Frame: frame, Conn: conn},
			fields[:],
			format, args.a[:args.n]...)
	}
	l.stats.OutSegs++
	_ = l.net.Send(ip.Outbound{Frame: frame, Src: src, Dst: dst, Protocol: ip.ProtocolTCP, Payload: seg, DF: true})
}

// drop logs a drop whose sentence is text already made: an error's text,
// made with the error whether or not anybody listens.
func (l *Layer) drop(frame, conn uint64, step string, reason viz.Reason, msg string) {
	if l.rec.On() {
		l.rec.Stepf(viz.Event{Layer: viz.LayerTCP, Step: step, Verdict: viz.Drop, Reason: reason, Frame: frame, Conn: conn}, nil, "%s", viz.Str(msg))
	}
}

func segmentFields(h Header, length int) [5]viz.Field {
	return [5]viz.Field{
		viz.F("flags", h.Flags.String()), viz.Fv("seq", viz.U32(uint32(h.Seq))), viz.Fv("ack", viz.U32(uint32(h.Ack))),
		viz.Fv("win", viz.Int(int(h.Window))), viz.Fv("len", viz.Int(length)),
	}
}

// incoming is one arriving segment as the state machine sees it.
type incoming struct {
	frame         uint64
	local, remote netip.AddrPort
	hdr           Header
	payload       []byte // the segment's data; ring memory: copy to keep
}

// segLen is SEG.LEN: the data plus one for each of SYN and FIN, which
// occupy sequence space (RFC 9293 §3.4).
func (in *incoming) segLen() int {
	n := len(in.payload)
	if in.hdr.Flags&FlagSYN != 0 {
		n++
	}
	if in.hdr.Flags&FlagFIN != 0 {
		n++
	}
	return n
}

func (in *incoming) has(f Flags) bool { return in.hdr.Flags&f != 0 }

func (in *incoming) summary() string {
	var a [160]byte
	return string(in.appendSummary(a[:0]))
}

// appendSummary appends "%s > %s: Flags %s, seq %d, ack %d, win %d,
// length %d" of the segment, without fmt (logtext.go).
func (in *incoming) appendSummary(b []byte) []byte {
	b = appendAddrPort(b, in.remote)
	b = appendAddrPort(append(b, " > "...), in.local)
	b = append(append(b, ": Flags "...), in.hdr.Flags.String()...)
	b = strconv.AppendUint(append(b, ", seq "...), uint64(in.hdr.Seq), 10)
	b = strconv.AppendUint(append(b, ", ack "...), uint64(in.hdr.Ack), 10)
	b = strconv.AppendUint(append(b, ", win "...), uint64(in.hdr.Window), 10)
	return strconv.AppendInt(append(b, ", length "...), int64(len(in.payload)), 10)
}
