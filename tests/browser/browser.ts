/**
 * Test helper: a headless Chromium driven by puppeteer-core, with a throw-away profile, and a
 * page check that records console errors, page errors and every request.
 *
 * @module
 */
// The browser driver is pinned in tests/browser/deno.json (with its own lock), so the library's
// deno.lock never holds it and a fresh checkout of the library does not download it.
import puppeteer, { type Browser, type Page } from "puppeteer-core";

export type { Browser, Page };

/** A running browser and the cleanup that closes it and removes its profile directory. */
export interface LaunchedBrowser {
  /** The puppeteer browser. */
  browser: Browser;
  /** Closes the browser and removes the temporary profile. Safe to call twice. */
  close(): Promise<void>;
}

/** The Chromium flags used for every test browser. */
export const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
  "--disable-quic",
];

/**
 * Launches headless Chromium (`CHROMIUM_PATH`, default `/usr/bin/chromium`) with a fresh
 * temporary `--user-data-dir`.
 */
export async function launchBrowser(): Promise<LaunchedBrowser> {
  const executablePath = Deno.env.get("CHROMIUM_PATH") ?? "/usr/bin/chromium";
  const profile = await Deno.makeTempDir({ prefix: "modelog-chromium-" });
  let browser: Browser;
  try {
    browser = await puppeteer.launch({
      executablePath,
      headless: true,
      args: [...CHROMIUM_ARGS, `--user-data-dir=${profile}`],
      defaultViewport: { width: 1280, height: 900 },
    });
  } catch (e) {
    await Deno.remove(profile, { recursive: true }).catch(() => {});
    throw e;
  }
  // Every page the test opens, to see their frames gone at close (see mainFramesGone).
  const pages: Page[] = [];
  browser.on("targetcreated", (t) => {
    if (t.type() === "page") void t.page().then((p) => p && pages.push(p), () => {});
  });
  for (const p of await browser.pages()) pages.push(p);
  let closed = false;
  return {
    browser,
    async close() {
      if (closed) return;
      closed = true;
      try {
        await browser.close();
        let timer: ReturnType<typeof setTimeout> | undefined;
        const late = new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new Error("a page's frame was still attached 10 s after close")),
            10_000,
          );
        });
        try {
          await Promise.race([Promise.all(pages.map(mainFrameGone)), late]);
        } finally {
          clearTimeout(timer);
        }
      } finally {
        await Deno.remove(profile, { recursive: true }).catch(() => {});
      }
    },
  };
}

/**
 * Resolves once `page`'s main frame is detached. A page whose session ended while the browser
 * was still connected (closed, or moved to another renderer) has puppeteer wait up to 100 ms on
 * a timer for its frame to be swapped, then detach it; a test ending before that timer fires
 * fails the op sanitizer. After the browser is closed every main frame is detached, at once or
 * when that timer fires.
 */
function mainFrameGone(page: Page): Promise<void> {
  if (page.mainFrame().detached) return Promise.resolve();
  return new Promise((resolve) => {
    const onDetached = () => {
      if (!page.mainFrame().detached) return;
      page.off("framedetached", onDetached);
      resolve();
    };
    page.on("framedetached", onDetached);
  });
}

/** What {@link openAndCheck} saw while loading a page. */
export interface PageCheck {
  /** Console messages of type `error`. */
  consoleErrors: string[];
  /** Uncaught exceptions in the page. */
  pageErrors: string[];
  /** The URL of every request the page made, including the page itself. */
  requests: string[];
  /** Requests that failed, with the reason. */
  failedRequests: string[];
}

/**
 * Opens `url` in `page`, waits for the load event and network idle (and, when `readyExpression`
 * is given, until it evaluates truthy in the page), and returns what was logged and requested.
 */
export async function openAndCheck(
  page: Page,
  url: string,
  opts: { readyExpression?: string; timeoutMs?: number } = {},
): Promise<PageCheck> {
  const out: PageCheck = { consoleErrors: [], pageErrors: [], requests: [], failedRequests: [] };
  page.on("console", (msg) => {
    if (msg.type() === "error") out.consoleErrors.push(msg.text());
  });
  page.on("pageerror", (err) => {
    out.pageErrors.push(err instanceof Error ? `${err.name}: ${err.message}` : String(err));
  });
  page.on("request", (req) => {
    out.requests.push(req.url());
  });
  page.on("requestfailed", (req) => {
    out.failedRequests.push(`${req.url()}: ${req.failure()?.errorText ?? "failed"}`);
  });
  const timeout = opts.timeoutMs ?? 60_000;
  await page.goto(url, { waitUntil: ["load", "networkidle0"], timeout });
  if (opts.readyExpression) {
    await page.waitForFunction(opts.readyExpression, { timeout });
  }
  return out;
}

/** Whether a request URL stays on this machine: file://, 127.0.0.1/localhost, data: or blob:. */
export function isLocalUrl(url: string): boolean {
  if (url.startsWith("file://") || url.startsWith("data:") || url.startsWith("blob:")) return true;
  try {
    const u = new URL(url);
    return (u.protocol === "http:" || u.protocol === "https:" || u.protocol === "ws:") &&
      (u.hostname === "127.0.0.1" || u.hostname === "localhost" || u.hostname === "[::1]");
  } catch {
    return false;
  }
}
