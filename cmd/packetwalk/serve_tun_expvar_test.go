package main

import (
	"encoding/json"
	"testing"
)

// serve --tun --expvar shows packetwalk's TCP counters as tcp, named as
// in the kernel's /proc/net/snmp: after curl has fetched a page through
// the device, the stack has accepted one connection and counted the
// segments both ways, and curl's two requests count two connections.
func TestServeTUNExpvarTCP(t *testing.T) {
	s := startTUNServer(t, "--expvar", "127.0.0.1:6061")
	if _, errOut, err := s.run(t, "ip", "link", "set", "lo", "up"); err != nil {
		t.Fatalf("ip link set lo up: %v %s", err, errOut)
	}
	for range 2 {
		if _, errOut, err := s.run(t, "curl", "-sf", "-o", "/dev/null", "http://"+tunAddr+"/"); err != nil {
			t.Fatalf("curl: %v %s", err, errOut)
		}
	}
	out, errOut, err := s.run(t, "curl", "-sf", "http://127.0.0.1:6061/debug/vars")
	if err != nil {
		t.Fatalf("curl /debug/vars: %v %s", err, errOut)
	}
	var vars struct {
		TCP *struct {
			PassiveOpens, InSegs, OutSegs, RetransSegs uint64
		} `json:"tcp"`
	}
	if err := json.Unmarshal([]byte(out), &vars); err != nil {
		t.Fatalf("/debug/vars is not JSON: %v", err)
	}
	if vars.TCP == nil {
		t.Fatalf("/debug/vars has no tcp counters:\n%s", out)
	}
	if c := vars.TCP; c.PassiveOpens != 2 || c.InSegs < 8 || c.OutSegs < 6 {
		t.Errorf("tcp counters after two page fetches: %+v; want 2 passive opens and the segments of two exchanges", *c)
	}
}
