package httpd

import (
	"testing"
	"time"
)

// TestTimeTextRemembersBySecondAndZone checks that the remembered text is
// the one time.Format gives, for the same second in two zones and for the
// next second.
func TestTimeTextRemembersBySecondAndZone(t *testing.T) {
	c := timeText{layout: clfTimeFormat}
	east := time.FixedZone("east", 9*3600)
	base := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
	for _, tm := range []time.Time{
		base, base.Add(300 * time.Millisecond), base.In(east), base, base.Add(time.Second), base.Add(time.Second).In(east),
	} {
		if got, want := c.format(tm), tm.Format(clfTimeFormat); got != want {
			t.Errorf("%v: got %q, want %q", tm, got, want)
		}
	}
}
