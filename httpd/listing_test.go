package httpd

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestListing(t *testing.T) {
	root := t.TempDir()
	writeTree(t, root, map[string]string{
		"files/b.txt":           "bbbb",
		"files/a b.txt":         "a",
		"files/<b>&amp;.html":   "<x>",
		"files/a:b":             "colon",
		"files/zdir/":           "",
		"files/adir/x":          "",
		"files/.hidden":         "h",
		"files/.htpasswd":       "u:h",
		"files/100%.txt":        "pct",
		"files/quote\"'.txt":    "q",
		"files/한글.txt":          "ko",
		"files/adir/inner.html": "", // a directory with a file, still listed as a directory
	})
	when := time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
	for _, name := range []string{"b.txt", "adir"} {
		if err := os.Chtimes(filepath.Join(root, "files", name), when, when); err != nil {
			t.Fatal(err)
		}
	}
	m := NewMapper(MapConfig{DocRoot: root, Listings: true}, nil)
	res := m.Map(newReq("GET", "/files/"))
	expect(t, res, 200, "listing")
	if res.ContentType != "text/html; charset=utf-8" || !res.ModTime.IsZero() {
		t.Errorf("type %q modtime %v", res.ContentType, res.ModTime)
	}
	page := string(res.Content)
	for _, want := range []string{
		"<title>Index of /files/</title>",
		"<h1>Index of /files/</h1>",
		`<tr><td><a href="../">Parent Directory</a></td>`,
		`<tr><td><a href="./adir/">adir/</a></td><td>2024-05-06 07:08</td><td>-</td></tr>`,
		`<tr><td><a href="./b.txt">b.txt</a></td><td>2024-05-06 07:08</td><td>4</td></tr>`,
		`<a href="./a%20b.txt">a b.txt</a>`,
		`<a href="./%3Cb%3E&amp;amp%3B.html">&lt;b&gt;&amp;amp;.html</a>`,
		`<a href="./a:b">a:b</a>`,
		`<a href="./100%25.txt">100%.txt</a>`,
		`<a href="./quote%22%27.txt">quote&#34;&#39;.txt</a>`,
		`<a href="./%ED%95%9C%EA%B8%80.txt">한글.txt</a>`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("listing lacks %s", want)
		}
	}
	for _, hidden := range []string{".hidden", ".htpasswd"} {
		if strings.Contains(page, hidden) {
			t.Errorf("listing shows %s", hidden)
		}
	}
	// Directories first, then files, each by name.
	order := []string{">adir/<", ">zdir/<", ">100%.txt<", ">&lt;b&gt;", ">a b.txt<", ">a:b<", ">b.txt<", ">quote", ">한글.txt<"}
	last := -1
	for _, name := range order {
		i := strings.Index(page, name)
		if i < last {
			t.Errorf("%s out of order:\n%s", name, page)
		}
		last = i
	}

	// The root has no parent link; a listing of an fs.FS works the same.
	res = m.Map(newReq("GET", "/"))
	if strings.Contains(string(res.Content), "Parent Directory") {
		t.Error("root listing has a parent link")
	}
	res = NewMapper(MapConfig{Listings: true}, DemoSite()).Map(newReq("GET", "/pub/"))
	for _, want := range []string{`<a href="./notes">notes</a></td><td>2025-01-01 00:00</td><td>`, `<a href="../">`} {
		if !strings.Contains(string(res.Content), want) {
			t.Errorf("demo listing lacks %s:\n%s", want, res.Content)
		}
	}
}

func TestListingLimit(t *testing.T) {
	rows := make([]listingRow, 3)
	page := string(listingHTML("/x/", rows[:1], 2))
	if !strings.Contains(page, "<p>2 more entries not shown.</p>") {
		t.Errorf("no note of the cut:\n%s", page)
	}
	if strings.Contains(page, "2024") || !strings.Contains(page, "<td>-</td><td>0</td>") {
		t.Errorf("a zero time is shown as -:\n%s", page)
	}
}
