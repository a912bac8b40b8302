package browser

import (
	"bytes"
	"net/url"
	"strings"

	"golang.org/x/net/html"
)

// Subresource is something a page needs to be displayed: its stylesheet,
// its images, its scripts. A browser fetches them as soon as the page's
// tags name them, before the user clicks anything; links (<a href>) wait
// for a click and are not fetched.
type Subresource struct {
	Path string // the path on the same server: "/style.css"
	Rel  string // "stylesheet", "image", "script"
}

// subresources interprets the tags of an HTML page found at pagePath and
// returns the same-server resources it needs, in document order, each
// once. Resources on other servers are left out: this browser talks to
// one server.
func subresources(pagePath string, page []byte) []Subresource {
	base, err := url.Parse(pagePath)
	if err != nil {
		return nil
	}
	var out []Subresource
	seen := map[string]bool{}
	add := func(ref, rel string) {
		u, err := url.Parse(strings.TrimSpace(ref))
		if err != nil || ref == "" {
			return
		}
		r := base.ResolveReference(u)
		if r.Scheme != "" || r.Host != "" || seen[r.Path] {
			return
		}
		seen[r.Path] = true
		p := r.EscapedPath()
		if r.RawQuery != "" {
			p += "?" + r.RawQuery
		}
		out = append(out, Subresource{Path: p, Rel: rel})
	}
	z := html.NewTokenizer(bytes.NewReader(page))
	for {
		switch z.Next() {
		case html.ErrorToken:
			return out
		case html.StartTagToken, html.SelfClosingTagToken:
			name, hasAttr := z.TagName()
			attrs := map[string]string{}
			for hasAttr {
				var k, v []byte
				k, v, hasAttr = z.TagAttr()
				attrs[string(k)] = string(v)
			}
			switch string(name) {
			case "link":
				if strings.EqualFold(attrs["rel"], "stylesheet") {
					add(attrs["href"], "stylesheet")
				}
			case "img":
				add(attrs["src"], "image")
			case "script":
				if attrs["src"] != "" {
					add(attrs["src"], "script")
				}
			}
		}
	}
}
