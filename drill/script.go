package drill

import "time"

// A packetdrill script, parsed. The language (google/packetdrill's
// README and its scripts) interleaves three kinds of lines, each at a time:
//
//	0.100 < S 0:0(0) win 32792 <mss 1000,sackOK>     a segment the remote peer sends
//	+0    > S. 0:0(0) ack 1 <mss 1460,...>           a segment the stack must send
//	+0    accept(3, ..., ...) = 4                    a socket call and its result
//
// plus shell commands in backquotes (`sysctl -w ...`), inline checks on
// tcp_info (%{ assert tcpi_state == TCPI_ESTABLISHED }%), and command-line
// options at the top (--tolerance_usecs=10000).

// Script is one parsed file.
type Script struct {
	Name    string   // the file name, as failures cite it
	Options []Option // --name=value lines before the first event
	Events  []*Event

	// InitCommand and CleanupCommand are the two backquoted commands
	// packetdrill allows without a time: one right after the options
	// (the Linux scripts start with `../common/defaults.sh`), run
	// before the first event, and one after the last event, run when
	// the script ends. nil when absent; otherwise only Line and
	// Command are set.
	InitCommand, CleanupCommand *Event
}

// Option is one --name=value line at the top of a script.
type Option struct {
	Line        int
	Name, Value string // Value is "" for a bare --name
}

// TimeKind says how an event's time is written.
type TimeKind int

const (
	TimeAbsolute TimeKind = iota // 0.100: seconds since the script started
	TimeRelative                 // +0.100: seconds after the previous event
	TimeAny                      // *: whenever it happens (outbound packets only)
)

// Event is one timed line.
type Event struct {
	Line int // line number of the event's first character, 1-based
	Kind TimeKind
	// Time is the event's time as written: for TimeAbsolute since the
	// start, for TimeRelative since the previous event's time.
	Time time.Duration
	// End, when HasEnd, ends a range, measured from the same base as
	// Time (the script's start, or the previous event for TimeRelative):
	// "0.1~0.2" or "+0.1~+0.2" for a packet that may happen any time in
	// between (RangeKind '~'); "0.1...0.2" or "+0...0.100" for a
	// blocking call that starts at Time and returns at End (RangeKind
	// '.'). packetdrill reads "+0...0.100" after an event at 0.2 as a
	// call from 0.2 that returns at 0.3.
	End       time.Duration
	HasEnd    bool
	RangeKind byte

	// Ifdef, when not "", is the NAME of the "#ifdef NAME ... #endif"
	// block around the event (an extension of NPLab's packetdrill,
	// which the FreeBSD tcp-testsuite uses to give a FreeBSD and a
	// STANDARD variant of a step). packetdrill runs the event only
	// when NAME is defined: by --define=NAME or -D NAME, or as the
	// name of the OS it runs on (FreeBSD, Linux, ...).
	Ifdef string

	// Exactly one of these is set.
	Packet  *Packet
	Syscall *Syscall
	Command *Command
	Code    *Code
}

// Direction is where a packet goes.
type Direction byte

const (
	Inbound  Direction = '<' // injected: the remote peer sends it to the stack
	Outbound Direction = '>' // expected: the stack must send it
)

// Packet is a TCP segment line (UDP and ICMP lines parse to Proto "udp"
// or "icmp" and are reported as unsupported by the runner).
type Packet struct {
	Dir   Direction
	Proto string // "tcp", "udp", "icmp"

	// ECN is the IP ECN codepoint written in brackets before the flags:
	// "noecn", "ect0", "ect1", "ect01", "ce", or "" when absent.
	ECN string
	// TOS, TTL and FlowLabel are the other IP header fields that may be
	// written in the same brackets: "(tos 0x20)", "[ttl 4]",
	// "(flowlabel 0x12345)" (IPv6), each set only when its Has is.
	// NPLab's IPv6 spellings "class 0x20" and "hlim 4" set TOS and TTL.
	TOS          uint8
	HasTOS       bool
	TTL          uint8
	HasTTL       bool
	FlowLabel    uint32
	HasFlowLabel bool
	// Flags as written: any of S F P R . E W U; "." means ACK. A "-"
	// (no flags at all) is stored as "".
	Flags string
	// Seq, SeqEnd and Len are "start:end(len)".
	Seq, SeqEnd uint32
	Len         int
	// SeqAbsolute is set for "start:end(len)!": the numbers are the
	// sequence numbers on the wire, not relative to the initial one.
	// SeqAny is set for "...(len)": any sequence number (Seq and SeqEnd
	// are 0). Both are extensions of NPLab's packetdrill, which the
	// FreeBSD tcp-testsuite uses.
	SeqAbsolute bool
	SeqAny      bool

	// Ack is set when "ack N" is present.
	Ack    uint32
	HasAck bool
	// Win is set when "win N" is present.
	Win    uint32
	HasWin bool
	// Urg is set when "urg N" is present.
	Urg    uint32
	HasUrg bool

	// Options is the <...> list. OptionsAny is set for "<...>" (any
	// options at all); HasOptions when a list was written (an empty
	// "<>" means no options).
	Options    []TCPOption
	OptionsAny bool
	HasOptions bool

	// UDPEncap is set when the segment ends with "/udp(SRC > DST)":
	// TCP carried in UDP (RFC 8539's TCP-over-UDP, NPLab's packetdrill).
	UDPEncap               bool
	UDPSrcPort, UDPDstPort uint16

	// Text is, for UDP and ICMP, the packet as written from the
	// protocol name on: "udp (100)", "icmp unreachable frag_needed
	// mtu 1234 [0:0(0)]". A UDP packet's payload length is also in Len.
	Text string
}

// TCPOption is one entry of a <...> list.
type TCPOption struct {
	Kind string // "nop", "eol", "mss", "wscale", "sackOK", "sack", "TS", "FO", "md5", "exp", or the raw name
	// Value for mss and wscale.
	Value uint32
	// SACK blocks for "sack a:b c:d".
	SACK [][2]uint32
	// TSVal, TSEcr for "TS val N ecr N".
	TSVal, TSEcr uint32
	// Raw is the option as written, for messages and unknown kinds.
	Raw string
}

// Syscall is "name(args) = result [ERRNO (text)]".
type Syscall struct {
	Name string
	Args []Expr
	// Result is the expected return value; ResultAny for "= ...".
	Result    Expr
	Errno     string // "EINPROGRESS", or "" when none is given
	ErrnoText string // the "(Operation now in progress)" note
	// Note is a parenthesised annotation after a non-error result, e.g.
	// "= 0x02 (flags O_RDWR)".
	Note string
}

// ExprKind tells an expression's shape.
type ExprKind int

const (
	ExprEllipsis ExprKind = iota // ...: any value, or "fill in the address"
	ExprInt                      // 42, -1, 0x02
	ExprName                     // SOL_SOCKET, O_RDWR, ECONNRESET
	ExprOr                       // A|B|C (Items)
	ExprString                   // "text"
	ExprArray                    // [1] or [a, b] (Items)
	ExprStruct                   // {name=value, ...} (Fields)
	ExprCall                     // htons(8080), inet_addr("1.2.3.4") (Name, Items)
	ExprBinary                   // a op b for the few scripts that compute (Name is the op, Items two)
)

// Expr is one argument or result of a socket call.
type Expr struct {
	Kind   ExprKind
	Int    int64
	Name   string // ExprName, ExprCall's function, ExprBinary's operator
	Str    string // ExprString
	Items  []Expr // ExprOr, ExprArray, ExprCall's arguments, ExprBinary
	Fields []Field
}

// Field is one name=value of a struct expression.
type Field struct {
	Name  string
	Value Expr
}

// Command is a shell command in backquotes. The runner never executes
// it: it maps the sysctl knobs it knows onto the host's configuration and
// reports the rest as ignored.
type Command struct {
	Text string
}

// Code is an inline %{ ... }% block (Python in packetdrill). The runner
// evaluates the simple assertions on tcp_info that packetwalk can answer.
type Code struct {
	Text string
}
