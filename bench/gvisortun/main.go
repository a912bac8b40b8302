// Command gvisortun is the benchmark's reference peer: gVisor's netstack (a
// production TCP/IP stack written in Go, like packetwalk) on a TUN device,
// serving a folder with Go's net/http through gonet. bench/run measures it
// next to `packetwalk serve --tun` with the same clients and the same
// files, so the ratio compares two userspace stacks on equal terms: both
// read and write one packet per system call on a TUN file descriptor.
//
//	gvisortun --tun gv0 --addr 10.9.0.2/24 --docroot DIR [--port 80] [--mtu 1500]
//
// Like serve --tun, it gives the kernel side the first other address of
// the prefix and brings the link up (it needs root or CAP_NET_ADMIN). It
// runs until SIGINT or SIGTERM.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http"

	"github.com/packetwalk/packetwalk/httpd"

	"net/netip"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/adapters/gonet"
	"gvisor.dev/gvisor/pkg/tcpip/link/fdbased"
	"gvisor.dev/gvisor/pkg/tcpip/link/tun"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
	"gvisor.dev/gvisor/pkg/tcpip/transport/icmp"
	"gvisor.dev/gvisor/pkg/tcpip/transport/tcp"
)

const nicID tcpip.NICID = 1

func main() {
	if err := run(); err != nil {
		fmt.Fprintf(os.Stderr, "gvisortun: %v.\n", err)
		os.Exit(1)
	}
}

func run() error {
	name := flag.String("tun", "gv0", "TUN device to create or open")
	addr := flag.String("addr", "10.9.0.2/24", "gVisor's address and prefix; the kernel side gets the first other address")
	docroot := flag.String("docroot", "", "folder to serve (required)")
	maxBody := flag.Int64("max-body", 1<<30, "read at most this many `BYTES` of a request body (other methods than GET and HEAD are refused with 405 once the body is read, as httpd does; beyond this, 413)")
	port := flag.Int("port", 80, "TCP port to serve on")
	mtu := flag.Int("mtu", 1500, "the device's MTU")
	loss := flag.Float64("loss", 0, "probability 0..1 that a packet is lost, each way (packetwalk serve's --loss)")
	seed := flag.Uint64("seed", 1, "seed of the losses")
	flag.Parse()
	if *loss < 0 || *loss > 1 {
		return fmt.Errorf("--loss %v is not a probability between 0 and 1", *loss)
	}
	if *docroot == "" {
		return errors.New("--docroot DIR is required: the folder to serve")
	}
	if *maxBody <= 0 {
		return fmt.Errorf("--max-body %d: a request body's limit is a positive number of bytes", *maxBody)
	}
	if st, err := os.Stat(*docroot); err != nil || !st.IsDir() {
		return fmt.Errorf("--docroot %s is not a folder", *docroot)
	}
	p, err := netip.ParsePrefix(*addr)
	if err != nil || !p.Addr().Is4() || p.Bits() > 30 {
		return fmt.Errorf("--addr %q: want an IPv4 address with a prefix of /30 or shorter, e.g. 10.9.0.2/24", *addr)
	}
	kernel := p.Masked().Addr().Next()
	if kernel == p.Addr() {
		kernel = kernel.Next()
	}

	fd, err := tun.Open(*name)
	if err != nil {
		return fmt.Errorf("cannot open TUN device %s: %v (it needs root or CAP_NET_ADMIN and /dev/net/tun)", *name, err)
	}
	// One packet per read and write system call, no GSO and no GRO: the
	// same I/O discipline as packetwalk's device medium.
	link, err := fdbased.New(&fdbased.Options{FDs: []int{fd}, MTU: uint32(*mtu), PacketDispatchMode: fdbased.Readv})
	if err != nil {
		return fmt.Errorf("fdbased endpoint on %s: %v", *name, err)
	}
	if *loss > 0 {
		link = newLossyEndpoint(link, *loss, *seed)
	}
	s := stack.New(stack.Options{
		NetworkProtocols:   []stack.NetworkProtocolFactory{ipv4.NewProtocol},
		TransportProtocols: []stack.TransportProtocolFactory{tcp.NewProtocol, icmp.NewProtocol4},
	})
	defer s.Destroy()
	sack := tcpip.TCPSACKEnabled(true)
	s.SetTransportProtocolOption(tcp.ProtocolNumber, &sack)
	if err := s.CreateNIC(nicID, link); err != nil {
		return fmt.Errorf("creating the NIC: %v", err)
	}
	if err := s.AddProtocolAddress(nicID, tcpip.ProtocolAddress{
		Protocol:          ipv4.ProtocolNumber,
		AddressWithPrefix: tcpip.AddressWithPrefix{Address: tcpip.AddrFrom4(p.Addr().As4()), PrefixLen: p.Bits()},
	}, stack.AddressProperties{}); err != nil {
		return fmt.Errorf("adding address %v: %v", p, err)
	}
	subnet, _ := tcpip.NewSubnet(tcpip.AddrFrom4(p.Masked().Addr().As4()), tcpip.MaskFromBytes(net4Mask(p.Bits())))
	s.SetRouteTable([]tcpip.Route{{Destination: subnet, NIC: nicID}})

	for _, c := range [][]string{
		{"ip", "addr", "replace", netip.PrefixFrom(kernel, p.Bits()).String(), "dev", *name},
		{"ip", "link", "set", "dev", *name, "mtu", fmt.Sprint(*mtu), "up"},
	} {
		if out, err := exec.Command(c[0], c[1:]...).CombinedOutput(); err != nil {
			return fmt.Errorf("%s: %v: %s", strings.Join(c, " "), err, strings.TrimSpace(string(out)))
		}
	}

	ln, err := gonet.ListenTCP(s, tcpip.FullAddress{NIC: nicID, Addr: tcpip.AddrFrom4(p.Addr().As4()), Port: uint16(*port)}, ipv4.ProtocolNumber)
	if err != nil {
		return fmt.Errorf("listening on %s:%d: %v", p.Addr(), *port, err)
	}
	srv := &http.Server{Handler: httpd.NetHTTPFiles(http.Dir(*docroot), *maxBody), ReadHeaderTimeout: 10 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
	}()
	fmt.Printf("serving http://%s:%d/ with gVisor's netstack on TUN device %s (kernel side %s, docroot %s)\n", p.Addr(), *port, *name, kernel, *docroot)
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	// What gVisor's TCP did, for comparison with packetwalk's step log.
	t := s.Stats().TCP
	fmt.Printf("gVisor TCP: %d segments sent, %d retransmitted, %d timeouts, %d fast retransmits, %d SACK recoveries, %d TLP recoveries, %d spurious recoveries\n",
		t.SegmentsSent.Value(), t.Retransmits.Value(), t.Timeouts.Value(), t.FastRetransmit.Value(), t.SACKRecovery.Value(), t.TLPRecovery.Value(), t.SpuriousRecovery.Value())
	return nil
}

func net4Mask(bits int) []byte {
	m := uint32(0xffffffff) << (32 - bits)
	return []byte{byte(m >> 24), byte(m >> 16), byte(m >> 8), byte(m)}
}
