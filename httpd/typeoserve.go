package httpd

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/packetwalk/packetwalk/viz"
)

// type-o-serve is the diagnostic server of "HTTP: The Definitive Guide"
// §5.2, a Perl program of some thirty lines: it takes one connection at a
// time, prints the request exactly as it arrived, lets the operator type
// (or paste) any response, ending it with a line holding a single ".", sends
// that, and closes. Whatever a client or proxy does, it shows.
//
//	<<<Type-O-Serve Accepting on Port 8080>>>
//
//	<<<Request From '127.0.0.1:49152'>>>
//	GET / HTTP/1.1
//	Host: localhost:8080
//
//	<<<Type Response Followed by '.'>>>
//	HTTP/1.0 200 OK
//	Content-Type: text/plain
//
//	hi
//	.

// Bounds of what type-o-serve reads from a client.
const (
	typeOServeMaxHead  = 64 << 10
	typeOServeMaxBody  = 1 << 20
	typeOServeReadTime = 60 * time.Second
)

// TypeOServe runs type-o-serve on ln: for each connection in turn, it
// writes the request's bytes (up to the blank line, plus a Content-Length
// body) to out, then reads the response from in line by line until a line
// holding only ".", sends it with CRLF line ends, and closes the
// connection. It returns nil when in runs out (after sending what was
// typed) or when ln is closed, and other Accept errors as they are.
// Steps are logged to rec (accept, receive, send) with the socket's ID.
func TypeOServe(ln net.Listener, in io.Reader, out io.Writer, rec *viz.Recorder) error {
	st := stepper{rec: rec}
	operator := bufio.NewReader(in)
	port := ""
	if ap := addrPortOf(ln.Addr()); ap.IsValid() {
		port = strconv.Itoa(int(ap.Port()))
	} else {
		port = ln.Addr().String()
	}
	fmt.Fprintf(out, "<<<Type-O-Serve Accepting on Port %s>>>\n\n", port)
	for {
		nc, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			return err
		}
		var id uint64
		if cc, ok := nc.(Connection); ok {
			id = cc.ConnID()
		}
		remote := addrPortOf(nc.RemoteAddr())
		if st.on() {
			st.emit(id, "accept", viz.Pass, "", fmt.Sprintf("type-o-serve accepted a connection from %s.", remote),
				viz.F("client", remote.String()))
		}
		fmt.Fprintf(out, "<<<Request From '%s'>>>\n", remote)

		raw, rerr := typeOServeRead(nc)
		out.Write(raw)
		if st.on() {
			msg := fmt.Sprintf("type-o-serve read and printed %d bytes of request.", len(raw))
			if rerr != nil {
				msg = fmt.Sprintf("type-o-serve read and printed %d bytes of request, then: %v.", len(raw), rerr)
			}
			st.emit(id, "receive", viz.Deliver, "", msg, viz.F("bytes", strconv.Itoa(len(raw))))
		}
		if rerr != nil && len(raw) > 0 && raw[len(raw)-1] != '\n' {
			fmt.Fprintln(out)
		}

		fmt.Fprintf(out, "<<<Type Response Followed by '.'>>>\n")
		sent, done, werr := typeOServeRespond(operator, nc)
		if st.on() {
			if werr != nil {
				st.emit(id, "send", viz.Drop, viz.ReasonHTTPSendFailed,
					fmt.Sprintf("type-o-serve could not send the typed response after %d bytes: %v; closing.", sent, werr),
					viz.F("bytes", strconv.Itoa(sent)))
			} else {
				st.emit(id, "send", viz.Send, "", fmt.Sprintf("type-o-serve sent the %d bytes the operator typed and closes the connection.", sent),
					viz.F("bytes", strconv.Itoa(sent)))
			}
		}
		lingerClose(nc)
		if done {
			return nil
		}
	}
}

// typeOServeRead reads a request as it arrives: lines up to the empty
// line, then as many bytes as a Content-Length header says.
func typeOServeRead(nc net.Conn) ([]byte, error) {
	nc.SetReadDeadline(time.Now().Add(typeOServeReadTime))
	defer nc.SetReadDeadline(time.Time{})
	br := bufio.NewReader(io.LimitReader(nc, typeOServeMaxHead+typeOServeMaxBody))
	var raw bytes.Buffer
	length := int64(0)
	for raw.Len() < typeOServeMaxHead {
		line, err := br.ReadBytes('\n')
		raw.Write(line)
		if err != nil {
			return raw.Bytes(), err
		}
		text := strings.TrimRight(string(line), "\r\n")
		if text == "" && raw.Len() > len(line) {
			break // the blank line after the headers
		}
		if text == "" {
			continue // an empty line before the request line
		}
		if name, value, ok := strings.Cut(text, ":"); ok && strings.EqualFold(strings.TrimSpace(name), "Content-Length") {
			if n, err := strconv.ParseInt(strings.TrimSpace(value), 10, 64); err == nil && n >= 0 {
				length = min(n, typeOServeMaxBody)
			}
		}
	}
	if length > 0 {
		_, err := io.CopyN(&raw, br, length)
		return raw.Bytes(), err
	}
	return raw.Bytes(), nil
}

// typeOServeRespond copies the operator's lines to the client, each with
// CRLF, until a line holding only "."; done reports that in ran out.
func typeOServeRespond(operator *bufio.Reader, nc net.Conn) (sent int, done bool, err error) {
	for {
		line, rerr := operator.ReadString('\n')
		if rerr != nil && line == "" {
			return sent, true, nil
		}
		text := strings.TrimRight(line, "\r\n")
		if text == "." {
			return sent, false, nil
		}
		n, werr := io.WriteString(nc, text+"\r\n")
		sent += n
		if werr != nil {
			// Keep reading up to the "." so the next response starts
			// where the operator expects.
			for {
				l, e := operator.ReadString('\n')
				if e != nil && l == "" {
					return sent, true, werr
				}
				if strings.TrimRight(l, "\r\n") == "." {
					return sent, false, werr
				}
			}
		}
		if rerr != nil {
			return sent, true, nil
		}
	}
}
