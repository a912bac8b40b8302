package scenario

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"reflect"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/packetwalk/packetwalk/browser"
	"github.com/packetwalk/packetwalk/nic"
	"github.com/packetwalk/packetwalk/viz"
	"github.com/packetwalk/packetwalk/wire"
)

// maxFileBytes bounds a scenario or answers file.
const maxFileBytes = 1 << 20

// ReadFile reads and checks a scenario file.
func ReadFile(path string) (*Scenario, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read the scenario %s: %v", path, errors.Unwrap(err))
	}
	return Parse(path, data)
}

// Parse reads a scenario from data (file names it in messages) and checks
// it; an error is one sentence with file:line.
func Parse(file string, data []byte) (*Scenario, error) {
	var root yaml.Node
	if err := parseYAML(file, data, &root); err != nil {
		return nil, err
	}
	d := &decoder{file: file}
	sc := &Scenario{}
	if err := d.decode(&root, reflect.ValueOf(sc).Elem(), ""); err != nil {
		return nil, err
	}
	sc.File = file
	if err := sc.validate(); err != nil {
		return nil, err
	}
	return sc, nil
}

// parseYAML parses data into a node tree, turning yaml's messages
// ("yaml: line 3: mapping values are not allowed") into file:line ones.
func parseYAML(file string, data []byte, root *yaml.Node) error {
	if len(data) > maxFileBytes {
		return &Error{File: file, Msg: fmt.Sprintf("the file is %d bytes, more than the %d allowed", len(data), maxFileBytes)}
	}
	if err := yaml.Unmarshal(data, root); err != nil {
		msg := strings.TrimPrefix(err.Error(), "yaml: ")
		line := 0
		if m := yamlLine.FindStringSubmatch(msg); m != nil {
			line, _ = strconv.Atoi(m[1])
			msg = strings.TrimPrefix(msg, m[0])
		}
		return &Error{File: file, Line: line, Msg: "not valid YAML: " + msg}
	}
	if root.Kind == 0 || len(root.Content) == 0 {
		return &Error{File: file, Line: 1, Msg: "the file is empty"}
	}
	return nil
}

var yamlLine = regexp.MustCompile(`^line (\d+): `)

func (sc *Scenario) errf(line int, format string, args ...any) error {
	return &Error{File: sc.File, Line: line, Msg: fmt.Sprintf(format, args...)}
}

// Limits on what a scenario may ask for, so that a file cannot make a run
// grow without bound; each is reported by name when exceeded.
const (
	maxHosts       = 64
	maxTraffic     = 256
	maxConnections = 1000
	maxCount       = 10000
	maxTimeLimit   = 1 << 40 // about 18 minutes of virtual time, in ns
)

// validate checks everything that can be checked before a run: names
// refer to things that exist, addresses parse, values are in range.
func (sc *Scenario) validate() error {
	if sc.Seed == 0 {
		sc.Seed = 1
	}
	if sc.TimeLimit == 0 {
		sc.TimeLimit = Duration(defaultTimeLimit)
	}
	if sc.TimeLimit > maxTimeLimit {
		return sc.errf(sc.Line, "time_limit %v is more than the %v allowed", sc.TimeLimit.D(), Duration(maxTimeLimit).D())
	}
	if sc.Drain == 0 {
		sc.Drain = Duration(defaultDrain)
	}
	if len(sc.Hosts) == 0 {
		return sc.errf(1, "a scenario needs hosts: (at least one host with an interface)")
	}
	if len(sc.Hosts) > maxHosts {
		return sc.errf(sc.Hosts[maxHosts].Line, "more than %d hosts", maxHosts)
	}
	wires := map[string]bool{}
	for i := range sc.Wires {
		w := &sc.Wires[i]
		if w.Name == "" {
			return sc.errf(w.Line, "a wire needs a name:")
		}
		if wires[w.Name] {
			return sc.errf(w.Line, "two wires are called %q", w.Name)
		}
		wires[w.Name] = true
		if _, err := wire.ParseMode(orDefault(w.Mode, "hub")); err != nil {
			return sc.errf(w.Line, "wire %s: %v", w.Name, err)
		}
		for _, p := range []struct {
			name string
			v    float64
		}{{"loss", w.Loss}, {"dup", w.Dup}, {"reorder", w.Reorder}, {"corrupt", w.Corrupt}} {
			if p.v < 0 || p.v > 1 {
				return sc.errf(w.Line, "wire %s: %s %v is not a probability between 0 and 1", w.Name, p.name, p.v)
			}
		}
		for _, f := range w.Faults {
			if _, err := wire.ParseFault(f); err != nil {
				return sc.errf(w.Line, "wire %s: %v", w.Name, err)
			}
		}
		if _, err := w.PHY.config(); err != nil {
			return sc.errf(w.Line, "wire %s: phy: %v", w.Name, err)
		}
		if w.MTU != 0 && (w.MTU < 68 || w.MTU > 9000) {
			return sc.errf(w.Line, "wire %s: mtu %d is outside 68..9000", w.Name, w.MTU)
		}
	}
	hosts := map[string]*Host{}
	addrs := map[netip.Addr]string{}
	for i := range sc.Hosts {
		h := &sc.Hosts[i]
		switch {
		case h.Name == "":
			return sc.errf(h.Line, "a host needs a name:")
		case h.Name == injectorName:
			return sc.errf(h.Line, "the name %q is taken by crafted frames; choose another", h.Name)
		case hosts[h.Name] != nil:
			return sc.errf(h.Line, "two hosts are called %q", h.Name)
		}
		hosts[h.Name] = h
		switch orDefault(h.Kind, "packetwalk") {
		case "packetwalk":
		case "gvisor":
			if len(h.Interfaces) != 1 || h.Forwarding {
				return sc.errf(h.Line, "host %s: a gvisor host has exactly one interface and does not forward", h.Name)
			}
		default:
			return sc.errf(h.Line, "host %s: kind %q is not packetwalk or gvisor", h.Name, h.Kind)
		}
		if len(h.Interfaces) == 0 {
			return sc.errf(h.Line, "host %s has no interfaces:", h.Name)
		}
		if h.TTL < 0 || h.TTL > 255 {
			return sc.errf(h.Line, "host %s: ttl %d is outside 0..255", h.Name, h.TTL)
		}
		for j := range h.Interfaces {
			in := &h.Interfaces[j]
			if !wires[in.Wire] {
				return sc.errf(in.Line, "host %s: wire %q is not among the wires: %s", h.Name, in.Wire, sc.wireNames())
			}
			p, err := netip.ParsePrefix(in.Addr)
			if err != nil || !p.Addr().Is4() {
				return sc.errf(in.Line, "host %s: addr %q is not an IPv4 address with its prefix length, like 10.0.0.1/24", h.Name, in.Addr)
			}
			if other, dup := addrs[p.Addr()]; dup {
				return sc.errf(in.Line, "host %s: address %s is already %s's", h.Name, p.Addr(), other)
			}
			addrs[p.Addr()] = h.Name
			if in.MAC != "" {
				if _, err := nic.ParseMAC(in.MAC); err != nil {
					return sc.errf(in.Line, "host %s: mac %q is not a MAC address like 02:00:00:00:00:07", h.Name, in.MAC)
				}
			}
			if in.MTU != 0 && (in.MTU < 68 || in.MTU > 9000) {
				return sc.errf(in.Line, "host %s: mtu %d is outside 68..9000", h.Name, in.MTU)
			}
			if in.Ring < 0 || in.Ring > 65536 {
				return sc.errf(in.Line, "host %s: ring %d is outside 1..65536", h.Name, in.Ring)
			}
		}
		if h.Gateway != "" {
			if _, err := netip.ParseAddr(h.Gateway); err != nil {
				return sc.errf(h.Line, "host %s: gateway %q is not an IPv4 address", h.Name, h.Gateway)
			}
		}
		if _, ok := synCookieModes[h.TCP.SynCookies]; !ok {
			return sc.errf(h.TCP.Line, "host %s: syn_cookies %q: want when_full, off or always", h.Name, h.TCP.SynCookies)
		}
		if _, ok := timestampModes[h.TCP.Timestamps]; !ok {
			return sc.errf(h.TCP.Line, "host %s: timestamps %q: want on or off", h.Name, h.TCP.Timestamps)
		}
		if _, ok := recoveryModes[h.TCP.Recovery]; !ok {
			return sc.errf(h.TCP.Line, "host %s: recovery %q: want rack or dupthresh", h.Name, h.TCP.Recovery)
		}
		if _, ok := congestionModes[h.TCP.Congestion]; !ok {
			return sc.errf(h.TCP.Line, "host %s: congestion %q: want newreno or cubic", h.Name, h.TCP.Congestion)
		}
		if h.TCP.Ephemeral != "" {
			if _, _, err := parseRange(h.TCP.Ephemeral); err != nil {
				return sc.errf(h.TCP.Line, "host %s: ephemeral %q: %v", h.Name, h.TCP.Ephemeral, err)
			}
		}
	}
	isPW := func(name string) bool {
		h := hosts[name]
		return h != nil && orDefault(h.Kind, "packetwalk") == "packetwalk"
	}
	for i := range sc.Servers {
		s := &sc.Servers[i]
		if hosts[s.Host] == nil {
			return sc.errf(s.Line, "server: host %q is not among the hosts: %s", s.Host, sc.hostNames())
		}
		if !isPW(s.Host) {
			return sc.errf(s.Line, "server: host %s is a gvisor host; servers run on packetwalk hosts", s.Host)
		}
		switch s.Kind {
		case "http", "echo", "discard", "rpc", "udp-echo":
		case "canned":
			if s.Response == "" {
				return sc.errf(s.Line, "a canned server needs response: (what it answers)")
			}
		default:
			return sc.errf(s.Line, "server kind %q is not http, echo, discard, rpc, canned or udp-echo", s.Kind)
		}
		if s.Port < 1 || s.Port > 65535 {
			return sc.errf(s.Line, "server port %d is outside 1..65535", s.Port)
		}
		if s.Backlog < 0 || s.Backlog > 4096 {
			return sc.errf(s.Line, "server backlog %d is outside 0..4096", s.Backlog)
		}
		switch s.Arch {
		case "", "single", "pool", "multiplexed", "event":
		default:
			return sc.errf(s.Line, "server arch %q is not single, pool, multiplexed or event", s.Arch)
		}
		if s.Kind == "rpc" && (s.RequestBytes < 1 || s.ResponseBytes < 1) {
			return sc.errf(s.Line, "an rpc server needs request_bytes and response_bytes (1 or more)")
		}
		for _, name := range sortedKeys(s.Pad) {
			pad := s.Pad[name]
			content, ok := s.Files[name]
			switch {
			case s.Kind != "http":
				return sc.errf(s.Line, "pad: is for an http server's files, not %s", s.Kind)
			case !ok:
				return sc.errf(pad.Line, "pad: %q is not among the server's files: %s", name, strings.Join(sortedKeys(s.Files), ", "))
			case !pad.IsLen:
				return sc.errf(pad.Line, "pad: %s: %q is not a size like \"20KiB\"", name, pad.Text)
			case pad.Size < len(content):
				return sc.errf(pad.Line, "pad: %s is %d bytes already, more than %d", name, len(content), pad.Size)
			}
		}
		switch pa := s.PauseAfter; {
		case s.Pause == 0 && (pa.IsLen || pa.Text != ""):
			return sc.errf(s.Line, "pause_after: needs pause: (how long the reader stops reading)")
		case s.Pause == 0:
		case s.Kind != "discard":
			return sc.errf(s.Line, "pause: is for a discard server (the reader that pauses), not %s", s.Kind)
		case s.Pause < 0:
			return sc.errf(s.Line, "pause %v is negative", s.Pause.D())
		case !pa.IsLen && pa.Text != "":
			return sc.errf(pa.Line, "pause_after %q is not a size like \"64KiB\"", pa.Text)
		}
	}
	if len(sc.Traffic) > maxTraffic {
		return sc.errf(sc.Traffic[maxTraffic].Line, "more than %d traffic items", maxTraffic)
	}
	for i := range sc.Traffic {
		if err := sc.validateTraffic(&sc.Traffic[i], hosts, isPW, wires); err != nil {
			return err
		}
	}
	names := map[string]bool{}
	for i := range sc.Expect {
		x := &sc.Expect[i]
		if x.Name != "" {
			if names[x.Name] {
				return sc.errf(x.Line, "two expectations are called %q", x.Name)
			}
			names[x.Name] = true
		}
		if err := sc.validateExpect(x, names); err != nil {
			return err
		}
	}
	ids := map[string]bool{}
	for i := range sc.Questions {
		q := &sc.Questions[i]
		if q.ID == "" || ids[q.ID] {
			return sc.errf(q.Line, "each question needs an id: of its own (%q)", q.ID)
		}
		ids[q.ID] = true
		if err := q.validate(sc.File); err != nil {
			return err
		}
	}
	return nil
}

func (sc *Scenario) validateTraffic(t *Traffic, hosts map[string]*Host, isPW func(string) bool, wires map[string]bool) error {
	set := 0
	for _, p := range []bool{t.HTTP != nil, t.TCP != nil, t.Ping != nil, t.UDP != nil, t.Frame != nil} {
		if p {
			set++
		}
	}
	if set != 1 {
		return sc.errf(t.Line, "a traffic item has exactly one of http:, tcp:, ping:, udp: or frame: (it has %d)", set)
	}
	from := func(line int, name string, pwOnly bool) error {
		if hosts[name] == nil {
			return sc.errf(line, "from: host %q is not among the hosts: %s", name, sc.hostNames())
		}
		if pwOnly && !isPW(name) {
			return sc.errf(line, "from: %s is a gvisor host; this traffic needs a packetwalk host", name)
		}
		return nil
	}
	to := func(line int, s string, defPort int) error {
		if _, err := sc.resolveTo(s, defPort, hosts); err != nil {
			return sc.errf(line, "to: %v", err)
		}
		return nil
	}
	switch {
	case t.HTTP != nil:
		h := t.HTTP
		if err := from(h.Line, h.From, false); err != nil {
			return err
		}
		if err := to(h.Line, h.To, 80); err != nil {
			return err
		}
		if len(h.Get) == 0 {
			h.Get = []string{"/"}
		}
		for _, p := range h.Get {
			if !strings.HasPrefix(p, "/") {
				return sc.errf(h.Line, "get: %q does not start with /", p)
			}
		}
		switch orDefault(h.Client, "plain") {
		case "plain":
			if h.Gzip != nil {
				return sc.errf(h.Line, "gzip: is for client: browser (the plain client sends the headers: you give)")
			}
			if h.HTTP2 {
				return sc.errf(h.Line, "http2: is for client: browser (the plain client speaks HTTP/1.x)")
			}
		case "browser":
			if !isPW(h.From) {
				return sc.errf(h.Line, "client: browser runs on a packetwalk host, and %s is a gvisor host", h.From)
			}
			switch {
			case h.Mode != "":
				return sc.errf(h.Line, "client: browser chooses its connections itself: give connections: (1 to %d), not mode:", browser.MaxConnections)
			case h.Method != "" || h.HTTP10 || len(h.Headers) > 0:
				return sc.errf(h.Line, "client: browser writes its own requests (GET, HTTP/1.1, its own headers): leave out method:, http10: and headers:")
			case h.Connections > browser.MaxConnections:
				return sc.errf(h.Line, "client: browser: connections %d is outside 1..%d", h.Connections, browser.MaxConnections)
			case h.HTTP2 && h.Connections > 0:
				return sc.errf(h.Line, "http2: true puts every request on one connection: leave out connections:")
			}
		default:
			return sc.errf(h.Line, "http client %q is not plain or browser", h.Client)
		}
		switch orDefault(h.Mode, "serial") {
		case "serial", "parallel", "persistent", "pipelined":
		default:
			return sc.errf(h.Line, "http mode %q is not serial, parallel, persistent or pipelined", h.Mode)
		}
		if h.Mode == "pipelined" && !isPW(h.From) {
			return sc.errf(h.Line, "pipelined needs a packetwalk client (Go's HTTP client does not pipeline)")
		}
		if h.Connections < 0 || h.Connections > 64 {
			return sc.errf(h.Line, "connections %d is outside 1..64", h.Connections)
		}
	case t.TCP != nil:
		c := t.TCP
		if err := from(c.Line, c.From, true); err != nil {
			return err
		}
		if err := to(c.Line, c.To, 0); err != nil {
			return err
		}
		if c.Connections < 0 || c.Connections > maxConnections {
			return sc.errf(c.Line, "connections %d is outside 1..%d", c.Connections, maxConnections)
		}
		if c.SrcPort < 0 || c.SrcPort > 65535 {
			return sc.errf(c.Line, "src_port %d is outside 1..65535", c.SrcPort)
		}
		switch c.Close {
		case "", "close", "shutdown", "none", "wait_eof":
		default:
			return sc.errf(c.Line, "close %q is not close, shutdown, none or wait_eof", c.Close)
		}
	case t.Ping != nil:
		p := t.Ping
		if err := from(p.Line, p.From, true); err != nil {
			return err
		}
		if err := to(p.Line, p.To, -1); err != nil {
			return err
		}
		if p.Count < 0 || p.Count > maxCount || p.Size < 0 || p.Size > 65507 {
			return sc.errf(p.Line, "ping: count is 1..%d and size 0..65507", maxCount)
		}
	case t.UDP != nil:
		u := t.UDP
		if err := from(u.Line, u.From, true); err != nil {
			return err
		}
		if err := to(u.Line, u.To, 0); err != nil {
			return err
		}
		if u.Count < 0 || u.Count > maxCount {
			return sc.errf(u.Line, "udp: count %d is outside 1..%d", u.Count, maxCount)
		}
	case t.Frame != nil:
		f := t.Frame
		if !wires[f.Wire] {
			return sc.errf(f.Line, "frame: wire %q is not among the wires: %s", f.Wire, sc.wireNames())
		}
		if f.Count < 0 || f.Count > maxCount {
			return sc.errf(f.Line, "frame: count %d is outside 1..%d", f.Count, maxCount)
		}
		if _, err := sc.buildFrame(f, hosts); err != nil {
			return sc.errf(f.Line, "frame: %v", err)
		}
	}
	return nil
}

func (sc *Scenario) validateExpect(x *Expect, names map[string]bool) error {
	m := &x.Match
	if m.Layer != "" && !knownLayer(m.Layer) {
		return sc.errf(m.Line, "layer %q is not one of phy, nic, arp, ip, icmp, udp, tcp, socket, http, browser, app", m.Layer)
	}
	switch m.Verdict {
	case "", "pass", "drop", "deliver", "send", "note":
	default:
		return sc.errf(m.Line, "verdict %q is not pass, drop, deliver, send or note", m.Verdict)
	}
	if m.Reason != "" && !viz.Reason(m.Reason).Known() {
		return sc.errf(m.Line, "reason %q is not a drop reason packetwalk knows (see viz/reason.go)", m.Reason)
	}
	if _, err := compileValue(m.Msg); err != nil {
		return sc.errf(m.Line, "msg: %v", err)
	}
	for k, v := range m.Fields {
		if _, err := compileValue(v); err != nil {
			return sc.errf(m.Line, "fields.%s: %v", k, err)
		}
	}
	bounds := 0
	for _, b := range []bool{x.Count != nil, x.AtLeast != nil || x.AtMost != nil, x.None} {
		if b {
			bounds++
		}
	}
	if bounds > 1 {
		return sc.errf(x.Line, "give one of count:, at_least:/at_most: or none:")
	}
	for _, p := range []*int{x.Count, x.AtLeast, x.AtMost} {
		if p != nil && *p < 0 {
			return sc.errf(x.Line, "a count is 0 or more")
		}
	}
	if x.After != "" && !names[x.After] {
		return sc.errf(x.Line, "after: %q is not the name of an expectation above this one (%s)", x.After, sc.expectNames(x))
	}
	if x.Within != 0 && x.After == "" {
		return sc.errf(x.Line, "within: needs after: (within what of which event?)")
	}
	return nil
}

// wireNames, hostNames and expectNames list what a reference may name, in
// file order, for the message of a reference to nothing.
func (sc *Scenario) wireNames() string {
	var ns []string
	for _, w := range sc.Wires {
		ns = append(ns, w.Name)
	}
	return nameList(ns, "there are no wires; add a wires: list")
}

func (sc *Scenario) hostNames() string {
	var ns []string
	for _, h := range sc.Hosts {
		ns = append(ns, h.Name)
	}
	return nameList(ns, "none")
}

func (sc *Scenario) expectNames(before *Expect) string {
	var ns []string
	for i := range sc.Expect {
		if &sc.Expect[i] == before {
			break
		}
		if sc.Expect[i].Name != "" {
			ns = append(ns, sc.Expect[i].Name)
		}
	}
	return nameList(ns, "no expectation above it has a name:")
}

func nameList(ns []string, none string) string {
	if len(ns) == 0 {
		return none
	}
	return strings.Join(ns, ", ")
}

func knownLayer(l string) bool {
	switch viz.Layer(l) {
	case viz.LayerPHY, viz.LayerNIC, viz.LayerARP, viz.LayerIP, viz.LayerICMP, viz.LayerUDP, viz.LayerTCP, viz.LayerSocket, viz.LayerHTTP, viz.LayerBrowser, viz.LayerApp:
		return true
	}
	return false
}

// resolveTo reads "host:port", "host", "10.0.0.2:80" or "10.0.0.2"; a
// host's name stands for its first address. defPort: the port when none
// is given (0: one is required, -1: none may be given).
func (sc *Scenario) resolveTo(s string, defPort int, hosts map[string]*Host) (netip.AddrPort, error) {
	name, portStr, hasPort := strings.Cut(s, ":")
	port := defPort
	if hasPort {
		if defPort < 0 {
			return netip.AddrPort{}, fmt.Errorf("%q: give an address or a host, without a port", s)
		}
		p, err := strconv.Atoi(portStr)
		if err != nil || p < 1 || p > 65535 {
			return netip.AddrPort{}, fmt.Errorf("%q: the port is 1..65535", s)
		}
		port = p
	} else if defPort == 0 {
		return netip.AddrPort{}, fmt.Errorf("%q needs a port, like server:80", s)
	}
	if port < 0 {
		port = 0
	}
	if a, err := netip.ParseAddr(name); err == nil && a.Is4() {
		return netip.AddrPortFrom(a, uint16(port)), nil
	}
	h := hosts[name]
	if h == nil || len(h.Interfaces) == 0 {
		return netip.AddrPort{}, fmt.Errorf("%q is neither an IPv4 address nor a host (the hosts: %s)", s, sc.hostNames())
	}
	p, _ := netip.ParsePrefix(h.Interfaces[0].Addr)
	return netip.AddrPortFrom(p.Addr(), uint16(port)), nil
}

func parseRange(s string) (int, int, error) {
	a, b, ok := strings.Cut(s, "-")
	lo, err1 := strconv.Atoi(strings.TrimSpace(a))
	hi, err2 := strconv.Atoi(strings.TrimSpace(b))
	if !ok || err1 != nil || err2 != nil || lo < 1 || hi > 65535 || lo > hi {
		return 0, 0, errors.New("want a port range like 49152-65535")
	}
	return lo, hi, nil
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
