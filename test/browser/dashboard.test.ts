/// <reference lib="dom" />
import { mkdirSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import type { Browser } from "playwright-core";
import { Dispatcher, JobAdmin, JobQueue, ModelRegistry, type JobEnv } from "../../src";
import { memoryLogger, openTestDb, type TestDb } from "../helpers";
import { browserAvailable, launch, watchedContext, type Watch } from "./browser";
import { serveDashboard } from "./server";

/**
 * The dashboard in a real Chromium: pages render with no console error, no
 * CSP violation and no request leaving the origin; filters, a bulk retry
 * through the confirmation form, read-only users, a cross-site form, the
 * Chinese pages, live refresh. HRP_CRON_SCREENSHOTS=1 also writes the
 * README's screenshots to docs/screenshots/.
 */
const run = browserAvailable() ? describe : describe.skip;
const SHOTS = process.env.HRP_CRON_SCREENSHOTS === "1" ? join(__dirname, "..", "..", "docs", "screenshots") : null;

run("dashboard in Chromium", () => {
  let db: TestDb;
  let browser: Browser;
  let server: Awaited<ReturnType<typeof serveDashboard>>;
  const registry = new ModelRegistry().register("hrp.asset", {
    async receive(_env: JobEnv, kw: { patient_id: number; password?: string }) {
      if (kw.patient_id % 4 === 0) throw new Error(`ledger LOCKED for patient ${kw.patient_id}`);
    },
  });

  beforeAll(async () => {
    browser = await launch();
  });
  afterAll(async () => {
    await browser?.close();
  });
  beforeEach(async () => {
    db = await openTestDb("sqlite");
    const queue = new JobQueue(db.dataSource, { registry, workers: { reports: {} } });
    for (let p = 1; p <= 14; p++)
      await queue.enqueue("hrp.asset.receive", {
        kwargs: { patient_id: p, password: "s3cret" },
        queue: p % 2 ? "default" : "reports",
      });
    await new Dispatcher(db.dataSource, registry, { logger: memoryLogger(), workers: { reports: {} } }).runDue();
    server = await serveDashboard(db);
  });
  afterEach(async () => {
    await server?.close();
    await db?.close();
  });

  const clean = (watch: Watch) => {
    expect(watch.foreignRequests).toEqual([]);
    expect(watch.cspViolations).toEqual([]);
    expect(watch.pageErrors).toEqual([]);
    expect(watch.consoleErrors).toEqual([]);
  };

  it("renders the job list, filters it from the search box, and retries a selection through the confirmation form", async () => {
    const { context, watch, newPage } = await watchedContext(browser, server.origin);
    const page = await newPage();
    const response = await page.goto(`${server.origin}/jobs`);
    expect(response?.status()).toBe(200);
    await expect(page.locator("h1").textContent()).resolves.toBe("Jobs");
    expect(await page.locator("#jobs-table tbody tr").count()).toBe(14);
    if (SHOTS) {
      mkdirSync(SHOTS, { recursive: true });
      await page.screenshot({ path: join(SHOTS, "jobs.png"), fullPage: true });
    }

    await page.fill('input[name="q"]', "args.patient_id:8");
    await page.click('form.filters button[type="submit"]');
    await page.waitForURL(/q=args.patient_id%3A8/);
    expect(await page.locator("#jobs-table tbody tr").count()).toBe(1);
    expect(await page.locator("#jobs-table tbody").textContent()).toContain("ledger LOCKED for patient 8");

    await page.goto(`${server.origin}/jobs?state=failed`);
    expect(await page.locator("#jobs-table tbody tr").count()).toBe(3); // 4, 8, 12
    await page.check("[data-select-all]");
    await expect(page.locator("[data-selection-count]").textContent()).resolves.toContain("3");
    await page.click('button[value="retry:selected"]');
    await expect(page.locator(".preview").textContent()).resolves.toContain("3 of the 3 selected jobs can be retried");
    if (SHOTS) await page.screenshot({ path: join(SHOTS, "bulk-retry-confirm.png"), fullPage: true });
    await page.fill('.confirm-form input[name="reason"]', "ledger unlocked by finance");
    await page.click('.confirm-form button[type="submit"]');
    await page.waitForURL(/\/jobs\?state=failed$/);
    await expect(page.locator(".flash-ok").textContent()).resolves.toContain("3 jobs are pending again");
    const admin = new JobAdmin(db.dataSource);
    expect(await admin.listJobs({ state: "failed" })).toEqual([]);
    const [action] = await admin.listActions();
    expect(action).toMatchObject({
      action: "bulk_retry",
      actor: server.login,
      source: "dashboard",
      reason: "ledger unlocked by finance",
      ip: "127.0.0.1",
    });
    expect(action.userAgent).toMatch(/Chrome/);
    clean(watch);
    await context.close();
  });

  it("shows a read-only user no action and answers 403 to a POST forged with their own token", async () => {
    const viewer = await serveDashboard(db, { readOnly: true });
    const { context, watch, newPage } = await watchedContext(browser, viewer.origin);
    const page = await newPage();
    await page.goto(`${viewer.origin}/jobs?state=failed`);
    expect(await page.locator("#jobs-table tbody tr").count()).toBe(3);
    expect(await page.locator('form[method="post"], button[name="do"], input[name="ids"]').count()).toBe(0);
    clean(watch);
    const token = (await context.cookies()).find((c) => c.name === "hrp_cron_csrf")!.value;
    const forged = await context.request.post(`${viewer.origin}/jobs/bulk`, {
      form: { _csrf: token, do: "retry:filter", state: "failed", confirmed: "1" },
      headers: { origin: viewer.origin },
    });
    expect(forged.status()).toBe(403);
    expect(await new JobAdmin(db.dataSource).listJobs({ state: "failed" })).toHaveLength(3);
    await context.close();
    await viewer.close();
  });

  it("refuses a form posted to it from another site, and changes nothing", async () => {
    // The attacker's page, on another origin, auto-submits a form at the dashboard.
    const evil = createServer((_req, res) => {
      res.setHeader("content-type", "text/html");
      res.end(`<form id="f" method="post" action="${server.origin}/jobs/bulk">
        <input name="do" value="retry:filter"><input name="state" value="failed"><input name="confirmed" value="1"></form>
        <script>document.getElementById("f").submit()</script>`);
    });
    await new Promise<void>((resolve) => evil.listen(0, "127.0.0.1", resolve));
    const evilOrigin = `http://localhost:${(evil.address() as AddressInfo).port}`;
    const context = await browser.newContext({});
    const page = await context.newPage();
    await page.goto(`${server.origin}/jobs`); // signed in, with its cookies
    const posted = page.waitForResponse((r) => r.url().endsWith("/jobs/bulk"));
    await page.goto(evilOrigin);
    const response = await posted;
    expect(response.status()).toBe(403);
    expect(await response.text()).toContain("cross-site");
    expect(await new JobAdmin(db.dataSource).listJobs({ state: "failed" })).toHaveLength(3);
    await context.close();
    await new Promise<void>((resolve) => evil.close(() => resolve()));
  });

  it("speaks Chinese to a browser that asks for it, and switches language with the link", async () => {
    const { context, watch, newPage } = await watchedContext(browser, server.origin, {
      locale: "zh-CN",
    });
    const page = await newPage();
    await page.goto(`${server.origin}/jobs?state=failed`);
    await expect(page.locator("html").getAttribute("lang")).resolves.toBe("zh-CN");
    await expect(page.locator("h1").textContent()).resolves.toBe("任务");
    await expect(page.locator("nav[aria-label] a[aria-current=page]").first().textContent()).resolves.toBe("任务");
    expect(await page.locator(".badge.state-failed").first().textContent()).toBe("失败");
    if (SHOTS) await page.screenshot({ path: join(SHOTS, "jobs-zh-CN.png"), fullPage: true });
    await page.click('a[hreflang="en"]');
    await expect(page.locator("h1").textContent()).resolves.toBe("Jobs");
    await page.goto(`${server.origin}/jobs`); // the choice is kept in a cookie
    await expect(page.locator("h1").textContent()).resolves.toBe("Jobs");
    clean(watch);
    await context.close();
  });

  it("refreshes the live region at the chosen interval, and not while the tab is hidden", async () => {
    const { context, watch, newPage } = await watchedContext(browser, server.origin);
    const page = await newPage();
    let refreshes = 0;
    page.on("request", (r) => {
      if (r.headers()["x-requested-with"] === "hrp-cron-refresh") refreshes++;
    });
    await page.goto(`${server.origin}/jobs?state=pending`);
    await expect(page.locator("#jobs-results .empty").count()).resolves.toBe(1);
    await page.selectOption("[data-refresh-select]", "2");
    await new JobQueue(db.dataSource, { registry }).enqueue("hrp.asset.receive", {
      kwargs: { patient_id: 99 },
      runAt: new Date(Date.now() + 3_600_000),
    });
    await page.waitForSelector("#jobs-table tbody tr", { timeout: 10_000 });
    expect(refreshes).toBeGreaterThanOrEqual(1);

    // Hidden: no refresh request for a few intervals.
    await page.evaluate(() => {
      Object.defineProperty(document, "hidden", { configurable: true, get: () => true });
      document.dispatchEvent(new Event("visibilitychange"));
    });
    const before = refreshes;
    await page.waitForTimeout(4_500);
    expect(refreshes).toBe(before);
    // The interval is remembered across pages.
    await page.goto(`${server.origin}/jobs`);
    await expect(page.locator("[data-refresh-select]").inputValue()).resolves.toBe("2");
    clean(watch);
    await context.close();
  });
});
