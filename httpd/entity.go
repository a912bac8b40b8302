package httpd

import (
	"bytes"
	"cmp"
	"compress/gzip"
	"fmt"
	"hash/fnv"
	"io"
	"mime"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/packetwalk/packetwalk/viz"
)

// entity.go holds step 5's decisions about the representation sent: its
// validators (ETag, RFC 9110 §8.8), the conditional requests that compare
// them (§13), the byte ranges a client may ask for (§14) and the content
// coding (gzip, §8.4, §12.5.3). respond.go calls them in the order RFC
// 9110 §13.2.2 evaluates them:
//
//	encoding   Accept-Encoding chooses gzip or identity (a Range always gets identity)
//	condition  If-Match, If-Unmodified-Since -> 412; If-None-Match, If-Modified-Since -> 304
//	range      Range (with If-Range) -> 206, multipart/byteranges, 416, or the whole body
//	compress   the chosen gzip body is made
//
// Ranges apply to the identity body only. A client that asks for a range
// wants bytes of the file (curl -C - resumes a download by the length it
// already has on disk), and a range of a gzip stream compressed on the
// fly would be bytes of a representation whose ETag it cannot keep. So a
// request with a Range header is never compressed, and the response
// still says "Vary: Accept-Encoding" when the type is compressible.

// The two Allow values of the file mapper's resources: what a static
// file (or listing) accepts, and what a CGI program accepts. OPTIONS
// answers with them and a 405 repeats them (RFC 9110 §10.2.1, §15.5.6).
const (
	staticAllow = "GET, HEAD, OPTIONS"
	cgiAllow    = "GET, HEAD, POST, OPTIONS"
)

// staticResource reports whether res is a file's bytes as they are on
// disk (a file, a directory's index file, a language variant): the
// resources that carry an ETag and Accept-Ranges. CGI output, SSI pages,
// listings and error pages are made per request.
func staticResource(res *Resource) bool {
	reason, _, _ := strings.Cut(res.Reason, " (")
	switch reason {
	case "file", "directory index", "negotiated":
		return true
	}
	return false
}

// makeETag is a strong entity tag (RFC 9110 §8.8.3) for a file of size
// bytes modified at mod: both change when the file is rewritten, as in
// nginx's and Apache's default tags. The gzip body, another
// representation with other bytes, gets a tag of its own.
func makeETag(size int64, mod time.Time, gzipped bool) string {
	tag := `"` + strconv.FormatInt(mod.UnixNano(), 16) + "-" + strconv.FormatInt(size, 16)
	if gzipped {
		tag += "-gzip"
	}
	return tag + `"`
}

// etagList parses an If-Match or If-None-Match value: "*", or a list of
// entity-tags (RFC 9110 §8.8.3: W/"x" or "x", and commas may appear
// inside the quotes). ok is false for a value that is neither.
func etagList(v string) (tags []string, star, ok bool) {
	v = strings.TrimSpace(v)
	if v == "*" {
		return nil, true, true
	}
	for v != "" {
		v = strings.TrimLeft(v, " \t,")
		if v == "" {
			break
		}
		start := 0
		if strings.HasPrefix(v, "W/") {
			start = 2
		}
		if len(v) < start+2 || v[start] != '"' {
			return nil, false, false
		}
		end := strings.IndexByte(v[start+1:], '"')
		if end < 0 {
			return nil, false, false
		}
		end += start + 2
		tags = append(tags, v[:end])
		v = strings.TrimLeft(v[end:], " \t")
		if v != "" && v[0] != ',' {
			return nil, false, false
		}
	}
	return tags, false, len(tags) > 0
}

// etagMatch compares two entity-tags: strongly (both strong and equal)
// or weakly (equal once W/ is taken off), RFC 9110 §8.8.3.2.
func etagMatch(a, b string, strong bool) bool {
	if strong {
		return !strings.HasPrefix(a, "W/") && a == b
	}
	return strings.TrimPrefix(a, "W/") == strings.TrimPrefix(b, "W/")
}

// condition is the outcome of RFC 9110 §13.2.2's evaluation.
type condition struct {
	status int    // 0: go on; 304 or 412
	msg    string // what was compared, for the step log; "" if no conditional header
}

// evalConditions evaluates the preconditions of a request whose response
// would be 2xx, in the order of RFC 9110 §13.2.2. etag is the selected
// representation's entity-tag ("" if it has none), lastMod its
// modification time (zero if unknown), now the server's clock.
func evalConditions(req *Request, etag string, lastMod, now time.Time) condition {
	safe := req.Method == "GET" || req.Method == "HEAD"
	lastSec := lastMod.Truncate(time.Second)
	// Step 1: If-Match (§13.1.1).
	if im := req.Header.Values("If-Match"); len(im) > 0 {
		tags, star, ok := etagList(strings.Join(im, ","))
		switch {
		case star:
			// A current representation exists: true.
		case ok && etag != "" && anyMatch(tags, etag, true):
		default:
			return condition{412, fmt.Sprintf("If-Match %s does not match the current ETag %s: 412 Precondition Failed (RFC 9110 §13.1.1).", strings.Join(im, ", "), orNone(etag))}
		}
	} else if ius, ok := parseHTTPDate(req.Header.Get("If-Unmodified-Since")); ok && !lastMod.IsZero() {
		// Step 2: If-Unmodified-Since (§13.1.4), only without If-Match.
		if lastSec.After(ius) {
			return condition{412, fmt.Sprintf("the resource was modified at %s, after If-Unmodified-Since %s: 412 Precondition Failed (RFC 9110 §13.1.4).",
				lastSec.UTC().Format(httpTimeFormat), ius.UTC().Format(httpTimeFormat))}
		}
	}
	// Step 3: If-None-Match (§13.1.2), weak comparison; it takes
	// precedence over If-Modified-Since.
	if inm := req.Header.Values("If-None-Match"); len(inm) > 0 {
		tags, star, ok := etagList(strings.Join(inm, ","))
		matched := star || (ok && etag != "" && anyMatch(tags, etag, false))
		if !matched {
			return condition{0, fmt.Sprintf("If-None-Match %s does not match the ETag %s: the client's copy is stale, so the full response goes (RFC 9110 §13.1.2).", strings.Join(inm, ", "), orNone(etag))}
		}
		if safe {
			return condition{304, fmt.Sprintf("If-None-Match %s matches the ETag %s: 304 Not Modified, no body (RFC 9110 §13.1.2; it takes precedence over If-Modified-Since, §13.2.2).", strings.Join(inm, ", "), orNone(etag))}
		}
		return condition{412, fmt.Sprintf("If-None-Match %s matches the ETag %s on a %s: 412 Precondition Failed (RFC 9110 §13.1.2).", strings.Join(inm, ", "), orNone(etag), req.Method)}
	}
	// Step 4: If-Modified-Since (§13.1.3), GET and HEAD only; a date in
	// the future is invalid and ignored.
	if safe && !lastMod.IsZero() {
		if ims, ok := parseHTTPDate(req.Header.Get("If-Modified-Since")); ok && !ims.After(now) {
			if !lastSec.After(ims) {
				return condition{304, "the resource is unchanged since " + ims.UTC().Format(httpTimeFormat) + " (If-Modified-Since): 304 Not Modified, no body (RFC 9110 §13.1.3)."}
			}
			return condition{0, "the resource was modified at " + lastSec.UTC().Format(httpTimeFormat) + ", after If-Modified-Since: the full response goes (RFC 9110 §13.1.3)."}
		}
	}
	return condition{}
}

func anyMatch(tags []string, etag string, strong bool) bool {
	for _, t := range tags {
		if etagMatch(t, etag, strong) {
			return true
		}
	}
	return false
}

func orNone(etag string) string {
	if etag == "" {
		return "(none)"
	}
	return etag
}

// byteRange is one satisfiable range, [first, last] inclusive.
type byteRange struct{ first, last int64 }

func (b byteRange) length() int64 { return b.last - b.first + 1 }

func (b byteRange) contentRange(size int64) string {
	return "bytes " + strconv.FormatInt(b.first, 10) + "-" + strconv.FormatInt(b.last, 10) + "/" + strconv.FormatInt(size, 10)
}

// rangeOutcome is what a Range header asks of a representation of size
// bytes.
type rangeOutcome int

const (
	rangeIgnore        rangeOutcome = iota // send the whole body (200)
	rangePartial                           // 206 with these ranges
	rangeUnsatisfiable                     // 416
	rangeTooMany                           // over a limit: the whole body (200), a named drop
)

// parseRange reads a Range value (RFC 9110 §14.1.2) against a
// representation of size bytes, with at most maxRanges ranges. It says
// what to do and why, in words for the step log.
func parseRange(v string, size int64, maxRanges int) (rangeOutcome, []byteRange, string) {
	unit, set, ok := strings.Cut(v, "=")
	if !ok || !strings.EqualFold(strings.TrimSpace(unit), "bytes") {
		return rangeIgnore, nil, fmt.Sprintf("the Range %q is not in bytes, the only range unit this server knows", truncate(v, 60))
	}
	specs := strings.Split(set, ",")
	var out []byteRange
	var sum int64
	n := 0
	for _, spec := range specs {
		spec = strings.TrimSpace(spec)
		if spec == "" {
			continue // empty list elements are allowed (RFC 9110 §5.6.1)
		}
		n++
		if n > maxRanges {
			return rangeTooMany, nil, fmt.Sprintf("the Range asks for more than %d ranges (MaxRanges)", maxRanges)
		}
		first, last, ok := strings.Cut(spec, "-")
		if !ok {
			return rangeIgnore, nil, fmt.Sprintf("the Range %q is malformed", truncate(v, 60))
		}
		var r byteRange
		switch {
		case first == "":
			// A suffix range: the last N bytes.
			suffix, err := strconv.ParseInt(last, 10, 64)
			if err != nil || suffix < 0 {
				return rangeIgnore, nil, fmt.Sprintf("the Range %q is malformed", truncate(v, 60))
			}
			if suffix == 0 || size == 0 {
				continue // unsatisfiable (§14.1.3)
			}
			r = byteRange{max(size-suffix, 0), size - 1}
		default:
			f, err := strconv.ParseInt(first, 10, 64)
			if err != nil || f < 0 {
				return rangeIgnore, nil, fmt.Sprintf("the Range %q is malformed", truncate(v, 60))
			}
			l := size - 1
			if last != "" {
				l, err = strconv.ParseInt(last, 10, 64)
				if err != nil || l < f {
					// first > last makes the whole header invalid (§14.1.1).
					return rangeIgnore, nil, fmt.Sprintf("the Range %q is malformed", truncate(v, 60))
				}
				l = min(l, size-1)
			}
			if f >= size {
				continue // starts past the end: unsatisfiable
			}
			r = byteRange{f, l}
		}
		out = append(out, r)
		sum += r.length()
	}
	if n == 0 {
		return rangeIgnore, nil, fmt.Sprintf("the Range %q names no range", truncate(v, 60))
	}
	if len(out) == 0 {
		return rangeUnsatisfiable, nil, fmt.Sprintf("no range of %q lies inside the %d-byte body", truncate(v, 60), size)
	}
	if len(out) > 1 && sum > size {
		// Overlapping ranges would send more than the whole body
		// (RFC 9110 §14.2 lets a server ignore them; it is how the 2011
		// "Apache Killer" multiplied one small request into gigabytes).
		return rangeTooMany, nil, fmt.Sprintf("the %d ranges add up to %d bytes, more than the whole %d-byte body (overlapping ranges)", len(out), sum, size)
	}
	return rangePartial, out, ""
}

// piece is one piece of a 206 body: literal bytes (a multipart part's
// header), or n bytes of the body's source from offset off.
type piece struct {
	lit    []byte
	off, n int64
}

// byteRangesBody lays out the multipart/byteranges body of RFC 9110
// §14.6 for ranges of a size-byte body of type ctype. The boundary is
// derived from the representation and the ranges, not drawn at random,
// so that a seeded trace is the same bytes every run.
func byteRangesBody(ranges []byteRange, size int64, ctype, seed string) (pieces []piece, boundary string, length int64) {
	h := fnv.New64a()
	h.Write([]byte(seed))
	for _, r := range ranges {
		fmt.Fprintf(h, ",%d-%d", r.first, r.last)
	}
	boundary = fmt.Sprintf("packetwalk-%016x", h.Sum64())
	for i, r := range ranges {
		var b strings.Builder
		if i > 0 {
			b.WriteString("\r\n")
		}
		b.WriteString("--" + boundary + "\r\n")
		if ctype != "" {
			b.WriteString("Content-Type: " + ctype + "\r\n")
		}
		b.WriteString("Content-Range: " + r.contentRange(size) + "\r\n\r\n")
		pieces = append(pieces, piece{lit: []byte(b.String())}, piece{off: r.first, n: r.length()})
		length += int64(b.Len()) + r.length()
	}
	end := "\r\n--" + boundary + "--\r\n"
	pieces = append(pieces, piece{lit: []byte(end)})
	return pieces, boundary, length + int64(len(end))
}

// acceptsGzip reads Accept-Encoding (RFC 9110 §12.5.3) and reports
// whether gzip is acceptable and at least as welcome as identity, and
// why not when it is not. "x-gzip" is gzip (§8.4.1.3); "*" covers any
// coding not listed; identity is acceptable unless excluded.
func acceptsGzip(values []string) (bool, string) {
	if len(values) == 0 {
		return false, "the request has no Accept-Encoding (curl sends one with --compressed)"
	}
	gzipQ, identityQ, starQ := -1.0, -1.0, -1.0
	for _, v := range values {
		for part := range strings.SplitSeq(v, ",") {
			coding, params, _ := strings.Cut(part, ";")
			coding = strings.ToLower(strings.TrimSpace(coding))
			if coding == "" {
				continue
			}
			q, ok := 1.0, true
			for p := range strings.SplitSeq(params, ";") {
				k, val, _ := strings.Cut(strings.TrimSpace(p), "=")
				if strings.EqualFold(strings.TrimSpace(k), "q") {
					f, err := strconv.ParseFloat(strings.TrimSpace(val), 64)
					if err != nil || f < 0 || f > 1 {
						ok = false
					}
					q = f
				}
			}
			if !ok {
				continue // a malformed weight: the entry is ignored
			}
			switch coding {
			case "gzip", "x-gzip":
				gzipQ = max(gzipQ, q)
			case "identity":
				identityQ = q
			case "*":
				starQ = q
			}
		}
	}
	if gzipQ < 0 {
		gzipQ = max(starQ, 0)
	}
	// identity needs no entry to be acceptable, and one without a
	// weight of its own is no preference over gzip; only an explicit
	// "identity;q=" weighs against it.
	ae := strings.Join(values, ", ")
	switch {
	case gzipQ <= 0:
		return false, fmt.Sprintf("Accept-Encoding %q does not accept gzip", truncate(ae, 60))
	case identityQ >= 0 && gzipQ < identityQ:
		return false, fmt.Sprintf("Accept-Encoding %q prefers identity (q=%g) to gzip (q=%g)", truncate(ae, 60), identityQ, gzipQ)
	}
	return true, ""
}

// compressible reports whether a media type is worth compressing: text,
// and the textual formats of application and image (JSON, JavaScript,
// XML, SVG). Images, audio, video and archives are compressed already.
func compressible(ctype string) bool {
	mt, _, err := mime.ParseMediaType(ctype)
	if err != nil {
		return false
	}
	if strings.HasPrefix(mt, "text/") || strings.HasSuffix(mt, "+xml") || strings.HasSuffix(mt, "+json") {
		return true
	}
	switch mt {
	case "application/javascript", "application/x-javascript", "application/ecmascript", "application/json",
		"application/xml", "application/wasm", "application/x-sh", "application/postscript", "application/rtf",
		"image/bmp", "image/x-icon", "image/vnd.microsoft.icon", "font/ttf", "font/otf", "application/vnd.ms-fontobject":
		return true
	}
	return false
}

// gzipWriters reuses compressors: each holds about 800 KiB of tables.
var gzipWriters = sync.Pool{New: func() any {
	w, _ := gzip.NewWriterLevel(nil, gzip.DefaultCompression)
	return w
}}

// gzipBytes compresses b. The gzip header carries no name and a zero
// modification time (RFC 1952 §2.3.1: "no time stamp is available"), so
// the same bytes in give the same bytes out, run after run: packetwalk's
// seeded traces must be byte-identical.
func gzipBytes(b []byte) []byte {
	var buf bytes.Buffer
	buf.Grow(len(b)/3 + 64)
	w := gzipWriters.Get().(*gzip.Writer)
	w.Reset(&buf)
	w.Write(b)
	w.Close()
	gzipWriters.Put(w)
	return buf.Bytes()
}

// representation is what step 5 decided about the body beyond its
// source: the header fields those decisions add.
type representation struct {
	etag         string // the selected representation's ETag, made here; "" if none
	gzip         bool   // Content-Encoding: gzip
	vary         bool   // Vary: Accept-Encoding
	acceptRanges bool   // Accept-Ranges: bytes
	contentRange string // Content-Range of a single-part 206 or a 416
	ctype        string // replaces Content-Type (multipart/byteranges); "" keeps it
}

// represent makes step 5's decisions about a response r under way for
// res, whose Content-Type is ctype and modification time lastMod, in the
// order of the table at the top of this file; each is a respond step. It
// changes r's status and body as they decide.
func (c *conn) represent(tx *transaction, res *Resource, r *response, ctype string, lastMod time.Time) representation {
	cfg := &c.s.cfg
	req := tx.req
	st := c.st()
	var rep representation
	note := func(decision string, v viz.Verdict, reason viz.Reason, msg string, fields ...viz.Field) {
		if st.on() {
			st.emit(c.id, "respond", v, reason, msg, append([]viz.Field{viz.F("decision", decision)}, fields...)...)
		}
	}
	static := r.status == 200 && r.source != "error page" && staticResource(res)
	rangeAsked := static && req.Method == "GET" && len(req.Header.Values("Range")) > 0
	size := r.length // the identity body's length

	// Encoding (RFC 9110 §8.4, §12.5.3): decided first, because the
	// ETag names the representation chosen.
	var encodingWhy string
	var encodingReason viz.Reason
	var pre string // a precompressed FILE.gz beside the file, if it is current
	if r.status == 200 && r.length > 0 && r.source != "error page" && req.Method != "OPTIONS" {
		if r.file != nil && res.File != "" && !cfg.DisableCompression {
			pre = precompressed(res.File, r.modAt)
		}
		switch {
		case cfg.DisableCompression:
			encodingWhy = "compression is off (Compression Off)"
		case res.Header.Get("Content-Encoding") != "":
			encodingWhy = "the body already has Content-Encoding " + res.Header.Get("Content-Encoding")
		case pre != "":
			// Compressed once, ahead of time (nginx's gzip_static): no
			// size limit, nothing compressed per request.
			rep.vary = true
			var ok bool
			if rangeAsked {
				encodingWhy = "a Range was asked, and ranges count bytes of the uncompressed body (RFC 9110 §14.1.1)"
			} else if ok, encodingWhy = acceptsGzip(req.Header.Values("Accept-Encoding")); ok {
				rep.gzip = true
			}
		case !compressible(ctype):
			encodingWhy = "the type " + ctype + " is not worth compressing (images, audio, video and archives are compressed already)"
		case r.length < cfg.CompressMinBytes:
			encodingWhy = fmt.Sprintf("the %d-byte body is smaller than CompressMinSize (%d bytes)", r.length, cfg.CompressMinBytes)
		case r.length > cfg.CompressMaxBytes:
			encodingWhy = fmt.Sprintf("the %d-byte body is larger than CompressMaxSize (%d bytes), the most compressed in memory", r.length, cfg.CompressMaxBytes)
			encodingReason = viz.ReasonHTTPCompressTooLarge
		default:
			rep.vary = true
			var ok bool
			if rangeAsked {
				encodingWhy = "a Range was asked, and ranges count bytes of the uncompressed body (RFC 9110 §14.1.1)"
			} else if ok, encodingWhy = acceptsGzip(req.Header.Values("Accept-Encoding")); ok {
				rep.gzip = true
			}
		}
	}
	if static && !r.modAt.IsZero() {
		rep.etag = makeETag(size, r.modAt, rep.gzip)
	}
	etag := rep.etag
	if etag == "" {
		etag = res.Header.Get("ETag") // a CGI program's own
	}
	rep.acceptRanges = static

	// Conditions (RFC 9110 §13.2.2), for GET and HEAD: a POST's CGI
	// program has already run in step 4, too late for a precondition to
	// stop it (the program sees HTTP_IF_MATCH and may check it itself).
	if r.status >= 200 && r.status < 300 && r.source != "error page" && (req.Method == "GET" || req.Method == "HEAD") {
		cond := evalConditions(req, etag, lastMod, cfg.Now())
		if cond.msg != "" {
			note("condition", viz.Pass, "", cond.msg, viz.F("status", strconv.Itoa(cmp.Or(cond.status, r.status))), viz.F("etag", etag))
		}
		switch cond.status {
		case 304:
			r.status = 304
		case 412:
			r.status = 412
			c.errorBody(r, req, res)
			rep.gzip, rep.vary, rep.acceptRanges = false, false, false
			return rep
		}
	}

	// Ranges (RFC 9110 §14), of the identity body of a GET.
	if rangeAsked && r.status == 200 {
		rh := strings.Join(req.Header.Values("Range"), ",")
		outcome, ranges, why := rangeIgnore, []byteRange(nil), ""
		if ir := req.Header.Get("If-Range"); ir != "" && !ifRangeHolds(ir, rep.etag, lastMod) {
			why = fmt.Sprintf("If-Range %s does not match the current ETag %s or Last-Modified: the client's part is stale, so the whole body goes (RFC 9110 §13.1.5)", truncate(ir, 60), orNone(rep.etag))
		} else {
			outcome, ranges, why = parseRange(rh, size, cfg.MaxRanges)
		}
		switch outcome {
		case rangeIgnore:
			note("range", viz.Pass, "", "the Range "+strconv.Quote(truncate(rh, 60))+" is ignored: "+why+"; 200 with the whole body (RFC 9110 §14.2).", viz.F("range", truncate(rh, 200)))
		case rangeTooMany:
			note("range", viz.Drop, viz.ReasonHTTPTooManyRanges, "the Range is ignored: "+why+"; 200 with the whole body (RFC 9110 §14.2).", viz.F("range", truncate(rh, 200)))
		case rangeUnsatisfiable:
			r.status = 416
			rep.contentRange = "bytes */" + strconv.FormatInt(size, 10)
			c.errorBody(r, req, res)
			rep.vary = false
			note("range", viz.Pass, "", fmt.Sprintf("%s; 416 Range Not Satisfiable with Content-Range: %s (RFC 9110 §14.1.1, §15.5.17).", why, rep.contentRange),
				viz.F("range", truncate(rh, 200)), viz.F("status", "416"))
			return rep
		case rangePartial:
			r.status = 206
			if len(ranges) == 1 {
				rep.contentRange = ranges[0].contentRange(size)
				r.pieces = []piece{{off: ranges[0].first, n: ranges[0].length()}}
				r.length = ranges[0].length()
				note("range", viz.Pass, "", fmt.Sprintf("206 Partial Content: %s, %d of the %d bytes (RFC 9110 §14.2, §15.3.7).", rep.contentRange, r.length, size),
					viz.F("range", truncate(rh, 200)), viz.F("status", "206"), viz.F("content_range", rep.contentRange), viz.F("ranges", "1"))
			} else {
				var boundary string
				r.pieces, boundary, r.length = byteRangesBody(ranges, size, ctype, rep.etag+r.source)
				rep.ctype = "multipart/byteranges; boundary=" + boundary
				note("range", viz.Pass, "", fmt.Sprintf("206 Partial Content: %d ranges in a multipart/byteranges body of %d bytes (RFC 9110 §14.6).", len(ranges), r.length),
					viz.F("range", truncate(rh, 200)), viz.F("status", "206"), viz.F("ranges", strconv.Itoa(len(ranges))))
			}
		}
	}

	// The encoding, now that the status is known: only a 200 sends the
	// body whose encoding was chosen.
	if r.status != 200 || r.length <= 0 || r.source == "error page" || req.Method == "OPTIONS" {
		rep.gzip = false // a 304 stands for the chosen body without sending it; its ETag names it
		return rep
	}
	if !rep.gzip {
		v := viz.Pass
		if encodingReason != "" {
			v = viz.Drop
		}
		note("encoding", v, encodingReason, "not compressed: "+encodingWhy+"; the body goes as it is (identity, RFC 9110 §12.5.3).",
			viz.F("encoding", "identity"), viz.F("why", encodingWhy), viz.F("bytes", strconv.FormatInt(r.length, 10)))
		return rep
	}
	if pre != "" {
		f, err := os.Open(pre)
		var st os.FileInfo
		if err == nil {
			st, err = f.Stat()
		}
		if err == nil {
			r.file.Close()
			identity := r.length
			r.file, r.length = f, st.Size()
			note("encoding", viz.Pass, "", fmt.Sprintf("sent %s, compressed ahead of time beside the file: %d bytes for the %d-byte %s body; Content-Encoding: gzip, Vary: Accept-Encoding (RFC 9110 §8.4.1.3, §12.5.3).",
				filepath.Base(pre), r.length, identity, ctype),
				viz.F("encoding", "gzip"), viz.F("before", strconv.FormatInt(identity, 10)), viz.F("after", strconv.FormatInt(r.length, 10)), viz.F("precompressed", filepath.Base(pre)))
			return rep
		}
		if f != nil {
			f.Close()
		}
		// It vanished since it was found: compress on the fly instead.
	}
	plain := r.body
	if r.file != nil {
		plain = make([]byte, r.length)
		_, err := io.ReadFull(r.file, plain)
		r.file.Close()
		r.file = nil
		if err != nil {
			c.s.errorLog(res.VHost, c.remote, fmt.Sprintf("reading %s to compress it: %v", res.File, err))
			r.status = 500
			c.errorBody(r, req, res)
			rep = representation{}
			return rep
		}
	}
	r.body = gzipBytes(plain)
	r.length = int64(len(r.body))
	note("encoding", viz.Pass, "", fmt.Sprintf("compressed the %d-byte %s body to %d bytes with gzip (%d%%): Content-Encoding: gzip, Vary: Accept-Encoding (RFC 9110 §8.4.1.3, §12.5.3).",
		len(plain), ctype, r.length, r.length*100/int64(len(plain))),
		viz.F("encoding", "gzip"), viz.F("before", strconv.Itoa(len(plain))), viz.F("after", strconv.FormatInt(r.length, 10)))
	return rep
}

// precompressed returns the path of file's gzip sibling, FILE.gz, when it
// is a regular file no older than file (a stale one would send old
// content); "" otherwise.
func precompressed(file string, mod time.Time) string {
	gz := file + ".gz"
	st, err := os.Stat(gz)
	if err != nil || !st.Mode().IsRegular() || st.ModTime().Before(mod) {
		return ""
	}
	return gz
}

// ifRangeHolds evaluates If-Range (RFC 9110 §13.1.5): an entity-tag must
// match the current one strongly; a date must equal Last-Modified
// exactly.
func ifRangeHolds(v, etag string, lastMod time.Time) bool {
	v = strings.TrimSpace(v)
	if strings.HasPrefix(v, `"`) || strings.HasPrefix(v, "W/") {
		return etag != "" && etagMatch(v, etag, true)
	}
	t, ok := parseHTTPDate(v)
	return ok && !lastMod.IsZero() && lastMod.Truncate(time.Second).Equal(t)
}

// errorBody turns r into an error response with the server's page for
// its status (412, 416, 500), closing the file it was going to send.
func (c *conn) errorBody(r *response, req *Request, res *Resource) {
	if r.file != nil {
		r.file.Close()
		r.file = nil
	}
	r.pieces = nil
	r.body, r.source = errorPage(r.status, req, res), "error page"
	r.length = int64(len(r.body))
}
