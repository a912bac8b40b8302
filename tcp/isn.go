package tcp

import (
	"crypto/sha256"
	"encoding/binary"
	"net/netip"
	"time"
)

// isnGenerator picks initial sequence numbers as RFC 6528 §3 says:
//
//	ISN = M + F(localip, localport, remoteip, remoteport, secretkey)
//
// M is a clock ticking every 4 microseconds (RFC 9293 §3.4.1), so that a
// new incarnation of a connection starts above the old one's sequence
// numbers; F is a keyed hash, so that an off-path attacker cannot guess the
// ISN of somebody else's connection. The key comes from the host's
// configuration: a seeded simulation chooses the same ISNs every run.
type isnGenerator struct {
	key [32]byte
}

func newISNGenerator(secret []byte) isnGenerator {
	return isnGenerator{key: sha256.Sum256(secret)}
}

func (g isnGenerator) isn(now time.Duration, local, remote netip.AddrPort) Seq {
	h := sha256.New()
	h.Write(g.key[:])
	la, ra := local.Addr().As16(), remote.Addr().As16()
	h.Write(la[:])
	h.Write(ra[:])
	var ports [4]byte
	binary.BigEndian.PutUint16(ports[0:], local.Port())
	binary.BigEndian.PutUint16(ports[2:], remote.Port())
	h.Write(ports[:])
	f := binary.BigEndian.Uint32(h.Sum(nil))
	m := uint32(now / (4 * time.Microsecond))
	return Seq(m + f)
}
