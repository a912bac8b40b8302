package drill

import (
	"strings"
	"testing"

	"github.com/packetwalk/packetwalk/tcp"
)

// TestCongestionControlKnob: Linux's net.ipv4.tcp_congestion_control and
// FreeBSD's net.inet.tcp.cc.algorithm choose packetwalk's congestion
// control (tcp.Config.Congestion); a name packetwalk lacks is reported as
// ignored and leaves the default, NewReno.
func TestCongestionControlKnob(t *testing.T) {
	for _, tc := range []struct {
		name, value string
		applied     bool
		want        tcp.CongestionControl
	}{
		{"net.ipv4.tcp_congestion_control", "cubic", true, tcp.CongestionCUBIC},
		{"net.ipv4.tcp_congestion_control", "reno", true, tcp.CongestionNewReno},
		{"net.inet.tcp.cc.algorithm", "newreno", true, tcp.CongestionNewReno},
		{"net.inet.tcp.cc.algorithm", "cubic", true, tcp.CongestionCUBIC},
		{"net.ipv4.tcp_congestion_control", "bbr", false, tcp.CongestionNewReno},
	} {
		c := tcp.Config{}
		applied, why := applyKnob(&c, tc.name, tc.value)
		if applied != tc.applied || c.Congestion != tc.want || why == "" {
			t.Errorf("%s=%s: applied %v (%s), congestion %v; want %v, %v", tc.name, tc.value, applied, why, c.Congestion, tc.applied, tc.want)
		}
		if !applied && !strings.Contains(why, "cubic") {
			t.Errorf("%s=%s: %q does not say what packetwalk has", tc.name, tc.value, why)
		}
	}
	// A script's sysctl line reaches the knob through the command parser.
	if kv := sysctls("sysctl -q net.ipv4.tcp_congestion_control=cubic"); len(kv) != 1 || kv[0] != [2]string{"net.ipv4.tcp_congestion_control", "cubic"} {
		t.Errorf("sysctls: %v", kv)
	}
}
