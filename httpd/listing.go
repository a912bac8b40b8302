package httpd

import (
	"cmp"
	"fmt"
	"html"
	"io/fs"
	"net/url"
	"path"
	"slices"
	"strings"
	"time"
)

// listing.go is the automatic directory listing of rule 7 (Apache's
// mod_autoindex), built when a directory has no index file and
// MapConfig.Listings is on: an HTML table of the entries with their
// links, sizes and modification times (UTC), directories first, then by
// name, after a link to the parent directory. Names are HTML-escaped in
// the text and percent-encoded in the links (with a "./" in front, so
// that a name like "a:b" is not read as a URL scheme). Entries whose name
// starts with "." are left out, and so are symlinks that lead outside
// the tree or nowhere. At most maxListingEntries are listed.
//
// The seed's warning applies: a listing shows files nobody linked to.

const maxListingEntries = 10000

type listingRow struct {
	name string
	dir  bool
	size int64
	mod  time.Time
}

// listing lists the directory rel (real path real in a real tree), whose
// URL path is udir (ending in "/").
func (m *FileMapper) listing(root *docRoot, udir, rel, real string) *Resource {
	entries, err := root.readDir(rel, real)
	if err != nil {
		return status(403, "permission (unreadable directory)")
	}
	var rows []listingRow
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, ".") {
			continue
		}
		var info fs.FileInfo
		if e.Type()&fs.ModeSymlink != 0 {
			// Follow it, but only where it stays inside the tree.
			info, _, err = root.stat(path.Join(rel, name))
		} else {
			info, err = e.Info()
		}
		if err != nil {
			continue
		}
		rows = append(rows, listingRow{name, info.IsDir(), info.Size(), info.ModTime()})
	}
	slices.SortFunc(rows, func(a, b listingRow) int {
		if a.dir != b.dir {
			if a.dir {
				return -1
			}
			return 1
		}
		return cmp.Compare(a.name, b.name)
	})
	more := 0
	if len(rows) > maxListingEntries {
		rows, more = rows[:maxListingEntries], len(rows)-maxListingEntries
	}
	return &Resource{
		Status:      200,
		Reason:      "listing",
		Content:     listingHTML(udir, rows, more),
		ContentType: "text/html; charset=utf-8",
	}
}

func listingHTML(udir string, rows []listingRow, more int) []byte {
	var b strings.Builder
	title := html.EscapeString("Index of " + udir)
	fmt.Fprintf(&b, "<!DOCTYPE html>\n<html>\n<head>\n<meta charset=\"utf-8\">\n<title>%s</title>\n</head>\n<body>\n<h1>%s</h1>\n", title, title)
	b.WriteString("<table>\n<tr><th>Name</th><th>Last modified</th><th>Size</th></tr>\n")
	if udir != "/" {
		b.WriteString("<tr><td><a href=\"../\">Parent Directory</a></td><td></td><td>-</td></tr>\n")
	}
	for _, r := range rows {
		href, text, size := "./"+url.PathEscape(r.name), html.EscapeString(r.name), fmt.Sprint(r.size)
		if r.dir {
			href, text, size = href+"/", text+"/", "-"
		}
		mod := "-"
		if !r.mod.IsZero() {
			mod = r.mod.UTC().Format("2006-01-02 15:04")
		}
		fmt.Fprintf(&b, "<tr><td><a href=\"%s\">%s</a></td><td>%s</td><td>%s</td></tr>\n", html.EscapeString(href), text, mod, size)
	}
	b.WriteString("</table>\n")
	if more > 0 {
		fmt.Fprintf(&b, "<p>%d more entries not shown.</p>\n", more)
	}
	b.WriteString("</body>\n</html>\n")
	return []byte(b.String())
}
