package playground

import (
	"bytes"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestPageInlinesItsParts(t *testing.T) {
	page := string(Page())
	for _, p := range []string{"{{css}}", "{{js}}", "{{memfs}}"} {
		if strings.Contains(page, p) {
			t.Errorf("the page still holds the placeholder %s", p)
		}
	}
	// memfs.js must define globalThis.fs before wasm_exec.js looks for
	// it (wasm_exec.js installs its refusing stub only when there is none),
	// and the page's script needs Go's loader.
	memfs := strings.Index(page, "globalThis.fs = fs")
	loader := strings.Index(page, `<script src="wasm_exec.js">`)
	script := strings.Index(page, "function instantiate(go)")
	if memfs < 0 || loader < 0 || script < 0 || !(memfs < loader && loader < script) {
		t.Errorf("the page's scripts are not in the order memfs (%d), wasm_exec.js (%d), the page's (%d)", memfs, loader, script)
	}
}

func TestWasmScriptCarriesTheModule(t *testing.T) {
	wasm := append([]byte("\x00asm\x01\x00\x00\x00"), bytes.Repeat([]byte{0xff, 0, '"', '<'}, 100)...)
	s := string(WasmScript(wasm))
	b64, ok := strings.CutPrefix(s, `globalThis.packetwalkWasm="`)
	b64, ok2 := strings.CutSuffix(b64, "\";\n")
	if !ok || !ok2 {
		t.Fatalf("the script is not one assignment of a string: %.60q", s)
	}
	got, err := base64.StdEncoding.DecodeString(b64)
	if err != nil || !bytes.Equal(got, wasm) {
		t.Errorf("the script's base64 does not decode to the module: %v", err)
	}
}

func TestWrite(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "site")
	if _, err := Write(dir, []byte("MZ not wasm"), []byte("//")); err == nil || !strings.Contains(err.Error(), "not WebAssembly") {
		t.Errorf("writing a module that is not WebAssembly: %v", err)
	}
	wasm := append([]byte("\x00asm\x01\x00\x00\x00"), make([]byte, 4096)...)
	files, err := Write(dir, wasm, []byte("// wasm_exec"))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{PageFile: true, WasmExecFile: true, WasmFile: true, WasmJSFile: true}
	for _, f := range files {
		b, err := os.ReadFile(filepath.Join(dir, f.Name))
		if err != nil || len(b) != f.Size || f.Gzipped <= 0 {
			t.Errorf("%s: %d bytes on disk (%v), reported %d, gzip %d", f.Name, len(b), err, f.Size, f.Gzipped)
		}
		delete(want, f.Name)
	}
	if len(want) > 0 {
		t.Errorf("not written: %v", want)
	}
	if f := files[2]; f.Name != WasmFile || f.Gzipped >= f.Size {
		t.Errorf("the module's gzip size %d is not below its size %d", f.Gzipped, f.Size)
	}
}
