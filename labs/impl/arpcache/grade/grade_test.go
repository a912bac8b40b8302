package grade_test

import (
	"testing"

	"github.com/packetwalk/packetwalk/arp"
	"github.com/packetwalk/packetwalk/labs/impl/arpcache/grade"
	"github.com/packetwalk/packetwalk/labs/impl/arpcache/reference"
)

// TestReference: the reference solution passes every graded test.
func TestReference(t *testing.T) { grade.Run(t, reference.New) }

// TestARPsOwnResolver: so does arp's own resolver, which the wire tests
// use as the oracle; the unit tests agree with it.
func TestARPsOwnResolver(t *testing.T) {
	grade.Run(t, func(n arp.NIC, cfg arp.Config) arp.Resolver { return arp.New(n, cfg) })
}
