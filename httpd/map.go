package httpd

import (
	"errors"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

// map.go is step 4 of the seed's seven: map the request's URI to a
// resource. FileMapper applies Apache's rules in the order a request
// meets them; every decision is named in Resource.Reason so the step log
// can say why a request got the answer it got:
//
//	1 virtual host   Host header -> that host's DocumentRoot, else the default
//	  path safety    NUL, backslash, %2f, ".." refused before anything else
//	                 looks at the path ("path escape (...)", 403)
//	2 redirects      configured Redirect prefixes ("redirect", 301..308)
//	3 access         the longest matching Location: client address
//	                 ("address denied", 403), then Basic authentication
//	                 ("auth required", "auth failed", 401)
//	  ScriptAlias    a URL prefix whose files are all CGI programs
//	4 ~user          /~joe/x -> UserDirs["joe"]/public_html/x ("no such user", 404)
//	5 symlinks       a file whose real path leaves its tree ("path escape (symlink)", 403)
//	6 CGI            by extension, with PATH_INFO ("cgi", "cgi timeout" 504, ...)
//	7 directory      no slash -> "slash redirect" (301); index file
//	                 ("directory index"), "listing", or "directory forbidden" (403)
//	8 negotiation    hello.html -> hello.html.en | hello.html.ko ("negotiated")
//	9 SSI            .shtml ("ssi")
//	10 type          Content-Type: explicit > AddType > mime.types > magic
//	11 not found     ("not found", 404)
//
// A Reason is one name from the list above, "file", "hidden file",
// "method not allowed", "permission" or "bad path", sometimes followed by
// a detail in parentheses: "path escape (..)", "directory index
// (index.html)". Tools that check reasons compare the part before " (".
//
// Files and trees. The default docroot is either a real directory
// (MapConfig.DocRoot) or any fs.FS given to NewMapper, such as the
// embedded DemoSite. Virtual hosts, ~user trees and ScriptAlias
// directories are always real directories. A file in a real directory is
// handed to step 5 by its path (Resource.File), after its symlinks have
// been resolved and checked; a file in an fs.FS has no path step 5 could
// open, so its bytes are read here into Resource.Content (bounded by
// maxMemFileBytes). CGI needs a real program file, so it works only in
// real directories; in an fs.FS a CGI name is refused ("cgi unavailable").
//
// Error resources (4xx, 5xx) carry no body: step 5 writes the error page,
// as it does for the errors of steps 2 and 3.

const (
	// maxInternalDepth bounds nested internal requests: SSI includes of
	// includes and CGI local redirects.
	maxInternalDepth = 8
	// maxMemFileBytes bounds a file read into memory: a file of an fs.FS
	// tree, an SSI source, an included file.
	maxMemFileBytes = 32 << 20
)

// FileMapper is the Mapper of a configured server: docroots, virtual
// hosts, ~user trees, redirects, access control, CGI, SSI, listings and
// typing. It is safe for concurrent use; set its exported fields before
// the first Map.
type FileMapper struct {
	// Now is the clock that SSI's DATE_LOCAL and DATE_GMT read; nil
	// means time.Now. A simulation passes its virtual clock.
	Now func() time.Time
	// ServerSoftware is SERVER_SOFTWARE for CGI and SSI; "" means
	// "packetwalk-httpd". Set it to the Server header's value.
	ServerSoftware string
	// CGIStderr, if not nil, receives what each CGI program wrote to its
	// standard error (at most cgiMaxStderrBytes, in one Write), as
	// Apache sends it to the error log.
	CGIStderr io.Writer

	def        *docRoot            // nil when neither DocRoot nor an fs.FS was given
	vhosts     map[string]*docRoot // by lower-case host name
	vhostNames map[string]string   // lower-case -> name as configured
	users      map[string]string   // user -> home directory
	userDir    string
	redirects  []Redirect
	locations  []Location // longest prefix first
	aliases    []scriptAlias
	index      []string
	listings   bool
	ssi        bool
	cgiExt     map[string]bool   // ".cgi"
	types      map[string]string // AddType: ".foo" -> type
	explicit   map[string]string // URL path or "/dir/" -> type
	cgiTimeout time.Duration
}

type scriptAlias struct {
	prefix string // URL prefix without trailing slash ("/cgi-bin")
	dir    string
}

// NewMapper returns the mapper for cfg. root is the default docroot's
// tree: nil means the real directory cfg.DocRoot (CGI works there, and
// symlinks are checked against it); any other fs.FS (DemoSite(), an
// embed.FS) is served as the default docroot instead of cfg.DocRoot,
// without CGI. Virtual hosts and ~user trees are real directories.
func NewMapper(cfg MapConfig, root fs.FS) *FileMapper {
	m := &FileMapper{
		vhosts:     map[string]*docRoot{},
		vhostNames: map[string]string{},
		users:      cfg.UserDirs,
		userDir:    cfg.UserDir,
		index:      cfg.DirectoryIndex,
		listings:   cfg.Listings,
		ssi:        cfg.SSI,
		cgiExt:     map[string]bool{},
		types:      map[string]string{},
		explicit:   map[string]string{},
		cgiTimeout: cfg.CGITimeout,
	}
	switch {
	case root != nil:
		m.def = &docRoot{fsys: root}
	case cfg.DocRoot != "":
		m.def = &docRoot{dir: cfg.DocRoot}
	}
	for name, vh := range cfg.VHosts {
		key := hostKey(name)
		m.vhosts[key] = &docRoot{dir: vh.DocRoot}
		m.vhostNames[key] = name
	}
	if len(m.index) == 0 {
		m.index = []string{"index.html"}
	}
	if m.cgiTimeout <= 0 {
		m.cgiTimeout = defaultCGITimeout
	}
	for _, r := range cfg.Redirects {
		r.From = trimSlash(r.From)
		m.redirects = append(m.redirects, r)
	}
	for _, l := range cfg.Locations {
		l.Prefix = trimSlash(l.Prefix)
		m.locations = append(m.locations, l)
	}
	// The most specific Location decides, as a deeper <Location> section
	// overrides a shallower one in Apache.
	slices.SortStableFunc(m.locations, func(a, b Location) int { return len(b.Prefix) - len(a.Prefix) })
	for prefix, dir := range cfg.ScriptAliases {
		m.aliases = append(m.aliases, scriptAlias{trimSlash(prefix), dir})
	}
	slices.SortFunc(m.aliases, func(a, b scriptAlias) int {
		if len(a.prefix) != len(b.prefix) {
			return len(b.prefix) - len(a.prefix)
		}
		return strings.Compare(a.prefix, b.prefix)
	})
	for _, ext := range cfg.CGIExtensions {
		m.cgiExt[normExt(ext)] = true
	}
	for ext, typ := range cfg.Types {
		m.types[normExt(ext)] = typ
	}
	for p, typ := range cfg.ExplicitTypes {
		m.explicit[p] = typ
	}
	return m
}

// Map decides what answers req (step 4). It may run a CGI program or
// read files, but it never writes to the connection. Basic
// authentication sets req.User.
func (m *FileMapper) Map(req *Request) *Resource {
	return m.mapDepth(req, 0)
}

// mapDepth maps a request that is depth internal requests deep (0 for
// one from the wire, more for SSI includes and CGI local redirects).
func (m *FileMapper) mapDepth(req *Request, depth int) *Resource {
	// Rule 1: the virtual host chooses the docroot.
	root, vhost := m.def, ""
	if r, ok := m.vhosts[hostKey(req.Host)]; ok {
		root, vhost = r, m.vhostNames[hostKey(req.Host)]
	}
	res := m.mapIn(req, root, depth)
	res.VHost = vhost
	return res
}

func (m *FileMapper) mapIn(req *Request, root *docRoot, depth int) *Resource {
	// Path safety first: the access rules below match on the path, so
	// it must be the path the file system will see.
	upath, why := safePath(req.Path, req.Target)
	switch why {
	case "":
	case "bad path":
		return status(400, why)
	default:
		return status(403, "path escape ("+why+")")
	}
	if hiddenPath(upath) {
		return status(403, "hidden file")
	}

	// Rule 2: configured redirects.
	for _, r := range m.redirects {
		if rest, ok := underPrefix(upath, r.From); ok {
			return redirect(r.Status, joinURL(r.To, rest), req.RawQuery, "redirect")
		}
	}

	// Rule 3: access control.
	if loc := m.locationFor(upath); loc != nil {
		if res := m.checkAccess(req, loc); res != nil {
			return res
		}
	}

	// ScriptAlias: every file under the prefix is a program.
	for _, a := range m.aliases {
		if rest, ok := underPrefix(upath, a.prefix); ok {
			return m.scriptAliased(req, a, rest, root, depth)
		}
	}

	// Rule 4: ~user trees (when UserDir is set).
	base, rest := "", upath
	if strings.HasPrefix(upath, "/~") && m.userDir != "" {
		name, _, _ := strings.Cut(upath[2:], "/")
		home, ok := m.users[name]
		if !ok || name == "" {
			return status(404, "no such user")
		}
		root = &docRoot{dir: filepath.Join(home, m.userDir)}
		base = "/~" + name
		rest = strings.TrimPrefix(upath, base)
	}
	if root == nil {
		return status(404, "not found (no docroot)")
	}
	return m.serve(req, root, base, rest, depth)
}

// serve maps rest ("" or "/..."), a path inside root, whose URL is base+rest.
func (m *FileMapper) serve(req *Request, root *docRoot, base, rest string, depth int) *Resource {
	trailing := strings.HasSuffix(rest, "/")
	rel := relName(rest)
	info, real, err := root.stat(rel)
	if err != nil {
		if res := statError(err); res != nil {
			return res
		}
		// Not there: perhaps a CGI program with PATH_INFO after it, or a
		// name whose variants differ by language.
		if res := m.cgiWithPathInfo(req, root, base, rest, depth); res != nil {
			return res
		}
		if res := m.negotiate(req, root, base, rel, depth); res != nil {
			return res
		}
		return status(404, "not found")
	}
	if info.IsDir() {
		if !trailing {
			// Rule 7: the trailing-slash fix, so that relative links in
			// the index resolve inside the directory.
			return redirect(301, escapePath(base+rest+"/"), req.RawQuery, "slash redirect")
		}
		return m.directory(req, root, base, rel, real, depth)
	}
	if trailing {
		if m.isCGI(rel) {
			return m.runCGI(req, root, urlOf(base, rel), real, "/", depth)
		}
		return status(404, "not found (file with a trailing slash)")
	}
	return m.file(req, root, urlOf(base, rel), rel, info, real, depth)
}

// directory answers a path naming a directory with a trailing slash:
// the first DirectoryIndex file, else a listing, else 403.
func (m *FileMapper) directory(req *Request, root *docRoot, base, rel, real string, depth int) *Resource {
	for _, name := range m.index {
		irel := path.Join(rel, name)
		info, ireal, err := root.stat(irel)
		if err == nil && !info.IsDir() {
			res := m.file(req, root, urlOf(base, irel), irel, info, ireal, depth)
			if res.Reason == "file" {
				res.Reason = "directory index (" + name + ")"
			}
			return res
		}
		if err == nil {
			continue // a directory named like an index file
		}
		if res := statError(err); res != nil {
			return res
		}
		if res := m.negotiate(req, root, base, irel, depth); res != nil {
			return res
		}
	}
	if !m.listings {
		return status(403, "directory forbidden (no index, listings off)")
	}
	if req.Method == "OPTIONS" {
		return options(staticAllow)
	}
	if !getOrHead(req.Method) {
		return methodNotAllowed(staticAllow)
	}
	udir := urlOf(base, rel)
	if rel != "." {
		udir += "/"
	}
	return m.listing(root, udir, rel, real)
}

// file answers a regular file: CGI, SSI or static content.
func (m *FileMapper) file(req *Request, root *docRoot, upath, rel string, info fs.FileInfo, real string, depth int) *Resource {
	if m.isCGI(rel) {
		return m.runCGI(req, root, upath, real, "", depth)
	}
	if req.Method == "OPTIONS" {
		return options(staticAllow)
	}
	if !getOrHead(req.Method) {
		return methodNotAllowed(staticAllow)
	}
	name, lang := splitLang(path.Base(rel))
	if m.ssi && strings.EqualFold(path.Ext(name), ".shtml") {
		return m.include(req, root, upath, rel, real, info, depth)
	}
	res := &Resource{Status: 200, Reason: "file", ModTime: info.ModTime(), ContentLanguage: lang}
	head := lazyHead(real)
	if real != "" {
		res.File = real
	} else {
		data, err := root.readFile(rel, real, info)
		if err != nil {
			return status(500, "read error")
		}
		res.Content = data
		head = bytesHead(data)
	}
	res.ContentType = m.contentType(upath, name, head)
	return res
}

// A docRoot is one tree of documents: a real directory, or an fs.FS with
// no directory behind it.
type docRoot struct {
	dir  string // a real directory; "" when fsys is set
	fsys fs.FS
	// top caches dir's real path (a string, every symlink resolved) once
	// it has been resolved: resolving it on every request would cost an
	// lstat per component of the docroot's path, for every request, on
	// top of the file's own resolution. A failed resolution is
	// not cached, so a docroot created after start is found. The tree is
	// then the directory dir named when first used: replacing the docroot
	// symlink at run time needs a restart, as for Apache's DocumentRoot.
	top atomic.Pointer[string]
}

// errEscape says a name resolved, through symlinks, to a place outside
// its tree.
var errEscape = errors.New("symlink leads outside the document root")

// realTop returns dir's real path, resolved once (see docRoot.top).
func (r *docRoot) realTop() (string, error) {
	if top := r.top.Load(); top != nil {
		return *top, nil
	}
	top, err := filepath.EvalSymlinks(r.dir)
	if err != nil {
		return "", err
	}
	r.top.Store(&top)
	return top, nil
}

// stat describes the file rel ("." or "a/b") and, in a real directory,
// returns its real path with every symlink resolved — after checking
// that the real path is still inside the tree's own real path.
//
// The common case, no symlink on the way, costs one lstat per path
// component: each component is looked at with Lstat from the root's real
// path down, and if none is a symlink the joined path is already the
// real path and the last Lstat is the file's description. Only when a
// component is a symlink does stat resolve the whole path with
// filepath.EvalSymlinks and check that it stays inside the tree, so a
// symlink out is refused exactly as before. (A request path reaches here
// with "..", NUL, backslashes and %2f already refused by safePath; a
// "." or ".." that still turns up takes the slow path too.)
func (r *docRoot) stat(rel string) (info fs.FileInfo, real string, err error) {
	if r.dir == "" {
		info, err = fs.Stat(r.fsys, rel)
		return info, "", err
	}
	top, err := r.realTop()
	if err != nil {
		return nil, "", err
	}
	if rel == "." || rel == "" {
		info, err = os.Stat(top)
		return info, top, err
	}
	real = filepath.Join(top, filepath.FromSlash(rel))
	rest := rel
	cur := top
	for rest != "" {
		var name string
		name, rest, _ = strings.Cut(rest, "/")
		if name == "" || name == "." || name == ".." {
			return r.statResolved(top, real)
		}
		cur = filepath.Join(cur, name)
		info, err = os.Lstat(cur)
		if err != nil {
			return nil, "", err
		}
		if info.Mode()&fs.ModeSymlink != 0 {
			return r.statResolved(top, real)
		}
	}
	return info, real, nil
}

// statResolved is stat's slow path: resolve every symlink of path, then
// refuse a result outside top.
func (r *docRoot) statResolved(top, path string) (fs.FileInfo, string, error) {
	real, err := filepath.EvalSymlinks(path)
	if err != nil {
		return nil, "", err
	}
	if !inside(top, real) {
		return nil, "", errEscape
	}
	info, err := os.Stat(real)
	return info, real, err
}

// readDir lists the directory rel, whose real path (in a real tree) is real.
func (r *docRoot) readDir(rel, real string) ([]fs.DirEntry, error) {
	if r.dir == "" {
		return fs.ReadDir(r.fsys, rel)
	}
	return os.ReadDir(real)
}

// readFile reads the file rel, by its real path real in a real tree.
func (r *docRoot) readFile(rel, real string, info fs.FileInfo) ([]byte, error) {
	if info.Size() > maxMemFileBytes {
		return nil, errors.New("file too large to hold in memory")
	}
	if r.dir == "" {
		return fs.ReadFile(r.fsys, rel)
	}
	return os.ReadFile(real)
}

// inside reports whether real is top or below it; both are clean real paths.
func inside(top, real string) bool {
	if real == top {
		return true
	}
	if !strings.HasSuffix(top, string(filepath.Separator)) {
		top += string(filepath.Separator)
	}
	return strings.HasPrefix(real, top)
}

// statError turns a stat failure into a resource, or nil for "does not
// exist" (which the caller may still answer by CGI or negotiation).
func statError(err error) *Resource {
	switch {
	case errors.Is(err, errEscape):
		return status(403, "path escape (symlink)")
	case notExist(err):
		return nil
	case errors.Is(err, fs.ErrPermission):
		return status(403, "permission")
	case errors.Is(err, syscall.ELOOP), strings.Contains(err.Error(), "too many links"):
		return status(404, "not found (symlink loop)")
	}
	return status(404, "not found (unreadable)")
}

func notExist(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) || errors.Is(err, fs.ErrInvalid)
}

// safePath checks and cleans a decoded request path. It returns the
// clean path (with its trailing slash kept) or why it was refused: "..",
// "NUL", "backslash", "%2f" (an encoded slash in the raw target, which
// would let one segment pose as two, refused as by Apache's
// AllowEncodedSlashes Off), or "bad path" for a path that is not
// absolute. Every ".." segment is refused, not only those that climb
// above the root: a client that normalises its URLs (RFC 3986 §5.2.4)
// never sends one, so a ".." is a probe, and clean refusals teach better
// than silent rewriting.
func safePath(p, target string) (clean, why string) {
	if p == "" {
		p = "/"
	}
	if p[0] != '/' {
		return "", "bad path"
	}
	if strings.IndexByte(p, 0) >= 0 {
		return "", "NUL"
	}
	if strings.IndexByte(p, '\\') >= 0 {
		return "", "backslash"
	}
	rawPath, _, _ := strings.Cut(target, "?")
	if strings.Contains(strings.ToLower(rawPath), "%2f") {
		return "", "%2f"
	}
	for seg := range strings.SplitSeq(p, "/") {
		if seg == ".." {
			return "", ".."
		}
	}
	clean = path.Clean(p)
	if strings.HasSuffix(p, "/") && clean != "/" {
		clean += "/"
	}
	return clean, ""
}

// hiddenPath reports whether a segment names a server file such as
// .htpasswd or .htaccess, which Apache never serves.
func hiddenPath(p string) bool {
	for seg := range strings.SplitSeq(p, "/") {
		if strings.HasPrefix(seg, ".ht") {
			return true
		}
	}
	return false
}

// underPrefix reports whether URL path p lies at or below prefix (given
// without a trailing slash, "" for the root), segment by segment:
// "/private" covers "/private" and "/private/x" but not "/privateer". It
// returns the rest of p after the prefix ("", or starting with "/").
func underPrefix(p, prefix string) (rest string, ok bool) {
	if prefix == "" {
		return p, true
	}
	if p == prefix || strings.HasPrefix(p, prefix+"/") {
		return p[len(prefix):], true
	}
	return "", false
}

// trimSlash writes a URL prefix the way underPrefix wants it.
func trimSlash(p string) string {
	return strings.TrimRight(p, "/")
}

// hostKey is the name a Host header is looked up by: lower case, no
// port, no trailing dot.
func hostKey(h string) string {
	h = strings.ToLower(h)
	if strings.HasPrefix(h, "[") {
		if i := strings.IndexByte(h, ']'); i > 0 {
			return h[1:i]
		}
	}
	if i := strings.LastIndexByte(h, ':'); i >= 0 && strings.Count(h, ":") == 1 {
		h = h[:i]
	}
	return strings.TrimSuffix(h, ".")
}

// relName turns a URL rest ("", "/", "/a/b/") into an fs name ("." or "a/b").
func relName(rest string) string {
	rel := strings.Trim(rest, "/")
	if rel == "" {
		return "."
	}
	return rel
}

// urlOf is the URL path of rel inside a tree mounted at base.
func urlOf(base, rel string) string {
	if rel == "." {
		return base + "/"
	}
	return base + "/" + rel
}

// escapePath percent-encodes a decoded URL path for a Location header.
func escapePath(p string) string {
	return (&url.URL{Path: p}).EscapedPath()
}

// joinURL appends a decoded path rest to a redirect target.
func joinURL(to, rest string) string {
	if rest == "" {
		return to
	}
	if strings.HasSuffix(to, "/") {
		rest = strings.TrimPrefix(rest, "/")
	}
	return to + escapePath(rest)
}

// redirect builds a redirect resource; the query string travels along,
// as with Apache's Redirect.
func redirect(code int, loc, query, reason string) *Resource {
	switch code {
	case 301, 302, 303, 307, 308:
	default:
		code = 302
	}
	if query != "" {
		loc += "?" + query
	}
	return &Resource{Status: code, Reason: reason, Location: loc}
}

// status is a body-less resource; step 5 writes the error page.
func status(code int, reason string) *Resource {
	return &Resource{Status: code, Reason: reason}
}

// methodNotAllowed is the 405 of a resource that accepts allow; its
// Allow is the one OPTIONS shows for it (RFC 9110 §15.5.6).
func methodNotAllowed(allow string) *Resource {
	res := status(405, "method not allowed")
	res.Header = map[string][]string{"Allow": {allow}}
	return res
}

// options answers OPTIONS for a resource that accepts allow (RFC 9110
// §9.3.7): 204 with Allow, nothing run, nothing read.
func options(allow string) *Resource {
	return &Resource{Status: 204, Reason: "options", Header: map[string][]string{"Allow": {allow}}}
}

func getOrHead(method string) bool {
	return method == "GET" || method == "HEAD" || method == ""
}

// subRequest is an internal GET for target (a URL path with an optional
// query, already decoded by url.Parse): what SSI's include virtual and a
// CGI local redirect ask for. It keeps the client, its headers and its
// credentials, so access control applies to it as to the original.
func subRequest(req *Request, u *url.URL) *Request {
	sub := *req
	sub.Method = "GET"
	sub.Target = u.EscapedPath()
	if u.RawQuery != "" {
		sub.Target += "?" + u.RawQuery
	}
	sub.Path = u.Path
	sub.RawQuery = u.RawQuery
	sub.Body = nil
	return &sub
}
