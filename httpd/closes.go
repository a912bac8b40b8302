package httpd

import "sync/atomic"

// Why the server closed connections, counted: a client that sees its
// connection end under a request (wrk's "read" errors, a browser's retry)
// can be matched to the server's reason. serve --expvar publishes them
// (httpd_closes).

// The reasons a connection ends, as CloseCounts names them.
const (
	CloseClientDone     = "client_closed"     // the client closed its half between requests (EOF)
	CloseResponse       = "response_close"    // the response said Connection: close (HTTP/1.0, the client's wish, MaxKeepAliveRequests, an error page)
	CloseSendFailed     = "send_failed"       // the response could not be written (a reset, the write deadline)
	CloseIdleTimeout    = "idle_timeout"      // no first request within IdleTimeout
	CloseKeepAlive      = "keepalive_timeout" // no next request within KeepAliveTimeout
	CloseRequestError   = "request_error"     // a request step 2 could not read, answered 4xx/5xx (408 timeouts included)
	CloseIncomplete     = "incomplete"        // the client closed in the middle of a request
	CloseBroken         = "broken"            // a read failed: a reset, an error from the stack
	CloseShutdown       = "shutdown"          // Shutdown or Close
	CloseOverloaded     = "overloaded"        // 503: MaxConns or (event) MaxQueue reached
	CloseRefused        = "refused"           // step 1 refused it
	closeReasonsCounted = 11
)

var closeNames = [closeReasonsCounted]string{CloseClientDone, CloseResponse, CloseSendFailed, CloseIdleTimeout,
	CloseKeepAlive, CloseRequestError, CloseIncomplete, CloseBroken, CloseShutdown, CloseOverloaded, CloseRefused}

type closeCounts struct {
	n [closeReasonsCounted]atomic.Int64
	// waitedInFlight counts the keep-alive timeouts that found the last
	// response not acknowledged yet and waited (keepAliveMore).
	waitedInFlight atomic.Int64
}

func (cc *closeCounts) add(reason string) {
	for i, n := range closeNames {
		if n == reason {
			cc.n[i].Add(1)
			return
		}
	}
}

// CloseCounts returns how many connections the server has closed for each
// reason (the Close* names) since it started, and under
// KeepAliveWaitedInFlight how many times a keep-alive timeout was started
// again rather than close a connection whose last response was not yet
// acknowledged.
func (s *Server) CloseCounts() map[string]int64 {
	m := make(map[string]int64, closeReasonsCounted+1)
	for i, n := range closeNames {
		m[n] = s.closes.n[i].Load()
	}
	m[KeepAliveWaitedInFlight] = s.closes.waitedInFlight.Load()
	return m
}

// KeepAliveWaitedInFlight names, in CloseCounts, the keep-alive timeouts
// started again because the response was still unacknowledged.
const KeepAliveWaitedInFlight = "keepalive_waited_unacked"
