package scenario

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse: whatever the bytes, Parse returns a scenario or an error,
// never panics; ParseAnswers likewise.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("../[0-9][0-9]-*/*.yaml")
	files = append(files, "testdata/gvisor.yaml")
	for _, name := range files {
		if b, err := os.ReadFile(name); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(base + "traffic:\n  - frame: {wire: lan, dst: b, ip: {src: a, dst: b}, tcp: {src_port: 70000, flags: S}, payload: \"100KiB\"}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		sc, err := Parse("fuzz.yaml", data)
		if err == nil && sc == nil {
			t.Fatal("no scenario and no error")
		}
		ParseAnswers("fuzz.yaml", data)
	})
}
