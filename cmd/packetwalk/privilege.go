package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/user"
	"path/filepath"
	"strconv"

	"github.com/packetwalk/packetwalk/httpd"
)

// Least privilege on a device: root (or CAP_NET_ADMIN) is needed only to
// open the TUN or TAP device and give the kernel side its address. Once
// that is done and the files named on the command line are open, the
// server gives root up, as tcpdump's -Z and Apache's User directive do, so
// that a teacher's `sudo packetwalk serve --tun ... --docroot ~/site` does
// not read files and run CGI programs as root.

// privTarget is the user the server becomes.
type privTarget struct {
	name     string
	uid, gid int
	groups   []int
	why      string // "the user who ran sudo", "--user", "nobody"
}

// chooseUser decides whom to become: --user NAME; else the user who ran
// sudo (SUDO_UID, SUDO_GID); else nobody. keep is set for --user root, or
// when the process is not root (there is nothing to give up).
func chooseUser(flagUser string) (t privTarget, keep bool, err error) {
	if os.Geteuid() != 0 {
		if flagUser != "" && flagUser != currentUserName() {
			return t, false, fmt.Errorf("--user %s: packetwalk is not running as root, so it cannot become another user", flagUser)
		}
		return t, true, nil
	}
	switch {
	case flagUser == "root" || flagUser == "0":
		return privTarget{name: "root"}, true, nil
	case flagUser != "":
		return lookupTarget(flagUser, "--user")
	case os.Getenv("SUDO_UID") != "" && os.Getenv("SUDO_UID") != "0":
		uid, err1 := strconv.Atoi(os.Getenv("SUDO_UID"))
		gid, err2 := strconv.Atoi(os.Getenv("SUDO_GID"))
		if err1 != nil || err2 != nil || uid < 0 || gid < 0 {
			return t, false, fmt.Errorf("SUDO_UID %q and SUDO_GID %q are not user and group numbers; say whom to run as with --user NAME", os.Getenv("SUDO_UID"), os.Getenv("SUDO_GID"))
		}
		t = privTarget{name: os.Getenv("SUDO_USER"), uid: uid, gid: gid, why: "the user who ran sudo"}
		if u, err := user.LookupId(strconv.Itoa(uid)); err == nil {
			t.name = u.Username
			t.groups = groupIDs(u)
		}
		if t.name == "" {
			t.name = "uid " + strconv.Itoa(uid)
		}
		return t, false, nil
	}
	t, _, err = lookupTarget("nobody", "nobody")
	if err != nil {
		// No passwd entry for nobody: its customary IDs.
		return privTarget{name: "nobody", uid: 65534, gid: 65534, why: "nobody"}, false, nil
	}
	return t, false, nil
}

func lookupTarget(name, why string) (privTarget, bool, error) {
	u, err := user.Lookup(name)
	if err != nil {
		if _, numErr := strconv.Atoi(name); numErr == nil {
			u, err = user.LookupId(name)
		}
	}
	if err != nil {
		return privTarget{}, false, fmt.Errorf("--user %s: no such user", name)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	if uid == 0 {
		return privTarget{name: u.Username}, true, nil
	}
	return privTarget{name: u.Username, uid: uid, gid: gid, groups: groupIDs(u), why: why}, false, nil
}

func groupIDs(u *user.User) []int {
	ids, err := u.GroupIds()
	if err != nil {
		return nil
	}
	var out []int
	for _, s := range ids {
		if g, err := strconv.Atoi(s); err == nil {
			out = append(out, g)
		}
	}
	return out
}

func currentUserName() string {
	if u, err := user.Current(); err == nil {
		return u.Username
	}
	return ""
}

// checkReadable says, in one sentence, when the new user cannot read a
// folder the server must serve.
func checkReadable(dir string, t privTarget) error {
	f, err := os.Open(dir)
	if err == nil {
		_, err = f.Readdirnames(1)
		f.Close()
	}
	if err != nil && !errors.Is(err, os.ErrNotExist) && !errors.Is(err, io.EOF) {
		abs, _ := filepath.Abs(dir)
		return fmt.Errorf("after giving up root the server runs as %s (%s), who cannot read %s; make it readable, or choose the user with --user NAME (--user root keeps root)", t.name, t.why, abs)
	}
	return nil
}

// giveUpRoot is the step serve --tun/--tap and type-o-serve take once
// their device is open: it returns the sentence to narrate.
func giveUpRoot(flagUser string, cfg *httpd.Config, owned []string) (string, error) {
	t, keep, err := chooseUser(flagUser)
	if err != nil {
		return "", err
	}
	if keep {
		if t.name == "root" {
			return "running as root (--user root): files are read and CGI programs run as root", nil
		}
		return "", nil
	}
	if err := dropPrivileges(t, owned); err != nil {
		return "", err
	}
	if cfg != nil {
		dirs := []string{cfg.Map.DocRoot}
		for _, vh := range sortedKeys(cfg.Map.VHosts) {
			dirs = append(dirs, cfg.Map.VHosts[vh].DocRoot)
		}
		for _, d := range dirs {
			if d == "" {
				continue
			}
			if err := checkReadable(d, t); err != nil {
				return "", err
			}
		}
	}
	return fmt.Sprintf("the device is open: gave up root, now running as %s (uid %d, gid %d: %s; --user NAME chooses, --user root keeps root)", t.name, t.uid, t.gid, t.why), nil
}
