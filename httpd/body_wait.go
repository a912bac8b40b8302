package httpd

import (
	"bytes"
	"strconv"
	"strings"
)

// bodyWait lets a multiplexer's loop (io_arch.go) wait for a request's
// body without parsing the request again at every readiness event. The
// loop parses from the start of what has arrived; before this, a 50 MB
// upload read in 32 KiB pieces was parsed 1,600 times, each time copying
// everything received so far, and the server drained its socket so slowly
// that the client's sender sat on a nearly closed window (the kernel's
// rwnd_limited near 95%). Once the header section is parsed, the loop
// knows a lower bound on where the request ends and waits until the
// bytes are there; the full parser then runs once and judges the request.
type bodyWait struct {
	need    int       // Content-Length: mc.in must hold this many bytes; 0: not known
	chunked bool      // a chunked body, scanned as it arrives
	scan    chunkScan // how far the chunked body is known complete
}

// learn records, after a parse that found the header section complete and
// the body not, where the body starts (bodyAt, an offset in the received
// bytes) and how it is framed (RFC 9112 §6.3).
func (w *bodyWait) learn(h *head, bodyAt int) {
	switch {
	case h.chunked:
		w.chunked, w.scan = true, chunkScan{at: bodyAt}
	case h.length > 0:
		w.need = bodyAt + int(h.length)
	}
}

// waiting reports whether the request in in cannot be complete yet, so
// that parsing it again would only find the same incomplete body. It
// never says so when the full parser has something to judge: a malformed
// chunk-size line, or a chunked body over bodyLimit (413).
func (w *bodyWait) waiting(in []byte, bodyLimit int64) bool {
	switch {
	case w.need > 0:
		return len(in) < w.need
	case w.chunked:
		return !w.scan.advance(in, bodyLimit)
	}
	return false
}

func (w *bodyWait) reset() { *w = bodyWait{} }

// chunkScan walks a chunked body (RFC 9112 §7.1) chunk by chunk as it
// arrives, remembering the offset of the next chunk-size line, so that
// each readiness event looks only at chunks it has not seen complete.
type chunkScan struct {
	at   int   // offset of the next chunk-size line
	body int64 // chunk data in the complete chunks before at
}

// advance moves over the complete chunks in in. It returns true when the
// full parser should run: the last chunk (size 0) has arrived, or a line
// does not look like chunk framing, or the body has outgrown limit. It
// returns false while the next chunk is still arriving.
func (s *chunkScan) advance(in []byte, limit int64) bool {
	for {
		if s.at > len(in) {
			return true // cannot happen with offsets from the parser; let it judge
		}
		rest := in[s.at:]
		eol := bytes.IndexByte(rest, '\n')
		if eol < 0 {
			return len(rest) > maxChunkLine
		}
		line := strings.TrimSuffix(string(rest[:eol]), "\r")
		sizeStr, _, _ := strings.Cut(line, ";")
		sizeStr = strings.TrimRight(sizeStr, " \t")
		if sizeStr == "" || len(sizeStr) > 15 {
			return true
		}
		size, err := strconv.ParseInt(sizeStr, 16, 64)
		if err != nil || size == 0 || s.body+size > limit {
			return true
		}
		// The chunk's data, then its CRLF (a bare LF is taken too, as
		// readLine does).
		dataEnd := s.at + eol + 1 + int(size)
		switch {
		case dataEnd >= len(in):
			return false
		case in[dataEnd] == '\n':
			s.at = dataEnd + 1
		case in[dataEnd] != '\r':
			return true // data longer than its size says: the parser's 400
		case dataEnd+1 >= len(in):
			return false
		case in[dataEnd+1] == '\n':
			s.at = dataEnd + 2
		default:
			return true
		}
		s.body += size
	}
}
