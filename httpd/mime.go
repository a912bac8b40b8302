package httpd

import (
	_ "embed"
	"io"
	"mime"
	"net/http"
	"os"
	"path"
	"strings"
	"sync"
	"unicode/utf8"
)

// mime.go decides a response's Content-Type (rule 10), in the order of
// the seed's four ways, most deliberate first:
//
//	explicit   MapConfig.ExplicitTypes: this URL path, or every path under
//	           a "/dir/" key, has this type whatever its name or content
//	AddType    MapConfig.Types: ".foo" -> type, overriding mime.types
//	mime.types the bundled table (mime.types, a subset of Debian's), by
//	           the name's last extension, skipping a language extension
//	           ("hello.html.ko" is typed as ".html")
//	magic      for a name without a known extension: the content's first
//	           512 bytes, sniffed by the WHATWG algorithm (net/http's
//	           DetectContentType)
//	default    application/octet-stream
//
// Charset. A text type (text/*, XML, JavaScript) that came without a
// charset parameter gets "; charset=utf-8" when its first 512 bytes are
// valid UTF-8 (pure ASCII is), and no charset otherwise: a Latin-1 or
// Shift_JIS page is better left to the browser's own detection than
// mislabelled. An explicit type is sent exactly as configured.

//go:embed mime.types
var mimeTypesFile string

// builtinTypes is the bundled mime.types, parsed on first use.
var builtinTypes = sync.OnceValue(func() map[string]string {
	return parseMIMETypes(mimeTypesFile)
})

// sniffLen is how much of a file magic typing and the charset check read.
const sniffLen = 512

// parseMIMETypes reads mime.types syntax: "type ext ext ...", '#'
// comments. The first line naming an extension wins.
func parseMIMETypes(text string) map[string]string {
	types := map[string]string{}
	for line := range strings.Lines(text) {
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		fields := strings.Fields(line)
		if len(fields) < 2 {
			continue
		}
		for _, ext := range fields[1:] {
			ext = "." + strings.ToLower(ext)
			if _, dup := types[ext]; !dup {
				types[ext] = fields[0]
			}
		}
	}
	return types
}

// contentType types the file name (language extension already removed)
// served at URL path upath; head returns the content's first bytes and
// is called only when the decision needs them.
func (m *FileMapper) contentType(upath, name string, head func() []byte) string {
	if t, ok := m.explicitType(upath); ok {
		return t
	}
	t := m.typeByExt(path.Ext(name))
	if t == "" {
		t = sniff(head())
	}
	return withCharset(t, head)
}

// explicitType finds the ExplicitTypes entry for upath: the exact path,
// else the longest "/dir/" key above it.
func (m *FileMapper) explicitType(upath string) (string, bool) {
	if t, ok := m.explicit[upath]; ok {
		return t, true
	}
	best, found := "", ""
	for key, t := range m.explicit {
		if strings.HasSuffix(key, "/") && strings.HasPrefix(upath, key) && len(key) > len(best) {
			best, found = key, t
		}
	}
	return found, best != ""
}

// typeByExt looks an extension up in AddType, then in mime.types; "" if
// neither knows it.
func (m *FileMapper) typeByExt(ext string) string {
	if ext == "" {
		return ""
	}
	ext = normExt(ext)
	if t, ok := m.types[ext]; ok {
		return t
	}
	return builtinTypes()[ext]
}

// knownExt reports whether the bundled mime.types knows ext (".html").
func knownExt(ext string) bool {
	_, ok := builtinTypes()[normExt(ext)]
	return ok
}

// sniff is magic typing: the WHATWG sniffing algorithm over the first
// bytes. Its charset guess is dropped (it calls anything that is not
// binary utf-8); withCharset decides that from the bytes themselves.
// Only a UTF-16 byte-order mark is kept, being proof of its encoding.
func sniff(head []byte) string {
	t := http.DetectContentType(head)
	if strings.Contains(t, "charset=utf-16") {
		return t
	}
	base, _, _ := strings.Cut(t, ";")
	return strings.TrimSpace(base)
}

// withCharset adds "; charset=utf-8" to a text type without a charset
// when the content's first bytes are valid UTF-8.
func withCharset(t string, head func() []byte) string {
	if !textual(t) || strings.Contains(strings.ToLower(t), "charset=") {
		return t
	}
	if validUTF8Prefix(head()) {
		return t + "; charset=utf-8"
	}
	return t
}

// textual reports whether a type is text that a charset applies to.
func textual(t string) bool {
	base, _, err := mime.ParseMediaType(t)
	if err != nil {
		return false
	}
	return strings.HasPrefix(base, "text/") || base == "application/javascript" ||
		base == "application/xml" || strings.HasSuffix(base, "+xml")
}

// validUTF8Prefix reports whether b is valid UTF-8, allowing the last
// character to be cut short by the sniffing window.
func validUTF8Prefix(b []byte) bool {
	for len(b) > 0 {
		r, size := utf8.DecodeRune(b)
		if r == utf8.RuneError && size == 1 {
			return !utf8.FullRune(b)
		}
		b = b[size:]
	}
	return true
}

// readFileHead reads the first sniffLen bytes of a real file (nil on error).
func readFileHead(real string) []byte {
	f, err := os.Open(real)
	if err != nil {
		return nil
	}
	defer f.Close()
	buf := make([]byte, sniffLen)
	n, _ := io.ReadFull(f, buf)
	return buf[:n]
}

// lazyHead returns a function that reads a real file's head once.
func lazyHead(real string) func() []byte {
	return sync.OnceValue(func() []byte { return readFileHead(real) })
}

// bytesHead returns a function giving the start of data.
func bytesHead(data []byte) func() []byte {
	return func() []byte { return data[:min(len(data), sniffLen)] }
}
