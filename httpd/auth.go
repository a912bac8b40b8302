package httpd

import (
	"bufio"
	"bytes"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/base64"
	"io"
	"os"
	"strings"

	"golang.org/x/crypto/bcrypt"
)

// auth.go is rule 3, access control, by the most specific Location
// whose prefix covers the request's path:
//
//  1. the client's address: a match in Deny, or no match in a non-empty
//     Allow, refuses it (403 "address denied");
//  2. HTTP Basic authentication (RFC 7617) against an htpasswd file:
//     no credentials -> 401 "auth required", wrong ones -> 401 "auth
//     failed", both with WWW-Authenticate: Basic realm="...". A good
//     pair sets Request.User (REMOTE_USER for CGI, the log's user).
//
// Password hashes: bcrypt ("$2y$", "$2a$", "$2b$", made by htpasswd -B)
// and "{SHA}" (base64 of SHA-1, htpasswd -s; weak, unsalted, accepted
// for old files). Anything else, plain text, crypt(3) or APR1-MD5
// ("$apr1$", htpasswd's historical default), never matches: rehash with
// htpasswd -B. The file is read on every check, so edits apply at once,
// and it is bounded at maxHtpasswdBytes.

const maxHtpasswdBytes = 1 << 20

// dummyHash is compared against when the user does not exist, so that a
// wrong name costs as long as a wrong password and timing does not tell
// which names exist.
const dummyHash = "$2a$10$YklpzzZNP8jeuuW6esJ18OWXeNJExtMSEghO/SwvZhdmMUzAf4iQi"

// locationFor returns the most specific Location covering upath, or nil.
func (m *FileMapper) locationFor(upath string) *Location {
	for i := range m.locations {
		if _, ok := underPrefix(upath, m.locations[i].Prefix); ok {
			return &m.locations[i]
		}
	}
	return nil
}

// checkAccess applies loc to req: nil lets it through.
func (m *FileMapper) checkAccess(req *Request, loc *Location) *Resource {
	addr := req.RemoteAddr.Addr().Unmap()
	for _, p := range loc.Deny {
		if addr.IsValid() && p.Contains(addr) {
			return status(403, "address denied ("+addr.String()+" in "+p.String()+")")
		}
	}
	if len(loc.Allow) > 0 {
		allowed := false
		for _, p := range loc.Allow {
			allowed = allowed || (addr.IsValid() && p.Contains(addr))
		}
		if !allowed {
			return status(403, "address denied ("+addr.String()+" not allowed)")
		}
	}
	if loc.AuthUserFile == "" {
		return nil
	}
	user, pass, ok := parseBasic(req.Header.Get("Authorization"))
	if !ok {
		return challenge(loc, "auth required")
	}
	users, err := readHtpasswd(loc.AuthUserFile)
	if err != nil {
		return status(500, "auth file error")
	}
	if !checkPassword(users[user], pass) {
		return challenge(loc, "auth failed ("+user+")")
	}
	req.User = user
	return nil
}

// challenge is a 401 that tells the client which credentials to send.
func challenge(loc *Location, reason string) *Resource {
	realm := loc.Realm
	if realm == "" {
		realm = "restricted"
	}
	res := status(401, reason)
	res.Header = map[string][]string{
		"Www-Authenticate": {`Basic realm="` + quoteEscape(realm) + `", charset="UTF-8"`},
	}
	return res
}

// quoteEscape escapes a string for an HTTP quoted-string.
func quoteEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\r", "", "\n", "").Replace(s)
}

// parseBasic decodes "Basic base64(user:password)" (RFC 7617 §2).
func parseBasic(h string) (user, pass string, ok bool) {
	scheme, cred, found := strings.Cut(strings.TrimSpace(h), " ")
	if !found || !strings.EqualFold(scheme, "Basic") {
		return "", "", false
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(cred))
	if err != nil {
		return "", "", false
	}
	user, pass, ok = strings.Cut(string(raw), ":")
	return user, pass, ok
}

// readHtpasswd reads "user:hash" lines; '#' lines and blank ones are skipped.
func readHtpasswd(name string) (map[string]string, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxHtpasswdBytes))
	if err != nil {
		return nil, err
	}
	users := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if user, hash, ok := strings.Cut(line, ":"); ok {
			users[user] = hash
		}
	}
	return users, sc.Err()
}

// checkPassword compares pass with an htpasswd hash ("" for no such user).
func checkPassword(hash, pass string) bool {
	switch {
	case strings.HasPrefix(hash, "$2y$"), strings.HasPrefix(hash, "$2a$"), strings.HasPrefix(hash, "$2b$"):
		return bcrypt.CompareHashAndPassword([]byte(hash), []byte(pass)) == nil
	case strings.HasPrefix(hash, "{SHA}"):
		sum := sha1.Sum([]byte(pass))
		want := base64.StdEncoding.EncodeToString(sum[:])
		return subtle.ConstantTimeCompare([]byte(hash[len("{SHA}"):]), []byte(want)) == 1
	case hash == "":
		_ = bcrypt.CompareHashAndPassword([]byte(dummyHash), []byte(pass))
	}
	return false
}
