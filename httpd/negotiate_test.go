package httpd

import "testing"

func TestChooseLanguage(t *testing.T) {
	for _, tc := range []struct {
		accept string
		langs  []string
		want   string
	}{
		{"", []string{"ko", "en"}, "en"},                               // no header: the default, English
		{"", []string{"ko", "de"}, "de"},                               // no English: the first by name
		{"ko", []string{"en", "ko"}, "ko"},                             // exact
		{"KO", []string{"en", "ko"}, "ko"},                             // case-insensitive
		{"ko-KR", []string{"en", "ko"}, "ko"},                          // no ko-kr: its prefix, as RFC 4647 lookup
		{"ko-KR, ko;q=0.9, en;q=0.8", []string{"en", "ko"}, "ko"},      // a browser's list
		{"en;q=0.8, ko;q=0.9", []string{"en", "ko"}, "ko"},             // q decides, not order
		{"ko, en", []string{"en", "ko"}, "ko"},                         // equal q: listed first wins
		{"en, ko", []string{"en", "ko"}, "en"},                         //
		{"fr", []string{"en", "ko"}, "en"},                             // nothing acceptable: the default, not 406
		{"fr, *;q=0.1", []string{"ko", "en"}, "en"},                    // wildcard: all equal, the default
		{"*", []string{"ko", "ja"}, "ja"},                              //
		{"*, en;q=0", []string{"en", "ko"}, "ko"},                      // q=0 excludes
		{"en;q=0, ko;q=0", []string{"en", "ko"}, "en"},                 // all excluded: the default anyway
		{"en", []string{"en-us", "ko"}, "en-us"},                       // range "en" matches tag en-us
		{"en-gb;q=0.9, ko;q=0.5", []string{"en", "ko"}, "ko"},          // ko matches directly; en-gb only by prefix
		{"en-gb", []string{"en-us", "ko"}, "en-us"},                    // fallback: "en" matches en-us
		{"zh-TW, zh;q=0.5", []string{"zh-cn", "zh-tw", "en"}, "zh-tw"}, // most specific range
		{"ko;q=abc, en;q=0.1", []string{"en", "ko"}, "en"},             // malformed entry skipped
		{"ko;q=2", []string{"en", "ko"}, "en"},                         // q out of range skipped
		{" , ko ; q=0.7 ,", []string{"en", "ko"}, "ko"},                // stray commas and spaces
	} {
		if got := chooseLanguage(tc.accept, tc.langs); got != tc.want {
			t.Errorf("chooseLanguage(%q, %v) = %q, want %q", tc.accept, tc.langs, got, tc.want)
		}
	}
}

func TestSplitLang(t *testing.T) {
	for _, tc := range []struct{ name, base, lang string }{
		{"hello.html.en", "hello.html", "en"},
		{"hello.html.ko", "hello.html", "ko"},
		{"index.html.zh-TW", "index.html", "zh-tw"},
		{"hello.html", "hello.html", ""},
		{"main.go", "main.go", ""},       // not a language we know
		{"lib.rs", "lib.rs", ""},         //
		{"paper.ps", "paper.ps", ""},     // Pashto, but mime.types knows .ps
		{"archive.gz", "archive.gz", ""}, // mime.types
		{".en", ".en", ""},               // a dot file, not a variant
		{"x.en-a-b", "x.en-a-b", ""},     // too many subtags
		{"readme.de", "readme", "de"},
	} {
		base, lang := splitLang(tc.name)
		if base != tc.base || lang != tc.lang {
			t.Errorf("splitLang(%q) = %q, %q; want %q, %q", tc.name, base, lang, tc.base, tc.lang)
		}
	}
}

func TestMapNegotiation(t *testing.T) {
	root := t.TempDir()
	writeTree(t, root, map[string]string{
		"hello.html.en": "hello", "hello.html.ko": "안녕", "hello.html.fr": "bonjour",
		"docs/index.html.en": "index en", "docs/index.html.ko": "index ko",
		"tw/page.html.zh-TW": "zh-TW", "tw/page.html.EN": "EN",
		"only.txt.ko": "ko only",
		"page.html":   "plain", "page.html.ko": "not used: page.html exists",
		"main.go": "package main", // not a variant of "main"
	})
	m := NewMapper(MapConfig{DocRoot: root}, nil)
	for _, tc := range []struct{ target, accept, body, lang string }{
		{"/hello.html", "", "hello", "en"},
		{"/hello.html", "ko-KR,ko;q=0.9,en-US;q=0.8,en;q=0.7", "안녕", "ko"},
		{"/hello.html", "fr;q=0.5, en;q=0.4", "bonjour", "fr"},
		{"/hello.html", "de", "hello", "en"},
		{"/docs/", "ko", "index ko", "ko"},
		{"/docs/", "", "index en", "en"},
		{"/only.txt", "en", "ko only", "ko"},
		{"/page.html", "ko", "plain", ""},
		{"/tw/page.html", "zh-tw", "zh-TW", "zh-tw"}, // the file's own spelling is found
		{"/tw/page.html", "", "EN", "en"},
	} {
		req := newReq("GET", tc.target)
		if tc.accept != "" {
			req.Header.Set("Accept-Language", tc.accept)
		}
		res := m.Map(req)
		if res.Status != 200 || body(t, res) != tc.body || res.ContentLanguage != tc.lang {
			t.Errorf("%s [%s]: %d %q %q lang %q; want %q %q", tc.target, tc.accept, res.Status, res.Reason, body(t, res), res.ContentLanguage, tc.body, tc.lang)
			continue
		}
		if tc.lang != "" {
			if res.Header.Get("Vary") != "Accept-Language" || reasonName(res.Reason) != "negotiated" {
				t.Errorf("%s: Vary %q, Reason %q", tc.target, res.Header.Get("Vary"), res.Reason)
			}
			if res.ContentType != "text/html; charset=utf-8" && res.ContentType != "text/plain; charset=utf-8" {
				t.Errorf("%s: type %q", tc.target, res.ContentType)
			}
		}
	}
	// Several Accept-Language lines count as one list.
	req := newReq("GET", "/hello.html", "Accept-Language: de", "Accept-Language: ko")
	if lang := m.Map(req).ContentLanguage; lang != "ko" {
		t.Errorf("two header lines: %q", lang)
	}
	expect(t, m.Map(newReq("GET", "/main")), 404, "not found")
	expect(t, m.Map(newReq("GET", "/nothing.html")), 404, "not found")
}
