//go:build !js

package main

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"syscall"
)

// dropPrivileges becomes the chosen user: supplementary groups first,
// then the group, then the user (after setuid the process could no
// longer change its groups). Go applies each call to every thread of the
// process. The files already open (the device, --json, --pcap, the logs)
// stay usable; the capture and step log are handed to the new user, as
// tcpdump -Z does, so that they can read and delete them.
func dropPrivileges(t privTarget, owned []string) error {
	for _, p := range owned {
		if p != "" {
			os.Chown(p, t.uid, t.gid)
		}
	}
	groups := t.groups
	if !slices.Contains(groups, t.gid) {
		groups = append([]int{t.gid}, groups...)
	}
	if err := syscall.Setgroups(groups); err != nil {
		return fmt.Errorf("cannot give up root: setgroups: %v", err)
	}
	if err := syscall.Setgid(t.gid); err != nil {
		return fmt.Errorf("cannot give up root: setgid %d: %v", t.gid, err)
	}
	if err := syscall.Setuid(t.uid); err != nil {
		return fmt.Errorf("cannot give up root: setuid %d: %v", t.uid, err)
	}
	if os.Geteuid() == 0 {
		return errors.New("cannot give up root: still uid 0 after setuid")
	}
	return nil
}
