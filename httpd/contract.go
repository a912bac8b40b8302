package httpd

import (
	"net"
	"net/netip"
	"net/textproto"
	"time"

	"github.com/packetwalk/packetwalk/viz"
)

// This file is httpd's contract between its parts: the connection loop
// (steps 1, 2, 3, 5, 6, 7: server.go, io_arch.go, conn.go, parse.go,
// process.go, respond.go, log.go; it logs step 4 around the Mapper call)
// and the resource mapper (step 4: map.go, mime.go, negotiate.go, cgi.go,
// ssi.go, auth.go, listing.go), which decides the Resource that step 5
// writes. Both read their options from config.go (Config, MapConfig).

// Request is a parsed request message (step 2).
type Request struct {
	Method     string // "GET"
	Target     string // the request-target as sent: "/docs/a%20b.html?x=1"
	Path       string // the decoded path: "/docs/a b.html"
	RawQuery   string // "x=1"
	Proto      string // "HTTP/1.1"
	ProtoMinor int    // 0 or 1
	Header     textproto.MIMEHeader
	Host       string // the Host header without port, lower case; "" if none
	Body       []byte // read in full (bounded by Config.MaxBodyBytes)

	RemoteAddr netip.AddrPort
	LocalAddr  netip.AddrPort
	Conn       uint64    // the socket's ID in the step log (0 if unknown)
	Received   time.Time // when the request line began to arrive
	User       string    // set by Basic authentication in step 4
	Ident      string    // RFC 1413 answer, "-" if none
	RemoteHost string    // reverse DNS name, "" if none
}

// Resource is what step 4 decided: the response step 5 must build.
type Resource struct {
	Status int    // 200, 301, 304, 401, 403, 404, ...
	Reason string // why, for the step log: "file", "directory index", "listing", "cgi", "ssi", "redirect", "denied", ...

	// Exactly one of the following says where the body comes from; none
	// for a body-less response (redirect, 304, HEAD is handled later).
	File    string // a file to send, opened in step 5
	Content []byte // a body built in step 4 (listing, SSI output, error page, CGI output)

	ContentType     string // as decided: explicit, mime.types, magic, or negotiated
	ContentLanguage string
	Location        string               // for redirects
	Header          textproto.MIMEHeader // extra headers (CGI's, WWW-Authenticate, Vary, Last-Modified)
	ModTime         time.Time            // for Last-Modified and If-Modified-Since
	VHost           string               // the virtual host that served it, for per-vhost logs
}

// Mapper is step 4: it maps a request to a resource. The server calls it
// once per request; it never writes to the connection.
type Mapper interface {
	Map(req *Request) *Resource
}

// Connection is what the server learns about a net.Conn it accepted; a
// packetwalk connection also tells its socket ID.
type Connection interface {
	net.Conn
	ConnID() uint64
}

// stepper logs the seven steps; a nil recorder logs nothing. On an
// HTTP/2 connection, stream is the stream the step is about (0: the
// connection as a whole), added to every step's fields.
type stepper struct {
	rec    *viz.Recorder
	stream uint32
}
