package gvisorhost

import (
	"strings"
	"testing"

	"github.com/packetwalk/packetwalk/nic"
)

func TestSummarize(t *testing.T) {
	arpReq := nic.AppendFrame(nil, nic.Broadcast, macA, nic.EtherTypeARP, []byte{
		0, 1, 8, 0, 6, 4, 0, 1, // Ethernet/IPv4, request
		2, 0, 0, 0, 0, 0x0a, 10, 0, 0, 1, // sender
		0, 0, 0, 0, 0, 0, 10, 0, 0, 2, // target
	})
	tcpSyn := nic.AppendFrame(nil, macB, macA, nic.EtherTypeIPv4, append([]byte{
		0x45, 0, 0, 40, 0, 1, 0x40, 0, 64, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2, // IPv4, DF, TCP
	}, []byte{
		0xc0, 0x00, 0, 80, 0, 0, 0x30, 0x39, 0, 0, 0, 0, 0x50, 0x02, 0xff, 0xff, 0, 0, 0, 0, // 49152 > 80 SYN seq 12345
	}...))
	fragment := nic.AppendFrame(nil, macB, macA, nic.EtherTypeIPv4, []byte{
		0x45, 0, 0, 28, 0, 7, 0x00, 0x10, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2, 1, 2, 3, 4, 5, 6, 7, 8, // offset 128, last
	})
	for _, tc := range []struct {
		name  string
		frame []byte
		want  string
	}{
		{"ARP request", arpReq, "ARP who-has 10.0.0.2 tell 10.0.0.1"},
		{"TCP SYN", tcpSyn, "IPv4 10.0.0.1.49152 > 10.0.0.2.80 TCP [S] seq 12345 win 65535 len 0"},
		{"fragment", fragment, "IPv4 10.0.0.1 > 10.0.0.2 proto 17 fragment id 7 offset 128, 8 bytes"},
		{"IPv6", nic.AppendFrame(nil, macB, macA, nic.EtherTypeIPv6, nil), "EtherType IPv6"},
		{"short", []byte{1, 2, 3}, "3 bytes"},
	} {
		// summarize is given frames without their FCS, as gVisor builds them.
		f := tc.frame
		if len(f) >= nic.MinFrameLen {
			f = f[:len(f)-nic.FCSLen]
		}
		if got := summarize(f); !strings.HasPrefix(got, tc.want) {
			t.Errorf("%s: summarize = %q, want %q", tc.name, got, tc.want)
		}
	}
}

// FuzzSummarize checks that no bytes make the summary panic: it describes
// whatever gVisor sends and whatever arrives from the wire.
func FuzzSummarize(f *testing.F) {
	f.Add(echoFrame(macB, macA, addrA.Addr(), addrB.Addr()))
	f.Add(nic.AppendFrame(nil, nic.Broadcast, macA, nic.EtherTypeARP, make([]byte, 28)))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		if summarize(b) == "" {
			t.Error("empty summary")
		}
	})
}
