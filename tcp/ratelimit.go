package tcp

import (
	"time"

	"github.com/packetwalk/packetwalk/viz"
)

// Rate limits on the ACKs TCP sends in answer to segments it rejects.
//
// An unacceptable segment is answered with an ACK (RFC 9293 §3.10.7.4), a
// suspicious RST or SYN with a challenge ACK (RFC 5961 §§3-4), an ACK of
// unsent data with an ACK (RFC 5961 §5.2). Each answer is right on its own,
// but two ends that disagree about the sequence space (after a blind data
// injection, say) answer each other's answers forever: an ACK storm. And
// an attacker who sprays RSTs gets one ACK per RST. So, as Linux does
// (tcp_oow_rate_limited, net.ipv4.tcp_invalid_ratelimit = 500 ms), a
// connection sends at most one such ACK per interval for segments without
// data; a segment with data is not part of an ACK loop and is always
// answered (the sender needs the duplicate ACK). RFC 5961 §7 also asks for
// a host-wide cap on challenge ACKs (Linux's tcp_challenge_ack_limit); a
// shared counter can be a side channel (CVE-2016-5696), which is why the
// per-connection interval is checked first and the host-wide cap is high.

const (
	// DefaultInvalidACKInterval is the shortest time between two ACKs that
	// one connection sends in answer to rejected segments without data
	// (Linux: tcp_invalid_ratelimit, 500 ms).
	DefaultInvalidACKInterval = 500 * time.Millisecond
	// DefaultChallengeACKsPerSecond caps the host's challenge ACKs per
	// second (RFC 5961 §7; Linux's tcp_challenge_ack_limit was 1000).
	DefaultChallengeACKsPerSecond = 1000
)

// challengeBudget is the host-wide count of challenge ACKs in the current
// one-second slot.
type challengeBudget struct {
	slot  time.Duration // start of the current second
	count int
}

// answerInvalid reports whether the connection may send an ACK in answer
// to the rejected segment in, and logs when it may not. challenge says the
// ACK is a challenge ACK, which also counts against the host-wide cap.
func (e *Endpoint) answerInvalid(in *incoming, challenge bool) bool {
	l := e.layer
	now := l.clock.Now()
	// Data without SYN: not part of an ACK loop; answer it.
	limited := !(len(in.payload) > 0 && !in.has(FlagSYN))
	if iv := l.cfg.InvalidACKInterval; limited && iv > 0 && e.invalidACKSent && now-e.lastInvalidACK < iv {
		l.stats.InvalidACKsLimited++
		e.logf("ack_ratelimit", viz.Note, in.frame, []viz.Field{viz.Fv("interval", viz.Dur(iv))},
			"no ACK for this rejected segment: this connection answered one %v ago (at most one per %v)", viz.Dur(now-e.lastInvalidACK), viz.Dur(iv))
		return false
	}
	if challenge && l.cfg.ChallengeACKsPerSecond > 0 {
		if now-l.challenge.slot >= time.Second {
			l.challenge.slot, l.challenge.count = now, 0
		}
		if l.challenge.count >= l.cfg.ChallengeACKsPerSecond {
			l.stats.InvalidACKsLimited++
			e.logf("ack_ratelimit", viz.Note, in.frame, []viz.Field{viz.F("limit", "challenge_acks_per_second")},
				"no challenge ACK: the host already sent %d this second (RFC 5961 §7)", viz.Int(l.challenge.count))
			return false
		}
		l.challenge.count++
	}
	e.invalidACKSent, e.lastInvalidACK = true, now
	return true
}
