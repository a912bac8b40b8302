package httpd

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"github.com/packetwalk/packetwalk/clock"
	"github.com/packetwalk/packetwalk/viz"
)

// Tests of HTTP/2 over cleartext (h2.go). Most talk to the server with
// golang.org/x/net/http2's Framer, frame by frame, so that each rule of
// RFC 9113 can be provoked; TestH2XNetTransport uses x/net's client as
// it is, code we did not write.

// h2Files writes two files of n bytes each (a's and b's) and returns a
// Mapper that serves /a and /b from them and the rest as testMapper does.
func h2Files(t *testing.T, n int) Mapper {
	dir := t.TempDir()
	for _, name := range []string{"a", "b"} {
		if err := os.WriteFile(filepath.Join(dir, name), bytes.Repeat([]byte(name), n), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	base := testMapper("")
	return mapperFunc(func(r *Request) *Resource {
		switch r.Path {
		case "/a", "/b":
			return &Resource{Status: 200, Reason: "file", File: filepath.Join(dir, r.Path[1:]), ContentType: "text/plain"}
		}
		return base.Map(r)
	})
}

func memLog() (*viz.Recorder, *viz.MemorySink) {
	sink := &viz.MemorySink{}
	log := viz.NewLog(clock.NewVirtual())
	log.AddSink(sink)
	return log.Recorder("server"), sink
}

// h2client is a test client that speaks HTTP/2 frame by frame.
type h2client struct {
	t   *testing.T
	nc  net.Conn
	fr  *http2.Framer
	enc *hpack.Encoder
	buf bytes.Buffer
}

// dialH2 opens a prior-knowledge connection: the preface and the
// client's SETTINGS.
func dialH2(t *testing.T, addr string, settings ...http2.Setting) *h2client {
	t.Helper()
	nc := dial(t, addr)
	if _, err := io.WriteString(nc, http2.ClientPreface); err != nil {
		t.Fatal(err)
	}
	cl := newH2Client(t, nc, nc)
	if err := cl.fr.WriteSettings(settings...); err != nil {
		t.Fatal(err)
	}
	return cl
}

func newH2Client(t *testing.T, nc net.Conn, r io.Reader) *h2client {
	cl := &h2client{t: t, nc: nc}
	cl.fr = http2.NewFramer(nc, r)
	cl.fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	cl.enc = hpack.NewEncoder(&cl.buf)
	return cl
}

// get sends a GET for path on stream id.
func (cl *h2client) get(id uint32, path string, endStream bool, extra ...hpack.HeaderField) {
	cl.t.Helper()
	cl.buf.Reset()
	for _, f := range append([]hpack.HeaderField{{Name: ":method", Value: "GET"}, {Name: ":scheme", Value: "http"},
		{Name: ":authority", Value: "www.example.com"}, {Name: ":path", Value: path}}, extra...) {
		cl.enc.WriteField(f)
	}
	if err := cl.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: cl.buf.Bytes(), EndStream: endStream, EndHeaders: true}); err != nil {
		cl.t.Fatal(err)
	}
}

// next reads frames until one that is not SETTINGS, a SETTINGS ACK or a
// WINDOW_UPDATE (which most tests do not care about); keep lists the
// types to return anyway.
func (cl *h2client) next(keep ...http2.FrameType) http2.Frame {
	cl.t.Helper()
	for {
		f, err := cl.fr.ReadFrame()
		if err != nil {
			cl.t.Fatalf("reading a frame: %v", err)
		}
		switch f.Header().Type {
		case http2.FrameSettings, http2.FrameWindowUpdate:
			for _, k := range keep {
				if k == f.Header().Type {
					return f
				}
			}
			if sf, ok := f.(*http2.SettingsFrame); ok && !sf.IsAck() {
				cl.fr.WriteSettingsAck()
			}
			continue
		}
		return f
	}
}

// expectGoAway reads until GOAWAY and checks its code.
func (cl *h2client) expectGoAway(code http2.ErrCode) {
	cl.t.Helper()
	for {
		f := cl.next()
		if ga, ok := f.(*http2.GoAwayFrame); ok {
			if ga.ErrCode != code {
				cl.t.Fatalf("GOAWAY %s, want %s", ga.ErrCode, code)
			}
			return
		}
	}
}

// response reads one whole response on stream id: status and body.
func (cl *h2client) response(id uint32) (int, string) {
	cl.t.Helper()
	status := 0
	var body bytes.Buffer
	for {
		switch f := cl.next().(type) {
		case *http2.MetaHeadersFrame:
			if f.StreamID != id {
				cl.t.Fatalf("HEADERS on stream %d, want %d", f.StreamID, id)
			}
			status, _ = strconv.Atoi(f.PseudoValue("status"))
			if f.StreamEnded() {
				return status, ""
			}
		case *http2.DataFrame:
			if f.StreamID != id {
				cl.t.Fatalf("DATA on stream %d, want %d", f.StreamID, id)
			}
			body.Write(f.Data())
			if f.StreamEnded() {
				return status, body.String()
			}
		case *http2.RSTStreamFrame:
			cl.t.Fatalf("RST_STREAM %s on stream %d", f.ErrCode, f.StreamID)
		case *http2.GoAwayFrame:
			cl.t.Fatalf("GOAWAY %s", f.ErrCode)
		}
	}
}

// h2Steps are the steps of the log with their stream.
func h2Steps(sink *viz.MemorySink) []string {
	var out []string
	for _, e := range sink.Events() {
		if e.Layer != viz.LayerHTTP {
			continue
		}
		s := e.Step
		for _, f := range e.Fields {
			if f.Key == "stream" {
				s += " " + f.Value()
			}
			if f.Key == "type" && e.Step == "h2_frame" {
				s += " " + f.Value()
			}
		}
		out = append(out, s)
	}
	return out
}

// A client with prior knowledge gets two responses on one connection,
// each stream's request through the seven steps with its stream ID.
func TestH2PriorKnowledge(t *testing.T) {
	for _, arch := range []string{ArchSingle, ArchPool} {
		t.Run(arch, func(t *testing.T) {
			rec, sink := memLog()
			ts := startServer(t, Config{Arch: arch}, nil, rec)
			cl := dialH2(t, ts.addr)
			cl.get(1, "/one", true)
			if st, body := cl.response(1); st != 200 || body != "you asked for /one" {
				t.Fatalf("stream 1: %d %q", st, body)
			}
			cl.get(3, "/two", true)
			if st, body := cl.response(3); st != 200 || body != "you asked for /two" {
				t.Fatalf("stream 3: %d %q", st, body)
			}
			steps := strings.Join(h2Steps(sink), ", ")
			for _, want := range []string{"h2_preface", "receive 1, process 1, map 1, respond 1", "send 1, log 1", "receive 3, process 3, map 3, respond 3", "h2_frame HEADERS 3"} {
				if !strings.Contains(steps, want) {
					t.Errorf("the steps lack %q:\n%s", want, steps)
				}
			}
			for _, e := range sink.Events() {
				if e.Step == "log" {
					line, _ := e.Field("line")
					if !strings.Contains(line, `"GET /one HTTP/2.0" 200`) && !strings.Contains(line, `"GET /two HTTP/2.0" 200`) {
						t.Errorf("access log line %q", line)
					}
				}
			}
		})
	}
}

// Two large responses requested together are sent interleaved: DATA
// frames of stream 1 and stream 3 alternate on the connection (the
// round robin of writeData), and the step log shows it.
func TestH2TwoStreamsInterleaved(t *testing.T) {
	rec, sink := memLog()
	ts := startServer(t, Config{}, h2Files(t, 100_000), rec)
	// A small window holds both responses back until both requests are
	// in, so the order does not depend on how the bytes were read.
	cl := dialH2(t, ts.addr, http2.Setting{ID: http2.SettingInitialWindowSize, Val: 1000})
	cl.get(1, "/a", true)
	cl.get(3, "/b", true)
	got := map[uint32]int{}
	for got[1]+got[3] < 2000 {
		if d, ok := cl.next().(*http2.DataFrame); ok {
			got[d.StreamID] += len(d.Data())
		}
	}
	// The three updates in one write, so the server learns of both
	// streams' windows at once.
	var updates bytes.Buffer
	w := http2.NewFramer(&updates, nil)
	w.WriteWindowUpdate(0, 1<<20)
	w.WriteWindowUpdate(1, 1<<20)
	w.WriteWindowUpdate(3, 1<<20)
	cl.nc.Write(updates.Bytes())
	var order []uint32
	bodies := map[uint32]*bytes.Buffer{1: {}, 3: {}}
	for ended := 0; ended < 2; {
		if d, ok := cl.next().(*http2.DataFrame); ok {
			order = append(order, d.StreamID)
			bodies[d.StreamID].Write(d.Data())
			if d.StreamEnded() {
				ended++
			}
		}
	}
	if a, b := bodies[1].Len()+1000, bodies[3].Len()+1000; a != 100_000 || b != 100_000 {
		t.Fatalf("bodies of %d and %d bytes, want 100000", a, b)
	}
	switches := 0
	for i := 1; i < len(order); i++ {
		if order[i] != order[i-1] {
			switches++
		}
	}
	if switches < 4 {
		t.Errorf("DATA frames by stream %v: the streams are not interleaved", order)
	}
	// The step log shows the same interleaving.
	var logged []string
	for _, s := range h2Steps(sink) {
		if f := strings.Fields(s); len(f) == 3 && f[0] == "h2_frame" && f[1] == "DATA" {
			logged = append(logged, f[2])
		}
	}
	if len(logged) != len(order)+2 {
		t.Errorf("%d DATA frames logged, %d received", len(logged), len(order)+2)
	}
	if s := strings.Join(logged, ""); !strings.Contains(s, "1313") {
		t.Errorf("logged DATA frames by stream %s: not interleaved", s)
	}
}

// The server never sends more than the client's windows allow, and
// sends the rest after WINDOW_UPDATE (RFC 9113 §6.9).
func TestH2FlowControl(t *testing.T) {
	ts := startServer(t, Config{}, h2Files(t, 5000), nil)
	cl := dialH2(t, ts.addr, http2.Setting{ID: http2.SettingInitialWindowSize, Val: 1200})
	cl.get(1, "/a", true)
	n := 0
	for n < 1200 {
		if d, ok := cl.next().(*http2.DataFrame); ok {
			n += len(d.Data())
		}
	}
	// Nothing more may come: a PING's answer arrives first.
	cl.fr.WritePing(false, [8]byte{1})
	for {
		f := cl.next()
		if _, ok := f.(*http2.PingFrame); ok {
			break
		}
		if d, ok := f.(*http2.DataFrame); ok {
			t.Fatalf("%d more bytes of DATA beyond the stream's window of 1200", len(d.Data()))
		}
	}
	cl.fr.WriteWindowUpdate(1, 10000)
	for {
		if d, ok := cl.next().(*http2.DataFrame); ok {
			n += len(d.Data())
			if d.StreamEnded() {
				break
			}
		}
	}
	if n != 5000 {
		t.Fatalf("%d body bytes, want 5000", n)
	}

	// The server's own window: a request body larger than H2WindowSize
	// without waiting for WINDOW_UPDATE is a stream flow-control error.
	rec, sink := memLog()
	ts = startServer(t, Config{H2WindowSize: 100}, nil, rec)
	cl = dialH2(t, ts.addr)
	cl.buf.Reset()
	for _, f := range []hpack.HeaderField{{Name: ":method", Value: "POST"}, {Name: ":scheme", Value: "http"},
		{Name: ":authority", Value: "x"}, {Name: ":path", Value: "/post"}} {
		cl.enc.WriteField(f)
	}
	cl.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: cl.buf.Bytes(), EndHeaders: true})
	cl.fr.WriteData(1, true, make([]byte, 200))
	for {
		if rst, ok := cl.next().(*http2.RSTStreamFrame); ok {
			if rst.ErrCode != http2.ErrCodeFlowControl {
				t.Fatalf("RST_STREAM %s, want FLOW_CONTROL_ERROR", rst.ErrCode)
			}
			break
		}
	}
	expectReason(t, sink, viz.ReasonH2FlowControl)
}

func expectReason(t *testing.T, sink *viz.MemorySink, r viz.Reason) {
	t.Helper()
	for _, e := range sink.Events() {
		if e.Reason == r {
			return
		}
	}
	t.Errorf("no step dropped with reason %s", r)
}

// The HTTP/1.1 Upgrade path (RFC 7540 §3.2): 101, then the response to
// the upgraded request on stream 1, then more streams.
func TestH2Upgrade(t *testing.T) {
	for _, arch := range []string{ArchPool, ArchMultiplexed} {
		t.Run(arch, func(t *testing.T) {
			rec, sink := memLog()
			cfg := Config{Arch: arch}
			addr := ""
			if arch == ArchMultiplexed {
				addr = startMux(t, cfg, nil, rec)
			} else {
				addr = startServer(t, cfg, nil, rec).addr
			}
			nc := dial(t, addr)
			settings := base64.RawURLEncoding.EncodeToString([]byte{0, 4, 0, 0, 0x40, 0}) // INITIAL_WINDOW_SIZE 16384
			fmt.Fprintf(nc, "GET /up HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: %s\r\n\r\n", settings)
			br := bufio.NewReader(nc)
			line, _ := br.ReadString('\n')
			if line != "HTTP/1.1 101 Switching Protocols\r\n" {
				t.Fatalf("status line %q", line)
			}
			for {
				l, err := br.ReadString('\n')
				if err != nil {
					t.Fatal(err)
				}
				if l == "\r\n" {
					break
				}
			}
			io.WriteString(nc, http2.ClientPreface)
			cl := newH2Client(t, nc, br)
			cl.fr.WriteSettings()
			if st, body := cl.response(1); st != 200 || body != "you asked for /up" {
				t.Fatalf("stream 1: %d %q", st, body)
			}
			cl.get(3, "/next", true)
			if st, body := cl.response(3); st != 200 || body != "you asked for /next" {
				t.Fatalf("stream 3: %d %q", st, body)
			}
			steps := strings.Join(h2Steps(sink), ", ")
			for _, want := range []string{"receive, h2_upgrade", "process 1, map 1, respond 1", "receive 3, process 3"} {
				if !strings.Contains(steps, want) {
					t.Errorf("the steps lack %q:\n%s", want, steps)
				}
			}
		})
	}
}

// startMux serves with the multiplexed architecture over the test
// Poller.
func startMux(t *testing.T, cfg Config, m Mapper, rec *viz.Recorder) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Arch, cfg.Poller = ArchMultiplexed, testPoller{}
	if m == nil {
		m = testMapper("")
	}
	srv := New(cfg, m, rec)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(&peekListener{ln}) }()
	t.Cleanup(func() {
		srv.Close()
		<-done
	})
	return ln.Addr().String()
}

// Bad prefaces and bad frames end the connection with GOAWAY and the
// right error code; a bad request on one stream resets that stream only.
func TestH2Errors(t *testing.T) {
	hf := func(name, value string) hpack.HeaderField { return hpack.HeaderField{Name: name, Value: value} }
	t.Run("upgrade then no preface", func(t *testing.T) {
		rec, sink := memLog()
		ts := startServer(t, Config{}, nil, rec)
		nc := dial(t, ts.addr)
		settings := base64.RawURLEncoding.EncodeToString(nil)
		fmt.Fprintf(nc, "GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: %s\r\n\r\n", settings)
		br := bufio.NewReader(nc)
		for {
			l, _ := br.ReadString('\n')
			if l == "\r\n" || l == "" {
				break
			}
		}
		io.WriteString(nc, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
		newH2Client(t, nc, br).expectGoAway(http2.ErrCodeProtocol)
		expectReason(t, sink, viz.ReasonH2BadPreface)
	})
	t.Run("first frame not SETTINGS", func(t *testing.T) {
		rec, sink := memLog()
		ts := startServer(t, Config{}, nil, rec)
		nc := dial(t, ts.addr)
		io.WriteString(nc, http2.ClientPreface)
		cl := newH2Client(t, nc, nc)
		cl.fr.WritePing(false, [8]byte{})
		cl.expectGoAway(http2.ErrCodeProtocol)
		expectReason(t, sink, viz.ReasonH2BadPreface)
	})
	t.Run("frame too large", func(t *testing.T) {
		rec, sink := memLog()
		ts := startServer(t, Config{}, nil, rec)
		cl := dialH2(t, ts.addr)
		cl.fr.WritePing(false, [8]byte{}) // a valid frame first
		nc := cl.nc
		nc.Write([]byte{0, 0x50, 0, byte(http2.FrameData), 0, 0, 0, 0, 1}) // 20480 bytes announced
		cl.expectGoAway(http2.ErrCodeFrameSize)
		expectReason(t, sink, viz.ReasonH2FrameSize)
	})
	t.Run("DATA on stream 0", func(t *testing.T) {
		rec, sink := memLog()
		ts := startServer(t, Config{}, nil, rec)
		cl := dialH2(t, ts.addr)
		cl.fr.AllowIllegalWrites = true
		cl.fr.WriteData(0, true, []byte("x"))
		cl.expectGoAway(http2.ErrCodeProtocol)
		expectReason(t, sink, viz.ReasonH2Protocol)
	})
	t.Run("bad HPACK", func(t *testing.T) {
		rec, sink := memLog()
		ts := startServer(t, Config{}, nil, rec)
		cl := dialH2(t, ts.addr)
		cl.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: []byte{0xff, 0xff, 0xff, 0xff}, EndStream: true, EndHeaders: true})
		cl.expectGoAway(http2.ErrCodeCompression)
		expectReason(t, sink, viz.ReasonH2Compression)
	})
	t.Run("connection header resets the stream only", func(t *testing.T) {
		rec, sink := memLog()
		ts := startServer(t, Config{}, nil, rec)
		cl := dialH2(t, ts.addr)
		cl.get(1, "/", true, hf("connection", "keep-alive"))
		rst, ok := cl.next().(*http2.RSTStreamFrame)
		if !ok || rst.StreamID != 1 || rst.ErrCode != http2.ErrCodeProtocol {
			t.Fatalf("got %v, want RST_STREAM PROTOCOL_ERROR on stream 1", rst)
		}
		expectReason(t, sink, viz.ReasonH2BadStream)
		cl.get(3, "/fine", true)
		if st, body := cl.response(3); st != 200 || body != "you asked for /fine" {
			t.Fatalf("stream 3 after the reset: %d %q", st, body)
		}
	})
	t.Run("max concurrent streams", func(t *testing.T) {
		rec, sink := memLog()
		ts := startServer(t, Config{H2MaxStreams: 1}, nil, rec)
		cl := dialH2(t, ts.addr)
		cl.get(1, "/", false) // stays open: its body has not ended
		cl.get(3, "/", true)
		rst, ok := cl.next().(*http2.RSTStreamFrame)
		if !ok || rst.StreamID != 3 || rst.ErrCode != http2.ErrCodeRefusedStream {
			t.Fatalf("got %v, want RST_STREAM REFUSED_STREAM on stream 3", rst)
		}
		expectReason(t, sink, viz.ReasonH2RefusedStream)
		cl.fr.WriteData(1, true, nil)
		if st, _ := cl.response(1); st != 200 {
			t.Fatalf("stream 1: %d", st)
		}
	})
	t.Run("header list too large", func(t *testing.T) {
		rec, sink := memLog()
		ts := startServer(t, Config{MaxHeaderBytes: 300}, nil, rec)
		cl := dialH2(t, ts.addr)
		// Several fields, each shorter than the limit (a single string
		// over it is an HPACK decoding error in x/net's decoder).
		var big []hpack.HeaderField
		for i := range 5 {
			big = append(big, hf(fmt.Sprintf("x-big-%d", i), strings.Repeat("x", 60)))
		}
		cl.get(1, "/", true, big...)
		if st, _ := cl.response(1); st != 431 {
			t.Fatalf("status %d, want 431", st)
		}
		expectReason(t, sink, viz.ReasonHTTPHeaderTooLarge)
	})
	t.Run("stream ID going backwards", func(t *testing.T) {
		rec, sink := memLog()
		ts := startServer(t, Config{}, nil, rec)
		cl := dialH2(t, ts.addr)
		cl.get(5, "/", true)
		cl.response(5)
		cl.get(3, "/", true)
		cl.expectGoAway(http2.ErrCodeStreamClosed)
		expectReason(t, sink, viz.ReasonH2Protocol)
	})
}

// x/net's HTTP/2 client, with prior knowledge over cleartext, fetches
// two resources at once on one connection, from each architecture.
func TestH2XNetTransport(t *testing.T) {
	for _, arch := range []string{ArchSingle, ArchPool, ArchMultiplexed} {
		t.Run(arch, func(t *testing.T) {
			rec, sink := memLog()
			addr := ""
			if arch == ArchMultiplexed {
				addr = startMux(t, Config{}, h2Files(t, 70_000), rec)
			} else {
				addr = startServer(t, Config{Arch: arch}, h2Files(t, 70_000), rec).addr
			}
			dials := 0
			tr := &http2.Transport{
				AllowHTTP: true,
				DialTLSContext: func(ctx context.Context, network, addr string, _ *tls.Config) (net.Conn, error) {
					dials++
					return (&net.Dialer{}).DialContext(ctx, network, addr)
				},
			}
			defer tr.CloseIdleConnections()
			client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
			var wg sync.WaitGroup
			for _, p := range []string{"/a", "/b", "/c"} {
				wg.Add(1)
				go func() {
					defer wg.Done()
					resp, err := client.Get("http://" + addr + p)
					if err != nil {
						t.Error(err)
						return
					}
					body, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					if resp.ProtoMajor != 2 || resp.StatusCode != 200 {
						t.Errorf("%s: %s %s", p, resp.Proto, resp.Status)
					}
					want := 70_000
					if p == "/c" {
						want = len("you asked for /c")
					}
					if len(body) != want {
						t.Errorf("%s: %d bytes, want %d", p, len(body), want)
					}
				}()
			}
			wg.Wait()
			if dials != 1 {
				t.Errorf("%d connections, want 1", dials)
			}
			streams := map[string]bool{}
			for _, e := range sink.Events() {
				if e.Step == "send" {
					s, _ := e.Field("stream")
					streams[s] = true
				}
			}
			if len(streams) != 3 {
				t.Errorf("send steps on streams %v, want 3 streams", streams)
			}
		})
	}
}

// DisableH2 (Apache's "Protocols http/1.1") answers the preface as an
// HTTP/1.1 request of an unknown version (505) and ignores Upgrade.
func TestH2Disabled(t *testing.T) {
	ts := startServer(t, Config{DisableH2: true}, nil, nil)
	nc := dial(t, ts.addr)
	io.WriteString(nc, "GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: \r\n\r\n")
	resp, _ := readResponse(t, bufio.NewReader(nc), "GET")
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	nc = dial(t, ts.addr)
	io.WriteString(nc, http2.ClientPreface)
	resp, _ = readResponse(t, bufio.NewReader(nc), "GET")
	if resp.StatusCode != 505 {
		t.Fatalf("the preface with HTTP/2 off: status %d, want 505", resp.StatusCode)
	}
}

// The HTTP/2 directives of the config file.
func TestH2ConfigDirectives(t *testing.T) {
	cfg, err := ParseConfig("t.conf", strings.NewReader("H2MaxSessionStreams 7\nH2WindowSize 1000\nProtocols http/1.1\n"))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.H2MaxStreams != 7 || cfg.H2WindowSize != 1000 || !cfg.DisableH2 {
		t.Fatalf("H2MaxStreams %d, H2WindowSize %d, DisableH2 %v", cfg.H2MaxStreams, cfg.H2WindowSize, cfg.DisableH2)
	}
	if cfg, err = ParseConfig("t.conf", strings.NewReader("Protocols h2c http/1.1\n")); err != nil || cfg.DisableH2 {
		t.Fatalf("Protocols h2c http/1.1: %v, DisableH2 %v", err, cfg.DisableH2)
	}
	if _, err = ParseConfig("t.conf", strings.NewReader("Protocols spdy\n")); err == nil || !strings.Contains(err.Error(), "spdy") {
		t.Fatalf("Protocols spdy: %v", err)
	}
	if err := (Config{H2WindowSize: 1 << 31}).Validate(); err == nil {
		t.Fatal("a window of 2^31 bytes was accepted")
	}
}
