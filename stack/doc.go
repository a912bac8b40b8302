// Package stack puts the layers together and gives applications the socket
// API.
//
// # The socket API
//
// "HTTP: The Definitive Guide" ch. 4 lists the calls a program uses to talk
// TCP; a Host offers each of them, with small integer descriptors as Unix
// has, and errors named like their POSIX counterparts:
//
//	fd, err := h.Socket(AF_INET, SOCK_STREAM)  create a new, unnamed, unattached socket
//	h.Bind(fd, addr)                           assign a local address and port
//	h.Listen(fd, backlog)                      mark it as willing to accept connections
//	nfd, peer, err := h.Accept(fd)             wait for a connection; returns a new socket,
//	                                           cloned from the listening one, which keeps listening
//	h.Connect(fd, addr)                        open a connection to a remote address and port
//	n, err := h.Read(fd, buf)                  read bytes from the connection
//	n, err := h.Write(fd, buf)                 write bytes to the connection
//	h.Close(fd)                                close the socket (FIN, or RST with unread data)
//	h.Shutdown(fd, SHUT_WR)                    close one direction only (half close)
//	h.GetSockopt / h.SetSockopt                TCP_NODELAY, SO_REUSEADDR, SO_RCVBUF, SO_SNDBUF,
//	                                           SO_LINGER, SO_KEEPALIVE
//	h.Poll(fds, timeout)                       wait until one of several sockets is ready
//	h.SendTo / h.RecvFrom                      UDP datagrams
//
// A server calls Socket, Bind and Listen, then Accept in a loop; a client
// calls Socket and Connect; both Read and Write, then Close. As "How Network
// Works" ch. 6 explains, Accept returns a copy of the listening socket that
// holds the client's address and port: connections are told apart by four
// values (client address and port, server address and port), so every
// client of port 80 gets its own socket while the listener stays.
//
// ListenTCP and DialTCP wrap these calls as a net.Listener and a net.Conn,
// so code written for Go's net package (net/http among it) runs on a
// packetwalk host unchanged.
//
// # Hosts, networks and the loop
//
// A Host wires its NICs (with ARP) to its IP layer and TCP; an Interface is
// both the IPv4 protocol the NIC's driver dispatches to (nic.Protocol) and
// the link IP sends through (ip.Link), so nic and ip never import each
// other. A Network is a simulation: hosts and wires on one virtual clock
// and one step log. All protocol state is owned by one Loop; socket calls
// made from applications' goroutines are run by it (see Loop for how time
// passes, and how the same seed gives the same run).
//
// See docs/design.md for the whole walk, wire to httpd, with the file and
// function of each step, the contracts between the layers this package
// composes, and the principles the loop keeps (one owner goroutine per
// host, a clock passed in).
package stack
