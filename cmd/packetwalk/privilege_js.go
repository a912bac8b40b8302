//go:build js

package main

import "errors"

// dropPrivileges: in a browser there is no device to open and no user to
// become.
func dropPrivileges(privTarget, []string) error {
	return errors.New("cannot change users in a browser")
}
