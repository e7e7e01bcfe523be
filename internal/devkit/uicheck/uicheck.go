// Package uicheck drives headless Chromium (Debian's /usr/bin/chromium,
// through the DevTools protocol with chromedp) to a run's page in the
// Temporal Web UI, to check that operators can read a run there: its
// summary, node summaries, timer labels and current details.
package uicheck

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/dom"
	"github.com/chromedp/chromedp"
)

// DefaultChromium is where Debian's chromium package installs the browser.
const DefaultChromium = "/usr/bin/chromium"

// Chromium returns the browser to drive: $CHROMIUM, else /usr/bin/chromium.
func Chromium() (string, error) {
	p := os.Getenv("CHROMIUM")
	if p == "" {
		p = DefaultChromium
	}
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("chromium not found at %s (make observability-chromium installs Debian's chromium; make test runs it)", p)
	}
	return p, nil
}

// RunURL is the history page of a run in the Web UI.
func RunURL(ui, namespace, workflowID, runID string) string {
	return fmt.Sprintf("%s/namespaces/%s/workflows/%s/%s/history", strings.TrimRight(ui, "/"), url.PathEscape(namespace), url.PathEscape(workflowID), url.PathEscape(runID))
}

// Browser is one headless Chromium with a fresh profile.
type Browser struct {
	ctx    context.Context
	cancel func()
}

// Open starts Chromium with the flags this machine needs: no sandbox (root),
// no GPU, and no background networking (the network is closed), on a new
// user data directory.
func Open(ctx context.Context, chromium, userDataDir string) (*Browser, error) {
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromium),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.UserDataDir(userDataDir),
		chromedp.WindowSize(1600, 1200),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	bctx, cancelBrowser := chromedp.NewContext(actx)
	if _, err := chromedp.Run(bctx, chromedp.Navigate("about:blank")); err != nil { // starts the browser
		cancelBrowser()
		cancelAlloc()
		return nil, fmt.Errorf("starting %s: %w", chromium, err)
	}
	return &Browser{ctx: bctx, cancel: func() { cancelBrowser(); cancelAlloc() }}, nil
}

// Close stops the browser.
func (b *Browser) Close() { b.cancel() }

// Navigate opens a page. It does not wait for the network to go idle: the
// Web UI polls, so it never does.
func (b *Browser) Navigate(ctx context.Context, u string) error {
	ctx, cancel := b.with(ctx, 30*time.Second)
	defer cancel()
	_, err := chromedp.Run(ctx, chromedp.Navigate(u))
	return err
}

// WaitText waits until the page's visible text contains every one of texts
// and returns the ones still missing when timeout passes.
func (b *Browser) WaitText(ctx context.Context, timeout time.Duration, texts ...string) ([]string, error) {
	deadline := time.Now().Add(timeout)
	for {
		body, err := b.Text(ctx)
		if err != nil {
			return texts, err
		}
		var missing []string
		for _, t := range texts {
			if !strings.Contains(body, t) {
				missing = append(missing, t)
			}
		}
		if len(missing) == 0 || time.Now().After(deadline) {
			return missing, nil
		}
		select {
		case <-ctx.Done():
			return missing, ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// Text is the page's visible text (document.body.innerText) followed by
// the text of its frames, whitespace runs folded to one space. The Web UI
// renders user metadata (summary, details, current details) as Markdown in
// sandboxed iframes, which innerText does not reach, so frames are read
// through the DevTools DOM.
func (b *Browser) Text(ctx context.Context) (string, error) {
	ctx, cancel := b.with(ctx, 10*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText : ""`))
	if err != nil {
		return "", err
	}
	frames, err := chromedp.Run(ctx, chromedp.Action[string](frameText))
	if err != nil {
		return "", err
	}
	return strings.Join(strings.Fields(s+" "+frames), " "), nil
}

// frameText is the text of every frame's document in the page.
func frameText(ctx context.Context, t *chromedp.Target) (string, error) {
	depth, pierce := int64(-1), true
	r, err := cdp.Call(ctx, t, dom.GetDocument, dom.GetDocumentParams{Depth: &depth, Pierce: &pierce})
	if err != nil {
		return "", err
	}
	var sb strings.Builder
	var walk func(n *cdp.Node, inFrame bool)
	walk = func(n *cdp.Node, inFrame bool) {
		if n == nil || n.NodeName == "SCRIPT" || n.NodeName == "STYLE" {
			return
		}
		if inFrame && n.NodeType == 3 { // Node.TEXT_NODE
			sb.WriteString(n.NodeValue)
			sb.WriteByte(' ')
		}
		for _, c := range n.Children {
			walk(c, inFrame)
		}
		walk(n.ContentDocument, true)
	}
	walk(r.Root, false)
	return sb.String(), nil
}

// Click clicks the first element whose visible text is exactly text, if
// any; it reports whether it found one.
func (b *Browser) Click(ctx context.Context, text string) (bool, error) {
	ctx, cancel := b.with(ctx, 10*time.Second)
	defer cancel()
	js := fmt.Sprintf(`(() => {
		const want = %q;
		for (const el of document.querySelectorAll('button, a, [role=tab], [role=button], summary, span, div')) {
			if (el.children.length === 0 && el.innerText && el.innerText.trim() === want) {
				(el.closest('button, a, [role=tab], [role=button], summary') || el).click();
				return true;
			}
		}
		return false;
	})()`, text)
	return chromedp.Run(ctx, chromedp.Evaluate[bool](js))
}

// Screenshot saves a full-page PNG at path.
func (b *Browser) Screenshot(ctx context.Context, path string) error {
	ctx, cancel := b.with(ctx, 30*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, png, 0o644)
}

// with bounds an action by timeout and by ctx, on the browser's context.
func (b *Browser) with(ctx context.Context, timeout time.Duration) (context.Context, context.CancelFunc) {
	c, cancel := context.WithTimeout(b.ctx, timeout)
	stop := context.AfterFunc(ctx, cancel)
	return c, func() { stop(); cancel() }
}

// Eval evaluates a JavaScript expression in the page and returns its value
// as JSON (wrap objects in JSON.stringify yourself to shape them).
func (b *Browser) Eval(ctx context.Context, js string) (string, error) {
	ctx, cancel := b.with(ctx, 10*time.Second)
	defer cancel()
	return chromedp.Run(ctx, chromedp.Evaluate[string](`JSON.stringify((() => { return `+js+`; })())`))
}
