// Package httpd is a small HTTP/1.1 web server written to show the seven
// steps of "HTTP: The Definitive Guide" ch. 5, each a logged step tied to
// the connection's socket ID, so a viewer can link a request to the TCP
// segments that carried it:
//
//	1 accept   take a connection; who is the client (address, reverse DNS, ident)
//	2 receive  read and parse the request message: line, headers, body
//	3 process  decide what the method asks for
//	4 map      map the URI to a resource: docroot, virtual host, ~user,
//	           directory index or listing, CGI, server-side includes,
//	           access control
//	5 respond  build the response: status, Content-Type, Content-Length, redirects
//	6 send     write it out; keep the connection for the next request or close
//	7 log      record the transaction (Common or Combined Log Format)
//
// The server needs only a net.Listener: it runs on packetwalk's sockets,
// on gVisor's netstack and on the kernel's alike. See docs/design.md, "The
// walk", for the steps a request's segments take from the wire up to step 1.
package httpd
