package chromium_test

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/packetwalk/packetwalk/internal/chromium"
	"github.com/packetwalk/packetwalk/internal/testenv"
)

// A page that logs an error and throws has both gathered, and Take forgets
// them; a quiet page leaves nothing.
func TestConsoleGathersErrors(t *testing.T) {
	path := testenv.Tool(t, "chromium", "install it with: apt-get install chromium")
	ctx, stop := chromium.Start(path, filepath.Join(t.TempDir(), "profile"), 60*time.Second)
	defer stop()
	console := chromium.WatchConsole(ctx)

	page := `data:text/html,<body><script>console.log("fine"); console.error("bad " + 6*7); throw new Error("thrown")</script><p id="p">x</p></body>`
	if err := chromedp.Do(ctx, chromedp.Navigate(page), chromedp.WaitReady(chromedp.ID("p"))); err != nil {
		t.Fatal(err)
	}
	var got []string
	for deadline := time.Now().Add(10 * time.Second); len(got) < 2 && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		got = append(got, console.Take()...)
	}
	all := strings.Join(got, "\n")
	if len(got) != 2 || !strings.Contains(all, "bad 42") || !strings.Contains(all, "thrown") || strings.Contains(all, "fine") {
		t.Fatalf("console errors: want console.error and the exception, not console.log; got %q", got)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(`data:text/html,<p id="q">quiet</p>`), chromedp.WaitReady(chromedp.ID("q"))); err != nil {
		t.Fatal(err)
	}
	if p := console.Take(); len(p) != 0 {
		t.Errorf("a quiet page after Take: got %q", p)
	}
}
