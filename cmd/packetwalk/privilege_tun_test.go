package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/packetwalk/packetwalk/internal/netns"
	"github.com/packetwalk/packetwalk/internal/testenv"
)

// worldDir makes a folder anyone may read and write (t.TempDir's are
// root's alone), for a server that gives up root.
func worldDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "packetwalk-priv-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	return dir
}

// procUID returns the real and effective user IDs of a process.
func procUID(t *testing.T, pid int) string {
	t.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(l, "Uid:") {
			return strings.Join(strings.Fields(l)[1:3], " ")
		}
	}
	t.Fatalf("no Uid line in /proc/%d/status", pid)
	return ""
}

// Started through sudo, `serve --tun` gives up root once the device is
// open (issue 17): the process then runs as the user who ran sudo, a CGI
// program it starts runs as that user, and the capture it wrote belongs
// to that user. A docroot that user cannot read is one sentence naming
// the user and --user.
func TestServeTUNGivesUpRoot(t *testing.T) {
	testenv.Tool(t, "curl", "install it with: apt-get install curl")
	testenv.Root(t)
	const uid = "65534" // nobody: a user every Debian has
	t.Setenv("SUDO_UID", uid)
	t.Setenv("SUDO_GID", uid)
	t.Setenv("SUDO_USER", "")

	site := worldDir(t)
	os.Chmod(site, 0o755)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.WriteFile(filepath.Join(site, "index.html"), []byte("<p>hello</p>\n"), 0o644))
	must(os.MkdirAll(filepath.Join(site, "cgi-bin"), 0o755))
	must(os.WriteFile(filepath.Join(site, "cgi-bin", "id.cgi"), []byte("#!/bin/sh\nprintf 'Content-Type: text/plain\\r\\n\\r\\n'\nid -u\n"), 0o755))
	conf := filepath.Join(site, "httpd.conf")
	must(os.WriteFile(conf, []byte("DocumentRoot "+site+"\nScriptAlias /cgi-bin/ "+site+"/cgi-bin/\n"), 0o644))

	s := &tunServer{ns: netns.New(t), dir: worldDir(t)}
	s.out = filepath.Join(s.dir, "serve.out")
	s.pcap = filepath.Join(s.dir, "capture.pcapng")
	s.start(t, "serve", "--tun", "pw0", "--addr", tunAddr+"/24", "--quiet", "--config", conf, "--pcap", s.pcap)

	if got := procUID(t, s.proc.Cmd.Process.Pid); got != uid+" "+uid {
		t.Errorf("the server's real and effective uid after start: %s, want %s %s", got, uid, uid)
	}
	if !strings.Contains(s.output(), "gave up root, now running as nobody") {
		t.Errorf("the server did not say it gave up root:\n%s", s.output())
	}
	out, errOut, err := s.run(t, "curl", "-sS", "--max-time", "10", "http://"+tunAddr+"/cgi-bin/id.cgi")
	if err != nil || strings.TrimSpace(out) != uid {
		t.Errorf("the CGI program's uid: %q (%v %s), want %s", out, err, errOut, uid)
	}
	if out, _, err := s.run(t, "curl", "-sS", "--max-time", "10", "http://"+tunAddr+"/"); err != nil || !strings.Contains(out, "hello") {
		t.Errorf("the index as nobody: %q, %v", out, err)
	}
	if st, err := os.Stat(s.pcap); err != nil {
		t.Error(err)
	} else if owner := fmt.Sprint(statUID(st)); owner != uid {
		t.Errorf("the capture belongs to uid %s, want %s (the user the server became)", owner, uid)
	}

	// A docroot only root can read: one sentence, naming the user and
	// --user, and a failure.
	private := t.TempDir()
	must(os.WriteFile(filepath.Join(private, "index.html"), []byte("x"), 0o600))
	ns := netns.New(t)
	cmd := ns.Command(t.Context(), os.Args[0], "serve", "--tun", "pw1", "--addr", "10.9.1.2/24", "--quiet", "--docroot", private)
	cmd.Env = append(os.Environ(), asCLIVar+"=1")
	done := make(chan struct{})
	var combined []byte
	go func() { combined, _ = cmd.CombinedOutput(); close(done) }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		cmd.Process.Kill()
		t.Fatal("serve with an unreadable docroot did not exit within 20 s")
	}
	if cmd.ProcessState.ExitCode() == 0 || !strings.Contains(string(combined), "runs as nobody") || !strings.Contains(string(combined), "--user") ||
		strings.Count(strings.TrimSpace(string(combined)), "\n") > 1 {
		t.Errorf("serve with a docroot nobody cannot read: exit %d, output %q; want a failure and one sentence naming nobody and --user",
			cmd.ProcessState.ExitCode(), combined)
	}
}

func statUID(st os.FileInfo) uint32 {
	if s, ok := st.Sys().(*syscall.Stat_t); ok {
		return s.Uid
	}
	return 0
}

// --server nethttp: Go's net/http serves the same site on packetwalk's
// stack (bench/run compares the two servers with it); the kernel's curl
// gets the same bytes as from httpd.
func TestServeTUNNetHTTP(t *testing.T) {
	testenv.Tool(t, "curl", "install it with: apt-get install curl")
	s := startTUNServer(t, "--server", "nethttp")
	out, errOut, err := s.run(t, "curl", "-sS", "--max-time", "10", "-o", "/dev/null", "-w", "%{http_code} %{size_download}", "http://"+tunAddr+"/big.txt")
	if err != nil || out != "200 307181" {
		t.Fatalf("curl /big.txt from net/http on packetwalk: %q (%v %s), want 200 and 307181 bytes", out, err, errOut)
	}
	if !strings.Contains(s.output(), "Go's net/http serves it") {
		t.Errorf("the server did not say net/http serves:\n%s", s.output())
	}
}

// --backlog sets the listening socket's backlog on the device: the
// server's listen step says so.
func TestServeTUNBacklog(t *testing.T) {
	testenv.Tool(t, "curl", "install it with: apt-get install curl")
	s := startTUNServer(t, "--backlog", "512")
	if out, _, err := s.run(t, "curl", "-sS", "--max-time", "10", "-o", "/dev/null", "-w", "%{http_code}", "http://"+tunAddr+"/"); err != nil || out != "200" {
		t.Fatalf("curl: %q, %v", out, err)
	}
	waitFor(t, "the listen step with backlog 512", func() bool {
		for _, e := range readSteps(t, s.jsonl) {
			if e.Layer == "socket" && e.Step == "listen" && strings.Contains(e.Message(), ", 512)") {
				return true
			}
		}
		return false
	})
}
