//go:build js

package wire

import (
	"fmt"
	"io"
)

// OpenDevice cannot open a TUN or TAP device in a browser (GOOS=js: the
// playground): there is no kernel to ask. The simulated wire is all a page
// has.
func OpenDevice(kind DeviceKind, name string) (io.ReadWriteCloser, string, error) {
	return nil, "", fmt.Errorf("%s device %q: a web page cannot open TUN or TAP devices; run packetwalk from a terminal for that", kind, name)
}
