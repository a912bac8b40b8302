// Package testenv lets tests that need something outside Go (a tool such as
// tshark or Chromium, root privileges, /dev/net/tun) skip with a sentence
// saying how to enable them on a developer's machine, and fail instead when
// PACKETWALK_REQUIRE_ALL=1 is set, as CI sets it: a CI run that skipped the
// tests against real peers would prove nothing.
package testenv

import (
	"os"
	"os/exec"
	"testing"
)

// RequireAllVar is the environment variable that turns skips into failures.
const RequireAllVar = "PACKETWALK_REQUIRE_ALL"

// RequireAll reports whether skips must fail.
func RequireAll() bool { return os.Getenv(RequireAllVar) == "1" }

// Unavailable skips the test, or fails it under PACKETWALK_REQUIRE_ALL=1,
// with the sentence why.
func Unavailable(t testing.TB, why string) {
	t.Helper()
	if RequireAll() {
		t.Fatalf("%s (and %s=1 forbids skipping)", why, RequireAllVar)
	}
	t.Skip(why)
}

// Tool returns the path of the named program, or skips (fails) the test
// with howto, e.g. "install it with: apt-get install tshark".
func Tool(t testing.TB, name, howto string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		Unavailable(t, name+" is not installed; "+howto)
	}
	return p
}

// Root skips (fails) the test unless it runs as root, which TUN devices and
// network namespaces need.
func Root(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		Unavailable(t, "this test needs root (TUN devices and network namespaces); run it with sudo or as root")
	}
}
