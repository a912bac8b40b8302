package drill

import (
	"os"
	"testing"

	"github.com/packetwalk/packetwalk/stack"
	"github.com/packetwalk/packetwalk/viz"
	"github.com/packetwalk/packetwalk/viz/text"
)

func TestScratch(t *testing.T) {
	f := os.Getenv("DRILL_SCRATCH")
	if f == "" {
		return
	}
	src, _ := os.ReadFile(f)
	s, err := Load(f, src)
	if err != nil {
		t.Fatal(err)
	}
	res, err := Run(s, Config{Relaxed: os.Getenv("RELAXED") != "", Prepare: func(n *stack.Network) error {
		if os.Getenv("NARRATE") != "" {
			n.Log.AddSink(text.NewNarrator(os.Stdout, text.Options{}))
		}
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	_ = viz.Note
	t.Logf("%+v %v", res, res.Failure)
}
