/// <reference lib="dom" />
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { Browser } from "playwright-core";
import { Dispatcher, HrpCronJobService, JobAdmin, JobQueue, ModelRegistry, Scheduler, type JobEnv } from "../../src";
import { memoryLogger, openTestDb, type TestDb } from "../helpers";
import { browserAvailable, launch, watchedContext } from "./browser";
import { serveDashboard } from "./server";

/**
 * Every page of `hrp-cron dashboard` in Chromium, in English and Chinese:
 * it answers 200 with its title, and no page logs an error, violates the
 * CSP or requests anything from another origin. With
 * HRP_CRON_SCREENSHOTS=1 it writes the README's screenshots.
 */
const run = browserAvailable() ? describe : describe.skip;
const SHOTS = process.env.HRP_CRON_SCREENSHOTS === "1" ? join(__dirname, "..", "..", "docs", "screenshots") : null;

run("every dashboard page in Chromium", () => {
  let db: TestDb;
  let browser: Browser;
  let server: Awaited<ReturnType<typeof serveDashboard>>;
  const ids = { job: 0, failed: 0, cron: 0, type: 0 };

  beforeAll(async () => {
    browser = await launch();
    db = await openTestDb("sqlite");
    const registry = new ModelRegistry().register("hrp.asset", {
      async receive(env: JobEnv, kw: { patient_id: number; id_card?: string }) {
        env.progress(1, 1, "posted");
        if (kw.patient_id % 5 === 0) throw new Error(`ledger LOCKED for patient ${kw.patient_id}`);
        return { move: `AM/2026/${kw.patient_id}` };
      },
      async nightly() {},
    });
    const workers = { reports: {} };
    const queue = new JobQueue(db.dataSource, { registry, workers });
    for (let p = 1; p <= 24; p++)
      await queue.enqueue("hrp.asset.receive", {
        kwargs: { patient_id: p, id_card: "110101199003074512" },
        queue: p % 3 ? "default" : "reports",
      });
    await queue.enqueue("hrp.asset.receive", { kwargs: { patient_id: 99 }, runAt: new Date(Date.now() + 3_600_000) });
    await new Dispatcher(db.dataSource, registry, { logger: memoryLogger(), workers }).runDue();
    const service = new HrpCronJobService(db.dataSource, { registry });
    ids.cron = (
      await service.createCron({
        name: "Nightly ledger close",
        model: "hrp.asset",
        function: "nightly",
        cronExpression: "0 2 * * *",
        timeZone: "Asia/Shanghai",
      })
    ).id;
    const scheduler = new Scheduler(db.dataSource, { registry, logger: memoryLogger() });
    ids.type = (await scheduler.createType({ method: "hrp.asset.nightly", frequency: "Daily" })).id;
    const admin = new JobAdmin(db.dataSource);
    const failed = await admin.listJobs({ state: "failed" });
    ids.failed = failed[0].id;
    ids.job = (await admin.listJobs({ state: "done" }))[0].id;
    await admin.retryJob(failed[1].id, undefined, { by: "li.na", source: "cli", reason: "ledger unlocked" });
    await admin.pauseQueue("reports", { by: "wang.wei", source: "cli", reason: "month-end close" });
    server = await serveDashboard(db);
  });
  afterAll(async () => {
    await server?.close();
    await browser?.close();
    await db?.close();
  });

  const pages = () => [
    { name: "overview", path: "/", title: { en: "Overview", "zh-CN": "概览" } },
    { name: "jobs", path: "/jobs", title: { en: "Jobs", "zh-CN": "任务" } },
    { name: "job-failed", path: `/jobs/${ids.failed}`, title: null },
    { name: "job-done", path: `/jobs/${ids.job}`, title: null },
    { name: "crons", path: "/crons", title: null },
    { name: "cron", path: `/crons/${ids.cron}`, title: null },
    { name: "job-type", path: `/job-types/${ids.type}`, title: null },
    { name: "queues", path: "/queues", title: null },
    { name: "queue", path: "/queues/reports", title: null },
    { name: "workers", path: "/workers", title: null },
    { name: "actions", path: "/actions", title: null },
  ];

  for (const locale of ["en", "zh-CN"] as const)
    it(`renders every page cleanly in ${locale}`, async () => {
      const { context, watch, newPage } = await watchedContext(browser, server.origin, { locale });
      const page = await newPage();
      for (const p of pages()) {
        const response = await page.goto(`${server.origin}${p.path}`);
        expect({ page: p.path, status: response?.status() }).toEqual({ page: p.path, status: 200 });
        expect(await page.locator("html").getAttribute("lang")).toBe(locale);
        const h1 = (await page.locator("h1").textContent()) ?? "";
        expect(h1.trim()).not.toBe("");
        if (p.title) expect(h1).toBe(p.title[locale]);
        // No text key left untranslated: a missing key renders as [key].
        expect({
          page: p.path,
          missing: (await page.locator("body").innerText()).match(/\[[a-z]+\.[\w.-]+\]/g),
        }).toEqual({
          page: p.path,
          missing: null,
        });
        if (SHOTS && (locale === "en" || ["overview", "jobs", "job-failed"].includes(p.name))) {
          mkdirSync(SHOTS, { recursive: true });
          await page.screenshot({
            path: join(SHOTS, `${p.name}${locale === "en" ? "" : `-${locale}`}.png`),
            fullPage: true,
          });
        }
      }
      expect(watch.foreignRequests).toEqual([]);
      expect(watch.cspViolations).toEqual([]);
      expect(watch.pageErrors).toEqual([]);
      expect(watch.consoleErrors).toEqual([]);
      await context.close();
    });

  it("masks secrets in a job's arguments", async () => {
    const { context, newPage } = await watchedContext(browser, server.origin);
    const page = await newPage();
    await page.goto(`${server.origin}/jobs/${ids.failed}`);
    const text = await page.locator("body").innerText();
    expect(text).not.toContain("110101199003074512");
    expect(text).toContain("ledger LOCKED");
    await context.close();
  });
});
