package tcp

import (
	"crypto/sha256"
	"encoding/binary"
	"net/netip"
	"time"

	"github.com/packetwalk/packetwalk/viz"
)

// SYN cookies (RFC 4987 §3.6, D. J. Bernstein 1996).
//
// A SYN flood fills a listener's SYN queue with half-open sockets whose
// SYN+ACKs go to spoofed addresses that never answer; once the queue is
// full, real clients are refused. A SYN cookie keeps no state at all: the
// listener encodes what it must remember in the initial sequence number of
// its SYN+ACK, and a client that really sent the SYN returns that number
// plus one in its ACK. From that ACK the listener rebuilds the connection.
//
// The cookie, 32 bits (RFC 4987 §3.6's layout):
//
//	 31      27 26  24 23                                    0
//	+----------+------+---------------------------------------+
//	| t mod 32 | MSS  |  MAC(secret, addresses, ports, t, ISN) |
//	+----------+------+---------------------------------------+
//
// t counts 64-second periods (Linux's choice), so a cookie is honoured for
// one to two periods; MSS is a 3-bit index into cookieMSS, the largest
// entry not above the client's MSS; the MAC, 24 bits of a keyed SHA-256 of
// the four-tuple, t and the client's ISN, is what an attacker cannot
// forge. What a cookie cannot hold is lost: the connection has no window
// scaling, no SACK and no timestamps (the SYN+ACK does not offer them), and
// the options of the SYN are forgotten. (Linux hides the window scale and
// SACK in the low bits of the SYN+ACK's TSval when the SYN offered
// timestamps; packetwalk does not.) That is why cookies are used only once the SYN
// queue is full (SynCookiesWhenFull, the default, like Linux's
// net.ipv4.tcp_syncookies = 1).

// SynCookieMode says when a listener answers with SYN cookies.
type SynCookieMode uint8

const (
	SynCookiesWhenFull SynCookieMode = iota // only when the SYN queue is full (default)
	SynCookiesOff                           // never: a SYN beyond the queue is dropped (backlog_full)
	SynCookiesAlways                        // for every SYN: no half-open sockets at all
)

func (m SynCookieMode) String() string {
	switch m {
	case SynCookiesOff:
		return "off"
	case SynCookiesAlways:
		return "always"
	}
	return "when-full"
}

// cookiePeriod is how long one value of the cookie's counter t lasts.
const cookiePeriod = 64 * time.Second

// cookieMSS are the MSS values a cookie can carry (3 bits): the common ones
// (Ethernet 1460, PPPoE 1452, tunnels) and RFC 9293's default 536.
var cookieMSS = [8]int{256, 536, 1220, 1360, 1400, 1440, 1452, 1460}

// cookieJar holds the key of a host's cookies and when it last sent one.
type cookieJar struct {
	key      [32]byte
	lastSent time.Duration
	sent     bool
}

func newCookieJar(secret []byte) cookieJar {
	return cookieJar{key: sha256.Sum256(append([]byte("syncookie:"), secret...))}
}

// mac is the cookie's 24-bit keyed hash.
func (j *cookieJar) mac(local, remote netip.AddrPort, t uint32, clientISN Seq) uint32 {
	var b [32 + 4 + 4 + 4 + 4 + 4 + 4]byte
	copy(b[:32], j.key[:])
	la, ra := local.Addr().As4(), remote.Addr().As4()
	copy(b[32:], la[:])
	copy(b[36:], ra[:])
	binary.BigEndian.PutUint16(b[40:], local.Port())
	binary.BigEndian.PutUint16(b[42:], remote.Port())
	binary.BigEndian.PutUint32(b[44:], t)
	binary.BigEndian.PutUint32(b[48:], uint32(clientISN))
	sum := sha256.Sum256(b[:])
	return binary.BigEndian.Uint32(sum[:4]) & 0xffffff
}

// make returns the cookie for a SYN with clientISN and peer MSS, and the
// MSS index chosen.
func (j *cookieJar) make(now time.Duration, local, remote netip.AddrPort, clientISN Seq, peerMSS int) (Seq, int) {
	t := uint32(now / cookiePeriod)
	idx := 0
	for i, m := range cookieMSS {
		if m <= peerMSS {
			idx = i
		}
	}
	return Seq((t%32)<<27 | uint32(idx)<<24 | j.mac(local, remote, t, clientISN)), idx
}

// check validates the cookie an ACK returns and gives back the MSS it
// carries. A cookie from this period or the one before is accepted.
func (j *cookieJar) check(now time.Duration, local, remote netip.AddrPort, clientISN, cookie Seq) (mss int, ok bool) {
	c := uint32(cookie)
	nowT := uint32(now / cookiePeriod)
	for age := uint32(0); age <= 1 && age <= nowT; age++ {
		t := nowT - age
		if c>>27 == t%32 && c&0xffffff == j.mac(local, remote, t, clientISN) {
			return cookieMSS[(c>>24)&7], true
		}
	}
	return 0, false
}

// sendCookie answers a SYN at a listener whose SYN queue is full (or every
// SYN, with SynCookiesAlways) with a SYN+ACK whose ISN is a cookie, keeping
// no state.
func (e *Endpoint) sendCookie(in *incoming, always bool) {
	l := e.layer
	peerMSS := 536
	if in.hdr.Options.MSS != 0 {
		peerMSS = int(in.hdr.Options.MSS)
	}
	now := l.clock.Now()
	cookie, idx := l.cookies.make(now, in.local, in.remote, in.hdr.Seq, peerMSS)
	l.cookies.lastSent, l.cookies.sent = now, true
	l.stats.SynCookiesSent++
	rb := e.opts.ReceiveBuffer
	if rb <= 0 {
		rb = l.cfg.ReceiveBuffer
	}
	ourMSS := l.net.MTUFor(in.remote.Addr()) - 40
	if ourMSS <= 0 {
		ourMSS = 1460
	}
	out := Header{SrcPort: in.local.Port(), DstPort: in.remote.Port(), Seq: cookie, Ack: in.hdr.Seq.Add(1),
		Flags: FlagSYN | FlagACK, Window: uint16(min(rb, 65535))}
	out.Options.MSS = uint16(ourMSS)
	if l.rec.On() {
		fields := []viz.Field{viz.Fv("cookie", viz.U32(uint32(cookie))), viz.Fv("mss", viz.Int(int(cookieMSS[idx]))),
			viz.Fv("t", viz.U32(uint32(now/cookiePeriod)%32))}
		ev := viz.Event{Layer: viz.LayerTCP, Step: "syn_cookie", Verdict: viz.Note, Frame: in.frame, Conn: e.ID}
		if always {
			l.rec.Stepf(ev, fields, "SYN cookies always on: SYN from %s answered with a SYN cookie, no socket kept (RFC 4987 §3.6)",
				viz.AddrPort(in.remote))
		} else {
			l.rec.Stepf(ev, fields, "SYN queue full (%d half-open): SYN from %s answered with a SYN cookie, no socket kept (RFC 4987 §3.6)",
				viz.Int(len(e.synQueue)), viz.AddrPort(in.remote))
		}
	}
	l.sendRaw(in.local.Addr(), in.remote.Addr(), out, nil, e.ID, "send", "SYN+ACK with a SYN cookie")
}

// cookieACK handles an ACK at a listener that may return a SYN cookie. It
// reports whether the ACK was taken (a connection was built, or it was
// dropped for a full accept queue); false means it is no cookie of ours
// and the caller answers it as a stray ACK.
func (e *Endpoint) cookieACK(in *incoming) bool {
	l := e.layer
	now := l.clock.Now()
	// Only while cookies were sent recently, as Linux: otherwise a
	// random ACK is not worth a hash.
	if !l.cookies.sent || now-l.cookies.lastSent > 2*cookiePeriod || in.has(FlagSYN|FlagRST) {
		return false
	}
	clientISN := in.hdr.Seq.Add(^uint32(0)) // SEG.SEQ - 1
	cookie := in.hdr.Ack.Add(^uint32(0))    // SEG.ACK - 1
	mss, ok := l.cookies.check(now, in.local, in.remote, clientISN, cookie)
	if !ok {
		l.stats.SynCookiesFailed++
		return false
	}
	if len(e.acceptQueue) >= e.backlog {
		l.stats.ListenOverflows++
		e.dropf(in.frame, "syn_cookie", viz.ReasonBacklogFull, "valid SYN cookie from %s, but the accept queue is full (%d)", viz.AddrPort(in.remote), viz.Int(e.backlog))
		return true
	}
	l.stats.SynCookiesRecv++
	// Both ISNs come back in the ACK: the client's is SEG.SEQ-1, ours
	// (the cookie) SEG.ACK-1, and both SYNs are already acknowledged.
	c := e.cloneListener(in, "syn_cookie", func(c *Endpoint) {
		c.rcvScale = 0 // the cookie's SYN+ACK offered no window scaling
		c.irs = clientISN
		c.recv.SetNextSeq(in.hdr.Seq)
		c.iss = cookie
		c.sndUna, c.sndNxt, c.sndMax = in.hdr.Ack, in.hdr.Ack, in.hdr.Ack
		c.send.SetStart(in.hdr.Ack)
		c.mss = min(mss, c.ourMSS())
		c.cc = l.newCongestion(c.mss)
	})
	if c == nil {
		return true
	}
	if l.rec.On() {
		l.rec.Stepf(viz.Event{Layer: viz.LayerTCP, Step: "syn_cookie", Verdict: viz.Pass, Frame: in.frame, Conn: c.ID},
			[]viz.Field{viz.Fv("listener", viz.U64(e.ID)), viz.Fv("remote", viz.AddrPort(c.remote)), viz.Fv("mss", viz.Int(c.mss))},
			"ACK %d returns our SYN cookie: new socket #%d %s <-> %s rebuilt from it (MSS %d, no window scale, no SACK, no timestamps)",
			viz.U32(uint32(in.hdr.Ack)), viz.U64(c.ID), viz.AddrPort(c.remote), viz.AddrPort(c.local), viz.Int(c.mss))
	}
	c.setState(Established, in.frame, "the ACK returned a valid SYN cookie")
	e.enqueueAccept(c, in.frame)
	if len(in.payload) > 0 {
		c.dataArrives(in)
	}
	if in.has(FlagFIN) {
		c.finArrives(in)
	}
	c.output(in.frame)
	c.sendPendingACK(in.frame)
	return true
}

// HalfOpen returns how many half-open sockets (SYN_RECEIVED) a listener
// holds in its SYN queue; Pending counts those waiting for accept().
func (e *Endpoint) HalfOpen() int { return len(e.synQueue) }
