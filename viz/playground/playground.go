// Package playground writes the playground: an offline folder whose page
// runs packetwalk itself, built for js/wasm, in the reader's browser. The
// page turns its forms (the main job, ping, the scenario labs with their
// questions, a scenario editor, a command line) into packetwalk command
// lines, runs them on an in-memory file system, and shows what they wrote:
// the HTML report of package report, unchanged, and the step log and
// capture to download, byte for byte what the same command writes in a
// terminal.
//
// The folder:
//
//	playground.html     the page (style, script and memfs inline)
//	wasm_exec.js        Go's loader for js/wasm, from the Go that built the module
//	packetwalk.wasm     the module, for a static web host (fetched, compressed by the host)
//	packetwalk.wasm.js  the same bytes in base64, for file://, where browsers refuse fetch()
//
// The page tries packetwalk.wasm over http(s) and falls back to the
// script, which a page opened from a file may load.
package playground

import (
	"bytes"
	"compress/gzip"
	_ "embed"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

//go:embed assets/playground.html
var pageTemplate string

//go:embed assets/playground.css
var pageCSS string

//go:embed assets/playground.js
var pageJS string

//go:embed assets/memfs.js
var memfsJS string

// The folder's file names.
const (
	PageFile     = "playground.html"
	WasmExecFile = "wasm_exec.js"
	WasmFile     = "packetwalk.wasm"
	WasmJSFile   = "packetwalk.wasm.js"
)

// Page returns playground.html.
func Page() []byte {
	var b bytes.Buffer
	parts := strings.Split(pageTemplate, "{{")
	b.WriteString(parts[0])
	for _, p := range parts[1:] {
		name, rest, _ := strings.Cut(p, "}}")
		switch name {
		case "css":
			b.WriteString(pageCSS)
		case "js":
			b.WriteString(pageJS)
		case "memfs":
			b.WriteString(memfsJS)
		default:
			// Not a placeholder: keep the text as it was.
			b.WriteString("{{" + name + "}}")
		}
		b.WriteString(rest)
	}
	return b.Bytes()
}

// WasmScript wraps the module in the script a page opened from file://
// loads: the module's bytes in base64, as one string.
func WasmScript(wasm []byte) []byte {
	const head, tail = "globalThis.packetwalkWasm=\"", "\";\n"
	out := make([]byte, 0, len(head)+base64.StdEncoding.EncodedLen(len(wasm))+len(tail))
	out = append(out, head...)
	out = base64.StdEncoding.AppendEncode(out, wasm)
	return append(out, tail...)
}

// File is one file written, with its size and the size a static host
// that compresses with gzip would send.
type File struct {
	Name          string
	Size, Gzipped int
}

// Write writes the playground into dir (created if needed): the page, the
// module and its loader. wasm is packetwalk built for js/wasm; wasmExec is
// the wasm_exec.js of the Go release that built it (the two must match).
func Write(dir string, wasm, wasmExec []byte) ([]File, error) {
	if len(wasm) < 8 || !bytes.Equal(wasm[:4], []byte("\x00asm")) {
		return nil, errors.New("the module to write is not WebAssembly")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("cannot create %s: %v", dir, errors.Unwrap(err))
	}
	var files []File
	for _, f := range []struct {
		name string
		data []byte
	}{
		{PageFile, Page()},
		{WasmExecFile, wasmExec},
		{WasmFile, wasm},
		{WasmJSFile, WasmScript(wasm)},
	} {
		if err := os.WriteFile(filepath.Join(dir, f.name), f.data, 0o644); err != nil {
			return nil, fmt.Errorf("cannot write %s: %v", filepath.Join(dir, f.name), errors.Unwrap(err))
		}
		files = append(files, File{Name: f.name, Size: len(f.data), Gzipped: gzipSize(f.data)})
	}
	return files, nil
}

// gzipSize is the size of data compressed as a static web host does
// (gzip at the default level).
func gzipSize(data []byte) int {
	var n countWriter
	zw := gzip.NewWriter(&n)
	zw.Write(data)
	zw.Close()
	return int(n)
}

type countWriter int

func (c *countWriter) Write(p []byte) (int, error) { *c += countWriter(len(p)); return len(p), nil }
