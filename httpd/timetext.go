package httpd

import (
	"sync/atomic"
	"time"
)

// timeText formats times with one layout of whole seconds, remembering the
// last result: a server under load formats the same second again and
// again (the Date header, the access log's time stamp) and the same
// Last-Modified of the file it serves, so formatting once per second
// instead of once per use takes time.Time.Format off the path of every
// request. Safe for concurrent use.
type timeText struct {
	layout string // no fraction of a second
	last   atomic.Pointer[timeTextEntry]
}

type timeTextEntry struct {
	sec  int64
	loc  *time.Location
	text string
}

func (c *timeText) format(t time.Time) string {
	sec, loc := t.Unix(), t.Location()
	if e := c.last.Load(); e != nil && e.sec == sec && e.loc == loc {
		return e.text
	}
	s := t.Format(c.layout)
	c.last.Store(&timeTextEntry{sec, loc, s})
	return s
}

// The remembered texts of respond.go's and log.go's time stamps.
var (
	dateText    = timeText{layout: httpTimeFormat}
	lastModText = timeText{layout: httpTimeFormat}
	clfText     = timeText{layout: clfTimeFormat}
)
