package arp

import (
	"net/netip"
	"testing"

	"github.com/packetwalk/packetwalk/clock"
	"github.com/packetwalk/packetwalk/nic"
	"github.com/packetwalk/packetwalk/viz"
)

// TestNewResolverHook: Config.Resolver nil gives this package's ARP;
// set, it is called with the NIC and the Config with every default filled
// in (a lab's cache reads cfg.RetryInterval and the rest without knowing
// the defaults), and its resolver is the one returned.
func TestNewResolverHook(t *testing.T) {
	c := clock.NewVirtual()
	n := nic.New(nic.Config{Name: "eth0", MAC: nic.MAC{2, 0, 0, 0, 0, 1}, Clock: c, Recorder: viz.NewLog(c).Recorder("h")})
	if _, ok := NewResolver(n, Config{}).(*ARP); !ok {
		t.Fatal("NewResolver with no hook: want *ARP")
	}
	var gotNIC NIC
	var gotCfg Config
	mine := New(n, Config{})
	r := NewResolver(n, Config{QueueLimit: 3, Resolver: func(n NIC, cfg Config) Resolver {
		gotNIC, gotCfg = n, cfg
		return mine
	}})
	if r != Resolver(mine) || gotNIC != NIC(n) {
		t.Fatalf("NewResolver with a hook returned %T for NIC %v; want the hook's resolver for the NIC", r, gotNIC)
	}
	if gotCfg.QueueLimit != 3 || gotCfg.RetryInterval != DefaultRetryInterval || gotCfg.MaxRequests != DefaultMaxRequests ||
		gotCfg.CacheTimeout != DefaultCacheTimeout || gotCfg.FailedTimeout != DefaultFailedTimeout || gotCfg.MaxEntries != DefaultMaxEntries {
		t.Errorf("the hook got %+v; want QueueLimit 3 and every other default filled in", gotCfg)
	}
	r.AddAddress(netip.MustParseAddr("10.0.0.1"))
}
