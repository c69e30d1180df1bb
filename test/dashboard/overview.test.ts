import { Dispatcher, JobAdmin, JobQueue, ModelRegistry, Scheduler, type JobEnv } from "../../src";
import { Dashboard } from "../../src/dashboard";
import { BACKENDS, fixedClock, memoryLogger, openTestDb, type TestDb } from "../helpers";
import { DashboardClient, type Page } from "./client";

/**
 * The overview over a real database: jobs run by a real dispatcher at known
 * times (a fixed clock), then the page read at a known instant, so every
 * number on it (cards, queue table, chart bars, oldest due job, failing
 * methods) is checked against what happened.
 */
describe.each(BACKENDS)("dashboard overview on %s", (kind) => {
  let db: TestDb;
  const clock = fixedClock("2026-11-30T11:10:00.000Z");
  const registry = new ModelRegistry().register("hrp.lab", {
    async result(_env: JobEnv, kw: { fail?: boolean }) {
      if (kw.fail) throw new Error("analyser offline");
    },
    async archive() {},
  });
  beforeEach(async () => {
    db = await openTestDb(kind);
  });
  afterEach(() => db.close());

  const queue = () => new JobQueue(db.dataSource, { registry, now: clock.now });
  const runAll = () => new Dispatcher(db.dataSource, registry, { now: clock.now, logger: memoryLogger() }).runDue();
  const enqueue = (kwargs: { fail?: boolean }, q = "default") =>
    queue().enqueue("hrp.lab.result", { kwargs, queue: q, maxRetries: 0 });

  /**
   * 11:10 — default: 2 done, 1 failed; 13:20 — short: 1 done, 2 failed;
   * in queue long a job due at 12:00 still pending (its queue was not run) and one cancelled;
   * in short one due at 15:00 (not due yet).
   */
  async function given(): Promise<{ oldestId: number }> {
    clock.set("2026-11-30T11:10:00.000Z");
    await enqueue({});
    await enqueue({});
    await enqueue({ fail: true });
    await runAll();
    clock.set("2026-11-30T12:00:00.000Z");
    const oldest = await queue().enqueue("hrp.lab.archive", { queue: "long" });
    const cancelled = await queue().enqueue("hrp.lab.archive", { queue: "long", delayMs: 3_600_000 });
    await new JobAdmin(db.dataSource, { now: clock.now }).cancelJob(cancelled.id);
    clock.set("2026-11-30T13:20:00.000Z");
    await enqueue({}, "short");
    await enqueue({ fail: true }, "short");
    await enqueue({ fail: true }, "short");
    await new Dispatcher(db.dataSource, registry, {
      now: clock.now,
      logger: memoryLogger(),
      queues: ["short"],
    }).runDue();
    await queue().enqueue("hrp.lab.archive", { queue: "short", runAt: new Date("2026-11-30T15:00:00.000Z") });
    return { oldestId: oldest.id };
  }

  const client = (now = "2026-11-30T13:45:00.000Z") =>
    new DashboardClient(
      new Dashboard({
        dataSource: db.dataSource,
        resolveUser: () => ({ login: "li.na" }),
        timeZone: "UTC",
        now: () => new Date(now),
      }),
    );

  const card = (page: Page, state: string) =>
    Number(new RegExp(`data-state="${state}">\\s*<div class="value">([\\d,]+)<`).exec(page.text)![1]);
  const bars = (page: Page) =>
    [
      ...page.text.matchAll(/data-start="([^"]+)"\s+data-done="(\d+)"\s+data-failed="(\d+)"\s+data-stopped="(\d+)"/g),
    ].map((m) => ({ start: m[1], done: Number(m[2]), failed: Number(m[3]), stopped: Number(m[4]) }));
  const region = (page: Page, id: string) => {
    const start = page.text.indexOf(`id="${id}"`);
    expect(start).toBeGreaterThan(0);
    return page.text.slice(start, page.text.indexOf("</section>", start));
  };

  it("shows the real counts by state and by queue, each linking to its job list", async () => {
    await given();
    const page = await client().get("/");
    expect(page.status).toBe(200);
    const counts = Object.fromEntries(
      ["pending", "running", "done", "failed", "cancelled", "stopped"].map((s) => [s, card(page, s)]),
    );
    expect(counts).toEqual({ pending: 2, running: 0, done: 3, failed: 3, cancelled: 1, stopped: 0 });
    expect(page.text).toContain('href="/jobs?state=failed"');
    const short = /<tr data-queue="short">([\s\S]*?)<\/tr>/.exec(page.text)![1];
    const cell = (row: string, state: string) =>
      new RegExp(`data-state="${state}">\\s*(?:<a href="([^"]+)">)?(?:<span class="muted">)?(\\d+)`).exec(row)!;
    expect(Number(cell(short, "pending")[2])).toBe(1);
    expect(Number(cell(short, "done")[2])).toBe(1);
    expect(Number(cell(short, "failed")[2])).toBe(2);
    expect(Number(cell(short, "cancelled")[2])).toBe(0);
    expect(cell(short, "failed")[1].replace(/&amp;/g, "&")).toBe("/jobs?queue=short&state=failed");
    expect(short).toMatch(/class="num total">4</);
    const long = /<tr data-queue="long">([\s\S]*?)<\/tr>/.exec(page.text)![1];
    expect([Number(cell(long, "pending")[2]), Number(cell(long, "cancelled")[2])]).toEqual([1, 1]);
    const dflt = /<tr data-queue="default">([\s\S]*?)<\/tr>/.exec(page.text)![1];
    expect([Number(cell(dflt, "done")[2]), Number(cell(dflt, "failed")[2])]).toEqual([2, 1]);
    // The regions the refresh script swaps.
    for (const id of ["overview-states", "overview-throughput", "overview-queues", "overview-health"])
      expect(page.text).toMatch(new RegExp(`id="${id}" data-live`));
  });

  it("draws runs per hour over 24 hours and per minute over 60 minutes with the right bucket values", async () => {
    await given();
    const page = await client().get("/");
    const hours = bars(page);
    expect(hours.length).toBe(24);
    expect(hours[0].start).toBe("2026-11-29T14:00:00.000Z");
    expect(hours[23].start).toBe("2026-11-30T13:00:00.000Z");
    expect(hours.filter((b) => b.done + b.failed > 0)).toEqual([
      { start: "2026-11-30T11:00:00.000Z", done: 2, failed: 1, stopped: 0 },
      { start: "2026-11-30T13:00:00.000Z", done: 1, failed: 2, stopped: 0 },
    ]);
    expect(page.visibleText).toContain("6 runs ended since 2026-11-29 14:00:00; 3 failed (50.0%).");
    expect(page.visibleText).toContain("11:00–12:00: 2 done, 1 failed, 0 stopped; failure rate 33.3%");
    // Hour 12 had no runs (no rate), so the failure rate is two dots, not a line through a false 0%.
    expect(page.text.match(/class="dot-rate"/g)?.length).toBe(2);
    expect(page.text).toMatch(/<svg[^>]+class="chart"[^>]+role="img"/);

    const minutes = await client().get("/?range=60m");
    const perMinute = bars(minutes);
    expect(perMinute.length).toBe(60);
    expect(perMinute[0].start).toBe("2026-11-30T12:46:00.000Z");
    expect(perMinute.filter((b) => b.done + b.failed > 0)).toEqual([
      { start: "2026-11-30T13:20:00.000Z", done: 1, failed: 2, stopped: 0 },
    ]);
    expect(minutes.text).toMatch(/href="\/\?range=60m"\s+aria-current="page"/);

    const bad = await client().get("/?range=1y");
    expect(bad.status).toBe(400);
    expect(bad.visibleText).toContain("Invalid range: must be one of 24h, 60m");
  });

  it("shows the job waiting longest with its age, and the methods failing most in the window", async () => {
    const { oldestId } = await given();
    const page = await client().get("/");
    const health = region(page, "overview-health");
    expect(health).toContain(`href="/jobs/${oldestId}"`);
    expect(health).toContain("hrp.lab.archive");
    expect(page.visibleText).toContain(`#${oldestId} hrp.lab.archive (long) · due 1 h 45 min ago`);
    const failing = /<tr data-method="hrp.lab.result">([\s\S]*?)<\/tr>/.exec(page.text)![1];
    expect(failing).toContain("3 / 6");
    expect(failing).toContain("50.0%");
    expect(failing).toContain("25 min 00 s ago");
    // Nothing waits once that job is done.
    clock.set("2026-11-30T13:44:00.000Z");
    await runAll();
    expect((await client().get("/")).visibleText).toContain("No due job is waiting.");
  });

  it("shows the scheduler: its leader and last tick, then paused", async () => {
    const scheduler = new Scheduler(db.dataSource, { registry, now: clock.now, logger: memoryLogger() });
    clock.set("2026-11-30T13:40:00.000Z");
    await scheduler.tick();
    const status = await scheduler.status();
    const page = await client().get("/");
    const panel = region(page, "overview-scheduler");
    expect(panel).toContain(status.leaderId!);
    expect(panel).toContain("2026-11-30 13:40:00");
    expect(panel).toContain("enabled");
    await scheduler.setControl({ paused: true });
    expect(region(await client().get("/"), "overview-scheduler")).toMatch(/scheduler-state">paused</);
  });

  it("shows the scheduler's tick errors and the scheduled job types whose latest run failed", async () => {
    clock.set("2026-11-30T12:00:00.000Z");
    const type = await new Scheduler(db.dataSource, { registry, now: clock.now }).createType({
      method: "hrp.lab.archive",
      frequency: "Hourly",
    });
    // A deploy whose registry lost the method: at the next tick the type cannot be enqueued.
    clock.set("2026-11-30T13:05:00.000Z");
    const result = await new Scheduler(db.dataSource, {
      registry: new ModelRegistry(),
      now: clock.now,
      logger: memoryLogger(),
    }).tick();
    expect(result.skipped.map((s) => s.method)).toEqual(["hrp.lab.archive"]);
    const page = await client().get("/");
    const errors = /id="overview-tick-errors"([\s\S]*?)<\/table>/.exec(page.text)![1];
    expect(errors).toContain("2026-11-30 13:05:00");
    expect(errors).toContain(`href="/job-types/${type.id}"`);
    expect(errors).toContain("Method &#96;hrp.lab.archive&#96; does not exist");
    const failing = /id="overview-failing-types"([\s\S]*?)<\/table>/.exec(page.text)![1];
    expect(failing).toContain("hrp.lab.archive");
  });

  it("renders in Simplified Chinese", async () => {
    await given();
    const page = await client().get("/?lang=zh-CN");
    expect(page.status).toBe(200);
    expect(page.text).toContain('<html lang="zh-CN">');
    for (const text of ["概览", "按队列和状态统计任务", "运行趋势", "最近 24 小时", "失败最多", "调度器", "等待最久"])
      expect(page.visibleText).toContain(text);
    expect(page.visibleText).toContain("自 2026-11-29 14:00:00 起共结束 6 次运行，其中 3 次失败（50.0%）。");
    expect(page.visibleText).not.toMatch(/\[overview\./);
  });
});
