package browser

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"github.com/packetwalk/packetwalk/viz"
)

// HTTP/2 (Config.HTTP2): the browser opens one connection, starts it with
// the connection preface (prior knowledge, RFC 9113 §3.3), and asks for
// the page and then all its subresources at once, each on a stream of
// its own; the server's frames for those streams arrive interleaved on
// the one connection, and each response is judged when its stream ends.
// Frames and header compression are golang.org/x/net's (http2.Framer,
// hpack). One goroutine reads and writes, so a simulation sees it wait
// only in the socket API.

// h2Window is the flow-control window the browser gives each stream and
// the connection (RFC 9113 §6.9.2's default); it gives the bytes back
// with WINDOW_UPDATE as it takes them.
const h2Window = 65535

// h2conn is the browser's HTTP/2 connection.
type h2conn struct {
	c        *conn
	bw       *bufio.Writer // frames wait here until the browser waits for answers: the requests leave together
	fr       *http2.Framer
	enc      *hpack.Encoder
	encBuf   bytes.Buffer
	nextID   uint32
	streams  map[uint32]*h2resp
	unacked  int  // DATA bytes taken since the connection's last WINDOW_UPDATE
	goneAway bool // the server sent GOAWAY
	lastOK   uint32
	err      error
}

// h2resp is one stream's request and response.
type h2resp struct {
	id      uint32
	path    string
	rel     string
	status  int
	header  http.Header
	body    bytes.Buffer
	frames  int
	unacked int
	done    bool
	err     error
}

// h2open dials and sends the preface and the browser's SETTINGS.
func (b *Browser) h2open() (*h2conn, error) {
	c, err := b.take()
	if err != nil {
		return nil, err
	}
	h := &h2conn{c: c, nextID: 1, streams: map[uint32]*h2resp{}, bw: bufio.NewWriter(c.nc)}
	h.fr = http2.NewFramer(h.bw, c.br)
	h.fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	h.enc = hpack.NewEncoder(&h.encBuf)
	b.step(c.id, "h2_preface", "opens the connection with the HTTP/2 preface \"PRI * HTTP/2.0\" and its SETTINGS (prior knowledge, RFC 9113 §3.3): every request will be a stream on this one connection",
		viz.F("proto", "h2c"))
	h.bw.WriteString(http2.ClientPreface)
	if nd, ok := c.nc.(interface{ SetNoDelay(bool) error }); ok && nd.SetNoDelay(true) == nil {
		// Small frames (a SETTINGS ACK, then the subresources' HEADERS)
		// follow one another without an answer in between: with Nagle's
		// algorithm the second would wait for the ACK of the first, which
		// the server delays (RFC 1122 §4.2.3.2, §4.2.3.4): up to 200 ms
		// lost. Browsers set TCP_NODELAY.
		b.step(c.id, "nodelay", "sets TCP_NODELAY on the connection: HTTP/2 writes small frames back to back, which Nagle's algorithm would hold until the server's delayed ACK (RFC 1122 §4.2.3.4)")
	}
	if err := h.fr.WriteSettings(http2.Setting{ID: http2.SettingEnablePush, Val: 0},
		http2.Setting{ID: http2.SettingInitialWindowSize, Val: h2Window}); err != nil {
		c.nc.Close()
		return nil, fmt.Errorf("write: %v", err)
	}
	return h, nil
}

// h2request sends a GET for p on a new stream.
func (b *Browser) h2request(h *h2conn, p, rel string) *h2resp {
	r := &h2resp{id: h.nextID, path: p, rel: rel}
	h.nextID += 2
	h.streams[r.id] = r
	h.c.reqs++
	h.encBuf.Reset()
	fields := []hpack.HeaderField{{Name: ":method", Value: "GET"}, {Name: ":scheme", Value: "http"},
		{Name: ":authority", Value: b.cfg.Host}, {Name: ":path", Value: p},
		{Name: "user-agent", Value: "packetwalk-browser/1"}, {Name: "accept", Value: acceptFor(rel)}, {Name: "accept-language", Value: "en"}}
	if b.cfg.Gzip {
		fields = append(fields, hpack.HeaderField{Name: "accept-encoding", Value: "gzip"})
	}
	for _, f := range fields {
		h.enc.WriteField(f)
	}
	b.step(h.c.id, "request", fmt.Sprintf("sends GET %s as a HEADERS frame on stream %d (%d bytes of HPACK-compressed headers), on the one HTTP/2 connection", p, r.id, h.encBuf.Len()),
		viz.F("path", p), viz.F("stream", strconv.Itoa(int(r.id))), viz.F("bytes", strconv.Itoa(h.encBuf.Len())))
	if err := h.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: r.id, BlockFragment: h.encBuf.Bytes(), EndStream: true, EndHeaders: true}); err != nil {
		h.err = fmt.Errorf("write: %v", err)
	}
	return r
}

// h2wait reads frames until every stream in want has ended (or the
// connection failed), and returns them in the order they ended.
func (b *Browser) h2wait(h *h2conn, want []*h2resp) []*h2resp {
	var ended []*h2resp
	left := 0
	for _, r := range want {
		if !r.done {
			left++
		}
	}
	for left > 0 {
		if err := h.bw.Flush(); err != nil && h.err == nil {
			h.err = fmt.Errorf("write: %v", err)
		}
		if h.err != nil {
			for _, r := range want {
				if !r.done {
					r.done, r.err = true, h.err
					ended = append(ended, r)
				}
			}
			return ended
		}
		f, err := h.fr.ReadFrame()
		if err != nil {
			h.err = fmt.Errorf("read: %v", err)
			continue
		}
		var fin *h2resp
		switch f := f.(type) {
		case *http2.SettingsFrame:
			if !f.IsAck() {
				h.fr.WriteSettingsAck()
			}
		case *http2.PingFrame:
			if !f.IsAck() {
				h.fr.WritePing(true, f.Data)
			}
		case *http2.MetaHeadersFrame:
			r := h.streams[f.StreamID]
			if r == nil {
				continue
			}
			if r.status == 0 {
				r.status, _ = strconv.Atoi(f.PseudoValue("status"))
				r.header = http.Header{}
				for _, hf := range f.RegularFields() {
					r.header.Add(hf.Name, hf.Value)
				}
			}
			if f.StreamEnded() {
				fin = r
			}
		case *http2.DataFrame:
			n := int(f.Length)
			h.unacked += n
			if h.unacked >= h2Window/2 {
				h.fr.WriteWindowUpdate(0, uint32(h.unacked))
				h.unacked = 0
			}
			r := h.streams[f.StreamID]
			if r == nil {
				continue
			}
			r.frames++
			if r.body.Len()+len(f.Data()) > MaxDecodedBytes {
				r.err = fmt.Errorf("the body is longer than %d bytes", MaxDecodedBytes)
				h.fr.WriteRSTStream(r.id, http2.ErrCodeCancel)
				fin = r
				break
			}
			r.body.Write(f.Data())
			if f.StreamEnded() {
				fin = r
				break
			}
			r.unacked += n
			if r.unacked >= h2Window/2 {
				h.fr.WriteWindowUpdate(r.id, uint32(r.unacked))
				r.unacked = 0
			}
		case *http2.RSTStreamFrame:
			if r := h.streams[f.StreamID]; r != nil {
				r.err = fmt.Errorf("the server reset stream %d (%s)", r.id, f.ErrCode)
				fin = r
			}
		case *http2.GoAwayFrame:
			h.goneAway, h.lastOK = true, f.LastStreamID
			for _, r := range h.streams {
				if r.id > f.LastStreamID && !r.done {
					r.err = fmt.Errorf("the server went away (GOAWAY %s) before stream %d", f.ErrCode, r.id)
					r.done = true
					delete(h.streams, r.id)
					ended = append(ended, r)
					left--
				}
			}
		}
		if fin != nil && !fin.done {
			fin.done = true
			delete(h.streams, fin.id)
			ended = append(ended, fin)
			left--
		}
	}
	return ended
}

// h2judge judges one stream's response, as get does for HTTP/1.1.
func (b *Browser) h2judge(h *h2conn, r *h2resp) (Result, Judgement) {
	res := Result{Path: r.path, Rel: r.rel, Conn: h.c.id}
	if r.err != nil {
		res.Err = r.err
		b.record(res)
		return res, Judgement{}
	}
	body := r.body.Bytes()
	resp := &http.Response{StatusCode: r.status, Status: strconv.Itoa(r.status) + " " + http.StatusText(r.status),
		Proto: "HTTP/2.0", ProtoMajor: 2, Header: r.header, ContentLength: int64(len(body))}
	res.Code, res.Status, res.Wire, res.Location = resp.StatusCode, resp.Status, len(body), resp.Header.Get("Location")
	b.step(h.c.id, "response", fmt.Sprintf("stream %d ended: %s, a %d-byte body in %d DATA frame(s), delimited by the END_STREAM flag (RFC 9113 §8.1)", r.id, resp.Status, len(body), r.frames),
		viz.F("path", r.path), viz.F("stream", strconv.Itoa(int(r.id))), viz.F("status", fmt.Sprint(r.status)), viz.F("bytes", fmt.Sprint(len(body))))
	j, steps := judge(r.path, r.rel, resp, body)
	for _, s := range steps {
		fields := []viz.Field{viz.F("path", r.path)}
		for _, kv := range s.fields {
			fields = append(fields, viz.F(kv[0], kv[1]))
		}
		b.step(h.c.id, s.name, s.msg, fields...)
	}
	res.Type, res.Encoding, res.Action, res.Bytes, res.Sum = j.MediaType, j.Encoding, j.Action, len(j.Data), sha256.Sum256(j.Data)
	if j.Err != nil {
		res.Err = j.Err
	} else if s := b.show(r.path, j); s != "" {
		b.step(h.c.id, "display", s, viz.F("path", r.path), viz.F("action", string(j.Action)))
	}
	b.record(res)
	return res, j
}

// visitH2 is Visit over HTTP/2.
func (b *Browser) visitH2(paths []string) {
	var h *h2conn
	for _, p := range paths {
		if h == nil || h.err != nil || h.goneAway {
			if h != nil {
				h.c.nc.Close()
			}
			var err error
			if h, err = b.h2open(); err != nil {
				b.record(Result{Path: p, Err: err})
				h = nil
				continue
			}
		}
		b.h2page(h, p)
	}
	if h != nil {
		if h.err == nil {
			b.step(h.c.id, "close", fmt.Sprintf("done with the server: the browser sends GOAWAY and closes its HTTP/2 connection after %d stream(s) on it", h.c.reqs))
			h.fr.WriteGoAway(0, http2.ErrCodeNo, nil)
			h.bw.Flush()
		}
		h.c.nc.Close()
	}
}

// h2page fetches a page (following redirects on the same connection),
// then its subresources, all at once.
func (b *Browser) h2page(h *h2conn, p string) {
	for hop := 0; ; hop++ {
		r := b.h2request(h, p, "")
		b.h2wait(h, []*h2resp{r})
		res, j := b.h2judge(h, r)
		b.cache[p] = true
		switch {
		case res.Err != nil:
			return
		case j.Action == Follow && hop < MaxRedirects:
			next, ok := b.sameServer(p, res.Location)
			if !ok {
				b.step(h.c.id, "redirect", fmt.Sprintf("Location %s is on another server: this browser talks to %s only and stops here", res.Location, b.cfg.Host))
				return
			}
			p = next
			continue
		case j.Action == Follow:
			b.step(h.c.id, "redirect", fmt.Sprintf("more than %d redirections: the browser gives up (RFC 9110 §15.4)", MaxRedirects))
			return
		case j.Action == ShowHTML:
			b.h2subresources(h, p, subresources(p, j.Data))
		}
		return
	}
}

// h2subresources asks for every subresource at once, each on its own
// stream, and judges each response as its stream ends.
func (b *Browser) h2subresources(h *h2conn, page string, subs []Subresource) {
	var todo []Subresource
	for _, s := range subs {
		if b.cache[s.Path] {
			b.step(0, "cache", fmt.Sprintf("%s is already in the browser's memory from this visit: not asked for again", s.Path))
			continue
		}
		b.cache[s.Path] = true
		todo = append(todo, s)
	}
	if len(todo) == 0 {
		return
	}
	names := make([]string, len(todo))
	for i, s := range todo {
		names[i] = s.Path + " (" + s.Rel + ")"
	}
	b.step(h.c.id, "subresources", fmt.Sprintf("%s needs %d more resource(s) to be displayed: %s; asking for them all at once, as %d streams on the one HTTP/2 connection, whose frames the server interleaves (RFC 9113 §5)",
		page, len(todo), strings.Join(names, ", "), len(todo)), viz.F("count", fmt.Sprint(len(todo))), viz.F("connections", "1"), viz.F("streams", fmt.Sprint(len(todo))))
	var want []*h2resp
	for _, s := range todo {
		want = append(want, b.h2request(h, s.Path, s.Rel))
	}
	for _, r := range b.h2wait(h, want) {
		b.h2judge(h, r)
	}
}

// acceptFor is the Accept a browser sends for what it wants.
func acceptFor(rel string) string {
	switch rel {
	case "stylesheet":
		return "text/css,*/*;q=0.1"
	case "image":
		return "image/png,image/*;q=0.8,*/*;q=0.5"
	case "script":
		return "*/*"
	}
	return "text/html,*/*;q=0.8"
}
