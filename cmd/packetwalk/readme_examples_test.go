package main

import (
	"strings"
	"testing"
)

// TestREADMEServeExamples runs the README's serve examples as written,
// from the repository's root on a fresh clone: the config file
// (examples/httpd.conf: SSI, a redirect, a user directory, Basic
// authentication, a denied location, CGI, two virtual hosts) and the
// --docroot/--vhost command line. Every folder they name is in examples/.
func TestREADMEServeExamples(t *testing.T) {
	t.Chdir("../..")
	s := startServe(t, "--config", "examples/httpd.conf", "--quiet")
	for _, c := range []struct {
		path string
		want int
		args []string
	}{
		{"/", 200, nil},
		{"/hello.shtml", 200, nil},
		{"/old", 301, nil},
		{"/~diana/", 200, nil},
		{"/private/", 401, nil},
		{"/private/", 200, []string{"-u", "staff:packetwalk"}},
		{"/intranet/", 403, nil},
		{"/cgi-bin/env.cgi?x=1", 200, nil},
	} {
		if got := status(t, append(c.args, s.url+c.path)...); got != c.want {
			t.Errorf("GET %s %v: %d, want %d", c.path, c.args, got, c.want)
		}
	}
	if r := curl(t, s.url+"/cgi-bin/env.cgi?x=1"); !strings.Contains(r.body, "QUERY_STRING=x=1") {
		t.Errorf("the example CGI program's output: %q", r.body)
	}
	if r := curl(t, s.url+"/hello.shtml"); !strings.Contains(r.body, "examples/www/footer.html, included by the server") {
		t.Errorf("the server-side include was not processed: %q", r.body)
	}
	for host, want := range map[string]string{"www.joes-hardware.com": "Joe's Hardware", "www.mary-hardware.com": "Mary's Hardware"} {
		if r := curl(t, "-H", "Host: "+host, s.url+"/"); r.status != 200 || !strings.Contains(r.body, want) {
			t.Errorf("Host: %s: %d %q", host, r.status, r.body)
		}
	}

	v := startServe(t, "--docroot", "examples/www", "--vhost", "www.joes-hardware.com=examples/joe", "--quiet")
	if r := curl(t, "-H", "Host: www.joes-hardware.com", v.url+"/"); r.status != 200 || !strings.Contains(r.body, "Joe's Hardware") {
		t.Errorf("--vhost www.joes-hardware.com=examples/joe: %d %q", r.status, r.body)
	}
}
