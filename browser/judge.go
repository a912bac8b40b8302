package browser

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"image"
	_ "image/gif" // the browser displays the image types the demo site has
	_ "image/jpeg"
	_ "image/png"
	"io"
	"mime"
	"net/http"
	"path"
	"strings"
)

// Action is what the browser does with a response's data (the seed's
// step 2: display it itself, or hand it to an application).
type Action string

const (
	ShowHTML    Action = "display-html"  // interpret the tags and lay out the page
	ShowText    Action = "display-text"  // show the characters as they are
	ShowImage   Action = "display-image" // decompress the picture and draw it
	UseResource Action = "use"           // a stylesheet or script the page uses
	Save        Action = "save"          // write the data to a file
	HandOff     Action = "application"   // start the application registered for the type
	Follow      Action = "follow"        // a redirect: ask for Location instead
	ShowError   Action = "error-page"    // a 4xx/5xx: display the server's error page
	Nothing     Action = "nothing"       // 304 and other bodiless answers
)

// Judgement is what the browser concluded about one response.
type Judgement struct {
	Status    int
	MediaType string // "text/html", from Content-Type or the extension
	TypeFrom  string // "Content-Type", "extension", "default"
	Charset   string // for text: "utf-8"; "" for other data
	CharsetBy string // "Content-Type", "<meta charset>", "default"
	Encoding  string // Content-Encoding as sent: "gzip", "" for none
	Data      []byte // the body after decoding its content coding
	Action    Action
	Image     image.Config // for ShowImage, when the picture decoded
	ImageFmt  string
	Err       error // a content coding that could not be decoded
}

// step is one sentence of the judgement, logged in order by the caller.
type step struct {
	name, msg string
	fields    [][2]string
}

// extensionTypes is the browser's own small table of extensions, the
// fallback the seed mentions when the header does not say what the data is.
var extensionTypes = map[string]string{
	".html": "text/html", ".htm": "text/html", ".txt": "text/plain", ".css": "text/css",
	".js": "text/javascript", ".json": "application/json", ".png": "image/png",
	".gif": "image/gif", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".svg": "image/svg+xml",
	".pdf": "application/pdf", ".zip": "application/zip",
}

// judge reads a response's headers and body as the seed's browser does and
// returns the judgement with the sentences that explain it. rel says what
// the page wanted the resource for ("stylesheet", "image"; "" for a page
// the user asked for).
func judge(reqPath, rel string, resp *http.Response, body []byte) (Judgement, []step) {
	j := Judgement{Status: resp.StatusCode, Data: body}
	var steps []step
	add := func(name, msg string, kv ...string) {
		s := step{name: name, msg: msg}
		for i := 0; i+1 < len(kv); i += 2 {
			s.fields = append(s.fields, [2]string{kv[i], kv[i+1]})
		}
		steps = append(steps, s)
	}

	// The status decides whether the body is the resource at all
	// (RFC 9110 §15).
	switch code := resp.StatusCode; {
	case code >= 300 && code < 400 && resp.Header.Get("Location") != "":
		j.Action = Follow
		add("status", fmt.Sprintf("%s: a redirection (RFC 9110 §15.4); the resource is at %s, so the browser asks for that instead",
			resp.Status, resp.Header.Get("Location")), "status", fmt.Sprint(code), "location", resp.Header.Get("Location"))
		return j, steps
	case code == http.StatusNotModified || code == http.StatusNoContent || len(body) == 0 && code < 300:
		j.Action = Nothing
		add("status", fmt.Sprintf("%s with no body: nothing to display (RFC 9110 §15)", resp.Status), "status", fmt.Sprint(code))
		return j, steps
	case code >= 400:
		j.Action = ShowError
		add("status", fmt.Sprintf("%s: the server could not give the resource (RFC 9110 §15.5, §15.6); its body is an error page to display", resp.Status),
			"status", fmt.Sprint(code))
	default:
		add("status", fmt.Sprintf("%s: success, the body is the resource (RFC 9110 §15.3)", resp.Status), "status", fmt.Sprint(code))
	}

	// 1. The kind of data: Content-Type, a MIME type (RFC 9110 §8.3).
	ct := resp.Header.Get("Content-Type")
	mt, params, err := mime.ParseMediaType(ct)
	ext := strings.ToLower(path.Ext(reqPath))
	switch {
	case ct != "" && err == nil && mt != "application/octet-stream":
		j.MediaType, j.TypeFrom = mt, "Content-Type"
		top, sub, _ := strings.Cut(mt, "/")
		msg := fmt.Sprintf("Content-Type %s: the MIME type says the data is %s, subtype %s (RFC 9110 §8.3)", ct, top, sub)
		if e, ok := extensionTypes[ext]; ok && e != mt {
			msg += fmt.Sprintf("; the extension %s suggests %s, but the header wins", ext, e)
		}
		add("type", msg, "content_type", ct, "media_type", mt)
	default:
		why := "no Content-Type"
		if ct != "" {
			why = "Content-Type " + ct + " (which says only \"some bytes\")"
			if err != nil {
				why = fmt.Sprintf("an unreadable Content-Type %q", ct)
			}
		}
		if e, ok := extensionTypes[ext]; ok {
			j.MediaType, j.TypeFrom = e, "extension"
			add("type", fmt.Sprintf("%s: the browser judges the data by the file's extension %s instead: %s", why, ext, e),
				"content_type", ct, "media_type", e, "extension", ext)
		} else {
			j.MediaType, j.TypeFrom = "application/octet-stream", "default"
			add("type", fmt.Sprintf("%s and no extension it knows: the data is just bytes (application/octet-stream)", why),
				"content_type", ct, "media_type", j.MediaType)
		}
		params = nil
	}

	// 2. Compression or encoding: Content-Encoding (RFC 9110 §8.4). It is
	// undone before anything looks at the data.
	if enc := strings.ToLower(strings.TrimSpace(resp.Header.Get("Content-Encoding"))); enc != "" && enc != "identity" {
		j.Encoding = enc
		switch enc {
		case "gzip", "x-gzip":
			data, err := gunzip(body)
			if err != nil {
				j.Err = fmt.Errorf("the gzip body does not decode: %v", err)
				add("encoding", fmt.Sprintf("Content-Encoding %s: the body does not decode (%v); the browser cannot use it", enc, err),
					"encoding", enc, "error", err.Error())
				j.Action = Nothing
				return j, steps
			}
			j.Data = data
			add("encoding", fmt.Sprintf("Content-Encoding %s: the body was compressed; decompressed %d bytes into %d (RFC 9110 §8.4.1.3)", enc, len(body), len(data)),
				"encoding", enc, "bytes", fmt.Sprint(len(body)), "decoded", fmt.Sprint(len(data)))
		default:
			j.Err = fmt.Errorf("content coding %q is not one this browser decodes", enc)
			add("encoding", fmt.Sprintf("Content-Encoding %s: a coding this browser does not know, so it cannot use the data", enc), "encoding", enc)
			j.Action = Nothing
			return j, steps
		}
	} else {
		add("encoding", fmt.Sprintf("no Content-Encoding: the %d bytes of the body are the data itself", len(body)), "encoding", "identity")
	}

	// 3. For text, the character code: the charset parameter (RFC 9110
	// §8.3.2), or a <meta charset> in an HTML page, or the default.
	if strings.HasPrefix(j.MediaType, "text/") {
		switch cs := strings.ToLower(params["charset"]); {
		case cs != "":
			j.Charset, j.CharsetBy = cs, "Content-Type"
			add("charset", fmt.Sprintf("text: the characters are in %s, as Content-Type's charset parameter says (RFC 9110 §8.3.2)", cs), "charset", cs, "from", "Content-Type")
		case j.MediaType == "text/html" && metaCharset(j.Data) != "":
			j.Charset, j.CharsetBy = metaCharset(j.Data), "<meta charset>"
			add("charset", fmt.Sprintf("text with no charset parameter: the page's own <meta charset> says %s", j.Charset), "charset", j.Charset, "from", "meta")
		default:
			// Without a declaration a browser guesses; the HTML standard's
			// fallback for Western locales is windows-1252, and plain
			// ASCII reads the same in it.
			j.Charset, j.CharsetBy = "windows-1252", "default"
			add("charset", "text with no charset declared: the browser guesses windows-1252 (the HTML standard's fallback); non-ASCII letters may show wrongly", "charset", j.Charset, "from", "default")
		}
	}

	// 4. What to do with it: the browser displays HTML, text and images
	// itself and hands everything else on.
	if j.Action == ShowError {
		return j, steps
	}
	switch top, _, _ := strings.Cut(j.MediaType, "/"); {
	case j.MediaType == "text/html":
		j.Action = ShowHTML
	case rel == "stylesheet" || rel == "script" || j.MediaType == "text/css" || j.MediaType == "text/javascript":
		j.Action = UseResource
	case top == "text":
		j.Action = ShowText
	case top == "image":
		j.Action = ShowImage
		if cfg, format, err := image.DecodeConfig(bytes.NewReader(j.Data)); err == nil {
			j.Image, j.ImageFmt = cfg, format
		}
	case j.MediaType == "application/octet-stream":
		j.Action = Save
	default:
		j.Action = HandOff
	}
	return j, steps
}

// gunzip undoes a gzip content coding, bounded so that a small body
// cannot expand without limit (a "zip bomb").
func gunzip(b []byte) ([]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	out, err := io.ReadAll(io.LimitReader(zr, MaxDecodedBytes+1))
	if err != nil {
		return nil, err
	}
	if len(out) > MaxDecodedBytes {
		return nil, fmt.Errorf("it expands beyond %d bytes", MaxDecodedBytes)
	}
	return out, nil
}

// MaxDecodedBytes bounds a decompressed body.
const MaxDecodedBytes = 64 << 20

// metaCharset returns the charset of an HTML page's <meta charset="...">
// in its first 1024 bytes (the HTML standard's prescan window), or "".
func metaCharset(page []byte) string {
	head := strings.ToLower(string(page[:min(len(page), 1024)]))
	i := strings.Index(head, "<meta charset=")
	if i < 0 {
		return ""
	}
	v := head[i+len("<meta charset="):]
	v = strings.TrimLeft(v, `"'`)
	end := strings.IndexAny(v, `"' />`)
	if end <= 0 {
		return ""
	}
	return v[:end]
}
