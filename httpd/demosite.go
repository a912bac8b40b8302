package httpd

import (
	"embed"
	"fmt"
	"io/fs"
	"strings"
	"sync"
	"testing/fstest"
	"time"
)

// demosite.go holds the site that `packetwalk trace` serves when no
// --docroot is given: the files under demosite/, embedded in the binary,
// plus big.txt, about 300 KB of text made at run time from a fixed seed
// (the same bytes every run, so the trace's sha256 is stable) rather than
// committed.
//
//	index.html        links style.css, logo.png, docs, hello.html, ssi.shtml, pub/, big.txt
//	style.css, logo.png
//	docs/index.html   asked for as /docs: the trailing-slash redirect
//	hello.html.en, hello.html.ko   negotiation by Accept-Language
//	ssi.shtml         include virtual and echo (MapConfig.SSI on)
//	includes/footer.html
//	pub/              no index: a listing (MapConfig.Listings on) or 403;
//	                  pub/notes has no extension: magic typing
//	big.txt           a response of many segments
//
// Every file and directory has the modification time demoModTime, so
// responses carry a Last-Modified and conditional GETs can be shown.

//go:embed demosite
var demoFiles embed.FS

// demoModTime is the demo site's modification time.
var demoModTime = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

// demoBigBytes is big.txt's size, about 300 KB.
const demoBigBytes = 300 << 10

// DemoSite returns the embedded demo site as a read-only fs.FS, for
// NewMapper(cfg, DemoSite()). It is an fstest.MapFS, the standard
// library's in-memory file system (it does not pull in package testing).
func DemoSite() fs.FS {
	return demoSite()
}

var demoSite = sync.OnceValue(func() fs.FS {
	site := fstest.MapFS{}
	sub, err := fs.Sub(demoFiles, "demosite")
	if err != nil {
		panic(err) // the embed pattern guarantees the directory
	}
	err = fs.WalkDir(sub, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || name == "." {
			return err
		}
		if d.IsDir() {
			site[name] = &fstest.MapFile{Mode: fs.ModeDir | 0o555, ModTime: demoModTime}
			return nil
		}
		data, err := fs.ReadFile(sub, name)
		site[name] = &fstest.MapFile{Data: data, Mode: 0o444, ModTime: demoModTime}
		return err
	})
	if err != nil {
		panic(err) // reading embedded files cannot fail
	}
	site["big.txt"] = &fstest.MapFile{Data: demoBigText(demoBigBytes), Mode: 0o444, ModTime: demoModTime}
	return site
})

// demoBigText makes about n bytes of numbered lines of words, the same for
// every run (a xorshift generator with a fixed seed).
func demoBigText(n int) []byte {
	words := strings.Fields(`the a packet frame segment window ack sequence wire host socket
		buffer server client request response header byte route checksum port listen
		accept read write close slow start congestion timer retransmit path mtu link
		carries arrives leaves waits grows shrinks fills drains crosses reaches`)
	var b strings.Builder
	b.Grow(n + 100)
	x := uint32(2463534242)
	for line := 1; b.Len() < n; line++ {
		fmt.Fprintf(&b, "%05d", line)
		for col := 5; col < 66; {
			x ^= x << 13
			x ^= x >> 17
			x ^= x << 5
			w := words[x%uint32(len(words))]
			b.WriteByte(' ')
			b.WriteString(w)
			col += 1 + len(w)
		}
		b.WriteString(".\n")
	}
	text := b.String()[:n]
	return []byte(text[:strings.LastIndexByte(text, '\n')+1])
}
