package httpd

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"net/textproto"
	"strconv"
	"strings"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"github.com/packetwalk/packetwalk/viz"
)

// HTTP/2 over cleartext TCP ("h2c", RFC 9113), the last of seed 001's
// connection types: the messages of several requests cut into frames
// that are interleaved on one connection, each request on a stream of
// its own. A connection becomes HTTP/2 in one of two ways:
//
//	prior knowledge  the client opens with the 24-byte preface
//	                 "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" (RFC 9113 §3.3)
//	upgrade          an HTTP/1.1 request carries "Upgrade: h2c" and
//	                 "HTTP2-Settings"; the server answers 101 Switching
//	                 Protocols and that request becomes stream 1
//	                 (RFC 7540 §3.2; RFC 9113 deprecated it, but curl
//	                 --http2 on http:// still uses it)
//
// The frames and the HPACK header compression are golang.org/x/net's
// (http2.Framer, hpack); this file keeps the connection's state:
// streams, flow-control windows, and which frame to send next. Each
// stream's request goes through the same steps 2 to 7 as an HTTP/1.1
// request, with its stream ID in the steps' "stream" field, and every
// frame sent or received is an "h2_frame" step.
//
// The state machine is fed bytes and writes frames, and never waits
// itself: the single and pool architectures feed it from a goroutine
// that reads the connection (serveH2), the multiplexer from its event
// loop (h2_mux.go). Responses are sent round robin, one DATA frame per
// stream in turn, within the windows the client gives (RFC 9113 §6.9).

// h2Preface is the client's connection preface (RFC 9113 §3.4).
const h2Preface = http2.ClientPreface

// Fixed by RFC 9113: the first windows (§6.9.2) and frame size (§4.2).
const (
	h2InitialWindow = 65535
	h2MaxFrame      = 16384
	h2MaxWindow     = 1<<31 - 1
)

// h2ReadSize is how much serveH2 reads at a time.
const h2ReadSize = 32 << 10

// serveH2 writes at most h2WriteQuantum bytes of DATA at a time, then
// looks for frames that arrived meanwhile, waiting at most h2PollWait:
// a request that comes while a large response is being sent joins the
// round robin at once instead of waiting for the whole response, as in
// a server whose writes do not block (nginx). (The multiplexer writes
// all the windows allow: its writes block, see io_arch.go.)
const (
	h2WriteQuantum = 128 << 10
	h2PollWait     = 200 * time.Microsecond
)

type h2phase int

const (
	h2AwaitPreface  h2phase = iota // the client's 24 bytes
	h2AwaitSettings                // the client's first frame, which must be SETTINGS
	h2Running
)

// h2conn is one HTTP/2 connection's state.
type h2conn struct {
	c      *conn
	fr     *http2.Framer
	in     bytes.Buffer // received, not yet a whole frame
	enc    *hpack.Encoder
	encBuf bytes.Buffer

	phase   h2phase
	streams map[uint32]*h2stream // open and half-closed streams
	sending []*h2stream          // streams whose response body is being sent, in the order they were answered
	lastID  uint32               // the highest stream ID the client opened

	// What the client's SETTINGS said (RFC 9113 §6.5.2).
	peerMaxFrame  uint32
	peerWindow    int64 // SETTINGS_INITIAL_WINDOW_SIZE: each new stream's send window
	peerGoneAway  bool  // the client sent GOAWAY: it opens no new stream
	sendWindow    int64 // the connection's send window
	recvWindow    int64 // what the client may still send on the connection
	recvUnacked   int64 // DATA bytes taken since the connection's last WINDOW_UPDATE
	connWindow    int64 // the connection receive window the server keeps open
	goneAway      bool  // the server sent GOAWAY
	closed        bool  // close the connection (after flushing)
	writeErr      error
	upgraded      bool
	maxHeaderList uint32
	quantum       int64 // the most DATA one writeData call sends; 0: all the windows allow
}

// h2stream is one stream: a request arriving, then its response leaving.
type h2stream struct {
	id         uint32
	req        *Request
	head       *head
	wantLength int64 // content-length, -1 if none
	remoteDone bool  // END_STREAM received: the request is complete
	tooLarge   bool  // the body passed MaxBodyBytes: answered 413
	recvWindow int64
	recvUnack  int64
	sendWindow int64

	// The response in flight.
	tx         *transaction
	src        io.Reader
	closer     io.Closer
	left       int64 // body bytes still to send
	answered   bool
	status     int
	dataFrames int
}

// newH2 makes c an HTTP/2 connection and sends the server's connection
// preface: a SETTINGS frame (RFC 9113 §3.4), and a WINDOW_UPDATE that
// opens the connection's receive window as wide as a stream's.
func newH2(c *conn, upgraded bool) *h2conn {
	cfg := &c.s.cfg
	h := &h2conn{
		c:             c,
		streams:       map[uint32]*h2stream{},
		peerMaxFrame:  h2MaxFrame,
		peerWindow:    h2InitialWindow,
		sendWindow:    h2InitialWindow,
		recvWindow:    h2InitialWindow,
		connWindow:    max(h2InitialWindow, int64(cfg.H2WindowSize)),
		upgraded:      upgraded,
		maxHeaderList: uint32(cfg.MaxHeaderBytes),
	}
	h.fr = http2.NewFramer(c.bw, &h.in)
	h.fr.SetMaxReadFrameSize(h2MaxFrame)
	h.fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	h.fr.MaxHeaderListSize = h.maxHeaderList
	h.enc = hpack.NewEncoder(&h.encBuf)
	c.h2 = h

	settings := []http2.Setting{
		{ID: http2.SettingMaxConcurrentStreams, Val: uint32(cfg.H2MaxStreams)},
		{ID: http2.SettingInitialWindowSize, Val: uint32(cfg.H2WindowSize)},
		{ID: http2.SettingMaxFrameSize, Val: h2MaxFrame},
		{ID: http2.SettingMaxHeaderListSize, Val: h.maxHeaderList},
		{ID: http2.SettingEnablePush, Val: 0},
	}
	h.beginWrite()
	h.check(h.fr.WriteSettings(settings...))
	var list []string
	for _, s := range settings {
		list = append(list, fmt.Sprintf("%s=%d", s.ID, s.Val))
	}
	h.sent(http2.FrameSettings, 0, 0, 6*len(settings), "the server's preface: "+strings.Join(list, ", "))
	if extra := h.connWindow - h2InitialWindow; extra > 0 {
		h.recvWindow += extra
		h.check(h.fr.WriteWindowUpdate(0, uint32(extra)))
		h.sent(http2.FrameWindowUpdate, 0, 0, 4, fmt.Sprintf("opens the connection's receive window from 65535 to %d bytes", h.connWindow))
	}
	return h
}

// sniffH2 looks at a new connection's first bytes (they are buffered):
// the HTTP/2 preface makes it an HTTP/2 connection (prior knowledge,
// RFC 9113 §3.3). It waits for more bytes only while those that came
// are the preface's beginning, which no HTTP/1.1 request is.
func (c *conn) sniffH2() bool {
	if c.served > 0 || c.h2checked || c.s.cfg.DisableH2 {
		return false
	}
	for {
		n := c.br.Buffered()
		b, _ := c.br.Peek(n)
		m := min(n, len(h2Preface))
		if string(b[:m]) != h2Preface[:m] {
			c.h2checked = true
			return false
		}
		if n >= len(h2Preface) {
			c.startH2Preface()
			return true
		}
		c.nc.SetReadDeadline(time.Now().Add(c.s.cfg.HeaderTimeout))
		if _, err := c.br.Peek(n + 1); err != nil {
			// Part of the preface, then nothing: step 2 reads it as
			// an incomplete request and says so.
			c.h2checked = true
			return false
		}
	}
}

// startH2Preface begins HTTP/2 with prior knowledge.
func (c *conn) startH2Preface() {
	if st := c.st(); st.on() {
		st.emit(c.id, "h2_preface", viz.Pass, "",
			"the client opened with the HTTP/2 connection preface \"PRI * HTTP/2.0\" (prior knowledge, RFC 9113 §3.3): from here the connection carries frames, and requests on streams.",
			viz.F("proto", "h2c"), viz.F("how", "prior knowledge"))
	}
	newH2(c, false)
}

// upgradeH2 switches to HTTP/2 when an HTTP/1.1 request asks for it with
// "Upgrade: h2c" (RFC 7540 §3.2): it answers 101 Switching Protocols,
// sends the server's preface, and serves the request as stream 1. It
// reports whether it did.
func (c *conn) upgradeH2(req *Request, h *head) bool {
	cfg := &c.s.cfg
	if cfg.DisableH2 || c.h2 != nil || c.denied || req.ProtoMinor != 1 || !hasToken(req.Header.Values("Upgrade"), "h2c") {
		return false
	}
	conn := req.Header.Values("Connection")
	settings := req.Header.Values("Http2-Settings")
	st := c.st()
	refuse := func(why string) bool {
		if st.on() {
			st.emit(c.id, "h2_upgrade", viz.Note, "", "the request asks for HTTP/2 (Upgrade: h2c) but "+why+": it is served as HTTP/1.1 (RFC 7540 §3.2).")
		}
		return false
	}
	switch {
	case !hasToken(conn, "upgrade") || !hasToken(conn, "http2-settings"):
		return refuse("its Connection header does not list Upgrade and HTTP2-Settings")
	case len(settings) != 1:
		return refuse(fmt.Sprintf("it carries %d HTTP2-Settings fields, not one", len(settings)))
	case len(req.Body) > 0:
		// The body would have to be sent as HTTP/1.1 after the 101;
		// like most servers (nginx, Go's h2c) upgrade only without one.
		return refuse("it has a body")
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(settings[0], "="))
	if err != nil || len(payload)%6 != 0 {
		return refuse("its HTTP2-Settings is not base64url-encoded SETTINGS")
	}
	if st.on() {
		st.emit(c.id, "h2_upgrade", viz.Pass, "",
			"the client asks to switch to HTTP/2 (Upgrade: h2c, RFC 7540 §3.2): answering 101 Switching Protocols; this request becomes stream 1, and the client's preface follows.",
			viz.F("proto", "h2c"), viz.F("how", "upgrade"), viz.F("settings", strconv.Itoa(len(payload)/6)))
	}
	c.nc.SetWriteDeadline(time.Now().Add(cfg.IdleTimeout))
	c.bw.WriteString("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n")
	hc := newH2(c, true)
	// The settings in the header stand for the client's first SETTINGS
	// frame, which is not acknowledged (RFC 7540 §3.2.1).
	for i := 0; i+6 <= len(payload); i += 6 {
		s := http2.Setting{ID: http2.SettingID(uint16(payload[i])<<8 | uint16(payload[i+1])),
			Val: uint32(payload[i+2])<<24 | uint32(payload[i+3])<<16 | uint32(payload[i+4])<<8 | uint32(payload[i+5])}
		if !hc.applySetting(s) {
			break
		}
	}
	s := &h2stream{id: 1, req: req, head: h, remoteDone: true, sendWindow: hc.peerWindow, wantLength: -1}
	hc.streams[1] = s
	hc.lastID = 1
	hc.serve(s, false)
	hc.flush()
	return true
}

// serveH2 runs an HTTP/2 connection to its end in this goroutine: the
// single and pool architectures.
func (c *conn) serveH2() {
	h := c.h2
	s := c.s
	cfg := &s.cfg
	h.quantum = h2WriteQuantum
	h.writeData()
	h.flush()
	buf := make([]byte, h2ReadSize)
	for !h.closed {
		wait := cfg.IdleTimeout
		if len(h.streams) == 0 && c.served > 0 {
			wait = cfg.KeepAliveTimeout
		}
		busy := h.sendable()
		s.mu.Lock()
		closing := s.closing
		c.idle = len(h.streams) == 0
		switch {
		case closing:
		case busy:
			c.nc.SetReadDeadline(time.Now().Add(h2PollWait))
		default:
			c.nc.SetReadDeadline(time.Now().Add(wait))
		}
		s.mu.Unlock()
		if closing {
			h.goAway(http2.ErrCodeNo, "", "the server is shutting down")
			h.flush()
			if h.closed {
				break
			}
		}
		n, err := c.br.Read(buf)
		s.mu.Lock()
		c.idle = false
		s.mu.Unlock()
		if n > 0 {
			h.feed(buf[:n])
		}
		if busy && n == 0 && isTimeout(err) && !s.isClosing() {
			h.writeData() // nothing came: the next quantum
			h.flush()
			continue
		}
		if err != nil && !h.closed {
			h.readFailed(err, wait)
			break
		}
	}
	c.close(true)
}

// readFailed ends the connection after a read failed.
func (h *h2conn) readFailed(err error, wait time.Duration) {
	c := h.c
	st := c.st()
	switch {
	case c.s.isClosing():
		h.goAway(http2.ErrCodeNo, "", "the server is shutting down")
	case isTimeout(err):
		why := fmt.Sprintf("nothing arrived for %v", wait)
		if len(h.streams) == 0 {
			why = fmt.Sprintf("no new stream for %v", wait)
		}
		h.goAway(http2.ErrCodeNo, "", why)
	case err == io.EOF && len(h.streams) == 0:
		if st.on() {
			st.emit(c.id, "receive", viz.Note, "", fmt.Sprintf("the client closed the HTTP/2 connection after %d stream(s): closing.", c.served),
				viz.F("requests", strconv.Itoa(c.served)))
		}
	default:
		msg := "the HTTP/2 connection broke with streams open: " + err.Error()
		if err == io.EOF {
			msg = fmt.Sprintf("the client closed the connection with %d stream(s) open.", len(h.streams))
		}
		c.s.errorLog("", c.remote, msg)
		if st.on() {
			st.emit(c.id, "receive", viz.Drop, viz.ReasonHTTPIncomplete, msg)
		}
	}
	h.flush()
	h.closed = true
	h.abandonAll()
}

// goAwayOnClose says goodbye before the connection closes, if nothing
// has yet (an idle timeout in the multiplexer).
func (h *h2conn) goAwayOnClose() {
	if !h.goneAway && h.writeErr == nil {
		h.goAway(http2.ErrCodeNo, "", "the connection is closing")
	}
	h.abandonAll()
}

// abandonAll closes the files of responses that will not be finished.
func (h *h2conn) abandonAll() {
	for _, s := range h.streams {
		if s.closer != nil {
			s.closer.Close()
			s.closer = nil
		}
	}
}

// feed takes bytes that arrived, acts on every whole frame among them,
// sends what the windows allow, and flushes.
func (h *h2conn) feed(p []byte) {
	h.beginWrite()
	h.in.Write(p)
	for !h.closed {
		if h.phase == h2AwaitPreface {
			b := h.in.Bytes()
			m := min(len(b), len(h2Preface))
			if string(b[:m]) != h2Preface[:m] {
				h.connError(http2.ErrCodeProtocol, viz.ReasonH2BadPreface, fmt.Sprintf("after the upgrade the client sent %q, not the HTTP/2 connection preface", truncate(string(b[:m]), 24)))
				break
			}
			if m < len(h2Preface) {
				break
			}
			h.in.Next(len(h2Preface))
			h.phase = h2AwaitSettings
			continue
		}
		ready, err := h.frameReady()
		if err != nil {
			h.connError(http2.ErrCodeProtocol, viz.ReasonHTTPHeaderTooLarge, err.Error())
			break
		}
		if !ready {
			break
		}
		f, err := h.fr.ReadFrame()
		if err != nil {
			h.readError(err)
			continue
		}
		h.handle(f)
	}
	h.writeData()
	h.flush()
}

// frameReady reports whether a whole frame is buffered: for a HEADERS
// frame without END_HEADERS, the CONTINUATION frames up to the one that
// ends the header block too, since the Framer decodes them together.
func (h *h2conn) frameReady() (bool, error) {
	b := h.in.Bytes()
	if len(b) < 9 {
		return false, nil
	}
	length := int(b[0])<<16 | int(b[1])<<8 | int(b[2])
	if length > h2MaxFrame {
		return true, nil // the Framer says FRAME_SIZE_ERROR from the header alone
	}
	if len(b) < 9+length {
		return false, nil
	}
	if http2.FrameType(b[3]) != http2.FrameHeaders || http2.Flags(b[4]).Has(http2.FlagHeadersEndHeaders) {
		return true, nil
	}
	off := 9 + length
	for {
		if off > 2*int(h.maxHeaderList)+h2MaxFrame {
			return false, fmt.Errorf("a header block of more than %d bytes without END_HEADERS", off)
		}
		if len(b) < off+9 {
			return false, nil
		}
		n := int(b[off])<<16 | int(b[off+1])<<8 | int(b[off+2])
		if http2.FrameType(b[off+3]) != http2.FrameContinuation || n > h2MaxFrame {
			return true, nil // the Framer finds the error
		}
		if len(b) < off+9+n {
			return false, nil
		}
		if http2.Flags(b[off+4]).Has(http2.FlagContinuationEndHeaders) {
			return true, nil
		}
		off += 9 + n
	}
}

// readError acts on a frame the Framer refused.
func (h *h2conn) readError(err error) {
	detail := ""
	if d := h.fr.ErrorDetail(); d != nil {
		detail = d.Error()
	}
	switch e := err.(type) {
	case http2.StreamError:
		msg := "a malformed request"
		switch {
		case detail != "":
			msg += ": " + detail
		case e.Cause != nil:
			msg += ": " + e.Cause.Error()
		}
		if e.StreamID > h.lastID && e.StreamID%2 == 1 {
			h.lastID = e.StreamID
		}
		h.resetStream(e.StreamID, e.Code, viz.ReasonH2BadStream, msg)
		return
	case http2.ConnectionError:
		code := http2.ErrCode(e)
		reason := viz.ReasonH2Protocol
		switch code {
		case http2.ErrCodeCompression:
			reason = viz.ReasonH2Compression
		case http2.ErrCodeFrameSize:
			reason = viz.ReasonH2FrameSize
		case http2.ErrCodeFlowControl:
			reason = viz.ReasonH2FlowControl
		}
		if detail == "" {
			detail = "the frame breaks RFC 9113 (" + code.String() + ")"
		}
		if h.phase == h2AwaitSettings {
			reason = viz.ReasonH2BadPreface
		}
		h.connError(code, reason, detail)
		return
	}
	if err == http2.ErrFrameTooLarge {
		h.connError(http2.ErrCodeFrameSize, viz.ReasonH2FrameSize, fmt.Sprintf("a frame is longer than the %d bytes of SETTINGS_MAX_FRAME_SIZE", h2MaxFrame))
		return
	}
	h.connError(http2.ErrCodeProtocol, viz.ReasonH2Protocol, "the frame cannot be read: "+err.Error())
}

// handle acts on one frame.
func (h *h2conn) handle(f http2.Frame) {
	fh := f.Header()
	h.received(f)
	if h.phase == h2AwaitSettings {
		if sf, ok := f.(*http2.SettingsFrame); !ok || sf.IsAck() {
			h.connError(http2.ErrCodeProtocol, viz.ReasonH2BadPreface, fmt.Sprintf("the client's first frame is %s, not SETTINGS (RFC 9113 §3.4)", fh.Type))
			return
		}
		h.phase = h2Running
	}
	switch f := f.(type) {
	case *http2.SettingsFrame:
		if f.IsAck() {
			return
		}
		err := f.ForeachSetting(func(s http2.Setting) error {
			if err := s.Valid(); err != nil {
				return err
			}
			if !h.applySetting(s) {
				return http2.ConnectionError(http2.ErrCodeFlowControl)
			}
			return nil
		})
		if ce, ok := err.(http2.ConnectionError); ok {
			reason := viz.ReasonH2Protocol
			if http2.ErrCode(ce) == http2.ErrCodeFlowControl {
				reason = viz.ReasonH2FlowControl
			}
			h.connError(http2.ErrCode(ce), reason, "a SETTINGS value is out of range (RFC 9113 §6.5.2)")
			return
		}
		h.check(h.fr.WriteSettingsAck())
		h.sent(http2.FrameSettings, 0, http2.FlagSettingsAck, 0, "acknowledges the client's settings (RFC 9113 §6.5.3)")
	case *http2.MetaHeadersFrame:
		h.onHeaders(f)
	case *http2.DataFrame:
		h.onData(f)
	case *http2.WindowUpdateFrame:
		h.onWindowUpdate(f)
	case *http2.PingFrame:
		if !f.IsAck() {
			h.check(h.fr.WritePing(true, f.Data))
			h.sent(http2.FramePing, 0, http2.FlagPingAck, 8, "answers the client's PING with the same 8 bytes (RFC 9113 §6.7)")
		}
	case *http2.RSTStreamFrame:
		if f.StreamID > h.lastID {
			h.connError(http2.ErrCodeProtocol, viz.ReasonH2Protocol, fmt.Sprintf("RST_STREAM on stream %d, which was never opened (RFC 9113 §5.1)", f.StreamID))
			return
		}
		if s := h.streams[f.StreamID]; s != nil {
			c := h.c
			c.stream = s.id
			if st := c.st(); st.on() {
				st.emit(c.id, "h2_stream", viz.Drop, viz.ReasonH2StreamReset,
					fmt.Sprintf("the client reset stream %d (%s): its response is abandoned.", s.id, f.ErrCode),
					viz.F("code", f.ErrCode.String()))
			}
			c.stream = 0
			h.closeStream(s)
		}
	case *http2.GoAwayFrame:
		h.peerGoneAway = true
	case *http2.PushPromiseFrame:
		h.connError(http2.ErrCodeProtocol, viz.ReasonH2Protocol, "a client may not send PUSH_PROMISE (RFC 9113 §8.4)")
	}
	// PRIORITY (deprecated, RFC 9113 §5.3.2) and unknown frame types
	// (§4.1) are ignored.
	if h.peerGoneAway && len(h.streams) == 0 && !h.closed {
		h.goAway(http2.ErrCodeNo, "", "the client sent GOAWAY and no stream is left")
	}
}

// applySetting takes one of the client's settings; false when it breaks
// a window (RFC 9113 §6.9.2).
func (h *h2conn) applySetting(s http2.Setting) bool {
	switch s.ID {
	case http2.SettingMaxFrameSize:
		h.peerMaxFrame = s.Val
	case http2.SettingInitialWindowSize:
		// A change applies to every open stream's window at once.
		delta := int64(s.Val) - h.peerWindow
		h.peerWindow = int64(s.Val)
		for _, st := range h.streams {
			st.sendWindow += delta
			if st.sendWindow > h2MaxWindow {
				return false
			}
		}
	case http2.SettingHeaderTableSize:
		h.enc.SetMaxDynamicTableSizeLimit(s.Val)
	}
	return true
}

// onHeaders opens a stream (or ends one with trailers).
func (h *h2conn) onHeaders(f *http2.MetaHeadersFrame) {
	id := f.StreamID
	if s := h.streams[id]; s != nil {
		// Trailers: they must end the stream (RFC 9113 §8.1); their
		// fields are read and ignored, as step 2 ignores chunked
		// trailers.
		if s.remoteDone || !f.StreamEnded() {
			h.resetStream(id, http2.ErrCodeProtocol, viz.ReasonH2BadStream, "a second HEADERS frame that does not end the stream")
			return
		}
		h.endRequest(s)
		return
	}
	if id <= h.lastID {
		h.connError(http2.ErrCodeStreamClosed, viz.ReasonH2Protocol, fmt.Sprintf("HEADERS on stream %d, which is closed (RFC 9113 §5.1)", id))
		return
	}
	if id%2 == 0 {
		h.connError(http2.ErrCodeProtocol, viz.ReasonH2Protocol, fmt.Sprintf("the client opened stream %d: a client's streams are odd-numbered (RFC 9113 §5.1.1)", id))
		return
	}
	h.lastID = id
	if h.goneAway {
		return // after GOAWAY new streams are ignored (RFC 9113 §6.8)
	}
	cfg := &h.c.s.cfg
	if len(h.streams) >= cfg.H2MaxStreams {
		h.resetStream(id, http2.ErrCodeRefusedStream, viz.ReasonH2RefusedStream,
			fmt.Sprintf("%d streams are open, the SETTINGS_MAX_CONCURRENT_STREAMS the server announced (RFC 9113 §5.1.2)", cfg.H2MaxStreams))
		return
	}
	req, hd, err := h.request(f)
	if err != nil {
		h.resetStream(id, http2.ErrCodeProtocol, viz.ReasonH2BadStream, err.Error())
		return
	}
	s := &h2stream{id: id, req: req, head: hd, wantLength: -1,
		recvWindow: int64(cfg.H2WindowSize), sendWindow: h.peerWindow}
	h.streams[id] = s
	if v := req.Header.Get("Content-Length"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			h.resetStream(id, http2.ErrCodeProtocol, viz.ReasonH2BadStream, fmt.Sprintf("content-length %q is not a number", truncate(v, 40)))
			return
		}
		s.wantLength = n
	}
	s.remoteDone = f.StreamEnded()
	if f.Truncated {
		h.answerError(s, &requestError{431, viz.ReasonHTTPHeaderTooLarge,
			fmt.Sprintf("the header list is larger than %d bytes (SETTINGS_MAX_HEADER_LIST_SIZE)", h.maxHeaderList)})
		return
	}
	if s.wantLength > cfg.MaxBodyBytes {
		h.answerError(s, &requestError{413, viz.ReasonHTTPBodyTooLarge,
			fmt.Sprintf("content-length %d is over the limit of %d bytes", s.wantLength, cfg.MaxBodyBytes)})
		return
	}
	if s.remoteDone {
		h.endRequest(s)
	}
}

// request turns a header block into a Request, with the checks of RFC
// 9113 §8.3.1 and §8.2.2.
func (h *h2conn) request(f *http2.MetaHeadersFrame) (*Request, *head, error) {
	c := h.c
	req := &Request{Header: textproto.MIMEHeader{}, Proto: "HTTP/2.0", ProtoMinor: 1}
	hd := &head{headBytes: int(f.Length)}
	var method, scheme, authority, path string
	for _, hf := range f.PseudoFields() {
		switch hf.Name {
		case ":method":
			method = hf.Value
		case ":scheme":
			scheme = hf.Value
		case ":authority":
			authority = hf.Value
		case ":path":
			path = hf.Value
		default:
			return nil, nil, fmt.Errorf("the pseudo-header %s does not belong in a request this server takes", hf.Name)
		}
	}
	var cookies []string
	for _, hf := range f.RegularFields() {
		switch hf.Name {
		case "connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade":
			return nil, nil, fmt.Errorf("the connection-specific field %q has no place in HTTP/2 (RFC 9113 §8.2.2)", hf.Name)
		case "te":
			if hf.Value != "trailers" {
				return nil, nil, fmt.Errorf("TE: %q; HTTP/2 allows only \"trailers\" (RFC 9113 §8.2.2)", truncate(hf.Value, 40))
			}
		case "cookie":
			// Split crumbs are joined again (RFC 9113 §8.2.3).
			cookies = append(cookies, hf.Value)
			continue
		}
		k := textproto.CanonicalMIMEHeaderKey(hf.Name)
		req.Header[k] = append(req.Header[k], hf.Value)
		hd.fields++
	}
	if len(cookies) > 0 {
		req.Header["Cookie"] = []string{strings.Join(cookies, "; ")}
		hd.fields++
	}
	if method == "" || !isToken(method) {
		return nil, nil, fmt.Errorf("the :method %q is missing or not a token", method)
	}
	req.Method = method
	target := path
	if method == "CONNECT" {
		target = authority
	} else if scheme == "" || path == "" {
		return nil, nil, fmt.Errorf("the request lacks :scheme or :path (RFC 9113 §8.3.1)")
	}
	hd.requestLine = method + " " + target + " HTTP/2.0"
	if authority != "" {
		if !validHost(authority) || strings.Contains(authority, "@") {
			return nil, nil, fmt.Errorf("the :authority %q is not a valid host[:port]", truncate(authority, 60))
		}
		if req.Header.Get("Host") == "" {
			req.Header.Set("Host", authority)
		}
	}
	if hosts := req.Header.Values("Host"); len(hosts) == 1 && validHost(hosts[0]) {
		req.Host = hostWithoutPort(hosts[0])
	} else if len(hosts) > 0 {
		return nil, nil, fmt.Errorf("the host %q is not a valid host[:port]", truncate(strings.Join(hosts, ", "), 60))
	}
	req.Target = target
	if method != "CONNECT" {
		for i := 0; i < len(target); i++ {
			if b := target[i]; b <= ' ' || b == 0x7f || b == '#' {
				return nil, nil, fmt.Errorf("the :path contains the byte %q", b)
			}
		}
		if err := parseTarget(req, hd, target); err != nil {
			if re, ok := err.(*requestError); ok {
				return nil, nil, fmt.Errorf("%s", re.Msg)
			}
			return nil, nil, err
		}
	}
	c.fill(req, c.s.cfg.Now())
	return req, hd, nil
}

// onData takes a piece of a request body, within the windows the server
// gave (RFC 9113 §6.9.1), and opens them again as the body is taken.
func (h *h2conn) onData(f *http2.DataFrame) {
	n := int64(f.Length) // padding counts against the windows too
	if n > h.recvWindow {
		h.connError(http2.ErrCodeFlowControl, viz.ReasonH2FlowControl,
			fmt.Sprintf("DATA of %d bytes with %d bytes left in the connection's window", n, h.recvWindow))
		return
	}
	h.recvWindow -= n
	h.recvUnacked += n
	if h.recvUnacked >= h.connWindow/2 {
		h.check(h.fr.WriteWindowUpdate(0, uint32(h.recvUnacked)))
		h.sent(http2.FrameWindowUpdate, 0, 0, 4, fmt.Sprintf("gives the connection's %d bytes of window back", h.recvUnacked))
		h.recvWindow += h.recvUnacked
		h.recvUnacked = 0
	}
	s := h.streams[f.StreamID]
	if s == nil {
		if f.StreamID > h.lastID {
			h.connError(http2.ErrCodeProtocol, viz.ReasonH2Protocol, fmt.Sprintf("DATA on stream %d, which was never opened (RFC 9113 §5.1)", f.StreamID))
		}
		return // a stream that was reset or finished: ignored
	}
	if s.remoteDone {
		h.resetStream(s.id, http2.ErrCodeStreamClosed, viz.ReasonH2BadStream, "DATA after the stream's END_STREAM (RFC 9113 §5.1)")
		return
	}
	if n > s.recvWindow {
		h.resetStream(s.id, http2.ErrCodeFlowControl, viz.ReasonH2FlowControl,
			fmt.Sprintf("DATA of %d bytes with %d bytes left in the stream's window", n, s.recvWindow))
		return
	}
	s.recvWindow -= n
	s.recvUnack += n
	cfg := &h.c.s.cfg
	if !s.tooLarge {
		s.req.Body = append(s.req.Body, f.Data()...)
		if int64(len(s.req.Body)) > cfg.MaxBodyBytes {
			s.tooLarge = true
			h.answerError(s, &requestError{413, viz.ReasonHTTPBodyTooLarge,
				fmt.Sprintf("the body grows over the limit of %d bytes", cfg.MaxBodyBytes)})
			return
		}
	}
	if f.StreamEnded() {
		h.endRequest(s)
		return
	}
	if s.recvUnack >= int64(cfg.H2WindowSize)/2 {
		h.check(h.fr.WriteWindowUpdate(s.id, uint32(s.recvUnack)))
		h.sent(http2.FrameWindowUpdate, s.id, 0, 4, fmt.Sprintf("gives stream %d its %d bytes of window back", s.id, s.recvUnack))
		s.recvWindow += s.recvUnack
		s.recvUnack = 0
	}
}

// onWindowUpdate opens a send window (RFC 9113 §6.9.1).
func (h *h2conn) onWindowUpdate(f *http2.WindowUpdateFrame) {
	inc := int64(f.Increment)
	if f.StreamID == 0 {
		h.sendWindow += inc
		if h.sendWindow > h2MaxWindow {
			h.connError(http2.ErrCodeFlowControl, viz.ReasonH2FlowControl, "a WINDOW_UPDATE pushes the connection's window past 2^31-1 (RFC 9113 §6.9.1)")
		}
		return
	}
	if f.StreamID > h.lastID {
		h.connError(http2.ErrCodeProtocol, viz.ReasonH2Protocol, fmt.Sprintf("WINDOW_UPDATE on stream %d, which was never opened (RFC 9113 §5.1)", f.StreamID))
		return
	}
	if s := h.streams[f.StreamID]; s != nil {
		s.sendWindow += inc
		if s.sendWindow > h2MaxWindow {
			h.resetStream(s.id, http2.ErrCodeFlowControl, viz.ReasonH2FlowControl, "a WINDOW_UPDATE pushes the stream's window past 2^31-1 (RFC 9113 §6.9.1)")
		}
	}
}

// endRequest is END_STREAM: the request is complete; serve it.
func (h *h2conn) endRequest(s *h2stream) {
	s.remoteDone = true
	if s.answered {
		return // answered early (413): nothing more to do
	}
	if s.wantLength >= 0 && s.wantLength != int64(len(s.req.Body)) {
		h.resetStream(s.id, http2.ErrCodeProtocol, viz.ReasonH2BadStream,
			fmt.Sprintf("content-length %d but %d bytes of DATA (RFC 9113 §8.1.1)", s.wantLength, len(s.req.Body)))
		return
	}
	h.serve(s, true)
}

// serve runs steps 2 to 5 for a complete request and starts its
// response: the HEADERS frame now, the DATA frames as the windows allow.
func (h *h2conn) serve(s *h2stream, logReceive bool) {
	c := h.c
	c.stream = s.id
	defer func() { c.stream = 0 }()
	s.head.length, s.head.hasLength = int64(len(s.req.Body)), len(s.req.Body) > 0 || s.req.Method == "POST"
	if logReceive {
		c.logReceive(s.req, s.head, 0)
	}
	tx := &transaction{req: s.req, head: s.head}
	res := c.resourceFor(tx)
	h.respond(s, tx, c.build(tx, res))
}

// answerError answers a request step 2 refused, on its stream; the rest
// of the connection goes on, since HTTP/2's framing is intact.
func (h *h2conn) answerError(s *h2stream, re *requestError) {
	c := h.c
	c.stream = s.id
	defer func() { c.stream = 0 }()
	c.s.errorLog("", c.remote, fmt.Sprintf("%d %s: %s", re.Status, statusText(re.Status), re.Msg))
	if st := c.st(); st.on() {
		st.emit(c.id, "receive", viz.Drop, re.Reason,
			fmt.Sprintf("cannot take the request: %s; answering %d %s on its stream.", re.Msg, re.Status, statusText(re.Status)),
			viz.F("status", strconv.Itoa(re.Status)), viz.F("request_line", truncate(s.head.requestLine, 200)))
	}
	tx := &transaction{req: s.req, head: s.head}
	h.respond(s, tx, c.build(tx, &Resource{Status: re.Status, Reason: string(re.Reason)}))
}

// respond sends a built response's HEADERS frame and queues its body.
func (h *h2conn) respond(s *h2stream, tx *transaction, r *response) {
	s.tx, s.status, s.answered = tx, r.status, true
	h.encBuf.Reset()
	h.enc.WriteField(hpack.HeaderField{Name: ":status", Value: strconv.Itoa(r.status)})
	for _, f := range r.fields {
		name := strings.ToLower(f.name)
		switch name {
		case "connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade":
			continue // connection-specific: not in HTTP/2 (RFC 9113 §8.2.2)
		}
		h.enc.WriteField(hpack.HeaderField{Name: name, Value: f.value})
	}
	block := append([]byte(nil), h.encBuf.Bytes()...)
	tx.headerBytes = len(block)

	s.left = 0
	if !r.noBody {
		s.left = r.length
		switch {
		case r.pieces != nil:
			var rs []io.Reader
			for _, p := range r.pieces {
				switch {
				case p.lit != nil:
					rs = append(rs, bytes.NewReader(p.lit))
				case r.file != nil:
					rs = append(rs, io.NewSectionReader(r.file, p.off, p.n))
				default:
					rs = append(rs, bytes.NewReader(r.body[p.off:p.off+p.n]))
				}
			}
			s.src = io.MultiReader(rs...)
		case r.file != nil:
			s.src = io.LimitReader(r.file, r.length)
		default:
			s.src = bytes.NewReader(r.body)
		}
	}
	if r.file != nil {
		s.closer = r.file
	}
	end := s.left == 0
	h.writeHeaders(s.id, block, end, fmt.Sprintf("%d %s", r.status, statusText(r.status)))
	if !tx.keep {
		// Step 6 decided the connection ends (KeepAliveMax, shutdown):
		// in HTTP/2 that is a GOAWAY, after which the open streams
		// finish (RFC 9113 §6.8).
		h.goAway(http2.ErrCodeNo, "", tx.keepWhy)
	}
	if end {
		h.finishStream(s, nil)
		return
	}
	h.sending = append(h.sending, s)
}

// writeHeaders sends a header block as HEADERS and, if it is larger than
// the client's frame size, CONTINUATION frames.
func (h *h2conn) writeHeaders(id uint32, block []byte, endStream bool, what string) {
	max := int(h.peerMaxFrame)
	first := block
	if len(first) > max {
		first = block[:max]
	}
	rest := block[len(first):]
	h.check(h.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: first, EndStream: endStream, EndHeaders: len(rest) == 0}))
	var flags http2.Flags
	if endStream {
		flags |= http2.FlagHeadersEndStream
	}
	if len(rest) == 0 {
		flags |= http2.FlagHeadersEndHeaders
	}
	h.sent(http2.FrameHeaders, id, flags, len(first), what+" (HPACK-compressed)")
	for len(rest) > 0 {
		n := min(len(rest), max)
		h.check(h.fr.WriteContinuation(id, n == len(rest), rest[:n]))
		var fl http2.Flags
		if n == len(rest) {
			fl = http2.FlagContinuationEndHeaders
		}
		h.sent(http2.FrameContinuation, id, fl, n, "the rest of the header block")
		rest = rest[n:]
	}
}

// writeData sends the response bodies: one DATA frame per stream in
// turn, each as large as the client's frame size and both windows allow,
// until every body is sent or every window is shut. This round robin is
// what interleaves the streams on the connection.
func (h *h2conn) writeData() {
	if h.phase == h2AwaitPreface {
		// After the 101 of an Upgrade the body of stream 1 waits for
		// the client's preface: a client reads the 101 into a buffer of
		// its own, and what follows it must fit there (curl keeps 32
		// KiB).
		return
	}
	var sent int64
	for progress := true; progress && h.writeErr == nil && !h.closed; {
		progress = false
		for _, s := range append([]*h2stream(nil), h.sending...) {
			if s.left <= 0 || h.closed || h.quantum > 0 && sent >= h.quantum {
				continue
			}
			n := min(s.left, int64(h.peerMaxFrame), s.sendWindow, h.sendWindow)
			if n <= 0 {
				continue
			}
			buf := make([]byte, n)
			m, err := io.ReadFull(s.src, buf)
			if err != nil {
				err = fmt.Errorf("the file shrank while being sent (%d bytes short): %w", s.left-int64(m), err)
				h.finishStream(s, err)
				h.resetStream(s.id, http2.ErrCodeInternal, viz.ReasonHTTPSendFailed, err.Error())
				continue
			}
			s.left -= n
			s.sendWindow -= n
			h.sendWindow -= n
			sent += n
			s.dataFrames++
			s.tx.bodyBytes += n
			end := s.left == 0
			h.check(h.fr.WriteData(s.id, end, buf))
			var flags http2.Flags
			if end {
				flags = http2.FlagDataEndStream
			}
			h.sent(http2.FrameData, s.id, flags, int(n), fmt.Sprintf("%d body bytes, %d still to send", n, s.left))
			progress = true
			if end {
				h.finishStream(s, nil)
			}
		}
	}
	if h.goneAway && len(h.streams) == 0 {
		h.closed = true
	}
}

// sendable reports whether a response has DATA the windows let go.
func (h *h2conn) sendable() bool {
	if h.sendWindow <= 0 || h.closed || h.phase == h2AwaitPreface {
		return false
	}
	for _, s := range h.sending {
		if s.left > 0 && s.sendWindow > 0 {
			return true
		}
	}
	return false
}

// finishStream ends a stream whose response was sent (or failed): steps
// 6 and 7 for it.
func (h *h2conn) finishStream(s *h2stream, err error) {
	c := h.c
	c.stream = s.id
	defer func() { c.stream = 0 }()
	tx := s.tx
	if err == nil {
		err = h.writeErr
	}
	c.served++
	tx.status, tx.sendErr = s.status, err
	if st := c.st(); st.on() {
		if err != nil {
			st.emit(c.id, "send", viz.Drop, viz.ReasonHTTPSendFailed,
				fmt.Sprintf("sending %d %s on stream %d failed after %d body bytes: %v.", s.status, statusText(s.status), s.id, tx.bodyBytes, err),
				viz.F("status", strconv.Itoa(s.status)), viz.F("body_bytes", strconv.FormatInt(tx.bodyBytes, 10)))
		} else {
			st.emit(c.id, "send", viz.Send, "",
				fmt.Sprintf("sent %d %s on stream %d: a HEADERS frame of %d bytes and %d body bytes in %d DATA frame(s); the stream is closed, the connection stays open for other streams.",
					s.status, statusText(s.status), s.id, tx.headerBytes, tx.bodyBytes, s.dataFrames),
				viz.F("status", strconv.Itoa(s.status)), viz.F("header_bytes", strconv.Itoa(tx.headerBytes)),
				viz.F("body_bytes", strconv.FormatInt(tx.bodyBytes, 10)), viz.F("frames", strconv.Itoa(s.dataFrames)),
				viz.F("requests", strconv.Itoa(c.served)))
		}
	}
	c.logTransaction(tx)
	h.closeStream(s)
	if !s.remoteDone && err == nil {
		// Answered before the request ended (413, 431): the client may
		// still be sending its body; tell it to stop (RFC 9113 §8.1).
		h.check(h.fr.WriteRSTStream(s.id, http2.ErrCodeNo))
		h.sent(http2.FrameRSTStream, s.id, 0, 4, "NO_ERROR: the response is complete, the rest of the request body is not needed (RFC 9113 §8.1)")
	}
}

// closeStream forgets a stream.
func (h *h2conn) closeStream(s *h2stream) {
	if s.closer != nil {
		s.closer.Close()
		s.closer = nil
	}
	delete(h.streams, s.id)
	for i, x := range h.sending {
		if x == s {
			h.sending = append(h.sending[:i], h.sending[i+1:]...)
			break
		}
	}
}

// resetStream ends one stream with RST_STREAM (a stream error, RFC 9113
// §5.4.2); the connection goes on.
func (h *h2conn) resetStream(id uint32, code http2.ErrCode, reason viz.Reason, why string) {
	c := h.c
	c.stream = id
	if st := c.st(); st.on() {
		st.emit(c.id, "h2_stream", viz.Drop, reason,
			fmt.Sprintf("stream %d: %s; resetting it with RST_STREAM %s.", id, why, code),
			viz.F("code", code.String()))
	}
	c.stream = 0
	c.s.errorLog("", c.remote, fmt.Sprintf("HTTP/2 stream %d reset (%s): %s", id, code, why))
	h.check(h.fr.WriteRSTStream(id, code))
	h.sent(http2.FrameRSTStream, id, 0, 4, code.String())
	if s := h.streams[id]; s != nil {
		h.closeStream(s)
	}
}

// connError ends the connection with GOAWAY (a connection error, RFC 9113
// §5.4.1).
func (h *h2conn) connError(code http2.ErrCode, reason viz.Reason, why string) {
	c := h.c
	if st := c.st(); st.on() {
		st.emit(c.id, "h2_error", viz.Drop, reason,
			fmt.Sprintf("%s: a connection error, answered with GOAWAY %s and a close (RFC 9113 §5.4.1).", why, code),
			viz.F("code", code.String()))
	}
	c.s.errorLog("", c.remote, fmt.Sprintf("HTTP/2 connection error %s: %s", code, why))
	h.goAway(code, why, "")
	h.closed = true
}

// goAway sends GOAWAY: no stream above the last one the client opened
// will be served (RFC 9113 §6.8). With NO_ERROR the open streams still
// finish.
func (h *h2conn) goAway(code http2.ErrCode, debug, why string) {
	if h.goneAway && code == http2.ErrCodeNo {
		return
	}
	h.goneAway = true
	what := code.String()
	if why != "" {
		what += ": " + why
	}
	h.check(h.fr.WriteGoAway(h.lastID, code, []byte(debug)))
	h.sent(http2.FrameGoAway, 0, 0, 8+len(debug), fmt.Sprintf("%s; the last stream served is %d", what, h.lastID))
	if len(h.streams) == 0 || code != http2.ErrCodeNo {
		h.closed = true
	}
}

// beginWrite sets the write deadline: a client that stops reading holds
// the connection for IdleTimeout at most.
func (h *h2conn) beginWrite() {
	h.c.nc.SetWriteDeadline(time.Now().Add(h.c.s.cfg.IdleTimeout))
}

func (h *h2conn) check(err error) {
	if err != nil && h.writeErr == nil {
		h.writeErr = err
		h.closed = true
	}
}

func (h *h2conn) flush() {
	h.beginWrite()
	h.check(h.c.bw.Flush())
}

// frameNames are the flags' names by frame type (RFC 9113 §6).
func flagNames(t http2.FrameType, f http2.Flags) string {
	var names []string
	add := func(bit http2.Flags, name string) {
		if f.Has(bit) {
			names = append(names, name)
		}
	}
	switch t {
	case http2.FrameData:
		add(http2.FlagDataEndStream, "END_STREAM")
		add(http2.FlagDataPadded, "PADDED")
	case http2.FrameHeaders:
		add(http2.FlagHeadersEndStream, "END_STREAM")
		add(http2.FlagHeadersEndHeaders, "END_HEADERS")
		add(http2.FlagHeadersPadded, "PADDED")
		add(http2.FlagHeadersPriority, "PRIORITY")
	case http2.FrameSettings, http2.FramePing:
		add(http2.FlagSettingsAck, "ACK")
	case http2.FrameContinuation:
		add(http2.FlagContinuationEndHeaders, "END_HEADERS")
	}
	return strings.Join(names, "|")
}

// sent logs a frame the server wrote.
func (h *h2conn) sent(t http2.FrameType, id uint32, flags http2.Flags, length int, what string) {
	h.frameStep(viz.Send, "sent", t, id, flags, length, what)
}

// received logs a frame the server read.
func (h *h2conn) received(f http2.Frame) {
	fh := f.Header()
	what := ""
	switch f := f.(type) {
	case *http2.MetaHeadersFrame:
		what = f.PseudoValue("method") + " " + f.PseudoValue("path")
		if f.PseudoValue("method") == "" {
			what = "trailer fields"
		}
	case *http2.DataFrame:
		what = fmt.Sprintf("%d body bytes", len(f.Data()))
	case *http2.SettingsFrame:
		if !f.IsAck() {
			var list []string
			f.ForeachSetting(func(s http2.Setting) error {
				list = append(list, fmt.Sprintf("%s=%d", s.ID, s.Val))
				return nil
			})
			what = "the client's settings: " + strings.Join(list, ", ")
		} else {
			what = "the client took the server's settings"
		}
	case *http2.WindowUpdateFrame:
		what = fmt.Sprintf("the client opens the window by %d bytes", f.Increment)
	case *http2.RSTStreamFrame:
		what = f.ErrCode.String()
	case *http2.GoAwayFrame:
		what = fmt.Sprintf("%s, last stream %d", f.ErrCode, f.LastStreamID)
	case *http2.PingFrame:
		what = "a PING"
	}
	h.frameStep(viz.Pass, "received", fh.Type, fh.StreamID, fh.Flags, int(fh.Length), what)
}

func (h *h2conn) frameStep(v viz.Verdict, dir string, t http2.FrameType, id uint32, flags http2.Flags, length int, what string) {
	c := h.c
	st := stepper{rec: c.s.st.rec}
	if !st.on() {
		return
	}
	fl := flagNames(t, flags)
	msg := fmt.Sprintf("%s %s on stream %d", dir, t, id)
	if fl != "" {
		msg += " [" + fl + "]"
	}
	msg += fmt.Sprintf(", %d bytes", length)
	if what != "" {
		msg += ": " + what
	}
	st.emit(c.id, "h2_frame", v, "", msg+".",
		viz.F("dir", dir), viz.F("type", t.String()), viz.F("stream", strconv.FormatUint(uint64(id), 10)),
		viz.F("flags", fl), viz.F("length", strconv.Itoa(length)))
}
