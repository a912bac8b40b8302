package tcp

// State is a connection's state (RFC 9293 §3.3.2, Figure 5).
type State uint8

const (
	Closed      State = iota // no connection
	Listen                   // waiting for a SYN from any remote
	SynSent                  // sent a SYN, waiting for the matching SYN+ACK
	SynReceived              // received a SYN and sent SYN+ACK, waiting for the ACK
	Established              // open: data flows both ways
	FinWait1                 // we sent FIN, waiting for its ACK (or the peer's FIN)
	FinWait2                 // our FIN is acknowledged, waiting for the peer's FIN
	CloseWait                // the peer sent FIN; waiting for our application to close
	Closing                  // both sent FIN at once; waiting for the ACK of ours
	LastAck                  // we sent FIN after the peer's; waiting for its ACK
	TimeWait                 // both FINs acknowledged; waiting 2 MSL for stray segments
)

var stateNames = [...]string{
	Closed: "CLOSED", Listen: "LISTEN", SynSent: "SYN_SENT", SynReceived: "SYN_RECEIVED",
	Established: "ESTABLISHED", FinWait1: "FIN_WAIT_1", FinWait2: "FIN_WAIT_2",
	CloseWait: "CLOSE_WAIT", Closing: "CLOSING", LastAck: "LAST_ACK", TimeWait: "TIME_WAIT",
}

func (s State) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return "?"
}

// synchronized reports whether the state is past the handshake (RFC 9293
// calls ESTABLISHED and later the synchronized states).
func (s State) synchronized() bool { return s >= Established }

// canSend reports whether the application may still send data: our FIN has
// not been queued.
func (s State) canSend() bool { return s == Established || s == CloseWait }

// canReceive reports whether more data may still arrive from the peer: its
// FIN has not arrived.
func (s State) canReceive() bool {
	return s == SynSent || s == SynReceived || s == Established || s == FinWait1 || s == FinWait2
}
