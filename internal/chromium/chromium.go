// Package chromium starts the headless Chromium in which the HTML report
// and the live view are opened, by viz/report's and cmd/packetwalk's tests
// and by bench/report, and gathers what a page writes to its console as
// errors. The pages are our own JavaScript; Chromium is code we did not
// write that runs it the way a reader's browser will.
package chromium

import (
	"context"
	"sync"
	"time"

	"github.com/chromedp/chromedp"
)

// Start launches Chromium from path, headless, with its profile (cache,
// cookies) in the directory profile, and returns the context of one tab
// that ends after timeout; stop closes the tab and ends the browser. extra
// options are appended to the common ones.
//
// The common options: no sandbox (CI runs as root, where Chromium's
// sandbox refuses to start), no GPU, and no first-run page, background
// networking, component updates or sync, so that the browser sends
// nothing but what the page asks for. A 1400x1000 window fits the report's
// ladder and panels.
func Start(path, profile string, timeout time.Duration, extra ...chromedp.ExecAllocatorOption) (ctx context.Context, stop func()) {
	opts := append(chromedp.DefaultExecAllocatorOptions[:0:0],
		chromedp.ExecPath(path),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
	)
	opts = append(opts, extra...)
	opts = append(opts,
		chromedp.UserDataDir(profile),
		chromedp.WindowSize(1400, 1000),
	)
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelC := chromedp.NewContext(actx)
	ctx, cancelT := context.WithTimeout(ctx, timeout)
	return ctx, func() { cancelT(); cancelC(); cancelA() }
}

// Console gathers a page's console.error calls and uncaught exceptions:
// a page that draws but throws on the way is broken all the same.
type Console struct {
	mu       sync.Mutex
	problems []string
}

// WatchConsole subscribes to the console of ctx's tab (from Start). Call it
// before navigating, so that errors raised while the page loads are kept.
func WatchConsole(ctx context.Context) *Console {
	c := &Console{}
	messages := chromedp.Console(ctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			if m.Type == chromedp.ConsoleError || m.Type == chromedp.ConsoleException {
				c.mu.Lock()
				c.problems = append(c.problems, m.String())
				c.mu.Unlock()
			}
		}
	}()
	return c
}

// Take returns the errors gathered since the last Take, and forgets them,
// so that a test checking two pages in turn blames each for its own.
func (c *Console) Take() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	p := c.problems
	c.problems = nil
	return p
}
