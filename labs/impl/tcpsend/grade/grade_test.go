package grade_test

import (
	"testing"

	"github.com/packetwalk/packetwalk/labs/impl/tcpsend/grade"
	"github.com/packetwalk/packetwalk/labs/impl/tcpsend/reference"
	"github.com/packetwalk/packetwalk/tcp"
)

// TestReference: the reference solution passes every graded test.
func TestReference(t *testing.T) { grade.Run(t, reference.New) }

// TestTCPsOwnSender: so does the stack's own sender, so the tests ask for
// what TCP itself does.
func TestTCPsOwnSender(t *testing.T) { grade.Run(t, tcp.NewSender) }
