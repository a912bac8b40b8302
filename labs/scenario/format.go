// Package scenario reads, checks and runs scenario files: a network of
// simulated hosts and wires, the traffic that crosses it, and the checks a
// lab makes on the resulting step log. A teacher writes one in YAML
// without Go; docs/labs.md describes the format with a complete example.
//
// A run is evaluated on the step log alone, never on wall-clock time:
// expectations match events (host, layer, step, verdict, reason, frame,
// conn, fields) with counts, order and bounds in virtual time, like
// packetdrill's scripts; questions are graded against a student's answers
// file. With packetwalk hosts only, the same seed gives the same log, so
// the answers to a lab's questions do not change from run to run.
package scenario

import (
	"fmt"

	"github.com/packetwalk/packetwalk/phy"
)

// Scenario is one scenario file.
type Scenario struct {
	File string `yaml:"-"` // where it was read from, for messages
	Line int    `yaml:"-"`

	Name        string `yaml:"name"`
	Title       string `yaml:"title"`
	Description string `yaml:"description"`
	// Seed drives every random choice (impairments, ISNs); default 1.
	Seed int64 `yaml:"seed"`
	// TimeLimit ends the run at this virtual time at the latest
	// (default 60s).
	TimeLimit Duration `yaml:"time_limit"`
	// Drain is how long the run goes on after the last traffic item has
	// finished, so that FINs, ACKs and timers play out (default 5s).
	Drain Duration `yaml:"drain"`

	Wires     []Wire     `yaml:"wires"`
	Hosts     []Host     `yaml:"hosts"`
	Servers   []Server   `yaml:"servers"`
	Traffic   []Traffic  `yaml:"traffic"`
	Expect    []Expect   `yaml:"expect"`
	Questions []Question `yaml:"questions"`
}

// Wire is a simulated Ethernet segment (wire.Config).
type Wire struct {
	Line int    `yaml:"-"`
	Name string `yaml:"name"`
	// Mode is hub (every frame to every port, the default) or switch.
	Mode         string   `yaml:"mode"`
	Latency      Duration `yaml:"latency"`
	BandwidthBPS int64    `yaml:"bandwidth_bps"`
	TxQueue      int      `yaml:"tx_queue"`
	MTU          int      `yaml:"mtu"`
	Loss         float64  `yaml:"loss"`
	Dup          float64  `yaml:"dup"`
	Reorder      float64  `yaml:"reorder"`
	Corrupt      float64  `yaml:"corrupt"`
	// Faults are targeted faults: "drop:7", "corrupt:7",
	// "corrupt:7:bit=100" (frame IDs of the step log).
	Faults []string `yaml:"faults"`
	// PHY is the wire's signal model (package phy); absent: bytes.
	PHY *PHY `yaml:"phy"`
}

// PHY is a wire's signal model: a line code and what the signal suffers.
type PHY struct {
	// Code is manchester, nrz, 4b5b-nrzi, 4b5b-mlt3 (or off).
	Code string `yaml:"code"`
	// DriftPPM is how much faster the receiver's clock runs, in ppm.
	DriftPPM float64 `yaml:"drift_ppm"`
	// Jitter is the edges' timing spread, in fractions of a baud.
	Jitter float64 `yaml:"jitter"`
	// SNRdB is the signal-to-noise ratio in dB; absent: no noise.
	SNRdB *float64 `yaml:"snr_db"`
}

// config is the phy.Config the scenario describes.
func (p *PHY) config() (phy.Config, error) {
	if p == nil {
		return phy.Config{}, nil
	}
	code, err := phy.ParseCode(p.Code)
	if err != nil {
		return phy.Config{}, err
	}
	c := phy.Config{Code: code, DriftPPM: p.DriftPPM, Jitter: p.Jitter}
	if p.SNRdB != nil {
		if *p.SNRdB < -20 || *p.SNRdB > 100 {
			return c, fmt.Errorf("snr_db %v is outside -20..100", *p.SNRdB)
		}
		c.Noise = phy.NoiseForSNR(*p.SNRdB)
	}
	if err := c.Validate(); err != nil {
		return c, err
	}
	return c, nil
}

// Host is a machine: packetwalk's stack (the default) or gVisor's netstack.
type Host struct {
	Line int    `yaml:"-"`
	Name string `yaml:"name"`
	// Kind is packetwalk or gvisor. A scenario with a gVisor host runs
	// paced to the wall clock and is not bit-reproducible.
	Kind       string      `yaml:"kind"`
	Interfaces []Interface `yaml:"interfaces"`
	Gateway    string      `yaml:"gateway"`
	// Forwarding makes the host a router.
	Forwarding bool `yaml:"forwarding"`
	// TTL of the datagrams it sends (default 64).
	TTL int `yaml:"ttl"`
	// ReassemblyTimeout is how long fragments wait for the rest (30s).
	ReassemblyTimeout Duration `yaml:"reassembly_timeout"`
	MaxSockets        int      `yaml:"max_sockets"`
	TCP               TCPOpts  `yaml:"tcp"`
}

// Interface is one NIC of a host, plugged into a wire.
type Interface struct {
	Line int    `yaml:"-"`
	Wire string `yaml:"wire"`
	// Addr is the address and subnet, e.g. 10.0.0.1/24.
	Addr string `yaml:"addr"`
	// MAC defaults to 02:00:00:00:00:NN, NN counting NICs from 1.
	MAC            string   `yaml:"mac"`
	MTU            int      `yaml:"mtu"`
	Ring           int      `yaml:"ring"`
	Promiscuous    bool     `yaml:"promiscuous"`
	InterruptDelay Duration `yaml:"interrupt_delay"`
	DriverBudget   int      `yaml:"driver_budget"`
}

// TCPOpts are a packetwalk host's TCP settings (tcp.Config).
type TCPOpts struct {
	Line int `yaml:"-"`
	// DelayedACK is the delayed-ACK timeout (200ms); "off" ACKs every
	// segment at once.
	DelayedACK Duration `yaml:"delayed_ack"`
	MSL        Duration `yaml:"msl"`
	RTOMin     Duration `yaml:"rto_min"`
	RTOInitial Duration `yaml:"rto_initial"`
	SendBuffer int      `yaml:"send_buffer"`
	RecvBuffer int      `yaml:"receive_buffer"`
	SynRetries int      `yaml:"syn_retries"`
	Retries    int      `yaml:"retries"`
	MaxBacklog int      `yaml:"max_backlog"`
	// Ephemeral is the range of local ports for connect(), "49152-65535".
	Ephemeral string `yaml:"ephemeral"`
	// SynCookies says when a listener answers a SYN with a SYN cookie
	// (RFC 4987 §3.6): when_full (the default), off (a SYN beyond the
	// SYN queue is dropped with backlog_full) or always.
	SynCookies string `yaml:"syn_cookies"`
	// Timestamps turns RFC 7323 timestamps on (the default, as in Linux)
	// or off.
	Timestamps string `yaml:"timestamps"`
	// Recovery says how a SACK connection finds its losses: rack (the
	// default, RACK-TLP, RFC 8985, with the tail loss probe) or dupthresh
	// (RFC 6675's three duplicate ACKs; a lost tail waits for the
	// retransmission timer).
	Recovery string `yaml:"recovery"`
	// Congestion is the congestion control: newreno (the default, RFC
	// 5681 with RFC 6582's recovery) or cubic (RFC 9438, Linux's
	// default).
	Congestion string `yaml:"congestion"`
}

// Server is an application that listens on a packetwalk host.
type Server struct {
	Line int    `yaml:"-"`
	Host string `yaml:"host"`
	// Kind: http (packetwalk's httpd), echo (writes back what it reads),
	// discard (reads until EOF), rpc (reads request_bytes, answers
	// response_bytes, until EOF), canned (type-o-serve: reads the
	// request's head, answers with `response` as it is written, closes),
	// udp-echo.
	Kind string `yaml:"kind"`
	// Response is the canned server's answer, byte for byte; a line
	// ending in a bare newline is sent with CRLF, as type-o-serve does.
	Response string `yaml:"response"`
	Port     int    `yaml:"port"`
	Backlog  int    `yaml:"backlog"`
	// AcceptAfter delays the first accept(): connections wait in the
	// accept queue meanwhile, and beyond the backlog are dropped.
	AcceptAfter Duration `yaml:"accept_after"`
	// NoAccept never calls accept() at all.
	NoAccept bool `yaml:"no_accept"`
	NoDelay  bool `yaml:"nodelay"`
	// CloseFirst makes echo, discard and rpc servers close as soon as
	// they have answered once (the server then does the active close).
	CloseFirst    bool `yaml:"close_first"`
	RequestBytes  int  `yaml:"request_bytes"`
	ResponseBytes int  `yaml:"response_bytes"`
	// PauseAfter and Pause make a discard server a reader that pauses:
	// after reading PauseAfter bytes of a connection it reads nothing for
	// Pause, so that its receive buffer fills and the window it
	// advertises closes (RFC 9293 §3.8.6), then it reads on to the end.
	PauseAfter Payload  `yaml:"pause_after"`
	Pause      Duration `yaml:"pause"`
	// Arch is httpd's I/O architecture: single (default), pool,
	// multiplexed or event.
	Arch    string `yaml:"arch"`
	Workers int    `yaml:"workers"`
	// Config is httpd's configuration file, inline (the Apache-like
	// directives of `packetwalk serve --config`).
	Config string `yaml:"config"`
	// Files are the documents served, path: content; empty means the
	// embedded demo site.
	Files map[string]string `yaml:"files"`
	// Pad makes files of files: this many bytes long, their content
	// followed by a repeating alphabet: a page's resources can be large
	// (several TCP segments, several HTTP/2 DATA frames) without being
	// written out in the scenario.
	Pad map[string]Payload `yaml:"pad"`
}

// Traffic is one thing that happens at a virtual time: exactly one of
// http, tcp, ping, udp or frame.
type Traffic struct {
	Line  int           `yaml:"-"`
	At    Duration      `yaml:"at"`
	HTTP  *HTTPTraffic  `yaml:"http"`
	TCP   *TCPTraffic   `yaml:"tcp"`
	Ping  *PingTraffic  `yaml:"ping"`
	UDP   *UDPTraffic   `yaml:"udp"`
	Frame *FrameTraffic `yaml:"frame"`
}

// HTTPTraffic is a client fetching paths from a server.
type HTTPTraffic struct {
	Line int    `yaml:"-"`
	From string `yaml:"from"`
	// To is host:port or address:port (port 80 if left out).
	To     string   `yaml:"to"`
	Get    []string `yaml:"get"`
	Method string   `yaml:"method"`
	// Headers are added to every request (Host, Accept-Language, ...).
	Headers map[string]string `yaml:"headers"`
	// Mode: serial (a new connection per request, one after another,
	// the default), parallel (up to `connections` at once, one request
	// each), persistent (one keep-alive connection, request after
	// response) or pipelined (one connection, every request written
	// before the first response is read).
	Mode        string `yaml:"mode"`
	Connections int    `yaml:"connections"`
	// HTTP10 sends HTTP/1.0 requests.
	HTTP10 bool `yaml:"http10"`
	// Client is who asks: "plain" (the default: the scenario's own
	// client, one request per path, as Mode says) or "browser" (package
	// browser, on a packetwalk host: it judges each response by its
	// status, Content-Type, charset, Content-Encoding and extension,
	// fetches a page's stylesheet and images, and logs every judgement as
	// a step of layer browser; Connections is then its number of parallel
	// connections, default 1, one persistent connection).
	Client string `yaml:"client"`
	// Gzip (browser only) sends Accept-Encoding: gzip; default true.
	Gzip *bool `yaml:"gzip"`
	// HTTP2 (browser only) speaks HTTP/2 over cleartext with prior
	// knowledge (RFC 9113 §3.3): one connection, each request a stream
	// on it, the responses' frames interleaved; connections is refused.
	HTTP2 bool `yaml:"http2"`
}

// TCPTraffic opens connections and writes to them.
type TCPTraffic struct {
	Line        int    `yaml:"-"`
	From        string `yaml:"from"`
	To          string `yaml:"to"`
	SrcPort     int    `yaml:"src_port"`
	Connections int    `yaml:"connections"`
	// Concurrent opens the connections side by side (each started
	// interval after the previous), not one after another.
	Concurrent bool      `yaml:"concurrent"`
	Interval   Duration  `yaml:"interval"`
	Write      []Payload `yaml:"write"`
	// Pause is the time between two writes.
	Pause   Duration `yaml:"pause"`
	NoDelay bool     `yaml:"nodelay"`
	// Read is how many bytes to read after writing (an echo or rpc
	// server's answer) before closing.
	Read int `yaml:"read"`
	// Close: close (default), shutdown (half close: SHUT_WR, then read to
	// EOF, then close), none (leave it open) or wait_eof (read until the
	// server closes first, then close).
	Close string `yaml:"close"`
	// Hold waits this long before closing.
	Hold Duration `yaml:"hold"`
}

// PingTraffic is ping(8).
type PingTraffic struct {
	Line     int      `yaml:"-"`
	From     string   `yaml:"from"`
	To       string   `yaml:"to"`
	Count    int      `yaml:"count"`
	Size     int      `yaml:"size"`
	Interval Duration `yaml:"interval"`
}

// UDPTraffic sends datagrams.
type UDPTraffic struct {
	Line     int      `yaml:"-"`
	From     string   `yaml:"from"`
	To       string   `yaml:"to"`
	SrcPort  int      `yaml:"src_port"`
	Payload  Payload  `yaml:"payload"`
	Count    int      `yaml:"count"`
	Interval Duration `yaml:"interval"`
}

// FrameTraffic puts a crafted frame on a wire, from a port of its own
// (host "injector" in the log): raw hex, or a description of its headers.
type FrameTraffic struct {
	Line int    `yaml:"-"`
	Wire string `yaml:"wire"`
	// Hex is the whole frame without its FCS (spaces allowed); the FCS is
	// appended (bad_fcs spoils it).
	Hex       string    `yaml:"hex"`
	Dst       string    `yaml:"dst"` // MAC, or a host's name
	Src       string    `yaml:"src"`
	EtherType string    `yaml:"ethertype"` // ipv4 (default), arp, or 0x88b5
	IP        *FrameIP  `yaml:"ip"`
	TCP       *FrameTCP `yaml:"tcp"`
	UDP       *FrameUDP `yaml:"udp"`
	Payload   Payload   `yaml:"payload"`
	BadFCS    bool      `yaml:"bad_fcs"`
	Count     int       `yaml:"count"`
	Interval  Duration  `yaml:"interval"`
}

// FrameIP describes an IPv4 header of a crafted frame.
type FrameIP struct {
	Line        int    `yaml:"-"`
	Src         string `yaml:"src"`
	Dst         string `yaml:"dst"`
	TTL         int    `yaml:"ttl"`
	ID          int    `yaml:"id"`
	DF          bool   `yaml:"df"`
	MF          bool   `yaml:"mf"`
	FragOffset  int    `yaml:"frag_offset"`
	Protocol    int    `yaml:"protocol"`
	BadChecksum bool   `yaml:"bad_checksum"`
}

// FrameTCP describes a TCP header of a crafted frame.
type FrameTCP struct {
	Line    int    `yaml:"-"`
	SrcPort int    `yaml:"src_port"`
	DstPort int    `yaml:"dst_port"`
	Seq     uint64 `yaml:"seq"`
	Ack     uint64 `yaml:"ack"`
	// Flags as tcpdump writes them: S, S., P., F., R ...
	Flags  string `yaml:"flags"`
	Window int    `yaml:"window"`
}

// FrameUDP describes a UDP header of a crafted frame.
type FrameUDP struct {
	Line    int `yaml:"-"`
	SrcPort int `yaml:"src_port"`
	DstPort int `yaml:"dst_port"`
}

// Expect is a check on the step log, packetdrill-like.
type Expect struct {
	Line int    `yaml:"-"`
	Name string `yaml:"name"`
	// Says is the sentence printed with the result ("the server answers
	// the SYN with a SYN+ACK").
	Says  string `yaml:"says"`
	Match Match  `yaml:"match"`
	// Count is the exact number of matching events; AtLeast and AtMost
	// bound it; None means no event may match. Without any of them, at
	// least one must.
	Count   *int `yaml:"count"`
	AtLeast *int `yaml:"at_least"`
	AtMost  *int `yaml:"at_most"`
	None    bool `yaml:"none"`
	// After names another expectation: only events after its first match
	// count. Within bounds their time after that match.
	After  string   `yaml:"after"`
	Within Duration `yaml:"within"`
	Hint   string   `yaml:"hint"`
}

// Match selects events. Empty parts match anything. Field values and msg
// are exact strings, or "re:REGEXP", or a comparison of numbers: ">0",
// ">=1460", "<3", "<=10", "!=0".
type Match struct {
	Line    int               `yaml:"-"`
	Host    string            `yaml:"host"`
	Layer   string            `yaml:"layer"`
	Step    string            `yaml:"step"`
	Verdict string            `yaml:"verdict"`
	Reason  string            `yaml:"reason"`
	Frame   uint64            `yaml:"frame"`
	Conn    uint64            `yaml:"conn"`
	Msg     string            `yaml:"msg"`
	Fields  map[string]string `yaml:"fields"`
}

// Question is asked in the handout and graded against the answers file.
type Question struct {
	Line int    `yaml:"-"`
	ID   string `yaml:"id"`
	Ask  string `yaml:"ask"`
	// Type: number, choice or text.
	Type      string   `yaml:"type"`
	Choices   []string `yaml:"choices"`
	Tolerance float64  `yaml:"tolerance"`
	Hint      string   `yaml:"hint"`
	// Answer is the reference answer when the scenario keeps it inline;
	// a lab keeps it in solution.yaml instead, out of the student's view.
	Answer *AnswerValue `yaml:"answer"`
}
