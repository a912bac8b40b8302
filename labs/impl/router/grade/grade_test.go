package grade_test

import (
	"testing"

	"github.com/packetwalk/packetwalk/ip"
	"github.com/packetwalk/packetwalk/labs/impl/router/grade"
	"github.com/packetwalk/packetwalk/labs/impl/router/reference"
)

// TestReference: the reference solution passes every graded test.
func TestReference(t *testing.T) { grade.Run(t, reference.New) }

// TestIPsOwnRouter: so does ip's own routing table, which the wire tests
// use as the oracle; the unit tests agree with it.
func TestIPsOwnRouter(t *testing.T) { grade.Run(t, ip.NewRouteTable) }
