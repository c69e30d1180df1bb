/// <reference lib="dom" />
import type { Browser } from "playwright-core";
import { Dispatcher, JobQueue, ModelRegistry, type JobEnv } from "../../src";
import { memoryLogger, openTestDb, type TestDb } from "../helpers";
import { browserAvailable, launch, watchedContext, type Watch } from "./browser";
import { serveDashboard } from "./server";

/**
 * The overview and workers pages in a real Chromium: the SVG chart and every
 * region render with no console error, no CSP violation and no request
 * leaving the origin, in English and Chinese, and live refresh swaps the
 * overview's regions.
 */
const run = browserAvailable() ? describe : describe.skip;

run("overview and workers pages in Chromium", () => {
  let db: TestDb;
  let browser: Browser;
  let server: Awaited<ReturnType<typeof serveDashboard>>;
  const registry = new ModelRegistry().register("hrp.lab", {
    async result(_env: JobEnv, kw: { n: number }) {
      if (kw.n % 3 === 0) throw new Error("analyser offline");
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
    const queue = new JobQueue(db.dataSource, { registry });
    for (let n = 1; n <= 9; n++) await queue.enqueue("hrp.lab.result", { kwargs: { n }, maxRetries: 0 });
    await new Dispatcher(db.dataSource, registry, { logger: memoryLogger() }).runDue();
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

  it("renders the overview's chart and regions and the workers page, cleanly, in English and Chinese", async () => {
    const { context, watch, newPage } = await watchedContext(browser, server.origin);
    const page = await newPage();
    await page.goto(`${server.origin}/`);
    expect(await page.locator("svg.chart g.bucket").count()).toBe(24);
    const box = await page.locator("svg.chart").boundingBox();
    expect(box!.width).toBeGreaterThan(300);
    expect(await page.locator(".card[data-state=failed] .value").textContent()).toBe("3");
    await page.click("text=Last 60 minutes");
    expect(await page.locator("svg.chart g.bucket").count()).toBe(60);
    await page.goto(`${server.origin}/workers?lang=zh-CN`);
    expect(await page.locator("h1").textContent()).toBe("工作进程");
    await page.goto(`${server.origin}/`);
    expect(await page.locator("h1").textContent()).toBe("概览");
    clean(watch);
    await context.close();
  });

  it("refreshes the overview's regions with new counts", async () => {
    const { context, watch, newPage } = await watchedContext(browser, server.origin);
    const page = await newPage();
    await page.goto(`${server.origin}/`);
    expect(await page.locator(".card[data-state=pending] .value").textContent()).toBe("0");
    await page.selectOption("[data-refresh-select]", "2");
    await new JobQueue(db.dataSource, { registry }).enqueue("hrp.lab.result", { kwargs: { n: 1 } });
    await page.waitForFunction(
      () => document.querySelector(".card[data-state=pending] .value")?.textContent === "1",
      undefined,
      { timeout: 10_000 },
    );
    clean(watch);
    await context.close();
  });
});
