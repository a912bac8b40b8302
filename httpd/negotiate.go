package httpd

import (
	"cmp"
	"path"
	"slices"
	"strconv"
	"strings"
)

// negotiate.go is rule 8, content negotiation by language (RFC 9110
// §12.5.4), the way Apache's MultiViews does it: a request for
// /hello.html, where no such file exists but hello.html.en and
// hello.html.ko do, gets the variant whose language the client's
// Accept-Language prefers. The response carries Content-Language and
// "Vary: Accept-Language", so caches keep one copy per language.
//
// Matching follows RFC 4647 §3.3.1 basic filtering: a range matches a
// tag equal to it or starting with it and "-" ("en" matches "en-gb"),
// "*" matches any, and the longest matching range gives the quality.
// Ties go to the range listed first. If nothing is acceptable, a range's
// prefix is tried ("en-gb" finds "en", as RFC 4647 lookup does), and
// then the default variant is sent rather than 406: English if there is
// one, else the first by name (Apache's ForceLanguagePriority Fallback).

// variantLangs are the language extensions that make a file a variant:
// those Apache's default httpd.conf declares with AddLanguage, and a few
// more. A fixed list keeps "main.go" or "lib.rs" from being taken for
// variants in languages "go" and "rs"; an extension that mime.types
// knows never counts ("cs" is Czech here, not C#, as in Apache).
var variantLangs = map[string]bool{
	"ar": true, "bg": true, "ca": true, "cs": true, "da": true, "de": true, "el": true,
	"en": true, "eo": true, "es": true, "et": true, "fa": true, "fi": true, "fr": true,
	"he": true, "hi": true, "hr": true, "hu": true, "id": true, "it": true, "ja": true,
	"ko": true, "lt": true, "ltz": true, "lv": true, "nl": true, "nn": true, "no": true,
	"pl": true, "pt": true, "ro": true, "ru": true, "sk": true, "sl": true, "sr": true,
	"sv": true, "th": true, "tr": true, "uk": true, "vi": true, "zh": true,
}

// splitLang splits a language extension off a file name:
// "hello.html.ko" -> ("hello.html", "ko"), "index.html.zh-tw" ->
// ("index.html", "zh-tw"), "logo.png" -> ("logo.png", "").
func splitLang(name string) (base, lang string) {
	ext := path.Ext(name)
	stem := strings.TrimSuffix(name, ext)
	if ext == "" || stem == "" || knownExt(ext) {
		return name, ""
	}
	tag := strings.ToLower(ext[1:])
	primary, region, _ := strings.Cut(tag, "-")
	if !variantLangs[primary] || strings.Contains(region, "-") || len(region) > 8 {
		return name, ""
	}
	return stem, tag
}

// negotiate answers rel, a name that does not exist, by one of its
// language variants; nil if it has none.
func (m *FileMapper) negotiate(req *Request, root *docRoot, base, rel string, depth int) *Resource {
	dir, name := path.Dir(rel), path.Base(rel)
	dinfo, dreal, err := root.stat(dir)
	if err != nil || !dinfo.IsDir() {
		return nil
	}
	entries, err := root.readDir(dir, dreal)
	if err != nil {
		return nil
	}
	files := map[string]string{} // language -> file name
	var langs []string
	for _, e := range entries {
		if stem, lang := splitLang(e.Name()); lang != "" && stem == name && files[lang] == "" {
			files[lang] = e.Name()
			langs = append(langs, lang)
		}
	}
	if len(langs) == 0 {
		return nil
	}
	accept := strings.Join(req.Header.Values("Accept-Language"), ",")
	lang := chooseLanguage(accept, langs)
	vrel := path.Join(dir, files[lang])
	info, real, err := root.stat(vrel)
	if err != nil {
		if res := statError(err); res != nil {
			return res
		}
		return status(404, "not found")
	}
	if info.IsDir() {
		return status(404, "not found (variant is a directory)")
	}
	res := m.file(req, root, urlOf(base, rel), vrel, info, real, depth)
	if res.Header == nil {
		res.Header = map[string][]string{}
	}
	res.Header.Add("Vary", "Accept-Language")
	if res.Reason == "file" {
		res.Reason = "negotiated (" + lang + ")"
	}
	return res
}

// langRange is one entry of Accept-Language.
type langRange struct {
	tag string  // lower case; "*" for any
	q   float64 // 0..1
	pos int     // position in the header, for ties
}

// parseAcceptLanguage reads an Accept-Language value; malformed entries
// are skipped.
func parseAcceptLanguage(v string) []langRange {
	var out []langRange
	for i, part := range strings.Split(v, ",") {
		tag, params, _ := strings.Cut(part, ";")
		tag = strings.ToLower(strings.TrimSpace(tag))
		if tag == "" {
			continue
		}
		q := 1.0
		ok := true
		for p := range strings.SplitSeq(params, ";") {
			k, val, _ := strings.Cut(strings.TrimSpace(p), "=")
			if strings.EqualFold(strings.TrimSpace(k), "q") {
				f, err := strconv.ParseFloat(strings.TrimSpace(val), 64)
				if err != nil || f < 0 || f > 1 {
					ok = false
				}
				q = f
			}
		}
		if ok {
			out = append(out, langRange{tag, q, i})
		}
	}
	return out
}

// rangeMatches is RFC 4647 basic filtering.
func rangeMatches(r, tag string) bool {
	return r == "*" || r == tag || strings.HasPrefix(tag, r+"-")
}

// chooseLanguage picks one of langs (lower case, at least one) for an
// Accept-Language value.
func chooseLanguage(accept string, langs []string) string {
	langs = slices.Clone(langs)
	slices.Sort(langs)
	def := langs[0]
	if slices.Contains(langs, "en") {
		def = "en"
	}
	ranges := parseAcceptLanguage(accept)
	if len(ranges) == 0 {
		return def
	}
	best, bestQ, bestPos := "", 0.0, 0
	for _, lang := range langs {
		// The longest matching range gives this variant its quality.
		var match *langRange
		for i := range ranges {
			r := &ranges[i]
			if rangeMatches(r.tag, lang) && (match == nil || specificity(r.tag) > specificity(match.tag)) {
				match = r
			}
		}
		if match == nil || match.q <= 0 {
			continue
		}
		better := match.q > bestQ || (match.q == bestQ && match.pos < bestPos) ||
			(match.q == bestQ && match.pos == bestPos && lang == def)
		if best == "" || better {
			best, bestQ, bestPos = lang, match.q, match.pos
		}
	}
	if best != "" {
		return best
	}
	// Nothing matched: try each range's prefixes, most preferred first.
	ordered := slices.Clone(ranges)
	slices.SortStableFunc(ordered, func(a, b langRange) int { return cmp.Compare(b.q, a.q) })
	for _, r := range ordered {
		if r.q <= 0 || r.tag == "*" {
			continue
		}
		for t := r.tag; strings.Contains(t, "-"); {
			t = t[:strings.LastIndexByte(t, '-')]
			for _, lang := range langs {
				if rangeMatches(t, lang) {
					return lang
				}
			}
		}
	}
	return def
}

// specificity orders ranges: "*" below any tag, longer tags above shorter.
func specificity(tag string) int {
	if tag == "*" {
		return 0
	}
	return len(tag)
}
