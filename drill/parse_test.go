package drill

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Small constructors keep the expected expression trees readable.
func eInt(n int64) Expr             { return Expr{Kind: ExprInt, Int: n} }
func eName(s string) Expr           { return Expr{Kind: ExprName, Name: s} }
func eStr(s string) Expr            { return Expr{Kind: ExprString, Str: s} }
func eAny() Expr                    { return Expr{Kind: ExprEllipsis} }
func eOr(items ...Expr) Expr        { return Expr{Kind: ExprOr, Items: items} }
func eArr(items ...Expr) Expr       { return Expr{Kind: ExprArray, Items: items} }
func eStruct(fs ...Field) Expr      { return Expr{Kind: ExprStruct, Fields: fs} }
func eField(n string, v Expr) Field { return Field{Name: n, Value: v} }
func eCall(n string, args ...Expr) Expr {
	return Expr{Kind: ExprCall, Name: n, Items: args}
}

func mustParse(t *testing.T, src string) *Script {
	t.Helper()
	s, err := Parse("t.pkt", []byte(src))
	if err != nil {
		t.Fatalf("Parse(%q): %v", src, err)
	}
	return s
}

// oneEvent parses a script of one event and returns it.
func oneEvent(t *testing.T, src string) *Event {
	t.Helper()
	s := mustParse(t, src)
	if len(s.Events) != 1 {
		t.Fatalf("Parse(%q): got %d events, want 1", src, len(s.Events))
	}
	return s.Events[0]
}

func us(n int64) time.Duration { return time.Duration(n) * time.Microsecond }

func TestParseTimes(t *testing.T) {
	// Each line is followed by an outbound packet so that every kind
	// of time is allowed.
	tests := []struct {
		time      string
		kind      TimeKind
		at, end   time.Duration
		hasEnd    bool
		rangeKind byte
	}{
		{"0", TimeAbsolute, 0, 0, false, 0},
		{"0.100", TimeAbsolute, us(100000), 0, false, 0},
		{".1", TimeAbsolute, us(100000), 0, false, 0},
		{"1.000001", TimeAbsolute, us(1000001), 0, false, 0},
		{"2.5000000", TimeAbsolute, us(2500000), 0, false, 0}, // zeros past the microsecond are fine
		{"+.1", TimeRelative, us(100000), 0, false, 0},
		{"+0", TimeRelative, 0, 0, false, 0},
		{"+ 0.003", TimeRelative, us(3000), 0, false, 0},
		{"*", TimeAny, 0, 0, false, 0},
		{"0.1~0.2", TimeAbsolute, us(100000), us(200000), true, '~'},
		{"+0~+0.1", TimeRelative, 0, us(100000), true, '~'},
		{"+.004~+.008", TimeRelative, us(4000), us(8000), true, '~'},
	}
	for _, tt := range tests {
		ev := oneEvent(t, tt.time+" > . 1:1(0) ack 1\n")
		if ev.Kind != tt.kind || ev.Time != tt.at || ev.End != tt.end || ev.HasEnd != tt.hasEnd || ev.RangeKind != tt.rangeKind {
			t.Errorf("%q: got kind %d time %v end %v hasEnd %v range %q; want %d %v %v %v %q",
				tt.time, ev.Kind, ev.Time, ev.End, ev.HasEnd, ev.RangeKind,
				tt.kind, tt.at, tt.end, tt.hasEnd, tt.rangeKind)
		}
	}
}

func TestParseBlockingTimes(t *testing.T) {
	tests := []struct {
		src     string
		kind    TimeKind
		at, end time.Duration
	}{
		{"+0...0.100 read(4, ..., 10) = 10", TimeRelative, 0, us(100000)},
		{"0.1...0.2 accept(3, ..., ...) = 4", TimeAbsolute, us(100000), us(200000)},
		{"+.1...0.200 connect(3, ..., ...) = 0", TimeRelative, us(100000), us(200000)},
		{"+0 ...0.010 poll([], 0, 10) = 0", TimeRelative, 0, us(10000)},
		{"+0...0 connect(4, ..., ...) = 0", TimeRelative, 0, 0},
	}
	for _, tt := range tests {
		ev := oneEvent(t, tt.src)
		if ev.Kind != tt.kind || ev.Time != tt.at || ev.End != tt.end || !ev.HasEnd || ev.RangeKind != '.' || ev.Syscall == nil {
			t.Errorf("%q: got kind %d time %v end %v hasEnd %v range %q syscall %v",
				tt.src, ev.Kind, ev.Time, ev.End, ev.HasEnd, ev.RangeKind, ev.Syscall != nil)
		}
	}
}

func TestParseScriptStructure(t *testing.T) {
	src := `// A comment at the top.
/* A block comment
   over two lines. */
--tolerance_usecs=10000
--ip_version=ipv4   // the address family
--mtu=1280
--strict_segments
--local_ip=fd::1
--define=CC="reno"

` + "`../common/defaults.sh`" + `

0    socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0   ` + "`sysctl -w net.inet.tcp.sack.enable=1\n     echo done`" + `
+.1  %{
assert tcpi_state == TCP_ESTABLISHED, tcpi_state
}%
+0   %{ assert tcpi_snd_cwnd == 10 }%
` + "`echo cleanup`\n"
	s := mustParse(t, src)
	wantOpts := []Option{
		{Line: 4, Name: "tolerance_usecs", Value: "10000"},
		{Line: 5, Name: "ip_version", Value: "ipv4"},
		{Line: 6, Name: "mtu", Value: "1280"},
		{Line: 7, Name: "strict_segments"},
		{Line: 8, Name: "local_ip", Value: "fd::1"},
		{Line: 9, Name: "define", Value: `CC="reno"`},
	}
	if !reflect.DeepEqual(s.Options, wantOpts) {
		t.Errorf("options:\n got %+v\nwant %+v", s.Options, wantOpts)
	}
	if s.InitCommand == nil || s.InitCommand.Line != 11 || s.InitCommand.Command.Text != "../common/defaults.sh" {
		t.Errorf("init command: got %+v", s.InitCommand)
	}
	if s.CleanupCommand == nil || s.CleanupCommand.Line != 20 || s.CleanupCommand.Command.Text != "echo cleanup" {
		t.Errorf("cleanup command: got %+v", s.CleanupCommand)
	}
	if len(s.Events) != 4 {
		t.Fatalf("got %d events, want 4", len(s.Events))
	}
	lines := []int{13, 14, 16, 19}
	for i, ev := range s.Events {
		if ev.Line != lines[i] {
			t.Errorf("event %d: line %d, want %d", i, ev.Line, lines[i])
		}
	}
	if got := s.Events[1].Command; got == nil || got.Text != "sysctl -w net.inet.tcp.sack.enable=1\n     echo done" {
		t.Errorf("command: got %+v", got)
	}
	if got := s.Events[2].Code; got == nil || got.Text != "assert tcpi_state == TCP_ESTABLISHED, tcpi_state" {
		t.Errorf("multi-line code: got %+v", got)
	}
	if got := s.Events[3].Code; got == nil || got.Text != "assert tcpi_snd_cwnd == 10" {
		t.Errorf("one-line code: got %+v", got)
	}
	if s.Name != "t.pkt" {
		t.Errorf("name %q", s.Name)
	}
}

func TestParseIfdef(t *testing.T) {
	s := mustParse(t, `0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
#ifdef STANDARD
+0 > . 1:1(0) ack 1
#endif
#ifdef FreeBSD
+0 > S. ...(0) ack 1
#endif
+0 close(3) = 0
`)
	want := []string{"", "STANDARD", "FreeBSD", ""}
	for i, ev := range s.Events {
		if ev.Ifdef != want[i] {
			t.Errorf("event %d: Ifdef %q, want %q", i, ev.Ifdef, want[i])
		}
	}
}

func TestParsePackets(t *testing.T) {
	tests := []struct {
		src  string
		want Packet
	}{
		{"0 < S 0:0(0) win 32792", Packet{Dir: Inbound, Proto: "tcp", Flags: "S", Win: 32792, HasWin: true}},
		{"0 > S. 0:0(0) ack 1 win 65535", Packet{Dir: Outbound, Proto: "tcp", Flags: "S.", Ack: 1, HasAck: true, Win: 65535, HasWin: true}},
		{"0 < P. 1:1001(1000) ack 1 win 257", Packet{Dir: Inbound, Proto: "tcp", Flags: "P.", Seq: 1, SeqEnd: 1001, Len: 1000, Ack: 1, HasAck: true, Win: 257, HasWin: true}},
		{"0 < . 1:1(0) win 257 ack 1", Packet{Dir: Inbound, Proto: "tcp", Flags: ".", Seq: 1, SeqEnd: 1, Ack: 1, HasAck: true, Win: 257, HasWin: true}},
		{"0 < F . 1:1(0) ack 1", Packet{Dir: Inbound, Proto: "tcp", Flags: "F.", Seq: 1, SeqEnd: 1, Ack: 1, HasAck: true}},
		{"0 < SEW 0:0(0) win 100", Packet{Dir: Inbound, Proto: "tcp", Flags: "SEW", Win: 100, HasWin: true}},
		{"0 > S.E 0:0(0) ack 1", Packet{Dir: Outbound, Proto: "tcp", Flags: "S.E", Ack: 1, HasAck: true}},
		{"0 < R 0:0(0) win 0", Packet{Dir: Inbound, Proto: "tcp", Flags: "R", HasWin: true}},
		{"0 < - 1:1001(1000) win 100", Packet{Dir: Inbound, Proto: "tcp", Flags: "", Seq: 1, SeqEnd: 1001, Len: 1000, Win: 100, HasWin: true}},
		{"0 < U. 1:101(100) ack 1 win 257 urg 100", Packet{Dir: Inbound, Proto: "tcp", Flags: "U.", Seq: 1, SeqEnd: 101, Len: 100, Ack: 1, HasAck: true, Win: 257, HasWin: true, Urg: 100, HasUrg: true}},
		// Sequence numbers wrap: 4294967295:9(10) is 10 bytes.
		{"0 < . 4294967295:9(10) ack 1", Packet{Dir: Inbound, Proto: "tcp", Flags: ".", Seq: 4294967295, SeqEnd: 9, Len: 10, Ack: 1, HasAck: true}},
		{"0 > [ect0] P. 1:11(10) ack 1", Packet{Dir: Outbound, Proto: "tcp", ECN: "ect0", Flags: "P.", Seq: 1, SeqEnd: 11, Len: 10, Ack: 1, HasAck: true}},
		{"0 < [noecn] E. 1:1(0) ack 1", Packet{Dir: Inbound, Proto: "tcp", ECN: "noecn", Flags: "E.", Seq: 1, SeqEnd: 1, Ack: 1, HasAck: true}},
		{"0 > [ect01] . 1:1(0) ack 1", Packet{Dir: Outbound, Proto: "tcp", ECN: "ect01", Flags: ".", Seq: 1, SeqEnd: 1, Ack: 1, HasAck: true}},
		{"0 < [ce] . 1:1(0) ack 1", Packet{Dir: Inbound, Proto: "tcp", ECN: "ce", Flags: ".", Seq: 1, SeqEnd: 1, Ack: 1, HasAck: true}},
		{"0 < (tos 0x28) . 1:1(0) ack 1", Packet{Dir: Inbound, Proto: "tcp", TOS: 0x28, HasTOS: true, Flags: ".", Seq: 1, SeqEnd: 1, Ack: 1, HasAck: true}},
		{"0 > (ttl 4) R. 0:0(0)! ack 1 win 0", Packet{Dir: Outbound, Proto: "tcp", TTL: 4, HasTTL: true, Flags: "R.", SeqAbsolute: true, Ack: 1, HasAck: true, HasWin: true}},
		{"0 > [ect1, flowlabel 0x1234] . 1:1(0)", Packet{Dir: Outbound, Proto: "tcp", ECN: "ect1", FlowLabel: 0x1234, HasFlowLabel: true, Flags: ".", Seq: 1, SeqEnd: 1}},
		{"0 > S. ...(0) ack 1", Packet{Dir: Outbound, Proto: "tcp", Flags: "S.", SeqAny: true, Ack: 1, HasAck: true}},
		{"0 < F. 1:1(0) ack 1 win 100/udp(1 > 9811)", Packet{Dir: Inbound, Proto: "tcp", Flags: "F.", Seq: 1, SeqEnd: 1, Ack: 1, HasAck: true, Win: 100, HasWin: true, UDPEncap: true, UDPSrcPort: 1, UDPDstPort: 9811}},
		{"0 < udp (1000)", Packet{Dir: Inbound, Proto: "udp", Len: 1000, Text: "udp (1000)"}},
		{"0 > udp 5000>6000 (20)", Packet{Dir: Outbound, Proto: "udp", Len: 20, Text: "udp 5000>6000 (20)"}},
		{"0 < icmp unreachable frag_needed mtu 1234 [0:0(0)]", Packet{Dir: Inbound, Proto: "icmp", Text: "icmp unreachable frag_needed mtu 1234 [0:0(0)]"}},
		{"0 <icmp redirect [0:0(0)]", Packet{Dir: Inbound, Proto: "icmp", Text: "icmp redirect [0:0(0)]"}},
		{"0 < icmp unreachable port_unreachable [udp (100)]", Packet{Dir: Inbound, Proto: "icmp", Text: "icmp unreachable port_unreachable [udp (100)]"}},
		{"0 > S 0:0(0) <...>", Packet{Dir: Outbound, Proto: "tcp", Flags: "S", OptionsAny: true, HasOptions: true}},
		{"0 > S 0:0(0) <>", Packet{Dir: Outbound, Proto: "tcp", Flags: "S", HasOptions: true}},
	}
	for _, tt := range tests {
		ev := oneEvent(t, tt.src)
		if ev.Packet == nil {
			t.Errorf("%q: not a packet: %+v", tt.src, ev)
			continue
		}
		if !reflect.DeepEqual(*ev.Packet, tt.want) {
			t.Errorf("%q:\n got %+v\nwant %+v", tt.src, *ev.Packet, tt.want)
		}
	}
}

func TestParseTCPOptions(t *testing.T) {
	tests := []struct {
		list string
		want []TCPOption
	}{
		{"<mss 1460,nop,wscale 7>", []TCPOption{
			{Kind: "mss", Value: 1460, Raw: "mss 1460"},
			{Kind: "nop", Raw: "nop"},
			{Kind: "wscale", Value: 7, Raw: "wscale 7"},
		}},
		{"<sackOK,TS val 100 ecr 0,eol>", []TCPOption{
			{Kind: "sackOK", Raw: "sackOK"},
			{Kind: "TS", TSVal: 100, TSEcr: 0, Raw: "TS val 100 ecr 0"},
			{Kind: "eol", Raw: "eol"},
		}},
		{"<nop,nop,sack 1:2 3:4>", []TCPOption{
			{Kind: "nop", Raw: "nop"},
			{Kind: "nop", Raw: "nop"},
			{Kind: "sack", SACK: [][2]uint32{{1, 2}, {3, 4}}, Raw: "sack 1:2 3:4"},
		}},
		{"<sack 4381:5841, nop, nop>", []TCPOption{
			{Kind: "sack", SACK: [][2]uint32{{4381, 5841}}, Raw: "sack 4381:5841"},
			{Kind: "nop", Raw: "nop"},
			{Kind: "nop", Raw: "nop"},
		}},
		{"<FO abcd,FO,FOEXP 0011,FO TFO_COOKIE>", []TCPOption{
			{Kind: "FO", Raw: "FO abcd"},
			{Kind: "FO", Raw: "FO"},
			{Kind: "FOEXP", Raw: "FOEXP 0011"},
			{Kind: "FO", Raw: "FO TFO_COOKIE"},
		}},
		{"<md5 000102030405060708090a0b0c0d0e0f,md5 valid>", []TCPOption{
			{Kind: "md5", Raw: "md5 000102030405060708090a0b0c0d0e0f"},
			{Kind: "md5", Raw: "md5 valid"},
		}},
		// Unknown options are kept as written, for the runner to report.
		{"<ECN e0b 1 ceb 0,exp 0xf989 01>", []TCPOption{
			{Kind: "ECN", Raw: "ECN e0b 1 ceb 0"},
			{Kind: "exp", Raw: "exp 0xf989 01"},
		}},
	}
	for _, tt := range tests {
		src := "0 > S. 0:0(0) ack 1 " + tt.list
		ev := oneEvent(t, src)
		p := ev.Packet
		if !p.HasOptions || p.OptionsAny || !reflect.DeepEqual(p.Options, tt.want) {
			t.Errorf("%q:\n got %+v (has %v any %v)\nwant %+v", tt.list, p.Options, p.HasOptions, p.OptionsAny, tt.want)
		}
	}
}

func TestParseSyscalls(t *testing.T) {
	tests := []struct {
		src  string
		want Syscall
	}{
		{"0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3",
			Syscall{Name: "socket", Args: []Expr{eAny(), eName("SOCK_STREAM"), eName("IPPROTO_TCP")}, Result: eInt(3)}},
		{"0 getpid() = ...",
			Syscall{Name: "getpid", Result: eAny()}},
		{"0 connect(3, ..., ...) = -1 EINPROGRESS (Operation now in progress)",
			Syscall{Name: "connect", Args: []Expr{eInt(3), eAny(), eAny()}, Result: eInt(-1), Errno: "EINPROGRESS", ErrnoText: "Operation now in progress"}},
		{"0 fcntl(3, F_GETFL) = 0x02 (flags O_RDWR)",
			Syscall{Name: "fcntl", Args: []Expr{eInt(3), eName("F_GETFL")}, Result: eInt(2), Note: "flags O_RDWR"}},
		{"0 fcntl(3, F_SETFL, O_RDWR|O_NONBLOCK) = 0",
			Syscall{Name: "fcntl", Args: []Expr{eInt(3), eName("F_SETFL"), eOr(eName("O_RDWR"), eName("O_NONBLOCK"))}, Result: eInt(0)}},
		{"0 fcntl(3, F_SETFL, O_RDWR | O_NONBLOCK | O_CLOEXEC) = 0",
			Syscall{Name: "fcntl", Args: []Expr{eInt(3), eName("F_SETFL"), eOr(eName("O_RDWR"), eName("O_NONBLOCK"), eName("O_CLOEXEC"))}, Result: eInt(0)}},
		{"0 setsockopt(3, SOL_SOCKET, SO_REUSEADDR, [1], 4) = 0",
			Syscall{Name: "setsockopt", Args: []Expr{eInt(3), eName("SOL_SOCKET"), eName("SO_REUSEADDR"), eArr(eInt(1)), eInt(4)}, Result: eInt(0)}},
		{"0 getsockopt(3, SOL_SOCKET, SO_ERROR, [ECONNRESET], [4]) = 0",
			Syscall{Name: "getsockopt", Args: []Expr{eInt(3), eName("SOL_SOCKET"), eName("SO_ERROR"), eArr(eName("ECONNRESET")), eArr(eInt(4))}, Result: eInt(0)}},
		{"0 setsockopt(3, SOL_SOCKET, SO_LINGER, {l_onoff=1, l_linger=0}, 8) = 0",
			Syscall{Name: "setsockopt", Args: []Expr{eInt(3), eName("SOL_SOCKET"), eName("SO_LINGER"),
				eStruct(eField("l_onoff", eInt(1)), eField("l_linger", eInt(0))), eInt(8)}, Result: eInt(0)}},
		{`0 connect(3, {sa_family=AF_INET, sin_port=htons(8080), sin_addr=inet_addr("192.0.2.1")}, 16) = 0`,
			Syscall{Name: "connect", Args: []Expr{eInt(3), eStruct(
				eField("sa_family", eName("AF_INET")),
				eField("sin_port", eCall("htons", eInt(8080))),
				eField("sin_addr", eCall("inet_addr", eStr("192.0.2.1")))), eInt(16)}, Result: eInt(0)}},
		{"0 poll([{fd=4, events=POLLIN|POLLOUT, revents=POLLIN}], 1, 0) = 1",
			Syscall{Name: "poll", Args: []Expr{eArr(eStruct(
				eField("fd", eInt(4)),
				eField("events", eOr(eName("POLLIN"), eName("POLLOUT"))),
				eField("revents", eName("POLLIN")))), eInt(1), eInt(0)}, Result: eInt(1)}},
		{"0 getsockopt(4, SOL_TCP, TCP_INFO, {tcpi_state=TCP_ESTABLISHED, ...}, [104]) = 0",
			Syscall{Name: "getsockopt", Args: []Expr{eInt(4), eName("SOL_TCP"), eName("TCP_INFO"),
				eStruct(eField("tcpi_state", eName("TCP_ESTABLISHED")), eField("", eAny())), eArr(eInt(104))}, Result: eInt(0)}},
		{"0 recvmsg(4, {msg_name(...)=...,\n    msg_iov(1)=[{..., 4}],\n    msg_flags=0}, 0) = 4",
			Syscall{Name: "recvmsg", Args: []Expr{eInt(4), eStruct(
				eField("msg_name(...)", eAny()),
				eField("msg_iov(1)", eArr(eStruct(eField("", eAny()), eField("", eInt(4))))),
				eField("msg_flags", eInt(0))), eInt(0)}, Result: eInt(4)}},
		{`0 write(4, "a\tb\n\"c\"\\\x41" "z", 10) = 10`,
			Syscall{Name: "write", Args: []Expr{eInt(4), eStr("a\tb\n\"c\"\\Az"), eInt(10)}, Result: eInt(10)}},
		{"0 setsockopt(3, SOL_TCP, TCP_CONGESTION, [], 0) = -1 (Invalid Argument)",
			Syscall{Name: "setsockopt", Args: []Expr{eInt(3), eName("SOL_TCP"), eName("TCP_CONGESTION"), eArr(), eInt(0)}, Result: eInt(-1), Note: "Invalid Argument"}},
		{"0 ioctl(4, FIONREAD, [0xffffffff]) = 0",
			Syscall{Name: "ioctl", Args: []Expr{eInt(4), eName("FIONREAD"), eArr(eInt(0xffffffff))}, Result: eInt(0)}},
		{"0 foo(x=1) = 0",
			Syscall{Name: "foo", Args: []Expr{{Kind: ExprBinary, Name: "=", Items: []Expr{eName("x"), eInt(1)}}}, Result: eInt(0)}},
	}
	for _, tt := range tests {
		ev := oneEvent(t, tt.src)
		if ev.Syscall == nil {
			t.Errorf("%q: not a system call: %+v", tt.src, ev)
			continue
		}
		if !reflect.DeepEqual(*ev.Syscall, tt.want) {
			t.Errorf("%q:\n got %+v\nwant %+v", tt.src, *ev.Syscall, tt.want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	deep := "0 f(" + strings.Repeat("[", 40) + strings.Repeat("]", 40) + ") = 0"
	tests := []struct {
		src  string
		line int
		msg  string // a substring of the message after "t.pkt:LINE: "
	}{
		{"", 1, "the script has no events"},
		{"// only a comment\n", 2, "the script has no events"},
		{"0 close(3)\n", 2, `expected "=" and the expected result after the call to close, found the end of the file`},
		{"0 close(3) 0\n", 1, `expected "=" and the expected result after the call to close, found the number 0`},
		{"0 close(3) =\n+0 close(4) = 0", 2, `expected the result of close after "=", found "+"`},
		{"0 socket(..., SOCK_STREAM\n+0 close(3) = 0\n", 2, `expected "," or ")" in the system call's arguments, found "+"`},
		{"0 > S 0:0(0)\n< S 0:0(0) win 10\n", 2, "this line looks like a packet but has no time"},
		{"0 > S 0:0(0)\n< . 1:1(0) win 10\n", 2, "this line looks like a packet but has no time"},
		{"0 > S 0:0(0) < 1 >\n", 1, "expected a TCP option name after \"<\", found the number 1"},
		{"0 > S. 0:10(5) ack 1\n", 1, "inconsistent sequence numbers and payload length: 0:10 is 10 bytes, not 5"},
		{"0 > S. 0:0(0) ack 4294967296\n", 1, "the acknowledgment number 4294967296 does not fit in 32 bits"},
		{"0 > S. 0:0(0) win 65536\n", 1, "the window 65536 does not fit in 16 bits"},
		{"0 > S. 0:0(0) ack 1 ack 2\n", 1, `"ack" is given twice`},
		{"0 > SX 0:0(0)\n", 1, `"X" is not a TCP flag in "SX"`},
		{"0 > .1:1(0) ack 1\n", 1, `put a space between "." and the sequence numbers`},
		{"0 > sctp INIT\n", 1, "sctp packets are not supported"},
		{"0 > [bogus] S 0:0(0)\n", 1, `unknown IP header field "bogus"`},
		{"0 < [ect01] S 0:0(0)\n", 1, "[ect01] (either ECT codepoint) can only be used with outbound packets"},
		{"0 < S 0:0(0) <...>\n", 1, "<...> (any TCP options) can only be used with outbound packets"},
		{"0 > S 0:0(0) <mss 1460 nop>\n", 1, `expected "," or ">" after the TCP option, found "nop"`},
		{"0 > S 0:0(0) <mss 70000>\n", 1, "the mss value 70000 does not fit in 16 bits"},
		{"0 > S 0:0(0) <TS val 1>\n", 1, `expected "ecr" after the timestamp value`},
		{"0 > S 0:0(0) <FO abc>\n", 1, `the Fast Open cookie "abc" has an odd number of hex digits`},
		{"0 > S 0:0(0) <mss 1460,\n", 2, "expected a TCP option name, found the end of the file"},
		{"0 > S 0:0(0) <foo 1 2\n", 1, `the TCP option list is never closed with ">"`},
		{"0 > S 0:0(0) <foo 1 2\n+0 close(3) = 0 // >\n", 1, `the TCP option list is never closed with ">"`},
		{"* close(3) = 0\n", 1, "the time * (any time) can only be used with outbound packets"},
		{"0.1~0.2 < S 0:0(0)\n", 1, "a time range (~) can only be used with outbound packets"},
		{"0.2~0.1 > S 0:0(0)\n", 1, "the time range is backwards"},
		{"+0.1~0.2 > S 0:0(0)\n", 1, "a range that starts with a relative time must end with one too"},
		{"0.1~+0.2 > S 0:0(0)\n", 1, "a range that starts with an absolute time must end with one too"},
		{"+0.3...0.1 read(3, ..., 1) = 1\n", 1, `the blocking call ends (after "...") before it starts`},
		{"+0...+0.1 read(3, ..., 1) = 1\n", 1, `the end time after "..." has no "+"`},
		{"+0...0.1 > S 0:0(0)\n", 1, `expected a system call after the blocking time "...0.1", found ">"`},
		{"0.0000001 close(3) = 0\n", 1, "more precise than a microsecond"},
		{"12345678901 close(3) = 0\n", 1, "too large"},
		{"-1 close(3) = 0\n", 1, "times cannot be negative"},
		{"0 > S 0:0(0) 5\n+0 close(3) = 0\n", 1, "found the number 5 after the end of the event before it"},
		{"  0 bogus\n", 2, "expected \"(\" after the system call name \"bogus\", found the end of the file"},
		{"  0 < \n", 2, "expected TCP flags (such as S, S., P., F., R or .), found the end of the file"},
		{"  0 \n", 2, "expected a packet (< or >), a system call, a `command` or a %{ code }% block after the time, found the end of the file"},
		{"close(3) = 0\n", 1, `expected a time at the start of the line (such as 0.100, +0 or *), found "close"`},
		{"0 close(3) = 0 (a note\n", 1, "the note in parentheses after the result is never closed"},
		{"0 close(3) = 0\n+0 > S 0:0(0) ack 1 win 10 foo\n", 2, `expected ack, win, urg or <options> in the packet, found "foo"`},
		{"0 close(3) = 0 ]\n", 1, `expected a new event (starting with a time) after the system call, found "]"`},
		{"0 close(3) = 0\n--mtu=1000\n", 2, "option --mtu must come first"},
		{"--mtu=\n0 close(3) = 0\n", 1, `option --mtu has an "=" but no value`},
		{"`a`\n`b`\n0 close(3) = 0\n", 2, "this `command` has no time"},
		{"0 close(3) = 0\n/* never closed\n\n", 2, "the /* comment is never closed with */"},
		{"0 `echo\n\n", 1, "the `command` is never closed with `"},
		{"0 %{ assert x\n", 1, "the %{ code block is never closed with }%"},
		{"0 write(3, \"abc, 3) = 3\n", 1, `the string is never closed with "`},
		{`0 write(3, "a\q", 3) = 3`, 1, `unknown escape "\\q" in a string`},
		{"0 f(99999999999999999999) = 0\n", 1, "the number 99999999999999999999 is too large for 64 bits"},
		{"0 f(- 1) = 0\n", 1, `expected a number right after "-"`},
		{"0 f(\xc3\xa9) = 0\n", 1, "found the byte 0xc3"},
		{"0 f(1) = 0 \"x\"\n", 1, `expected a new event (starting with a time) after the system call, found the string "x"`},
		{deep, 1, "expressions are nested more than 32 deep"},
		{"0 f(" + strings.Repeat("1,", 1025) + "1) = 0", 1, "more than 1024 items in the system call's arguments"},
		{"0 f(A" + strings.Repeat("|A", 1025) + ") = 0", 1, "more than 1024 items in an A|B|C expression"},
		{"0 > S 0:0(0) <" + strings.Repeat("nop,", 40) + "nop>", 1, "more than 40 TCP options"},
		{"0 > . 1:1(0) <sack 1:2 3:4 5:6 7:8 9:10>", 1, "a SACK option holds at most 4 blocks"},
		{"0 close(3) = 0\n#ifdef A\n#ifdef B\n#endif\n", 3, "#ifdef B is inside the #ifdef A of line 2"},
		{"0 close(3) = 0\n#endif\n", 2, "#endif without an #ifdef before it"},
		{"#ifdef A\n0 close(3) = 0\n", 1, "#ifdef A is never closed with #endif"},
		{"0 < udp 100\n", 1, `expected "(" and the payload length after "udp"`},
		{"0 < icmp\n", 2, "expected the ICMP type after \"icmp\""},
		{"0 < icmp unreachable [0:0(0)\n+0 close(3) = 0", 1, `the quoted packet after "[" is never closed with "]"`},
	}
	for _, tt := range tests {
		_, err := Parse("t.pkt", []byte(tt.src))
		var se *SyntaxError
		if !errors.As(err, &se) {
			t.Errorf("Parse(%q): got %v, want a *SyntaxError", short(tt.src), err)
			continue
		}
		prefix := "t.pkt:" + strconv.Itoa(tt.line) + ": "
		if got := err.Error(); !strings.HasPrefix(got, prefix) || !strings.Contains(got, tt.msg) {
			t.Errorf("Parse(%q):\n got %s\nwant %s...%s...", short(tt.src), got, prefix, tt.msg)
		}
	}
}

// short cuts a long script down for a failure message.
func short(src string) string {
	if len(src) > 80 {
		return src[:80] + "..."
	}
	return src
}

func TestParseTooLarge(t *testing.T) {
	src := make([]byte, maxScriptBytes+1)
	_, err := Parse("big.pkt", src)
	if err == nil || !strings.HasPrefix(err.Error(), "big.pkt:1: the script is") {
		t.Errorf("got %v, want a size error", err)
	}
}

// TestParseCorpusDir is a manual measurement, not a test of CI: it
// parses every .pkt file under $DRILL_CORPUS and logs the ones that do
// not parse. The public corpora are not part of this repository. To run
// it on, say, google/packetdrill's scripts:
//
//	DRILL_CORPUS=/tmp/corp/pd/gtests/net/tcp go test ./drill/ -run ParseCorpusDir -v
func TestParseCorpusDir(t *testing.T) {
	dir := os.Getenv("DRILL_CORPUS")
	if dir == "" {
		return // a manual measurement: nothing to do without a corpus
	}
	var ok, failed, ok6, failed6 int
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".pkt") {
			return err
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		_, perr := Parse(path, src)
		// The FreeBSD suite names its IPv6 variants *-ipv6.pkt.
		v6 := strings.Contains(filepath.Base(path), "ipv6")
		switch {
		case perr != nil && v6:
			failed6++
			t.Log(perr)
		case perr != nil:
			failed++
			t.Log(perr)
		case v6:
			ok6++
		default:
			ok++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("not ipv6: %d parsed, %d failed; ipv6: %d parsed, %d failed", ok, failed, ok6, failed6)
}
