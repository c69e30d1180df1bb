/// <reference lib="dom" />
import { existsSync } from "node:fs";
import type { Browser, BrowserContext, Page } from "playwright-core";

/**
 * The system Chromium (Debian's `chromium` package) driven by
 * playwright-core, which downloads nothing. `.ci/run` installs it and sets
 * HRP_CRON_REQUIRE_BROWSER=1, so there the browser tests must run; on a
 * machine without it they are skipped with a note.
 */

export const CHROMIUM = process.env.HRP_CRON_CHROMIUM ?? "/usr/bin/chromium";

/** Whether the browser tests can run here; throws when they must and cannot. */
export function browserAvailable(): boolean {
  if (existsSync(CHROMIUM)) return true;
  if (process.env.HRP_CRON_REQUIRE_BROWSER === "1")
    throw new Error(`HRP_CRON_REQUIRE_BROWSER=1 but there is no Chromium at ${CHROMIUM}: apt-get install -y chromium`);
  console.warn(
    `browser tests skipped: no Chromium at ${CHROMIUM} (apt-get install -y chromium, or set HRP_CRON_CHROMIUM)`,
  );
  return false;
}

export async function launch(): Promise<Browser> {
  const { chromium } = await import("playwright-core");
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
    ],
  });
}

/** What a page did that it must not: errors in its console, uncaught exceptions, CSP violations, requests elsewhere. */
export interface Watch {
  readonly consoleErrors: string[];
  readonly pageErrors: string[];
  readonly cspViolations: string[];
  readonly foreignRequests: string[];
}

/**
 * A browser context that refuses (and records) every request that leaves
 * `origin`, and records console errors, page errors and CSP violations of
 * every page opened in it.
 */
export async function watchedContext(
  browser: Browser,
  origin: string,
  options: { readonly locale?: string; readonly extraHTTPHeaders?: Record<string, string> } = {},
): Promise<{ context: BrowserContext; watch: Watch; newPage(): Promise<Page> }> {
  const context = await browser.newContext({
    locale: options.locale ?? "en-US",
    extraHTTPHeaders: options.extraHTTPHeaders,
  });
  const watch: Watch = { consoleErrors: [], pageErrors: [], cspViolations: [], foreignRequests: [] };
  await context.route("**/*", (route) => {
    const url = route.request().url();
    if (url.startsWith(`${origin}/`) || url === origin) return route.continue();
    watch.foreignRequests.push(url);
    return route.abort();
  });
  // Runs before the page's own script (through the DevTools protocol, which the page's CSP does not govern).
  await context.addInitScript(() => {
    document.addEventListener("securitypolicyviolation", (e) => {
      (window as unknown as { __csp: string[] }).__csp ??= [];
      (window as unknown as { __csp: string[] }).__csp.push(`${e.violatedDirective} ${e.blockedURI}`);
      console.error(`CSP violation: ${e.violatedDirective} ${e.blockedURI}`);
    });
  });
  const newPage = async () => {
    const page = await context.newPage();
    page.on("console", (m) => {
      if (m.type() === "error")
        (m.text().startsWith("CSP violation") ? watch.cspViolations : watch.consoleErrors).push(m.text());
    });
    page.on("pageerror", (e) => watch.pageErrors.push(String(e)));
    return page;
  };
  return { context, watch, newPage };
}
