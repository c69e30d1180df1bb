import { Dispatcher, HrpCronJobService, JobAdmin, ModelRegistry, Scheduler } from "../../src";
import { Dashboard } from "../../src/dashboard";
import { mergeMessages, translator } from "../../src/dashboard/i18n/messages";
import { CRONS_MESSAGES } from "../../src/dashboard/pages/crons";
import { describeCron, describeFrequency, describeInterval } from "../../src/dashboard/pages/crons/describe";
import { BACKENDS, fixedClock, memoryLogger, openTestDb, type TestDb } from "../helpers";
import { DashboardClient } from "./client";

const catalog = mergeMessages([CRONS_MESSAGES]);
const en = translator(catalog.en);
const zh = translator(catalog["zh-CN"]);

describe("schedules in plain words", () => {
  it.each([
    ["0 2 * * *", "every day at 02:00", "每天 02:00"],
    ["*/15 * * * *", "every 15 minutes", "每 15 分钟"],
    ["* * * * *", "every minute", "每分钟"],
    ["5 * * * *", "at minute 5 of every hour", "每小时第 5 分钟"],
    ["0 * * * *", "every hour, on the hour", "每小时整点"],
    ["30 8 * * 1-5", "every Monday to Friday at 08:30", "每周一至周五 08:30"],
    ["0 9 * * MON,THU", "every Monday and Thursday at 09:00", "每周一和周四 09:00"],
    ["0 0 * * 0", "every Sunday at 00:00", "每周日 00:00"],
    ["0 8,17 * * *", "every day at 08:00 and 17:00", "每天 08:00和17:00"],
    ["0 3 1,15 * *", "on day 1 and 15 of every month at 03:00", "每月 1和15 日 03:00"],
    ["0 23 L * *", "on the last day of every month at 23:00", "每月最后一天 23:00"],
    ["0 0 1 1 *", "every year on January 1 at 00:00", "每年1月1日 00:00"],
    ["@daily", "every day at 00:00", "每天 00:00"],
    ["*/10 * * * 1-5", "every 10 minutes, on Monday to Friday", "每周一至周五，每 10 分钟"],
    ["15 */2 * * *", "at minute 15 of every 2 hours", "每 2 小时的第 15 分钟"],
    ["*/30 * * * * *", "every 30 seconds", "每 30 秒"],
    ["0 30 2 * * *", "every day at 02:30", "每天 02:30"],
    ["*/7 * * * *", "cron */7 * * * *", "cron 表达式 */7 * * * *"], // not every 7 minutes: it restarts each hour
    ["0 9-17/2 * * 1-5", "cron 0 9-17/2 * * 1-5", "cron 表达式 0 9-17/2 * * 1-5"],
  ])("%s reads %j and %j", (expression, english, chinese) => {
    expect(describeCron(expression, en)).toBe(english);
    expect(describeCron(expression, zh)).toBe(chinese);
  });

  it("says Odoo intervals (with the time of day of calendar ones) and Frappe frequencies", () => {
    expect(describeInterval("minutes", 15, en)).toBe("every 15 minutes");
    expect(describeInterval("hours", 1, en, "02:00")).toBe("every hour");
    expect(describeInterval("days", 1, en, "02:00")).toBe("every day at 02:00");
    expect(describeInterval("work_days", 1, zh, "07:30")).toBe("每个工作日 07:30");
    expect(describeInterval("months", 3, zh)).toBe("每 3 个月");
    expect(describeFrequency("Daily Long", "0 0 * * *", en)).toBe("every day at 00:00 (long queue)");
    expect(describeFrequency("All", "*/4 * * * *", zh)).toBe("每 4 分钟");
  });
});

/** The Scheduled actions pages over a real database: crons and Scheduled Job Types, their runs and actions. */
describe.each(BACKENDS)("dashboard scheduled actions on %s", (kind) => {
  let db: TestDb;
  const clock = fixedClock("2026-12-01T08:00:00Z");
  const registry = new ModelRegistry().register("app.tasks", {
    async nightly() {},
    async flaky() {
      throw new Error("ledger LOCKED by posting 42");
    },
  });
  beforeEach(async () => {
    db = await openTestDb(kind);
    clock.set("2026-12-01T08:00:00Z");
  });
  afterEach(() => db.close());

  const dashboard = (access: "all" | "read-only" = "all", login = "li.na") =>
    new Dashboard({
      dataSource: db.dataSource,
      resolveUser: () => ({ login }),
      resolveAccess: () => access,
      timeZone: "UTC",
      now: clock.now,
    });
  const admin = () => new JobAdmin(db.dataSource, { now: clock.now });

  /** A nightly cron (02:00 Shanghai), a flaky one every 15 minutes that has failed once, a daily type. */
  async function given() {
    const service = new HrpCronJobService(db.dataSource, { registry, now: clock.now });
    const nightly = await service.createCron({
      name: "Nightly ledger",
      model: "app.tasks",
      function: "nightly",
      cronExpression: "0 2 * * *",
      timeZone: "Asia/Shanghai",
    });
    const flaky = await service.createCron({
      name: "Flaky sync",
      model: "app.tasks",
      function: "flaky",
      intervalType: "minutes",
      intervalNumber: 15,
      timeZone: "UTC",
    });
    await new Dispatcher(db.dataSource, registry, { now: clock.now, logger: memoryLogger() }).runDue();
    const scheduler = new Scheduler(db.dataSource, { registry, now: clock.now, logger: memoryLogger() });
    const type = await scheduler.createType({ method: "app.tasks.nightly", frequency: "Daily" });
    return { nightly, flaky, type };
  }

  it("lists recurring crons and Scheduled Job Types with schedules in words, zones, runs, status and sparklines", async () => {
    const { nightly, flaky, type } = await given();
    await new HrpCronJobService(db.dataSource, { registry, now: clock.now }).runByCron("once", "app.tasks", "nightly");
    const page = await new DashboardClient(dashboard()).get("/crons");
    expect(page.status).toBe(200);
    const text = page.visibleText;
    expect(text).toContain(
      "Nightly ledger app.tasks.nightly every day at 02:00 Asia/Shanghai 2026-12-01 18:00:00 in 10 h 0 min",
    );
    expect(text).toContain("Flaky sync app.tasks.flaky every 15 minutes UTC 2026-12-01 08:15:00 in 15 min 00 s");
    expect(text).toMatch(/failing 1 1 \d/); // one run, one failure in the last 7 days
    expect(text).toContain("app.tasks.nightly every day at 00:00 UTC default 2026-12-02 00:00:00");
    expect(page.text).not.toContain(">once<"); // a one-shot job's ir_cron row is not a scheduled action
    expect(page.text).toContain(`href="/crons/${nightly.id}"`);
    expect(page.text).toContain(`href="/job-types/${type.id}"`);
    expect(page.text).toMatch(
      /<svg\s+class="sparkline"[^>]*>\s*<title>The last 1 run[^<]*<\/title>\s*<rect[^>]*class="spark-fail"/,
    );
    expect(page.text).toContain(`action="/crons/${flaky.id}/run-now"`);
    expect(page.text).not.toMatch(/ style=/);

    const zhPage = await new DashboardClient(dashboard()).get("/crons?lang=zh-CN");
    expect(zhPage.visibleText).toContain("每天 02:00");
    expect(zhPage.visibleText).toContain("每 15 分钟");
    expect(zhPage.visibleText).toContain("失败中");
  });

  it("shows a cron's runs planned for the next 24 hours from its schedule and the given clock, and its failed run's error in full", async () => {
    const { nightly, flaky, type } = await given();
    const client = new DashboardClient(dashboard());
    const night = await client.get(`/crons/${nightly.id}`);
    expect(night.status).toBe(200);
    expect(night.visibleText).toContain("Next 24 hours 1 run planned: 2026-12-01 18:00:00");
    clock.set("2026-12-01T17:59:00Z");
    expect((await client.get(`/crons/${nightly.id}`)).visibleText).toContain(
      "1 run planned: 2026-12-01 18:00:00 Run log",
    );
    clock.set("2026-12-01T08:00:00Z");

    const page = await client.get(`/crons/${flaky.id}`);
    // Every 15 minutes from 08:15 to 08:00 the next day.
    expect(page.visibleText).toContain("96 runs planned: 2026-12-01 08:15:00 2026-12-01 08:30:00");
    expect(page.visibleText).toContain("and 72 more");
    expect(page.visibleText).toContain("failed 2026-12-01 08:00:00 2026-12-01 08:00:00");
    expect(page.text).toMatch(/<summary class="error-text">[^<]*ledger LOCKED by posting 42/);
    expect(page.text).toMatch(/<pre class="stack">[\s\S]*ledger LOCKED by posting 42[\s\S]*at /);

    const typePage = await client.get(`/job-types/${type.id}`);
    expect(typePage.status).toBe(200);
    expect(typePage.visibleText).toContain("1 run planned: 2026-12-02 00:00:00");
    expect(typePage.visibleText).toContain("every day at 00:00 Daily · 0 0 * * *");
  });

  it("runs a cron now without moving its schedule, deactivates it with a reason and activates it, each in the action log", async () => {
    const { nightly } = await given();
    const client = new DashboardClient(dashboard("all", "wang.fang"));
    await client.get(`/crons/${nightly.id}`);
    const before = await admin().getCron(nightly.id);

    const ran = await client.post(`/crons/${nightly.id}/run-now`, { back: `/crons/${nightly.id}` });
    expect(ran.status).toBe(303);
    expect(ran.header("location")).toBe(`/crons/${nightly.id}`);
    const after = await admin().getCron(nightly.id);
    expect(after.nextcall).toEqual(before.nextcall);
    expect(after.active).toBe(true);
    const [job] = await admin().listJobs({ model: "app.tasks", function: "nightly" });
    expect(job).toMatchObject({ state: "pending", name: "Nightly ledger" });
    expect((await client.get(`/crons/${nightly.id}`)).visibleText).toContain(
      `Job ${job.id} (Nightly ledger) will run once now; the schedule is unchanged.`,
    );

    const refused = await client.post(`/crons/${nightly.id}/deactivate`, { back: `/crons/${nightly.id}` });
    expect(refused.status).toBe(303);
    expect((await admin().getCron(nightly.id)).active).toBe(true);
    expect((await client.get(`/crons/${nightly.id}`)).visibleText).toContain("Invalid reason: is required");

    await client.post(`/crons/${nightly.id}/deactivate`, { reason: "ledger migration tonight" });
    expect((await admin().getCron(nightly.id)).active).toBe(false);
    const stopped = await client.get(`/crons/${nightly.id}`);
    expect(stopped.visibleText).toContain("Inactive: no run is planned until it is activated.");
    expect(stopped.text).toContain(`action="/crons/${nightly.id}/activate"`);
    await client.post(`/crons/${nightly.id}/activate`, {});
    expect((await admin().getCron(nightly.id)).active).toBe(true);
    expect((await admin().getCron(nightly.id)).nextcall).toEqual(before.nextcall);

    const actions = await admin().listActions({ targetType: "cron", targetId: nightly.id });
    expect(actions.map((a) => [a.action, a.actor, a.source, a.reason, a.ip])).toEqual([
      ["activate", "wang.fang", "dashboard", null, "10.1.2.3"],
      ["deactivate", "wang.fang", "dashboard", "ledger migration tonight", "10.1.2.3"],
      ["run_now", "wang.fang", "dashboard", null, "10.1.2.3"],
    ]);
    const history = await client.get(`/crons/${nightly.id}`);
    expect(history.visibleText).toContain("wang.fang deactivate ledger migration tonight dashboard · 10.1.2.3");
  });

  it("stops a Scheduled Job Type with a reason, starts it and runs it now, each in the action log", async () => {
    const { type } = await given();
    const client = new DashboardClient(dashboard());
    await client.get(`/job-types/${type.id}`);
    await client.post(`/job-types/${type.id}/stop`, { reason: "month-end freeze" });
    const stopped = (await new Scheduler(db.dataSource, { registry }).listTypes())[0];
    expect(stopped.stopped).toBe(true);
    expect((await client.get("/crons")).visibleText).toContain(
      "app.tasks.nightly every day at 00:00 UTC default — — stopped",
    );
    await client.post(`/job-types/${type.id}/run-now`, {});
    await client.post(`/job-types/${type.id}/start`, {});
    const [row] = await new Scheduler(db.dataSource, { registry }).listTypes();
    expect([row.stopped, row.lastExecution]).toEqual([false, null]);
    const page = await client.get(`/job-types/${type.id}`);
    expect(page.visibleText).toContain("started run now"); // the Start row of the manual run
    const actions = await admin().listActions({ targetType: "job_type", targetId: type.id });
    expect(actions.map((a) => [a.action, a.actor, a.reason])).toEqual([
      ["start_job_type", "li.na", null],
      ["run_now", "li.na", null],
      ["stop_job_type", "li.na", "month-end freeze"],
      ["create_job_type", "api", null],
    ]);
  });

  it("shows a read-only user no action buttons and answers 403 to their POST, changing nothing", async () => {
    const { nightly, type } = await given();
    const client = new DashboardClient(dashboard("read-only"));
    for (const path of ["/crons", `/crons/${nightly.id}`, `/job-types/${type.id}`]) {
      const page = await client.get(path);
      expect(page.status).toBe(200);
      expect(page.text).not.toContain('method="post"');
    }
    for (const action of ["run-now", "deactivate", "activate"]) {
      const refused = await client.post(`/crons/${nightly.id}/${action}`, { reason: "x" });
      expect(refused.status).toBe(403);
    }
    expect((await client.post(`/job-types/${type.id}/stop`, { reason: "x" })).status).toBe(403);
    expect((await admin().getCron(nightly.id)).active).toBe(true);
    expect(await admin().listJobs()).toEqual([]);
    expect((await admin().listActions()).map((a) => a.action)).toEqual(["create_job_type"]);
  });

  it("answers bad and unknown ids with named errors", async () => {
    const client = new DashboardClient(dashboard());
    const bad = await client.get("/crons/abc");
    expect(bad.status).toBe(400);
    expect(bad.visibleText).toContain("Invalid id: must be a positive whole number");
    expect(bad.visibleText).toContain("ValidationError (VALIDATION)");
    const missing = await client.get("/crons/999");
    expect(missing.status).toBe(404);
    expect(missing.visibleText).toContain("ir_cron 999 does not exist NotFoundError (NOT_FOUND)");
    const missingType = await client.get("/job-types/999");
    expect(missingType.status).toBe(404);
    expect(missingType.visibleText).toContain("scheduled_job_type 999 does not exist");
    expect((await client.get("/crons/1?before=x")).status).toBe(404); // the cron is looked up first
    await client.get("/crons");
    const posted = await client.post("/crons/999/run-now", { back: "/crons" });
    expect(posted.status).toBe(303);
    expect((await client.get("/crons")).visibleText).toContain("ir_cron 999 does not exist");
    await client.post("/job-types/999/stop", { reason: "x", back: "/crons" });
    expect((await client.get("/crons")).visibleText).toContain("scheduled_job_type 999 does not exist");
  });
});
