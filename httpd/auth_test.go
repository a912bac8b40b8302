package httpd

import (
	"crypto/sha1"
	"encoding/base64"
	"net/netip"
	"path/filepath"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

func basic(user, pass string) string {
	return "Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
}

// authSite is a docroot with /private (bcrypt, {SHA} and a plain-text
// entry), /private/open (no rules of its own: the longest prefix wins),
// /lan (by address) and /broken (a missing password file).
func authSite(t *testing.T) *FileMapper {
	t.Helper()
	root := t.TempDir()
	hash, err := bcrypt.GenerateFromPassword([]byte("s3cret"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha1.Sum([]byte("hunter2"))
	// htpasswd -B makes $2y$; Go's bcrypt writes $2a$: the same algorithm.
	y := "$2y$" + string(hash[4:])
	writeTree(t, root, map[string]string{
		"private/index.html":      "members only",
		"private/open/index.html": "open",
		"lan/index.html":          "lan",
		"broken/x.html":           "x",
		"pub.html":                "public",
	})
	users := filepath.Join(t.TempDir(), ".htpasswd")
	writeTree(t, filepath.Dir(users), map[string]string{".htpasswd": "# users\n" +
		"alice:" + string(hash) + "\n" +
		"yves:" + y + "\n" +
		"bob:{SHA}" + base64.StdEncoding.EncodeToString(sum[:]) + "\n" +
		"carol:plaintext\n" +
		"dave:$apr1$abcdefgh$0123456789abcdefghijk/\n"})
	return NewMapper(MapConfig{DocRoot: root, Locations: []Location{
		{Prefix: "/private/", AuthUserFile: users, Realm: `Members "only"`},
		{Prefix: "/private/open"},
		{Prefix: "/lan", Allow: []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")}, Deny: []netip.Prefix{netip.MustParsePrefix("192.0.2.66/32")}},
		{Prefix: "/broken", AuthUserFile: filepath.Join(root, "missing")},
	}}, nil)
}

func TestBasicAuth(t *testing.T) {
	m := authSite(t)
	for _, tc := range []struct {
		name, auth string
		status     int
		reason     string
		user       string
	}{
		{"bcrypt ok", basic("alice", "s3cret"), 200, "directory index", "alice"},
		{"bcrypt $2y$ ok", basic("yves", "s3cret"), 200, "directory index", "yves"},
		{"{SHA} ok", basic("bob", "hunter2"), 200, "directory index", "bob"},
		{"bcrypt wrong", basic("alice", "guess"), 401, "auth failed", ""},
		{"{SHA} wrong", basic("bob", "hunter3"), 401, "auth failed", ""},
		{"plain text refused", basic("carol", "plaintext"), 401, "auth failed", ""},
		{"apr1 refused", basic("dave", "x"), 401, "auth failed", ""},
		{"unknown user", basic("mallory", "s3cret"), 401, "auth failed", ""},
		{"missing", "", 401, "auth required", ""},
		{"other scheme", "Authorization: Bearer abc", 401, "auth required", ""},
		{"bad base64", "Authorization: Basic !!!", 401, "auth required", ""},
		{"no colon", "Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte("alice")), 401, "auth required", ""},
		{"scheme case", "Authorization: basic " + base64.StdEncoding.EncodeToString([]byte("alice:s3cret")), 200, "directory index", "alice"},
	} {
		var headers []string
		if tc.auth != "" {
			headers = append(headers, tc.auth)
		}
		req := newReq("GET", "/private/", headers...)
		res := m.Map(req)
		if res.Status != tc.status || reasonName(res.Reason) != tc.reason || req.User != tc.user {
			t.Errorf("%s: %d %q user %q; want %d %q %q", tc.name, res.Status, res.Reason, req.User, tc.status, tc.reason, tc.user)
		}
		if res.Status == 401 {
			if got, want := res.Header.Get("WWW-Authenticate"), `Basic realm="Members \"only\"", charset="UTF-8"`; got != want {
				t.Errorf("%s: WWW-Authenticate %q, want %q", tc.name, got, want)
			}
		}
	}
	// Authentication comes before the trailing-slash redirect, so the
	// redirect does not reveal what the directory holds.
	expect(t, m.Map(newReq("GET", "/private")), 401, "auth required")
	// The deeper Location, without rules, opens its subtree.
	expect(t, m.Map(newReq("GET", "/private/open/")), 200, "directory index")
	expect(t, m.Map(newReq("GET", "/pub.html")), 200, "file")
	expect(t, m.Map(newReq("GET", "/broken/x.html", basic("alice", "s3cret"))), 500, "auth file error")
	// Dot segments cannot walk around a Location.
	expect(t, m.Map(newReq("GET", "/private/open/../index.html")), 403, "path escape")
}

func TestAddressAccess(t *testing.T) {
	m := authSite(t)
	for _, tc := range []struct {
		addr   string
		status int
	}{
		{"192.0.2.10:1234", 200},
		{"[::ffff:192.0.2.10]:1234", 200}, // IPv4-mapped IPv6 counts as IPv4
		{"192.0.2.66:1234", 403},          // Deny beats Allow
		{"198.51.100.7:1234", 403},        // not in Allow
		{"[2001:db8::1]:1234", 403},
	} {
		req := newReq("GET", "/lan/")
		req.RemoteAddr = netip.MustParseAddrPort(tc.addr)
		res := m.Map(req)
		if res.Status != tc.status {
			t.Errorf("%s: %d %q, want %d", tc.addr, res.Status, res.Reason, tc.status)
		}
		if res.Status == 403 && reasonName(res.Reason) != "address denied" {
			t.Errorf("%s: reason %q", tc.addr, res.Reason)
		}
	}
	req := newReq("GET", "/lan/")
	req.RemoteAddr = netip.AddrPort{}
	expect(t, m.Map(req), 403, "address denied")
}

func TestCheckPassword(t *testing.T) {
	sum := sha1.Sum([]byte("pw"))
	sha := "{SHA}" + base64.StdEncoding.EncodeToString(sum[:])
	for _, tc := range []struct {
		hash, pass string
		ok         bool
	}{
		{sha, "pw", true}, {sha, "PW", false}, {"{SHA}", "", false},
		{"pw", "pw", false}, {"", "", false}, {"$1$salt$hash", "pw", false},
		{"$2b$04$invalid", "pw", false},
	} {
		if got := checkPassword(tc.hash, tc.pass); got != tc.ok {
			t.Errorf("checkPassword(%q, %q) = %v", tc.hash, tc.pass, got)
		}
	}
}
