package tcp

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/packetwalk/packetwalk/clock"
	"github.com/packetwalk/packetwalk/viz"
)

// Options are a socket's settable options (setsockopt).
type Options struct {
	NoDelay       bool           // TCP_NODELAY: send small segments at once (no Nagle)
	KeepAlive     bool           // SO_KEEPALIVE: probe an idle connection
	KeepIdle      time.Duration  // idle time before the first probe; default 2 h
	Linger        *time.Duration // SO_LINGER: nil = off; 0 = close with RST at once
	SendBuffer    int            // SO_SNDBUF; 0 = the layer's default
	ReceiveBuffer int            // SO_RCVBUF; 0 = the layer's default
	// MaxSeg is TCP_MAXSEG: the MSS our SYN announces and the most data
	// a segment of ours carries, below what the MTU allows; 0 = from the
	// MTU. Between MinUserMSS and MaxUserMSS.
	MaxSeg int
}

// The range TCP_MAXSEG accepts, Linux's: below 88 bytes (TCP_MIN_MSS) a
// segment would be mostly headers; above 32,767 (MAX_TCP_WINDOW) no link
// carries it.
const (
	MinUserMSS = 88
	MaxUserMSS = 32767
)

// Endpoint is one TCP socket: RFC 9293's Transmission Control Block. A
// listening endpoint holds the SYN and accept queues; a connection holds the
// sequence variables, buffers and timers.
type Endpoint struct {
	layer  *Layer
	ID     uint64 // the socket's ID in the step log ("conn")
	state  State
	local  netip.AddrPort
	remote netip.AddrPort
	upper  Upper // the socket above, set once (contract.go); nil: nobody
	opts   Options
	err    error // the error the next user call reports (ECONNRESET...)

	// Listening sockets.
	backlog     int
	synQueue    []*Endpoint // children in SYN_RECEIVED
	acceptQueue []*Endpoint // children ESTABLISHED, waiting for accept()
	parent      *Endpoint   // for a child: the listener it was cloned from

	// Send sequence variables (RFC 9293 §3.3.1, Figure 3).
	iss       Seq    // initial send sequence number
	sndUna    Seq    // oldest unacknowledged
	sndNxt    Seq    // next to send
	sndMax    Seq    // highest sequence number sent so far (+1)
	sndWnd    uint32 // the peer's window, scaled, in bytes
	sndWl1    Seq    // SEG.SEQ of the last window update
	sndWl2    Seq    // SEG.ACK of the last window update
	maxSndWnd uint32

	// Receive sequence variables (RFC 9293 §3.3.1, Figure 4).
	irs         Seq
	rcvAdvEnd   Seq // RCV.NXT + the window we last advertised
	rcvWndEdge  Seq // the right edge the last window field allowed the peer (acceptWindow)
	rcvWndSent  bool
	finReceived bool
	finSeq      Seq  // where the peer's FIN sits, once seen (possibly out of order)
	finPending  bool // a FIN arrived beyond a hole
	// synText is the peer's SYN of a simultaneous open when it carried
	// data or FIN: RFC 9293 §3.10.7.3 queues them "for processing after
	// the ESTABLISHED state has been reached" (synTextArrives).
	synText *incoming

	// Negotiated options (RFC 9293 §3.7.1 MSS, RFC 7323 window scale,
	// RFC 2018 SACK).
	mss      int // largest segment we send (data bytes, timestamps' option taken off)
	sndScale uint8
	rcvScale uint8
	sackOK   bool

	// Timestamps (RFC 7323, timestamps.go): tsOK once both SYNs carried
	// the option; our clock's offset; TS.Recent, the peer's TSval we echo,
	// with when it was recorded (the 24-day rule, §5.5); Last.ACK.sent,
	// the acknowledgment number of our last segment (§4.3).
	tsOK          bool
	tsOffset      uint32
	tsRecent      uint32
	tsRecentAt    time.Duration
	tsRecentValid bool
	lastAckSent   Seq

	send *SendBuffer
	recv recvBuffer // a *ReceiveBuffer, or Config.Receiver's behind receiverAdapter

	finQueued bool // the application closed its sending half
	finSent   bool
	ourFinSeq Seq
	shutRead  bool

	// Retransmission (RFC 6298) and congestion control (RFC 5681, 6582).
	rtt      RTTEstimator
	rtxTimer clock.Timer
	retries  int
	timing   bool // an RTT measurement is running (Karn: never on a retransmission)
	timedSeq Seq
	timedAt  time.Duration
	// snd is the connection's Sender (Config.Sender), nil for the
	// stack's own decisions (sendseam.go); timedRetx says the segment
	// timed for it was retransmitted, so its ACK gives an ambiguous
	// sample (Karn), which a Sender is told about.
	snd    Sender
	badRTO bool // a Sender's RTO below 1 ms was reported once (rto)
	// Whether cwnd was used in the last window (cwndValidate), as
	// Linux's max_packets_out, max_packets_seq and is_cwnd_limited.
	maxFlight       int  // the most bytes outstanding in the window
	maxFlightSeq    Seq  // SND.NXT when the window began
	cwndLimited     bool // a send in the window found cwnd full
	appLimitedNoted bool // the app_limited step was taken for this stretch
	timedRetx       bool
	cc              *NewReno
	dupAcks         int

	// The retransmission and delayed-ACK timers are set for nearly every
	// segment: their functions are bound once and their timers re-armed
	// (clock.Rearm), so that arming one allocates nothing
	// (BenchmarkReceivePath, BenchmarkSendPath in stack/bench_test.go).
	rtxFunc, ackFunc   func()
	rtxSpare, ackSpare clock.Timer
	// rtxTimer is the retransmission timer, or the PTO or RACK's
	// reordering timer in its place (timers.go): rtxKind says which, and
	// rtoDeadline is when the retransmission timer fires or would fire.
	rtxKind     lossTimer
	rtoDeadline time.Duration

	// Delayed ACK (RFC 1122 §4.2.3.2, RFC 9293 §3.8.6.3).
	ackTimer    clock.Timer
	unackedSegs int // full-size segments received since our last ACK
	ackNow      bool

	// The persist timer (RFC 9293 §3.8.6.1, timers.go): its backoff, and
	// the zero-window probes sent since the peer's last ACK, the only
	// ones that count toward the retry limit.
	persistTimer     clock.Timer
	persistBackoff   int
	probesUnanswered int

	// The right edge of the peer's window last reported as what held
	// output back (output.go, logWindowLimit).
	wndLimitEdge   Seq
	wndLimitLogged bool

	timeWaitTimer clock.Timer
	keepTimer     clock.Timer
	lastRecv      time.Duration

	// RFC 5961 rate limit (ratelimit.go): when this connection last
	// answered a rejected segment.
	lastInvalidACK time.Duration
	invalidACKSent bool

	sackScratch [MaxSACKBlocks * 8]SACKBlock // reused for the SACK option
	// dsack is a run of bytes received twice, to be reported once as the
	// first SACK block of the next ACK (RFC 2883).
	dsack        SACKBlock
	dsackPending bool
	sacked       scoreboard // what the peer SACKed beyond SND.UNA
	deleted      bool

	// Loss recovery (recovery.go, RFC 6675 §2).
	highRxt   Seq  // HighRxt: one past the highest byte retransmitted in this recovery
	lostTo    Seq  // after a timeout, its recovery point: SND.MAX when it fired (below it every byte was taken for lost without RACK, goBack)
	lostToSet bool // lostTo is in force: SND.UNA has not reached it yet

	// RACK-TLP (RFC 8985) and PRR (RFC 6937): the log of segments sent
	// (sentlog.go), RACK's and TLP's variables (rack.go, tlp.go), PRR's
	// (prr.go), and where SND.UNA and the SACKed bytes stood before the
	// ACK being processed (PRR's DeliveredData).
	sent            sentLog
	rack            rackState
	tlp             tlpState
	prr             prrState
	ackUnaBefore    Seq
	ackSackedBefore int

	// When data was last sent, for the restart window after idle (RFC
	// 5681 §4.1).
	lastDataSent time.Duration
	sentData     bool
}

// State returns the connection's state.
func (e *Endpoint) State() State { return e.state }

// LocalAddr and RemoteAddr return the four-tuple's halves.
func (e *Endpoint) LocalAddr() netip.AddrPort  { return e.local }
func (e *Endpoint) RemoteAddr() netip.AddrPort { return e.remote }

// Parent returns the listener a connection was cloned from, or nil.
func (e *Endpoint) Parent() *Endpoint { return e.parent }

// Info is a snapshot of a connection for tables and tests (like ss -ti).
type Info struct {
	ID                             uint64
	State                          State
	Local, Remote                  netip.AddrPort
	SndUna, SndNxt, ISS            Seq
	RcvNxt, IRS                    Seq
	SndWnd, RcvWnd                 int
	Cwnd, Ssthresh, MSS            int
	SRTT, RTO                      time.Duration
	SendQueued, Readable           int
	Backlog, SynQueue, AcceptQueue int
	// The options agreed in the handshake: timestamps (RFC 7323 §3),
	// SACK (RFC 2018) and the window scales (RFC 7323 §2), as Linux's
	// tcpi_options, tcpi_snd_wscale and tcpi_rcv_wscale report them.
	Timestamps, SACK   bool
	SndScale, RcvScale uint8
}

// Info returns a snapshot of the endpoint.
func (e *Endpoint) Info() Info {
	in := Info{ID: e.ID, State: e.state, Local: e.local, Remote: e.remote,
		SndUna: e.sndUna, SndNxt: e.sndNxt, ISS: e.iss, IRS: e.irs, SndWnd: int(e.sndWnd), MSS: e.mss,
		Timestamps: e.tsOK, SACK: e.sackOK, SndScale: e.sndScale, RcvScale: e.rcvScale,
		Backlog: e.backlog, SynQueue: len(e.synQueue), AcceptQueue: len(e.acceptQueue)}
	if e.recv != nil {
		in.RcvNxt, in.RcvWnd, in.Readable = e.recv.NextSeq(), e.recv.Window(), e.recv.Readable()
	}
	if e.send != nil {
		in.SendQueued = e.send.Len()
	}
	if e.cc != nil {
		in.Cwnd, in.Ssthresh = e.cc.Cwnd, e.cc.Ssthresh
		in.SRTT, in.RTO = e.rtt.SRTT, e.rto()
	}
	return in
}

func (e *Endpoint) String() string {
	return fmt.Sprintf("#%d %s %s <-> %s", e.ID, e.state, e.local, e.remote)
}

// newEndpoint makes an endpoint; its buffers come with initBuffers.
func (l *Layer) newEndpoint(opts Options, up Upper) *Endpoint {
	return &Endpoint{layer: l, ID: l.rec.NewConnID(), opts: opts, upper: up}
}

// setState changes state and logs it: every transition of RFC 9293's
// Figure 5 is a `state` step with from/to, and why it happened.
func (e *Endpoint) setState(to State, frame uint64, why string) {
	if why == "" {
		e.setStatef(to, frame, "%s -> %s")
		return
	}
	e.setStatef(to, frame, "%s -> %s: %s", viz.Str(why))
}

// setStatef is setState with the step's message as a format and its
// arguments, so that a why made of values (connect's address) is made into
// text by the sinks: the format starts with the two states' "%s -> %s",
// and at most two arguments follow them.
func (e *Endpoint) setStatef(to State, frame uint64, format string, args ...viz.Arg) {
	from := e.state
	if from == to {
		return
	}
	e.state = to
	l := e.layer
	// CurrEstab counts ESTABLISHED and CLOSE_WAIT, as RFC 1213's
	// tcpCurrEstab does.
	open := func(s State) bool { return s == Established || s == CloseWait }
	if open(to) && !open(from) {
		l.stats.CurrEstab++
	} else if open(from) && !open(to) {
		l.stats.CurrEstab--
	}
	if (to == TimeWait || to == Closed) && e.send != nil {
		// Nothing more will be sent (TIME_WAIT: our FIN is acknowledged)
		// or received: give back the buffers' storage, unless unread
		// data still sits in it, so that the connections waiting out
		// 2 MSL after a burst of short requests (bench/run's new
		// connections/s) hold no buffer memory.
		e.send.Release()
		e.recv.Release()
		e.sent.release()
	}
	if l.rec.On() {
		all := [4]viz.Arg{viz.Str(from.String()), viz.Str(to.String())}
		n := 2 + copy(all[2:], args)
		l.rec.Stepf(viz.Event{Layer: viz.LayerTCP, Step: "state", Frame: frame, Conn: e.ID},
			[]viz.Field{viz.F("from", from.String()), viz.F("to", to.String())},
			format, all[:n]...)
	}
}

// initBuffers allocates the connection's buffers and congestion state: what
// the listener's clone gets fresh, as the seed's chapter says.
func (e *Endpoint) initBuffers() {
	l := e.layer
	sb, rb := e.opts.SendBuffer, e.opts.ReceiveBuffer
	if sb <= 0 {
		sb = l.cfg.SendBuffer
	}
	if rb <= 0 {
		rb = l.cfg.ReceiveBuffer
	}
	e.send = NewSendBuffer(sb)
	e.recv = newRecvBuffer(l.cfg.Receiver, rb)
	e.rtt = NewRTTEstimator(l.cfg.RTOMin, l.cfg.RTOMax, l.cfg.RTOInitial)
	e.snd = l.newSender()
	e.tsOffset = l.ts.offset(e.local.Addr(), e.remote.Addr())
	// Our window scale: the smallest shift that lets the 16-bit window
	// field cover the whole receive buffer (RFC 7323 §2.2).
	for e.rcvScale = 0; e.rcvScale < 14 && rb>>e.rcvScale > 65535; e.rcvScale++ {
	}
}

// ourMSS is the MSS we announce: the link MTU toward the peer less the IP
// and TCP headers (RFC 9293 §3.7.1, RFC 6691).
func (e *Endpoint) ourMSS() int {
	mtu := e.layer.net.MTUFor(e.remote.Addr())
	if mtu <= 0 {
		mtu = 1500
	}
	if m := e.opts.MaxSeg; m > 0 && m < mtu-40 {
		// TCP_MAXSEG: the application asked for smaller segments
		// (RFC 9293 §3.7.1 lets the MSS option be any value up to
		// what the MTU allows).
		return m
	}
	return mtu - 40
}

// logf records a note or step of this connection: what happened, as a
// format and its typed arguments (viz/arg.go), made into text by the
// sinks, so that nothing is formatted on the stack's goroutine.
func (e *Endpoint) logf(step string, v viz.Verdict, frame uint64, fields []viz.Field, format string, args ...viz.Arg) {
	if e.layer.rec.On() {
		e.layer.rec.Stepf(viz.Event{Layer: viz.LayerTCP, Step: step, Verdict: v, Frame: frame, Conn: e.ID},
			fields, format, args...)
	}
}

// dropf records that this connection dropped a segment, and why.
func (e *Endpoint) dropf(frame uint64, step string, reason viz.Reason, format string, args ...viz.Arg) {
	if e.layer.rec.On() {
		e.layer.rec.Stepf(viz.Event{Layer: viz.LayerTCP, Step: step, Verdict: viz.Drop, Reason: reason, Frame: frame, Conn: e.ID},
			nil, format, args...)
	}
}

// deleteTCB removes the connection: "delete the TCB, enter CLOSED". Its
// four-tuple is free again and its timers stop.
func (e *Endpoint) deleteTCB(frame uint64, why string) {
	if e.deleted {
		return
	}
	e.setState(Closed, frame, why)
	e.deleted = true
	for _, t := range []clock.Timer{e.rtxTimer, e.ackTimer, e.persistTimer, e.timeWaitTimer, e.keepTimer} {
		if t != nil {
			t.Stop()
		}
	}
	l := e.layer
	if e.backlog > 0 || e.parent == nil && e.remote == (netip.AddrPort{}) {
		l.table.RemoveListener(e)
	} else {
		l.table.RemoveConn(e)
	}
	if p := e.parent; p != nil {
		p.synQueue = removeEndpoint(p.synQueue, e)
	}
	e.ready(ReadyRead | ReadyWrite | ReadyAccept | ReadyClosed)
}

func removeEndpoint(list []*Endpoint, e *Endpoint) []*Endpoint {
	for i, x := range list {
		if x == e {
			return append(list[:i:i], list[i+1:]...)
		}
	}
	return list
}

// ready tells the socket above what may now make progress.
func (e *Endpoint) ready(r Readiness) {
	if e.upper != nil {
		e.upper.Ready(r)
	}
}

func (e *Endpoint) wakeReaders() { e.ready(ReadyRead) }
func (e *Endpoint) wakeWriters() { e.ready(ReadyWrite) }

// Upper returns the socket above the endpoint (nil if none was given):
// for a connection a listener cloned, the socket accept() hands out.
func (e *Endpoint) Upper() Upper { return e.upper }

// opened tells the Upper that the endpoint it opened exists (contract.go),
// before the endpoint changes state or sends anything.
func (e *Endpoint) opened() {
	if e.upper != nil {
		e.upper.Opened(e)
	}
}

// Options returns the socket options.
func (e *Endpoint) Options() Options { return e.opts }

// SetOptions changes the socket options (setsockopt).
func (e *Endpoint) SetOptions(o Options) {
	nagleOff := o.NoDelay && !e.opts.NoDelay
	e.opts = o
	if e.send != nil && o.SendBuffer > 0 {
		e.send.Resize(o.SendBuffer)
	}
	if nagleOff && e.state.synchronized() {
		e.output(0) // data Nagle was holding goes out now
	}
	if o.KeepAlive {
		e.armKeepalive()
	}
}
