package httpd

import (
	"os"
	"path/filepath"
	"testing"
)

// TestMapSymlinkCheckPerRequest checks what docRoot.stat's fast path
// must keep: only the docroot's real path is resolved once; every
// request still looks at each component of its own path, so a file
// replaced by a symlink out after it was served is refused on the next
// request, a symlinked directory inside the tree still works, and a
// docroot that did not exist at the first request is found later.
func TestMapSymlinkCheckPerRequest(t *testing.T) {
	parent := t.TempDir()
	root := filepath.Join(parent, "www")
	writeTree(t, parent, map[string]string{"secret.txt": "secret", "www/a.txt": "a", "www/sub/b.txt": "b"})
	if err := os.Symlink("sub", filepath.Join(root, "subl")); err != nil {
		t.Skip("cannot create symlinks here:", err)
	}
	m := NewMapper(MapConfig{DocRoot: root}, nil)
	expect(t, m.Map(newReq("GET", "/a.txt")), 200, "file")
	expect(t, m.Map(newReq("GET", "/subl/b.txt")), 200, "file")

	// a.txt becomes a symlink to a file outside the tree.
	if err := os.Remove(filepath.Join(root, "a.txt")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../secret.txt", filepath.Join(root, "a.txt")); err != nil {
		t.Fatal(err)
	}
	expect(t, m.Map(newReq("GET", "/a.txt")), 403, "path escape")

	// sub becomes a symlink to a directory outside the tree.
	if err := os.Rename(filepath.Join(root, "sub"), filepath.Join(parent, "sub")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../sub", filepath.Join(root, "sub")); err != nil {
		t.Fatal(err)
	}
	expect(t, m.Map(newReq("GET", "/sub/b.txt")), 403, "path escape")
	expect(t, m.Map(newReq("GET", "/subl/b.txt")), 403, "path escape")

	// A docroot missing at the first request is found once it exists.
	late := filepath.Join(parent, "late")
	m2 := NewMapper(MapConfig{DocRoot: late}, nil)
	expect(t, m2.Map(newReq("GET", "/x.txt")), 404, "not found")
	writeTree(t, parent, map[string]string{"late/x.txt": "x"})
	expect(t, m2.Map(newReq("GET", "/x.txt")), 200, "file")
}
