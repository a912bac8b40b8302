package httpd

import (
	"io"
	"time"
)

var timeZero time.Time

// advanceH2 is the multiplexer's side of HTTP/2 (h2.go): it recognizes
// the connection preface among a new connection's first bytes and feeds
// an HTTP/2 connection what arrived, without ever waiting. It reports
// whether it took care of mc (false: mc speaks HTTP/1.x).
func (m *muxer) advanceH2(mc *muxConn) bool {
	c := mc.c
	if c.h2 == nil {
		if c.served > 0 || c.h2checked || m.s.cfg.DisableH2 || len(mc.in) == 0 {
			return false
		}
		n := min(len(mc.in), len(h2Preface))
		switch {
		case string(mc.in[:n]) != h2Preface[:n]:
			c.h2checked = true
			return false
		case n < len(h2Preface) && !mc.eof && mc.broken == nil:
			return true // the preface's beginning: wait for the rest
		case n < len(h2Preface):
			c.h2checked = true
			return false
		}
		c.startH2Preface()
	}
	h := c.h2
	if len(mc.in) > 0 {
		h.feed(mc.in)
		mc.in = nil
	} else {
		h.writeData()
		h.flush()
	}
	// Between frames an HTTP/2 connection is idle for the timeouts: no
	// request is half-read at the HTTP/1 level.
	mc.since, mc.headAt = timeZero, timeZero
	mc.lastActive = m.now()
	if m.s.isClosing() && !h.closed {
		h.goAway(0, "", "the server is shutting down")
		h.flush()
	}
	switch {
	case h.closed:
		c.close(true)
		m.drop(mc)
	case mc.eof:
		h.readFailed(io.EOF, 0)
		c.close(false)
		m.drop(mc)
	case mc.broken != nil:
		h.readFailed(mc.broken, 0)
		c.close(false)
		m.drop(mc)
	}
	return true
}
