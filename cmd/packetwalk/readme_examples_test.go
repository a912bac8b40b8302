package main

import (
	"os"
	"slices"
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

// TestREADMEFirstSection holds the README's way in: its first section
// gives exactly the two commands a fresh machine needs (the main job and
// the tests), and names the third way in, which needs no command at all:
// opening playground.html. The playground's own section gives the command
// that writes the folder, as TestPlaygroundInChromium runs it.
func TestREADMEFirstSection(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	sections := strings.Split("\n"+string(readme), "\n## ")
	if len(sections) < 3 {
		t.Fatal("the README has fewer than two sections")
	}
	commands := func(section string) []string {
		var cmds []string
		for _, line := range strings.Split(section, "\n") {
			if cmd, ok := strings.CutPrefix(line, "    "); ok && strings.TrimSpace(cmd) != "" {
				cmds = append(cmds, strings.TrimSpace(cmd))
			}
		}
		return cmds
	}
	first := sections[1]
	if got, want := commands(first), []string{"go run ./cmd/packetwalk trace", "go test ./..."}; !slices.Equal(got, want) {
		t.Errorf("the README's first section (%q) gives the commands %q, want exactly %q", strings.SplitN(first, "\n", 2)[0], got, want)
	}
	if strings.Contains(first, "```") {
		t.Error("the README's first section has a fenced code block: its commands are the two indented ones")
	}
	if !strings.Contains(first, "open `playground.html`") {
		t.Error("the README's first section does not name the third way in: open `playground.html`")
	}
	var playground string
	for _, s := range sections[2:] {
		if strings.Contains(strings.SplitN(s, "\n", 2)[0], "playground") {
			playground = s
			break
		}
	}
	if got := commands(playground); !slices.Contains(got, "go run ./cmd/packetwalk playground --out site/") {
		t.Errorf("the README's playground section gives %q, want the command that writes the folder: go run ./cmd/packetwalk playground --out site/", got)
	}
}
