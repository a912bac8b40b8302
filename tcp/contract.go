package tcp

import (
	"net/netip"

	"github.com/packetwalk/packetwalk/ip"
)

// This file is TCP's contract with the layers next to it.
//
// Downwards, TCP needs IP (Network) to send segments and to pick a source
// address; IP hands TCP its datagrams through ip.Transport (Layer.Receive)
// and the ICMP errors about them (Layer.ReceiveError).
//
// Upwards, the socket API (package stack) drives an Endpoint with the user
// calls of RFC 9293 §3.10 (Open, Send, Receive, Close, Abort) and learns
// that it can make progress through the Notify callbacks; it never blocks
// here: blocking is the socket API's business.

// Network is what TCP needs of the IP layer.
type Network interface {
	Send(o ip.Outbound) error
	SourceFor(dst netip.Addr) (netip.Addr, error)
	// MTUFor returns the MTU of the link toward dst, for the MSS.
	MTUFor(dst netip.Addr) int
}

// Notify are the wake-ups an endpoint gives its socket. Each is called on
// the event loop after the endpoint's state changed; the socket retries the
// calls that were waiting.
type Notify struct {
	Readable   func() // data, a FIN or an error arrived
	Writable   func() // send buffer space freed, or the connection opened
	Acceptable func() // (listener) a connection is ready for accept()
	Closed     func() // the connection is gone (deleted)
}
