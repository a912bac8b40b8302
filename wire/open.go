//go:build !js

package wire

import (
	"fmt"
	"io"

	"github.com/songgao/water"
)

// OpenDevice creates the TUN or TAP device name (or opens it, if it exists
// and is persistent) with github.com/songgao/water, and returns the file to
// read and write packets through, and the name the kernel gave it. The
// device disappears when the file is closed, unless it was made persistent
// (ip tuntap add). Errors wrap the system call's errno (EPERM without
// CAP_NET_ADMIN, ENOENT without /dev/net/tun, EBUSY when another program
// has the device) for callers to explain.
func OpenDevice(kind DeviceKind, name string) (io.ReadWriteCloser, string, error) {
	cfg := water.Config{DeviceType: water.TUN}
	if kind == TAP {
		cfg.DeviceType = water.TAP
	} else if kind != TUN {
		return nil, "", fmt.Errorf("device %q: kind %v: want TUN or TAP", name, kind)
	}
	cfg.Name = name
	ifce, err := water.New(cfg)
	if err != nil {
		return nil, "", fmt.Errorf("opening %s device %q: %w", kind, name, err)
	}
	return ifce, ifce.Name(), nil
}
