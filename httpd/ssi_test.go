package httpd

import (
	"crypto/sha1"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func ssiSite(t *testing.T, files map[string]string) (*FileMapper, string) {
	t.Helper()
	root := t.TempDir()
	writeTree(t, root, files)
	users := filepath.Join(t.TempDir(), "users")
	sum := sha1.Sum([]byte("hunter2"))
	if err := os.WriteFile(users, []byte("bob:{SHA}"+base64.StdEncoding.EncodeToString(sum[:])+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	m := NewMapper(MapConfig{DocRoot: root, SSI: true, Locations: []Location{{Prefix: "/private", AuthUserFile: users}}}, nil)
	m.Now = func() time.Time { return time.Date(2025, 3, 4, 5, 6, 7, 0, time.FixedZone("KST", 9*3600)) }
	return m, root
}

func TestSSIEcho(t *testing.T) {
	m, root := ssiSite(t, map[string]string{
		"dir/page.shtml": `name=<!--#echo var="DOCUMENT_NAME" -->` +
			` uri=<!--#echo var="DOCUMENT_URI" -->` +
			` local=<!--#echo var="DATE_LOCAL" -->` +
			` gmt=<!--#echo var='DATE_GMT' -->` +
			` mod=<!--#echo var="LAST_MODIFIED" -->` +
			` addr=<!--#echo var="REMOTE_ADDR" -->` +
			` q=<!--#echo var="QUERY_STRING_UNESCAPED" -->` +
			` raw=<!--#echo encoding="none" var="QUERY_STRING_UNESCAPED" -->` +
			` ua=<!--#echo var="HTTP_USER_AGENT" -->` +
			` auth=<!--#echo var="HTTP_AUTHORIZATION" -->` +
			` none=<!--#echo var="NO_SUCH_VAR" -->` +
			` two=<!--#echo var="REQUEST_METHOD" var="SERVER_NAME" -->`,
	})
	mod := time.Date(2024, 12, 25, 10, 0, 0, 0, time.UTC)
	if err := os.Chtimes(filepath.Join(root, "dir/page.shtml"), mod, mod); err != nil {
		t.Fatal(err)
	}
	res := m.Map(newReq("GET", "/dir/page.shtml?x=%3Cscript%3E", "User-Agent: walker/1", "Authorization: Basic c2VjcmV0", "Host: example.org"))
	expect(t, res, 200, "ssi")
	want := "name=page.shtml uri=/dir/page.shtml" +
		" local=Tuesday, 04-Mar-2025 05:06:07 KST" +
		" gmt=Monday, 03-Mar-2025 20:06:07 UTC" +
		" mod=" + mod.Local().Format(ssiTimeFormat) +
		" addr=192.0.2.10" +
		" q=x=&lt;script&gt;" +
		" raw=x=<script>" +
		" ua=walker/1" +
		" auth=(none)" +
		" none=(none)" +
		" two=GETexample.org"
	if got := string(res.Content); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	if res.ContentType != "text/html; charset=utf-8" || !res.ModTime.IsZero() || res.File != "" {
		t.Errorf("type %q modtime %v file %q", res.ContentType, res.ModTime, res.File)
	}
}

func TestSSIInclude(t *testing.T) {
	m, _ := ssiSite(t, map[string]string{
		"page.shtml":         `A<!--#include virtual="/parts/head.html" -->B<!--#include virtual="parts/nested.shtml" -->C<!--#include file="parts/head.html" -->D`,
		"parts/head.html":    "[head]",
		"parts/nested.shtml": `(nested <!--#echo var="DOCUMENT_NAME" --> <!--#include virtual="leaf.txt" -->)`,
		"parts/leaf.txt":     "leaf",
		"private/secret.txt": "secret",
		"self.shtml":         `x<!--#include virtual="/self.shtml" -->`,
		"errors.shtml": `1<!--#include virtual="/missing.html" -->` +
			`2<!--#include virtual="/private/secret.txt" -->` +
			`3<!--#include file="../page.shtml" -->` +
			`4<!--#include file="/parts/head.html" -->` +
			`5<!--#exec cmd="id" -->` +
			`6<!--#echo encoding="base64" var="<X>" -->` +
			`7<!--#include virtual="http://example.org/" -->` +
			`8<!--#include virtual="/parts%2fhead.html" -->` +
			`9<!--#bogus -->` +
			`10<!--#config errmsg="[oops]" --><!--#include virtual="/nope" -->` +
			`11<!--#include virtual="/parts/../page.shtml" -->` +
			`12<!--#echo var="X`,
	})
	res := m.Map(newReq("GET", "/page.shtml"))
	if got, want := string(res.Content), "A[head]B(nested nested.shtml leaf)C[head]D"; got != want {
		t.Errorf("page.shtml: %q, want %q", got, want)
	}

	// Self-inclusion stops at the depth limit.
	got := string(m.Map(newReq("GET", "/self.shtml")).Content)
	if strings.Count(got, "x") != maxInternalDepth+1 || !strings.HasSuffix(got, ssiErrMsg) {
		t.Errorf("self.shtml: %q", got)
	}

	e := ssiErrMsg
	want := "1" + e + "2" + e + "3" + e + "4" + e + "5" + e + "6" + e + "(none)7" + e + "8" + e + "9" + e + "10[oops]11[oops]12[oops]"
	if got := string(m.Map(newReq("GET", "/errors.shtml")).Content); got != want {
		t.Errorf("errors.shtml:\n%s\nwant\n%s", got, want)
	}

	// Included resources pass the same access control: with the
	// credentials the include works.
	m2, _ := ssiSite(t, map[string]string{
		"p.shtml":            `<!--#include virtual="/private/secret.txt" -->`,
		"private/secret.txt": "secret",
	})
	if got := string(m2.Map(newReq("GET", "/p.shtml", basic("bob", "hunter2"))).Content); got != "secret" {
		t.Errorf("include with credentials: %q", got)
	}
}

func TestSSIOff(t *testing.T) {
	root := t.TempDir()
	writeTree(t, root, map[string]string{"p.shtml": `<!--#echo var="DATE_LOCAL" -->`})
	res := NewMapper(MapConfig{DocRoot: root}, nil).Map(newReq("GET", "/p.shtml"))
	expect(t, res, 200, "file")
	if body(t, res) != `<!--#echo var="DATE_LOCAL" -->` || res.ContentType != "text/html; charset=utf-8" {
		t.Errorf("SSI off: %q %q", body(t, res), res.ContentType)
	}
}

func TestParseSSIAttrs(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want [][2]string
		ok   bool
	}{
		{` var="A" `, [][2]string{{"var", "A"}}, true},
		{`VAR='a b' encoding=none`, [][2]string{{"var", "a b"}, {"encoding", "none"}}, true},
		{`var = "x"`, [][2]string{{"var", "x"}}, true},
		{``, nil, true},
		{`var="unterminated`, nil, false},
		{`novalue`, nil, false},
	} {
		got, ok := parseSSIAttrs(tc.in)
		if ok != tc.ok || len(got) != len(tc.want) {
			t.Errorf("%q: %v %v", tc.in, got, ok)
			continue
		}
		for i := range got {
			if got[i] != tc.want[i] {
				t.Errorf("%q: %v, want %v", tc.in, got, tc.want)
			}
		}
	}
}
