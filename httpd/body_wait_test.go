package httpd

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/packetwalk/packetwalk/clock"
	"github.com/packetwalk/packetwalk/viz"
)

// bodyHashMapper answers each request with its body's length and sha256.
var bodyHashMapper = mapperFunc(func(r *Request) *Resource {
	sum := sha256.Sum256(r.Body)
	return &Resource{Status: 200, Reason: "file", ContentType: "text/plain",
		Content: []byte(fmt.Sprintf("%d %s", len(r.Body), hex.EncodeToString(sum[:])))}
})

// TestMultiplexedLargeBodyParsedOnce: the loop of "multiplexed" and
// "event" reads a connection 32 KiB at a time. A request with an 8 MiB
// body, by Content-Length or chunked, must be parsed once its body is
// there, not at every read: parsing again copied the whole body received
// so far each time, so the memory the server allocated grew with the
// square of the body (about 1 GiB for 8 MiB) and a 50 MB upload through
// TUN took 20 s instead of 1.5. The allocation is bounded here at a few
// times the body.
func TestMultiplexedLargeBodyParsedOnce(t *testing.T) {
	skipWithoutKernelPoll(t)
	const size = 8 << 20
	body := make([]byte, size)
	for i := range body {
		body[i] = byte(i * 7)
	}
	sum := sha256.Sum256(body)
	want := fmt.Sprintf("%d %s", size, hex.EncodeToString(sum[:]))
	for _, arch := range []string{ArchMultiplexed, ArchEvent} {
		for _, chunked := range []bool{false, true} {
			name := arch + "/content-length"
			if chunked {
				name = arch + "/chunked"
			}
			t.Run(name, func(t *testing.T) {
				log := viz.NewLog(clock.NewVirtual())
				ts := startServer(t, Config{Arch: arch, MaxBodyBytes: 16 << 20}, bodyHashMapper, log.Recorder("server"))
				c := dial(t, ts.addr)
				runtime.GC()
				var before runtime.MemStats
				runtime.ReadMemStats(&before)
				go func() {
					bw := bufio.NewWriterSize(c, 16<<10)
					if chunked {
						io.WriteString(bw, "POST /sum HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
						for off := 0; off < size; off += 10000 {
							end := min(off+10000, size)
							fmt.Fprintf(bw, "%x;ext=1\r\n", end-off)
							bw.Write(body[off:end])
							io.WriteString(bw, "\r\n")
						}
						io.WriteString(bw, "0\r\nX-Trailer: yes\r\n\r\n")
					} else {
						fmt.Fprintf(bw, "POST /sum HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n", size)
						bw.Write(body)
					}
					bw.Flush()
				}()
				resp, got := readResponse(t, bufio.NewReader(c), "POST")
				var after runtime.MemStats
				runtime.ReadMemStats(&after)
				if resp.StatusCode != 200 || got != want {
					t.Fatalf("%d %q, want 200 %q", resp.StatusCode, got, want)
				}
				if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 16*size {
					t.Fatalf("the server allocated %d MiB to take an %d MiB body: more than 16 times the body, so it parsed it again at every read", alloc>>20, size>>20)
				}
			})
		}
	}
}

// TestBodyWaitNeverHoldsAJudgeableRequest: the loop's wait must never
// hold back a request the parser can already answer, or the client would
// hang. For every prefix of each request, fed in growing pieces as reads
// deliver them: when parsing the prefix gives anything but "incomplete"
// (a request, a 400, a 413), waiting is false.
func TestBodyWaitNeverHoldsAJudgeableRequest(t *testing.T) {
	lim := limits{requestLine: 64, headerBytes: 256, bodyBytes: 32}
	head := "POST / HTTP/1.1\r\nHost: x\r\n"
	for _, req := range []string{
		head + "Content-Length: 10\r\n\r\n0123456789GET / HTTP/1.1\r\n",
		head + "Transfer-Encoding: chunked\r\n\r\n4\r\nWiki\r\n5 ; name=value\r\npedia\r\n0\r\nExpires: never\r\n\r\n",
		head + "Transfer-Encoding: chunked\r\n\r\n4\nWiki\n0\n\n",                                               // bare LFs
		head + "Transfer-Encoding: chunked\r\n\r\n4\r\nWikipedia\r\n0\r\n\r\n",                                  // data longer than its size: 400
		head + "Transfer-Encoding: chunked\r\n\r\nzz\r\nWiki\r\n0\r\n\r\n",                                      // not hexadecimal: 400
		head + "Transfer-Encoding: chunked\r\n\r\n20\r\n" + strings.Repeat("a", 32) + "\r\n1\r\nb\r\n0\r\n\r\n", // 33 bytes: 413
		head + "Transfer-Encoding: chunked\r\n\r\n" + strings.Repeat("1", 40),                                   // a chunk-size line without end: 400
	} {
		for step := 1; step <= 7; step += 3 {
			var w bodyWait
			for n := 0; n <= len(req); n += step {
				in := []byte(req[:n])
				rd := bytes.NewReader(in)
				br := bufio.NewReaderSize(rd, 16)
				r, h, err := readHead(br, lim)
				if err == nil {
					bodyAt := n - rd.Len() - br.Buffered()
					err = readBody(br, r, h, lim)
					if err == io.EOF || err == io.ErrUnexpectedEOF {
						w.learn(h, bodyAt)
					}
				}
				incomplete := err == io.EOF || err == io.ErrUnexpectedEOF
				if !incomplete && w.waiting(in, lim.bodyBytes) {
					t.Fatalf("%q, %d bytes in pieces of %d: the parser answers (%v) but the loop would wait", req, n, step, err)
				}
				if !incomplete {
					break
				}
			}
		}
	}
}

// TestMultiplexedAnnouncedBodyNotAllocated: a head that announces a
// large body costs the server what arrives, not what is announced, until
// the body is there: parsing an incomplete request allocated the whole
// Content-Length at once, so each such head (a client's, or an
// attacker's under LimitRequestBody) cost 16 MiB.
func TestMultiplexedAnnouncedBodyNotAllocated(t *testing.T) {
	skipWithoutKernelPoll(t)
	const announced = 16 << 20
	log := viz.NewLog(clock.NewVirtual())
	sink := &viz.MemorySink{}
	log.AddSink(sink)
	ts := startServer(t, Config{Arch: ArchEvent, MaxBodyBytes: 32 << 20}, bodyHashMapper, log.Recorder("server"))
	c := dial(t, ts.addr)
	waitSteps(t, sink, 1, func(e viz.Event) bool { return e.Step == "accept" })
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	fmt.Fprintf(c, "POST /sum HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n", announced)
	for range 64 {
		c.Write(make([]byte, 1024))
		time.Sleep(time.Millisecond) // a read, and a parse, each
	}
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > announced/4 {
		t.Fatalf("64 KiB of a body announced as %d MiB cost the server %d KiB", announced>>20, alloc>>10)
	}
}
