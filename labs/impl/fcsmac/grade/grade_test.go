package grade_test

import (
	"testing"

	"github.com/packetwalk/packetwalk/labs/impl/fcsmac/grade"
	"github.com/packetwalk/packetwalk/labs/impl/fcsmac/reference"
)

// TestReference: the reference solution passes every graded test (in
// process; labs/impl's tests also grade it, and the skeleton, through
// `lab test`).
func TestReference(t *testing.T) { grade.Run(t, reference.New) }
