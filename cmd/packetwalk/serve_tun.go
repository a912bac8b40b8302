package main

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/packetwalk/packetwalk/httpd"
	"github.com/packetwalk/packetwalk/stack"
	"github.com/packetwalk/packetwalk/tcp"
	"github.com/packetwalk/packetwalk/viz"
	"github.com/packetwalk/packetwalk/viz/pcapng"
	"github.com/packetwalk/packetwalk/wire"
)

// withoutRoot is what every privilege failure ends with.
const withoutRoot = "'packetwalk trace', 'packetwalk ping' and the labs run the same walk without root"

// tunBacklog is the listening socket's backlog on the device by default
// (serve --backlog changes it, up to maxBacklog).
const (
	tunBacklog = 128
	maxBacklog = tcp.DefaultMaxBacklog
)

// pcapFlushDelay is how long after an exchange (an HTTP request logged, an
// echo reply sent) the live capture is flushed: long enough for the
// exchange's last frames (the ACK of the FIN) to finish their walk.
const pcapFlushDelay = 300 * time.Millisecond

// serveTUN is `packetwalk serve --tun NAME --addr CIDR` (and --tap NAME):
// httpd on packetwalk's own stack, whose NIC is plugged into a TUN or TAP
// device, so that the kernel (curl, ping, a browser) is the client. It runs
// until ctx ends.
func serveTUN(ctx context.Context, f *serveFlags, stdout, stderr io.Writer, ready func(net.Addr)) error {
	plan, err := planTUN(f)
	if err != nil {
		fmt.Fprintf(stderr, "packetwalk serve: %v.\n", err)
		return errUsage
	}
	cfg, root, docDesc, err := serveConfig(f)
	if err != nil {
		return err
	}
	dh, err := openDeviceHost(plan, &f.link)
	if err != nil {
		return err
	}
	name := plan.dev
	runCtx, stopHost := context.WithCancel(context.Background())
	defer stopHost()
	hostDone := make(chan error, 1)
	started := false
	defer func() {
		if !started {
			dh.Medium.Close()
		}
	}()

	// The step log: narrated live, streamed to --json and --pcap.
	log := dh.Log
	f.live.attach(log)
	narr := newLiveNarrator(stdout, f.view.narration(stdout))
	defer narr.Close()
	if !f.quiet {
		log.AddSink(narr.Sink())
	}
	// The live capture is made first, so that it shares the step log's
	// queue (outputs.fileQ: one goroutine encodes both files).
	var capture *pcapng.Writer
	var extra []viz.Sink
	if f.pcap != "" {
		file, err := os.Create(f.pcap)
		if err != nil {
			return fmt.Errorf("cannot write the capture: %v", err)
		}
		capture, err = pcapng.New(&wholeBlocks{f: file}, pcapng.Options{
			// The packets are dated in real time: run time zero is
			// when the host was made, on the wall clock.
			Start:    dh.Epoch(),
			Topology: log.Topology,
			Comment:  "packetwalk serve " + plan.flag() + " " + name + ": each packet's comment is its step trail"})
		if err != nil {
			file.Close()
			return fmt.Errorf("cannot write the capture: %v", err)
		}
		extra = append(extra, capture)
	}
	out, err := openOutputs(log, stdout, true, f.jsonPath, "", extra...)
	if err != nil {
		if capture != nil {
			capture.Close()
		}
		return err
	}
	if out.jsonl != nil {
		// Live for a tail, within 50 ms, without a write system call
		// per event (which would cost more than the encoding).
		out.jsonl.FlushWithin = 50 * time.Millisecond
	}
	announceLabImpl(log)
	outClosed := false
	defer func() {
		if !outClosed {
			out.close() // closes the capture too
		}
	}()
	var flusher *exchangeFlusher
	if capture != nil {
		// The flusher first waits for the queue to have handed the
		// exchange's steps to the capture.
		flusher = &exchangeFlusher{flush: func() {
			out.fileQ.Drain()
			capture.FlushPending()
		}}
		log.AddSink(flusher)
	}

	closeLogs, err := cfg.OpenLogs()
	if err != nil {
		return fmt.Errorf("cannot open a log file: %v", err)
	}
	defer closeLogs()

	// The kernel side: an address on the device's subnet, and the link up.
	if err := configureKernelSide(plan, f.noConfigure, narr.Println); err != nil {
		return err
	}

	listenAddr := netip.AddrPortFrom(plan.addr.Addr(), uint16(f.port))
	ln, err := dh.ListenTCP(listenAddr, f.backlog)
	if err != nil {
		return fmt.Errorf("cannot listen on %s: %v", listenAddr, err)
	}
	// Root was needed for the device and the kernel side only.
	say, err := giveUpRoot(f.user, &cfg, []string{f.pcap, f.jsonPath})
	if err != nil {
		return err
	}
	if say != "" {
		narr.Println(say)
	}
	started = true
	go func() { hostDone <- dh.Run(runCtx) }()

	mapper := httpd.NewMapper(cfg.Map, root)
	mapper.ServerSoftware = cfg.ServerSoftware
	if cfg.ErrorLog != nil {
		mapper.CGIStderr = cfg.ErrorLog
	}
	hs := httpd.New(cfg, mapper, log.Recorder(dh.Name))
	var srv webServer = hs
	if f.expvar != "" {
		publishCloseCounts(hs)
		publishStackCounters(dh)
	}
	if f.server == "nethttp" {
		srv = netHTTPServer(cfg, root)
		docDesc += "; Go's net/http serves it, not httpd: no http steps"
	}

	url := "http://" + plan.addr.Addr().String() + "/"
	if f.port != 80 {
		url = "http://" + listenAddr.String() + "/"
	}
	narr.Println(fmt.Sprintf("serving %s with packetwalk's stack on %s device %s (%s, docroot %s)%s; press Ctrl-C to stop",
		url, plan.kind, name, plan.describe(dh), docDesc, f.link.describeLink(name)))
	if err := narr.Flush(); err != nil {
		return err
	}
	if err := announceReady(net.TCPAddrFromAddrPort(listenAddr), ready); err != nil {
		return err
	}

	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	var runErr error
	select {
	case err := <-served:
		srv.Close()
		stopHost()
		<-hostDone
		if !errors.Is(err, httpd.ErrServerClosed) && !errors.Is(err, http.ErrServerClosed) {
			runErr = fmt.Errorf("the server stopped: %v", err)
		}
	case err := <-hostDone:
		srv.Close()
		<-served
		if err != nil {
			runErr = fmt.Errorf("the device stopped: %v", err)
		} else {
			runErr = errors.New("the device stopped")
		}
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.Background(), serveShutdownTimeout)
		if err := srv.Shutdown(sctx); err != nil {
			narr.Println(fmt.Sprintf("stopped: connections still open after %v were closed", serveShutdownTimeout))
		} else {
			narr.Println("stopped")
		}
		cancel()
		<-served
		stopHost()
		<-hostDone
	}
	if flusher != nil {
		flusher.stop()
	}
	if err := narr.Flush(); err != nil && runErr == nil {
		runErr = err
	}
	outClosed = true
	if err := out.close(); err != nil && runErr == nil {
		runErr = err
	}
	return runErr
}

// webServer is what serve runs on the listener: httpd, or (--server
// nethttp) Go's net/http, to compare the two servers on the same stack.
type webServer interface {
	Serve(net.Listener) error
	Close() error
	Shutdown(context.Context) error
}

// netHTTPServer is Go's net/http serving the same files as httpd would:
// the docroot, or the embedded demo site.
func netHTTPServer(cfg httpd.Config, root fs.FS) *http.Server {
	var files http.FileSystem = http.Dir(cfg.Map.DocRoot)
	if cfg.Map.DocRoot == "" && root != nil {
		files = http.FS(root)
	}
	// Other methods than GET and HEAD: the body read whole, then 405, as
	// httpd answers them, so that an upload costs both servers alike.
	return &http.Server{Handler: httpd.NetHTTPFiles(files, cfg.MaxBodyBytes), ReadHeaderTimeout: cfg.HeaderTimeout, IdleTimeout: cfg.KeepAliveTimeout}
}

// wholeBlocks passes only whole pcapng blocks on to the file, keeping a
// partial block back until the rest of it is written: a capture that
// tshark reads while the server runs must never end in the middle of a
// block (the writer's buffer fills at any byte, not at block boundaries).
// Every pcapng block starts with its type and its total length (4 bytes
// each, in the byte order of the section header's magic).
type wholeBlocks struct {
	f     *os.File
	buf   []byte
	order binary.ByteOrder
}

func (w *wholeBlocks) Write(p []byte) (int, error) {
	w.buf = append(w.buf, p...)
	n := 0
	for len(w.buf)-n >= 12 {
		if w.order == nil {
			// The first block is the section header: its byte-order
			// magic 0x1A2B3C4D follows the type and length.
			if binary.LittleEndian.Uint32(w.buf[8:12]) == 0x1A2B3C4D {
				w.order = binary.LittleEndian
			} else {
				w.order = binary.BigEndian
			}
		}
		l := int(w.order.Uint32(w.buf[n+4 : n+8]))
		if l < 12 || len(w.buf)-n < l {
			break
		}
		n += l
	}
	if n > 0 {
		if _, err := w.f.Write(w.buf[:n]); err != nil {
			return 0, err
		}
		w.buf = append(w.buf[:0], w.buf[n:]...)
	}
	return len(p), nil
}

func (w *wholeBlocks) Close() error {
	var err error
	if len(w.buf) > 0 {
		_, err = w.f.Write(w.buf)
		w.buf = nil
	}
	if cerr := w.f.Close(); err == nil {
		err = cerr
	}
	return err
}

// tunPlan is what serve --tun or --tap sets up.
type tunPlan struct {
	kind   wire.DeviceKind
	dev    string
	addr   netip.Prefix // packetwalk's address
	kernel netip.Prefix // the kernel side's: the first other address of the prefix
}

// flag is the command-line flag that names the device.
func (p *tunPlan) flag() string {
	if p.kind == wire.TAP {
		return "--tap"
	}
	return "--tun"
}

// planTUN checks serve's device flags and works out the kernel side's
// address. Its errors are sentences without the final full stop.
func planTUN(f *serveFlags) (*tunPlan, error) {
	plan, err := planDevice(f.tun, f.tap, f.addr)
	if err != nil {
		return nil, err
	}
	switch {
	case f.listen != "":
		return nil, fmt.Errorf("%s and --listen exclude each other: %s serves on packetwalk's stack, --listen on the kernel's; choose one", plan.flag(), plan.flag())
	case f.port < 1 || f.port > 65535:
		return nil, fmt.Errorf("--port %d is not a port 1..65535", f.port)
	case f.backlog < 1 || f.backlog > maxBacklog:
		return nil, fmt.Errorf("--backlog %d: want 1 to %d", f.backlog, maxBacklog)
	case f.server != "httpd" && f.server != "nethttp":
		return nil, fmt.Errorf("--server %q: want httpd (packetwalk's web server) or nethttp (Go's net/http.FileServer)", f.server)
	}
	return plan, nil
}

// ifNameSize is Linux's IFNAMSIZ (include/uapi/linux/if.h): a device name
// and its terminating NUL. A constant here rather than syscall's, which
// js/wasm (the playground) does not define.
const ifNameSize = 16

// planDevice checks --tun or --tap NAME and --addr CIDR, and works out the
// kernel side's address. Its errors are sentences without the final full
// stop.
func planDevice(tun, tap, addr string) (*tunPlan, error) {
	kind, name, flagName := wire.TUN, tun, "--tun"
	if tap != "" {
		kind, name, flagName = wire.TAP, tap, "--tap"
	}
	switch {
	case tun != "" && tap != "":
		return nil, errors.New("--tun and --tap exclude each other: --tun carries IP packets, --tap Ethernet frames with ARP; choose one")
	case name == "":
		return nil, errors.New("--addr goes with --tun NAME or --tap NAME: say which device to serve on, e.g. --tun pw0 --addr 10.9.0.2/24")
	case addr == "":
		return nil, fmt.Errorf("%s %s needs --addr CIDR, packetwalk's address on the device, e.g. --addr 10.9.0.2/24", flagName, name)
	case len(name) >= ifNameSize || strings.ContainsAny(name, "/ \t\n:"):
		return nil, fmt.Errorf("%s %q is not a device name: at most %d characters, without '/', ':' or spaces, e.g. pw0", flagName, name, ifNameSize-1)
	}
	p, err := netip.ParsePrefix(addr)
	if err != nil || !p.Addr().Is4() {
		return nil, fmt.Errorf("--addr %q is not an IPv4 address with a prefix length, e.g. 10.9.0.2/24", addr)
	}
	if p.Bits() > 30 {
		return nil, fmt.Errorf("--addr %s: a /%d leaves no address for the kernel side; use /30 or shorter, e.g. %s/24", addr, p.Bits(), p.Addr())
	}
	network := p.Masked().Addr()
	broadcast := lastAddr(p)
	if p.Addr() == network || p.Addr() == broadcast {
		return nil, fmt.Errorf("--addr %s is the %s address of its subnet; choose a host address, e.g. %s/%d",
			addr, map[bool]string{true: "network", false: "broadcast"}[p.Addr() == network], network.Next().Next(), p.Bits())
	}
	k := network.Next()
	if k == p.Addr() {
		k = k.Next()
	}
	return &tunPlan{kind: kind, dev: name, addr: p, kernel: netip.PrefixFrom(k, p.Bits())}, nil
}

// openDeviceHost checks that the kernel does not use the plan's addresses,
// opens (or creates) the device and builds packetwalk's host on it, with a
// simulated wire between device and NIC when lf asks for impairments. The
// host does not run yet; closing dh.Medium closes the device. plan.dev
// becomes the name the kernel gave the device.
func openDeviceHost(plan *tunPlan, lf *linkFlags) (*stack.DeviceHost, error) {
	if err := addressFree(plan); err != nil {
		return nil, err
	}
	dev, name, err := wire.OpenDevice(plan.kind, plan.dev)
	if err != nil {
		return nil, deviceError(plan.kind, plan.dev, err)
	}
	plan.dev = name
	cfg := stack.DeviceHostConfig{
		Host:   stack.HostConfig{Name: "server", TCP: lf.tcpConfig()},
		Prefix: plan.addr,
		Device: wire.DeviceConfig{Kind: plan.kind, Name: name},
		Link:   lf.deviceLink(),
		// The kernel's side, named "kernel" in the outputs.
		KernelPrefix: plan.kernel,
	}
	if ifc, err := net.InterfaceByName(name); err == nil && plan.kind == wire.TAP && len(ifc.HardwareAddr) == 6 {
		copy(cfg.KernelMAC[:], ifc.HardwareAddr)
	}
	applyLabImpl(cfg.Host.Name, &cfg.Host, &cfg.NIC, &cfg.ARP)
	dh, err := stack.NewDeviceHost(dev, cfg)
	if err != nil {
		dev.Close()
		return nil, err
	}
	return dh, nil
}

// configureKernelSide gives the kernel side of the device its address and
// brings the link up, or, with noConfigure, prints the commands that do.
func configureKernelSide(plan *tunPlan, noConfigure bool, println func(string)) error {
	cmds := plan.ipCommands()
	if noConfigure {
		println(fmt.Sprintf("--no-configure: configure the kernel side of %s yourself (as root):", plan.dev))
		for _, c := range cmds {
			println("  " + strings.Join(c, " "))
		}
		return nil
	}
	return runIPCommands(cmds)
}

// describe says who is on the device, for the line that announces it: on
// a TAP device both ends have a MAC address, and ARP maps the addresses.
func (p *tunPlan) describe(dh *stack.DeviceHost) string {
	if p.kind != wire.TAP {
		return "kernel side " + p.kernel.String()
	}
	s := fmt.Sprintf("packetwalk at %s, kernel side %s", dh.Iface.NIC.MAC(), p.kernel)
	if ifc, err := net.InterfaceByName(p.dev); err == nil && len(ifc.HardwareAddr) == 6 {
		s += " at " + ifc.HardwareAddr.String()
	}
	return s
}

// lastAddr is the prefix's broadcast address.
func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Masked().Addr().As4()
	host := uint32(1)<<(32-p.Bits()) - 1
	v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3]) | host
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

// ipCommands are the commands that configure the kernel side of the device.
func (p *tunPlan) ipCommands() [][]string {
	return [][]string{
		{"ip", "addr", "replace", p.kernel.String(), "dev", p.dev},
		{"ip", "link", "set", "dev", p.dev, "up"},
	}
}

// runIPCommands configures the kernel side with the ip tool (iproute2).
func runIPCommands(cmds [][]string) error {
	if _, err := exec.LookPath("ip"); err != nil {
		return errors.New("cannot configure the kernel side: the ip tool is not installed (apt-get install iproute2); or run with --no-configure and configure the device yourself")
	}
	for _, c := range cmds {
		out, err := exec.Command(c[0], c[1:]...).CombinedOutput()
		if err != nil {
			msg := strings.TrimSpace(string(out))
			if msg == "" {
				msg = err.Error()
			}
			if strings.Contains(msg, "Operation not permitted") {
				return fmt.Errorf("cannot configure the kernel side (%s): it needs root or CAP_NET_ADMIN; run with sudo, or with --no-configure and configure the device yourself; %s", strings.Join(c, " "), withoutRoot)
			}
			return fmt.Errorf("cannot configure the kernel side: %s: %s", strings.Join(c, " "), msg)
		}
	}
	return nil
}

// addressFree refuses an address the kernel already uses: packetwalk's own
// (the kernel would answer for it) or, on another interface, the kernel
// side's (the route to the subnet would not go through the device).
func addressFree(p *tunPlan) error {
	ifaces, err := net.Interfaces()
	if err != nil {
		return nil // nothing to check against; configuring will say
	}
	for _, ifc := range ifaces {
		addrs, _ := ifc.Addrs()
		for _, a := range addrs {
			ipn, ok := a.(*net.IPNet)
			if !ok {
				continue
			}
			ip, ok := netip.AddrFromSlice(ipn.IP)
			if !ok {
				continue
			}
			ip = ip.Unmap()
			switch {
			case ip == p.addr.Addr():
				return fmt.Errorf("address %s is already in use by the kernel on %s; choose another --addr (a subnet no interface uses, e.g. 10.9.0.2/24)", ip, ifc.Name)
			case ifc.Name != p.dev && p.addr.Contains(ip):
				return fmt.Errorf("subnet %s is already in use by the kernel on %s (%s); choose another --addr on a subnet no interface uses", p.addr.Masked(), ifc.Name, ip)
			}
		}
	}
	return nil
}

// deviceError turns a failed open of the TUN device into one sentence that
// says what to do.
func deviceError(kind wire.DeviceKind, name string, err error) error {
	flagName, mode := "--tun", "tun"
	if kind == wire.TAP {
		flagName, mode = "--tap", "tap"
	}
	switch {
	case errors.Is(err, syscall.ENOENT) || errors.Is(err, syscall.ENODEV):
		return fmt.Errorf("cannot open %s device %s: there is no /dev/net/tun on this machine; load the module (modprobe tun) or, in a container, pass the device in (docker run --device /dev/net/tun --cap-add NET_ADMIN); %s", kind, name, withoutRoot)
	case errors.Is(err, syscall.EPERM) || errors.Is(err, syscall.EACCES):
		return fmt.Errorf("cannot open %s device %s: creating it needs root or CAP_NET_ADMIN; run with sudo (or create it for your user first: sudo ip tuntap add %s mode %s user $USER, then serve with --no-configure); %s", kind, name, name, mode, withoutRoot)
	case errors.Is(err, syscall.EBUSY):
		return fmt.Errorf("cannot open %s device %s: it is busy, another program has it open; stop that program or choose another %s name", kind, name, flagName)
	case errors.Is(err, syscall.EINVAL):
		return fmt.Errorf("cannot open %s device %s: an interface of that name exists and is not a %s device; choose another %s name", kind, name, kind, flagName)
	}
	return fmt.Errorf("cannot open %s device %s: %v", kind, name, err)
}

// exchangeFlusher flushes the live capture shortly after each exchange
// (an HTTP request logged, an ICMP message sent), so that `tshark -r` on
// the running capture shows it. It is a Sink; it runs the flush on a
// timer, never inside the log's lock.
type exchangeFlusher struct {
	flush func()

	mu      sync.Mutex
	timer   *time.Timer
	stopped bool
}

func (x *exchangeFlusher) Event(e *viz.Event) {
	exchange := (e.Layer == viz.LayerHTTP && e.Step == "log") || (e.Layer == viz.LayerICMP && e.Verdict == viz.Send) ||
		(e.Layer == viz.LayerTCP && e.Step == "state")
	if !exchange {
		return
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.stopped || x.timer != nil {
		return
	}
	x.timer = time.AfterFunc(pcapFlushDelay, func() {
		x.mu.Lock()
		x.timer = nil
		stopped := x.stopped
		x.mu.Unlock()
		if !stopped {
			x.flush()
		}
	})
}

func (x *exchangeFlusher) stop() {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.stopped = true
	if x.timer != nil {
		x.timer.Stop()
	}
}
