package tcp

import (
	"crypto/sha256"
	"encoding/binary"
	"net/netip"
	"time"

	"github.com/packetwalk/packetwalk/viz"
)

// Timestamps (RFC 7323 §3-5): every segment carries the sender's clock
// (TSval) and the latest clock value it received (TSecr), so that
//
//   - the sender measures a round trip on every ACK (RTTM, §4): now minus
//     the TSecr the ACK brings back, a retransmission included, since the
//     echo says which copy arrived (Karn's rule, RFC 6298 §3, is for the
//     one-segment-at-a-time timing of connections without timestamps);
//   - the receiver rejects an old duplicate whose sequence numbers have
//     come round again on a fast connection (PAWS, §5): its TSval is older
//     than the last one recorded.
//
// Negotiation, as Linux does it (§3.2): our SYN offers the option (TSval,
// TSecr 0); a SYN+ACK carries it only if the peer's SYN did; once both
// SYNs carried it, every segment does, and the option's 12 bytes (two NOPs
// for alignment and the 10 of the option) come off each segment's data:
// Linux sends 1448-byte segments on a 1500-byte MTU. A segment that
// arrives without the option after that is still accepted, as Linux
// accepts it, where §3.2 says the receiver SHOULD drop it.
//
// The receiver's state (§4.3): TS.Recent, the TSval to echo, and
// Last.ACK.sent, the acknowledgment number of our last segment. TS.Recent
// takes a segment's TSval only if the TSval is not older and the segment
// starts at or before Last.ACK.sent. So while an ACK is delayed, TS.Recent
// keeps the TSval of the earliest segment it covers (the round trip
// measured includes the delay); past a hole, out-of-order segments do not
// move it, and the segment that fills the hole does (the sender learns the
// round trip of the retransmission).

// TimestampMode says whether connections use RFC 7323 timestamps.
type TimestampMode uint8

const (
	// TimestampsOn offers the option in every SYN and uses it when the
	// peer agrees: Linux's default (net.ipv4.tcp_timestamps = 1).
	TimestampsOn TimestampMode = iota
	// TimestampsOff never sends the option (Linux's tcp_timestamps = 0,
	// FreeBSD's net.inet.tcp.rfc1323 = 0): RTT is timed one segment at a
	// time (RFC 6298 §3) and there is no PAWS.
	TimestampsOff
)

func (m TimestampMode) String() string {
	if m == TimestampsOff {
		return "off"
	}
	return "on"
}

const (
	// tsOptionSpace is what the option costs a segment: NOP, NOP, kind,
	// length and two 4-byte values (the aligned layout of options.go).
	tsOptionSpace = 12

	// tsTick is the timestamp clock's period: 1 ms, as Linux's (RFC 7323
	// §5.4 asks for 1 ms to 1 s). The clock wraps after 2^32 ms, 49.7
	// days, and a TSval is "older" when it is behind by less than half
	// of that (modular comparison, §5.2).
	tsTick = time.Millisecond

	// pawsIdleLimit is how long TS.Recent stays valid on an idle
	// connection: 24 days (RFC 7323 §5.5), less than the 2^31 ms after
	// which the peer's clock could appear to have gone backwards. Linux
	// calls it TCP_PAWS_24DAYS.
	pawsIdleLimit = 24 * 24 * time.Hour

	// tsMaxRTT bounds an RTT sample from an echo: an echo older than
	// 2^31 microseconds (about 36 minutes) is no sample, as in Linux
	// (tcp_rtt_tsopt_us).
	tsMaxRTT = (1<<31 - 1) * time.Microsecond
)

// tsClock makes each connection's timestamp offset. A TSval that were the
// host's uptime in milliseconds would tell any observer how long the host
// has been up and which connections share a host; RFC 7323 §7.1 suggests a
// random offset, computed like an ISN (RFC 6528). Like Linux
// (secure_tcp_ts_off), the offset is a keyed hash of the two addresses:
// every connection between the same two hosts shares one clock, so a new
// connection that reuses the four-tuple of one in TIME_WAIT shows TSvals
// above the old one's (RFC 6191). The key comes from the host's secret: a
// seeded simulation sends the same timestamps every run.
type tsClock struct {
	key [32]byte
}

func newTSClock(secret []byte) tsClock {
	return tsClock{key: sha256.Sum256(append([]byte("tcp-ts-offset:"), secret...))}
}

func (c tsClock) offset(local, remote netip.Addr) uint32 {
	var b [32 + 16 + 16]byte
	copy(b[:32], c.key[:])
	la, ra := local.As16(), remote.As16()
	copy(b[32:], la[:])
	copy(b[48:], ra[:])
	sum := sha256.Sum256(b[:])
	return binary.BigEndian.Uint32(sum[:4])
}

// tsNow is our TSval now: the connection's offset plus the host's clock in
// 1 ms ticks (virtual time in a simulation).
func (e *Endpoint) tsNow() uint32 { return e.tsAt(e.layer.clock.Now()) }

// tsAt is the TSval our clock showed at host time t: what a segment sent
// then carried.
func (e *Endpoint) tsAt(t time.Duration) uint32 { return e.tsOffset + uint32(t/tsTick) }

// tsOlder reports whether TSval a is older than b, in modular arithmetic
// (RFC 7323 §5.2: a < b when 0 < b - a < 2^31).
func tsOlder(a, b uint32) bool { return int32(a-b) < 0 }

// stampTimestamps puts the Timestamps option on an outgoing segment of the
// connection, if it carries one: every segment once negotiated (§3.2), and
// our SYN when the host offers them. TSecr is TS.Recent (§4.3 (3)); a SYN
// echoes nothing (0), as it acknowledges nothing.
func (e *Endpoint) stampTimestamps(h *Header) {
	offer := h.Flags&(FlagSYN|FlagACK) == FlagSYN && e.layer.cfg.Timestamps == TimestampsOn
	if !e.tsOK && !offer {
		return
	}
	h.Options.HasTS, h.Options.TSVal = true, e.tsNow()
	if e.tsOK {
		h.Options.TSEcr = e.tsRecent
	}
}

// negotiateTimestamps decides, from the peer's SYN (or SYN+ACK), whether
// the connection uses timestamps (§3.2): only if the host offers them
// and the peer's SYN carried the option (for an active open, our SYN
// offered it). Then TS.Recent starts at the SYN's TSval, and the MSS used
// to cut segments makes room for the option. It runs before the
// congestion state is made, which counts in segments of that size.
func (e *Endpoint) negotiateTimestamps(o HeaderOptions, frame uint64) {
	if e.layer.cfg.Timestamps != TimestampsOn {
		if o.HasTS {
			e.logf("timestamps", viz.Note, frame, []viz.Field{viz.F("timestamps", "off")},
				"the peer's SYN offers timestamps, but this host has them off (Config.Timestamps, Linux's net.ipv4.tcp_timestamps = 0): none will be sent (RFC 7323 §3.2)")
		}
		return
	}
	if !o.HasTS {
		e.logf("timestamps", viz.Note, frame, []viz.Field{viz.F("timestamps", "off")},
			"the peer's SYN carries no Timestamps option: no segment of this connection will carry one (RFC 7323 §3.2)")
		return
	}
	e.tsOK = true
	e.setTSRecent(o.TSVal)
	full := e.mss
	e.mss = max(e.mss-tsOptionSpace, 1)
	e.logf("timestamps", viz.Note, frame, []viz.Field{viz.F("timestamps", "on"), viz.Fv("ts_recent", viz.U32(o.TSVal)), viz.Fv("mss", viz.Int(e.mss))},
		"both SYNs carry timestamps: every segment will carry TSval and TSecr (RFC 7323 §3.2), TS.Recent %d; the option takes 12 bytes of each header, so segments carry at most %d bytes of data (MSS %d - 12), as Linux's do",
		viz.U32(o.TSVal), viz.Int(e.mss), viz.Int(full))
}

func (e *Endpoint) setTSRecent(v uint32) {
	e.tsRecent, e.tsRecentAt, e.tsRecentValid = v, e.layer.clock.Now(), true
}

// pawsReject is RFC 7323 §5.3 R1, before the acceptability test: a
// segment whose TSval is older than TS.Recent is an old duplicate (its
// sequence numbers may look new after a wrap), so it is dropped and
// answered with an ACK, which keeps a half-open connection detectable.
// A RST is never rejected for its timestamp. It reports whether the
// segment was dropped.
func (e *Endpoint) pawsReject(in *incoming) bool {
	if !e.tsOK || in.has(FlagRST) {
		return false
	}
	o := in.hdr.Options
	if !o.HasTS {
		e.logf("timestamps", viz.Note, in.frame, nil,
			"segment without the Timestamps option on a connection that negotiated them: taken, as Linux takes it (RFC 7323 §3.2 says a receiver SHOULD drop it); it neither updates TS.Recent nor gives an RTT sample")
		return false
	}
	if !e.tsRecentValid || !tsOlder(o.TSVal, e.tsRecent) {
		return false
	}
	if idle := e.layer.clock.Now() - e.tsRecentAt; idle > pawsIdleLimit {
		// §5.5: after 24 days without a timestamp recorded, the peer's
		// clock may have advanced by more than 2^31 ticks and look old.
		e.tsRecentValid = false
		e.logf("paws", viz.Note, in.frame, []viz.Field{viz.Fv("ts_recent", viz.U32(e.tsRecent)), viz.Fv("tsval", viz.U32(o.TSVal))},
			"TSval %d is behind TS.Recent %d, but TS.Recent was recorded %.1f days ago, more than 24: it is no longer valid, and the segment is not checked against it (RFC 7323 §5.5)",
			viz.U32(o.TSVal), viz.U32(e.tsRecent), viz.Float(idle.Hours()/24))
		return false
	}
	e.layer.stats.PAWSEstab++
	e.dropf(in.frame, "paws", viz.ReasonPAWSReject,
		"TSval %d is older than TS.Recent %d: an old duplicate, dropped and answered with an ACK (PAWS, RFC 7323 §5.3 R1)", viz.U32(o.TSVal), viz.U32(e.tsRecent))
	if e.answerInvalid(in, false) {
		e.sendACK(in.frame, "a segment rejected by PAWS is answered with an ACK (RFC 7323 §5.3 R1)")
	}
	return true
}

// timestampsOnACK is what an acceptable segment's timestamp does once its
// ACK has been found valid, before the ACK is processed: record it as
// TS.Recent (§4.3 (2), §5.3 R3) and, if the ACK acknowledges new data,
// measure the round trip from its echo (§4.1).
func (e *Endpoint) timestampsOnACK(in *incoming) {
	if !e.tsOK || !in.hdr.Options.HasTS {
		return
	}
	e.updateTSRecent(in)
	if e.sndUna.LessThan(in.hdr.Ack) {
		if e.rttByTimestamps() {
			e.timestampRTT(in)
		}
	}
}

// updateTSRecent records the segment's TSval as TS.Recent if it is not
// older and the segment starts at or before Last.ACK.sent (§4.3 (2)): what
// we will echo is the TSval of the earliest segment our next ACK covers
// (a delayed ACK covers two), and out-of-order segments beyond a hole
// leave it alone.
func (e *Endpoint) updateTSRecent(in *incoming) {
	v, seq := in.hdr.Options.TSVal, in.hdr.Seq
	switch {
	case e.tsRecentValid && tsOlder(v, e.tsRecent):
		// Older: PAWS (pawsReject) dropped such a segment already.
	case seq.GreaterThan(e.lastAckSent):
		if e.layer.rec.On() {
			e.logf("ts_recent", viz.Note, in.frame, []viz.Field{viz.Fv("ts_recent", viz.U32(e.tsRecent)), viz.Fv("tsval", viz.U32(v))},
				"TSval %d not recorded: the segment starts at %d, beyond Last.ACK.sent %d, so our ACKs go on echoing TS.Recent %d (RFC 7323 §4.3)",
				viz.U32(v), viz.U32(uint32(seq)), viz.U32(uint32(e.lastAckSent)), viz.U32(e.tsRecent))
		}
	case e.tsRecentValid && v == e.tsRecent:
		e.tsRecentAt = e.layer.clock.Now()
	default:
		if e.layer.rec.On() {
			e.logf("ts_recent", viz.Note, in.frame, []viz.Field{viz.Fv("ts_recent", viz.U32(v))},
				"TS.Recent %d -> %d: the segment starts at %d, at or before Last.ACK.sent %d; our next segments echo it (RFC 7323 §4.3)",
				viz.U32(e.tsRecent), viz.U32(v), viz.U32(uint32(seq)), viz.U32(uint32(e.lastAckSent)))
		}
		e.setTSRecent(v)
	}
}

// timestampRTT takes an RTT sample from the echo of an ACK that
// acknowledges new data (RTTM, §4.1): now minus TSecr, in 1 ms ticks. An
// ACK may only echo what we sent, so an echo from the future or from more
// than tsMaxRTT ago is a broken or forged one and is ignored, as is a
// TSecr of 0 (Linux reads it as no echo). Less than a tick (a fast LAN or
// a simulated wire) counts as one tick, as Linux counts it: the true
// round trip is somewhere below 1 ms.
//
// With a sample on every ACK, RFC 6298's weights would forget the history
// within a window; Appendix G divides them by the samples a window is
// expected to give, one per two full segments in flight (delayed ACKs).
func (e *Endpoint) timestampRTT(in *incoming) {
	ecr := in.hdr.Options.TSEcr
	ticks := int32(e.tsNow() - ecr)
	if ecr == 0 || ticks < 0 || time.Duration(ticks)*tsTick > tsMaxRTT {
		return
	}
	r := time.Duration(max(ticks, 1)) * tsTick
	flight := int(e.sndMax - e.sndUna)
	expected := max((flight+2*e.mss-1)/(2*e.mss), 1)
	e.timing = false // the echo replaces one-segment timing
	e.rtt.SampleWeighted(r, expected)
	if e.layer.rec.On() {
		rs, ss, ros := viz.Dur(r), viz.Dur(e.rtt.SRTT), viz.Dur(e.rtt.RTO())
		e.logf("rtt", viz.Note, in.frame, []viz.Field{viz.Fv("rtt", rs), viz.Fv("srtt", ss), viz.Fv("rto", ros),
			viz.Fv("tsecr", viz.U32(ecr)), viz.Fv("expected_samples", viz.Int(expected))},
			"RTT sample %v from TSecr %d (RFC 7323 §4.1): SRTT %v, RTO %v; weights 1/8 and 1/4 divided by %d samples expected per window (RFC 7323 Appendix G)",
			rs, viz.U32(ecr), ss, ros, viz.Int(expected))
	}
}

// incarnation says why a SYN in TIME_WAIT may open a new connection.
type incarnation uint8

const (
	newerSeq incarnation = iota + 1 // its sequence number is beyond RCV.NXT
	newerTS                         // its TSval is newer than TS.Recent (RFC 6191 §2)
)

// newIncarnation reports whether a SYN that arrives in TIME_WAIT may open
// a new connection on the four-tuple, and why (RFC 1122 §4.2.2.13, RFC
// 6191 §2): its sequence number is beyond RCV.NXT, or, with timestamps,
// its TSval is newer than TS.Recent, whatever its sequence number; with
// timestamps, a SYN whose TSval is older (PAWS) is an old duplicate
// either way. Linux's tcp_timewait_state_process decides the same.
func (e *Endpoint) newIncarnation(in *incoming) (incarnation, bool) {
	if !in.has(FlagSYN) || in.has(FlagACK|FlagRST) {
		return 0, false
	}
	o := in.hdr.Options
	ts := e.tsOK && o.HasTS && e.tsRecentValid
	if ts && tsOlder(o.TSVal, e.tsRecent) {
		return 0, false
	}
	if in.hdr.Seq.GreaterThan(e.rcvNxt()) {
		return newerSeq, true
	}
	if ts && tsOlder(e.tsRecent, o.TSVal) {
		return newerTS, true
	}
	return 0, false
}

// mssForMTU is the data a segment may carry on a path of the given MTU:
// the MTU less the IP and TCP headers and, with timestamps, their option.
func (e *Endpoint) mssForMTU(mtu int) int {
	mss := mtu - 40
	if e.tsOK {
		mss -= tsOptionSpace
	}
	return mss
}
